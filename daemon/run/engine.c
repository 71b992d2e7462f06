/* SPDX-License-Identifier: MIT */
/*
 * See engine.h. A run is a small state machine over its steps. Each describe
 * and the poll keep their request in flight in a field of the run, and the
 * executor keeps those of the actions, so that freeing the run cancels them
 * all and no callback ever reaches a freed run.
 */
#include <stddef.h>
#include <stdio.h>

#include "run/engine.h"
#include "run/exec.h"
#include "run/targets.h"
#include "base/log.h"

#define POLL_INITIAL_DEFAULT (15 * USEC_PER_SEC)
#define POLL_MAX_DEFAULT (5 * USEC_PER_MINUTE)

/* EC2 answers FilterLimitExceeded past this: "The maximum number of filter values
 * specified on a single call is 200" (EC2's message; the API reference states no
 * number). Values are counted over all filters of a call. */
#define FILTER_VALUES_MAX 200

typedef enum run_step {
        STEP_DESCRIBE,                  /* instances, images and snapshots */
        STEP_EXECUTE,                   /* the first plan */
        STEP_WAIT,                      /* new images pending */
        STEP_REDESCRIBE,                /* images again, once the new ones are available */
        STEP_RETIRE,                    /* the second plan's retirements */
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

typedef struct pending_image {
        char *image_id;
        char *instance_id;
        bool seen;                      /* listed by a poll once: absent later means gone */
        bool done;                      /* available or failed: leaves at the end of the round */
} pending_image;

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
        ec2_op *poll;                   /* DescribeImages of the pending images, in flight */
        size_t poll_from, poll_next;    /* the chunk of pending[] in flight, and the next one */
        sd_event_source *timer;         /* poll of pending images */
        usec_t poll_delay;
        usec_t wait_started;
        bool polls_failing;             /* the last poll failed: options.problem was told */

        ec2_instance_list instances;
        ec2_image_list images;
        ec2_snapshot_list snapshots;

        executor *exec;                 /* of result.plan, then of retire_plan */
        plan retire_plan;
        char **created;                 /* images created or found for the slot: never retired */

        pending_image *pending;
        size_t n_pending;

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

static void pending_image_done(pending_image *p) {
        free(p->image_id);
        free(p->instance_id);
}

policy_run *policy_run_free(policy_run *run) {
        if (!run)
                return NULL;
        for (size_t k = 0; k < _DESCRIBE_KIND_MAX; k++)
                ec2_op_cancel(run->describes[k].op);
        ec2_op_cancel(run->poll);
        exec_free(run->exec);
        sd_event_source_disable_unref(run->timer);
        for (size_t i = 0; i < run->n_pending; i++)
                pending_image_done(&run->pending[i]);
        free(run->pending);
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
                pending_image_done(&n[run->n_pending]);
                return -ENOMEM;
        }
        run->n_pending++;
        return 0;
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

/* ---- Execute --------------------------------------------------------------------------- */

/* The executor's results, counted; EXEC_DONE ends the step. */
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
        case EXEC_FAILED:
                run_fail(run, e->error);
                break;
        case EXEC_DONE:
                run_continue(run);
                return;
        }
        /* The slot's image, made by this run or found again by name: the second plan
         * must not retire it, whatever else the account holds (plan.h). */
        r = (e->kind == EXEC_CREATED || e->kind == EXEC_EXISTING) && e->fields && e->fields->image_id ?
                strv_extend(&run->created, e->fields->image_id) : 0;
        if (r >= 0 && e->pending)
                r = pending_add(run, e->fields->image_id, e->fields->instance_id);
        if (r < 0)
                run_fail(run, r);
}

/* ---- Wait ------------------------------------------------------------------------------ */

/*
 * A poll round asks for the pending images by id, FILTER_VALUES_MAX at a time, one
 * call after the other: ceil(pending / 200) calls, fewer as images complete. A poll
 * by tag (amirotd:policy and amirotd:slot) would cost a page per 1000 images of the
 * slot, but it sees an image only once its tags are visible too, and not at all one
 * that a person or an older version left without them; an id is listed as soon as
 * EC2 lists the image.
 */

static int schedule_poll(policy_run *run);

