/* SPDX-License-Identifier: MIT */
/*
 * client.c against the scripted local server (tests/unit/httpd.py), which
 * answers each call's TestScript in turn: what is retried and how often, the
 * error a failed call ends with, the single credentials refresh, pacing of a
 * burst, the signed headers as sent, and cancel/free that never call back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "aws-sync.h"
#include "aws/client.h"
#include "aws/endpoint.h"
#include "aws/sigv4.h"
#include "httpd-helper.h"

#define ACCESS_KEY "AKIDEXAMPLE"
#define SECRET_KEY "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SESSION_TOKEN "session-token-example"

static test_httpd httpd;
static unsigned key_serial;

static int setup_all(void **state) {
        (void) state;
        /* The chain must answer from the explicit keys, not from this machine's environment. */
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");
        unsetenv("AWS_SESSION_TOKEN");
        return test_httpd_start(&httpd, 300) < 0 ? -1 : 0;
}

static int teardown_all(void **state) {
        (void) state;
        test_httpd_stop(&httpd);
        return 0;
}

typedef struct trace_record {
        unsigned attempt;
        long status;
        char *error_code;
        char *request_id;
        usec_t paced;
        usec_t next_delay;
        const char *decision;
} trace_record;

typedef struct fixture {
        sd_event *event;
        http_client *http;
        creds_provider *creds;
        aws_pacer *pacer;
        aws_client *client;
        trace_record traces[64];
        unsigned n_traces;
        int64_t skews[8];               /* offsets the clock_skew callback reported */
        unsigned n_skews;
} fixture;

static void record_clock_skew(const aws_clock_skew *s, void *userdata) {
        fixture *f = userdata;

        assert_true(f->n_skews < ELEMENTSOF(f->skews));
        assert_string_equal(s->service, "ec2");
        assert_string_equal(s->region, "us-east-1");
        assert_string_equal(s->error_code, "RequestExpired");
        f->skews[f->n_skews++] = s->offset;
}

static void record_trace(const aws_call_trace *t, void *userdata) {
        fixture *f = userdata;
        trace_record *r;

        assert_true(f->n_traces < ELEMENTSOF(f->traces));
        assert_string_equal(t->service, "ec2");
        assert_string_equal(t->region, "us-east-1");
        assert_non_null(t->action);
        r = &f->traces[f->n_traces++];
        *r = (trace_record) {
                .attempt = t->attempt,
                .status = t->status,
                .error_code = t->error_code ? strdup(t->error_code) : NULL,
                .request_id = t->request_id ? strdup(t->request_id) : NULL,
                .paced = t->paced,
                .next_delay = t->next_delay,
                .decision = t->decision,
        };
}

static void make_client(fixture *f, unsigned max_attempts) {
        aws_client_options o = {
                .service = "ec2",
                .region = "us-east-1",
                .endpoint_url = httpd.base,
                .max_attempts = max_attempts,
                .pacer = f->pacer,
                .trace = record_trace,
                .clock_skew = record_clock_skew,
                .trace_userdata = f,
        };

        f->client = aws_client_free(f->client);
        assert_int_equal(aws_client_new(f->http, f->creds, &o, &f->client), 0);
}

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        creds_options co = {
                .access_key_id = ACCESS_KEY,
                .secret_access_key = SECRET_KEY,
                .session_token = SESSION_TOKEN,
        };

        assert_non_null(f);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_client_new(f->event, &f->http), 0);
        assert_int_equal(creds_provider_new_chain(f->http, &co, &f->creds), 0);
        make_client(f, 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        aws_client_free(f->client);
        creds_provider_free(f->creds);
        aws_pacer_free(f->pacer);
        http_client_free(f->http);
        sd_event_unref(f->event);
        for (unsigned i = 0; i < f->n_traces; i++) {
                free(f->traces[i].error_code);
                free(f->traces[i].request_id);
        }
        free(f);
        return 0;
}

