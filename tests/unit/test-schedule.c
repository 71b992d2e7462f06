/* SPDX-License-Identifier: MIT */
/*
 * Schedule arithmetic: cron parsing and its errors, time zone names, slot ids,
 * a zone's local time for display, then slots computed by hand (month ends,
 * leap years, year boundaries, DST in Europe/Berlin and America/New_York), and
 * finally thousands of generated (schedule, time) pairs checked against the
 * invariants the engine relies on and against a brute-force walk of the local
 * clock, second by second or minute by minute. The expected instants come from
 * the calendar and the zones' DST rules, not from the code.
 * AMIROTD_TEST_SEED=N replays the generated cases.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>
#include <dlfcn.h>

#include "schedule/schedule.h"
#include "base/util.h"

#define MINUTE 60
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

static time_t T(const char *iso) {
        time_t t;

        assert_int_equal(parse_iso8601(iso, &t), 0);
        return t;
}

static char *id(time_t t) {
        static char buf[8][SLOT_ID_MAX];
        static unsigned i;

        i = (i + 1) % ELEMENTSOF(buf);
        assert_non_null(slot_id_format(t, buf[i]));
        return buf[i];
}

/* The zone's data, as the configuration loader attaches it; NULL for UTC or a name that is no
 * zone (the schedule then reads the file at each call, and refuses a bad name). */
static tz_zone *loaded_zone(const char *tz) {
        tz_zone *z = NULL;

        if (tz && !streq(tz, "UTC"))
                (void) tz_zone_load(tz, &z, NULL);
        return z;
}

static schedule every(uint64_t interval, uint32_t at, const char *tz) {
        return (schedule) {
                .kind = SCHEDULE_EVERY,
                .every = interval,
                .at = at,
                .timezone = tz ? strdup(tz) : NULL,
                .zone = loaded_zone(tz),
        };
}

static schedule cron(const char *expr, const char *tz) {
        _cleanup_(freep) char *error = NULL;
        schedule s = {
                .kind = SCHEDULE_CRON,
                .cron_expr = strdup(expr),
                .timezone = tz ? strdup(tz) : NULL,
                .zone = loaded_zone(tz),
        };

        if (cron_parse(expr, &s.cron, &error) < 0)
                fail_msg("cron_parse('%s'): %s", expr, error);
        return s;
}

static time_t slot_at(const schedule *s, time_t t) {
        time_t r;

        assert_int_equal(schedule_slot_at(s, t, &r), 0);
        return r;
}

static time_t next_after(const schedule *s, time_t t) {
        time_t r;

        assert_int_equal(schedule_next_slot_after(s, t, &r), 0);
        return r;
}

/* The slot starts after `from`, one by one, compared with the expected slot ids. */
static void assert_starts(const schedule *s, const char *from, const char *const *expected) {
        time_t t = T(from);

        for (; *expected; expected++) {
                t = next_after(s, t);
                assert_string_equal(id(t), *expected);
                assert_int_equal(slot_at(s, t), t);
        }
}

#define STARTS(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* ---- cron_parse ---------------------------------------------------------------------- */

static uint64_t bits(const unsigned *v, size_t n) {
        uint64_t b = 0;

        for (size_t i = 0; i < n; i++)
                b |= UINT64_C(1) << v[i];
        return b;
}
#define BITS(...) bits((const unsigned[]) { __VA_ARGS__ }, ELEMENTSOF(((const unsigned[]) { __VA_ARGS__ })))

static cron_spec parse_ok(const char *expr) {
        _cleanup_(freep) char *error = NULL;
        cron_spec c;

        if (cron_parse(expr, &c, &error) < 0)
                fail_msg("cron_parse('%s'): %s", expr, error);
        assert_null(error);
        return c;
}

static void assert_spec_equal(const cron_spec *a, const cron_spec *b) {
        assert_int_equal(a->minutes, b->minutes);
        assert_int_equal(a->hours, b->hours);
        assert_int_equal(a->days_of_month, b->days_of_month);
        assert_int_equal(a->months, b->months);
        assert_int_equal(a->days_of_week, b->days_of_week);
        assert_int_equal(a->dom_restricted, b->dom_restricted);
        assert_int_equal(a->dow_restricted, b->dow_restricted);
}

static void test_cron_parse_fields(void **state) {
        cron_spec c, d;

        (void) state;
        c = parse_ok("*/15 1-10/2 5/10 jan-MAR,Dec Mon-FRI");
        assert_int_equal(c.minutes, BITS(0, 15, 30, 45));
        assert_int_equal(c.hours, BITS(1, 3, 5, 7, 9));
        assert_int_equal(c.days_of_month, BITS(5, 15, 25));
        assert_int_equal(c.months, BITS(1, 2, 3, 12));
        assert_int_equal(c.days_of_week, BITS(1, 2, 3, 4, 5));
        assert_true(c.dom_restricted);
        assert_true(c.dow_restricted);

        c = parse_ok("* * * * *");
        assert_int_equal(c.minutes, (UINT64_C(1) << 60) - 1);
        assert_int_equal(c.hours, (UINT32_C(1) << 24) - 1);
        assert_int_equal(c.days_of_month, ((UINT32_C(1) << 31) - 1) << 1);
        assert_int_equal(c.months, ((1u << 12) - 1) << 1);
        assert_int_equal(c.days_of_week, 0x7f);
        assert_false(c.dom_restricted);
        assert_false(c.dow_restricted);

        /* 7 is Sunday, in lists and ranges; names in any case. */
        assert_int_equal(parse_ok("0 0 * * 7").days_of_week, BITS(0));
        assert_int_equal(parse_ok("0 0 * * 5-7").days_of_week, BITS(0, 5, 6));
        assert_int_equal(parse_ok("0 0 * * sun,SAT").days_of_week, BITS(0, 6));
        assert_int_equal(parse_ok("0 0 * * fri-7").days_of_week, BITS(0, 5, 6));
        assert_int_equal(parse_ok("0 0 * * sun-sat").days_of_week, 0x7f);
        assert_int_equal(parse_ok("0 0 * aug-oct/2 *").months, BITS(8, 10));
        assert_int_equal(parse_ok("0 0 * * 1-5,0").days_of_week, 0x3f);
        assert_int_equal(parse_ok("59 23 31 12 *").minutes, BITS(59));
        assert_int_equal(parse_ok("0 0 1,15,31 * *").days_of_month, BITS(1, 15, 31));
        assert_int_equal(parse_ok("00 007 * * *").hours, BITS(7));
        assert_int_equal(parse_ok("*/25 * * * *").minutes, BITS(0, 25, 50));
        assert_int_equal(parse_ok("58/1 * * * *").minutes, BITS(58, 59));
        assert_int_equal(parse_ok("0-59/30 * * * *").minutes, BITS(0, 30));

        /* Vixie: only a field that starts with '*' leaves the day unrestricted. */
        c = parse_ok("0 0 */2 * 1");
        assert_false(c.dom_restricted);
        assert_true(c.dow_restricted);
        c = parse_ok("0 0 1-31 * */2");
        assert_true(c.dom_restricted);
        assert_false(c.dow_restricted);
        assert_int_equal(c.days_of_week, BITS(0, 2, 4, 6));

        /* Whitespace: tabs and runs of blanks. */
        c = parse_ok("  0\t3  * *   1-5 ");
        assert_int_equal(c.hours, BITS(3));

        /* Macros are their expansions. */
        c = parse_ok("@yearly");
        d = parse_ok("0 0 1 1 *");
        assert_spec_equal(&c, &d);
        c = parse_ok("@annually");
        assert_spec_equal(&c, &d);
        c = parse_ok("@monthly");
        d = parse_ok("0 0 1 * *");
        assert_spec_equal(&c, &d);
        c = parse_ok("@weekly");
        d = parse_ok("0 0 * * 0");
        assert_spec_equal(&c, &d);
        c = parse_ok("@daily");
        d = parse_ok("0 0 * * *");
        assert_spec_equal(&c, &d);
        c = parse_ok(" @midnight ");
        assert_spec_equal(&c, &d);
        c = parse_ok("@HOURLY");
        d = parse_ok("0 * * * *");
        assert_spec_equal(&c, &d);

        /* Leap days are possible, so they parse. */
        assert_int_equal(parse_ok("0 0 29 2 *").days_of_month, BITS(29));
        /* Both day fields restricted: the weekday can fire even if the date cannot. */
        parse_ok("0 0 31 4 mon");
}

