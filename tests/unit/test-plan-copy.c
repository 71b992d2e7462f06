/* SPDX-License-Identifier: MIT */
/*
 * The copy planner (run/plan-copy.c): each rule on a hand-built fleet, the main planner's
 * blindness to copies and the sweep's respect for their snapshots, the ClientToken, then a
 * property over random histories: what a plan copies, once available, is never what the
 * next plan retires, and the next plan copies nothing more.
 * AMIROTD_TEST_SEED=N replays the generated cases from seed N.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "run/plan-copy.h"
#include "run/plan.h"

#define DAY 86400
/* 2026-11-26T03:00:00Z */
#define SLOT0 ((time_t) 1795662000)
#define MAX_IMAGES 64

typedef struct fleet {
        policy policy;
        copy_destination dest;
        ec2_image sources[MAX_IMAGES];
        size_t n_sources;
        ec2_image copies[MAX_IMAGES];
        size_t n_copies;
        unsigned next_id;
        char *const *passed;            /* plan_copy_input.passed */
        plan_copy plan;
} fleet;

static void fleet_init(fleet *f, unsigned count, unsigned dest_count) {
        *f = (fleet) {
                .policy = {
                        .name = (char *) "web",
                        .schedule = { .kind = SCHEDULE_EVERY, .every = DAY, .at = 3 * 3600 },
                        .retain_count = count,
                        .max_retire_per_run = 100,
                },
                .dest = { .region = (char *) "eu-west-1" },
        };
        if (dest_count > 0)
                f->dest = (copy_destination) { .region = (char *) "eu-west-1", .retain_set = true,
                                               .retain = { .count = dest_count } };
}

static void fleet_done(fleet *f) {
        for (size_t i = 0; i < f->n_sources; i++) {
                free(f->sources[i].id);
                free(f->sources[i].devices);
                ec2_tags_done(&f->sources[i].tags);
        }
        for (size_t i = 0; i < f->n_copies; i++) {
                free(f->copies[i].id);
                free(f->copies[i].devices);
                ec2_tags_done(&f->copies[i].tags);
        }
        plan_copy_done(&f->plan);
}

static ec2_image *make(fleet *f, ec2_image *g, const char *instance_id, int day, ec2_image_state state) {
        char slot[SLOT_ID_MAX], id[32];

        snprintf(id, sizeof(id), "ami-%04u", f->next_id++);
        assert_non_null(slot_id_format(SLOT0 + (time_t) day * DAY, slot));
        *g = (ec2_image) { .id = strdup(id), .name = (char *) "web-name", .state = state,
                           .creation_date = SLOT0 + (time_t) day * DAY + 60 };
        g->devices = calloc(1, sizeof(ec2_block_device));
        assert_non_null(g->devices);
        g->devices[0] = (ec2_block_device) { .device_name = (char *) "/dev/xvda", .snapshot_id = (char *) "snap-1" };
        g->n_devices = 1;
        assert_non_null(g->id);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_POLICY, "web"), 0);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_INSTANCE_ID, instance_id), 0);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_SLOT, slot), 0);
        return g;
}

static ec2_image *source(fleet *f, const char *instance_id, int day) {
        assert_true(f->n_sources < MAX_IMAGES);
        return make(f, &f->sources[f->n_sources++], instance_id, day, EC2_IMAGE_AVAILABLE);
}

static ec2_image *copy_of(fleet *f, const ec2_image *src, const char *region, ec2_image_state state) {
        const char *slot = ec2_tags_get(&src->tags, TAG_SLOT);
        char v[64];
        ec2_image *g;
        time_t t;

        assert_true(f->n_copies < MAX_IMAGES);
        assert_int_equal(slot_id_parse(slot, &t), 0);
        g = make(f, &f->copies[f->n_copies++], ec2_tags_get(&src->tags, TAG_INSTANCE_ID),
                 (int) ((t - SLOT0) / DAY), state);
        snprintf(v, sizeof(v), "%s/%s", region, src->id);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_COPY_OF, v), 0);
        return g;
}

static void build(fleet *f, time_t now, unsigned slots) {
        plan_copy_done(&f->plan);
        assert_int_equal(plan_copy_build(&(plan_copy_input) {
                                                 .policy = &f->policy, .dest = &f->dest,
                                                 .source_region = "us-east-1", .now = now,
                                                 .sources = f->sources, .n_sources = f->n_sources,
                                                 .copies = f->copies, .n_copies = f->n_copies,
                                                 .copy_slots = slots, .passed = f->passed,
                                         }, &f->plan), 0);
}

