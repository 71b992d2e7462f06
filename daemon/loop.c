/* SPDX-License-Identifier: MIT */
/*
 * See loop.h. The configuration and the AWS clients built from it form a
 * generation, reference-counted: a reload builds a new one and swaps it in at
 * once, while runs still in flight keep the generation they started with until
 * they end. Each (policy, region) is a unit (unit.c) with a CLOCK_REALTIME timer
 * at its next slot; at start every unit runs at once (catch-up), after a reload
 * only the units that are new do, the others keep their next slot. When the wall
 * clock is set, every unit re-plans (unit_clock_stepped()). Signal handlers are
 * sd-event signal sources: nothing runs in signal context.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <systemd/sd-daemon.h>

#include "base/clock-step.h"
#include "base/log.h"
#include "config/config.h"
#include "run/orphans.h"
#include "generation.h"
#include "loop.h"
#include "metrics.h"
#include "unit.h"


typedef struct manager manager;

struct manager {
        manager_options options;
        sd_event *event;
        sd_event_source *signals[3];    /* SIGTERM, SIGINT: stop; SIGHUP: reload */
        clock_step_watch *clock;        /* "clock-step": the wall clock was set */
        unit_host host;                 /* what the units see of the manager */
        generation *gen;
        unit **units;
        size_t n_units;
        bool failed;                    /* exit 1: could not start */
        bool config_invalid;            /* exit EX_CONFIG (78): the global file is invalid */
        unsigned runs_ok, runs_failed;
        char *last_summary;
        /* "FILE:LINE:COL" of a configuration error the status line shows until a good load:
         * a policy file left out at start, or the last reload's error */
        char *config_problem;
        bool reload_failed;             /* config_problem is a reload's */
        aws_stats *stats;               /* every generation's AWS calls, for the metrics */
        int metrics_error;              /* the last write's, so that a failure is logged once */
        orphan_scan *orphans;           /* this generation's look for images of removed policies */
        sd_event_source *trim;          /* "trim": gives the heap back once no run is in flight */
        thaw_keeper *keeper;            /* the thaws of runs freed mid-freeze (run/thaw-keeper.h) */
        sd_event_source *stop_wait;     /* "stop-wait": the bound on waiting for them at a stop */
};

/* ---- Status ---------------------------------------------------------------------------- */

/* Policies that have units: a reload may keep those of a broken file on the old generation. */
static size_t manager_n_policies(const manager *m) {
        size_t n = 0;

        for (size_t i = 0; i < m->n_units; i++)
                n += i == 0 || m->units[i]->policy != m->units[i - 1]->policy;
        return n;
}

/* "2 policies; next web at 2026-05-01T03:00:00Z; runs 4 ok, 0 failed; last: web/us-east-1 ok;
 * reload failed: /etc/amirotd/policies.d/db.yaml:3:1", or with "last: web/us-east-1 failed:
 * DescribeInstances: the host name 'ec2.example' could not be resolved (DNS)" */
static void notify_status(manager *m) {
        _cleanup_(freep) char *text = NULL;
        const unit *soonest = NULL, *empty = NULL;
        char when[ISO8601_MAX];
        size_t n = manager_n_policies(m), n_empty = 0, n_disabled = 0, size = 0;
        FILE *f;

        for (size_t i = 0; i < m->n_units; i++) {
                if (m->units[i]->policy->disabled) {
                        n_disabled += i == 0 || m->units[i]->policy != m->units[i - 1]->policy;
                        continue;
                }
                if (!soonest || m->units[i]->next < soonest->next)
                        soonest = m->units[i];
                if (m->units[i]->no_targets && n_empty++ == 0)
                        empty = m->units[i];
        }
        f = open_memstream(&text, &size);
        if (!f)
                return;
        fprintf(f, "%zu polic%s", n, n == 1 ? "y" : "ies");
        if (n_disabled > 0)
                fprintf(f, " (%zu disabled)", n_disabled);
        fputs("; ", f);
        if (soonest)
                fprintf(f, "next %s at %s", soonest->policy->name, format_iso8601(soonest->next, when));
        else
                fputs("nothing scheduled", f);
        fprintf(f, "; runs %u ok, %u failed", m->runs_ok, m->runs_failed);
        if (m->last_summary)
                fprintf(f, "; last: %s", m->last_summary);
        if (empty)
                fprintf(f, "; %s/%s%s matches no instance", empty->policy->name, empty->region,
                        n_empty > 1 ? " and others" : "");
        for (size_t i = 0; i < m->n_units; i++)
                if (m->units[i]->problem)
                        fprintf(f, "; %s/%s waiting: %s", m->units[i]->policy->name, m->units[i]->region,
                                m->units[i]->problem);
        if (m->config_problem)
                fprintf(f, "; %s: %s", m->reload_failed ? "reload failed" : "not loaded", m->config_problem);
        if (fclose(f) == 0)
                (void) sd_notifyf(false, "STATUS=%s", text);
}