/* A query whose answers the server takes from script, under a key of its own. */
static aws_query *scripted(const char *action, const char *script) {
        aws_query *q = NULL;
        char key[32];

        snprintf(key, sizeof(key), "k%u-%d", ++key_serial, (int) getpid());
        assert_int_equal(aws_query_new(action, &q), 0);
        assert_int_equal(aws_query_add(q, "TestScript", script), 0);
        assert_int_equal(aws_query_add(q, "TestKey", key), 0);
        return q;
}

static char *field(xmlDoc *doc, const char *name) {
        char *v = NULL;

        assert_int_equal(xml_child_text(xmlDocGetRootElement(doc), name, &v), 0);
        return v;
}

static bool is_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdef", s[i]))
                        return false;
        return s[n] == 0;
}

static void test_signed_request(void **state) {
        fixture *f = *state;
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(freep) char *auth = NULL, *date = NULL, *token = NULL, *ctype = NULL, *host = NULL,
                *version = NULL, *attempt = NULL, *body = NULL, *expected_host = NULL;
        _cleanup_(aws_query_freep) aws_query *copy = NULL;
        aws_credentials creds = { .access_key_id = (char *) ACCESS_KEY, .secret_access_key = (char *) SECRET_KEY,
                                  .session_token = (char *) SESSION_TOKEN };
        sigv4_header h[] = { { "content-type", "application/x-www-form-urlencoded; charset=utf-8" } };
        sigv4_result sig = {};
        aws_error err = {};
        aws_query *q = scripted("DescribeImages", "ok");
        struct tm tm = {};
        char prefix[256];

        assert_int_equal(aws_query_copy(q, &copy), 0);
        assert_int_equal(aws_client_call_sync(f->client, q, &doc, &err), 0);
        assert_non_null(doc);
        assert_null(err.code);

        auth = field(doc, "Authorization");
        date = field(doc, "XAmzDate");
        token = field(doc, "XAmzSecurityToken");
        ctype = field(doc, "ContentType");
        host = field(doc, "Host");
        version = field(doc, "Version");
        attempt = field(doc, "Attempt");

        assert_string_equal(attempt, "1");
        assert_string_equal(version, "2016-11-15");
        assert_string_equal(ctype, "application/x-www-form-urlencoded; charset=utf-8");
        assert_string_equal(token, SESSION_TOKEN);
        assert_int_equal(aws_endpoint_host(httpd.base, &expected_host, NULL), 0);
        assert_string_equal(host, expected_host);

        /* X-Amz-Date: YYYYMMDDTHHMMSSZ; the credential scope names the same day. */
        assert_int_equal(strlen(date), 16);
        assert_non_null(strptime(date, "%Y%m%dT%H%M%SZ", &tm));
        snprintf(prefix, sizeof(prefix), "AWS4-HMAC-SHA256 Credential=" ACCESS_KEY "/%.8s/us-east-1/ec2/aws4_request, "
                 "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=", date);
        assert_true(startswith(auth, prefix));
        assert_true(is_hex(auth + strlen(prefix), 64));

        /* The signature is over what was sent: the same request, signed here, gives the same header. */
        assert_int_equal(aws_query_encode(copy, "2016-11-15", &body), 0);
        assert_int_equal(sigv4_sign(&(sigv4_request) {
                                .method = "POST", .host = host, .path = "/",
                                .headers = h, .n_headers = 1,
                                .payload = body, .payload_size = strlen(body),
                                .region = "us-east-1", .service = "ec2", .now = timegm(&tm),
                        }, &creds, NULL, &sig), 0);
        assert_string_equal(sig.authorization, auth);
        sigv4_result_done(&sig);

        assert_int_equal(f->n_traces, 1);
        assert_int_equal(f->traces[0].attempt, 1);
        assert_int_equal(f->traces[0].status, 200);
        assert_null(f->traces[0].error_code);
        assert_non_null(f->traces[0].request_id);
        assert_int_equal(f->traces[0].next_delay, 0);
        assert_string_equal(f->traces[0].decision, "success");
}

