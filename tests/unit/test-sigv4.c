/* SPDX-License-Identifier: MIT */
/*
 * SigV4 against two independent references: AWS's published test-suite
 * examples (fixed constants, from the documentation), and botocore's
 * SigV4Auth, which signs a table of awkward requests each time the tests run
 * (tests/unit/sigv4-botocore.py writes them to a file this program reads).
 *
 * The vector file is found at $SIGV4_VECTORS, else argv[1], else
 * sigv4-vectors.txt beside this program, where `make check-unit` writes it.
 */
#include <libgen.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "aws/endpoint.h"
#include "aws/sigv4.h"

#define SUITE_AKID "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_TIME 1440938160  /* 20150830T123600Z */
#define MIN_VECTORS 30

static const char *vectors_path;

static const aws_credentials suite_creds = {
        .access_key_id = (char *) SUITE_AKID,
        .secret_access_key = (char *) SUITE_SECRET,
};

static char *sign_or_die(const sigv4_request *req, const aws_credentials *creds, sigv4_key_cache *cache) {
        sigv4_result res = {};
        char *a;

        assert_int_equal(sigv4_sign(req, creds, cache, &res), 0);
        a = TAKE_PTR(res.authorization);
        sigv4_result_done(&res);
        return a;
}

/*
 * The aws-sig-v4-test-suite of the AWS General Reference ("Signature Version 4
 * test suite"): host example.amazonaws.com, region us-east-1, service
 * "service", key AKIDEXAMPLE, 20150830T123600Z. The signatures are the
 * published contents of the .authz files.
 */
