/* SPDX-License-Identifier: MIT */
/*
 * The SDKs' "standard" retry mode ("Retry behavior" in the AWS SDKs and Tools
 * Reference Guide): throttling and transient errors are retried up to 3
 * attempts with capped exponential backoff and full jitter, paid for from a
 * retry quota of 500 tokens (5 a retry, 10 after a timeout) that successes
 * refill, so that a region that keeps failing stops being retried instead of
 * spinning. Client errors are never retried. Credentials that AWS rejects are
 * refreshed once, as the SDKs do on ExpiredToken, and then the call fails with
 * AWS's error. Pure: time and randomness come in as parameters.
 */
#include "retry.h"

/* The SDKs' throttling codes (botocore's standard mode, plus EC2's own). */
static const char *const throttling_codes[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
};

/* The SDKs' transient codes, plus EC2's "InternalError" and "Unavailable"
 * ("Error codes for the Amazon EC2 API": server errors, "retry the request"). */
static const char *const transient_codes[] = {
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "InternalError",
        "InternalFailure",
        "Unavailable",
        "ServiceUnavailable",
        "IDPCommunicationError",
};

/*
 * Rejected credentials that fresh ones (or a fresh signature) may fix: temporary
 * credentials that expired or were rotated under us (IMDS, AssumeRole), and
 * RequestExpired, which EC2 also answers for expired temporary credentials. A
 * clock that is off is told apart before, by the answer's Date header
 * (retry_clock_skew()). A second rejection is final: then the keys are wrong,
 * and the caller says so.
 */
static const char *const credentials_codes[] = {
        "AuthFailure",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidClientTokenId",
};

/*
 * Errors of a request signed at the wrong time, from the AWS SDK for Java v2
 * (AwsErrorCodes.CLOCK_SKEW_ERROR_CODES): EC2 answers RequestExpired ("Request
 * has expired."), STS SignatureDoesNotMatch ("Signature expired: ..."), others
 * RequestTimeTooSkewed, InvalidSignatureException or RequestInTheFuture.
 * AuthFailure and RequestExpired also mean rejected credentials: only the Date
 * header tells the two apart (retry_clock_skew()).
 */
static const char *const clock_skew_codes[] = {
        "RequestTimeTooSkewed",
        "RequestExpired",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "RequestInTheFuture",
};

static bool code_in(const char *code, const char *const *list, size_t n) {
        if (!code)
                return false;
        for (size_t i = 0; i < n; i++)
                if (streq(code, list[i]))
                        return true;
        return false;
}

bool retry_code_is_throttling(const char *code) {
        return code_in(code, throttling_codes, ELEMENTSOF(throttling_codes));
}

bool retry_code_is_transient(const char *code) {
        return code_in(code, transient_codes, ELEMENTSOF(transient_codes));
}

bool retry_code_is_credentials(const char *code) {
        return code_in(code, credentials_codes, ELEMENTSOF(credentials_codes));
}

bool retry_code_is_clock_skew(const char *code) {
        return code_in(code, clock_skew_codes, ELEMENTSOF(clock_skew_codes));
}

/*
 * The rule of the SDKs that correct clock skew (AWS SDK for Java v2:
 * RetryableStageHelper.adjustClockIfClockSkew(), ClockSkewAdjuster, ClockSkew;
 * the Java v1 ClockSkewAdjuster likewise; the .NET SDK's "clock-skew correction"):
 * on an error with a clock-skew code, the offset is the server's Date minus the
 * local time the answer came at, applied to every later signature of the
 * client, and the request is retried signed anew. Java v2 recommends an
 * adjustment only beyond 4 minutes (ClockSkew.CLOCK_SKEW_ADJUST_THRESHOLD),
 * which keeps the Date header's one-second resolution and the network's
 * latency from moving the offset back and forth. botocore does not correct
 * skew at all (boto3 issue 1252).
 */
