/* SPDX-License-Identifier: MIT */
/*
 * Internal to http.c: one request's curl easy handle and what its callbacks
 * collect (http-transfer.c). http.c embeds one in each call, adds its easy
 * handle to the multi handle, and turns it into an http_response when curl
 * says it is done.
 */
#pragma once

#include <curl/curl.h>

#include "http.h"

typedef struct http_transfer {
        CURL *easy;                     /* NULL until http_transfer_open() */
        char *url;
        char *method;
        usec_t connect_timeout, timeout;
        bool no_proxy;
        struct curl_slist *headers;     /* wiped */
        char *request_body;             /* the request's, ours for CURLOPT_POSTFIELDS; wiped */
        size_t request_body_size;
        char errbuf[CURL_ERROR_SIZE];   /* curl's message for a failed transfer */
        strbuf body;                    /* secret (it may hold keys): wiped */
        size_t max_response_size;
        bool too_big;                   /* the body went past max_response_size */
        char *request_id;               /* x-amzn-RequestId */
        time_t date;                    /* the Date header; 0: none or unreadable */
} http_transfer;

/* Copies of what req says (URL, headers, body, limits), without an easy handle yet: a
 * request waiting in http.c's queue costs its own bytes, not curl's ~3 KiB handle. On
 * failure *t holds what was made: http_transfer_done() frees it. */
int http_transfer_init(http_transfer *t, const http_request *req);
/* The easy handle, set up from the copies, as the request leaves the queue; private
 * comes back as CURLINFO_PRIVATE. */
int http_transfer_open(http_transfer *t, void *private);
/* Accepts a zeroed transfer; the easy handle must be out of every multi handle. */
void http_transfer_done(http_transfer *t);

/* One header line as curl hands it to the header callback (data[0..n), not NUL-terminated,
 * with its CRLF): keeps x-amzn-RequestId and Date. 0 or -ENOMEM. */
int http_transfer_header_line(http_transfer *t, const char *data, size_t n);
/* The response of a finished transfer (code: its CURLcode); the body moves into it. */
void http_transfer_response(http_transfer *t, CURLcode code, http_response *ret);
/* A response that says the request failed locally, with -errno and a message. */
void http_response_fail(int error, const char *message, http_response *ret);