static void test_throttled_then_ok(void **state) {
        fixture *f = *state;
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(freep) char *attempt = NULL;
        aws_error err = {};

        assert_int_equal(aws_client_call_sync(f->client, scripted("DescribeImages", "throttle,throttle,ok"), &doc, &err), 0);
        attempt = field(doc, "Attempt");
        assert_string_equal(attempt, "3");

        assert_int_equal(f->n_traces, 3);
        for (unsigned i = 0; i < 2; i++) {
                assert_int_equal(f->traces[i].attempt, i + 1);
                assert_int_equal(f->traces[i].status, 503);
                assert_string_equal(f->traces[i].error_code, "RequestLimitExceeded");
                assert_string_equal(f->traces[i].decision, "retry");
                assert_true(f->traces[i].next_delay >= 1);
        }
        /* Throttling backs off from 500 ms: at most 500 ms, then 1 s. */
        assert_true(f->traces[0].next_delay <= 500 * USEC_PER_MSEC);
        assert_true(f->traces[1].next_delay <= 1000 * USEC_PER_MSEC);
        assert_int_equal(f->traces[2].status, 200);
        assert_string_equal(f->traces[2].decision, "success");
}

static void test_internal_then_ok(void **state) {
        fixture *f = *state;
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        aws_error err = {};

        assert_int_equal(aws_client_call_sync(f->client, scripted("CreateImage", "internal,ok"), &doc, &err), 0);
        assert_int_equal(f->n_traces, 2);
        assert_int_equal(f->traces[0].status, 500);
        assert_string_equal(f->traces[0].error_code, "InternalError");
        assert_true(f->traces[0].next_delay <= 100 * USEC_PER_MSEC);
        assert_string_equal(f->traces[1].decision, "success");
}

static void test_reset_then_ok(void **state) {
        fixture *f = *state;
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        aws_error err = {};

        assert_int_equal(aws_client_call_sync(f->client, scripted("DescribeImages", "reset,ok"), &doc, &err), 0);
        assert_int_equal(f->n_traces, 2);
        assert_int_equal(f->traces[0].status, 0);
        assert_null(f->traces[0].error_code);
        assert_string_equal(f->traces[0].decision, "retry");
}

static void test_client_error_not_retried(void **state) {
        fixture *f = *state;
        xmlDoc *doc = NULL;
        aws_error err = {};

        assert_int_equal(aws_client_call_sync(f->client, scripted("CreateImage", "invalid,ok"), &doc, &err), -EREMOTEIO);
        assert_null(doc);
        assert_int_equal(err.status, 400);
        assert_string_equal(err.code, "InvalidParameterValue");
        assert_string_equal(err.message, "Value (x) for parameter y is invalid.");
        assert_non_null(err.request_id);
        assert_true(startswith(err.request_id, "req-"));
        assert_int_equal(f->n_traces, 1);
        assert_string_equal(f->traces[0].decision, "not retryable");
        assert_int_equal(f->traces[0].next_delay, 0);
        aws_error_done(&err);
}

static void test_attempts_exhausted(void **state) {
        fixture *f = *state;
        xmlDoc *doc = NULL;
        aws_error err = {};

        assert_int_equal(aws_client_call_sync(f->client, scripted("DescribeImages", "throttle"), &doc, &err), -EREMOTEIO);
        assert_null(doc);
        /* The last answer's error: its code and its request id. */
        assert_int_equal(err.status, 503);
        assert_string_equal(err.code, "RequestLimitExceeded");
        assert_int_equal(f->n_traces, 3);
        assert_string_equal(err.request_id, f->traces[2].request_id);
        assert_string_not_equal(f->traces[1].request_id, f->traces[2].request_id);
        assert_string_equal(f->traces[2].decision, "maximum attempts reached");
        assert_int_equal(f->traces[2].next_delay, 0);
        aws_error_done(&err);

        /* Configurable: two attempts in all. */
        make_client(f, 2);
        f->n_traces = 0;
        for (unsigned i = 0; i < 3; i++) {
                free(f->traces[i].error_code);
                free(f->traces[i].request_id);
        }
        assert_int_equal(aws_client_call_sync(f->client, scripted("DescribeImages", "internal"), &doc, &err), -EREMOTEIO);
        assert_string_equal(err.code, "InternalError");
        assert_int_equal(f->n_traces, 2);
        aws_error_done(&err);
}

