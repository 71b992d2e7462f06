/* SPDX-License-Identifier: MIT */
/* Regions, endpoint URLs and Host headers, table by table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "aws/endpoint.h"
#include "aws/partitions.h"
#include "aws/profile.h"
#include <stdlib.h>
#include <unistd.h>
#include "base/util.h"

static void test_region_is_valid(void **state) {
        static const char *const good[] = {
                "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-southeast-4", "ap-northeast-3",
                "ap-south-2", "ap-east-1", "eu-central-2", "eu-north-1", "eu-south-1", "sa-east-1",
                "ca-central-1", "ca-west-1", "me-central-1", "af-south-1", "il-central-1", "mx-central-1",
                "cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-gov-east-1", "us-iso-east-1",
                "us-isob-east-1", "ap-southeast-12", "eu-central-south-1",
        };
        static const char *const bad[] = {
                "", "us", "us-east", "us-east-", "us-east-1a", "us-east-1-", "-us-east-1", "US-EAST-1",
                "Us-east-1", "us-east-1 ", " us-east-1", "us east 1", "us-east-0", "us-east-01",
                "us-east-100", "xx-east-1", "us-middle-1", "us-gov-1", "us-isoc-east-1", "../", "us-east-1/..",
                "us-east-1\n", "global", "aws-global", "us-east-east-east-1",
                "us-isob-northeast-northeast-99-northeast-northeast-1",
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (!aws_region_is_valid(good[i]))
                        fail_msg("'%s' should be valid", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (aws_region_is_valid(bad[i]))
                        fail_msg("'%s' should be invalid", bad[i]);
        assert_false(aws_region_is_valid(NULL));
}

static void test_endpoint_url(void **state) {
        static const struct {
                const char *service, *region, *override;
                int r;
                const char *url;
        } t[] = {
                { "ec2", "us-east-1", NULL, 0, "https://ec2.us-east-1.amazonaws.com" },
                { "ec2", "eu-central-2", NULL, 0, "https://ec2.eu-central-2.amazonaws.com" },
                { "ec2", "us-gov-west-1", NULL, 0, "https://ec2.us-gov-west-1.amazonaws.com" },
                { "ec2", "cn-north-1", NULL, 0, "https://ec2.cn-north-1.amazonaws.com.cn" },
                { "ec2", "cn-northwest-1", NULL, 0, "https://ec2.cn-northwest-1.amazonaws.com.cn" },
                { "sts", "us-east-1", NULL, 0, "https://sts.us-east-1.amazonaws.com" },
                { "sts", "ap-southeast-4", NULL, 0, "https://sts.ap-southeast-4.amazonaws.com" },
                { "sts", "cn-north-1", NULL, 0, "https://sts.cn-north-1.amazonaws.com.cn" },
                /* Overrides: used as given, the trailing slash removed, scheme and host lower-cased. */
                { "ec2", "us-east-1", "http://127.0.0.1:8080", 0, "http://127.0.0.1:8080" },
                { "ec2", "us-east-1", "http://127.0.0.1:8080/", 0, "http://127.0.0.1:8080" },
                { "ec2", "us-east-1", "https://vpce-1.ec2.us-east-1.vpce.amazonaws.com/", 0,
                  "https://vpce-1.ec2.us-east-1.vpce.amazonaws.com" },
                { "ec2", "us-east-1", "HTTPS://EC2.Example.COM:443", 0, "https://ec2.example.com:443" },
                { "ec2", "us-east-1", "http://[::1]:8080/", 0, "http://[::1]:8080" },
                { "ec2", "us-east-1", "http://localhost", 0, "http://localhost" },
                { "ec2", "us-east-1", "ftp://ec2.example.com", -EINVAL, NULL },
                { "ec2", "us-east-1", "ec2.example.com", -EINVAL, NULL },
                { "ec2", "us-east-1", "https://", -EINVAL, NULL },
                { "ec2", "us-east-1", "https:///", -EINVAL, NULL },
                { "ec2", "us-east-1", "", -EINVAL, NULL },
                { "ec2", "us-east-1", "https://user:pw@ec2.example.com", -EINVAL, NULL },
                { "ec2", "us-east-1", "https://ec2.example.com/prefix", -EINVAL, NULL },
                { "ec2", "us-east-1", "https://ec2.example.com?x=1", -EINVAL, NULL },
                { "ec2", "us-east-1", "https://ec2.example.com:", -EINVAL, NULL },
                { "ec2", "us-east-1", "https://ec2.example.com:0", -EINVAL, NULL },
                { "ec2", "us-east-1", "https://ec2.example.com:65536", -EINVAL, NULL },
                { "ec2", "us-east-1", "https://ec2 .example.com", -EINVAL, NULL },
                { "ec2", "us-east-1", "http://[::1", -EINVAL, NULL },
                { "ec2", "us-east-1", "http://[]:80", -EINVAL, NULL },
                { "ec2", "us-east-1", "http://[fe80::1%25eth0]", -EINVAL, NULL },
                /* The region and service are checked, override or not. */
                { "ec2", "us-east", NULL, -EINVAL, NULL },
                { "ec2", "../", NULL, -EINVAL, NULL },
                { "ec2", "", "http://127.0.0.1:8080", -EINVAL, NULL },
                { "EC2", "us-east-1", NULL, -EINVAL, NULL },
                { "ec2/x", "us-east-1", NULL, -EINVAL, NULL },
                { "", "us-east-1", NULL, -EINVAL, NULL },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(freep) char *url = NULL;
                int r = aws_endpoint_url(t[i].service, t[i].region, t[i].override, &url);

                if (r != t[i].r)
                        fail_msg("%s %s '%s': %d, expected %d", t[i].service, t[i].region,
                                 t[i].override ?: "(null)", r, t[i].r);
                if (t[i].url)
                        assert_string_equal(url, t[i].url);
                else
                        assert_null(url);
        }
}

