/* SPDX-License-Identifier: MIT */
/*
 * http.c against the scripted local server (tests/unit/httpd.py): answers,
 * transport failures and their errno, timeouts that end on time, keep-alive
 * reuse, many calls at once, the in-flight cap and its FIFO queue, cancel and
 * free that never call back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "aws-sync.h"
#include "aws/http.h"
#include "aws/http-transfer.h"
#include "httpd-helper.h"

static test_httpd httpd;

static int setup_all(void **state) {
        (void) state;
        return test_httpd_start(&httpd, 300) < 0 ? -1 : 0;
}

static int teardown_all(void **state) {
        (void) state;
        test_httpd_stop(&httpd);
        return 0;
}

typedef struct fixture {
        sd_event *event;
        http_client *client;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_client_new(f->event, &f->client), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        http_client_free(f->client);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

static void get(fixture *f, const char *path, usec_t timeout, size_t max_size, http_response *r) {
        char url[256];
        http_request req = {
                .method = "GET",
                .url = test_httpd_url(&httpd, path, url),
                .timeout = timeout,
                .max_response_size = max_size,
        };

        assert_int_equal(http_client_run(f->client, &req, r), 0);
}

static void test_errno_table(void **state) {
        (void) state;
        assert_int_equal(http_errno_from_curl(CURLE_OK), 0);
        assert_int_equal(http_errno_from_curl(CURLE_OPERATION_TIMEDOUT), -ETIMEDOUT);
        assert_int_equal(http_errno_from_curl(CURLE_COULDNT_CONNECT), -ECONNREFUSED);
        assert_int_equal(http_errno_from_curl(CURLE_COULDNT_RESOLVE_HOST), -EHOSTUNREACH);
        assert_int_equal(http_errno_from_curl(CURLE_RECV_ERROR), -ECONNRESET);
        assert_int_equal(http_errno_from_curl(CURLE_SEND_ERROR), -ECONNRESET);
        assert_int_equal(http_errno_from_curl(CURLE_GOT_NOTHING), -ECONNRESET);
        assert_int_equal(http_errno_from_curl(CURLE_PEER_FAILED_VERIFICATION), -EPROTO);
        assert_int_equal(http_errno_from_curl(CURLE_SSL_CONNECT_ERROR), -EPROTO);
        assert_int_equal(http_errno_from_curl(CURLE_SSL_CACERT_BADFILE), -EPROTO);
        assert_int_equal(http_errno_from_curl(CURLE_FILESIZE_EXCEEDED), -EFBIG);
        assert_int_equal(http_errno_from_curl(CURLE_OUT_OF_MEMORY), -ENOMEM);
        assert_int_equal(http_errno_from_curl(CURLE_UNSUPPORTED_PROTOCOL), -EPROTONOSUPPORT);
        assert_int_equal(http_errno_from_curl(CURLE_FTP_WEIRD_PASV_REPLY), -EIO);
}

/* The header callback's parser, line by line as curl hands them over (found by fuzz-http-headers:
 * a bare CR inside x-amzn-RequestId was kept and reached log lines). */
