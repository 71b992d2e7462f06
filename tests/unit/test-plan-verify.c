/* SPDX-License-Identifier: MIT */
/*
 * The planner with verify (plan.h, run/verify-plan.h), on small hand-built fleets:
 * retention counts passed images only; unverified ones are set aside (neither counted nor
 * retired, and they hold their slot); failed ones are garbage, retired with their reason
 * within max_retire_per_run and without retire stages; an image of plan_input.passed counts
 * as passed before its tag shows, and one of plan_retire_ready()'s ready[] only when named
 * there; protection's newest are passed ones, an unjudged image keeps its protection and a
 * coming one takes no place; test instances are never targets; and without verify the
 * tags change nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "run/plan.h"

#define DAY (24 * 3600)
/* 2026-11-26T03:00:00Z: the start of the slot in which NOW lies, for `every: 24h at 03:00`. */
#define SLOT0 ((time_t) 1795662000)
#define NOW (SLOT0 + 3600)

typedef struct fleet {
        policy policy;
        ec2_instance instance;
        ec2_image images[16];
        size_t n;
        plan plan;
} fleet;

static void fleet_init(fleet *f, unsigned count, bool verify) {
        *f = (fleet) {
                .policy = {
                        .name = (char *) "web",
                        .states = 1u << EC2_INSTANCE_RUNNING,
                        .schedule = { .kind = SCHEDULE_EVERY, .every = DAY, .at = 3 * 3600 },
                        .name_template = (char *) "{policy}-{instance_id}-{slot}",
                        .retain_count = count,
                        .max_retire_per_run = 1,        /* retention bounded hard: garbage is not */
                        .verify = { .set = verify, .timeout = 900, .max_concurrent = 1 },
                },
                .instance = { .id = (char *) "i-a", .state = EC2_INSTANCE_RUNNING },
        };
}

static void fleet_done(fleet *f) {
        for (size_t i = 0; i < f->n; i++) {
                free(f->images[i].id);
                ec2_tags_done(&f->images[i].tags);
        }
        ec2_tags_done(&f->instance.tags);
        plan_done(&f->plan);
}

/* An available image of i-a for the slot `days_ago` days before the current one, with its
 * verdict (NULL: none) and, when failed, its reason. */
static ec2_image *add(fleet *f, const char *id, int days_ago, const char *verified, const char *reason) {
        ec2_image *g = &f->images[f->n++];
        char slot[SLOT_ID_MAX];

        assert_non_null(slot_id_format(SLOT0 - (time_t) days_ago * DAY, slot));
        *g = (ec2_image) { .id = strdup(id), .state = EC2_IMAGE_AVAILABLE,
                           .creation_date = SLOT0 - (time_t) days_ago * DAY + 60 };
        assert_non_null(g->id);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_POLICY, "web"), 0);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_INSTANCE_ID, "i-a"), 0);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_SLOT, slot), 0);
        if (verified)
                assert_int_equal(ec2_tags_add(&g->tags, TAG_VERIFIED, verified), 0);
        if (reason)
                assert_int_equal(ec2_tags_add(&g->tags, TAG_VERIFY_REASON, reason), 0);
        return g;
}

static void build(fleet *f, bool with_instance, char *const *created, char *const *passed) {
        plan_input in = {
                .policy = &f->policy, .region = "us-east-1", .now = NOW,
                .instances = with_instance ? &f->instance : NULL, .n_instances = with_instance,
                .images = f->images, .n_images = f->n, .created = created, .passed = passed,
        };

        plan_done(&f->plan);
        assert_int_equal(plan_build(&in, &f->plan), 0);
}

/* The RETIREs of the plan, each "id reason", in order, then NULL. */
static void assert_retires(const plan *p, const char *const *expect) {
        size_t n = 0;

        for (size_t k = 0; k < p->n; k++) {
                char line[512];

                if (p->actions[k].kind != PLAN_RETIRE)
                        continue;
                snprintf(line, sizeof(line), "%s %s", p->actions[k].image_id, p->actions[k].reason);
                if (!expect[n])
                        fail_msg("unexpected RETIRE %s", line);
                assert_string_equal(line, expect[n]);
                n++;
        }
        assert_null(expect[n]);
}

static size_t count_kind(const plan *p, plan_action_kind kind) {
        size_t n = 0;

        for (size_t k = 0; k < p->n; k++)
                n += p->actions[k].kind == kind;
        return n;
}

