/* SPDX-License-Identifier: MIT */
/*
 * A policy's `copy_to` list (config/policy-copy.c): every key read, the destination's own
 * retain (the retain parser's rules, without departed and max_retire_per_run), and a
 * message at the right place for every bad value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "config-test-helper.h"

#define ERR CONFIG_SEVERITY_ERROR
/* lines 1-5; copy_to's first item on line 6 */
#define HEAD "name: a\nregions: [us-east-1]\ntargets: {tags: {R: x}}\nschedule: {every: 1d}\nretain: {count: 3}\n"

static void load(const char *yaml, config **c, config_diagnostics *d) {
        assert_int_equal(config_load_policy(yaml, c, d) < 0 ? -1 : 0, d->n > 0 ? -1 : 0);
}

static void test_none_by_default(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        load(HEAD, &c, &d);
        assert_int_equal(c->policies[0].n_copy_to, 0);
}

static void test_every_key(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const copy_destination *x;

        (void) state;
        load(HEAD "copy_to:\n"
             "  - region: eu-west-1\n"
             "  - region: eu-central-1\n"
             "    role_arn: arn:aws:iam::444455556666:role/copies\n"
             "    external_id: ext-1\n"
             "    encrypted: true\n"
             "    kms_key_id: arn:aws:kms:eu-central-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab\n"
             "    retain: {count: 3, max_age: 30d, daily: 7, min_count: 2}\n"
             "    deprecate_after: 60d\n", &c, &d);
        assert_int_equal(d.n, 0);
        assert_int_equal(c->policies[0].n_copy_to, 2);
        x = &c->policies[0].copy_to[0];
        assert_string_equal(x->region, "eu-west-1");
        assert_null(x->role_arn);
        assert_false(x->retain_set);
        assert_int_equal(x->pos.line, 7);
        x = &c->policies[0].copy_to[1];
        assert_string_equal(x->role_arn, "arn:aws:iam::444455556666:role/copies");
        assert_string_equal(x->external_id, "ext-1");
        assert_true(x->encrypted);
        assert_non_null(x->kms_key_id);
        assert_true(x->retain_set);
        assert_int_equal(x->retain.count, 3);
        assert_int_equal(x->retain.max_age, 30 * 86400);
        assert_int_equal(x->retain.tiers[RETAIN_DAILY], 7);
        assert_int_equal(x->retain.min_count, 2);
        assert_int_equal(x->deprecate_after, 60 * 86400);
        /* the policy's own retain is untouched by a destination's */
        assert_int_equal(c->policies[0].retain_count, 3);
        assert_int_equal(c->policies[0].retain_tiers[RETAIN_DAILY], 0);
}

static void test_bad_values_are_reported_where_they_are(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        (void) config_load_policy(HEAD "copy_to:\n"
                                  "  - region: eu-west-1x\n"                            /* 7 */
                                  "  - region: eu-west-2\n"                             /* 8 */
                                  "    kms_key_id: alias/k\n"                           /* 9 */
                                  "  - region: eu-west-3\n"                             /* 10 */
                                  "    encrypted: true\n"
                                  "    kms_key_id: arn:aws:kms:us-east-1:444455556666:key/k\n"    /* 12 */
                                  "  - region: eu-north-1\n"                            /* 13 */
                                  "    external_id: e-1\n"                              /* 14 */
                                  "    retain: {count: 2, departed: {keep: 1}}\n"       /* 15 */
                                  "    regoin: x\n"                                     /* 16 */
                                  "  - encrypted: true\n"                               /* 17 */
                                  "  - region: us-east-1\n"                             /* 18 */
                                  "  - region: eu-west-2\n"                             /* 19 */
                                  "    role_arn: arn:aws:iam::444455556666:role/r\n"
                                  "  - region: eu-west-2\n"                             /* 21 */
                                  "    role_arn: arn:aws:iam::444455556666:role/other\n"
                                  "    deprecate_after: 1s\n"                           /* 23 */
                                  , &c, &d);
        assert_true(config_has_diagnostic(&d, 7, 13, ERR, "'eu-west-1x' is not an AWS region name"));
        assert_true(config_has_diagnostic(&d, 9, 17, ERR, "'kms_key_id' needs 'encrypted: true'"));
        assert_true(config_has_diagnostic(&d, 12, 17, ERR, "the key must be in the destination region"));
        assert_true(config_has_diagnostic(&d, 14, 18, ERR, "'external_id' goes with 'role_arn'"));
        assert_true(config_has_diagnostic(&d, 15, 24, ERR, "unknown key 'departed' in 'copy_to.retain'"));
        assert_true(config_has_diagnostic(&d, 16, 5, ERR, "unknown key 'regoin' in 'copy_to'"));
        assert_true(config_has_diagnostic(&d, 16, 5, ERR, "'region'"));
        assert_true(config_has_diagnostic(&d, 17, 5, ERR, "a 'copy_to' destination needs 'region'"));
        assert_true(config_has_diagnostic(&d, 18, 5, ERR, "one of the policy's own regions in the same account"));
        assert_true(config_has_diagnostic(&d, 21, 5, ERR, "lists region 'eu-west-2' in account 444455556666 twice"));
        assert_true(config_has_diagnostic(&d, 23, 22, ERR, "'deprecate_after'"));
}

static void test_another_account_may_use_the_policys_region(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        load(HEAD "copy_to:\n  - region: us-east-1\n    role_arn: arn:aws:iam::444455556666:role/copies\n", &c, &d);
        assert_int_equal(c->policies[0].n_copy_to, 1);
}

static void test_a_retain_without_rules_is_an_error(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        (void) config_load_policy(HEAD "copy_to:\n  - region: eu-west-1\n    retain: {min_count: 2}\n", &c, &d);
        assert_true(config_has_diagnostic(&d, 8, 13, ERR, "'copy_to.retain' needs 'count', 'max_age' or a tier"));
}

static void test_not_a_list(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        (void) config_load_policy(HEAD "copy_to: {region: eu-west-1}\n", &c, &d);
        assert_true(d.n > 0);
        assert_true(strstr(d.items[0].message, "copy_to") != NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_none_by_default),
                cmocka_unit_test(test_every_key),
                cmocka_unit_test(test_bad_values_are_reported_where_they_are),
                cmocka_unit_test(test_another_account_may_use_the_policys_region),
                cmocka_unit_test(test_a_retain_without_rules_is_an_error),
                cmocka_unit_test(test_not_a_list),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
