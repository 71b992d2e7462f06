/* SPDX-License-Identifier: MIT */
/*
 * The executor's insides, shared by exec.c (chains, gates, CreateImage) and the files
 * that execute one kind of action each (exec-retire.c). Nothing outside daemon/run/exec*.c
 * includes this.
 */
#pragma once

#include "run/exec.h"
#include "run/plan-hook.h"
#include "run/protect.h"

/*
 * Chains started at once, per gate (below). Each started chain holds one request: signed,
 * encoded and queued at its bucket (daemon/aws/pace.h) until its token comes. Past a
 * bucket's burst a request waits 1/refill per place in the line, so 10 000 CreateImage
 * queued at once would hold 10 000 requests for half an hour; 256 keep every bucket's
 * line, and every connection, busy (EC2's largest burst is 100) at a fixed cost.
 */
#define CHAINS_STARTED_MAX 256

/* Chains that create and those that only retire draw on separate buckets (CreateImage,
 * DeregisterImage), and retiring must not wait behind the creations. */
typedef enum chain_gate {
        GATE_CREATE,
        GATE_RETIRE,
        _GATE_MAX,
} chain_gate;

typedef struct chain_hooks chain_hooks;         /* exec-hook.c */
typedef struct exec_recovery exec_recovery;     /* exec-hook-recover.c */

/* The actions of one instance run in plan order, one after the other. */
typedef struct chain {
        executor *exec;
        struct chain *waiting_next;     /* in its gate's line, until started */
        bool started;                   /* holds a place of its gate */
        const plan *plan;               /* the plan the chain's actions belong to */
        size_t first, end;              /* [first, end) in the plan being executed */
        size_t next;                    /* next action to start */
        char **snapshots;               /* of the retirement in progress, still to delete */
        size_t snapshot;                /* index into snapshots */
        ec2_op *op;                     /* the chain's request in flight */
        sd_event_source *timer;         /* the spread's start, or the next lookup of the slot's image */
        usec_t lookup_started;          /* CLOCK_MONOTONIC: the first lookup of the slot's image */
        usec_t lookup_delay;            /* the last wait between lookups; 0 before the first */
        unsigned stage_step;            /* exec-stage.c: tags, call, marks */
        time_t deprecate_at;            /* exec-stage.c: the DeprecateAt sent */
        protect_op *protect_op;         /* the check of its retention retirements in flight */
        protect_result protect;         /* their verdicts (exec-protect.c) */
        bool protect_checked;           /* protect holds the check made for the current action */
        size_t unshare_at;              /* exec-unshare.c: the retirement's snapshot being unshared */
        bool unshare_more;              /* ... and what is left of its permissions needs another call */
        chain_hooks *hooks;             /* exec-hook.c: around its CREATE, with image.before/after/freeze */
} chain;

/* The chains of one plan. */
typedef struct chain_batch {
        chain *chains;
        size_t n_chains;
        struct chain_batch *next;
} chain_batch;

struct executor {
        exec_options options;
        exec_callback callback;
        void *userdata;

        chain_batch *batches;           /* one per exec_start(), newest first */
        size_t chains_running;
        struct {
                size_t started;         /* chains holding a place, at most CHAINS_STARTED_MAX */
                chain *head, *tail;     /* chains waiting for a place, in order */
        } gates[_GATE_MAX];
        bool admitting;                 /* gate_admit() is on the stack */
        bool deregister_plain;          /* the endpoint refused DeleteAssociatedSnapshots */
        char **protected;               /* images reported as protected from deregistration */
        protect_checker *protect;       /* protect.in_use's launch templates, read once per run */
        char **in_use_reported;         /* images reported as kept by protect */
        void (*advance)(chain *c);      /* exec.c's: starts the chain's next action, or ends it */
        exec_recovery *recovery;        /* the thaws of earlier runs' freezes, before any freeze */
        /* exec.c's CreateImage, for exec-hook.c, which exec.c calls: it never calls exec.c back
         * by name (exec_start_create()). */
        int (*create)(chain *c, bool no_reboot);
};