static void test_header_lines(void **state) {
        static const char *const lines[] = {
                "HTTP/1.1 503 Service Unavailable\r\n",
                "X-Amzn-RequestId: \t 7a62c49f-347e-4fc4-9331-6e8eEXAMPLE \r\n",
                "Date: Tue, 01 Dec 2026 09:00:00 GMT\r\n",
                "x-amzn-requestid: a\rb\r\n",            /* a control character: ignored */
                "Date: garbage\r\n",                      /* unreadable: no date */
                "\r\n",
        };
        http_transfer t = {};

        (void) state;
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(http_transfer_header_line(&t, lines[i], strlen(lines[i])), 0);
        assert_string_equal(t.request_id, "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
        assert_int_equal(t.date, 1796115600);
        assert_int_equal(http_transfer_header_line(&t, lines[3], strlen(lines[3])), 0);
        assert_string_equal(t.request_id, "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
        for (size_t i = 4; i < ELEMENTSOF(lines); i++)
                assert_int_equal(http_transfer_header_line(&t, lines[i], strlen(lines[i])), 0);
        assert_int_equal(t.date, 0);
        free(t.request_id);
}

static void test_sync_ok(void **state) {
        fixture *f = *state;
        http_response r = {};

        get(f, "/ok", 0, 0, &r);
        assert_int_equal(r.error, 0);
        assert_null(r.error_message);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_size, 5);
        assert_string_equal(r.body, "hello");
        assert_string_equal(r.request_id, "req-ok");
        /* The server's Date header, for clock skew: its clock is this one. */
        assert_true(r.date > 0 && labs((long) (r.date - time(NULL))) <= 5);
        assert_true(r.elapsed > 0);
        assert_int_equal(http_client_in_flight(f->client), 0);
        http_response_done(&r);
        http_response_done(&r);         /* idempotent on a zeroed response */
}

static void test_post_headers(void **state) {
        fixture *f = *state;
        const char *headers[] = { "Content-Type: application/x-www-form-urlencoded; charset=utf-8", NULL };
        _cleanup_(freep) char *body = malloc(3001);
        http_response r = {};
        char url[256];
        http_request req = {
                .method = "POST",
                .url = test_httpd_url(&httpd, "/echo", url),
                .headers = headers,
                .body = body,
                .body_size = 3000,
        };

        assert_non_null(body);
        memset(body, 'a', 3000);
        body[0] = 'k';
        body[1] = '=';
        body[3000] = 0;
        assert_int_equal(http_client_run(f->client, &req, &r), 0);
        assert_int_equal(r.error, 0);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body, "POST /echo\n"));
        assert_non_null(strstr(r.body, "User-Agent: amirotd/" VERSION "\n"));
        assert_non_null(strstr(r.body, "Content-Type: application/x-www-form-urlencoded; charset=utf-8\n"));
        /* A 3000-byte body goes without an "Expect: 100-continue" round trip. */
        assert_null(strstr(r.body, "Expect:"));
        assert_non_null(strstr(r.body, "body: k=aaa"));
        assert_int_equal(strlen(strstr(r.body, "body: ")), strlen("body: ") + 3000 + 1);
        http_response_done(&r);
}

static void test_error_statuses(void **state) {
        fixture *f = *state;
        http_response r = {};

        /* An error status is an answer, not a transport failure. */
        get(f, "/throttle", 0, 0, &r);
        assert_int_equal(r.error, 0);
        assert_int_equal(r.status, 503);
        assert_non_null(strstr(r.body, "<Code>RequestLimitExceeded</Code>"));
        http_response_done(&r);

        get(f, "/internal", 0, 0, &r);
        assert_int_equal(r.error, 0);
        assert_int_equal(r.status, 500);
        assert_non_null(strstr(r.body, "<Code>InternalError</Code>"));
        http_response_done(&r);

        get(f, "/redirect", 0, 0, &r);
        assert_int_equal(r.error, 0);
        assert_int_equal(r.status, 302);         /* not followed */
        assert_string_equal(r.body, "moved\n");
        http_response_done(&r);
}

static void test_unsupported_protocol(void **state) {
        fixture *f = *state;
        http_response r = {};
        http_request req = { .url = "ftp://127.0.0.1/x" };

        assert_int_equal(http_client_run(f->client, &req, &r), 0);
        assert_int_equal(r.error, -EPROTONOSUPPORT);
        assert_non_null(r.error_message);
        http_response_done(&r);
}

/* An answer that is not HTTP: curl's "Received HTTP/0.9" is an unreadable answer, not a URL curl cannot speak. */
static void test_garbled_answer(void **state) {
        fixture *f = *state;
        http_response r = {};

        get(f, "/garbled", 0, 0, &r);
        assert_int_equal(r.error, -EBADMSG);
        assert_non_null(r.error_message);
        http_response_done(&r);

        get(f, "/ok", 0, 0, &r);
        assert_int_equal(r.status, 200);
        http_response_done(&r);
}

static void test_timeout(void **state) {
        fixture *f = *state;
        http_response r = {};
        usec_t start = now_usec(CLOCK_MONOTONIC), took;

        get(f, "/hang", 500 * USEC_PER_MSEC, 0, &r);
        took = now_usec(CLOCK_MONOTONIC) - start;
        assert_int_equal(r.error, -ETIMEDOUT);
        assert_int_equal(r.status, 0);
        assert_non_null(r.error_message);
        assert_true(took >= 450 * USEC_PER_MSEC);
        assert_true(took < 5 * USEC_PER_SEC);
        http_response_done(&r);
}

