/* SPDX-License-Identifier: MIT */
/*
 * Retention's keep rules (run/plan-keep.c): each rule on a hand-built history, the
 * departed instances' rules and figures through plan_build(), then properties over
 * thousands of random histories in several time zones (UTC, Berlin and New York with
 * their DST, Kolkata's half hour, Lord Howe's half-hour DST). The property oracle is
 * restic's definition, written independently of the C code: its period keys come from
 * glibc's localtime_r() and strftime() ("%Y-%m-%d-%H", "%Y-%m-%d", "%G-%V", "%Y-%m",
 * "%Y", restic's own formats), not from amirotd's zone reader.
 * AMIROTD_TEST_SEED=N replays the generated cases from seed N.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "run/plan.h"

#define HOUR 3600
#define DAY (24 * HOUR)
/* 2026-11-26T03:00:00Z, a Thursday */
#define T0 ((time_t) 1795662000)

static policy make_policy(unsigned count, uint64_t max_age) {
        return (policy) {
                .name = (char *) "web",
                .schedule = { .kind = SCHEDULE_EVERY, .every = DAY, .at = 3 * HOUR },
                .retain_count = count,
                .retain_max_age = max_age,
                .max_retire_per_run = 100,
        };
}

/* n images, newest first, one every step seconds back from newest, made a minute into their slot. */
static void history(plan_keep_image *img, size_t n, time_t newest, time_t step) {
        for (size_t k = 0; k < n; k++) {
                time_t t = newest - (time_t) k * step;

                img[k] = (plan_keep_image) { .age_key = t, .creation_date = t + 60 };
        }
}

static size_t count_kept(const plan_keep_verdict *v, size_t n) {
        size_t kept = 0;

        for (size_t k = 0; k < n; k++)
                kept += v[k] == PLAN_KEEP;
        return kept;
}

/* ---- Each rule --------------------------------------------------------------------------- */

static void test_count_alone_keeps_the_newest_count(void **state) {
        policy p = make_policy(3, 0);
        plan_keep_image img[6];
        plan_keep_verdict v[6];

        (void) state;
        history(img, 6, T0, DAY);
        assert_int_equal(plan_keep(&p, T0 + HOUR, false, img, 6, v), 0);
        for (size_t k = 0; k < 6; k++)
                assert_int_equal(v[k], k < 3 ? PLAN_KEEP : PLAN_RETIRE_COUNT);
}

static void test_count_with_max_age_as_before(void **state) {
        policy p = make_policy(5, 2 * DAY + HOUR);
        plan_keep_image img[6];
        plan_keep_verdict v[6];

        (void) state;
        history(img, 6, T0, DAY);
        assert_int_equal(plan_keep(&p, T0 + HOUR, false, img, 6, v), 0);
        /* 0, 1, 2 days old kept; 3 and 4 days old too old; the sixth beyond count */
        assert_int_equal(v[0], PLAN_KEEP);
        assert_int_equal(v[2], PLAN_KEEP);
        assert_int_equal(v[3], PLAN_RETIRE_MAX_AGE);
        assert_int_equal(v[4], PLAN_RETIRE_MAX_AGE);
        assert_int_equal(v[5], PLAN_RETIRE_MAX_AGE);
}

static void test_max_age_alone_keeps_within(void **state) {
        policy p = make_policy(0, 10 * DAY);
        plan_keep_image img[30];
        plan_keep_verdict v[30];

        (void) state;
        history(img, 30, T0, DAY);
        assert_int_equal(plan_keep(&p, T0 + HOUR, false, img, 30, v), 0);
        for (size_t k = 0; k < 30; k++)
                assert_int_equal(v[k], k <= 9 ? PLAN_KEEP : PLAN_RETIRE_MAX_AGE);
}

static void test_newest_and_created_always_stay(void **state) {
        policy p = make_policy(0, 60);
        plan_keep_image img[4];
        plan_keep_verdict v[4];

        (void) state;
        history(img, 4, T0, DAY);
        img[2].created = true;
        assert_int_equal(plan_keep(&p, T0 + 30 * DAY, false, img, 4, v), 0);
        assert_int_equal(v[0], PLAN_KEEP);
        assert_int_equal(v[1], PLAN_RETIRE_MAX_AGE);
        assert_int_equal(v[2], PLAN_KEEP);
        assert_int_equal(v[3], PLAN_RETIRE_MAX_AGE);
}

