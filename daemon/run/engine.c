/* SPDX-License-Identifier: MIT */
/*
 * See engine.h. A run is a small state machine over its steps. Each describe
 * keeps its request in flight in a field of the run, the executor those of the
 * actions and the waiter (wait.c) its poll, so that freeing the run cancels them
 * all and no callback ever reaches a freed run. The executor's and the waiter's
 * events only count and note; the run moves on in its own deferred event ("run
 * web/us-east-1"), never from inside their callbacks, so neither ever returns into
 * a run that ended under it.
 */
#include <stddef.h>
#include <stdio.h>

#include "run/engine.h"
#include "run/engine-log.h"
#include "run/exec.h"
#include "run/targets.h"
#include "run/wait.h"
#include "base/log.h"

#define POLL_INITIAL_DEFAULT (2 * USEC_PER_SEC)
#define POLL_MAX_DEFAULT (5 * USEC_PER_MINUTE)

typedef enum run_step {
        STEP_DESCRIBE,                  /* instances, images and snapshots */
        STEP_EXECUTE,                   /* the first plan; with wait, alongside: the new images'
                                         * polls, and the retirements each one allows once available */
        STEP_REDESCRIBE,                /* images again, once nothing is pending */
        STEP_RETIRE,                    /* the last plan's retirements: what the others missed */
        STEP_DONE,
} run_step;

/* What a run reads from EC2: each answer replaces one list of the run. */
typedef enum describe_kind {
        DESCRIBE_INSTANCES,
        DESCRIBE_IMAGES,
        DESCRIBE_SNAPSHOTS,
        _DESCRIBE_KIND_MAX,
} describe_kind;

typedef struct describe {
        policy_run *run;
        describe_kind kind;
        ec2_op *op;                     /* in flight */
} describe;

struct policy_run {
        sd_event *event;
        aws_client *ec2;
        const policy *policy;
        char *region;
        engine_options options;
        policy_run_callback callback;
        void *userdata;

        run_step step;
        describe describes[_DESCRIBE_KIND_MAX];
        unsigned describing;            /* describes outstanding */
        bool describe_failed;           /* then the run plans nothing more */
        int snapshots_r;                /* DescribeSnapshots failed: logged once the others are in */
        aws_error snapshots_error;

        ec2_instance_list instances;
        ec2_image_list images;
        ec2_snapshot_list snapshots;

        sd_event_source *kick;          /* deferred: the run's next move */
        executor *exec;                 /* of result.plan, batches and retire_plan */
        bool exec_busy;                 /* from exec_start() until EXEC_DONE */
        bool retire_plan_built;         /* the run's last plan is retire_plan */
        waiter *wait;                   /* the images the first plan created, until available */
        bool wait_aborted;              /* WAIT_ABORTED: nothing more is polled */
        plan_image_index index;         /* of images, for the views of plan_retire_ready() */
        plan_ready_image *ready;        /* available since the last batch; the ids are owned */
        size_t n_ready;
        plan **batches;                 /* retirements as images became available, in execution */
        size_t n_batches;
        plan spent;                     /* every retirement handed to exec so far (instance ids and
                                         * bound only): the later plans' plan_input.earlier */
        plan retire_plan;
        char **created;                 /* images created or found for the slot: never retired */

        run_result result;
        int error;
};

/* The list each describe fills; all three are { items, n, cap }. */
static const struct {
        const char *action;
        size_t offset;                  /* of the list in policy_run */
        size_t size;
} describe_table[_DESCRIBE_KIND_MAX] = {
        [DESCRIBE_INSTANCES] = { "DescribeInstances", offsetof(policy_run, instances), sizeof(ec2_instance_list) },
        [DESCRIBE_IMAGES]    = { "DescribeImages",    offsetof(policy_run, images),    sizeof(ec2_image_list) },
        [DESCRIBE_SNAPSHOTS] = { "DescribeSnapshots", offsetof(policy_run, snapshots), sizeof(ec2_snapshot_list) },
};

static void run_continue(policy_run *run);

/* ---- Small things ---------------------------------------------------------------------- */

void run_result_done(run_result *r) {
        plan_done(&r->plan);
        free(r->error);
        *r = (run_result) {};
}

const policy *policy_run_policy(const policy_run *run) {
        return run->policy;
}

const char *policy_run_region(const policy_run *run) {
        return run->region;
}

unsigned policy_run_pending(const policy_run *run) {
        return waiter_pending(run->wait);
}

static log_fields run_fields(const policy_run *run) {
        return (log_fields) { .policy = run->policy->name, .region = run->region };
}

