/* SPDX-License-Identifier: MIT */
/*
 * See engine.h. A run is a small state machine; every request it has in
 * flight is a `task` on the run's list, so that freeing the run cancels them
 * all and no callback ever reaches a freed run.
 */
#include <stdio.h>

#include "run/engine.h"
#include "base/log.h"

#define POLL_INITIAL_DEFAULT (15 * USEC_PER_SEC)
#define POLL_MAX_DEFAULT (5 * USEC_PER_MINUTE)

typedef enum run_step {
        STEP_DESCRIBE,                  /* instances, images and snapshots */
        STEP_EXECUTE,                   /* the first plan */
        STEP_WAIT,                      /* new images pending */
        STEP_REDESCRIBE,                /* images again, once the new ones are available */
        STEP_RETIRE,                    /* the second plan's retirements */
        STEP_DONE,
} run_step;

typedef struct task task;

/* The actions of one instance run in plan order, one after the other. */
typedef struct chain {
        policy_run *run;
        size_t first, end;              /* [first, end) in the plan being executed */
        size_t next;                    /* next action to start */
        char **snapshots;               /* of the retirement in progress, still to delete */
        size_t snapshot;                /* index into snapshots */
        sd_event_source *delay;         /* spread: the chain starts when it fires */
} chain;

struct task {
        policy_run *run;
        ec2_op *op;
        chain *chain;                   /* NULL for describes and polls */
        task *prev, *next;
};

typedef struct pending_image {
        char *image_id;
        char *instance_id;
} pending_image;

struct policy_run {
        aws_pool *pool;
        aws_client *ec2;
        const policy *policy;
        char *region;
        engine_options options;
        policy_run_callback callback;
        void *userdata;

        run_step step;
        task *tasks;
        unsigned describing;            /* describes outstanding */
        bool describe_failed;           /* then the run plans nothing more */
        sd_event_source *timer;         /* poll of pending images */
        usec_t poll_delay;
        usec_t wait_started;

        ec2_instance_list instances;
        ec2_image_list images;
        ec2_snapshot_list snapshots;

        plan *executing;                /* result.plan, or retire_plan */
        plan retire_plan;
        chain *chains;
        size_t n_chains;
        size_t chains_running;

        pending_image *pending;
        size_t n_pending;
        bool deregister_plain;          /* the endpoint refused DeleteAssociatedSnapshots */

        run_result result;
        int error;
};

static void run_continue(policy_run *run);

/* ---- Small things ---------------------------------------------------------------------- */

void run_result_done(run_result *r) {
        plan_done(&r->plan);
        *r = (run_result) {};
}

const policy *policy_run_policy(const policy_run *run) {
        return run->policy;
}

const char *policy_run_region(const policy_run *run) {
        return run->region;
}

unsigned policy_run_pending(const policy_run *run) {
        return (unsigned) run->n_pending;
}

static log_fields run_fields(const policy_run *run) {
        return (log_fields) { .policy = run->policy->name, .region = run->region };
}

static void run_fail(policy_run *run, int r) {
        run->result.errors++;
        if (run->error == 0)
                run->error = r;
}

/* Logs a failed AWS call with its code and request id; returns r. */
static int log_aws(policy_run *run, int level, int r, const aws_error *err, const char *action,
                   const char *instance_id, const char *image_id, const char *snapshot_id, const char *what) {
        log_fields f = run_fields(run);

        f.action = action;
        f.instance_id = instance_id;
        f.image_id = image_id;
        f.snapshot_id = snapshot_id;
        f.error_code = err ? err->code : NULL;
        f.request_id = err ? err->request_id : NULL;
        return log_full(level, 0, level <= LOG_ERR ? MESSAGE_POLICY_RUN_FAILED : NULL, &f,
                        "policy '%s' in %s: %s: %s%s%s",
                        run->policy->name, run->region, what,
                        err && err->code ? err->code : strerror(-r),
                        err && err->message ? ": " : "", err && err->message ? err->message : "") ?: r;
}

