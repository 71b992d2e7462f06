/* SPDX-License-Identifier: MIT */
/*
 * See json.h. The error rule is smithy's for awsJson1_1 ("Operation error
 * serialization"): "the __type ... may contain ... a namespace, separated by '#' ...
 * or additional data after a ':'; both are to be ignored", so
 * "com.amazonaws.ssm#ParameterNotFound" is ParameterNotFound.
 */
#include <limits.h>
#include <stdio.h>

#include "json.h"

/* As query.c's answers: no AWS answer amirotd reads comes near it. */
#define AWS_JSON_RESPONSE_MAX ((size_t) 16 * 1024 * 1024)
/* json-c's own default; an answer nested deeper is not SSM's. */
#define AWS_JSON_DEPTH 64

DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free);

const char *aws_json_string(const json_object *o, const char *key) {
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* A JSON object, or a message why not. */
static int parse_object(const char *body, size_t size, json_object **ret, const char **ret_why) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(aws_json_freep) json_object *o = NULL;

        if (size == 0) {
                *ret_why = "empty answer";
                return -EBADMSG;
        }
        if (memchr(body, 0, size)) {
                *ret_why = "answer holds a NUL byte";
                return -EBADMSG;
        }
        tok = json_tokener_new_ex(AWS_JSON_DEPTH);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, body, (int) size);
        if (!o) {
                enum json_tokener_error e = json_tokener_get_error(tok);

                *ret_why = e == json_tokener_continue ? "truncated JSON" : json_tokener_error_desc(e);
                return -EBADMSG;
        }
        for (size_t end = json_tokener_get_parse_end(tok); end < size; end++)
                if (!strchr(" \t\r\n", body[end])) {
                        *ret_why = "data after the JSON object";
                        return -EBADMSG;
                }
        if (!json_object_is_type(o, json_type_object)) {
                *ret_why = "answer is not a JSON object";
                return -EBADMSG;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

/* "com.amazonaws.ssm#ParameterNotFound:http://..." -> "ParameterNotFound"; NULL if empty. */
static char *error_code(const char *type) {
        const char *hash = type ? strrchr(type, '#') : NULL;

        if (!type)
                return NULL;
        if (hash)
                type = hash + 1;
        if (strcspn(type, ":") == 0)
                return NULL;
        return strndup(type, strcspn(type, ":"));
}

int aws_json_response_parse(const char *body, size_t size, long status, const char *header_request_id,
                            json_object **ret, aws_error *ret_error) {
        _cleanup_(aws_json_freep) json_object *o = NULL;
        _cleanup_(freep) char *code = NULL;
        const char *why = NULL, *message;
        bool success = status >= 200 && status <= 299;
        char buf[16], detail[128];
        int r;

        if (!body && size > 0)
                return -EINVAL;
        if (size > AWS_JSON_RESPONSE_MAX || size > INT_MAX) {
                snprintf(detail, sizeof(detail), "answer of %zu bytes exceeds the limit of %zu", size,
                         AWS_JSON_RESPONSE_MAX);
                if (ret_error)
                        (void) aws_error_set(ret_error, status,
                                             success ? NULL : aws_error_code_from_status(status, buf), detail,
                                             header_request_id);
                return success ? -EFBIG : -EREMOTEIO;
        }
        r = parse_object(body, size, &o, &why);
        if (r == -ENOMEM)
                return r;
        if (success) {
                if (r < 0) {
                        snprintf(detail, sizeof(detail), "malformed JSON answer: %s", why);
                        if (ret_error)
                                (void) aws_error_set(ret_error, status, NULL, detail, header_request_id);
                        return r;
                }
                if (ret)
                        *ret = TAKE_PTR(o);
                return 0;
        }

        code = error_code(aws_json_string(o, "__type") ?: aws_json_string(o, "code") ?: aws_json_string(o, "Code"));
        message = aws_json_string(o, "message") ?: aws_json_string(o, "Message");
        if (!code) {
                snprintf(detail, sizeof(detail), "HTTP %ld without a readable error document", status);
                message = detail;
        }
        if (ret_error) {
                r = aws_error_set(ret_error, status, code ?: aws_error_code_from_status(status, buf), message,
                                  header_request_id);
                if (r < 0)
                        return r;
        }
        return -EREMOTEIO;
}