/* The global metrics_file, if any (metrics.h); a failure is logged once, and its end. */
static void manager_write_metrics(manager *m) {
        const char *path = m->gen->config->metrics_file;
        _cleanup_(freep) metrics_unit *mu = NULL;
        int r;

        if (!path)
                return;
        mu = calloc(m->n_units ?: 1, sizeof(metrics_unit));
        if (!mu)
                return;
        for (size_t i = 0; i < m->n_units; i++) {
                const unit *u = m->units[i];

                mu[i] = (metrics_unit) {
                        .policy = u->policy->name, .region = u->region, .next_slot = u->next,
                        .has_run = u->has_run, .last_start = u->run_start, .last_duration = u->last_duration,
                        .last_ok = u->last_result >= 0, .images_known = u->images_known,
                };
                memcpy(mu[i].images, u->images, sizeof(mu[i].images));
                memcpy(mu[i].dist, u->dist, sizeof(mu[i].dist));
        }
        r = metrics_write(path, mu, m->n_units, m->stats, time(NULL));
        if (r < 0 && r != m->metrics_error)
                log_full(LOG_WARNING, 0, NULL, NULL, "cannot write the metrics file '%s': %s; will retry after the next run",
                         path, strerror(-r));
        else if (r >= 0 && m->metrics_error < 0)
                log_info("metrics file '%s' written again", path);
        m->metrics_error = r;
}

/* ---- Idle memory ----------------------------------------------------------------------- */

/*
 * A run's lists are freed when it ends, but glibc keeps what was freed for the next
 * malloc() rather than giving it back: the daemon would hold its busiest run's high-water
 * mark through hours of idling until the next slot. Once no run is in flight, a deferred
 * malloc_trim() returns every free page of every arena (curl's resolver threads have their
 * own) to the system; deferred, so that it comes after whatever the run's end frees.
 */
static bool manager_runs_in_flight(const manager *m) {
        for (size_t i = 0; i < m->n_units; i++)
                if (m->units[i]->run)
                        return true;
        return false;
}

static int on_trim(sd_event_source *s, void *userdata) {
        manager *m = userdata;

        (void) s;
        if (!manager_runs_in_flight(m))
                (void) malloc_trim(0);
        return 0;
}

static void manager_trim_when_idle(manager *m) {
        int r;

        if (manager_runs_in_flight(m))
                return;
        if (m->trim)
                r = sd_event_source_set_enabled(m->trim, SD_EVENT_ONESHOT);
        else {
                r = sd_event_add_defer(m->event, &m->trim, on_trim, m);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->trim, SD_EVENT_ONESHOT);
                if (r >= 0)
                        (void) sd_event_source_set_description(m->trim, "trim");
        }
        if (r < 0)
                log_debug("cannot schedule giving the heap back (%s), ignoring", strerror(-r));
}

/* ---- Units ----------------------------------------------------------------------------- */

static void on_unit_run_ended(unit *u, int r, void *userdata) {
        manager *m = userdata;
        char *summary = NULL;

        if (r < 0)
                m->runs_failed++;
        else
                m->runs_ok++;
        /* What `systemctl status` shows of the last run: when it failed, why, until a run
         * succeeds again. */
        if ((r >= 0 ? asprintf(&summary, "%s/%s ok", u->policy->name, u->region) :
             asprintf(&summary, "%s/%s failed: %s", u->policy->name, u->region,
                      u->failure ?: "see the journal")) >= 0) {
                free(m->last_summary);
                m->last_summary = summary;
        }
        notify_status(m);
        manager_write_metrics(m);
        manager_trim_when_idle(m);
}

static void on_unit_changed(void *userdata) {
        notify_status(userdata);
}

