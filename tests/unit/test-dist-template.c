/* SPDX-License-Identifier: MIT */
/*
 * launch_template's pure decisions: the newest image a template follows
 * (run/dist-newest.c), and what a template needs to follow it: a new version, a
 * default switch after a crash, amirotd's old versions that go (run/dist-template-plan.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "run/dist-newest.h"
#include "run/dist-template-plan.h"
#include "run/plan.h"

#define NOW 1796000000

static void image(ec2_image *i, const char *id, ec2_image_state state, const char *policy_name, const char *slot,
                  time_t created) {
        *i = (ec2_image) { .id = strdup(id), .state = state, .creation_date = created };
        assert_non_null(i->id);
        if (policy_name)
                assert_int_equal(ec2_tags_add(&i->tags, TAG_POLICY, policy_name), 0);
        if (slot)
                assert_int_equal(ec2_tags_add(&i->tags, TAG_SLOT, slot), 0);
}

static void images_done(ec2_image *images, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(images[i].id);
                ec2_tags_done(&images[i].tags);
        }
}

static void test_newest_image(void **state) {
        ec2_image im[7];

        (void) state;
        image(&im[0], "ami-00000000000000001", EC2_IMAGE_AVAILABLE, "web", "20261125T030000Z", NOW - 2 * 86400);
        image(&im[1], "ami-00000000000000002", EC2_IMAGE_AVAILABLE, "web", "20261126T030000Z", NOW - 86400);
        image(&im[2], "ami-00000000000000003", EC2_IMAGE_PENDING, "web", "20261127T030000Z", NOW - 60);
        image(&im[3], "ami-00000000000000004", EC2_IMAGE_AVAILABLE, "db", "20261128T030000Z", NOW - 60);
        image(&im[4], "ami-00000000000000005", EC2_IMAGE_AVAILABLE, "web", "20261127T030000Z", NOW - 100);
        assert_int_equal(ec2_tags_add(&im[4].tags, TAG_RETIRED_AT, "2026-11-27T04:00:00Z"), 0);
        image(&im[5], "ami-00000000000000006", EC2_IMAGE_AVAILABLE, "web", "20261127T030000Z", NOW - 100);
        im[5].deprecation_minute = ec2_deprecation_minute(NOW - 60);
        /* A copy (amirotd:copy-of) counts as any image of the policy. */
        image(&im[6], "ami-00000000000000007", EC2_IMAGE_AVAILABLE, "web", "20261126T030000Z", NOW - 80000);
        assert_int_equal(ec2_tags_add(&im[6].tags, "amirotd:copy-of", "us-east-1/ami-00000000000000002"), 0);

        /* pending, another policy's, released, deprecated: none of them; then by slot, then date */
        assert_string_equal(dist_newest_image(im, 7, "web", NULL, false, NULL, NOW)->id, "ami-00000000000000007");
        /* deprecation still ahead: the image counts */
        im[5].deprecation_minute = ec2_deprecation_minute(NOW + 3600);
        assert_string_equal(dist_newest_image(im, 7, "web", NULL, false, NULL, NOW)->id, "ami-00000000000000006");
        assert_string_equal(dist_newest_image(im, 7, "db", NULL, false, NULL, NOW)->id, "ami-00000000000000004");
        assert_null(dist_newest_image(im, 7, "app", NULL, false, NULL, NOW));
        assert_null(dist_newest_image(im, 0, "web", NULL, false, NULL, NOW));
        images_done(im, 7);
}

static void test_unreadable_slot_ranks_below(void **state) {
        ec2_image im[2];

        (void) state;
        image(&im[0], "ami-00000000000000001", EC2_IMAGE_AVAILABLE, "web", "20261125T030000Z", NOW - 86400);
        image(&im[1], "ami-00000000000000002", EC2_IMAGE_AVAILABLE, "web", "garbage", NOW);
        assert_string_equal(dist_newest_image(im, 2, "web", NULL, false, NULL, NOW)->id, "ami-00000000000000001");
        images_done(im, 2);
}

