/* SPDX-License-Identifier: MIT */
/*
 * The run's wait: polls the images a run creates until each is available, failed,
 * gone, or past image.wait_timeout since its creation, on the caller's loop ("poll
 * web/us-east-1"). Images are added as they are created, while the run goes on
 * creating; a round of polls asks for every pending one.
 *
 * When to poll (wait.c says why): an image is first asked for poll_initial after its
 * creation, or, once images of this run have become available, after about the time
 * they took; then, while it stays pending, after an eighth of its age each time, at
 * most poll_max apart. The next round comes when the soonest of these is due, but
 * never sooner than the describe bucket's share allows for a round of its size.
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
        WAIT_POLLED,                    /* one poll's answer has been judged: the events of its
                                         * images came before this one */
        WAIT_IDLE,                      /* nothing is pending now (waiter_add() may add more) */
        WAIT_ABORTED,                   /* the wait cannot go on (`error`): the last event */
        WAIT_POLLS_FAILING,             /* a poll failed (`why`: the endpoint down, DNS, TLS); the
                                         * wait goes on polling until image.wait_timeout */
        WAIT_POLLS_RECOVERED,           /* a poll succeeded again after WAIT_POLLS_FAILING */
} wait_event_kind;

typedef struct wait_event {
        wait_event_kind kind;
        int error;                      /* WAIT_FAILED, WAIT_TIMED_OUT, WAIT_ABORTED: a negative errno */
        unsigned images;                /* the images the event is about */
        const char *image_id;           /* WAIT_AVAILABLE, WAIT_FAILED: the image, and */
        const char *instance_id;        /* its instance, for the callback's duration */
        const ec2_image *image;         /* WAIT_AVAILABLE: the image as described (its devices, for
                                         * run/verify.h), for the callback's duration */
        const char *why;                /* WAIT_POLLS_FAILING, for the call's duration */
} wait_event;

/* The callee must not free the waiter from within the callback. */
typedef void (*wait_callback)(const wait_event *e, void *userdata);

typedef struct wait_options {
        sd_event *event;                /* for the poll timer */
        aws_client *ec2;
        const policy *policy;           /* its name, image.wait_timeout */
        const char *region;             /* borrowed: lives as long as the waiter */
        usec_t poll_initial;            /* first poll of an image after its creation, until the
                                         * run has seen how long its images take */
        usec_t poll_max;                /* the longest wait between two polls of an image */
} wait_options;

typedef struct waiter waiter;

int waiter_new(const wait_options *o, wait_callback cb, void *userdata, waiter **ret);
/* Cancels the poll in flight and the timer; the callback is not called. */
waiter *waiter_free(waiter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(waiter *, waiter_free);

/* An image to wait for, created just now. Once the waiter is started, its polls follow
 * from the loop. 0, -ENOMEM, or sd-event's error. */
int waiter_add(waiter *w, const char *image_id, const char *instance_id);
/* Images still pending (for progress display). */
unsigned waiter_pending(const waiter *w);
/* Starts polling the images added, and those added later. -EBUSY when started already,
 * or sd-event's error. */
int waiter_start(waiter *w);
/* DescribeImages calls the waiter has made (for tests and benchmarks). */
unsigned waiter_polls(const waiter *w);
