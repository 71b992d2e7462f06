/* SPDX-License-Identifier: MIT */
/*
 * The credential provider: the INI and IMDS JSON parsers as tables, the order of
 * the chain with each source present (environment and files set up inside each
 * test, everything else unset), the errors (naming what is missing, never a
 * secret), and IMDSv2 against tests/unit/imds-server.py: success, misbehaviour,
 * a server that never answers, expiry and refresh on a fake clock, and one
 * resolution for many concurrent gets; STS AssumeRole against tests/ec2sim.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "aws-sync.h"
#include "aws/client.h"
#include "aws/creds.h"
#include "aws/creds-internal.h"
#include "aws/http.h"
#include "aws/query.h"

/* Every secret this file hands to the provider: none may appear in an error. */
static const char *const secrets[] = {
        "explicit-secret-Xq1", "explicit-token-Xq1",
        "env-secret-Ev2", "env-token-Ev2",
        "systemd-secret-Sd3",
        "credfile-secret-Cf4", "credfile-secret-prod-Cf5", "credfile-token-Cf6",
        "config-secret-Cg7", "config-secret-prod-Cg8",
        "half-secret-Hs9",
        "imds-secret-", "imds-token-",
};

static void assert_no_secret(const char *message) {
        assert_non_null(message);
        for (size_t i = 0; i < ELEMENTSOF(secrets); i++)
                if (strstr(message, secrets[i])) {
                        print_error("secret '%s' in message: %s\n", secrets[i], message);
                        fail();
                }
}

/* ---- Fixture: a temp dir as $HOME, a clean environment, an http client ----------------- */

static const char *const env_vars[] = {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
        "CREDENTIALS_DIRECTORY", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE", "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
};

typedef struct fixture {
        char dir[64];
        char home[128];
        sd_event *event;
        http_client *http;
        pid_t imds_pid;
        char imds_url[64];
        pid_t sim_pid;
        char sim_url[64];
        time_t now;             /* the provider's clock when set_clock() is used */
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        for (size_t i = 0; i < ELEMENTSOF(env_vars); i++)
                unsetenv(env_vars[i]);
        /* No test may reach a real instance metadata service by accident. */
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        setenv("no_proxy", "127.0.0.1,localhost", 1);
        setenv("NO_PROXY", "127.0.0.1,localhost", 1);

        snprintf(f->dir, sizeof(f->dir), "/tmp/test-creds-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->home, sizeof(f->home), "%s/home", f->dir);
        assert_int_equal(mkdir(f->home, 0700), 0);
        setenv("HOME", f->home, 1);

        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_client_new(f->event, &f->http), 0);
        *state = f;
        return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(path);
}

static int teardown(void **state) {
        fixture *f = *state;

        if (f->imds_pid > 0) {
                kill(f->imds_pid, SIGTERM);
                waitpid(f->imds_pid, NULL, 0);
        }
        if (f->sim_pid > 0) {
                kill(f->sim_pid, SIGTERM);
                waitpid(f->sim_pid, NULL, 0);
        }
        http_client_free(f->http);
        sd_event_unref(f->event);
        nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

/* Writes dir/relpath (creating one level of directory) and returns the full path. */
static const char *write_file(fixture *f, const char *relpath, const char *content) {
        static char path[256];
        char parent[256];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", f->dir, relpath);
        snprintf(parent, sizeof(parent), "%s", path);
        *strrchr(parent, '/') = 0;
        (void) mkdir(parent, 0700);
        fp = fopen(path, "we");
        assert_non_null(fp);
        assert_int_equal(fputs(content, fp) >= 0, true);
        assert_int_equal(fclose(fp), 0);
        return path;
}

static const char *home_path(fixture *f, const char *rel) {
        static char path[256];

        snprintf(path, sizeof(path), "%s/%s", f->home, rel);
        return path;
}

static time_t fixture_clock(void *userdata) {
        return ((fixture *) userdata)->now;
}

/* Runs the chain once: 0 with *ret and *ret_source, or <0 with err (checked for secrets). */
static int resolve(fixture *f, const creds_options *o, aws_credentials **ret, aws_error *err,
                   const char **ret_source) {
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        int r;

        assert_int_equal(creds_provider_new_chain(f->http, o, &p), 0);
        assert_null(creds_provider_source(p));
        r = creds_provider_get_sync(p, ret, err);
        if (r < 0) {
                assert_no_secret(err->message);
                assert_null(creds_provider_source(p));
        } else if (ret_source)
                *ret_source = creds_provider_source(p);
        return r;
}

static void assert_resolves_to(fixture *f, const creds_options *o, const char *source, const char *id,
                               const char *secret, const char *token) {
        _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
        aws_error err = {};
        const char *got = NULL;
        int r;

        r = resolve(f, o, &c, &err, &got);
        if (r < 0)
                print_error("unexpected error %d: %s\n", r, err.message);
        assert_int_equal(r, 0);
        assert_string_equal(got, source);
        assert_string_equal(c->access_key_id, id);
        assert_string_equal(c->secret_access_key, secret);
        if (token)
                assert_string_equal(c->session_token, token);
        else
                assert_null(c->session_token);
        aws_error_done(&err);
}

/* The error message of a failing resolution (caller frees); r must match. */
static char *resolve_error(fixture *f, const creds_options *o, int expect_r) {
        aws_credentials *c = NULL;
        aws_error err = {};
        char *m;
        int r;

        r = resolve(f, o, &c, &err, NULL);
        if (r >= 0)
                print_error("resolved unexpectedly from %s\n", c->access_key_id);
        assert_int_equal(r, expect_r);
        assert_null(c);
        assert_null(err.code);
        m = TAKE_PTR(err.message);
        aws_error_done(&err);
        return m;
}

static void assert_contains(const char *haystack, const char *needle) {
        if (!strstr(haystack, needle)) {
                print_error("'%s' not in '%s'\n", needle, haystack);
                fail();
        }
}

/* The usual files: both shared files with [default] and a profile "prod". */
static void write_shared_files(fixture *f) {
        write_file(f, "home/.aws/credentials",
                   "[default]\n"
                   "aws_access_key_id = AKIDCREDFILE\n"
                   "aws_secret_access_key = credfile-secret-Cf4\n"
                   "[prod]\n"
                   "aws_access_key_id = AKIDCREDPROD\n"
                   "aws_secret_access_key = credfile-secret-prod-Cf5\n"
                   "aws_session_token = credfile-token-Cf6\n");
        write_file(f, "home/.aws/config",
                   "[default]\n"
                   "region = us-east-1\n"
                   "aws_access_key_id = AKIDCONFIG\n"
                   "aws_secret_access_key = config-secret-Cg7\n"
                   "[profile staging]\n"
                   "aws_access_key_id = AKIDCONFIGSTAGING\n"
                   "aws_secret_access_key = config-secret-prod-Cg8\n");
}

static void write_systemd_credentials(fixture *f) {
        char dir[256];

        write_file(f, "creds/aws-credentials",
                   "[default]\naws_access_key_id=AKIDSYSTEMD\naws_secret_access_key=systemd-secret-Sd3\n");
        snprintf(dir, sizeof(dir), "%s/creds", f->dir);
        setenv("CREDENTIALS_DIRECTORY", dir, 1);
}

static void set_env_keys(void) {
        setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "env-secret-Ev2", 1);
        setenv("AWS_SESSION_TOKEN", "env-token-Ev2", 1);
}

/* ---- The INI parser -------------------------------------------------------------------- */

