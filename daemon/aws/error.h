/* SPDX-License-Identifier: MIT */
/*
 * An AWS error as a value: what EC2 or STS answered (HTTP status, error code,
 * message, request id), or what went wrong before an answer arrived. Callers
 * compare codes with aws_error_is() and log the fields; nobody greps strings.
 *
 * Convention for every call in daemon/aws/: it returns 0 on success, -EREMOTEIO
 * when AWS answered with an error document (the aws_error holds the fields), or
 * another negative errno for local and transport failures (-ETIMEDOUT,
 * -ECONNREFUSED, -EBADMSG for an unparsable answer, ...), in which case
 * aws_error.message says what failed and code is NULL.
 */
#pragma once

#include <stdbool.h>

typedef struct aws_error {
        long status;            /* HTTP status; 0 when no answer arrived */
        char *code;             /* "InvalidAMIName.Duplicate"; NULL for local failures */
        char *message;          /* AWS's message, or a description of the local failure */
        char *request_id;       /* RequestID / RequestId of the answer, if any */
} aws_error;

/* Frees the fields and zeroes the struct; accepts a zeroed struct. */
void aws_error_done(aws_error *e);

/* Replaces the content of e with copies of the arguments (each may be NULL). */
int aws_error_set(aws_error *e, long status, const char *code, const char *message, const char *request_id);

/* Sets a local failure: status 0, no code, message from the format. */
int aws_error_setf(aws_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool aws_error_is(const aws_error *e, const char *code);

/* The code of a failed answer that names none (no readable error document, or one
 * without a code): EC2's "InternalError" for 500 and "Unavailable" for 503, which
 * retry.c knows as transient; "HTTP<status>", written in buf, for any other. */
const char *aws_error_code_from_status(long status, char buf[static 16]);

/* Moves src into dst (dst's old content is freed), leaving src zeroed. */
void aws_error_move(aws_error *dst, aws_error *src);