static unit *manager_find_unit(manager *m, const char *policy_name, const char *region) {
        for (size_t i = 0; i < m->n_units; i++)
                if (streq(m->units[i]->policy->name, policy_name) && streq(m->units[i]->region, region))
                        return m->units[i];
        return NULL;
}

/* The unit of (p, region) in generation g: the existing one, moved to g, or a new one (*ret_fresh). */
static int manager_unit_for(manager *m, generation *g, const policy *p, const char *region, unit **ret,
                            bool *ret_fresh) {
        unit *u = manager_find_unit(m, p->name, region);
        int r;

        *ret_fresh = !u;
        if (!u) {
                r = unit_new(&m->host, region, &u);
                if (r < 0)
                        return r;
        }
        unit_follow(u, g, p);
        *ret = u;
        return 0;
}

/*
 * Frees the old units not among units[0..*n): their policies or regions are gone. A
 * unit whose policy's file has an error in broken (may be NULL) and that g does not
 * define again stays, on the generation it had (design rule 7): it is appended to
 * units, which has room for every old unit.
 */
static void manager_drop_removed(manager *m, generation *g, unit **units, size_t *n,
                                 const config_diagnostics *broken) {
        size_t n_new = *n;

        for (size_t i = 0; i < m->n_units; i++) {
                unit *u = m->units[i];
                bool kept = false;

                for (size_t j = 0; j < n_new; j++)
                        kept = kept || units[j] == u;
                if (kept)
                        continue;
                if (broken && config_diagnostics_file_failed(broken, u->policy->pos.file) &&
                    !config_find_policy(g->config, u->policy->name)) {
                        log_full(LOG_WARNING, 0, NULL, &(log_fields) { .policy = u->policy->name, .region = u->region },
                                 "policy '%s' in %s: %s has errors, keeping the policy loaded before",
                                 u->policy->name, u->region, u->policy->pos.file);
                        units[(*n)++] = u;
                        continue;
                }
                log_info("policy '%s' in %s removed%s", u->policy->name, u->region,
                         u->run ? ", cancelling its run" : "");
                unit_free(u);
        }
}

/*
 * Builds the units of generation g. Units that existed keep their in-flight run
 * and move to the new policy at once (the run keeps its own generation); new
 * units run at once (catch-up); units whose policy or region is gone are freed,
 * which cancels their run cleanly, unless their policy's file is broken (see
 * manager_drop_removed()).
 */
static int manager_apply(manager *m, generation *g, bool catch_up_all, const config_diagnostics *broken) {
        unit **units = NULL;
        size_t n = 0, cap = 0;
        int r;

        for (size_t i = 0; i < g->config->n_policies; i++) {
                const policy *p = &g->config->policies[i];

                for (char **region = p->regions; *region; region++) {
                        bool fresh;
                        unit *u;

                        if (n == cap) {
                                unit **nu = reallocarray(units, cap = cap ? cap * 2 : 8, sizeof(*nu));
                                if (!nu) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                units = nu;
                        }
                        r = manager_unit_for(m, g, p, *region, &u, &fresh);
                        if (r < 0)
                                goto fail;
                        units[n++] = u;

                        r = unit_arm(u);
                        if (r < 0) {
                                log_full(LOG_ERR, r, NULL, &(log_fields) { .policy = p->name, .region = *region },
                                         "policy '%s' in %s: cannot schedule", p->name, *region);
                                continue;
                        }
                        if (fresh || catch_up_all)
                                unit_start(u);
                }
        }

        /* Room for the old units that manager_drop_removed() keeps. */
        if (m->n_units > 0) {
                unit **nu = reallocarray(units, n + m->n_units, sizeof(*nu));
                if (!nu) {
                        r = -ENOMEM;
                        goto fail;
                }
                units = nu;
        }
        manager_drop_removed(m, g, units, &n, broken);
        free(m->units);
        m->units = units;
        m->n_units = n;
        return 0;

fail:
        /* Only reached on allocation failure before any old unit was freed. */
        for (size_t i = 0; i < n; i++)
                if (!manager_find_unit(m, units[i]->policy->name, units[i]->region))
                        unit_free(units[i]);
        free(units);
        return r;
}

/* Once per generation: images of policies no longer configured are warned about (orphans.h),
 * the policies of the units being the configured ones. */
