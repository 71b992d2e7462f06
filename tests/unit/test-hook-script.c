/* SPDX-License-Identifier: MIT */
/*
 * The freeze and thaw scripts' builders (run/hook-script.c): what they refuse, and the
 * lines others read in the text (ec2sim's model of a freeze, amirotd after a restart).
 * What the scripts do is proven by running them: tests/integration/test_hook_script.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/util.h"
#include "run/hook-script.h"

static void test_tokens(void **state) {
        char longest[HOOK_SCRIPT_TOKEN_MAX + 2];

        (void) state;
        assert_true(hook_script_token_valid("db.20261201T023000Z"));
        assert_true(hook_script_token_valid("web-2:i-0123456789abcdef0_x"));
        assert_false(hook_script_token_valid(NULL));
        assert_false(hook_script_token_valid(""));
        assert_false(hook_script_token_valid("a'b"));
        assert_false(hook_script_token_valid("a b"));
        assert_false(hook_script_token_valid("$(reboot)"));
        memset(longest, 'x', sizeof(longest));
        longest[HOOK_SCRIPT_TOKEN_MAX] = '\0';
        assert_true(hook_script_token_valid(longest));
        longest[HOOK_SCRIPT_TOKEN_MAX] = 'x';
        longest[HOOK_SCRIPT_TOKEN_MAX + 1] = '\0';
        assert_false(hook_script_token_valid(longest));
}

static void test_refusals(void **state) {
        hook_script_paths relative = { "/proc/self/mountinfo", "run/x" }, quoted = { "/proc/'x", "/run/x" };
        char *text = NULL;

        (void) state;
        assert_int_equal(hook_script_freeze(0, "t", &text), -EINVAL);
        assert_int_equal(hook_script_freeze(60, "t t", &text), -EINVAL);
        assert_int_equal(hook_script_thaw("", &text), -EINVAL);
        assert_int_equal(hook_script_freeze_at(&relative, 60, "t", &text), -EINVAL);
        assert_int_equal(hook_script_thaw_at(&quoted, "t", &text), -EINVAL);
        assert_null(text);
}

static void test_freeze_text(void **state) {
        _cleanup_(freep) char *text = NULL;

        (void) state;
        assert_int_equal(hook_script_freeze(90, "db.20261201T023000Z", &text), 0);
        assert_true(startswith(text, "#!/bin/sh\n"));
        assert_non_null(strstr(text, "\nFREEZE_TIMEOUT=90\n"));
        assert_non_null(strstr(text, "\nTOKEN='db.20261201T023000Z'\n"));
        assert_non_null(strstr(text, "\nSTATE='" HOOK_SCRIPT_STATE_DIR "'\n"));
        assert_non_null(strstr(text, "\nMOUNTINFO='" HOOK_SCRIPT_MOUNTINFO "'\n"));
        assert_non_null(strstr(text, "fsfreeze -f \"$m\""));
        assert_non_null(strstr(text, "fsfreeze -u"));
}

/* ec2sim tells a thaw by fsfreeze -u without -f, and takes a freeze's deadline from
 * FREEZE_TIMEOUT=: a thaw must carry neither. */
static void test_thaw_text(void **state) {
        _cleanup_(freep) char *text = NULL;

        (void) state;
        assert_int_equal(hook_script_thaw("db.20261201T023000Z", &text), 0);
        assert_non_null(strstr(text, "fsfreeze -u"));
        assert_null(strstr(text, "fsfreeze -f"));
        assert_null(strstr(text, "FREEZE_TIMEOUT"));
        assert_non_null(strstr(text, "\nTOKEN='db.20261201T023000Z'\n"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tokens),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_freeze_text),
                cmocka_unit_test(test_thaw_text),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