/* One pending image against a poll's answer (img NULL: not listed). An image EC2 has
 * not listed yet is not gone: a new image may be invisible to DescribeImages for a
 * while (EC2's eventual consistency), and image.wait_timeout bounds that wait. Once
 * listed, its absence means it was deregistered. */
static void poll_check_one(policy_run *run, pending_image *p, const ec2_image *img) {
        log_fields f = run_fields(run);

        if (img)
                p->seen = true;
        if (img ? img->state == EC2_IMAGE_PENDING : !p->seen)
                return;

        f.instance_id = p->instance_id;
        f.image_id = p->image_id;
        p->done = true;
        if (img && img->state == EC2_IMAGE_AVAILABLE) {
                run->result.available++;
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_AVAILABLE, &f, "image %s of %s is available",
                         p->image_id, p->instance_id);
                return;
        }
        run->result.failed_images++;
        run_fail(run, -EIO);
        log_full(LOG_ERR, 0, MESSAGE_IMAGE_FAILED, &f, "image %s of %s %s%s%s",
                 p->image_id, p->instance_id,
                 img ? "went " : "disappeared",
                 img ? ec2_image_state_to_string(img->state) : "",
                 img && img->state_reason ? img->state_reason : "");
}

/* The images of the chunk just polled. */
static void poll_check(policy_run *run, const ec2_image_list *l) {
        for (size_t i = run->poll_from; i < run->poll_next; i++) {
                const ec2_image *img = NULL;

                for (size_t j = 0; j < l->n && !img; j++)
                        if (streq(l->items[j].id, run->pending[i].image_id))
                                img = &l->items[j];
                poll_check_one(run, &run->pending[i], img);
        }
}

/* At the end of a round, available and failed images leave the list. */
static void poll_remove_done(policy_run *run) {
        size_t n = 0;

        for (size_t i = 0; i < run->n_pending; i++)
                if (run->pending[i].done)
                        pending_image_done(&run->pending[i]);
                else
                        run->pending[n++] = run->pending[i];
        run->n_pending = n;
}

/* Past image.wait_timeout, what is still pending counts as failed. */
static void poll_time_out(policy_run *run) {
        usec_t waited = now_usec(CLOCK_MONOTONIC) - run->wait_started;

        if (run->n_pending == 0 || waited < run->policy->wait_timeout * USEC_PER_SEC)
                return;
        for (size_t i = 0; i < run->n_pending; i++) {
                log_fields f = run_fields(run);

                f.instance_id = run->pending[i].instance_id;
                f.image_id = run->pending[i].image_id;
                log_full(LOG_ERR, 0, MESSAGE_IMAGE_FAILED, &f,
                         "image %s of %s %s after image.wait_timeout %llus; its predecessors stay",
                         f.image_id, f.instance_id,
                         run->pending[i].seen ? "is still pending" : "was never listed by DescribeImages",
                         (unsigned long long) run->policy->wait_timeout);
                run->result.failed_images++;
                pending_image_done(&run->pending[i]);
        }
        run->n_pending = 0;
        run_fail(run, -ETIMEDOUT);
}

static void on_polled(int r, ec2_image_list *l, const aws_error *err, void *userdata);

/* The next chunk of the round. A filter rather than ImageIds: an image deregistered
 * meanwhile must not fail the poll. */
static int poll_send(policy_run *run) {
        char *chunk[FILTER_VALUES_MAX + 1] = {};
        ec2_filter filter = { .name = "image-id", .values = chunk };
        size_t n = 0;

        run->poll_from = run->poll_next;
        while (run->poll_next < run->n_pending && n < FILTER_VALUES_MAX)
                chunk[n++] = run->pending[run->poll_next++].image_id;
        return ec2_describe_images(run->ec2, &filter, 1, NULL, on_polled, run, &run->poll);
}

