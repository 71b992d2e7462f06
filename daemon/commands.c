/* SPDX-License-Identifier: MIT */
/*
 * check, plan and once: load the configuration, then for `plan` and `once`
 * start one policy_run per selected (policy, region) on one event loop and
 * wait for all of them (and, for `once --dry-run`, the permission checks of
 * run/probe.h beside them); `list` is commands-list.c. Tables go to stdout
 * (JSON with --json); logs and progress go to stderr. Nothing is printed as
 * an empty result for what EC2 could not be read for.
 */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "commands-common.h"
#include "commands-protect.h"
#include "config/config.h"
#include "run/engine.h"
#include "run/probe.h"
#include "base/log.h"
#include "loop.h"

/* ---- check ----------------------------------------------------------------------------- */

/* zone NULL: UTC. */
static void print_time_in(time_t t, const tz_zone *zone) {
        char buf[64];
        struct tm tm;

        if (schedule_local_time(zone, t, &tm) >= 0 && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm) > 0)
                fputs(buf, stdout);
}

static void print_selectors(const char *prefix, const tag_selector *t, size_t n) {
        for (size_t i = 0; i < n; i++)
                printf("%s%s=%s", i == 0 ? prefix : ", ", t[i].key, t[i].value ?: "*");
}

/* Per region, the URL each call goes to and why (issue 18): an operator's "why is it calling that?". */
static void print_endpoints(const config *c, const policy *p) {
        for (char **r = p->regions; r && *r; r++)
                for (int i = 0; i < (p->role_arn ? 2 : 1); i++) {
                        aws_endpoint_options eo = config_endpoint_options(c, i ? "sts" : "ec2", *r);
                        _cleanup_(freep) char *url = NULL, *why = NULL;
                        int k = aws_endpoint_resolve(&eo, i ? "sts" : "ec2", *r, &url, &why);

                        printf("  endpoint: %s %s %s (%s)\n", *r, i ? "sts" : "ec2", k < 0 ? "none" : url, why ?: strerror(-k));
                }
}

static void print_credentials(const config *c, const policy *p) {
        creds_options co = { .access_key_id = c->access_key_id, .profile = c->profile };
        _cleanup_(freep) char *what = NULL;
        creds_source s;

        if (creds_describe_source(&co, &s, &what) >= 0)
                printf("  credentials: %s%s (%s)%s%s\n", creds_source_to_string(s), creds_source_supported(s) ? "" :
                       " [not supported]", what, p->role_arn ? ", then AssumeRole " : "", p->role_arn ?: "");
}

static void print_summary(const policy *p, time_t now) {
        char buf[DURATION_MAX];
        time_t next;

        printf("%s (%s:%u)\n", p->name, p->pos.file, p->pos.line);
        print_selectors("  targets:  instances tagged ", p->tags, p->n_tags);
        print_selectors(", except those tagged ", p->exclude_tags, p->n_exclude_tags);
        printf("; states");
        for (int s = 0, first = 1; s < _EC2_INSTANCE_STATE_MAX; s++)
                if (p->states & (1u << s)) {
                        printf("%s%s", first ? " " : ", ", ec2_instance_state_to_string(s));
                        first = 0;
                }
        printf("\n  regions: ");
        for (char **r = p->regions; r && *r; r++)
                printf(" %s", *r);
        if (p->role_arn)
                printf(" as %s", p->role_arn);
        printf("\n  schedule: ");
        if (p->schedule.kind == SCHEDULE_CRON)
                printf("cron '%s'", p->schedule.cron_expr);
        else
                printf("every %s at %02u:%02u", format_duration(p->schedule.every, buf),
                       p->schedule.at / 3600, p->schedule.at / 60 % 60);
        printf(" %s\n", p->schedule.timezone ?: "UTC");
        if (schedule_next_slot_after(&p->schedule, now, &next) >= 0) {
                printf("  next slot: ");
                print_time_in(next, p->schedule.zone);
                if (p->schedule.zone) {
                        printf(" (");
                        print_time_in(next, NULL);
                        printf(")");
                }
                printf("\n");
        }
        printf("  image:    '%s'%s%s\n", p->name_template, p->reboot ? ", with reboot" : ", no reboot",
               p->copy_instance_tags ? ", instance tags copied" : "");
        printf("  retain:   newest %u available per instance", p->retain_count);
        if (p->retain_max_age > 0)
                printf(", none older than %s (the newest always stays)", format_duration(p->retain_max_age, buf));
        printf("\n  protect:  %s", p->protect_in_use ? "images that instances or launch templates use" :
               "no check of instances and launch templates (in_use: false)");
        if (p->protect_last_launched_within > 0)
                printf(", images launched from within %s", format_duration(p->protect_last_launched_within, buf));
        printf("\n");
}

