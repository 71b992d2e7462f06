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
        TEST_TERMINATE_AGAIN,           /* TerminateInstances failed: sent again at the next poll */
        TEST_DONE,
} test_phase;

/* An image of the run's describe without a verdict, for the test instances found again. */
typedef struct verify_image {
        char *image_id;
        char *source_id;                /* amirotd:instance-id, or NULL */
        unsigned attempt;               /* amirotd:verify-attempt */
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
        unsigned attempt;               /* the image's amirotd:verify-attempt (ClientToken) */
        time_t launched;
        usec_t launched_mono;           /* CLOCK_MONOTONIC at RunInstances' answer; 0: found again */
        /* What EC2 said at the last poll. */
        bool listed;
        ec2_instance_state state;
        ec2_status_summary system_status, instance_status;
        char *state_reason;
        int console;                    /* verify_observation.console */
        bool console_read;              /* GetConsoleOutput was answered once (or failed) */
        bool reason_read;               /* DescribeInstances was asked why it stopped */
        verify_step verdict;            /* PASS, FAIL or ABANDON once judged; WAIT: none */
        char reason[REASON_MAX];
        char *error;                    /* no verdict: the failed call, said once terminated */
        unsigned terminate_failures;
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
        bool console_latest_refused;    /* GetConsoleOutput Latest=true is not supported here */
        bool pumping, pump_again;       /* verify_pump() runs: a nested call asks it to loop */
        void (*pump)(verifier *v);      /* verify_pump(), for verify-end.c */
};

/* A test instance may stay invisible to describes and refuse TerminateInstances with
 * InvalidInstanceID.NotFound for a while after RunInstances (EC2's eventual consistency):
 * until it is this old, NotFound means "not yet", never "gone". */
#define VERIFY_INVISIBLE_MAX (5 * 60)
/* A TerminateInstances that keeps failing for another reason is given up after this many
 * tries, one a poll round; the next run finds the instance by its tags. */
#define VERIFY_TERMINATE_TRIES 3

/* The verifier's clock: the run's time, carried on by the monotonic clock. */
static inline time_t verify_now(const verifier *v) {
        return v->options.now + (time_t) ((now_usec(CLOCK_MONOTONIC) - v->started) / USEC_PER_SEC);
}

static inline log_fields verify_fields(const verifier *v, const test_instance *t) {
        return (log_fields) { .policy = v->options.policy->name, .region = v->options.region,
                              .image_id = t ? t->image_id : NULL, .instance_id = t ? t->source_id : NULL,
                              .test_instance_id = t ? t->instance_id : NULL };
}

/* The test instance's age, for its deadline and its cost: of one this run launched, on the
 * monotonic clock since RunInstances answered (neither --now nor a step of the wall clock
 * moves it); of one found again, EC2's launch time against the verifier's clock. */
static inline time_t verify_age(const verifier *v, const test_instance *t) {
        if (t->launched_mono > 0)
                return (time_t) ((now_usec(CLOCK_MONOTONIC) - t->launched_mono) / USEC_PER_SEC);
        return MAX(verify_now(v) - t->launched, (time_t) 0);
}

/* verify-end.c: the verdict written, the instance terminated, the event said. */
void verify_emit(verifier *v, verify_event_kind kind, int error, const test_instance *t, const char *why,
                 uint64_t seconds);
/* Logs a failed call about t; its message (newly allocated, or NULL) names the image. */
char *verify_call_failed(verifier *v, const test_instance *t, int r, const aws_error *err, const char *action,
                         const char *what);
/* t->verdict is PASS, FAIL or ABANDON: tags the image, then terminates the instance. */
void verify_test_conclude(verifier *v, test_instance *t);
/* No verdict (why): terminates the instance, then says why as an error. */
void verify_test_give_up(verifier *v, test_instance *t, char *why);
void verify_test_terminate(verifier *v, test_instance *t);

/* verify.c's, for verify-recover.c. */
int verify_test_new(verifier *v, const char *image_id, const char *source_id, test_instance **ret);
test_instance *verify_test_by_instance(const verifier *v, const char *instance_id);
/* An image to verify at rank (the queue: highest first), unless it has a test instance already. */
int verify_test_queue(verifier *v, const ec2_image *image, const char *source_instance_id, long rank);
void verify_images_free(verifier *v);
test_instance *verify_test_find(const verifier *v, const char *image_id);
/* Launches, reads, polls what is due; says idle once nothing is left. */
void verify_pump(verifier *v);