static void test_endpoint_host(void **state) {
        static const struct {
                const char *url;
                int r;
                const char *host;
                bool tls;
        } t[] = {
                { "https://ec2.us-east-1.amazonaws.com", 0, "ec2.us-east-1.amazonaws.com", true },
                { "https://ec2.cn-north-1.amazonaws.com.cn", 0, "ec2.cn-north-1.amazonaws.com.cn", true },
                { "https://ec2.us-east-1.amazonaws.com:443", 0, "ec2.us-east-1.amazonaws.com", true },
                { "https://ec2.example.com:80", 0, "ec2.example.com:80", true },
                { "http://127.0.0.1:8080", 0, "127.0.0.1:8080", false },
                { "http://127.0.0.1:80", 0, "127.0.0.1", false },
                { "http://127.0.0.1:443", 0, "127.0.0.1:443", false },
                { "http://localhost/", 0, "localhost", false },
                { "HTTP://LocalHost:8080/x?y#z", 0, "localhost:8080", false },
                { "http://[::1]:8080", 0, "[::1]:8080", false },
                { "https://[2001:DB8::1]", 0, "[2001:db8::1]", true },
                { "https://[2001:db8::1]:443/", 0, "[2001:db8::1]", true },
                { "https://[::ffff:127.0.0.1]:9000", 0, "[::ffff:127.0.0.1]:9000", true },
                { "ftp://x", -EINVAL, NULL, false },
                { "http://", -EINVAL, NULL, false },
                { "http://:8080", -EINVAL, NULL, false },
                { "http://a@b", -EINVAL, NULL, false },
                { "http://host:99999", -EINVAL, NULL, false },
                { "http://host:80x", -EINVAL, NULL, false },
                { "http://[::1]x", -EINVAL, NULL, false },
                { NULL, -EINVAL, NULL, false },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(freep) char *host = NULL;
                bool tls = !t[i].tls;
                int r = aws_endpoint_host(t[i].url, &host, &tls);

                if (r != t[i].r)
                        fail_msg("'%s': %d, expected %d", t[i].url ?: "(null)", r, t[i].r);
                if (r < 0) {
                        assert_null(host);
                        continue;
                }
                assert_string_equal(host, t[i].host);
                assert_int_equal(tls, t[i].tls);
        }
}

/* What aws_endpoint_url() returns, aws_endpoint_host() accepts: the two agree on every region shape. */
static void test_url_then_host(void **state) {
        static const char *const regions[] = { "us-east-1", "cn-north-1", "us-gov-east-1", "il-central-1" };
        static const char *const services[] = { "ec2", "sts" };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(regions); i++)
                for (size_t j = 0; j < ELEMENTSOF(services); j++) {
                        _cleanup_(freep) char *url = NULL, *host = NULL;
                        bool tls = false;

                        assert_int_equal(aws_endpoint_url(services[j], regions[i], NULL, &url), 0);
                        assert_int_equal(aws_endpoint_host(url, &host, &tls), 0);
                        assert_true(tls);
                        assert_string_equal(host, url + strlen("https://"));
                }
}