static void manager_scan_orphans(manager *m) {
        _cleanup_(strv_freep) char **names = NULL;
        int r = 0;

        m->orphans = orphan_scan_free(m->orphans);
        for (size_t i = 0; r >= 0 && i < m->n_units; i++)
                if (!strv_contains(names, m->units[i]->policy->name))
                        r = strv_extend(&names, m->units[i]->policy->name);
        if (r >= 0)
                r = orphan_scan_start(m->event, m->gen->pool, m->gen->config, names,
                                      m->gen->config->poll_max * USEC_PER_SEC, &m->orphans);
        if (r < 0)
                log_warning_errno(r, "cannot look for images of removed policies: %s", strerror(-r));
}

/* ---- Signals --------------------------------------------------------------------------- */

/* Keeps problem (or NULL) for the status line until the next load. */
static void manager_set_problem(manager *m, char *problem, bool reload) {
        free(m->config_problem);
        m->config_problem = problem;
        m->reload_failed = problem && reload;
}

/*
 * SIGHUP. `systemctl reload` runs `amirotd check` first (the unit's ExecReload=), so a
 * bad file fails the reload before this signal is sent; a SIGHUP sent by other means
 * ends here too. An invalid global file keeps the old generation whole; a broken policy
 * file keeps its policies as they were loaded before and applies the other files.
 */
static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        manager *m = userdata;
        generation *g;
        size_t n;
        int r;

        (void) s;
        (void) si;
        sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long) now_usec(CLOCK_MONOTONIC));
        log_info("reloading the configuration");

        r = generation_new(m->event, &m->options, m->stats, &g, &d);
        if (r < 0) {
                n = manager_n_policies(m);
                log_full(LOG_ERR, r == -EINVAL ? 0 : r, MESSAGE_RELOAD_FAILED, NULL,
                         "configuration reload failed%s; keeping the %zu polic%s loaded before",
                         r == -EINVAL ? "" : " (cannot load)", n, n == 1 ? "y" : "ies");
                manager_set_problem(m, config_diagnostics_where(&d) ?: strdup("cannot load"), true);
        } else {
                r = manager_apply(m, g, false, &d);
                if (r < 0)
                        log_error_errno(r, "cannot apply the new configuration; keeping the old one");
                else {
                        m->orphans = orphan_scan_free(m->orphans);     /* it uses the old pool */
                        generation_unref(m->gen);
                        m->gen = generation_ref(g);
                        manager_scan_orphans(m);
                        log_set_max_level(m->gen->config->log_level);
                        n = manager_n_policies(m);
                        if (d.n_errors > 0)
                                log_full(LOG_ERR, 0, MESSAGE_RELOAD_FAILED, NULL,
                                         "configuration reloaded with errors: %zu polic%s; the files with errors "
                                         "keep the policies loaded before", n, n == 1 ? "y" : "ies");
                        else
                                log_info("configuration reloaded: %zu polic%s", n, n == 1 ? "y" : "ies");
                        manager_set_problem(m, config_diagnostics_where(&d), true);
                }
                generation_unref(g);
        }
        sd_notify(false, "READY=1");
        notify_status(m);
        manager_write_metrics(m);
        return 0;
}

static void on_thaws_ended(void *userdata) {
        manager *m = userdata;

        log_info("every thaw has ended; stopping");
        (void) sd_event_exit(m->event, 0);
}

static int on_stop_wait(sd_event_source *s, uint64_t usec, void *userdata) {
        manager *m = userdata;

        (void) s;
        (void) usec;
        log_full(LOG_ERR, 0, MESSAGE_POLICY_RUN_FAILED, NULL,
                 "%zu thaw%s still unanswered after %llus; stopping anyway: each instance's freeze script thaws it "
                 "after image.freeze_timeout", thaw_keeper_pending(m->keeper),
                 thaw_keeper_pending(m->keeper) == 1 ? "" : "s",
                 (unsigned long long) (THAW_KEEPER_STOP_WAIT / USEC_PER_SEC));
        return sd_event_exit(m->event, 0);
}

/* The runs end here, inside the loop, so that an instance one of them froze is handed to the
 * keeper while the loop can still send its thaw; the loop then runs until the keeper is
 * idle, at most THAW_KEEPER_STOP_WAIT (well within the unit's TimeoutStopSec). */