/* ---- exec-chain.c: for the files of each kind of action --------------------------------- */

void exec_report(executor *x, exec_event e);
void exec_report_failure(executor *x, int r, const log_fields *f);
/* "dry run: would have " in a dry run, else "". */
const char *exec_dry_run_prefix(const executor *x);
log_fields exec_action_fields(const executor *x, const plan_action *a, const char *aws_action);

/* The action the chain is at. */
const plan_action *chain_action(const chain *c);
/* The action is done: the chain goes on with its next one. */
void chain_done(chain *c);
/* The action failed with r (logged where it was decided): count it, go on with the next. */
void chain_fail(chain *c, int r, const log_fields *f);
/* Calls cb on c after delay; the timer is the chain's own, named for traces by what. */
int chain_timer(chain *c, usec_t delay, sd_event_time_handler_t cb, const char *what);

/* exec-dereg-protect.c: a PLAN_PROTECT (tag, then EnableImageDeregistrationProtection) or a
 * PLAN_UNPROTECT (DisableImageDeregistrationProtection, then untag). */
int exec_start_protect(chain *c);
int exec_start_unprotect(chain *c);
/* exec-protect.c: an action that takes an image out of use (a RETIRE of a usable image, a
 * PLAN_RELEASE, a PLAN_DISABLE) after protect's checks; then exec_start_deregister() or
 * exec_start_stage(). Other actions start at once. */
int exec_start_checked(chain *c);

/* exec-retire.c: DeregisterImage, then its snapshots; a PLAN_DELETE_SNAPSHOT's snapshot. */
int exec_start_deregister(chain *c);
/* Deletes each of ids but those in done, in turn, then goes on with the chain (none: at once). */
int exec_delete_snapshots(chain *c, char *const *ids, char *const *done);

/* exec-unshare.c: a retirement of a policy that shares: its snapshots' create-volume
 * permissions removed, then exec_start_deregister(); else that at once. */
int exec_start_unshare(chain *c);

/* exec-stage.c: PLAN_RELEASE, PLAN_DEPRECATE, PLAN_DISABLE, PLAN_RESTORED. */
int exec_start_stage(chain *c);

/* exec.c: CreateImage of the chain's PLAN_CREATE, with no_reboot for its NoReboot. */
int exec_start_create(chain *c, bool no_reboot);

/* exec-hook.c: a PLAN_CREATE of a policy with hooks (hook_wanted()): image.before, the freeze,
 * then exec_start_create(). */
int exec_start_hooked_create(chain *c);
/* CreateImage answered (image_id, or NULL when it failed): the thaw goes out now. */
void exec_hooks_answered(chain *c, const char *image_id);
/* CreateImage's part of the chain is over (reported): the thaw's end and image.after follow,
 * then chain_done(); without hooks, chain_done() at once. */
void exec_create_end(chain *c);
/* Frees h; an instance it may have left frozen is handed to the thaw keeper. */
chain_hooks *exec_hooks_free(executor *x, chain_hooks *h, const plan_action *a);

/* exec-hook-recover.c: finds the policy's freezes with no thaw and thaws them (exec.h). */
int exec_recover_start(executor *x);
/* True when c's freeze must wait for those thaws: resume(c) follows once they ended. */
bool exec_recovery_wait(chain *c, void (*resume)(chain *c));
exec_recovery *exec_recovery_free(exec_recovery *v);
/* The thaw keeper sends the thaw of instance_id (slot may be NULL), after the run; again
 * while its SendCommand fails and may pass, until retry_until (CLOCK_MONOTONIC; 0: once). */
void exec_hand_thaw(executor *x, const char *instance_id, const char *slot, const char *why, usec_t retry_until);
/* Sends the thaw of the freeze of instance_id for slot (the freeze's token): cb follows, from
 * the loop, unless it returns <0. */
#define HOOK_THAW_TIMEOUT 60
typedef struct hook_ssm hook_ssm;
int exec_thaw_start(executor *x, const char *instance_id, const char *slot, hook_done_cb cb, void *userdata,
                    hook_ssm **ret);
