/* SPDX-License-Identifier: MIT */
/*
 * A run's state (engine.c), for the files that carry out parts of it: its describes
 * (engine-describe.c). Nothing outside daemon/run/engine*.c includes this.
 */
#pragma once

#include "run/dist.h"
#include "run/engine.h"
#include "run/verify.h"
#include "run/wait.h"
#include "base/log.h"

typedef enum run_step {
        STEP_DESCRIBE,                  /* instances, images and snapshots */
        STEP_EXECUTE,                   /* the first plan; with wait, alongside: the new images'
                                         * polls, and the retirements each one allows once available */
        STEP_REDESCRIBE,                /* images again, once nothing is pending */
        STEP_RETIRE,                    /* the last plan's retirements: what the others missed */
        STEP_DISTRIBUTE,                /* shares, copies, templates, parameters (dist.h) */
        STEP_DONE,
} run_step;

/* What a run reads from EC2: each answer replaces one list of the run. */
typedef enum describe_kind {
        DESCRIBE_INSTANCES,
        DESCRIBE_IMAGES,
        DESCRIBE_SNAPSHOTS,
        DESCRIBE_VOLUMES,               /* image.volumes.exclude_tags only */
        _DESCRIBE_KIND_MAX,
} describe_kind;

typedef struct describe {
        policy_run *run;
        describe_kind kind;
        ec2_op *op;                     /* in flight */
} describe;

struct policy_run {
        sd_event *event;
        aws_client *ec2;
        const policy *policy;
        char *region;
        aws_pool *pool;                 /* borrowed: distribution reaches other regions and accounts */
        engine_options options;
        policy_run_callback callback;
        void *userdata;

        run_step step;
        describe describes[_DESCRIBE_KIND_MAX];
        unsigned describing;            /* describes outstanding */
        bool describe_failed;           /* then the run plans nothing more */
        int snapshots_r;                /* DescribeSnapshots failed: logged once the others are in */
        aws_error snapshots_error;

        ec2_instance_list instances;
        ec2_image_list images;
        ec2_snapshot_list snapshots;
        ec2_volume_list volumes;
        char **excluded_volumes;        /* of volumes, the ids image.volumes leaves out, sorted */

        sd_event_source *kick;          /* deferred: the run's next move */
        executor *exec;                 /* of result.plan, batches and retire_plan */
        bool exec_busy;                 /* from exec_start() until EXEC_DONE */
        bool retire_plan_built;         /* the run's last plan is retire_plan */
        waiter *wait;                   /* the images the first plan created, until available */
        bool wait_aborted;              /* WAIT_ABORTED: nothing more is polled */
        verifier *verify;               /* policy.verify: the test instances, NULL without verify */
        char **passed;                  /* images the verifier passed in this run: counted by the
                                         * later plans before their tag shows (plan_input.passed) */
        plan_image_index index;         /* of images, for the views of plan_retire_ready() */
        plan_ready_image *ready;        /* available since the last batch; the ids are owned */
        size_t n_ready;
        plan **batches;                 /* retirements as images became available, in execution */
        size_t n_batches;
        plan spent;                     /* every retirement handed to exec so far (instance ids and
                                         * bound only): the later plans' plan_input.earlier */
        plan retire_plan;
        char **created;                 /* images created or found for the slot: never retired */
        char **skipped_said;            /* images whose kept retirement the run has logged */

        dist *dist;                     /* STEP_DISTRIBUTE */
        run_result result;
        int error;
        void (*described)(policy_run *run);     /* the engine's next move once the describes are in */
};

/* A run's fields for its log lines: policy and region. */
static inline log_fields engine_fields(const policy_run *run) {
        return (log_fields) { .policy = run->policy->name, .region = run->region };
}

/* Counts a failure; the first one is the run's error. */
static inline void engine_fail(policy_run *run, int r) {
        run->result.errors++;
        if (run->error == 0)
                run->error = r;
}

/* Started describes count in run->describing; each answer replaces its list, and the last
 * one moves the run on (run->described). */
int engine_describe_instances(policy_run *run);
/* The images or snapshots this policy tagged. */
int engine_describe_managed(policy_run *run, describe_kind kind);
int engine_describe_volumes(policy_run *run);
