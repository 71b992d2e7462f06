/* SPDX-License-Identifier: MIT */
/*
 * A policy's `adopt` section (config/policy-adopt.c): what it selects, and a message at
 * the right place for every bad value, a missing selector and a misspelled key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "config-test-helper.h"

#define HEAD "name: a\ntargets: {tags: {R: x}}\nschedule: {every: 1d}\nretain: {count: 3}\n"

static void test_absent(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD, &c, &d), 0);
        assert_false(c->policies[0].adopt.set);
        assert_int_equal(c->policies[0].adopt.n_tags, 0);
        assert_null(c->policies[0].adopt.name);
        config_diagnostics_done(&d);
        c = config_free(c);
        /* a null section is no section */
        assert_int_equal(config_load_policy(HEAD "adopt:\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_false(c->policies[0].adopt.set);
}

static void test_every_key(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const policy_adopt *a;

        (void) state;
        assert_int_equal(config_load_policy(HEAD "adopt:\n  tags: {Builder: packer, Role: \"*\"}\n"
                                            "  name: \"web-golden-*\"\n  instance_id: i-0123456789abcdef0\n",
                                            &c, &d), 0);
        assert_int_equal(d.n, 0);
        a = &c->policies[0].adopt;
        assert_true(a->set);
        assert_int_equal(a->pos.line, 6);
        assert_int_equal(a->n_tags, 2);
        assert_string_equal(a->tags[0].key, "Builder");
        assert_string_equal(a->tags[0].value, "packer");
        assert_string_equal(a->tags[1].key, "Role");
        assert_null(a->tags[1].value);          /* "*": any value */
        assert_string_equal(a->name, "web-golden-*");
        assert_string_equal(a->instance_id, "i-0123456789abcdef0");
}

static void test_one_selector_is_enough(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD "adopt: {name: \"web-??\"}\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_string_equal(c->policies[0].adopt.name, "web-??");
        assert_int_equal(c->policies[0].adopt.n_tags, 0);
        assert_null(c->policies[0].adopt.instance_id);
        config_diagnostics_done(&d);
        c = config_free(c);
        assert_int_equal(config_load_policy(HEAD "adopt: {tags: {Builder: packer}, instance_id: i-0abc1234}\n",
                                            &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_int_equal(c->policies[0].adopt.n_tags, 1);
        assert_string_equal(c->policies[0].adopt.instance_id, "i-0abc1234");
}

static void test_errors(void **state) {
        static const char text[] =
                HEAD                                            /* 1-4 */
                "adopt:\n"                                      /* 5 */
                "  tags: {Builder: ~, \"\": x}\n"               /* 6 */
                "  name: \"*\"\n"                               /* 7 */
                "  instance_id: web-1\n"                        /* 8 */
                "  instanceid: i-0abc1234\n"                    /* 9 */
                "  owner: self\n";                              /* 10 */
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 6, 19, CONFIG_SEVERITY_ERROR,
                                          "tag 'Builder' needs a value; write \"*\" to match any value"));
        assert_true(config_has_diagnostic(&d, 6, 22, CONFIG_SEVERITY_ERROR, "empty tag key in 'tags'"));
        assert_true(config_has_diagnostic(&d, 7, 9, CONFIG_SEVERITY_ERROR, "'adopt.name' '*' matches every image"));
        assert_true(config_has_diagnostic(&d, 8, 16, CONFIG_SEVERITY_ERROR,
                                          "'adopt.instance_id' 'web-1' is not an EC2 instance id"));
        assert_true(config_has_diagnostic(&d, 9, 3, CONFIG_SEVERITY_ERROR,
                                          "unknown key 'instanceid' in 'adopt', did you mean 'instance_id'?"));
        assert_true(config_has_diagnostic(&d, 10, 3, CONFIG_SEVERITY_ERROR, "unknown key 'owner' in 'adopt'"));
        assert_int_equal(d.n, 6);
}

static void test_needs_a_selector(void **state) {
        static const char text[] =
                "- name: a\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  adopt: {instance_id: i-0abc1234}\n"          /* 5 */
                "- name: b\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  adopt: {tags: {}}\n"                         /* 10 */
                "- name: c\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  adopt: {tgas: {B: p}}\n"                     /* 15 */
                "- name: d\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  adopt: [web-*]\n"                            /* 20 */
                "- name: e\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  adopt: {name: \"\"}\n"                       /* 25 */
                "- name: f\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  adpot: {name: web-*}\n";                     /* 30 */
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 5, 10, CONFIG_SEVERITY_ERROR, "'adopt' needs 'tags' or 'name'"));
        assert_true(config_has_diagnostic(&d, 10, 17, CONFIG_SEVERITY_ERROR, "'adopt.tags' is empty"));
        assert_true(config_has_diagnostic(&d, 15, 11, CONFIG_SEVERITY_ERROR,
                                          "unknown key 'tgas' in 'adopt', did you mean 'tags'?"));
        assert_true(config_has_diagnostic(&d, 20, 10, CONFIG_SEVERITY_ERROR, "'adopt' expects a mapping"));
        assert_true(config_has_diagnostic(&d, 25, 17, CONFIG_SEVERITY_ERROR, "'adopt.name' is empty"));
        assert_true(config_has_diagnostic(&d, 30, 3, CONFIG_SEVERITY_ERROR,
                                          "unknown key 'adpot' in policy, did you mean 'adopt'?"));
        assert_int_equal(d.n_errors, 6);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_absent),
                cmocka_unit_test(test_every_key),
                cmocka_unit_test(test_one_selector_is_enough),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_needs_a_selector),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