static void test_credentials_refreshed_once(void **state) {
        fixture *f = *state;
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        xmlDoc *none = NULL;
        aws_error err = {};

        assert_int_equal(aws_client_call_sync(f->client, scripted("DescribeImages", "authfailure,ok"), &doc, &err), 0);
        assert_int_equal(f->n_traces, 2);
        assert_string_equal(f->traces[0].error_code, "AuthFailure");
        assert_string_equal(f->traces[0].decision, "refresh credentials and retry");

        /* Rejected again after the refresh: a clear failure with AWS's error. */
        assert_int_equal(aws_client_call_sync(f->client, scripted("DescribeImages", "expired"), &none, &err), -EREMOTEIO);
        assert_null(none);
        assert_string_equal(err.code, "RequestExpired");
        assert_int_equal(f->n_traces, 4);
        assert_string_equal(f->traces[2].decision, "refresh credentials and retry");
        assert_string_equal(f->traces[3].decision, "credentials rejected after a refresh");
        aws_error_done(&err);
}

/* A server whose clock is 20 minutes ahead: one correction, kept for the next call (issue 10, item 7b). */
static void test_clock_skew_corrected_once_and_kept(void **state) {
        fixture *f = *state;
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL, *doc2 = NULL;
        aws_error err = {};
        int64_t offset;

        assert_int_equal(aws_client_clock_offset(f->client), 0);
        assert_int_equal(aws_client_call_sync(f->client, scripted("DescribeImages", "skewed"), &doc, &err), 0);
        assert_int_equal(f->n_traces, 2);
        assert_int_equal(f->traces[0].status, 400);
        assert_string_equal(f->traces[0].error_code, "RequestExpired");
        assert_string_equal(f->traces[0].decision, "correct the clock and retry");
        assert_string_equal(f->traces[1].decision, "success");
        offset = aws_client_clock_offset(f->client);
        assert_true(offset >= 1200 - 2 && offset <= 1200 + 2);
        assert_int_equal(f->n_skews, 1);
        assert_int_equal(f->skews[0], offset);

        /* The next call is signed with the corrected clock at once, and nothing more is reported. */
        assert_int_equal(aws_client_call_sync(f->client, scripted("DescribeImages", "skewed"), &doc2, &err), 0);
        assert_int_equal(f->n_traces, 3);
        assert_string_equal(f->traces[2].decision, "success");
        assert_int_equal(f->n_skews, 1);
}

/* A server that keeps refusing: the clock is corrected once, never in a loop. */
static void test_clock_skew_corrected_at_most_once_a_call(void **state) {
        fixture *f = *state;
        _cleanup_(aws_query_freep) aws_query *q = scripted("DescribeImages", "skewed");
        xmlDoc *doc = NULL;
        aws_error err = {};

        assert_int_equal(aws_query_add(q, "TestSkewRefuse", "1"), 0);
        assert_int_equal(aws_client_call_sync(f->client, TAKE_PTR(q), &doc, &err), -EREMOTEIO);
        assert_null(doc);
        assert_string_equal(err.code, "RequestExpired");
        assert_int_equal(f->n_traces, 3);
        assert_string_equal(f->traces[0].decision, "correct the clock and retry");
        /* Signed with the server's time and refused again: not the clock, so the credentials. */
        assert_string_equal(f->traces[1].decision, "refresh credentials and retry");
        assert_string_equal(f->traces[2].decision, "credentials rejected after a refresh");
        assert_int_equal(f->n_skews, 1);
        aws_error_done(&err);
}

