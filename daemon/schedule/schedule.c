/* SPDX-License-Identifier: MIT */
/*
 * Schedules divide time into slots; each slot lasts from one start to the next,
 * and the AMI name carries the slot's start, which makes every attempt for the
 * same slot collide on InvalidAMIName.Duplicate (design.md, "Idempotent by
 * name"). So the one thing that matters is that every host, every restart and
 * every call agree on the set of slot starts. Pure: the time is a parameter.
 *
 * Wall-clock times are read in the schedule's time zone (NULL or "UTC": UTC)
 * from the zone's TZif file, read once when the configuration is loaded. "Local seconds" below are seconds
 * since 1970-01-01 00:00 as the local clock reads them, so a local day is
 * always 86400 of them.
 *
 * `every: N` with anchor `at`:
 *   - N a whole number of days (24h, 48h, 7d): one slot at the wall time `at` on
 *     every N-th local day, days counted from Monday 1970-01-05. So 24h fires
 *     daily, 7d every Monday, 14d every other Monday, 48h every other day.
 *   - N divides a day (5s, 90s, 30m, 1h, 6h, 8h): slots at the wall times
 *     at + k*N (taken modulo 24h, so `at` only sets the phase) on every local
 *     day: every: 6h at 03:00 fires at 03:00, 09:00, 15:00, 21:00 local time.
 *   - Any other N (7s, 7h, 25h, 36h): N elapsed seconds apart, counted from the
 *     instant the local clock first reads `at` on Monday 1970-01-05. Such slots
 *     drift across the wall clock by design and ignore daylight saving time.
 *   Daylight saving time, for the first two: a slot starts at the first instant
 *   the local clock reads its wall time or later. If the clocks skip that time
 *   (spring forward), the slot starts when they jump: every: 24h at 02:30 in
 *   Europe/Berlin starts at 03:00 CEST on 2026-03-29. If they show it twice
 *   (fall back), the slot starts at the first occurrence, and no slot starts a
 *   second time during the repeated hour.
 *
 * `cron`: five fields, minute hour day-of-month month day-of-week, as Vixie
 * cron reads them: lists, ranges, steps ("*" + "/15", "1-10/2", and "5/10" for
 * 5-59/10), three-letter names for months and weekdays (any case, also in
 * ranges), 7 as Sunday, and the macros @yearly @annually @monthly @weekly
 * @daily @midnight @hourly. When both day fields are restricted (neither
 * starts with '*'), a day matches if either matches; otherwise both must. Each
 * firing starts a slot at second 0 of its minute. Across daylight saving time
 * the rule of `every` holds: a firing the clocks skip starts when they jump
 * (Vixie cron, too, runs a job whose time was skipped right after the change;
 * firings that fall together are one slot), and a local time they show twice
 * fires once, at its first occurrence. An expression that can never fire
 * ("0 0 30 2 *") is rejected.
 *
 * This file holds the slot rules; cron.c parses and searches cron
 * expressions, zone.c turns wall times into instants over the zone data
 * tzif.c reads, and time.c below them does the calendar arithmetic. Nothing
 * touches the environment (TZ, tzset()): curl's resolver threads read it.
 */
#include <stdio.h>

#include "schedule/internal.h"

/* Local seconds of Monday 1970-01-05 00:00, the reference day of `every`. */
#define EVERY_EPOCH_DAY INT64_C(4)

/* Slots exist from 1900-01-01T00:00:00Z to 9999-12-31T23:59:59Z: slot ids have four-digit years. */
#define TIME_MIN INT64_C(-2208988800)
#define TIME_MAX INT64_C(253402300799)

/* Larger intervals are surely a mistake, and this keeps the arithmetic far from overflow. */
#define EVERY_MAX (UINT64_C(1000) * 366 * 86400)

void schedule_done(schedule *s) {
        if (!s)
                return;
        s->cron_expr = mfree(s->cron_expr);
        s->timezone = mfree(s->timezone);
        s->zone = tz_zone_unref(s->zone);
}

typedef enum every_mode {
        EVERY_WALL,                     /* whole days, or a divisor of a day: wall-clock times */
        EVERY_ELAPSED,                  /* anything else: elapsed seconds */
} every_mode;

