/* SPDX-License-Identifier: MIT */
/*
 * plan_retire_ready(): what an instance may retire once its new image is available,
 * by the planner's own rules, on small hand-built fleets: only the ready instances
 * are touched, the new image counts and stays, what the run retired already is
 * neither counted nor retired again, and the run's bound carries over from the
 * plans before.
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
        ec2_image images[16];
        size_t n;
        plan_image_index index;
        plan plan;
} fleet;

static void fleet_init(fleet *f, unsigned count, unsigned percent) {
        *f = (fleet) {
                .policy = {
                        .name = (char *) "web",
                        .schedule = { .kind = SCHEDULE_EVERY, .every = DAY, .at = 3 * 3600 },
                        .retain_count = count,
                        .max_retire_per_run = percent,
                },
        };
}

static void fleet_done(fleet *f) {
        for (size_t i = 0; i < f->n; i++) {
                free(f->images[i].id);
                ec2_tags_done(&f->images[i].tags);
        }
        plan_image_index_done(&f->index);
        plan_done(&f->plan);
}

/* An available image of instance iid for the slot `days_ago` days before the current one. */
static void add_image(fleet *f, const char *id, const char *iid, int days_ago) {
        ec2_image *g = &f->images[f->n++];
        char slot[SLOT_ID_MAX];

        assert_non_null(slot_id_format(SLOT0 - (time_t) days_ago * DAY, slot));
        *g = (ec2_image) { .id = strdup(id), .state = EC2_IMAGE_AVAILABLE,
                           .creation_date = SLOT0 - (time_t) days_ago * DAY };
        assert_non_null(g->id);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_POLICY, "web"), 0);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_INSTANCE_ID, iid), 0);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_SLOT, slot), 0);
}

static void retire_ready(fleet *f, char *iid, char *image_id, const plan *earlier) {
        plan_ready_image ready = { .instance_id = iid, .image_id = image_id };
        plan_input in = { .policy = &f->policy, .region = "us-east-1", .now = NOW, .earlier = earlier };

        assert_int_equal(plan_image_index_build(f->images, f->n, "web", &f->index), 0);
        assert_int_equal(plan_retire_ready(&in, &f->index, &ready, 1, &f->plan), 0);
}

static void assert_retires(const plan *p, const char *const *ids) {
        size_t n = 0;

        for (; ids[n]; n++) {
                assert_true(n < p->n);
                assert_int_equal(p->actions[n].kind, PLAN_RETIRE);
                assert_string_equal(p->actions[n].image_id, ids[n]);
        }
        assert_int_equal(p->n, n);
}

static const plan no_earlier = { .retire_percent = 100, .retire_allowance = 100 };

static void test_only_the_ready_instance_retires_and_its_new_image_stays(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 2, 100);
        add_image(&f, "ami-a1", "i-a", 2);
        add_image(&f, "ami-a2", "i-a", 1);
        add_image(&f, "ami-b1", "i-b", 3);      /* i-b has one too many, but its image is not ready */
        add_image(&f, "ami-b2", "i-b", 2);
        add_image(&f, "ami-b3", "i-b", 1);

        retire_ready(&f, (char *) "i-a", (char *) "ami-anew", &no_earlier);

        assert_retires(&f.plan, (const char *const[]) { "ami-a1", NULL });
        assert_string_equal(f.plan.actions[0].reason, "beyond retain.count 2");
        fleet_done(&f);
}

static void test_forgotten_images_are_neither_counted_nor_retired_again(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 2, 100);
        add_image(&f, "ami-a1", "i-a", 3);
        add_image(&f, "ami-a2", "i-a", 2);
        add_image(&f, "ami-a3", "i-a", 1);
        assert_int_equal(plan_image_index_build(f.images, f.n, "web", &f.index), 0);
        plan_image_index_forget(&f.index, "i-a", "ami-a1");     /* the first plan retires it */

        retire_ready(&f, (char *) "i-a", (char *) "ami-anew", &no_earlier);

        assert_retires(&f.plan, (const char *const[]) { "ami-a2", NULL });
        fleet_done(&f);
}

static void test_an_image_listed_pending_counts_once_available(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 1, 100);
        add_image(&f, "ami-a1", "i-a", 1);
        add_image(&f, "ami-anew", "i-a", 0);
        f.images[1].state = EC2_IMAGE_PENDING;

        retire_ready(&f, (char *) "i-a", (char *) "ami-anew", &no_earlier);

        assert_retires(&f.plan, (const char *const[]) { "ami-a1", NULL });
        fleet_done(&f);
}

static void test_the_runs_bound_carries_over_from_its_earlier_plans(void **state) {
        plan_action spent = { .kind = PLAN_RETIRE, .instance_id = (char *) "i-a", .retention = true };
        plan earlier = { .actions = &spent, .n = 1, .retire_percent = 0, .retire_allowance = 0 };
        fleet f;

        (void) state;
        /* retain.count 1 over four images: three to go, but the run retired one already
         * as the rotation, and the new image allows one more; nothing beyond. */
        fleet_init(&f, 1, 0);
        add_image(&f, "ami-a2", "i-a", 3);
        add_image(&f, "ami-a3", "i-a", 2);
        add_image(&f, "ami-a4", "i-a", 1);

        retire_ready(&f, (char *) "i-a", (char *) "ami-anew", &earlier);

        assert_retires(&f.plan, (const char *const[]) { "ami-a2", NULL });
        assert_int_equal(f.plan.n_held, 2);
        fleet_done(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_only_the_ready_instance_retires_and_its_new_image_stays),
                cmocka_unit_test(test_forgotten_images_are_neither_counted_nor_retired_again),
                cmocka_unit_test(test_an_image_listed_pending_counts_once_available),
                cmocka_unit_test(test_the_runs_bound_carries_over_from_its_earlier_plans),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
