/* SPDX-License-Identifier: MIT */
/*
 * The AWS SDKs' "standard" retry mode, as pure arithmetic: classify an
 * outcome, decide whether to try again, and how long to wait (capped
 * exponential backoff with full jitter), within a per-client retry quota so
 * that a failing region cannot spin. Time and randomness are parameters.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/util.h"

typedef enum retry_kind {
        RETRY_KIND_SUCCESS,
        RETRY_KIND_THROTTLING,          /* RequestLimitExceeded, Throttling, HTTP 429, ... */
        RETRY_KIND_TRANSIENT,           /* InternalError, Unavailable, HTTP 500/502/503/504, resets,
                                         * unreadable answers */
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
/* An error a request signed at the wrong time gets (AWS SDK for Java v2's CLOCK_SKEW_ERROR_CODES). */
bool retry_code_is_clock_skew(const char *code);

/* The SDKs correct their clock only beyond this distance from the server's (Java v2, ClockSkew). */
#define RETRY_CLOCK_SKEW_THRESHOLD_SEC (4 * 60)

/*
 * Clock skew, as the AWS SDKs correct it: when an answer's error code is a
 * clock-skew code and the server's Date (server_date, 0: none) lies at least
 * RETRY_CLOCK_SKEW_THRESHOLD_SEC from the time the request was signed with
 * (local_now + signed_offset), returns true and sets *ret_offset to
 * server_date - local_now, the offset to sign with from now on. Else false.
 */
bool retry_clock_skew(const char *code, time_t local_now, int64_t signed_offset, time_t server_date,
                      int64_t *ret_offset);

/*
 * error: 0 when an answer arrived, else the transport's -errno (http.c) or
 * -EBADMSG for an answer that could not be read (not HTTP, malformed XML).
 * status: the HTTP status, 0 without an answer. code: AWS's error code, or NULL.
 *
 * Transient failures are retried for mutating calls too, although the action
 * may have run before its answer was lost or spoiled. The calls amirotd makes
 * are idempotent by name or id, and the retry's error then means "done":
 *   CreateImage      InvalidAMIName.Duplicate: the image of that name exists
 *                    (look it up by name; it may not be visible at once)
 *   DeregisterImage  InvalidAMIID.NotFound or InvalidAMIID.Unavailable
 *   DeleteSnapshot   InvalidSnapshot.NotFound
 *   CreateTags       none: writing the same tags again is harmless
 * (run/exec.c treats each of these as done.)
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
        bool clock_corrected;
} retry_state;

typedef enum retry_verdict {
        RETRY_YES,                      /* try again after *ret_delay */
        RETRY_REFRESH_CREDENTIALS,      /* invalidate the credentials, then try again at once */
        RETRY_NO_NOT_RETRYABLE,
        RETRY_NO_MAX_ATTEMPTS,
        RETRY_NO_QUOTA,
        RETRY_NO_CREDENTIALS_REFRESHED, /* the credentials were refreshed once already */
        RETRY_CORRECT_CLOCK,            /* sign again with the corrected clock, at once */
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

/*
 * After an attempt that failed for clock skew (retry_clock_skew() said so):
 * RETRY_CORRECT_CLOCK once per call, without quota, counting as an attempt;
 * a second time, or past max_attempts, _RETRY_VERDICT_INVALID:
 * judge the failure with retry_after_failure() as any other.
 */
retry_verdict retry_after_clock_skew(retry_state *s, unsigned max_attempts);

/* After a successful attempt: refunds the retry's cost, or RETRY_NO_RETRY_INCREMENT. */
void retry_after_success(retry_quota *q, retry_state *s);