static task *task_new(policy_run *run, chain *c) {
        task *t = calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        t->run = run;
        t->chain = c;
        t->next = run->tasks;
        if (run->tasks)
                run->tasks->prev = t;
        run->tasks = t;
        return t;
}

/* Unlinks and frees t; its op has completed or is cancelled by the caller. */
static void task_free(task *t) {
        policy_run *run = t->run;

        if (t->prev)
                t->prev->next = t->next;
        else
                run->tasks = t->next;
        if (t->next)
                t->next->prev = t->prev;
        free(t);
}

static void chains_free(policy_run *run) {
        for (size_t i = 0; i < run->n_chains; i++) {
                strv_free(run->chains[i].snapshots);
                sd_event_source_disable_unref(run->chains[i].delay);
        }
        run->chains = mfree(run->chains);
        run->n_chains = 0;
}

policy_run *policy_run_free(policy_run *run) {
        if (!run)
                return NULL;
        while (run->tasks) {
                ec2_op_cancel(run->tasks->op);
                task_free(run->tasks);
        }
        sd_event_source_disable_unref(run->timer);
        chains_free(run);
        for (size_t i = 0; i < run->n_pending; i++) {
                free(run->pending[i].image_id);
                free(run->pending[i].instance_id);
        }
        free(run->pending);
        plan_done(&run->retire_plan);
        run_result_done(&run->result);
        ec2_instance_list_done(&run->instances);
        ec2_image_list_done(&run->images);
        ec2_snapshot_list_done(&run->snapshots);
        free(run->region);
        return mfree(run);
}

static void run_finish(policy_run *run) {
        run->step = STEP_DONE;
        run->callback(run, run->error, &run->result, run->userdata);
}

static int pending_add(policy_run *run, const char *image_id, const char *instance_id) {
        pending_image *n;

        n = reallocarray(run->pending, run->n_pending + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        run->pending = n;
        n[run->n_pending] = (pending_image) { .image_id = strdup(image_id), .instance_id = strdup(instance_id) };
        if (!n[run->n_pending].image_id || !n[run->n_pending].instance_id) {
                free(n[run->n_pending].image_id);
                free(n[run->n_pending].instance_id);
                return -ENOMEM;
        }
        run->n_pending++;
        return 0;
}

/* ---- Describe -------------------------------------------------------------------------- */

static void described(policy_run *run, int r, const aws_error *err, const char *what) {
        if (r < 0) {
                log_aws(run, LOG_ERR, r, err, what, NULL, NULL, NULL, "cannot read EC2's state");
                run_fail(run, r);
                run->describe_failed = true;
        }
        if (--run->describing == 0)
                run_continue(run);
}

static void on_instances(int r, ec2_instance_list *l, const aws_error *err, void *userdata) {
        task *t = userdata;
        policy_run *run = t->run;

        task_free(t);
        if (r >= 0) {
                ec2_instance_list_done(&run->instances);
                run->instances = *l;
                *l = (ec2_instance_list) {};
        }
        described(run, r, err, "DescribeInstances");
}

static void on_images(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        task *t = userdata;
        policy_run *run = t->run;

        task_free(t);
        if (r >= 0) {
                ec2_image_list_done(&run->images);
                run->images = *l;
                *l = (ec2_image_list) {};
        }
        described(run, r, err, "DescribeImages");
}

static void on_snapshots(int r, ec2_snapshot_list *l, const aws_error *err, void *userdata) {
        task *t = userdata;
        policy_run *run = t->run;

        task_free(t);
        if (r >= 0) {
                ec2_snapshot_list_done(&run->snapshots);
                run->snapshots = *l;
                *l = (ec2_snapshot_list) {};
        }
        described(run, r, err, "DescribeSnapshots");
}

/* Server-side filters narrow what EC2 sends; the planner checks everything again. */
static int describe_instances(policy_run *run) {
        const policy *p = run->policy;
        _cleanup_(freep) ec2_filter *filters = NULL;
        _cleanup_(strv_freep) char **names = NULL, **states = NULL;
        char *values[p->n_tags][2];
        size_t n = 0;
        task *t;
        int r;

        filters = calloc(p->n_tags + 1, sizeof(ec2_filter));
        if (!filters)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_tags; i++) {
                char *name;

                if (p->tags[i].value) {
                        if (asprintf(&name, "tag:%s", p->tags[i].key) < 0)
                                return -ENOMEM;
                        values[i][0] = p->tags[i].value;
                } else {
                        name = strdup("tag-key");
                        if (!name)
                                return -ENOMEM;
                        values[i][0] = p->tags[i].key;
                }
                values[i][1] = NULL;
                r = strv_push(&names, name);
                if (r < 0)
                        return r;
                filters[n++] = (ec2_filter) { .name = names[i], .values = values[i] };
        }
        for (int s = 0; s < _EC2_INSTANCE_STATE_MAX; s++)
                if (p->states & (1u << s)) {
                        r = strv_extend(&states, ec2_instance_state_to_string(s));
                        if (r < 0)
                                return r;
                }
        if (states)
                filters[n++] = (ec2_filter) { .name = "instance-state-name", .values = states };

        t = task_new(run, NULL);
        if (!t)
                return -ENOMEM;
        r = ec2_describe_instances(run->ec2, filters, n, on_instances, t, &t->op);
        if (r < 0) {
                task_free(t);
                return r;
        }
        run->describing++;
        return 0;
}

