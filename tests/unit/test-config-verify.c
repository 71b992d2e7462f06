/* SPDX-License-Identifier: MIT */
/*
 * A policy's `verify` section (config/policy-verify.c): its defaults, the good forms of
 * every key (one subnet, a subnet per region, an instance profile by name or ARN), and a
 * message at the right place for every bad value, a missing key, a misspelled key, and a
 * subnet that does not fit the policy's regions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "config-test-helper.h"

#define HEAD "name: a\ntargets: {tags: {R: x}}\nschedule: {every: 1d}\nretain: {count: 3}\n"
#define HEAD2 HEAD "regions: [us-east-1, eu-west-1]\n"

static void test_absent(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD "regions: [us-east-1]\n", &c, &d), 0);
        assert_false(c->policies[0].verify.set);
        assert_int_equal(c->policies[0].verify.n_networks, 0);
        config_diagnostics_done(&d);
        c = config_free(c);
        /* a null section is no section */
        assert_int_equal(config_load_policy(HEAD "regions: [us-east-1]\nverify:\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_false(c->policies[0].verify.set);
}

static void test_defaults(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const policy_verify *v;

        (void) state;
        assert_int_equal(config_load_policy(HEAD "regions: [us-east-1]\n"
                                            "verify: {instance_type: t3.micro, subnet_id: subnet-0123abcd}\n",
                                            &c, &d), 0);
        assert_int_equal(d.n, 0);
        v = &c->policies[0].verify;
        assert_true(v->set);
        assert_int_equal(v->pos.line, 6);
        assert_string_equal(v->instance_type, "t3.micro");
        assert_int_equal(v->n_networks, 1);
        assert_null(v->networks[0].region);
        assert_string_equal(v->networks[0].subnet_id, "subnet-0123abcd");
        assert_null(v->networks[0].security_group_ids);         /* the VPC's default group */
        assert_null(v->iam_instance_profile);
        assert_int_equal(v->timeout, 15 * 60);
        assert_null(v->console_match);
        assert_int_equal(v->max_concurrent, 1);
        /* the one subnet serves the policy's only region */
        assert_ptr_equal(policy_verify_network(v, "us-east-1"), &v->networks[0]);
}

static void test_every_key(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const policy_verify *v;

        (void) state;
        assert_int_equal(config_load_policy(HEAD "regions: [us-east-1]\n"
                                            "verify:\n"
                                            "  instance_type: u-6tb1.metal\n"
                                            "  subnet_id: subnet-0123456789abcdef0\n"
                                            "  security_group_ids: [sg-0123abcd, sg-0123456789abcdef0]\n"
                                            "  iam_instance_profile: verify-Profile_1+=,.@-\n"
                                            "  timeout: 1h30m\n"
                                            "  console_match: '(login|Welcome to .*):'\n"
                                            "  max_concurrent: 20\n",
                                            &c, &d), 0);
        assert_int_equal(d.n, 0);
        v = &c->policies[0].verify;
        assert_string_equal(v->instance_type, "u-6tb1.metal");
        assert_string_equal(v->networks[0].subnet_id, "subnet-0123456789abcdef0");
        assert_string_equal(v->networks[0].security_group_ids[0], "sg-0123abcd");
        assert_string_equal(v->networks[0].security_group_ids[1], "sg-0123456789abcdef0");
        assert_null(v->networks[0].security_group_ids[2]);
        assert_string_equal(v->iam_instance_profile, "verify-Profile_1+=,.@-");
        assert_int_equal(v->timeout, 5400);
        assert_string_equal(v->console_match, "(login|Welcome to .*):");
        assert_int_equal(v->max_concurrent, 20);
}

static void test_profile_arn(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD "regions: [cn-north-1]\n"
                                            "verify: {instance_type: t3.micro, subnet_id: subnet-0123abcd, "
                                            "iam_instance_profile: "
                                            "\"arn:aws-cn:iam::123456789012:instance-profile/ops/verify/amirotd-test\"}\n",
                                            &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_string_equal(c->policies[0].verify.iam_instance_profile,
                            "arn:aws-cn:iam::123456789012:instance-profile/ops/verify/amirotd-test");
}

static void test_profile_bad_forms(void **state) {
        static const char *const bad[] = {
                "arn:",
                "arn:aws:iam::123456789012:instance-profile/",                  /* no name */
                "arn:aws:iam::123456789012:instance-profile/ops/",              /* a path, no name */
                "arn:aws:iam::12345678901:instance-profile/x",                  /* an 11-digit account */
                "arn:aws:iam:us-east-1:123456789012:instance-profile/x",        /* IAM has no region */
                "arn:aws:iam::123456789012:role/x",                             /* a role, not a profile */
                "arn:aws:iam::123456789012:instance-profile/a b",
                "profile/with/slash",
                "name with space",
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(config_freep) config *c = NULL;
                _cleanup_(config_diagnostics_done) config_diagnostics d = {};
                char text[512];

                snprintf(text, sizeof(text), HEAD "verify: {instance_type: t3.micro, subnet_id: subnet-0123abcd, "
                         "iam_instance_profile: \"%s\"}\n", bad[i]);
                assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
                assert_true(config_has_diagnostic(&d, 5, 85, CONFIG_SEVERITY_ERROR,
                                                  "is neither an instance profile's name"));
                assert_int_equal(d.n, 1);
        }
}

/* A subnet per region, security groups per region, on a policy that is not enabled. */
static void test_per_region(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const verify_network *us, *eu;
        const policy_verify *v;

        (void) state;
        assert_int_equal(config_load_policy(HEAD2 "enabled: false\n"
                                            "verify:\n"
                                            "  instance_type: t3.micro\n"
                                            "  security_group_ids: {eu-west-1: [sg-0000eeee], us-east-1: ~}\n"
                                            "  subnet_id:\n"
                                            "    us-east-1: subnet-1111aaaa\n"
                                            "    eu-west-1: subnet-2222bbbb\n",
                                            &c, &d), 0);
        assert_int_equal(d.n, 0);
        v = &c->policies[0].verify;
        assert_true(c->policies[0].disabled);
        assert_int_equal(v->n_networks, 2);
        us = policy_verify_network(v, "us-east-1");
        eu = policy_verify_network(v, "eu-west-1");
        assert_non_null(us);
        assert_non_null(eu);
        assert_string_equal(us->subnet_id, "subnet-1111aaaa");
        assert_int_equal(us->pos.line, 11);
        assert_null(us->security_group_ids);
        assert_string_equal(eu->subnet_id, "subnet-2222bbbb");
        assert_string_equal(eu->security_group_ids[0], "sg-0000eeee");
        assert_null(policy_verify_network(v, "ap-south-1"));
}

/* Without `regions`, the policy runs in the global region, which a scalar subnet serves. */
static void test_global_region(void **state) {
        static const char global[] = "region: eu-central-1\n";
        static const char text[] = HEAD "verify: {instance_type: t3.micro, subnet_id: {eu-central-1: subnet-0123abcd}}\n";
        const char *texts[] = { text };
        size_t sizes[] = { sizeof(text) - 1 };
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_from_memory(global, sizeof(global) - 1, texts, sizes, 1, &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_string_equal(policy_verify_network(&c->policies[0].verify, "eu-central-1")->subnet_id,
                            "subnet-0123abcd");
}

static void test_bad_values(void **state) {
        static const char text[] =
                HEAD "regions: [us-east-1]\n"                   /* 1-5 */
                "verify:\n"                                     /* 6 */
                "  instance_type: T3.Micro\n"                   /* 7 */
                "  subnet_id: subnet-xyz\n"                     /* 8 */
                "  security_group_ids: [sg-0123abcd, default, sg-0123abcd]\n"   /* 9 */
                "  iam_instance_profile: \"my profile\"\n"      /* 10 */
                "  timeout: 1m\n"                               /* 11 */
                "  console_match: 'login(:'\n"                  /* 12 */
                "  max_concurrent: 0\n";                        /* 13 */
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 7, 18, CONFIG_SEVERITY_ERROR,
                                          "'verify.instance_type' 'T3.Micro' is not an EC2 instance type"));
        assert_true(config_has_diagnostic(&d, 8, 14, CONFIG_SEVERITY_ERROR,
                                          "'verify.subnet_id' 'subnet-xyz' is not a subnet id"));
        assert_true(config_has_diagnostic(&d, 9, 37, CONFIG_SEVERITY_ERROR,
                                          "'default' is not a security group id (sg- and 8 or 17 hex digits)"));
        assert_true(config_has_diagnostic(&d, 9, 46, CONFIG_SEVERITY_WARNING,
                                          "security group 'sg-0123abcd' is listed twice, ignoring"));
        assert_true(config_has_diagnostic(&d, 10, 25, CONFIG_SEVERITY_ERROR,
                                          "'verify.iam_instance_profile' 'my profile' is neither an instance profile's name"));
        assert_true(config_has_diagnostic(&d, 11, 12, CONFIG_SEVERITY_ERROR, "'verify.timeout' must be at least 2m"));
        assert_true(config_has_diagnostic(&d, 12, 18, CONFIG_SEVERITY_ERROR,
                                          "'verify.console_match' 'login(:' is not a POSIX extended regular expression: "));
        assert_true(config_has_diagnostic(&d, 13, 19, CONFIG_SEVERITY_ERROR,
                                          "'verify.max_concurrent' must be between 1 and 20, got 0"));
        assert_int_equal(d.n, 8);
}