/* With verify, only passed images qualify; a copy carries its source's verdict. */
static void test_newest_image_passed_only(void **state) {
        ec2_image im[4];

        (void) state;
        image(&im[0], "ami-00000000000000001", EC2_IMAGE_AVAILABLE, "web", "20261124T030000Z", NOW - 3 * 86400);
        assert_int_equal(ec2_tags_add(&im[0].tags, TAG_VERIFIED, "passed"), 0);
        image(&im[1], "ami-00000000000000002", EC2_IMAGE_AVAILABLE, "web", "20261125T030000Z", NOW - 2 * 86400);
        assert_int_equal(ec2_tags_add(&im[1].tags, TAG_VERIFIED, "failed"), 0);
        image(&im[2], "ami-00000000000000003", EC2_IMAGE_AVAILABLE, "web", "20261126T030000Z", NOW - 86400);
        image(&im[3], "ami-00000000000000004", EC2_IMAGE_AVAILABLE, "web", "20261125T030000Z", NOW - 60);
        assert_int_equal(ec2_tags_add(&im[3].tags, "amirotd:copy-of", "us-east-1/ami-00000000000000009"), 0);
        assert_int_equal(ec2_tags_add(&im[3].tags, TAG_VERIFIED, "passed"), 0);

        assert_string_equal(dist_newest_image(im, 4, "web", NULL, true, NULL, NOW)->id, "ami-00000000000000004");
        assert_string_equal(dist_newest_image(im, 3, "web", NULL, true, NULL, NOW)->id, "ami-00000000000000001");
        assert_string_equal(dist_newest_image(im, 4, "web", NULL, false, NULL, NOW)->id, "ami-00000000000000003");
        assert_null(dist_newest_image(im + 1, 2, "web", NULL, true, NULL, NOW));
        images_done(im, 4);
}

/* An image that passed in this run qualifies before its tag shows in the run's describe
 * (EC2's tags are eventually consistent); only with verify, and only the images named. */
static void test_newest_image_passed_in_this_run(void **state) {
        char *passed[] = { (char *) "ami-00000000000000003", NULL }, *other[] = { (char *) "ami-00000000000000009", NULL };
        ec2_image im[3];

        (void) state;
        image(&im[0], "ami-00000000000000001", EC2_IMAGE_AVAILABLE, "web", "20261124T030000Z", NOW - 3 * 86400);
        assert_int_equal(ec2_tags_add(&im[0].tags, TAG_VERIFIED, "passed"), 0);
        image(&im[1], "ami-00000000000000002", EC2_IMAGE_AVAILABLE, "web", "20261126T030000Z", NOW - 86400);
        image(&im[2], "ami-00000000000000003", EC2_IMAGE_AVAILABLE, "web", "20261125T030000Z", NOW - 2 * 86400);

        assert_string_equal(dist_newest_image(im, 3, "web", NULL, true, passed, NOW)->id, "ami-00000000000000003");
        assert_string_equal(dist_newest_image(im, 3, "web", NULL, true, other, NOW)->id, "ami-00000000000000001");
        assert_string_equal(dist_newest_image(im, 3, "web", NULL, true, NULL, NOW)->id, "ami-00000000000000001");
        assert_string_equal(dist_newest_image(im, 3, "web", NULL, false, passed, NOW)->id, "ami-00000000000000002");
        images_done(im, 3);
}

/* Versions 1..n; version i names images[i-1] and has descriptions[i-1] (NULL: none). */
static void versions(ec2_template_versions *v, size_t n, const char *const *image_ids,
                     const char *const *descriptions, unsigned default_version) {
        *v = (ec2_template_versions) {};
        v->items = calloc(n, sizeof(ec2_template_version));
        assert_non_null(v->items);
        for (size_t i = 0; i < n; i++)
                v->items[v->n++] = (ec2_template_version) {
                        .template_id = strdup("lt-0123456789abcdef0"),
                        .number = (unsigned) i + 1,
                        .image_id = image_ids[i] ? strdup(image_ids[i]) : NULL,
                        .description = descriptions[i] ? strdup(descriptions[i]) : NULL,
                        .is_default = i + 1 == default_version,
                };
}

#define A "ami-0aaaaaaaaaaaaaaa1"
#define B "ami-0bbbbbbbbbbbbbbb2"
#define C "ami-0ccccccccccccccc3"

