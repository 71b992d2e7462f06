/* SPDX-License-Identifier: MIT */
/*
 * See unit.h. A unit runs its policy in its region at each slot: a CLOCK_REALTIME timer
 * at the next run's slot starts the run, a run that fails is tried again after poll_max
 * (design rule 4, catch-up), and a slot that begins while a run is in flight runs when
 * that run ends. Which slot is due, also after the wall clock was stepped, is the pure
 * rule of schedule_run_due() and schedule_next_run(); this file only applies it.
 */
#include <stdio.h>

#include "base/log.h"
#include "unit.h"

static void unit_tick(unit *u);
static int on_unit_retry(sd_event_source *s, uint64_t usec, void *userdata);

int unit_new(unit_host *host, const char *region, unit **ret) {
        unit *u;

        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->region = strdup(region);
        if (!u->region) {
                free(u);
                return -ENOMEM;
        }
        u->host = host;
        u->last_slot = SLOT_NONE;
        *ret = u;
        return 0;
}

unit *unit_free(unit *u) {
        if (!u)
                return NULL;
        policy_run_free(u->run);
        generation_unref(u->run_gen);
        generation_unref(u->gen);
        sd_event_source_disable_unref(u->timer);
        sd_event_source_disable_unref(u->retry);
        free(u->problem);
        free(u->failure);
        free(u->region);
        return mfree(u);
}

void unit_follow(unit *u, generation *g, const policy *p) {
        generation_ref(g);
        generation_unref(u->gen);
        u->gen = g;
        u->policy = p;
        u->no_targets_said = false;     /* a new configuration generation warns anew */
}

static log_fields unit_fields(const unit *u) {
        return (log_fields) { .policy = u->policy->name, .region = u->region };
}

/* Arms *s to fire once at usec, creating it on first use, described "<what> <policy>/<region>". */
static int unit_set_timer(unit *u, sd_event_source **s, clockid_t clock, usec_t usec, usec_t accuracy,
                          sd_event_time_handler_t handler, const char *what) {
        char description[128];
        int r;

        if (*s) {
                r = sd_event_source_set_time(*s, usec);
                if (r < 0)
                        return r;
                return sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
        }
        r = sd_event_add_time(u->host->event, s, clock, usec, accuracy, handler, u);
        if (r < 0)
                return r;
        (void) snprintf(description, sizeof(description), "%s %s/%s", what, u->policy->name, u->region);
        (void) sd_event_source_set_description(*s, description);
        return 0;
}

/*
 * Design rule 4, catch-up: an instance whose slot has no image gets one. After a
 * failed run that need not wait for the next slot, which may be a day away: the
 * run is tried again after poll_max, unless the next slot comes first.
 */
static void unit_retry_later(unit *u) {
        usec_t delay = MAX(u->gen->config->poll_max, 1) * USEC_PER_SEC, now;
        log_fields f = unit_fields(u);
        int r;

        if ((usec_t) u->next * USEC_PER_SEC <= now_usec(CLOCK_REALTIME) + delay)
                return;
        r = sd_event_now(u->host->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = unit_set_timer(u, &u->retry, CLOCK_MONOTONIC, now + delay, 0, on_unit_retry, "retry");
        if (r < 0)
                log_full(LOG_WARNING, r, NULL, &f, "policy '%s' in %s: cannot schedule a retry; the next slot will catch up",
                         u->policy->name, u->region);
        else
                log_full(LOG_NOTICE, 0, NULL, &f, "policy '%s' in %s: will retry in %llus", u->policy->name, u->region,
                         (unsigned long long) (delay / USEC_PER_SEC));
}

/* The failed run's slot again; but not once a backward step has put the clock before it, which
 * would make an older slot than one already tried: then wait until the clock is back in it. */
static int on_unit_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        unit *u = userdata;
        time_t now = time(NULL), slot;

        (void) s;
        (void) usec;
        if (schedule_slot_at(&u->policy->schedule, now, &slot) >= 0 && slot < schedule_trusted_last(now, u->last_slot))
                unit_retry_later(u);
        else
                unit_start(u);
        return 0;
}

