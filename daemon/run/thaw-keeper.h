/* SPDX-License-Identifier: MIT */
/*
 * The thaw keeper: owns the thaws that must go out after the run that froze an instance
 * is gone (a reload, a stop, `once` cancelled by a signal), and the image.after by SSM of
 * such a run whose image.before ran (image.after is a `finally`). The executor hands it every
 * instance it may have frozen and not seen thawed when it is freed; the keeper sends the
 * thaw and polls it to its end, however long the executor is gone. The service's manager
 * (loop.c) and the one-shot runner (commands.c) own one each and, on a stop, keep the
 * loop running until it is idle (bounded by THAW_KEEPER_STOP_WAIT).
 *
 * The SSM client belongs to a configuration generation, which a reload may free: each
 * thaw holds the generation (an opaque reference, with the functions the owner set) until
 * it has ended.
 */
#pragma once

#include <systemd/sd-event.h>

#include "aws/client.h"
#include "base/log.h"

/* Within systemd's TimeoutStopSec (30 s in the unit): a thaw is one SendCommand and a few
 * polls, seconds when SSM answers. */
#define THAW_KEEPER_STOP_WAIT (20 * USEC_PER_SEC)

typedef struct thaw_keeper thaw_keeper;

typedef struct thaw_request {
        aws_client *ssm;
        const char *policy;
        const char *region;
        const char *instance_id;
        const char *slot;
        const char *script;             /* the thaw script */
        uint64_t timeout;               /* seconds */
        const char *message_id;         /* of the log line with the thaw's result */
        const char *why;                /* "the run ended while ... was frozen" */
        bool after;                     /* image.after of a run that ended before it ran, not a thaw */
        const char *document;           /* NULL: AWS-RunShellScript */
        usec_t retry_until;             /* CLOCK_MONOTONIC: a SendCommand that fails and may pass
                                         * later (hook_send_retryable()) is sent again until then
                                         * (the freeze's watchdog thaws after it); 0: once */
} thaw_request;

int thaw_keeper_new(sd_event *e, thaw_keeper **ret);
/* Cancels the thaws still in flight (the freeze script's watchdog thaws then); accepts NULL. */
thaw_keeper *thaw_keeper_free(thaw_keeper *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(thaw_keeper *, thaw_keeper_free);

/* How each thaw holds what its client belongs to; both NULL: nothing to hold. */
void thaw_keeper_set_hold(thaw_keeper *k, void *(*ref)(void *), void (*unref)(void *));

/* Sends the thaw, again (with a growing wait) while SendCommand fails and may pass until
 * retry_until; hold (may be NULL) is referenced until it ends. Logs its result. 0 or -errno
 * (then logged as an error here). */
int thaw_keeper_send(thaw_keeper *k, const thaw_request *req, void *hold);

/* Thaws in flight. */
size_t thaw_keeper_pending(const thaw_keeper *k);
/* cb once no thaw is in flight (at once, from the loop, when none is); NULL clears it. */
void thaw_keeper_on_idle(thaw_keeper *k, void (*cb)(void *userdata), void *userdata);
