/* SPDX-License-Identifier: MIT */
/*
 * One AWS Query-protocol call, from aws_query to parsed answer, without ever
 * blocking the loop. Each attempt goes through the same steps, each step
 * continuing from an event-loop callback:
 *
 *   pace     take a token from the action's bucket (pace.c), or wait in its
 *            line: only the head of a line arms a timer, for the next token
 *   creds    get the current credentials (creds.c; cached ones come at once)
 *   send     sign with SigV4 (sigv4.c) and POST the form body over http.c
 *   answer   parse (query.c), classify (retry.c); succeed, fail, or arm the
 *            backoff timer and start over at "pace"
 *
 * A client speaks the Query protocol (EC2, STS: aws_client_call) or, given a
 * JSON target prefix, the JSON protocol (SSM: aws_client_call_json, json.h):
 * the steps, the pacing, the retries and the signature are the same; only the
 * body, two headers and the answer's parser differ.
 *
 * Retries follow the SDKs' standard mode with a retry quota per client (one
 * client per service and region). Credentials that AWS rejects are
 * invalidated and fetched anew once per call. A request rejected for clock
 * skew is signed again once, with the offset AWS's Date header shows, which
 * the client keeps for every later request (retry.c has the rule and its
 * source; the clock_skew callback hears of each correction). Every attempt is reported to the
 * trace callback, which never sees a secret or a signature, and counted in the
 * client's aws_stats (stats.h) when it was given one. Callbacks come
 * only from the loop; cancel and free never call back.
 */
#include <sys/random.h>

#include "client.h"
#include "endpoint.h"
#include "json.h"
#include "list.h"
#include "retry.h"
#include "sigv4.h"
#include "stats.h"

#define CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"
#define IN_SET_RETRY(v) ((v) == RETRY_YES || (v) == RETRY_REFRESH_CREDENTIALS)

struct aws_call {
        aws_client *client;
        aws_call *prev, *next;
        bool dispatching;

        aws_query *query;
        char *body;
        size_t body_size;

        retry_state retry;
        pace_waiter waiter;             /* in its bucket's line while it waits for a token */
        sd_event_source *timer;         /* the head of its bucket's line, or backing off */
        creds_wait *creds_wait;
        http_call *http_call;
        usec_t pace_started;
        usec_t paced;                   /* this attempt's wait for a token */
        int64_t signed_offset;          /* the clock offset this attempt was signed with */

        int result;
        xmlDoc *doc;
        json_object *json;              /* the answer of a JSON-protocol call */
        aws_error error;

        aws_callback callback;
        aws_json_callback json_callback;        /* set instead of callback for a JSON-protocol call */
        void *userdata;
        const aws_xml_items *items;     /* borrowed; see aws_call_read_items() */
};

struct aws_client {
        http_client *http;
        creds_provider *creds;
        char *service;
        char *region;
        char *url;                      /* endpoint URL + "/" */
        char *host;                     /* the Host header, as signed */
        char *api_version;
        char *json_target;              /* "AmazonSSM": the JSON protocol; NULL: Query */
        unsigned max_attempts;
        usec_t timeout;                 /* of each attempt; 0: http.c's default */
        aws_pacer *pacer;
        void (*trace)(const aws_call_trace *t, void *userdata);
        void (*clock_skew)(const aws_clock_skew *s, void *userdata);
        void *trace_userdata;
        aws_stats *stats;               /* borrowed, may be NULL */

        int64_t clock_offset;           /* seconds added to time(NULL) when signing */
        retry_quota quota;
        sigv4_key_cache key_cache;
        uint64_t random_state;

        aws_call *calls;
        bool dispatching;
        bool free_requested;
};

static void call_pace(aws_call *call);
static int on_backoff(sd_event_source *s, uint64_t usec, void *userdata);

/* xorshift64*: the jitter needs no cryptographic randomness, only independence between daemons. */
static double client_random01(aws_client *c) {
        uint64_t x = c->random_state;

        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        c->random_state = x;
        return (double) ((x * UINT64_C(2685821657736338717)) >> 11) / (double) (UINT64_C(1) << 53);
}

static aws_call *call_of_waiter(pace_waiter *w) {
        return w ? (aws_call *) ((char *) w - offsetof(aws_call, waiter)) : NULL;
}

