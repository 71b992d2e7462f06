/* SPDX-License-Identifier: MIT */
/*
 * retry.c: which outcomes are retried and how, full-jitter bounds, the retry
 * quota that stops a failing region from spinning, and the single credentials
 * refresh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "aws/retry.h"

static void test_classify_table(void **state) {
        static const struct {
                int error;
                long status;
                const char *code;
                retry_kind kind;
        } table[] = {
                { 0, 200, NULL, RETRY_KIND_SUCCESS },
                { 0, 204, NULL, RETRY_KIND_SUCCESS },
                /* Throttling, whatever the status. */
                { 0, 503, "RequestLimitExceeded", RETRY_KIND_THROTTLING },
                { 0, 400, "Throttling", RETRY_KIND_THROTTLING },
                { 0, 400, "ThrottlingException", RETRY_KIND_THROTTLING },
                { 0, 400, "ThrottledException", RETRY_KIND_THROTTLING },
                { 0, 400, "RequestThrottledException", RETRY_KIND_THROTTLING },
                { 0, 400, "TooManyRequestsException", RETRY_KIND_THROTTLING },
                { 0, 400, "ProvisionedThroughputExceededException", RETRY_KIND_THROTTLING },
                { 0, 400, "TransactionInProgressException", RETRY_KIND_THROTTLING },
                { 0, 400, "BandwidthLimitExceeded", RETRY_KIND_THROTTLING },
                { 0, 400, "LimitExceededException", RETRY_KIND_THROTTLING },
                { 0, 400, "RequestThrottled", RETRY_KIND_THROTTLING },
                { 0, 503, "SlowDown", RETRY_KIND_THROTTLING },
                { 0, 400, "PriorRequestNotComplete", RETRY_KIND_THROTTLING },
                { 0, 400, "EC2ThrottledException", RETRY_KIND_THROTTLING },
                { 0, 429, NULL, RETRY_KIND_THROTTLING },
                /* Transient. */
                { 0, 500, "InternalError", RETRY_KIND_TRANSIENT },
                { 0, 503, "Unavailable", RETRY_KIND_TRANSIENT },
                { 0, 503, "ServiceUnavailable", RETRY_KIND_TRANSIENT },
                { 0, 400, "RequestTimeout", RETRY_KIND_TRANSIENT },
                { 0, 400, "RequestTimeoutException", RETRY_KIND_TRANSIENT },
                { 0, 500, NULL, RETRY_KIND_TRANSIENT },
                { 0, 502, NULL, RETRY_KIND_TRANSIENT },
                { 0, 503, NULL, RETRY_KIND_TRANSIENT },
                { 0, 504, NULL, RETRY_KIND_TRANSIENT },
                { 0, 500, "SomethingNew", RETRY_KIND_TRANSIENT },
                { -EBADMSG, 502, NULL, RETRY_KIND_TRANSIENT },  /* a proxy's HTML page */
                /* Unreadable answers: transient whatever the status (issue 10, item 11). */
                { -EBADMSG, 200, NULL, RETRY_KIND_TRANSIENT },  /* malformed or truncated XML */
                { -EBADMSG, 0, NULL, RETRY_KIND_TRANSIENT },    /* bytes that are not HTTP */
                { -EBADMSG, 400, NULL, RETRY_KIND_TRANSIENT },
                { -ECONNRESET, 0, NULL, RETRY_KIND_TRANSIENT },
                { -ECONNREFUSED, 0, NULL, RETRY_KIND_TRANSIENT },
                { -EHOSTUNREACH, 0, NULL, RETRY_KIND_TRANSIENT },
                { -ETIMEDOUT, 0, NULL, RETRY_KIND_TIMEOUT },
                /* Credentials: refreshed once. */
                { 0, 401, "AuthFailure", RETRY_KIND_CREDENTIALS },
                { 0, 400, "ExpiredToken", RETRY_KIND_CREDENTIALS },
                { 0, 400, "ExpiredTokenException", RETRY_KIND_CREDENTIALS },
                { 0, 400, "RequestExpired", RETRY_KIND_CREDENTIALS },
                /* Never retried. */
                { 0, 400, "InvalidParameterValue", RETRY_KIND_FATAL },
                { 0, 403, "UnauthorizedOperation", RETRY_KIND_FATAL },
                { 0, 400, "InvalidAMIName.Duplicate", RETRY_KIND_FATAL },
                { 0, 400, "InvalidSnapshot.InUse", RETRY_KIND_FATAL },
                { 0, 404, NULL, RETRY_KIND_FATAL },
                { 0, 501, NULL, RETRY_KIND_FATAL },
                { 0, 200, "InvalidParameterValue", RETRY_KIND_FATAL },  /* an error document with 200 */
                { -EPROTO, 0, NULL, RETRY_KIND_FATAL },          /* TLS verification */
                { -EFBIG, 200, NULL, RETRY_KIND_FATAL },
                { -ENOMEM, 0, NULL, RETRY_KIND_FATAL },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                retry_kind k = retry_classify(table[i].error, table[i].status, table[i].code);

                if (k != table[i].kind)
                        fail_msg("row %zu (%d, %ld, %s): got %s, want %s", i, table[i].error, table[i].status,
                                 table[i].code ?: "NULL", retry_kind_to_string(k),
                                 retry_kind_to_string(table[i].kind));
        }
}

