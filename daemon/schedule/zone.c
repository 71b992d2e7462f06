/* SPDX-License-Identifier: MIT */
/*
 * Time zones: which names are valid, how a wall time becomes an instant, and
 * what a zone's clock reads at an instant (for display). The zone's data is
 * read from its TZif file once, when the configuration is loaded (tzif.c),
 * and every conversion is computed from it: nothing here touches TZ, tzset()
 * or libc's zone state, which the resolver threads of curl share with us.
 * Only the UTC offset at an instant is asked of the data, so the rules for
 * clocks that skip or repeat a wall time are ours, not mktime()'s.
 */
#include "schedule/internal.h"

/* Real UTC offsets stay within -12h..+14h (tzif.c refuses beyond -25h..+26h); a wider window
 * costs nothing. */
#define ZONE_WINDOW (30 * SEC_PER_HOUR)

bool timezone_is_valid(const char *tz) {
        _cleanup_(tz_zone_unrefp) tz_zone *z = NULL;

        if (isempty(tz))
                return false;
        return streq(tz, "UTC") || tz_zone_load(tz, &z, NULL) >= 0;
}

int schedule_local_time(const tz_zone *tz, time_t t, struct tm *ret) {
        tz_info info = { 0, false, "UTC" };
        int64_t l, days;
        civil_time c;
        int r;

        /* UTC is computed without a zone, and called UTC, not GMT as gmtime_r() would. */
        if (tz) {
                r = tz_zone_lookup(tz, (int64_t) t, &info);
                if (r < 0)
                        return r;
        }
        l = (int64_t) t + info.offset;
        civil_from_seconds(l, &c);
        days = floor_div(l, SEC_PER_DAY);
        if (c.year < 0 || c.year > 9999)
                return -ERANGE;
        *ret = (struct tm) {
                .tm_year = (int) (c.year - 1900),
                .tm_mon = (int) c.month - 1,
                .tm_mday = (int) c.day,
                .tm_hour = (int) c.hour,
                .tm_min = (int) c.minute,
                .tm_sec = (int) c.second,
                .tm_wday = (int) weekday_from_days(days),
                .tm_yday = (int) (days - days_from_civil(c.year, 1, 1)),
                .tm_isdst = info.is_dst,
                .tm_gmtoff = info.offset,
                .tm_zone = info.abbr,
        };
        return 0;
}

/* Seconds east of UTC at instant t. */
static int64_t zone_offset(zone *z, int64_t t) {
        tz_info info;

        if (!z->tz)
                return 0;
        if (tz_zone_lookup(z->tz, t, &info) < 0) {
                if (z->error == 0)
                        z->error = -ERANGE;
                return 0;
        }
        return info.offset;
}

/* What the local clock reads at t, in local seconds. */
static int64_t zone_wall(zone *z, int64_t t) {
        return t + zone_offset(z, t);
}

/* The latest wall time the local clock has shown at or before t. It is the wall time at t,
 * except during a repeated hour, when the clock has already been further. */
int64_t zone_max_wall(zone *z, int64_t t) {
        int64_t w = zone_wall(z, t), lo = t - ZONE_WINDOW, hi = t, now = zone_offset(z, t);

        if (!z->tz || zone_offset(z, lo) == now)
                return w;
        while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;

                if (zone_offset(z, mid) == now)
                        hi = mid;
                else
                        lo = mid;
        }
        /* hi is the first instant of the current offset: the clock read wall(hi - 1) just before. */
        return MAX(w, zone_wall(z, hi - 1));
}

/* The instants at which the local clock reads w, earliest first: none in a gap, two in an overlap. */
unsigned zone_occurrences(zone *z, int64_t w, int64_t ret[static 3]) {
        int64_t offsets[3];
        unsigned n = 0;

        if (!z->tz) {
                ret[0] = w;
                return 1;
        }
        offsets[0] = zone_offset(z, w - ZONE_WINDOW);
        offsets[1] = zone_offset(z, w);
        offsets[2] = zone_offset(z, w + ZONE_WINDOW);
        for (unsigned i = 0; i < 3; i++) {
                int64_t t = w - offsets[i];
                bool dup = false;

                for (unsigned j = 0; j < n; j++)
                        dup = dup || ret[j] == t;
                if (!dup && zone_offset(z, t) == offsets[i])
                        ret[n++] = t;
        }
        for (unsigned i = 1; i < n; i++)
                for (unsigned j = i; j > 0 && ret[j - 1] > ret[j]; j--) {
                        int64_t x = ret[j];

                        ret[j] = ret[j - 1];
                        ret[j - 1] = x;
                }
        return n;
}

/* The first instant at which the local clock reads w or later: the first occurrence of w, or the
 * end of the gap that skips it. */
int zone_first_at_or_after(zone *z, int64_t w, int64_t *ret) {
        int64_t c[3], o[3], lo, hi, a, b;

        if (zone_occurrences(z, w, c) > 0) {
                *ret = c[0];
                return 0;
        }
        /* In a gap the clock jumps from before w (offset a, at w - b) to after it (offset b, at w - a). */
        o[0] = zone_offset(z, w - ZONE_WINDOW);
        o[1] = zone_offset(z, w);
        o[2] = zone_offset(z, w + ZONE_WINDOW);
        a = MIN(o[0], MIN(o[1], o[2]));
        b = MAX(o[0], MAX(o[1], o[2]));
        lo = w - b;
        hi = w - a;
        if (lo >= hi || zone_wall(z, lo) >= w || zone_wall(z, hi) < w)
                return z->error ?: -ERANGE;
        while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;

                if (zone_wall(z, mid) >= w)
                        hi = mid;
                else
                        lo = mid;
        }
        *ret = hi;
        return 0;
}
