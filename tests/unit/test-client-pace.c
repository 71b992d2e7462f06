/* SPDX-License-Identifier: MIT */
/*
 * client.c's pacing against the scripted local server (tests/unit/httpd.py):
 * calls waiting for a token cost nothing until their turn. Each bucket keeps
 * one line and one timer, so the timer wake-ups aws_stats counts are about
 * one per token, however many calls wait (before issue 17, each token woke
 * every waiting call: about N²/2 wake-ups for N calls). Exact counts, no
 * timings: the bucket's refill only sets how long the test takes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "aws/client.h"
#include "httpd-helper.h"

#define N_CALLS 60

static test_httpd httpd;
static unsigned key_serial;

static int setup_all(void **state) {
        (void) state;
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

typedef struct fixture {
        sd_event *event;
        http_client *http;
        creds_provider *creds;
        aws_pacer *pacer;
        aws_stats *stats;
        aws_client *clients[2];         /* two clients share one pacer, as aws_pacers hands it out */
        unsigned n_done, n_ok;
        unsigned order[N_CALLS];        /* call indexes, in the order they called back */
} fixture;

typedef struct slot {
        fixture *f;
        unsigned index;
} slot;

/* capacity tokens at first, then refill per second; every other bucket is roomy. */
static void setup_pacing(fixture *f, double capacity, double refill) {
        pace_bucket_config cfg[_PACE_CATEGORY_MAX];

        memcpy(cfg, pace_default_config, sizeof(cfg));
        cfg[PACE_MUTATING] = (pace_bucket_config) { .capacity = capacity, .refill_per_sec = refill };
        assert_int_equal(aws_pacer_new(cfg, &f->pacer), 0);
        for (unsigned i = 0; i < ELEMENTSOF(f->clients); i++) {
                aws_client_options o = {
                        .service = "ec2",
                        .region = "us-east-1",
                        .endpoint_url = httpd.base,
                        .pacer = f->pacer,
                        .stats = f->stats,
                };

                assert_int_equal(aws_client_new(f->http, f->creds, &o, &f->clients[i]), 0);
        }
}

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        creds_options co = {
                .access_key_id = "AKIDEXAMPLE",
                .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        };

        assert_non_null(f);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_client_new(f->event, &f->http), 0);
        assert_int_equal(creds_provider_new_chain(f->http, &co, &f->creds), 0);
        assert_int_equal(aws_stats_new(&f->stats), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        for (unsigned i = 0; i < ELEMENTSOF(f->clients); i++)
                aws_client_free(f->clients[i]);
        creds_provider_free(f->creds);
        aws_pacer_free(f->pacer);
        aws_stats_free(f->stats);
        http_client_free(f->http);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

static aws_query *scripted(const char *action, const char *script) {
        aws_query *q = NULL;
        char key[32];

        snprintf(key, sizeof(key), "p%u-%d", ++key_serial, (int) getpid());
        assert_int_equal(aws_query_new(action, &q), 0);
        assert_int_equal(aws_query_add(q, "TestScript", script), 0);
        assert_int_equal(aws_query_add(q, "TestKey", key), 0);
        return q;
}

static void done(aws_call *call, int r, xmlDoc *doc, const aws_error *err, void *userdata) {
        slot *s = userdata;
        fixture *f = s->f;

        (void) call;
        (void) doc;
        (void) err;
        assert_true(f->n_done < N_CALLS);
        f->order[f->n_done++] = s->index;
        f->n_ok += r >= 0;
}

static const aws_stats_row *action_row(fixture *f, const char *action) {
        const aws_stats_row *rows;
        size_t n = aws_stats_rows(f->stats, &rows);

        for (size_t i = 0; i < n; i++)
                if (streq(rows[i].action, action) && !rows[i].error_code)
                        return &rows[i];
        fail_msg("no stats row for %s", action);
        return NULL;
}

static void run_until_done(fixture *f, unsigned n) {
        while (f->n_done < n)
                assert_true(sd_event_run(f->event, 10 * USEC_PER_SEC) > 0);
}

/* N calls at once on a bucket of 2 tokens: one wake-up per token at most, and all are sent. */
static void test_waiting_calls_cost_one_wakeup_per_token(void **state) {
        fixture *f = *state;
        slot slots[N_CALLS];
        const aws_stats_row *row;

        setup_pacing(f, 2, 200);
        for (unsigned i = 0; i < N_CALLS; i++) {
                slots[i] = (slot) { .f = f, .index = i };
                /* Both clients draw from the one pacer: one line for the action. */
                assert_int_equal(aws_client_call(f->clients[i % 2], scripted("CreateImage", "ok"), done, &slots[i], NULL), 0);
        }
        run_until_done(f, N_CALLS);

        assert_int_equal(f->n_ok, N_CALLS);
        row = action_row(f, "CreateImage");
        assert_int_equal(row->attempts, N_CALLS);
        print_message("%d calls, %" PRIu64 " pace wake-ups\n", N_CALLS, row->pace_wakeups);
        /* Two go at once; the other N-2 wait, and each wake-up sends one or more of them.
         * A timer that fires a hair early finds no token yet and re-arms: a little slack. */
        if (row->pace_wakeups > N_CALLS - 2 + 3)
                fail_msg("%" PRIu64 " wake-ups for %d waiting calls", row->pace_wakeups, N_CALLS - 2);
        assert_true(row->pace_wakeups >= 1);
}

/* Cancelling the head of a line hands its timer on: the rest still go, none calls back twice. */
static void test_cancelled_head_passes_the_timer_on(void **state) {
        fixture *f = *state;
        slot slots[5];
        aws_call *calls[5];

        setup_pacing(f, 1, 20);
        for (unsigned i = 0; i < ELEMENTSOF(slots); i++) {
                slots[i] = (slot) { .f = f, .index = i };
                assert_int_equal(aws_client_call(f->clients[0], scripted("CreateImage", "ok"), done, &slots[i], &calls[i]), 0);
        }
        /* calls[0] took the only token; calls[1] heads the line and holds its timer. */
        aws_call_cancel(calls[1]);
        /* One from the middle of the line, and the tail. */
        aws_call_cancel(calls[3]);
        aws_call_cancel(calls[4]);
        run_until_done(f, 2);
        for (unsigned i = 0; i < 5; i++)
                assert_true(sd_event_run(f->event, 20 * USEC_PER_MSEC) >= 0);
        assert_int_equal(f->n_done, 2);
        assert_int_equal(f->n_ok, 2);
        assert_int_equal(f->order[0], 0);
        assert_int_equal(f->order[1], 2);
}

/* Freeing a client takes its calls out of the shared line; the other client's still go. */
static void test_freed_client_leaves_the_line(void **state) {
        fixture *f = *state;
        slot slots[6];

        setup_pacing(f, 1, 50);
        for (unsigned i = 0; i < ELEMENTSOF(slots); i++) {
                slots[i] = (slot) { .f = f, .index = i };
                assert_int_equal(aws_client_call(f->clients[i % 2], scripted("CreateImage", "ok"), done, &slots[i], NULL), 0);
        }
        /* Client 1 owns the head of the line (call 1): its timer must pass to call 2. */
        f->clients[1] = aws_client_free(f->clients[1]);
        run_until_done(f, 3);
        for (unsigned i = 0; i < 5; i++)
                assert_true(sd_event_run(f->event, 20 * USEC_PER_MSEC) >= 0);
        assert_int_equal(f->n_done, 3);
        assert_int_equal(f->n_ok, 3);
        /* First come, first served: 0, then 2 and 4 in turn. */
        assert_int_equal(f->order[0], 0);
        assert_int_equal(f->order[1], 2);
        assert_int_equal(f->order[2], 4);
}

/* A throttled call backs off, then takes its place at the tail of the line again. */
static void test_retry_reenters_the_line(void **state) {
        fixture *f = *state;
        slot slots[3];
        const aws_stats_row *row;

        setup_pacing(f, 1, 20);
        slots[0] = (slot) { .f = f, .index = 0 };
        assert_int_equal(aws_client_call(f->clients[0], scripted("CreateImage", "throttle,ok"), done, &slots[0], NULL), 0);
        for (unsigned i = 1; i < ELEMENTSOF(slots); i++) {
                slots[i] = (slot) { .f = f, .index = i };
                assert_int_equal(aws_client_call(f->clients[0], scripted("CreateImage", "ok"), done, &slots[i], NULL), 0);
        }
        run_until_done(f, 3);
        assert_int_equal(f->n_ok, 3);
        /* 1 and 2 were in line before 0's backoff ended: 0 comes back behind them. */
        assert_int_equal(f->order[0], 1);
        assert_int_equal(f->order[1], 2);
        assert_int_equal(f->order[2], 0);
        row = action_row(f, "CreateImage");
        assert_int_equal(row->attempts, 4);
        assert_int_equal(row->retries, 1);
        assert_int_equal(row->throttles, 1);
        /* Four tokens, one at once: three turns of the line, one wake-up each (plus slack). */
        assert_true(row->pace_wakeups >= 1 && row->pace_wakeups <= 3 + 2);
}

/* Without a pacer nothing waits and no timer is ever armed. */
static void test_no_pacer_no_wakeups(void **state) {
        fixture *f = *state;
        aws_client_options o = {
                .service = "ec2",
                .region = "us-east-1",
                .endpoint_url = httpd.base,
                .stats = f->stats,
        };
        slot slots[8];

        assert_int_equal(aws_client_new(f->http, f->creds, &o, &f->clients[0]), 0);
        for (unsigned i = 0; i < ELEMENTSOF(slots); i++) {
                slots[i] = (slot) { .f = f, .index = i };
                assert_int_equal(aws_client_call(f->clients[0], scripted("CreateImage", "ok"), done, &slots[i], NULL), 0);
        }
        run_until_done(f, ELEMENTSOF(slots));
        assert_int_equal(f->n_ok, ELEMENTSOF(slots));
        assert_int_equal(action_row(f, "CreateImage")->pace_wakeups, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_waiting_calls_cost_one_wakeup_per_token, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancelled_head_passes_the_timer_on, setup, teardown),
                cmocka_unit_test_setup_teardown(test_freed_client_leaves_the_line, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retry_reenters_the_line, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_pacer_no_wakeups, setup, teardown),
        };

        return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