/*
 * Out of its bucket's line. The head's timer is the line's: when the head leaves, the
 * next in line inherits it as it is, armed for the same token (a move that cannot fail).
 */
static void call_leave_line(aws_call *call) {
        aws_call *next = call_of_waiter(pace_waiter_leave(&call->waiter));

        if (next && call->timer && !next->timer) {
                (void) sd_event_source_set_userdata(call->timer, next);
                next->timer = TAKE_PTR(call->timer);
        }
}

static void call_stop(aws_call *call) {
        call_leave_line(call);
        call->timer = sd_event_source_disable_unref(call->timer);
        creds_wait_cancel(TAKE_PTR(call->creds_wait));
        http_call_cancel(TAKE_PTR(call->http_call));
}

static aws_call *call_free(aws_call *call) {
        if (!call)
                return NULL;
        call_stop(call);
        aws_query_free(call->query);
        erase_and_free(call->body);
        xmlFreeDoc(call->doc);            /* wiped: query.c */
        if (call->json)
                json_object_put(call->json);
        aws_error_done(&call->error);
        return mfree(call);
}

static void call_unlink(aws_call *call) {
        LIST_REMOVE(call->client->calls, NULL, call);
}

/* No call is left by then: aws_client_free() cancelled them, and a client being freed takes no new one. */
static void client_destroy(aws_client *c) {
        sigv4_key_cache_clear(&c->key_cache);
        free(c->service);
        free(c->region);
        free(c->url);
        free(c->host);
        free(c->api_version);
        free(c->json_target);
        free(c);
}

/* Calls back with call->result, ->doc and ->error, then frees the call. */
static void call_finish(aws_call *call) {
        aws_client *c = call->client;

        call_stop(call);
        call_unlink(call);
        call->dispatching = true;
        c->dispatching = true;
        if (call->json_callback)
                call->json_callback(call, call->result, call->result >= 0 ? call->json : NULL,
                                    call->result < 0 ? &call->error : NULL, call->userdata);
        else
                call->callback(call, call->result, call->result >= 0 ? call->doc : NULL,
                               call->result < 0 ? &call->error : NULL, call->userdata);
        c->dispatching = false;
        call_free(call);
        if (c->free_requested)
                client_destroy(c);
}

/* A local failure: no answer from AWS. */
static void call_fail(aws_call *call, int r, const char *what) {
        call->result = r;
        (void) aws_error_setf(&call->error, "%s: %s: %s", aws_query_action(call->query), what, strerror(-r));
        call_finish(call);
}

static void trace(aws_call *call, long status, const char *code, const char *request_id, usec_t elapsed,
                  usec_t next_delay, const char *decision) {
        aws_client *c = call->client;

        aws_stats_record(c->stats, c->service, aws_query_action(call->query), code, status, next_delay > 0);
        if (!c->trace)
                return;
        c->trace(&(aws_call_trace) {
                        .service = c->service,
                        .region = c->region,
                        .action = aws_query_action(call->query),
                        .attempt = call->retry.attempts,
                        .status = status,
                        .error_code = code,
                        .request_id = request_id,
                        .elapsed = elapsed,
                        .paced = call->paced,
                        .next_delay = next_delay,
                        .decision = decision,
                 }, c->trace_userdata);
}

static int call_arm_timer(aws_call *call, usec_t delay, sd_event_time_handler_t handler, const char *description) {
        sd_event *e = http_client_get_event(call->client->http);
        int r;

        call->timer = sd_event_source_disable_unref(call->timer);
        r = sd_event_add_time_relative(e, &call->timer, CLOCK_MONOTONIC, delay, USEC_PER_MSEC, handler, call);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(call->timer, description);
        return 0;
}

/* A success document's request id: EC2's <requestId>, STS's <ResponseMetadata><RequestId>. */
static char *doc_request_id(xmlDoc *doc) {
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
        char *id;

        if (!root)
                return NULL;
        id = xml_child_text_or_null(root, "requestId");
        return id ?: xml_child_text_or_null(root, "ResponseMetadata/RequestId");
}

