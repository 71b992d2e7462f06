/* SPDX-License-Identifier: MIT */
/*
 * `ssm_parameter` (config/policy-ssm.c): a name or a list of names and mappings read into
 * the policy, and a clear message at the right line and column for every name SSM would
 * refuse, every unknown placeholder or key, a duplicate, and a role without its form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "config-test-helper.h"

#define ERR CONFIG_SEVERITY_ERROR

/* A policy in regions (a YAML list) whose line 6 is `ssm_parameter:` with ssm after it. */
static int load_ssm(const char *regions, const char *ssm, config **ret, config_diagnostics *d) {
        _cleanup_(freep) char *text = NULL;

        assert_true(asprintf(&text,
                             "name: web\n"
                             "regions: %s\n"
                             "targets: {tags: {Role: web}}\n"
                             "schedule: {every: 1d}\n"
                             "retain: {count: 3}\n"
                             "ssm_parameter:%s",
                             regions ?: "[us-east-1]", ssm) >= 0);
        return config_load_policy(text, ret, d);
}

static void test_a_single_name(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const policy *p;

        (void) state;
        assert_int_equal(load_ssm(NULL, " /golden/{policy}/latest\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
        p = config_find_policy(c, "web");
        assert_int_equal(p->n_ssm_parameters, 1);
        assert_string_equal(p->ssm_parameters[0].name, "/golden/{policy}/latest");
        assert_null(p->ssm_parameters[0].region);
        assert_null(p->ssm_parameters[0].role_arn);
        assert_int_equal(p->ssm_parameters[0].pos.line, 6);
}

static void test_a_list_of_names_and_mappings(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const policy *p;

        (void) state;
        assert_int_equal(load_ssm("[us-east-1, eu-west-1]",
                                  "\n  - /golden/{policy}/{region}\n"
                                  "  - name: /golden/{instance_name}/{instance_tag:Env}\n"
                                  "    region: ap-southeast-2\n"
                                  "    role_arn: arn:aws:iam::444455556666:role/publish\n"
                                  "    external_id: amirotd-42\n"
                                  "  - plain.name_1\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
        p = config_find_policy(c, "web");
        assert_int_equal(p->n_ssm_parameters, 3);
        assert_string_equal(p->ssm_parameters[1].name, "/golden/{instance_name}/{instance_tag:Env}");
        assert_string_equal(p->ssm_parameters[1].region, "ap-southeast-2");
        assert_string_equal(p->ssm_parameters[1].role_arn, "arn:aws:iam::444455556666:role/publish");
        assert_string_equal(p->ssm_parameters[1].external_id, "amirotd-42");
        assert_int_equal(p->ssm_parameters[1].pos.line, 8);
        assert_string_equal(p->ssm_parameters[2].name, "plain.name_1");
}

static void expect_error(const char *ssm, unsigned line, unsigned column, const char *part) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        assert_int_not_equal(load_ssm(NULL, ssm, &c, &d), 0);
        assert_true(config_has_diagnostic(&d, line, column, ERR, part));
}

static void test_names_ssm_refuses(void **state) {
        (void) state;
        expect_error(" \"/golden/{policy} latest\"\n", 6, 16, "only letters, digits and _ . - /");
        expect_error(" golden/{policy}\n", 6, 16, "must start with '/'");
        expect_error(" /aws/{policy}\n", 6, 16, "cannot begin with 'aws' or 'ssm'");
        expect_error(" SSM-{policy}\n", 6, 16, "cannot begin with 'aws' or 'ssm'");
        expect_error(" \"{policy}//x\"\n", 6, 16, "must start with '/'");
        expect_error(" /a//{policy}\n", 6, 16, "no empty level");
        expect_error(" /a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p\n", 6, 16, "at most 15 levels");
        expect_error(" /golden/ümlaut\n", 6, 16, "only letters, digits");
}

static void test_the_longest_rendering_counts(void **state) {
        _cleanup_(freep) char *name = NULL, *yaml = NULL;

        (void) state;
        /* arn:aws-us-gov:ssm:us-east-1:123456789012:parameter (51) + 960 = 1011: fits ... */
        assert_true(asprintf(&name, "/%0959d", 0) >= 0);
        {
                _cleanup_(config_freep) config *c = NULL;
                _cleanup_(config_diagnostics_done) config_diagnostics d = {};

                assert_true(asprintf(&yaml, " %s\n", name) >= 0);
                assert_int_equal(load_ssm(NULL, yaml, &c, &d), 0);
        }
        /* ... and {instance_id} (19 characters) in place of one character does not. */
        name[1] = '{';
        memcpy(name + 2, "instance_id}", 12);
        free(yaml);
        assert_true(asprintf(&yaml, " %s\n", name) >= 0);
        expect_error(yaml, 6, 16, "at most 1011 characters");
}

static void test_placeholders(void **state) {
        (void) state;
        expect_error(" /golden/{polcy}\n", 6, 16, "unknown placeholder '{polcy}' in 'ssm_parameter', did you mean '{policy}'?");
        expect_error(" /golden/{slot}\n", 6, 16, "'{slot}' has no place in 'ssm_parameter'");
        expect_error(" /golden/{instance_tag:}\n", 6, 16, "needs a tag key of 1 to 128 characters");
        expect_error(" /golden/{policy\n", 6, 16, "unterminated placeholder");
}

static void test_keys_and_forms(void **state) {
        (void) state;
        expect_error("\n  - nmae: /x\n", 7, 5, "unknown key 'nmae' in 'ssm_parameter', did you mean 'name'?");
        expect_error("\n  - region: eu-west-1\n", 7, 5, "an 'ssm_parameter' entry needs 'name'");
        expect_error("\n  - {name: /x, region: moon-1}\n", 7, 24, "'moon-1' is not an AWS region");
        expect_error("\n  - {name: /x, role_arn: arn:aws:iam::1:role/x}\n", 7, 26, "'role_arn' expects an IAM role ARN");
        expect_error("\n  - {name: /x, external_id: abc}\n", 7, 29, "'external_id' goes with 'role_arn'");
        expect_error(" {name: /x}\n", 6, 16, "expects a parameter name or a list of them, got a mapping");
        expect_error("\n  - /golden/x\n  - {name: /golden/x}\n", 8, 12, "ssm_parameter '/golden/x' is listed twice (line 7)");
}

static void test_the_same_name_in_two_accounts_is_no_duplicate(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(load_ssm(NULL, "\n  - /golden/x\n"
                                  "  - {name: /golden/x, role_arn: \"arn:aws:iam::444455556666:role/p\"}\n"
                                  "  - {name: /golden/x, region: eu-west-1}\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_single_name),
                cmocka_unit_test(test_a_list_of_names_and_mappings),
                cmocka_unit_test(test_names_ssm_refuses),
                cmocka_unit_test(test_the_longest_rendering_counts),
                cmocka_unit_test(test_placeholders),
                cmocka_unit_test(test_keys_and_forms),
                cmocka_unit_test(test_the_same_name_in_two_accounts_is_no_duplicate),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