static void test_count_counts_passed_images_only(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 3, true);
        add(&f, "ami-p5", 5, "passed", NULL);
        add(&f, "ami-p4", 4, "passed", NULL);
        add(&f, "ami-u3", 3, NULL, NULL);
        add(&f, "ami-p2", 2, "passed", NULL);
        add(&f, "ami-u1", 1, NULL, NULL);
        build(&f, false, NULL, NULL);
        /* Three passed: nothing beyond count; the unverified ones neither count nor go. */
        assert_retires(&f.plan, (const char *const[]) { NULL });
        assert_int_equal(f.plan.images_counted, 3);

        add(&f, "ami-p0", 0, "passed", NULL);
        build(&f, false, NULL, NULL);
        assert_retires(&f.plan, (const char *const[]) { "ami-p5 beyond retain.count 3", NULL });
        assert_int_equal(f.plan.images_counted, 4);
        fleet_done(&f);
}

static void test_a_failed_newest_never_pushes_a_passed_one_out(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 2, true);
        add(&f, "ami-p3", 3, "passed", NULL);
        add(&f, "ami-p2", 2, "passed", NULL);
        add(&f, "ami-f1", 1, "failed", "status check impaired: instance");
        add(&f, "ami-u0", 0, NULL, NULL);
        build(&f, true, NULL, NULL);
        /* The failed one is garbage, with its reason; both passed stay. */
        assert_retires(&f.plan, (const char *const[]) {
                "ami-f1 failed verification: status check impaired: instance", NULL });
        /* Bounded as retention's (a tag anyone can write), but garbage: no retire stages. */
        assert_true(f.plan.actions[0].retention);
        assert_true(f.plan.actions[0].verify_failed);
        /* The unverified image holds the current slot: no second CreateImage. */
        assert_int_equal(count_kind(&f.plan, PLAN_CREATE), 0);

        /* With retire stages, still retired at once: garbage is not staged. */
        f.policy.retire_stages = 1u << RETIRE_DEPRECATE;
        f.policy.retire_after[RETIRE_DEPRECATE] = DAY;
        build(&f, true, NULL, NULL);
        assert_retires(&f.plan, (const char *const[]) {
                "ami-f1 failed verification: status check impaired: instance", NULL });
        assert_int_equal(count_kind(&f.plan, PLAN_RELEASE), 0);
        fleet_done(&f);
}

static void test_unverified_images_are_never_retired_however_old(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 1, true);
        f.policy.retain_max_age = 2 * DAY;
        add(&f, "ami-u9", 90, NULL, NULL);
        add(&f, "ami-x8", 80, "someday", NULL);         /* no verdict amirotd writes: unverified */
        add(&f, "ami-p1", 1, "passed", NULL);
        build(&f, false, NULL, NULL);
        assert_retires(&f.plan, (const char *const[]) { NULL });
        fleet_done(&f);
}

/* amirotd:verified=failed is a tag anyone with CreateTags can write: failed images are
 * retired under retention's bound (plan-bound.c), so a mass re-tag costs a few images a
 * run, not the policy's history. */
static void test_failed_images_are_retired_bounded_with_their_reasons(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 5, true);
        add(&f, "ami-f3", 3, "failed", "never left pending within 15m");
        add(&f, "ami-f2", 2, "failed", NULL);
        add(&f, "ami-f1", 1, "failed", "the instance stopped: Client.InstanceInitiatedShutdown");
        /* Released (retire stages) or disabled by a person: not garbage of verify's. */
        add(&f, "ami-fr", 4, "failed", "x");
        assert_int_equal(ec2_tags_add(&f.images[f.n - 1].tags, TAG_RETIRED_AT, "2026-11-22T03:00:00Z"), 0);
        add(&f, "ami-fd", 5, "failed", "x")->state = EC2_IMAGE_DISABLED;
        build(&f, false, NULL, NULL);
        /* max_retire_per_run 1%: the instance's one rotation, the oldest; the others held. */
        assert_retires(&f.plan, (const char *const[]) {
                "ami-f3 failed verification: never left pending within 15m",
                /* The released one is plan-stage.c's (this policy has no `retire`): once. */
                "ami-fr released at 2026-11-22T03:00:00Z, and the policy has no 'retire' any more",
                NULL });
        assert_int_equal(f.plan.n_held, 2);

        /* With room in the allowance, all three, oldest first. */
        f.policy.max_retire_per_run = 100;
        add(&f, "ami-p6", 6, "passed", NULL);
        add(&f, "ami-p7", 7, "passed", NULL);
        build(&f, false, NULL, NULL);
        assert_retires(&f.plan, (const char *const[]) {
                "ami-f3 failed verification: never left pending within 15m",
                "ami-f2 failed verification",
                "ami-f1 failed verification: the instance stopped: Client.InstanceInitiatedShutdown",
                "ami-fr released at 2026-11-22T03:00:00Z, and the policy has no 'retire' any more",
                NULL });
        assert_int_equal(f.plan.n_held, 0);

        /* A failed creation is EC2's verdict, not a tag: garbage, unbounded. */
        f.policy.max_retire_per_run = 1;
        add(&f, "ami-x8", 8, NULL, NULL)->state = EC2_IMAGE_FAILED;
        add(&f, "ami-x9", 9, NULL, NULL)->state = EC2_IMAGE_FAILED;
        build(&f, false, NULL, NULL);
        assert_int_equal(f.plan.n_held, 2);
        fleet_done(&f);
}