static size_t count_kind(const plan_copy *p, plan_copy_kind kind) {
        size_t n = 0;

        for (size_t i = 0; i < p->n; i++)
                n += p->steps[i].kind == kind;
        return n;
}

static bool has_step(const plan_copy *p, plan_copy_kind kind, const char *image_id) {
        for (size_t i = 0; i < p->n; i++)
                if (p->steps[i].kind == kind && streq(p->steps[i].image->id, image_id))
                        return true;
        return false;
}

/* ---- The rules ---------------------------------------------------------------------------- */

static void test_a_new_source_is_copied_once(void **state) {
        fleet f;
        ec2_image *s;

        (void) state;
        fleet_init(&f, 5, 0);
        s = source(&f, "i-a", 0);
        build(&f, SLOT0 + 3600, PLAN_COPY_CONCURRENT_MAX);
        assert_int_equal(f.plan.n, 1);
        assert_true(has_step(&f.plan, PLAN_COPY_START, s->id));
        /* in flight: counted, not copied again */
        copy_of(&f, s, "us-east-1", EC2_IMAGE_PENDING);
        build(&f, SLOT0 + 3600, PLAN_COPY_CONCURRENT_MAX);
        assert_int_equal(f.plan.n, 0);
        assert_int_equal(f.plan.pending, 1);
        fleet_done(&f);
}

/* With verify, only passed sources are copied (the copy carries the verdict); unverified
 * and failed ones wait or never go; copies made before verify still count as copies. */
static void test_with_verify_only_passed_sources_are_copied(void **state) {
        ec2_image *passed, *failed, *unverified, *old;
        fleet f;

        (void) state;
        fleet_init(&f, 5, 0);
        f.policy.verify.set = true;
        old = source(&f, "i-a", 0);
        copy_of(&f, old, "us-east-1", EC2_IMAGE_AVAILABLE);
        passed = source(&f, "i-a", 1);
        assert_int_equal(ec2_tags_add(&passed->tags, TAG_VERIFIED, "passed"), 0);
        failed = source(&f, "i-a", 2);
        assert_int_equal(ec2_tags_add(&failed->tags, TAG_VERIFIED, "failed"), 0);
        unverified = source(&f, "i-a", 3);
        build(&f, SLOT0 + 3 * DAY + 3600, PLAN_COPY_CONCURRENT_MAX);
        assert_int_equal(f.plan.n, 1);
        assert_true(has_step(&f.plan, PLAN_COPY_START, passed->id));

        /* One that passed in this run is copied before its tag shows (plan_copy_input.passed). */
        f.passed = (char *const[]) { unverified->id, NULL };
        build(&f, SLOT0 + 3 * DAY + 3600, PLAN_COPY_CONCURRENT_MAX);
        assert_int_equal(count_kind(&f.plan, PLAN_COPY_START), 2);
        assert_true(has_step(&f.plan, PLAN_COPY_START, unverified->id));
        f.passed = NULL;

        /* Without verify the same fleet copies all three. */
        f.policy.verify.set = false;
        build(&f, SLOT0 + 3 * DAY + 3600, PLAN_COPY_CONCURRENT_MAX);
        assert_int_equal(count_kind(&f.plan, PLAN_COPY_START), 3);
        assert_true(has_step(&f.plan, PLAN_COPY_START, unverified->id));
        fleet_done(&f);
}

static void test_after_downtime_only_the_newest_count_are_copied(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 30, 3);
        for (int d = 0; d < 30; d++)
                source(&f, "i-a", d);
        build(&f, SLOT0 + 30 * DAY, PLAN_COPY_CONCURRENT_MAX);
        assert_int_equal(count_kind(&f.plan, PLAN_COPY_START), 3);
        for (size_t i = 27; i < 30; i++)
                assert_true(has_step(&f.plan, PLAN_COPY_START, f.sources[i].id));
        /* newest first */
        assert_string_equal(f.plan.steps[0].image->id, f.sources[29].id);
        fleet_done(&f);
}