static void test_parse_ini_table(void **state) {
        static const struct {
                const char *name, *text;
                size_t size;            /* 0: strlen(text) */
                const char *section;
                int r;
                const char *id, *secret, *token;
        } cases[] = {
                { "plain", "[default]\naws_access_key_id = A1\naws_secret_access_key = S1\n", 0,
                  "default", 0, "A1", "S1", NULL },
                { "CRLF, no final newline",
                  "[default]\r\naws_access_key_id=A2\r\naws_secret_access_key=S2", 0, "default", 0, "A2", "S2", NULL },
                { "blanks around everything, key case, ':'",
                  "  [ default ]  \n\tAWS_Access_Key_ID\t=\t A3  \n aws_secret_access_key :S3 \r\n", 0,
                  "default", 0, "A3", "S3", NULL },
                { "comments and junk lines are skipped",
                  "# comment\n; another\n[default]\nthis line is junk\n# aws_access_key_id = NOPE\n"
                  "aws_access_key_id = A4\n[broken\n=novalue\n  ; indented comment\naws_secret_access_key = S4\n", 0,
                  "default", 0, "A4", "S4", NULL },
                { "a comment after a header", "[default] ; main\naws_access_key_id=A5\naws_secret_access_key=S5\n", 0,
                  "default", 0, "A5", "S5", NULL },
                { "credentials-file profile",
                  "[default]\naws_access_key_id=AD\naws_secret_access_key=SD\n"
                  "[prod]\naws_access_key_id=AP\naws_secret_access_key=SP\naws_session_token=TP\n", 0,
                  "prod", 0, "AP", "SP", "TP" },
                { "config-file profile",
                  "[default]\nregion=us-east-1\n[profile prod]\naws_access_key_id=AC\n"
                  "aws_secret_access_key=SC\naws_session_token=TC\n", 0,
                  "profile prod", 0, "AC", "SC", "TC" },
                { "config-file profile, blanks and quotes",
                  "[profile   \"prod\"  ]\naws_access_key_id=AQ\naws_secret_access_key=SQ\n", 0,
                  "profile prod", 0, "AQ", "SQ", NULL },
                { "config-file name without 'profile'", "[prod]\naws_access_key_id=A\naws_secret_access_key=S\n", 0,
                  "profile prod", -ENOENT },
                { "credentials-file name with 'profile'",
                  "[profile prod]\naws_access_key_id=A\naws_secret_access_key=S\n", 0, "prod", -ENOENT },
                { "'profilex' is not a profile header",
                  "[profilexprod]\naws_access_key_id=A\naws_secret_access_key=S\n", 0, "profile xprod", -ENOENT },
                { "section names are case-sensitive", "[Default]\naws_access_key_id=A\naws_secret_access_key=S\n", 0,
                  "default", -ENOENT },
                { "missing section", "[other]\naws_access_key_id=A\naws_secret_access_key=S\n", 0, "default", -ENOENT },
                { "section without keys", "[default]\nregion = us-east-1\noutput=json\n", 0, "default", -ENOENT },
                { "keys before any section", "aws_access_key_id=A\naws_secret_access_key=S\n[default]\n", 0,
                  "default", -ENOENT },
                { "keys of the next section do not count",
                  "[default]\naws_access_key_id=A\n[other]\naws_secret_access_key=S\n", 0, "default", -EINVAL },
                { "a key id without secret", "[default]\naws_access_key_id=A\n", 0, "default", -EINVAL },
                { "a secret without key id", "[default]\naws_secret_access_key=S\n", 0, "default", -EINVAL },
                { "an empty value unsets", "[default]\naws_access_key_id=A\naws_access_key_id =\naws_secret_access_key=S\n",
                  0, "default", -EINVAL },
                { "repeated section and key: the later wins",
                  "[default]\naws_access_key_id=OLD\naws_secret_access_key=S6\n[other]\naws_access_key_id=X\n"
                  "[default]\naws_access_key_id=NEW\n", 0, "default", 0, "NEW", "S6", NULL },
                { "'=' and ':' inside the value", "[default]\naws_access_key_id=A7\naws_secret_access_key = a=b:c/d+e\n",
                  0, "default", 0, "A7", "a=b:c/d+e", NULL },
                { "legacy aws_security_token",
                  "[default]\naws_access_key_id=A8\naws_secret_access_key=S8\naws_security_token=T8\n", 0,
                  "default", 0, "A8", "S8", "T8" },
                { "aws_session_token wins over aws_security_token",
                  "[default]\naws_security_token=OLD\naws_session_token=T9\naws_access_key_id=A9\naws_secret_access_key=S9\n",
                  0, "default", 0, "A9", "S9", "T9" },
                { "a NUL byte makes its line junk",
                  "[default]\naws_access_key_id=A10\naws_secret_access_key=BAD\0X\naws_secret_access_key=S10\n",
                  sizeof("[default]\naws_access_key_id=A10\naws_secret_access_key=BAD\0X\naws_secret_access_key=S10\n") - 1,
                  "default", 0, "A10", "S10", NULL },
                { "text ends at size, not at NUL", "[default]\naws_access_key_id=A11\naws_secret_access_key=S11xyz",
                  sizeof("[default]\naws_access_key_id=A11\naws_secret_access_key=S11") - 1,
                  "default", 0, "A11", "S11", NULL },
                { "empty", "", 0, "default", -ENOENT },
                { "only junk", "\n\n\r\n]][[\n=\n:\n", 0, "default", -ENOENT },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
                size_t size = cases[i].size ?: strlen(cases[i].text);
                int r;

                r = creds_parse_ini(cases[i].text, size, cases[i].section, &c);
                if (r != cases[i].r)
                        print_error("case '%s': got %d, want %d\n", cases[i].name, r, cases[i].r);
                assert_int_equal(r, cases[i].r);
                if (r < 0) {
                        assert_null(c);
                        continue;
                }
                assert_string_equal(c->access_key_id, cases[i].id);
                assert_string_equal(c->secret_access_key, cases[i].secret);
                if (cases[i].token)
                        assert_string_equal(c->session_token, cases[i].token);
                else
                        assert_null(c->session_token);
                assert_int_equal(c->expiration, 0);
        }
}

/* ---- STS's and IMDS's other answers (cases found by fuzz-sts; see tests/fuzz/corpus) ------- */

static int sts_parse(const char *xml, aws_credentials **ret, aws_error *err) {
        xmlDoc *doc = NULL;
        int r;

        assert_int_equal(aws_response_parse(xml, strlen(xml), 200, NULL, &doc, err), 0);
        r = creds_sts_parse(doc, "AssumeRole", ret, err);
        xmlFreeDoc(doc);
        return r;
}

static void test_sts_parse_expiration(void **state) {
        static const char good[] =
                "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId>"
                "<SecretAccessKey>S</SecretAccessKey><SessionToken>T</SessionToken>"
                "<Expiration>2026-11-26T18:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>";
        static const char *const bad[] = { "0892-12-01T13:00:00Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z" };

        (void) state;
        for (size_t i = 0; i <= ELEMENTSOF(bad); i++) {
                _cleanup_(freep) char *xml = strdup(good);
                _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
                aws_error err = {};

                if (i < ELEMENTSOF(bad))
                        memcpy(strstr(xml, "2026-11-26T18:00:00Z"), bad[i], strlen(bad[i]));
                if (i == ELEMENTSOF(bad)) {
                        assert_int_equal(sts_parse(xml, &c, &err), 0);
                        assert_int_equal(c->expiration, 1795716000);
                } else {
                        assert_int_equal(sts_parse(xml, &c, &err), -EBADMSG);
                        assert_contains(err.message, "Expiration");
                }
                aws_error_done(&err);
        }
}

