/* SPDX-License-Identifier: MIT */
/*
 * A policy's `share` section (config/policy-share.c): what it reads, what `{}` means,
 * and EC2's limit on how many entities an image is shared with. The messages for bad
 * entries are in tests/data/config/err-share.ok.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "config-test-helper.h"

#define HEAD "name: a\ntargets: {tags: {R: x}}\nschedule: {every: 1d}\nretain: {count: 3}\n"

static void test_absent_and_null(void **state) {
        _cleanup_(config_freep) config *c = NULL, *c2 = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {}, d2 = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD, &c, &d), 0);
        assert_false(c->policies[0].share_set);
        assert_int_equal(config_load_policy(HEAD "share:\n", &c2, &d2), 0);
        assert_int_equal(d2.n, 0);
        assert_false(c2->policies[0].share_set);
        assert_null(c2->policies[0].share_accounts);
}

static void test_empty_shares_with_nobody(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD "share: {}\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_true(c->policies[0].share_set);
        assert_null(c->policies[0].share_accounts);
        assert_false(c->policies[0].share_snapshots);
}

static void test_every_key(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const policy *p;

        (void) state;
        assert_int_equal(config_load_policy(HEAD "share:\n  accounts: [444455556666, \"012345678901\"]\n"
                                            "  organizations: [arn:aws-cn:organizations::111122223333:organization/o-abc123def4]\n"
                                            "  organizational_units: [arn:aws:organizations::111122223333:ou/o-abc123def4/ou-ab12-cd34ef56]\n"
                                            "  snapshots: true\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
        p = &c->policies[0];
        assert_int_equal(strv_length(p->share_accounts), 2);
        assert_string_equal(p->share_accounts[0], "444455556666");
        assert_string_equal(p->share_accounts[1], "012345678901");
        assert_string_equal(p->share_organizations[0], "arn:aws-cn:organizations::111122223333:organization/o-abc123def4");
        assert_string_equal(p->share_organizational_units[0],
                            "arn:aws:organizations::111122223333:ou/o-abc123def4/ou-ab12-cd34ef56");
        assert_true(p->share_snapshots);
}

/* AMI quotas: "You can share an AMI with up to 1,000 entities". */
static void test_entity_limit(void **state) {
        _cleanup_(config_freep) config *c = NULL, *c2 = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {}, d2 = {};
        _cleanup_(freep) char *text = NULL, *text2 = NULL;
        size_t size = strlen(HEAD) + 128 + 1001 * 17;
        int k;

        (void) state;
        text = malloc(size);
        assert_non_null(text);
        k = snprintf(text, size, "%sshare:\n  organizations: [arn:aws:organizations::111122223333:organization/o-abc123def4]\n"
                     "  accounts: [", HEAD);
        for (unsigned i = 0; i < 999; i++)
                k += snprintf(text + k, size - k, "%s\"%012llu\"", i ? ", " : "", 100000000000ull + i);
        text2 = strdup(text);
        assert_non_null(text2);
        snprintf(text + k, size - k, "]\n");
        assert_int_equal(config_load_policy(text, &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_int_equal(strv_length(c->policies[0].share_accounts), 999);

        text2 = realloc(text2, size + 32);
        assert_non_null(text2);
        strcat(text2, ", \"999999999999\"]\n");
        assert_int_equal(config_load_policy(text2, &c2, &d2), -EINVAL);
        assert_true(config_has_diagnostic(&d2, 6, 3, CONFIG_SEVERITY_ERROR,
                                          "'share' names 1001 accounts, organizations and OUs; EC2 shares an image with at most 1000"));
        assert_int_equal(d2.n, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_absent_and_null),
                cmocka_unit_test(test_empty_shares_with_nobody),
                cmocka_unit_test(test_every_key),
                cmocka_unit_test(test_entity_limit),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