/* Issue 10, item 7b: the SDKs' clock-skew rule (AWS SDK for Java v2). */
static void test_clock_skew_rule(void **state) {
        const time_t now = 1900000000;
        int64_t offset = 0;

        (void) state;
        /* The server 20 minutes ahead or behind: the offset to sign with is its time minus ours. */
        assert_true(retry_clock_skew("RequestExpired", now, 0, now + 1200, &offset));
        assert_int_equal(offset, 1200);
        assert_true(retry_clock_skew("SignatureDoesNotMatch", now, 0, now - 1200, &offset));
        assert_int_equal(offset, -1200);
        assert_true(retry_clock_skew("InvalidSignatureException", now, 0, now + 3600, &offset));
        assert_true(retry_clock_skew("RequestTimeTooSkewed", now, 0, now + 3600, &offset));
        assert_true(retry_clock_skew("RequestInTheFuture", now, 0, now - 3600, &offset));
        assert_true(retry_clock_skew("AuthFailure", now, 0, now + 3600, &offset));
        /* Measured against the offset the request was signed with: already corrected, no skew. */
        assert_false(retry_clock_skew("RequestExpired", now, 1200, now + 1200, &offset));
        /* ...and a correction back when the host clock was fixed meanwhile. */
        assert_true(retry_clock_skew("RequestExpired", now, 1200, now + 1, &offset));
        assert_int_equal(offset, 1);
        /* Under the 4-minute threshold: not the clock. */
        assert_false(retry_clock_skew("RequestExpired", now, 0, now + 239, &offset));
        assert_true(retry_clock_skew("RequestExpired", now, 0, now + 240, &offset));
        assert_false(retry_clock_skew("RequestExpired", now, 0, now - 239, &offset));
        /* Other errors, or no Date header: never. */
        assert_false(retry_clock_skew("InvalidParameterValue", now, 0, now + 3600, &offset));
        assert_false(retry_clock_skew(NULL, now, 0, now + 3600, &offset));
        assert_false(retry_clock_skew("RequestExpired", now, 0, 0, &offset));
        assert_true(retry_code_is_clock_skew("SignatureDoesNotMatch"));
        assert_false(retry_code_is_clock_skew("ExpiredToken"));
}

