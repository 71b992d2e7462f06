/* SPDX-License-Identifier: MIT */
/*
 * The AWS side of the product: one HTTP client on the event loop, the base
 * credential chain, a pacer per (account, region, service) shared by every
 * client of that key, and EC2 and SSM clients per (region, role) created on first use —
 * through STS AssumeRole when a policy names a role_arn.
 */
#pragma once

#include <systemd/sd-event.h>

#include "aws/client.h"
#include "policy.h"

typedef struct aws_pool aws_pool;

int aws_pool_new(sd_event *event, const config *c, aws_pool **ret);
aws_pool *aws_pool_free(aws_pool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(aws_pool *, aws_pool_free);

/* The EC2 client for policy p in region; owned by the pool. */
int aws_pool_ec2(aws_pool *p, const policy *pol, const char *region, aws_client **ret);
/* The same for a role (NULL: the base credentials) and its external id: distribution's
 * destinations in other accounts (copy_to, launch_template). */
int aws_pool_ec2_as(aws_pool *p, const char *region, const char *role_arn, const char *external_id,
                    aws_client **ret);
/* The SSM client (JSON protocol) of region and role, paced per (account, region, "ssm"). */
int aws_pool_ssm(aws_pool *p, const char *region, const char *role_arn, const char *external_id,
                 aws_client **ret);

/* The clients created from now on count their calls in s (borrowed; may be NULL). */
void aws_pool_set_stats(aws_pool *p, aws_stats *s);

creds_provider *aws_pool_creds(aws_pool *p);
http_client *aws_pool_http(aws_pool *p);