/*
 * A clock-skew error (retry.c's rule): from now on the client signs with AWS's
 * clock, and this call is signed again at once, once. The callback hears of a
 * change of the offset only, so concurrent calls that all met the same skew
 * report it once.
 */
static bool call_correct_clock(aws_call *call, const aws_error *err, const http_response *resp) {
        aws_client *c = call->client;
        int64_t offset, change;

        if (!retry_clock_skew(err->code, time(NULL), call->signed_offset, resp->date, &offset))
                return false;
        change = offset - c->clock_offset;
        c->clock_offset = offset;
        if ((change <= -RETRY_CLOCK_SKEW_THRESHOLD_SEC || change >= RETRY_CLOCK_SKEW_THRESHOLD_SEC) && c->clock_skew)
                c->clock_skew(&(aws_clock_skew) {
                                .service = c->service,
                                .region = c->region,
                                .offset = offset,
                                .error_code = err->code,
                                .request_id = err->request_id ?: resp->request_id,
                        }, c->trace_userdata);
        if (retry_after_clock_skew(&call->retry, c->max_attempts) != RETRY_CORRECT_CLOCK)
                return false;
        trace(call, err->status, err->code, err->request_id ?: resp->request_id, resp->elapsed, 1,
              retry_verdict_to_string(RETRY_CORRECT_CLOCK));
        return true;
}

static void call_answer(http_call *hc, http_response *resp, void *userdata) {
        aws_call *call = userdata;
        aws_client *c = call->client;
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(aws_json_freep) json_object *json = NULL;
        aws_error err = {};
        retry_verdict verdict;
        retry_kind kind;
        usec_t delay = 0;
        int r;

        (void) hc;
        call->http_call = NULL;

        if (resp->error < 0) {
                r = resp->error;
                (void) aws_error_setf(&err, "%s: %s", aws_query_action(call->query),
                                      resp->error_message ?: strerror(-r));
                err.status = resp->status;
                kind = retry_classify(r, resp->status, NULL);
        } else {
                if (c->json_target)
                        r = aws_json_response_parse(resp->body, resp->body_size, resp->status, resp->request_id,
                                                    &json, &err);
                else
                        r = aws_response_parse_items(resp->body, resp->body_size, resp->status,
                                                     resp->request_id, call->items, &doc, &err);
                if (r == -EREMOTEIO)
                        kind = retry_classify(0, resp->status, err.code);
                else
                        kind = retry_classify(r, resp->status, NULL);
                if (r < 0 && r != -EREMOTEIO) {
                        /* Unreadable: keep what is known of the answer for the log. */
                        err.status = resp->status;
                        if (!err.request_id && resp->request_id)
                                err.request_id = strdup(resp->request_id);
                }
        }

        if (r >= 0) {
                _cleanup_(freep) char *rid = NULL;

                retry_after_success(&c->quota, &call->retry);
                if (c->trace && !resp->request_id)
                        rid = doc_request_id(doc);
                trace(call, resp->status, NULL, resp->request_id ?: rid, resp->elapsed, 0, "success");
                call->result = 0;
                call->doc = TAKE_PTR(doc);
                call->json = TAKE_PTR(json);
                call_finish(call);
                return;
        }

        if (r == -EREMOTEIO && call_correct_clock(call, &err, resp)) {
                aws_error_done(&err);
                call_pace(call);
                return;
        }

        verdict = retry_after_failure(&c->quota, &call->retry, c->max_attempts, kind, client_random01(c), &delay);
        /* The trace's next_delay is 0 only when there is no retry: a retry at once reports 1 µs. */
        trace(call, err.status, err.code, err.request_id ?: resp->request_id, resp->elapsed,
              IN_SET_RETRY(verdict) ? MAX(delay, (usec_t) 1) : 0, retry_verdict_to_string(verdict));

        /* The last answer is the error, should this be the last attempt. */
        aws_error_move(&call->error, &err);
        call->result = r;

        if (verdict == RETRY_YES && call_arm_timer(call, delay, on_backoff, "aws-backoff") >= 0)
                return;
        if (verdict == RETRY_REFRESH_CREDENTIALS) {
                creds_provider_invalidate(c->creds);
                call_pace(call);
                return;
        }
        call_finish(call);
}

