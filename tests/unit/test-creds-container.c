/* SPDX-License-Identifier: MIT */
/*
 * Container credentials (ECS task roles, EKS Pod Identity): which full URIs may be
 * asked (botocore's hosts), the answer's parser, then the chain against
 * tests/ec2sim's container endpoint: keys that sign, the Authorization token read
 * from its file at every refresh, a refused token, a host that is not allowed,
 * none of them quoting the token or a key.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "ec2sim-helper.h"
#include "creds-test-helper.h"
#include "aws/client.h"
#include "aws/creds.h"
#include "aws/query.h"

#define TOKEN "Bearer pod-identity-TOKEN-c0nta1ner"

static void assert_contains(const char *haystack, const char *needle) {
        if (!haystack || !strstr(haystack, needle)) {
                print_error("'%s' not in '%s'\n", needle, haystack ?: "(null)");
                fail();
        }
}

static void test_container_url_check(void **state) {
        static const struct {
                const char *url;
                int r;
        } t[] = {
                { "http://169.254.170.2/v2/credentials/abc", 0 },
                { "http://169.254.170.23/v1/credentials", 0 },
                { "http://[fd00:ec2::23]/v1/credentials", 0 },
                { "http://localhost:8080/creds", 0 },
                { "http://127.0.0.1:41237/v1/credentials", 0 },
                { "http://127.1.2.3/x", 0 },
                { "https://[::1]:9/x", 0 },
                { "http://169.254.169.254/latest", -EPERM },
                { "http://example.com/creds", -EPERM },
                { "http://127.0.0.1.example.com/creds", -EPERM },
                { "http://[fd00:ec2::24]/x", -EPERM },
                { "ftp://127.0.0.1/x", -EINVAL },
                { "/v2/credentials", -EINVAL },
                { "", -EINVAL },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                int r = creds_container_url_check(t[i].url);

                if (r != t[i].r)
                        print_error("'%s': %d\n", t[i].url, r);
                assert_int_equal(r, t[i].r);
        }
}

static void test_parse_container_json(void **state) {
        static const char ok[] = "{\"RoleArn\": \"arn:aws:iam::1:role/r\", \"AccessKeyId\": \"ASIA1\", "
                "\"SecretAccessKey\": \"s3cret\", \"Token\": \"tok\", \"Expiration\": \"2030-01-01T00:00:00Z\", "
                "\"AccountId\": \"1\"}";
        static const char no_token[] = "{\"AccessKeyId\": \"ASIA1\", \"SecretAccessKey\": \"s3cret\", "
                "\"Expiration\": \"2030-01-01T00:00:00Z\"}";
        _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
        aws_error err = {};

        (void) state;
        assert_int_equal(creds_parse_container_json(ok, strlen(ok), &c, &err), 0);
        assert_string_equal(c->session_token, "tok");
        assert_int_equal(c->expiration, 1893456000);
        assert_int_equal(creds_parse_container_json(no_token, strlen(no_token), &c, &err), -EBADMSG);
        assert_string_equal(err.message, "container credentials lack the string 'Token'");
        aws_error_done(&err);
}

typedef struct fixture {
        char dir[64];
        char token_file[128];
        sd_event *event;
        http_client *http;
        test_server sim;
        char full_uri[192];
} fixture;

static void write_token(fixture *f, const char *token) {
        FILE *fp = fopen(f->token_file, "we");

        assert_non_null(fp);
        fprintf(fp, "%s\n", token);
        assert_int_equal(fclose(fp), 0);
}

static int setup(void **state) {
        static const char *const vars[] = {
                "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "CREDENTIALS_DIRECTORY",
                "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        };
        fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                unsetenv(vars[i]);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-creds-container-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        setenv("HOME", f->dir, 1);
        snprintf(f->token_file, sizeof(f->token_file), "%s/eks-pod-identity-token", f->dir);
        write_token(f, TOKEN);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_client_new(f->event, &f->http), 0);
        assert_int_equal(test_ec2sim_start(&f->sim), 0);
        assert_int_equal(test_ec2sim_admin(f->http, &f->sim, "POST", "/_sim/container",
                                           "{\"token\": \"" TOKEN "\"}", NULL), 0);
        snprintf(f->full_uri, sizeof(f->full_uri), "%s/v1/credentials", f->sim.url);
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f->full_uri, 1);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", f->token_file, 1);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        test_server_stop(&f->sim);
        http_client_free(f->http);
        sd_event_unref(f->event);
        test_remove_tree(f->dir);
        unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        free(f);
        return 0;
}

/* EKS Pod Identity's setup: the full URI with the token file; keys sign; a refresh
 * reads the token file again (the kubelet rotates it). */
static void test_container_pod_identity(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        _cleanup_(freep) char *arn = NULL, *first = NULL;
        aws_credentials *c = NULL;

        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        creds_provider_set_clock(p, fake_clock, NULL);
        fake_now = time(NULL);
        assert_int_equal(creds_provider_get_sync(p, &c, NULL), 0);
        assert_string_equal(creds_provider_source(p), "container-role");
        assert_true(startswith(c->access_key_id, "ASIA"));
        assert_non_null(c->session_token);
        first = strdup(c->access_key_id);
        arn = test_caller_arn(f->http, f->sim.url, p);
        assert_contains(arn, ":assumed-role/ec2sim-task-role/");

        /* The agent now wants a new token, and serves new keys; the file has the new token. */
        assert_int_equal(test_ec2sim_admin(f->http, &f->sim, "POST", "/_sim/container",
                                           "{\"token\": \"" TOKEN "-2\", \"rotate\": true}", NULL), 0);
        write_token(f, TOKEN "-2");
        fake_now = c->expiration - 4 * 60;
        c = aws_credentials_free(c);
        assert_int_equal(creds_provider_get_sync(p, &c, NULL), 0);
        assert_string_not_equal(c->access_key_id, first);
        aws_credentials_free(c);
}

static void test_container_refusals_say_why(void **state) {
        fixture *f = *state;
        aws_credentials *c = NULL;
        struct {
                const char *full, *token_file_content;
                int r;
                const char *message;
        } t[] = {
                { NULL, "Bearer wrong", -EREMOTEIO, "HTTP 403" },
                { "http://169.254.169.254/latest/meta-data/", NULL, -EPERM, "the host is not loopback" },
                { NULL, "two\nlines", -EINVAL, "not a legal header value" },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(creds_provider_freep) creds_provider *p = NULL;
                aws_error err = {};

                setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", t[i].full ?: f->full_uri, 1);
                write_token(f, t[i].token_file_content ?: TOKEN);
                assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
                assert_int_equal(creds_provider_get_sync(p, &c, &err), t[i].r);
                assert_contains(err.message, t[i].message);
                assert_contains(err.message, "container endpoint");
                assert_null(strstr(err.message, "Bearer"));
                aws_error_done(&err);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_container_url_check),
                cmocka_unit_test(test_parse_container_json),
                cmocka_unit_test_setup_teardown(test_container_pod_identity, setup, teardown),
                cmocka_unit_test_setup_teardown(test_container_refusals_say_why, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
