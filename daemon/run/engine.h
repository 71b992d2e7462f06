/* SPDX-License-Identifier: MIT */
/*
 * Runs one policy in one region, asynchronously on the event loop it is handed:
 *   describe instances, managed images and snapshots → plan → execute
 *   (per instance in order: retire a failed image of the slot, then create;
 *   other retirements and snapshot sweeps alongside), and meanwhile poll each
 *   new image from its creation; as each one is seen available, plan its
 *   instance's retirements (plan_retire_ready()) and execute them at once →
 *   once nothing runs or is pending, describe the images and plan again →
 *   retire what the per-instance plans could not see.
 * Retirement only follows availability, so an instance never drops below its
 * good images; it follows each instance's own new image, not the fleet's. The engine owns the run's state machine and its result; it hands
 * each plan to exec.c, which executes the actions, and the new images to wait.c,
 * which polls them until available; each reports every result back through one
 * callback. The engine logs its own steps (describes, plans); exec.c logs the
 * actions', wait.c the polls and availability.
 * With verify (run/verify.h), an image available is handed to verify.c instead, which
 * launches a test instance from it, and only a passed image retires what it replaces; the
 * run's execute step ends once the executor, the waiter and the verifier are all idle.
 * Event sources, all on the caller's loop and freed with the run: wait.c's poll
 * timer ("poll web/us-east-1"), verify.c's ("verify web/us-east-1") and exec.c's spread timer per chain ("spread
 * web/us-east-1 i-0abc"); the requests' own sources belong to aws/.
 */
#pragma once

#include <stdbool.h>
#include <time.h>
#include <systemd/sd-event.h>

#include "aws/ec2.h"
#include "run/clients.h"
#include "run/dist.h"
#include "run/exec.h"
#include "run/plan.h"
#include "run/thaw-keeper.h"
#include "policy.h"

typedef struct policy_run policy_run;

typedef struct engine_options {
        time_t now;                     /* the slot is computed from it */
        bool plan_only;                 /* describe and plan; change nothing */
        bool dry_run;                   /* DryRun=true on mutating calls */
        bool wait;                      /* wait for new images, then retire what they replace */
        usec_t poll_initial;            /* first poll of a new image (wait.h); 0: 2 s */
        usec_t poll_max;                /* longest wait between polls of an image; 0: 5 min */
        usec_t spread;                  /* creations start spread over this window, each instance
                                         * at a fixed offset (a hash of its id); 0: all at once */
        bool no_targets_said;           /* a selection that matches nothing was warned about in this
                                         * configuration generation: say it again at debug only */
        /* May be NULL. While a run waits for its images and cannot poll them (the endpoint
         * down, DNS, TLS), called with why, then with NULL once a poll succeeds again; with
         * the run's callback userdata. The run goes on polling until wait_timeout. */
        void (*problem)(policy_run *run, const char *why, void *userdata);
        thaw_keeper *keeper;            /* thaws what a run freed mid-freeze leaves frozen; may be NULL */
        void *keeper_hold;              /* what holds the run's clients for the keeper (thaw-keeper.h) */
} engine_options;

typedef struct run_result {
        plan plan;                      /* the first plan of the run; images_after: the last plan's */
        unsigned created;               /* CreateImage accepted (or DryRunOperation) */
        unsigned existing;              /* InvalidAMIName.Duplicate: the slot's image was there */
        unsigned available;             /* waited for and available */
        unsigned failed_images;         /* went failed or passed wait_timeout */
        unsigned retired;               /* deregistered */
        unsigned released;              /* into the retire stages (retire) */
        unsigned deprecated;            /* deprecation set (retire.deprecate_after, image.deprecate_after) */
        unsigned disabled;              /* retire.disable_after */
        unsigned restored;              /* a stage undone by a person, reported */
        unsigned snapshots_deleted;
        unsigned snapshots_left;        /* in use: left for the next run's sweep */
        unsigned protected;             /* deregistration protection turned on */
        unsigned unprotected;           /* amirotd's deregistration protection turned off */
        unsigned kept_in_use;           /* retirements skipped by protect.in_use, last_launched_within */
        unsigned errors;                /* actions that failed */
        unsigned held;                  /* retirements held back by max_retire_per_run (the last plan's) */
        unsigned verified;              /* verify: images that passed */
        unsigned verify_failed;         /* verify: images that failed (their verdict written) */
        uint64_t verify_seconds;        /* verify: instance-seconds of the test instances terminated */
        dist_result dist;               /* distribution's counters and steps (dist.h) */
        bool no_targets;                /* the policy's tags and states select no instance here */
        char *error;                    /* EC2 could not be read: the first describe's failure, else NULL */
} run_result;

void run_result_done(run_result *r);
/* Counts one event of the executor (run/exec.h) in r (result.c). */
void run_result_count(run_result *r, exec_event_kind k);
#define RUN_RESULT_EXTRAS_MAX 384
/* What a run did beyond creating and retiring, for the end of its summary line: ", 1
 * protected, 0 unprotected", ", 1 released, 2 deprecated, ...", ", 1 kept in use
 * (protect)", ", 2 copies started, 1 copies retired" (distribution), each only when the
 * run did any of it; "" when none. The service's line
 * and `once`'s say the same. */
const char *run_result_extras(const run_result *r, char buf[static RUN_RESULT_EXTRAS_MAX]);

/* r: 0 when every action succeeded, else the first error. The callee may move res's
 * content out (leaving it zeroed); the rest is freed with the run. */
typedef void (*policy_run_callback)(policy_run *run, int r, run_result *res, void *userdata);

/* The run's timers go on event (the caller's loop, of which the run keeps a reference); its requests go through pool's EC2 client for p in region. */
int policy_run_start(sd_event *event, aws_pool *pool, const policy *p, const char *region,
                     const engine_options *o, policy_run_callback cb, void *userdata, policy_run **ret);

/* Cancels requests in flight; the callback is not called. Frees the run. */
policy_run *policy_run_free(policy_run *run);
DEFINE_TRIVIAL_CLEANUP_FUNC(policy_run *, policy_run_free);

const policy *policy_run_policy(const policy_run *run);
const char *policy_run_region(const policy_run *run);
/* Images created by this run still pending (for progress display). */
unsigned policy_run_pending(const policy_run *run);
