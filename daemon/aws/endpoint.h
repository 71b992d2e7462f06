/* SPDX-License-Identifier: MIT */
/*
 * Regions and endpoints: which URL serves a service in a region, in the aws
 * and aws-cn partitions, with an override for tests and private endpoints.
 */
#pragma once

#include <stdbool.h>

/* "us-east-1", "eu-central-2", "cn-north-1", "us-gov-west-1", "ap-southeast-4", "il-central-1"... */
bool aws_region_is_valid(const char *region);

/*
 * The endpoint URL (scheme://host[:port], no trailing slash) for service
 * ("ec2", "sts") in region: https://ec2.REGION.amazonaws.com,
 * https://sts.REGION.amazonaws.com, ".amazonaws.com.cn" for cn-*. override, when
 * not NULL, is used as given (trailing slash removed); it must be http:// or
 * https:// with a host. Returns -EINVAL for a malformed region or override.
 */
int aws_endpoint_url(const char *service, const char *region, const char *override, char **ret);

/* Splits an endpoint URL into the Host header value ("host[:port]") and whether it is TLS. */
int aws_endpoint_host(const char *url, char **ret_host, bool *ret_tls);
