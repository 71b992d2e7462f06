/* SPDX-License-Identifier: MIT */
/*
 * The verifier's state (verify.c), for the file that recovers the test instances earlier
 * runs left and takes the run's images (verify-recover.c). Nothing else includes this.
 */
#pragma once

#include <regex.h>

#include "run/verify.h"
#include "run/verify-plan.h"
#include "base/log.h"

/* DescribeInstanceStatus: "Constraints: Maximum 100 explicitly specified instance IDs." */
#define STATUS_IDS_MAX 100
/* A tag value holds 256 characters; the reason fits one. */
#define REASON_MAX 257

typedef enum test_phase {
        TEST_QUEUED,                    /* waits for room under max_concurrent */
        TEST_LAUNCHING,                 /* RunInstances in flight */
        TEST_WATCHED,                   /* polled until judged */
        TEST_CONSOLE,                   /* GetConsoleOutput in flight */
        TEST_REASON,                    /* DescribeInstances in flight: why it stopped */
        TEST_TAGGING,                   /* CreateTags of the verdict on the image in flight */
        TEST_TERMINATING,               /* TerminateInstances in flight */
        TEST_DONE,
} test_phase;

/* An image of the run's describe without a verdict, for the test instances found again. */
typedef struct verify_image {
        char *image_id;
        char *source_id;                /* amirotd:instance-id, or NULL */
} verify_image;

typedef struct test_instance {
        verifier *v;
        test_phase phase;
        char *image_id;
        char *source_id;                /* the image's amirotd:instance-id, or NULL */
        char **devices;                 /* the image's EBS device names, for DeleteOnTermination */
        char *instance_id;              /* once launched or found */
        long rank;                      /* the queue: highest first */
        bool recovered;                 /* found by tag, left by an earlier run */
        bool stale;                     /* recovered with nothing to judge: terminate only */
        time_t launched;
        /* What EC2 said at the last poll. */
        bool listed;
        ec2_instance_state state;
        ec2_status_summary system_status, instance_status;
        char *state_reason;
        int console;                    /* verify_observation.console */
        bool console_read;              /* GetConsoleOutput was answered once (or failed) */
        bool reason_read;               /* DescribeInstances was asked why it stopped */
        verify_step verdict;            /* VERIFY_PASS or VERIFY_FAIL once judged */
        char reason[REASON_MAX];
        ec2_op *op;                     /* the entry's one request in flight */
} test_instance;

struct verifier {
        verify_options options;
        verify_callback callback;
        void *userdata;
        usec_t started;                 /* CLOCK_MONOTONIC at verifier_new(): options.now then */
        regex_t match;
        bool match_set;

        test_instance **tests;
        size_t n_tests;
        long rank_new, rank_old;        /* the next rank of a new image, of a candidate */

        ec2_op *recover;                /* DescribeInstances of the test instances left, in flight */
        bool recover_started, recover_done, recover_failed;
        verify_image *unverified;       /* of the run's describe: the images still without a verdict */
        size_t n_unverified;
        bool images_in;                 /* verifier_images() was called */
        bool launch_stopped;            /* a RunInstances was refused: nothing more is launched */

        ec2_op *poll;                   /* DescribeInstanceStatus in flight */
        char **poll_ids;                /* the chunk in flight */
        size_t poll_next;               /* the next watched entry a round asks for */
        sd_event_source *timer;
        bool timer_armed;
        usec_t last_launch;             /* CLOCK_MONOTONIC of the youngest watched instance */
};

/* verify.c's, for verify-recover.c. */
log_fields verify_fields(const verifier *v, const test_instance *t);
int verify_test_new(verifier *v, const char *image_id, const char *source_id, test_instance **ret);
test_instance *verify_test_by_instance(const verifier *v, const char *instance_id);
/* An image to verify at rank (the queue: highest first), unless it has a test instance already. */
int verify_test_queue(verifier *v, const ec2_image *image, const char *source_instance_id, long rank);
void verify_images_free(verifier *v);
void verify_test_terminate(verifier *v, test_instance *t);
/* Launches, reads, polls what is due; says idle once nothing is left. */
void verify_pump(verifier *v);
void verify_emit(verifier *v, verify_event_kind kind, int error, const test_instance *t, const char *why,
                 uint64_t seconds);
