/* SPDX-License-Identifier: MIT */
/*
 * plan_stage(): staged retirement and image.deprecate_after, on small hand-built
 * fleets. Retention releases instead of retiring; each released image passes its
 * stages at their times and in order, each once; a stage a person undid is reported
 * once and never fought; and, over random durations and clocks, no image is ever
 * deregistered before its retired-at plus deregister_after.
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
        ec2_image images[8];
        size_t n;
        plan plan;
} fleet;

static void fleet_init(fleet *f, unsigned count) {
        *f = (fleet) {
                .policy = {
                        .name = (char *) "web",
                        .schedule = { .kind = SCHEDULE_EVERY, .every = DAY, .at = 3 * 3600 },
                        .retain_count = count,
                        .max_retire_per_run = 100,
                },
        };
}

static void retire_after(fleet *f, retire_stage s, uint64_t seconds) {
        f->policy.retire_stages |= 1u << s;
        f->policy.retire_after[s] = seconds;
}

static void fleet_done(fleet *f) {
        for (size_t i = 0; i < f->n; i++) {
                free(f->images[i].id);
                free(f->images[i].devices);
                ec2_tags_done(&f->images[i].tags);
        }
        plan_done(&f->plan);
}

/* An available image of i-a for the slot `days_ago` days before the current one, with one snapshot. */
static ec2_image *add_image(fleet *f, const char *id, int days_ago) {
        ec2_image *g = &f->images[f->n++];
        char slot[SLOT_ID_MAX];

        assert_non_null(slot_id_format(SLOT0 - (time_t) days_ago * DAY, slot));
        *g = (ec2_image) { .id = strdup(id), .state = EC2_IMAGE_AVAILABLE,
                           .creation_date = SLOT0 - (time_t) days_ago * DAY };
        g->devices = calloc(1, sizeof(ec2_block_device));
        assert_non_null(g->devices);
        g->devices[0] = (ec2_block_device) { .device_name = (char *) "/dev/xvda", .snapshot_id = (char *) "snap-1" };
        g->n_devices = 1;
        assert_non_null(g->id);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_POLICY, "web"), 0);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_INSTANCE_ID, "i-a"), 0);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_SLOT, slot), 0);
        return g;
}

static void set_tag(ec2_image *g, const char *key, const char *value) {
        assert_int_equal(ec2_tags_add(&g->tags, key, value), 0);
}

static ec2_image *released_at(ec2_image *g, time_t t0, const char *stage) {
        char t[ISO8601_MAX];

        set_tag(g, TAG_RETIRED_AT, format_iso8601(t0, t));
        if (stage)
                set_tag(g, TAG_STAGE, stage);
        return g;
}

static void plan_at(fleet *f, time_t now, const plan *earlier) {
        plan_input in = { .policy = &f->policy, .region = "us-east-1", .now = now,
                          .images = f->images, .n_images = f->n, .earlier = earlier };

        plan_done(&f->plan);
        assert_int_equal(plan_build(&in, &f->plan), 0);
}

static const plan_action *only_action(const fleet *f, plan_action_kind kind, const char *image_id) {
        assert_int_equal(f->plan.n, 1);
        assert_int_equal(f->plan.actions[0].kind, kind);
        assert_string_equal(f->plan.actions[0].image_id, image_id);
        return &f->plan.actions[0];
}

static void test_without_retire_retention_deregisters_at_once(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 1);
        add_image(&f, "ami-1", 2);
        add_image(&f, "ami-2", 1);
        plan_at(&f, NOW, NULL);
        only_action(&f, PLAN_RETIRE, "ami-1");
        fleet_done(&f);
}

