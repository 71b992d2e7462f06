/* SPDX-License-Identifier: MIT */
/*
 * credential_process: the JSON parser and the command-line splitter as tables
 * (the splitter against Python's shlex.split() answers), then the chain running
 * real commands from a profile: keys that sign for tests/ec2sim, a refresh that
 * runs the command again before Expiration, and failures that say what (exit
 * status and stderr's first line, an unclosed quote, a missing program, junk on
 * stdout) without a secret.
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

#define SECRET "process-SECRET-Pr0c-wJalrXUtnFEMI"

static void assert_contains(const char *haystack, const char *needle) {
        if (!haystack || !strstr(haystack, needle)) {
                print_error("'%s' not in '%s'\n", needle, haystack ?: "(null)");
                fail();
        }
}

/* ---- The parser and the splitter ------------------------------------------------------- */

static void test_parse_process_json(void **state) {
        static const struct {
                const char *json;
                int r;
                const char *token;
                time_t expiration;
                const char *message;
        } t[] = {
                { "{\"Version\": 1, \"AccessKeyId\": \"AKID\", \"SecretAccessKey\": \"" SECRET "\"}", 0, NULL, 0, NULL },
                { "{\"Version\": 1, \"AccessKeyId\": \"AKID\", \"SecretAccessKey\": \"" SECRET "\", "
                  "\"SessionToken\": \"tok\", \"Expiration\": \"2030-01-02T03:04:05Z\"}\n", 0, "tok", 1893553445, NULL },
                { "{\"Version\": 1, \"AccessKeyId\": \"AKID\", \"SecretAccessKey\": \"" SECRET "\", "
                  "\"SessionToken\": null, \"Expiration\": null}", 0, NULL, 0, NULL },
                { "{\"Version\": 1.0, \"AccessKeyId\": \"AKID\", \"SecretAccessKey\": \"" SECRET "\"}", 0, NULL, 0, NULL },
                { "{\"Version\": 2, \"AccessKeyId\": \"AKID\", \"SecretAccessKey\": \"" SECRET "\"}", -EBADMSG, NULL, 0, "Version" },
                { "{\"Version\": \"1\", \"AccessKeyId\": \"AKID\", \"SecretAccessKey\": \"" SECRET "\"}", -EBADMSG, NULL, 0, "Version" },
                { "{\"AccessKeyId\": \"AKID\", \"SecretAccessKey\": \"" SECRET "\"}", -EBADMSG, NULL, 0, "Version" },
                { "{\"Version\": 1, \"SecretAccessKey\": \"" SECRET "\"}", -EBADMSG, NULL, 0, "AccessKeyId" },
                { "{\"Version\": 1, \"AccessKeyId\": \"AKID\"}", -EBADMSG, NULL, 0, "SecretAccessKey" },
                { "{\"Version\": 1, \"AccessKeyId\": \"AKID\", \"SecretAccessKey\": \"" SECRET "\", \"SessionToken\": 5}",
                  -EBADMSG, NULL, 0, "SessionToken" },
                { "{\"Version\": 1, \"AccessKeyId\": \"AKID\", \"SecretAccessKey\": \"" SECRET "\", \"Expiration\": \"soon\"}",
                  -EBADMSG, NULL, 0, "Expiration" },
                { "{\"Version\": 1, \"AccessKeyId\": \"AKID\", \"SecretAccessKey\": \"" SECRET "\"} trailing",
                  -EBADMSG, NULL, 0, "after" },
                { "{\"Version\": 1, \"AccessKeyId\": \"AKID\", \"SecretAccessKey\": \"" SECRET, -EBADMSG, NULL, 0, "truncated" },
                { "[1]", -EBADMSG, NULL, 0, "object" },
                { "", -EBADMSG, NULL, 0, "JSON" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                aws_credentials *c = NULL;
                aws_error err = {};
                int r = creds_parse_process_json(t[i].json, strlen(t[i].json), &c, &err);

                if (r != t[i].r)
                        print_error("case %zu: %d, %s\n", i, r, err.message ?: "");
                assert_int_equal(r, t[i].r);
                if (r == 0) {
                        assert_string_equal(c->access_key_id, "AKID");
                        assert_string_equal(c->secret_access_key, SECRET);
                        if (t[i].token)
                                assert_string_equal(c->session_token, t[i].token);
                        else
                                assert_null(c->session_token);
                        assert_int_equal(c->expiration, t[i].expiration);
                } else {
                        assert_contains(err.message, t[i].message);
                        assert_null(strstr(err.message, SECRET));
                }
                aws_credentials_free(c);
                aws_error_done(&err);
        }
}

/* The expected words are what Python 3.11's shlex.split() answers for each line. */
static void test_process_split_like_shlex(void **state) {
        static const struct {
                const char *line;
                int r;
                const char *words[6];
        } t[] = {
                { "/usr/bin/helper credential-process --role arn:x", 0, { "/usr/bin/helper", "credential-process", "--role", "arn:x" } },
                { "  a\t b\n", 0, { "a", "b" } },
                { "'/opt/my tools/helper' x", 0, { "/opt/my tools/helper", "x" } },
                { "\"a \\\"q\\\" \\\\ \\n\"", 0, { "a \"q\" \\ \\n" } },
                { "a\\ b c\\d", 0, { "a b", "cd" } },
                { "'' \"\" x", 0, { "", "", "x" } },
                { "a'b'\"c\"d", 0, { "abcd" } },
                { "x # not a comment", 0, { "x", "#", "not", "a", "comment" } },
                { "'unclosed", -EINVAL, {} },
                { "\"unclosed", -EINVAL, {} },
                { "trailing\\", -EINVAL, {} },
                { "   ", -ENOENT, {} },
                { "", -ENOENT, {} },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(strv_freep) char **argv = NULL;
                size_t n = 0;
                int r = creds_process_split(t[i].line, &argv);

                if (r != t[i].r)
                        print_error("case %zu '%s': %d\n", i, t[i].line, r);
                assert_int_equal(r, t[i].r);
                if (r < 0)
                        continue;
                for (; t[i].words[n]; n++)
                        assert_string_equal(argv[n], t[i].words[n]);
                assert_null(argv[n]);
        }
}

/* ---- The chain running commands ------------------------------------------------------ */

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
        };
        fixture *f = calloc(1, sizeof(*f));
        char home[128];

        assert_non_null(f);
        for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                unsetenv(vars[i]);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-creds-process-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(home, sizeof(home), "%s/.aws", f->dir);
        assert_int_equal(mkdir(home, 0700), 0);
        setenv("HOME", f->dir, 1);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_client_new(f->event, &f->http), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        test_server_stop(&f->sim);
        http_client_free(f->http);
        sd_event_unref(f->event);
        test_remove_tree(f->dir);
        free(f);
        return 0;
}

