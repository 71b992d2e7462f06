/* SPDX-License-Identifier: MIT */
/*
 * See ssm-command.h. Shapes from the SSM API reference (and botocore's SSM model):
 * SendCommand "InstanceIds ... you can specify up to 50 IDs", "Parameters: The required
 * and optional parameters specified in the document being run" (a map of string lists:
 * AWS-RunShellScript's "commands" and "executionTimeout"), "TimeoutSeconds: If this time
 * is reached and the command hasn't already started running, it won't run. Valid Range:
 * Minimum value of 30. Maximum value of 2592000", "Comment: Length Constraints: Maximum
 * length of 100"; its answer "Command: The request as it was received by Systems
 * Manager" with CommandId. GetCommandInvocation's Status (CommandInvocationStatus),
 * StatusDetails, ResponseCode ("If the response code is -1, then the command hasn't
 * started running on the managed node, or it wasn't received by the node"),
 * StandardOutputContent ("The first 24,000 characters written by the plugin to stdout")
 * and StandardErrorContent ("The first 8,000 characters"); InvocationDoesNotExist ("The
 * command ID and managed node ID you specified didn't match any invocations"), which
 * also answers a read right after SendCommand: "The Run Command API follows an eventual
 * consistency model". ListCommands: "MaxResults ... Valid Range: Minimum value of 1.
 * Maximum value of 50", NextToken, Filters (CommandFilter: InvokedAfter, InvokedBefore,
 * Status, ExecutionStage, DocumentName; "InvokedAfter: Specify a timestamp ... for
 * example, 2024-07-07T00:00:00Z").
 */
#include <inttypes.h>
#include <stdio.h>

#include "ssm-command.h"

/* ListCommands: at most 50 a page; more pages than this is not a list amirotd made. */
#define LIST_COMMANDS_PAGE 50
#define LIST_COMMANDS_MAX_PAGES 200
/* AWS-RunShellScript's executionTimeout: "Maximum is 172800 (48 hours)." */
#define EXECUTION_TIMEOUT_MAX 172800
#define DELIVERY_TIMEOUT_MIN 30
#define DELIVERY_TIMEOUT_MAX 2592000

typedef enum ssm_command_action {
        SSM_ACTION_SEND,
        SSM_ACTION_INVOCATION,
        SSM_ACTION_LIST,
} ssm_command_action;

struct ssm_command_op {
        aws_call *call;
        ssm_command_action action;
        ssm_send_command_cb send;
        ssm_invocation_cb invocation;
        ssm_list_commands_cb list;
        void *userdata;
        /* ListCommands: the request, every page's commands, pages so far, the last token */
        aws_client *client;
        char *instance_id;
        char *document;
        time_t invoked_after;
        ssm_command_list commands;
        unsigned pages;
        char *next_token;
};

static const char *const status_table[_SSM_COMMAND_STATUS_MAX] = {
        [SSM_COMMAND_PENDING] = "Pending",
        [SSM_COMMAND_IN_PROGRESS] = "InProgress",
        [SSM_COMMAND_DELAYED] = "Delayed",
        [SSM_COMMAND_SUCCESS] = "Success",
        [SSM_COMMAND_CANCELLED] = "Cancelled",
        [SSM_COMMAND_TIMED_OUT] = "TimedOut",
        [SSM_COMMAND_FAILED] = "Failed",
        [SSM_COMMAND_CANCELLING] = "Cancelling",
};

const char *ssm_command_status_to_string(ssm_command_status s) {
        return s >= 0 && s < _SSM_COMMAND_STATUS_MAX ? status_table[s] : NULL;
}

ssm_command_status ssm_command_status_from_string(const char *s) {
        for (size_t i = 0; s && i < _SSM_COMMAND_STATUS_MAX; i++)
                if (streq(s, status_table[i]))
                        return (ssm_command_status) i;
        return _SSM_COMMAND_STATUS_INVALID;
}