static void test_retention_releases_and_schedules_the_deprecation(void **state) {
        const plan_action *a;
        char t[ISO8601_MAX];
        fleet f;

        (void) state;
        fleet_init(&f, 1);
        retire_after(&f, RETIRE_DEPRECATE, 2 * DAY);
        retire_after(&f, RETIRE_DEREGISTER, 30 * DAY);
        add_image(&f, "ami-1", 2);
        add_image(&f, "ami-2", 1);
        plan_at(&f, NOW + 17, NULL);

        a = only_action(&f, PLAN_RELEASE, "ami-1");
        assert_true(a->retention);
        assert_string_equal(ec2_tags_get(&a->image_tags, TAG_RETIRED_AT), format_iso8601(NOW, t));
        assert_string_equal(ec2_tags_get(&a->image_tags, TAG_STAGE), "");
        assert_int_equal(a->deprecate_at, NOW + 2 * DAY);
        assert_string_equal(ec2_tags_get(&a->mark_tags, TAG_STAGE), "deprecated");
        assert_int_equal(f.plan.images_counted, 2);
        fleet_done(&f);
}

static void test_released_images_are_neither_counted_nor_kept(void **state) {
        fleet f;

        (void) state;
        /* The newest image is released (a retention that changed since): the other two
         * are the policy's two counted images, and neither goes. */
        fleet_init(&f, 2);
        retire_after(&f, RETIRE_DEREGISTER, 30 * DAY);
        add_image(&f, "ami-1", 3);
        add_image(&f, "ami-2", 2);
        released_at(add_image(&f, "ami-3", 1), NOW - DAY, NULL);
        plan_at(&f, NOW, NULL);
        assert_int_equal(f.plan.n, 0);
        assert_int_equal(f.plan.images_counted, 2);
        fleet_done(&f);
}

static void test_each_stage_at_its_time_in_order_and_once(void **state) {
        time_t t0 = NOW - 60;
        ec2_image *g;
        const plan_action *a;
        fleet f;

        (void) state;
        fleet_init(&f, 1);
        retire_after(&f, RETIRE_DEPRECATE, 0);
        retire_after(&f, RETIRE_DISABLE, 7 * DAY);
        retire_after(&f, RETIRE_DEREGISTER, 30 * DAY);
        g = add_image(&f, "ami-1", 2);
        add_image(&f, "ami-2", 1);
        released_at(g, t0, NULL);       /* a crash after the release's tag: the deprecation is still due */

        plan_at(&f, NOW, NULL);
        a = only_action(&f, PLAN_DEPRECATE, "ami-1");
        assert_int_equal(a->deprecate_at, plan_deprecate_floor(NOW));
        assert_string_equal(ec2_tags_get(&a->mark_tags, TAG_STAGE), "deprecated");

        set_tag(g, TAG_STAGE, "deprecated");
        g->deprecation_minute = ec2_deprecation_minute(a->deprecate_at);
        plan_at(&f, t0 + 7 * DAY - 1, NULL);
        assert_int_equal(f.plan.n, 0);                  /* done once, not again */

        plan_at(&f, t0 + 7 * DAY, NULL);
        a = only_action(&f, PLAN_DISABLE, "ami-1");
        assert_int_equal(a->due, t0 + 7 * DAY);
        assert_string_equal(ec2_tags_get(&a->mark_tags, TAG_STAGE), "disabled");

        g->state = EC2_IMAGE_DISABLED;
        set_tag(g, TAG_STAGE, "disabled");
        plan_at(&f, t0 + 30 * DAY - 1, NULL);
        assert_int_equal(f.plan.n, 0);

        plan_at(&f, t0 + 30 * DAY, NULL);
        a = only_action(&f, PLAN_RETIRE, "ami-1");
        assert_false(a->retention);
        assert_int_equal(a->stage, RETIRE_DEREGISTER);
        assert_string_equal(a->snapshot_ids[0], "snap-1");
        assert_null(a->snapshot_ids[1]);
        fleet_done(&f);
}

static void test_a_disable_whose_tag_was_lost_is_only_tagged(void **state) {
        const plan_action *a;
        ec2_image *g;
        fleet f;

        (void) state;
        fleet_init(&f, 1);
        retire_after(&f, RETIRE_DISABLE, DAY);
        add_image(&f, "ami-2", 1);
        g = add_image(&f, "ami-1", 2);
        released_at(g, NOW - 2 * DAY, NULL);
        g->state = EC2_IMAGE_DISABLED;  /* DisableImage succeeded, the crash came before the tag */

        plan_at(&f, NOW, NULL);
        a = only_action(&f, PLAN_DISABLE, "ami-1");
        assert_int_equal(a->image_state, EC2_IMAGE_DISABLED);       /* exec-stage.c skips the call */
        fleet_done(&f);
}