static void test_copies_retire_only_once_their_successor_is_available(void **state) {
        fleet f;
        ec2_image *c[3], *newest;

        (void) state;
        fleet_init(&f, 5, 2);
        for (int d = 0; d < 3; d++)
                c[d] = copy_of(&f, source(&f, "i-a", d), "us-east-1", EC2_IMAGE_AVAILABLE);
        newest = source(&f, "i-a", 3);
        /* three available copies for a count of 2: the oldest goes; the new source is
         * copied, and the second oldest stays until its copy is available */
        build(&f, SLOT0 + 3 * DAY + 3600, PLAN_COPY_CONCURRENT_MAX);
        assert_true(has_step(&f.plan, PLAN_COPY_RETIRE, c[0]->id));
        assert_false(has_step(&f.plan, PLAN_COPY_RETIRE, c[1]->id));
        assert_true(has_step(&f.plan, PLAN_COPY_START, newest->id));
        assert_string_equal(f.plan.steps[0].reason, "beyond retain.count 2");

        /* the new copy pending: still nothing more retired */
        f.copies[0].state = EC2_IMAGE_DEREGISTERED;
        copy_of(&f, newest, "us-east-1", EC2_IMAGE_PENDING);
        build(&f, SLOT0 + 3 * DAY + 3600, PLAN_COPY_CONCURRENT_MAX);
        assert_int_equal(f.plan.n, 0);
        /* available: the second oldest goes */
        f.copies[3].state = EC2_IMAGE_AVAILABLE;
        build(&f, SLOT0 + 3 * DAY + 3600, PLAN_COPY_CONCURRENT_MAX);
        assert_int_equal(f.plan.n, 1);
        assert_true(has_step(&f.plan, PLAN_COPY_RETIRE, c[1]->id));
        fleet_done(&f);
}

static void test_the_newest_copy_stays_whatever_max_age_says(void **state) {
        fleet f;
        ec2_image *c[2];

        (void) state;
        fleet_init(&f, 5, 0);
        f.dest.retain_set = true;
        f.dest.retain = (retain_rules) { .max_age = 7 * DAY };
        for (int d = 0; d < 2; d++)
                c[d] = copy_of(&f, source(&f, "i-a", d), "us-east-1", EC2_IMAGE_AVAILABLE);
        build(&f, SLOT0 + 100 * DAY, PLAN_COPY_CONCURRENT_MAX);
        assert_true(has_step(&f.plan, PLAN_COPY_RETIRE, c[0]->id));
        assert_false(has_step(&f.plan, PLAN_COPY_RETIRE, c[1]->id));
        assert_int_equal(count_kind(&f.plan, PLAN_COPY_START), 0);
        fleet_done(&f);
}

static void test_a_failed_copy_is_retired_and_its_source_copied_again(void **state) {
        fleet f;
        ec2_image *s, *failed;

        (void) state;
        fleet_init(&f, 5, 0);
        s = source(&f, "i-a", 0);
        failed = copy_of(&f, s, "us-east-1", EC2_IMAGE_FAILED);
        build(&f, SLOT0 + 3600, PLAN_COPY_CONCURRENT_MAX);
        assert_int_equal(f.plan.n, 2);
        /* the failed copy holds the name: it goes first */
        assert_int_equal(f.plan.steps[0].kind, PLAN_COPY_RETIRE);
        assert_string_equal(f.plan.steps[0].image->id, failed->id);
        assert_string_equal(f.plan.steps[0].reason, "failed");
        assert_int_equal(f.plan.steps[1].kind, PLAN_COPY_START);
        assert_string_equal(f.plan.steps[1].image->id, s->id);
        fleet_done(&f);
}

static void test_the_concurrent_limit_defers_the_oldest(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 5, 0);
        source(&f, "i-a", 0);
        source(&f, "i-b", 1);
        source(&f, "i-c", 2);
        build(&f, SLOT0 + 3 * DAY, 2);
        assert_int_equal(count_kind(&f.plan, PLAN_COPY_START), 2);
        assert_int_equal(f.plan.deferred, 1);
        assert_false(has_step(&f.plan, PLAN_COPY_START, f.sources[0].id));
        build(&f, SLOT0 + 3 * DAY, 0);
        assert_int_equal(f.plan.n, 0);
        assert_int_equal(f.plan.deferred, 3);
        fleet_done(&f);
}

