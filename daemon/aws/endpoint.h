/* SPDX-License-Identifier: MIT */
/*
 * Regions and endpoints: which URL serves a service in a region, in the aws
 * and aws-cn partitions, with an override for tests and private endpoints; and
 * the partitions' role ARNs, which the configuration and STS both check.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * "us-east-1", "eu-central-2", "cn-north-1", "us-gov-west-1", "ap-southeast-4", "il-central-1"...:
 * a partition prefix (us eu ap sa ca me af il mx cn us-gov us-iso us-isob), one or two
 * directions (east, northwest, central...) and a number 1-99, all lower case.
 */
bool aws_region_is_valid(const char *region);

/*
 * The endpoint URL (scheme://host[:port], no trailing slash) for service
 * ("ec2", "sts") in region: https://ec2.REGION.amazonaws.com,
 * https://sts.REGION.amazonaws.com, ".amazonaws.com.cn" for cn-*. override, when
 * not NULL, is used as given (trailing slash removed, scheme and host
 * lower-cased); it must be http:// or https:// with a host (name, IPv4 or
 * [IPv6]) and an optional port, and nothing else: no user info, and no path,
 * since requests are signed for path "/". Returns -EINVAL for a malformed
 * service, region or override.
 */
int aws_endpoint_url(const char *service, const char *region, const char *override, char **ret);

/*
 * Splits an endpoint URL into the Host header value and whether it is TLS: the
 * host lower-cased, IPv6 in brackets, the port only when it is not the
 * scheme's default (443, 80), as curl sends it and botocore signs it. A path
 * after the host is ignored. ret_tls may be NULL.
 */
int aws_endpoint_host(const char *url, char **ret_host, bool *ret_tls);

/* IAM's pattern for role and session names: [\w+=,.@-]. */
bool aws_iam_name_char(char c);
bool aws_iam_name_is_valid(const char *b, size_t n, size_t min, size_t max);
/* arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME: a 12-digit account, a path of up to 512
 * characters and a role name of 1-64, each segment of IAM's name characters. */
bool aws_role_arn_is_valid(const char *s);
