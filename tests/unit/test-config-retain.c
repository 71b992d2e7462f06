/* SPDX-License-Identifier: MIT */
/*
 * The `retain` section (config/policy-retain.c): the rules it reads into a policy,
 * and a clear message at the right line and column for every bad value, missing
 * rule, misspelt key and combination that says less than it seems to.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "config-test-helper.h"


/* A policy whose line 4 is `retain:` followed by the lines of retain (each indented by two). */
static int load_retain(const char *sched, const char *retain, config **ret, config_diagnostics *d) {
        _cleanup_(freep) char *text = NULL;
        const char *texts[1];
        size_t sizes[1];

        assert_true(asprintf(&text,
                             "name: web\n"
                             "targets: {tags: {Role: web}}\n"
                             "schedule: %s\n"
                             "retain:\n%s",
                             sched ?: "{every: 1d}", retain) >= 0);
        texts[0] = text;
        sizes[0] = strlen(text);
        return config_load_from_memory(NULL, 0, texts, sizes, 1, ret, d);
}

#define ERR CONFIG_SEVERITY_ERROR
#define WARN CONFIG_SEVERITY_WARNING

static void test_every_key_read(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const policy *p;

        (void) state;
        assert_int_equal(load_retain("{cron: \"0 * * * *\", timezone: Europe/Berlin}",
                                     "  count: 7\n  max_age: 90d\n  hourly: 24\n  daily: 7\n  weekly: 4\n"
                                     "  monthly: 12\n  yearly: 2\n  min_count: 3\n"
                                     "  departed: {keep: 1, max_age: 30d}\n  max_retire_per_run: 20%\n",
                                     &c, &d), 0);
        assert_int_equal(d.n, 0);
        p = config_find_policy(c, "web");
        assert_int_equal(p->retain_count, 7);
        assert_int_equal(p->retain_max_age, 90 * 86400);
        assert_int_equal(p->retain_tiers[RETAIN_HOURLY], 24);
        assert_int_equal(p->retain_tiers[RETAIN_DAILY], 7);
        assert_int_equal(p->retain_tiers[RETAIN_WEEKLY], 4);
        assert_int_equal(p->retain_tiers[RETAIN_MONTHLY], 12);
        assert_int_equal(p->retain_tiers[RETAIN_YEARLY], 2);
        assert_int_equal(p->retain_min_count, 3);
        assert_int_equal(p->departed_keep, 1);
        assert_int_equal(p->departed_max_age, 30 * 86400);
        assert_int_equal(p->max_retire_per_run, 20);
        assert_non_null(p->schedule.zone);      /* the tiers' clock */
}

static void test_count_is_optional(void **state) {
        static const char *const alone[] = { "  max_age: 30d\n", "  daily: 7\n", "  yearly: 1\n" };

        (void) state;
        for (size_t k = 0; k < ELEMENTSOF(alone); k++) {
                _cleanup_(config_freep) config *c = NULL;
                _cleanup_(config_diagnostics_done) config_diagnostics d = {};

                assert_int_equal(load_retain(NULL, alone[k], &c, &d), 0);
                assert_int_equal(d.n, 0);
                assert_int_equal(config_find_policy(c, "web")->retain_count, 0);
        }
}

static void test_retain_needs_a_rule(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(load_retain(NULL, "  min_count: 3\n  departed: {keep: 1}\n", &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 5, 3, ERR,
                        "'retain' needs 'count', 'max_age' or a tier (hourly, daily, weekly, monthly, yearly)"));
        assert_int_equal(d.n_errors, 1);
}

/* `max_age: ~` is "none": alone it would leave no rule, and every image but the newest
 * would go. */
static void test_null_max_age_is_no_rule(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(load_retain(NULL, "  max_age: ~\n", &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 5, 3, ERR, "'retain' needs 'count', 'max_age' or a tier"));
}