static void test_daily_keeps_the_newest_of_each_day(void **state) {
        policy p = make_policy(0, 0);
        plan_keep_image img[24];
        plan_keep_verdict v[24];

        (void) state;
        p.retain_tiers[RETAIN_DAILY] = 3;
        /* every 4 hours from T0 (03:00Z) back: 03:00 is its day's first, 23:00 the day before's last */
        history(img, 24, T0, 4 * HOUR);
        assert_int_equal(plan_keep(&p, T0 + HOUR, false, img, 24, v), 0);
        for (size_t k = 0; k < 24; k++)
                assert_int_equal(v[k], (k == 0 || k == 1 || k == 7) ? PLAN_KEEP : PLAN_RETIRE_NO_RULE);
}

static void test_weekly_uses_iso_weeks(void **state) {
        policy p = make_policy(0, 0);
        plan_keep_image img[10];
        plan_keep_verdict v[10];

        (void) state;
        p.retain_tiers[RETAIN_WEEKLY] = 2;
        /* Daily from Thursday 26 Nov back to Tuesday 17 Nov: weeks Mon 23 .. and Mon 16 .. */
        history(img, 10, T0, DAY);
        assert_int_equal(plan_keep(&p, T0 + HOUR, false, img, 10, v), 0);
        /* k=0 Thu 26 (week of 23), k=4 Sun 22 (newest of week of 16); Mon 23 (k=3) is not */
        for (size_t k = 0; k < 10; k++)
                assert_int_equal(v[k], (k == 0 || k == 4) ? PLAN_KEEP : PLAN_RETIRE_NO_RULE);
}

static void test_one_image_serves_several_tiers(void **state) {
        policy p = make_policy(0, 0);
        plan_keep_image img[400];
        plan_keep_verdict v[400];

        (void) state;
        p.retain_tiers[RETAIN_DAILY] = 7;
        p.retain_tiers[RETAIN_WEEKLY] = 4;
        p.retain_tiers[RETAIN_MONTHLY] = 12;
        p.retain_tiers[RETAIN_YEARLY] = 2;
        history(img, 400, T0, DAY);
        assert_int_equal(plan_keep(&p, T0 + HOUR, false, img, 400, v), 0);
        /* 7 days (Fri 20 .. Thu 26) hold the newest of the weeks of 23 and 16 Nov, of
         * November and of 2026; 2 more weeks (Sundays 15 and 8 Nov); 11 more months
         * (their last days, Oct 2026 back to Dec 2025), and 31 Dec 2025 is also 2025's newest. */
        assert_int_equal(count_kept(v, 400), 7 + 2 + 11);
}

static void test_tiers_count_in_the_policy_time_zone(void **state) {
        policy p = make_policy(0, 0);
        tz_zone *berlin = NULL;
        plan_keep_image img[2];
        plan_keep_verdict v[2];

        (void) state;
        assert_int_equal(tz_zone_load("Europe/Berlin", &berlin, NULL), 0);
        p.retain_tiers[RETAIN_DAILY] = 2;
        /* 23:30Z and 22:30Z on 25 Nov: two UTC hours of one UTC day; in Berlin (UTC+1)
         * 00:30 on the 26th and 23:30 on the 25th, two days. */
        img[0] = (plan_keep_image) { .age_key = T0 - 3 * HOUR - 1800 };
        img[1] = (plan_keep_image) { .age_key = img[0].age_key - HOUR };
        assert_int_equal(plan_keep(&p, T0, false, img, 2, v), 0);
        assert_int_equal(v[1], PLAN_RETIRE_NO_RULE);
        p.schedule.zone = berlin;
        assert_int_equal(plan_keep(&p, T0, false, img, 2, v), 0);
        assert_int_equal(v[1], PLAN_KEEP);
        tz_zone_unref(berlin);
}

