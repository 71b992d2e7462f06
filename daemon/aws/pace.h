/* SPDX-License-Identifier: MIT */
/*
 * Client-side pacing: token buckets with EC2's documented capacities and refill
 * rates ("Request throttling for the Amazon EC2 API"), so a big fleet runs at
 * the rate EC2 allows instead of being throttled. As EC2 does, each action has
 * its own bucket; its size and refill rate come from its category. One pacer
 * holds the buckets of one (account, region, service), EC2's unit of
 * throttling; aws_pacers keeps one per such key. The bucket arithmetic is pure
 * (time is a parameter).
 */
#pragma once

#include "base/util.h"

typedef struct aws_pacer aws_pacer;

typedef enum pace_category {
        PACE_DESCRIBE,          /* non-mutating: Describe*, Get*, List*: 100 / 20 per s */
        PACE_MUTATING,          /* default mutating, e.g. CreateImage: 50 / 5 per s */
        PACE_DELETE,            /* DeregisterImage, DeleteSnapshot: 100 / 5 per s */
        PACE_CREATE_TAGS,       /* CreateTags, DeleteTags: 100 / 10 per s */
        PACE_COPY_IMAGE,        /* CopyImage: 100 / 1 per s */
        PACE_MODIFY_ATTRIBUTE,  /* ModifyImageAttribute: 100 / 5 per s */
        _PACE_CATEGORY_MAX,
        _PACE_CATEGORY_INVALID = -EINVAL,
} pace_category;

pace_category pace_category_of(const char *action);
const char *pace_category_to_string(pace_category c);
pace_category pace_category_from_string(const char *s);

typedef struct pace_bucket_config {
        double capacity;
        double refill_per_sec;
} pace_bucket_config;

/* EC2's defaults for each category. */
extern const pace_bucket_config pace_default_config[_PACE_CATEGORY_MAX];

/* config NULL: pace_default_config. */
int aws_pacer_new(const pace_bucket_config config[_PACE_CATEGORY_MAX], aws_pacer **ret);
aws_pacer *aws_pacer_free(aws_pacer *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(aws_pacer *, aws_pacer_free);

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
