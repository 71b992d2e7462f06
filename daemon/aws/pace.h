/* SPDX-License-Identifier: MIT */
/*
 * Client-side pacing: token buckets with EC2's documented capacities and refill
 * rates ("Request throttling for the Amazon EC2 API"), so a big fleet runs at
 * the rate EC2 allows instead of being throttled. As EC2 does, each action has
 * its own bucket; its size and refill rate come from its category. SSM's
 * Parameter Store actions are the exception: their quota is one throughput
 * shared by the actions, so they share one bucket (PACE_SSM_PARAMETER). One pacer
 * holds the buckets of one (account, region, service), EC2's unit of
 * throttling; aws_pacers keeps one per such key. Each bucket also keeps the
 * line of requests waiting for its tokens, first come first served, so that
 * its client needs one timer per bucket however many wait. All of it is pure:
 * time is a parameter, and nothing here touches the event loop.
 */
#pragma once

#include "base/util.h"

typedef struct aws_pacer aws_pacer;

typedef enum pace_category {
        PACE_DESCRIBE,          /* non-mutating: Describe*, Get*, List*, Search*: 100 / 20 per s */
        PACE_MUTATING,          /* default mutating, e.g. CreateImage: 50 / 5 per s */
        PACE_DELETE,            /* DeregisterImage, DeleteSnapshot: 100 / 5 per s */
        PACE_CREATE_TAGS,       /* CreateTags, DeleteTags: 100 / 10 per s */
        PACE_COPY_IMAGE,        /* CopyImage: 100 / 1 per s */
        PACE_MODIFY_ATTRIBUTE,  /* ModifyImageAttribute: 100 / 5 per s */
        PACE_UNFILTERED,        /* seven Describe* sent with neither a filter nor pagination: 50 / 10 per s */
        PACE_SSM_PARAMETER,     /* SSM GetParameter, PutParameter: one bucket shared by both, 40 / 40 per s */
        _PACE_CATEGORY_MAX,
        _PACE_CATEGORY_INVALID = -EINVAL,
} pace_category;

/* The category of a request of action that has a filter or pagination, as all of amirotd's have. */
pace_category pace_category_of(const char *action);
/* The category of any request of action: unfiltered when it has neither a filter (Filter.N)
 * nor pagination (MaxResults, NextToken), which moves seven Describe* actions to a smaller
 * bucket of their own. */
pace_category pace_category_of_request(const char *action, bool unfiltered);
const char *pace_category_to_string(pace_category c);
pace_category pace_category_from_string(const char *s);

typedef struct pace_bucket_config {
        double capacity;
        double refill_per_sec;
} pace_bucket_config;

/* EC2's defaults for each category, and SSM Parameter Store's for PACE_SSM_PARAMETER. */
extern const pace_bucket_config pace_default_config[_PACE_CATEGORY_MAX];

/* config NULL: pace_default_config. */
int aws_pacer_new(const pace_bucket_config config[_PACE_CATEGORY_MAX], aws_pacer **ret);
aws_pacer *aws_pacer_free(aws_pacer *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(aws_pacer *, aws_pacer_free);

/*
 * A bucket: one per action (and per category of its requests), made on first use, owned by
 * the pacer, at the same address for as long as the pacer lives; the actions of
 * PACE_SSM_PARAMETER all get their category's one bucket. p NULL: NULL.
 */
typedef struct pace_bucket pace_bucket;
pace_bucket *aws_pacer_bucket(aws_pacer *p, const char *action, bool unfiltered);

/*
 * A place in a bucket's line, embedded in each request by its owner (client.c's aws_call).
 * Only the request at the head of a line ever needs a timer: the others cost nothing until
 * their turn. Zero-initialised: not waiting.
 */
typedef struct pace_waiter pace_waiter;
struct pace_waiter {
        pace_bucket *bucket;            /* NULL: not in a line */
        pace_waiter *prev, *next;
};

/*
 * w (not waiting) asks b for a token at time now. Nobody ahead and a token there: takes it
 * and returns 0. Else w joins the tail of b's line and the answer is how long until the
 * head's token when w is the head (arm a timer for it), or USEC_INFINITY when w waits behind
 * others (the head's timer serves it in its turn).
 */
usec_t pace_bucket_enter(pace_bucket *b, pace_waiter *w, usec_t now);

/*
 * The head of b's line when its token is there at time now: takes the token, removes the
 * head from the line and returns it. Else NULL, with *ret_wait how long until the head's
 * token (USEC_INFINITY: nobody waits).
 */
pace_waiter *pace_bucket_next(pace_bucket *b, usec_t now, usec_t *ret_wait);

/* The first in b's line, NULL if nobody waits. */
pace_waiter *pace_bucket_head(const pace_bucket *b);

/* How many wait in b's line. */
size_t pace_bucket_waiting(const pace_bucket *b);

/* Takes w out of its line in O(1); returns the new head when w was the head (and another
 * waits), else NULL. w not waiting: nothing. */
pace_waiter *pace_waiter_leave(pace_waiter *w);

/* Takes one token of action's bucket at time now (CLOCK_MONOTONIC usec) if available and
 * returns 0; else returns how long to wait until one is (and takes nothing). A new bucket
 * starts full. p NULL: no pacing (returns 0). */
usec_t aws_pacer_take(aws_pacer *p, const char *action, usec_t now);

/* The tokens in action's bucket at time now (fractional), for traces and tests. */
double aws_pacer_tokens(aws_pacer *p, const char *action, usec_t now);

/*
 * The pacers of a process, one per (account, region, service): "Amazon EC2
 * throttles EC2 API requests for each AWS account on a per-Region basis"
 * ("Request throttling for the Amazon EC2 API"), so two accounts in one region
 * must not share buckets, and neither must EC2 and STS, which throttle apart.
 * account is any stable name of the account (its id, or a name for "whatever
 * account the default credentials belong to").
 */
typedef struct aws_pacers aws_pacers;

/* config NULL: pace_default_config; copied. */
int aws_pacers_new(const pace_bucket_config config[_PACE_CATEGORY_MAX], aws_pacers **ret);
aws_pacers *aws_pacers_free(aws_pacers *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(aws_pacers *, aws_pacers_free);

/* The pacer of (account, region, service), made on first use; owned by s. */
int aws_pacers_get(aws_pacers *s, const char *account, const char *region, const char *service, aws_pacer **ret);
/* How many pacers s holds (for tests). */
size_t aws_pacers_count(const aws_pacers *s);
