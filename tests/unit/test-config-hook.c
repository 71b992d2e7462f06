/* SPDX-License-Identifier: MIT */
/*
 * The hooks around CreateImage in the configuration (config/policy-hook.c): image.before,
 * after, freeze, freeze_timeout and on_hook_failure; what each form loads to, the
 * defaults, and a message at file:line:col for every bad input. The dumps are in the
 * golden cases tests/data/config/hooks and err-hooks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "config-test-helper.h"

#define HEAD "name: db\ntargets: {tags: {Role: db}}\nschedule: {every: 24h}\nretain: {count: 3}\n"

/* One policy of HEAD with image: {IMAGE}; its diagnostics in *d. */
static int load_image(const char *image, config **ret, config_diagnostics *d) {
        char text[2048];

        snprintf(text, sizeof(text), HEAD "image:\n%s", image);
        return config_load_policy(text, ret, d);
}

static void test_none(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const policy *p;

        (void) state;
        assert_int_equal(config_load_policy(HEAD, &c, &d), 0);
        p = &c->policies[0];
        assert_int_equal(p->hook_before.where, POLICY_HOOK_NONE);
        assert_int_equal(p->hook_after.where, POLICY_HOOK_NONE);
        assert_false(p->freeze);
        assert_int_equal(p->on_hook_failure, POLICY_HOOK_FAILURE_SKIP);
}

static void test_ssm_and_local(void **state) {
        static const char image[] =
                "  before:\n"
                "    ssm: [\"systemctl stop app\", \"sync\"]\n"
                "    timeout: 90s\n"
                "  after:\n"                                                            /* 8 */
                "    local: ./notify \"$AMIROTD_INSTANCE_ID\"\n"
                "  freeze: true\n"
                "  on_hook_failure: crash-consistent\n";
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const policy *p;

        (void) state;
        assert_int_equal(load_image(image, &c, &d), 0);
        assert_int_equal(d.n, 0);
        p = &c->policies[0];
        assert_int_equal(p->hook_before.where, POLICY_HOOK_SSM);
        assert_string_equal(p->hook_before.command, "systemctl stop app\nsync");
        assert_null(p->hook_before.document);
        assert_int_equal(p->hook_before.timeout, 90);
        assert_int_equal(p->hook_before.pos.line, 7);       /* its mapping */
        assert_int_equal(p->hook_after.where, POLICY_HOOK_LOCAL);
        assert_string_equal(p->hook_after.command, "./notify \"$AMIROTD_INSTANCE_ID\"");
        assert_int_equal(p->hook_after.timeout, 300);
        assert_int_equal(p->hook_after.pos.line, 10);
        assert_true(p->freeze);
        assert_int_equal(p->freeze_timeout, 60);
        assert_int_equal(p->on_hook_failure, POLICY_HOOK_FAILURE_CRASH_CONSISTENT);
}

static void test_document_and_bounds(void **state) {
        static const char image[] =
                "  before: {ssm: \"Stop-Service App\", document: AWS-RunPowerShellScript, timeout: 2h}\n"
                "  freeze: false\n"
                "  on_hook_failure: reboot\n";
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const policy *p;

        (void) state;
        assert_int_equal(load_image(image, &c, &d), 0);
        assert_int_equal(d.n, 0);
        p = &c->policies[0];
        assert_string_equal(p->hook_before.document, "AWS-RunPowerShellScript");
        assert_int_equal(p->hook_before.timeout, 7200);
        assert_false(p->freeze);
        assert_int_equal(p->freeze_timeout, 0);
        assert_int_equal(p->on_hook_failure, POLICY_HOOK_FAILURE_REBOOT);
        assert_string_equal(policy_hook_failure_to_string(p->on_hook_failure), "reboot");
        assert_int_equal(policy_hook_failure_from_string("crash-consistent"), POLICY_HOOK_FAILURE_CRASH_CONSISTENT);
        assert_int_equal(policy_hook_failure_from_string("crash"), _POLICY_HOOK_FAILURE_INVALID);
}