/* Bytes that are not HTTP, then XML cut in half: both transient, then the answer (issue 10, item 11). */
static void test_unreadable_answers_are_retried(void **state) {
        fixture *f = *state;
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        aws_error err = {};

        make_client(f, 5);
        assert_int_equal(aws_client_call_sync(f->client, scripted("DescribeInstances", "garbled,malformed,ok"), &doc,
                                              &err), 0);
        assert_int_equal(f->n_traces, 3);
        assert_int_equal(f->traces[0].status, 0);
        assert_string_equal(f->traces[0].decision, "retry");
        assert_int_equal(f->traces[1].status, 200);
        assert_null(f->traces[1].error_code);
        assert_string_equal(f->traces[1].decision, "retry");
        assert_string_equal(f->traces[2].decision, "success");
}

typedef struct async_result {
        unsigned n_done;
        int results[16];
        bool called[16];
        aws_client *free_in_callback;
        fixture *f;
} async_result;

typedef struct async_slot {
        async_result *res;
        unsigned index;
} async_slot;

static void async_done(aws_call *call, int r, xmlDoc *doc, const aws_error *err, void *userdata) {
        async_slot *s = userdata;

        (void) call;
        assert_true(r >= 0 ? doc != NULL && err == NULL : doc == NULL && err != NULL);
        assert_false(s->res->called[s->index]);
        s->res->called[s->index] = true;
        s->res->results[s->index] = r;
        s->res->n_done++;
        if (s->res->f && s->res->f->client == s->res->free_in_callback && s->res->free_in_callback)
                s->res->f->client = aws_client_free(s->res->f->client);
}

static void test_pacing_burst(void **state) {
        fixture *f = *state;
        pace_bucket_config cfg[_PACE_CATEGORY_MAX];
        async_result res = {};
        async_slot slots[5];
        unsigned unpaced = 0;
        usec_t start;

        memcpy(cfg, pace_default_config, sizeof(cfg));
        cfg[PACE_MUTATING] = (pace_bucket_config) { .capacity = 2, .refill_per_sec = 10 };
        assert_int_equal(aws_pacer_new(cfg, &f->pacer), 0);
        make_client(f, 0);

        start = now_usec(CLOCK_MONOTONIC);
        for (unsigned i = 0; i < ELEMENTSOF(slots); i++) {
                slots[i] = (async_slot) { .res = &res, .index = i };
                assert_int_equal(aws_client_call(f->client, scripted("CreateImage", "ok"), async_done, &slots[i], NULL), 0);
        }
        while (res.n_done < ELEMENTSOF(slots))
                assert_true(sd_event_run(f->event, 10 * USEC_PER_SEC) > 0);

        for (unsigned i = 0; i < ELEMENTSOF(slots); i++)
                assert_int_equal(res.results[i], 0);
        assert_int_equal(f->n_traces, 5);
        for (unsigned i = 0; i < f->n_traces; i++)
                if (f->traces[i].paced == 0)
                        unpaced++;
        /* Two tokens in the bucket: two go at once, three wait for the refill (100 ms each). */
        assert_int_equal(unpaced, 2);
        assert_true(now_usec(CLOCK_MONOTONIC) - start >= 250 * USEC_PER_MSEC);
        assert_true(aws_pacer_tokens(f->pacer, "CreateImage", now_usec(CLOCK_MONOTONIC)) < 2);
        /* Another action has a bucket of its own. */
        assert_true(aws_pacer_tokens(f->pacer, "CreateSnapshot", now_usec(CLOCK_MONOTONIC)) == 2);
}

