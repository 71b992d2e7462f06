/* SPDX-License-Identifier: MIT */
/*
 * Executes a plan's actions against EC2, on the event loop: one chain per
 * instance, its actions in plan order, each chain's start spread over a window;
 * CreateImage, with the lookup of the slot's image when the name is taken;
 * DeregisterImage with DeleteAssociatedSnapshots, or plainly on an endpoint that
 * refuses it; DeleteSnapshot, leaving a snapshot still in use to the next sweep.
 *
 * The interface runs one way: the engine hands in one callback, and every result
 * comes back through it as an event (created, retired, failed, ..., done) that
 * the engine counts. exec.c never calls into the engine. Each result is logged
 * here, where it is decided, with its fields and MESSAGE_ID.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "aws/ec2.h"
#include "base/log.h"
#include "run/plan.h"
#include "run/thaw-keeper.h"
#include "policy.h"

typedef enum exec_event_kind {
        EXEC_CREATED,                   /* CreateImage accepted (or DryRunOperation) */
        EXEC_EXISTING,                  /* InvalidAMIName.Duplicate: the slot's image was there */
        EXEC_RETIRED,                   /* deregistered */
        EXEC_SNAPSHOT_DELETED,
        EXEC_SNAPSHOT_LEFT,             /* in use: left for the next run's sweep */
        EXEC_PROTECTED,                 /* deregistration protection turned on (protect.newest) */
        EXEC_UNPROTECTED,               /* amirotd's deregistration protection turned off */
        EXEC_RELEASED,                  /* tagged retired-at: into the retire stages */
        EXEC_DEPRECATED,                /* EnableImageDeprecation set (or the stage was there) */
        EXEC_DISABLED,                  /* DisableImage (or the image was disabled) */
        EXEC_RESTORED,                  /* a person's undoing of a stage, reported and marked */
        EXEC_KEPT_IN_USE,               /* kept by protect.in_use or last_launched_within */
        EXEC_FAILED,                    /* an action failed with `error` (already logged) */
        EXEC_DONE,                      /* every chain started so far has ended (another
                                         * exec_start() may follow, and another EXEC_DONE) */
} exec_event_kind;

typedef struct exec_event {
        exec_event_kind kind;
        int error;                      /* EXEC_FAILED: a negative errno */
        bool pending;                   /* EXEC_CREATED, EXEC_EXISTING: fields->image_id is
                                         * pending; its successor waits for it */
        const log_fields *fields;       /* of the result: instance, image, snapshot; may be NULL */
} exec_event;

/* EXEC_DONE may end the run: after it, the callee may free the executor. */
typedef void (*exec_callback)(const exec_event *e, void *userdata);

typedef struct exec_options {
        sd_event *event;                /* for the spread's timers */
        aws_client *ec2;
        const policy *policy;
        const char *region;             /* borrowed: lives as long as the executor */
        bool dry_run;                   /* DryRun=true on mutating calls */
        usec_t spread;                  /* creations start spread over this window; 0: at once */
        time_t now;                     /* the time of the run's plans (engine_options.now) */
        usec_t now_monotonic;           /* CLOCK_MONOTONIC when it was taken: a call's own time is
                                         * now plus the time since (exec-stage.c's DeprecateAt) */
        aws_client *ssm;                /* image.before/after by SSM, image.freeze; else NULL */
        thaw_keeper *keeper;            /* thaws the instances the executor is freed with frozen; may be NULL */
        void *keeper_hold;              /* what keeps ssm alive for the keeper (thaw-keeper.h); may be NULL */
} exec_options;

typedef struct executor executor;

int exec_new(const exec_options *o, exec_callback cb, void *userdata, executor **ret);
/* Cancels requests and timers in flight; the callback is not called. */
executor *exec_free(executor *x);
DEFINE_TRIVIAL_CLEANUP_FUNC(executor *, exec_free);

/* Starts every chain of p, which must stay unchanged until the executor is freed. Plans
 * may run side by side: the engine hands in one plan per batch of retirements while the
 * creations of its first plan go on. Every result, then EXEC_DONE once no chain of any
 * plan runs, comes through the callback, possibly before this returns (touch nothing of
 * the run after a 0 then). 0 or -ENOMEM. */
int exec_start(executor *x, const plan *p);

/* A policy with image.freeze, not in a dry run: looks for freezes an earlier run left
 * without a thaw (a kill -9) and thaws them; the freezes of this run wait for it. Call it
 * at the start of the run. 0 or -errno (then nothing waits). */
int exec_recover_start(executor *x);

/* exec-unshare.c: the one call that takes the next part of what policy p manages away from
 * a snapshot's create-volume permissions (current) before its image is retired: with
 * `share` every grant and the public group, else its copy_to accounts. 1: the call is
 * started and cb will come, *ret_more set when what is left needs another call after it
 * (read the permissions again); 0: nothing to take away; or a negative errno. */
int exec_unshare_snapshot_call(aws_client *ec2, const policy *p, const char *snapshot_id,
                               const ec2_permission_list *current, bool dry_run, ec2_done_cb cb, void *userdata,
                               ec2_op **ret_op, bool *ret_more);

/* Logs a failed AWS call "policy 'P' in R: what: Code: message" at level, with f's
 * fields and err's code and request id (err may be NULL); returns r. The engine's
 * describes and polls log through it too. */
int exec_log_aws(int level, int r, const aws_error *err, const log_fields *f, const char *what);
/* As exec_log_aws() says it, for a status line: "Action: Code: message", or a local failure's
 * message (which names the action already). Newly allocated; NULL when out of memory. */
char *exec_aws_reason(int r, const aws_error *err, const char *action);