static void test_more_bad_values(void **state) {
        static const char text[] =
                HEAD "regions: [us-east-1]\n"                   /* 1-5 */
                "verify:\n"                                     /* 6 */
                "  instance_type: t3\n"                         /* 7 */
                "  subnet_id: [subnet-0123abcd]\n"              /* 8 */
                "  security_group_ids: sg-0123abcd\n"           /* 9 */
                "  iam_instance_profile: arn:aws:iam::123456789012:role/verify\n"  /* 10 */
                "  timeout: 3h\n"                               /* 11 */
                "  console_match: ''\n"                         /* 12 */
                "  max_concurrent: 21\n";                       /* 13 */
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 7, 18, CONFIG_SEVERITY_ERROR,
                                          "'verify.instance_type' 't3' is not an EC2 instance type (FAMILY.SIZE"));
        assert_true(config_has_diagnostic(&d, 8, 14, CONFIG_SEVERITY_ERROR,
                                          "'verify.subnet_id' expects a subnet id, or a mapping of region to subnet id, "
                                          "got a sequence"));
        assert_true(config_has_diagnostic(&d, 9, 23, CONFIG_SEVERITY_ERROR,
                                          "'verify.security_group_ids' expects a list of security group ids, got a string"));
        assert_true(config_has_diagnostic(&d, 10, 25, CONFIG_SEVERITY_ERROR,
                                          "'arn:aws:iam::123456789012:role/verify' is neither"));
        assert_true(config_has_diagnostic(&d, 11, 12, CONFIG_SEVERITY_ERROR, "'verify.timeout' must be at most 2h"));
        assert_true(config_has_diagnostic(&d, 12, 18, CONFIG_SEVERITY_ERROR,
                                          "'verify.console_match' is empty, which matches any output"));
        assert_true(config_has_diagnostic(&d, 13, 19, CONFIG_SEVERITY_ERROR,
                                          "'verify.max_concurrent' must be between 1 and 20, got 21"));
        assert_int_equal(d.n, 7);
}

