/* SPDX-License-Identifier: MIT */
/*
 * A policy's `launch_template` section (config/policy-template.c): a mapping or a list,
 * the defaults, every key read, EC2's formats for names and ids, duplicates, and a
 * message at the right place for every bad value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "config-test-helper.h"
#include "config/policy-template.h"

#define HEAD "name: a\ntargets: {tags: {R: x}}\nschedule: {every: 1d}\nretain: {count: 3}\n"

static void test_none(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD, &c, &d), 0);
        assert_int_equal(c->policies[0].n_launch_templates, 0);
        assert_null(c->policies[0].launch_templates);
}

static void test_mapping_and_defaults(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const launch_template_target *t;

        (void) state;
        assert_int_equal(config_load_policy(HEAD "launch_template: {name: web-golden}\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_int_equal(c->policies[0].n_launch_templates, 1);
        t = &c->policies[0].launch_templates[0];
        assert_string_equal(t->name, "web-golden");
        assert_null(t->id);
        assert_null(t->region);
        assert_null(t->role_arn);
        assert_false(t->from_latest);
        assert_true(t->set_default);
        assert_int_equal(t->keep_versions, 10);
        assert_int_equal(t->pos.line, 5);
        assert_int_equal(t->pos.column, 18);
}

static void test_list_every_key(void **state) {
        static const char text[] =
                HEAD
                "launch_template:\n"
                "  - name: web/golden_(1).x\n"
                "    keep_versions: 0\n"
                "  - id: lt-0123456789abcdef0\n"
                "    region: eu-west-1\n"
                "    role_arn: arn:aws:iam::444455556666:role/templates\n"
                "    external_id: ext-1\n"
                "    source: latest\n"
                "    set_default: false\n"
                "    keep_versions: 3\n";
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const launch_template_target *t;

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_int_equal(c->policies[0].n_launch_templates, 2);
        t = &c->policies[0].launch_templates[0];
        assert_string_equal(t->name, "web/golden_(1).x");
        assert_int_equal(t->keep_versions, 0);
        t = &c->policies[0].launch_templates[1];
        assert_string_equal(t->id, "lt-0123456789abcdef0");
        assert_string_equal(t->region, "eu-west-1");
        assert_string_equal(t->role_arn, "arn:aws:iam::444455556666:role/templates");
        assert_string_equal(t->external_id, "ext-1");
        assert_true(t->from_latest);
        assert_false(t->set_default);
        assert_int_equal(t->keep_versions, 3);
}

static void test_errors(void **state) {
        static const char text[] =
                HEAD                                                    /* 1-4 */
                "launch_template:\n"                                    /* 5 */
                "  - name: x\n"                                         /* 6 */
                "    nmae: y\n"                                         /* 7 */
                "  - id: lt-0123\n"                                     /* 8 */
                "  - {name: web-lt, id: lt-0123456789abcdef0}\n"        /* 9 */
                "  - {name: web-lt, source: newest, keep_versions: 20000}\n"    /* 10 */
                "  - {name: web-lt}\n"                                  /* 11 */
                "  - {region: mars-1, role_arn: arn:nope, external_id: e}\n"    /* 12 */
                "  - {id: lt-0123456789abcdef0, external_id: ext-1, set_default: sure}\n"       /* 13 */
                "  - {name: \"web lt\"}\n";                             /* 14 */
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 6, 11, CONFIG_SEVERITY_ERROR,
                                          "launch template name 'x' must be 3 to 128 letters"));
        assert_true(config_has_diagnostic(&d, 7, 5, CONFIG_SEVERITY_ERROR,
                                          "unknown key 'nmae' in 'launch_template', did you mean 'name'?"));
        assert_true(config_has_diagnostic(&d, 8, 9, CONFIG_SEVERITY_ERROR, "'lt-0123' is not a launch template id"));
        assert_true(config_has_diagnostic(&d, 9, 24, CONFIG_SEVERITY_ERROR, "takes 'name' or 'id', not both"));
        assert_true(config_has_diagnostic(&d, 10, 28, CONFIG_SEVERITY_ERROR,
                                          "'source' must be 'default' or 'latest'"));
        assert_true(config_has_diagnostic(&d, 10, 51, CONFIG_SEVERITY_ERROR,
                                          "'keep_versions' must be between 0 and 10000, got 20000"));
        assert_true(config_has_diagnostic(&d, 11, 5, CONFIG_SEVERITY_ERROR, "launch template 'web-lt' is listed twice"));
        assert_true(config_has_diagnostic(&d, 12, 5, CONFIG_SEVERITY_ERROR, "needs 'name' or 'id'"));
        assert_true(config_has_diagnostic(&d, 12, 14, CONFIG_SEVERITY_ERROR, "'mars-1' is not an AWS region name"));
        assert_true(config_has_diagnostic(&d, 12, 32, CONFIG_SEVERITY_ERROR, "'role_arn' expects an IAM role ARN"));
        assert_true(config_has_diagnostic(&d, 12, 55, CONFIG_SEVERITY_ERROR, "'external_id' must be 2 to 1224"));
        assert_true(config_has_diagnostic(&d, 13, 45, CONFIG_SEVERITY_ERROR, "'external_id' goes with 'role_arn'"));
        assert_true(config_has_diagnostic(&d, 13, 65, CONFIG_SEVERITY_ERROR, "'set_default' expects"));
        assert_true(config_has_diagnostic(&d, 14, 12, CONFIG_SEVERITY_ERROR, "launch template name 'web lt'"));
        assert_int_equal(d.n, 14);
}