static void test_freeze_timeout(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(load_image("  freeze: yes\n  freeze_timeout: 15m\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_true(c->policies[0].freeze);
        assert_int_equal(c->policies[0].freeze_timeout, 900);
}

/* Each bad input alone, so that each message is proven to come from its own input. */
typedef struct bad_case {
        const char *image;
        unsigned line, column;          /* line 5 is "image:" */
        config_severity severity;
        const char *message;
} bad_case;

static const bad_case bad_cases[] = {
        { "  before: systemctl stop app\n", 6, 11, CONFIG_SEVERITY_ERROR, "'before' expects a mapping: {ssm: SCRIPT}" },
        { "  before: {ssm: a, local: b}\n", 6, 27, CONFIG_SEVERITY_ERROR, "has both 'ssm' and 'local'" },
        { "  after: {timeout: 1m}\n", 6, 10, CONFIG_SEVERITY_ERROR, "'after' needs 'ssm'" },
        { "  after: {sm: x}\n", 6, 11, CONFIG_SEVERITY_ERROR, "unknown key 'sm' in 'after', did you mean 'ssm'?" },
        { "  before: {ssm: \"  \"}\n", 6, 17, CONFIG_SEVERITY_ERROR, "the script of 'before' is empty" },
        { "  before: {ssm: []}\n", 6, 17, CONFIG_SEVERITY_ERROR, "the script of 'before' is empty" },
        { "  before: {local: \"\"}\n", 6, 19, CONFIG_SEVERITY_ERROR, "the command of 'before' is empty" },
        { "  before: {local: [a, b]}\n", 6, 19, CONFIG_SEVERITY_ERROR, "'local' expects" },
        { "  before: {ssm: [a, {b: c}]}\n", 6, 21, CONFIG_SEVERITY_ERROR, "'ssm' expects" },
        { "  before: {ssm: {a: b}}\n", 6, 17, CONFIG_SEVERITY_ERROR, "'ssm' expects a script" },
        { "  before: {ssm: a, document: AWS-RunShellScrip}\n", 6, 30, CONFIG_SEVERITY_ERROR,
          "unknown document 'AWS-RunShellScrip' in 'document' (AWS-RunShellScript for Linux, "
          "AWS-RunPowerShellScript for Windows), did you mean 'AWS-RunShellScript'?" },
        { "  before: {local: a, document: AWS-RunShellScript}\n", 6, 32, CONFIG_SEVERITY_ERROR,
          "'document' goes with 'ssm'" },
        { "  before: {ssm: a, timeout: 0s}\n", 6, 29, CONFIG_SEVERITY_ERROR, "got '0s'" },
        { "  before: {ssm: a, timeout: 3h}\n", 6, 29, CONFIG_SEVERITY_ERROR, "'timeout' must be at most 2h" },
        { "  before: {ssm: a, timeout: 30}\n", 6, 29, CONFIG_SEVERITY_ERROR, "needs a unit" },
        { "  befor: {ssm: a}\n", 6, 3, CONFIG_SEVERITY_ERROR, "unknown key 'befor' in 'image', did you mean 'before'?" },
        { "  freeze: maybe\n", 6, 11, CONFIG_SEVERITY_ERROR, "freeze" },
        { "  freeze: true\n  freeze_timeout: 5s\n", 7, 19, CONFIG_SEVERITY_ERROR, "must be at least 10s" },
        { "  freeze: true\n  freeze_timeout: 16m\n", 7, 19, CONFIG_SEVERITY_ERROR, "must be at most 15m" },
        { "  freeze_timeout: 1m\n", 6, 3, CONFIG_SEVERITY_ERROR, "'freeze_timeout' goes with 'freeze: true'" },
        { "  freeze: false\n  freeze_timeout: 1m\n", 7, 3, CONFIG_SEVERITY_ERROR, "'freeze_timeout' goes with" },
        { "  on_hook_failure: skip\n", 6, 3, CONFIG_SEVERITY_ERROR, "'on_hook_failure' goes with 'before' or 'freeze: true'" },
        { "  after: {local: a}\n  on_hook_failure: reboot\n", 7, 3, CONFIG_SEVERITY_ERROR, "a failed 'after' fails the run" },
        { "  freeze: true\n  on_hook_failure: crash\n", 7, 20, CONFIG_SEVERITY_ERROR,
          "unknown value 'crash' in 'on_hook_failure', did you mean 'crash-consistent'?" },
        { "  freeze: true\n  on_hook_failure: skipp\n", 7, 20, CONFIG_SEVERITY_ERROR,
          "unknown value 'skipp' in 'on_hook_failure' (skip, crash-consistent or reboot), did you mean 'skip'?" },
        { "  freeze: true\n  reboot: true\n", 6, 11, CONFIG_SEVERITY_ERROR, "'freeze: true' with 'reboot: true' is pointless" },
        { "  reboot: true\n  before: {ssm: a}\n  on_hook_failure: reboot\n", 8, 3, CONFIG_SEVERITY_WARNING,
          "'on_hook_failure: reboot' is what 'reboot: true' does anyway" },
        { "  freeze: true\n  before: {ssm: a, document: AWS-RunPowerShellScript}\n", 6, 11, CONFIG_SEVERITY_WARNING,
          "fails on a Windows instance" },
        { "  after: {local: \"./notify {instance_id}\"}\n", 6, 18, CONFIG_SEVERITY_WARNING,
          "'{instance_id}' is not replaced in a hook's command: a local command reads AMIROTD_INSTANCE_ID" },
        { "  before: {ssm: \"echo {slot}\"}\n", 6, 17, CONFIG_SEVERITY_WARNING,
          "'{slot}' is not replaced in a hook's script" },
};

static void test_bad_inputs(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
                const bad_case *b = &bad_cases[i];
                _cleanup_(config_freep) config *c = NULL;
                _cleanup_(config_diagnostics_done) config_diagnostics d = {};
                int r;

                r = load_image(b->image, &c, &d);
                if (!config_has_diagnostic(&d, b->line, b->column, b->severity, b->message))
                        fail_msg("case %zu: %s", i, b->image);
                assert_int_equal(r, b->severity == CONFIG_SEVERITY_ERROR ? -EINVAL : 0);
                /* exactly one diagnostic: no second message for the same mistake */
                if (d.n != 1) {
                        config_diagnostics_print(&d, stderr);
                        fail_msg("case %zu: %zu diagnostics", i, d.n);
                }
        }
}

/* A shell's ${...} is no placeholder: no warning. */
static void test_shell_braces(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(load_image("  before: {ssm: \"echo ${instance_id}\"}\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_none),
                cmocka_unit_test(test_ssm_and_local),
                cmocka_unit_test(test_document_and_bounds),
                cmocka_unit_test(test_freeze_timeout),
                cmocka_unit_test(test_bad_inputs),
                cmocka_unit_test(test_shell_braces),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