static void unit_note_result(unit *u, int r, const run_result *res) {
        bool counted;

        u->last_result = r;
        u->has_run = true;
        u->failure = mfree(u->failure);
        if (r < 0 && (res->error ? asprintf(&u->failure, "%s", res->error) :
                      asprintf(&u->failure, "%u error%s, see the journal", res->errors,
                               res->errors == 1 ? "" : "s")) < 0)
                u->failure = NULL;
        u->last_duration = now_usec(CLOCK_MONOTONIC) - u->run_start_monotonic;
        /* A failed run that never read the images leaves all zeros: the last known counts stay. */
        counted = r >= 0;
        for (int st = 0; st < _EC2_IMAGE_STATE_MAX; st++)
                counted = counted || res->plan.images_after[st] > 0;
        if (counted) {
                memcpy(u->images, res->plan.images_after, sizeof(u->images));
                u->images_known = true;
        }
        metrics_dist_add(u->dist, &res->dist);
        u->no_targets = res->no_targets;
        u->no_targets_said = u->no_targets_said || (res->no_targets && u->run_gen == u->gen);
}

/* The run in flight cannot poll its pending images (why), or can again (NULL): the status
 * line says so while it lasts, for a wait that may outlast many slots. */
static void on_run_problem(policy_run *run, const char *why, void *userdata) {
        unit *u = userdata;

        (void) run;
        free(u->problem);
        u->problem = why ? strdup(why) : NULL;
        u->host->changed(u->host->userdata);
}

static void on_run_done(policy_run *run, int r, run_result *res, void *userdata) {
        unit *u = userdata;
        char slot[SLOT_ID_MAX] = "?", extras[RUN_RESULT_EXTRAS_MAX];
        log_fields f = unit_fields(u);

        unit_note_result(u, r, res);
        f.slot = slot_id_format(u->last_slot, slot);
        log_full(r < 0 ? LOG_ERR : LOG_INFO, 0, r < 0 ? MESSAGE_POLICY_RUN_FAILED : NULL, &f,
                 "policy '%s' in %s: run %s for slot %s: %u created, %u available, %u failed, %u retired, "
                 "%u snapshots deleted, %u error%s%s",
                 u->policy->name, u->region, r < 0 ? "failed" : "done", slot, res->created, res->available,
                 res->failed_images, res->retired, res->snapshots_deleted, res->errors, res->errors == 1 ? "" : "s",
                 run_result_extras(res, extras));

        /* Freed from its own callback: the engine does nothing after calling back. */
        policy_run_free(run);
        u->run = NULL;
        u->problem = mfree(u->problem);
        u->run_gen = generation_unref(u->run_gen);

        if (u->again && !u->host->stopping) {
                /* Only if that slot is still due: a backward step may have come since. */
                u->again = false;
                unit_tick(u);
        } else if (r < 0 && !u->host->stopping)
                unit_retry_later(u);
        u->host->run_ended(u, r, u->host->userdata);
}

/*
 * The window over which the run's creations start: `spread`, cut to a quarter of the time
 * left until the next slot (amirotd.yaml(5), "spread"). Images are named for the slot that is
 * current when the run starts; a longer delay would create them in a later slot under the old
 * slot's name, and keep the run in flight while the slots it should serve go by.
 */
static usec_t unit_spread(const unit *u, time_t now) {
        usec_t spread = u->gen->config->spread * USEC_PER_SEC;
        time_t next;

        if (spread == 0 || schedule_next_slot_after(&u->policy->schedule, now, &next) < 0 || next <= now)
                return spread;
        return MIN(spread, (usec_t) (next - now) * USEC_PER_SEC / CONFIG_SPREAD_SLOT_FRACTION);
}

void unit_start(unit *u) {
        time_t now = time(NULL), slot;
        engine_options eo = {
                .now = now,
                .wait = true,
                .dry_run = u->gen->config->dry_run,
                .poll_initial = u->gen->config->poll_initial * USEC_PER_SEC,
                .poll_max = u->gen->config->poll_max * USEC_PER_SEC,
                .spread = unit_spread(u, now),
                .no_targets_said = u->no_targets_said,
                .problem = on_run_problem,
                .keeper = u->host->keeper,
                .keeper_hold = u->gen,  /* the run's clients are its generation's */
        };
        log_fields f = unit_fields(u);
        int r;

        if (u->host->stopping || u->policy->disabled)
                return;
        if (u->run) {
                u->again = true;
                return;
        }
        r = policy_run_start(u->host->event, u->gen->pool, u->policy, u->region, &eo, on_run_done, u, &u->run);
        if (r < 0) {
                log_full(LOG_ERR, r, MESSAGE_POLICY_RUN_FAILED, &f,
                         "policy '%s' in %s: cannot start a run", u->policy->name, u->region);
                u->host->run_ended(u, r, u->host->userdata);
                return;
        }
        /* The engine names the images for the slot of eo.now: this one. */
        if (schedule_slot_at(&u->policy->schedule, now, &slot) >= 0)
                u->last_slot = slot;
        /* This run replaces a retry still waiting, which would otherwise run its slot again (a
         * forward step can bring the next slot before the retry's time); a failure arms a new one. */
        if (u->retry)
                (void) sd_event_source_set_enabled(u->retry, SD_EVENT_OFF);
        u->run_gen = generation_ref(u->gen);
        u->run_start = now;
        u->run_start_monotonic = now_usec(CLOCK_MONOTONIC);
}