/* dir/name, executable, holding script; and ~/.aws/config's [default] running it with args. */
static void write_process(fixture *f, const char *name, const char *script, const char *args) {
        char path[256], config[512];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", f->dir, name);
        fp = fopen(path, "we");
        assert_non_null(fp);
        fprintf(fp, "#!/bin/sh\n%s\n", script);
        assert_int_equal(fclose(fp), 0);
        assert_int_equal(chmod(path, 0755), 0);

        snprintf(config, sizeof(config), "%s/.aws/config", f->dir);
        fp = fopen(config, "we");
        assert_non_null(fp);
        fprintf(fp, "[default]\nregion = us-east-1\ncredential_process = %s %s\n", path, args ?: "");
        assert_int_equal(fclose(fp), 0);
}

/* expect_r 0: any error. */
static char *resolve_error(fixture *f, int expect_r) {
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        aws_credentials *c = NULL;
        aws_error err = {};
        char *m;
        int r;

        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        r = creds_provider_get_sync(p, &c, &err);
        assert_true(r < 0);
        if (expect_r < 0)
                assert_int_equal(r, expect_r);
        assert_null(c);
        assert_non_null(err.message);
        assert_null(strstr(err.message, SECRET));
        m = TAKE_PTR(err.message);
        aws_error_done(&err);
        return m;
}

/* The keys the command prints are ec2sim's own: GetCallerIdentity proves they sign. */
static void test_process_keys_sign_for_ec2sim(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
        _cleanup_(aws_client_freep) aws_client *sts = NULL;
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(freep) char *arn = NULL;
        aws_client_options co = { .service = "sts", .region = "us-east-1" };
        aws_query *q = NULL;
        aws_error err = {};

        assert_int_equal(test_ec2sim_start(&f->sim), 0);
        /* Arguments with a blank survive the split; the command gets them as one word. */
        write_process(f, "helper",
                      "[ \"$1\" = 'two words' ] || exit 9\n"
                      "echo '{\"Version\": 1, \"AccessKeyId\": \"" TEST_EC2SIM_ACCESS_KEY "\", "
                      "\"SecretAccessKey\": \"" TEST_EC2SIM_SECRET_KEY "\"}'",
                      "'two words'");
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        assert_int_equal(creds_provider_get_sync(p, &c, &err), 0);
        assert_string_equal(creds_provider_source(p), "custom-process");
        assert_string_equal(c->access_key_id, TEST_EC2SIM_ACCESS_KEY);
        assert_int_equal(c->expiration, 0);

        co.endpoint_url = f->sim.url;
        assert_int_equal(aws_client_new(f->http, p, &co, &sts), 0);
        assert_int_equal(aws_query_new("GetCallerIdentity", &q), 0);
        assert_int_equal(aws_client_call_sync(sts, q, &doc, &err), 0);
        assert_int_equal(xml_child_text(xmlDocGetRootElement(doc), "GetCallerIdentityResult/Account", &arn), 0);
        assert_string_equal(arn, "111122223333");
}

