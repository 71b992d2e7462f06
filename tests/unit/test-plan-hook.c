/* SPDX-License-Identifier: MIT */
/*
 * The pure decisions of the hooks around CreateImage (run/plan-hook.c): what
 * image.on_hook_failure makes of a failed before or freeze, the SSM document, the
 * Comment and its reading back, the freezes a restart must thaw, the freeze's hold, the
 * poll backoff, a local hook's environment and the excerpt of its output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "run/plan-hook.h"

static void test_on_hook_failure_verdicts(void **state) {
        hook_verdict v;

        (void) state;
        v = hook_failure_verdict(POLICY_HOOK_FAILURE_SKIP, true);
        assert_false(v.create);
        assert_non_null(strstr(v.what, "on_hook_failure"));
        v = hook_failure_verdict(POLICY_HOOK_FAILURE_CRASH_CONSISTENT, true);
        assert_true(v.create);
        assert_true(v.no_reboot);
        /* crash-consistent keeps what the policy asked for: image.reboot: true still reboots */
        v = hook_failure_verdict(POLICY_HOOK_FAILURE_CRASH_CONSISTENT, false);
        assert_false(v.no_reboot);
        v = hook_failure_verdict(POLICY_HOOK_FAILURE_REBOOT, true);
        assert_true(v.create);
        assert_false(v.no_reboot);
}

static void test_hook_wanted_and_summary(void **state) {
        policy p = {};
        char buf[HOOK_SUMMARY_MAX];

        (void) state;
        assert_false(hook_wanted(&p));
        assert_null(hook_summary(&p, buf));
        p.freeze = true;
        assert_string_equal(hook_summary(&p, buf), "freeze");
        p.hook_after.where = POLICY_HOOK_LOCAL;
        assert_string_equal(hook_summary(&p, buf), "freeze, after");
        p.hook_before.where = POLICY_HOOK_SSM;
        assert_string_equal(hook_summary(&p, buf), "before, freeze, after");
        p.freeze = false;
        assert_string_equal(hook_summary(&p, buf), "before, after");
        p.hook_after.where = POLICY_HOOK_NONE;
        assert_true(hook_wanted(&p));
        assert_string_equal(hook_summary(&p, buf), "before");
}

static void test_document_by_platform(void **state) {
        policy_hook h = { .where = POLICY_HOOK_SSM };
        char doc[] = "Custom-Doc";

        (void) state;
        assert_string_equal(hook_document(&h, false), "AWS-RunShellScript");
        assert_string_equal(hook_document(&h, true), "AWS-RunPowerShellScript");
        h.document = doc;
        assert_string_equal(hook_document(&h, true), "Custom-Doc");
}

static void test_comment_round_trip(void **state) {
        char *c;
        const char *slot;
        char long_name[60];

        (void) state;
        c = hook_comment(HOOK_FREEZE, "web", "20300101T030000Z");
        assert_string_equal(c, "amirotd freeze web 20300101T030000Z");
        assert_int_equal(hook_comment_kind(c, "web", &slot), HOOK_FREEZE);
        assert_string_equal(slot, "20300101T030000Z");
        /* Another policy whose name starts the same is not this one. */
        assert_int_equal(hook_comment_kind(c, "we", NULL), _HOOK_KIND_INVALID);
        assert_int_equal(hook_comment_kind("amirotd freeze web-2 x", "web", NULL), _HOOK_KIND_INVALID);
        assert_int_equal(hook_comment_kind("someone else's", "web", NULL), _HOOK_KIND_INVALID);
        assert_int_equal(hook_comment_kind(NULL, "web", NULL), _HOOK_KIND_INVALID);
        assert_int_equal(hook_comment_kind("amirotd melt web x", "web", NULL), _HOOK_KIND_INVALID);
        free(c);
        /* At most SSM's 100 characters. */
        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;
        c = hook_comment(HOOK_THAW, long_name, "20300101T030000Z-and-a-very-long-slot-id-that-is-cut-off");
        assert_int_equal(strlen(c), 100);
        assert_int_equal(hook_comment_kind(c, long_name, NULL), HOOK_THAW);
        free(c);
        c = hook_token("web", "20300101T030000Z");
        assert_string_equal(c, "web.20300101T030000Z");
        free(c);
}

