/* SPDX-License-Identifier: MIT */
/*
 * check, plan, once and list: load the configuration, then for `plan` and
 * `once` start one policy_run per selected (policy, region) on one event loop
 * and wait for all of them; `list` reads the managed images back from EC2.
 * Tables go to stdout (JSON with --json); logs and progress go to stderr.
 */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "commands.h"
#include "config/config.h"
#include "run/engine.h"
#include "base/log.h"
#include "loop.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(config *, config_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static json_object *json_str(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static time_t cli_now(const cli_options *o) {
        return o->now != 0 ? o->now : time(NULL);
}

static int load_config(const cli_options *o, config **ret) {
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        int r;

        r = config_load(o->config_path, o->policies_dir, ret, &d);
        config_diagnostics_print(&d, stderr);
        if (r == -ENOMEM)
                return log_error_errno(r, "cannot load the configuration");
        if (r < 0) {
                log_error("configuration invalid: %zu error(s)", d.n_errors);
                return r;
        }
        if (o->policy && !config_find_policy(*ret, o->policy)) {
                log_error("no policy named '%s'", o->policy);
                *ret = config_free(*ret);
                return -ENOENT;
        }
        log_set_max_level((*ret)->log_level);
        return 0;
}

static bool selected(const cli_options *o, const policy *p) {
        return !o->policy || streq(o->policy, p->name);
}

/* The loop and the AWS clients of one command. */
static int clients_new(const config *c, sd_event **ret_event, aws_pool **ret_pool) {
        int r;

        r = sd_event_default(ret_event);
        if (r < 0)
                return log_error_errno(r, "cannot create the event loop");
        r = aws_pool_new(*ret_event, c, ret_pool);
        if (r < 0)
                return log_error_errno(r, "cannot set up the AWS client");
        return 0;
}

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
        printf("\n");
}

