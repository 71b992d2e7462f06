/* SPDX-License-Identifier: MIT */
/*
 * Carrying out one destination's copy plan (see dist-copy-exec.h), one step at a time,
 * each moved on from the loop:
 * - RETIRE: in the policy's own account, when it shares, its snapshots' create-volume
 *   permissions removed first (as exec-unshare.c does for the source); then
 *   DeregisterImage with DeleteAssociatedSnapshots in the destination, then
 *   DeleteSnapshot for each snapshot EC2 did not say it deleted (rule 6). Never an image
 *   that a launch template of the destination names (t->in_use).
 * - DEPRECATE: EnableImageDeprecation, then the mark amirotd:deprecation.
 * - START: for another account, launch permission on the source and create-volume
 *   permission on its snapshots ("The owner of the source AMI must grant you read
 *   permissions for the storage that backs the AMI"), through the run's client; then
 *   CopyImage from the destination, walking plan_copy_token()'s attempts past
 *   IdempotentParameterMismatch. ResourceLimitExceeded (EC2's concurrent-copy limit) leaves
 *   this and later copies to the next run: it is no failure.
 * A step that fails is logged and counted, and the next one still runs.
 */
#include <stdio.h>

#include "run/dist-copy-exec.h"
#include "run/dist-share-plan.h"
#include "run/exec.h"

/* MESSAGE_IDs: base/log.h. */

struct copy_exec {
        copy_target t;
        const plan_copy *plan;
        copy_exec_done_cb cb;
        void *userdata;
        sd_event_source *next;          /* deferred: run the step at `step` */
        size_t step;
        unsigned phase;                 /* within a step (START: grants, then CopyImage) */
        unsigned attempt;               /* START: the ClientToken's attempt */
        char **snapshots;               /* RETIRE: what is left to unshare, then to delete,
                                         * NULL-terminated */
        size_t snapshot;
        bool unshare_more;              /* RETIRE: the snapshot's permissions need another call */
        ec2_op *op;
        bool copies_stopped;            /* the concurrent-copy limit is met: STARTs wait */
        int error;
        char account[13];               /* t.account's copy, for the grants' lists */
};

static const plan_copy_step *current(const copy_exec *x) {
        return &x->plan->steps[x->step];
}

static const char *dry_prefix(const copy_exec *x) {
        return x->t.ctx->dry_run ? "dry run: would have " : "";
}

static log_fields step_fields(const copy_exec *x, const char *action) {
        const plan_copy_step *s = current(x);

        return (log_fields) {
                .policy = x->t.ctx->policy->name,
                .region = x->t.dest->region,
                .instance_id = s->instance_id,
                .image_id = s->image->id,
                .slot = ec2_tags_get(&s->image->tags, TAG_SLOT),
                .action = action,
        };
}

static void step_failed(copy_exec *x, int r, const aws_error *err, const log_fields *f, const char *what) {
        (void) exec_log_aws(LOG_ERR, r, err, f, what);
        x->t.ctx->result->errors++;
        if (x->error == 0)
                x->error = r < 0 ? r : -EIO;
}

/* The step is over (done or failed): the next one, from the loop. */
static void step_done(copy_exec *x) {
        x->op = NULL;
        x->step++;
        x->phase = 0;
        x->attempt = 0;
        x->snapshots = strv_free(x->snapshots);
        x->snapshot = 0;
        x->unshare_more = false;
        (void) sd_event_source_set_enabled(x->next, SD_EVENT_ONESHOT);
}

static bool dry_ok(const copy_exec *x, int r, const aws_error *err) {
        return r >= 0 || (x->t.ctx->dry_run && err && aws_error_is(err, "DryRunOperation"));
}

/* ---- RETIRE ----------------------------------------------------------------------------- */

static void delete_next_snapshot(copy_exec *x);