/* A clean environment with HOME in a fresh directory holding `config` as ~/.aws/config. */
static void setup_env(const char *config) {
        static char home[] = "/tmp/test-endpoint-XXXXXX";
        char path[256];
        FILE *f;

        for (char **e = (char *[]) { "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_ENDPOINT_URL",
                                     "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_STS", "AWS_PROFILE",
                                     "AWS_STS_REGIONAL_ENDPOINTS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                                     "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION",
                                     "AWS_DEFAULT_REGION", NULL }; *e; e++)
                unsetenv(*e);
        static bool made;

        if (!made)
                assert_non_null(mkdtemp(home));
        made = true;
        setenv("HOME", home, 1);
        snprintf(path, sizeof(path), "%s/config", home);
        setenv("AWS_CONFIG_FILE", path, 1);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(config, f);
        fclose(f);
}

static void expect_resolve(const aws_endpoint_options *o, const char *service, const char *region, int r,
                           const char *url, const char *why) {
        _cleanup_(freep) char *u = NULL, *w = NULL;

        int k = aws_endpoint_resolve(o, service, region, &u, &w);

        if (k != r)
                fail_msg("%s %s: %d (%s), expected %d", service, region, k, u ?: w ?: "", r);
        if (url)
                assert_string_equal(u, url);
        if (why && (!w || !strstr(w, why)))
                fail_msg("why '%s' lacks '%s'", w ?: "(null)", why);
}

static void test_resolve_partitions(void **state) {
        aws_endpoint_options o = AWS_ENDPOINT_OPTIONS_DEFAULT;

        (void) state;
        setup_env("");
        expect_resolve(&o, "ec2", "eusc-de-east-1", 0, "https://ec2.eusc-de-east-1.amazonaws.eu", "aws-eusc");
        expect_resolve(&o, "ec2", "eu-isoe-west-1", 0, "https://ec2.eu-isoe-west-1.cloud.adc-e.uk", NULL);
        expect_resolve(&o, "sts", "us-isof-south-1", 0, "https://sts.us-isof-south-1.csp.hci.ic.gov", NULL);
        expect_resolve(&o, "sts", "us-east-1", 0, "https://sts.us-east-1.amazonaws.com", NULL);
        o.use_fips = 1;
        expect_resolve(&o, "ec2", "us-gov-west-1", 0, "https://ec2.us-gov-west-1.amazonaws.com", "FIPS");
        expect_resolve(&o, "sts", "cn-north-1", 0, "https://sts-fips.cn-north-1.amazonaws.com.cn", NULL);
        o.use_dualstack = 1;
        expect_resolve(&o, "ec2", "us-gov-west-1", 0, "https://ec2-fips.us-gov-west-1.api.aws", NULL);
        expect_resolve(&o, "ec2", "us-iso-east-1", -EOPNOTSUPP, NULL, "no dual-stack");
        o.use_fips = 0;
        expect_resolve(&o, "ec2", "cn-north-1", 0, "https://ec2.cn-north-1.api.amazonwebservices.com.cn", NULL);
        expect_resolve(&o, "ec2", "xx-east-1", -EINVAL, NULL, "not an AWS region");
        assert_string_equal(aws_partition_for_region("us-isob-east-1")->id, "aws-iso-b");
        assert_null(aws_partition_for_region("us-isoc-east-1"));
        assert_true(aws_role_arn_is_valid("arn:aws-eusc:iam::111122223333:role/x"));
        assert_false(aws_role_arn_is_valid("arn:aws-nope:iam::111122223333:role/x"));
}

