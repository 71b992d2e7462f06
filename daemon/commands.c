/* SPDX-License-Identifier: MIT */
/*
 * plan and once: load the configuration, then start one policy_run per selected
 * (policy, region) on one event loop and wait for all of them (and, for `once
 * --dry-run`, the permission checks of run/probe.h beside them); `check` is
 * commands-check.c, `list` commands-list.c. Tables go to stdout (JSON with --json);
 * logs and progress go to stderr. Nothing is printed as an empty result for what
 * EC2 could not be read for.
 */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "commands-common.h"
#include "commands-protect.h"
#include "config/config.h"
#include "run/engine.h"
#include "run/plan-hook.h"
#include "run/probe.h"
#include "base/log.h"
#include "loop.h"

/* ---- Running policies ------------------------------------------------------------------ */

/* One selected (policy, region) of a command. */
typedef struct run_slot {
        const policy *policy;
        const char *region;
        policy_run *run;                /* NULL: could not start */
        run_result result;
        int error;
        plan_checks protect;           /* `plan`: protect's checks of its retirements */
} run_slot;

typedef struct runner {
        sd_event *event;
        aws_pool *pool;
        run_slot *slots;
        permission_probe **probes;      /* a dry run's permission checks, one per slot */
        size_t n;
        size_t running;                 /* runs and checks */
        sd_event_source *signals[2];    /* SIGINT, SIGTERM: cancel */
        sd_event_source *progress;
        usec_t started;
        bool progress_shown;
        bool check_protect;             /* `plan`: each plan's retirements checked by protect */
        time_t now;
        thaw_keeper *keeper;            /* thaws what a cancelled run leaves frozen (run/thaw-keeper.h) */
        sd_event_source *stop_wait;     /* "stop-wait": the bound on waiting for them */
        int cancelled;                  /* the exit status of a cancel, once the thaws ended */
} runner;

static void runner_done(runner *rn) {
        for (size_t i = 0; i < rn->n; i++) {
                policy_run_free(rn->slots[i].run);
                plan_checks_done(&rn->slots[i].protect);
                run_result_done(&rn->slots[i].result);
        }
        free(rn->slots);
        for (size_t i = 0; rn->probes && i < rn->n; i++)
                permission_probe_free(rn->probes[i]);
        free(rn->probes);
        for (size_t i = 0; i < ELEMENTSOF(rn->signals); i++)
                sd_event_source_disable_unref(rn->signals[i]);
        sd_event_source_disable_unref(rn->progress);
        sd_event_source_disable_unref(rn->stop_wait);
        thaw_keeper_free(rn->keeper);   /* after the runs, before the clients its thaws use */
        aws_pool_free(rn->pool);
        sd_event_unref(rn->event);
}

static void runner_ended(runner *rn);

static void on_protect_done(void *userdata) {
        runner *rn = userdata;

        if (--rn->running == 0)
                runner_ended(rn);
}

static void on_run_done(policy_run *run, int r, run_result *res, void *userdata) {
        runner *rn = userdata;

        for (size_t i = 0; i < rn->n; i++)
                if (rn->slots[i].run == run) {
                        run_slot *sl = &rn->slots[i];

                        sl->error = r;
                        /* Keep the result: the run is freed with the runner. */
                        sl->result = *res;
                        *res = (run_result) {};
                        if (rn->check_protect && !sl->result.error &&
                            plan_checks_start(&sl->protect, rn->event, rn->pool, sl->policy, sl->region, &sl->result.plan,
                                               rn->now, on_protect_done, rn) > 0)
                                rn->running++;
                }
        if (--rn->running == 0)
                runner_ended(rn);
}

static void on_probe_done(permission_probe *probe, void *userdata) {
        runner *rn = userdata;

        (void) probe;
        if (--rn->running == 0)
                runner_ended(rn);
}

/* EC2 was read for this slot: its plan and counts mean something. */
static bool slot_read(const run_slot *s) {
        return s->run && !s->result.error && s->error != -ECANCELED;
}