static void test_imds_token_and_role(void **state) {
        char *v = NULL;
        const char *why = NULL;

        (void) state;
        assert_int_equal(creds_imds_parse_token("AQAEAHk5ZXhh==\r\n", 16, &v, &why), 0);
        assert_string_equal(v, "AQAEAHk5ZXhh==");
        v = mfree(v);
        assert_int_equal(creds_imds_parse_token("a b", 3, &v, &why), -EBADMSG);
        assert_int_equal(creds_imds_parse_token("ab\0", 3, &v, &why), -EBADMSG);
        assert_int_equal(creds_imds_parse_token(" \n", 2, &v, &why), -EBADMSG);
        assert_null(v);
        assert_int_equal(creds_imds_parse_role("amirotd-role\nother\n", 19, &v, &why), 0);
        assert_string_equal(v, "amirotd-role");
        v = mfree(v);
        /* not NUL-terminated: the role ends at the body's end */
        assert_int_equal(creds_imds_parse_role("role-xyz", 4, &v, &why), 0);
        assert_string_equal(v, "role");
        v = mfree(v);
        assert_int_equal(creds_imds_parse_role("  \n", 3, &v, &why), -ENOENT);
        assert_int_equal(creds_imds_parse_role("../../latest/user-data", 22, &v, &why), -EBADMSG);
        assert_null(v);
}

/* ---- The IMDS JSON parser -------------------------------------------------------------- */

static void test_parse_imds_json_table(void **state) {
        static const struct {
                const char *name, *text;
                int r;
                const char *message, *code;
        } cases[] = {
                { "complete",
                  "{\"Code\":\"Success\",\"LastUpdated\":\"2026-11-26T12:00:00Z\",\"Type\":\"AWS-HMAC\","
                  "\"AccessKeyId\":\"ASIAJSON\",\"SecretAccessKey\":\"imds-secret-json\",\"Token\":\"imds-token-json\","
                  "\"Expiration\":\"2026-11-26T18:00:00Z\"}\n", 0 },
                { "not Success",
                  "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"no\"}", -EREMOTEIO,
                  "did not return", "AssumeRoleUnauthorizedAccess" },
                { "no Token", "{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"imds-secret-x\","
                  "\"Expiration\":\"2026-11-26T18:00:00Z\"}", -EBADMSG, "'Token'" },
                { "a number for a key", "{\"AccessKeyId\":5,\"SecretAccessKey\":\"imds-secret-x\",\"Token\":\"imds-token-x\","
                  "\"Expiration\":\"2026-11-26T18:00:00Z\"}", -EBADMSG, "'AccessKeyId'" },
                { "bad Expiration", "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"imds-secret-x\",\"Token\":\"imds-token-x\","
                  "\"Expiration\":\"tomorrow\"}", -EBADMSG, "Expiration" },
                /* 0 would mean "never expires", before 1970 "refresh at every request" */
                { "Expiration at the epoch", "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"imds-secret-x\","
                  "\"Token\":\"imds-token-x\",\"Expiration\":\"1970-01-01T00:00:00Z\"}", -EBADMSG, "Expiration" },
                { "Expiration before 1970", "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"imds-secret-x\","
                  "\"Token\":\"imds-token-x\",\"Expiration\":\"0892-12-01T13:00:00Z\"}", -EBADMSG, "Expiration" },
                { "truncated", "{\"Code\":\"Success\",\"AccessKeyId\":\"A", -EBADMSG, "truncated" },
                { "not an object", "[\"imds-secret-x\"]", -EBADMSG, "not a JSON object" },
                { "trailing data", "{\"Code\":\"Success\"} {", -EBADMSG, "after the JSON" },
                { "HTML", "<html>imds-secret-x</html>", -EBADMSG, "not valid JSON" },
                { "empty", "", -EBADMSG, "truncated" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
                aws_error err = {};
                int r;

                r = creds_parse_imds_json(cases[i].text, strlen(cases[i].text), &c, &err);
                if (r != cases[i].r)
                        print_error("case '%s': got %d (%s)\n", cases[i].name, r, err.message ?: "");
                assert_int_equal(r, cases[i].r);
                if (r == 0) {
                        assert_string_equal(c->access_key_id, "ASIAJSON");
                        assert_string_equal(c->secret_access_key, "imds-secret-json");
                        assert_string_equal(c->session_token, "imds-token-json");
                        assert_int_equal(c->expiration, 1795716000);    /* 2026-11-26T18:00:00Z */
                        continue;
                }
                assert_null(c);
                assert_no_secret(err.message);
                assert_contains(err.message, cases[i].message);
                if (cases[i].code)
                        assert_string_equal(err.code, cases[i].code);
                else
                        assert_null(err.code);
                aws_error_done(&err);
        }
}

/* ---- AssumeRole parameters ------------------------------------------------------------- */

static void test_assume_role_check(void **state) {
        char long_name[80];

        (void) state;
        assert_null(creds_assume_role_check("arn:aws:iam::123456789012:role/amirotd", NULL, NULL, 0));
        assert_null(creds_assume_role_check("arn:aws-cn:iam::123456789012:role/path/to/amirotd", "ab", "ab", 900));
        assert_null(creds_assume_role_check("arn:aws-us-gov:iam::123456789012:role/a+b=c,d.e@f-g_h",
                                            "amirotd-123", "ext:id/with-slash", 43200));

        static const char *const bad_arns[] = {
                "arn:aws:iam::12345678901:role/x",              /* 11 digits */
                "arn:aws:iam::1234567890123:role/x",            /* 13 digits */
                "arn:aws:iam::123456789012:user/x",
                "arn:aws:s3:::bucket",
                "arn:aws-nope:iam::123456789012:role/x",       /* no such partition (aws-iso is one since issue 18) */
                "arn:aws:iam:us-east-1:123456789012:role/x",
                "arn:aws:iam::123456789012:role/",
                "arn:aws:iam::123456789012:role/a//b",
                "arn:aws:iam::123456789012:role/bad name",
                "arn:aws:iam::123456789012:role/x/",
                "arn:aws:iam::12345678901a:role/x",
                "",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad_arns); i++) {
                const char *m = creds_assume_role_check(bad_arns[i], NULL, NULL, 0);

                if (!m)
                        print_error("'%s' accepted\n", bad_arns[i]);
                assert_non_null(m);
                assert_contains(m, "role_arn");
        }
        assert_non_null(creds_assume_role_check(NULL, NULL, NULL, 0));

        memset(long_name, 'r', 65);
        long_name[65] = 0;
        {
                char arn[128];

                snprintf(arn, sizeof(arn), "arn:aws:iam::123456789012:role/%s", long_name);
                assert_non_null(creds_assume_role_check(arn, NULL, NULL, 0));
                long_name[64] = 0;
                snprintf(arn, sizeof(arn), "arn:aws:iam::123456789012:role/%s", long_name);
                assert_null(creds_assume_role_check(arn, NULL, NULL, 0));
        }

#define ARN "arn:aws:iam::123456789012:role/amirotd"
        assert_contains(creds_assume_role_check(ARN, "a", NULL, 0), "session name");
        assert_contains(creds_assume_role_check(ARN, "bad/name", NULL, 0), "session name");
#undef ARN
}

static void test_assume_role_check_limits(void **state) {
        const char *arn = "arn:aws:iam::123456789012:role/amirotd";
        char name[70];

        (void) state;
        memset(name, 's', sizeof(name));
        name[64] = 0;
        assert_null(creds_assume_role_check(arn, name, NULL, 0));
        name[64] = 's';
        name[65] = 0;
        assert_contains(creds_assume_role_check(arn, name, NULL, 0), "session name");

        assert_contains(creds_assume_role_check(arn, NULL, "x", 0), "external_id");
        assert_contains(creds_assume_role_check(arn, NULL, "bad id", 0), "external_id");
        assert_contains(creds_assume_role_check(arn, NULL, NULL, 899), "duration");
        assert_contains(creds_assume_role_check(arn, NULL, NULL, 43201), "duration");
        assert_null(creds_assume_role_check(arn, NULL, NULL, 3600));
}

/* ---- The chain's order ----------------------------------------------------------------- */

static void test_chain_explicit_first(void **state) {
        fixture *f = *state;
        creds_options o = {
                .access_key_id = "AKIDEXPLICIT",
                .secret_access_key = "explicit-secret-Xq1",
                .session_token = "explicit-token-Xq1",
        };

        set_env_keys();
        write_systemd_credentials(f);
        write_shared_files(f);
        assert_resolves_to(f, &o, "explicit", "AKIDEXPLICIT", "explicit-secret-Xq1", "explicit-token-Xq1");
}

