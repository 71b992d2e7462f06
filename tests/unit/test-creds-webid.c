/* SPDX-License-Identifier: MIT */
/*
 * Web identity (EKS service accounts): STS AssumeRoleWithWebIdentity against
 * tests/ec2sim, unsigned, with the token from AWS_WEB_IDENTITY_TOKEN_FILE or a
 * profile's web_identity_token_file. The keys sign; the token file is read again
 * at each refresh (the old token is refused by then); a refused token keeps STS's
 * code and never appears in the message.
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

#define ROLE "arn:aws:iam::111122223333:role/eks-amirotd"
#define TOKEN1 "eyJhbGciOiJSUzI1NiJ9.webid-TOKEN-one.sig"
#define TOKEN2 "eyJhbGciOiJSUzI1NiJ9.webid-TOKEN-two.sig"

typedef struct fixture {
        char dir[64];
        char token_file[128];
        sd_event *event;
        http_client *http;
        test_server sim;
} fixture;

static void write_file(const char *path, const char *text) {
        FILE *fp = fopen(path, "we");

        assert_non_null(fp);
        fputs(text, fp);
        assert_int_equal(fclose(fp), 0);
}

static void seed_tokens(fixture *f, const char *json_list) {
        char body[256];

        snprintf(body, sizeof(body), "{\"web_identity_tokens\": %s}", json_list);
        assert_int_equal(test_ec2sim_admin(f->http, &f->sim, "POST", "/_sim/sts", body, NULL), 0);
}

static int setup(void **state) {
        static const char *const vars[] = {
                "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "CREDENTIALS_DIRECTORY",
                "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_PROFILE", "AWS_ROLE_SESSION_NAME",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_REGION",
                "AWS_DEFAULT_REGION",
        };
        fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                unsetenv(vars[i]);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-creds-webid-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        setenv("HOME", f->dir, 1);
        snprintf(f->token_file, sizeof(f->token_file), "%s/token", f->dir);
        write_file(f->token_file, TOKEN1);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_client_new(f->event, &f->http), 0);
        assert_int_equal(test_ec2sim_start(&f->sim), 0);
        seed_tokens(f, "[\"" TOKEN1 "\"]");
        setenv("AWS_ENDPOINT_URL_STS", f->sim.url, 1);
        setenv("AWS_WEB_IDENTITY_TOKEN_FILE", f->token_file, 1);
        setenv("AWS_ROLE_ARN", ROLE, 1);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        test_server_stop(&f->sim);
        http_client_free(f->http);
        sd_event_unref(f->event);
        test_remove_tree(f->dir);
        unsetenv("AWS_ENDPOINT_URL_STS");
        unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
        unsetenv("AWS_ROLE_ARN");
        free(f);
        return 0;
}

static void test_webid_from_the_environment(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        _cleanup_(freep) char *arn = NULL, *first = NULL;
        aws_credentials *c = NULL;
        aws_error err = {};

        setenv("AWS_ROLE_SESSION_NAME", "irsa-session", 1);
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        creds_provider_set_clock(p, fake_clock, NULL);
        fake_now = time(NULL);
        assert_int_equal(creds_provider_get_sync(p, &c, &err), 0);
        assert_string_equal(creds_provider_source(p), "assume-role-with-web-identity");
        assert_non_null(c->session_token);
        first = strdup(c->access_key_id);
        arn = test_caller_arn(f->http, f->sim.url, p);
        assert_string_equal(arn, "arn:aws:sts::111122223333:assumed-role/eks-amirotd/irsa-session");

        /* The kubelet rotated the token; STS takes only the new one. The refresh reads the file again. */
        write_file(f->token_file, TOKEN2 "\n");
        seed_tokens(f, "[\"" TOKEN2 "\"]");
        fake_now = c->expiration - 4 * 60;
        c = aws_credentials_free(c);
        assert_int_equal(creds_provider_get_sync(p, &c, &err), 0);
        assert_string_not_equal(c->access_key_id, first);
        aws_credentials_free(c);
}

static void test_webid_from_a_profile(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        _cleanup_(freep) char *arn = NULL;
        creds_options o = { .profile = "eks" };
        aws_credentials *c = NULL;
        char path[128], config[512];

        /* A named profile: the variables are not read (botocore), the profile's keys are. */
        setenv("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/not-this-one", 1);
        snprintf(path, sizeof(path), "%s/.aws", f->dir);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(path, sizeof(path), "%s/.aws/config", f->dir);
        snprintf(config, sizeof(config), "[profile eks]\nrole_arn = " ROLE "\nweb_identity_token_file = %s\n"
                 "role_session_name = from-profile\n", f->token_file);
        write_file(path, config);
        assert_int_equal(creds_provider_new_chain(f->http, &o, &p), 0);
        assert_int_equal(creds_provider_get_sync(p, &c, NULL), 0);
        arn = test_caller_arn(f->http, f->sim.url, p);
        assert_string_equal(arn, "arn:aws:sts::111122223333:assumed-role/eks-amirotd/from-profile");
        aws_credentials_free(c);
}

static void test_webid_refused_token(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        aws_credentials *c = NULL;
        aws_error err = {};

        write_file(f->token_file, TOKEN2);
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        assert_int_equal(creds_provider_get_sync(p, &c, &err), -EREMOTEIO);
        assert_string_equal(err.code, "InvalidIdentityToken");
        assert_non_null(strstr(err.message, "cannot assume role '" ROLE "' with web identity"));
        assert_null(strstr(err.message, "webid-TOKEN"));
        aws_error_done(&err);

        unlink(f->token_file);
        p = creds_provider_free(p);
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        assert_int_equal(creds_provider_get_sync(p, &c, &err), -ENOENT);
        assert_non_null(strstr(err.message, "cannot read the token file"));
        aws_error_done(&err);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_webid_from_the_environment, setup, teardown),
                cmocka_unit_test_setup_teardown(test_webid_from_a_profile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_webid_refused_token, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