/* EXIT_OK when every slot succeeded; EXIT_AWS when EC2 could be read for none of them;
 * else EXIT_PARTIAL. */
static int runner_exit_status(const runner *rn) {
        size_t failed = 0, unread = 0;

        for (size_t i = 0; i < rn->n; i++) {
                failed += rn->slots[i].error < 0;
                unread += !slot_read(&rn->slots[i]);
        }
        return failed == 0 ? EXIT_OK : unread == rn->n ? EXIT_AWS : EXIT_PARTIAL;
}

static int on_progress(sd_event_source *s, uint64_t usec, void *userdata) {
        runner *rn = userdata;
        unsigned pending = 0;
        usec_t elapsed = now_usec(CLOCK_MONOTONIC) - rn->started;

        (void) usec;
        for (size_t i = 0; i < rn->n; i++)
                if (rn->slots[i].run)
                        pending += policy_run_pending(rn->slots[i].run);
        if (pending > 0) {
                fprintf(stderr, "\r\033[Kwaiting for %u pending image%s, %llu:%02llu elapsed",
                        pending, pending == 1 ? "" : "s",
                        (unsigned long long) (elapsed / USEC_PER_MINUTE),
                        (unsigned long long) (elapsed / USEC_PER_SEC % 60));
                rn->progress_shown = true;
        }
        /* A time source fires once; re-arm it for the next second. */
        (void) sd_event_source_set_time_relative(s, USEC_PER_SEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static void on_thaws_ended(void *userdata) {
        runner *rn = userdata;

        (void) sd_event_exit(rn->event, rn->cancelled);
}

static int on_stop_wait(sd_event_source *s, uint64_t usec, void *userdata) {
        runner *rn = userdata;

        (void) s;
        (void) usec;
        log_error("%zu thaw%s still unanswered after %llus; exiting anyway: each instance's freeze script thaws it "
                  "after image.freeze_timeout", thaw_keeper_pending(rn->keeper),
                  thaw_keeper_pending(rn->keeper) == 1 ? "" : "s",
                  (unsigned long long) (THAW_KEEPER_STOP_WAIT / USEC_PER_SEC));
        return sd_event_exit(rn->event, rn->cancelled);
}

/* The runs have ended; the thaws they handed over end first (within THAW_KEEPER_STOP_WAIT). */
static void runner_ended(runner *rn) {
        if (thaw_keeper_pending(rn->keeper) == 0 || sd_event_add_time_relative(rn->event, &rn->stop_wait,
                        CLOCK_MONOTONIC, THAW_KEEPER_STOP_WAIT, 0, on_stop_wait, rn) < 0)
                (void) sd_event_exit(rn->event, 0);
        else
                thaw_keeper_on_idle(rn->keeper, on_thaws_ended, rn);
}

/* The runs end inside the loop, so that an instance one of them froze is thawed (the keeper)
 * before the command exits; at most THAW_KEEPER_STOP_WAIT. */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        runner *rn = userdata;

        (void) s;
        if (rn->cancelled)
                return 0;
        log_warning("interrupted by signal %u, cancelling", si->ssi_signo);
        rn->cancelled = 128 + (int) si->ssi_signo;
        for (size_t i = 0; i < rn->n; i++)
                rn->slots[i].run = policy_run_free(rn->slots[i].run);
        if (rn->stop_wait)              /* the runs had ended: their thaws are waited for */
                return 0;
        if (thaw_keeper_pending(rn->keeper) == 0 ||
            sd_event_add_time_relative(rn->event, &rn->stop_wait, CLOCK_MONOTONIC, THAW_KEEPER_STOP_WAIT, 0,
                                       on_stop_wait, rn) < 0)
                return sd_event_exit(rn->event, rn->cancelled);
        log_notice("waiting up to %llus for %zu thaw%s of frozen instances",
                   (unsigned long long) (THAW_KEEPER_STOP_WAIT / USEC_PER_SEC), thaw_keeper_pending(rn->keeper),
                   thaw_keeper_pending(rn->keeper) == 1 ? "" : "s");
        thaw_keeper_on_idle(rn->keeper, on_thaws_ended, rn);
        return 0;
}

/* The loop, the clients, one slot per selected (policy, region), and the signals that cancel. */
static int runner_setup(runner *rn, const config *c, const cli_options *o) {
        static const int signals[ELEMENTSOF(rn->signals)] = { SIGINT, SIGTERM };
        size_t n = 0;
        int r;

        r = clients_new(c, &rn->event, &rn->pool);
        if (r < 0)
                return r;
        r = thaw_keeper_new(rn->event, &rn->keeper);
        if (r < 0)
                return log_error_errno(r, "out of memory");

        for (size_t i = 0; i < c->n_policies; i++)
                if (selected(o, &c->policies[i]))
                        n += strv_length(c->policies[i].regions);
        rn->slots = calloc(n ?: 1, sizeof(*rn->slots));
        rn->probes = calloc(n ?: 1, sizeof(*rn->probes));
        if (!rn->slots || !rn->probes)
                return log_error_errno(-ENOMEM, "out of memory");

        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                r = loop_add_signal(rn->event, signals[i], on_signal, rn, &rn->signals[i]);
                if (r < 0)
                        return log_error_errno(r, "cannot watch SIG%s", sigabbrev_np(signals[i]));
        }
        return 0;
}