static void test_chain_environment_second(void **state) {
        fixture *f = *state;

        set_env_keys();
        write_systemd_credentials(f);
        write_shared_files(f);
        assert_resolves_to(f, NULL, "environment", "AKIDENV", "env-secret-Ev2", "env-token-Ev2");

        /* The session token is optional; an empty variable counts as unset. */
        setenv("AWS_SESSION_TOKEN", "", 1);
        assert_resolves_to(f, NULL, "environment", "AKIDENV", "env-secret-Ev2", NULL);
}

static void test_chain_environment_half_a_pair(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
        creds_options half = { .access_key_id = "AKIDEXPLICIT" };
        creds_options half_secret = { .secret_access_key = "explicit-secret-Xq1" };

        /* Files with good keys are there, but half an environment pair is an error, not a fallthrough. */
        write_shared_files(f);

        setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
        m1 = resolve_error(f, NULL, -EINVAL);
        assert_string_equal(m1, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");

        unsetenv("AWS_ACCESS_KEY_ID");
        setenv("AWS_SECRET_ACCESS_KEY", "env-secret-Ev2", 1);
        setenv("AWS_SESSION_TOKEN", "env-token-Ev2", 1);
        m2 = resolve_error(f, NULL, -EINVAL);
        assert_string_equal(m2, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");

        unsetenv("AWS_SECRET_ACCESS_KEY");
        m3 = resolve_error(f, &half, -EINVAL);
        assert_contains(m3, "no secret access key");
        m4 = resolve_error(f, &half_secret, -EINVAL);
        assert_contains(m4, "no access key id");
}

static void test_chain_systemd_third(void **state) {
        fixture *f = *state;

        write_systemd_credentials(f);
        write_shared_files(f);
        assert_resolves_to(f, NULL, "systemd-credentials", "AKIDSYSTEMD", "systemd-secret-Sd3", NULL);
}

static void test_chain_systemd_without_the_profile(void **state) {
        fixture *f = *state;

        /* The systemd credential has [default] only; profile prod comes from the shared file. */
        write_systemd_credentials(f);
        write_shared_files(f);
        setenv("AWS_PROFILE", "prod", 1);
        assert_resolves_to(f, NULL, "shared-credentials-file", "AKIDCREDPROD", "credfile-secret-prod-Cf5",
                           "credfile-token-Cf6");
}

static void test_chain_credentials_file_before_config(void **state) {
        fixture *f = *state;

        write_shared_files(f);
        assert_resolves_to(f, NULL, "shared-credentials-file", "AKIDCREDFILE", "credfile-secret-Cf4", NULL);
}

/* The configuration's credentials_file: after the systemd credential (the same file, passed in
 * by LoadCredential=), before ~/.aws; missing is skipped unless the key named it. */
static void test_chain_configured_credentials_file(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *missing = NULL, *e = NULL;
        creds_options o = {};

        write_shared_files(f);
        o.credentials_file = write_file(f, "etc/aws-credentials",
                                        "[default]\naws_access_key_id=AKIDETC\naws_secret_access_key=etc-secret-Et1\n");
        assert_resolves_to(f, &o, "credentials-file", "AKIDETC", "etc-secret-Et1", NULL);

        write_systemd_credentials(f);
        assert_resolves_to(f, &o, "systemd-credentials", "AKIDSYSTEMD", "systemd-secret-Sd3", NULL);
        unsetenv("CREDENTIALS_DIRECTORY");

        assert_true(asprintf(&missing, "%s/etc/none", f->dir) > 0);
        o.credentials_file = missing;
        assert_resolves_to(f, &o, "shared-credentials-file", "AKIDCREDFILE", "credfile-secret-Cf4", NULL);

        o.credentials_file_named = true;
        e = resolve_error(f, &o, -ENOENT);
        assert_non_null(strstr(e, "credentials_file '"));
        assert_non_null(strstr(e, "/etc/none' cannot be read: No such file or directory"));
}

static void test_chain_config_file(void **state) {
        fixture *f = *state;

        write_shared_files(f);
        assert_int_equal(unlink(home_path(f, ".aws/credentials")), 0);
        assert_resolves_to(f, NULL, "shared-config-file", "AKIDCONFIG", "config-secret-Cg7", NULL);

        setenv("AWS_PROFILE", "staging", 1);
        assert_resolves_to(f, NULL, "shared-config-file", "AKIDCONFIGSTAGING", "config-secret-prod-Cg8", NULL);

        /* "[profile default]" serves the default profile too. */
        unsetenv("AWS_PROFILE");
        write_file(f, "home/.aws/config",
                   "[profile default]\naws_access_key_id=AKIDPD\naws_secret_access_key=config-secret-Cg7\n");
        assert_resolves_to(f, NULL, "shared-config-file", "AKIDPD", "config-secret-Cg7", NULL);
}

static void test_chain_profile_choice(void **state) {
        fixture *f = *state;
        creds_options o = { .profile = "staging" };

        write_shared_files(f);
        setenv("AWS_PROFILE", "prod", 1);
        assert_resolves_to(f, NULL, "shared-credentials-file", "AKIDCREDPROD", "credfile-secret-prod-Cf5",
                           "credfile-token-Cf6");
        /* The configured profile wins over AWS_PROFILE. */
        assert_resolves_to(f, &o, "shared-config-file", "AKIDCONFIGSTAGING", "config-secret-prod-Cg8", NULL);
}

static void test_chain_file_variables(void **state) {
        fixture *f = *state;
        const char *path;

        write_shared_files(f);  /* in $HOME, and not to be read */
        path = write_file(f, "elsewhere/creds",
                          "[default]\naws_access_key_id=AKIDELSEWHERE\naws_secret_access_key=credfile-secret-Cf4\n");
        setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
        assert_resolves_to(f, NULL, "shared-credentials-file", "AKIDELSEWHERE", "credfile-secret-Cf4", NULL);

        /* "~/" is $HOME, as botocore expands it. */
        write_file(f, "home/other-config",
                   "[profile staging]\naws_access_key_id=AKIDTILDE\naws_secret_access_key=config-secret-Cg7\n");
        setenv("AWS_CONFIG_FILE", "~/other-config", 1);
        setenv("AWS_PROFILE", "staging", 1);
        assert_resolves_to(f, NULL, "shared-config-file", "AKIDTILDE", "config-secret-Cg7", NULL);
}

static void test_chain_no_home(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *m = NULL;
        const char *path;

        /* A DynamicUser= service: no $HOME, so no shared files, and no failure for it. */
        write_shared_files(f);
        unsetenv("HOME");
        m = resolve_error(f, NULL, -ENOKEY);
        assert_string_equal(m, "no AWS credentials: not configured, AWS_ACCESS_KEY_ID unset, "
                               "no $CREDENTIALS_DIRECTORY/aws-credentials, no shared files ($HOME unset), "
                               "IMDS: disabled by AWS_EC2_METADATA_DISABLED");

        /* An explicit path needs no home. */
        path = write_file(f, "etc/credentials",
                          "[default]\naws_access_key_id=AKIDETC\naws_secret_access_key=credfile-secret-Cf4\n");
        setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
        assert_resolves_to(f, NULL, "shared-credentials-file", "AKIDETC", "credfile-secret-Cf4", NULL);
}

static void test_chain_nothing_lists_what_was_tried(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *m = NULL, *expect = NULL;

        write_file(f, "home/.aws/credentials", "[other]\naws_access_key_id=A\naws_secret_access_key=credfile-secret-Cf4\n");
        assert_int_equal(asprintf(&expect,
                                  "no AWS credentials: not configured, AWS_ACCESS_KEY_ID unset, "
                                  "no $CREDENTIALS_DIRECTORY/aws-credentials, no [default] in %s/.aws/credentials, "
                                  "no %s/.aws/config, IMDS: disabled by AWS_EC2_METADATA_DISABLED",
                                  f->home, f->home) > 0, true);
        m = resolve_error(f, NULL, -ENOKEY);
        assert_string_equal(m, expect);
}

static void test_chain_half_a_pair_in_a_file(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *m1 = NULL, *m2 = NULL, *expect = NULL;

        /* Half a pair in the credentials file stops the chain: the config file's keys are not used. */
        write_shared_files(f);
        write_file(f, "home/.aws/credentials", "[default]\naws_secret_access_key = half-secret-Hs9\n");
        assert_int_equal(asprintf(&expect, "[default] in %s/.aws/credentials has aws_secret_access_key but no "
                                  "aws_access_key_id", f->home) > 0, true);
        m1 = resolve_error(f, NULL, -EINVAL);
        assert_string_equal(m1, expect);

        write_systemd_credentials(f);
        write_file(f, "creds/aws-credentials", "[default]\naws_access_key_id = AKIDHALF\n");
        m2 = resolve_error(f, NULL, -EINVAL);
        assert_contains(m2, "/creds/aws-credentials has aws_access_key_id but no aws_secret_access_key");
}

static void test_chain_named_profile_must_exist(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *m1 = NULL, *m2 = NULL;
        creds_options o = { .profile = "ops" };

        write_shared_files(f);
        setenv("AWS_PROFILE", "nope", 1);
        m1 = resolve_error(f, NULL, -ENOKEY);
        assert_contains(m1, "profile 'nope' (from AWS_PROFILE)");
        assert_contains(m1, "no [nope] in");
        assert_contains(m1, "no [profile nope] in");
        m2 = resolve_error(f, &o, -ENOKEY);
        assert_contains(m2, "profile 'ops' (from the configuration)");
}

static void test_chain_unreadable_file_is_skipped(void **state) {
        fixture *f = *state;
        char dir[256];
        _cleanup_(freep) char *m = NULL;

        /* A directory where the credentials file should be: said, and the config file still read. */
        write_shared_files(f);
        assert_int_equal(unlink(home_path(f, ".aws/credentials")), 0);
        snprintf(dir, sizeof(dir), "%s", home_path(f, ".aws/credentials"));
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_resolves_to(f, NULL, "shared-config-file", "AKIDCONFIG", "config-secret-Cg7", NULL);

        assert_int_equal(unlink(home_path(f, ".aws/config")), 0);
        m = resolve_error(f, NULL, -ENOKEY);
        assert_contains(m, "/.aws/credentials: Is a directory");
}

/* ---- Asynchronous behaviour ------------------------------------------------------------ */

typedef struct answer {
        bool called;
        int r;
        char *id;
        char *message;
        bool *inside_get;
        creds_provider **free_me;       /* when set, the callback frees this provider */
} answer;

static void answer_done(answer *a) {
        free(a->id);
        free(a->message);
        *a = (answer) {};
}

static void on_answer(int r, const aws_credentials *c, const aws_error *err, void *userdata) {
        answer *a = userdata;

        /* Never from inside creds_provider_get(). */
        if (a->inside_get)
                assert_false(*a->inside_get);
        assert_false(a->called);
        a->called = true;
        a->r = r;
        if (r >= 0) {
                assert_non_null(c);
                assert_null(err);
                a->id = strdup(c->access_key_id);
        } else {
                assert_null(c);
                assert_non_null(err);
                assert_no_secret(err->message);
                a->message = strdup(err->message);
        }
        if (a->free_me)
                *a->free_me = creds_provider_free(*a->free_me);
}

static void run_until(fixture *f, const bool *done) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        while (!*done) {
                assert_true(now_usec(CLOCK_MONOTONIC) < deadline);
                assert_int_equal(sd_event_run(f->event, 100 * USEC_PER_MSEC) >= 0, true);
        }
}

/* Runs the loop for a while, for things that must not happen. */
static void run_idle(fixture *f, usec_t how_long) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + how_long;

        while (now_usec(CLOCK_MONOTONIC) < deadline)
                assert_int_equal(sd_event_run(f->event, 10 * USEC_PER_MSEC) >= 0, true);
}

