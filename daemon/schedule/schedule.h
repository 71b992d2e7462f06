/* SPDX-License-Identifier: MIT */
/*
 * Schedules divide time into slots: `every: 24h at: "03:00"` gives one slot a
 * day starting 03:00; a cron expression gives one slot per firing, lasting until
 * the next. Wall-clock schedules are evaluated in the policy's time zone, from
 * its TZif file read once at load (tzif.h); nothing touches TZ or libc's zone
 * state. Pure: the time is a parameter. The exact rules (whole days, sub-day
 * intervals, daylight saving time, the cron dialect) are at the top of
 * schedule.c.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "schedule/tzif.h"

typedef struct cron_spec {
        uint64_t minutes;               /* bit m: minute m (0..59) */
        uint32_t hours;                 /* bit h: hour h (0..23) */
        uint32_t days_of_month;         /* bit d: day d (1..31) */
        uint16_t months;                /* bit m: month m (1..12) */
        uint8_t days_of_week;           /* bit d: weekday d (0 = Sunday .. 6; 7 is read as 0) */
        bool dom_restricted;            /* field did not start with '*': cron ORs dom and dow when both are */
        bool dow_restricted;
} cron_spec;

typedef enum schedule_kind {
        SCHEDULE_EVERY,
        SCHEDULE_CRON,
} schedule_kind;

typedef struct schedule {
        schedule_kind kind;
        uint64_t every;                 /* SCHEDULE_EVERY: interval in seconds, > 0 */
        uint32_t at;                    /* SCHEDULE_EVERY: anchor, seconds after local midnight */
        cron_spec cron;                 /* SCHEDULE_CRON */
        char *cron_expr;                /* as written, for display */
        char *timezone;                 /* IANA name; NULL: UTC */
        tz_zone *zone;                  /* its data, a reference; NULL: UTC, or read at each call */
} schedule;

void schedule_done(schedule *s);

/* Parses five cron fields or a macro (@daily ...). On failure returns -EINVAL and a message in
 * *ret_error (caller frees; ret_error may be NULL), e.g. "minute: 61 is out of range 0-59",
 * "unknown month name 'foo'", "expected 5 fields, got 4", "never fires: ..."; *ret is untouched. */
int cron_parse(const char *expr, cron_spec *ret, char **ret_error);

/* Whether the time zone exists in the system's zoneinfo: "UTC", or a relative name of a valid TZif
 * file under /usr/share/zoneinfo ("Europe/Berlin"); never "localtime" or "right/...". */
bool timezone_is_valid(const char *tz);

/* What the clock of zone (NULL: UTC) reads at instant t, as localtime_r() would give it; tm_zone
 * names the zone's abbreviation for t ("CEST", "UTC") and points into the zone. 0, or -ERANGE for
 * a t outside years 0..9999. The one place outside the slot rules where a zone is read. */
int schedule_local_time(const tz_zone *zone, time_t t, struct tm *ret);

/*
 * A schedule with a time zone evaluates it from s->zone, which the configuration loader sets
 * (every zone read once per load). A schedule built by hand with only s->timezone reads the
 * zone's file at each call instead: same results, more work.
 */
/* The start of the slot that contains t (the latest slot start <= t). Both return 0, -EINVAL for an
 * invalid schedule or time zone, -ERANGE for t outside 1900..9999 or a slot beyond. */
int schedule_slot_at(const schedule *s, time_t t, time_t *ret);
/* The first slot start > t. */
int schedule_next_slot_after(const schedule *s, time_t t, time_t *ret);

/* The shortest slot among those that start from the one containing `from` up to `until` (at most
 * a thousand of them): daylight saving time shortens wall-clock slots, cron's gaps differ. 0,
 * or schedule_slot_at()'s error. */
int schedule_shortest_slot(const schedule *s, time_t from, time_t until, uint64_t *ret);

/*
 * The service's runs when the wall clock moves (amirotd(8), CLOCK STEPS). `last` is the start of
 * the latest slot the service started a run for, SLOT_NONE before the first. A run is due when the
 * slot that contains now starts after last: the slot a forward step lands in runs at once, and the
 * slots it jumped over are not made up (design rule 4, catch-up: missed older slots are not
 * back-filled); after a backward step no slot at or before last runs again. Unless the clock now
 * lies more than SCHEDULE_STEP_BACK_TRUSTED before last: then the clock was wrong when last ran,
 * last is not a slot that has really begun, and the service plans as it does at start.
 */
#define SLOT_NONE ((time_t) INT64_MIN)
/* Vixie cron draws the same line at three hours: shorter steps are corrections (a daylight
 * saving change, NTP after a resume, an operator's fix of a few minutes), longer ones a clock
 * that was wrong. */
#define SCHEDULE_STEP_BACK_TRUSTED (3 * 3600)

/* last, or SLOT_NONE when the clock now lies more than SCHEDULE_STEP_BACK_TRUSTED before it. */
time_t schedule_trusted_last(time_t now, time_t last);
/* Whether a run is due at now. 0, or schedule_slot_at()'s error. */
int schedule_run_due(const schedule *s, time_t now, time_t last, bool *ret);
/* When the next run is due: the first slot start after both now and the trusted last. */
int schedule_next_run(const schedule *s, time_t now, time_t last, time_t *ret);

/* A slot's identifier in names and tags: its start in UTC, "20261126T030000Z". */
#define SLOT_ID_MAX 17
char *slot_id_format(time_t slot_start, char buf[static SLOT_ID_MAX]);   /* NULL outside years 0..9999 */
int slot_id_parse(const char *s, time_t *ret);