static void test_connection_refused(void **state) {
        fixture *f = *state;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        http_response r = {};
        http_request req = {};
        char url[64];
        int fd;

        /* A port that was free a moment ago and has no listener. */
        fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
        close(fd);
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/", ntohs(sa.sin_port));
        req.url = url;

        assert_int_equal(http_client_run(f->client, &req, &r), 0);
        assert_int_equal(r.error, -ECONNREFUSED);
        assert_non_null(r.error_message);
        http_response_done(&r);
}

static void test_reset(void **state) {
        fixture *f = *state;
        http_response r = {};

        get(f, "/reset", 0, 0, &r);
        assert_int_equal(r.error, -ECONNRESET);
        assert_non_null(r.error_message);
        http_response_done(&r);

        /* The client is fine afterwards. */
        get(f, "/ok", 0, 0, &r);
        assert_int_equal(r.status, 200);
        http_response_done(&r);
}

static void test_too_big(void **state) {
        fixture *f = *state;
        http_response r = {};

        /* Announced by Content-Length. */
        get(f, "/big", 0, 1024 * 1024, &r);
        assert_int_equal(r.error, -EFBIG);
        assert_null(r.body);
        http_response_done(&r);

        /* Chunked: only the bytes tell. */
        get(f, "/big?chunked=1", 0, 1024 * 1024, &r);
        assert_int_equal(r.error, -EFBIG);
        assert_null(r.body);
        http_response_done(&r);

        /* Within the default maximum, all 10 MB arrive. */
        get(f, "/big?chunked=1", 0, 0, &r);
        assert_int_equal(r.error, 0);
        assert_int_equal(r.body_size, 10 * 1024 * 1024);
        http_response_done(&r);
}

static void test_drip(void **state) {
        fixture *f = *state;
        http_response r = {};

        get(f, "/drip?n=5&ms=100", 0, 0, &r);
        assert_int_equal(r.error, 0);
        assert_string_equal(r.body, "ddddd");
        assert_true(r.elapsed >= 350 * USEC_PER_MSEC);
        http_response_done(&r);

        /* The total timeout holds even while bytes keep trickling in. */
        get(f, "/drip?n=50&ms=100", 300 * USEC_PER_MSEC, 0, &r);
        assert_int_equal(r.error, -ETIMEDOUT);
        assert_true(r.elapsed < 3 * USEC_PER_SEC);
        http_response_done(&r);
}

