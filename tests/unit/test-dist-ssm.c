/* SPDX-License-Identifier: MIT */
/*
 * The pure rules of the ssm_parameter distributor (run/dist-ssm-plan.c): which run
 * writes a parameter, whether a name is one per instance, and which image is "the
 * newest" a parameter names: available, not released, not deprecated, not of a slot
 * ahead of the clock, of the policy (and the instance), newest by slot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "run/dist-ssm.h"
#include "run/plan.h"

#define NOW ((time_t) 1893468600)       /* 2030-01-01T03:30:00Z */

static ec2_image images[16];
static size_t n_images;

static ec2_image *image(const char *id, const char *policy_name, const char *instance, const char *slot,
                        ec2_image_state state) {
        ec2_image *g = &images[n_images++];

        *g = (ec2_image) { .id = strdup(id), .state = state, .creation_date = NOW - 3600 };
        if (policy_name)
                assert_int_equal(ec2_tags_add(&g->tags, TAG_POLICY, policy_name), 0);
        if (instance)
                assert_int_equal(ec2_tags_add(&g->tags, TAG_INSTANCE_ID, instance), 0);
        if (slot)
                assert_int_equal(ec2_tags_add(&g->tags, TAG_SLOT, slot), 0);
        return g;
}

static int teardown(void **state) {
        (void) state;
        for (size_t i = 0; i < n_images; i++)
                ec2_image_done(&images[i]);
        n_images = 0;
        return 0;
}

static const char *newest(const char *instance) {
        const ec2_image *g = dist_newest_image(images, n_images, "web", instance, false, NULL, NOW);

        return g ? g->id : NULL;
}

static void test_newest_by_slot(void **state) {
        (void) state;
        image("ami-old", "web", "i-1", "20291230T030000Z", EC2_IMAGE_AVAILABLE);
        image("ami-new", "web", "i-1", "20291231T030000Z", EC2_IMAGE_AVAILABLE);
        image("ami-mid", "web", "i-2", "20291230T150000Z", EC2_IMAGE_AVAILABLE);
        assert_string_equal(newest(NULL), "ami-new");
        assert_string_equal(newest("i-2"), "ami-mid");
        assert_null(newest("i-3"));
}

static void test_only_available_current_images_of_the_policy(void **state) {
        ec2_image *g;

        (void) state;
        image("ami-good", "web", "i-1", "20291229T030000Z", EC2_IMAGE_AVAILABLE);
        image("ami-pending", "web", "i-1", "20300101T030000Z", EC2_IMAGE_PENDING);
        image("ami-failed", "web", "i-1", "20291231T030000Z", EC2_IMAGE_FAILED);
        image("ami-other", "api", "i-1", "20291231T030000Z", EC2_IMAGE_AVAILABLE);
        image("ami-untagged", NULL, "i-1", "20291231T030000Z", EC2_IMAGE_AVAILABLE);
        g = image("ami-released", "web", "i-1", "20291231T030000Z", EC2_IMAGE_AVAILABLE);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_RETIRED_AT, "2030-01-01T00:00:00Z"), 0);
        g = image("ami-deprecated", "web", "i-1", "20291230T030000Z", EC2_IMAGE_AVAILABLE);
        g->deprecation_minute = ec2_deprecation_minute(NOW - 60);
        image("ami-future", "web", "i-1", "20300102T030000Z", EC2_IMAGE_AVAILABLE);
        g = image("ami-disabled", "web", "i-1", "20291231T150000Z", EC2_IMAGE_DISABLED);
        assert_string_equal(newest(NULL), "ami-good");
        /* Deprecation set for later does not count yet. */
        g = image("ami-later", "web", "i-1", "20291230T150000Z", EC2_IMAGE_AVAILABLE);
        g->deprecation_minute = ec2_deprecation_minute(NOW + 86400);
        assert_string_equal(newest(NULL), "ami-later");
}

static void test_a_copy_counts_like_its_source(void **state) {
        ec2_image *g;

        (void) state;
        image("ami-a", "web", "i-1", "20291230T030000Z", EC2_IMAGE_AVAILABLE);
        g = image("ami-copy", "web", "i-1", "20291231T030000Z", EC2_IMAGE_AVAILABLE);
        assert_int_equal(ec2_tags_add(&g->tags, "amirotd:copy-of", "us-east-1/ami-b"), 0);
        assert_string_equal(newest("i-1"), "ami-copy");
}

static void test_ties_by_creation_then_id(void **state) {
        (void) state;
        image("ami-b", "web", "i-1", "20291231T030000Z", EC2_IMAGE_AVAILABLE)->creation_date = NOW - 10;
        image("ami-a", "web", "i-1", "20291231T030000Z", EC2_IMAGE_AVAILABLE)->creation_date = NOW - 20;
        assert_string_equal(newest(NULL), "ami-b");
        image("ami-c", "web", "i-1", "20291231T030000Z", EC2_IMAGE_AVAILABLE)->creation_date = NOW - 10;
        assert_string_equal(newest(NULL), "ami-c");
}

static void test_which_run_writes_a_target(void **state) {
        char *regions[] = { (char *) "us-east-1", (char *) "eu-west-1", NULL };
        policy p = { .name = (char *) "web", .regions = regions };
        ssm_parameter_target everywhere = { .name = (char *) "/x" };
        ssm_parameter_target in_eu = { .name = (char *) "/x", .region = (char *) "eu-west-1" };
        ssm_parameter_target elsewhere = { .name = (char *) "/x", .region = (char *) "ap-south-1" };

        (void) state;
        assert_string_equal(dist_ssm_target_region(&p, &everywhere, "us-east-1"), "us-east-1");
        assert_string_equal(dist_ssm_target_region(&p, &everywhere, "eu-west-1"), "eu-west-1");
        assert_null(dist_ssm_target_region(&p, &in_eu, "us-east-1"));
        assert_string_equal(dist_ssm_target_region(&p, &in_eu, "eu-west-1"), "eu-west-1");
        assert_string_equal(dist_ssm_target_region(&p, &elsewhere, "us-east-1"), "ap-south-1");
        assert_null(dist_ssm_target_region(&p, &elsewhere, "eu-west-1"));
}

static void test_names_per_instance(void **state) {
        (void) state;
        assert_false(dist_ssm_name_per_instance("/golden/{policy}/{region}"));
        assert_true(dist_ssm_name_per_instance("/golden/{instance_id}"));
        assert_true(dist_ssm_name_per_instance("/golden/{instance_name}"));
        assert_true(dist_ssm_name_per_instance("/golden/{instance_tag:Env}/latest"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_newest_by_slot, teardown),
                cmocka_unit_test_teardown(test_only_available_current_images_of_the_policy, teardown),
                cmocka_unit_test_teardown(test_a_copy_counts_like_its_source, teardown),
                cmocka_unit_test_teardown(test_ties_by_creation_then_id, teardown),
                cmocka_unit_test(test_which_run_writes_a_target),
                cmocka_unit_test(test_names_per_instance),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