static void test_hour_repeated_at_fall_back_is_one_period(void **state) {
        policy p = make_policy(0, 0);
        tz_zone *ny = NULL;
        plan_keep_image img[3];
        plan_keep_verdict v[3];

        (void) state;
        assert_int_equal(tz_zone_load("America/New_York", &ny, NULL), 0);
        p.schedule.zone = ny;
        p.retain_tiers[RETAIN_HOURLY] = 2;
        /* 2026-11-01 01:30 EST (06:30Z), 01:30 EDT (05:30Z), 00:30 EDT (04:30Z) */
        img[0] = (plan_keep_image) { .age_key = (time_t) 1793514600 };
        img[1] = (plan_keep_image) { .age_key = (time_t) 1793511000 };
        img[2] = (plan_keep_image) { .age_key = (time_t) 1793507400 };
        assert_int_equal(plan_keep(&p, img[0].age_key, false, img, 3, v), 0);
        assert_int_equal(v[0], PLAN_KEEP);
        assert_int_equal(v[1], PLAN_RETIRE_NO_RULE);
        assert_int_equal(v[2], PLAN_KEEP);
        tz_zone_unref(ny);
}

static void test_tiers_are_not_limited_by_max_age(void **state) {
        policy p = make_policy(2, 3 * DAY);
        plan_keep_image img[60];
        plan_keep_verdict v[60];

        (void) state;
        p.retain_tiers[RETAIN_MONTHLY] = 2;
        history(img, 60, T0, DAY);
        assert_int_equal(plan_keep(&p, T0 + HOUR, false, img, 60, v), 0);
        /* count keeps 26 and 25 Nov; monthly keeps 26 Nov and 31 Oct (k=26), 26 days old */
        assert_int_equal(v[26], PLAN_KEEP);
        assert_int_equal(count_kept(v, 60), 3);
        assert_int_equal(v[2], PLAN_RETIRE_NO_RULE);
}

static void test_min_count_is_a_floor_under_max_age(void **state) {
        policy p = make_policy(0, 2 * DAY);
        plan_keep_image img[10];
        plan_keep_verdict v[10];

        (void) state;
        p.retain_min_count = 4;
        history(img, 10, T0, DAY);
        assert_int_equal(plan_keep(&p, T0 + 30 * DAY, false, img, 10, v), 0);
        for (size_t k = 0; k < 10; k++)
                assert_int_equal(v[k], k < 4 ? PLAN_KEEP : PLAN_RETIRE_NO_RULE);
}

static void test_departed_without_rules_is_judged_as_any(void **state) {
        policy p = make_policy(2, 0);
        plan_keep_image img[5];
        plan_keep_verdict a[5], b[5];

        (void) state;
        history(img, 5, T0, DAY);
        assert_int_equal(plan_keep(&p, T0 + 400 * DAY, true, img, 5, a), 0);
        assert_int_equal(plan_keep(&p, T0 + 400 * DAY, false, img, 5, b), 0);
        assert_memory_equal(a, b, sizeof(a));
        assert_int_equal(a[0], PLAN_KEEP);
}

static void test_departed_keep_replaces_the_rules(void **state) {
        policy p = make_policy(5, 0);
        plan_keep_image img[8];
        plan_keep_verdict v[8];

        (void) state;
        p.retain_tiers[RETAIN_DAILY] = 7;
        p.retain_min_count = 4;         /* not for departed instances */
        p.departed_keep = 2;
        history(img, 8, T0, DAY);
        assert_int_equal(plan_keep(&p, T0 + HOUR, true, img, 8, v), 0);
        for (size_t k = 0; k < 8; k++)
                assert_int_equal(v[k], k < 2 ? PLAN_KEEP : PLAN_RETIRE_DEPARTED_KEEP);
}