static void call_send(aws_call *call, const aws_credentials *creds) {
        aws_client *c = call->client;
        _cleanup_(freep) char *h_host = NULL, *h_date = NULL, *h_auth = NULL, *h_token = NULL, *target = NULL;
        _cleanup_(freep) char *h_target = NULL;
        const char *content_type = c->json_target ? AWS_JSON_CONTENT_TYPE : CONTENT_TYPE;
        /* As botocore signs a JSON-protocol request: Content-Type and X-Amz-Target too. */
        sigv4_header signed_headers[2] = { { "content-type", content_type }, { "x-amz-target", NULL } };
        sigv4_result sig = {};
        const char *headers[7];
        size_t n = 0;
        int r;

        if (c->json_target &&
            (asprintf(&target, "%s.%s", c->json_target, aws_query_action(call->query)) < 0 ||
             asprintf(&h_target, "X-Amz-Target: %s", target) < 0)) {
                call_fail(call, -ENOMEM, "Failed to build the request");
                return;
        }
        signed_headers[1].value = target;

        r = sigv4_sign(&(sigv4_request) {
                        .method = "POST",
                        .host = c->host,
                        .path = "/",
                        .headers = signed_headers,
                        .n_headers = target ? 2 : 1,
                        .payload = call->body,
                        .payload_size = call->body_size,
                        .region = c->region,
                        .service = c->service,
                        .now = time(NULL) + (time_t) c->clock_offset,
                }, creds, &c->key_cache, &sig);
        if (r < 0) {
                call_fail(call, r, "Failed to sign the request");
                return;
        }

        if (asprintf(&h_host, "Host: %s", c->host) < 0 ||
            asprintf(&h_date, "X-Amz-Date: %s", sig.amz_date) < 0 ||
            asprintf(&h_auth, "Authorization: %s", sig.authorization) < 0 ||
            (creds->session_token &&
             !(h_token = strjoin_n("X-Amz-Security-Token: ", creds->session_token, strlen(creds->session_token))))) {
                sigv4_result_done(&sig);
                call_fail(call, -ENOMEM, "Failed to build the request");
                return;
        }
        sigv4_result_done(&sig);

        headers[n++] = h_host;
        headers[n++] = c->json_target ? "Content-Type: " AWS_JSON_CONTENT_TYPE : "Content-Type: " CONTENT_TYPE;
        if (h_target)
                headers[n++] = h_target;
        headers[n++] = h_date;
        headers[n++] = h_auth;
        if (h_token)
                headers[n++] = h_token;
        headers[n] = NULL;

        call->signed_offset = c->clock_offset;
        retry_attempt_begin(&call->retry);
        r = http_client_submit(c->http, &(http_request) {
                        .method = "POST",
                        .url = c->url,
                        .headers = headers,
                        .body = call->body,
                        .body_size = call->body_size,
                        .timeout = c->timeout,
                        .secret = streq(c->service, "sts"),     /* AssumeRole's answer holds keys */
                }, call_answer, call, &call->http_call);
        /* The header strings go now; http.c copied them. The token is wiped first. */
        if (h_token)
                explicit_bzero(h_token, strlen(h_token));
        explicit_bzero(h_auth, strlen(h_auth));
        if (r < 0)
                call_fail(call, r, "Failed to send the request");
}

static void call_have_creds(int r, const aws_credentials *creds, const aws_error *err, void *userdata) {
        aws_call *call = userdata;

        call->creds_wait = NULL;        /* freed by creds.c once it has called back */
        if (r < 0) {
                call->result = r;
                if (err)
                        (void) aws_error_set(&call->error, err->status, err->code, err->message, err->request_id);
                if (!call->error.message)
                        (void) aws_error_setf(&call->error, "%s: no credentials: %s",
                                              aws_query_action(call->query), strerror(-r));
                call_finish(call);
                return;
        }
        call_send(call, creds);
}

static int call_get_creds(aws_call *call) {
        return creds_provider_get(call->client->creds, call_have_creds, call, &call->creds_wait);
}

/* The end of a backoff: back into the bucket's line, at its tail. */
static int on_backoff(sd_event_source *s, uint64_t usec, void *userdata) {
        aws_call *call = userdata;

        (void) s;
        (void) usec;
        call->timer = sd_event_source_disable_unref(call->timer);
        call_pace(call);
        return 0;
}