static void on_snapshot_deleted(int r, const aws_error *err, void *userdata) {
        copy_exec *x = userdata;
        log_fields f = step_fields(x, "DeleteSnapshot");

        x->op = NULL;
        f.snapshot_id = x->snapshots[x->snapshot];
        if (dry_ok(x, r, err))
                log_full(LOG_INFO, 0, MESSAGE_SNAPSHOT_DELETED, &f, "%sdeleted snapshot %s of copy %s in %s",
                         dry_prefix(x), f.snapshot_id, f.image_id, f.region);
        else if (err && aws_error_is(err, "InvalidSnapshot.NotFound"))
                log_debug("snapshot %s is already gone", f.snapshot_id);
        else if (err && aws_error_is(err, "InvalidSnapshot.InUse"))
                log_full(LOG_WARNING, 0, NULL, &f, "snapshot %s of copy %s in %s is still in use, ignoring",
                         f.snapshot_id, f.image_id, f.region);
        else
                step_failed(x, r, err, &f, "cannot delete a copy's snapshot");
        x->snapshot++;
        delete_next_snapshot(x);
}

static void delete_next_snapshot(copy_exec *x) {
        int r;

        if (!x->snapshots || !x->snapshots[x->snapshot]) {
                step_done(x);
                return;
        }
        r = ec2_delete_snapshot(x->t.client, x->snapshots[x->snapshot], x->t.ctx->dry_run, on_snapshot_deleted, x,
                                &x->op);
        if (r < 0) {
                log_fields f = step_fields(x, "DeleteSnapshot");

                step_failed(x, r, NULL, &f, "cannot delete a copy's snapshot");
                step_done(x);
        }
}

static void on_deregistered(int r, char *const *deleted, const aws_error *err, void *userdata) {
        copy_exec *x = userdata;
        const plan_copy_step *s = current(x);
        log_fields f = step_fields(x, "DeregisterImage");

        x->op = NULL;
        if (err && (aws_error_is(err, "InvalidAMIID.NotFound") || aws_error_is(err, "InvalidAMIID.Unavailable")))
                /* Gone already: by a retry whose first answer was lost, or by another host. Its
                 * snapshots are still deleted below. */
                log_debug("copy %s in %s is already deregistered", s->image->id, x->t.dest->region);
        else if (!dry_ok(x, r, err)) {
                step_failed(x, r, err, &f, "cannot deregister a copy");
                step_done(x);
                return;
        } else {
                if (r >= 0)
                        x->t.ctx->result->copies_retired++;
                log_full(LOG_INFO, 0, MESSAGE_COPY_RETIRED, &f, "%sretired copy %s of %s in %s: %s", dry_prefix(x),
                         s->image->id, s->instance_id, x->t.dest->region, s->reason ?: "retention");
        }
        /* Rule 6: what EC2 did not say it deleted is deleted one by one. */
        for (size_t d = 0; d < s->image->n_devices; d++) {
                const char *snap = s->image->devices[d].snapshot_id;

                if (snap && !strv_contains(deleted, snap) && strv_extend(&x->snapshots, snap) < 0) {
                        step_failed(x, -ENOMEM, NULL, &f, "cannot delete a copy's snapshots");
                        step_done(x);
                        return;
                }
        }
        if (x->t.ctx->dry_run)
                x->snapshots = strv_free(x->snapshots);
        delete_next_snapshot(x);
}

static void deregister(copy_exec *x) {
        const plan_copy_step *s = current(x);
        int r;

        x->snapshots = strv_free(x->snapshots);
        x->snapshot = 0;
        r = ec2_deregister_image(x->t.client, s->image->id, true, x->t.ctx->dry_run, on_deregistered, x, &x->op);
        if (r < 0) {
                log_fields f = step_fields(x, "DeregisterImage");

                step_failed(x, r, NULL, &f, "cannot deregister a copy");
                step_done(x);
        }
}

/*
 * A copy in the policy's own account is shared like its source (dist-share.c), and is
 * unshared the same way before it goes (exec-unshare.c): a snapshot that
 * DeleteAssociatedSnapshots skips, or that is still in use, must not stay shared. A
 * failure keeps the copy for the next run.
 */
