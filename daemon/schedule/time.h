/* SPDX-License-Identifier: MIT */
/*
 * The floor of the schedule module: calendar arithmetic on local seconds
 * (seconds since 1970-01-01 00:00 as a clock reads them, so a day is always
 * 86400 of them) in the proleptic Gregorian calendar, and the digit scanning
 * both of its parsers (cron fields, slot ids) need. No time zones and no libc
 * time functions: cron.c, zone.c and schedule.c build on this, never the other
 * way round. Not for use outside the schedule module.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEC_PER_MINUTE INT64_C(60)
#define SEC_PER_HOUR INT64_C(3600)
#define SEC_PER_DAY INT64_C(86400)

/* Division rounding towards minus infinity, so that times before 1970 fall into the right day. */
static inline int64_t floor_div(int64_t a, int64_t b) {
        int64_t q = a / b;

        if ((a % b != 0) && ((a < 0) != (b < 0)))
                q--;
        return q;
}

/* Days since 1970-01-01 and dates, both ways (H. Hinnant's algorithms). */
bool is_leap_year(int64_t y);
unsigned days_in_month(int64_t y, unsigned m);
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d);
unsigned weekday_from_days(int64_t z);          /* 0 = Sunday */

/* A local time split into its calendar fields. */
typedef struct civil_time {
        int64_t year;
        unsigned month;                 /* 1..12 */
        unsigned day;                   /* 1..31 */
        unsigned hour, minute, second;
} civil_time;

void civil_from_seconds(int64_t l, civil_time *ret);
int64_t seconds_from_civil(const civil_time *c);

/* Whether s[0..n) is one or more ASCII digits; their value, saturating instead of overflowing. */
bool all_digits(const char *s, size_t n);
unsigned parse_digits(const char *s, size_t n);