static void test_answers_come_from_the_loop(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        answer a = {}, b = {}, c = {}, d = {};
        bool inside = false;

        set_env_keys();
        a.inside_get = b.inside_get = c.inside_get = d.inside_get = &inside;
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);

        inside = true;
        assert_int_equal(creds_provider_get(p, on_answer, &a, NULL), 0);
        inside = false;
        assert_false(a.called);
        run_until(f, &a.called);
        assert_int_equal(a.r, 0);
        assert_string_equal(a.id, "AKIDENV");
        assert_string_equal(creds_provider_source(p), "environment");

        /* Cached: a changed environment is not read again... */
        setenv("AWS_ACCESS_KEY_ID", "AKIDENVNEW", 1);
        inside = true;
        assert_int_equal(creds_provider_get(p, on_answer, &b, NULL), 0);
        inside = false;
        assert_false(b.called);
        run_until(f, &b.called);
        assert_string_equal(b.id, "AKIDENV");

        /* ...until the credentials are invalidated (AuthFailure, ExpiredToken). */
        creds_provider_invalidate(p);
        assert_int_equal(creds_provider_get(p, on_answer, &c, NULL), 0);
        run_until(f, &c.called);
        assert_string_equal(c.id, "AKIDENVNEW");

        /* A failure is answered from the loop as well. */
        unsetenv("AWS_ACCESS_KEY_ID");
        creds_provider_invalidate(p);
        inside = true;
        assert_int_equal(creds_provider_get(p, on_answer, &d, NULL), 0);
        inside = false;
        run_until(f, &d.called);
        assert_int_equal(d.r, -EINVAL);
        assert_string_equal(d.message, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");

        answer_done(&a);
        answer_done(&b);
        answer_done(&c);
        answer_done(&d);
}

static void test_cancel_and_free_never_call_back(void **state) {
        fixture *f = *state;
        creds_provider *p = NULL;
        answer a = {}, b = {}, c = {};
        creds_wait *wa = NULL;

        set_env_keys();
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        assert_int_equal(creds_provider_get(p, on_answer, &a, &wa), 0);
        assert_int_equal(creds_provider_get(p, on_answer, &b, NULL), 0);
        creds_wait_cancel(wa);
        creds_wait_cancel(NULL);
        run_until(f, &b.called);
        assert_false(a.called);

        assert_int_equal(creds_provider_get(p, on_answer, &c, NULL), 0);
        p = creds_provider_free(p);
        run_idle(f, 50 * USEC_PER_MSEC);
        assert_false(c.called);
        answer_done(&b);
}

static void test_free_from_a_callback(void **state) {
        fixture *f = *state;
        creds_provider *p = NULL;
        answer a = {}, b = {};

        set_env_keys();
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        a.free_me = &p;
        assert_int_equal(creds_provider_get(p, on_answer, &a, NULL), 0);
        assert_int_equal(creds_provider_get(p, on_answer, &b, NULL), 0);
        run_until(f, &a.called);
        assert_null(p);
        run_idle(f, 50 * USEC_PER_MSEC);
        assert_false(b.called);         /* freed with the provider, not called */
        answer_done(&a);
}

/* ---- IMDSv2 ---------------------------------------------------------------------------- */

/* Starts a helper server and reads "<banner> listening on URL" from its first line. */
static pid_t spawn_server(char *const argv[], const char *banner, char url[static 64]) {
        char buf[160] = {}, prefix[64];
        const char *u;
        size_t got = 0;
        int fds[2];
        ssize_t n;
        pid_t pid;

        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* Gone with the test, whatever happens to it. */
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                dup2(fds[1], STDOUT_FILENO);
                close(fds[0]);
                close(fds[1]);
                execv(argv[0], argv);
                _exit(127);
        }
        close(fds[1]);
        while (got < sizeof(buf) - 1 && !memchr(buf, '\n', got)) {
                n = read(fds[0], buf + got, sizeof(buf) - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t) n;
        }
        close(fds[0]);
        snprintf(prefix, sizeof(prefix), "%s listening on ", banner);
        u = startswith(buf, prefix) ? buf + strlen(prefix) : NULL;
        if (!u || !startswith(u, "http://") || strcspn(u, "\n") >= 64) {
                print_error("%s did not start: '%s'\n", argv[1], buf);
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
                fail();
        }
        snprintf(url, 64, "%.*s", (int) strcspn(u, "\n"), u);
        return pid;
}