static int describe_managed(policy_run *run, bool snapshots) {
        char *values[] = { (char *) run->policy->name, NULL };
        ec2_filter filter = { .name = "tag:" TAG_POLICY, .values = values };
        task *t;
        int r;

        t = task_new(run, NULL);
        if (!t)
                return -ENOMEM;
        if (snapshots)
                r = ec2_describe_snapshots(run->ec2, &filter, 1, on_snapshots, t, &t->op);
        else
                r = ec2_describe_images(run->ec2, &filter, 1, NULL, on_images, t, &t->op);
        if (r < 0) {
                task_free(t);
                return r;
        }
        run->describing++;
        return 0;
}

/* ---- Execute --------------------------------------------------------------------------- */

static void chain_advance(policy_run *run, chain *c);

static void chain_done(policy_run *run, chain *c) {
        c->snapshots = strv_free(c->snapshots);
        c->next++;
        chain_advance(run, c);
}

static plan_action *chain_action(policy_run *run, chain *c) {
        return &run->executing->actions[c->next];
}

static log_fields action_fields(policy_run *run, const plan_action *a, const char *aws_action) {
        log_fields f = run_fields(run);

        f.instance_id = a->instance_id;
        f.image_id = a->image_id;
        f.action = aws_action;
        return f;
}

static void delete_next_snapshot(policy_run *run, chain *c);

static void on_snapshot_deleted(int r, const aws_error *err, void *userdata) {
        task *t = userdata;
        policy_run *run = t->run;
        chain *c = t->chain;
        plan_action *a = chain_action(run, c);
        const char *snap = c->snapshots[c->snapshot];
        log_fields f = action_fields(run, a, "DeleteSnapshot");

        task_free(t);
        f.snapshot_id = snap;
        if (r >= 0 || (err && aws_error_is(err, "DryRunOperation"))) {
                run->result.snapshots_deleted++;
                if (a->kind == PLAN_DELETE_SNAPSHOT)
                        log_full(LOG_INFO, 0, MESSAGE_SNAPSHOT_DELETED, &f, "%sdeleted snapshot %s: %s",
                                 run->options.dry_run ? "dry run: would have " : "", snap, a->reason);
                else
                        log_full(LOG_INFO, 0, MESSAGE_SNAPSHOT_DELETED, &f, "%sdeleted snapshot %s of image %s",
                                 run->options.dry_run ? "dry run: would have " : "", snap, a->image_id);
        } else if (err && aws_error_is(err, "InvalidSnapshot.NotFound"))
                log_debug("snapshot %s is already gone", snap);
        else if (err && aws_error_is(err, "InvalidSnapshot.InUse")) {
                run->result.snapshots_left++;
                f.error_code = err->code;
                f.request_id = err->request_id;
                log_full(LOG_WARNING, 0, NULL, &f,
                         "snapshot %s is still in use; the next run's sweep will delete it, will retry", snap);
        } else {
                log_aws(run, LOG_ERR, r, err, "DeleteSnapshot", a->instance_id, a->image_id, snap, "cannot delete snapshot");
                run_fail(run, r);
        }
        c->snapshot++;
        delete_next_snapshot(run, c);
}

