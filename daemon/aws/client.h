/* SPDX-License-Identifier: MIT */
/*
 * An AWS Query-protocol client for one service in one region: takes an
 * aws_query, waits for a token of its pacer, signs with SigV4 using the
 * current credentials, sends it over http.c, retries as the SDKs' "standard"
 * mode does, and hands back the parsed XML document or an aws_error.
 *
 * daemon/aws/ as a whole depends on base/util.h and the libraries only, never
 * on the product (policies, config, run/): it could be lifted out as a library.
 * See daemon/aws/README.md.
 */
#pragma once

#include <libxml/tree.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "base/util.h"
#include "creds.h"
#include "error.h"
#include "http.h"
#include "json.h"
#include "pace.h"
#include "query.h"
#include "stats.h"

typedef struct aws_client aws_client;
typedef struct aws_call aws_call;

/* Reported once per attempt, for debug logging: never carries a secret or a signature. */
typedef struct aws_call_trace {
        const char *service;
        const char *region;
        const char *action;
        unsigned attempt;               /* 1-based */
        long status;                    /* 0: no answer */
        const char *error_code;         /* NULL on success */
        const char *request_id;
        usec_t elapsed;                 /* this attempt, from send to answer */
        usec_t paced;                   /* time spent waiting for a token */
        usec_t next_delay;              /* backoff before the next attempt; 0: no retry */
        const char *decision;           /* "success", "retry", "refresh credentials and retry",
                                         * "not retryable", "maximum attempts reached",
                                         * "retry quota exhausted", ... (retry_verdict_to_string) */
} aws_call_trace;

/*
 * Reported when a client corrects its clock for skew (retry.c's rule): AWS's
 * Date header says the host clock is off by -offset seconds, and the client
 * signs with the local time + offset from now on (0: back in line).
 */
typedef struct aws_clock_skew {
        const char *service;
        const char *region;
        int64_t offset;                 /* seconds: AWS's clock minus the local one */
        const char *error_code;         /* the answer that showed it */
        const char *request_id;
} aws_clock_skew;

typedef struct aws_client_options {
        const char *service;            /* "ec2" or "sts" */
        const char *region;             /* validated with aws_region_is_valid() */
        const char *endpoint_url;       /* NULL: aws_endpoint_url(service, region, NULL) */
        const char *api_version;        /* NULL: "2016-11-15" for ec2, "2011-06-15" for sts */
        const char *json_target_prefix; /* "AmazonSSM": the client speaks the JSON protocol (json.h),
                                         * X-Amz-Target PREFIX.Action; NULL: the Query protocol */
        unsigned max_attempts;          /* 0: 3, as the SDKs' standard mode */
        aws_pacer *pacer;               /* may be NULL: no pacing; shared by the clients of one
                                         * (account, region, service): see aws_pacers. Their
                                         * waiting calls queue in its buckets' lines, so it must
                                         * outlive them, and they must share one sd_event */
        void (*trace)(const aws_call_trace *t, void *userdata);
        void (*clock_skew)(const aws_clock_skew *s, void *userdata);  /* may be NULL */
        void *trace_userdata;           /* for trace and clock_skew */
        aws_stats *stats;               /* may be NULL; borrowed: must outlive the client */
        usec_t timeout;                 /* of each attempt, connection included; 0: http.h's 60 s */
} aws_client_options;

/* creds is borrowed and must outlive the client. An http:// endpoint_url is allowed (tests); callers warn. */
int aws_client_new(http_client *http, creds_provider *creds, const aws_client_options *o, aws_client **ret);
aws_client *aws_client_free(aws_client *c);     /* cancels outstanding calls without calling back */
DEFINE_TRIVIAL_CLEANUP_FUNC(aws_client *, aws_client_free);

const char *aws_client_region(const aws_client *c);
http_client *aws_client_http(const aws_client *c);
/* Seconds added to the local clock when signing: 0 until AWS showed a clock skew. */
int64_t aws_client_clock_offset(const aws_client *c);

/*
 * Called once from the event loop. r: 0 with doc (owned by the client, valid
 * during the callback only), or <0 with err filled (see error.h).
 */
typedef void (*aws_callback)(aws_call *call, int r, xmlDoc *doc, const aws_error *err, void *userdata);

/* Takes ownership of q, also on failure. ret_call may be NULL. A Query-protocol client only. */
int aws_client_call(aws_client *c, aws_query *q, aws_callback cb, void *userdata, aws_call **ret_call);

/* The same for a JSON-protocol client: answer is the JSON object of a success (owned by
 * the client, valid during the callback only), NULL on failure. */
typedef void (*aws_json_callback)(aws_call *call, int r, json_object *answer, const aws_error *err,
                                  void *userdata);
/* POSTs body (a JSON object as text, copied) as action. ret_call may be NULL. */
int aws_client_call_json(aws_client *c, const char *action, const char *body, aws_json_callback cb,
                         void *userdata, aws_call **ret_call);
void aws_call_cancel(aws_call *call);           /* the callback is never called */
/* The answers of call are parsed with aws_response_parse_items(items): items must outlive
 * the call, and the document its callback gets holds no item. */
void aws_call_read_items(aws_call *call, const aws_xml_items *items);

/* The category of the bucket q draws from (pace.h): its action's, or EC2's unfiltered one. */
pace_category aws_client_pace_category(const aws_query *q);