static void test_a_persons_restoration_is_reported_once_and_left_alone(void **state) {
        const plan_action *a;
        ec2_image *g, *h;
        fleet f;

        (void) state;
        fleet_init(&f, 1);
        retire_after(&f, RETIRE_DEPRECATE, 0);
        retire_after(&f, RETIRE_DISABLE, DAY);
        retire_after(&f, RETIRE_DEREGISTER, 2 * DAY);
        add_image(&f, "ami-3", 1);
        g = add_image(&f, "ami-1", 3);
        released_at(g, NOW - 3 * DAY, "disabled");     /* EnableImage by a person: available again */
        h = add_image(&f, "ami-2", 2);
        released_at(h, NOW - 3 * DAY, "deprecated");   /* DisableImageDeprecation: no deprecation time */

        plan_at(&f, NOW, NULL);
        assert_int_equal(f.plan.n, 2);
        for (size_t k = 0; k < 2; k++) {
                a = &f.plan.actions[k];
                assert_int_equal(a->kind, PLAN_RESTORED);
                assert_string_equal(ec2_tags_get(&a->mark_tags, TAG_STAGE), "restored");
        }

        set_tag(g, TAG_STAGE, "restored");
        set_tag(h, TAG_STAGE, "restored");
        plan_at(&f, NOW + 30 * DAY, NULL);
        assert_int_equal(f.plan.n, 0);          /* long past every stage: never fought */
        fleet_done(&f);
}

static void test_image_deprecate_after_as_dlm(void **state) {
        const plan_action *a;
        ec2_image *g;
        char t[ISO8601_MAX];
        fleet f;

        (void) state;
        fleet_init(&f, 3);
        f.policy.deprecate_after = 10 * DAY;
        add_image(&f, "ami-old", 20);           /* past its age: the earliest time EC2 takes */
        g = add_image(&f, "ami-new", 1);

        plan_at(&f, NOW, NULL);
        assert_int_equal(f.plan.n, 2);
        a = &f.plan.actions[0];
        assert_int_equal(a->kind, PLAN_DEPRECATE);
        assert_string_equal(a->image_id, "ami-new");
        assert_int_equal(a->deprecate_at, g->creation_date + 10 * DAY);
        assert_string_equal(ec2_tags_get(&a->mark_tags, TAG_DEPRECATION), format_iso8601(a->deprecate_at, t));
        assert_int_equal(f.plan.actions[1].deprecate_at, plan_deprecate_floor(NOW));

        /* Done; then a person cancels the deprecation of ami-new: reported once. */
        g->deprecation_minute = ec2_deprecation_minute(a->deprecate_at);
        set_tag(g, TAG_DEPRECATION, t);
        set_tag(&f.images[0], TAG_DEPRECATION, "x");
        f.images[0].deprecation_minute = ec2_deprecation_minute(NOW + 60);
        plan_at(&f, NOW, NULL);
        assert_int_equal(f.plan.n, 0);
        g->deprecation_minute = 0;
        plan_at(&f, NOW, NULL);
        a = only_action(&f, PLAN_RESTORED, "ami-new");
        assert_string_equal(ec2_tags_get(&a->mark_tags, TAG_DEPRECATION), "removed");
        set_tag(g, TAG_DEPRECATION, "removed");
        plan_at(&f, NOW, NULL);
        assert_int_equal(f.plan.n, 0);
        fleet_done(&f);
}

static void test_a_later_plan_stages_nothing_twice(void **state) {
        plan_action spent = { .kind = PLAN_RETIRE, .instance_id = (char *) "i-a", .image_id = (char *) "ami-1",
                              .retention = true };
        plan earlier = { .actions = &spent, .n = 1, .retire_percent = 100, .retire_allowance = 100 };
        fleet f;

        (void) state;
        fleet_init(&f, 1);
        retire_after(&f, RETIRE_DEREGISTER, DAY);
        f.policy.deprecate_after = DAY;
        add_image(&f, "ami-1", 2);
        add_image(&f, "ami-2", 1)->deprecation_minute = ec2_deprecation_minute(NOW + DAY);
        released_at(add_image(&f, "ami-0", 5), NOW - 3 * DAY, NULL);

        plan_at(&f, NOW, &earlier);     /* ami-1 released by the first plan; ami-0 staged by it */
        assert_int_equal(f.plan.n, 0);
        fleet_done(&f);
}