static void on_polled(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        policy_run *run = userdata;

        run->poll = NULL;
        if (r < 0) {
                log_fields f = run_fields(run);
                _cleanup_(freep) char *why = exec_aws_reason(r, err, "DescribeImages");

                f.action = "DescribeImages";
                exec_log_aws(LOG_WARNING, r, err, &f, "cannot poll pending images, will retry");
                run->poll_next = run->n_pending;        /* the next round asks again */
                run->polls_failing = true;
                if (run->options.problem)
                        run->options.problem(run, why ?: "cannot poll pending images", run->userdata);
        } else {
                if (run->polls_failing && run->options.problem)
                        run->options.problem(run, NULL, run->userdata);
                run->polls_failing = false;
                poll_check(run, l);
        }

        if (run->poll_next < run->n_pending)
                r = poll_send(run);
        else {
                poll_remove_done(run);
                poll_time_out(run);
                if (run->n_pending == 0) {
                        run_continue(run);
                        return;
                }
                r = schedule_poll(run);
        }
        if (r < 0) {
                run_fail(run, r);
                run_finish(run);
        }
}

static int on_poll_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        policy_run *run = userdata;
        int r;

        (void) s;
        (void) usec;
        run->poll_next = 0;
        r = poll_send(run);
        if (r < 0) {
                run_fail(run, r);
                run_finish(run);
        }
        return 0;
}

static int schedule_poll(policy_run *run) {
        usec_t delay = run->poll_delay;
        char description[128];
        int r;

        run->poll_delay = MIN(run->poll_delay * 2, run->options.poll_max);
        if (!run->timer) {
                r = sd_event_add_time_relative(run->event, &run->timer,
                                               CLOCK_MONOTONIC, delay, 0, on_poll_timer, run);
                if (r < 0)
                        return r;
                snprintf(description, sizeof(description), "poll %s/%s", run->policy->name, run->region);
                (void) sd_event_source_set_description(run->timer, description);
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
                .created = run->created,
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

/* Once described: plans, then executes the plan (or stops there, for `plan`). */
static int run_first_plan(policy_run *run) {
        log_fields f = run_fields(run);
        int r;

        r = plan_now(run, &run->result.plan);
        if (r < 0)
                return log_full(LOG_ERR, r, MESSAGE_POLICY_RUN_FAILED, &f,
                                "policy '%s' in %s: cannot plan", run->policy->name, run->region);
        run->result.no_targets = run->result.plan.n_targets == 0;
        if (run->result.no_targets) {
                _cleanup_(freep) char *what = NULL;

                (void) target_describe(run->policy, &what);
                log_full(run->options.no_targets_said ? LOG_DEBUG : LOG_WARNING, 0, MESSAGE_NO_TARGETS, &f,
                         "policy '%s' in %s: no instance matches its targets (%s), so it creates nothing",
                         run->policy->name, run->region, what ?: "?");
        }
        /* Once a run, from the first plan: a clock that ran ahead made these. */
        for (size_t i = 0; i < run->result.plan.n_future; i++) {
                const plan_future_image *g = &run->result.plan.future[i];

                f.instance_id = g->instance_id;
                f.image_id = g->image_id;
                log_full(LOG_WARNING, 0, MESSAGE_IMAGE_FUTURE_SLOT, &f,
                         "image %s of %s carries slot %s, which has not begun: was the clock ahead? "
                         "It is neither counted nor retired until its slot begins",
                         g->image_id, g->instance_id, g->slot);
        }
        if (run->options.plan_only) {
                run_finish(run);
                return 0;
        }
        run->step = STEP_EXECUTE;
        return exec_start(run->exec, &run->result.plan);
}

/* Once the new images are available and described again: retires what they replace. */
static int run_retire(policy_run *run) {
        int r;

        r = plan_now(run, &run->retire_plan);
        if (r < 0)
                return r;
        plan_keep_retirements(&run->retire_plan);
        memcpy(run->result.plan.images_after, run->retire_plan.images_after, sizeof(run->result.plan.images_after));
        run->step = STEP_RETIRE;
        return exec_start(run->exec, &run->retire_plan);
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
                r = describe_managed(run, DESCRIBE_IMAGES);
                break;

        case STEP_REDESCRIBE:
                if (run->describing > 0)
                        return;
                if (run->describe_failed) {
                        /* Without a fresh view, retiring waits for the next run. */
                        run_finish(run);
                        return;
                }
                r = run_retire(run);
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
                     }, on_exec_event, run, &run->exec);
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