static void unshare_next(copy_exec *x);

static void unshare_failed(copy_exec *x, int r, const aws_error *err, const char *aws_action, const char *what) {
        log_fields f = step_fields(x, aws_action);

        f.snapshot_id = x->snapshots[x->snapshot];
        step_failed(x, r, err, &f, what);
        step_done(x);
}

static bool snapshot_gone(const aws_error *err) {
        return err && aws_error_is(err, "InvalidSnapshot.NotFound");
}

static void on_unshared(int r, const aws_error *err, void *userdata) {
        copy_exec *x = userdata;
        log_fields f = step_fields(x, "ModifySnapshotAttribute");

        x->op = NULL;
        f.snapshot_id = x->snapshots[x->snapshot];
        if (!dry_ok(x, r, err) && !snapshot_gone(err)) {
                unshare_failed(x, r, err, "ModifySnapshotAttribute",
                               "cannot remove the create-volume permissions of a copy's snapshot before retiring it");
                return;
        }
        if (r >= 0)
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_SHARES_CHANGED, &f,
                         "snapshot %s of copy %s in %s: create-volume permissions removed before the copy is retired",
                         f.snapshot_id, f.image_id, f.region);
        /* More than one call's worth: read again what is left (not in a dry run, which changed nothing). */
        if (!x->unshare_more || x->t.ctx->dry_run || r < 0)
                x->snapshot++;
        unshare_next(x);
}

static void on_volume_described(int r, ec2_permission_list *l, const aws_error *err, void *userdata) {
        copy_exec *x = userdata;

        x->op = NULL;
        if (r < 0 && !snapshot_gone(err)) {
                unshare_failed(x, r, err, "DescribeSnapshotAttribute",
                               "cannot read the create-volume permissions of a copy's snapshot before retiring it");
                return;
        }
        r = r < 0 ? 0 : exec_unshare_snapshot_call(x->t.client, x->t.ctx->policy, x->snapshots[x->snapshot], l,
                                                   x->t.ctx->dry_run, on_unshared, x, &x->op, &x->unshare_more);
        if (r < 0)
                unshare_failed(x, r, NULL, "ModifySnapshotAttribute",
                               "cannot remove the create-volume permissions of a copy's snapshot before retiring it");
        else if (r == 0) {
                x->snapshot++;
                unshare_next(x);
        }
}

/* Reads the next snapshot's permissions, or after the last deregisters. */
static void unshare_next(copy_exec *x) {
        int r;

        if (!x->snapshots || !x->snapshots[x->snapshot]) {
                deregister(x);
                return;
        }
        r = ec2_describe_create_volume_permission(x->t.client, x->snapshots[x->snapshot], on_volume_described, x,
                                                  &x->op);
        if (r < 0)
                unshare_failed(x, r, NULL, "DescribeSnapshotAttribute",
                               "cannot read the create-volume permissions of a copy's snapshot before retiring it");
}

static void run_retire(copy_exec *x) {
        const plan_copy_step *s = current(x);
        log_fields f = step_fields(x, "DeregisterImage");

        /* A template's $Default or $Latest may launch from it at any time. */
        if (strv_contains(x->t.in_use, s->image->id)) {
                log_full(LOG_NOTICE, 0, MESSAGE_IMAGE_IN_USE, &f,
                         "copy %s in %s is named by a launch template there: kept (%s)", s->image->id,
                         x->t.dest->region, s->reason ?: "retention");
                step_done(x);
                return;
        }
        /* Only the policy's own account shares its copies (dist-share.c); another's are its own. */
        for (size_t d = 0; !x->t.account && share_wanted(x->t.ctx->policy) && d < s->image->n_devices; d++) {
                const char *snap = s->image->devices[d].snapshot_id;

                if (snap && strv_extend(&x->snapshots, snap) < 0) {
                        step_failed(x, -ENOMEM, NULL, &f, "cannot retire a copy");
                        step_done(x);
                        return;
                }
        }
        unshare_next(x);
}