static void test_released_images_go_at_once_when_retire_is_removed(void **state) {
        const plan_action *a;
        fleet f;

        (void) state;
        fleet_init(&f, 1);              /* no retire: the key was removed from the policy */
        add_image(&f, "ami-2", 1);
        released_at(add_image(&f, "ami-1", 2), NOW - DAY, "deprecated")->deprecation_minute =
                ec2_deprecation_minute(NOW + DAY);
        plan_at(&f, NOW, NULL);
        a = only_action(&f, PLAN_RETIRE, "ami-1");
        assert_false(a->retention);
        assert_non_null(strstr(a->reason, "no 'retire' any more"));
        fleet_done(&f);
}

/* ---- Property: random stage durations and clocks -------------------------------------- */

static unsigned seed = 13;

static unsigned rnd(void) {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) & 0x7fff;
}

/* What EC2 would hold after the action ran. */
static void apply(ec2_image *g, const plan_action *a) {
        for (size_t k = 0; k < a->image_tags.n; k++)
                set_tag(g, a->image_tags.items[k].key, a->image_tags.items[k].value);
        if (a->deprecate_at > 0)
                g->deprecation_minute = ec2_deprecation_minute(a->deprecate_at);
        if (a->kind == PLAN_DISABLE)
                g->state = EC2_IMAGE_DISABLED;
        if (a->kind == PLAN_RETIRE)
                g->state = EC2_IMAGE_DEREGISTERED;
        for (size_t k = 0; k < a->mark_tags.n; k++)
                set_tag(g, a->mark_tags.items[k].key, a->mark_tags.items[k].value);
}

static int rank(plan_action_kind k) {
        return k == PLAN_RELEASE ? 0 : k == PLAN_DEPRECATE ? 1 : k == PLAN_DISABLE ? 2 : 3;
}

static void one_random_life(void) {
        time_t now = NOW, t0 = 0;
        int last = -1;
        ec2_image *g;
        fleet f;

        fleet_init(&f, 1);
        for (int s = 0; s < _RETIRE_STAGE_MAX; s++)
                if (rnd() % 3 > 0)
                        retire_after(&f, (retire_stage) s, (uint64_t) (rnd() % 20) * DAY / 2 +
                                     (s > 0 ? f.policy.retire_after[s - 1] : 0));
        if (f.policy.retire_stages == 0)
                retire_after(&f, RETIRE_DEREGISTER, (uint64_t) (rnd() % 20) * DAY);
        g = add_image(&f, "ami-1", 2);
        add_image(&f, "ami-2", 1);

        for (int step = 0; step < 60 && g->state != EC2_IMAGE_DEREGISTERED; step++) {
                plan_at(&f, now, NULL);
                for (size_t k = 0; k < f.plan.n; k++) {
                        const plan_action *a = &f.plan.actions[k];

                        assert_string_equal(a->image_id, "ami-1");
                        assert_true(rank(a->kind) > last);      /* in order, each once */
                        last = rank(a->kind);
                        if (a->kind == PLAN_RELEASE)
                                t0 = now / 60 * 60;
                        else
                                assert_true(t0 > 0);
                        if (a->kind == PLAN_DISABLE)
                                assert_true(now >= t0 + (time_t) f.policy.retire_after[RETIRE_DISABLE]);
                        if (a->kind == PLAN_RETIRE) {
                                assert_true(f.policy.retire_stages & (1u << RETIRE_DEREGISTER));
                                assert_true(now >= t0 + (time_t) f.policy.retire_after[RETIRE_DEREGISTER]);
                        }
                        if (a->deprecate_at > 0 && f.policy.retire_stages & (1u << RETIRE_DEPRECATE))
                                assert_true(a->deprecate_at >= t0 + (time_t) f.policy.retire_after[RETIRE_DEPRECATE]);
                        apply(g, a);
                }
                now += (time_t) ((((unsigned long) rnd() << 15) | rnd()) % (3 * DAY));
        }
        if (g->state != EC2_IMAGE_DEREGISTERED && getenv("DEBUG_STAGE"))
                fprintf(stderr, "stages %u after %ju %ju %ju t0 %jd now %jd stage %s\n", f.policy.retire_stages,
                        (uintmax_t) f.policy.retire_after[0], (uintmax_t) f.policy.retire_after[1],
                        (uintmax_t) f.policy.retire_after[2], (intmax_t) t0, (intmax_t) now,
                        ec2_tags_get(&g->tags, TAG_STAGE) ?: "-");
        if (f.policy.retire_stages & (1u << RETIRE_DEREGISTER))
                assert_int_equal(g->state, EC2_IMAGE_DEREGISTERED);     /* 60 steps pass any delay here */
        else
                assert_int_not_equal(g->state, EC2_IMAGE_DEREGISTERED);
        fleet_done(&f);
}

