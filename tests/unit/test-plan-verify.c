/* SPDX-License-Identifier: MIT */
/*
 * The planner with verify (plan.h, run/verify-plan.h), on small hand-built fleets:
 * retention counts passed images only; unverified ones are set aside (neither counted nor
 * retired, and they hold their slot); failed ones are garbage, retired with their reason
 * and unbounded; an image of plan_input.passed or of plan_retire_ready()'s ready[] counts
 * as passed before its tag shows; protection's newest are passed ones; test instances are
 * never targets; and without verify the tags change nothing.
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
        assert_false(f.plan.actions[0].retention);
        /* The unverified image holds the current slot: no second CreateImage. */
        assert_int_equal(count_kind(&f.plan, PLAN_CREATE), 0);
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

static void test_failed_images_are_retired_unbounded_with_their_reasons(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 5, true);
        add(&f, "ami-f3", 3, "failed", "never left pending within 15m");
        add(&f, "ami-f2", 2, "failed", NULL);
        add(&f, "ami-f1", 1, "failed", "the instance stopped: Client.UserInitiatedShutdown");
        /* Released (retire stages) or disabled by a person: not garbage of verify's. */
        add(&f, "ami-fr", 4, "failed", "x");
        assert_int_equal(ec2_tags_add(&f.images[f.n - 1].tags, TAG_RETIRED_AT, "2026-11-22T03:00:00Z"), 0);
        add(&f, "ami-fd", 5, "failed", "x")->state = EC2_IMAGE_DISABLED;
        build(&f, false, NULL, NULL);
        /* Oldest first, all three though max_retire_per_run is 1%. */
        assert_retires(&f.plan, (const char *const[]) {
                "ami-f3 failed verification: never left pending within 15m",
                "ami-f2 failed verification",
                "ami-f1 failed verification: the instance stopped: Client.UserInitiatedShutdown",
                /* The released one is plan-stage.c's (this policy has no `retire`): once. */
                "ami-fr released at 2026-11-22T03:00:00Z, and the policy has no 'retire' any more",
                NULL });
        assert_int_equal(f.plan.n_held, 0);
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

static void test_ready_images_count_as_passed(void **state) {
        plan_ready_image ready = { .instance_id = (char *) "i-a", .image_id = (char *) "ami-n0" };
        plan_image_index index = {};
        plan earlier = { .retire_percent = 100, .retire_allowance = 100 };
        fleet f;

        (void) state;
        fleet_init(&f, 2, true);
        add(&f, "ami-p3", 3, "passed", NULL);
        add(&f, "ami-p2", 2, "passed", NULL);
        add(&f, "ami-p1", 1, NULL, NULL);               /* passed earlier in the run */
        add(&f, "ami-n0", 0, NULL, NULL);               /* the index read it before its verdict */
        plan_input in = { .policy = &f.policy, .region = "us-east-1", .now = NOW, .earlier = &earlier,
                          .passed = (char *const[]) { (char *) "ami-p1", NULL } };

        assert_int_equal(plan_image_index_build(f.images, f.n, "web", &index), 0);
        assert_int_equal(plan_retire_ready(&in, &index, &ready, 1, &f.plan), 0);
        assert_retires(&f.plan, (const char *const[]) {
                "ami-p3 beyond retain.count 2", "ami-p2 beyond retain.count 2", NULL });

        /* Without in->passed, ami-p1 is set aside and only ami-p3 goes. */
        in.passed = NULL;
        plan_done(&f.plan);
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_count_counts_passed_images_only),
                cmocka_unit_test(test_a_failed_newest_never_pushes_a_passed_one_out),
                cmocka_unit_test(test_unverified_images_are_never_retired_however_old),
                cmocka_unit_test(test_failed_images_are_retired_unbounded_with_their_reasons),
                cmocka_unit_test(test_passed_in_this_run_counts_before_its_tag_shows),
                cmocka_unit_test(test_ready_images_count_as_passed),
                cmocka_unit_test(test_without_verify_the_tags_change_nothing),
                cmocka_unit_test(test_test_instances_are_never_targets),
                cmocka_unit_test(test_protection_follows_passed_images),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