static void test_passed_in_this_run_counts_before_its_tag_shows(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 2, true);
        add(&f, "ami-p3", 3, "passed", NULL);
        add(&f, "ami-p2", 2, "passed", NULL);
        add(&f, "ami-n1", 1, NULL, NULL);               /* passed in this run: its tag not seen yet */
        build(&f, false, NULL, NULL);
        assert_retires(&f.plan, (const char *const[]) { NULL });
        build(&f, false, NULL, (char *const[]) { (char *) "ami-other", (char *) "ami-n1", NULL });
        assert_retires(&f.plan, (const char *const[]) { "ami-p3 beyond retain.count 2", NULL });
        fleet_done(&f);
}

/* A ready image (available, made by this run) counts as passed only once in->passed names
 * it: available is not booted, and an unproven image never pushes a passed one out. */
static void test_ready_images_count_as_passed_only_when_named(void **state) {
        plan_ready_image ready = { .instance_id = (char *) "i-a", .image_id = (char *) "ami-n0" };
        plan_image_index index = {};
        plan earlier = { .retire_percent = 100, .retire_allowance = 100 };
        fleet f;

        (void) state;
        fleet_init(&f, 2, true);
        add(&f, "ami-p3", 3, "passed", NULL);
        add(&f, "ami-p2", 2, "passed", NULL);
        add(&f, "ami-n0", 0, NULL, NULL);               /* the index read it before its verdict */
        plan_input in = { .policy = &f.policy, .region = "us-east-1", .now = NOW, .earlier = &earlier };

        assert_int_equal(plan_image_index_build(f.images, f.n, "web", &index), 0);
        /* Not named: not counted, and nothing is retired. */
        assert_int_equal(plan_retire_ready(&in, &index, &ready, 1, &f.plan), 0);
        assert_retires(&f.plan, (const char *const[]) { NULL });
        plan_done(&f.plan);
        in.passed = (char *const[]) { (char *) "ami-other", NULL };
        assert_int_equal(plan_retire_ready(&in, &index, &ready, 1, &f.plan), 0);
        assert_retires(&f.plan, (const char *const[]) { NULL });
        plan_done(&f.plan);

        /* Named: it passed in this run, and the oldest passed one goes. */
        in.passed = (char *const[]) { (char *) "ami-other", (char *) "ami-n0", NULL };
        assert_int_equal(plan_retire_ready(&in, &index, &ready, 1, &f.plan), 0);
        assert_retires(&f.plan, (const char *const[]) { "ami-p3 beyond retain.count 2", NULL });
        plan_image_index_done(&index);
        fleet_done(&f);
}

static void test_without_verify_the_tags_change_nothing(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 2, false);
        add(&f, "ami-f3", 3, "failed", "status check impaired: system");
        add(&f, "ami-u2", 2, NULL, NULL);
        add(&f, "ami-p1", 1, "passed", NULL);
        f.policy.max_retire_per_run = 100;
        build(&f, true, NULL, NULL);
        assert_retires(&f.plan, (const char *const[]) { "ami-f3 beyond retain.count 2", NULL });
        assert_int_equal(count_kind(&f.plan, PLAN_CREATE), 1);
        assert_int_equal(f.plan.images_counted, 3);
        fleet_done(&f);
}

static void test_test_instances_are_never_targets(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 2, true);
        build(&f, true, NULL, NULL);
        assert_int_equal(f.plan.n_targets, 1);
        assert_int_equal(count_kind(&f.plan, PLAN_CREATE), 1);

        /* A test instance carries the tags its image copied from i-a: still no target. */
        assert_int_equal(ec2_tags_add(&f.instance.tags, TAG_VERIFY_OF, "ami-0abc"), 0);
        build(&f, true, NULL, NULL);
        assert_int_equal(f.plan.n_targets, 0);
        assert_int_equal(count_kind(&f.plan, PLAN_CREATE), 0);
        assert_false(plan_instance_selected(&f.policy, &f.instance));

        /* So without verify: a policy that no longer verifies still must not image them. */
        f.policy.verify.set = false;
        build(&f, true, NULL, NULL);
        assert_int_equal(f.plan.n_targets, 0);
        fleet_done(&f);
}

