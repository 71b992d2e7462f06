/* SPDX-License-Identifier: MIT */
/*
 * The stages of staged retirement (run/plan-stage.c): a release, a deprecation, a
 * disabling, a restoration noticed. Each runs in three steps, each skipped when the
 * action has nothing for it: the tags that record the decision (a release's
 * amirotd:retired-at), the EC2 call (EnableImageDeprecation, DisableImage), and the tags
 * that record it was done (amirotd:stage, amirotd:deprecation), written only after the
 * call succeeded. A crash between two steps leaves the image for the next run's plan,
 * which does the stage again; no step harms when repeated. See exec.h.
 */
#include <stdio.h>

#include "run/exec-internal.h"

enum {
        STEP_TAG,                       /* image_tags: before the call */
        STEP_CALL,
        STEP_MARK,                      /* mark_tags: after it */
        STEP_DONE,
};

static void stage_next(chain *c);

/*
 * The DeprecateAt to send: the planned one, unless that has come within reach of the
 * present meanwhile (EC2: "You can't specify a date in the past"). A plan is made when
 * its run starts, and a release may wait behind its instance's spread and new image for
 * hours; the time of the call is the run's time plus the time since, on the monotonic
 * clock (the run's time may be `once --now`'s, not the host's).
 */
static time_t deprecate_at(const executor *x, const plan_action *a) {
        usec_t since = now_usec(CLOCK_MONOTONIC) - x->options.now_monotonic;
        time_t floor = plan_deprecate_floor(x->options.now + (time_t) (since / USEC_PER_SEC));

        return MAX(a->deprecate_at, floor);
}

static const char *step_action(const plan_action *a, unsigned step) {
        if (step != STEP_CALL)
                return "CreateTags";
        return a->kind == PLAN_DISABLE ? "DisableImage" : "EnableImageDeprecation";
}

static void stage_logged(chain *c, log_fields *f) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        const char *dry = exec_dry_run_prefix(x);
        char at[ISO8601_MAX] = "";

        f->slot = a->slot;
        f->action = NULL;
        if (a->deprecate_at > 0)
                (void) format_iso8601(c->deprecate_at, at);
        switch (a->kind) {
        case PLAN_RELEASE:
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_RELEASED, f,
                         "%sreleased image %s of %s (slot %s) into the retire stages: %s%s%s",
                         dry, a->image_id, a->instance_id, a->slot ?: "?", a->reason ?: "",
                         *at ? "; deprecated from " : "", at);
                exec_report(x, (exec_event) { .kind = EXEC_RELEASED, .fields = f });
                if (a->mark_tags.n > 0)
                        exec_report(x, (exec_event) { .kind = EXEC_DEPRECATED, .fields = f });
                break;
        case PLAN_DEPRECATE:
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_DEPRECATED, f,
                         "%sdeprecated image %s of %s (slot %s)%s%s: %s", dry, a->image_id, a->instance_id,
                         a->slot ?: "?", *at ? " from " : " (already deprecated)", at, a->reason ?: "");
                exec_report(x, (exec_event) { .kind = EXEC_DEPRECATED, .fields = f });
                break;
        case PLAN_DISABLE:
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_DISABLED, f, "%sdisabled image %s of %s (slot %s): %s",
                         dry, a->image_id, a->instance_id, a->slot ?: "?", a->reason ?: "");
                exec_report(x, (exec_event) { .kind = EXEC_DISABLED, .fields = f });
                break;
        default:
                log_full(LOG_WARNING, 0, MESSAGE_IMAGE_RESTORED, f,
                         "image %s of %s (slot %s) was restored by someone: %s; amirotd leaves it alone from now "
                         "on (remove its tag " TAG_RETIRED_AT " to hand it back to retention)",
                         a->image_id, a->instance_id, a->slot ?: "?", a->reason ?: "");
                exec_report(x, (exec_event) { .kind = EXEC_RESTORED, .fields = f });
        }
}

static void on_stage_step(int r, const aws_error *err, void *userdata) {
        chain *c = userdata;
        const plan_action *a = chain_action(c);
        log_fields f = exec_action_fields(c->exec, a, step_action(a, c->stage_step));

        c->op = NULL;
        f.slot = a->slot;
        if (r < 0 && !(err && aws_error_is(err, "DryRunOperation"))) {
                if (err && (aws_error_is(err, "InvalidAMIID.NotFound") || aws_error_is(err, "InvalidAMIID.Unavailable"))) {
                        /* Deregistered meanwhile (by a person, or another host's run): nothing to stage. */
                        log_debug("image %s is gone, nothing to %s", a->image_id, plan_action_kind_to_string(a->kind));
                        chain_done(c);
                        return;
                }
                exec_log_aws(LOG_ERR, r, err, &f, c->stage_step == STEP_CALL ? "cannot change image" :
                             "cannot tag image");
                chain_fail(c, r, &f);
                return;
        }
        c->stage_step++;
        stage_next(c);
}

/* Starts the chain's next step that has something to do; the last one logs and ends. */
static void stage_next(chain *c) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        char *ids[2] = { a->image_id, NULL };
        log_fields f = exec_action_fields(x, a, NULL);
        int r = 0;

        for (; c->stage_step < STEP_DONE; c->stage_step++) {
                if (c->stage_step == STEP_TAG && a->image_tags.n > 0)
                        r = ec2_create_tags(x->options.ec2, ids, &a->image_tags, x->options.dry_run,
                                            on_stage_step, c, &c->op);
                else if (c->stage_step == STEP_CALL && a->kind == PLAN_DISABLE && a->image_state != EC2_IMAGE_DISABLED)
                        r = ec2_disable_image(x->options.ec2, a->image_id, x->options.dry_run, on_stage_step, c, &c->op);
                else if (c->stage_step == STEP_CALL && a->deprecate_at > 0 &&
                         (a->kind == PLAN_RELEASE || a->kind == PLAN_DEPRECATE)) {
                        c->deprecate_at = deprecate_at(x, a);
                        r = ec2_enable_image_deprecation(x->options.ec2, a->image_id, c->deprecate_at,
                                                         x->options.dry_run, on_stage_step, c, &c->op);
                } else if (c->stage_step == STEP_MARK && a->mark_tags.n > 0)
                        r = ec2_create_tags(x->options.ec2, ids, &a->mark_tags, x->options.dry_run,
                                            on_stage_step, c, &c->op);
                else
                        continue;
                if (r >= 0)
                        return;
                f.action = step_action(a, c->stage_step);
                exec_log_aws(LOG_ERR, r, NULL, &f, "cannot start request");
                chain_fail(c, r, &f);
                return;
        }
        stage_logged(c, &f);
        chain_done(c);
}

int exec_start_stage(chain *c) {
        c->stage_step = STEP_TAG;
        stage_next(c);
        return 0;
}