/* One correction a call, without quota; then the failure is judged as any other. */
static void test_clock_correction_once(void **state) {
        retry_quota q;
        retry_state s = {};
        usec_t delay;

        (void) state;
        retry_quota_init(&q, RETRY_QUOTA_INITIAL);
        retry_attempt_begin(&s);
        assert_int_equal(retry_after_clock_skew(&s, 0), RETRY_CORRECT_CLOCK);
        assert_int_equal(q.available, RETRY_QUOTA_INITIAL);
        retry_attempt_begin(&s);
        assert_int_equal(retry_after_clock_skew(&s, 0), _RETRY_VERDICT_INVALID);
        assert_int_equal(retry_after_failure(&q, &s, 0, RETRY_KIND_CREDENTIALS, 0.5, &delay),
                         RETRY_REFRESH_CREDENTIALS);
        retry_attempt_begin(&s);
        assert_int_equal(retry_after_failure(&q, &s, 0, RETRY_KIND_CREDENTIALS, 0.5, &delay),
                         RETRY_NO_CREDENTIALS_REFRESHED);

        /* Past the maximum attempts, no correction either. */
        s = (retry_state) {};
        retry_attempt_begin(&s);
        assert_int_equal(retry_after_clock_skew(&s, 1), _RETRY_VERDICT_INVALID);
        assert_false(s.clock_corrected);
}

static void test_kind_strings(void **state) {
        (void) state;
        for (int k = 0; k < _RETRY_KIND_MAX; k++)
                assert_int_equal(retry_kind_from_string(retry_kind_to_string((retry_kind) k)), k);
        assert_int_equal(retry_kind_from_string("nope"), -EINVAL);
        assert_null(retry_kind_to_string(_RETRY_KIND_MAX));
        for (int v = 0; v < _RETRY_VERDICT_MAX; v++)
                assert_non_null(retry_verdict_to_string((retry_verdict) v));
}

static void test_backoff_bounds(void **state) {
        (void) state;

        /* The ceilings: base * 2^(attempt-1), capped at 20 s. */
        assert_int_equal(retry_backoff_max(RETRY_KIND_TRANSIENT, 1), 100 * USEC_PER_MSEC);
        assert_int_equal(retry_backoff_max(RETRY_KIND_TRANSIENT, 2), 200 * USEC_PER_MSEC);
        assert_int_equal(retry_backoff_max(RETRY_KIND_TRANSIENT, 3), 400 * USEC_PER_MSEC);
        assert_int_equal(retry_backoff_max(RETRY_KIND_TIMEOUT, 3), 400 * USEC_PER_MSEC);
        assert_int_equal(retry_backoff_max(RETRY_KIND_THROTTLING, 1), 500 * USEC_PER_MSEC);
        assert_int_equal(retry_backoff_max(RETRY_KIND_THROTTLING, 2), 1000 * USEC_PER_MSEC);
        assert_int_equal(retry_backoff_max(RETRY_KIND_THROTTLING, 6), 16 * USEC_PER_SEC);
        assert_int_equal(retry_backoff_max(RETRY_KIND_THROTTLING, 7), 20 * USEC_PER_SEC);
        assert_int_equal(retry_backoff_max(RETRY_KIND_TRANSIENT, 100), 20 * USEC_PER_SEC);
        assert_int_equal(retry_backoff_max(RETRY_KIND_TRANSIENT, 4000000000U), 20 * USEC_PER_SEC);

        /* Full jitter: anywhere in [0, ceiling], proportional to the random draw. */
        assert_int_equal(retry_backoff(RETRY_KIND_THROTTLING, 2, 0.0), 0);
        assert_int_equal(retry_backoff(RETRY_KIND_THROTTLING, 2, 0.5), 500 * USEC_PER_MSEC);
        assert_int_equal(retry_backoff(RETRY_KIND_THROTTLING, 2, 0.999999), 999999);
        assert_int_equal(retry_backoff(RETRY_KIND_THROTTLING, 2, 1.0), 1000 * USEC_PER_MSEC);
        assert_int_equal(retry_backoff(RETRY_KIND_THROTTLING, 2, 7.0), 1000 * USEC_PER_MSEC);
        assert_int_equal(retry_backoff(RETRY_KIND_THROTTLING, 2, -1.0), 0);

        srand(42);
        for (unsigned attempt = 1; attempt <= 12; attempt++) {
                usec_t lo = USEC_INFINITY, hi = 0, ceiling = retry_backoff_max(RETRY_KIND_TRANSIENT, attempt);

                for (int i = 0; i < 2000; i++) {
                        usec_t d = retry_backoff(RETRY_KIND_TRANSIENT, attempt, (double) rand() / ((double) RAND_MAX + 1));

                        assert_true(d <= ceiling);
                        lo = d < lo ? d : lo;
                        hi = d > hi ? d : hi;
                }
                /* Spread over the whole range, not a fixed delay. */
                assert_true(lo < ceiling / 10);
                assert_true(hi > ceiling - ceiling / 10);
        }
}