static void test_decide(void **state) {
        launch_template_target t = { .name = (char[]) { "web-golden" }, .set_default = true };
        _cleanup_(ec2_template_versions_done) ec2_template_versions v = {};
        template_decision d;

        (void) state;
        versions(&v, 3, (const char *[]) { A, B, C }, (const char *[]) { NULL, "amirotd web " B, "by hand" }, 2);
        /* $Default (2) names B: nothing to do; a new image: a new version from 2 */
        assert_int_equal(template_decide(&v, &t, "web", B, &d), 0);
        assert_true(d.up_to_date);
        assert_false(d.create);
        assert_int_equal(d.make_default, 0);
        assert_int_equal(template_decide(&v, &t, "web", A, &d), 0);
        assert_true(d.create);
        assert_int_equal(d.source->number, 2);
        /* $Latest (3) is someone else's and names C: up to date, not made the default */
        t.from_latest = true;
        assert_int_equal(template_decide(&v, &t, "web", C, &d), 0);
        assert_true(d.up_to_date);
        assert_int_equal(d.make_default, 0);
        assert_int_equal(template_decide(&v, &t, "web", A, &d), 0);
        assert_true(d.create);
        assert_int_equal(d.source->number, 3);
        ec2_template_versions_done(&v);

        /* The crash between create and default: amirotd's version 3 of C, newer than the default */
        versions(&v, 3, (const char *[]) { A, B, C },
                 (const char *[]) { NULL, "amirotd web " B, "amirotd web " C }, 2);
        t.from_latest = false;
        assert_int_equal(template_decide(&v, &t, "web", C, &d), 0);
        assert_false(d.create);
        assert_int_equal(d.make_default, 3);
        assert_int_equal(d.found->number, 3);
        t.from_latest = true;   /* from $Latest: the source names it already, and it is amirotd's */
        assert_int_equal(template_decide(&v, &t, "web", C, &d), 0);
        assert_false(d.create);
        assert_int_equal(d.make_default, 3);
        t.set_default = false;
        assert_int_equal(template_decide(&v, &t, "web", C, &d), 0);
        assert_int_equal(d.make_default, 0);
        /* another policy's description is not this one's */
        t.set_default = true;
        t.from_latest = false;
        assert_int_equal(template_decide(&v, &t, "webx", C, &d), 0);
        assert_true(d.create);
        ec2_template_versions_done(&v);

        /* amirotd's version of A is older than the default: history, a new version follows A */
        versions(&v, 3, (const char *[]) { A, B, C }, (const char *[]) { "amirotd web " A, NULL, NULL }, 3);
        assert_int_equal(template_decide(&v, &t, "web", A, &d), 0);
        assert_true(d.create);
        assert_int_equal(d.source->number, 3);
        ec2_template_versions_done(&v);

        versions(&v, 1, (const char *[]) { A }, (const char *[]) { NULL }, 0);
        assert_int_equal(template_decide(&v, &t, "web", A, &d), -ENOENT);
}

static void test_versions_to_delete(void **state) {
        _cleanup_(ec2_template_versions_done) ec2_template_versions v = {};
        _cleanup_(freep) unsigned *del = NULL;
        size_t n = 0;

        (void) state;
        /* 1 by hand; 2..6 amirotd's (web); 7 amirotd's of db; 3 is the default */
        versions(&v, 7, (const char *[]) { A, A, B, C, A, B, C },
                 (const char *[]) { "by hand", "amirotd web " A, "amirotd web " B, "amirotd web " C,
                                    "amirotd web " A, "amirotd web " B, "amirotd db " C }, 3);
        assert_int_equal(template_versions_to_delete(&v, "web", 2, false, 3, 7, &del, &n), 0);
        assert_int_equal(n, 2);         /* 6 and 5 stay, 3 is the default, 1 and 7 are not amirotd web's */
        assert_int_equal(del[0], 2);
        assert_int_equal(del[1], 4);
        del = mfree(del);
        /* a new version still to come counts as one of the kept */
        assert_int_equal(template_versions_to_delete(&v, "web", 2, true, 3, 7, &del, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(del[0], 2);
        assert_int_equal(del[1], 4);
        assert_int_equal(del[2], 5);
        del = mfree(del);
        /* the latest and the default are never deleted, even beyond keep */
        assert_int_equal(template_versions_to_delete(&v, "web", 1, false, 2, 4, &del, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(del[0], 3);
        assert_int_equal(del[1], 5);
        del = mfree(del);
        /* keep 0: every version stays; nothing of the policy's beyond keep: none */
        assert_int_equal(template_versions_to_delete(&v, "web", 0, false, 3, 7, &del, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(template_versions_to_delete(&v, "web", 5, false, 3, 7, &del, &n), 0);
        assert_int_equal(n, 0);
        assert_null(del);
}

static void test_description_and_token(void **state) {
        char d[TEMPLATE_DESCRIPTION_MAX], a[TEMPLATE_TOKEN_MAX], b[TEMPLATE_TOKEN_MAX];

        (void) state;
        assert_string_equal(template_description("web", A, d), "amirotd web " A);
        template_client_token("web", "lt-0123456789abcdef0", A, 7, a);
        assert_int_equal(strlen(a), 64);
        template_client_token("web", "lt-0123456789abcdef0", A, 7, b);
        assert_string_equal(a, b);
        template_client_token("web", "lt-0123456789abcdef0", A, 8, b);
        assert_string_not_equal(a, b);
        template_client_token("web", "lt-0123456789abcdef0", B, 7, b);
        assert_string_not_equal(a, b);
        template_client_token("db", "lt-0123456789abcdef0", A, 7, b);
        assert_string_not_equal(a, b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_newest_image),
                cmocka_unit_test(test_newest_image_passed_only),
                cmocka_unit_test(test_newest_image_passed_in_this_run),
                cmocka_unit_test(test_unreadable_slot_ranks_below),
                cmocka_unit_test(test_decide),
                cmocka_unit_test(test_versions_to_delete),
                cmocka_unit_test(test_description_and_token),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
