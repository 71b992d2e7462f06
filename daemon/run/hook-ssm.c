/* SPDX-License-Identifier: MIT */
/*
 * See hook-ssm.h. "The Run Command API follows an eventual consistency model"
 * (GetCommandInvocation reference): right after SendCommand, GetCommandInvocation may
 * answer InvocationDoesNotExist for a command that exists. That is "not visible yet",
 * polled again like InProgress, within the same timeout.
 *
 * SendCommand's TimeoutSeconds (delivery) is the hook's timeout (the freeze's: SSM's minimum),
 * but at least SSM's minimum of 30 s; the document's executionTimeout
 * is the hook's timeout, so that SSM itself stops a script that amirotd gave up on.
 */
#include <stdio.h>

#include "run/hook-ssm.h"

#define HOOK_SSM_DELIVERY_MIN 30

struct hook_ssm {
        hook_ssm_request req;           /* strings owned below */
        char *instance_id, *document, *script, *comment, *description;
        char *command_id;
        ssm_command_op *op;
        sd_event_source *timer;
        bool sent;
        unsigned polls;
        usec_t deadline;                /* CLOCK_MONOTONIC */
        hook_done_cb cb;
        void *userdata;
};

hook_ssm *hook_ssm_free(hook_ssm *h) {
        if (!h)
                return NULL;
        ssm_command_op_cancel(h->op);
        sd_event_source_disable_unref(h->timer);
        sd_event_unref(h->req.event);
        free(h->instance_id);
        free(h->document);
        free(h->script);
        free(h->comment);
        free(h->description);
        free(h->command_id);
        return mfree(h);
}

bool hook_ssm_sent(const hook_ssm *h) {
        return h && h->sent;
}

static void hook_ssm_end(hook_ssm *h, hook_outcome *o) {
        o->command_id = h->command_id;
        h->timer = sd_event_source_disable_unref(h->timer);
        h->cb(o, h->userdata);
}

static void hook_ssm_fail(hook_ssm *h, int r, const aws_error *err, const char *status) {
        hook_outcome o = { .r = r, .status = status, .exit_code = -1 };

        if (err) {
                o.error_code = err->code;
                o.request_id = err->request_id;
                o.aws_message = err->message;
        }
        hook_ssm_end(h, &o);
}

static int hook_ssm_poll(hook_ssm *h);

static int on_poll_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        hook_ssm *h = userdata;
        int r;

        (void) s;
        (void) usec;
        h->timer = sd_event_source_disable_unref(h->timer);
        r = hook_ssm_poll(h);
        if (r < 0)
                hook_ssm_fail(h, r, NULL, "GetCommandInvocation could not be started");
        return 0;
}

/* The next poll, or the end when the timeout has passed. */
static void hook_ssm_again(hook_ssm *h, const char *status) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        usec_t delay = hook_poll_delay(h->polls++);
        int r;

        if (now >= h->deadline) {
                hook_ssm_fail(h, -ETIMEDOUT, NULL, status);
                return;
        }
        r = sd_event_add_time_relative(h->req.event, &h->timer, CLOCK_MONOTONIC, MIN(delay, h->deadline - now),
                                       USEC_PER_SEC / 10, on_poll_timer, h);
        if (r < 0) {
                hook_ssm_fail(h, r, NULL, status);
                return;
        }
        (void) sd_event_source_set_description(h->timer, h->description);
}

static void on_invocation(int r, const ssm_command_invocation *inv, const aws_error *err, void *userdata) {
        hook_ssm *h = userdata;
        _cleanup_(freep) char *excerpt = NULL;
        hook_outcome o = { .exit_code = -1 };

        h->op = NULL;
        if (r == -ENOENT) {
                hook_ssm_again(h, "not visible yet (InvocationDoesNotExist)");
                return;
        }
        if (r < 0) {
                hook_ssm_fail(h, r, err, "GetCommandInvocation failed");
                return;
        }
        if (!ssm_command_status_is_final(inv->status)) {
                hook_ssm_again(h, ssm_command_status_to_string(inv->status));
                return;
        }
        /* The error stream says why a script failed; its output says what it did. */
        if (inv->status != SSM_COMMAND_SUCCESS && !isempty(inv->standard_error))
                excerpt = hook_excerpt(inv->standard_error, strlen(inv->standard_error));
        else if (!isempty(inv->standard_output))
                excerpt = hook_excerpt(inv->standard_output, strlen(inv->standard_output));
        o.status = ssm_command_status_to_string(inv->status);
        o.exit_code = inv->response_code;
        o.output = excerpt;
        o.r = inv->status == SSM_COMMAND_SUCCESS ? 0 : inv->status == SSM_COMMAND_TIMED_OUT ? -ETIMEDOUT : -EIO;
        hook_ssm_end(h, &o);
}

static int hook_ssm_poll(hook_ssm *h) {
        return ssm_get_command_invocation(h->req.ssm, h->command_id, h->instance_id, on_invocation, h, &h->op);
}

static void on_sent(int r, const char *command_id, const aws_error *err, void *userdata) {
        hook_ssm *h = userdata;

        h->op = NULL;
        if (r < 0) {
                /* InvalidInstanceId: "SSM Agent isn't running", "isn't registered with the SSM
                 * endpoint", no permission, or the node "isn't in a valid state" (SSM API
                 * reference): for an instance the policy selected, its agent is not online. */
                if (err && aws_error_is(err, "InvalidInstanceId"))
                        r = -EHOSTDOWN;
                hook_ssm_fail(h, r, err, "SendCommand failed");
                return;
        }
        h->command_id = strdup(command_id);
        if (!h->command_id) {
                hook_ssm_fail(h, -ENOMEM, NULL, "out of memory");
                return;
        }
        hook_ssm_again(h, "sent");
}

int hook_ssm_start(const hook_ssm_request *req, hook_done_cb cb, void *userdata, hook_ssm **ret) {
        _cleanup_(hook_ssm_freep) hook_ssm *h = NULL;
        int r;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->req = *req;
        h->req.event = sd_event_ref(req->event);
        h->cb = cb;
        h->userdata = userdata;
        if (strdup_or_null(req->instance_id, &h->instance_id) < 0 || strdup_or_null(req->document, &h->document) < 0 ||
            strdup_or_null(req->script, &h->script) < 0 || strdup_or_null(req->comment, &h->comment) < 0 ||
            strdup_or_null(req->description ?: "hook", &h->description) < 0)
                return -ENOMEM;
        h->deadline = now_usec(CLOCK_MONOTONIC) + req->timeout * USEC_PER_SEC;
        r = ssm_send_command(req->ssm, &(ssm_send_command_request) {
                                     .instance_id = h->instance_id,
                                     .document = h->document,
                                     .script = h->script,
                                     .execution_timeout = req->timeout,
                                     .delivery_timeout = MAX(req->delivery_timeout ?: req->timeout,
                                                             (uint64_t) HOOK_SSM_DELIVERY_MIN),
                                     .comment = h->comment,
                             }, on_sent, h, &h->op);
        if (r < 0)
                return r;
        h->sent = true;
        *ret = TAKE_PTR(h);
        return 0;
}