bool ssm_command_status_is_final(ssm_command_status s) {
        return s == SSM_COMMAND_SUCCESS || s == SSM_COMMAND_CANCELLED || s == SSM_COMMAND_TIMED_OUT ||
               s == SSM_COMMAND_FAILED;
}

void ssm_command_invocation_done(ssm_command_invocation *i) {
        free(i->status_details);
        free(i->standard_output);
        free(i->standard_error);
        *i = (ssm_command_invocation) { .response_code = -1 };
}

void ssm_command_done(ssm_command *c) {
        free(c->id);
        free(c->document);
        free(c->comment);
        strv_free(c->instance_ids);
        *c = (ssm_command) {};
}

void ssm_command_list_done(ssm_command_list *l) {
        for (size_t i = 0; i < l->n; i++)
                ssm_command_done(&l->items[i]);
        free(l->items);
        *l = (ssm_command_list) {};
}

/* ---- Parsers ----------------------------------------------------------------------------- */

static json_object *json_member(json_object *o, const char *key, json_type type) {
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
                return NULL;
        return v;
}

int ssm_parse_send_command(json_object *answer, char **ret_command_id) {
        const char *id = aws_json_string(json_member(answer, "Command", json_type_object), "CommandId");
        char *copy;

        if (isempty(id))
                return -EBADMSG;
        copy = strdup(id);
        if (!copy)
                return -ENOMEM;
        *ret_command_id = copy;
        return 0;
}

int ssm_parse_command_invocation(json_object *answer, ssm_command_invocation *ret) {
        _cleanup_(ssm_command_invocation_done) ssm_command_invocation inv = { .response_code = -1 };
        json_object *code;

        if (!answer)
                return -EBADMSG;
        inv.status = ssm_command_status_from_string(aws_json_string(answer, "Status"));
        if (inv.status < 0)
                return -EBADMSG;
        code = json_member(answer, "ResponseCode", json_type_int);
        if (code)
                inv.response_code = json_object_get_int64(code);
        if (strdup_or_null(aws_json_string(answer, "StatusDetails"), &inv.status_details) < 0 ||
            strdup_or_null(aws_json_string(answer, "StandardOutputContent"), &inv.standard_output) < 0 ||
            strdup_or_null(aws_json_string(answer, "StandardErrorContent"), &inv.standard_error) < 0)
                return -ENOMEM;
        *ret = inv;
        inv = (ssm_command_invocation) {};
        return 0;
}