static void test_departed_max_age_retires_the_newest_too(void **state) {
        policy p = make_policy(5, 0);
        plan_keep_image img[3];
        plan_keep_verdict v[3];

        (void) state;
        p.departed_max_age = 30 * DAY;
        p.departed_keep = 1;
        history(img, 3, T0, DAY);
        /* 30 days after the newest: still kept by departed.keep */
        assert_int_equal(plan_keep(&p, T0 + 30 * DAY, true, img, 3, v), 0);
        assert_int_equal(v[0], PLAN_KEEP);
        assert_int_equal(v[1], PLAN_RETIRE_DEPARTED_KEEP);
        assert_int_equal(plan_keep(&p, T0 + 31 * DAY, true, img, 3, v), 0);
        for (size_t k = 0; k < 3; k++)
                assert_int_equal(v[k], PLAN_RETIRE_DEPARTED_MAX_AGE);
        /* A selected instance is never judged by departed rules. */
        assert_int_equal(plan_keep(&p, T0 + 31 * DAY, false, img, 3, v), 0);
        assert_int_equal(v[0], PLAN_KEEP);
}

static void test_reasons_name_the_rules(void **state) {
        policy p = make_policy(3, 90 * DAY);
        char *s = NULL;

        (void) state;
        assert_int_equal(plan_keep_reason(&p, PLAN_RETIRE_COUNT, &s), 0);
        assert_string_equal(s, "beyond retain.count 3");
        free(s);
        assert_int_equal(plan_keep_reason(&p, PLAN_RETIRE_MAX_AGE, &s), 0);
        assert_string_equal(s, "older than max_age 90d");
        free(s);
        p.retain_tiers[RETAIN_DAILY] = 7;
        p.retain_tiers[RETAIN_WEEKLY] = 4;
        p.retain_min_count = 2;
        assert_int_equal(plan_keep_reason(&p, PLAN_RETIRE_NO_RULE, &s), 0);
        assert_string_equal(s, "kept by no rule (count 3, max_age 90d, daily 7, weekly 4, min_count 2)");
        free(s);
        p.departed_keep = 1;
        p.departed_max_age = 30 * DAY;
        assert_int_equal(plan_keep_reason(&p, PLAN_RETIRE_DEPARTED_KEEP, &s), 0);
        assert_string_equal(s, "departed instance: beyond retain.departed.keep 1");
        free(s);
        assert_int_equal(plan_keep_reason(&p, PLAN_RETIRE_DEPARTED_MAX_AGE, &s), 0);
        assert_string_equal(s, "departed instance: not imaged for retain.departed.max_age 30d");
        free(s);
        assert_int_equal(plan_keep_reason(&p, PLAN_KEEP, &s), -EINVAL);
}

/* ---- Through plan_build(): departed instances ------------------------------------------------ */

typedef struct fleet {
        ec2_instance instances[4];
        size_t n_instances;
        ec2_image images[64];
        ec2_tag tags[64][3];
        char ids[64][24], slots[64][SLOT_ID_MAX];
        size_t n_images;
} fleet;

static void fleet_image(fleet *f, char *instance_id, time_t slot) {
        size_t k = f->n_images++;

        snprintf(f->ids[k], sizeof(f->ids[k]), "ami-%04zu", k);
        assert_non_null(slot_id_format(slot, f->slots[k]));
        f->tags[k][0] = (ec2_tag) { (char *) TAG_POLICY, (char *) "web" };
        f->tags[k][1] = (ec2_tag) { (char *) TAG_INSTANCE_ID, instance_id };
        f->tags[k][2] = (ec2_tag) { (char *) TAG_SLOT, f->slots[k] };
        f->images[k] = (ec2_image) {
                .id = f->ids[k],
                .state = EC2_IMAGE_AVAILABLE,
                .creation_date = slot + 60,
                .tags = { .items = f->tags[k], .n = 3 },
        };
}

static const plan_action *find_retire(const plan *pl, const char *image_id) {
        for (size_t k = 0; k < pl->n; k++)
                if (pl->actions[k].kind == PLAN_RETIRE && streq(pl->actions[k].image_id, image_id))
                        return &pl->actions[k];
        return NULL;
}