static void imds_start(fixture *f) {
        static char *const argv[] = { "/usr/bin/python3", "tests/unit/imds-server.py", "--lifetime", "120", NULL };

        f->imds_pid = spawn_server(argv, "imds-server", f->imds_url);
        unsetenv("AWS_EC2_METADATA_DISABLED");
        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f->imds_url, 1);
}

/* GET a control path of the IMDS server; returns its body (caller frees). */
static char *imds_control(fixture *f, const char *path) {
        char url[256];
        http_response r = {};
        http_request req = { .method = "GET", .url = url };
        char *body;

        snprintf(url, sizeof(url), "%s%s", f->imds_url, path);
        assert_int_equal(http_client_run(f->http, &req, &r), 0);
        assert_int_equal(r.error, 0);
        assert_int_equal(r.status, 200);
        body = TAKE_PTR(r.body);
        http_response_done(&r);
        return body;
}

static void imds_mode(fixture *f, const char *mode) {
        char path[128];

        snprintf(path, sizeof(path), "/_control?mode=%s", mode);
        free(imds_control(f, path));
}

static void assert_imds_stats(fixture *f, const char *expect) {
        _cleanup_(freep) char *s = imds_control(f, "/_stats");

        assert_string_equal(s, expect);
}

static void test_imds(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
        aws_error err = {};

        imds_start(f);
        write_file(f, "home/.aws/config", "[default]\nregion = us-east-1\n");
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        assert_int_equal(creds_provider_get_sync(p, &c, &err), 0);
        assert_string_equal(creds_provider_source(p), "imds");
        assert_string_equal(c->access_key_id, "ASIAIMDS1");
        assert_string_equal(c->secret_access_key, "imds-secret-1");
        assert_string_equal(c->session_token, "imds-token-1");
        assert_int_equal(c->expiration, 1893456000);    /* 2030-01-01T00:00:00Z */
        assert_imds_stats(f, "requests=3 token=1 role=1 credentials=1");
}

static void test_imds_never_goes_through_a_proxy(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
        aws_error err = {};

        imds_start(f);
        /* A proxy that refuses every connection, and no exception for the IMDS. */
        unsetenv("no_proxy");
        unsetenv("NO_PROXY");
        setenv("http_proxy", "http://127.0.0.1:1", 1);
        setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        assert_int_equal(creds_provider_get_sync(p, &c, &err), 0);
        unsetenv("http_proxy");
        unsetenv("HTTP_PROXY");
        assert_string_equal(creds_provider_source(p), "imds");
        assert_string_equal(c->access_key_id, "ASIAIMDS1");
        assert_imds_stats(f, "requests=3 token=1 role=1 credentials=1");
}

static void test_imds_not_asked_when_an_earlier_source_answers(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *m = NULL;

        imds_start(f);
        set_env_keys();
        assert_resolves_to(f, NULL, "environment", "AKIDENV", "env-secret-Ev2", "env-token-Ev2");
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");
        write_shared_files(f);
        assert_resolves_to(f, NULL, "shared-credentials-file", "AKIDCREDFILE", "credfile-secret-Cf4", NULL);

        /* A profile asked for by name and not found: an error, not the instance's role. */
        setenv("AWS_PROFILE", "nope", 1);
        m = resolve_error(f, NULL, -ENOKEY);
        assert_contains(m, "profile 'nope'");

        /* Disabled, in any case. */
        unsetenv("AWS_PROFILE");
        assert_int_equal(unlink(home_path(f, ".aws/credentials")), 0);
        assert_int_equal(unlink(home_path(f, ".aws/config")), 0);
        setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
        free(resolve_error(f, NULL, -ENOKEY));

        assert_imds_stats(f, "requests=0 token=0 role=0 credentials=0");
}

static void test_imds_concurrent_gets_share_one_resolution(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        answer a[5] = {};
        bool inside = false;

        imds_start(f);
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        for (size_t i = 0; i < ELEMENTSOF(a); i++) {
                a[i].inside_get = &inside;
                inside = true;
                assert_int_equal(creds_provider_get(p, on_answer, &a[i], NULL), 0);
                inside = false;
        }
        for (size_t i = 0; i < ELEMENTSOF(a); i++) {
                run_until(f, &a[i].called);
                assert_int_equal(a[i].r, 0);
                assert_string_equal(a[i].id, "ASIAIMDS1");
                answer_done(&a[i]);
        }
        assert_imds_stats(f, "requests=3 token=1 role=1 credentials=1");
}

static void assert_get_id(fixture *f, creds_provider *p, int expect_r, const char *expect_id) {
        answer a = {};

        assert_int_equal(creds_provider_get(p, on_answer, &a, NULL), 0);
        run_until(f, &a.called);
        if (a.r != expect_r)
                print_error("get: %d %s\n", a.r, a.message ?: "");
        assert_int_equal(a.r, expect_r);
        if (expect_id)
                assert_string_equal(a.id, expect_id);
        answer_done(&a);
}

static void test_imds_refresh_before_expiry(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        const time_t expiration = 1893456000;   /* the server's 2030-01-01T00:00:00Z */

        imds_start(f);
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        creds_provider_set_clock(p, fixture_clock, f);

        f->now = expiration - 3600;
        assert_get_id(f, p, 0, "ASIAIMDS1");
        f->now = expiration - 301;      /* still more than 5 minutes: from the cache */
        assert_get_id(f, p, 0, "ASIAIMDS1");
        assert_imds_stats(f, "requests=3 token=1 role=1 credentials=1");

        f->now = expiration - 299;      /* within 5 minutes: resolved again */
        assert_get_id(f, p, 0, "ASIAIMDS2");
        assert_imds_stats(f, "requests=6 token=2 role=2 credentials=2");

        /* The new keys expire at the same time (the server's choice), so they are in the
         * window too; a get 5 s later does not ask again, one 11 s later does. */
        f->now = expiration - 294;
        assert_get_id(f, p, 0, "ASIAIMDS2");
        assert_imds_stats(f, "requests=6 token=2 role=2 credentials=2");

        /* A failed refresh while the keys are still valid: callers keep the valid keys. */
        imds_mode(f, "error");
        f->now = expiration - 283;
        assert_get_id(f, p, 0, "ASIAIMDS2");
        assert_imds_stats(f, "requests=9 token=3 role=3 credentials=3");

        /* Expired and no refresh: an error saying why. */
        f->now = expiration + 1;
        assert_get_id(f, p, -ENOKEY, NULL);
        assert_string_equal(creds_provider_source(p), "imds");  /* the last source stays known */

        /* Healthy again: the next get resolves. */
        imds_mode(f, "ok");
        f->now = expiration - 3600;
        assert_get_id(f, p, 0, "ASIAIMDS5");

        /* invalidate() forces a resolution even of fresh keys. */
        assert_get_id(f, p, 0, "ASIAIMDS5");
        creds_provider_invalidate(p);
        assert_get_id(f, p, 0, "ASIAIMDS6");
        assert_imds_stats(f, "requests=18 token=6 role=6 credentials=6");
}