/* InstanceIds: a list of strings; anything else in it makes the list unreadable. */
static int parse_instance_ids(json_object *o, char ***ret) {
        json_object *a = json_member(o, "InstanceIds", json_type_array);
        size_t n = a ? json_object_array_length(a) : 0;
        _cleanup_(strv_freep) char **ids = NULL;

        if (!a)
                return 0;
        ids = calloc(n + 1, sizeof(char *));
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(a, i);

                if (!json_object_is_type(v, json_type_string))
                        return -EBADMSG;
                ids[i] = strdup(json_object_get_string(v));
                if (!ids[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(ids);
        return 0;
}

/* RequestedDateTime: a JSON protocol timestamp, seconds since the epoch (a number, with a
 * fraction of milliseconds); in microseconds. */
static usec_t parse_requested(json_object *o) {
        json_object *v;
        double t;

        if (!o || !json_object_object_get_ex(o, "RequestedDateTime", &v))
                return 0;
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
                return 0;
        t = json_object_get_double(v);
        return t > 0 && t < 253402300800.0 ? (usec_t) (t * 1e6 + 0.5) : 0;      /* before year 10000 */
}

static int parse_command(json_object *o, ssm_command *ret) {
        _cleanup_(ssm_command_done) ssm_command c = {};
        const char *id = aws_json_string(o, "CommandId");
        int r;

        if (!json_object_is_type(o, json_type_object) || isempty(id))
                return -EBADMSG;
        /* A status this code does not know yet is _INVALID: the command is still listed. */
        c.status = ssm_command_status_from_string(aws_json_string(o, "Status"));
        c.requested_usec = parse_requested(o);
        c.requested = (time_t) (c.requested_usec / USEC_PER_SEC);
        if (!(c.id = strdup(id)) ||
            strdup_or_null(aws_json_string(o, "DocumentName"), &c.document) < 0 ||
            strdup_or_null(aws_json_string(o, "Comment"), &c.comment) < 0)
                return -ENOMEM;
        r = parse_instance_ids(o, &c.instance_ids);
        if (r < 0)
                return r;
        *ret = c;
        c = (ssm_command) {};
        return 0;
}

int ssm_parse_list_commands(json_object *answer, ssm_command_list *l, char **ret_next_token) {
        json_object *a = json_member(answer, "Commands", json_type_array);
        const char *token;
        size_t n, start = l->n;
        int r = 0;

        if (!a)
                return -EBADMSG;
        n = json_object_array_length(a);
        if (l->n + n > l->cap) {
                size_t cap = MAX(l->cap * 2, l->n + n);
                ssm_command *items = reallocarray(l->items, cap, sizeof(*items));

                if (!items)
                        return -ENOMEM;
                l->items = items;
                l->cap = cap;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = parse_command(json_object_array_get_idx(a, i), &l->items[l->n]);
                if (r >= 0)
                        l->n++;
        }
        token = aws_json_string(answer, "NextToken");
        if (r >= 0)
                r = strdup_or_null(isempty(token) ? NULL : token, ret_next_token);
        if (r < 0) {
                /* The page is read whole or not at all. */
                while (l->n > start)
                        ssm_command_done(&l->items[--l->n]);
                return r;
        }
        return 0;
}

/* ---- Request bodies ---------------------------------------------------------------------- */

static int add_string(json_object *o, const char *key, const char *value) {
        json_object *s = json_object_new_string(value);

        if (!s || json_object_object_add(o, key, s) < 0) {
                json_object_put(s);
                return -ENOMEM;
        }
        return 0;
}

static int add_int(json_object *o, const char *key, int64_t value) {
        json_object *v = json_object_new_int64(value);

        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* A list of one string, as the document's parameters and InstanceIds are. */
static int add_list_of_one(json_object *o, const char *key, const char *value) {
        json_object *a = json_object_new_array(), *s = json_object_new_string(value);

        if (!a || !s || json_object_array_add(a, s) < 0) {
                json_object_put(a);
                json_object_put(s);
                return -ENOMEM;
        }
        if (json_object_object_add(o, key, a) < 0) {
                json_object_put(a);
                return -ENOMEM;
        }
        return 0;
}

/* Comment cut to SSM_COMMENT_MAX characters (code points), never inside a UTF-8 sequence. */
static int add_comment(json_object *o, const char *comment) {
        size_t i = utf8_cut_chars(comment, SSM_COMMENT_MAX);
        json_object *s;

        s = json_object_new_string_len(comment, (int) i);
        if (!s || json_object_object_add(o, "Comment", s) < 0) {
                json_object_put(s);
                return -ENOMEM;
        }
        return 0;
}

static int to_text(json_object *body, char **ret) {
        const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *copy = text ? strdup(text) : NULL;

        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

static int send_body(const ssm_send_command_request *req, json_object **ret) {
        _cleanup_(aws_json_freep) json_object *body = json_object_new_object();
        json_object *params = NULL;
        char timeout[24];
        int r;

        if (!req || isempty(req->instance_id) || isempty(req->document) || !req->script)
                return -EINVAL;
        if (req->execution_timeout > EXECUTION_TIMEOUT_MAX ||
            (req->delivery_timeout > 0 &&
             (req->delivery_timeout < DELIVERY_TIMEOUT_MIN || req->delivery_timeout > DELIVERY_TIMEOUT_MAX)))
                return -ERANGE;
        if (!body)
                return -ENOMEM;
        r = add_list_of_one(body, "InstanceIds", req->instance_id);
        if (r >= 0)
                r = add_string(body, "DocumentName", req->document);
        if (r >= 0 && req->delivery_timeout > 0)
                r = add_int(body, "TimeoutSeconds", (int64_t) req->delivery_timeout);
        if (r >= 0 && req->comment)
                r = add_comment(body, req->comment);
        if (r >= 0) {
                params = json_object_new_object();
                if (!params || json_object_object_add(body, "Parameters", params) < 0) {
                        json_object_put(params);
                        r = -ENOMEM;
                }
        }
        if (r >= 0)
                r = add_list_of_one(params, "commands", req->script);
        if (r >= 0 && req->execution_timeout > 0) {
                (void) snprintf(timeout, sizeof(timeout), "%" PRIu64, req->execution_timeout);
                r = add_list_of_one(params, "executionTimeout", timeout);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(body);
        return 0;
}

int ssm_send_command_body(const ssm_send_command_request *req, char **ret) {
        _cleanup_(aws_json_freep) json_object *body = NULL;
        int r = send_body(req, &body);

        return r < 0 ? r : to_text(body, ret);
}

static int invocation_body(const char *command_id, const char *instance_id, json_object **ret) {
        _cleanup_(aws_json_freep) json_object *body = NULL;

        if (isempty(command_id) || isempty(instance_id))
                return -EINVAL;
        body = json_object_new_object();
        if (!body || add_string(body, "CommandId", command_id) < 0 ||
            add_string(body, "InstanceId", instance_id) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(body);
        return 0;
}

int ssm_get_command_invocation_body(const char *command_id, const char *instance_id, char **ret) {
        _cleanup_(aws_json_freep) json_object *body = NULL;
        int r = invocation_body(command_id, instance_id, &body);

        return r < 0 ? r : to_text(body, ret);
}

static int add_filter(json_object *filters, const char *key, const char *value) {
        json_object *f = json_object_new_object();

        if (!f || add_string(f, "key", key) < 0 || add_string(f, "value", value) < 0 ||
            json_object_array_add(filters, f) < 0) {
                json_object_put(f);
                return -ENOMEM;
        }
        return 0;
}

static int list_body(const ssm_list_commands_request *req, const char *next_token, json_object **ret) {
        _cleanup_(aws_json_freep) json_object *body = json_object_new_object();
        json_object *filters = NULL;
        char after[32];
        struct tm tm;
        int r;

        if (!req)
                return -EINVAL;
        if (!body)
                return -ENOMEM;
        r = req->instance_id ? add_string(body, "InstanceId", req->instance_id) : 0;
        if (r >= 0)
                r = add_int(body, "MaxResults", LIST_COMMANDS_PAGE);
        if (r >= 0 && next_token)
                r = add_string(body, "NextToken", next_token);
        if (r >= 0 && (req->invoked_after > 0 || req->document)) {
                filters = json_object_new_array();
                if (!filters || json_object_object_add(body, "Filters", filters) < 0) {
                        json_object_put(filters);
                        r = -ENOMEM;
                }
        }
        if (r >= 0 && req->invoked_after > 0) {
                if (!gmtime_r(&req->invoked_after, &tm) || strftime(after, sizeof(after), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                        return -ERANGE;
                r = add_filter(filters, "InvokedAfter", after);
        }
        if (r >= 0 && req->document)
                r = add_filter(filters, "DocumentName", req->document);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(body);
        return 0;
}

int ssm_list_commands_body(const ssm_list_commands_request *req, const char *next_token, char **ret) {
        _cleanup_(aws_json_freep) json_object *body = NULL;
        int r = list_body(req, next_token, &body);

        return r < 0 ? r : to_text(body, ret);
}

/* ---- Calls ------------------------------------------------------------------------------- */

static ssm_command_op *op_free(ssm_command_op *op) {
        if (!op)
                return NULL;
        free(op->instance_id);
        free(op->document);
        free(op->next_token);
        ssm_command_list_done(&op->commands);
        return mfree(op);
}

static void on_answer(aws_call *call, int r, json_object *answer, const aws_error *err, void *userdata);

static int op_call(ssm_command_op *op, const char *action, json_object *body) {
        _cleanup_(freep) char *text = NULL;
        int r = to_text(body, &text);

        if (r < 0)
                return r;
        return aws_client_call_json(op->client, action, text, on_answer, op, &op->call);
}

static int op_start(ssm_command_op *op, const char *action, json_object *body, ssm_command_op **ret_op) {
        int r = op_call(op, action, body);

        if (r < 0) {
                op_free(op);
                return r;
        }
        if (ret_op)
                *ret_op = op;
        return 0;
}

/* The error a failure r reports: the client's, or, when that says nothing (none, or one
 * with neither code nor message, as after running out of memory reading the answer), one
 * in e that names the call and the errno: a log line without a reason helps nobody. */
static const aws_error *failure(const char *action, int r, const aws_error *err, aws_error *e) {
        char message[128];

        if (e->message)
                return e;
        if (err && (err->code || err->message))
                return err;
        (void) snprintf(message, sizeof(message), "%s: %s", action, strerror(-r));
        (void) aws_error_set(e, err ? err->status : 0, NULL, message, err ? err->request_id : NULL);
        return e;
}

static void finish_send(ssm_command_op *op, int r, json_object *answer, const aws_error *err) {
        _cleanup_(freep) char *id = NULL;
        aws_error e = {};

        if (r >= 0) {
                r = ssm_parse_send_command(answer, &id);
                if (r < 0)
                        (void) aws_error_setf(&e, "SendCommand: %s", r == -ENOMEM ? "out of memory" :
                                              "answer without a Command and its CommandId");
        }
        op->send(r, r >= 0 ? id : NULL, r >= 0 ? NULL : failure("SendCommand", r, err, &e), op->userdata);
        aws_error_done(&e);
}

static void finish_invocation(ssm_command_op *op, int r, json_object *answer, const aws_error *err) {
        _cleanup_(ssm_command_invocation_done) ssm_command_invocation inv = { .response_code = -1 };
        aws_error e = {};

        if (r >= 0) {
                r = ssm_parse_command_invocation(answer, &inv);
                if (r < 0)
                        (void) aws_error_setf(&e, "GetCommandInvocation: %s", r == -ENOMEM ? "out of memory" :
                                              "answer without a known Status");
        } else if (err && aws_error_is(err, "InvocationDoesNotExist"))
                r = -ENOENT;
        op->invocation(r, r >= 0 ? &inv : NULL, r >= 0 ? NULL : failure("GetCommandInvocation", r, err, &e),
                       op->userdata);
        aws_error_done(&e);
}

/* One page read: the next one is asked for, or the list is complete. Returns 1 when a
 * next page is on its way (op lives on), else the result to report, with e set on failure. */
static int next_page(ssm_command_op *op, json_object *answer, aws_error *e) {
        _cleanup_(aws_json_freep) json_object *body = NULL;
        _cleanup_(freep) char *token = NULL;
        int r;

        r = ssm_parse_list_commands(answer, &op->commands, &token);
        if (r < 0) {
                (void) aws_error_setf(e, "ListCommands: %s", r == -ENOMEM ? "out of memory" :
                                      "answer without a list of Commands");
                return r;
        }
        if (!token)
                return 0;
        /* A token that repeats would page forever; a list this long is none of amirotd's. */
        if (op->next_token && streq(op->next_token, token)) {
                (void) aws_error_setf(e, "ListCommands: the same NextToken twice");
                return -EBADMSG;
        }
        if (++op->pages >= LIST_COMMANDS_MAX_PAGES) {
                (void) aws_error_setf(e, "ListCommands: more than %d pages", LIST_COMMANDS_MAX_PAGES);
                return -E2BIG;
        }
        free(op->next_token);
        op->next_token = TAKE_PTR(token);
        r = list_body(&(ssm_list_commands_request) { .instance_id = op->instance_id, .document = op->document,
                                                      .invoked_after = op->invoked_after },
                      op->next_token, &body);
        if (r >= 0)
                r = op_call(op, "ListCommands", body);
        if (r < 0) {
                (void) aws_error_setf(e, "ListCommands: cannot ask for the next page: %s", strerror(-r));
                return r;
        }
        return 1;
}

static void on_answer(aws_call *call, int r, json_object *answer, const aws_error *err, void *userdata) {
        ssm_command_op *op = userdata;
        aws_error e = {};

        (void) call;
        op->call = NULL;
        switch (op->action) {
        case SSM_ACTION_SEND:
                finish_send(op, r, answer, err);
                break;
        case SSM_ACTION_INVOCATION:
                finish_invocation(op, r, answer, err);
                break;
        case SSM_ACTION_LIST:
                if (r >= 0) {
                        r = next_page(op, answer, &e);
                        if (r > 0)
                                return;         /* the next page's answer comes here again */
                }
                op->list(r, r >= 0 ? &op->commands : NULL, r >= 0 ? NULL : failure("ListCommands", r, err, &e),
                         op->userdata);
                aws_error_done(&e);
                break;
        }
        op_free(op);
}

static ssm_command_op *op_new(aws_client *c, ssm_command_action action, void *userdata) {
        ssm_command_op *op = calloc(1, sizeof(*op));

        if (op)
                *op = (ssm_command_op) { .client = c, .action = action, .userdata = userdata };
        return op;
}

int ssm_send_command(aws_client *c, const ssm_send_command_request *req, ssm_send_command_cb cb, void *userdata,
                     ssm_command_op **ret_op) {
        _cleanup_(aws_json_freep) json_object *body = NULL;
        ssm_command_op *op;
        int r;

        if (!c || !cb)
                return -EINVAL;
        r = send_body(req, &body);
        if (r < 0)
                return r;
        op = op_new(c, SSM_ACTION_SEND, userdata);
        if (!op)
                return -ENOMEM;
        op->send = cb;
        return op_start(op, "SendCommand", body, ret_op);
}

int ssm_get_command_invocation(aws_client *c, const char *command_id, const char *instance_id,
                               ssm_invocation_cb cb, void *userdata, ssm_command_op **ret_op) {
        _cleanup_(aws_json_freep) json_object *body = NULL;
        ssm_command_op *op;
        int r;

        if (!c || !cb)
                return -EINVAL;
        r = invocation_body(command_id, instance_id, &body);
        if (r < 0)
                return r;
        op = op_new(c, SSM_ACTION_INVOCATION, userdata);
        if (!op)
                return -ENOMEM;
        op->invocation = cb;
        return op_start(op, "GetCommandInvocation", body, ret_op);
}

int ssm_list_commands(aws_client *c, const ssm_list_commands_request *req, ssm_list_commands_cb cb,
                      void *userdata, ssm_command_op **ret_op) {
        _cleanup_(aws_json_freep) json_object *body = NULL;
        ssm_command_op *op;
        int r;

        if (!c || !cb)
                return -EINVAL;
        r = list_body(req, NULL, &body);
        if (r < 0)
                return r;
        op = op_new(c, SSM_ACTION_LIST, userdata);
        if (!op)
                return -ENOMEM;
        op->list = cb;
        op->invoked_after = req->invoked_after;
        if (strdup_or_null(req->instance_id, &op->instance_id) < 0 ||
            strdup_or_null(req->document, &op->document) < 0) {
                op_free(op);
                return -ENOMEM;
        }
        return op_start(op, "ListCommands", body, ret_op);
}

void ssm_command_op_cancel(ssm_command_op *op) {
        if (!op)
                return;
        aws_call_cancel(op->call);
        op_free(op);
}