static void test_shape(void **state) {
        static const char text[] =
                "- name: a\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  launch_template: web-golden\n"                       /* 5 */
                "- name: b\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  launch_template: []\n"                               /* 10 */
                "- name: c\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  launch_template: [web-golden]\n"                     /* 15 */
                "- name: d\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  launch_templates: {name: web-golden}\n";             /* 20 */
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 5, 20, CONFIG_SEVERITY_ERROR,
                                          "'launch_template' must be a mapping or a list of mappings, got a string"));
        assert_true(config_has_diagnostic(&d, 10, 20, CONFIG_SEVERITY_ERROR, "'launch_template' must not be empty"));
        assert_true(config_has_diagnostic(&d, 15, 21, CONFIG_SEVERITY_ERROR, "'launch_template' expects a mapping"));
        assert_true(config_has_diagnostic(&d, 20, 3, CONFIG_SEVERITY_ERROR,
                                          "unknown key 'launch_templates' in policy, did you mean 'launch_template'?"));
}

static void test_id_without_region_in_many_regions(void **state) {
        static const char text[] =
                "- name: a\n  regions: [us-east-1, eu-west-1]\n  targets: {tags: {R: x}}\n"
                "  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  launch_template:\n"                                 /* 6 */
                "    - id: lt-0123456789abcdef0\n"                     /* 7 */
                "    - {id: lt-0123456789abcdef1, region: eu-west-1}\n"
                "    - name: web-golden\n"
                "- name: b\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  launch_template: {id: lt-0123456789abcdef0}\n";     /* 14: one region, fine */
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 7, 7, CONFIG_SEVERITY_ERROR,
                                          "launch template 'lt-0123456789abcdef0' is one region's, and the policy "
                                          "runs in 2: give its 'region'"));
        assert_int_equal(d.n, 1);
}

static void test_ec2_formats(void **state) {
        (void) state;
        assert_true(launch_template_name_valid("abc"));
        assert_true(launch_template_name_valid("a-b_c.d/e(f)"));
        assert_false(launch_template_name_valid("ab"));
        assert_false(launch_template_name_valid("web golden"));
        assert_false(launch_template_name_valid("web:golden"));
        char long_name[130];
        memset(long_name, 'a', 128);
        long_name[128] = '\0';
        assert_true(launch_template_name_valid(long_name));
        long_name[128] = 'a';
        long_name[129] = '\0';
        assert_false(launch_template_name_valid(long_name));
        assert_true(launch_template_id_valid("lt-0123456789abcdef0"));
        assert_true(launch_template_id_valid("lt-01234567"));
        assert_false(launch_template_id_valid("lt-0123456789ABCDEF0"));
        assert_false(launch_template_id_valid("ami-0123456789abcdef0"));
        assert_false(launch_template_id_valid("lt-0123456789abcdef"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_none),
                cmocka_unit_test(test_mapping_and_defaults),
                cmocka_unit_test(test_list_every_key),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_shape),
                cmocka_unit_test(test_id_without_region_in_many_regions),
                cmocka_unit_test(test_ec2_formats),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