static void test_console_match_too_long(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        char text[1024], long_re[258];

        (void) state;
        memset(long_re, 'a', 257);
        long_re[257] = '\0';
        snprintf(text, sizeof(text), HEAD "verify: {instance_type: t3.micro, subnet_id: subnet-0123abcd, "
                 "console_match: %s}\n", long_re);
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 5, 78, CONFIG_SEVERITY_ERROR,
                                          "'verify.console_match' is longer than 256 characters"));
        assert_int_equal(d.n, 1);
        config_diagnostics_done(&d);
        c = config_free(c);
        long_re[256] = '\0';    /* 256 is allowed */
        snprintf(text, sizeof(text), HEAD "verify: {instance_type: t3.micro, subnet_id: subnet-0123abcd, "
                 "console_match: %s}\n", long_re);
        assert_int_equal(config_load_policy(text, &c, &d), 0);
        assert_int_equal(strlen(c->policies[0].verify.console_match), 256);
}

static void test_missing_and_misspelled(void **state) {
        static const char text[] =
                "- name: a\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  verify: {timeout: 5m}\n"                                     /* 5 */
                "- name: b\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  verify: {instance_typ: t3.micro, subnetid: subnet-0123abcd, max_concurent: 2}\n"    /* 10 */
                "- name: c\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  verify: [t3.micro]\n"                                        /* 15 */
                "- name: d\n  targets: {tags: {R: x}}\n  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  verfy: {instance_type: t3.micro}\n";                         /* 20 */
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 5, 11, CONFIG_SEVERITY_ERROR, "'verify' needs 'instance_type'"));
        assert_true(config_has_diagnostic(&d, 5, 11, CONFIG_SEVERITY_ERROR, "'verify' needs 'subnet_id'"));
        assert_true(config_has_diagnostic(&d, 10, 12, CONFIG_SEVERITY_ERROR,
                                          "unknown key 'instance_typ' in 'verify', did you mean 'instance_type'?"));
        assert_true(config_has_diagnostic(&d, 10, 36, CONFIG_SEVERITY_ERROR,
                                          "unknown key 'subnetid' in 'verify', did you mean 'subnet_id'?"));
        assert_true(config_has_diagnostic(&d, 10, 63, CONFIG_SEVERITY_ERROR,
                                          "unknown key 'max_concurent' in 'verify', did you mean 'max_concurrent'?"));
        assert_true(config_has_diagnostic(&d, 15, 11, CONFIG_SEVERITY_ERROR, "'verify' expects a mapping"));
        assert_true(config_has_diagnostic(&d, 20, 3, CONFIG_SEVERITY_ERROR,
                                          "unknown key 'verfy' in policy, did you mean 'verify'?"));
        assert_int_equal(d.n_errors, 7);
}

