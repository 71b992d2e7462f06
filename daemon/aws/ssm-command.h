/* SPDX-License-Identifier: MIT */
/*
 * Typed SSM Run Command calls over the JSON protocol (client.c, json.h): SendCommand,
 * GetCommandInvocation and ListCommands, as the hooks around CreateImage (run/hook.h)
 * run a script on an instance and find their freezes again after a restart. This file
 * knows SSM, not policies; nothing here logs.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "client.h"

#define SSM_DOCUMENT_SHELL "AWS-RunShellScript"
#define SSM_DOCUMENT_POWERSHELL "AWS-RunPowerShellScript"
/* SendCommand's Comment: "Length Constraints: Maximum length of 100." */
#define SSM_COMMENT_MAX 100

/* A command invocation's Status (GetCommandInvocation), in the API's spelling. */
typedef enum ssm_command_status {
        SSM_COMMAND_PENDING,
        SSM_COMMAND_IN_PROGRESS,
        SSM_COMMAND_DELAYED,
        SSM_COMMAND_SUCCESS,
        SSM_COMMAND_CANCELLED,
        SSM_COMMAND_TIMED_OUT,
        SSM_COMMAND_FAILED,
        SSM_COMMAND_CANCELLING,
        _SSM_COMMAND_STATUS_MAX,
        _SSM_COMMAND_STATUS_INVALID = -EINVAL,
} ssm_command_status;

const char *ssm_command_status_to_string(ssm_command_status s);
ssm_command_status ssm_command_status_from_string(const char *s);
/* Whether the status is final: Success, Cancelled, TimedOut, Failed. */
bool ssm_command_status_is_final(ssm_command_status s);

typedef struct ssm_send_command_request {
        const char *instance_id;        /* one instance: InstanceIds [id] */
        const char *document;           /* DocumentName, e.g. SSM_DOCUMENT_SHELL */
        const char *script;             /* the document's "commands" parameter, one string */
        uint64_t execution_timeout;     /* seconds, the document's "executionTimeout"; 0: its default */
        uint64_t delivery_timeout;      /* TimeoutSeconds; 0: SSM's default */
        const char *comment;            /* Comment, at most SSM_COMMENT_MAX; may be NULL */
} ssm_send_command_request;

/* GetCommandInvocation's answer. */
typedef struct ssm_command_invocation {
        ssm_command_status status;
        char *status_details;           /* "Undeliverable", "Execution Timed Out", ...; may be NULL */
        int64_t response_code;          /* the script's exit status; -1 when not (yet) given */
        char *standard_output;          /* StandardOutputContent (at most 24,000 characters); may be NULL */
        char *standard_error;           /* StandardErrorContent; may be NULL */
} ssm_command_invocation;

void ssm_command_invocation_done(ssm_command_invocation *i);

/* One command of ListCommands. */
typedef struct ssm_command {
        char *id;                       /* CommandId */
        char *document;                 /* DocumentName */
        char *comment;                  /* may be NULL */
        char **instance_ids;            /* NULL-terminated; may be NULL */
        ssm_command_status status;
        time_t requested;               /* RequestedDateTime, seconds */
        usec_t requested_usec;          /* the same with its fraction: orders commands of one second */
} ssm_command;

void ssm_command_done(ssm_command *c);

typedef struct ssm_command_list {
        ssm_command *items;
        size_t n, cap;
} ssm_command_list;

void ssm_command_list_done(ssm_command_list *l);

/* ---- Parsers (pure; exposed for tests and the fuzzer) ----------------------------------- */

/* SendCommand's {"Command": {"CommandId": ...}}: -EBADMSG without a string CommandId. */
int ssm_parse_send_command(json_object *answer, char **ret_command_id);
/* GetCommandInvocation's answer: -EBADMSG without a known Status. */
int ssm_parse_command_invocation(json_object *answer, ssm_command_invocation *ret);
/* One page of ListCommands: appends its Commands to l; *ret_next_token the NextToken
 * (NULL at the end). -EBADMSG for a page without a Commands list. */
int ssm_parse_list_commands(json_object *answer, ssm_command_list *l, char **ret_next_token);


/* ---- Calls ------------------------------------------------------------------------------ */

typedef struct ssm_command_op ssm_command_op;

/* r: 0 with command_id, or <0 with err (error.h's convention). Called once, from the loop. */
typedef void (*ssm_send_command_cb)(int r, const char *command_id, const aws_error *err, void *userdata);
/* r: 0 with inv; -ENOENT when SSM answered InvocationDoesNotExist (not visible yet: SSM is
 * eventually consistent right after SendCommand), err set; another <0 with err. */
typedef void (*ssm_invocation_cb)(int r, const ssm_command_invocation *inv, const aws_error *err, void *userdata);
/* r: 0 with every page's commands, or <0 with err. */
typedef void (*ssm_list_commands_cb)(int r, const ssm_command_list *l, const aws_error *err, void *userdata);

int ssm_send_command(aws_client *c, const ssm_send_command_request *req, ssm_send_command_cb cb, void *userdata,
                     ssm_command_op **ret_op);
int ssm_get_command_invocation(aws_client *c, const char *command_id, const char *instance_id,
                               ssm_invocation_cb cb, void *userdata, ssm_command_op **ret_op);

typedef struct ssm_list_commands_request {
        const char *instance_id;        /* InstanceId; NULL: any */
        time_t invoked_after;           /* filter InvokedAfter; 0: none */
        const char *document;           /* filter DocumentName; NULL: any */
} ssm_list_commands_request;

/* The request bodies, for tests and the botocore comparison. SendCommand's: -EINVAL without
 * an instance, a document or a script, -ERANGE for an executionTimeout over 172800 or a
 * TimeoutSeconds outside 30..2592000; the Comment is cut to SSM_COMMENT_MAX characters.
 * ListCommands' asks for pages of 50, from next_token (NULL: the first). */
int ssm_send_command_body(const ssm_send_command_request *req, char **ret);
int ssm_get_command_invocation_body(const char *command_id, const char *instance_id, char **ret);
int ssm_list_commands_body(const ssm_list_commands_request *req, const char *next_token, char **ret);

/* Every page, in turn (at most 200 pages of 50: -E2BIG beyond). */
int ssm_list_commands(aws_client *c, const ssm_list_commands_request *req, ssm_list_commands_cb cb,
                      void *userdata, ssm_command_op **ret_op);

/* Cancels the call: its callback is never called. Accepts NULL. */
void ssm_command_op_cancel(ssm_command_op *op);