static void runner_start(runner *rn, const config *c, const cli_options *o, const engine_options *eo) {
        int r;

        for (size_t i = 0; i < c->n_policies; i++) {
                const policy *p = &c->policies[i];

                /* enabled: false: planned and listed, never run */
                if (!selected(o, p) || (p->disabled && !eo->plan_only))
                        continue;
                for (char **region = p->regions; *region; region++) {
                        run_slot *slot = &rn->slots[rn->n++];

                        *slot = (run_slot) { .policy = p, .region = *region };
                        r = policy_run_start(rn->event, rn->pool, p, *region, eo, on_run_done, rn, &slot->run);
                        if (r < 0) {
                                log_full(LOG_ERR, r, MESSAGE_POLICY_RUN_FAILED,
                                         &(log_fields) { .policy = p->name, .region = *region },
                                         "policy '%s' in %s: cannot start", p->name, *region);
                                slot->error = r;
                                continue;
                        }
                        rn->running++;
                        if (eo->dry_run && permission_probe_start(rn->pool, p, *region, on_probe_done, rn,
                                                                  &rn->probes[rn->n - 1]) >= 0)
                                rn->running++;
                }
        }
}

static int runner_run(runner *rn, const config *c, const cli_options *o, const engine_options *eo) {
        engine_options with_keeper = *eo;
        int r;

        r = runner_setup(rn, c, o);
        if (r < 0)
                return r;
        with_keeper.keeper = rn->keeper;
        runner_start(rn, c, o, &with_keeper);

        if (!eo->plan_only && eo->wait && isatty(STDERR_FILENO)) {
                rn->started = now_usec(CLOCK_MONOTONIC);
                if (sd_event_add_time_relative(rn->event, &rn->progress, CLOCK_MONOTONIC,
                                               USEC_PER_SEC, 0, on_progress, rn) >= 0)
                        (void) sd_event_source_set_description(rn->progress, "progress");
        }

        r = rn->running > 0 ? sd_event_loop(rn->event) : 0;
        if (rn->progress_shown)
                fputs("\r\033[K", stderr);
        return r;
}

/* ---- plan ------------------------------------------------------------------------------ */

/* A stage of staged retirement also says when it came due and, for a deprecation, from when. */
static const char *action_detail(const plan_action *a, char buf[static 256]) {
        char due[ISO8601_MAX], at[ISO8601_MAX];

        if (a->kind == PLAN_CREATE)
                return a->image_name;
        if (a->due == 0)
                return a->reason;
        snprintf(buf, 256, "%s (due %s%s%s)", a->reason ?: "", format_iso8601(a->due, due),
                 a->deprecate_at > 0 ? ", deprecated from " : "",
                 a->deprecate_at > 0 ? format_iso8601(a->deprecate_at, at) : "");
        return buf;
}

