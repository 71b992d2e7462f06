/* SPDX-License-Identifier: MIT */
/*
 * Deregistration protection of the newest images (protect.newest; plan-protect.c
 * decides). Turning it on tags the image amirotd:protected first, then calls
 * EnableImageDeregistrationProtection; turning it off calls
 * DisableImageDeregistrationProtection, then removes the tag. So the mark outlives the
 * protection on both ways, and a crash between the two calls leaves a marked image
 * that the next run protects again or untags: amirotd never leaves a protection it
 * cannot tell from someone else's. Every call is idempotent; an image gone meanwhile
 * (retired by another plan of the run, or by a person) is done with. See exec.h.
 */
#include <stdio.h>

#include "run/exec-internal.h"
#include "run/plan.h"

/* The image is gone: deregistered by a concurrent plan of the run, or by someone else. */
static bool image_gone(const aws_error *err) {
        return err && (aws_error_is(err, "InvalidAMIID.NotFound") || aws_error_is(err, "InvalidAMIID.Unavailable"));
}

static bool dry_run_ok(const aws_error *err) {
        return err && aws_error_is(err, "DryRunOperation");
}

/* ---- On -------------------------------------------------------------------------------- */

static void on_protected(int r, const aws_error *err, void *userdata) {
        chain *c = userdata;
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        log_fields f = exec_action_fields(x, a, "EnableImageDeregistrationProtection");

        c->op = NULL;
        f.slot = a->slot;
        if (r >= 0 || dry_run_ok(err)) {
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_DEREG_PROTECTED, &f,
                         "%sprotected image %s from deregistration%s (%s)", exec_dry_run_prefix(x), a->image_id,
                         a->with_cooldown ? " with a 24 h cooldown" : "", a->reason ?: "");
                exec_report(x, (exec_event) { .kind = EXEC_PROTECTED, .fields = &f });
        } else if (image_gone(err))
                log_debug("image %s is gone, not protecting it", a->image_id);
        else {
                exec_log_aws(LOG_ERR, r, err, &f, "cannot turn on deregistration protection");
                chain_fail(c, r, &f);
                return;
        }
        chain_done(c);
}

static void on_marked(int r, const aws_error *err, void *userdata) {
        chain *c = userdata;
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        log_fields f = exec_action_fields(x, a, "CreateTags");

        c->op = NULL;
        if (image_gone(err)) {
                log_debug("image %s is gone, not protecting it", a->image_id);
                chain_done(c);
                return;
        }
        if (r < 0 && !dry_run_ok(err)) {
                /* Without the mark, protection would read as someone else's: not turned on. */
                exec_log_aws(LOG_ERR, r, err, &f, "cannot tag the image before protecting it");
                chain_fail(c, r, &f);
                return;
        }
        r = ec2_set_image_deregistration_protection(x->options.ec2, a->image_id, true, a->with_cooldown,
                                                    x->options.dry_run, on_protected, c, &c->op);
        if (r < 0) {
                exec_log_aws(LOG_ERR, r, NULL, &f, "cannot start request");
                chain_fail(c, r, &f);
        }
}

int exec_start_protect(chain *c) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        char *ids[] = { a->image_id, NULL };
        ec2_tag tag = { (char *) TAG_PROTECTED, (char *) (a->with_cooldown ? "cooldown" : "no-cooldown") };
        ec2_tags tags = { .items = &tag, .n = 1 };

        return ec2_create_tags(x->options.ec2, ids, &tags, x->options.dry_run, on_marked, c, &c->op);
}

/* ---- Off ------------------------------------------------------------------------------- */

static void on_unmarked(int r, const aws_error *err, void *userdata) {
        chain *c = userdata;
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        log_fields f = exec_action_fields(x, a, "DeleteTags");

        c->op = NULL;
        if (r < 0 && !dry_run_ok(err) && !image_gone(err)) {
                /* The mark stays on an image without protection: the next run removes it. */
                exec_log_aws(LOG_ERR, r, err, &f, "cannot remove the amirotd:protected tag");
                chain_fail(c, r, &f);
                return;
        }
        chain_done(c);
}

static int start_unmark(chain *c) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        char *ids[] = { a->image_id, NULL };
        char *keys[] = { (char *) TAG_PROTECTED, NULL };

        return ec2_delete_tags(x->options.ec2, ids, keys, x->options.dry_run, on_unmarked, c, &c->op);
}

static void on_unprotected(int r, const aws_error *err, void *userdata) {
        chain *c = userdata;
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        log_fields f = exec_action_fields(x, a, "DisableImageDeregistrationProtection");

        c->op = NULL;
        f.slot = a->slot;
        if (image_gone(err)) {
                log_debug("image %s is gone, its protection with it", a->image_id);
                chain_done(c);
                return;
        }
        if (r < 0 && !dry_run_ok(err)) {
                exec_log_aws(LOG_ERR, r, err, &f, "cannot turn off deregistration protection");
                chain_fail(c, r, &f);
                return;
        }
        log_full(LOG_INFO, 0, MESSAGE_IMAGE_DEREG_UNPROTECTED, &f,
                 "%sturned off deregistration protection of image %s of %s: %s", exec_dry_run_prefix(x),
                 a->image_id, a->instance_id, a->reason ?: "");
        exec_report(x, (exec_event) { .kind = EXEC_UNPROTECTED, .fields = &f });
        r = start_unmark(c);
        if (r < 0) {
                exec_log_aws(LOG_ERR, r, NULL, &f, "cannot start request");
                chain_fail(c, r, &f);
        }
}

int exec_start_unprotect(chain *c) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);

        if (a->tag_only)
                return start_unmark(c);
        return ec2_set_image_deregistration_protection(x->options.ec2, a->image_id, false, false, x->options.dry_run,
                                                       on_unprotected, c, &c->op);
}