static void test_max_attempts(void **state) {
        retry_quota q;
        retry_state s = {};
        usec_t delay;

        (void) state;
        retry_quota_init(&q, RETRY_QUOTA_INITIAL);

        retry_attempt_begin(&s);
        assert_int_equal(retry_after_failure(&q, &s, 0, RETRY_KIND_THROTTLING, 0.5, &delay), RETRY_YES);
        assert_int_equal(delay, 250 * USEC_PER_MSEC);
        retry_attempt_begin(&s);
        assert_int_equal(retry_after_failure(&q, &s, 0, RETRY_KIND_TRANSIENT, 0.5, &delay), RETRY_YES);
        assert_int_equal(delay, 100 * USEC_PER_MSEC);
        retry_attempt_begin(&s);
        /* The default is three attempts in all. */
        assert_int_equal(retry_after_failure(&q, &s, 0, RETRY_KIND_TRANSIENT, 0.5, &delay), RETRY_NO_MAX_ATTEMPTS);
        assert_int_equal(delay, 0);
        assert_int_equal(q.available, 500 - 2 * RETRY_COST);

        /* Configurable. */
        s = (retry_state) {};
        for (unsigned i = 1; i < 5; i++) {
                retry_attempt_begin(&s);
                assert_int_equal(retry_after_failure(&q, &s, 5, RETRY_KIND_TRANSIENT, 0, &delay), RETRY_YES);
        }
        retry_attempt_begin(&s);
        assert_int_equal(retry_after_failure(&q, &s, 5, RETRY_KIND_TRANSIENT, 0, &delay), RETRY_NO_MAX_ATTEMPTS);

        /* One attempt: no retries at all. */
        s = (retry_state) {};
        retry_attempt_begin(&s);
        assert_int_equal(retry_after_failure(&q, &s, 1, RETRY_KIND_THROTTLING, 0, &delay), RETRY_NO_MAX_ATTEMPTS);

        /* Client errors: never. */
        s = (retry_state) {};
        retry_attempt_begin(&s);
        assert_int_equal(retry_after_failure(&q, &s, 0, RETRY_KIND_FATAL, 0, &delay), RETRY_NO_NOT_RETRYABLE);
}