int cmd_check(const cli_options *o) {
        _cleanup_(config_freep) config *c = NULL;
        time_t now = cli_now(o);
        int r;

        r = load_config(o, &c);
        if (r != 0)
                return r;
        if (o->dump)
                return config_dump(stdout, c) < 0 ? EXIT_PARTIAL : EXIT_OK;

        for (size_t i = 0; i < c->n_policies; i++)
                if (selected(o, &c->policies[i])) {
                        print_summary(&c->policies[i], now);
                        print_endpoints(c, &c->policies[i]);
                        print_credentials(c, &c->policies[i]);
                }
        printf("%zu %s valid\n", c->n_policies, c->n_policies == 1 ? "policy" : "policies");
        return EXIT_OK;
}

/* ---- Running policies ------------------------------------------------------------------ */

/* One selected (policy, region) of a command. */
typedef struct run_slot {
        const policy *policy;
        const char *region;
        policy_run *run;                /* NULL: could not start */
        run_result result;
        int error;
        plan_protect protect;           /* `plan`: protect's checks of its retirements */
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
} runner;

static void runner_done(runner *rn) {
        for (size_t i = 0; i < rn->n; i++) {
                policy_run_free(rn->slots[i].run);
                plan_protect_done(&rn->slots[i].protect);
                run_result_done(&rn->slots[i].result);
        }
        free(rn->slots);
        for (size_t i = 0; rn->probes && i < rn->n; i++)
                permission_probe_free(rn->probes[i]);
        free(rn->probes);
        for (size_t i = 0; i < ELEMENTSOF(rn->signals); i++)
                sd_event_source_disable_unref(rn->signals[i]);
        sd_event_source_disable_unref(rn->progress);
        aws_pool_free(rn->pool);
        sd_event_unref(rn->event);
}

static void on_protect_done(void *userdata) {
        runner *rn = userdata;

        if (--rn->running == 0)
                sd_event_exit(rn->event, 0);
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
                            plan_protect_start(&sl->protect, rn->event, rn->pool, sl->policy, sl->region, &sl->result.plan,
                                               rn->now, on_protect_done, rn) > 0)
                                rn->running++;
                }
        if (--rn->running == 0)
                sd_event_exit(rn->event, 0);
}

static void on_probe_done(permission_probe *probe, void *userdata) {
        runner *rn = userdata;

        (void) probe;
        if (--rn->running == 0)
                sd_event_exit(rn->event, 0);
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

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) userdata;
        log_warning("interrupted by signal %u, cancelling", si->ssi_signo);
        return sd_event_exit(sd_event_source_get_event(s), 128 + (int) si->ssi_signo);
}

/* The loop, the clients, one slot per selected (policy, region), and the signals that cancel. */
static int runner_setup(runner *rn, const config *c, const cli_options *o) {
        static const int signals[ELEMENTSOF(rn->signals)] = { SIGINT, SIGTERM };
        size_t n = 0;
        int r;

        r = clients_new(c, &rn->event, &rn->pool);
        if (r < 0)
                return r;

        for (size_t i = 0; i < c->n_policies; i++)
                if (selected(o, &c->policies[i]))
                        n += strv_length(c->policies[i].regions);
        rn->slots = calloc(n ?: 1, sizeof(*rn->slots));
        rn->probes = calloc(n ?: 1, sizeof(*rn->probes));
        if (!rn->slots || !rn->probes)
                return log_error_errno(-ENOMEM, "out of memory");

        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                r = loop_add_signal(rn->event, signals[i], on_signal, NULL, &rn->signals[i]);
                if (r < 0)
                        return log_error_errno(r, "cannot watch SIG%s", sigabbrev_np(signals[i]));
        }
        return 0;
}