static void test_cancel_and_free(void **state) {
        fixture *f = *state;
        async_result res = {};
        async_slot slots[4];
        aws_call *hanging, *backing_off;
        pace_bucket_config cfg[_PACE_CATEGORY_MAX];

        memcpy(cfg, pace_default_config, sizeof(cfg));
        cfg[PACE_MUTATING] = (pace_bucket_config) { .capacity = 1, .refill_per_sec = 0.01 };
        assert_int_equal(aws_pacer_new(cfg, &f->pacer), 0);
        make_client(f, 0);

        for (unsigned i = 0; i < ELEMENTSOF(slots); i++)
                slots[i] = (async_slot) { .res = &res, .index = i };

        /* In flight, cancelled. */
        assert_int_equal(aws_client_call(f->client, scripted("DescribeImages", "hang"), async_done, &slots[0], &hanging), 0);
        /* Backing off after a throttle, cancelled by the free below. */
        assert_int_equal(aws_client_call(f->client, scripted("DescribeImages", "throttle"), async_done, &slots[1], &backing_off), 0);
        /* One that paces through, one that waits ~100 s for a token. */
        assert_int_equal(aws_client_call(f->client, scripted("CreateImage", "hang"), async_done, &slots[2], NULL), 0);
        assert_int_equal(aws_client_call(f->client, scripted("CreateImage", "ok"), async_done, &slots[3], NULL), 0);

        while (f->n_traces < 1)
                assert_true(sd_event_run(f->event, 5 * USEC_PER_SEC) > 0);
        assert_string_equal(f->traces[0].decision, "retry");
        aws_call_cancel(hanging);
        f->client = aws_client_free(f->client);

        for (unsigned i = 0; i < 5; i++)
                assert_true(sd_event_run(f->event, 100 * USEC_PER_MSEC) >= 0);
        assert_int_equal(res.n_done, 0);
        assert_int_equal(http_client_in_flight(f->http), 0);
}

static void test_free_from_callback(void **state) {
        fixture *f = *state;
        async_result res = { .f = f };
        async_slot slots[2];

        for (unsigned i = 0; i < ELEMENTSOF(slots); i++)
                slots[i] = (async_slot) { .res = &res, .index = i };
        res.free_in_callback = f->client;
        assert_int_equal(aws_client_call(f->client, scripted("DescribeImages", "hang"), async_done, &slots[0], NULL), 0);
        assert_int_equal(aws_client_call(f->client, scripted("DescribeImages", "ok"), async_done, &slots[1], NULL), 0);
        while (res.n_done < 1)
                assert_true(sd_event_run(f->event, 5 * USEC_PER_SEC) > 0);
        assert_null(f->client);
        for (unsigned i = 0; i < 3; i++)
                assert_true(sd_event_run(f->event, 100 * USEC_PER_MSEC) >= 0);
        assert_int_equal(res.n_done, 1);
        assert_true(res.called[1]);
        assert_int_equal(http_client_in_flight(f->http), 0);
}

static void test_bad_options(void **state) {
        fixture *f = *state;
        aws_client *c = NULL;
        aws_client_options o = { .service = "ec2", .region = "mars-north-1" };

        assert_int_equal(aws_client_new(f->http, f->creds, &o, &c), -EINVAL);
        o = (aws_client_options) { .service = "ec2", .region = "us-east-1", .endpoint_url = "ftp://x" };
        assert_int_equal(aws_client_new(f->http, f->creds, &o, &c), -EINVAL);
        assert_null(c);
        /* The call takes the query also on failure: nothing leaks. */
        assert_int_equal(aws_client_call(f->client, scripted("X", "ok"), NULL, NULL, NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_signed_request, setup, teardown),
                cmocka_unit_test_setup_teardown(test_throttled_then_ok, setup, teardown),
                cmocka_unit_test_setup_teardown(test_internal_then_ok, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reset_then_ok, setup, teardown),
                cmocka_unit_test_setup_teardown(test_client_error_not_retried, setup, teardown),
                cmocka_unit_test_setup_teardown(test_attempts_exhausted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_credentials_refreshed_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_clock_skew_corrected_once_and_kept, setup, teardown),
                cmocka_unit_test_setup_teardown(test_clock_skew_corrected_at_most_once_a_call, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_answers_are_retried, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pacing_burst, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel_and_free, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_from_callback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
        };

        return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