bool retry_clock_skew(const char *code, time_t local_now, int64_t signed_offset, time_t server_date,
                      int64_t *ret_offset) {
        int64_t skew;

        if (!retry_code_is_clock_skew(code) || server_date <= 0 || local_now <= 0)
                return false;
        skew = (int64_t) server_date - ((int64_t) local_now + signed_offset);
        if (skew > -RETRY_CLOCK_SKEW_THRESHOLD_SEC && skew < RETRY_CLOCK_SKEW_THRESHOLD_SEC)
                return false;
        *ret_offset = (int64_t) server_date - (int64_t) local_now;
        return true;
}

static const char *const kind_table[_RETRY_KIND_MAX] = {
        [RETRY_KIND_SUCCESS] = "success",
        [RETRY_KIND_THROTTLING] = "throttling",
        [RETRY_KIND_TRANSIENT] = "transient",
        [RETRY_KIND_TIMEOUT] = "timeout",
        [RETRY_KIND_CREDENTIALS] = "credentials",
        [RETRY_KIND_FATAL] = "fatal",
};

const char *retry_kind_to_string(retry_kind k) {
        return k >= 0 && k < _RETRY_KIND_MAX ? kind_table[k] : NULL;
}

retry_kind retry_kind_from_string(const char *s) {
        for (size_t i = 0; s && i < _RETRY_KIND_MAX; i++)
                if (streq(s, kind_table[i]))
                        return (retry_kind) i;
        return _RETRY_KIND_INVALID;
}

static const char *const verdict_table[_RETRY_VERDICT_MAX] = {
        [RETRY_YES] = "retry",
        [RETRY_REFRESH_CREDENTIALS] = "refresh credentials and retry",
        [RETRY_NO_NOT_RETRYABLE] = "not retryable",
        [RETRY_NO_MAX_ATTEMPTS] = "maximum attempts reached",
        [RETRY_NO_QUOTA] = "retry quota exhausted",
        [RETRY_NO_CREDENTIALS_REFRESHED] = "credentials rejected after a refresh",
        [RETRY_CORRECT_CLOCK] = "correct the clock and retry",
};

const char *retry_verdict_to_string(retry_verdict v) {
        return v >= 0 && v < _RETRY_VERDICT_MAX ? verdict_table[v] : NULL;
}

static bool status_is_transient(long status) {
        return status == 500 || status == 502 || status == 503 || status == 504;
}

retry_kind retry_classify(int error, long status, const char *code) {
        /*
         * An answer that cannot be read (bytes that are not HTTP, a body that is
         * not well-formed XML, an error document without a code) is transient,
         * whatever its status: the next attempt most likely gets a whole one.
         * botocore's standard mode retries HTTPClientError, the exception of a
         * response that is not HTTP (retries/standard.py, TransientRetryableChecker:
         * _TRANSIENT_EXCEPTION_CLS = (ConnectionError, HTTPClientError)), and the
         * SDKs' guide counts "transient errors" among those standard mode retries
         * within the retry quota ("Retry behavior", AWS SDKs and Tools Reference
         * Guide). A mutating call retried after such an answer may already have
         * run: callers recognise the outcome by the error its retry gets (see
         * retry.h).
         */
        if (error == -EBADMSG)
                return RETRY_KIND_TRANSIENT;
        if (error < 0)
                switch (error) {
                case -ETIMEDOUT:
                        return RETRY_KIND_TIMEOUT;
                case -ECONNREFUSED:
                case -ECONNRESET:
                case -ECONNABORTED:
                case -EHOSTUNREACH:
                case -ENETUNREACH:
                case -ENETDOWN:
                case -EPIPE:
                case -EAGAIN:
                        return RETRY_KIND_TRANSIENT;
                default:        /* -EPROTO (TLS), -EFBIG, -ENOMEM, -EINVAL...: trying again changes nothing */
                        return RETRY_KIND_FATAL;
                }

        if (retry_code_is_throttling(code))
                return RETRY_KIND_THROTTLING;
        if (retry_code_is_transient(code))
                return RETRY_KIND_TRANSIENT;
        if (retry_code_is_credentials(code))
                return RETRY_KIND_CREDENTIALS;
        if (status == 429)
                return RETRY_KIND_THROTTLING;
        if (status_is_transient(status))
                return RETRY_KIND_TRANSIENT;
        if (error == 0 && !code && status >= 200 && status < 300)
                return RETRY_KIND_SUCCESS;
        return RETRY_KIND_FATAL;
}

