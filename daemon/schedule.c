/* SPDX-License-Identifier: MIT */
/*
 * Schedules divide time into slots; each slot lasts from one start to the next,
 * and the AMI name carries the slot's start, which makes every attempt for the
 * same slot collide on InvalidAMIName.Duplicate (design.md, "Idempotent by
 * name"). So the one thing that matters is that every host, every restart and
 * every call agree on the set of slot starts. Pure: the time is a parameter.
 *
 * Wall-clock times are read in the schedule's time zone (NULL or "UTC": UTC)
 * from the system's zoneinfo through libc. "Local seconds" below are seconds
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
 * firing starts a slot at second 0 of its minute. A local time the clocks skip
 * does not fire; a local time they show twice fires once, at its first
 * occurrence. An expression that can never fire ("0 0 30 2 *") is rejected.
 *
 * Time zones go through TZ and tzset(), restored afterwards: this module is
 * not thread-safe, which suits a single-threaded sd-event daemon.
 */
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedule.h"
#include "util.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"

#define SEC_PER_MINUTE INT64_C(60)
#define SEC_PER_HOUR INT64_C(3600)
#define SEC_PER_DAY INT64_C(86400)

/* Local seconds of Monday 1970-01-05 00:00, the reference day of `every`. */
#define EVERY_EPOCH_DAY INT64_C(4)

/* Slots exist from 1900-01-01T00:00:00Z to 9999-12-31T23:59:59Z: slot ids have four-digit years. */
#define TIME_MIN INT64_C(-2208988800)
#define TIME_MAX INT64_C(253402300799)

/* Real UTC offsets stay within -12h..+14h; a wider window costs nothing. */
#define ZONE_WINDOW (30 * SEC_PER_HOUR)

/* Larger intervals are surely a mistake, and this keeps the arithmetic far from overflow. */
#define EVERY_MAX (UINT64_C(1000) * 366 * 86400)

static int64_t min64(int64_t a, int64_t b) {
        return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b) {
        return a > b ? a : b;
}

void schedule_done(schedule *s) {
        if (!s)
                return;
        s->cron_expr = mfree(s->cron_expr);
        s->timezone = mfree(s->timezone);
}

/* Calendar arithmetic on the proleptic Gregorian calendar (H. Hinnant's algorithms). */

static int64_t floor_div(int64_t a, int64_t b) {
        int64_t q = a / b;

        if ((a % b != 0) && ((a < 0) != (b < 0)))
                q--;
        return q;
}

