/* SPDX-License-Identifier: MIT */
/*
 * See time.h. Proleptic Gregorian arithmetic after H. Hinnant, "chrono-
 * Compatible Low-Level Date Algorithms": exact for every year a slot id can
 * carry, with no table beyond the month lengths and no libc time function, so
 * that slot ids come out the same on every host.
 */
#include "schedule/time.h"

bool is_leap_year(int64_t y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(int64_t y, unsigned m) {
        static const uint8_t days[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        return m == 2 && is_leap_year(y) ? 29 : days[m];
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        int64_t era, yoe, doy, doe;

        y -= m <= 2;
        era = floor_div(y, 400);
        yoe = y - era * 400;
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d) {
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

/* 1970-01-01 was a Thursday. */
unsigned weekday_from_days(int64_t z) {
        return (unsigned) (z + 4 - floor_div(z + 4, 7) * 7);
}

void civil_from_seconds(int64_t l, civil_time *ret) {
        int64_t days = floor_div(l, SEC_PER_DAY), sec = l - days * SEC_PER_DAY;

        civil_from_days(days, &ret->year, &ret->month, &ret->day);
        ret->hour = (unsigned) (sec / SEC_PER_HOUR);
        ret->minute = (unsigned) (sec % SEC_PER_HOUR / SEC_PER_MINUTE);
        ret->second = (unsigned) (sec % SEC_PER_MINUTE);
}

int64_t seconds_from_civil(const civil_time *c) {
        return days_from_civil(c->year, c->month, c->day) * SEC_PER_DAY + c->hour * SEC_PER_HOUR +
               c->minute * SEC_PER_MINUTE + c->second;
}

bool all_digits(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* Saturates, so "99999999999" is simply out of any range a caller checks. */
unsigned parse_digits(const char *s, size_t n) {
        unsigned v = 0;

        for (size_t i = 0; i < n; i++)
                v = v > 100000 ? v : v * 10 + (unsigned) (s[i] - '0');
        return v;
}
