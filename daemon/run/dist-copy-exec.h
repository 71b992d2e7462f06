/* SPDX-License-Identifier: MIT */
/*
 * The copy distributor's hands (dist-copy-exec.c): it carries out one destination's
 * plan_copy, step after step, from the loop, and calls back once. dist-copy.c reads and
 * decides; this file acts and logs each result where it is known.
 */
#pragma once

#include "run/dist.h"
#include "run/plan-copy.h"

/* One destination, as the steps need it; everything borrowed while they run. */
typedef struct copy_target {
        const dist_context *ctx;
        const copy_destination *dest;
        aws_client *client;             /* the destination's region and account */
        const char *account;            /* another account's id; NULL: the policy's own */
        char *const *in_use;            /* images a launch template of the destination names:
                                         * never retired (NULL-terminated, may be NULL) */
} copy_target;

typedef struct copy_exec copy_exec;

/* r: 0, or the first failure (logged, counted in ctx->result->errors). */
typedef void (*copy_exec_done_cb)(int r, void *userdata);

/* Starts the plan's steps on t; cb is called once, from the loop. steps must outlive it. */
int copy_exec_start(const copy_target *t, const plan_copy *steps, copy_exec_done_cb cb, void *userdata,
                    copy_exec **ret);
copy_exec *copy_exec_free(copy_exec *x);        /* cancels; cb is not called */
DEFINE_TRIVIAL_CLEANUP_FUNC(copy_exec *, copy_exec_free);

/* "to eu-west-1 in account 444455556666 (encrypted)": the destination, for steps and logs. */
int copy_target_describe(const copy_target *t, char **ret);