/* Has its token: on to the credentials, then the send. */
static int call_paced(aws_call *call, usec_t now) {
        call->paced = now - call->pace_started;
        call->pace_started = 0;
        call->timer = sd_event_source_disable_unref(call->timer);
        return call_get_creds(call);
}

static void call_paced_or_fail(aws_call *call, usec_t now) {
        int r = call_paced(call, now);

        if (r < 0)
                call_fail(call, r, "Failed to start the attempt");
}

static int on_pace_timer(sd_event_source *s, uint64_t usec, void *userdata);

/*
 * The head of b's line can have a token now: sends as many of the line, in order, as the
 * bucket allows, then arms the new head's timer for the next token. A call that fails at
 * once calls back from in here, and its callback may cancel calls, queue new ones or free
 * a client: the line is read anew at each turn, and a head queued meanwhile is armed
 * below like any other.
 */
static void pace_serve_line(pace_bucket *b) {
        usec_t now = now_usec(CLOCK_MONOTONIC), wait;
        pace_waiter *w;
        aws_call *head;

        for (;;) {
                while ((w = pace_bucket_next(b, now, &wait)))
                        call_paced_or_fail(call_of_waiter(w), now);
                head = call_of_waiter(pace_bucket_head(b));
                if (!head || call_arm_timer(head, wait, on_pace_timer, "aws-pace") >= 0)
                        return;
                /* Without a timer the line would stall: the head fails, and the next tries. */
                call_fail(head, -ENOMEM, "Failed to wait for a token");
        }
}

/* The head of a bucket's line: its token is there. One wake-up per turn, however many wait. */
static int on_pace_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        aws_call *call = userdata;
        aws_client *c = call->client;

        (void) s;
        (void) usec;
        aws_stats_record_pace_wakeup(c->stats, c->service, aws_query_action(call->query));
        call->timer = sd_event_source_disable_unref(call->timer);
        if (call->waiter.bucket)        /* always: only the head of a line holds this timer */
                pace_serve_line(call->waiter.bucket);
        return 0;
}

/* EC2's smaller bucket for some Describe* sent "without specifying either pagination or a filter". */
static bool query_is_unfiltered(const aws_query *q) {
        return !aws_query_get(q, "MaxResults") && !aws_query_get(q, "NextToken") && !aws_query_get(q, "Filter.1.Name");
}

pace_category aws_client_pace_category(const aws_query *q) {
        return q ? pace_category_of_request(aws_query_action(q), query_is_unfiltered(q)) : _PACE_CATEGORY_INVALID;
}

/* Takes a token, or joins the bucket's line; only the head of a line arms a timer. */
static int call_try_pace(aws_call *call) {
        aws_client *c = call->client;
        usec_t now = now_usec(CLOCK_MONOTONIC), wait;
        pace_bucket *b;

        if (call->pace_started == 0)
                call->pace_started = now;
        if (!c->pacer)
                return call_paced(call, now);
        b = aws_pacer_bucket(c->pacer, aws_query_action(call->query), query_is_unfiltered(call->query));
        wait = pace_bucket_enter(b, &call->waiter, now);
        if (wait == 0)
                return call_paced(call, now);
        if (wait == USEC_INFINITY)
                return 0;
        return call_arm_timer(call, wait, on_pace_timer, "aws-pace");
}

static void call_pace(aws_call *call) {
        int r = call_try_pace(call);

        if (r < 0)
                call_fail(call, r, "Failed to start the attempt");
}

/* Lists the call (its body built when r >= 0) and starts its first attempt; on failure frees it. */
static int call_start(aws_call *call, int r, aws_call **ret_call) {
        aws_client *c = call->client;

        if (r < 0) {
                call_free(call);
                return r;
        }
        call->body_size = strlen(call->body);

        LIST_PREPEND(c->calls, NULL, call);

        r = call_try_pace(call);
        if (r < 0) {
                call_unlink(call);
                call_free(call);
                return r;
        }
        if (ret_call)
                *ret_call = call;
        return 0;
}

