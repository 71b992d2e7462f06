/* SPDX-License-Identifier: MIT */
/*
 * One command on one instance by SSM Run Command: SendCommand, then GetCommandInvocation
 * until a final status or the timeout. The image.before/after hooks, the freeze and the
 * thaw (exec-hook.c, thaw-keeper.c) all run through it.
 */
#pragma once

#include <systemd/sd-event.h>

#include "aws/ssm-command.h"
#include "run/plan-hook.h"

typedef struct hook_ssm hook_ssm;

typedef struct hook_ssm_request {
        sd_event *event;
        aws_client *ssm;
        const char *instance_id;
        const char *document;
        const char *script;
        const char *comment;
        uint64_t timeout;               /* seconds: the document's executionTimeout, and how long
                                         * amirotd polls before it counts the command as failed */
        const char *description;        /* names the poll timer */
        uint64_t delivery_timeout;      /* seconds: SendCommand's TimeoutSeconds; 0: the timeout,
                                         * at least SSM's minimum of 30 s */
} hook_ssm_request;

/* cb comes once, from the loop. -errno when the SendCommand could not be started. */
int hook_ssm_start(const hook_ssm_request *req, hook_done_cb cb, void *userdata, hook_ssm **ret);
/* Cancels the call in flight and the timer; cb is not called. Accepts NULL. */
hook_ssm *hook_ssm_free(hook_ssm *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(hook_ssm *, hook_ssm_free);
/* Whether SendCommand was started: from then on the command may run on the instance, even
 * if its answer never comes. */
bool hook_ssm_sent(const hook_ssm *h);