static void delete_next_snapshot(policy_run *run, chain *c) {
        task *t;
        int r;

        if (!c->snapshots || !c->snapshots[c->snapshot]) {
                chain_done(run, c);
                return;
        }
        t = task_new(run, c);
        if (!t) {
                run_fail(run, -ENOMEM);
                chain_done(run, c);
                return;
        }
        r = ec2_delete_snapshot(run->ec2, c->snapshots[c->snapshot], run->options.dry_run, on_snapshot_deleted, t, &t->op);
        if (r < 0) {
                task_free(t);
                run_fail(run, r);
                chain_done(run, c);
        }
}

static int start_deregister(policy_run *run, chain *c);

static void on_deregistered(int r, char *const *kept, const aws_error *err, void *userdata) {
        task *t = userdata;
        policy_run *run = t->run;
        chain *c = t->chain;
        plan_action *a = chain_action(run, c);
        bool with_snapshots = !run->deregister_plain;
        log_fields f = action_fields(run, a, "DeregisterImage");
        bool dry = err && aws_error_is(err, "DryRunOperation");
        char *const *to_delete = a->snapshot_ids;

        task_free(t);

        if (r < 0 && !dry && with_snapshots && err &&
            (aws_error_is(err, "UnknownParameter") || aws_error_is(err, "InvalidParameter"))) {
                /* An endpoint older than DeleteAssociatedSnapshots: deregister, then delete each. */
                log_debug("endpoint refused DeleteAssociatedSnapshots (%s), deleting snapshots one by one", err->code);
                run->deregister_plain = true;
                r = start_deregister(run, c);
                if (r < 0) {
                        run_fail(run, r);
                        chain_done(run, c);
                }
                return;
        }

        if (r >= 0 || dry) {
                run->result.retired++;
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_RETIRED, &f, "%sretired image %s of %s (slot %s): %s",
                         run->options.dry_run ? "dry run: would have " : "",
                         a->image_id, a->instance_id, a->slot ?: "?", a->reason ?: "");
                if (with_snapshots && !run->options.dry_run) {
                        /* EC2 deleted them with the image, except those it says it kept
                         * (skipped: another image uses them; or an error): amirotd tries
                         * those itself, and what stays in use is left for the sweep. */
                        for (char **i = a->snapshot_ids; i && *i; i++) {
                                if (strv_contains(kept, *i))
                                        continue;
                                run->result.snapshots_deleted++;
                                f.action = "DeleteSnapshot";
                                f.snapshot_id = *i;
                                log_full(LOG_INFO, 0, MESSAGE_SNAPSHOT_DELETED, &f,
                                         "deleted snapshot %s of image %s", *i, a->image_id);
                        }
                        to_delete = kept;
                }
        } else if (err && (aws_error_is(err, "InvalidAMIID.NotFound") || aws_error_is(err, "InvalidAMIID.Unavailable")))
                log_debug("image %s is already deregistered", a->image_id);
        else {
                log_aws(run, LOG_ERR, r, err, "DeregisterImage", a->instance_id, a->image_id, NULL, "cannot deregister image");
                run_fail(run, r);
                chain_done(run, c);
                return;
        }

        /* What is still there: delete each (none: the chain goes on). */
        r = strv_copy(to_delete, &c->snapshots);
        if (r < 0) {
                run_fail(run, r);
                chain_done(run, c);
                return;
        }
        c->snapshot = 0;
        delete_next_snapshot(run, c);
}

static int start_deregister(policy_run *run, chain *c) {
        plan_action *a = chain_action(run, c);
        task *t;
        int r;

        t = task_new(run, c);
        if (!t)
                return -ENOMEM;
        r = ec2_deregister_image(run->ec2, a->image_id, !run->deregister_plain, run->options.dry_run,
                                 on_deregistered, t, &t->op);
        if (r < 0)
                task_free(t);
        return r;
}