/* kept: protect's verdict on a retirement it keeps: a "keep" row, with "protected" saying why. */
static json_object *plan_action_to_json(const plan_action *a, const protect_verdict *kept, const policy *pol,
                                        const char *region) {
        json_object *obj = json_object_new_object();
        const char *policy_name = pol->name;

        json_object_object_add(obj, "policy", json_object_new_string(policy_name));
        json_object_object_add(obj, "region", json_object_new_string(region));
        json_object_object_add(obj, "action", json_object_new_string(kept ? "keep" :
                                                                      plan_action_kind_to_string(a->kind)));
        if (kept)
                json_object_object_add(obj, "protected", json_str(kept->reason ?: "in use"));
        json_object_object_add(obj, "instance_id", json_object_new_string(a->instance_id));
        json_object_object_add(obj, "slot", json_str(a->slot));
        if (a->kind == PLAN_CREATE) {
                json_object *devices = json_object_new_array();

                json_object_object_add(obj, "image_name", json_object_new_string(a->image_name));
                for (char **d = a->exclude_devices; d && *d; d++)
                        json_object_array_add(devices, json_object_new_string(*d));
                json_object_object_add(obj, "exclude_devices", devices);
                /* image.before/freeze/after around its CreateImage (run/plan-hook.h). */
                if (hook_wanted(pol)) {
                        json_object *hooks = json_object_new_array();

                        if (pol->hook_before.where != POLICY_HOOK_NONE)
                                json_object_array_add(hooks, json_object_new_string("before"));
                        if (pol->freeze)
                                json_object_array_add(hooks, json_object_new_string("freeze"));
                        if (pol->hook_after.where != POLICY_HOOK_NONE)
                                json_object_array_add(hooks, json_object_new_string("after"));
                        json_object_object_add(obj, "hooks", hooks);
                }
        } else {
                json_object *snaps = json_object_new_array();

                json_object_object_add(obj, "image_id", json_str(a->image_id));
                json_object_object_add(obj, "state", json_str(ec2_image_state_to_string(a->image_state)));
                json_object_object_add(obj, "reason", json_str(a->reason));
                if (a->due > 0) {
                        char t[ISO8601_MAX];

                        json_object_object_add(obj, "due", json_str(format_iso8601(a->due, t)));
                        if (a->deprecate_at > 0)
                                json_object_object_add(obj, "deprecate_at", json_str(format_iso8601(a->deprecate_at, t)));
                }
                for (char **s = a->snapshot_ids; s && *s; s++)
                        json_object_array_add(snaps, json_object_new_string(*s));
                json_object_object_add(obj, "snapshot_ids", snaps);
        }
        return obj;
}

/* An image max_retire_per_run held back: a "hold" row, with the reason retention gave. */
static json_object *held_to_json(const plan_held_image *h, const plan *p, const char *policy_name, const char *region) {
        json_object *obj = json_object_new_object();
        char why[128];

        snprintf(why, sizeof(why), "held back by max_retire_per_run %u%%", p->retire_percent);
        json_object_object_add(obj, "policy", json_object_new_string(policy_name));
        json_object_object_add(obj, "region", json_object_new_string(region));
        json_object_object_add(obj, "action", json_object_new_string("hold"));
        json_object_object_add(obj, "instance_id", json_object_new_string(h->instance_id));
        json_object_object_add(obj, "slot", json_str(h->slot));
        json_object_object_add(obj, "image_id", json_str(h->image_id));
        json_object_object_add(obj, "reason", json_object_new_string(why));
        json_object_object_add(obj, "retention", json_str(h->reason));
        return obj;
}

