/* SPDX-License-Identifier: MIT */
/*
 * A policy's `protect` section (config/policy-protect.c): its defaults, every
 * key read, and a message at the right place for every bad value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "config-test-helper.h"


#define HEAD "name: a\ntargets: {tags: {R: x}}\nschedule: {every: 1d}\nretain: {count: 3}\n"

static void test_defaults(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD, &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_true(c->policies[0].protect_in_use);
        assert_int_equal(c->policies[0].protect_last_launched_within, 0);
        assert_int_equal(c->policies[0].protect_newest, 0);
        assert_false(c->policies[0].protect_newest_cooldown);
}

static void test_null_section(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD "protect:\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_true(c->policies[0].protect_in_use);
}

static void test_every_key(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const policy *p;

        (void) state;
        assert_int_equal(config_load_policy(HEAD "protect:\n  in_use: false\n  last_launched_within: 14d\n"
                              "  newest: 2\n  cooldown: true\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
        p = &c->policies[0];
        assert_false(p->protect_in_use);
        assert_int_equal(p->protect_last_launched_within, 14 * 86400);
        assert_int_equal(p->protect_newest, 2);
        assert_true(p->protect_newest_cooldown);
}

static void test_nulls_are_none(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD "protect: {last_launched_within: ~, newest: ~}\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_int_equal(c->policies[0].protect_last_launched_within, 0);
        assert_int_equal(c->policies[0].protect_newest, 0);
}

static void test_errors(void **state) {
        static const char text[] =
                HEAD                                            /* 1-4 */
                "protect:\n"                                    /* 5 */
                "  in_use: maybe\n"                             /* 6 */
                "  last_launched_within: 14\n"                  /* 7 */
                "  newest: 0\n"                                 /* 8 */
                "  cooldown: 3\n"                               /* 9 */
                "  inuse: true\n"                               /* 10 */
                "  frobnicate: 1\n";                            /* 11 */
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 6, 11, CONFIG_SEVERITY_ERROR, "'in_use' expects"));
        assert_true(config_has_diagnostic(&d, 7, 25, CONFIG_SEVERITY_ERROR, "'last_launched_within' needs a unit"));
        assert_true(config_has_diagnostic(&d, 8, 11, CONFIG_SEVERITY_ERROR, "'newest' must be between 1 and 100, got 0"));
        assert_true(config_has_diagnostic(&d, 9, 13, CONFIG_SEVERITY_ERROR, "'cooldown' expects"));
        assert_true(config_has_diagnostic(&d, 10, 3, CONFIG_SEVERITY_ERROR,
                                   "unknown key 'inuse' in 'protect', did you mean 'in_use'?"));
        assert_true(config_has_diagnostic(&d, 11, 3, CONFIG_SEVERITY_ERROR, "unknown key 'frobnicate' in 'protect'"));
        assert_int_equal(d.n, 6);
}

static void test_range_and_shape(void **state) {
        static const char text[] =
                "- name: a\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  protect: {newest: 101, last_launched_within: 30s}\n"      /* 5 */
                "- name: b\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  protect: [in_use]\n"                         /* 10 */
                "- name: c\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  protect: {newest: two, last_launched_within: soon}\n";       /* 15 */
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 5, 21, CONFIG_SEVERITY_ERROR, "'newest' must be between 1 and 100, got 101"));
        assert_true(config_has_diagnostic(&d, 5, 48, CONFIG_SEVERITY_ERROR, "'last_launched_within' must be at least 1m"));
        assert_true(config_has_diagnostic(&d, 10, 12, CONFIG_SEVERITY_ERROR, "'protect' expects a mapping"));
        assert_true(config_has_diagnostic(&d, 15, 21, CONFIG_SEVERITY_ERROR, "'newest' expects an integer, got 'two'"));
        assert_true(config_has_diagnostic(&d, 15, 48, CONFIG_SEVERITY_ERROR, "'last_launched_within' expects a duration"));
}

static void test_warnings(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        /* protect before retain: the comparison waits for the whole policy */
        assert_int_equal(config_load_policy("name: a\ntargets: {tags: {R: x}}\nschedule: {every: 1d}\n"
                              "protect: {newest: 5, last_launched_within: 6h}\nretain: {count: 3}\n", &c, &d), 0);
        assert_int_equal(d.n_errors, 0);
        assert_true(config_has_diagnostic(&d, 4, 19, CONFIG_SEVERITY_WARNING,
                                   "'newest' (5) is greater than 'retain.count' (3)"));
        assert_true(config_has_diagnostic(&d, 4, 44, CONFIG_SEVERITY_WARNING, "shorter than 1d"));
        assert_int_equal(d.n, 2);
        assert_int_equal(c->policies[0].protect_last_launched_within, 6 * 3600);
}

static void test_newest_within_count(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD "protect: {newest: 3}\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_null_section),
                cmocka_unit_test(test_every_key),
                cmocka_unit_test(test_nulls_are_none),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_range_and_shape),
                cmocka_unit_test(test_warnings),
                cmocka_unit_test(test_newest_within_count),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
