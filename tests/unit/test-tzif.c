/* SPDX-License-Identifier: MIT */
/*
 * Time zones from TZif files (schedule/tzif.c) and wall times in them
 * (schedule/zone.c), checked against an implementation we did not write:
 * Python's zoneinfo, which reads the same files with its own TZif and POSIX TZ
 * parser. tz-zoneinfo.py writes what zoneinfo says (UTC offset, DST flag and
 * abbreviation at instants 1970..2100, and the instants at which a wall time
 * occurs, none in a gap and two in a fold); this program computes the same and
 * compares. Then every zone file the system has must parse, and files broken
 * on purpose must be refused with the rule they break.
 *
 * The answers are read from $TZ_VECTORS, else argv[1], else tz-vectors.txt
 * beside this program, where `make check-unit` writes it.
 */
#include <dirent.h>
#include <libgen.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "schedule/internal.h"

static const char *vectors_path;

DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose);
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

static int read_full_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_(fclosep) FILE *f = fopen(path, "re");
        char *buf;
        size_t n;

        if (!f)
                return -errno;
        buf = malloc(256 * 1024);
        if (!buf)
                return -ENOMEM;
        n = fread(buf, 1, 256 * 1024, f);
        *ret = buf;
        *ret_size = n;
        return 0;
}

/* At least this many answers, so that a missing or truncated file cannot pass. */
#define MIN_ANSWERS 2000

/* ---- zoneinfo's answers ---- */

typedef struct zone_cache {
        char name[64];
        tz_zone *z;
} zone_cache;

static tz_zone *cached_zone(zone_cache *cache, size_t *n, const char *name) {
        for (size_t i = 0; i < *n; i++)
                if (streq(cache[i].name, name))
                        return cache[i].z;
        assert_true(*n < 32);
        snprintf(cache[*n].name, sizeof(cache[*n].name), "%s", name);
        if (tz_zone_load(name, &cache[*n].z, NULL) < 0)
                fail_msg("cannot load zone '%s'", name);
        return cache[(*n)++].z;
}

/* "I ZONE T OFFSET ISDST ABBR": 0 if we agree with zoneinfo. */
static int check_instant(tz_zone *z, const char *line) {
        long long t, off;
        int dst;
        char name[64], abbr[32];
        tz_info info;

        assert_int_equal(sscanf(line, "I %63s %lld %lld %d %31s", name, &t, &off, &dst, abbr), 5);
        assert_int_equal(tz_zone_lookup(z, t, &info), 0);
        if (info.offset == off && info.is_dst == dst && streq(info.abbr, abbr))
                return 0;
        print_message("%s: zoneinfo says %+lld %s dst=%d, we say %+d %s dst=%d\n", line, off, abbr, dst,
                      (int) info.offset, info.abbr, info.is_dst);
        return -1;
}

/* "W ZONE W N [T1 [T2]] FIRST": 0 if we agree with zoneinfo. */
static int check_wall(tz_zone *tz, const char *line) {
        long long w, want[4] = {};
        int64_t got[3], first;
        unsigned n_got;
        char name[64];
        int n = 0, used = 0, k;
        zone z = { .tz = tz };

        assert_int_equal(sscanf(line, "W %63s %lld %d%n", name, &w, &k, &used), 3);
        for (int i = 0; i <= k; i++) {
                int more = 0;

                assert_int_equal(sscanf(line + used, "%lld%n", &want[i], &more), 1);
                used += more;
        }
        n = k;
        n_got = zone_occurrences(&z, w, got);
        assert_int_equal(zone_first_at_or_after(&z, w, &first), 0);
        assert_int_equal(z.error, 0);
        if ((int) n_got != n)
                goto fail;
        for (int i = 0; i < n; i++)
                if (got[i] != want[i])
                        goto fail;
        if (first != want[n])
                goto fail;
        return 0;
fail:
        print_message("%s: we say %u occurrence(s) (%lld %lld), first at or after %lld\n", line, n_got,
                      n_got > 0 ? (long long) got[0] : 0, n_got > 1 ? (long long) got[1] : 0, (long long) first);
        return -1;
}

