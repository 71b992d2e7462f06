/* SPDX-License-Identifier: MIT */
/*
 * What the files of schedule/ share: calendar arithmetic on local seconds
 * (seconds since 1970-01-01 00:00 as a clock reads them, so a day is always
 * 86400 of them), the cron calendar search, and the time zone scope through
 * which wall times become instants. Not for use outside the schedule module.
 */
#pragma once

#include "schedule/schedule.h"
#include "base/util.h"

#define SEC_PER_MINUTE INT64_C(60)
#define SEC_PER_HOUR INT64_C(3600)
#define SEC_PER_DAY INT64_C(86400)

/* Proleptic Gregorian calendar (H. Hinnant's algorithms). */

static inline int64_t floor_div(int64_t a, int64_t b) {
        int64_t q = a / b;

        if ((a % b != 0) && ((a < 0) != (b < 0)))
                q--;
        return q;
}

static inline bool is_leap_year(int64_t y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static inline unsigned days_in_month(int64_t y, unsigned m) {
        static const uint8_t days[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        return m == 2 && is_leap_year(y) ? 29 : days[m];
}

static inline int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        int64_t era, yoe, doy, doe;

        y -= m <= 2;
        era = floor_div(y, 400);
        yoe = y - era * 400;
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static inline void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d) {
        int64_t era, doe, yoe, doy, mp, y;
        unsigned m;

        z += 719468;
        era = floor_div(z, 146097);
        doe = z - era * 146097;
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        y = yoe + era * 400;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        m = (unsigned) (mp < 10 ? mp + 3 : mp - 9);
        *ret_y = y + (m <= 2);
        *ret_m = m;
        *ret_d = (unsigned) (doy - (153 * mp + 2) / 5 + 1);
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static inline unsigned weekday_from_days(int64_t z) {
        return (unsigned) (z + 4 - floor_div(z + 4, 7) * 7);
}

static inline bool all_digits(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* Digits only; saturates instead of overflowing, so "99999999999" is simply out of range. */
static inline unsigned parse_digits(const char *s, size_t n) {
        unsigned v = 0;

        for (size_t i = 0; i < n; i++)
                v = v > 100000 ? v : v * 10 + (unsigned) (s[i] - '0');
        return v;
}

/* cron.c: the first local minute > x at which cron fires, and the last one <= x, as local
 * seconds. -ERANGE when none comes within 400 years (the calendar's full cycle) or years 1..9999. */
int cron_next_wall(const cron_spec *c, int64_t x, int64_t *ret);
int cron_prev_wall(const cron_spec *c, int64_t x, int64_t *ret);

/* zone.c: while a zone is entered, TZ names its file and libc's localtime_r() reads it. */
typedef struct zone {
        bool local;                     /* false: UTC, computed without libc */
        char *saved_tz;                 /* TZ as it was, NULL if unset */
        int error;                      /* first failure of localtime_r(), sticky */
} zone;

int zone_enter(zone *z, const char *tz);        /* NULL or "UTC": no libc involved */
void zone_leave(zone *z);                       /* restores TZ; for _cleanup_ */
int64_t zone_max_wall(zone *z, int64_t t);
unsigned zone_occurrences(zone *z, int64_t w, int64_t ret[static 3]);
int zone_first_at_or_after(zone *z, int64_t w, int64_t *ret);
