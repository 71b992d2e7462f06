/* SPDX-License-Identifier: MIT */
/*
 * Cron expressions as Vixie cron reads them (see schedule.c for the exact
 * dialect): parsing into bit sets with errors that name the field and the
 * problem, and the search for the next or previous matching local minute.
 * The search steps by month, day, hour and minute, skipping what cannot
 * match, so "0 0 29 2 *" finds the next leap day in a few hundred steps; an
 * expression that can never fire is rejected when parsed.
 */
#include <stdio.h>
#include <strings.h>

#include "schedule/internal.h"

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
        r = vasprintf_safe(ret_error, fmt, ap);
        va_end(ap);
        return r < 0 ? r : -EINVAL;
}

static bool all_letters(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
                        return false;
        return n > 0;
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

/* ---- the calendar search ---- */

/* Whether cron fires on this local date. Vixie cron: restricted day fields OR, else both must match. */
static bool cron_day_matches(const cron_spec *c, int64_t y, unsigned m, unsigned d) {
        bool dom = c->days_of_month & (UINT32_C(1) << d);
        bool dow = c->days_of_week & (1u << weekday_from_days(days_from_civil(y, m, d)));

        if (c->dom_restricted && c->dow_restricted)
                return dom || dow;
        return dom && dow;
}

int cron_next_wall(const cron_spec *c, int64_t x, int64_t *ret) {
        civil_time t;
        int64_t y, last;
        unsigned m, d, h, mi;

        civil_from_seconds((floor_div(x, SEC_PER_MINUTE) + 1) * SEC_PER_MINUTE, &t);
        y = t.year, m = t.month, d = t.day, h = t.hour, mi = t.minute;
        /* The calendar repeats every 400 years, weekdays included: beyond that nothing will match. */
        last = MIN(y + 401, 9999);

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
                *ret = seconds_from_civil(&(civil_time) {
                        .year = y, .month = m, .day = d, .hour = h, .minute = (unsigned) __builtin_ctzll(minutes),
                });
                return 0;
        }
}

int cron_prev_wall(const cron_spec *c, int64_t x, int64_t *ret) {
        civil_time t;
        int64_t y, first;
        unsigned m, d;
        int h, mi;                      /* h runs down to -1: before the first hour of the day */

        civil_from_seconds(floor_div(x, SEC_PER_MINUTE) * SEC_PER_MINUTE, &t);
        y = t.year, m = t.month, d = t.day, h = (int) t.hour, mi = (int) t.minute;
        first = MAX(y - 401, 1);

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
                *ret = seconds_from_civil(&(civil_time) {
                        .year = y, .month = m, .day = d, .hour = (unsigned) h,
                        .minute = (unsigned) (63 - __builtin_clzll(minutes)),
                });
                return 0;
        }
}