/* ---- DEPRECATE -------------------------------------------------------------------------- */

static void on_marked(int r, const aws_error *err, void *userdata) {
        copy_exec *x = userdata;
        log_fields f = step_fields(x, "CreateTags");

        x->op = NULL;
        if (!dry_ok(x, r, err))
                step_failed(x, r, err, &f, "cannot mark a copy's deprecation");
        step_done(x);
}

static void on_deprecated(int r, const aws_error *err, void *userdata) {
        copy_exec *x = userdata;
        const plan_copy_step *s = current(x);
        log_fields f = step_fields(x, "EnableImageDeprecation");
        _cleanup_(ec2_tags_done) ec2_tags mark = {};
        char at[21], *ids[] = { s->image->id, NULL };

        x->op = NULL;
        if (err && (aws_error_is(err, "InvalidAMIID.NotFound") || aws_error_is(err, "IncorrectState"))) {
                /* EC2's eventual consistency: a new copy shows later, and may take deprecation
                 * only once available; the next run deprecates it. */
                log_full(LOG_INFO, 0, NULL, &f, "copy %s in %s is not visible or available yet; deprecating it later",
                         s->image->id, x->t.dest->region);
                step_done(x);
                return;
        }
        if (!dry_ok(x, r, err)) {
                step_failed(x, r, err, &f, "cannot deprecate a copy");
                step_done(x);
                return;
        }
        log_full(LOG_INFO, 0, MESSAGE_IMAGE_DEPRECATED, &f, "%sdeprecated copy %s in %s from %s", dry_prefix(x),
                 s->image->id, x->t.dest->region, format_iso8601(s->deprecate_at, at) ?: "?");
        r = ec2_tags_add(&mark, TAG_DEPRECATION, at);
        if (r >= 0)
                r = ec2_create_tags(x->t.client, ids, &mark, x->t.ctx->dry_run, on_marked, x, &x->op);
        if (r < 0) {
                step_failed(x, r, NULL, &f, "cannot mark a copy's deprecation");
                step_done(x);
        }
}

static void run_deprecate(copy_exec *x) {
        const plan_copy_step *s = current(x);
        int r;

        r = ec2_enable_image_deprecation(x->t.client, s->image->id, s->deprecate_at, x->t.ctx->dry_run,
                                         on_deprecated, x, &x->op);
        if (r < 0) {
                log_fields f = step_fields(x, "EnableImageDeprecation");

                step_failed(x, r, NULL, &f, "cannot deprecate a copy");
                step_done(x);
        }
}

/* ---- START ------------------------------------------------------------------------------ */

static void run_start_phase(copy_exec *x);

/* The instance an image was made of, among those the run described; NULL when it is gone. */
static const ec2_instance *source_instance(const dist_context *ctx, const ec2_image *image) {
        const char *id = ec2_tags_get(&image->tags, TAG_INSTANCE_ID);

        for (size_t i = 0; id && i < ctx->n_instances; i++)
                if (streq_ptr(ctx->instances[i].id, id))
                        return &ctx->instances[i];
        return NULL;
}

/* The copy's tags: the policy's image tags rendered as they were for the source (its
 * instance, region and slot: the run keeps only the source's amirotd tags), the source's
 * amirotd tags that say what it is (policy, instance, slot, verify's verdict: not its
 * protection, retirement or deprecation), and copy-of. */