static void ready_clear(policy_run *run) {
        for (size_t i = 0; i < run->n_ready; i++) {
                free(run->ready[i].image_id);
                free(run->ready[i].instance_id);
        }
        run->ready = mfree(run->ready);
        run->n_ready = 0;
}

static void run_fail(policy_run *run, int r) {
        run->result.errors++;
        if (run->error == 0)
                run->error = r;
}

policy_run *policy_run_free(policy_run *run) {
        if (!run)
                return NULL;
        for (size_t k = 0; k < _DESCRIBE_KIND_MAX; k++)
                ec2_op_cancel(run->describes[k].op);
        sd_event_source_disable_unref(run->kick);
        exec_free(run->exec);
        waiter_free(run->wait);
        ready_clear(run);
        plan_image_index_done(&run->index);
        for (size_t i = 0; i < run->n_batches; i++) {
                plan_done(run->batches[i]);
                free(run->batches[i]);
        }
        free(run->batches);
        plan_done(&run->spent);
        plan_done(&run->retire_plan);
        strv_free(run->created);
        run_result_done(&run->result);
        ec2_instance_list_done(&run->instances);
        ec2_image_list_done(&run->images);
        ec2_snapshot_list_done(&run->snapshots);
        free(run->region);
        aws_error_done(&run->snapshots_error);
        sd_event_unref(run->event);
        return mfree(run);
}

static void run_finish(policy_run *run) {
        const plan *p = run->retire_plan_built ? &run->retire_plan : &run->result.plan;

        run->result.held = (unsigned) p->n_held;
        if (!run->options.plan_only)
                engine_log_held(run->policy, run->region, p);
        run->step = STEP_DONE;
        run->callback(run, run->error, &run->result, run->userdata);
}

/* ---- Describe -------------------------------------------------------------------------- */

/* Snapshots feed only the orphan sweep: without them (no ec2:DescribeSnapshots, throttled
 * past the retries) the run sweeps nothing, and creates and retires as usual. */
static void describes_done(policy_run *run) {
        log_fields f = run_fields(run);

        f.action = describe_table[DESCRIBE_SNAPSHOTS].action;
        if (run->snapshots_r < 0)
                exec_log_aws(run->describe_failed ? LOG_DEBUG : LOG_WARNING, run->snapshots_r,
                             &run->snapshots_error, &f, run->describe_failed ? "cannot read EC2's state either" :
                             "cannot list snapshots, skipping the orphan sweep this run");
        run->snapshots_r = 0;
        aws_error_done(&run->snapshots_error);
        run_continue(run);
}

/* The answer replaces the run's list. The old list goes into the answer's place, where
 * ec2 frees it with the answer's remains when the callback returns. A cause that fails
 * one describe (credentials, the network) fails all three: the first failure is logged,
 * and the snapshots' only if the run could read the rest (describes_done()). */
static void described(describe *d, int r, void *list, const aws_error *err) {
        policy_run *run = d->run;
        log_fields f = run_fields(run);

        d->op = NULL;
        f.action = describe_table[d->kind].action;
        if (r >= 0)
                memswap((unsigned char *) run + describe_table[d->kind].offset, list, describe_table[d->kind].size);
        else if (d->kind == DESCRIBE_SNAPSHOTS) {
                run->snapshots_r = r;
                if (aws_error_set(&run->snapshots_error, err ? err->status : 0, err ? err->code : NULL,
                                  err ? err->message : NULL, err ? err->request_id : NULL) < 0)
                        run->snapshots_r = -ENOMEM;
        } else if (run->describe_failed)
                exec_log_aws(LOG_DEBUG, r, err, &f, "cannot read EC2's state either");
        else {
                exec_log_aws(LOG_ERR, r, err, &f, "cannot read EC2's state");
                run_fail(run, r);
                run->describe_failed = true;
                free(run->result.error);
                run->result.error = exec_aws_reason(r, err, f.action);
        }
        if (--run->describing == 0)
                describes_done(run);
}

/* The ec2 callbacks differ only in the list's type. */
static void on_instances(int r, ec2_instance_list *l, const aws_error *err, void *userdata) {
        described(userdata, r, l, err);
}

static void on_images(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        described(userdata, r, l, err);
}

static void on_snapshots(int r, ec2_snapshot_list *l, const aws_error *err, void *userdata) {
        described(userdata, r, l, err);
}

static int describe_started(policy_run *run, int r) {
        if (r < 0)
                return r;
        run->describing++;
        return 0;
}