static void test_quota(void **state) {
        retry_quota q;
        unsigned retries = 0;
        usec_t delay;

        (void) state;
        retry_quota_init(&q, RETRY_QUOTA_INITIAL);

        /* A region that only fails: 500 / 5 = 100 retries, then none. */
        for (;;) {
                retry_state s = {};
                retry_verdict v;

                retry_attempt_begin(&s);
                v = retry_after_failure(&q, &s, 3, RETRY_KIND_TRANSIENT, 0.1, &delay);
                if (v == RETRY_NO_QUOTA)
                        break;
                assert_int_equal(v, RETRY_YES);
                retries++;
                assert_true(retries <= 100);
        }
        assert_int_equal(retries, 100);
        assert_int_equal(q.available, 0);
        assert_int_equal(delay, 0);

        /* A success without a retry gives back 1 token; a retry costs 5, so one is not yet affordable. */
        for (int i = 0; i < 4; i++) {
                retry_state ok = {};

                retry_attempt_begin(&ok);
                retry_after_success(&q, &ok);
        }
        assert_int_equal(q.available, 4);
        {
                retry_state s = {};

                retry_attempt_begin(&s);
                assert_int_equal(retry_after_failure(&q, &s, 3, RETRY_KIND_TRANSIENT, 0, &delay), RETRY_NO_QUOTA);
                assert_int_equal(q.available, 4);
        }

        /* A timeout costs 10; a success after that retry refunds all 10. */
        retry_quota_init(&q, RETRY_QUOTA_INITIAL);
        {
                retry_state s = {};

                retry_attempt_begin(&s);
                assert_int_equal(retry_after_failure(&q, &s, 3, RETRY_KIND_TIMEOUT, 0, &delay), RETRY_YES);
                assert_int_equal(q.available, 490);
                retry_attempt_begin(&s);
                retry_after_success(&q, &s);
                assert_int_equal(q.available, 500);
        }

        /* Never above capacity. */
        {
                retry_state s = {};

                retry_attempt_begin(&s);
                retry_after_success(&q, &s);
                assert_int_equal(q.available, 500);
        }

        /* A timeout needs 10: 9 tokens are not enough, while a 5-token retry still is. */
        retry_quota_init(&q, 9);
        {
                retry_state s = {};

                retry_attempt_begin(&s);
                assert_int_equal(retry_after_failure(&q, &s, 3, RETRY_KIND_TIMEOUT, 0, &delay), RETRY_NO_QUOTA);
                assert_int_equal(retry_after_failure(&q, &s, 3, RETRY_KIND_THROTTLING, 0, &delay), RETRY_YES);
                assert_int_equal(q.available, 4);
        }

        /* Without a quota (NULL): only the attempts limit. */
        {
                retry_state s = {};

                retry_attempt_begin(&s);
                assert_int_equal(retry_after_failure(NULL, &s, 3, RETRY_KIND_TIMEOUT, 0, &delay), RETRY_YES);
        }
}

static void test_credentials_refresh_once(void **state) {
        retry_quota q;
        retry_state s = {};
        usec_t delay = 1;

        (void) state;
        retry_quota_init(&q, RETRY_QUOTA_INITIAL);

        retry_attempt_begin(&s);
        assert_int_equal(retry_after_failure(&q, &s, 0, RETRY_KIND_CREDENTIALS, 0.9, &delay), RETRY_REFRESH_CREDENTIALS);
        assert_int_equal(delay, 0);
        assert_int_equal(q.available, 500);     /* no quota for it */
        retry_attempt_begin(&s);
        assert_int_equal(retry_after_failure(&q, &s, 0, RETRY_KIND_CREDENTIALS, 0.9, &delay),
                         RETRY_NO_CREDENTIALS_REFRESHED);

        /* A refresh and a throttle in one call, within three attempts. */
        s = (retry_state) {};
        retry_attempt_begin(&s);
        assert_int_equal(retry_after_failure(&q, &s, 0, RETRY_KIND_CREDENTIALS, 0, &delay), RETRY_REFRESH_CREDENTIALS);
        retry_attempt_begin(&s);
        assert_int_equal(retry_after_failure(&q, &s, 0, RETRY_KIND_THROTTLING, 0, &delay), RETRY_YES);
        retry_attempt_begin(&s);
        assert_int_equal(retry_after_failure(&q, &s, 0, RETRY_KIND_CREDENTIALS, 0, &delay),
                         RETRY_NO_CREDENTIALS_REFRESHED);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_classify_table),
                cmocka_unit_test(test_kind_strings),
                cmocka_unit_test(test_backoff_bounds),
                cmocka_unit_test(test_max_attempts),
                cmocka_unit_test(test_quota),
                cmocka_unit_test(test_credentials_refresh_once),
                cmocka_unit_test(test_clock_skew_rule),
                cmocka_unit_test(test_clock_correction_once),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