static void test_random_stages_in_order_never_deregistered_early(void **state) {
        (void) state;
        for (int i = 0; i < 500; i++)
                one_random_life();
}

/* The deregister stage waits while deregistration protection is on (anyone's, or its
 * cooldown): EC2 would refuse the DeregisterImage on every run. */
static void test_the_deregister_stage_waits_for_protection(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 1);
        retire_after(&f, RETIRE_DEREGISTER, 7 * DAY);
        released_at(add_image(&f, "ami-1", 9), SLOT0 - 8 * DAY, NULL)->dereg_protection = EC2_DEREG_PROTECTION_ENABLED;
        add_image(&f, "ami-2", 0);
        plan_at(&f, NOW, NULL);
        assert_int_equal(f.plan.n, 0);

        f.images[0].dereg_protection = EC2_DEREG_PROTECTION_COOLDOWN;
        plan_at(&f, NOW, NULL);
        assert_int_equal(f.plan.n, 0);

        f.images[0].dereg_protection = EC2_DEREG_PROTECTION_DISABLED;
        plan_at(&f, NOW, NULL);
        only_action(&f, PLAN_RETIRE, "ami-1");
        fleet_done(&f);
}

/* A later plan of a run releases what its new image pushed out, though an earlier plan of
 * the run did something else to that image (protected it, deprecated it). */
static void test_a_later_plan_releases_an_image_an_earlier_one_only_protected(void **state) {
        plan_action spent = { .kind = PLAN_PROTECT, .instance_id = (char *) "i-a", .image_id = (char *) "ami-1" };
        plan earlier = { .actions = &spent, .n = 1, .retire_percent = 100, .retire_allowance = 100 };
        fleet f;

        (void) state;
        fleet_init(&f, 1);
        retire_after(&f, RETIRE_DEREGISTER, 7 * DAY);
        add_image(&f, "ami-1", 1);
        add_image(&f, "ami-2", 0);
        plan_at(&f, NOW, &earlier);
        only_action(&f, PLAN_RELEASE, "ami-1");
        fleet_done(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_without_retire_retention_deregisters_at_once),
                cmocka_unit_test(test_retention_releases_and_schedules_the_deprecation),
                cmocka_unit_test(test_released_images_are_neither_counted_nor_kept),
                cmocka_unit_test(test_each_stage_at_its_time_in_order_and_once),
                cmocka_unit_test(test_a_disable_whose_tag_was_lost_is_only_tagged),
                cmocka_unit_test(test_a_persons_restoration_is_reported_once_and_left_alone),
                cmocka_unit_test(test_image_deprecate_after_as_dlm),
                cmocka_unit_test(test_a_later_plan_stages_nothing_twice),
                cmocka_unit_test(test_released_images_go_at_once_when_retire_is_removed),
                cmocka_unit_test(test_random_stages_in_order_never_deregistered_early),
                cmocka_unit_test(test_the_deregister_stage_waits_for_protection),
                cmocka_unit_test(test_a_later_plan_releases_an_image_an_earlier_one_only_protected),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