static unsigned stats(fixture *f, bool reset_peak, unsigned *ret_peak) {
        http_response r = {};
        unsigned conns = 0, peak = 0;

        get(f, reset_peak ? "/stats?reset=1" : "/stats", 0, 0, &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(sscanf(r.body, "connections=%u peak=%u", &conns, &peak), 2);
        http_response_done(&r);
        if (ret_peak)
                *ret_peak = peak;
        return conns;
}

static void test_keepalive(void **state) {
        fixture *f = *state;
        unsigned before, after;

        before = stats(f, false, NULL);
        for (unsigned i = 0; i < 10; i++) {
                http_response r = {};

                get(f, "/ok", 0, 0, &r);
                assert_int_equal(r.status, 200);
                http_response_done(&r);
        }
        after = stats(f, false, NULL);
        /* Eleven requests after the first, and no new connection. */
        assert_int_equal(after, before);
}

typedef struct collector {
        unsigned n_done;
        unsigned order[64];
        unsigned max_in_flight_seen;
        int errors[64];
        char *bodies[64];
        http_client *client;
} collector;

typedef struct slot {
        collector *col;
        unsigned index;
} slot;

static void collect(http_call *call, http_response *r, void *userdata) {
        slot *s = userdata;
        collector *col = s->col;
        unsigned in_flight = http_client_in_flight(col->client);

        (void) call;
        if (in_flight > col->max_in_flight_seen)
                col->max_in_flight_seen = in_flight;
        col->order[col->n_done++] = s->index;
        col->errors[s->index] = r->error;
        col->bodies[s->index] = TAKE_PTR(r->body);
}

static void collector_done(collector *col) {
        for (size_t i = 0; i < ELEMENTSOF(col->bodies); i++)
                free(col->bodies[i]);
}

static bool all_done(const collector *col, unsigned n) {
        return col->n_done == n;
}

static void run_until_n(fixture *f, collector *col, unsigned n) {
        while (!all_done(col, n))
                assert_true(sd_event_run(f->event, 10 * USEC_PER_SEC) > 0);
}

static void test_many_concurrent(void **state) {
        fixture *f = *state;
        collector col = { .client = f->client };
        slot slots[50];
        char url[256], path[64];

        for (unsigned i = 0; i < ELEMENTSOF(slots); i++) {
                http_request req = { .url = url };

                slots[i] = (slot) { .col = &col, .index = i };
                snprintf(path, sizeof(path), "/sleep?ms=20&body=n%u", i);
                test_httpd_url(&httpd, path, url);
                assert_int_equal(http_client_submit(f->client, &req, collect, &slots[i], NULL), 0);
        }
        assert_int_equal(http_client_in_flight(f->client), 50);
        assert_int_equal(http_client_queued(f->client), 0);
        run_until_n(f, &col, 50);
        for (unsigned i = 0; i < 50; i++) {
                char expect[16];

                snprintf(expect, sizeof(expect), "n%u", i);
                assert_int_equal(col.errors[i], 0);
                assert_string_equal(col.bodies[i], expect);
        }
        assert_int_equal(http_client_in_flight(f->client), 0);
        collector_done(&col);
}

static void test_max_in_flight_fifo(void **state) {
        fixture *f = *state;
        collector col = { .client = f->client };
        slot slots[4];
        char url[256];

        http_client_set_max_in_flight(f->client, 1);
        for (unsigned i = 0; i < ELEMENTSOF(slots); i++) {
                http_request req = { .url = test_httpd_url(&httpd, "/sleep?ms=30", url) };

                slots[i] = (slot) { .col = &col, .index = i };
                assert_int_equal(http_client_submit(f->client, &req, collect, &slots[i], NULL), 0);
        }
        assert_int_equal(http_client_in_flight(f->client), 1);
        assert_int_equal(http_client_queued(f->client), 3);
        run_until_n(f, &col, 4);
        for (unsigned i = 0; i < 4; i++) {
                assert_int_equal(col.order[i], i);
                assert_int_equal(col.errors[i], 0);
        }
        assert_int_equal(col.max_in_flight_seen, 0);    /* the finished call no longer counts */
        collector_done(&col);
}

static void test_max_in_flight_peak(void **state) {
        fixture *f = *state;
        collector col = { .client = f->client };
        slot slots[6];
        unsigned peak;
        char url[256];

        (void) stats(f, true, NULL);
        http_client_set_max_in_flight(f->client, 2);
        for (unsigned i = 0; i < ELEMENTSOF(slots); i++) {
                http_request req = { .url = test_httpd_url(&httpd, "/sleep?ms=150", url) };

                slots[i] = (slot) { .col = &col, .index = i };
                assert_int_equal(http_client_submit(f->client, &req, collect, &slots[i], NULL), 0);
        }
        assert_int_equal(http_client_in_flight(f->client), 2);
        assert_int_equal(http_client_queued(f->client), 4);
        run_until_n(f, &col, 6);
        assert_true(col.max_in_flight_seen <= 1);
        /* The server saw two at once, never three. */
        (void) stats(f, false, &peak);
        assert_int_equal(peak, 2);
        collector_done(&col);
}

static void never_called(http_call *call, http_response *r, void *userdata) {
        (void) call;
        (void) r;
        (void) userdata;
        fail_msg("a cancelled call called back");
}

typedef struct cancel_ctx {
        http_call *victim;
        bool done;
} cancel_ctx;

static void cancel_other(http_call *call, http_response *r, void *userdata) {
        cancel_ctx *ctx = userdata;

        assert_int_equal(r->status, 200);
        http_call_cancel(ctx->victim);
        http_call_cancel(call);         /* its own: a no-op while it calls back */
        ctx->done = true;
}

static void test_cancel(void **state) {
        fixture *f = *state;
        cancel_ctx ctx = {};
        http_response r = {};
        http_call *queued;
        char url[256], url2[256];
        http_request hang = { .url = test_httpd_url(&httpd, "/hang", url) };
        http_request ok = { .url = test_httpd_url(&httpd, "/sleep?ms=100", url2) };

        assert_int_equal(http_client_submit(f->client, &hang, never_called, NULL, &ctx.victim), 0);
        assert_int_equal(http_client_submit(f->client, &ok, cancel_other, &ctx, NULL), 0);
        assert_int_equal(http_client_run_until(f->client, &ctx.done), 0);
        assert_int_equal(http_client_in_flight(f->client), 0);

        /* A queued call, cancelled before it starts. */
        http_client_set_max_in_flight(f->client, 1);
        ctx = (cancel_ctx) {};
        assert_int_equal(http_client_submit(f->client, &hang, never_called, NULL, &ctx.victim), 0);
        assert_int_equal(http_client_submit(f->client, &ok, never_called, NULL, &queued), 0);
        assert_int_equal(http_client_queued(f->client), 1);
        http_call_cancel(queued);
        http_call_cancel(ctx.victim);
        assert_int_equal(http_client_in_flight(f->client), 0);
        assert_int_equal(http_client_queued(f->client), 0);

        /* Nothing left to call back; the client still works. */
        assert_int_equal(sd_event_run(f->event, 300 * USEC_PER_MSEC) >= 0, true);
        get(f, "/ok", 0, 0, &r);
        assert_int_equal(r.status, 200);
        http_response_done(&r);
}

static void test_free_with_calls_outstanding(void **state) {
        fixture *f = *state;
        char url[256], url2[256];
        http_request hang = { .url = test_httpd_url(&httpd, "/hang", url) };
        http_request ok = { .url = test_httpd_url(&httpd, "/ok", url2) };

        http_client_set_max_in_flight(f->client, 3);
        for (unsigned i = 0; i < 3; i++)
                assert_int_equal(http_client_submit(f->client, &hang, never_called, NULL, NULL), 0);
        for (unsigned i = 0; i < 3; i++)
                assert_int_equal(http_client_submit(f->client, &ok, never_called, NULL, NULL), 0);
        /* Let the transfers get under way before pulling the plug. */
        for (unsigned i = 0; i < 5; i++)
                assert_true(sd_event_run(f->event, 50 * USEC_PER_MSEC) >= 0);
        f->client = http_client_free(f->client);
        assert_null(f->client);
        /* No source of the client is left to fire. */
        for (unsigned i = 0; i < 3; i++)
                assert_int_equal(sd_event_run(f->event, 100 * USEC_PER_MSEC), 0);
}

typedef struct free_ctx {
        fixture *f;
        bool called;
} free_ctx;

static void free_client(http_call *call, http_response *r, void *userdata) {
        free_ctx *ctx = userdata;

        (void) call;
        assert_int_equal(r->status, 200);
        ctx->called = true;
        ctx->f->client = http_client_free(ctx->f->client);
}

static void test_free_from_callback(void **state) {
        fixture *f = *state;
        free_ctx ctx = { .f = f };
        char url[256], url2[256];
        http_request hang = { .url = test_httpd_url(&httpd, "/hang", url) };
        http_request ok = { .url = test_httpd_url(&httpd, "/ok", url2) };

        assert_int_equal(http_client_submit(f->client, &hang, never_called, NULL, NULL), 0);
        http_client_set_max_in_flight(f->client, 1);
        assert_int_equal(http_client_submit(f->client, &hang, never_called, NULL, NULL), 0);   /* queued */
        http_client_set_max_in_flight(f->client, 0);
        assert_int_equal(http_client_submit(f->client, &ok, free_client, &ctx, NULL), 0);
        while (!ctx.called)
                assert_true(sd_event_run(f->event, 5 * USEC_PER_SEC) > 0);
        assert_null(f->client);
        for (unsigned i = 0; i < 3; i++)
                assert_int_equal(sd_event_run(f->event, 100 * USEC_PER_MSEC), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_errno_table),
                cmocka_unit_test(test_header_lines),
                cmocka_unit_test_setup_teardown(test_sync_ok, setup, teardown),
                cmocka_unit_test_setup_teardown(test_post_headers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_error_statuses, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unsupported_protocol, setup, teardown),
                cmocka_unit_test_setup_teardown(test_garbled_answer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
                cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
                cmocka_unit_test_setup_teardown(test_drip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
                cmocka_unit_test_setup_teardown(test_many_concurrent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_max_in_flight_fifo, setup, teardown),
                cmocka_unit_test_setup_teardown(test_max_in_flight_peak, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_with_calls_outstanding, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_from_callback, setup, teardown),
        };

        return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