usec_t retry_backoff_max(retry_kind kind, unsigned attempt) {
        usec_t base = kind == RETRY_KIND_THROTTLING ? RETRY_BASE_THROTTLING : RETRY_BASE_TRANSIENT;
        usec_t ceiling = base;

        for (unsigned i = 1; i < attempt && ceiling < RETRY_MAX_BACKOFF; i++)
                ceiling *= 2;
        return ceiling < RETRY_MAX_BACKOFF ? ceiling : RETRY_MAX_BACKOFF;
}

usec_t retry_backoff(retry_kind kind, unsigned attempt, double random01) {
        usec_t ceiling = retry_backoff_max(kind, attempt);
        usec_t d;

        if (!(random01 > 0))    /* also NaN */
                return 0;
        if (random01 >= 1)
                return ceiling;
        d = (usec_t) (random01 * (double) ceiling);
        return d < ceiling ? d : ceiling;
}

void retry_quota_init(retry_quota *q, unsigned capacity) {
        *q = (retry_quota) {
                .available = capacity,
                .capacity = capacity,
        };
}

void retry_attempt_begin(retry_state *s) {
        s->attempts++;
}

retry_verdict retry_after_failure(retry_quota *q, retry_state *s, unsigned max_attempts, retry_kind kind,
                                  double random01, usec_t *ret_delay) {
        unsigned cost;

        *ret_delay = 0;
        if (max_attempts == 0)
                max_attempts = RETRY_MAX_ATTEMPTS_DEFAULT;

        switch (kind) {
        case RETRY_KIND_THROTTLING:
        case RETRY_KIND_TRANSIENT:
        case RETRY_KIND_TIMEOUT:
                break;
        case RETRY_KIND_CREDENTIALS:
                if (s->credentials_refreshed)
                        return RETRY_NO_CREDENTIALS_REFRESHED;
                if (s->attempts >= max_attempts)
                        return RETRY_NO_MAX_ATTEMPTS;
                s->credentials_refreshed = true;
                s->last_cost = 0;
                return RETRY_REFRESH_CREDENTIALS;
        default:
                return RETRY_NO_NOT_RETRYABLE;
        }

        if (s->attempts >= max_attempts)
                return RETRY_NO_MAX_ATTEMPTS;

        cost = kind == RETRY_KIND_TIMEOUT ? RETRY_TIMEOUT_COST : RETRY_COST;
        if (q) {
                if (q->available < cost)
                        return RETRY_NO_QUOTA;
                q->available -= cost;
        }
        s->last_cost = cost;
        *ret_delay = retry_backoff(kind, s->attempts, random01);
        return RETRY_YES;
}

retry_verdict retry_after_clock_skew(retry_state *s, unsigned max_attempts) {
        if (max_attempts == 0)
                max_attempts = RETRY_MAX_ATTEMPTS_DEFAULT;
        /* One correction a call: a second skew error means the server's clock moves, or its Date lies. */
        if (s->clock_corrected || s->attempts >= max_attempts)
                return _RETRY_VERDICT_INVALID;
        s->clock_corrected = true;
        s->last_cost = 0;
        return RETRY_CORRECT_CLOCK;
}

void retry_after_success(retry_quota *q, retry_state *s) {
        unsigned refund = s->last_cost > 0 ? s->last_cost : RETRY_NO_RETRY_INCREMENT;

        s->last_cost = 0;
        if (!q)
                return;
        q->available = q->capacity - q->available < refund ? q->capacity : q->available + refund;
}