static void test_plan_reports_departed_and_retires_them(void **state) {
        policy p = make_policy(3, 0);
        static fleet f;
        plan pl = {};
        const plan_action *a;

        (void) state;
        f = (fleet) {};
        p.states = 1u << EC2_INSTANCE_RUNNING;
        f.instances[0] = (ec2_instance) { .id = (char *) "i-live", .state = EC2_INSTANCE_RUNNING };
        f.n_instances = 1;
        for (int k = 0; k < 3; k++)
                fleet_image(&f, "i-live", T0 - k * DAY);
        for (int k = 0; k < 3; k++)
                fleet_image(&f, "i-gone1", T0 - (10 + k) * DAY);      /* ami-0003 .. 0005 */
        for (int k = 0; k < 2; k++)
                fleet_image(&f, "i-gone2", T0 - (40 + k) * DAY);      /* ami-0006, 0007 */
        p.departed_max_age = 30 * DAY;

        plan_input in = {
                .policy = &p, .region = "us-east-1", .now = T0 + HOUR,
                .instances = f.instances, .n_instances = f.n_instances,
                .images = f.images, .n_images = f.n_images,
        };
        assert_int_equal(plan_build(&in, &pl), 0);
        assert_int_equal(pl.n_departed, 2);
        assert_int_equal(pl.departed_images, 3);        /* i-gone1's, by count 3 */
        assert_string_equal(pl.departed_oldest, "i-gone2");
        assert_int_equal(pl.departed_oldest_at, T0 - 40 * DAY);
        assert_null(find_retire(&pl, "ami-0003"));
        a = find_retire(&pl, "ami-0006");
        assert_non_null(a);
        assert_string_equal(a->reason, "departed instance: not imaged for retain.departed.max_age 30d");
        assert_true(a->retention);
        assert_non_null(find_retire(&pl, "ami-0007"));
        plan_done(&pl);
}

/* A later plan of a run names no instance (plan-retire.c): one with an image of the run
 * has not departed, and departed.keep does not apply to it. */
static void test_instance_imaged_by_the_run_is_not_departed(void **state) {
        policy p = make_policy(3, 0);
        static fleet f;
        char *created[] = { (char *) "ami-0000", NULL };
        plan pl = {};

        (void) state;
        f = (fleet) {};
        for (int k = 0; k < 4; k++)
                fleet_image(&f, "i-live", T0 - k * DAY);
        p.departed_keep = 1;
        plan_input in = {
                .policy = &p, .region = "us-east-1", .now = T0 + HOUR,
                .images = f.images, .n_images = f.n_images, .created = created,
        };
        assert_int_equal(plan_build(&in, &pl), 0);
        assert_int_equal(pl.n_departed, 0);
        assert_null(find_retire(&pl, "ami-0001"));
        assert_null(find_retire(&pl, "ami-0002"));
        assert_non_null(find_retire(&pl, "ami-0003"));
        assert_string_equal(find_retire(&pl, "ami-0003")->reason, "beyond retain.count 3");
        plan_done(&pl);
}

/* ---- Properties over random histories --------------------------------------------------------- */

static uint64_t rng;

static uint64_t next_random(void) {
        /* splitmix64 */
        uint64_t z = (rng += 0x9e3779b97f4a7c15u);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        return z ^ (z >> 31);
}

static uint64_t below(uint64_t n) {
        return next_random() % n;
}

static uint64_t env_u64(const char *name, uint64_t def) {
        const char *e = getenv(name);

        return e ? strtoull(e, NULL, 10) : def;
}