static void test_zoneinfo_agrees(void **state) {
        _cleanup_(fclosep) FILE *f = fopen(vectors_path, "re");
        zone_cache cache[32] = {};
        size_t n_cache = 0, n = 0, failed = 0, walls = 0, gaps = 0, folds = 0;
        char line[512];

        (void) state;
        if (!f)
                fail_msg("cannot open %s (run `make tz-vectors`)", vectors_path);
        while (fgets(line, sizeof(line), f)) {
                char name[64];
                tz_zone *z;

                line[strcspn(line, "\n")] = 0;
                assert_int_equal(sscanf(line + 2, "%63s", name), 1);
                z = cached_zone(cache, &n_cache, name);
                if (line[0] == 'I')
                        failed += check_instant(z, line) < 0;
                else {
                        failed += check_wall(z, line) < 0;
                        walls++;
                        /* "W ZONE W N ...": N is after the third space. */
                        gaps += strchr(line + 2 + strlen(name) + 1, ' ')[1] == '0';
                        folds += strchr(line + 2 + strlen(name) + 1, ' ')[1] == '2';
                }
                n++;
                if (failed > 20)
                        fail_msg("too many disagreements with zoneinfo");
        }
        for (size_t i = 0; i < n_cache; i++)
                tz_zone_unref(cache[i].z);
        print_message("%zu answers of zoneinfo in %zu zones (%zu wall times, %zu in gaps, %zu in folds), "
                      "%zu disagree\n", n, n_cache, walls, gaps, folds, failed);
        if (n < MIN_ANSWERS)
                fail_msg("%s holds %zu answers, at least %d are required", vectors_path, n, MIN_ANSWERS);
        assert_true(gaps > 0 && folds > 0);
        assert_int_equal(failed, 0);
}

/* ---- every zone file of the system ---- */

static void parse_tree(const char *dir, unsigned *ok) {
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *e;

        assert_non_null(d);
        while ((e = readdir(d))) {
                _cleanup_(freep) char *path = NULL, *data = NULL;
                const char *why = NULL;
                tz_zone *z = NULL;
                size_t size = 0;
                int r;

                if (e->d_name[0] == '.' || streq(e->d_name, "right"))
                        continue;
                assert_int_not_equal(asprintf(&path, "%s/%s", dir, e->d_name), -1);
                if (e->d_type == DT_DIR) {
                        parse_tree(path, ok);
                        continue;
                }
                if (e->d_type != DT_REG || read_full_file(path, &data, &size) < 0 || size < 4 ||
                    memcmp(data, "TZif", 4) != 0)
                        continue;
                r = tz_zone_parse(data, size, e->d_name, &z, &why);
                if (r < 0)
                        fail_msg("%s: %s", path, why ?: strerror(-r));
                tz_zone_unref(z);
                (*ok)++;
        }
}

static void test_every_system_zone_parses(void **state) {
        unsigned ok = 0;

        (void) state;
        parse_tree("/usr/share/zoneinfo", &ok);
        print_message("%u zone files parse\n", ok);
        assert_true(ok > 300);
}

/* ---- files broken on purpose ---- */

/* A TZif file as zic writes it: a version 1 stub, then the 64-bit block and the footer. */
typedef struct tzif_spec {
        char version;
        size_t n_times;
        int64_t times[4];
        uint8_t idx[4];
        size_t n_types;
        struct { int32_t utoff; uint8_t dst, abbr; } types[3];
        const char *chars;
        size_t n_chars;
        uint32_t leapcnt, isstdcnt;
        const char *footer;             /* without its newlines; NULL: none at all */
        const char *trailer;
} tzif_spec;

static const tzif_spec berlin_like = {
        .version = '2',
        .n_times = 2,
        .times = { 1774746000, 1792890000 },          /* 2026-03-29T01:00Z, 2026-10-25T01:00Z */
        .idx = { 1, 0 },
        .n_types = 2,
        .types = { { 3600, 0, 0 }, { 7200, 1, 4 } },
        .chars = "CET\0CEST",
        .n_chars = 9,
        .footer = "CET-1CEST,M3.5.0,M10.5.0/3",
};

typedef struct bytes {
        uint8_t b[1024];
        size_t n;
} bytes;

static void put(bytes *o, const void *p, size_t n) {
        assert_true(o->n + n <= sizeof(o->b));
        memcpy(o->b + o->n, p, n);
        o->n += n;
}

static void put32(bytes *o, uint32_t v) {
        uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

        put(o, b, 4);
}

static void put_header(bytes *o, char version, uint32_t isut, uint32_t isstd, uint32_t leap, uint32_t time,
                       uint32_t type, uint32_t chars) {
        uint8_t zero[15] = {};

        put(o, "TZif", 4);
        put(o, &version, 1);
        put(o, zero, 15);
        put32(o, isut), put32(o, isstd), put32(o, leap), put32(o, time), put32(o, type), put32(o, chars);
}

