/* SPDX-License-Identifier: MIT */
/*
 * Retiring an image: DeregisterImage with DeleteAssociatedSnapshots (plainly on an
 * endpoint that refuses it), then DeleteSnapshot for each snapshot EC2 did not say it
 * deleted, leaving one still in use to the next sweep. The sweep's snapshots go the
 * same way. See exec.h.
 */
#include <stdio.h>

#include "run/exec-internal.h"

/* ---- DeleteSnapshot -------------------------------------------------------------------- */

static void delete_next_snapshot(chain *c);

static void on_snapshot_deleted(int r, const aws_error *err, void *userdata) {
        chain *c = userdata;
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        const char *snap = c->snapshots[c->snapshot];
        log_fields f = exec_action_fields(x, a, "DeleteSnapshot");

        c->op = NULL;
        f.snapshot_id = snap;
        if (r >= 0 || (err && aws_error_is(err, "DryRunOperation"))) {
                if (a->kind == PLAN_DELETE_SNAPSHOT)
                        log_full(LOG_INFO, 0, MESSAGE_SNAPSHOT_DELETED, &f, "%sdeleted snapshot %s: %s",
                                 exec_dry_run_prefix(x), snap, a->reason);
                else
                        log_full(LOG_INFO, 0, MESSAGE_SNAPSHOT_DELETED, &f, "%sdeleted snapshot %s of image %s",
                                 exec_dry_run_prefix(x), snap, a->image_id);
                exec_report(x, (exec_event) { .kind = EXEC_SNAPSHOT_DELETED, .fields = &f });
        } else if (err && aws_error_is(err, "InvalidSnapshot.NotFound"))
                /* Done: deleted with its image, by a retry whose first answer was lost, or by another host. */
                log_debug("snapshot %s is already gone", snap);
        else if (err && aws_error_is(err, "InvalidSnapshot.InUse")) {
                f.error_code = err->code;
                f.request_id = err->request_id;
                log_full(LOG_WARNING, 0, NULL, &f,
                         "snapshot %s is still in use; the next run's sweep will delete it, will retry", snap);
                exec_report(x, (exec_event) { .kind = EXEC_SNAPSHOT_LEFT, .fields = &f });
        } else {
                exec_log_aws(LOG_ERR, r, err, &f, "cannot delete snapshot");
                exec_report_failure(x, r, &f);
        }
        c->snapshot++;
        delete_next_snapshot(c);
}

static void delete_next_snapshot(chain *c) {
        executor *x = c->exec;
        int r;

        if (!c->snapshots || !c->snapshots[c->snapshot]) {
                chain_done(c);
                return;
        }
        r = ec2_delete_snapshot(x->options.ec2, c->snapshots[c->snapshot], x->options.dry_run,
                                on_snapshot_deleted, c, &c->op);
        if (r < 0)
                chain_fail(c, r, NULL);
}

int exec_delete_snapshots(chain *c, char *const *ids, char *const *done) {
        int r;

        c->snapshots = strv_free(c->snapshots);
        for (char *const *i = ids; i && *i; i++) {
                if (strv_contains(done, *i))
                        continue;
                r = strv_extend(&c->snapshots, *i);
                if (r < 0)
                        return r;
        }
        c->snapshot = 0;
        delete_next_snapshot(c);
        return 0;
}

/* ---- DeregisterImage ------------------------------------------------------------------- */

/*
 * Logs the retirement, and "deleted" for each snapshot EC2 says it deleted with the
 * image (returnCode success): only those. The image's other snapshots (skipped because
 * another image uses them, an error, or no per-snapshot result at all from an endpoint
 * that ignored DeleteAssociatedSnapshots) are the caller's to delete one by one.
 */