static void test_protection_follows_passed_images(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 5, true);
        f.policy.protect_newest = 1;
        add(&f, "ami-p2", 2, "passed", NULL);
        add(&f, "ami-u1", 1, NULL, NULL);
        add(&f, "ami-f0", 0, "failed", "status check impaired: system");
        build(&f, true, NULL, NULL);
        assert_int_equal(count_kind(&f.plan, PLAN_PROTECT), 1);
        for (size_t k = 0; k < f.plan.n; k++)
                if (f.plan.actions[k].kind == PLAN_PROTECT)
                        assert_string_equal(f.plan.actions[k].image_id, "ami-p2");
        assert_retires(&f.plan, (const char *const[]) {
                "ami-f0 failed verification: status check impaired: system", NULL });
        fleet_done(&f);
}

/* The ops on image id in the plan: "P" protect, "U" unprotect, in order. */
static void ops_of(const plan *p, const char *id, char *buf) {
        *buf = 0;
        for (size_t k = 0; k < p->n; k++)
                if (streq_ptr(p->actions[k].image_id, id) &&
                    (p->actions[k].kind == PLAN_PROTECT || p->actions[k].kind == PLAN_UNPROTECT))
                        strcat(buf, p->actions[k].kind == PLAN_PROTECT ? "P" : "U");
}

static void mark_protected(ec2_image *g) {
        g->dereg_protection = EC2_DEREG_PROTECTION_ENABLED;
        assert_int_equal(ec2_tags_add(&g->tags, TAG_PROTECTED, "true"), 0);
}

/* Turning verify on unprotects nothing: an unverified image neither takes a place among
 * the newest nor loses its protection; a failed one loses its place. */
static void test_unverified_images_keep_their_protection(void **state) {
        char ops[16];
        fleet f;

        (void) state;
        fleet_init(&f, 5, true);
        f.policy.protect_newest = 2;
        add(&f, "ami-p3", 3, "passed", NULL);
        mark_protected(add(&f, "ami-f4", 4, "failed", "status check impaired: instance"));
        mark_protected(add(&f, "ami-u2", 2, NULL, NULL));
        mark_protected(add(&f, "ami-u1", 1, NULL, NULL));
        build(&f, true, NULL, NULL);
        assert_int_equal(count_kind(&f.plan, PLAN_CREATE), 1);
        ops_of(&f.plan, "ami-u1", ops);
        assert_string_equal(ops, "");
        ops_of(&f.plan, "ami-u2", ops);
        assert_string_equal(ops, "");
        ops_of(&f.plan, "ami-f4", ops);
        assert_string_equal(ops, "U");
        ops_of(&f.plan, "ami-p3", ops);
        assert_string_equal(ops, "P");
        fleet_done(&f);
}

/* With verify, a new image on its way takes no place in anticipation: it may well fail. */
static void test_a_coming_image_takes_no_place_before_it_passed(void **state) {
        char ops[16];
        fleet f;

        (void) state;
        fleet_init(&f, 5, true);
        f.policy.protect_newest = 1;
        add(&f, "ami-p2", 2, "passed", NULL);
        build(&f, true, NULL, NULL);
        assert_int_equal(count_kind(&f.plan, PLAN_CREATE), 1);
        ops_of(&f.plan, "ami-p2", ops);
        assert_string_equal(ops, "P");
        fleet_done(&f);

        /* Without verify, as before: the coming image takes the place. */
        fleet_init(&f, 5, false);
        f.policy.protect_newest = 1;
        add(&f, "ami-p2", 2, NULL, NULL);
        build(&f, true, NULL, NULL);
        ops_of(&f.plan, "ami-p2", ops);
        assert_string_equal(ops, "");
        fleet_done(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_count_counts_passed_images_only),
                cmocka_unit_test(test_a_failed_newest_never_pushes_a_passed_one_out),
                cmocka_unit_test(test_unverified_images_are_never_retired_however_old),
                cmocka_unit_test(test_failed_images_are_retired_bounded_with_their_reasons),
                cmocka_unit_test(test_passed_in_this_run_counts_before_its_tag_shows),
                cmocka_unit_test(test_ready_images_count_as_passed_only_when_named),
                cmocka_unit_test(test_without_verify_the_tags_change_nothing),
                cmocka_unit_test(test_test_instances_are_never_targets),
                cmocka_unit_test(test_protection_follows_passed_images),
                cmocka_unit_test(test_unverified_images_keep_their_protection),
                cmocka_unit_test(test_a_coming_image_takes_no_place_before_it_passed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