/* A retirement deregistration protection stops (plan.skipped): a "keep" row with its reason. */
static json_object *skipped_to_json(const plan_skipped_image *k, const char *policy_name, const char *region) {
        json_object *obj = json_object_new_object();

        json_object_object_add(obj, "policy", json_object_new_string(policy_name));
        json_object_object_add(obj, "region", json_object_new_string(region));
        json_object_object_add(obj, "action", json_object_new_string("keep"));
        json_object_object_add(obj, "instance_id", json_object_new_string(k->instance_id));
        json_object_object_add(obj, "slot", json_str(k->slot));
        json_object_object_add(obj, "image_id", json_str(k->image_id));
        json_object_object_add(obj, "reason", json_str(k->reason));
        return obj;
}

/* A step of distribution: its action ("copy", "share", ...), where it acts, and what it does. */
static json_object *dist_step_to_json(const dist_step *s, const char *policy_name) {
        json_object *obj = json_object_new_object();

        json_object_object_add(obj, "policy", json_object_new_string(policy_name));
        json_object_object_add(obj, "region", json_object_new_string(s->region));
        json_object_object_add(obj, "action", json_object_new_string(s->action));
        json_object_object_add(obj, "instance_id", json_str(s->instance_id));
        json_object_object_add(obj, "image_id", json_str(s->image_id));
        json_object_object_add(obj, "reason", json_str(s->detail));
        return obj;
}

/* The slots that EC2 could not be read for, as the "failures" of a JSON error object. */
static json_object *failures_to_json(const runner *rn, size_t *ret_n) {
        json_object *arr = json_object_new_array();

        *ret_n = 0;
        for (size_t i = 0; i < rn->n; i++) {
                const run_slot *sl = &rn->slots[i];
                json_object *obj;

                if (slot_read(sl))
                        continue;
                obj = json_object_new_object();
                json_object_object_add(obj, "policy", json_object_new_string(sl->policy->name));
                json_object_object_add(obj, "region", json_object_new_string(sl->region));
                json_object_object_add(obj, "error", json_object_new_string(
                                sl->result.error ?: sl->error == -ECANCELED ? "cancelled" : "cannot start"));
                json_object_array_add(arr, obj);
                (*ret_n)++;
        }
        return arr;
}

/* Every slot read: the array of actions. Otherwise an object whose "error" says so, with
 * "failures" (policy, region, error) and the "actions" of the slots that were read. */
static void print_plan_json(const runner *rn) {
        _cleanup_(json_object_putp) json_object *arr = json_object_new_array(), *failures = NULL, *top = NULL;
        _cleanup_(freep) char *message = NULL;
        size_t n_failed;

        for (size_t i = 0; i < rn->n; i++) {
                const run_slot *sl = &rn->slots[i];

                for (size_t j = 0; slot_read(sl) && j < sl->result.plan.n; j++)
                        json_object_array_add(arr, plan_action_to_json(&sl->result.plan.actions[j],
                                                                       plan_checks_kept(&sl->protect,
                                                                                         &sl->result.plan.actions[j]),
                                                                       sl->policy, sl->region));
                for (size_t j = 0; slot_read(sl) && j < sl->result.plan.n_held; j++)
                        json_object_array_add(arr, held_to_json(&sl->result.plan.held[j], &sl->result.plan,
                                                                sl->policy->name, sl->region));
                for (size_t j = 0; slot_read(sl) && j < sl->result.plan.n_skipped; j++)
                        json_object_array_add(arr, skipped_to_json(&sl->result.plan.skipped[j],
                                                                   sl->policy->name, sl->region));
                for (size_t j = 0; slot_read(sl) && j < sl->result.dist.n_steps; j++)
                        json_object_array_add(arr, dist_step_to_json(&sl->result.dist.steps[j], sl->policy->name));
        }
        failures = failures_to_json(rn, &n_failed);
        if (n_failed == 0) {
                print_json(arr);
                return;
        }
        top = json_object_new_object();
        if (asprintf(&message, "EC2 could not be read for %zu of %zu policy %s: the plan is incomplete",
                     n_failed, rn->n, plural(rn->n, "region", "regions")) < 0)
                message = NULL;
        json_object_object_add(top, "error", json_object_new_string(message ?: "EC2 could not be read"));
        json_object_object_add(top, "failures", TAKE_PTR(failures));
        json_object_object_add(top, "actions", TAKE_PTR(arr));
        print_json(top);
}