static int copy_tags(const copy_exec *x, ec2_tags *ret) {
        static const char *const carried[] = { TAG_POLICY, TAG_INSTANCE_ID, TAG_SLOT, TAG_VERIFIED };
        const plan_copy_step *s = current(x);
        const policy *p = x->t.ctx->policy;
        const ec2_instance *instance = source_instance(x->t.ctx, s->image);
        _cleanup_(freep) char *copy_of = NULL;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < p->image_tags.n; i++) {
                const ec2_tag *g = &p->image_tags.items[i];
                _cleanup_(freep) char *value = NULL;

                if (startswith(g->key, "amirotd:"))
                        continue;
                r = plan_render_tag_value(g->value ?: "", p, x->t.ctx->region, instance,
                                          ec2_tags_get(&s->image->tags, TAG_SLOT), &value);
                if (r >= 0)
                        r = ec2_tags_add(ret, g->key, value);
        }
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(carried); i++)
                if (streq(carried[i], TAG_VERIFIED) && p->verify.set && strv_contains(x->t.ctx->passed, s->image->id))
                        /* Passed in this run: its tag may not show in the run's describe yet. */
                        r = ec2_tags_add(ret, TAG_VERIFIED, "passed");
                else if (ec2_tags_get(&s->image->tags, carried[i]))
                        r = ec2_tags_add(ret, carried[i], ec2_tags_get(&s->image->tags, carried[i]));
        if (r < 0 || asprintf(&copy_of, "%s/%s", x->t.ctx->region, s->image->id) < 0)
                return -ENOMEM;
        return ec2_tags_add(ret, TAG_COPY_OF, copy_of);
}

static void on_copied(int r, const char *id, const aws_error *err, void *userdata) {
        copy_exec *x = userdata;
        const plan_copy_step *s = current(x);
        log_fields f = step_fields(x, "CopyImage");
        _cleanup_(freep) char *where = NULL;

        x->op = NULL;
        (void) copy_target_describe(&x->t, &where);
        if (err && aws_error_is(err, "IdempotentParameterMismatch") && x->attempt + 1 < PLAN_COPY_ATTEMPTS_MAX) {
                /* this attempt's copy is gone (failed and retired) or was asked differently */
                x->attempt++;
                run_start_phase(x);
                return;
        }
        if (err && aws_error_is(err, "ResourceLimitExceeded")) {
                f.error_code = err->code;
                f.request_id = err->request_id;
                log_full(LOG_NOTICE, 0, MESSAGE_COPY_DEFERRED, &f,
                         "EC2's limit of concurrent copies %s is met: image %s and the copies after it wait "
                         "for the next run", where ?: "", s->image->id);
                x->copies_stopped = true;
        } else if (r >= 0) {
                x->t.ctx->result->copies_started++;
                log_full(LOG_INFO, 0, MESSAGE_COPY_STARTED, &f, "copying image %s of %s %s: copy %s",
                         s->image->id, s->instance_id, where ?: "", id);
        } else if (dry_ok(x, r, err))
                log_full(LOG_INFO, 0, MESSAGE_COPY_STARTED, &f, "dry run: would have copied image %s of %s %s",
                         s->image->id, s->instance_id, where ?: "");
        else
                step_failed(x, r, err, &f, "cannot copy an image");
        step_done(x);
}

static int start_copy(copy_exec *x) {
        const plan_copy_step *s = current(x);
        _cleanup_(ec2_tags_done) ec2_tags tags = {};
        _cleanup_(freep) char *description = NULL;
        char token[PLAN_COPY_TOKEN_MAX + 1];
        int r;

        r = copy_tags(x, &tags);
        if (r < 0)
                return r;
        if (asprintf(&description, "amirotd copy of %s/%s", x->t.ctx->region, s->image->id) < 0)
                return -ENOMEM;
        plan_copy_token(x->t.ctx->policy->name, s->image->id, x->t.dest->region, x->t.account, x->attempt, token);
        return ec2_copy_image(x->t.client, &(ec2_copy_image_request) {
                                      .source_region = x->t.ctx->region,
                                      .source_image_id = s->image->id,
                                      .name = s->image->name ?: s->image->id,
                                      .description = description,
                                      .client_token = token,
                                      .encrypted = x->t.dest->encrypted,
                                      .kms_key_id = x->t.dest->kms_key_id,
                                      .image_tags = &tags,
                                      .snapshot_tags = &tags,
                                      .dry_run = x->t.ctx->dry_run,
                              }, on_copied, x, &x->op);
}