static bytes build(const tzif_spec *s) {
        bytes o = {};

        /* The version 1 stub of zic's slim files: no transitions, one type, one character. */
        put_header(&o, s->version, 0, 0, 0, 0, 1, 1);
        put(&o, "\0\0\0\0\0\0\0", 7);
        put_header(&o, s->version, 0, s->isstdcnt, s->leapcnt, (uint32_t) s->n_times, (uint32_t) s->n_types,
                   (uint32_t) s->n_chars);
        for (size_t i = 0; i < s->n_times; i++) {
                put32(&o, (uint32_t) ((uint64_t) s->times[i] >> 32));
                put32(&o, (uint32_t) s->times[i]);
        }
        put(&o, s->idx, s->n_times);
        for (size_t i = 0; i < s->n_types; i++) {
                put32(&o, (uint32_t) s->types[i].utoff);
                put(&o, &s->types[i].dst, 1);
                put(&o, &s->types[i].abbr, 1);
        }
        put(&o, s->chars, s->n_chars);
        for (uint32_t i = 0; i < s->leapcnt; i++)
                put(&o, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
        for (uint32_t i = 0; i < s->isstdcnt; i++)
                put(&o, "\0", 1);
        if (s->footer) {
                put(&o, "\n", 1);
                put(&o, s->footer, strlen(s->footer));
                put(&o, "\n", 1);
        }
        if (s->trailer)
                put(&o, s->trailer, strlen(s->trailer));
        return o;
}

static int parse_spec(const tzif_spec *s, const char **ret_why) {
        bytes b = build(s);
        tz_zone *z = NULL;
        int r;

        r = tz_zone_parse(b.b, b.n, "test", &z, ret_why);
        tz_zone_unref(z);
        return r;
}

/* The spec must be refused, and the reason must name the rule. */
static void assert_refused(const tzif_spec *s, const char *reason) {
        const char *why = NULL;

        assert_int_equal(parse_spec(s, &why), -EBADMSG);
        assert_non_null(why);
        if (!strstr(why, reason))
                fail_msg("refused for '%s', expected '%s'", why, reason);
}

static void test_malformed_files(void **state) {
        tzif_spec s;
        bytes ok = build(&berlin_like);
        const char *why;
        tz_zone *z = NULL;

        (void) state;
        assert_int_equal(parse_spec(&berlin_like, NULL), 0);
        /* Every prefix of a valid file is refused, none read past its end (ASan, valgrind). */
        for (size_t n = 0; n < ok.n; n++) {
                why = NULL;
                assert_true(tz_zone_parse(ok.b, n, NULL, &z, &why) < 0);
                assert_non_null(why);
        }
        assert_int_equal(tz_zone_parse("TZjf", 4, NULL, &z, &why), -EINVAL);
        assert_string_equal(why, "not a TZif file");

#define REFUSED(field, value, reason) do { s = berlin_like; s.field = value; assert_refused(&s, reason); } while (0)
        REFUSED(version, 0, "version 1");
        REFUSED(times[1], 1774746000, "ascending");
        REFUSED(idx[1], 2, "type index");
        REFUSED(n_types, 0, "typecnt is zero");
        REFUSED(types[1].utoff, 26 * 3600, "UT offset");
        REFUSED(types[1].utoff, INT32_MIN, "UT offset");
        REFUSED(types[0].dst, 2, "DST indicator");
        REFUSED(types[1].abbr, 9, "designation");
        REFUSED(n_chars, 8, "designation");     /* "CEST" loses its NUL */
        REFUSED(n_chars, 0, "charcnt is zero");
        REFUSED(leapcnt, 1, "leap seconds");
        REFUSED(isstdcnt, 1, "isstdcnt");
        REFUSED(footer, NULL, "footer");
        REFUSED(trailer, "x", "after the footer");
        REFUSED(footer, "CET-1CEST", "rule");                   /* POSIX's implementation-defined rules */
        REFUSED(footer, "CET-1CEST,M3.5.0", "rule");
        REFUSED(footer, "CET-1CEST,M13.5.0,M10.5.0", "rule");
        REFUSED(footer, "CET-1CEST,M3.6.0,M10.5.0", "rule");
        REFUSED(footer, "CET-1CEST,M3.5.7,M10.5.0", "rule");
        REFUSED(footer, "CET-1CEST,J0,J365", "rule");
        REFUSED(footer, "CET-1CEST,366,J365", "rule");
        REFUSED(footer, "CET-1CEST,M3.5.0/168,M10.5.0", "rule");
        REFUSED(footer, "CET-1CEST,M3.5.0/2:60,M10.5.0", "rule");
        REFUSED(footer, "CE-1", "name");
        REFUSED(footer, "<+01-1", "name");
        REFUSED(footer, "CET-25", "offset");
        REFUSED(footer, "CET", "offset");
        REFUSED(footer, "CET-1 ", "name");
        REFUSED(footer, "CET-1CEST,M3.5.0,M10.5.0/3,", "trailing");
#undef REFUSED
}

/* Footers tzdata writes, and RFC 8536's own examples, read past the table. */
static void test_footers(void **state) {
        static const struct {
                const char *footer;
                const char *when;
                int32_t offset;
                bool dst;
                const char *abbr;
        } cases[] = {
                /* RFC 8536 3.3.1: "EST5EDT,0/0,J365/25" is daylight saving time all year. */
                { "EST5EDT,0/0,J365/25", "2030-01-01T00:30:00Z", -4 * 3600, true, "EDT" },
                { "EST5EDT,0/0,J365/25", "2030-07-01T00:00:00Z", -4 * 3600, true, "EDT" },
                { "EST5EDT,0/0,J365/25", "2030-12-31T23:59:59Z", -4 * 3600, true, "EDT" },
                /* RFC 8536 3.3.1's negative times (America/Nuuk, 2023): the last Sunday of March 2030
                 * is the 31st; -1:00 that day is 23:00 on the 30th, at -02. */
                { "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "2030-03-31T00:59:59Z", -2 * 3600, false, "-02" },
                { "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "2030-03-31T01:00:00Z", -3600, true, "-01" },
                /* Jn never counts February 29; n does. */
                { "XXX0YYY,J60/0,J300/0", "2028-03-01T00:00:00Z", 3600, true, "YYY" },
                { "XXX0YYY,J60/0,J300/0", "2028-02-29T23:59:59Z", 0, false, "XXX" },
                { "XXX0YYY,59/0,300/0", "2028-02-29T00:00:00Z", 3600, true, "YYY" },
                { "XXX0YYY,59/0,300/0", "2028-02-28T23:59:59Z", 0, false, "XXX" },
                /* An explicit DST offset, and no DST at all. */
                { "<+0545>-5:45", "2030-06-01T00:00:00Z", 5 * 3600 + 45 * 60, false, "+0545" },
                { "AAA3BBB1:30:15,M1.1.0,M12.5.6", "2030-06-01T00:00:00Z", -5415, true, "BBB" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                tzif_spec s = berlin_like;
                bytes b;
                tz_zone *z = NULL;
                const char *why = NULL;
                tz_info info;
                time_t t;

                s.footer = cases[i].footer;
                b = build(&s);
                if (tz_zone_parse(b.b, b.n, "test", &z, &why) < 0)
                        fail_msg("'%s': %s", cases[i].footer, why);
                assert_int_equal(parse_iso8601(cases[i].when, &t), 0);
                assert_int_equal(tz_zone_lookup(z, t, &info), 0);
                if (info.offset != cases[i].offset || info.is_dst != cases[i].dst || !streq(info.abbr, cases[i].abbr))
                        fail_msg("'%s' at %s: %+d %s dst=%d", cases[i].footer, cases[i].when, (int) info.offset,
                                 info.abbr, info.is_dst);
                assert_int_equal(tz_zone_lookup(z, TZ_TIME_MAX + 1, &info), -ERANGE);
                tz_zone_unref(z);
        }
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_zoneinfo_agrees),
                cmocka_unit_test(test_every_system_zone_parses),
                cmocka_unit_test(test_malformed_files),
                cmocka_unit_test(test_footers),
        };
        _cleanup_(freep) char *self = NULL, *beside = NULL;

        vectors_path = getenv("TZ_VECTORS");
        if (isempty(vectors_path) && argc > 1)
                vectors_path = argv[1];
        if (isempty(vectors_path)) {
                self = strdup(argv[0]);
                if (!self || asprintf(&beside, "%s/tz-vectors.txt", dirname(self)) < 0)
                        return 1;
                vectors_path = beside;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