/* Server-side filters narrow what EC2 sends; the planner checks everything again. */
static int describe_instances(policy_run *run) {
        _cleanup_(target_filters_done) target_filters f = {};
        describe *d = &run->describes[DESCRIBE_INSTANCES];
        int r;

        r = target_filters_build(run->policy, &f);
        if (r < 0)
                return r;
        r = ec2_describe_instances(run->ec2, f.filters, f.n, on_instances, d, &d->op);
        return describe_started(run, r);
}

/* The images or snapshots this policy tagged. */
static int describe_managed(policy_run *run, describe_kind kind) {
        char *values[] = { (char *) run->policy->name, NULL };
        ec2_filter filter = { .name = "tag:" TAG_POLICY, .values = values };
        describe *d = &run->describes[kind];
        int r;

        if (kind == DESCRIBE_SNAPSHOTS)
                r = ec2_describe_snapshots(run->ec2, &filter, 1, on_snapshots, d, &d->op);
        else
                r = ec2_describe_images(run->ec2, &filter, 1, NULL, on_images, d, &d->op);
        return describe_started(run, r);
}

/* ---- Moving on ------------------------------------------------------------------------- */

static int on_kick(sd_event_source *s, void *userdata) {
        (void) s;
        run_continue(userdata);
        return 0;
}

/* The run moves on from the loop, once the callback that asked for it has returned. */
static void run_kick(policy_run *run) {
        char description[128];
        int r;

        if (run->kick)
                r = sd_event_source_set_enabled(run->kick, SD_EVENT_ONESHOT);
        else {
                r = sd_event_add_defer(run->event, &run->kick, on_kick, run);
                if (r >= 0) {
                        snprintf(description, sizeof(description), "run %s/%s", run->policy->name, run->region);
                        (void) sd_event_source_set_description(run->kick, description);
                        r = sd_event_source_set_enabled(run->kick, SD_EVENT_ONESHOT);
                }
        }
        if (r < 0) {
                /* Without its event the run cannot go on: it ends here, from a callback. */
                run_fail(run, r);
                run_finish(run);
        }
}

/* ---- Execute --------------------------------------------------------------------------- */

/* Whether the run waits for its new images and retires what each replaces. */
static bool run_waits(const policy_run *run) {
        return run->options.wait && !run->options.dry_run && !run->options.plan_only;
}

/* The executor's results, counted; EXEC_DONE lets the run move on. */
static void on_exec_event(const exec_event *e, void *userdata) {
        policy_run *run = userdata;
        int r;

        switch (e->kind) {
        case EXEC_CREATED:
                run->result.created++;
                break;
        case EXEC_EXISTING:
                run->result.existing++;
                break;
        case EXEC_RETIRED:
                run->result.retired++;
                break;
        case EXEC_SNAPSHOT_DELETED:
                run->result.snapshots_deleted++;
                break;
        case EXEC_SNAPSHOT_LEFT:
                run->result.snapshots_left++;
                break;
        case EXEC_PROTECTED:
                run->result.protected++;
                break;
        case EXEC_FAILED:
                run_fail(run, e->error);
                break;
        case EXEC_DONE:
                run->exec_busy = false;
                run_kick(run);
                return;
        }
        /* The slot's image, made by this run or found again by name: no later plan of the
         * run may retire it, whatever else the account holds (plan.h). */
        r = (e->kind == EXEC_CREATED || e->kind == EXEC_EXISTING) && e->fields && e->fields->image_id ?
                strv_extend(&run->created, e->fields->image_id) : 0;
        if (r >= 0 && e->pending && run_waits(run))
                r = waiter_add(run->wait, e->fields->image_id, e->fields->instance_id);
        if (r < 0)
                run_fail(run, r);
}

/* Hands p to the executor; the run keeps it (batches, result.plan, retire_plan) until it
 * is freed. What p retires leaves the views of later plans and counts as spent for their
 * bound at once, before it is done: a retirement in flight is never planned twice. */
static int run_execute(policy_run *run, const plan *p) {
        plan_action *a;
        bool busy;
        int r;

        a = reallocarray(run->spent.actions, run->spent.n + p->n ?: 1, sizeof(plan_action));
        if (!a)
                return -ENOMEM;
        run->spent.actions = a;
        for (size_t i = 0; i < p->n; i++) {
                const plan_action *q = &p->actions[i];

                if (q->kind != PLAN_RETIRE)
                        continue;
                plan_image_index_forget(&run->index, q->instance_id, q->image_id);
                a = &run->spent.actions[run->spent.n];
                *a = (plan_action) { .kind = PLAN_RETIRE, .retention = q->retention,
                                     .beyond_rotation = q->beyond_rotation, .instance_id = strdup(q->instance_id) };
                if (!a->instance_id)
                        return -ENOMEM;
                run->spent.n++;
        }
        /* Set first: chains that all end at once report EXEC_DONE from inside exec_start(). */
        busy = run->exec_busy;
        run->exec_busy = true;
        r = exec_start(run->exec, p);
        if (r < 0)
                run->exec_busy = busy;  /* nothing started: no EXEC_DONE will come for it */
        return r;
}