static int on_stop(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        manager *m = userdata;
        int r;

        (void) s;
        if (m->host.stopping)
                return 0;
        m->host.stopping = true;
        sd_notify(false, "STOPPING=1");
        log_info("stopping on signal %u%s", si->ssi_signo,
                 m->n_units > 0 ? "; cancelling requests in flight" : "");
        for (size_t i = 0; i < m->n_units; i++)
                unit_free(m->units[i]);
        m->units = mfree(m->units);
        m->n_units = 0;
        if (thaw_keeper_pending(m->keeper) == 0)
                return sd_event_exit(m->event, 0);
        log_notice("waiting up to %llus for %zu thaw%s of frozen instances before stopping",
                   (unsigned long long) (THAW_KEEPER_STOP_WAIT / USEC_PER_SEC), thaw_keeper_pending(m->keeper),
                   thaw_keeper_pending(m->keeper) == 1 ? "" : "s");
        r = sd_event_add_time_relative(m->event, &m->stop_wait, CLOCK_MONOTONIC, THAW_KEEPER_STOP_WAIT, 0,
                                       on_stop_wait, m);
        if (r < 0)
                return sd_event_exit(m->event, 0);
        (void) sd_event_source_set_description(m->stop_wait, "stop-wait");
        thaw_keeper_on_idle(m->keeper, on_thaws_ended, m);
        return 0;
}

/* ---- Clock steps ----------------------------------------------------------------------- */

/*
 * The wall clock was set (base/clock-step.h). The slot timers are absolute: the kernel fires one
 * that a forward step jumped past, and one that a backward step put further away waits. But each
 * unit's next run was computed from the time before the step, so every unit re-plans by the rule
 * of schedule_run_due(): the slot a step lands in runs at once, no slot that has run runs again.
 */
static void on_clock_step(int64_t step_usec, void *userdata) {
        manager *m = userdata;
        uint64_t seconds = (step_usec < 0 ? -(uint64_t) step_usec : (uint64_t) step_usec) / USEC_PER_SEC;
        char by[DURATION_MAX], to[ISO8601_MAX];

        if (seconds == 0)
                log_debug("the wall clock was set, by less than a second; re-planning the slots");
        else
                log_full(LOG_WARNING, 0, MESSAGE_CLOCK_STEPPED, NULL,
                         "the wall clock was stepped %s by %s, to %s; re-planning the slots: the slot it lands "
                         "in runs at once, and no slot that has run runs again", step_usec < 0 ? "back" : "forward",
                         format_duration(seconds, by), format_iso8601(time(NULL), to));
        for (size_t i = 0; i < m->n_units; i++)
                unit_clock_stepped(m->units[i]);
        notify_status(m);
}

/* ---- Run ------------------------------------------------------------------------------- */

static void on_credentials(int r, const aws_credentials *c, const aws_error *err, void *userdata) {
        manager *m = userdata;

        (void) c;
        if (r < 0) {
                log_full(LOG_ERR, 0, NULL, NULL, "no usable AWS credentials: %s", err && err->message ? err->message : strerror(-r));
                m->failed = true;
                sd_event_exit(m->event, 1);
                return;
        }
        log_info("AWS credentials from %s", creds_provider_source(aws_pool_creds(m->gen->pool)) ?: "?");

        r = manager_apply(m, m->gen, true, NULL);
        if (r < 0) {
                log_error_errno(r, "cannot schedule the policies");
                m->failed = true;
                sd_event_exit(m->event, 1);
                return;
        }
        log_info("amirotd " VERSION " running %zu polic%s", m->gen->config->n_policies,
                 m->gen->config->n_policies == 1 ? "y" : "ies");
        manager_scan_orphans(m);
        sd_notify(false, "READY=1");
        notify_status(m);
        manager_write_metrics(m);
}

int loop_add_signal(sd_event *e, int signo, sd_event_signal_handler_t handler, void *userdata,
                    sd_event_source **ret) {
        char description[32];
        sigset_t mask, old;
        int r;

        if (sigemptyset(&mask) < 0 || sigaddset(&mask, signo) < 0)
                return -errno;
        /* sd-event reads signals from a signalfd, which sees only blocked signals. */
        if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
                return -errno;
        r = sd_event_add_signal(e, ret, signo, handler, userdata);
        if (r < 0) {
                /* A blocked SIGTERM that nothing reads would make the process unstoppable but by SIGKILL. */
                if (sigismember(&old, signo) == 0)
                        (void) sigprocmask(SIG_UNBLOCK, &mask, NULL);
                return r;
        }
        (void) snprintf(description, sizeof(description), "signal SIG%s", sigabbrev_np(signo) ?: "?");
        (void) sd_event_source_set_description(*ret, description);
        return 0;
}

