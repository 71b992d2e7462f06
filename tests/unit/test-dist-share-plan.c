/* SPDX-License-Identifier: MIT */
/*
 * The rules of sharing (run/dist-share-plan.c): who a policy wants its images shared
 * with (share and the accounts of copy_to), and what changes an image's permissions to
 * that: with a share section, everything else goes (the public group too); without
 * one, only the copy_to accounts are amirotd's; an image on its way out keeps nothing
 * of the policy's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "aws/endpoint.h"
#include "run/dist-share-plan.h"

#define A "444455556666"
#define B "777788889999"
#define C "123456789012"
#define ORG "arn:aws:organizations::111122223333:organization/o-abc123def4"

static char *accounts_ab[] = { A, B, NULL };
static char *orgs[] = { ORG, NULL };

static copy_destination copies[] = {
        { .region = "eu-west-1", .role_arn = "arn:aws:iam::" C ":role/amirotd" },
        { .region = "eu-west-2" },      /* the policy's own account */
        { .region = "eu-west-3", .role_arn = "arn:aws-cn:iam::" C ":role/path/amirotd" },
};

static void test_wanted(void **state) {
        policy none = {}, shared = { .share_set = true }, copied = { .copy_to = copies, .n_copy_to = 3 };
        policy same_account = { .copy_to = &copies[1], .n_copy_to = 1 };
        char account[13];

        (void) state;
        assert_false(share_wanted(&none));
        assert_true(share_wanted(&shared));
        assert_true(share_wanted(&copied));
        assert_false(share_wanted(&same_account));
        assert_true(aws_role_arn_account("arn:aws-us-gov:iam::" C ":role/x", account));
        assert_string_equal(account, C);
        assert_false(aws_role_arn_account("arn:aws:iam::1234:role/x", account));
        assert_false(aws_role_arn_account(NULL, account));
}

static void test_wants_merge_share_and_copy_accounts(void **state) {
        policy p = { .share_set = true, .share_accounts = accounts_ab, .share_organizations = orgs,
                     .share_snapshots = true, .copy_to = copies, .n_copy_to = 3 };
        _cleanup_(share_wants_done) share_wants w = {}, w2 = {};

        (void) state;
        assert_int_equal(share_wants_of(&p, &w), 0);
        assert_true(w.reconcile);
        assert_int_equal(strv_length(w.accounts), 3);           /* A, B, C: C once for two copies */
        assert_string_equal(w.accounts[2], C);
        assert_int_equal(strv_length(w.volume_accounts), 3);
        assert_int_equal(strv_length(w.copy_accounts), 1);
        assert_string_equal(w.organizations[0], ORG);

        p.share_snapshots = false;
        assert_int_equal(share_wants_of(&p, &w2), 0);
        assert_int_equal(strv_length(w2.volume_accounts), 1);   /* only what CopyImage needs */
        assert_string_equal(w2.volume_accounts[0], C);
}

/* A copy_to role in the account of the policy's own role is no other account. */
static void test_the_policys_own_account_is_no_copy_account(void **state) {
        policy p = { .role_arn = (char *) "arn:aws:iam::" C ":role/amirotd", .copy_to = copies, .n_copy_to = 3 };
        _cleanup_(share_wants_done) share_wants w = {};

        (void) state;
        assert_int_equal(share_wants_of(&p, &w), 0);
        assert_int_equal(strv_length(w.copy_accounts), 0);
        assert_int_equal(strv_length(w.accounts), 0);
}

static void test_reconcile_adds_and_removes_the_rest(void **state) {
        policy p = { .share_set = true, .share_accounts = accounts_ab };
        _cleanup_(share_wants_done) share_wants w = {};
        _cleanup_(share_change_done) share_change c = {}, again = {};
        char *now[] = { B, C, NULL }, *all[] = { A, B, NULL };
        ec2_permission_list current = { .user_ids = now, .organization_arns = orgs, .public = true };
        ec2_permission_list done = { .user_ids = all };

        (void) state;
        assert_int_equal(share_wants_of(&p, &w), 0);
        assert_int_equal(share_diff_launch(&w, &current, true, &c), 0);
        assert_int_equal(strv_length(c.add_accounts), 1);
        assert_string_equal(c.add_accounts[0], A);
        assert_int_equal(strv_length(c.remove_accounts), 1);
        assert_string_equal(c.remove_accounts[0], C);
        assert_string_equal(c.remove_organizations[0], ORG);
        assert_true(c.remove_public);
        assert_int_equal(share_change_added(&c), 1);
        assert_int_equal(share_change_removed(&c), 3);
        /* In the state wanted: nothing to do. */
        assert_int_equal(share_diff_launch(&w, &done, true, &again), 0);
        assert_true(share_change_empty(&again));
}

static void test_on_its_way_out_nothing_stays_and_nothing_is_added(void **state) {
        policy p = { .share_set = true, .share_accounts = accounts_ab, .share_snapshots = true };
        _cleanup_(share_wants_done) share_wants w = {};
        _cleanup_(share_change_done) share_change c = {}, v = {};
        char *now[] = { A, C, NULL };
        ec2_permission_list current = { .user_ids = now };

        (void) state;
        assert_int_equal(share_wants_of(&p, &w), 0);
        assert_int_equal(share_diff_launch(&w, &current, false, &c), 0);
        assert_null(c.add_accounts);
        assert_int_equal(strv_length(c.remove_accounts), 2);
        assert_int_equal(share_diff_volume(&w, &current, false, &v), 0);
        assert_null(v.add_accounts);
        assert_int_equal(strv_length(v.remove_accounts), 2);
}

static void test_without_share_only_copy_accounts_are_managed(void **state) {
        policy p = { .copy_to = copies, .n_copy_to = 1 };
        _cleanup_(share_wants_done) share_wants w = {};
        _cleanup_(share_change_done) share_change c = {}, out = {};
        char *now[] = { A, NULL }, *both[] = { A, C, NULL };
        ec2_permission_list current = { .user_ids = now, .public = true };
        ec2_permission_list with_copy = { .user_ids = both };

        (void) state;
        assert_int_equal(share_wants_of(&p, &w), 0);
        assert_false(w.reconcile);
        assert_true(share_manages_volumes(&w));
        assert_int_equal(share_diff_launch(&w, &current, true, &c), 0);
        assert_string_equal(c.add_accounts[0], C);
        assert_null(c.remove_accounts);         /* A is someone else's share */
        assert_false(c.remove_public);
        assert_int_equal(share_diff_launch(&w, &with_copy, false, &out), 0);
        assert_int_equal(strv_length(out.remove_accounts), 1);
        assert_string_equal(out.remove_accounts[0], C);
}

static void test_snapshots_are_left_alone_without_share_or_copies(void **state) {
        policy p = {};
        _cleanup_(share_wants_done) share_wants w = {};

        (void) state;
        assert_int_equal(share_wants_of(&p, &w), 0);
        assert_false(share_manages_volumes(&w));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_wanted),
                cmocka_unit_test(test_wants_merge_share_and_copy_accounts),
                cmocka_unit_test(test_the_policys_own_account_is_no_copy_account),
                cmocka_unit_test(test_reconcile_adds_and_removes_the_rest),
                cmocka_unit_test(test_on_its_way_out_nothing_stays_and_nothing_is_added),
                cmocka_unit_test(test_without_share_only_copy_accounts_are_managed),
                cmocka_unit_test(test_snapshots_are_left_alone_without_share_or_copies),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
