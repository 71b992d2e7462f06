/* SPDX-License-Identifier: MIT */
/*
 * Which URL to call, decided from the settings every SDK reads: the
 * configured-endpoint variables and config-file keys ("Service-specific
 * endpoints" of the AWS SDKs and Tools Reference Guide: AWS_ENDPOINT_URL_<SERVICE>,
 * AWS_ENDPOINT_URL, `services` sections, `endpoint_url`,
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), FIPS and dual-stack
 * (AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT, use_fips_endpoint,
 * use_dualstack_endpoint) and STS's regional endpoints
 * (AWS_STS_REGIONAL_ENDPOINTS, sts_regional_endpoints). The outcomes follow the
 * EC2 and STS endpoint-rule-set-1.json of botocore; tests/oracle checks them
 * against botocore itself.
 */
#include <stdio.h>
#include <strings.h>

#include "endpoint.h"
#include "partitions.h"
#include "profile.h"

/*
 * STS's ruleset, "UseGlobalEndpoint": with sts_regional_endpoints=legacy these
 * regions are served by the global endpoint sts.amazonaws.com (botocore 1.29,
 * data/sts/2011-06-15/endpoint-rule-set-1.json).
 */
static const char *const sts_legacy_global_regions[] = {
        "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ca-central-1",
        "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
        "us-east-1", "us-east-2", "us-west-1", "us-west-2",
};

typedef struct resolve_ctx {
        const aws_endpoint_options *o;
        const char *service, *region;
        aws_shared_files files;
        char **why;
} resolve_ctx;

static int why(resolve_ctx *c, int r, const char *fmt, ...) _printf_(3, 4);
static int why(resolve_ctx *c, int r, const char *fmt, ...) {
        va_list ap;

        if (c->why) {
                free(*c->why);
                va_start(ap, fmt);
                if (vasprintf_safe(c->why, fmt, ap) < 0)
                        r = -ENOMEM;
                va_end(ap);
        }
        return r;
}

/* A configured override, checked and normalised as aws_endpoint_url() does: 0, or -EINVAL with why. */
static int use_override(resolve_ctx *c, const char *url, const char *from, char **ret) {
        int r = aws_endpoint_url(c->service, c->region, url, ret);

        if (r == -EINVAL)
                return why(c, r, "%s '%s' is not an endpoint URL (http:// or https://, a host and no path)",
                           from, url);
        if (r < 0)
                return r;
        return why(c, 0, "%s", from);
}

/* A boolean setting: the option, else the variable, else the profile's key. -EINVAL with why when malformed. */
static int bool_setting(resolve_ctx *c, int option, const char *env, const char *key, bool *ret) {
        const char *v;
        int b;

        if (option >= 0) {
                *ret = option > 0;
                return 0;
        }
        v = aws_getenv(env);
        if (!v)
                v = aws_shared_config_get(&c->files, c->files.profile, key);
        b = aws_parse_bool_setting(v);
        if (b == -EINVAL)
                return why(c, -EINVAL, "%s '%s' is neither true nor false", aws_getenv(env) ? env : key, v);
        *ret = b > 0;
        return 0;
}