static void test_imds_hang_fails_in_bounded_time(void **state) {
        static const char *const modes[] = { "hang", "hang-credentials" };
        fixture *f = *state;

        imds_start(f);
        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                _cleanup_(freep) char *m = NULL, *expect = NULL;
                usec_t start, elapsed;

                imds_mode(f, modes[i]);
                start = now_usec(CLOCK_MONOTONIC);
                m = resolve_error(f, NULL, -ENOKEY);
                elapsed = now_usec(CLOCK_MONOTONIC) - start;
                assert_int_equal(asprintf(&expect, "IMDS: %s: no answer within 2 s", f->imds_url) > 0, true);
                assert_contains(m, expect);
                /* 2 s per request: the token (hang), or token and role quickly, then the keys. */
                assert_true(elapsed >= 1900 * USEC_PER_MSEC);
                assert_true(elapsed < 3500 * USEC_PER_MSEC);
        }
}

static void test_imds_misbehaviour(void **state) {
        static const struct {
                const char *mode, *message;
        } cases[] = {
                { "no-role", "no IAM role attached to this instance" },
                { "error", "GET credentials of role 'amirotd-test-role' answered HTTP 500" },
                { "bad-json", "role 'amirotd-test-role': IMDS credentials are not valid JSON" },
                { "truncated-json", "role 'amirotd-test-role': IMDS credentials are not valid JSON: truncated" },
                { "code", "role 'amirotd-test-role': IMDS did not return credentials "
                          "(Code 'AssumeRoleUnauthorizedAccess')" },
                { "token-403", "token request (PUT /latest/api/token) answered HTTP 403" },
        };
        fixture *f = *state;

        imds_start(f);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(freep) char *m = NULL, *expect = NULL;

                imds_mode(f, cases[i].mode);
                m = resolve_error(f, NULL, -ENOKEY);
                assert_true(startswith(m, "no AWS credentials: not configured, AWS_ACCESS_KEY_ID unset, "));
                assert_int_equal(asprintf(&expect, "IMDS: %s: %s", f->imds_url, cases[i].message) > 0, true);
                assert_contains(m, expect);
        }
}

static void test_imds_connection_refused(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *m = NULL, *expect = NULL;
        int fd;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        char url[64];

        /* A port that was just free: bound, never listened on, then closed. */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
        close(fd);
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/", ntohs(sa.sin_port));

        unsetenv("AWS_EC2_METADATA_DISABLED");
        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
        write_file(f, "home/.aws/credentials", "[other]\naws_access_key_id=A\naws_secret_access_key=S\n");
        m = resolve_error(f, NULL, -ENOKEY);
        assert_int_equal(asprintf(&expect,
                                  "no AWS credentials: not configured, AWS_ACCESS_KEY_ID unset, "
                                  "no $CREDENTIALS_DIRECTORY/aws-credentials, no [default] in %s/.aws/credentials, "
                                  "no %s/.aws/config, IMDS: http://127.0.0.1:%u: connection refused",
                                  f->home, f->home, ntohs(sa.sin_port)) > 0, true);
        assert_string_equal(m, expect);
}

/* ---- STS AssumeRole against ec2sim ----------------------------------------------------- */

#define SIM_KEY_ID "AKIDEXAMPLE"
#define SIM_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SIM_ROLE "arn:aws:iam::444455556666:role/amirotd"

typedef struct sts_fixture {
        creds_provider *base;
        aws_client *sts;
        creds_provider *role;
} sts_fixture;

static void sts_fixture_done(sts_fixture *s) {
        s->role = creds_provider_free(s->role);
        s->sts = aws_client_free(s->sts);
        s->base = creds_provider_free(s->base);
}

static void sim_spawn(fixture *f) {
        static char *const argv[] = { "/usr/bin/python3", "tests/ec2sim/ec2sim", "--port", "0", NULL };

        f->sim_pid = spawn_server(argv, "ec2sim", f->sim_url);
}

/* ec2sim with its default key as the base credentials, and an STS client on it. */
static void sim_start(fixture *f, sts_fixture *s) {
        creds_options o = { .access_key_id = SIM_KEY_ID, .secret_access_key = SIM_SECRET };
        aws_client_options co = { .service = "sts", .region = "us-east-1" };

        sim_spawn(f);
        co.endpoint_url = f->sim_url;
        assert_int_equal(creds_provider_new_chain(f->http, &o, &s->base), 0);
        assert_int_equal(aws_client_new(f->http, s->base, &co, &s->sts), 0);
}

/* An ec2sim admin request; returns the body (caller frees). */
static char *sim_admin(fixture *f, const char *method, const char *path, const char *body) {
        char url[256];
        const char *const headers[] = { "Content-Type: application/json", NULL };
        http_request req = {
                .method = method, .url = url, .headers = headers,
                .body = body, .body_size = body ? strlen(body) : 0,
        };
        http_response r = {};
        char *b;

        snprintf(url, sizeof(url), "%s%s", f->sim_url, path);
        assert_int_equal(http_client_run(f->http, &req, &r), 0);
        assert_int_equal(r.error, 0);
        if (r.status != 200)
                print_error("%s %s: HTTP %ld %s\n", method, path, r.status, r.body ?: "");
        assert_int_equal(r.status, 200);
        b = TAKE_PTR(r.body);
        http_response_done(&r);
        return b;
}

/* How many AssumeRole calls ec2sim has seen. */
static size_t sim_assume_role_calls(fixture *f) {
        _cleanup_(freep) char *body = sim_admin(f, "GET", "/_sim/calls?action=AssumeRole", NULL);
        json_object *o = json_tokener_parse(body), *calls;
        size_t n;

        /* A list of calls (older ec2sim: {"calls": [...]}). */
        assert_non_null(o);
        if (!json_object_object_get_ex(o, "calls", &calls))
                calls = o;
        assert_true(json_object_is_type(calls, json_type_array));
        n = json_object_array_length(calls);
        json_object_put(o);
        return n;
}

/* Who the credentials of provider p are, by STS GetCallerIdentity. */
static char *caller_arn(fixture *f, creds_provider *p) {
        _cleanup_(aws_client_freep) aws_client *c = NULL;
        aws_client_options co = { .service = "sts", .region = "us-east-1", .endpoint_url = f->sim_url };
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        aws_query *q = NULL;
        aws_error err = {};
        char *arn = NULL;

        assert_int_equal(aws_client_new(f->http, p, &co, &c), 0);
        assert_int_equal(aws_query_new("GetCallerIdentity", &q), 0);
        if (aws_client_call_sync(c, q, &doc, &err) < 0)
                print_error("GetCallerIdentity: %s %s\n", err.code ?: "", err.message ?: "");
        assert_non_null(doc);
        assert_int_equal(xml_child_text(xmlDocGetRootElement(doc), "GetCallerIdentityResult/Arn", &arn), 0);
        return arn;
}

static void test_assume_role_rejects_bad_parameters(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *base = NULL;
        _cleanup_(aws_client_freep) aws_client *sts = NULL;
        creds_provider *p = NULL;
        aws_client_options co = { .service = "sts", .region = "us-east-1", .endpoint_url = "http://127.0.0.1:9" };

        set_env_keys();
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &base), 0);
        assert_int_equal(aws_client_new(f->http, base, &co, &sts), 0);
        assert_int_equal(creds_provider_new_assume_role(NULL, SIM_ROLE, NULL, NULL, 0, &p), -EINVAL);
        assert_int_equal(creds_provider_new_assume_role(sts, "arn:aws:iam::4444:role/x", NULL, NULL, 0, &p), -EINVAL);
        assert_int_equal(creds_provider_new_assume_role(sts, SIM_ROLE, "x", NULL, 0, &p), -EINVAL);
        assert_int_equal(creds_provider_new_assume_role(sts, SIM_ROLE, NULL, "x", 0, &p), -EINVAL);
        assert_int_equal(creds_provider_new_assume_role(sts, SIM_ROLE, NULL, NULL, 600, &p), -EINVAL);
        assert_null(p);
        assert_int_equal(creds_provider_new_assume_role(sts, SIM_ROLE, NULL, NULL, 0, &p), 0);
        p = creds_provider_free(p);
}

