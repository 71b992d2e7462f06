/* SPDX-License-Identifier: MIT */
/*
 * Role chaining as the CLI does it, against tests/ec2sim's STS: a profile's role_arn
 * on top of its source_profile (static keys, another role, itself) or its
 * credential_source (Environment, EcsContainer); external_id, role_session_name and
 * duration_seconds passed on; a circle and a bad credential_source refused.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "ec2sim-helper.h"
#include "creds-test-helper.h"
#include "aws/client.h"
#include "aws/creds.h"
#include "aws/query.h"

#define BASE_KEYS "aws_access_key_id = " TEST_EC2SIM_ACCESS_KEY "\naws_secret_access_key = " TEST_EC2SIM_SECRET_KEY "\n"

typedef struct fixture {
        char dir[64];
        sd_event *event;
        http_client *http;
        test_server sim;
} fixture;

static int setup(void **state) {
        static const char *const vars[] = {
                "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "CREDENTIALS_DIRECTORY",
                "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_REGION", "AWS_DEFAULT_REGION",
        };
        fixture *f = calloc(1, sizeof(*f));
        char path[128];

        assert_non_null(f);
        for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                unsetenv(vars[i]);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-creds-role-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        setenv("HOME", f->dir, 1);
        snprintf(path, sizeof(path), "%s/.aws", f->dir);
        assert_int_equal(mkdir(path, 0700), 0);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_client_new(f->event, &f->http), 0);
        assert_int_equal(test_ec2sim_start(&f->sim), 0);
        setenv("AWS_ENDPOINT_URL_STS", f->sim.url, 1);
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
        free(f);
        return 0;
}

static void write_config(fixture *f, const char *text) {
        char path[128];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/.aws/config", f->dir);
        fp = fopen(path, "we");
        assert_non_null(fp);
        fputs(text, fp);
        assert_int_equal(fclose(fp), 0);
}

/* Resolves profile's chain and returns who its keys are (caller frees). */
static char *resolve_arn(fixture *f, const char *profile) {
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
        creds_options o = { .profile = profile };
        aws_error err = {};
        int r;

        assert_int_equal(creds_provider_new_chain(f->http, &o, &p), 0);
        r = creds_provider_get_sync(p, &c, &err);
        if (r < 0)
                print_error("%s: %s\n", profile, err.message);
        assert_int_equal(r, 0);
        assert_string_equal(creds_provider_source(p), "assume-role");
        return test_caller_arn(f->http, f->sim.url, p);
}

static char *resolve_error(fixture *f, const char *profile, int expect_r) {
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        creds_options o = { .profile = profile };
        aws_credentials *c = NULL;
        aws_error err = {};
        char *m;

        assert_int_equal(creds_provider_new_chain(f->http, &o, &p), 0);
        assert_int_equal(creds_provider_get_sync(p, &c, &err), expect_r);
        assert_null(strstr(err.message, TEST_EC2SIM_SECRET_KEY));
        m = TAKE_PTR(err.message);
        aws_error_done(&err);
        return m;
}

/* The parameters of the last AssumeRole ec2sim saw. */
static json_object *last_assume_role(fixture *f) {
        json_object *calls = NULL, *last, *params;

        assert_int_equal(test_ec2sim_admin(f->http, &f->sim, "GET", "/_sim/calls?action=AssumeRole", NULL, &calls), 0);
        if (json_object_is_type(calls, json_type_object))
                json_object_object_get_ex(calls, "calls", &last);
        else
                last = calls;
        assert_true(json_object_array_length(last) > 0);
        last = json_object_array_get_idx(last, json_object_array_length(last) - 1);
        assert_true(json_object_object_get_ex(last, "params", &params));
        json_object_get(params);
        json_object_put(calls);
        return params;
}

static const char *param(json_object *o, const char *name) {
        json_object *v;

        return json_object_object_get_ex(o, name, &v) ? json_object_get_string(v) : NULL;
}

static void test_role_on_source_profile(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *arn = NULL;
        json_object *params;

        write_config(f, "[profile base]\n" BASE_KEYS
                        "[profile ops]\nrole_arn = arn:aws:iam::444455556666:role/ops\nsource_profile = base\n"
                        "external_id = ext-1234\nrole_session_name = ops-session\nduration_seconds = 900\n");
        arn = resolve_arn(f, "ops");
        assert_string_equal(arn, "arn:aws:sts::444455556666:assumed-role/ops/ops-session");
        params = last_assume_role(f);
        assert_string_equal(param(params, "ExternalId"), "ext-1234");
        assert_string_equal(param(params, "DurationSeconds"), "900");
        json_object_put(params);
}

static size_t assume_role_calls(fixture *f) {
        json_object *calls = NULL, *list = NULL;
        size_t n;

        assert_int_equal(test_ec2sim_admin(f->http, &f->sim, "GET", "/_sim/calls?action=AssumeRole", NULL, &calls), 0);
        if (!json_object_is_type(calls, json_type_object) || !json_object_object_get_ex(calls, "calls", &list))
                list = calls;
        n = json_object_array_length(list);
        json_object_put(calls);
        return n;
}

