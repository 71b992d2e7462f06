/* SPDX-License-Identifier: MIT */
/*
 * Counters of the AWS calls, by service and action: attempts sent, retries,
 * throttled answers, and failed answers by error code. A client given an
 * aws_stats (aws_client_options.stats) counts every attempt in it; several
 * clients may share one. Plain numbers for whoever reports them (the daemon's
 * metrics file): nothing here knows of policies or of Prometheus.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

typedef struct aws_stats aws_stats;

typedef struct aws_stats_row {
        char *service;                  /* "ec2", "sts" */
        char *action;                   /* "DescribeImages" */
        char *error_code;               /* NULL: the action's own row; else a failed answer's code,
                                         * "http_503" for an answer without one, "transport" for none */
        uint64_t attempts;              /* the action's row: requests sent, retries included */
        uint64_t retries;               /* the action's row: attempts followed by another */
        uint64_t throttles;             /* the action's row: answers that were throttling errors */
        uint64_t pace_wakeups;          /* the action's row: timers that woke a line waiting for a token */
        uint64_t errors;                /* an error row: answers with this code */
} aws_stats_row;

int aws_stats_new(aws_stats **ret);
aws_stats *aws_stats_free(aws_stats *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(aws_stats *, aws_stats_free);

/*
 * One attempt's outcome: error_code NULL and status 2xx for a success; status 0 for
 * no answer; retry when another attempt follows. Never fails: a row that cannot be
 * allocated is not counted (the numbers are for monitoring, never for decisions).
 */
void aws_stats_record(aws_stats *s, const char *service, const char *action, const char *error_code,
                      long status, bool retry);

/* A line of calls waiting for a token of action's bucket woke up (client.c); same rules. */
void aws_stats_record_pace_wakeup(aws_stats *s, const char *service, const char *action);

/* The rows, sorted by service, action, then the action's row before its error rows. */
size_t aws_stats_rows(const aws_stats *s, const aws_stats_row **ret);