static void test_assume_role(void **state) {
        fixture *f = *state;
        _cleanup_(sts_fixture_done) sts_fixture s = {};
        _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
        _cleanup_(freep) char *arn = NULL, *expect = NULL;
        aws_error err = {};
        time_t before = time(NULL);
        answer a[3] = {};

        sim_start(f, &s);
        assert_int_equal(creds_provider_new_assume_role(s.sts, SIM_ROLE, NULL, NULL, 0, &s.role), 0);

        /* Three concurrent gets, one AssumeRole. */
        for (size_t i = 0; i < ELEMENTSOF(a); i++)
                assert_int_equal(creds_provider_get(s.role, on_answer, &a[i], NULL), 0);
        for (size_t i = 0; i < ELEMENTSOF(a); i++) {
                run_until(f, &a[i].called);
                if (a[i].r < 0)
                        print_error("AssumeRole: %s\n", a[i].message);
                assert_int_equal(a[i].r, 0);
                assert_true(startswith(a[i].id, "ASIA"));
                assert_string_equal(a[i].id, a[0].id);
        }
        assert_int_equal(sim_assume_role_calls(f), 1);
        assert_string_equal(creds_provider_source(s.role), "assume-role");
        assert_string_equal(creds_provider_source(s.base), "explicit");

        assert_int_equal(creds_provider_get_sync(s.role, &c, &err), 0);
        assert_string_equal(c->access_key_id, a[0].id);
        assert_non_null(c->session_token);
        assert_true(c->expiration >= before + 3600 - 5 && c->expiration <= time(NULL) + 3600 + 5);
        assert_int_equal(sim_assume_role_calls(f), 1);

        /* The keys are the role's, with the default session name. */
        arn = caller_arn(f, s.role);
        assert_int_equal(asprintf(&expect, "arn:aws:sts::444455556666:assumed-role/amirotd/amirotd-%d",
                                  (int) getpid()) > 0, true);
        assert_string_equal(arn, expect);

        for (size_t i = 0; i < ELEMENTSOF(a); i++)
                answer_done(&a[i]);
}

static void test_assume_role_refresh_before_expiry(void **state) {
        fixture *f = *state;
        _cleanup_(sts_fixture_done) sts_fixture s = {};
        _cleanup_(aws_credentials_freep) aws_credentials *c1 = NULL, *c2 = NULL, *c3 = NULL;
        aws_error err = {};

        sim_start(f, &s);
        assert_int_equal(creds_provider_new_assume_role(s.sts, SIM_ROLE, "refresh-test", "ext-id:1", 900, &s.role), 0);
        creds_provider_set_clock(s.role, fixture_clock, f);

        f->now = time(NULL);
        assert_int_equal(creds_provider_get_sync(s.role, &c1, &err), 0);
        assert_true(c1->expiration >= f->now + 900 - 5 && c1->expiration <= f->now + 900 + 5);

        f->now = c1->expiration - 301;
        assert_int_equal(creds_provider_get_sync(s.role, &c2, &err), 0);
        assert_string_equal(c2->access_key_id, c1->access_key_id);
        assert_int_equal(sim_assume_role_calls(f), 1);

        f->now = c1->expiration - 299;
        assert_int_equal(creds_provider_get_sync(s.role, &c3, &err), 0);
        assert_string_not_equal(c3->access_key_id, c1->access_key_id);
        assert_int_equal(sim_assume_role_calls(f), 2);
}

static void test_assume_role_errors(void **state) {
        fixture *f = *state;
        _cleanup_(sts_fixture_done) sts_fixture s = {};
        _cleanup_(creds_provider_freep) creds_provider *too_long = NULL;
        aws_credentials *c = NULL;
        aws_error err = {};

        sim_start(f, &s);
        free(sim_admin(f, "POST", "/_sim/sts", "{\"deny_roles\": [\"" SIM_ROLE "\"]}"));
        assert_int_equal(creds_provider_new_assume_role(s.sts, SIM_ROLE, NULL, NULL, 0, &s.role), 0);
        assert_int_equal(creds_provider_get_sync(s.role, &c, &err), -EREMOTEIO);
        assert_null(c);
        assert_string_equal(err.code, "AccessDenied");
        assert_int_equal(err.status, 403);
        assert_non_null(err.request_id);
        assert_true(startswith(err.message, "cannot assume role '" SIM_ROLE "': "));
        assert_contains(err.message, "not authorized to perform: sts:AssumeRole");
        assert_null(strstr(err.message, SIM_SECRET));
        assert_no_secret(err.message);
        aws_error_done(&err);

        /* Longer than the role allows (ec2sim: MaxSessionDuration 3600). */
        assert_int_equal(creds_provider_new_assume_role(s.sts, "arn:aws:iam::444455556666:role/other", NULL, NULL,
                                                        7200, &too_long), 0);
        assert_int_equal(creds_provider_get_sync(too_long, &c, &err), -EREMOTEIO);
        assert_string_equal(err.code, "ValidationError");
        assert_contains(err.message, "MaxSessionDuration");
        aws_error_done(&err);
}

/* IMDS as ec2sim serves it: its keys are good for its STS; its hang is bounded too. */
static void test_imds_against_ec2sim(void **state) {
        fixture *f = *state;
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
        _cleanup_(freep) char *arn = NULL, *m = NULL;
        aws_error err = {};
        usec_t start;

        sim_spawn(f);
        unsetenv("AWS_EC2_METADATA_DISABLED");
        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f->sim_url, 1);
        assert_int_equal(creds_provider_new_chain(f->http, NULL, &p), 0);
        assert_int_equal(creds_provider_get_sync(p, &c, &err), 0);
        assert_string_equal(creds_provider_source(p), "imds");
        assert_non_null(c->session_token);
        assert_true(c->expiration > time(NULL));
        arn = caller_arn(f, p);
        assert_true(startswith(arn, "arn:aws:sts::"));
        assert_contains(arn, ":assumed-role/");

        free(sim_admin(f, "POST", "/_sim/imds", "{\"mode\": \"hang\"}"));
        start = now_usec(CLOCK_MONOTONIC);
        m = resolve_error(f, NULL, -ENOKEY);
        assert_true(now_usec(CLOCK_MONOTONIC) - start < 3500 * USEC_PER_MSEC);
        assert_contains(m, ": no answer within 2 s");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_ini_table),
                cmocka_unit_test(test_parse_imds_json_table),
                cmocka_unit_test(test_sts_parse_expiration),
                cmocka_unit_test(test_imds_token_and_role),
                cmocka_unit_test(test_assume_role_check),
                cmocka_unit_test(test_assume_role_check_limits),
                cmocka_unit_test_setup_teardown(test_chain_explicit_first, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_environment_second, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_environment_half_a_pair, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_systemd_third, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_systemd_without_the_profile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_credentials_file_before_config, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_configured_credentials_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_config_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_profile_choice, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_file_variables, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_no_home, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_nothing_lists_what_was_tried, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_half_a_pair_in_a_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_named_profile_must_exist, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chain_unreadable_file_is_skipped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_answers_come_from_the_loop, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel_and_free_never_call_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_from_a_callback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_imds, setup, teardown),
                cmocka_unit_test_setup_teardown(test_imds_never_goes_through_a_proxy, setup, teardown),
                cmocka_unit_test_setup_teardown(test_imds_not_asked_when_an_earlier_source_answers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_imds_concurrent_gets_share_one_resolution, setup, teardown),
                cmocka_unit_test_setup_teardown(test_imds_refresh_before_expiry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_imds_hang_fails_in_bounded_time, setup, teardown),
                cmocka_unit_test_setup_teardown(test_imds_misbehaviour, setup, teardown),
                cmocka_unit_test_setup_teardown(test_imds_connection_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_assume_role_rejects_bad_parameters, setup, teardown),
                cmocka_unit_test_setup_teardown(test_assume_role, setup, teardown),
                cmocka_unit_test_setup_teardown(test_assume_role_refresh_before_expiry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_assume_role_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_imds_against_ec2sim, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
