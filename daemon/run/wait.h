/* SPDX-License-Identifier: MIT */
/*
 * The run's wait step: polls the images a run created until each is available,
 * failed, gone, or past image.wait_timeout, with a capped doubling backoff on
 * the caller's loop ("poll web/us-east-1").
 *
 * The interface runs one way, like exec.h: the engine adds the pending images,
 * starts the wait and hands in one callback; every verdict comes back through it
 * as an event (available, failed, timed out, done) that the engine counts. wait.c never
 * calls into the engine. Each verdict is logged here, where it is decided.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "aws/ec2.h"
#include "policy.h"

typedef enum wait_event_kind {
        WAIT_AVAILABLE,                 /* one image became available */
        WAIT_FAILED,                    /* one image failed or disappeared (`error`) */
        WAIT_TIMED_OUT,                 /* `images` were still pending past image.wait_timeout */
        WAIT_DONE,                      /* nothing is pending any more: the last event */
        WAIT_ABORTED,                   /* the wait cannot go on (`error`): the last event */
        WAIT_POLLS_FAILING,             /* a poll failed (`why`: the endpoint down, DNS, TLS); the
                                         * wait goes on polling until image.wait_timeout */
        WAIT_POLLS_RECOVERED,           /* a poll succeeded again after WAIT_POLLS_FAILING */
} wait_event_kind;

typedef struct wait_event {
        wait_event_kind kind;
        int error;                      /* WAIT_FAILED, WAIT_TIMED_OUT, WAIT_ABORTED: a negative errno */
        unsigned images;                /* the images the event is about */
        const char *why;                /* WAIT_POLLS_FAILING, for the call's duration */
} wait_event;

/* WAIT_DONE and WAIT_ABORTED may end the run: after them, the callee may free the waiter. */
typedef void (*wait_callback)(const wait_event *e, void *userdata);

typedef struct wait_options {
        sd_event *event;                /* for the poll timer */
        aws_client *ec2;
        const policy *policy;           /* its name, image.wait_timeout */
        const char *region;             /* borrowed: lives as long as the waiter */
        usec_t poll_initial;            /* first poll after the wait starts */
        usec_t poll_max;                /* the backoff's cap */
} wait_options;

typedef struct waiter waiter;

int waiter_new(const wait_options *o, wait_callback cb, void *userdata, waiter **ret);
/* Cancels the poll in flight and the timer; the callback is not called. */
waiter *waiter_free(waiter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(waiter *, waiter_free);

/* An image to wait for. 0 or -ENOMEM. */
int waiter_add(waiter *w, const char *image_id, const char *instance_id);
/* Images still pending (for progress display). */
unsigned waiter_pending(const waiter *w);
/* Schedules the first poll, poll_initial from now; the events follow from the loop.
 * -EINVAL with nothing pending (the caller skips the step then), -EBUSY when started
 * already, or sd-event's error. */
int waiter_start(waiter *w);