int aws_client_call(aws_client *c, aws_query *q, aws_callback cb, void *userdata, aws_call **ret_call) {
        _cleanup_(aws_query_freep) aws_query *query = q;
        aws_call *call;
        int r;

        if (!c || !q || !cb || c->free_requested || c->json_target)
                return -EINVAL;

        call = calloc(1, sizeof(*call));
        if (!call)
                return -ENOMEM;
        call->client = c;
        call->callback = cb;
        call->userdata = userdata;
        call->query = TAKE_PTR(query);

        r = aws_query_encode(call->query, c->api_version, &call->body);
        return call_start(call, r, ret_call);
}

int aws_client_call_json(aws_client *c, const char *action, const char *body, aws_json_callback cb,
                         void *userdata, aws_call **ret_call) {
        aws_call *call;
        int r;

        if (!c || isempty(action) || !body || !cb || c->free_requested || !c->json_target)
                return -EINVAL;

        call = calloc(1, sizeof(*call));
        if (!call)
                return -ENOMEM;
        call->client = c;
        call->json_callback = cb;
        call->userdata = userdata;
        /* The query names the action for the pacer, the traces and the stats; it is never encoded. */
        r = aws_query_new(action, &call->query);
        if (r >= 0 && !(call->body = strdup(body)))
                r = -ENOMEM;
        return call_start(call, r, ret_call);
}

void aws_call_read_items(aws_call *call, const aws_xml_items *items) {
        if (call)
                call->items = items;
}

void aws_call_cancel(aws_call *call) {
        if (!call || call->dispatching)
                return;
        call_unlink(call);
        call_free(call);
}

const char *aws_client_region(const aws_client *c) {
        return c ? c->region : NULL;
}

http_client *aws_client_http(const aws_client *c) {
        return c ? c->http : NULL;
}

int64_t aws_client_clock_offset(const aws_client *c) {
        return c ? c->clock_offset : 0;
}

int aws_client_new(http_client *http, creds_provider *creds, const aws_client_options *o, aws_client **ret) {
        aws_client *c;
        int r;

        if (!http || !creds || !o || !ret || isempty(o->service) || !aws_region_is_valid(o->region))
                return -EINVAL;
        if (!o->api_version && !o->json_target_prefix && !streq(o->service, "ec2") && !streq(o->service, "sts"))
                return -EINVAL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->http = http;
        c->creds = creds;
        c->max_attempts = o->max_attempts ?: RETRY_MAX_ATTEMPTS_DEFAULT;
        c->timeout = o->timeout;
        c->pacer = o->pacer;
        c->trace = o->trace;
        c->clock_skew = o->clock_skew;
        c->trace_userdata = o->trace_userdata;
        c->stats = o->stats;
        retry_quota_init(&c->quota, RETRY_QUOTA_INITIAL);
        if (getrandom(&c->random_state, sizeof(c->random_state), GRND_NONBLOCK) != sizeof(c->random_state))
                c->random_state = now_usec(CLOCK_REALTIME) ^ ((uint64_t) getpid() << 32);
        c->random_state |= 1;   /* xorshift must not start at 0 */

        r = -ENOMEM;
        c->service = strdup(o->service);
        c->region = strdup(o->region);
        c->api_version = strdup(o->api_version ?: streq(o->service, "ec2") ? "2016-11-15" : "2011-06-15");
        if (!c->service || !c->region || !c->api_version ||
            strdup_or_null(o->json_target_prefix, &c->json_target) < 0)
                goto fail;

        r = aws_endpoint_url(o->service, o->region, o->endpoint_url, &c->url);
        if (r < 0)
                goto fail;
        r = aws_endpoint_host(c->url, &c->host, NULL);
        if (r < 0)
                goto fail;
        {
                char *u;

                r = -ENOMEM;
                if (asprintf(&u, "%s/", c->url) < 0)
                        goto fail;
                free(c->url);
                c->url = u;
        }

        *ret = c;
        return 0;

fail:
        client_destroy(c);
        return r;
}

aws_client *aws_client_free(aws_client *c) {
        if (!c)
                return NULL;
        /* The call calling back, if any, is no longer listed. */
        while (c->calls)
                aws_call_cancel(c->calls);
        /* From a callback: call_finish() destroys the client when the callback returns. */
        if (c->dispatching)
                c->free_requested = true;
        else
                client_destroy(c);
        return NULL;
}