#define S USEC_PER_SEC

static void test_unthawed_freezes(void **state) {
        hook_command_seen seen[] = {
                /* i-1: frozen at 100, thawed at 105: nothing to do */
                { "amirotd freeze web S1", "i-1", 100 * S },
                { "amirotd thaw web S1", "i-1", 105 * S },
                /* i-2: frozen, never thawed (kill -9) */
                { "amirotd freeze web S1", "i-2", 100 * S },
                /* i-3: a thaw of another slot does not thaw this freeze */
                { "amirotd thaw web S0", "i-3", 120 * S },
                { "amirotd freeze web S1", "i-3", 110 * S },
                /* i-4: a thaw before the freeze (the previous slot's) does not count */
                { "amirotd thaw web S2", "i-4", 90 * S },
                { "amirotd freeze web S2", "i-4", 100 * S },
                /* another policy's freeze, and a foreign command */
                { "amirotd freeze db S1", "i-5", 100 * S },
                { "backup", "i-6", 100 * S },
                /* the same freeze twice (a retry): one thaw */
                { "amirotd freeze web S1", "i-2", 101 * S },
        };
        hook_frozen *l;
        size_t n;

        (void) state;
        assert_int_equal(hook_unthawed(seen, ELEMENTSOF(seen), "web", 1000 * S, 45, &l, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(l[0].instance_id, "i-2");
        assert_string_equal(l[0].slot, "S1");
        assert_string_equal(l[1].instance_id, "i-3");
        assert_string_equal(l[2].instance_id, "i-4");
        assert_string_equal(l[2].slot, "S2");
        hook_frozen_free(l, n);
        assert_int_equal(hook_unthawed(seen, 0, "web", 1000 * S, 45, &l, &n), 0);
        assert_int_equal(n, 0);
        hook_frozen_free(l, n);
}

/* A freeze still within its hold belongs to a live run (on this host or another one running
 * the same policy), which thaws it itself: never thawed from here. And RequestedDateTime's
 * fraction orders a thaw and a freeze of the same second. */
static void test_unthawed_fresh_and_subsecond(void **state) {
        const hook_command_seen seen[] = {
                /* i-1: frozen 10 s ago by another host's run: live */
                { "amirotd freeze web S1", "i-1", 990 * S },
                /* i-2: frozen 46 s ago, past the hold of 45 s: abandoned */
                { "amirotd freeze web S1", "i-2", 954 * S },
                /* i-3: the previous slot's thaw, then a freeze of S1 in the same second */
                { "amirotd freeze web S0", "i-3", 900 * S },
                { "amirotd thaw web S0", "i-3", 900 * S + 200000 },
                { "amirotd freeze web S0", "i-3", 900 * S + 700000 },
        };
        hook_frozen *l;
        size_t n;

        (void) state;
        assert_int_equal(hook_unthawed(seen, ELEMENTSOF(seen), "web", 1000 * S, 45, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(l[0].instance_id, "i-2");
        assert_string_equal(l[1].instance_id, "i-3");
        assert_string_equal(l[1].slot, "S0");
        hook_frozen_free(l, n);
        /* exactly at the end of the hold: no longer held */
        assert_int_equal(hook_unthawed(seen, 1, "web", 1035 * S, 45, &l, &n), 0);
        assert_int_equal(n, 1);
        hook_frozen_free(l, n);
        assert_int_equal(hook_unthawed(seen, 1, "web", 1035 * S - 1, 45, &l, &n), 0);
        assert_int_equal(n, 0);
        hook_frozen_free(l, n);
}

static void test_freeze_hold_and_window(void **state) {
        (void) state;
        /* CreateImage must answer within the freeze less a margin: a quarter, at least 5 s */
        assert_int_equal(hook_freeze_hold(60), 45);
        assert_int_equal(hook_freeze_hold(10), 5);
        assert_int_equal(hook_freeze_hold(900), 675);
        assert_true(hook_freeze_window(60) > 60);
}

static void test_poll_backoff(void **state) {
        usec_t last = 0;

        (void) state;
        assert_int_equal(hook_poll_delay(0), 2 * USEC_PER_SEC);
        for (unsigned n = 0; n < 50; n++) {
                usec_t d = hook_poll_delay(n);

                assert_true(d >= last);
                assert_true(d <= 10 * USEC_PER_SEC);
                last = d;
        }
        assert_int_equal(last, 10 * USEC_PER_SEC);
}

static void test_environment_drops_secrets(void **state) {
        char *env[] = { (char *) "PATH=/usr/bin", (char *) "AWS_SECRET_ACCESS_KEY=s3cr3t",
                        (char *) "AWS_SESSION_TOKEN=tok", (char *) "AWS_ACCESS_KEY_ID=AKID",
                        (char *) "AWS_REGION=eu-west-1", (char *) "AMIROTD_POLICY=forged",
                        (char *) "NOTIFY_SOCKET=/run/systemd/notify", (char *) "CREDENTIALS_DIRECTORY=/run/c",
                        (char *) "AWS_SECRET_ACCESS_KEY_EXTRA=kept",
                        /* What points at the daemon's credentials is theirs too. */
                        (char *) "AWS_PROFILE=amirotd", (char *) "AWS_DEFAULT_PROFILE=amirotd",
                        (char *) "AWS_CONFIG_FILE=/etc/amirotd/aws-config",
                        (char *) "AWS_SHARED_CREDENTIALS_FILE=/etc/amirotd/credentials",
                        (char *) "AWS_WEB_IDENTITY_TOKEN_FILE=/run/token",
                        (char *) "AWS_ROLE_ARN=arn:aws:iam::111122223333:role/amirotd",
                        (char *) "AWS_ROLE_SESSION_NAME=amirotd",
                        (char *) "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials",
                        (char *) "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/x",
                        (char *) "AWS_CONTAINER_AUTHORIZATION_TOKEN=tok",
                        (char *) "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/tok",
                        (char *) "AWS_CREDENTIAL_EXPIRATION=2030-01-01T00:00:00Z",
                        (char *) "AWS_SECURITY_TOKEN=tok",
                        /* systemd's, for the service alone. */
                        (char *) "WATCHDOG_USEC=30000000", (char *) "WATCHDOG_PID=1",
                        (char *) "LISTEN_FDS=1", (char *) "LISTEN_PID=1", (char *) "LISTEN_FDNAMES=x", NULL };
        char *extra[] = { (char *) "AMIROTD_POLICY=web", NULL };
        char **out;

        (void) state;
        assert_int_equal(hook_environment(env, extra, &out), 0);
        assert_int_equal(strv_length(out), 4);
        assert_string_equal(out[0], "PATH=/usr/bin");
        assert_string_equal(out[1], "AWS_REGION=eu-west-1");
        assert_string_equal(out[2], "AWS_SECRET_ACCESS_KEY_EXTRA=kept");
        assert_string_equal(out[3], "AMIROTD_POLICY=web");
        strv_free(out);
        /* An empty environment still has a PATH for /bin/sh to find commands. */
        assert_int_equal(hook_environment(NULL, NULL, &out), 0);
        assert_non_null(out);
        assert_true(startswith(out[0], "PATH="));
        strv_free(out);
}

static void test_excerpt(void **state) {
        char big[3000];
        char *s;

        (void) state;
        s = hook_excerpt("ok\n\x1b[31mred\tx\x7f", 14);
        assert_string_equal(s, "ok\n?[31mred\tx?");
        free(s);
        s = hook_excerpt("frozen /mnt/sdf\nfrozen /mnt/sdg\n", 32);
        assert_string_equal(s, "frozen /mnt/sdf\nfrozen /mnt/sdg");
        free(s);
        memset(big, 'x', sizeof(big));
        s = hook_excerpt(big, sizeof(big));
        assert_int_equal(strlen(s), HOOK_EXCERPT_MAX + 3);
        assert_string_equal(s + HOOK_EXCERPT_MAX, "...");
        free(s);
}

/* journald stores a MESSAGE that is not valid UTF-8 as a blob, which journalctl hides:
 * the excerpt is valid UTF-8 whatever the hook printed, and cut between characters. */
static void test_excerpt_is_valid_utf8(void **state) {
        char big[HOOK_EXCERPT_MAX + 16];
        char *s;

        (void) state;
        s = hook_excerpt("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", 14);
        assert_string_equal(s, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");
        free(s);
        /* Stray bytes, a sequence cut short, an overlong form, a surrogate, beyond U+10FFFF. */
        s = hook_excerpt("\xff\xfe ok \xe2\x9c x \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80.", 23);
        assert_string_equal(s, "?? ok ?? x ?? ??? ????.");
        free(s);
        /* C1 control characters are as invisible as C0 ones. */
        s = hook_excerpt("a\xc2\x9b" "31mb", 7);
        assert_string_equal(s, "a?31mb");
        free(s);
        /* The cut falls before a character that does not fit whole, never inside it. */
        memset(big, 'x', sizeof(big));
        memcpy(big + HOOK_EXCERPT_MAX - 1, "\xc3\xa9", 2);
        s = hook_excerpt(big, sizeof(big));
        assert_int_equal(strlen(s), HOOK_EXCERPT_MAX - 1 + 3);
        assert_string_equal(s + HOOK_EXCERPT_MAX - 1, "...");
        free(s);
        /* A sequence cut short by the end of the output is replaced, not kept. */
        s = hook_excerpt("ok \xe2\x9c", 5);
        assert_string_equal(s, "ok ??");
        free(s);
}

/* A thaw whose SendCommand failed is sent again unless the same answer would come back. */
static void test_thaw_send_retry(void **state) {
        (void) state;
        assert_true(hook_send_retryable(-EIO, "ThrottlingException"));
        assert_true(hook_send_retryable(-EIO, "InternalServerError"));
        assert_true(hook_send_retryable(-ECONNRESET, NULL));
        assert_true(hook_send_retryable(-ETIMEDOUT, NULL));
        assert_false(hook_send_retryable(-EHOSTDOWN, "InvalidInstanceId"));
        assert_false(hook_send_retryable(-EACCES, "AccessDeniedException"));
        assert_false(hook_send_retryable(-EIO, "InvalidDocument"));
        assert_false(hook_send_retryable(-ENOMEM, NULL));
        assert_int_equal(hook_thaw_retry_delay(0), USEC_PER_SEC);
        assert_int_equal(hook_thaw_retry_delay(1), 2 * USEC_PER_SEC);
        assert_int_equal(hook_thaw_retry_delay(3), 8 * USEC_PER_SEC);
        assert_int_equal(hook_thaw_retry_delay(4), 10 * USEC_PER_SEC);
        assert_int_equal(hook_thaw_retry_delay(64), 10 * USEC_PER_SEC);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_on_hook_failure_verdicts),
                cmocka_unit_test(test_hook_wanted_and_summary),
                cmocka_unit_test(test_document_by_platform),
                cmocka_unit_test(test_comment_round_trip),
                cmocka_unit_test(test_unthawed_freezes),
                cmocka_unit_test(test_unthawed_fresh_and_subsecond),
                cmocka_unit_test(test_freeze_hold_and_window),
                cmocka_unit_test(test_poll_backoff),
                cmocka_unit_test(test_thaw_send_retry),
                cmocka_unit_test(test_environment_drops_secrets),
                cmocka_unit_test(test_excerpt),
                cmocka_unit_test(test_excerpt_is_valid_utf8),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