static void on_granted(int r, const aws_error *err, void *userdata) {
        copy_exec *x = userdata;
        log_fields f = step_fields(x, x->phase == 0 ? "ModifyImageAttribute" : "ModifySnapshotAttribute");

        x->op = NULL;
        if (!dry_ok(x, r, err)) {
                step_failed(x, r, err, &f, "cannot grant the destination account the source image");
                step_done(x);
                return;
        }
        if (r >= 0)
                x->t.ctx->result->shares_added++;
        x->phase++;
        run_start_phase(x);
}

/* Phase 0: launch permission; 1..n: the create-volume permission of device n-1's snapshot;
 * then CopyImage. Another account's only: the policy's own needs no grant. */
static void run_start_phase(copy_exec *x) {
        const plan_copy_step *s = current(x);
        char *account[] = { x->account, NULL };
        log_fields f = step_fields(x, "CopyImage");
        int r;

        if (!x->t.account)
                x->phase = s->image->n_devices + 1;
        while (x->phase >= 1 && x->phase <= s->image->n_devices && !s->image->devices[x->phase - 1].snapshot_id)
                x->phase++;
        if (x->phase == 0)
                r = ec2_modify_launch_permission(x->t.ctx->ec2, s->image->id,
                                                 &(ec2_launch_permissions) { .user_ids = account }, NULL,
                                                 x->t.ctx->dry_run, on_granted, x, &x->op);
        else if (x->phase <= s->image->n_devices)
                r = ec2_modify_create_volume_permission(x->t.ctx->ec2, s->image->devices[x->phase - 1].snapshot_id,
                                                        account, NULL, x->t.ctx->dry_run, on_granted, x, &x->op);
        else
                r = start_copy(x);
        if (r < 0) {
                step_failed(x, r, NULL, &f, "cannot copy an image");
                step_done(x);
        }
}

/* ---- The steps -------------------------------------------------------------------------- */

static int on_next(sd_event_source *es, void *userdata) {
        copy_exec *x = userdata;

        (void) es;
        while (x->step < x->plan->n && current(x)->kind == PLAN_COPY_START && x->copies_stopped)
                x->step++;
        if (x->step >= x->plan->n) {
                /* The callee may free x: nothing of it is touched after. */
                x->cb(x->error, x->userdata);
                return 0;
        }
        switch (current(x)->kind) {
        case PLAN_COPY_RETIRE:
                run_retire(x);
                break;
        case PLAN_COPY_DEPRECATE:
                run_deprecate(x);
                break;
        case PLAN_COPY_START:
                run_start_phase(x);
                break;
        }
        return 0;
}

int copy_exec_start(const copy_target *t, const plan_copy *steps, copy_exec_done_cb cb, void *userdata,
                    copy_exec **ret) {
        _cleanup_(copy_exec_freep) copy_exec *x = NULL;
        int r;

        x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        *x = (copy_exec) { .t = *t, .plan = steps, .cb = cb, .userdata = userdata };
        if (t->account)
                snprintf(x->account, sizeof(x->account), "%s", t->account);
        r = sd_event_add_defer(t->ctx->event, &x->next, on_next, x);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(x->next, "copy steps");
        r = sd_event_source_set_enabled(x->next, SD_EVENT_ONESHOT);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(x);
        return 0;
}

copy_exec *copy_exec_free(copy_exec *x) {
        if (!x)
                return NULL;
        ec2_op_cancel(x->op);
        sd_event_source_disable_unref(x->next);
        strv_free(x->snapshots);
        return mfree(x);
}

int copy_target_describe(const copy_target *t, char **ret) {
        return asprintf(ret, "to %s%s%s%s", t->dest->region, t->account ? " in account " : "",
                        t->account ?: "", t->dest->encrypted ? " (encrypted)" : "") < 0 ? -ENOMEM : 0;
}