static void test_cron_parse_errors(void **state) {
        static const struct {
                const char *expr;
                const char *error;
        } cases[] = {
                { "61 * * * *", "minute: 61 is out of range 0-59" },
                { "* 24 * * *", "hour: 24 is out of range 0-23" },
                { "* * 0 * *", "day-of-month: 0 is out of range 1-31" },
                { "* * 32 * *", "day-of-month: 32 is out of range 1-31" },
                { "* * * 13 *", "month: 13 is out of range 1-12" },
                { "* * * 0 *", "month: 0 is out of range 1-12" },
                { "* * * * 8", "day-of-week: 8 is out of range 0-7" },
                { "99999999999999 * * * *", "minute: 99999999999999 is out of range 0-59" },
                { "0 0 * foo *", "unknown month name 'foo'" },
                { "0 0 * january *", "unknown month name 'january'" },
                { "0 0 * * funday", "unknown day-of-week name 'funday'" },
                { "0 0 * jan-foo *", "unknown month name 'foo'" },
                { "0 0 * 1x *", "month: '1x' is not a number or a name" },
                { "mon 0 * * *", "minute: 'mon' is not a number" },
                { "0 0 1x * *", "day-of-month: '1x' is not a number" },
                { "0 0 * *", "expected 5 fields, got 4" },
                { "0 0 * * * *", "expected 5 fields, got 6" },
                { "0", "expected 5 fields, got 1" },
                { "", "empty cron expression" },
                { "   ", "empty cron expression" },
                { "5-1 * * * *", "minute: range '5-1' runs backwards" },
                { "0 0 * * sat-mon", "day-of-week: range 'sat-mon' runs backwards" },
                { "*/0 * * * *", "minute: step 0 is out of range 1-60" },
                { "*/61 * * * *", "minute: step 61 is out of range 1-60" },
                { "0 */x * * *", "hour: step 'x' is not a number" },
                { "0 */ * * *", "hour: step '' is not a number" },
                { "1,,2 * * * *", "minute: empty element in list" },
                { "1, * * * *", "minute: empty element in list" },
                { "-5 * * * *", "minute: missing value" },
                { "5- * * * *", "minute: missing value" },
                { "0 0 30 2 *", "never fires: no selected month has the selected day of the month" },
                { "0 0 31 4 *", "never fires: no selected month has the selected day of the month" },
                { "0 0 31 apr,jun,sep,nov *", "never fires: no selected month has the selected day of the month" },
                { "0 0 30-31 feb mon", NULL }, /* both restricted: Mondays in February */
                { "@reboot", "'@reboot' is not supported: slots need a time" },
                { "@fortnightly", "unknown macro '@fortnightly'" },
                { "@daily 0", "unexpected '0' after '@daily'" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(freep) char *error = NULL;
                cron_spec c = {}, untouched = {};
                int r = cron_parse(cases[i].expr, &c, &error);

                if (!cases[i].error) {
                        assert_int_equal(r, 0);
                        continue;
                }
                if (r != -EINVAL || !error || !streq(error, cases[i].error))
                        fail_msg("cron_parse('%s') = %d '%s', expected '%s'", cases[i].expr, r,
                                 error ?: "(null)", cases[i].error);
                /* Nothing is written on failure. */
                assert_spec_equal(&c, &untouched);
        }

        /* The error is optional. */
        cron_spec c;
        assert_int_equal(cron_parse("61 * * * *", &c, NULL), -EINVAL);
        assert_int_equal(cron_parse(NULL, &c, NULL), -EINVAL);
}

/* ---- time zones and slot ids --------------------------------------------------------- */

static void test_timezone_is_valid(void **state) {
        (void) state;
        assert_true(timezone_is_valid("UTC"));
        assert_true(timezone_is_valid("Etc/UTC"));
        assert_true(timezone_is_valid("Europe/Berlin"));
        assert_true(timezone_is_valid("America/New_York"));
        assert_true(timezone_is_valid("America/Argentina/Buenos_Aires"));
        assert_true(timezone_is_valid("Etc/GMT+5"));

        assert_false(timezone_is_valid(NULL));
        assert_false(timezone_is_valid(""));
        assert_false(timezone_is_valid("Mars/Olympus_Mons"));
        assert_false(timezone_is_valid("europe/berlin"));
        assert_false(timezone_is_valid("Europe"));              /* a directory */
        assert_false(timezone_is_valid("Europe/"));
        assert_false(timezone_is_valid("/usr/share/zoneinfo/Europe/Berlin"));
        assert_false(timezone_is_valid("../zoneinfo/Europe/Berlin"));
        assert_false(timezone_is_valid("Europe/../Europe/Berlin"));
        assert_false(timezone_is_valid("Europe//Berlin"));
        assert_false(timezone_is_valid("./UTC"));
        assert_false(timezone_is_valid("Europe/Berlin "));
        assert_false(timezone_is_valid("zone.tab"));            /* not TZif */
        assert_false(timezone_is_valid("iso3166.tab"));
        assert_false(timezone_is_valid("localtime"));           /* differs from host to host */
        assert_false(timezone_is_valid("right/UTC"));           /* leap seconds in time_t */
        assert_false(timezone_is_valid("CET\n"));
}

static void test_slot_id(void **state) {
        char buf[SLOT_ID_MAX];
        time_t t;

        (void) state;
        assert_string_equal(slot_id_format(1795662000, buf), "20261126T030000Z");
        assert_string_equal(slot_id_format(0, buf), "19700101T000000Z");
        assert_string_equal(slot_id_format(T("2000-02-29T23:59:59Z"), buf), "20000229T235959Z");
        assert_string_equal(slot_id_format(-1, buf), "19691231T235959Z");
        assert_string_equal(slot_id_format(T("9999-12-31T23:59:59Z"), buf), "99991231T235959Z");

        assert_int_equal(slot_id_parse("20261126T030000Z", &t), 0);
        assert_int_equal(t, 1795662000);
        assert_int_equal(slot_id_parse("20240229T000000Z", &t), 0);
        assert_int_equal(t, T("2024-02-29T00:00:00Z"));
        assert_int_equal(slot_id_parse("20000229T120000Z", &t), 0);
        assert_int_equal(t, T("2000-02-29T12:00:00Z"));
        assert_int_equal(slot_id_parse("19691231T235959Z", &t), 0);
        assert_int_equal(t, -1);

        static const char *const bad[] = {
                "21000229T000000Z",     /* 2100 is not a leap year */
                "20230229T000000Z",
                "20260431T000000Z",
                "20261301T000000Z",
                "20260001T000000Z",
                "20260100T000000Z",
                "20260101T240000Z",
                "20260101T006000Z",
                "20260101T000060Z",
                "20260101T000000z",
                "20260101 000000Z",
                "20260101T000000",
                "20260101T000000Z ",
                "2026-01-01T00:00:00Z",
                "2026010T1000000Z",
                "+0260101T000000Z",
                "",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (slot_id_parse(bad[i], &t) != -EINVAL)
                        fail_msg("slot_id_parse('%s') accepted", bad[i]);
        assert_int_equal(slot_id_parse(NULL, &t), -EINVAL);

        /* Round trip every hour over four years, leap day included. */
        for (time_t x = T("2023-01-01T00:00:00Z"); x < T("2027-01-01T00:00:00Z"); x += HOUR + 7) {
                assert_int_equal(slot_id_parse(slot_id_format(x, buf), &t), 0);
                assert_int_equal(t, x);
        }
}

/* ---- every, in UTC ------------------------------------------------------------------- */

static void test_every_days_utc(void **state) {
        _cleanup_(schedule_done) schedule midnight = every(DAY, 0, NULL);
        _cleanup_(schedule_done) schedule three = every(DAY, 3 * HOUR, "UTC");
        _cleanup_(schedule_done) schedule late = every(DAY, 23 * HOUR + 59 * MINUTE, NULL);
        _cleanup_(schedule_done) schedule weekly = every(7 * DAY, 3 * HOUR, NULL);
        _cleanup_(schedule_done) schedule two_days = every(2 * DAY, 0, NULL);

        (void) state;
        /* The anchor itself starts a slot; the second before it belongs to the previous one. */
        assert_string_equal(id(slot_at(&midnight, T("2026-01-01T00:00:00Z"))), "20260101T000000Z");
        assert_string_equal(id(slot_at(&midnight, T("2025-12-31T23:59:59Z"))), "20251231T000000Z");
        assert_string_equal(id(next_after(&midnight, T("2025-12-31T23:59:59Z"))), "20260101T000000Z");
        assert_string_equal(id(next_after(&midnight, T("2026-01-01T00:00:00Z"))), "20260102T000000Z");

        assert_string_equal(id(slot_at(&three, T("2026-01-01T02:59:59Z"))), "20251231T030000Z");
        assert_string_equal(id(slot_at(&three, T("2026-01-01T03:00:00Z"))), "20260101T030000Z");
        assert_string_equal(id(next_after(&three, T("2026-01-01T02:59:59Z"))), "20260101T030000Z");
        assert_starts(&three, "2024-02-27T12:00:00Z",
                      STARTS("20240228T030000Z", "20240229T030000Z", "20240301T030000Z"));
        assert_starts(&three, "2100-02-27T12:00:00Z", STARTS("21000228T030000Z", "21000301T030000Z"));
        assert_starts(&three, "2000-02-28T12:00:00Z", STARTS("20000229T030000Z", "20000301T030000Z"));

        assert_string_equal(id(slot_at(&late, T("2024-02-29T23:58:59Z"))), "20240228T235900Z");
        assert_string_equal(id(slot_at(&late, T("2024-02-29T23:59:00Z"))), "20240229T235900Z");
        assert_starts(&late, "2026-12-31T23:58:00Z", STARTS("20261231T235900Z", "20270101T235900Z"));

        /* Whole weeks fall on Mondays, counted from Monday 1970-01-05. */
        assert_string_equal(id(slot_at(&weekly, T("2026-04-01T00:00:00Z"))), "20260330T030000Z");
        assert_string_equal(id(slot_at(&weekly, T("2026-03-30T02:59:59Z"))), "20260323T030000Z");
        assert_starts(&weekly, "2026-12-25T00:00:00Z", STARTS("20261228T030000Z", "20270104T030000Z"));
        assert_string_equal(id(slot_at(&weekly, T("1970-01-05T03:00:00Z"))), "19700105T030000Z");

        /* Every other day: day 0 is 1970-01-05, so 2026-01-01 (day 20450) is one. */
        assert_starts(&two_days, "2025-12-31T12:00:00Z",
                      STARTS("20260101T000000Z", "20260103T000000Z", "20260105T000000Z"));
        assert_string_equal(id(slot_at(&two_days, T("2026-01-02T23:59:59Z"))), "20260101T000000Z");
}

static void test_every_sub_day_utc(void **state) {
        _cleanup_(schedule_done) schedule five = every(5, 0, NULL);
        _cleanup_(schedule_done) schedule five_at_3 = every(5, 3, NULL);
        _cleanup_(schedule_done) schedule ninety = every(90, 0, NULL);
        _cleanup_(schedule_done) schedule hourly = every(HOUR, 30 * MINUTE, NULL);
        _cleanup_(schedule_done) schedule six = every(6 * HOUR, 3 * HOUR, NULL);
        _cleanup_(schedule_done) schedule seven = every(7 * HOUR, 0, NULL);
        _cleanup_(schedule_done) schedule day_and_hour = every(25 * HOUR, 0, NULL);
        _cleanup_(schedule_done) schedule one = every(1, 0, NULL);

        (void) state;
        assert_string_equal(id(slot_at(&five, T("2026-05-17T12:34:57Z"))), "20260517T123455Z");
        assert_string_equal(id(next_after(&five, T("2026-05-17T12:34:57Z"))), "20260517T123500Z");
        assert_string_equal(id(slot_at(&five, T("2026-05-17T12:35:00Z"))), "20260517T123500Z");
        assert_starts(&five, "2026-12-31T23:59:50Z",
                      STARTS("20261231T235955Z", "20270101T000000Z", "20270101T000005Z"));
        /* `at` sets the phase. */
        assert_string_equal(id(slot_at(&five_at_3, T("2026-05-17T12:34:57Z"))), "20260517T123453Z");
        assert_string_equal(id(next_after(&five_at_3, T("2026-05-17T12:34:57Z"))), "20260517T123458Z");

        assert_string_equal(id(slot_at(&ninety, T("2026-05-17T00:02:00Z"))), "20260517T000130Z");
        assert_starts(&ninety, "2026-05-16T23:58:00Z", STARTS("20260516T235830Z", "20260517T000000Z"));

        assert_string_equal(id(slot_at(&hourly, T("2026-05-17T00:29:59Z"))), "20260516T233000Z");
        assert_starts(&hourly, "2026-05-17T00:30:00Z", STARTS("20260517T013000Z", "20260517T023000Z"));

        assert_starts(&six, "2026-05-17T00:00:00Z",
                      STARTS("20260517T030000Z", "20260517T090000Z", "20260517T150000Z",
                             "20260517T210000Z", "20260518T030000Z"));

        /* Intervals that do not divide a day count elapsed time from 1970-01-05T00:00Z. */
        assert_string_equal(id(slot_at(&seven, T("2026-05-17T12:34:56Z"))), "20260517T100000Z");
        assert_string_equal(id(next_after(&seven, T("2026-05-17T12:34:56Z"))), "20260517T170000Z");
        assert_string_equal(id(slot_at(&day_and_hour, T("2026-05-17T12:34:56Z"))), "20260517T110000Z");
        assert_string_equal(id(next_after(&day_and_hour, T("2026-05-17T12:34:56Z"))), "20260518T120000Z");

        for (time_t t = T("2026-05-17T12:00:00Z"); t < T("2026-05-17T12:01:00Z"); t++) {
                assert_int_equal(slot_at(&one, t), t);
                assert_int_equal(next_after(&one, t), t + 1);
        }
}

/* ---- every, across daylight saving time ---------------------------------------------- */

static void test_every_dst(void **state) {
        _cleanup_(schedule_done) schedule berlin = every(DAY, 2 * HOUR + 30 * MINUTE, "Europe/Berlin");
        _cleanup_(schedule_done) schedule berlin3 = every(DAY, 3 * HOUR, "Europe/Berlin");
        _cleanup_(schedule_done) schedule ny = every(DAY, 2 * HOUR + 30 * MINUTE, "America/New_York");
        _cleanup_(schedule_done) schedule ny130 = every(DAY, HOUR + 30 * MINUTE, "America/New_York");
        _cleanup_(schedule_done) schedule berlin_hourly = every(HOUR, 0, "Europe/Berlin");
        _cleanup_(schedule_done) schedule berlin_six = every(6 * HOUR, 0, "Europe/Berlin");
        _cleanup_(schedule_done) schedule ny_half = every(30 * MINUTE, 0, "America/New_York");
        _cleanup_(schedule_done) schedule berlin_weekly = every(7 * DAY, 3 * HOUR, "Europe/Berlin");

        (void) state;
        /* 03:00 Berlin is 02:00Z in winter, 01:00Z in summer: the wall clock wins. */
        assert_starts(&berlin3, "2026-03-27T12:00:00Z",
                      STARTS("20260328T020000Z", "20260329T010000Z", "20260330T010000Z"));
        assert_starts(&berlin3, "2026-10-24T12:00:00Z",
                      STARTS("20261025T020000Z", "20261026T020000Z"));

        /* 2026-03-29: 02:30 does not exist in Berlin; the slot starts when the clocks jump (01:00Z). */
        assert_starts(&berlin, "2026-03-27T12:00:00Z",
                      STARTS("20260328T013000Z", "20260329T010000Z", "20260330T003000Z"));
        assert_string_equal(id(slot_at(&berlin, T("2026-03-29T00:59:59Z"))), "20260328T013000Z");
        assert_string_equal(id(slot_at(&berlin, T("2026-03-29T01:00:00Z"))), "20260329T010000Z");
        /* 2026-10-25: 02:30 happens twice; the slot starts at the first one (CEST, 00:30Z). */
        assert_starts(&berlin, "2026-10-24T12:00:00Z", STARTS("20261025T003000Z", "20261026T013000Z"));
        assert_string_equal(id(slot_at(&berlin, T("2026-10-25T01:30:00Z"))), "20261025T003000Z");
        assert_string_equal(id(next_after(&berlin, T("2026-10-25T01:30:00Z"))), "20261026T013000Z");

        /* New York springs forward 2026-03-08 at 07:00Z and falls back 2026-11-01 at 06:00Z. */
        assert_starts(&ny, "2026-03-06T12:00:00Z",
                      STARTS("20260307T073000Z", "20260308T070000Z", "20260309T063000Z"));
        assert_starts(&ny, "2026-10-31T12:00:00Z", STARTS("20261101T073000Z", "20261102T073000Z"));
        assert_starts(&ny130, "2026-10-30T12:00:00Z",
                      STARTS("20261031T053000Z", "20261101T053000Z", "20261102T063000Z"));
        assert_string_equal(id(slot_at(&ny130, T("2026-11-01T06:45:00Z"))), "20261101T053000Z");

        /* Hourly in Berlin: the skipped hour starts one slot at the jump; the repeated hour none. */
        assert_starts(&berlin_hourly, "2026-03-28T23:30:00Z",
                      STARTS("20260329T000000Z", "20260329T010000Z", "20260329T020000Z"));
        assert_starts(&berlin_hourly, "2026-10-24T23:30:00Z",
                      STARTS("20261025T000000Z", "20261025T020000Z", "20261025T030000Z"));
        assert_string_equal(id(slot_at(&berlin_hourly, T("2026-10-25T01:59:59Z"))), "20261025T000000Z");

        /* Every 6 hours from local midnight keeps to 00, 06, 12, 18 local. */
        assert_starts(&berlin_six, "2026-03-28T20:00:00Z",
                      STARTS("20260328T230000Z", "20260329T040000Z", "20260329T100000Z"));

        assert_starts(&ny_half, "2026-11-01T04:45:00Z",
                      STARTS("20261101T050000Z", "20261101T053000Z", "20261101T070000Z",
                             "20261101T073000Z"));

        /* Whole weeks are on the local Monday at the local anchor, in summer and winter alike. */
        assert_starts(&berlin_weekly, "2026-03-20T00:00:00Z",
                      STARTS("20260323T020000Z", "20260330T010000Z"));
}

/* ---- cron, in UTC -------------------------------------------------------------------- */

static void test_cron_calendar(void **state) {
        _cleanup_(schedule_done) schedule last = cron("0 0 31 * *", NULL);
        _cleanup_(schedule_done) schedule leap = cron("0 0 29 2 *", NULL);
        _cleanup_(schedule_done) schedule feb_end = cron("0 0 28-31 2 *", NULL);
        _cleanup_(schedule_done) schedule nye = cron("59 23 31 12 *", NULL);
        _cleanup_(schedule_done) schedule yearly = cron("@yearly", NULL);
        _cleanup_(schedule_done) schedule quarter = cron("*/15 * * * *", NULL);
        _cleanup_(schedule_done) schedule odd = cron("1-10/2 * * * *", NULL);
        _cleanup_(schedule_done) schedule from5 = cron("5/20 * * * *", NULL);
        _cleanup_(schedule_done) schedule workdays = cron("0 9 * JAN-Mar Mon-FRI", NULL);
        _cleanup_(schedule_done) schedule thirtieth = cron("0 12 30 * *", NULL);

        (void) state;
        assert_starts(&last, "2026-01-31T00:00:00Z",
                      STARTS("20260331T000000Z", "20260531T000000Z", "20260731T000000Z", "20260831T000000Z",
                             "20261031T000000Z", "20261231T000000Z", "20270131T000000Z"));
        assert_string_equal(id(slot_at(&last, T("2026-05-30T23:59:59Z"))), "20260331T000000Z");

        assert_starts(&thirtieth, "2026-01-01T00:00:00Z",
                      STARTS("20260130T120000Z", "20260330T120000Z", "20260430T120000Z"));
        assert_starts(&thirtieth, "2024-01-31T00:00:00Z", STARTS("20240330T120000Z"));

        assert_starts(&leap, "2024-03-01T00:00:00Z", STARTS("20280229T000000Z", "20320229T000000Z"));
        assert_starts(&leap, "2096-03-01T00:00:00Z", STARTS("21040229T000000Z"));
        assert_starts(&leap, "1999-01-01T00:00:00Z", STARTS("20000229T000000Z", "20040229T000000Z"));
        assert_string_equal(id(slot_at(&leap, T("2104-02-28T23:59:59Z"))), "20960229T000000Z");
        assert_string_equal(id(slot_at(&leap, T("2003-06-01T00:00:00Z"))), "20000229T000000Z");

        assert_starts(&feb_end, "2024-02-27T00:00:00Z", STARTS("20240228T000000Z", "20240229T000000Z",
                                                              "20250228T000000Z"));
        assert_starts(&feb_end, "2100-02-28T00:00:00Z", STARTS("21010228T000000Z"));
        assert_starts(&feb_end, "2000-02-28T00:00:00Z", STARTS("20000229T000000Z"));

        assert_starts(&nye, "2026-12-31T23:59:00Z", STARTS("20271231T235900Z"));
        assert_string_equal(id(slot_at(&nye, T("2027-01-01T00:00:00Z"))), "20261231T235900Z");
        assert_string_equal(id(slot_at(&nye, T("2026-12-31T23:58:59Z"))), "20251231T235900Z");
        assert_string_equal(id(slot_at(&yearly, T("2026-12-31T23:59:59Z"))), "20260101T000000Z");
        assert_string_equal(id(next_after(&yearly, T("2026-12-31T23:59:59Z"))), "20270101T000000Z");

        assert_string_equal(id(slot_at(&quarter, T("2026-05-17T10:14:59Z"))), "20260517T100000Z");
        assert_string_equal(id(next_after(&quarter, T("2026-05-17T10:14:59Z"))), "20260517T101500Z");
        assert_string_equal(id(slot_at(&quarter, T("2026-05-17T10:15:00Z"))), "20260517T101500Z");
        assert_starts(&quarter, "2026-12-31T23:40:00Z", STARTS("20261231T234500Z", "20270101T000000Z"));

        assert_starts(&odd, "2026-05-17T09:59:00Z",
                      STARTS("20260517T100100Z", "20260517T100300Z", "20260517T100500Z", "20260517T100700Z",
                             "20260517T100900Z", "20260517T110100Z"));
        assert_starts(&from5, "2026-05-17T10:00:00Z",
                      STARTS("20260517T100500Z", "20260517T102500Z", "20260517T104500Z", "20260517T110500Z"));

        /* 2026-03-31 is a Tuesday; the next weekday in January to March is 2027-01-01, a Friday. */
        assert_starts(&workdays, "2026-03-30T10:00:00Z", STARTS("20260331T090000Z", "20270101T090000Z",
                                                               "20270104T090000Z"));
        assert_string_equal(id(slot_at(&workdays, T("2026-12-31T12:00:00Z"))), "20260331T090000Z");
}

static void test_cron_days(void **state) {
        /* Both restricted: the 13th OR any Friday. */
        _cleanup_(schedule_done) schedule either = cron("0 0 13 * fri", NULL);
        /* Day-of-month starts with '*': odd days AND Fridays. */
        _cleanup_(schedule_done) schedule both = cron("0 0 */2 * fri", NULL);
        /* Day-of-week starts with '*': the 1st AND Sunday, Tuesday, Thursday or Saturday. */
        _cleanup_(schedule_done) schedule first = cron("0 0 1 * */2", NULL);
        _cleanup_(schedule_done) schedule sunday = cron("0 0 * * 7", NULL);
        _cleanup_(schedule_done) schedule sunday_leap = cron("0 0 29 2 */7", NULL);

        (void) state;
        assert_starts(&either, "2026-04-01T00:00:00Z",
                      STARTS("20260403T000000Z", "20260410T000000Z", "20260413T000000Z", "20260417T000000Z",
                             "20260424T000000Z", "20260501T000000Z"));
        assert_starts(&both, "2026-04-01T00:00:00Z",
                      STARTS("20260403T000000Z", "20260417T000000Z", "20260501T000000Z", "20260515T000000Z",
                             "20260529T000000Z"));
        assert_starts(&first, "2025-12-31T00:00:00Z",
                      STARTS("20260101T000000Z", "20260201T000000Z", "20260301T000000Z", "20260801T000000Z",
                             "20260901T000000Z", "20261001T000000Z", "20261101T000000Z", "20261201T000000Z"));
        assert_starts(&sunday, "2026-05-13T00:00:00Z", STARTS("20260517T000000Z", "20260524T000000Z"));
        /* 29 February on a Sunday: 2032, 2060, 2088, then across the skipped 2100. */
        assert_starts(&sunday_leap, "2026-01-01T00:00:00Z",
                      STARTS("20320229T000000Z", "20600229T000000Z", "20880229T000000Z", "21280229T000000Z"));
        assert_string_equal(id(slot_at(&sunday_leap, T("2127-01-01T00:00:00Z"))), "20880229T000000Z");
}

/* ---- cron, across daylight saving time ----------------------------------------------- */

static void test_cron_dst(void **state) {
        _cleanup_(schedule_done) schedule berlin = cron("30 2 * * *", "Europe/Berlin");
        _cleanup_(schedule_done) schedule ny = cron("30 2 * * *", "America/New_York");
        _cleanup_(schedule_done) schedule ny130 = cron("30 1 * * *", "America/New_York");
        _cleanup_(schedule_done) schedule berlin_quarter = cron("*/15 2 * * *", "Europe/Berlin");
        _cleanup_(schedule_done) schedule berlin_hourly = cron("@hourly", "Europe/Berlin");
        _cleanup_(schedule_done) schedule berlin_workdays = cron("0 3 * * mon-fri", "Europe/Berlin");

        (void) state;
        /* Spring: 02:30 does not exist on 2026-03-29; its slot starts when the clocks jump (01:00Z),
         * as `every`'s do (amirotd.yaml(5)) and as Vixie cron runs a job whose time was skipped. */
        assert_starts(&berlin, "2026-03-27T12:00:00Z",
                      STARTS("20260328T013000Z", "20260329T010000Z", "20260330T003000Z", "20260331T003000Z"));
        assert_string_equal(id(slot_at(&berlin, T("2026-03-29T00:59:59Z"))), "20260328T013000Z");
        assert_string_equal(id(slot_at(&berlin, T("2026-03-29T01:00:00Z"))), "20260329T010000Z");
        assert_string_equal(id(slot_at(&berlin, T("2026-03-29T23:59:59Z"))), "20260329T010000Z");
        /* Autumn: 02:30 happens twice on 2026-10-25 and fires once, the first time. */
        assert_starts(&berlin, "2026-10-24T12:00:00Z",
                      STARTS("20261025T003000Z", "20261026T013000Z", "20261027T013000Z"));
        assert_string_equal(id(slot_at(&berlin, T("2026-10-25T01:30:00Z"))), "20261025T003000Z");
        assert_string_equal(id(next_after(&berlin, T("2026-10-25T01:30:00Z"))), "20261026T013000Z");

        assert_starts(&ny, "2026-03-06T12:00:00Z",
                      STARTS("20260307T073000Z", "20260308T070000Z", "20260309T063000Z"));
        assert_starts(&ny, "2026-10-31T12:00:00Z", STARTS("20261101T073000Z", "20261102T073000Z"));
        assert_starts(&ny130, "2026-10-30T12:00:00Z",
                      STARTS("20261031T053000Z", "20261101T053000Z", "20261102T063000Z"));
        assert_string_equal(id(slot_at(&ny130, T("2026-11-01T06:30:00Z"))), "20261101T053000Z");

        /* Four firings in the skipped hour: one slot, at the jump. */
        assert_starts(&berlin_quarter, "2026-03-28T00:00:00Z",
                      STARTS("20260328T010000Z", "20260328T011500Z", "20260328T013000Z", "20260328T014500Z",
                             "20260329T010000Z", "20260330T000000Z"));
        assert_starts(&berlin_quarter, "2026-10-24T23:50:00Z",
                      STARTS("20261025T000000Z", "20261025T001500Z", "20261025T003000Z", "20261025T004500Z",
                             "20261026T010000Z"));

        /* Hourly: the skipped 02:00 starts at the jump, with 03:00: one slot; the repeated hour fires once. */
        assert_starts(&berlin_hourly, "2026-03-28T23:30:00Z", STARTS("20260329T000000Z", "20260329T010000Z"));
        assert_starts(&berlin_hourly, "2026-10-24T23:30:00Z",
                      STARTS("20261025T000000Z", "20261025T020000Z", "20261025T030000Z"));

        assert_starts(&berlin_workdays, "2026-03-26T12:00:00Z",
                      STARTS("20260327T020000Z", "20260330T010000Z"));
}

/* ---- cases the differential tests found (tests/schedule: croniter, zoneinfo) ----------- */

static void assert_slots(const char *expr, const char *tz, const char *at, const char *current, const char *next) {
        _cleanup_(schedule_done) schedule s = cron(expr, tz);

        assert_string_equal(id(slot_at(&s, T(at))), current);
        assert_string_equal(id(next_after(&s, T(at))), next);
}

static void test_oracle_regressions(void **state) {
        (void) state;
        /* Kathmandu moved from +05:30 to +05:45 at 1986-01-01 00:00, skipping midnight: the firing
         * starts when the clocks jump (18:30Z), once, not a year (or a day) later. */
        assert_slots("@yearly", "Asia/Kathmandu", "1985-12-31T08:04:34Z", "19841231T183000Z", "19851231T183000Z");
        assert_slots("@daily", "Asia/Kathmandu", "1985-12-31T03:06:22Z", "19851230T183000Z", "19851231T183000Z");
        assert_slots("@daily", "Asia/Kathmandu", "1985-12-31T18:30:00Z", "19851231T183000Z", "19860101T181500Z");
        /* Santiago springs forward at midnight: 2060-09-05 has no 00:00, a Sunday's slot starts at 01:00. */
        assert_slots("@weekly", "America/Santiago", "2060-09-03T20:30:58Z", "20600829T040000Z", "20600905T040000Z");
        /* Lord Howe skips 02:00-02:30 on 2026-10-04: "15 2 * * *" starts at 02:30 (15:30Z). */
        assert_slots("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T15:29:59Z", "20261002T154500Z", "20261003T153000Z");

        /* Where croniter 1.3.5 is wrong and the code follows Vixie cron (tests/schedule/oracle.py):
         * a day-of-month field that does not start with '*' is restricted even if it holds every
         * day ("17-29/8,*,31/28"), so it ORs with the weekday and every day matches. */
        assert_slots("*/42,47-49/2,56 * 17-29/8,*,31/28 * 7/2", "Europe/Berlin", "2051-05-11T19:08:25Z",
                     "20510511T190000Z", "20510511T194200Z");
        /* 29 February fires in leap years (croniter's get_prev never finds it). */
        assert_slots("56 */3 */4 2 5", "Australia/Sydney", "2008-05-11T22:04:31Z", "20080229T105600Z", "20090212T135600Z");
        /* The 1st of March after a day the month lacks (croniter carries 31 - 28 into March). */
        assert_slots("* * */10 * */2", "Asia/Kolkata", "2001-03-07T15:26:53Z", "20010301T182900Z", "20010310T183000Z");
        assert_slots("11 */8 */30 * 3-5/1", "America/Havana", "1996-04-06T01:25:14Z", "19960301T211100Z", "19960501T041100Z");
        /* Both day fields restricted, the day of the month impossible in September: Sundays still match. */
        assert_slots("8 4-10/3 31 9/10 0-0", "Europe/Berlin", "1978-08-31T17:55:57Z", "19770925T090800Z", "19780903T030800Z");
}

/* ---- errors and the environment ------------------------------------------------------ */

static void test_errors(void **state) {
        _cleanup_(schedule_done) schedule bad_tz = every(DAY, 0, "Mars/Olympus_Mons");
        _cleanup_(schedule_done) schedule unsafe_tz = cron("0 0 * * *", "../../../etc/passwd");
        schedule zero = every(0, 0, NULL);
        schedule late = every(DAY, DAY, NULL);
        schedule never = { .kind = SCHEDULE_CRON };
        schedule ok = every(DAY, 0, NULL);
        time_t t;

        (void) state;
        assert_int_equal(schedule_slot_at(&bad_tz, 0, &t), -EINVAL);
        assert_int_equal(schedule_next_slot_after(&unsafe_tz, 0, &t), -EINVAL);
        assert_int_equal(schedule_slot_at(&zero, 0, &t), -EINVAL);
        assert_int_equal(schedule_slot_at(&late, 0, &t), -EINVAL);
        assert_int_equal(schedule_slot_at(&never, 0, &t), -EINVAL);
        assert_int_equal(schedule_slot_at(NULL, 0, &t), -EINVAL);
        assert_int_equal(schedule_slot_at(&ok, T("1899-12-31T23:59:59Z"), &t), -ERANGE);
        assert_int_equal(schedule_next_slot_after(&ok, T("9999-12-31T00:00:00Z"), &t), -ERANGE);
        assert_int_equal(schedule_slot_at(&ok, T("9999-12-31T12:00:00Z"), &t), 0);

        /* A spec built by hand that can never fire fails in bounded time instead of looping. */
        never.cron = (cron_spec) {
                .minutes = 1, .hours = 1, .days_of_month = UINT32_C(1) << 31, .months = 1u << 4,
                .days_of_week = 0x7f,
        };
        assert_int_equal(schedule_next_slot_after(&never, T("2026-01-01T00:00:00Z"), &t), -ERANGE);
        assert_int_equal(schedule_slot_at(&never, T("2026-01-01T00:00:00Z"), &t), -ERANGE);
}

/*
 * curl's threaded resolver runs getaddrinfo() in other threads, which reads the environment: the
 * schedule must never write it. setenv(), unsetenv(), putenv() and tzset() are interposed here
 * (the test's own definitions win over libc's for the library linked in) and counted while
 * the schedule works; the test's own oracle still reaches libc's through RTLD_NEXT.
 */
static bool env_watching;
static unsigned env_writes;

#define FORWARD(name, ...) ((__typeof__(&name)) dlsym(RTLD_NEXT, #name))(__VA_ARGS__)

int setenv(const char *name, const char *value, int overwrite) {
        env_writes += env_watching;
        return FORWARD(setenv, name, value, overwrite);
}

int unsetenv(const char *name) {
        env_writes += env_watching;
        return FORWARD(unsetenv, name);
}

int putenv(char *string) {
        env_writes += env_watching;
        return FORWARD(putenv, string);
}

void tzset(void) {
        env_writes += env_watching;
        FORWARD(tzset);
}

static void test_environment_untouched(void **state) {
        _cleanup_(schedule_done) schedule s = cron("30 2 * * *", "Europe/Berlin");
        _cleanup_(schedule_done) schedule by_hand = { .kind = SCHEDULE_EVERY, .every = DAY,
                                                      .timezone = strdup("America/New_York") };
        time_t t, now = T("2026-07-01T12:00:00Z");
        struct tm tm;

        (void) state;
        assert_int_equal(setenv("TZ", "America/New_York", 1), 0);
        tzset();
        env_watching = true;
        assert_int_equal(schedule_next_slot_after(&s, now, &t), 0);
        assert_string_equal(id(t), "20260702T003000Z");
        assert_int_equal(schedule_slot_at(&s, now, &t), 0);
        assert_string_equal(id(t), "20260701T003000Z");
        /* Without the loader's zone, the schedule reads the file itself, still without TZ. */
        assert_int_equal(schedule_slot_at(&by_hand, now, &t), 0);
        assert_string_equal(id(t), "20260701T040000Z");
        assert_int_equal(schedule_local_time(s.zone, now, &tm), 0);
        assert_true(timezone_is_valid("Australia/Lord_Howe"));
        env_watching = false;
        assert_int_equal(env_writes, 0);
        assert_string_equal(getenv("TZ"), "America/New_York");
        assert_non_null(localtime_r(&now, &tm));
        assert_int_equal(tm.tm_gmtoff, -4 * HOUR);
        assert_int_equal(unsetenv("TZ"), 0);
        tzset();

        /* Freeing twice is harmless. */
        schedule_done(&s);
        assert_null(s.cron_expr);
        assert_null(s.timezone);
        assert_null(s.zone);
        schedule_done(&s);
        schedule_done(NULL);
}

static tz_zone *zone_of(const char *name) {
        tz_zone *z = NULL;

        assert_int_equal(tz_zone_load(name, &z, NULL), 0);
        return z;
}

/* What `check` prints as the next slot: the zone's own clock and abbreviation. */
static void test_local_time(void **state) {
        _cleanup_(tz_zone_unrefp) tz_zone *berlin = zone_of("Europe/Berlin");
        _cleanup_(tz_zone_unrefp) tz_zone *utc = zone_of("UTC");
        time_t summer = T("2026-07-01T12:00:00Z"), winter = T("2026-01-15T06:30:00Z");
        _cleanup_(tz_zone_unrefp) tz_zone *z = NULL;
        char buf[64];
        struct tm tm;

        (void) state;
        assert_int_equal(schedule_local_time(berlin, summer, &tm), 0);
        assert_true(strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z %a %j", &tm) > 0);
        assert_string_equal(buf, "2026-07-01 14:00:00 CEST Wed 182");
        assert_int_equal(tm.tm_isdst, 1);
        assert_int_equal(schedule_local_time(berlin, winter, &tm), 0);
        assert_true(strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z %a", &tm) > 0);
        assert_string_equal(buf, "2026-01-15 07:30:00 CET Thu");
        assert_int_equal(tm.tm_gmtoff, HOUR);

        /* UTC is computed without a zone, and called UTC, not GMT. */
        assert_int_equal(schedule_local_time(utc, summer, &tm), 0);
        assert_true(strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm) > 0);
        assert_string_equal(buf, "2026-07-01 12:00:00 UTC");
        assert_int_equal(schedule_local_time(NULL, summer, &tm), 0);
        assert_true(strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm) > 0);
        assert_string_equal(buf, "2026-07-01 12:00:00 UTC");
        assert_int_equal(tm.tm_gmtoff, 0);
        assert_int_equal(schedule_local_time(NULL, T("9999-12-31T23:59:59Z") + 1, &tm), -ERANGE);

        assert_int_equal(tz_zone_load("Mars/Olympus_Mons", &z, NULL), -EINVAL);
        assert_int_equal(tz_zone_load("localtime", &z, NULL), -EINVAL);
        assert_int_equal(tz_zone_load("right/UTC", &z, NULL), -EINVAL);
        assert_int_equal(tz_zone_load("zone.tab", &z, NULL), -EINVAL);
        assert_null(z);
}

/* ---- generated cases ----------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void) {
        /* xorshift64* */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * UINT64_C(2685821657736338717);
}

static uint64_t rnd_below(uint64_t n) {
        return rnd() % n;
}

static const char *const zones[] = {
        NULL, "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", /* 30-minute DST */
        "Asia/Kathmandu", "Pacific/Apia", /* skipped 2011-12-30 entirely */
        "America/Sao_Paulo", /* DST began at midnight until 2018 */
        "Asia/Kolkata",
};

static const uint64_t intervals[] = {
        1, 5, 7, 60, 90, 300, 420, 900, 1800, HOUR, 5400, 2 * HOUR, 3 * HOUR, 6 * HOUR, 7 * HOUR,
        8 * HOUR, 12 * HOUR, DAY, 25 * HOUR, 36 * HOUR, 2 * DAY, 7 * DAY, 14 * DAY,
};

static const char *const crons[] = {
        "* * * * *", "*/15 * * * *", "30 2 * * *", "0 3 * * 1-5", "0 0 13 * fri", "0 */6 * * *",
        "5/20 1-3 * * *", "0 0 1 * */2", "*/7 0-2,22 1,15,31 * mon", "0 0,12 * jan,jul *", "@hourly",
        "@weekly", "59 23 31 12 *", "0 2 * * sun", "0 0 29 2 *", "0 0 * * *", "45 1 * 3,10,11 0",
        "0 0 31 * *",
};

/* The oracle reads the local clock directly; TZ is the same string schedule.c sets. */
static void oracle_zone(const char *tz) {
        char buf[256];

        if (!tz || streq(tz, "UTC"))
                assert_int_equal(setenv("TZ", "UTC0", 1), 0);
        else {
                snprintf(buf, sizeof(buf), ":/usr/share/zoneinfo/%s", tz);
                assert_int_equal(setenv("TZ", buf, 1), 0);
        }
        tzset();
}

static int64_t wall(time_t t) {
        struct tm tm;

        assert_non_null(localtime_r(&t, &tm));
        return (int64_t) t + tm.tm_gmtoff;
}

static int64_t fdiv(int64_t a, int64_t b) {
        return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static bool cron_matches(const cron_spec *c, int64_t w) {
        time_t x = (time_t) w;
        struct tm tm;
        bool dom, dow;

        assert_non_null(gmtime_r(&x, &tm));
        if (tm.tm_sec != 0 || !(c->minutes & (UINT64_C(1) << tm.tm_min)) || !(c->hours & (1u << tm.tm_hour)) ||
            !(c->months & (1u << (tm.tm_mon + 1))))
                return false;
        dom = c->days_of_month & (1u << tm.tm_mday);
        dow = c->days_of_week & (1u << tm.tm_wday);
        return c->dom_restricted && c->dow_restricted ? dom || dow : dom && dow;
}

/* Whether cron fires at a minute in (after, upto]: the minutes the clock passes from after to
 * upto, a skipped stretch too (no zone here skips more than a few hours). */
static bool cron_fires_in(const cron_spec *c, int64_t after, int64_t upto) {
        int64_t from = MAX(after, upto - 4 * HOUR);

        for (int64_t m = (fdiv(from, MINUTE) + 1) * MINUTE; m <= upto; m += MINUTE)
                if (cron_matches(c, m))
                        return true;
        return false;
}

static uint64_t gcd(uint64_t a, uint64_t b) {
        while (b) {
                uint64_t r = a % b;
                a = b;
                b = r;
        }
        return a;
}

/* Walks the local clock in steps of `step` seconds over [from, to] and reports the instants at
 * which a slot starts by the documented rule: the first instant at which the clock shows, for the
 * first time, a wall time of the series or later (every), or a matching minute or later (cron). */
typedef struct walker {
        const schedule *s;
        int64_t step, prev_max;
} walker;

static bool walker_is_start(walker *k, int64_t t) {
        int64_t w = wall((time_t) t);
        bool start;

        if (k->s->kind == SCHEDULE_CRON)
                start = w > k->prev_max && cron_fires_in(&k->s->cron, k->prev_max, w);
        else {
                int64_t phase = 4 * DAY + k->s->at, e = (int64_t) k->s->every;

                start = w > k->prev_max && fdiv(w - phase, e) > fdiv(k->prev_max - phase, e);
        }
        if (w > k->prev_max)
                k->prev_max = w;
        return start;
}

/* Every start in [a, n] by brute force must be exactly a and n. */
static void oracle_check(const schedule *s, time_t a, time_t n, uint64_t seed) {
        walker k = { .s = s, .prev_max = INT64_MIN / 2 };
        /* The clocks of the zones above never went back by more than an hour. */
        int64_t lookback = s->timezone ? 3 * HOUR : 0;

        k.step = s->kind == SCHEDULE_CRON ? MINUTE : (int64_t) gcd(gcd(s->every, s->at), MINUTE);
        for (int64_t t = (int64_t) a - lookback - k.step; t < (int64_t) a; t += k.step)
                (void) walker_is_start(&k, t);
        if (!walker_is_start(&k, a))
                fail_msg("seed %" PRIu64 ": %s is no slot start", seed, id(a));
        for (int64_t t = (int64_t) a + k.step; t < (int64_t) n; t += k.step)
                if (walker_is_start(&k, t))
                        fail_msg("seed %" PRIu64 ": %s starts a slot between %s and %s", seed, id(t), id(a), id(n));
        if (!walker_is_start(&k, n))
                fail_msg("seed %" PRIu64 ": %s is no slot start after %s", seed, id(n), id(a));
}

/* A time near one of the zone's transitions, or anywhere in 1972..2100. */
static time_t random_time(const char *tz) {
        int64_t t = T("1972-01-01T00:00:00Z") + (int64_t) rnd_below((uint64_t) (T("2100-01-01T00:00:00Z") -
                                                                                T("1972-01-01T00:00:00Z")));
        int64_t lo, hi, o;

        if (!tz || rnd_below(2) == 0)
                return (time_t) t;
        /* Find the next change of offset within a year, then land within 36 hours of it. */
        o = wall((time_t) t) - t;
        for (lo = t; lo < t + 366 * DAY && wall((time_t) (lo + DAY)) - (lo + DAY) == o; lo += DAY)
                ;
        if (lo >= t + 366 * DAY)
                return (time_t) t;
        for (hi = lo + DAY; hi - lo > 1;) {
                int64_t mid = lo + (hi - lo) / 2;

                if (wall((time_t) mid) - mid == o)
                        lo = mid;
                else
                        hi = mid;
        }
        return (time_t) (hi - 36 * HOUR + (int64_t) rnd_below(72 * HOUR));
}

static void test_generated(void **state) {
        const char *env = getenv("AMIROTD_TEST_SEED");
        uint64_t base = env ? strtoull(env, NULL, 10) : 20261126, n_cases = env ? 1 : 3000;
        unsigned oracle_runs = 0;

        (void) state;
        for (uint64_t i = 0; i < n_cases; i++) {
                uint64_t seed = base + i;
                const char *tz;
                schedule s;
                time_t t, a, n, x;
                bool oracle;

                rng_state = seed * UINT64_C(0x9E3779B97F4A7C15) | 1;
                tz = zones[rnd_below(ELEMENTSOF(zones))];
                if (rnd_below(2) == 0) {
                        uint64_t e = intervals[rnd_below(ELEMENTSOF(intervals))];
                        uint32_t at = (uint32_t) rnd_below(DAY);

                        /* Mostly whole hours and minutes, as people write them. */
                        if (rnd_below(4) != 0)
                                at -= at % (rnd_below(2) ? HOUR : MINUTE);
                        s = every(e, at, tz);
                } else
                        s = cron(crons[rnd_below(ELEMENTSOF(crons))], tz);

                oracle_zone(tz);
                t = random_time(tz);

                assert_int_equal(schedule_slot_at(&s, t, &a), 0);
                assert_int_equal(schedule_next_slot_after(&s, t, &n), 0);
                if (!(a <= t && t < n))
                        fail_msg("seed %" PRIu64 ": %s not in [%s, %s)", seed, id(t), id(a), id(n));
                assert_int_equal(schedule_slot_at(&s, n, &x), 0);
                if (x != n)
                        fail_msg("seed %" PRIu64 ": slot_at(%s) = %s", seed, id(n), id(x));
                assert_int_equal(schedule_next_slot_after(&s, a, &x), 0);
                if (x != n)
                        fail_msg("seed %" PRIu64 ": next_slot_after(%s) = %s, not %s", seed, id(a), id(x), id(n));
                assert_int_equal(schedule_slot_at(&s, n - 1, &x), 0);
                if (x != a)
                        fail_msg("seed %" PRIu64 ": slot_at(%s) = %s, not %s", seed, id(n - 1), id(x), id(a));
                assert_int_equal(schedule_slot_at(&s, a, &x), 0);
                assert_int_equal(x, a);

                if (s.kind == SCHEDULE_EVERY && s.every % DAY != 0 && DAY % s.every != 0) {
                        /* Elapsed intervals: exactly `every` apart, all on one grid. */
                        time_t far;

                        assert_int_equal(n - a, (time_t) s.every);
                        assert_int_equal(schedule_slot_at(&s, t + 1000 * (time_t) s.every, &far), 0);
                        assert_int_equal(far - a, 1000 * (time_t) s.every);
                        oracle = false;
                } else
                        /* The walk costs (n - a) / step; keep it small. */
                        oracle = (n - a) / (s.kind == SCHEDULE_CRON ? MINUTE :
                                            (time_t) gcd(gcd(s.every, s.at), MINUTE)) < 2 * 24 * 60 &&
                                 (!s.timezone || s.kind == SCHEDULE_CRON || gcd(gcd(s.every, s.at), MINUTE) >= 5);
                if (oracle) {
                        oracle_check(&s, a, n, seed);
                        oracle_runs++;
                }
                if (s.kind == SCHEDULE_CRON) {
                        /* A start is a firing the clock shows then, or the jump over one. */
                        assert_true(cron_fires_in(&s.cron, wall(a - 1), wall(a)));
                        assert_true(cron_fires_in(&s.cron, wall(n - 1), wall(n)));
                }
                schedule_done(&s);
        }
        (void) unsetenv("TZ");
        tzset();
        if (!env)
                assert_true(oracle_runs > n_cases / 4);
}

static bool due(const schedule *s, const char *now, time_t last) {
        bool r;

        assert_int_equal(schedule_run_due(s, T(now), last, &r), 0);
        return r;
}

static const char *next_run(const schedule *s, const char *now, time_t last) {
        time_t r;

        assert_int_equal(schedule_next_run(s, T(now), last, &r), 0);
        return id(r);
}

/* The service across clock steps (amirotd(8), CLOCK STEPS): a slot runs once, a forward step
 * runs the slot it lands in and not the ones it jumped over, a backward step runs nothing at or
 * before the latest slot run again, and one of more than three hours is a clock that was wrong. */
static void test_runs_across_clock_steps(void **state) {
        _cleanup_(schedule_done) schedule four = every(4 * MINUTE, 0, NULL);
        _cleanup_(schedule_done) schedule daily = every(DAY, 3 * HOUR, NULL);
        time_t s0 = T("2026-12-01T09:20:00Z");

        (void) state;
        /* Nothing run yet: the current slot is due, the next run is at the next slot. */
        assert_true(due(&four, "2026-12-01T09:21:00Z", SLOT_NONE));
        assert_string_equal(next_run(&four, "2026-12-01T09:21:00Z", SLOT_NONE), "20261201T092400Z");
        /* The slot that has run is not due again, neither within it nor at its start. */
        assert_false(due(&four, "2026-12-01T09:21:00Z", s0));
        assert_false(due(&four, "2026-12-01T09:20:00Z", s0));
        /* Forward past two slots: the slot landed in is due, once; the next run is after it. */
        assert_true(due(&four, "2026-12-01T09:28:02Z", s0));
        assert_string_equal(next_run(&four, "2026-12-01T09:28:02Z", s0), "20261201T093200Z");
        /* Back from 09:28 (slot 09:28 run) to 09:27:57: 09:24 is older than what ran, not made up,
         * and 09:28 does not run a second time when the clock shows it again. */
        assert_false(due(&four, "2026-12-01T09:27:57Z", T("2026-12-01T09:28:00Z")));
        assert_string_equal(next_run(&four, "2026-12-01T09:27:57Z", T("2026-12-01T09:28:00Z")), "20261201T093200Z");
        assert_false(due(&four, "2026-12-01T09:28:00Z", T("2026-12-01T09:28:00Z")));
        /* Back three hours to the second: still a correction. */
        assert_false(due(&four, "2026-12-01T06:28:00Z", T("2026-12-01T09:28:00Z")));
        assert_string_equal(next_run(&four, "2026-12-01T06:28:00Z", T("2026-12-01T09:28:00Z")), "20261201T093200Z");
        /* Further: the clock was wrong when 09:28 ran; plan as at start. */
        assert_true(due(&four, "2026-12-01T06:27:59Z", T("2026-12-01T09:28:00Z")));
        assert_string_equal(next_run(&four, "2026-12-01T06:27:59Z", T("2026-12-01T09:28:00Z")), "20261201T062800Z");
        assert_int_equal(schedule_trusted_last(T("2026-12-01T06:27:59Z"), T("2026-12-01T09:28:00Z")), SLOT_NONE);
        assert_int_equal(schedule_trusted_last(T("2026-12-01T06:28:00Z"), s0), s0);
        assert_int_equal(schedule_trusted_last(0, SLOT_NONE), SLOT_NONE);

        /* A daily slot a few minutes ahead, asleep toward it: a step past it runs it ... */
        assert_false(due(&daily, "2026-12-01T02:56:00Z", T("2026-11-30T03:00:00Z")));
        assert_string_equal(next_run(&daily, "2026-12-01T02:56:00Z", T("2026-11-30T03:00:00Z")), "20261201T030000Z");
        assert_true(due(&daily, "2026-12-01T03:00:02Z", T("2026-11-30T03:00:00Z")));
        /* ... and a step back before it, once it ran, waits for tomorrow's. */
        assert_false(due(&daily, "2026-12-01T02:59:57Z", T("2026-12-01T03:00:00Z")));
        assert_string_equal(next_run(&daily, "2026-12-01T02:59:57Z", T("2026-12-01T03:00:00Z")), "20261202T030000Z");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cron_parse_fields),
                cmocka_unit_test(test_cron_parse_errors),
                cmocka_unit_test(test_timezone_is_valid),
                cmocka_unit_test(test_slot_id),
                cmocka_unit_test(test_every_days_utc),
                cmocka_unit_test(test_every_sub_day_utc),
                cmocka_unit_test(test_every_dst),
                cmocka_unit_test(test_cron_calendar),
                cmocka_unit_test(test_cron_days),
                cmocka_unit_test(test_cron_dst),
                cmocka_unit_test(test_oracle_regressions),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_environment_untouched),
                cmocka_unit_test(test_local_time),
                cmocka_unit_test(test_generated),
                cmocka_unit_test(test_runs_across_clock_steps),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