/* Column widths of the plan table, at least as wide as the headers. */
typedef struct plan_columns {
        int policy, region, action, instance, image;
} plan_columns;

static void plan_columns_fit(const runner *rn, plan_columns *ret) {
        plan_columns w = { 6, 6, 6, 8, 5 };

        for (size_t i = 0; i < rn->n; i++) {
                const run_slot *sl = &rn->slots[i];

                if (!slot_read(sl))
                        continue;
                w.policy = MAX(w.policy, (int) strlen(sl->policy->name));
                w.region = MAX(w.region, (int) strlen(sl->region));
                for (size_t j = 0; j < sl->result.plan.n; j++) {
                        const plan_action *a = &sl->result.plan.actions[j];

                        w.action = MAX(w.action, (int) strlen(plan_action_kind_to_string(a->kind)));
                        w.instance = MAX(w.instance, (int) strlen(a->instance_id));
                        w.image = MAX(w.image, a->image_id ? (int) strlen(a->image_id) : 1);
                }
                for (size_t j = 0; j < sl->result.plan.n_skipped; j++) {
                        w.instance = MAX(w.instance, (int) strlen(sl->result.plan.skipped[j].instance_id));
                        w.image = MAX(w.image, (int) strlen(sl->result.plan.skipped[j].image_id));
                }
                for (size_t j = 0; j < sl->result.plan.n_held; j++) {
                        w.instance = MAX(w.instance, (int) strlen(sl->result.plan.held[j].instance_id));
                        w.image = MAX(w.image, (int) strlen(sl->result.plan.held[j].image_id));
                }
                for (size_t j = 0; j < sl->result.dist.n_steps; j++) {
                        const dist_step *d = &sl->result.dist.steps[j];

                        w.region = MAX(w.region, (int) strlen(d->region));
                        w.action = MAX(w.action, (int) strlen(d->action));
                        w.instance = MAX(w.instance, d->instance_id ? (int) strlen(d->instance_id) : 1);
                        w.image = MAX(w.image, d->image_id ? (int) strlen(d->image_id) : 1);
                }
        }
        *ret = w;
}

/* The rows of the plan table: an action each, and a row for each slot that selects no instance. */
static size_t plan_rows(const runner *rn) {
        size_t n = 0;

        for (size_t i = 0; i < rn->n; i++)
                if (slot_read(&rn->slots[i]))
                        n += rn->slots[i].result.plan.n + rn->slots[i].result.plan.n_held +
                                rn->slots[i].result.plan.n_skipped + rn->slots[i].result.no_targets +
                                rn->slots[i].result.dist.n_steps;
        return n;
}

/* image.volumes: " without /dev/sdf, /dev/sdg", and that the root device stays when a rule named it. */
static void print_excluded_devices(const plan_action *a) {
        for (char **d = a->exclude_devices; d && *d; d++)
                printf("%s%s", d == a->exclude_devices ? " without " : ", ", *d);
        printf("%s\n", a->root_kept ? " (root device kept: an image always holds it)" : "");
}

