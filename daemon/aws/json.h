/* SPDX-License-Identifier: MIT */
/*
 * The AWS JSON protocol (awsJson1_1) used by SSM: a request is one JSON object POSTed
 * to "/" with Content-Type application/x-amz-json-1.1 and X-Amz-Target
 * "<TargetPrefix>.<Action>" (client.c sends it); the answer is a JSON object, or an
 * error object {"__type": "...#Code", "message": "..."} with HTTP 4xx/5xx. Pure: no I/O.
 */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

#include "base/util.h"
#include "error.h"

#define AWS_JSON_CONTENT_TYPE "application/x-amz-json-1.1"

/*
 * Parses an answer of HTTP status `status`. A 2xx answer must be a JSON object: it is
 * returned in *ret (may be NULL). An error object, with a 4xx/5xx status, gives
 * -EREMOTEIO and fills *ret_error (may be NULL): the code is __type (also "code" or
 * "Code") without the namespace before '#' and anything after ':' (the smithy rule
 * for awsJson1_1 error codes), the message is "message" or "Message". A non-2xx answer
 * without a readable error object gives -EREMOTEIO with a code derived from the status
 * ("InternalError", "Unavailable", "HTTP<status>"). A 2xx answer that is no JSON
 * object (malformed, truncated, not UTF-8, nested deeper than 64) gives -EBADMSG; a
 * body over 16 MiB -EFBIG. header_request_id (x-amzn-RequestId) is the request id.
 */
int aws_json_response_parse(const char *body, size_t size, long status, const char *header_request_id,
                            json_object **ret, aws_error *ret_error);

static inline void aws_json_freep(json_object **o) {
        if (*o)
                json_object_put(*o);
}

/* The string member key of o, or NULL when missing or not a string. */
const char *aws_json_string(const json_object *o, const char *key);