static bool is_leap_year(int64_t y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m) {
        static const uint8_t days[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        return m == 2 && is_leap_year(y) ? 29 : days[m];
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        int64_t era, yoe, doy, doe;

        y -= m <= 2;
        era = floor_div(y, 400);
        yoe = y - era * 400;
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d) {
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
static unsigned weekday_from_days(int64_t z) {
        return (unsigned) (z + 4 - floor_div(z + 4, 7) * 7);
}

/* ---- cron expressions ---- */

typedef struct cron_field {
        const char *name;
        unsigned min, max;
        const char *const *names;       /* three-letter names, the first one meaning names_base */
        unsigned n_names;
        unsigned names_base;
} cron_field;

static const char *const month_names[] = {
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
};

static const char *const weekday_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

enum { CRON_MINUTE, CRON_HOUR, CRON_DOM, CRON_MONTH, CRON_DOW, _CRON_FIELD_MAX };

static const cron_field cron_fields[_CRON_FIELD_MAX] = {
        [CRON_MINUTE] = { "minute", 0, 59 },
        [CRON_HOUR] = { "hour", 0, 23 },
        [CRON_DOM] = { "day-of-month", 1, 31 },
        [CRON_MONTH] = { "month", 1, 12, month_names, ELEMENTSOF(month_names), 1 },
        [CRON_DOW] = { "day-of-week", 0, 7, weekday_names, ELEMENTSOF(weekday_names), 0 },
};

static const struct {
        const char *name;
        const char *expansion;
} cron_macros[] = {
        { "@yearly", "0 0 1 1 *" },
        { "@annually", "0 0 1 1 *" },
        { "@monthly", "0 0 1 * *" },
        { "@weekly", "0 0 * * 0" },
        { "@daily", "0 0 * * *" },
        { "@midnight", "0 0 * * *" },
        { "@hourly", "0 * * * *" },
};

_printf_(2, 3)
static int cron_error(char **ret_error, const char *fmt, ...) {
        va_list ap;
        int r;

        if (!ret_error)
                return -EINVAL;
        va_start(ap, fmt);
        r = vasprintf(ret_error, fmt, ap);
        va_end(ap);
        if (r < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

static bool all_digits(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

static bool all_letters(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
                        return false;
        return n > 0;
}

/* Digits only; saturates instead of overflowing, so "99999999999" is simply out of range. */
static unsigned parse_digits(const char *s, size_t n) {
        unsigned v = 0;

        for (size_t i = 0; i < n; i++)
                v = v > 100000 ? v : v * 10 + (unsigned) (s[i] - '0');
        return v;
}

static int cron_parse_value(const cron_field *f, const char *s, size_t n, unsigned *ret, char **ret_error) {
        unsigned v;

        if (n == 0)
                return cron_error(ret_error, "%s: missing value", f->name);
        if (all_digits(s, n)) {
                v = parse_digits(s, n);
                if (v < f->min || v > f->max)
                        return cron_error(ret_error, "%s: %.*s is out of range %u-%u",
                                          f->name, (int) n, s, f->min, f->max);
                *ret = v;
                return 0;
        }
        if (!f->names)
                return cron_error(ret_error, "%s: '%.*s' is not a number", f->name, (int) n, s);
        if (!all_letters(s, n))
                return cron_error(ret_error, "%s: '%.*s' is not a number or a name", f->name, (int) n, s);
        if (n == 3)
                for (unsigned i = 0; i < f->n_names; i++)
                        if (strncasecmp(s, f->names[i], 3) == 0) {
                                *ret = f->names_base + i;
                                return 0;
                        }
        return cron_error(ret_error, "unknown %s name '%.*s'", f->name, (int) n, s);
}

/* One element of a list: "*", "V", "A-B", each optionally followed by "/STEP". */
static int cron_parse_element(const cron_field *f, const char *s, size_t n, uint64_t *bits, char **ret_error) {
        const char *slash, *dash;
        size_t base_len;
        unsigned lo, hi, step = 1;
        int r;

        if (n == 0)
                return cron_error(ret_error, "%s: empty element in list", f->name);

        slash = memchr(s, '/', n);
        base_len = slash ? (size_t) (slash - s) : n;
        if (slash) {
                const char *p = slash + 1;
                size_t pn = n - base_len - 1;

                if (!all_digits(p, pn))
                        return cron_error(ret_error, "%s: step '%.*s' is not a number", f->name, (int) pn, p);
                step = parse_digits(p, pn);
                if (step < 1 || step > f->max - f->min + 1)
                        return cron_error(ret_error, "%s: step %.*s is out of range 1-%u",
                                          f->name, (int) pn, p, f->max - f->min + 1);
        }

        dash = memchr(s, '-', base_len);
        if (base_len == 1 && s[0] == '*') {
                lo = f->min;
                hi = f->max;
        } else if (dash) {
                size_t an = (size_t) (dash - s);

                r = cron_parse_value(f, s, an, &lo, ret_error);
                if (r < 0)
                        return r;
                r = cron_parse_value(f, dash + 1, base_len - an - 1, &hi, ret_error);
                if (r < 0)
                        return r;
                if (lo > hi)
                        return cron_error(ret_error, "%s: range '%.*s' runs backwards",
                                          f->name, (int) base_len, s);
        } else {
                r = cron_parse_value(f, s, base_len, &lo, ret_error);
                if (r < 0)
                        return r;
                /* "5/10" is cronie's and Vixie's shorthand for "5-MAX/10". */
                hi = slash ? f->max : lo;
        }

        for (unsigned v = lo; v <= hi; v += step)
                *bits |= UINT64_C(1) << v;
        return 0;
}

static int cron_parse_field(const cron_field *f, const char *s, uint64_t *ret_bits, bool *ret_restricted,
                            char **ret_error) {
        uint64_t bits = 0;
        int r;

        for (const char *p = s;;) {
                const char *comma = strchr(p, ',');
                size_t n = comma ? (size_t) (comma - p) : strlen(p);

                r = cron_parse_element(f, p, n, &bits, ret_error);
                if (r < 0)
                        return r;
                if (!comma)
                        break;
                p = comma + 1;
        }

        /* Vixie cron: a field that starts with '*' ("*", "*" + "/2") leaves the day unrestricted. */
        *ret_restricted = s[0] != '*';
        *ret_bits = bits;
        return 0;
}

/* With both day fields restricted, the weekday matches in every month; otherwise some selected
 * month must have a selected day of the month. Over the 400-year cycle each date, 29 February
 * too, falls on every weekday, so the weekday field never makes a date impossible. */
static bool cron_spec_can_fire(const cron_spec *c) {
        if (c->dom_restricted && c->dow_restricted)
                return c->months != 0 && (c->days_of_month != 0 || c->days_of_week != 0);
        for (unsigned m = 1; m <= 12; m++) {
                uint32_t days = (uint32_t) (((UINT64_C(1) << (days_in_month(2000, m) + 1)) - 1) & ~UINT64_C(1));

                if ((c->months & (1u << m)) && (c->days_of_month & days))
                        return true;
        }
        return false;
}

int cron_parse(const char *expr, cron_spec *ret, char **ret_error) {
        _cleanup_(freep) char *copy = NULL;
        char *fields[_CRON_FIELD_MAX + 1], *p, *save = NULL;
        uint64_t bits[_CRON_FIELD_MAX];
        bool restricted[_CRON_FIELD_MAX];
        size_t n = 0;
        cron_spec c;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!expr)
                return cron_error(ret_error, "empty cron expression");

        copy = strdup(expr);
        if (!copy)
                return -ENOMEM;

        for (p = strtok_r(copy, " \t\n", &save); p; p = strtok_r(NULL, " \t\n", &save)) {
                if (n < ELEMENTSOF(fields))
                        fields[n] = p;
                n++;
        }
        if (n == 0)
                return cron_error(ret_error, "empty cron expression");

        if (fields[0][0] == '@') {
                if (n > 1)
                        return cron_error(ret_error, "unexpected '%s' after '%s'", fields[1], fields[0]);
                if (strcasecmp(fields[0], "@reboot") == 0)
                        return cron_error(ret_error, "'@reboot' is not supported: slots need a time");
                for (size_t i = 0; i < ELEMENTSOF(cron_macros); i++)
                        if (strcasecmp(fields[0], cron_macros[i].name) == 0)
                                return cron_parse(cron_macros[i].expansion, ret, ret_error);
                return cron_error(ret_error, "unknown macro '%s'", fields[0]);
        }

        if (n != _CRON_FIELD_MAX)
                return cron_error(ret_error, "expected %d fields, got %zu", _CRON_FIELD_MAX, n);

        for (unsigned i = 0; i < _CRON_FIELD_MAX; i++) {
                r = cron_parse_field(&cron_fields[i], fields[i], &bits[i], &restricted[i], ret_error);
                if (r < 0)
                        return r;
        }

        /* 7 is Sunday too. */
        if (bits[CRON_DOW] & (UINT64_C(1) << 7))
                bits[CRON_DOW] = (bits[CRON_DOW] & 0x7f) | 1;

        c = (cron_spec) {
                .minutes = bits[CRON_MINUTE],
                .hours = (uint32_t) bits[CRON_HOUR],
                .days_of_month = (uint32_t) bits[CRON_DOM],
                .months = (uint16_t) bits[CRON_MONTH],
                .days_of_week = (uint8_t) bits[CRON_DOW],
                .dom_restricted = restricted[CRON_DOM],
                .dow_restricted = restricted[CRON_DOW],
        };
        if (!cron_spec_can_fire(&c))
                return cron_error(ret_error, "never fires: no selected month has the selected day of the month");

        *ret = c;
        return 0;
}

/* ---- time zones ---- */

/* A relative path of plain components, no "." or ".." or hidden files, no odd characters. */
static bool timezone_name_is_safe(const char *tz) {
        size_t n = strlen(tz);

        if (n == 0 || n > 255 || tz[0] == '/' || tz[n - 1] == '/')
                return false;
        for (const char *p = tz; *p; p++) {
                bool ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                          *p == '_' || *p == '-' || *p == '+' || *p == '.' || *p == '/';

                if (!ok)
                        return false;
                if ((p == tz || p[-1] == '/') && (*p == '.' || *p == '/'))
                        return false;
        }
        return true;
}

bool timezone_is_valid(const char *tz) {
        _cleanup_(freep) char *path = NULL;
        char magic[4];
        struct stat st;
        ssize_t l;
        int fd;

        if (isempty(tz))
                return false;
        if (streq(tz, "UTC"))
                return true;
        if (!timezone_name_is_safe(tz))
                return false;
        /* "localtime" is whatever this host says, so two hosts could disagree on slots; "right/"
         * zones count leap seconds in time_t, which nothing else here does. */
        if (streq(tz, "localtime") || startswith(tz, "right/"))
                return false;
        if (asprintf(&path, ZONEINFO_DIR "/%s", tz) < 0) {
                path = NULL;
                return false;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return false;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return false;
        }
        l = read(fd, magic, sizeof(magic));
        close(fd);
        /* tzfile(5): "The magic four-byte ASCII sequence 'TZif' identifies the file as a time zone information file." */
        return l == (ssize_t) sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
}

/* While a zone is entered, TZ names its file and libc's localtime_r() reads it. */
typedef struct zone {
        bool local;                     /* false: UTC, computed without libc */
        char *saved_tz;                 /* TZ as it was, NULL if unset */
        int error;                      /* first failure of localtime_r(), sticky */
} zone;

static void zone_leave(zone *z) {
        if (!z->local)
                return;
        if (z->saved_tz)
                (void) setenv("TZ", z->saved_tz, 1);
        else
                (void) unsetenv("TZ");
        tzset();
        z->saved_tz = mfree(z->saved_tz);
        z->local = false;
}

static int zone_enter(zone *z, const char *tz) {
        _cleanup_(freep) char *value = NULL;
        const char *old;

        *z = (zone) {};
        if (!tz || streq(tz, "UTC"))
                return 0;
        if (!timezone_is_valid(tz))
                return -EINVAL;
        /* A path, so that libc reads the very file timezone_is_valid() checked. */
        if (asprintf(&value, ":" ZONEINFO_DIR "/%s", tz) < 0) {
                value = NULL;
                return -ENOMEM;
        }
        old = getenv("TZ");
        if (old) {
                z->saved_tz = strdup(old);
                if (!z->saved_tz)
                        return -ENOMEM;
        }
        if (setenv("TZ", value, 1) < 0) {
                z->saved_tz = mfree(z->saved_tz);
                return -errno;
        }
        tzset();
        z->local = true;
        return 0;
}

/* Seconds east of UTC at instant t. */
static int64_t zone_offset(zone *z, int64_t t) {
        time_t tt = (time_t) t;
        struct tm tm;

        if (!z->local)
                return 0;
        if (!localtime_r(&tt, &tm)) {
                if (z->error == 0)
                        z->error = -ERANGE;
                return 0;
        }
        return tm.tm_gmtoff;
}

/* What the local clock reads at t, in local seconds. */
static int64_t zone_wall(zone *z, int64_t t) {
        return t + zone_offset(z, t);
}

/* The latest wall time the local clock has shown at or before t. It is the wall time at t,
 * except during a repeated hour, when the clock has already been further. */
static int64_t zone_max_wall(zone *z, int64_t t) {
        int64_t w = zone_wall(z, t), lo = t - ZONE_WINDOW, hi = t, now = zone_offset(z, t);

        if (!z->local || zone_offset(z, lo) == now)
                return w;
        while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;

                if (zone_offset(z, mid) == now)
                        hi = mid;
                else
                        lo = mid;
        }
        /* hi is the first instant of the current offset: the clock read wall(hi - 1) just before. */
        return max64(w, zone_wall(z, hi - 1));
}

/* The instants at which the local clock reads w, earliest first: none in a gap, two in an overlap. */
static unsigned zone_occurrences(zone *z, int64_t w, int64_t ret[static 3]) {
        int64_t offsets[3];
        unsigned n = 0;

        if (!z->local) {
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
static int zone_first_at_or_after(zone *z, int64_t w, int64_t *ret) {
        int64_t c[3], o[3], lo, hi, a, b;

        if (zone_occurrences(z, w, c) > 0) {
                *ret = c[0];
                return 0;
        }
        /* In a gap the clock jumps from before w (offset a, at w - b) to after it (offset b, at w - a). */
        o[0] = zone_offset(z, w - ZONE_WINDOW);
        o[1] = zone_offset(z, w);
        o[2] = zone_offset(z, w + ZONE_WINDOW);
        a = min64(o[0], min64(o[1], o[2]));
        b = max64(o[0], max64(o[1], o[2]));
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

/* ---- slots ---- */

/* Whether cron fires on this local date. Vixie cron: restricted day fields OR, else both must match. */
static bool cron_day_matches(const cron_spec *c, int64_t y, unsigned m, unsigned d) {
        bool dom = c->days_of_month & (UINT32_C(1) << d);
        bool dow = c->days_of_week & (1u << weekday_from_days(days_from_civil(y, m, d)));

        if (c->dom_restricted && c->dow_restricted)
                return dom || dow;
        return dom && dow;
}

/* The first local minute > x at which cron fires, as wall time; -ERANGE past 400 years or year 9999. */
static int cron_next_wall(const cron_spec *c, int64_t x, int64_t *ret) {
        int64_t l = (floor_div(x, SEC_PER_MINUTE) + 1) * SEC_PER_MINUTE;
        int64_t days = floor_div(l, SEC_PER_DAY), y, last;
        unsigned m, d, h = (unsigned) ((l - days * SEC_PER_DAY) / SEC_PER_HOUR);
        unsigned mi = (unsigned) ((l - days * SEC_PER_DAY) % SEC_PER_HOUR / SEC_PER_MINUTE);

        civil_from_days(days, &y, &m, &d);
        /* The calendar repeats every 400 years, weekdays included: beyond that nothing will match. */
        last = min64(y + 401, 9999);

        for (;;) {
                uint64_t minutes;

                if (y > last)
                        return -ERANGE;
                if (!(c->months & (1u << m))) {
                        if (++m > 12) {
                                m = 1;
                                y++;
                        }
                        d = 1, h = 0, mi = 0;
                        continue;
                }
                if (h > 23 || !cron_day_matches(c, y, m, d)) {
                        if (++d > days_in_month(y, m)) {
                                d = 1;
                                if (++m > 12) {
                                        m = 1;
                                        y++;
                                }
                        }
                        h = 0, mi = 0;
                        continue;
                }
                minutes = mi < 60 ? c->minutes & ~((UINT64_C(1) << mi) - 1) : 0;
                if (!(c->hours & (UINT32_C(1) << h)) || minutes == 0) {
                        h++, mi = 0;
                        continue;
                }
                mi = (unsigned) __builtin_ctzll(minutes);
                *ret = days_from_civil(y, m, d) * SEC_PER_DAY + h * SEC_PER_HOUR + mi * SEC_PER_MINUTE;
                return 0;
        }
}

/* The last local minute <= x at which cron fires, as wall time. */
static int cron_prev_wall(const cron_spec *c, int64_t x, int64_t *ret) {
        int64_t l = floor_div(x, SEC_PER_MINUTE) * SEC_PER_MINUTE;
        int64_t days = floor_div(l, SEC_PER_DAY), y, first;
        int h = (int) ((l - days * SEC_PER_DAY) / SEC_PER_HOUR);
        int mi = (int) ((l - days * SEC_PER_DAY) % SEC_PER_HOUR / SEC_PER_MINUTE);
        unsigned m, d;

        civil_from_days(days, &y, &m, &d);
        first = max64(y - 401, 1);

        for (;;) {
                uint64_t minutes;

                if (y < first)
                        return -ERANGE;
                if (!(c->months & (1u << m))) {
                        if (--m < 1) {
                                m = 12;
                                y--;
                        }
                        d = days_in_month(y, m), h = 23, mi = 59;
                        continue;
                }
                if (h < 0 || !cron_day_matches(c, y, m, d)) {
                        if (--d < 1) {
                                if (--m < 1) {
                                        m = 12;
                                        y--;
                                }
                                d = days_in_month(y, m);
                        }
                        h = 23, mi = 59;
                        continue;
                }
                minutes = mi >= 0 ? c->minutes & ((UINT64_C(2) << mi) - 1) : 0;
                if (!(c->hours & (UINT32_C(1) << h)) || minutes == 0) {
                        h--, mi = 59;
                        continue;
                }
                mi = 63 - __builtin_clzll(minutes);
                *ret = days_from_civil(y, m, d) * SEC_PER_DAY + h * SEC_PER_HOUR + mi * SEC_PER_MINUTE;
                return 0;
        }
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

/* Finds the slot containing t, and optionally the next one: both share the search. */
static int schedule_find(const schedule *s, int64_t t, int64_t *ret_slot, int64_t *ret_next) {
        _cleanup_(zone_leave) zone z = {};
        int64_t slot = 0, next = 0;
        int r;

        r = schedule_check(s, t);
        if (r < 0)
                return r;
        r = zone_enter(&z, s->timezone);
        if (r < 0)
                return r;

        if (s->kind == SCHEDULE_EVERY && schedule_every_mode(s) == EVERY_ELAPSED) {
                int64_t every = (int64_t) s->every, anchor;

                r = zone_first_at_or_after(&z, schedule_every_phase(s), &anchor);
                if (r < 0)
                        return r;
                slot = anchor + floor_div(t - anchor, every) * every;
                next = slot + every;

        } else if (s->kind == SCHEDULE_EVERY) {
                /* A wall time w has begun by t exactly when the clock has shown w or later by t. */
                int64_t every = (int64_t) s->every, phase = schedule_every_phase(s);
                int64_t w = phase + floor_div(zone_max_wall(&z, t) - phase, every) * every;

                r = zone_first_at_or_after(&z, w, &slot);
                if (r < 0)
                        return r;
                if (ret_next) {
                        r = zone_first_at_or_after(&z, w + every, &next);
                        if (r < 0)
                                return r;
                }

        } else {
                /* Firings in a gap do not exist; the others start at their first occurrence. */
                int64_t max_wall = zone_max_wall(&z, t), w, c[3];

                for (int64_t x = max_wall;; x = w - 1) {
                        r = cron_prev_wall(&s->cron, x, &w);
                        if (r < 0)
                                return r;
                        if (zone_occurrences(&z, w, c) > 0) {
                                slot = c[0];
                                break;
                        }
                }
                if (ret_next)
                        for (int64_t x = max_wall;; x = w) {
                                r = cron_next_wall(&s->cron, x, &w);
                                if (r < 0)
                                        return r;
                                if (zone_occurrences(&z, w, c) > 0) {
                                        next = c[0];
                                        break;
                                }
                        }
        }

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

/* ---- slot ids ---- */

char *slot_id_format(time_t slot_start, char buf[static SLOT_ID_MAX]) {
        int64_t t = (int64_t) slot_start, days = floor_div(t, SEC_PER_DAY), sec = t - days * SEC_PER_DAY, y;
        unsigned m, d;

        civil_from_days(days, &y, &m, &d);
        if (y < 0 || y > 9999)
                return NULL;
        snprintf(buf, SLOT_ID_MAX, "%04u%02u%02uT%02u%02u%02uZ", (unsigned) y, m, d,
                 (unsigned) (sec / SEC_PER_HOUR), (unsigned) (sec % SEC_PER_HOUR / SEC_PER_MINUTE),
                 (unsigned) (sec % SEC_PER_MINUTE));
        return buf;
}

int slot_id_parse(const char *s, time_t *ret) {
        static const char shape[] = "DDDDDDDDTDDDDDDZ";
        unsigned y, m, d, h, mi, sec;

        if (!s || strlen(s) != SLOT_ID_MAX - 1)
                return -EINVAL;
        for (size_t i = 0; i < SLOT_ID_MAX - 1; i++)
                if (shape[i] == 'D' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
                        return -EINVAL;
        y = parse_digits(s, 4);
        m = parse_digits(s + 4, 2);
        d = parse_digits(s + 6, 2);
        h = parse_digits(s + 9, 2);
        mi = parse_digits(s + 11, 2);
        sec = parse_digits(s + 13, 2);
        if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m) || h > 23 || mi > 59 || sec > 59)
                return -EINVAL;
        *ret = (time_t) (days_from_civil(y, m, d) * SEC_PER_DAY + h * SEC_PER_HOUR + mi * SEC_PER_MINUTE + sec);
        return 0;
}