static void runner_start(runner *rn, const config *c, const cli_options *o, const engine_options *eo) {
        int r;

        for (size_t i = 0; i < c->n_policies; i++) {
                const policy *p = &c->policies[i];

                if (!selected(o, p))
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
        int r;

        r = runner_setup(rn, c, o);
        if (r < 0)
                return r;
        runner_start(rn, c, o, eo);

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

static const char *action_detail(const plan_action *a) {
        return a->kind == PLAN_CREATE ? a->image_name : a->reason;
}

/* kept: protect's verdict on a retirement it keeps: a "keep" row, with "protected" saying why. */
static json_object *plan_action_to_json(const plan_action *a, const protect_verdict *kept, const char *policy_name,
                                        const char *region) {
        json_object *obj = json_object_new_object();

        json_object_object_add(obj, "policy", json_object_new_string(policy_name));
        json_object_object_add(obj, "region", json_object_new_string(region));
        json_object_object_add(obj, "action", json_object_new_string(kept ? "keep" :
                                                                      plan_action_kind_to_string(a->kind)));
        if (kept)
                json_object_object_add(obj, "protected", json_str(kept->reason ?: "in use"));
        json_object_object_add(obj, "instance_id", json_object_new_string(a->instance_id));
        json_object_object_add(obj, "slot", json_str(a->slot));
        if (a->kind == PLAN_CREATE)
                json_object_object_add(obj, "image_name", json_object_new_string(a->image_name));
        else {
                json_object *snaps = json_object_new_array();

                json_object_object_add(obj, "image_id", json_str(a->image_id));
                json_object_object_add(obj, "state", json_str(ec2_image_state_to_string(a->image_state)));
                json_object_object_add(obj, "reason", json_str(a->reason));
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
                                                                       plan_protect_kept(&sl->protect,
                                                                                         &sl->result.plan.actions[j]),
                                                                       sl->policy->name, sl->region));
                for (size_t j = 0; slot_read(sl) && j < sl->result.plan.n_held; j++)
                        json_object_array_add(arr, held_to_json(&sl->result.plan.held[j], &sl->result.plan,
                                                                sl->policy->name, sl->region));
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
        int policy, region, instance, image;
} plan_columns;

static void plan_columns_fit(const runner *rn, plan_columns *ret) {
        plan_columns w = { 6, 6, 8, 5 };

        for (size_t i = 0; i < rn->n; i++) {
                const run_slot *sl = &rn->slots[i];

                if (!slot_read(sl))
                        continue;
                w.policy = MAX(w.policy, (int) strlen(sl->policy->name));
                w.region = MAX(w.region, (int) strlen(sl->region));
                for (size_t j = 0; j < sl->result.plan.n; j++) {
                        const plan_action *a = &sl->result.plan.actions[j];

                        w.instance = MAX(w.instance, (int) strlen(a->instance_id));
                        w.image = MAX(w.image, a->image_id ? (int) strlen(a->image_id) : 1);
                }
                for (size_t j = 0; j < sl->result.plan.n_held; j++) {
                        w.instance = MAX(w.instance, (int) strlen(sl->result.plan.held[j].instance_id));
                        w.image = MAX(w.image, (int) strlen(sl->result.plan.held[j].image_id));
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
                                rn->slots[i].result.no_targets;
        return n;
}

static void print_plan_slot(const run_slot *sl, const plan_columns *w) {
        if (sl->result.no_targets)
                printf("%-*s  %-*s  %-6s  %-*s  %-*s  %s\n", w->policy, sl->policy->name, w->region, sl->region,
                       "none", w->instance, "-", w->image, "-", "no instance matches the policy's targets");
        for (size_t j = 0; j < sl->result.plan.n; j++) {
                const plan_action *a = &sl->result.plan.actions[j];
                const protect_verdict *v = plan_protect_kept(&sl->protect, a);

                printf("%-*s  %-*s  %-6s  %-*s  %-*s  %s%s%s\n", w->policy, sl->policy->name, w->region, sl->region,
                       v ? "keep" : plan_action_kind_to_string(a->kind), w->instance, a->instance_id,
                       w->image, a->image_id ?: "-", v ? v->reason ?: "in use" : "",
                       v ? "; retention: " : "", action_detail(a) ?: "");
        }
        for (size_t j = 0; j < sl->result.plan.n_held; j++) {
                const plan_held_image *h = &sl->result.plan.held[j];

                printf("%-*s  %-*s  %-6s  %-*s  %-*s  %s, held back by max_retire_per_run %u%%\n",
                       w->policy, sl->policy->name, w->region, sl->region, "hold", w->instance, h->instance_id,
                       w->image, h->image_id, h->reason, sl->result.plan.retire_percent);
        }
}

/* Nothing on stdout for what could not be read: an empty plan would read as "nothing to do". */
static void print_plan_table(const runner *rn) {
        size_t n_read = 0;
        plan_columns w;

        for (size_t i = 0; i < rn->n; i++)
                n_read += slot_read(&rn->slots[i]);
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
        printf("%-*s  %-*s  %-6s  %-*s  %-*s  %s\n", w.policy, "POLICY", w.region, "REGION", "ACTION",
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
        char kept[64] = "";

        if (!slot_read(sl))
                return;
        if (res->protected > 0)
                snprintf(kept, sizeof(kept), ", %u kept in use (protect)", res->protected);
        log_full(sl->error < 0 ? LOG_ERR : LOG_INFO, 0, sl->error < 0 ? MESSAGE_POLICY_RUN_FAILED : NULL,
                 &(log_fields) { .policy = sl->policy->name, .region = sl->region },
                 "policy '%s' in %s: %s%u created, %u already there, %u available, %u failed, "
                 "%u retired, %u %s deleted, %u left in use, %u %s%s",
                 sl->policy->name, sl->region, dry_run ? "dry run: " : "",
                 res->created, res->existing, res->available, res->failed_images,
                 res->retired, res->snapshots_deleted, plural(res->snapshots_deleted, "snapshot", "snapshots"),
                 res->snapshots_left, res->errors, plural(res->errors, "error", "errors"),
                 kept);
}

int cmd_once(const cli_options *o) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(runner_done) runner rn = {};
        engine_options eo = { .now = cli_now(o), .wait = !o->no_wait };
        int r, status;

        r = load_config(o, &c);
        if (r != 0)
                return r;
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