/* ---- Wait ------------------------------------------------------------------------------ */

/* The waiter's verdicts, counted; an image available joins the next batch of retirements. */
static void on_wait_event(const wait_event *e, void *userdata) {
        policy_run *run = userdata;
        plan_ready_image *ready;

        switch (e->kind) {
        case WAIT_AVAILABLE:
                run->result.available += e->images;
                ready = reallocarray(run->ready, run->n_ready + 1, sizeof(plan_ready_image));
                if (!ready) {
                        run_fail(run, -ENOMEM);
                        break;
                }
                run->ready = ready;
                ready[run->n_ready] = (plan_ready_image) { .image_id = strdup(e->image_id),
                                                           .instance_id = strdup(e->instance_id) };
                run->n_ready++;
                if (!ready[run->n_ready - 1].image_id || !ready[run->n_ready - 1].instance_id)
                        run_fail(run, -ENOMEM);
                break;
        case WAIT_FAILED:
        case WAIT_TIMED_OUT:
                run->result.failed_images += e->images;
                run_fail(run, e->error);
                break;
        case WAIT_POLLED:
                if (run->n_ready > 0)
                        run_kick(run);
                break;
        case WAIT_IDLE:
                run_kick(run);
                break;
        case WAIT_ABORTED:
                run_fail(run, e->error);
                run->wait_aborted = true;
                run_kick(run);
                break;
        case WAIT_POLLS_FAILING:
        case WAIT_POLLS_RECOVERED:
                if (run->options.problem)
                        run->options.problem(run, e->why, run->userdata);
                break;
        }
}

/* The retirements the images seen available since the last batch allow their instances,
 * planned by the planner's own rules (plan-retire.c) and executed at once. */
static int run_retire_ready(policy_run *run) {
        plan_input in = {
                .policy = run->policy,
                .region = run->region,
                .now = run->options.now,
                .earlier = &run->spent,
        };
        plan **batches, *p;
        int r;

        if (run->n_ready == 0)
                return 0;
        p = calloc(1, sizeof(plan));
        if (!p)
                return -ENOMEM;
        r = plan_retire_ready(&in, &run->index, run->ready, run->n_ready, p);
        ready_clear(run);
        if (r >= 0 && p->n > 0) {
                batches = reallocarray(run->batches, run->n_batches + 1, sizeof(plan *));
                if (batches) {
                        run->batches = batches;
                        run->batches[run->n_batches++] = p;
                        return run_execute(run, p);
                }
                r = -ENOMEM;
        }
        plan_done(p);
        free(p);
        return r;
}

/* ---- The steps ------------------------------------------------------------------------- */

/* A later plan (ret is the retire plan) spends what the run's earlier ones left of its bound. */
static int plan_now(policy_run *run, plan *ret) {
        plan_input in = {
                .earlier = ret == &run->retire_plan ? &run->spent : NULL,
                .policy = run->policy,
                .region = run->region,
                .now = run->options.now,
                .instances = run->instances.items,
                .n_instances = run->instances.n,
                .images = run->images.items,
                .n_images = run->images.n,
                .snapshots = run->snapshots.items,
                .n_snapshots = run->snapshots.n,
                .created = run->created,
        };

        plan_done(ret);
        return plan_build(&in, ret);
}

/* Once described: plans, then executes the plan (or stops there, for `plan`). With wait,
 * the waiter starts with it: each new image is polled from its creation on. */
static int run_first_plan(policy_run *run) {
        log_fields f = run_fields(run);
        int r;

        r = plan_now(run, &run->result.plan);
        if (r < 0)
                return log_full(LOG_ERR, r, MESSAGE_POLICY_RUN_FAILED, &f,
                                "policy '%s' in %s: cannot plan", run->policy->name, run->region);
        run->result.no_targets = run->result.plan.n_targets == 0;
        engine_log_first_plan(run->policy, run->region, &run->result.plan, run->options.no_targets_said);
        if (run->options.plan_only) {
                run_finish(run);
                return 0;
        }
        run->step = STEP_EXECUTE;
        run->spent.images_counted = run->result.plan.images_counted;
        run->spent.retire_percent = run->result.plan.retire_percent;
        run->spent.retire_allowance = run->result.plan.retire_allowance;
        if (run_waits(run)) {
                r = plan_image_index_build(run->images.items, run->images.n, run->policy->name, &run->index);
                if (r >= 0)
                        r = waiter_start(run->wait);
                if (r < 0)
                        return r;
        }
        return run_execute(run, &run->result.plan);
}