static void print_plan_slot(const run_slot *sl, const plan_columns *w) {
        if (sl->result.no_targets)
                printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w->policy, sl->policy->name, w->region, sl->region,
                       w->action, "none", w->instance, "-", w->image, "-", "no instance matches the policy's targets");
        for (size_t j = 0; j < sl->result.plan.n; j++) {
                const plan_action *a = &sl->result.plan.actions[j];
                const protect_verdict *v = plan_checks_kept(&sl->protect, a);
                char detail[256], hooks[HOOK_SUMMARY_MAX];

                printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s%s%s", w->policy, sl->policy->name, w->region, sl->region,
                       w->action, v ? "keep" : plan_action_kind_to_string(a->kind), w->instance, a->instance_id,
                       w->image, a->image_id ?: "-", v ? v->reason ?: "in use" : "",
                       v ? "; retention: " : "", action_detail(a, detail) ?: "");
                if (a->kind == PLAN_CREATE && hook_summary(sl->policy, hooks))
                        printf(" with hooks: %s", hooks);
                print_excluded_devices(a);
        }
        for (size_t j = 0; j < sl->result.plan.n_held; j++) {
                const plan_held_image *h = &sl->result.plan.held[j];

                printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s, held back by max_retire_per_run %u%%\n",
                       w->policy, sl->policy->name, w->region, sl->region, w->action, "hold", w->instance, h->instance_id,
                       w->image, h->image_id, h->reason, sl->result.plan.retire_percent);
        }
        for (size_t j = 0; j < sl->result.plan.n_skipped; j++) {
                const plan_skipped_image *k = &sl->result.plan.skipped[j];

                printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w->policy, sl->policy->name, w->region, sl->region,
                       w->action, "keep", w->instance, k->instance_id, w->image, k->image_id, k->reason);
        }
        for (size_t j = 0; j < sl->result.dist.n_steps; j++) {
                const dist_step *d = &sl->result.dist.steps[j];

                printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w->policy, sl->policy->name, w->region, d->region,
                       w->action, d->action, w->instance, d->instance_id ?: "-", w->image, d->image_id ?: "-",
                       d->detail ?: "");
        }
}

/* Nothing on stdout for what could not be read: an empty plan would read as "nothing to do". */
static void print_plan_table(const runner *rn) {
        size_t n_read = 0;
        plan_columns w;

        for (size_t i = 0; i < rn->n; i++) {
                n_read += slot_read(&rn->slots[i]);
                if (rn->slots[i].policy->disabled && (i == 0 || rn->slots[i - 1].policy != rn->slots[i].policy))
                        printf("policy %s is disabled (enabled: false): nothing of this is done\n",
                               rn->slots[i].policy->name);
        }
        if (n_read == 0) {
                log_error("no plan: EC2 could not be read for any selected policy region");
                return;
        }
        if (n_read < rn->n)
                log_warning("the plan leaves out %zu policy %s that EC2 could not be read for",
                            rn->n - n_read, plural(rn->n - n_read, "region", "regions"));
        if (plan_rows(rn) == 0) {
                printf("nothing to do: every selected instance has its image for the current slot, "
                       "and nothing is due for retirement\n");
                return;
        }
        plan_columns_fit(rn, &w);
        printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w.policy, "POLICY", w.region, "REGION", w.action, "ACTION",
               w.instance, "INSTANCE", w.image, "IMAGE", "NAME / REASON");
        for (size_t i = 0; i < rn->n; i++)
                if (slot_read(&rn->slots[i]))
                        print_plan_slot(&rn->slots[i], &w);
}

int cmd_plan(const cli_options *o) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(runner_done) runner rn = {};
        engine_options eo = { .now = cli_now(o), .plan_only = true };
        int r;

        r = load_config(o, &c);
        if (r != 0)
                return r;
        rn.check_protect = true;
        rn.now = eo.now;
        r = runner_run(&rn, c, o, &eo);
        if (r != 0)
                return r > 0 ? r : EXIT_PARTIAL;

        if (o->json)
                print_plan_json(&rn);
        else
                print_plan_table(&rn);
        return runner_exit_status(&rn);
}

/* ---- once ------------------------------------------------------------------------------ */

/* ---- once --dry-run: the permissions ------------------------------------------------- */

static void print_probe(const run_slot *sl, const permission_probe *probe) {
        for (probe_action a = 0; a < _PROBE_ACTION_MAX; a++) {
                const probe_check *k = permission_probe_check(probe, a);

                printf("%-16s %-14s %-30s %-16s %s\n", sl->policy->name, sl->region, probe_action_to_string(a),
                       probe_verdict_to_string(k->verdict), k->detail ?: "");
        }
}