static void on_duplicate_found(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        task *t = userdata;
        policy_run *run = t->run;
        chain *c = t->chain;
        plan_action *a = chain_action(run, c);
        log_fields f = action_fields(run, a, "CreateImage");
        const ec2_image *found = NULL;

        task_free(t);
        if (r < 0) {
                log_aws(run, LOG_ERR, r, err, "DescribeImages", a->instance_id, NULL, NULL, "cannot look up the slot's image");
                run_fail(run, r);
                chain_done(run, c);
                return;
        }
        for (size_t i = 0; i < l->n; i++)
                if (streq_ptr(l->items[i].name, a->image_name))
                        found = &l->items[i];

        if (!found || !streq_ptr(ec2_tags_get(&found->tags, TAG_POLICY), run->policy->name)) {
                /* Rule 2: a same-named image amirotd did not make is not ours to count or touch. */
                log_full(LOG_ERR, 0, MESSAGE_POLICY_RUN_FAILED, &f,
                         "policy '%s' in %s: an image named '%s' exists%s%s that is not tagged %s=%s; not touching it",
                         run->policy->name, run->region, a->image_name,
                         found ? " as " : "", found ? found->id : "", TAG_POLICY, run->policy->name);
                run_fail(run, -EEXIST);
                chain_done(run, c);
                return;
        }

        run->result.existing++;
        f.image_id = found->id;
        log_full(LOG_INFO, 0, NULL, &f, "image %s '%s' of %s already exists for slot %s (%s)",
                 found->id, a->image_name, a->instance_id, a->slot, ec2_image_state_to_string(found->state));
        if (found->state == EC2_IMAGE_PENDING) {
                r = pending_add(run, found->id, a->instance_id);
                if (r < 0)
                        run_fail(run, r);
        }
        chain_done(run, c);
}

static void on_created(int r, const char *image_id, const aws_error *err, void *userdata) {
        task *t = userdata;
        policy_run *run = t->run;
        chain *c = t->chain;
        plan_action *a = chain_action(run, c);
        log_fields f = action_fields(run, a, "CreateImage");
        char *values[] = { a->image_name, NULL };
        ec2_filter filter = { .name = "name", .values = values };

        task_free(t);
        if (r >= 0) {
                run->result.created++;
                f.image_id = image_id;
                f.request_id = NULL;
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_CREATED, &f, "creating image %s '%s' of %s for slot %s",
                         image_id, a->image_name, a->instance_id, a->slot);
                r = pending_add(run, image_id, a->instance_id);
                if (r < 0)
                        run_fail(run, r);
                chain_done(run, c);
                return;
        }
        if (err && aws_error_is(err, "DryRunOperation")) {
                run->result.created++;
                log_full(LOG_INFO, 0, NULL, &f, "dry run: would have created image '%s' of %s for slot %s",
                         a->image_name, a->instance_id, a->slot);
                chain_done(run, c);
                return;
        }
        if (err && aws_error_is(err, "InvalidAMIName.Duplicate")) {
                /* Rule 3: the slot's image exists (a retry, another host): find it and go on. */
                t = task_new(run, c);
                if (!t)
                        r = -ENOMEM;
                else {
                        r = ec2_describe_images(run->ec2, &filter, 1, NULL, on_duplicate_found, t, &t->op);
                        if (r >= 0)
                                return;
                        task_free(t);
                }
        }
        log_aws(run, LOG_ERR, r, err, "CreateImage", a->instance_id, NULL, NULL, "cannot create image");
        run_fail(run, r);
        chain_done(run, c);
}

