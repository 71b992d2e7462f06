/* SPDX-License-Identifier: MIT */
/*
 * Which URL serves EC2 or STS in a region, and what Host header a request to
 * it carries. A region name goes into hostnames and into every signature's
 * scope, so it is checked against the shape AWS region names have before it is
 * used; an endpoint override (ec2sim, a VPC endpoint, a private cloud) is
 * checked to be plain http(s)://host[:port], since the signer signs path "/"
 * and the Host header, and anything else in the URL would break signatures in
 * ways that are hard to diagnose.
 *
 * Endpoints as listed in "Amazon EC2 endpoints and quotas" and "AWS STS
 * regional endpoints" of the AWS General Reference: SERVICE.REGION.DNS-SUFFIX,
 * the suffix the region's partition has (partitions.c). FIPS, dual-stack and
 * the SDKs' endpoint settings are endpoint-resolve.c's.
 */
#include <stdio.h>
#include <strings.h>

#include "endpoint.h"
#include "partitions.h"
#include "base/util.h"

#define REGION_MAX 32   /* the longest valid shape, "us-isob-northeast-northeast-99", is 30 */

bool aws_region_is_valid(const char *region) {
        return !isempty(region) && strnlen(region, REGION_MAX + 1) <= REGION_MAX && aws_partition_for_region(region);
}

bool aws_service_is_valid(const char *service) {
        if (isempty(service) || strlen(service) > 32)
                return false;
        for (const char *p = service; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                        return false;
        return true;
}

static char ascii_lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

static bool is_hostname_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_';
}

/* Parses scheme://host[:port][rest]; the scheme is http or https in any case, no userinfo. */
int aws_url_parse(const char *url, parsed_url *ret) {
        parsed_url u = {};
        const char *p;

        if (!url)
                return -EINVAL;
        if (strncasecmp(url, "https://", 8) == 0) {
                u.tls = true;
                p = url + 8;
        } else if (strncasecmp(url, "http://", 7) == 0)
                p = url + 7;
        else
                return -EINVAL;

        if (*p == '[') {
                const char *end = strchr(p, ']');

                if (!end || end == p + 1)
                        return -EINVAL;
                for (const char *q = p + 1; q < end; q++)
                        if (!(strchr("0123456789abcdefABCDEF:.", *q)))
                                return -EINVAL;
                u.ipv6 = true;
                u.host = p + 1;
                u.host_len = (size_t) (end - p - 1);
                p = end + 1;
        } else {
                u.host = p;
                while (is_hostname_char(*p))
                        p++;
                u.host_len = (size_t) (p - u.host);
                if (u.host_len == 0 || u.host_len > 253 || u.host[0] == '-' || u.host[0] == '.')
                        return -EINVAL;
        }

        if (*p == ':') {
                unsigned long port = 0;

                p++;
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++) {
                        port = port * 10 + (unsigned long) (*p - '0');
                        if (port > 65535)
                                return -EINVAL;
                }
                if (port == 0)
                        return -EINVAL;
                u.port = (unsigned) port;
        }
        /* Anything else here ('@' of userinfo, a space, a stray character) is not a URL we accept. */
        if (*p && !strchr("/?#", *p))
                return -EINVAL;
        u.rest = p;
        *ret = u;
        return 0;
}

/* "http://Host:8080" → "host:8080", the default port omitted: what curl sends as Host. */
int aws_url_format_host(const parsed_url *u, bool keep_default_port, strbuf *b) {
        int r;

        r = strbuf_puts(b, u->ipv6 ? "[" : "");
        for (size_t i = 0; i < u->host_len && r >= 0; i++) {
                char c = ascii_lower(u->host[i]);

                r = strbuf_append(b, &c, 1);
        }
        if (r >= 0 && u->ipv6)
                r = strbuf_puts(b, "]");
        if (r >= 0 && u->port != 0 && (keep_default_port || u->port != (u->tls ? 443u : 80u)))
                r = strbuf_printf(b, ":%u", u->port);
        return r;
}

int aws_endpoint_host(const char *url, char **ret_host, bool *ret_tls) {
        strbuf b = {};
        parsed_url u;
        int r;

        if (!ret_host)
                return -EINVAL;
        r = aws_url_parse(url, &u);
        if (r < 0)
                return r;
        r = aws_url_format_host(&u, false, &b);
        if (r < 0) {
                strbuf_done(&b);
                return r;
        }
        *ret_host = strbuf_steal(&b);
        if (!*ret_host)
                return -ENOMEM;
        if (ret_tls)
                *ret_tls = u.tls;
        return 0;
}

int aws_endpoint_url(const char *service, const char *region, const char *override, char **ret) {
        strbuf b = {};
        int r;

        if (!ret || !aws_service_is_valid(service) || !aws_region_is_valid(region))
                return -EINVAL;

        if (override) {
                parsed_url u;

                r = aws_url_parse(override, &u);
                if (r < 0)
                        return r;
                /* Only a bare trailing slash may follow: the signer signs path "/". */
                if (!(u.rest[0] == 0 || streq(u.rest, "/")))
                        return -EINVAL;
                r = strbuf_puts(&b, u.tls ? "https://" : "http://");
                if (r >= 0)
                        r = aws_url_format_host(&u, true, &b);
        } else
                r = strbuf_printf(&b, "https://%s.%s.%s", service, region,
                                  aws_partition_for_region(region)->dns_suffix);
        if (r < 0) {
                strbuf_done(&b);
                return r;
        }
        *ret = strbuf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}

/* ---- IAM names and role ARNs ---------------------------------------------------------- */

/* IAM's pattern for role and session names: [\w+=,.@-]. */
bool aws_iam_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                (c != 0 && strchr("_+=,.@-", c));
}

bool aws_iam_name_is_valid(const char *b, size_t n, size_t min, size_t max) {
        if (n < min || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!b[i] || !aws_iam_name_char(b[i]))
                        return false;
        return true;
}

/* STS AssumeRole ExternalId: "Length 2-1224, pattern [\w+=,.@:\/-]*". */
bool aws_external_id_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n < 2 || n > 1224)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      strchr("_+=,.@:/-", *s)))
                        return false;
        return true;
}

bool aws_role_arn_account(const char *s, char ret[static 13]) {
        const char *a;

        if (!aws_role_arn_is_valid(s))
                return false;
        a = strstr(s, ":iam::") + strlen(":iam::");
        memcpy(ret, a, 12);
        ret[12] = '\0';
        return true;
}

bool aws_role_arn_is_valid(const char *s) {
        const char *p = NULL, *name;

        for (size_t i = 0; s && aws_partitions[i]; i++)
                if (startswith(s, "arn:") && startswith(s + 4, aws_partitions[i]->id) &&
                    s[4 + strlen(aws_partitions[i]->id)] == ':')
                        p = s + 5 + strlen(aws_partitions[i]->id);
        if (!p || !startswith(p, "iam::"))
                return false;
        p += strlen("iam::");
        for (int i = 0; i < 12; i++, p++)
                if (*p < '0' || *p > '9')
                        return false;
        if (!startswith(p, ":role/"))
                return false;
        p += strlen(":role/");

        /* IAM: a path of up to 512 characters ("/division/team/"), then the role
         * name of 1-64 characters; every segment [\w+=,.@-]. */
        if (strlen(p) > 512 + 64)
                return false;
        for (;;) {
                const char *slash = strchr(p, '/');

                name = p;
                if (!slash)
                        break;
                if (!aws_iam_name_is_valid(p, (size_t) (slash - p), 1, 512))
                        return false;
                p = slash + 1;
        }
        return aws_iam_name_is_valid(name, strlen(name), 1, 64);
}
