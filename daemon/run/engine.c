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
#include "run/engine-internal.h"
#include "run/engine-log.h"
#include "run/exec.h"
#include "run/targets.h"
#include "run/verify.h"
#include "run/wait.h"
#include "base/log.h"

#define POLL_INITIAL_DEFAULT (2 * USEC_PER_SEC)
#define POLL_MAX_DEFAULT (5 * USEC_PER_MINUTE)

static void run_continue(policy_run *run);
static void run_kick(policy_run *run);

/* ---- Small things ---------------------------------------------------------------------- */

const policy *policy_run_policy(const policy_run *run) {
        return run->policy;
}

const char *policy_run_region(const policy_run *run) {
        return run->region;
}

unsigned policy_run_pending(const policy_run *run) {
        return waiter_pending(run->wait);
}

static void ready_clear(policy_run *run) {
        for (size_t i = 0; i < run->n_ready; i++) {
                free(run->ready[i].image_id);
                free(run->ready[i].instance_id);
        }
        run->ready = mfree(run->ready);
        run->n_ready = 0;
}

policy_run *policy_run_free(policy_run *run) {
        if (!run)
                return NULL;
        for (size_t k = 0; k < _DESCRIBE_KIND_MAX; k++)
                ec2_op_cancel(run->describes[k].op);
        sd_event_source_disable_unref(run->kick);
        dist_free(run->dist);
        exec_free(run->exec);
        waiter_free(run->wait);
        verifier_free(run->verify);
        strv_free(run->passed);
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
        strv_free(run->skipped_said);
        run_result_done(&run->result);
        ec2_instance_list_done(&run->instances);
        ec2_image_list_done(&run->images);
        ec2_snapshot_list_done(&run->snapshots);
        ec2_volume_list_done(&run->volumes);
        strv_free(run->excluded_volumes);
        free(run->region);
        aws_error_done(&run->snapshots_error);
        sd_event_unref(run->event);
        return mfree(run);
}

static void on_dist_done(int r, void *userdata) {
        policy_run *run = userdata;

        if (r < 0)
                engine_fail(run, r);
        run_kick(run);
}

/* Distribution follows the run's own work, on what it last described of the region; a run
 * that could not read EC2 distributes nothing. False: nothing to distribute. */
static bool run_distribute(policy_run *run) {
        int r;

        if (run->step == STEP_DISTRIBUTE || run->describe_failed || !dist_wanted(run->policy))
                return false;
        r = dist_start(&(dist_context) {
                               .event = run->event, .pool = run->pool, .ec2 = run->ec2,
                               .policy = run->policy, .region = run->region, .now = run->options.now,
                               .plan_only = run->options.plan_only, .dry_run = run->options.dry_run,
                               .images = run->images.items, .n_images = run->images.n,
                               .instances = run->instances.items, .n_instances = run->instances.n,
                               .passed = run->passed,
                               .result = &run->result.dist,
                       }, on_dist_done, run, &run->dist);
        if (r < 0) {
                engine_fail(run, r);
                return false;
        }
        run->step = STEP_DISTRIBUTE;
        return true;
}