/* AWS_ENDPOINT_URL_EC2: the service id upper-cased, blanks and dashes as '_'. */
static int configured_endpoint(resolve_ctx *c, char **ret) {
        char env[64], *q = env + snprintf(env, sizeof(env), "AWS_ENDPOINT_URL_");
        const char *v, *services;
        bool ignore = false;
        int r;

        r = bool_setting(c, -1, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "ignore_configured_endpoint_urls", &ignore);
        if (r < 0 || ignore)
                return r;

        for (const char *p = c->service; *p && q < env + sizeof(env) - 1; p++)
                *q++ = *p == '-' || *p == ' ' ? '_' : (char) (*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        *q = 0;
        if ((v = aws_getenv(env)))
                return use_override(c, v, env, ret) ?: 1;
        if ((v = aws_getenv("AWS_ENDPOINT_URL")))
                return use_override(c, v, "AWS_ENDPOINT_URL", ret) ?: 1;

        services = aws_shared_config_get(&c->files, c->files.profile, "services");
        if (services) {
                _cleanup_(freep) char *section = NULL, *from = NULL;

                if (asprintf_safe(&section, "services %s", services) < 0 ||
                    asprintf_safe(&from, "endpoint_url of %s in [services %s] of %s", c->service, services,
                                  c->files.config_path) < 0)
                        return -ENOMEM;
                v = aws_profile_get(c->files.config, section, c->service, "endpoint_url");
                if (v)
                        return use_override(c, v, from, ret) ?: 1;
        }
        v = aws_shared_config_get(&c->files, c->files.profile, "endpoint_url");
        if (v) {
                _cleanup_(freep) char *from = NULL;

                if (asprintf_safe(&from, "endpoint_url of profile '%s' in %s", c->files.profile,
                                  c->files.config_path) < 0)
                        return -ENOMEM;
                return use_override(c, v, from, ret) ?: 1;
        }
        return 0;
}

/* AWS_STS_REGIONAL_ENDPOINTS / sts_regional_endpoints: "legacy" or "regional" (the default). */
static int sts_legacy(resolve_ctx *c, bool *ret) {
        const char *v = aws_getenv("AWS_STS_REGIONAL_ENDPOINTS");
        const char *from = "AWS_STS_REGIONAL_ENDPOINTS";

        if (!v) {
                v = aws_shared_config_get(&c->files, c->files.profile, "sts_regional_endpoints");
                from = "sts_regional_endpoints";
        }
        *ret = false;
        if (!v || streq(v, "regional"))
                return 0;
        if (!streq(v, "legacy"))
                return why(c, -EINVAL, "%s '%s' is neither legacy nor regional", from, v);
        for (size_t i = 0; i < ELEMENTSOF(sts_legacy_global_regions); i++)
                if (streq(c->region, sts_legacy_global_regions[i]))
                        *ret = true;
        return 0;
}

static int partition_endpoint(resolve_ctx *c, char **ret) {
        const aws_partition *p = aws_partition_for_region(c->region);
        bool fips = false, dualstack = false, legacy = false;
        const char *suffix;
        int r;

        r = bool_setting(c, c->o->use_fips, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint", &fips);
        if (r >= 0)
                r = bool_setting(c, c->o->use_dualstack, "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint",
                                 &dualstack);
        if (r >= 0 && streq(c->service, "sts") && !fips && !dualstack)
                r = sts_legacy(c, &legacy);
        if (r < 0)
                return r;

        if (fips && !p->supports_fips)
                return why(c, -EOPNOTSUPP, "partition %s has no FIPS endpoints", p->id);
        if (dualstack && !p->dualstack_dns_suffix)
                return why(c, -EOPNOTSUPP, "partition %s has no dual-stack endpoints", p->id);
        suffix = dualstack ? p->dualstack_dns_suffix : p->dns_suffix;

        if (legacy)
                r = asprintf_safe(ret, "https://sts.%s", p->dns_suffix);
        else if (fips && !dualstack && streq(p->id, "aws-us-gov") &&
                 (streq(c->service, "ec2") || streq(c->service, "sts")))
                /* The EC2 and STS rulesets: in GovCloud the regional endpoint is the FIPS one. */
                r = asprintf_safe(ret, "https://%s.%s.%s", c->service, c->region, suffix);
        else
                r = asprintf_safe(ret, "https://%s%s.%s.%s", c->service, fips ? "-fips" : "", c->region, suffix);
        if (r < 0)
                return r;
        return why(c, 0, "%s%s%spartition %s", legacy ? "legacy global STS, " : "", fips ? "FIPS, " : "",
                   dualstack ? "dual-stack, " : "", p->id);
}

int aws_endpoint_resolve(const aws_endpoint_options *o, const char *service, const char *region,
                         char **ret_url, char **ret_why) {
        const aws_endpoint_options none = AWS_ENDPOINT_OPTIONS_DEFAULT;
        _cleanup_(freep) char *url = NULL;
        resolve_ctx c = {
                .o = o ?: &none,
                .service = service,
                .region = region,
                .why = ret_why,
        };
        int r;

        if (ret_why)
                *ret_why = NULL;
        if (!ret_url || !aws_service_is_valid(service))
                return -EINVAL;
        if (!aws_region_is_valid(region))
                return why(&c, -EINVAL, "'%s' is not an AWS region name", region ?: "");
        if (c.o->url)
                r = use_override(&c, c.o->url, "the configuration", &url);
        else {
                r = aws_shared_files_load(c.o->profile, &c.files);
                if (r < 0)
                        return r;
                r = configured_endpoint(&c, &url);
                if (r == 0)
                        r = partition_endpoint(&c, &url);
                aws_shared_files_done(&c.files);
        }
        if (r < 0)
                return r;
        *ret_url = TAKE_PTR(url);
        return 0;
}

int aws_region_from_environment(const char *profile, char **ret, const char **ret_from) {
        _cleanup_(aws_shared_files_done) aws_shared_files files = {};
        const char *v;
        int r;

        *ret = NULL;
        if (ret_from)
                *ret_from = NULL;
        if ((v = aws_getenv("AWS_REGION")) || (v = aws_getenv("AWS_DEFAULT_REGION"))) {
                if (ret_from)
                        *ret_from = aws_getenv("AWS_REGION") ? "AWS_REGION" : "AWS_DEFAULT_REGION";
                return strdup_or_null(v, ret);
        }
        r = aws_shared_files_load(profile, &files);
        if (r < 0)
                return r;
        v = aws_shared_config_get(&files, files.profile, "region");
        if (v && ret_from)
                *ret_from = "the shared config file";
        return strdup_or_null(v, ret);
}