/* Prints the verdicts of the permission checks that ran beside the dry run (run/probe.h):
 * EXIT_AWS when EC2 refused one, EXIT_PARTIAL when one could not be asked for another reason. */
static int check_permissions(const runner *rn) {
        int status = EXIT_OK;

        printf("Permissions a run needs, asked of EC2 with DryRun=true (nothing was changed):\n");
        printf("%-16s %-14s %-30s %-16s %s\n", "POLICY", "REGION", "ACTION", "VERDICT", "ON / WHY");
        for (size_t i = 0; i < rn->n; i++) {
                if (!rn->probes[i]) {
                        printf("%-16s %-14s %-30s %-16s %s\n", rn->slots[i].policy->name, rn->slots[i].region,
                               "-", "could not check", "cannot start the check");
                        status = MAX(status, EXIT_PARTIAL);
                        continue;
                }
                print_probe(&rn->slots[i], rn->probes[i]);
                for (probe_action a = 0; a < _PROBE_ACTION_MAX; a++) {
                        probe_verdict v = permission_probe_check(rn->probes[i], a)->verdict;

                        if (v == PROBE_DENIED)
                                status = EXIT_AWS;
                        else if (v == PROBE_FAILED && status == EXIT_OK)
                                status = EXIT_PARTIAL;
                }
        }
        return status;
}

/* One line per slot that EC2 was read for (a slot that was not has said so once already). */
static void log_once_summary(const run_slot *sl, bool dry_run) {
        const run_result *res = &sl->result;
        char extras[RUN_RESULT_EXTRAS_MAX];

        if (!slot_read(sl))
                return;
        log_full(sl->error < 0 ? LOG_ERR : LOG_INFO, 0, sl->error < 0 ? MESSAGE_POLICY_RUN_FAILED : NULL,
                 &(log_fields) { .policy = sl->policy->name, .region = sl->region },
                 "policy '%s' in %s: %s%u created, %u already there, %u available, %u failed, "
                 "%u retired, %u %s deleted, %u left in use, %u %s%s",
                 sl->policy->name, sl->region, dry_run ? "dry run: " : "",
                 res->created, res->existing, res->available, res->failed_images,
                 res->retired, res->snapshots_deleted, plural(res->snapshots_deleted, "snapshot", "snapshots"),
                 res->snapshots_left, res->errors, plural(res->errors, "error", "errors"),
                 run_result_extras(res, extras));
}

int cmd_once(const cli_options *o) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(runner_done) runner rn = {};
        engine_options eo = { .now = cli_now(o), .wait = !o->no_wait };
        int r, status;

        r = load_config(o, &c);
        if (r != 0)
                return r;
        /* A disabled policy is an operator's pause, also for the cron jobs and timers that call
         * `once`: said, not failed, so that a pause does not page anyone every night. */
        for (size_t i = 0; i < c->n_policies; i++)
                if (c->policies[i].disabled && selected(o, &c->policies[i]))
                        log_full(LOG_NOTICE, 0, NULL, &(log_fields) { .policy = c->policies[i].name },
                                 "policy '%s' is disabled (enabled: false): nothing done", c->policies[i].name);
        eo.dry_run = o->dry_run || c->dry_run;
        eo.poll_initial = c->poll_initial * USEC_PER_SEC;
        eo.poll_max = c->poll_max * USEC_PER_SEC;

        r = runner_run(&rn, c, o, &eo);
        if (r != 0)
                return r > 0 ? r : EXIT_PARTIAL;

        for (size_t i = 0; i < rn.n; i++)
                log_once_summary(&rn.slots[i], eo.dry_run);
        status = runner_exit_status(&rn);
        if (eo.dry_run) {
                r = check_permissions(&rn);
                if (r != EXIT_OK && status == EXIT_OK)
                        status = r;
        }
        return status;
}