static void run_finish(policy_run *run) {
        const plan *p = run->retire_plan_built ? &run->retire_plan : &run->result.plan;

        if (run_distribute(run))
                return;
        run->result.held = (unsigned) p->n_held;
        if (!run->options.plan_only)
                engine_log_held(run->policy, run->region, p);
        run->step = STEP_DONE;
        run->callback(run, run->error, &run->result, run->userdata);
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
                engine_fail(run, r);
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

        if (e->kind == EXEC_FAILED)
                engine_fail(run, e->error);
        else if (e->kind == EXEC_DONE) {
                run->exec_busy = false;
                run_kick(run);
                return;
        } else
                run_result_count(&run->result, e->kind);
        /* The slot's image, made by this run or found again by name: no later plan of the
         * run may retire it, whatever else the account holds (plan.h). */
        r = (e->kind == EXEC_CREATED || e->kind == EXEC_EXISTING) && e->fields && e->fields->image_id ?
                strv_extend(&run->created, e->fields->image_id) : 0;
        /* With verify, the slot's image found available is waited for too: the waiter's
         * describe hands it to the verifier (the run's own describe may not have shown it). */
        if (r >= 0 && (e->pending || (run->verify && e->kind == EXEC_EXISTING)) && run_waits(run))
                r = waiter_add(run->wait, e->fields->image_id, e->fields->instance_id);
        if (r < 0)
                engine_fail(run, r);
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

                /* A release is retention's decision too, and leaves the views as a RETIRE does;
                 * the stages' image ids keep a later plan from staging an image twice. */
                if (q->kind == PLAN_CREATE || q->kind == PLAN_DELETE_SNAPSHOT)
                        continue;
                if (q->kind == PLAN_RETIRE || q->kind == PLAN_RELEASE)
                        plan_image_index_forget(&run->index, q->instance_id, q->image_id);
                a = &run->spent.actions[run->spent.n];
                *a = (plan_action) { .kind = q->kind == PLAN_RELEASE ? PLAN_RETIRE : q->kind,
                                     .retention = q->retention, .beyond_rotation = q->beyond_rotation,
                                     .instance_id = strdup(q->instance_id), .image_id = strdup(q->image_id) };
                if (!a->instance_id || !a->image_id)
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

/* An image available (and, with verify, passed) joins the next batch of retirements. */
static void ready_add(policy_run *run, const char *image_id, const char *instance_id) {
        plan_ready_image *ready;

        ready = reallocarray(run->ready, run->n_ready + 1, sizeof(plan_ready_image));
        if (!ready) {
                engine_fail(run, -ENOMEM);
                return;
        }
        run->ready = ready;
        ready[run->n_ready] = (plan_ready_image) { .image_id = strdup(image_id), .instance_id = strdup(instance_id) };
        run->n_ready++;
        if (!ready[run->n_ready - 1].image_id || !ready[run->n_ready - 1].instance_id)
                engine_fail(run, -ENOMEM);
}

/* The waiter's verdicts, counted. With verify, an image available is the verifier's first:
 * it retires nothing until it has passed. */
static void on_wait_event(const wait_event *e, void *userdata) {
        policy_run *run = userdata;
        int r;

        switch (e->kind) {
        case WAIT_AVAILABLE:
                run->result.available += e->images;
                if (!run->verify) {
                        ready_add(run, e->image_id, e->instance_id);
                        break;
                }
                r = e->image ? verifier_add(run->verify, e->image, e->instance_id) : -EINVAL;
                if (r < 0)
                        engine_fail(run, r);
                break;
        case WAIT_FAILED:
        case WAIT_TIMED_OUT:
                run->result.failed_images += e->images;
                engine_fail(run, e->error);
                break;
        case WAIT_POLLED:
                if (run->n_ready > 0)
                        run_kick(run);
                break;
        case WAIT_IDLE:
                run_kick(run);
                break;
        case WAIT_ABORTED:
                engine_fail(run, e->error);
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

/* ---- Verify ---------------------------------------------------------------------------- */

/* The verifier's verdicts, counted. A passed image retires what it replaces, as an available
 * one does without verify; a failed one fails the run (the operator must see it) and is
 * retired as garbage by the last plan. A failed call is no verdict: the run fails. */
static void on_verify_event(const verify_event *e, void *userdata) {
        policy_run *run = userdata;

        run->result.verify_seconds += e->instance_seconds;
        switch (e->kind) {
        case VERIFY_EVENT_PASSED:
                run->result.verified++;
                if (strv_extend(&run->passed, e->image_id) < 0)
                        engine_fail(run, -ENOMEM);
                /* Its instance is the source's; an image found again by tag may not name one. */
                if (e->instance_id && strv_contains(run->created, e->image_id))
                        ready_add(run, e->image_id, e->instance_id);
                break;
        case VERIFY_EVENT_FAILED:
                run->result.verify_failed++;
                engine_fail(run, -EIO);
                break;
        case VERIFY_EVENT_ERROR:
                engine_fail(run, e->error);
                break;
        case VERIFY_EVENT_TERMINATED:
        case VERIFY_EVENT_IDLE:
                break;
        }
        if (run->step == STEP_EXECUTE)
                run_kick(run);
}

/* The retirements the images seen available since the last batch allow their instances,
 * planned by the planner's own rules (plan-retire.c) and executed at once. */
static int run_retire_ready(policy_run *run) {
        plan_input in = {
                .policy = run->policy,
                .region = run->region,
                .now = run->options.now,
                .earlier = &run->spent,
                .passed = run->passed,
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
        if (r >= 0)
                engine_log_skipped(run->policy, run->region, p, &run->skipped_said);
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
                .passed = run->passed,
        };
        int r;

        if (!run->excluded_volumes && run->volumes.n > 0 &&
            (r = plan_excluded_volumes(run->policy, run->volumes.items, run->volumes.n, &run->excluded_volumes)) < 0)
                return r;
        in.excluded_volume_ids = run->excluded_volumes;
        plan_done(ret);
        return plan_build(&in, ret);
}

/* Once described: plans, then executes the plan (or stops there, for `plan`). With wait,
 * the waiter starts with it: each new image is polled from its creation on. */
static int run_first_plan(policy_run *run) {
        log_fields f = engine_fields(run);
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
        engine_log_skipped(run->policy, run->region, &run->result.plan, &run->skipped_said);
        if (run->verify) {
                r = verifier_images(run->verify, run->images.items, run->images.n);
                if (r < 0)
                        return r;
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
        engine_log_skipped(run->policy, run->region, &run->retire_plan, &run->skipped_said);
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
                        engine_fail(run, r);
        }
        if (run->exec_busy || (run_waits(run) && !run->wait_aborted && waiter_pending(run->wait) > 0) ||
            verifier_busy(run->verify))
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
        return engine_describe_managed(run, DESCRIBE_IMAGES);
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

        case STEP_DISTRIBUTE:
                run_finish(run);
                return;

        default:
                return;
        }

        if (r < 0) {
                engine_fail(run, r);
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
        run->described = run_continue;
        for (size_t k = 0; k < _DESCRIBE_KIND_MAX; k++)
                run->describes[k] = (describe) { .run = run, .kind = (describe_kind) k };
        *ret = run;
        run->region = strdup(region);
        return run->region ? 0 : -ENOMEM;
}

/* The SSM client of the hooks around CreateImage (run/exec-hook.c), when one runs by SSM. */
static int engine_hook_client(policy_run *run, aws_client **ret) {
        const policy *p = run->policy;

        *ret = NULL;
        if (run->options.plan_only ||
            (!p->freeze && p->hook_before.where != POLICY_HOOK_SSM && p->hook_after.where != POLICY_HOOK_SSM))
                return 0;
        return aws_pool_ssm(run->pool, run->region, p->role_arn, p->external_id, ret);
}

/* With verify, before the describes too: the test instances earlier runs left. A run that
 * does not wait for its images verifies none (a dry run says what it would verify). */
static int engine_verify_start(policy_run *run) {
        const engine_options *o = &run->options;
        int r;

        if (!run->policy->verify.set || o->plan_only || !(o->wait || o->dry_run))
                return 0;
        r = verifier_new(&(verify_options) {
                                 .event = run->event,
                                 .ec2 = run->ec2,
                                 .policy = run->policy,
                                 .region = run->region,
                                 .now = o->now,
                                 .dry_run = o->dry_run,
                                 .poll_initial = o->poll_initial,
                                 .poll_max = o->poll_max,
                         }, on_verify_event, run, &run->verify);
        return r < 0 ? r : verifier_recover(run->verify);
}

int policy_run_start(sd_event *event, aws_pool *pool, const policy *p, const char *region,
                     const engine_options *o, policy_run_callback cb, void *userdata, policy_run **ret) {
        _cleanup_(policy_run_freep) policy_run *run = NULL;
        aws_client *ssm;
        int r;

        r = run_new(event, p, region, o, cb, userdata, &run);
        if (r < 0)
                return r;
        run->pool = pool;
        r = aws_pool_ec2(pool, p, region, &run->ec2);
        if (r < 0)
                return r;
        r = engine_hook_client(run, &ssm);
        if (r < 0)
                return r;
        r = exec_new(&(exec_options) {
                             .event = event,
                             .ec2 = run->ec2,
                             .ssm = ssm,
                             .keeper = o->keeper,
                             .keeper_hold = o->keeper_hold,
                             .policy = p,
                             .region = run->region,
                             .dry_run = o->dry_run,
                             .spread = o->spread,
                             .now = o->now,
                             .now_monotonic = now_usec(CLOCK_MONOTONIC),
                     }, on_exec_event, run, &run->exec);
        if (r < 0)
                return r;
        /* Before anything else of the run: the thaws of freezes an earlier run left (exec.h). */
        if (!o->plan_only)
                (void) exec_recover_start(run->exec);
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
        r = engine_verify_start(run);
        if (r < 0)
                return r;

        r = engine_describe_instances(run);
        if (r < 0)
                return r;
        r = engine_describe_managed(run, DESCRIBE_IMAGES);
        if (r < 0)
                return r;
        r = engine_describe_managed(run, DESCRIBE_SNAPSHOTS);
        if (r < 0)
                return r;
        r = engine_describe_volumes(run);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(run);
        return 0;
}