/* Once nothing is pending and described again: retires what the batches missed (an
 * image found already available for the slot, one the describe did not show yet). */
static int run_retire(policy_run *run) {
        int r;

        r = plan_now(run, &run->retire_plan);
        if (r < 0)
                return r;
        run->retire_plan_built = true;
        plan_keep_retirements(&run->retire_plan);
        memcpy(run->result.plan.images_after, run->retire_plan.images_after, sizeof(run->result.plan.images_after));
        run->step = STEP_RETIRE;
        return run_execute(run, &run->retire_plan);
}

/* The first plan runs, its new images are polled, and each one available retires what it
 * replaces, all at once. Once nothing runs and nothing is pending, the images are described
 * again for the last plan. */
static int run_executing(policy_run *run) {
        int r;

        if (run_waits(run) && !run->wait_aborted) {
                r = run_retire_ready(run);
                if (r < 0)
                        run_fail(run, r);
        }
        if (run->exec_busy || (run_waits(run) && !run->wait_aborted && waiter_pending(run->wait) > 0))
                return 0;
        if (!run_waits(run) || run->wait_aborted) {
                run_finish(run);
                return 0;
        }
        /* The describe replaces the list, and the index points into it: neither need stay
         * beside the new one (at 70 000 images, that is the run's largest list twice). */
        plan_image_index_done(&run->index);
        ec2_image_list_done(&run->images);
        run->step = STEP_REDESCRIBE;
        return describe_managed(run, DESCRIBE_IMAGES);
}

static void run_continue(policy_run *run) {
        int r;

        switch (run->step) {
        case STEP_DESCRIBE:
                if (run->describe_failed) {
                        run_finish(run);
                        return;
                }
                r = run_first_plan(run);
                break;

        case STEP_EXECUTE:
                r = run_executing(run);
                break;

        case STEP_REDESCRIBE:
                if (run->describing > 0)
                        return;
                if (run->describe_failed) {
                        /* Without a fresh view, what the batches missed waits for the next run. */
                        run_finish(run);
                        return;
                }
                r = run_retire(run);
                break;

        case STEP_RETIRE:
                if (!run->exec_busy)
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

static int run_new(sd_event *event, const policy *p, const char *region, const engine_options *o,
                   policy_run_callback cb, void *userdata, policy_run **ret) {
        policy_run *run;

        run = calloc(1, sizeof(*run));
        if (!run)
                return -ENOMEM;
        run->event = sd_event_ref(event);
        run->policy = p;
        run->options = *o;
        if (run->options.poll_initial == 0)
                run->options.poll_initial = POLL_INITIAL_DEFAULT;
        if (run->options.poll_max == 0)
                run->options.poll_max = POLL_MAX_DEFAULT;
        run->callback = cb;
        run->userdata = userdata;
        for (size_t k = 0; k < _DESCRIBE_KIND_MAX; k++)
                run->describes[k] = (describe) { .run = run, .kind = (describe_kind) k };
        *ret = run;
        run->region = strdup(region);
        return run->region ? 0 : -ENOMEM;
}

int policy_run_start(sd_event *event, aws_pool *pool, const policy *p, const char *region,
                     const engine_options *o, policy_run_callback cb, void *userdata, policy_run **ret) {
        _cleanup_(policy_run_freep) policy_run *run = NULL;
        int r;

        r = run_new(event, p, region, o, cb, userdata, &run);
        if (r < 0)
                return r;
        r = aws_pool_ec2(pool, p, region, &run->ec2);
        if (r < 0)
                return r;
        r = exec_new(&(exec_options) {
                             .event = event,
                             .ec2 = run->ec2,
                             .policy = p,
                             .region = run->region,
                             .dry_run = o->dry_run,
                             .spread = o->spread,
                             .now = o->now,
                     }, on_exec_event, run, &run->exec);
        if (r < 0)
                return r;
        r = waiter_new(&(wait_options) {
                               .event = event,
                               .ec2 = run->ec2,
                               .policy = p,
                               .region = run->region,
                               .poll_initial = run->options.poll_initial,
                               .poll_max = run->options.poll_max,
                       }, on_wait_event, run, &run->wait);
        if (r < 0)
                return r;

        r = describe_instances(run);
        if (r < 0)
                return r;
        r = describe_managed(run, DESCRIBE_IMAGES);
        if (r < 0)
                return r;
        r = describe_managed(run, DESCRIBE_SNAPSHOTS);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(run);
        return 0;
}