/* After AuthFailure the client invalidates the chain: the role's keys must go too. */
static void test_role_invalidate_asks_sts_again(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        creds_options o = { .profile = "ops" };
        aws_credentials *c = NULL;

        write_config(f, "[profile base]\n" BASE_KEYS
                        "[profile ops]\nrole_arn = arn:aws:iam::444455556666:role/ops\nsource_profile = base\n");
        assert_int_equal(creds_provider_new_chain(f->http, &o, &p), 0);
        assert_int_equal(creds_provider_get_sync(p, &c, NULL), 0);
        c = aws_credentials_free(c);
        assert_int_equal(creds_provider_get_sync(p, &c, NULL), 0);
        c = aws_credentials_free(c);
        assert_int_equal(assume_role_calls(f), 1);
        creds_provider_invalidate(p);
        assert_int_equal(creds_provider_get_sync(p, &c, NULL), 0);
        aws_credentials_free(c);
        assert_int_equal(assume_role_calls(f), 2);
}

/* ops's source is a role itself, whose source is base: two AssumeRole calls, the second
 * signed with the first role's keys. */
static void test_role_chained_twice(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *arn = NULL;

        write_config(f, "[profile base]\n" BASE_KEYS
                        "[profile hub]\nrole_arn = arn:aws:iam::444455556666:role/hub\nsource_profile = base\n"
                        "[profile ops]\nrole_arn = arn:aws:iam::777788889999:role/ops\nsource_profile = hub\n"
                        "role_session_name = chained\n");
        arn = resolve_arn(f, "ops");
        assert_string_equal(arn, "arn:aws:sts::777788889999:assumed-role/ops/chained");
}

static void test_role_on_itself_and_credential_sources(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *a1 = NULL, *a2 = NULL, *a3 = NULL;
        char url[192];

        /* botocore: a profile that is its own source_profile uses its static keys. */
        write_config(f, "[profile self]\n" BASE_KEYS "role_arn = arn:aws:iam::444455556666:role/self\n"
                        "source_profile = self\nrole_session_name = s1\n"
                        "[profile env]\nrole_arn = arn:aws:iam::444455556666:role/env\n"
                        "credential_source = Environment\nrole_session_name = s2\n"
                        "[profile ecs]\nrole_arn = arn:aws:iam::444455556666:role/ecs\n"
                        "credential_source = EcsContainer\nrole_session_name = s3\n");
        a1 = resolve_arn(f, "self");
        assert_string_equal(a1, "arn:aws:sts::444455556666:assumed-role/self/s1");

        setenv("AWS_ACCESS_KEY_ID", TEST_EC2SIM_ACCESS_KEY, 1);
        setenv("AWS_SECRET_ACCESS_KEY", TEST_EC2SIM_SECRET_KEY, 1);
        a2 = resolve_arn(f, "env");
        assert_string_equal(a2, "arn:aws:sts::444455556666:assumed-role/env/s2");
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");

        snprintf(url, sizeof(url), "%s/v2/credentials/task", f->sim.url);
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
        a3 = resolve_arn(f, "ecs");
        assert_string_equal(a3, "arn:aws:sts::444455556666:assumed-role/ecs/s3");
        unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
}

static void test_role_refusals(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;

        write_config(f, "[profile a]\nrole_arn = arn:aws:iam::444455556666:role/a\nsource_profile = b\n"
                        "[profile b]\nrole_arn = arn:aws:iam::444455556666:role/b\nsource_profile = a\n"
                        "[profile bad]\nrole_arn = arn:aws:iam::444455556666:role/x\ncredential_source = Laptop\n"
                        "[profile nosrc]\nrole_arn = arn:aws:iam::444455556666:role/x\nsource_profile = missing\n"
                        "[profile env]\nrole_arn = arn:aws:iam::444455556666:role/x\ncredential_source = Environment\n");
        m1 = resolve_error(f, "a", -ELOOP);
        assert_non_null(strstr(m1, "circle"));
        m2 = resolve_error(f, "bad", -EINVAL);
        assert_non_null(strstr(m2, "credential_source 'Laptop'"));
        m3 = resolve_error(f, "nosrc", -ENOENT);
        assert_non_null(strstr(m3, "source_profile 'missing' does not exist"));
        m4 = resolve_error(f, "env", -ENOKEY);
        assert_non_null(strstr(m4, "credential_source Environment"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_role_on_source_profile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_role_chained_twice, setup, teardown),
                cmocka_unit_test_setup_teardown(test_role_invalidate_asks_sts_again, setup, teardown),
                cmocka_unit_test_setup_teardown(test_role_on_itself_and_credential_sources, setup, teardown),
                cmocka_unit_test_setup_teardown(test_role_refusals, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