static int schedule_check(const schedule *s, int64_t t) {
        if (!s)
                return -EINVAL;
        if (t < TIME_MIN || t > TIME_MAX)
                return -ERANGE;
        switch (s->kind) {
        case SCHEDULE_EVERY:
                if (s->every == 0 || s->at >= SEC_PER_DAY)
                        return -EINVAL;
                if (s->every > EVERY_MAX)
                        return -ERANGE;
                return 0;
        case SCHEDULE_CRON:
                if (s->cron.minutes == 0 || s->cron.hours == 0 || s->cron.months == 0 ||
                    (s->cron.days_of_month == 0 && s->cron.days_of_week == 0))
                        return -EINVAL;
                return 0;
        }
        return -EINVAL;
}

static every_mode schedule_every_mode(const schedule *s) {
        if (s->every % SEC_PER_DAY == 0 || SEC_PER_DAY % s->every == 0)
                return EVERY_WALL;
        return EVERY_ELAPSED;
}

/* EVERY_WALL: slot k starts at wall time phase + k * every; whole days count from the epoch day. */
static int64_t schedule_every_phase(const schedule *s) {
        return EVERY_EPOCH_DAY * SEC_PER_DAY + s->at;
}

/* EVERY_ELAPSED: every seconds apart, counted from the first instant the clock reads the phase. */
static int schedule_find_elapsed(const schedule *s, zone *z, int64_t t, int64_t *ret_slot, int64_t *ret_next) {
        int64_t every = (int64_t) s->every, anchor;
        int r;

        r = zone_first_at_or_after(z, schedule_every_phase(s), &anchor);
        if (r < 0)
                return r;
        *ret_slot = anchor + floor_div(t - anchor, every) * every;
        *ret_next = *ret_slot + every;
        return 0;
}

/* EVERY_WALL: a wall time w has begun by t exactly when the clock has shown w or later by t. */
static int schedule_find_wall(const schedule *s, zone *z, int64_t t, int64_t *ret_slot, int64_t *ret_next) {
        int64_t every = (int64_t) s->every, phase = schedule_every_phase(s);
        int64_t w = phase + floor_div(zone_max_wall(z, t) - phase, every) * every;
        int r;

        r = zone_first_at_or_after(z, w, ret_slot);
        if (r < 0)
                return r;
        return ret_next ? zone_first_at_or_after(z, w + every, ret_next) : 0;
}

/* The nearest cron firing from wall time x: the last one <= x, or the first one > x; it starts
 * at the first instant the clock reads its wall time or later, as every slot does. A firing the
 * clocks skip thus starts when they jump; several skipped ones, and a firing at the jump's own
 * wall time, are one slot. */
static int schedule_cron_firing(const schedule *s, zone *z, int64_t x, bool forward, int64_t *ret) {
        int64_t w;
        int r;

        r = forward ? cron_next_wall(&s->cron, x, &w) : cron_prev_wall(&s->cron, x, &w);
        if (r < 0)
                return r;
        return zone_first_at_or_after(z, w, ret);
}

static int schedule_find_cron(const schedule *s, zone *z, int64_t t, int64_t *ret_slot, int64_t *ret_next) {
        int64_t max_wall = zone_max_wall(z, t);
        int r;

        if (ret_slot) {
                r = schedule_cron_firing(s, z, max_wall, false, ret_slot);
                if (r < 0)
                        return r;
        }
        return ret_next ? schedule_cron_firing(s, z, max_wall, true, ret_next) : 0;
}

/* Finds the slot containing t, and optionally the next one: both share the search. */
static int schedule_find(const schedule *s, int64_t t, int64_t *ret_slot, int64_t *ret_next) {
        _cleanup_(tz_zone_unrefp) tz_zone *loaded = NULL;
        int64_t slot = 0, next = 0;
        zone z = { .tz = s ? s->zone : NULL };
        int r;

        r = schedule_check(s, t);
        if (r < 0)
                return r;
        if (!z.tz && s->timezone && !streq(s->timezone, "UTC")) {
                r = tz_zone_load(s->timezone, &loaded, NULL);
                if (r < 0)
                        return r == -ENOMEM ? r : -EINVAL;
                z.tz = loaded;
        }

        if (s->kind == SCHEDULE_CRON)
                r = schedule_find_cron(s, &z, t, ret_slot ? &slot : NULL, ret_next ? &next : NULL);
        else if (schedule_every_mode(s) == EVERY_ELAPSED)
                r = schedule_find_elapsed(s, &z, t, &slot, &next);
        else
                r = schedule_find_wall(s, &z, t, &slot, ret_next ? &next : NULL);
        if (r < 0)
                return r;

        if (z.error < 0)
                return z.error;
        if (ret_next && next > TIME_MAX)
                return -ERANGE;
        if (ret_slot)
                *ret_slot = slot;
        if (ret_next)
                *ret_next = next;
        return 0;
}