/* A subnet lives in one region: the subnets must fit the policy's regions exactly. */
static void test_subnet_regions(void **state) {
        static const char text[] =
                "- name: a\n  regions: [us-east-1, eu-west-1]\n  targets: {tags: {R: x}}\n"
                "  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  verify: {instance_type: t3.micro, subnet_id: subnet-0123abcd}\n"                     /* 6 */
                "- name: b\n  regions: [us-east-1, eu-west-1]\n  targets: {tags: {R: x}}\n"
                "  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  verify:\n"                                                                           /* 12 */
                "    instance_type: t3.micro\n"                                                         /* 13 */
                "    subnet_id: {us-east-1: subnet-1111aaaa, ap-south-1: subnet-2222bbbb, mars-1: subnet-3333cccc}\n"
                "    security_group_ids: [sg-0123abcd]\n"                                               /* 15 */
                "- name: c\n  regions: [us-east-1]\n  targets: {tags: {R: x}}\n"
                "  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  verify:\n"                                                                           /* 21 */
                "    instance_type: t3.micro\n"                                                         /* 22 */
                "    subnet_id: subnet-0123abcd\n"                                                      /* 23 */
                "    security_group_ids: {us-east-1: [sg-0123abcd]}\n"                                  /* 24 */
                "- name: d\n  regions: [us-east-1]\n  targets: {tags: {R: x}}\n"
                "  schedule: {every: 1d}\n  retain: {count: 3}\n"
                "  verify:\n"                                                                           /* 30 */
                "    instance_type: t3.micro\n"                                                         /* 31 */
                "    subnet_id: {us-east-1: subnet-0123abcd}\n"                                         /* 32 */
                "    security_group_ids: {eu-west-1: [sg-0123abcd], us-east-1: [], nowhere: [sg-0123abcd]}\n"
                "    subnet_id: {}\n";                                                                  /* 34 */
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 6, 48, CONFIG_SEVERITY_ERROR,
                                          "'verify.subnet_id' is one subnet, and the policy runs in 2 regions: a subnet "
                                          "lives in one region"));
        assert_true(config_has_diagnostic(&d, 14, 45, CONFIG_SEVERITY_ERROR,
                                          "'verify.subnet_id' names region 'ap-south-1', which is not one of the "
                                          "policy's regions"));
        assert_true(config_has_diagnostic(&d, 14, 74, CONFIG_SEVERITY_ERROR,
                                          "'mars-1' in 'verify.subnet_id' is not an AWS region name"));
        assert_true(config_has_diagnostic(&d, 14, 17, CONFIG_SEVERITY_ERROR,
                                          "'verify.subnet_id' names no subnet for the policy's region 'eu-west-1'"));
        assert_true(config_has_diagnostic(&d, 15, 25, CONFIG_SEVERITY_ERROR,
                                          "'verify.security_group_ids' is one list, and 'subnet_id' names a subnet per "
                                          "region"));
        assert_true(config_has_diagnostic(&d, 24, 25, CONFIG_SEVERITY_ERROR,
                                          "'verify.security_group_ids' per region goes with 'subnet_id' per region"));
        assert_true(config_has_diagnostic(&d, 33, 26, CONFIG_SEVERITY_ERROR,
                                          "'verify.security_group_ids' names region 'eu-west-1', for which 'subnet_id' "
                                          "names no subnet"));
        assert_true(config_has_diagnostic(&d, 33, 63, CONFIG_SEVERITY_ERROR,
                                          "'verify.security_group_ids' is empty: leave it out for the VPC's default group"));
        assert_true(config_has_diagnostic(&d, 33, 67, CONFIG_SEVERITY_ERROR,
                                          "'nowhere' in 'verify.security_group_ids' is not an AWS region name"));
        assert_true(config_has_diagnostic(&d, 34, 5, CONFIG_SEVERITY_ERROR, "duplicate"));
        assert_int_equal(d.n_errors, 10);
}