static void retired(chain *c, bool with_snapshots, char *const *deleted, log_fields *f) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);

        log_full(LOG_INFO, 0, MESSAGE_IMAGE_RETIRED, f, "%sretired image %s of %s (slot %s): %s",
                 exec_dry_run_prefix(x), a->image_id, a->instance_id, a->slot ?: "?", a->reason ?: "");
        exec_report(x, (exec_event) { .kind = EXEC_RETIRED, .fields = f });
        if (with_snapshots && !x->options.dry_run && !deleted && strv_length(a->snapshot_ids) > 0)
                log_debug("DeregisterImage of %s named no deleted snapshot; deleting its snapshots one by one",
                          a->image_id);

        for (char *const *i = deleted; i && *i; i++) {
                f->action = "DeleteSnapshot";
                f->snapshot_id = *i;
                log_full(LOG_INFO, 0, MESSAGE_SNAPSHOT_DELETED, f,
                         "deleted snapshot %s of image %s", *i, a->image_id);
                exec_report(x, (exec_event) { .kind = EXEC_SNAPSHOT_DELETED, .fields = f });
        }
}

/*
 * Deregistration protection: "When deregistration protection is enabled, the AMI can't be
 * deregistered" (EnableImageDeregistrationProtection). The API reference names no error
 * code for the refusal; OperationNotPermitted is EC2's code for operations refused on
 * protected resources (termination protection), and ec2sim answers it. The image stays,
 * and so do its snapshots. Said once per run (a second plan of the same run may name it
 * again): not a failure.
 */
static void image_protected(chain *c, const aws_error *err, log_fields *f) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);

        if (strv_contains(x->protected, a->image_id)) {
                log_debug("image %s is protected from deregistration, keeping it", a->image_id);
                return;
        }
        (void) strv_extend(&x->protected, a->image_id);        /* out of memory: said again, harmless */
        f->error_code = err->code;
        f->request_id = err->request_id;
        log_full(LOG_NOTICE, 0, MESSAGE_IMAGE_PROTECTED, f,
                 "image %s of %s (slot %s) has deregistration protection; keeping it and its snapshots (%s: %s)",
                 a->image_id, a->instance_id, a->slot ?: "?", err->code, err->message ?: "");
}

static void on_deregistered(int r, char *const *deleted, const aws_error *err, void *userdata) {
        chain *c = userdata;
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        bool with_snapshots = !x->deregister_plain;
        bool dry = err && aws_error_is(err, "DryRunOperation");
        log_fields f = exec_action_fields(x, a, "DeregisterImage");

        c->op = NULL;
        if (r < 0 && !dry && with_snapshots && err &&
            (aws_error_is(err, "UnknownParameter") || aws_error_is(err, "InvalidParameter"))) {
                /* An endpoint older than DeleteAssociatedSnapshots: deregister, then delete each. */
                log_debug("endpoint refused DeleteAssociatedSnapshots (%s), deleting snapshots one by one", err->code);
                x->deregister_plain = true;
                r = exec_start_deregister(c);
                if (r < 0)
                        chain_fail(c, r, &f);
                return;
        }

        if (r >= 0 || dry)
                retired(c, with_snapshots, deleted, &f);
        else if (err && (aws_error_is(err, "InvalidAMIID.NotFound") || aws_error_is(err, "InvalidAMIID.Unavailable")))
                log_debug("image %s is already deregistered", a->image_id);
        else if (err && aws_error_is(err, "OperationNotPermitted")) {
                image_protected(c, err, &f);
                chain_done(c);
                return;
        } else {
                exec_log_aws(LOG_ERR, r, err, &f, "cannot deregister image");
                chain_fail(c, r, &f);
                return;
        }

        /* What EC2 did not say it deleted: delete each (none: the chain goes on). */
        r = exec_delete_snapshots(c, a->snapshot_ids, dry ? NULL : deleted);
        if (r < 0)
                chain_fail(c, r, &f);
}

int exec_start_deregister(chain *c) {
        executor *x = c->exec;

        return ec2_deregister_image(x->options.ec2, chain_action(c)->image_id, !x->deregister_plain,
                                    x->options.dry_run, on_deregistered, c, &c->op);
}