int schedule_slot_at(const schedule *s, time_t t, time_t *ret) {
        int64_t slot;
        int r;

        r = schedule_find(s, (int64_t) t, &slot, NULL);
        if (r < 0)
                return r;
        *ret = (time_t) slot;
        return 0;
}

int schedule_next_slot_after(const schedule *s, time_t t, time_t *ret) {
        int64_t next;
        int r;

        r = schedule_find(s, (int64_t) t, NULL, &next);
        if (r < 0)
                return r;
        *ret = (time_t) next;
        return 0;
}

/* Walks the slots that start in [from, until], at most SHORTEST_SLOT_WALK of them. */
#define SHORTEST_SLOT_WALK 1000

int schedule_shortest_slot(const schedule *s, time_t from, time_t until, uint64_t *ret) {
        time_t a, b;
        uint64_t shortest = UINT64_MAX;
        int r;

        r = schedule_slot_at(s, from, &a);
        for (unsigned i = 0; r >= 0 && i < SHORTEST_SLOT_WALK && a <= until; i++, a = b) {
                r = schedule_next_slot_after(s, a, &b);
                if (r >= 0)
                        shortest = MIN(shortest, (uint64_t) (b - a));
        }
        if (shortest == UINT64_MAX)
                return r < 0 ? r : -ERANGE;
        *ret = shortest;
        return 0;
}

/* ---- the service's runs across clock steps ---- */

time_t schedule_trusted_last(time_t now, time_t last) {
        /* Written so that nothing overflows: last may be SLOT_NONE, now is within TIME_MAX. */
        return last != SLOT_NONE && last - SCHEDULE_STEP_BACK_TRUSTED > now ? SLOT_NONE : last;
}

int schedule_run_due(const schedule *s, time_t now, time_t last, bool *ret) {
        time_t slot;
        int r;

        r = schedule_slot_at(s, now, &slot);
        if (r < 0)
                return r;
        *ret = slot > schedule_trusted_last(now, last);
        return 0;
}

int schedule_next_run(const schedule *s, time_t now, time_t last, time_t *ret) {
        return schedule_next_slot_after(s, MAX(now, schedule_trusted_last(now, last)), ret);
}

/* ---- slot ids ---- */

char *slot_id_format(time_t slot_start, char buf[static SLOT_ID_MAX]) {
        civil_time c;

        civil_from_seconds((int64_t) slot_start, &c);
        if (c.year < 0 || c.year > 9999)
                return NULL;
        snprintf(buf, SLOT_ID_MAX, "%04u%02u%02uT%02u%02u%02uZ", (unsigned) c.year, c.month, c.day,
                 c.hour, c.minute, c.second);
        return buf;
}

int slot_id_parse(const char *s, time_t *ret) {
        static const char shape[] = "DDDDDDDDTDDDDDDZ";
        civil_time c;

        if (!s || strlen(s) != SLOT_ID_MAX - 1)
                return -EINVAL;
        for (size_t i = 0; i < SLOT_ID_MAX - 1; i++)
                if (shape[i] == 'D' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
                        return -EINVAL;
        c = (civil_time) {
                .year = parse_digits(s, 4),
                .month = parse_digits(s + 4, 2),
                .day = parse_digits(s + 6, 2),
                .hour = parse_digits(s + 9, 2),
                .minute = parse_digits(s + 11, 2),
                .second = parse_digits(s + 13, 2),
        };
        if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > days_in_month(c.year, c.month) ||
            c.hour > 23 || c.minute > 59 || c.second > 59)
                return -EINVAL;
        *ret = (time_t) seconds_from_civil(&c);
        return 0;
}
