/* SPDX-License-Identifier: MIT */
/*
 * Regions and endpoints: which URL serves a service in a region, in the aws
 * and aws-cn partitions, with an override for tests and private endpoints; and
 * the partitions' role ARNs, which the configuration and STS both check.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/*
 * "us-east-1", "eu-central-2", "cn-north-1", "us-gov-west-1", "ap-southeast-4", "il-central-1",
 * "eusc-de-east-1"...: a partition's prefix (us eu ap sa ca me af il mx cn us-gov us-iso
 * us-isob eu-isoe us-isof eusc-de, see partitions.c), one or two directions (east,
 * northwest, central...) and a number 1-99, all lower case.
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

/* [a-z0-9-]{1,32}: the service names that go into hostnames and signatures. */
bool aws_service_is_valid(const char *service);

/* An http(s) URL taken apart (endpoint.c); the pointers point into the URL. */
typedef struct parsed_url {
        bool tls;
        const char *host;       /* without brackets */
        size_t host_len;
        bool ipv6;
        unsigned port;          /* 0: none given */
        const char *rest;       /* path, query, fragment: whatever follows the authority */
} parsed_url;

/* scheme://host[:port][rest], the scheme http or https in any case, no userinfo: 0 or -EINVAL. */
int aws_url_parse(const char *url, parsed_url *ret);
/* Appends the host (lower-cased, IPv6 in brackets) and the port (the scheme's default too if keep_default_port). */
int aws_url_format_host(const parsed_url *u, bool keep_default_port, strbuf *b);

/* ---- Resolution as the SDKs do it (endpoint-resolve.c) --------------------------------- */

typedef struct aws_endpoint_options {
        /* amirotd's own setting for this service (endpoint_url, endpoints:, sts_endpoint_url
         * in amirotd.yaml): like botocore's endpoint_url argument, it wins over everything. */
        const char *url;
        int use_fips;                   /* -1: AWS_USE_FIPS_ENDPOINT, else the profile's use_fips_endpoint */
        int use_dualstack;              /* -1: AWS_USE_DUALSTACK_ENDPOINT, else use_dualstack_endpoint */
        const char *profile;            /* whose config-file settings count; NULL: $AWS_PROFILE, "default" */
} aws_endpoint_options;

#define AWS_ENDPOINT_OPTIONS_DEFAULT ((aws_endpoint_options) { .use_fips = -1, .use_dualstack = -1 })

/*
 * The URL for service ("ec2", "sts") in region, decided as botocore does
 * (EndpointRulesetResolver with the services' endpoint-rule-set-1.json and
 * the configured-endpoint settings of later releases):
 *   1. o->url;
 *   2. AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL, then the profile's
 *      `services` section ("[services NAME]" with "ec2 =\n  endpoint_url = ..."), then the
 *      profile's endpoint_url; none of them when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the
 *      profile's ignore_configured_endpoint_urls is true;
 *   3. the partition's endpoint: SERVICE[-fips].REGION.(dns_suffix | dualstack_dns_suffix),
 *      where GovCloud's FIPS endpoint of EC2 and STS without dual-stack is the plain one, and
 *      STS answers at sts.amazonaws.com for the legacy global regions when
 *      AWS_STS_REGIONAL_ENDPOINTS (or sts_regional_endpoints) is "legacy". Unset, amirotd
 *      uses the regional endpoint, as AWS recommends and as botocore 1.29 does not.
 * An override must be path-less (requests are signed for "/"). ret_why, which may be
 * NULL, says where the URL came from ("AWS_ENDPOINT_URL_EC2", "FIPS, partition aws-us-gov")
 * or, on failure, why there is none: -EINVAL for a malformed override or setting,
 * -EOPNOTSUPP for dual-stack or FIPS in a partition that has none, -ENOMEM.
 */
int aws_endpoint_resolve(const aws_endpoint_options *o, const char *service, const char *region,
                         char **ret_url, char **ret_why);

/*
 * The region when the configuration names none, as the SDKs look for it:
 * AWS_REGION (the newer SDKs; botocore 1.29 reads only the next one),
 * AWS_DEFAULT_REGION, then the profile's `region` in the config file. *ret
 * NULL (and 0) when none says; ret_from names the one that did.
 */
int aws_region_from_environment(const char *profile, char **ret, const char **ret_from);

/* IAM's pattern for role and session names: [\w+=,.@-]. */
bool aws_iam_name_char(char c);
bool aws_iam_name_is_valid(const char *b, size_t n, size_t min, size_t max);
/* arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME: a 12-digit account, a path of up to 512
 * characters and a role name of 1-64, each segment of IAM's name characters. */
bool aws_role_arn_is_valid(const char *s);
/* STS AssumeRole ExternalId: "Length 2-1224, pattern [\w+=,.@:\/-]*". */
bool aws_external_id_is_valid(const char *s);
/* The 12-digit account of a valid role ARN into ret (distribution: the account of a
 * destination); false when s is none. */
bool aws_role_arn_account(const char *s, char ret[static 13]);