static int start_create(policy_run *run, chain *c) {
        plan_action *a = chain_action(run, c);
        ec2_create_image_request req = {
                .instance_id = a->instance_id,
                .name = a->image_name,
                .description = a->description,
                .no_reboot = a->no_reboot,
                .image_tags = &a->image_tags,
                .snapshot_tags = &a->snapshot_tags,
                .dry_run = run->options.dry_run,
        };
        task *t;
        int r;

        t = task_new(run, c);
        if (!t)
                return -ENOMEM;
        r = ec2_create_image(run->ec2, &req, on_created, t, &t->op);
        if (r < 0)
                task_free(t);
        return r;
}

static void chain_advance(policy_run *run, chain *c) {
        while (c->next < c->end) {
                plan_action *a = chain_action(run, c);
                int r;

                switch (a->kind) {
                case PLAN_CREATE:
                        r = start_create(run, c);
                        break;
                case PLAN_RETIRE:
                        r = start_deregister(run, c);
                        break;
                case PLAN_DELETE_SNAPSHOT:
                        r = strv_copy(a->snapshot_ids, &c->snapshots);
                        if (r >= 0) {
                                c->snapshot = 0;
                                delete_next_snapshot(run, c);
                                return;
                        }
                        break;
                default:
                        r = -EINVAL;
                }
                if (r >= 0)
                        return;
                log_aws(run, LOG_ERR, r, NULL, plan_action_kind_to_string(a->kind),
                        a->instance_id, a->image_id, NULL, "cannot start request");
                run_fail(run, r);
                c->next++;
        }
        if (--run->chains_running == 0)
                run_continue(run);
}

static sd_event *run_event(policy_run *run) {
        return http_client_get_event(aws_client_http(run->ec2));
}

/*
 * The chain's start within the spread window: a fixed offset per instance (FNV-1a
 * of its id), so a large fleet does not send every CreateImage in the same second
 * and each instance's image is taken at the same time of the slot every time.
 */
static usec_t chain_spread(policy_run *run, const chain *c) {
        const plan_action *a = &run->executing->actions[c->first];
        uint64_t h = 1469598103934665603ULL;
        bool creates = false;

        for (size_t i = c->first; i < c->end; i++)
                creates = creates || run->executing->actions[i].kind == PLAN_CREATE;
        if (!creates || run->options.spread == 0 || run->options.dry_run)
                return 0;
        for (const char *p = a->instance_id; *p; p++)
                h = (h ^ (unsigned char) *p) * 1099511628211ULL;
        return h % run->options.spread;
}

static int on_chain_delay(sd_event_source *s, uint64_t usec, void *userdata) {
        chain *c = userdata;

        (void) s;
        (void) usec;
        c->delay = sd_event_source_disable_unref(c->delay);
        chain_advance(c->run, c);
        return 0;
}

/* Splits the plan into per-instance chains and starts them all. */
static int execute(policy_run *run, plan *p) {
        size_t n = 0;

        for (size_t i = 0; i < p->n; i++)
                if (i == 0 || !streq(p->actions[i].instance_id, p->actions[i - 1].instance_id))
                        n++;

        chains_free(run);
        run->chains = calloc(n ?: 1, sizeof(chain));
        if (!run->chains)
                return -ENOMEM;
        run->n_chains = n;
        run->executing = p;

        n = 0;
        for (size_t i = 0; i < p->n; i++) {
                if (i == 0 || !streq(p->actions[i].instance_id, p->actions[i - 1].instance_id))
                        run->chains[n++] = (chain) { .run = run, .first = i, .next = i };
                run->chains[n - 1].end = i + 1;
        }

        /* One extra count, so that chains finishing synchronously cannot end the step early. */
        run->chains_running = run->n_chains + 1;
        for (size_t i = 0; i < run->n_chains; i++) {
                chain *c = &run->chains[i];
                usec_t delay = chain_spread(run, c);

                if (delay > 0 && sd_event_add_time_relative(run_event(run), &c->delay, CLOCK_MONOTONIC, delay, 0,
                                                            on_chain_delay, c) >= 0) {
                        (void) sd_event_source_set_description(c->delay, "create-spread");
                        continue;
                }
                chain_advance(run, c);
        }
        if (--run->chains_running == 0)
                run_continue(run);
        return 0;
}

/* ---- Wait ------------------------------------------------------------------------------ */