static void test_aws_suite(void **state) {
        static const struct {
                const char *name, *method, *query, *signature;
        } suite[] = {
                { "get-vanilla", "GET", NULL,
                  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
                { "get-vanilla-query", "GET", "Param1=value1",
                  "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb" },
                { "get-vanilla-query-order-key-case", "GET", "Param2=value2&Param1=value1",
                  "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },
                { "get-vanilla-query-order-key", "GET", "Param1=value2&Param1=Value1",
                  "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1" },
                { "post-vanilla", "POST", NULL,
                  "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(suite); i++) {
                sigv4_request req = {
                        .method = suite[i].method, .host = "example.amazonaws.com", .path = "/",
                        .query = suite[i].query, .region = "us-east-1", .service = "service", .now = SUITE_TIME,
                };
                _cleanup_(freep) char *expected = NULL, *got = NULL;

                assert_true(asprintf(&expected, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                                     "aws4_request, SignedHeaders=host;x-amz-date, Signature=%s",
                                     suite[i].signature) > 0);
                got = sign_or_die(&req, &suite_creds, NULL);
                if (!streq(got, expected))
                        print_error("%s:\n  got      %s\n  expected %s\n", suite[i].name, got, expected);
                assert_string_equal(got, expected);
        }
}

/* get-vanilla.creq and the hash in the fourth line of get-vanilla.sts. */
static void test_aws_suite_canonical_request(void **state) {
        sigv4_request req = {
                .method = "GET", .host = "example.amazonaws.com", .path = "/",
                .region = "us-east-1", .service = "service", .now = SUITE_TIME,
        };
        _cleanup_(freep) char *creq = NULL;
        sigv4_result res = {};
        char hash[65];

        (void) state;
        assert_int_equal(sigv4_canonical_request(&req, &suite_creds, &creq), 0);
        assert_string_equal(creq, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                                  "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        sha256_hex(creq, strlen(creq), hash);
        assert_string_equal(hash, "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");

        assert_int_equal(sigv4_sign(&req, &suite_creds, NULL, &res), 0);
        assert_string_equal(res.amz_date, "20150830T123600Z");
        sigv4_result_done(&res);
        assert_null(res.authorization);
}

static void test_uri_encode(void **state) {
        static const struct {
                const char *in;
                bool encode_slash;
                const char *out;
        } t[] = {
                { "", true, "" },
                { "AZaz09-_.~", true, "AZaz09-_.~" },
                { "a b", true, "a%20b" },
                { "+*~/=&%", true, "%2B%2A~%2F%3D%26%25" },
                { "+*~/=&%", false, "%2B%2A~/%3D%26%25" },
                { "/a/b c/", false, "/a/b%20c/" },
                { "!'()$,;:@?#[]", true, "%21%27%28%29%24%2C%3B%3A%40%3F%23%5B%5D" },
                { "Größe", true, "Gr%C3%B6%C3%9Fe" },
                { "日本", true, "%E6%97%A5%E6%9C%AC" },
                { "\x01\x7f\xff", true, "%01%7F%FF" },
                { "%41", true, "%2541" },
        };
        strbuf b = {};

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(freep) char *s = NULL;

                assert_int_equal(aws_uri_encode(t[i].in, t[i].encode_slash, &s), 0);
                assert_string_equal(s, t[i].out);
        }

        /* _append adds to what is there, and gives a non-NULL buffer even for "". */
        assert_int_equal(aws_uri_encode_append("", true, &b), 0);
        assert_non_null(b.data);
        assert_int_equal(aws_uri_encode_append("k", true, &b), 0);
        assert_int_equal(strbuf_puts(&b, "="), 0);
        assert_int_equal(aws_uri_encode_append("v w/x", true, &b), 0);
        assert_string_equal(b.data, "k=v%20w%2Fx");
        strbuf_done(&b);

        assert_int_equal(aws_uri_encode(NULL, true, &(char *) { NULL }), -EINVAL);
}

static void test_sha256_hex(void **state) {
        char h[65];

        (void) state;
        sha256_hex(NULL, 0, h);
        assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        sha256_hex("abc", 3, h);
        assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_key_cache(void **state) {
        sigv4_request req = {
                .method = "POST", .host = "ec2.us-east-1.amazonaws.com", .path = "/",
                .payload = "Action=DescribeImages", .payload_size = 21,
                .region = "us-east-1", .service = "ec2", .now = 1795704900,
        };
        aws_credentials other = suite_creds;
        sigv4_key_cache cache = {}, zero = {};
        unsigned char first_key[32];
        _cleanup_(freep) char *a = NULL, *b = NULL, *c = NULL;

        (void) state;
        other.secret_access_key = (char *) "another/secret+key";

        /* Same date, region, service and secret: the cached key is used, not derived again.
         * Proven by spoiling it: the signature then changes. */
        a = sign_or_die(&req, &suite_creds, &cache);
        assert_true(cache.valid);
        assert_string_equal(cache.date, "20261126");
        assert_string_equal(cache.region, "us-east-1");
        assert_string_equal(cache.service, "ec2");
        assert_null(memmem(&cache, sizeof(cache), SUITE_SECRET, strlen(SUITE_SECRET)));
        memcpy(first_key, cache.key, 32);
        b = sign_or_die(&req, &suite_creds, &cache);
        assert_string_equal(a, b);
        b = mfree(b);
        cache.key[0] ^= 1;
        b = sign_or_die(&req, &suite_creds, &cache);
        assert_string_not_equal(a, b);
        a = mfree(a);
        b = mfree(b);

        /* A new day, region, service or secret derives a new key, spoiled cache or not. */
        for (int i = 0; i < 5; i++) {
                sigv4_request r2 = req;
                const aws_credentials *cr = &suite_creds;

                switch (i) {
                case 0: r2.now += 24 * 3600; break;
                case 1: r2.now -= 14 * 3600 + 55 * 60 + 1; break;   /* one second before midnight */
                case 2: r2.region = "eu-west-1"; break;
                case 3: r2.service = "sts"; break;
                case 4: cr = &other; break;
                }
                cache = (sigv4_key_cache) { .valid = true };
                a = sign_or_die(&req, &suite_creds, &cache);
                cache.key[5] ^= 0x40;
                b = sign_or_die(&r2, cr, &cache);
                c = sign_or_die(&r2, cr, NULL);
                assert_string_equal(b, c);
                assert_memory_not_equal(cache.key, first_key, 32);
                a = mfree(a);
                b = mfree(b);
                c = mfree(c);
        }

        /* A region too long for the cache is signed without it. */
        cache = (sigv4_key_cache) {};
        req.region = "a-region-name-longer-than-sixty-four-characters-is-not-in-aws-ok-x";
        a = sign_or_die(&req, &suite_creds, &cache);
        assert_false(cache.valid);
        a = mfree(a);

        sigv4_key_cache_clear(&cache);
        assert_memory_equal(&cache, &zero, sizeof(cache));
}

static void test_session_token(void **state) {
        aws_credentials tok = suite_creds;
        sigv4_request req = {
                .method = "GET", .host = "example.amazonaws.com", .path = "/",
                .region = "us-east-1", .service = "service", .now = SUITE_TIME,
        };
        _cleanup_(freep) char *a = NULL, *creq = NULL;

        (void) state;
        tok.session_token = (char *) "  token  with  spaces ";
        a = sign_or_die(&req, &tok, NULL);
        assert_non_null(strstr(a, "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="));
        assert_int_equal(sigv4_canonical_request(&req, &tok, &creq), 0);
        assert_non_null(strstr(creq, "\nx-amz-security-token:token with spaces\n"));
}

static void test_invalid(void **state) {
        static const sigv4_header reserved[] = { { "Host", "x" } };
        static const sigv4_header bad_name[] = { { "Bad Name", "x" } };
        static const sigv4_header bad_colon[] = { { "a:b", "x" } };
        static const sigv4_header null_value[] = { { "x-a", NULL } };
        const sigv4_request good = {
                .method = "GET", .host = "example.amazonaws.com", .path = "/",
                .region = "us-east-1", .service = "service", .now = SUITE_TIME,
        };
        aws_credentials no_secret = suite_creds, bad_akid = suite_creds;
        sigv4_result res = {};
        sigv4_request r;

        (void) state;
        no_secret.secret_access_key = (char *) "";
        bad_akid.access_key_id = (char *) "AKID/x";

        assert_int_equal(sigv4_sign(&good, NULL, NULL, &res), -EINVAL);
        assert_int_equal(sigv4_sign(NULL, &suite_creds, NULL, &res), -EINVAL);
        assert_int_equal(sigv4_sign(&good, &no_secret, NULL, &res), -EINVAL);
        assert_int_equal(sigv4_sign(&good, &bad_akid, NULL, &res), -EINVAL);

#define EXPECT_EINVAL(field, value)                                                      \
        do {                                                                             \
                r = good;                                                                \
                r.field = value;                                                         \
                assert_int_equal(sigv4_sign(&r, &suite_creds, NULL, &res), -EINVAL);     \
                assert_null(res.authorization);                                          \
        } while (0)
        EXPECT_EINVAL(region, "");
        EXPECT_EINVAL(region, "us-east-1/x");
        EXPECT_EINVAL(service, NULL);
        EXPECT_EINVAL(host, "");
        EXPECT_EINVAL(method, NULL);
        EXPECT_EINVAL(path, "relative");
        EXPECT_EINVAL(query, "a=%zz");
        EXPECT_EINVAL(query, "a=%2");
        EXPECT_EINVAL(query, "a%");
        EXPECT_EINVAL(payload_size, 3);
#undef EXPECT_EINVAL

        r = good;
        r.n_headers = 1;
        r.headers = reserved;
        assert_int_equal(sigv4_sign(&r, &suite_creds, NULL, &res), -EINVAL);
        r.headers = bad_name;
        assert_int_equal(sigv4_sign(&r, &suite_creds, NULL, &res), -EINVAL);
        r.headers = bad_colon;
        assert_int_equal(sigv4_sign(&r, &suite_creds, NULL, &res), -EINVAL);
        r.headers = null_value;
        assert_int_equal(sigv4_sign(&r, &suite_creds, NULL, &res), -EINVAL);
        r.headers = NULL;
        assert_int_equal(sigv4_sign(&r, &suite_creds, NULL, &res), -EINVAL);
}

static void test_repeated_header(void **state) {
        static const sigv4_header h[] = { { "X-B", " 2 " }, { "x-a", "1" }, { "X-b", "1\t 1" } };
        const sigv4_request req = {
                .method = "GET", .host = "h", .path = "/", .headers = h, .n_headers = ELEMENTSOF(h),
                .region = "us-east-1", .service = "s", .now = SUITE_TIME,
        };
        _cleanup_(freep) char *creq = NULL;

        (void) state;
        assert_int_equal(sigv4_canonical_request(&req, &suite_creds, &creq), 0);
        assert_non_null(strstr(creq, "\nhost:h\nx-a:1\nx-amz-date:20150830T123600Z\nx-b:2,1 1\n\n"
                                     "host;x-a;x-amz-date;x-b\n"));
}

static void test_credentials(void **state) {
        aws_credentials src = {
                .access_key_id = (char *) "AKID", .secret_access_key = (char *) "s3cr3t",
                .session_token = (char *) "tok", .expiration = 1234,
        };
        _cleanup_(aws_credentials_freep) aws_credentials *c = NULL, *d = NULL;

        (void) state;
        assert_int_equal(aws_credentials_copy(&src, &c), 0);
        assert_string_equal(c->access_key_id, "AKID");
        assert_string_equal(c->secret_access_key, "s3cr3t");
        assert_string_equal(c->session_token, "tok");
        assert_int_equal(c->expiration, 1234);
        assert_ptr_not_equal(c->secret_access_key, src.secret_access_key);
        src.session_token = NULL;
        assert_int_equal(aws_credentials_copy(&src, &d), 0);
        assert_null(d->session_token);
        assert_null(aws_credentials_free(NULL));
        assert_int_equal(aws_credentials_copy(NULL, &d), -EINVAL);
}

/* ---- botocore's vectors ---- */

typedef struct field {
        char *key;
        char *value;    /* unescaped, NUL-terminated; size says how long */
        size_t size;
} field;

typedef struct record {
        field *fields;
        size_t n_fields;
} record;

static int unescape(const char *s, strbuf *b) {
        for (const char *p = s; *p; p++) {
                char c = *p;

                if (c == '\\') {
                        p++;
                        switch (*p) {
                        case '\\': c = '\\'; break;
                        case 'n': c = '\n'; break;
                        case 'r': c = '\r'; break;
                        case 't': c = '\t'; break;
                        case 'x': {
                                unsigned v;

                                if (sscanf(p + 1, "%2x", &v) != 1 || !p[1] || !p[2])
                                        return -EINVAL;
                                c = (char) v;
                                p += 2;
                                break;
                        }
                        default:
                                return -EINVAL;
                        }
                }
                if (strbuf_append(b, &c, 1) < 0)
                        return -ENOMEM;
        }
        return strbuf_append(b, "", 0);
}

static field *record_get(const record *r, const char *key) {
        for (size_t i = 0; i < r->n_fields; i++)
                if (streq(r->fields[i].key, key))
                        return &r->fields[i];
        return NULL;
}

static char *record_str(const record *r, const char *key) {
        field *f = record_get(r, key);

        return f ? f->value : NULL;
}

static void records_free(record *r, size_t n) {
        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < r[i].n_fields; j++) {
                        free(r[i].fields[j].key);
                        free(r[i].fields[j].value);
                }
                free(r[i].fields);
        }
        free(r);
}

static record *read_vectors(const char *path, size_t *ret_n) {
        _cleanup_(freep) char *line = NULL;
        record *recs = NULL;
        size_t n = 0, cap = 0, line_no = 0, size = 0;
        bool in_record = false;
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                fail_msg("cannot open %s (%m): run `make check-unit`, or tests/unit/sigv4-botocore.py FILE "
                         "and pass FILE as argument or in $SIGV4_VECTORS", path);
        for (;;) {
                ssize_t len = getline(&line, &size, f);
                strbuf v = {};
                char *colon;
                record *r;

                if (len < 0)
                        break;
                line_no++;
                if (len > 0 && line[len - 1] == '\n')
                        line[--len] = 0;
                if (line[0] == '#')
                        continue;
                if (len == 0) {
                        in_record = false;
                        continue;
                }
                if (!in_record) {
                        if (n == cap) {
                                cap = cap ? 2 * cap : 64;
                                recs = realloc(recs, cap * sizeof(*recs));
                                assert_non_null(recs);
                        }
                        recs[n++] = (record) {};
                        in_record = true;
                }
                r = &recs[n - 1];
                colon = strstr(line, ": ");
                if (!colon)
                        fail_msg("%s:%zu: not \"key: value\"", path, line_no);
                *colon = 0;
                if (unescape(colon + 2, &v) < 0)
                        fail_msg("%s:%zu: bad escape", path, line_no);
                r->fields = realloc(r->fields, (r->n_fields + 1) * sizeof(field));
                assert_non_null(r->fields);
                r->fields[r->n_fields] = (field) { .key = strdup(line), .size = v.len };
                r->fields[r->n_fields++].value = strbuf_steal(&v);
        }
        fclose(f);
        *ret_n = n;
        return recs;
}

static char *need(const record *r, const char *key) {
        char *v = record_str(r, key);

        if (!v)
                fail_msg("record '%s' lacks '%s'", record_str(r, "name") ?: "?", key);
        return v;
}

static void test_botocore_vectors(void **state) {
        sigv4_key_cache shared = {};
        size_t n = 0, failed = 0;
        record *recs;

        (void) state;
        recs = read_vectors(vectors_path, &n);
        if (n < MIN_VECTORS)
                fail_msg("%s holds %zu requests, at least %d are required", vectors_path, n, MIN_VECTORS);

        for (size_t i = 0; i < n; i++) {
                const record *r = &recs[i];
                const char *name = need(r, "name");
                sigv4_header headers[32];
                aws_credentials creds = {
                        .access_key_id = need(r, "access-key-id"),
                        .secret_access_key = need(r, "secret"),
                        .session_token = record_str(r, "token"),
                };
                sigv4_request req = {
                        .method = need(r, "method"), .path = need(r, "path"), .query = record_str(r, "query"),
                        .headers = headers, .region = need(r, "region"), .service = need(r, "service"),
                        .now = (time_t) strtoll(need(r, "time"), NULL, 10),
                };
                _cleanup_(freep) char *host = NULL, *creq = NULL, *alone = NULL;
                const field *body = record_get(r, "body");
                sigv4_result res = {};
                bool ok = true;

                assert_non_null(body);
                req.payload = body->value;
                req.payload_size = body->size;
                for (size_t j = 0; j < r->n_fields; j++) {
                        char *colon;

                        if (!streq(r->fields[j].key, "header"))
                                continue;
                        assert_true(req.n_headers < ELEMENTSOF(headers));
                        colon = strchr(r->fields[j].value, ':');
                        assert_non_null(colon);
                        *colon = 0;
                        headers[req.n_headers++] = (sigv4_header) { r->fields[j].value, colon + 1 };
                }

                /* The Host header as aws_endpoint_host() derives it, which must be botocore's. */
                assert_int_equal(aws_endpoint_host(need(r, "endpoint"), &host, NULL), 0);
                if (!streq(host, need(r, "host"))) {
                        print_error("%s: host '%s', botocore '%s'\n", name, host, need(r, "host"));
                        ok = false;
                }
                req.host = host;

                assert_int_equal(sigv4_canonical_request(&req, &creds, &creq), 0);
                if (!streq(creq, need(r, "canonical"))) {
                        print_error("%s: canonical request differs\n--- ours\n%s\n--- botocore\n%s\n---\n",
                                    name, creq, need(r, "canonical"));
                        ok = false;
                }

                /* Signed once through a cache shared by all records, so every change of date,
                 * region, service and secret between them must be noticed, and once without. */
                assert_int_equal(sigv4_sign(&req, &creds, &shared, &res), 0);
                alone = sign_or_die(&req, &creds, NULL);
                if (!streq(res.amz_date, need(r, "amz-date")) || !streq(res.authorization, need(r, "authorization")) ||
                    !streq(alone, res.authorization)) {
                        print_error("%s:\n  ours     %s %s\n  uncached %s\n  botocore %s %s\n", name, res.amz_date,
                                    res.authorization, alone, need(r, "amz-date"), need(r, "authorization"));
                        ok = false;
                }
                sigv4_result_done(&res);
                if (!ok)
                        failed++;
        }
        print_message("%zu of %zu botocore-signed requests from %s match\n", n - failed, n, vectors_path);
        records_free(recs, n);
        sigv4_key_cache_clear(&shared);
        assert_int_equal(failed, 0);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_aws_suite),
                cmocka_unit_test(test_aws_suite_canonical_request),
                cmocka_unit_test(test_uri_encode),
                cmocka_unit_test(test_sha256_hex),
                cmocka_unit_test(test_key_cache),
                cmocka_unit_test(test_session_token),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_repeated_header),
                cmocka_unit_test(test_credentials),
                cmocka_unit_test(test_botocore_vectors),
        };
        _cleanup_(freep) char *beside = NULL, *self = NULL;

        vectors_path = getenv("SIGV4_VECTORS");
        if (isempty(vectors_path) && argc > 1)
                vectors_path = argv[1];
        if (isempty(vectors_path)) {
                self = strdup(argv[0]);
                if (!self || asprintf(&beside, "%s/sigv4-vectors.txt", dirname(self)) < 0)
                        return EXIT_FAILURE;
                vectors_path = beside;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