static void test_what_is_not_ours_to_copy_or_retire(void **state) {
        fleet f;
        ec2_image *released, *copy_here, *other_region, *protected_copy, *future;
        char t[ISO8601_MAX];

        (void) state;
        fleet_init(&f, 5, 1);
        released = source(&f, "i-a", 0);
        assert_int_equal(ec2_tags_add(&released->tags, TAG_RETIRED_AT, format_iso8601(SLOT0, t)), 0);
        future = source(&f, "i-a", 9);
        /* a copy in the run's own region (of another region's source) is no source */
        copy_here = copy_of(&f, source(&f, "i-z", 0), "us-west-2", EC2_IMAGE_AVAILABLE);
        f.sources[f.n_sources++] = *copy_here;
        f.copies[--f.n_copies] = (ec2_image) {};
        /* another region's copies are its runs' business, however many */
        other_region = copy_of(&f, source(&f, "i-b", 0), "us-west-2", EC2_IMAGE_AVAILABLE);
        protected_copy = copy_of(&f, source(&f, "i-c", 0), "us-east-1", EC2_IMAGE_AVAILABLE);
        protected_copy->dereg_protection = EC2_DEREG_PROTECTION_ENABLED;
        copy_of(&f, source(&f, "i-c", 1), "us-east-1", EC2_IMAGE_AVAILABLE);
        build(&f, SLOT0 + 2 * DAY, PLAN_COPY_CONCURRENT_MAX);
        assert_false(has_step(&f.plan, PLAN_COPY_START, released->id));
        assert_false(has_step(&f.plan, PLAN_COPY_START, future->id));
        assert_false(has_step(&f.plan, PLAN_COPY_START, copy_here->id));
        assert_false(has_step(&f.plan, PLAN_COPY_RETIRE, other_region->id));
        assert_false(has_step(&f.plan, PLAN_COPY_RETIRE, protected_copy->id));
        assert_int_equal(f.plan.kept_protected, 1);
        /* i-b's own source is copied (its us-west-2 copy does not count here), and i-z's */
        assert_int_equal(count_kind(&f.plan, PLAN_COPY_START), 2);
        fleet_done(&f);
}

static void test_deprecate_after_once_per_copy(void **state) {
        fleet f;
        ec2_image *c;

        (void) state;
        fleet_init(&f, 5, 0);
        f.dest.deprecate_after = 30 * DAY;
        c = copy_of(&f, source(&f, "i-a", 0), "us-east-1", EC2_IMAGE_PENDING);
        build(&f, SLOT0 + 3600, PLAN_COPY_CONCURRENT_MAX);
        assert_int_equal(f.plan.n, 1);
        assert_int_equal(f.plan.steps[0].kind, PLAN_COPY_DEPRECATE);
        assert_int_equal(f.plan.steps[0].deprecate_at, c->creation_date + 30 * DAY);
        /* long past: EC2's earliest minute */
        build(&f, SLOT0 + 90 * DAY, PLAN_COPY_CONCURRENT_MAX);
        assert_int_equal(f.plan.steps[0].deprecate_at, plan_deprecate_floor(SLOT0 + 90 * DAY));
        /* marked: done, whatever a person did since */
        assert_int_equal(ec2_tags_add(&c->tags, TAG_DEPRECATION, "2026-12-26T03:01:00Z"), 0);
        build(&f, SLOT0 + 3600, PLAN_COPY_CONCURRENT_MAX);
        assert_int_equal(f.plan.n, 0);
        fleet_done(&f);
}

static void test_the_token_is_stable_short_and_distinct(void **state) {
        char a[PLAN_COPY_TOKEN_MAX + 1], b[PLAN_COPY_TOKEN_MAX + 1];

        (void) state;
        plan_copy_token("web", "ami-0123456789abcdef0", "eu-west-1", NULL, 0, a);
        plan_copy_token("web", "ami-0123456789abcdef0", "eu-west-1", "", 0, b);
        assert_string_equal(a, b);
        assert_true(strlen(a) <= PLAN_COPY_TOKEN_MAX);
        assert_true(strncmp(a, "amirotd-", 8) == 0);
        plan_copy_token("web", "ami-0123456789abcdef0", "eu-west-1", "444455556666", 0, b);
        assert_string_not_equal(a, b);
        plan_copy_token("web", "ami-0123456789abcdef0", "eu-central-1", NULL, 0, b);
        assert_string_not_equal(a, b);
        plan_copy_token("web", "ami-0123456789abcdef0", "eu-west-1", NULL, 1, b);
        assert_string_not_equal(a, b);
        plan_copy_token("web2", "ami-0123456789abcdef0", "eu-west-1", NULL, 0, b);
        assert_string_not_equal(a, b);
}

/* ---- The main planner and the sweep ------------------------------------------------------- */