#define CHECK(seed, cond)                                                                               \
        do {                                                                                            \
                if (!(cond)) {                                                                          \
                        print_error("seed %" PRIu64 ": %s:%d: %s\n"                                     \
                                    "  (replay: AMIROTD_TEST_SEED=%" PRIu64 " AMIROTD_TEST_CASES=1)\n", \
                                    seed, __FILE__, __LINE__, #cond, seed);                             \
                        fail();                                                                         \
                }                                                                                       \
        } while (0)

static const char *const zones[] = { "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
                                     "Australia/Lord_Howe" };
#define MAX_IMAGES 120

typedef struct generated {
        policy policy;
        plan_keep_image img[MAX_IMAGES];        /* newest first */
        size_t n;
        time_t now;
} generated;

static void generate(generated *g, tz_zone *const *loaded, size_t *ret_zone) {
        static const time_t steps[] = { 1800, HOUR, 3 * HOUR, DAY, 7 * DAY };
        time_t step = steps[below(ELEMENTSOF(steps))], t;
        size_t zone = below(ELEMENTSOF(zones));

        g->policy = make_policy(0, 0);
        g->policy.schedule.zone = loaded[zone];
        if (below(2))
                g->policy.retain_count = 1 + (unsigned) below(10);
        if (below(3) == 0)
                g->policy.retain_max_age = (1 + below(60)) * (uint64_t) step;
        for (retain_tier r = 0; r < _RETAIN_TIER_MAX; r++)
                if (below(2))
                        g->policy.retain_tiers[r] = 1 + (unsigned) below(12);
        if (below(3) == 0)
                g->policy.retain_min_count = 1 + (unsigned) below(8);

        /* From a random instant of 2024..2027, which holds DST changes, newest first, with gaps. */
        t = (time_t) 1704067200 + (time_t) below(3 * 365 * (uint64_t) DAY);
        g->n = 1 + below(MAX_IMAGES);
        g->now = t + (time_t) below((uint64_t) step);
        for (size_t k = 0; k < g->n; k++) {
                g->img[k] = (plan_keep_image) { .age_key = t, .creation_date = t + 1 + (time_t) below(600) };
                t -= step * (time_t) (1 + (below(4) == 0 ? below(5) : 0));
        }
        *ret_zone = zone;
}

static void period_key(const char *zone, time_t t, retain_tier r, char buf[static 32]) {
        struct tm tm;

        setenv("TZ", zone, 1);
        tzset();
        assert_non_null(localtime_r(&t, &tm));
        switch (r) {
        case RETAIN_HOURLY:
                assert_true(strftime(buf, 32, "%Y-%m-%d-%H", &tm) > 0);
                break;
        case RETAIN_DAILY:
                assert_true(strftime(buf, 32, "%Y-%m-%d", &tm) > 0);
                break;
        case RETAIN_WEEKLY:
                assert_true(strftime(buf, 32, "%G-%V", &tm) > 0);
                break;
        case RETAIN_MONTHLY:
                assert_true(strftime(buf, 32, "%Y-%m", &tm) > 0);
                break;
        default:
                assert_true(strftime(buf, 32, "%Y", &tm) > 0);
        }
}

/* restic's rules, by the book: what must be kept (and nothing else may be). */
static void oracle(const generated *g, const char *zone, bool *must) {
        const policy *p = &g->policy;

        for (size_t k = 0; k < g->n; k++) {
                bool within = p->retain_max_age == 0 || g->img[k].creation_date >= g->now ||
                        (uint64_t) (g->now - g->img[k].creation_date) <= p->retain_max_age;

                must[k] = k == 0 || k < p->retain_min_count ||
                        ((p->retain_count > 0 || p->retain_max_age > 0) &&
                         (p->retain_count == 0 || k < p->retain_count) && within);
        }
        for (retain_tier r = 0; r < _RETAIN_TIER_MAX; r++) {
                char last[32] = "", key[32];
                unsigned left = p->retain_tiers[r];

                for (size_t k = 0; k < g->n && left > 0; k++) {
                        period_key(zone, g->img[k].age_key, r, key);
                        if (streq(key, last))
                                continue;
                        must[k] = true;
                        strcpy(last, key);
                        left--;
                }
        }
}

static void test_property_kept_exactly_as_restic_and_stable(void **state) {
        uint64_t base = env_u64("AMIROTD_TEST_SEED", 20261201), cases = env_u64("AMIROTD_TEST_CASES", 1500);
        tz_zone *loaded[ELEMENTSOF(zones)] = {};
        static generated g, later;

        (void) state;
        for (size_t z = 1; z < ELEMENTSOF(zones); z++)
                assert_int_equal(tz_zone_load(zones[z], &loaded[z], NULL), 0);
        for (uint64_t seed = base; seed < base + cases; seed++) {
                plan_keep_verdict v[MAX_IMAGES], w[MAX_IMAGES];
                bool must[MAX_IMAGES];
                size_t zone, drop;

                rng = seed;
                generate(&g, loaded, &zone);
                CHECK(seed, plan_keep(&g.policy, g.now, false, g.img, g.n, v) == 0);
                oracle(&g, zones[zone], must);
                for (size_t k = 0; k < g.n; k++)
                        CHECK(seed, (v[k] == PLAN_KEEP) == must[k]);
                CHECK(seed, v[0] == PLAN_KEEP);

                /* Stability: the same history seen earlier, when its newest `drop` images did
                 * not exist yet. What that plan retired, this one must not want back. */
                drop = (size_t) below(g.n);
                later = g;
                g.n -= drop;
                memmove(g.img, g.img + drop, g.n * sizeof(plan_keep_image));
                g.now = g.img[0].age_key + (g.now - later.img[0].age_key);
                CHECK(seed, g.now <= later.now);
                CHECK(seed, plan_keep(&g.policy, g.now, false, g.img, g.n, w) == 0);
                for (size_t k = 0; k < g.n; k++)
                        CHECK(seed, w[k] == PLAN_KEEP || v[k + drop] != PLAN_KEEP);
        }
        unsetenv("TZ");
        for (size_t z = 0; z < ELEMENTSOF(zones); z++)
                tz_zone_unref(loaded[z]);
}

static void test_property_departed(void **state) {
        uint64_t base = env_u64("AMIROTD_TEST_SEED", 20261201), cases = env_u64("AMIROTD_TEST_CASES", 1500);
        tz_zone *none[ELEMENTSOF(zones)] = {};
        static generated g;

        (void) state;
        for (uint64_t seed = base; seed < base + cases; seed++) {
                plan_keep_verdict v[MAX_IMAGES];
                bool gone;
                size_t zone;

                rng = seed;
                generate(&g, none, &zone);
                g.policy.departed_keep = below(2) ? 1 + (unsigned) below(5) : 0;
                g.policy.departed_max_age = below(2) ? (1 + below(90)) * (uint64_t) DAY : 0;
                g.now += (time_t) below(120 * (uint64_t) DAY);
                CHECK(seed, plan_keep(&g.policy, g.now, true, g.img, g.n, v) == 0);
                gone = g.policy.departed_max_age > 0 &&
                        (uint64_t) (g.now - g.img[0].creation_date) > g.policy.departed_max_age;
                for (size_t k = 0; k < g.n; k++)
                        if (gone)
                                CHECK(seed, v[k] == PLAN_RETIRE_DEPARTED_MAX_AGE);
                        else if (g.policy.departed_keep > 0)
                                CHECK(seed, (v[k] == PLAN_KEEP) == (k < g.policy.departed_keep));
                if (!gone)
                        CHECK(seed, v[0] == PLAN_KEEP);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_count_alone_keeps_the_newest_count),
                cmocka_unit_test(test_count_with_max_age_as_before),
                cmocka_unit_test(test_max_age_alone_keeps_within),
                cmocka_unit_test(test_newest_and_created_always_stay),
                cmocka_unit_test(test_daily_keeps_the_newest_of_each_day),
                cmocka_unit_test(test_weekly_uses_iso_weeks),
                cmocka_unit_test(test_one_image_serves_several_tiers),
                cmocka_unit_test(test_tiers_count_in_the_policy_time_zone),
                cmocka_unit_test(test_hour_repeated_at_fall_back_is_one_period),
                cmocka_unit_test(test_tiers_are_not_limited_by_max_age),
                cmocka_unit_test(test_min_count_is_a_floor_under_max_age),
                cmocka_unit_test(test_departed_without_rules_is_judged_as_any),
                cmocka_unit_test(test_departed_keep_replaces_the_rules),
                cmocka_unit_test(test_departed_max_age_retires_the_newest_too),
                cmocka_unit_test(test_reasons_name_the_rules),
                cmocka_unit_test(test_plan_reports_departed_and_retires_them),
                cmocka_unit_test(test_instance_imaged_by_the_run_is_not_departed),
                cmocka_unit_test(test_property_kept_exactly_as_restic_and_stable),
                cmocka_unit_test(test_property_departed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