static void test_resolve_settings(void **state) {
        aws_endpoint_options o = AWS_ENDPOINT_OPTIONS_DEFAULT;

        (void) state;
        setup_env("[profile ops]\nuse_fips_endpoint = TRUE\nservices = local\n"
                  "[services local]\nec2 =\n  endpoint_url = http://127.0.0.1:1234/\n"
                  "[default]\nendpoint_url = https://proxy.example.com\nsts_regional_endpoints = legacy\n");
        /* [default]: the global endpoint_url, for every service. */
        expect_resolve(&o, "ec2", "eu-west-1", 0, "https://proxy.example.com", "endpoint_url of profile 'default'");
        setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
        expect_resolve(&o, "sts", "eu-west-1", 0, "https://sts.amazonaws.com", "legacy global STS");
        expect_resolve(&o, "sts", "eu-south-1", 0, "https://sts.eu-south-1.amazonaws.com", NULL);
        unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        /* [profile ops]: its services section for EC2, FIPS for STS. */
        setenv("AWS_PROFILE", "ops", 1);
        expect_resolve(&o, "ec2", "eu-west-1", 0, "http://127.0.0.1:1234", "[services local]");
        expect_resolve(&o, "sts", "eu-west-1", 0, "https://sts-fips.eu-west-1.amazonaws.com", NULL);
        /* The variables beat the files, the service's beats the global one; the configuration beats all. */
        setenv("AWS_ENDPOINT_URL", "http://global.example", 1);
        setenv("AWS_ENDPOINT_URL_EC2", "http://ec2.example:8080", 1);
        expect_resolve(&o, "ec2", "eu-west-1", 0, "http://ec2.example:8080", "AWS_ENDPOINT_URL_EC2");
        expect_resolve(&o, "sts", "eu-west-1", 0, "http://global.example", "AWS_ENDPOINT_URL");
        o.url = "http://127.0.0.1:9";
        expect_resolve(&o, "ec2", "eu-west-1", 0, "http://127.0.0.1:9", "the configuration");
        o.url = NULL;
        setenv("AWS_ENDPOINT_URL_EC2", "https://ec2.example/with/path", 1);
        expect_resolve(&o, "ec2", "eu-west-1", -EINVAL, NULL, "AWS_ENDPOINT_URL_EC2 'https://ec2.example/with/path'");
        unsetenv("AWS_ENDPOINT_URL_EC2");
        unsetenv("AWS_ENDPOINT_URL");
        setenv("AWS_USE_DUALSTACK_ENDPOINT", "yes", 1);
        expect_resolve(&o, "sts", "eu-west-1", -EINVAL, NULL, "AWS_USE_DUALSTACK_ENDPOINT 'yes'");
        unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
        setenv("AWS_STS_REGIONAL_ENDPOINTS", "global", 1);
        o.use_fips = 0;
        expect_resolve(&o, "sts", "eu-west-1", -EINVAL, NULL, "neither legacy nor regional");
}

static void test_region_from_environment(void **state) {
        _cleanup_(freep) char *a = NULL, *b = NULL, *c = NULL;
        const char *from;

        (void) state;
        setup_env("[default]\nregion = eu-west-3\n[profile ops]\nregion = ap-south-1\n");
        assert_int_equal(aws_region_from_environment(NULL, &a, &from), 0);
        assert_string_equal(a, "eu-west-3");
        assert_int_equal(aws_region_from_environment("ops", &b, &from), 0);
        assert_string_equal(b, "ap-south-1");
        setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
        setenv("AWS_REGION", "eu-north-1", 1);
        assert_int_equal(aws_region_from_environment("ops", &c, &from), 0);
        assert_string_equal(c, "eu-north-1");
        assert_string_equal(from, "AWS_REGION");
}

static void test_profile_parse(void **state) {
        static const char text[] = "# c\n[ profile  \"x y\" ]\nKey = 1\nkey: 2\n  junk\n[services s]\nec2 =\n"
                                   "  Endpoint_URL = http://a\n\n  other = b\nplain=v\n[bad\nk = lost\n";
        _cleanup_(aws_profile_file_freep) aws_profile_file *f = NULL;

        (void) state;
        assert_int_equal(aws_profile_file_parse(text, sizeof(text) - 1, &f), 0);
        assert_string_equal(aws_profile_get(f, "profile x y", "key", NULL), "2");
        assert_string_equal(aws_profile_get(f, "services s", "ec2", "endpoint_url"), "http://a");
        assert_string_equal(aws_profile_get(f, "services s", "ec2", "other"), "b");
        assert_string_equal(aws_profile_get(f, "services s", "plain", NULL), "v");
        assert_null(aws_profile_get(f, "bad", "k", NULL));
        assert_true(aws_profile_has_section(f, "services s"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_region_is_valid),
                cmocka_unit_test(test_endpoint_url),
                cmocka_unit_test(test_endpoint_host),
                cmocka_unit_test(test_url_then_host),
                cmocka_unit_test(test_resolve_partitions),
                cmocka_unit_test(test_resolve_settings),
                cmocka_unit_test(test_region_from_environment),
                cmocka_unit_test(test_profile_parse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