static void test_values_out_of_range(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(load_retain(NULL,
                                     "  count: 1001\n"                  /* 5 */
                                     "  hourly: 0\n"                    /* 6 */
                                     "  weekly: many\n"                 /* 7 */
                                     "  min_count: 0\n"                 /* 8 */
                                     "  departed:\n"                    /* 9 */
                                     "    keep: 0\n"                    /* 10 */
                                     "    max_age: 30s\n"               /* 11 */
                                     "  max_age: 5\n",                  /* 12 */
                                     &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 5, 10, ERR, "'count'"));
        assert_true(config_has_diagnostic(&d, 5, 10, ERR, "1000"));
        assert_true(config_has_diagnostic(&d, 6, 11, ERR, "'hourly'"));
        assert_true(config_has_diagnostic(&d, 7, 11, ERR, "'weekly'"));
        assert_true(config_has_diagnostic(&d, 8, 14, ERR, "'min_count'"));
        assert_true(config_has_diagnostic(&d, 10, 11, ERR, "'departed.keep'"));
        assert_true(config_has_diagnostic(&d, 11, 14, ERR, "'departed.max_age' must be at least 1m, got 30s"));
        assert_true(config_has_diagnostic(&d, 12, 12, ERR, "'max_age' needs a unit"));
        assert_int_equal(d.n_errors, 7);
}

static void test_unknown_keys_suggest(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(load_retain(NULL, "  daly: 7\n  departed: {kep: 1}\n", &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 5, 3, ERR, "unknown key 'daly' in 'retain'"));
        assert_true(config_has_diagnostic(&d, 5, 3, ERR, "did you mean 'daily'?"));
        assert_true(config_has_diagnostic(&d, 6, 14, ERR, "did you mean 'keep'?"));
        /* a misspelt rule is one error, not also "needs a rule" */
        assert_int_equal(d.n_errors, 2);
}

static void test_departed_shape(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        _cleanup_(config_freep) config *c2 = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d2 = {};

        (void) state;
        assert_int_equal(load_retain(NULL, "  count: 3\n  departed: {}\n", &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 6, 13, ERR, "'departed' needs 'keep' (1 to 1000 images) or 'max_age'"));
        assert_int_equal(load_retain(NULL, "  count: 3\n  departed: 2\n", &c2, &d2), -EINVAL);
        assert_true(config_has_diagnostic(&d2, 6, 13, ERR, "'departed' expects a mapping"));
}

/* `max_age: ~` alone sets no rule: the operator meant one, and none would be in effect. */
static void test_departed_without_rule(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(load_retain(NULL, "  count: 3\n  departed: {max_age: ~}\n", &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 6, 13, ERR, "'departed' needs 'keep' (1 to 1000 images) or 'max_age'"));
        assert_int_equal(d.n_errors, 1);
}

static void test_warnings(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        _cleanup_(config_freep) config *c2 = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d2 = {};

        (void) state;
        assert_int_equal(load_retain(NULL, "  count: 3\n  hourly: 24\n  min_count: 5\n  departed: {keep: 4}\n",
                                     &c, &d), 0);
        assert_int_equal(d.n_errors, 0);
        assert_true(config_has_diagnostic(&d, 7, 14, WARN, "'min_count' 5 is not less than 'count' 3"));
        assert_true(config_has_diagnostic(&d, 8, 20, WARN, "'departed.keep' 4 is greater than 'count' 3"));
        assert_true(config_has_diagnostic(&d, 5, 3, WARN,
                        "'hourly' 24: the schedule makes one image every 1d, so each hour holds at most one"));
        assert_int_equal(d.n, 3);

        /* an hourly schedule: the hourly tier means what it says */
        assert_int_equal(load_retain("{every: 1h}", "  count: 3\n  min_count: 2\n  hourly: 24\n", &c2, &d2), 0);
        assert_int_equal(d2.n, 0);
        config_diagnostics_done(&d2);
        config_free(TAKE_PTR(c2));
        assert_int_equal(load_retain(NULL, "  count: 3\n  min_count: 2\n", &c2, &d2), 0);
        assert_true(config_has_diagnostic(&d2, 6, 14, WARN, "it changes nothing"));
        assert_int_equal(d2.n, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_key_read),
                cmocka_unit_test(test_count_is_optional),
                cmocka_unit_test(test_retain_needs_a_rule),
                cmocka_unit_test(test_null_max_age_is_no_rule),
                cmocka_unit_test(test_values_out_of_range),
                cmocka_unit_test(test_unknown_keys_suggest),
                cmocka_unit_test(test_departed_shape),
                cmocka_unit_test(test_departed_without_rule),
                cmocka_unit_test(test_warnings),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
