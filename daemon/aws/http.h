/* SPDX-License-Identifier: MIT */
/*
 * HTTP on libcurl's multi-socket interface, driven by sd-event, so that a
 * request never blocks the loop (the model: systemd's src/import/curl-util.c).
 * Connections are kept alive and reused per endpoint. TLS is always verified.
 * Knows nothing of AWS beyond capturing the x-amzn-RequestId header.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <systemd/sd-event.h>

#include "base/util.h"

typedef struct http_client http_client;
typedef struct http_call http_call;

typedef struct http_request {
        const char *method;             /* "GET", "POST", "PUT" */
        const char *url;
        const char *const *headers;     /* "Name: value" strings, NULL-terminated, or NULL */
        const void *body;
        size_t body_size;
        usec_t connect_timeout;         /* 0: 5 s */
        usec_t timeout;                 /* whole request; 0: 60 s */
        size_t max_response_size;       /* 0: 16 MiB; a larger answer fails with -EFBIG */
        bool no_proxy;                  /* never through a proxy (IMDS: link-local, on the host) */
        bool secret;                    /* the answer may hold keys (STS, IMDS, container credentials):
                                         * its buffer is wiped as it grows and when it is freed */
} http_request;

typedef struct http_response {
        int error;                      /* 0, or -errno of a transport failure: -ETIMEDOUT (connect or
                                         * total timeout), -ECONNREFUSED, -ECONNRESET (reset, closed
                                         * early), -EHOSTUNREACH (DNS), -EPROTO (TLS), -EFBIG (larger
                                         * than max_response_size), -EBADMSG (an answer that is not
                                         * HTTP), -ENOMEM, -EIO (other) */
        char *error_message;            /* curl's message for a transport failure */
        long status;                    /* HTTP status; 0 when no answer */
        char *body;                     /* NUL-terminated (body_size excludes the NUL); never NULL on success */
        size_t body_size;
        char *request_id;               /* x-amzn-RequestId header, if sent */
        time_t date;                    /* the server's Date header (RFC 9110, 6.6.1), for
                                         * clock skew; 0 when absent or unreadable */
        usec_t elapsed;                 /* time from start to completion */
} http_response;

void http_response_done(http_response *r);

/* Called once per submitted call, from the event loop; r is owned by the callee for the call only. */
typedef void (*http_callback)(http_call *call, http_response *r, void *userdata);

int http_client_new(sd_event *event, http_client **ret);
http_client *http_client_free(http_client *c);  /* cancels outstanding calls without calling back */
DEFINE_TRIVIAL_CLEANUP_FUNC(http_client *, http_client_free);

sd_event *http_client_get_event(http_client *c);

/* Starts req (copied; the caller may free it at once). ret_call may be NULL. */
int http_client_submit(http_client *c, const http_request *req, http_callback cb, void *userdata, http_call **ret_call);

/* Cancels a call that has not called back yet; its callback is never called. */
void http_call_cancel(http_call *call);

/* Number of calls in flight (started, not yet called back). */
unsigned http_client_in_flight(http_client *c);
/* Number of calls waiting for a place under the max-in-flight cap. */
unsigned http_client_queued(http_client *c);

/*
 * At most n calls in flight at once (0: no limit, the default); the others wait
 * in FIFO order and start, from the event loop, as places free up. Their
 * timeouts run from their start, not from their submission.
 */
void http_client_set_max_in_flight(http_client *c, unsigned n);

/* The -errno for a CURLcode, as http_response.error reports it (exposed for tests). */
int http_errno_from_curl(int code);

/* Runs the client's event loop until *done is true (or the loop fails/exits). */
int http_client_run_until(http_client *c, const bool *done);