static void test_empty_subnet_mapping(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD "verify: {instance_type: t3.micro, subnet_id: {}}\n", &c, &d),
                         -EINVAL);
        assert_true(config_has_diagnostic(&d, 5, 46, CONFIG_SEVERITY_ERROR,
                                          "'verify.subnet_id' is empty: give a subnet id, or one per region"));
        assert_int_equal(d.n_errors, 1);
}

/* A region whose subnet is invalid gets that one error, not a second for a region left out. */
static void test_one_error_per_bad_subnet(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD2 "verify:\n"
                                            "  instance_type: t3.micro\n"
                                            "  subnet_id: {us-east-1: subnet-1111aaaa, eu-west-1: sub-2222bbbb}\n"
                                            "  security_group_ids: {eu-west-1: [sg-0123abcd]}\n",
                                            &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 8, 54, CONFIG_SEVERITY_ERROR,
                                          "'verify.subnet_id' 'sub-2222bbbb' is not a subnet id"));
        assert_int_equal(d.n, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_absent),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_every_key),
                cmocka_unit_test(test_profile_arn),
                cmocka_unit_test(test_profile_bad_forms),
                cmocka_unit_test(test_per_region),
                cmocka_unit_test(test_global_region),
                cmocka_unit_test(test_bad_values),
                cmocka_unit_test(test_more_bad_values),
                cmocka_unit_test(test_console_match_too_long),
                cmocka_unit_test(test_missing_and_misspelled),
                cmocka_unit_test(test_subnet_regions),
                cmocka_unit_test(test_empty_subnet_mapping),
                cmocka_unit_test(test_one_error_per_bad_subnet),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