static void *keeper_hold(void *g) {
        return generation_ref(g);
}

static void keeper_release(void *g) {
        generation_unref(g);
}

/* The loop and its own sources, then the first configuration; the units follow the credentials. */
static int manager_start(manager *m) {
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        static const struct {
                int signo;
                sd_event_signal_handler_t handler;
        } signals[ELEMENTSOF(m->signals)] = {
                { SIGTERM, on_stop },
                { SIGINT, on_stop },
                { SIGHUP, on_reload },
        };
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "cannot create the event loop");
        r = aws_stats_new(&m->stats);
        if (r < 0)
                return log_error_errno(r, "cannot allocate the AWS call counters");
        for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
                r = loop_add_signal(m->event, signals[i].signo, signals[i].handler, m, &m->signals[i]);
                if (r < 0)
                        return log_error_errno(r, "cannot watch SIG%s; not starting", sigabbrev_np(signals[i].signo));
        }
        r = thaw_keeper_new(m->event, &m->keeper);
        if (r < 0)
                return log_error_errno(r, "cannot allocate the thaw keeper");
        /* A thaw in flight holds the generation whose SSM client sends it, past a reload. */
        thaw_keeper_set_hold(m->keeper, keeper_hold, keeper_release);
        m->host = (unit_host) {
                .keeper = m->keeper,
                .event = m->event,
                .run_ended = on_unit_run_ended,
                .changed = on_unit_changed,
                .userdata = m,
        };
        r = clock_step_watch_new(m->event, on_clock_step, m, &m->clock);
        if (r < 0)
                log_warning("cannot watch the wall clock for steps (%s): after one, a policy re-plans only when "
                            "its slot timer fires, ignoring", strerror(-r));
        /* WATCHDOG=1 at half of WatchdogSec, for as long as the loop runs. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "cannot arm the watchdog; not starting");

        r = generation_new(m->event, &m->options, m->stats, &m->gen, &d);
        if (r == -EINVAL) {
                /* systemd does not restart on it (RestartPreventExitStatus=78 in the unit). */
                m->config_invalid = true;
                log_full(LOG_ERR, 0, MESSAGE_RELOAD_FAILED, NULL,
                         "configuration invalid; not starting (exit status %d: fix the file, then start again)",
                         EX_CONFIG);
                return r;
        }
        if (r < 0)
                return log_error_errno(r, "cannot load the configuration; not starting");
        log_set_max_level(m->gen->config->log_level);
        if (d.n_errors > 0) {
                manager_set_problem(m, config_diagnostics_where(&d), false);
                log_full(LOG_ERR, 0, MESSAGE_RELOAD_FAILED, NULL,
                         "policy files with errors are left out (%s); starting with the other %zu polic%s",
                         m->config_problem ?: "?", m->gen->config->n_policies,
                         m->gen->config->n_policies == 1 ? "y" : "ies");
        }

        /* READY=1 once the policies are loaded and credentials resolved. */
        r = creds_provider_get(aws_pool_creds(m->gen->pool), on_credentials, m, NULL);
        if (r < 0)
                return log_error_errno(r, "cannot resolve AWS credentials");
        return 0;
}

static void manager_done(manager *m) {
        for (size_t i = 0; i < m->n_units; i++)
                unit_free(m->units[i]);
        free(m->units);
        orphan_scan_free(m->orphans);
        sd_event_source_disable_unref(m->trim);
        sd_event_source_disable_unref(m->stop_wait);
        /* After the units: their runs hand the keeper what they leave frozen. */
        thaw_keeper_free(m->keeper);
        generation_unref(m->gen);
        free(m->last_summary);
        free(m->config_problem);
        aws_stats_free(m->stats);
        clock_step_watch_free(m->clock);
        for (size_t i = 0; i < ELEMENTSOF(m->signals); i++)
                sd_event_source_disable_unref(m->signals[i]);
        sd_event_unref(m->event);
}

int manager_run(const manager_options *o) {
        manager m = { .options = *o };
        int r;

        r = manager_start(&m);
        if (r >= 0) {
                r = sd_event_loop(m.event);
                if (r < 0)
                        log_error_errno(r, "event loop failed");
        }
        manager_done(&m);
        if (m.config_invalid)
                return EX_CONFIG;
        return r < 0 || m.failed ? 1 : 0;
}