static int on_unit_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        unit *u = userdata;

        (void) s;
        (void) usec;
        unit_tick(u);
        u->host->changed(u->host->userdata);
        return 0;
}

int unit_arm(unit *u) {
        time_t next;
        int r;

        /* enabled: false (also by a reload): no timer, no retry; a run in flight finishes. */
        if (u->policy->disabled) {
                if (u->timer)
                        (void) sd_event_source_set_enabled(u->timer, SD_EVENT_OFF);
                if (u->retry)
                        (void) sd_event_source_set_enabled(u->retry, SD_EVENT_OFF);
                u->next = 0;
                u->again = false;
                log_full(LOG_INFO, 0, NULL, &(log_fields) { .policy = u->policy->name, .region = u->region },
                         "policy '%s' in %s is disabled (enabled: false): no runs%s", u->policy->name, u->region,
                         u->run ? " after the one in flight" : "");
                return 0;
        }

        r = schedule_next_run(&u->policy->schedule, time(NULL), u->last_slot, &next);
        if (r < 0)
                return r;
        u->next = next;
        return unit_set_timer(u, &u->timer, CLOCK_REALTIME, (usec_t) next * USEC_PER_SEC, USEC_PER_SEC / 10,
                              on_unit_timer, "slot");
}

/* A slot timer fired, or the clock was stepped: the slot of now runs if it is due, and the timer
 * goes to the next run's slot. */
static void unit_tick(unit *u) {
        log_fields f = unit_fields(u);
        bool due = false;
        int r;

        r = schedule_run_due(&u->policy->schedule, time(NULL), u->last_slot, &due);
        if (r >= 0 && due)
                unit_start(u);
        if (r >= 0)
                r = unit_arm(u);
        if (r < 0)
                log_full(LOG_ERR, r, NULL, &f,
                         "policy '%s' in %s: cannot schedule the next slot", u->policy->name, u->region);
}

/* Says what a step does to this unit: runs the slot it landed in (and which slots it jumped), or
 * waits past the slot that has run. A step that moves no slot boundary says nothing. */
void unit_clock_stepped(unit *u) {
        char last[SLOT_ID_MAX], landed[SLOT_ID_MAX], next[SLOT_ID_MAX], trust[DURATION_MAX];
        time_t now = time(NULL), slot, trusted = schedule_trusted_last(now, u->last_slot), jumped = u->next;
        const char *when = u->run ? "after the run in flight" : "now";
        log_fields f = unit_fields(u);
        bool due;

        if (u->policy->disabled)
                return;

        if (schedule_slot_at(&u->policy->schedule, now, &slot) < 0 ||
            schedule_run_due(&u->policy->schedule, now, u->last_slot, &due) < 0) {
                unit_tick(u);           /* which logs the error */
                return;
        }
        (void) slot_id_format(slot, landed);
        if (u->last_slot == SLOT_NONE || !slot_id_format(u->last_slot, last))
                strcpy(last, "none");
        f.slot = landed;
        if (due && trusted != u->last_slot)
                log_full(LOG_NOTICE, 0, NULL, &f, "policy '%s' in %s: the clock is now more than %s before slot %s, "
                         "which has run, so it was wrong then: running slot %s %s, as at start", u->policy->name,
                         u->region, format_duration(SCHEDULE_STEP_BACK_TRUSTED, trust), last, landed, when);
        else if (due && jumped > 0 && jumped < slot)
                log_full(LOG_NOTICE, 0, NULL, &f, "policy '%s' in %s: the clock stepped over the slots from %s: "
                         "running slot %s, the one it landed in, %s; the ones before are not made up",
                         u->policy->name, u->region, slot_id_format(jumped, next) ?: "?", landed, when);
        else if (due)
                log_full(LOG_NOTICE, 0, NULL, &f, "policy '%s' in %s: the clock stepped past the start of slot %s: "
                         "running it %s", u->policy->name, u->region, landed, when);
        unit_tick(u);
        if (!due && slot < trusted) {
                f.slot = last;
                log_full(LOG_NOTICE, 0, NULL, &f, "policy '%s' in %s: the clock is back before slot %s, which has "
                         "run: the next run is at slot %s", u->policy->name, u->region, last,
                         slot_id_format(u->next, next) ?: "?");
        }
}