static int schedule_poll(policy_run *run);

static void on_polled(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        task *t = userdata;
        policy_run *run = t->run;
        usec_t waited;

        task_free(t);
        if (r < 0)
                log_aws(run, LOG_WARNING, r, err, "DescribeImages", NULL, NULL, NULL,
                        "cannot poll pending images, will retry");
        else
                for (size_t i = 0; i < run->n_pending;) {
                        pending_image *p = &run->pending[i];
                        const ec2_image *img = NULL;
                        log_fields f = run_fields(run);

                        for (size_t j = 0; j < l->n; j++)
                                if (streq(l->items[j].id, p->image_id))
                                        img = &l->items[j];
                        if (img && img->state == EC2_IMAGE_PENDING) {
                                i++;
                                continue;
                        }

                        f.instance_id = p->instance_id;
                        f.image_id = p->image_id;
                        if (img && img->state == EC2_IMAGE_AVAILABLE) {
                                run->result.available++;
                                log_full(LOG_INFO, 0, MESSAGE_IMAGE_AVAILABLE, &f, "image %s of %s is available",
                                         p->image_id, p->instance_id);
                        } else {
                                run->result.failed_images++;
                                run_fail(run, -EIO);
                                log_full(LOG_ERR, 0, MESSAGE_IMAGE_FAILED, &f, "image %s of %s %s%s%s",
                                         p->image_id, p->instance_id,
                                         img ? "went " : "disappeared",
                                         img ? ec2_image_state_to_string(img->state) : "",
                                         img && img->state_reason ? img->state_reason : "");
                        }
                        free(p->image_id);
                        free(p->instance_id);
                        run->pending[i] = run->pending[--run->n_pending];
                }

        waited = now_usec(CLOCK_MONOTONIC) - run->wait_started;
        if (run->n_pending > 0 && waited >= run->policy->wait_timeout * USEC_PER_SEC) {
                for (size_t i = 0; i < run->n_pending; i++) {
                        log_fields f = run_fields(run);

                        f.instance_id = run->pending[i].instance_id;
                        f.image_id = run->pending[i].image_id;
                        log_full(LOG_ERR, 0, MESSAGE_IMAGE_FAILED, &f,
                                 "image %s of %s is still pending after image.wait_timeout %llus; its predecessors stay",
                                 f.image_id, f.instance_id, (unsigned long long) run->policy->wait_timeout);
                        run->result.failed_images++;
                        free(run->pending[i].image_id);
                        free(run->pending[i].instance_id);
                }
                run->n_pending = 0;
                run_fail(run, -ETIMEDOUT);
        }

        if (run->n_pending == 0) {
                run_continue(run);
                return;
        }
        r = schedule_poll(run);
        if (r < 0) {
                run_fail(run, r);
                run_finish(run);
        }
}

static int on_poll_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        policy_run *run = userdata;
        _cleanup_(strv_freep) char **ids = NULL;
        ec2_filter filter = { .name = "image-id" };
        task *t;
        int r;

        (void) s;
        (void) usec;
        for (size_t i = 0; i < run->n_pending; i++) {
                r = strv_extend(&ids, run->pending[i].image_id);
                if (r < 0)
                        goto fail;
        }
        filter.values = ids;

        t = task_new(run, NULL);
        if (!t) {
                r = -ENOMEM;
                goto fail;
        }
        /* A filter rather than ImageIds: an image deregistered meanwhile must not fail the poll. */
        r = ec2_describe_images(run->ec2, &filter, 1, NULL, on_polled, t, &t->op);
        if (r >= 0)
                return 0;
        task_free(t);
fail:
        run_fail(run, r);
        run_finish(run);
        return 0;
}

static int schedule_poll(policy_run *run) {
        usec_t delay = run->poll_delay;
        int r;

        run->poll_delay = MIN(run->poll_delay * 2, run->options.poll_max);
        if (!run->timer) {
                r = sd_event_add_time_relative(run_event(run), &run->timer,
                                               CLOCK_MONOTONIC, delay, 0, on_poll_timer, run);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(run->timer, "image-poll");
                return 0;
        }
        r = sd_event_source_set_time_relative(run->timer, delay);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(run->timer, SD_EVENT_ONESHOT);
}

