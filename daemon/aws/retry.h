/* SPDX-License-Identifier: MIT */
/*
 * The AWS SDKs' "standard" retry mode, as pure arithmetic: classify an
 * outcome, decide whether to try again, and how long to wait (capped
 * exponential backoff with full jitter), within a per-client retry quota so
 * that a failing region cannot spin. Time and randomness are parameters.
 */
#pragma once

#include <stdbool.h>

#include "base/util.h"

typedef enum retry_kind {
        RETRY_KIND_SUCCESS,
        RETRY_KIND_THROTTLING,          /* RequestLimitExceeded, Throttling, HTTP 429, ... */
        RETRY_KIND_TRANSIENT,           /* InternalError, Unavailable, HTTP 500/502/503/504, resets */
        RETRY_KIND_TIMEOUT,             /* transient, costs more quota */
        RETRY_KIND_CREDENTIALS,         /* AuthFailure, ExpiredToken, ...: refresh once, then fail */
        RETRY_KIND_FATAL,               /* client errors and local failures: never retried */
        _RETRY_KIND_MAX,
        _RETRY_KIND_INVALID = -EINVAL,
} retry_kind;

const char *retry_kind_to_string(retry_kind k);
retry_kind retry_kind_from_string(const char *s);

bool retry_code_is_throttling(const char *code);
bool retry_code_is_transient(const char *code);
bool retry_code_is_credentials(const char *code);

/*
 * error: 0 when an answer arrived, else the transport's -errno (http.c);
 * -EBADMSG (an unreadable answer) is judged by its status. status: the HTTP
 * status, 0 without an answer. code: AWS's error code, or NULL.
 */
retry_kind retry_classify(int error, long status, const char *code);

/* Standard mode's numbers. */
#define RETRY_MAX_ATTEMPTS_DEFAULT 3U
#define RETRY_BASE_TRANSIENT (100 * USEC_PER_MSEC)
#define RETRY_BASE_THROTTLING (500 * USEC_PER_MSEC)
#define RETRY_MAX_BACKOFF (20 * USEC_PER_SEC)
#define RETRY_QUOTA_INITIAL 500U
#define RETRY_COST 5U
#define RETRY_TIMEOUT_COST 10U
#define RETRY_NO_RETRY_INCREMENT 1U

/*
 * Full jitter: random01 * min(RETRY_MAX_BACKOFF, base * 2^(attempt-1)), where
 * attempt is the 1-based number of the attempt that just failed and base is
 * RETRY_BASE_THROTTLING for throttling, else RETRY_BASE_TRANSIENT.
 * random01 is in [0, 1); values outside are clamped.
 */
usec_t retry_backoff(retry_kind kind, unsigned attempt, double random01);
/* The ceiling of the above: min(RETRY_MAX_BACKOFF, base * 2^(attempt-1)). */
usec_t retry_backoff_max(retry_kind kind, unsigned attempt);

/* The retry quota, one per client (per service and region). Zero it, then retry_quota_init(). */
typedef struct retry_quota {
        unsigned available;
        unsigned capacity;
} retry_quota;

void retry_quota_init(retry_quota *q, unsigned capacity);

/* One call's retry state. Zero-initialise. */
typedef struct retry_state {
        unsigned attempts;              /* attempts made so far */
        unsigned last_cost;             /* quota taken for the retry in progress; refunded on success */
        bool credentials_refreshed;
} retry_state;

typedef enum retry_verdict {
        RETRY_YES,                      /* try again after *ret_delay */
        RETRY_REFRESH_CREDENTIALS,      /* invalidate the credentials, then try again at once */
        RETRY_NO_NOT_RETRYABLE,
        RETRY_NO_MAX_ATTEMPTS,
        RETRY_NO_QUOTA,
        RETRY_NO_CREDENTIALS_REFRESHED, /* the credentials were refreshed once already */
        _RETRY_VERDICT_MAX,
        _RETRY_VERDICT_INVALID = -EINVAL,
} retry_verdict;

const char *retry_verdict_to_string(retry_verdict v);

/* Call before each attempt: counts it. */
void retry_attempt_begin(retry_state *s);

/*
 * After a failed attempt of kind: decides, takes quota for a retry (RETRY_COST,
 * RETRY_TIMEOUT_COST for a timeout) and sets *ret_delay (0 unless RETRY_YES).
 * max_attempts 0 means RETRY_MAX_ATTEMPTS_DEFAULT. A credentials refresh is
 * allowed once per call, takes no quota, and counts as an attempt.
 */
retry_verdict retry_after_failure(retry_quota *q, retry_state *s, unsigned max_attempts, retry_kind kind,
                                  double random01, usec_t *ret_delay);

/* After a successful attempt: refunds the retry's cost, or RETRY_NO_RETRY_INCREMENT. */
void retry_after_success(retry_quota *q, retry_state *s);