/* A policy selecting i-a (Role=web) with retain.count 1. */
static void main_policy(fleet *f, ec2_instance *inst, tag_selector *sel) {
        fleet_init(f, 1, 0);
        *sel = (tag_selector) { .key = (char *) "Role", .value = (char *) "web" };
        f->policy.tags = sel;
        f->policy.n_tags = 1;
        f->policy.states = 1u << EC2_INSTANCE_RUNNING;
        f->policy.name_template = (char *) POLICY_DEFAULT_NAME_TEMPLATE;
        *inst = (ec2_instance) { .id = (char *) "i-a", .state = EC2_INSTANCE_RUNNING };
        assert_int_equal(ec2_tags_add(&inst->tags, "Role", "web"), 0);
}

static void test_the_main_planner_ignores_copies(void **state) {
        fleet f;
        ec2_instance inst;
        tag_selector sel;
        plan p = {};

        (void) state;
        main_policy(&f, &inst, &sel);
        /* copies here of another region's images of i-a, the current slot's among them,
         * and more than retain.count: none takes the slot, none is retired or counted */
        for (int d = -3; d <= 0; d++)
                copy_of(&f, source(&f, "i-a", d), "us-west-2", EC2_IMAGE_AVAILABLE);
        assert_int_equal(plan_build(&(plan_input) {
                                            .policy = &f.policy, .region = "us-east-1", .now = SLOT0 + 3600,
                                            .instances = &inst, .n_instances = 1,
                                            .images = f.copies, .n_images = f.n_copies,
                                    }, &p), 0);
        assert_int_equal(p.n, 1);
        assert_int_equal(p.actions[0].kind, PLAN_CREATE);
        assert_int_equal(p.images_counted, 0);
        plan_done(&p);
        ec2_tags_done(&inst.tags);
        fleet_done(&f);
}

static void test_the_sweep_keeps_a_copys_snapshots(void **state) {
        fleet f;
        ec2_instance inst;
        tag_selector sel;
        ec2_snapshot snap = { .id = (char *) "snap-copy", .state = EC2_SNAPSHOT_COMPLETED, .start_time = SLOT0 - DAY };
        ec2_image *c;
        plan p = {};

        (void) state;
        main_policy(&f, &inst, &sel);
        /* a pending copy whose snapshot its mappings do not list yet: no orphan */
        c = copy_of(&f, source(&f, "i-a", -1), "us-west-2", EC2_IMAGE_PENDING);
        c->n_devices = 0;
        assert_int_equal(ec2_tags_add(&snap.tags, TAG_POLICY, "web"), 0);
        assert_int_equal(ec2_tags_add(&snap.tags, TAG_INSTANCE_ID, "i-a"), 0);
        assert_int_equal(ec2_tags_add(&snap.tags, TAG_SLOT, ec2_tags_get(&c->tags, TAG_SLOT)), 0);
        assert_int_equal(plan_build(&(plan_input) {
                                            .policy = &f.policy, .region = "us-east-1", .now = SLOT0 + 3600,
                                            .instances = &inst, .n_instances = 1,
                                            .images = c, .n_images = 1,
                                            .snapshots = &snap, .n_snapshots = 1,
                                    }, &p), 0);
        for (size_t i = 0; i < p.n; i++)
                assert_int_not_equal(p.actions[i].kind, PLAN_DELETE_SNAPSHOT);
        plan_done(&p);
        /* the same snapshot without the copy is an orphan: the test can fail */
        c->state = EC2_IMAGE_DEREGISTERED;
        assert_int_equal(plan_build(&(plan_input) {
                                            .policy = &f.policy, .region = "us-east-1", .now = SLOT0 + 3600,
                                            .instances = &inst, .n_instances = 1,
                                            .images = c, .n_images = 1,
                                            .snapshots = &snap, .n_snapshots = 1,
                                    }, &p), 0);
        assert_int_equal(p.actions[p.n - 1].kind, PLAN_DELETE_SNAPSHOT);
        plan_done(&p);
        ec2_tags_done(&inst.tags);
        ec2_tags_done(&snap.tags);
        fleet_done(&f);
}

/* ---- Property ----------------------------------------------------------------------------- */

static uint64_t rng_state;

static unsigned rnd(unsigned n) {
        rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
        return (unsigned) ((rng_state >> 33) % n);
}

/* Random sources and copies; what the plan copies becomes available; the next plan at the
 * same time then neither copies more nor retires any of those copies, never retires the
 * newest available copy of an instance nor a pending one, and starts no more than allowed. */