/* ---- The steps ------------------------------------------------------------------------- */

static int plan_now(policy_run *run, plan *ret) {
        plan_input in = {
                .policy = run->policy,
                .region = run->region,
                .now = run->options.now,
                .instances = run->instances.items,
                .n_instances = run->instances.n,
                .images = run->images.items,
                .n_images = run->images.n,
                .snapshots = run->snapshots.items,
                .n_snapshots = run->snapshots.n,
        };

        plan_done(ret);
        return plan_build(&in, ret);
}

/* Keeps only the retirements of p: the second plan creates nothing. */
static void plan_keep_retirements(plan *p) {
        size_t n = 0;

        for (size_t i = 0; i < p->n; i++)
                if (p->actions[i].kind == PLAN_RETIRE)
                        p->actions[n++] = p->actions[i];
                else
                        plan_action_done(&p->actions[i]);
        p->n = n;
}

static void run_continue(policy_run *run) {
        int r;

        switch (run->step) {
        case STEP_DESCRIBE:
                if (run->describe_failed) {
                        run_finish(run);
                        return;
                }
                r = plan_now(run, &run->result.plan);
                if (r < 0) {
                        log_full(LOG_ERR, r, MESSAGE_POLICY_RUN_FAILED, &(log_fields) { .policy = run->policy->name, .region = run->region },
                                 "policy '%s' in %s: cannot plan", run->policy->name, run->region);
                        run_fail(run, r);
                        run_finish(run);
                        return;
                }
                if (run->options.plan_only) {
                        run_finish(run);
                        return;
                }
                run->step = STEP_EXECUTE;
                r = execute(run, &run->result.plan);
                break;

        case STEP_EXECUTE:
                if (!run->options.wait || run->options.dry_run) {
                        run_finish(run);
                        return;
                }
                run->step = STEP_WAIT;
                if (run->n_pending > 0) {
                        run->wait_started = now_usec(CLOCK_MONOTONIC);
                        run->poll_delay = run->options.poll_initial;
                        r = schedule_poll(run);
                        break;
                }
                _fallthrough_;

        case STEP_WAIT:
                run->step = STEP_REDESCRIBE;
                r = describe_managed(run, false);
                break;

        case STEP_REDESCRIBE:
                if (run->describing > 0)
                        return;
                if (run->describe_failed) {
                        /* Without a fresh view, retiring waits for the next run. */
                        run_finish(run);
                        return;
                }
                r = plan_now(run, &run->retire_plan);
                if (r < 0)
                        break;
                plan_keep_retirements(&run->retire_plan);
                run->step = STEP_RETIRE;
                r = execute(run, &run->retire_plan);
                break;

        case STEP_RETIRE:
                run_finish(run);
                return;

        default:
                return;
        }

        if (r < 0) {
                run_fail(run, r);
                run_finish(run);
        }
}

int policy_run_start(aws_pool *pool, const policy *p, const char *region, const engine_options *o,
                     policy_run_callback cb, void *userdata, policy_run **ret) {
        _cleanup_(policy_run_freep) policy_run *run = NULL;
        int r;

        run = calloc(1, sizeof(*run));
        if (!run)
                return -ENOMEM;
        run->pool = pool;
        run->policy = p;
        run->options = *o;
        if (run->options.poll_initial == 0)
                run->options.poll_initial = POLL_INITIAL_DEFAULT;
        if (run->options.poll_max == 0)
                run->options.poll_max = POLL_MAX_DEFAULT;
        run->callback = cb;
        run->userdata = userdata;
        run->region = strdup(region);
        if (!run->region)
                return -ENOMEM;

        r = aws_pool_ec2(pool, p, region, &run->ec2);
        if (r < 0)
                return r;

        r = describe_instances(run);
        if (r < 0)
                return r;
        r = describe_managed(run, false);
        if (r < 0)
                return r;
        r = describe_managed(run, true);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(run);
        return 0;
}
