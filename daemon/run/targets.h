/* SPDX-License-Identifier: MIT */
/*
 * The DescribeInstances filters that narrow EC2's answer to a policy's targets
 * (its tags and states), shared by the run (engine.c) and the dry run's
 * permission check (probe.c). The planner checks every instance again, so the
 * filters may be wider than the policy, never narrower.
 */
#pragma once

#include "aws/ec2.h"
#include "policy.h"

typedef struct target_filters {
        ec2_filter *filters;
        size_t n;
        char **names;                   /* owned: "tag:KEY" or "tag-key" */
        char **values;                  /* a NULL-terminated pair per tag; borrowed strings */
        char **states;                  /* owned */
} target_filters;

/* 0 or -ENOMEM. p must outlive ret (tag values are borrowed). */
int target_filters_build(const policy *p, target_filters *ret);
void target_filters_done(target_filters *f);

/* "tags Role=web, Golden=yes, except amirotd-skip=true, states running, stopped": what the
 * warning about a selection that matches nothing names. 0 or -ENOMEM. */
int target_describe(const policy *p, char **ret);