static void test_property_copy_then_keep_agree(void **state) {
        const char *env = getenv("AMIROTD_TEST_SEED");
        uint64_t seed = env ? strtoull(env, NULL, 10) : 1;
        static const char *const instances[] = { "i-a", "i-b", "i-c" };

        (void) state;
        for (unsigned round = 0; round < 2000; round++) {
                fleet f;
                size_t before;
                unsigned deferred;
                unsigned slots = 1 + rnd(6);
                time_t now;

                rng_state = seed * 1000003 + round;
                fleet_init(&f, 10, 1 + rnd(4));
                if (rnd(3) == 0) {
                        f.dest.retain.max_age = (1 + rnd(10)) * DAY;
                        f.dest.retain.tiers[RETAIN_WEEKLY] = rnd(3);
                }
                for (int d = 0; d < 20; d++) {
                        ec2_image *s;

                        if (rnd(2))
                                continue;
                        s = source(&f, instances[rnd(3)], d);
                        switch (rnd(5)) {
                        case 0:
                                copy_of(&f, s, "us-east-1", EC2_IMAGE_AVAILABLE);
                                break;
                        case 1:
                                copy_of(&f, s, "us-east-1", EC2_IMAGE_PENDING);
                                break;
                        case 2:
                                copy_of(&f, s, "us-east-1", EC2_IMAGE_FAILED);
                                break;
                        }
                }
                now = SLOT0 + 20 * DAY;
                build(&f, now, slots);
                assert_true(count_kind(&f.plan, PLAN_COPY_START) <= slots);
                for (size_t i = 0; i < f.plan.n; i++)
                        if (f.plan.steps[i].kind == PLAN_COPY_RETIRE)
                                assert_true(f.plan.steps[i].image->state != EC2_IMAGE_PENDING);
                /* carry the plan out: retired ones gone, started ones available */
                for (size_t i = 0; i < f.plan.n; i++)
                        for (size_t k = 0; k < f.n_copies; k++)
                                if (f.plan.steps[i].kind == PLAN_COPY_RETIRE && f.plan.steps[i].image == &f.copies[k])
                                        f.copies[k].state = EC2_IMAGE_DEREGISTERED;
                before = f.n_copies;
                deferred = f.plan.deferred;
                for (size_t i = 0; i < f.plan.n; i++)
                        if (f.plan.steps[i].kind == PLAN_COPY_START)
                                copy_of(&f, f.plan.steps[i].image, "us-east-1", EC2_IMAGE_AVAILABLE);
                for (size_t i = 0; i < f.n_copies; i++)
                        if (f.copies[i].state == EC2_IMAGE_PENDING)
                                f.copies[i].state = EC2_IMAGE_AVAILABLE;
                build(&f, now, PLAN_COPY_CONCURRENT_MAX);
                for (size_t i = 0; i < f.plan.n; i++) {
                        const plan_copy_step *s = &f.plan.steps[i];

                        if (s->kind != PLAN_COPY_RETIRE)
                                continue;
                        for (size_t k = before; k < f.n_copies; k++)
                                if (s->image == &f.copies[k])
                                        fail_msg("seed %" PRIu64 " round %u: copy %s retired right after it was made",
                                                 seed, round, s->image->id);
                }
                if (deferred == 0 && count_kind(&f.plan, PLAN_COPY_START) > 0)
                        fail_msg("seed %" PRIu64 " round %u: more to copy right after", seed, round);
                fleet_done(&f);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_new_source_is_copied_once),
                cmocka_unit_test(test_with_verify_only_passed_sources_are_copied),
                cmocka_unit_test(test_after_downtime_only_the_newest_count_are_copied),
                cmocka_unit_test(test_copies_retire_only_once_their_successor_is_available),
                cmocka_unit_test(test_the_newest_copy_stays_whatever_max_age_says),
                cmocka_unit_test(test_a_failed_copy_is_retired_and_its_source_copied_again),
                cmocka_unit_test(test_the_concurrent_limit_defers_the_oldest),
                cmocka_unit_test(test_what_is_not_ours_to_copy_or_retire),
                cmocka_unit_test(test_deprecate_after_once_per_copy),
                cmocka_unit_test(test_the_token_is_stable_short_and_distinct),
                cmocka_unit_test(test_the_main_planner_ignores_copies),
                cmocka_unit_test(test_the_sweep_keeps_a_copys_snapshots),
                cmocka_unit_test(test_property_copy_then_keep_agree),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