/* Keys with an Expiration are fetched again 5 minutes before it: the command runs again. */
static void test_process_refresh_before_expiry(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        aws_credentials *c = NULL;
        char script[512];

        snprintf(script, sizeof(script),
                 "n=$(cat %s/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s/count\n"
                 "echo \"{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"AKIDRUN$n\\\", \\\"SecretAccessKey\\\": "
                 "\\\"" SECRET "\\\", \\\"SessionToken\\\": \\\"t\\\", \\\"Expiration\\\": \\\"2030-01-01T01:00:00Z\\\"}\"",
                 f->dir, f->dir);
        write_process(f, "counter", script, NULL);
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        creds_provider_set_clock(p, fake_clock, NULL);

        fake_now = 1893456000;                          /* 2030-01-01T00:00:00Z */
        assert_int_equal(creds_provider_get_sync(p, &c, NULL), 0);
        assert_string_equal(c->access_key_id, "AKIDRUN1");
        c = aws_credentials_free(c);

        fake_now += 30 * 60;                            /* 30 minutes left: the cache answers */
        assert_int_equal(creds_provider_get_sync(p, &c, NULL), 0);
        assert_string_equal(c->access_key_id, "AKIDRUN1");
        c = aws_credentials_free(c);

        fake_now += 26 * 60;                            /* 4 minutes left: run again */
        assert_int_equal(creds_provider_get_sync(p, &c, NULL), 0);
        assert_string_equal(c->access_key_id, "AKIDRUN2");
        aws_credentials_free(c);
}

static void test_process_failures_say_what(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL, *m5 = NULL;

        /* A failure: the status and the first line of stderr; stdout (which may hold keys) never. */
        write_process(f, "fails",
                      "echo '{\"SecretAccessKey\": \"" SECRET "\"}'\n"
                      "echo 'Error: no certificate' >&2; echo '" SECRET "' >&2; exit 3", NULL);
        m1 = resolve_error(f, -EIO);
        assert_contains(m1, "credential_process of profile 'default'");
        assert_contains(m1, "exited with status 3: Error: no certificate");

        write_process(f, "junk", "echo 'not json " SECRET "'", NULL);
        m2 = resolve_error(f, -EBADMSG);
        assert_contains(m2, "not valid JSON");

        write_process(f, "quote", "true", "'unclosed");
        m3 = resolve_error(f, -EINVAL);
        assert_contains(m3, "unclosed quote");

        write_process(f, "killed", "kill -9 $$", NULL);
        m4 = resolve_error(f, -EIO);
        assert_contains(m4, "killed by signal KILL");

        write_process(f, "x", "true", NULL);
        assert_int_equal(unlink(strcat(strcpy((char[128]) {}, f->dir), "/x")), 0);
        /* posix_spawnp() says ENOENT; under valgrind, whose spawn cannot, the child exits 127. */
        m5 = resolve_error(f, 0);
        if (!strstr(m5, "exited with status 127"))
                assert_contains(m5, "cannot run");
}

/* The get returns at once; the answer comes from the loop once the command is done. */
static void test_process_never_blocks_the_loop(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        aws_credentials *c = NULL;
        usec_t start;

        write_process(f, "slow", "sleep 1; echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDSLOW\", "
                      "\"SecretAccessKey\": \"" SECRET "\"}'", NULL);
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        start = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(creds_provider_get(p, creds_sync_callback, &(creds_sync) {}, NULL), 0);
        assert_true(now_usec(CLOCK_MONOTONIC) - start < 500 * USEC_PER_MSEC);
        /* Freed while the command runs: killed and reaped, no callback. */
        p = creds_provider_free(p);
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        assert_int_equal(creds_provider_get_sync(p, &c, NULL), 0);
        assert_string_equal(c->access_key_id, "AKIDSLOW");
        aws_credentials_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_process_json),
                cmocka_unit_test(test_process_split_like_shlex),
                cmocka_unit_test_setup_teardown(test_process_keys_sign_for_ec2sim, setup, teardown),
                cmocka_unit_test_setup_teardown(test_process_refresh_before_expiry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_process_failures_say_what, setup, teardown),
                cmocka_unit_test_setup_teardown(test_process_never_blocks_the_loop, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