int cmd_check(const cli_options *o) {
        _cleanup_(config_freep) config *c = NULL;
        time_t now = cli_now(o);
        int r;

        r = load_config(o, &c);
        if (r < 0)
                return EXIT_FAILED;
        if (o->dump)
                return config_dump(stdout, c) < 0 ? EXIT_FAILED : EXIT_OK;

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

typedef struct runner {
        sd_event *event;
        aws_pool *pool;
        policy_run **runs;
        run_result *results;
        int *errors;
        size_t n;
        size_t running;
        sd_event_source *signals[2];    /* SIGINT, SIGTERM: cancel */
        sd_event_source *progress;
        usec_t started;
        bool progress_shown;
} runner;

static void runner_done(runner *rn) {
        for (size_t i = 0; i < rn->n; i++) {
                policy_run_free(rn->runs[i]);
                run_result_done(&rn->results[i]);
        }
        free(rn->runs);
        free(rn->results);
        free(rn->errors);
        for (size_t i = 0; i < ELEMENTSOF(rn->signals); i++)
                sd_event_source_disable_unref(rn->signals[i]);
        sd_event_source_disable_unref(rn->progress);
        aws_pool_free(rn->pool);
        sd_event_unref(rn->event);
}

static size_t runner_index(runner *rn, policy_run *run) {
        for (size_t i = 0; i < rn->n; i++)
                if (rn->runs[i] == run)
                        return i;
        abort();
}

static void on_run_done(policy_run *run, int r, run_result *res, void *userdata) {
        runner *rn = userdata;
        size_t i = runner_index(rn, run);

        rn->errors[i] = r;
        /* Keep the result: the run is freed with the runner. */
        rn->results[i] = *res;
        *res = (run_result) {};
        if (--rn->running == 0)
                sd_event_exit(rn->event, 0);
}

static int on_progress(sd_event_source *s, uint64_t usec, void *userdata) {
        runner *rn = userdata;
        unsigned pending = 0;
        usec_t elapsed = now_usec(CLOCK_MONOTONIC) - rn->started;

        (void) usec;
        for (size_t i = 0; i < rn->n; i++)
                if (rn->runs[i])
                        pending += policy_run_pending(rn->runs[i]);
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
        rn->runs = calloc(n ?: 1, sizeof(*rn->runs));
        rn->results = calloc(n ?: 1, sizeof(*rn->results));
        rn->errors = calloc(n ?: 1, sizeof(*rn->errors));
        if (!rn->runs || !rn->results || !rn->errors)
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
                        size_t k = rn->n++;

                        r = policy_run_start(rn->event, rn->pool, p, *region, eo, on_run_done, rn, &rn->runs[k]);
                        if (r < 0) {
                                log_full(LOG_ERR, r, MESSAGE_POLICY_RUN_FAILED,
                                         &(log_fields) { .policy = p->name, .region = *region },
                                         "policy '%s' in %s: cannot start", p->name, *region);
                                rn->errors[k] = r;
                                continue;
                        }
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

static json_object *plan_action_to_json(const plan_action *a, const char *policy_name, const char *region) {
        json_object *obj = json_object_new_object();

        json_object_object_add(obj, "policy", json_object_new_string(policy_name));
        json_object_object_add(obj, "region", json_object_new_string(region));
        json_object_object_add(obj, "action", json_object_new_string(plan_action_kind_to_string(a->kind)));
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

static void print_json(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void print_plan_json(const runner *rn) {
        _cleanup_(json_object_putp) json_object *arr = json_object_new_array();

        for (size_t i = 0; i < rn->n; i++)
                for (size_t j = 0; rn->errors[i] >= 0 && j < rn->results[i].plan.n; j++)
                        json_object_array_add(arr, plan_action_to_json(&rn->results[i].plan.actions[j],
                                                                       policy_run_policy(rn->runs[i])->name,
                                                                       policy_run_region(rn->runs[i])));
        print_json(arr);
}

/* Column widths of the plan table, at least as wide as the headers. */
typedef struct plan_columns {
        int policy, region, instance, image;
} plan_columns;

static size_t plan_columns_fit(const runner *rn, plan_columns *ret) {
        plan_columns w = { 6, 6, 8, 5 };
        size_t total = 0;

        for (size_t i = 0; i < rn->n; i++)
                for (size_t j = 0; rn->errors[i] >= 0 && j < rn->results[i].plan.n; j++) {
                        const plan_action *a = &rn->results[i].plan.actions[j];

                        w.policy = MAX(w.policy, (int) strlen(policy_run_policy(rn->runs[i])->name));
                        w.region = MAX(w.region, (int) strlen(policy_run_region(rn->runs[i])));
                        w.instance = MAX(w.instance, (int) strlen(a->instance_id));
                        w.image = MAX(w.image, a->image_id ? (int) strlen(a->image_id) : 1);
                        total++;
                }
        *ret = w;
        return total;
}

static void print_plan_table(const runner *rn) {
        plan_columns w;

        if (plan_columns_fit(rn, &w) == 0)
                printf("nothing to do: every selected instance has its image for the current slot, and nothing is due for retirement\n");
        else
                printf("%-*s  %-*s  %-6s  %-*s  %-*s  %s\n", w.policy, "POLICY", w.region, "REGION", "ACTION",
                       w.instance, "INSTANCE", w.image, "IMAGE", "NAME / REASON");
        for (size_t i = 0; i < rn->n; i++)
                for (size_t j = 0; rn->errors[i] >= 0 && j < rn->results[i].plan.n; j++) {
                        const plan_action *a = &rn->results[i].plan.actions[j];

                        printf("%-*s  %-*s  %-6s  %-*s  %-*s  %s\n",
                               w.policy, policy_run_policy(rn->runs[i])->name,
                               w.region, policy_run_region(rn->runs[i]),
                               plan_action_kind_to_string(a->kind),
                               w.instance, a->instance_id,
                               w.image, a->image_id ?: "-",
                               action_detail(a) ?: "");
                }
}

int cmd_plan(const cli_options *o) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(runner_done) runner rn = {};
        engine_options eo = { .now = cli_now(o), .plan_only = true };
        bool failed = false;
        int r;

        r = load_config(o, &c);
        if (r < 0)
                return EXIT_FAILED;
        r = runner_run(&rn, c, o, &eo);
        if (r != 0)
                return EXIT_FAILED;

        for (size_t i = 0; i < rn.n; i++)
                failed = failed || rn.errors[i] < 0;
        if (o->json)
                print_plan_json(&rn);
        else
                print_plan_table(&rn);
        return failed ? EXIT_FAILED : EXIT_OK;
}

/* ---- once ------------------------------------------------------------------------------ */

int cmd_once(const cli_options *o) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(runner_done) runner rn = {};
        engine_options eo = { .now = cli_now(o), .wait = !o->no_wait };
        bool failed = false;
        int r;

        r = load_config(o, &c);
        if (r < 0)
                return EXIT_FAILED;
        eo.dry_run = o->dry_run || c->dry_run;
        eo.poll_initial = c->poll_initial * USEC_PER_SEC;
        eo.poll_max = c->poll_max * USEC_PER_SEC;

        r = runner_run(&rn, c, o, &eo);
        if (r != 0)
                return EXIT_FAILED;

        for (size_t i = 0; i < rn.n; i++) {
                const run_result *res = &rn.results[i];

                if (!rn.runs[i]) {
                        failed = true;
                        continue;
                }
                if (rn.errors[i] < 0)
                        failed = true;
                log_full(rn.errors[i] < 0 ? LOG_ERR : LOG_INFO, 0, rn.errors[i] < 0 ? MESSAGE_POLICY_RUN_FAILED : NULL,
                         &(log_fields) { .policy = policy_run_policy(rn.runs[i])->name, .region = policy_run_region(rn.runs[i]) },
                         "policy '%s' in %s: %s%u created, %u already there, %u available, %u failed, "
                         "%u retired, %u snapshots deleted, %u left in use, %u errors",
                         policy_run_policy(rn.runs[i])->name, policy_run_region(rn.runs[i]),
                         eo.dry_run ? "dry run: " : "",
                         res->created, res->existing, res->available, res->failed_images,
                         res->retired, res->snapshots_deleted, res->snapshots_left, res->errors);
        }
        return failed ? EXIT_FAILED : EXIT_OK;
}

/* ---- list ------------------------------------------------------------------------------ */

static char *format_age(time_t created, time_t now, char buf[static 32]) {
        long long s = created > 0 && now > created ? (long long) (now - created) : 0;

        if (created <= 0)
                snprintf(buf, 32, "-");
        else if (s >= 86400)
                snprintf(buf, 32, "%lldd%lldh", s / 86400, s / 3600 % 24);
        else if (s >= 3600)
                snprintf(buf, 32, "%lldh%lldm", s / 3600, s / 60 % 60);
        else
                snprintf(buf, 32, "%lldm%llds", s / 60, s % 60);
        return buf;
}

static int compare_images(const void *a, const void *b) {
        const ec2_image *x = a, *y = b;
        int r = strcmp(ec2_tags_get(&x->tags, TAG_INSTANCE_ID) ?: "", ec2_tags_get(&y->tags, TAG_INSTANCE_ID) ?: "");

        if (r != 0)
                return r;
        r = strcmp(ec2_tags_get(&y->tags, TAG_SLOT) ?: "", ec2_tags_get(&x->tags, TAG_SLOT) ?: "");
        return r != 0 ? r : strcmp(x->id, y->id);
}

static json_object *image_to_json(const ec2_image *img, const char *policy_name, const char *region, time_t now) {
        json_object *obj = json_object_new_object();
        json_object *snaps = json_object_new_array();

        json_object_object_add(obj, "policy", json_object_new_string(policy_name));
        json_object_object_add(obj, "region", json_object_new_string(region));
        json_object_object_add(obj, "instance_id", json_object_new_string(ec2_tags_get(&img->tags, TAG_INSTANCE_ID) ?: "-"));
        json_object_object_add(obj, "image_id", json_object_new_string(img->id));
        json_object_object_add(obj, "name", json_object_new_string(img->name ?: ""));
        json_object_object_add(obj, "state", json_object_new_string(ec2_image_state_to_string(img->state) ?: "unknown"));
        json_object_object_add(obj, "slot", json_object_new_string(ec2_tags_get(&img->tags, TAG_SLOT) ?: "-"));
        json_object_object_add(obj, "creation_date", json_object_new_int64(img->creation_date));
        json_object_object_add(obj, "age_seconds", json_object_new_int64(img->creation_date > 0 ? now - img->creation_date : 0));
        for (size_t k = 0; k < img->n_devices; k++)
                if (img->devices[k].snapshot_id)
                        json_object_array_add(snaps, json_object_new_string(img->devices[k].snapshot_id));
        json_object_object_add(obj, "snapshot_ids", snaps);
        return obj;
}

/* The output of `list`: a JSON array, or a table whose header comes with its first row. */
typedef struct list_output {
        json_object *json;              /* --json, else NULL */
        bool header;                    /* the table's header is printed */
        time_t now;
} list_output;

static void list_output_image(list_output *out, const ec2_image *img, const char *policy_name, const char *region) {
        char age[32];

        if (out->json) {
                json_object_array_add(out->json, image_to_json(img, policy_name, region, out->now));
                return;
        }
        if (!out->header) {
                printf("%-16s %-14s %-19s %-21s %-9s %-16s %s\n",
                       "POLICY", "REGION", "INSTANCE", "IMAGE", "STATE", "SLOT", "AGE");
                out->header = true;
        }
        printf("%-16s %-14s %-19s %-21s %-9s %-16s %s\n", policy_name, region,
               ec2_tags_get(&img->tags, TAG_INSTANCE_ID) ?: "-", img->id,
               ec2_image_state_to_string(img->state) ?: "unknown", ec2_tags_get(&img->tags, TAG_SLOT) ?: "-",
               format_age(img->creation_date, out->now, age));
}

/* The images of policy p in one region, by instance and newest slot first. Logs its failure. */
static int list_region(aws_pool *pool, const policy *p, const char *region, list_output *out) {
        _cleanup_(ec2_image_list_done) ec2_image_list images = {};
        _cleanup_(aws_error_done) aws_error err = {};
        char *values[] = { p->name, NULL };
        ec2_filter filter = { .name = "tag:" TAG_POLICY, .values = values };
        aws_client *ec2;
        int r;

        r = aws_pool_ec2(pool, p, region, &ec2);
        if (r >= 0)
                r = ec2_describe_images_sync(ec2, &filter, 1, NULL, &images, &err);
        if (r < 0) {
                log_full(LOG_ERR, 0, NULL,
                         &(log_fields) { .policy = p->name, .region = region, .action = "DescribeImages",
                                         .error_code = err.code, .request_id = err.request_id },
                         "policy '%s' in %s: cannot list images: %s",
                         p->name, region, err.code ?: err.message ?: strerror(-r));
                return r;
        }
        qsort(images.items, images.n, sizeof(ec2_image), compare_images);
        for (size_t j = 0; j < images.n; j++)
                list_output_image(out, &images.items[j], p->name, region);
        return 0;
}

int cmd_list(const cli_options *o) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(aws_pool_freep) aws_pool *pool = NULL;
        _cleanup_(json_object_putp) json_object *arr = NULL;
        list_output out = { .now = cli_now(o) };
        bool failed = false;
        int r;

        r = load_config(o, &c);
        if (r < 0)
                return EXIT_FAILED;
        r = clients_new(c, &e, &pool);
        if (r < 0)
                return EXIT_FAILED;
        if (o->json)
                out.json = arr = json_object_new_array();

        for (size_t i = 0; i < c->n_policies; i++)
                for (char **region = c->policies[i].regions; selected(o, &c->policies[i]) && *region; region++)
                        if (list_region(pool, &c->policies[i], *region, &out) < 0)
                                failed = true;

        if (arr)
                print_json(arr);
        else if (!out.header)
                printf("no managed images\n");
        return failed ? EXIT_FAILED : EXIT_OK;
}
