/* SPDX-License-Identifier: MIT */
/*
 * The run's verifier: proves that each new image boots before retention counts it
 * (policy.verify). For every image without a verdict it launches one test instance
 * (RunInstances with verify_client_token(): one token for every retry and restart of
 * an attempt), polls DescribeInstanceStatus and, with console_match, GetConsoleOutput
 * until verify_judge() (verify-plan.h) says passed or failed, writes the verdict on the
 * image (CreateTags) and only then terminates the test instance. At most
 * verify.max_concurrent test instances are alive at once.
 *
 * A run recovers first: the test instances an earlier run left (a crash, a terminate
 * that failed) are found by their tags, and each is watched again, or terminated when
 * its image already has a verdict or is gone.
 *
 * The interface runs one way, like wait.h: the engine hands in the images (the run's
 * describe, then each new image as it becomes available) and one callback; every
 * verdict, failed call and the cost come back through it as events. verify.c never
 * calls into the engine. Each verdict is logged here, where it is decided.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "aws/ec2.h"
#include "policy.h"

typedef enum verify_event_kind {
        VERIFY_EVENT_PASSED,            /* image_id passed: amirotd:verified=passed is written */
        VERIFY_EVENT_FAILED,            /* image_id failed (`why`): amirotd:verified=failed is written */
        VERIFY_EVENT_ERROR,             /* a call failed (`error`, `why`): no verdict, the image
                                         * stays unverified for the next run */
        VERIFY_EVENT_TERMINATED,        /* a test instance left by an earlier run is terminated */
        VERIFY_EVENT_IDLE,              /* nothing is queued, launching or watched now */
} verify_event_kind;

typedef struct verify_event {
        verify_event_kind kind;
        int error;                      /* VERIFY_EVENT_ERROR: a negative errno */
        const char *image_id;           /* for the callback's duration; NULL for IDLE */
        const char *instance_id;        /* the image's source instance (amirotd:instance-id), or NULL */
        const char *why;                /* FAILED: the reason; ERROR: the message */
        uint64_t instance_seconds;      /* PASSED, FAILED, TERMINATED: the test instance's launch
                                         * to its termination (0 when it was not terminated) */
} verify_event;

/* The callee must not free the verifier from within the callback. */
typedef void (*verify_callback)(const verify_event *e, void *userdata);

typedef struct verify_options {
        sd_event *event;                /* for the poll timer */
        aws_client *ec2;
        const policy *policy;           /* its name and verify section */
        const char *region;             /* borrowed: lives as long as the verifier */
        time_t now;                     /* the run's time; the verifier's clock goes on from it */
        bool dry_run;                   /* launches nothing: logs what it would verify */
        usec_t poll_initial;            /* first poll of a test instance after its launch */
        usec_t poll_max;                /* the longest wait between two polls */
} verify_options;

typedef struct verifier verifier;

/* -EINVAL when the policy has no verify section or console_match does not compile. */
int verifier_new(const verify_options *o, verify_callback cb, void *userdata, verifier **ret);
/* Cancels every request in flight and the timer; the callback is not called. */
verifier *verifier_free(verifier *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(verifier *, verifier_free);

/* Before anything else of the run: finds the test instances an earlier run left
 * (DescribeInstances by tag). Nothing is launched until its answer is in. */
int verifier_recover(verifier *v);
/* The run's describe of its images: the candidates (verify_plan_candidates()), and what
 * the recovered test instances' images are now. Once only. */
int verifier_images(verifier *v, const ec2_image *images, size_t n);
/* An image of this run that became available: verified before the older candidates. */
int verifier_add(verifier *v, const ec2_image *image, const char *source_instance_id);
/* Whether anything is queued, launching, watched or being tagged or terminated. */
bool verifier_busy(const verifier *v);
/* Test instances alive now (for progress display and tests). */
unsigned verifier_alive(const verifier *v);
