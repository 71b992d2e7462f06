/* SPDX-License-Identifier: MIT */
/*
 * The copy planner (copy_to), pure as plan.h's planner: for one destination of a policy and
 * one source region, from the policy's own images there and the destination's copies of
 * them, which sources to copy and which copies to retire. The copy distributor
 * (dist-copy.c) reads EC2, calls in, and carries the steps out.
 *
 * The rules, per instance:
 * - A source is one of the policy's own images in the run's region (no amirotd:copy-of),
 *   available, not released (amirotd:retired-at), of a slot that has begun, and with verify
 *   passed (amirotd:verified=passed as the run's describe shows it, or named by
 *   in->passed: one that passed in this run, whose tag may not show yet). The copy carries the verdict,
 *   so the destination's launch templates and parameters may name it; a copy made before
 *   verify was turned on has none and is kept by the destination's retention as before. A copy is an
 *   image in the destination tagged with the policy and amirotd:copy-of "REGION/ami-..." of
 *   this run's region; other regions' copies are their runs' business.
 * - Copy only what the destination's retention would keep: the destination's rules
 *   (copy_to.retain, else the policy's own) judge its available copies, its pending ones
 *   (in flight: always kept, counted) and the sources not yet copied together, each at its
 *   slot start (a copy's age is its source's); a source they keep is copied. After
 *   downtime, with count 3, that is the newest 3, not 30.
 * - Retire only what the rules let go among the available copies alone, so that a copy
 *   leaves only once its successor is available (design.md, rule 5). The newest available
 *   copy always stays, and so does the last available copy of an instance whose source
 *   still exists. Pending copies are never retired, nor copies under deregistration
 *   protection.
 * - A failed copy is garbage, retired before anything is copied (it holds its name), and
 *   its source counts as not copied: it is copied again if the rules still want it.
 * - copy_to.deprecate_after: each copy that is visible (pending or available), has no
 *   deprecation time and no amirotd:deprecation mark is deprecated at its creation plus
 *   deprecate_after (or EC2's earliest minute): CopyImage does not carry its source's
 *   deprecation. The mark says it was done: a person who removes the deprecation is not
 *   overruled.
 * - At most in->copy_slots copies start (EC2's concurrent-copy limit less the copies seen
 *   in flight), newest sources first; the others wait for a later run (ret->deferred).
 */
#pragma once

#include <time.h>

#include "aws/ec2-types.h"
#include "policy.h"

/* CopyImage: "Destination regions are limited to 50 concurrent AMI copies at a time, with no
 * more than 25 of those coming from a single source region." (EC2 user guide, Copying an
 * AMI.) A run copies from one source region: 25 is its ceiling. */
#define PLAN_COPY_CONCURRENT_MAX 25
/* ClientToken: "Constraints: Maximum 64 ASCII characters." */
#define PLAN_COPY_TOKEN_MAX 64

typedef enum plan_copy_kind {
        PLAN_COPY_START,                /* CopyImage of image (a source) to the destination */
        PLAN_COPY_RETIRE,               /* DeregisterImage of image (a copy) with its snapshots */
        PLAN_COPY_DEPRECATE,            /* EnableImageDeprecation of image (a copy) at deprecate_at,
                                         * then the mark TAG_DEPRECATION */
} plan_copy_kind;

typedef struct plan_copy_step {
        plan_copy_kind kind;
        const ec2_image *image;         /* borrowed from the input */
        const char *instance_id;        /* the image's amirotd:instance-id (borrowed) */
        time_t age_key;                 /* its slot start (or creation date) */
        char *reason;                   /* RETIRE: "beyond retain.count 3", "failed" */
        time_t deprecate_at;            /* DEPRECATE */
} plan_copy_step;

typedef struct plan_copy {
        plan_copy_step *steps;          /* by instance: its RETIREs oldest first; the failed copies'
                                         * RETIREs; the DEPRECATEs; then the STARTs, newest first
                                         * across instances */
        size_t n;
        unsigned pending;               /* the destination's copies of this region in flight */
        unsigned deferred;              /* sources to copy that wait for the concurrent-copy limit */
        unsigned kept_protected;        /* retirements left out for deregistration protection */
} plan_copy;

typedef struct plan_copy_input {
        const policy *policy;
        const copy_destination *dest;
        const char *source_region;      /* the run's region */
        time_t now;
        const ec2_image *sources;       /* the run's region's images (copies among them are ignored) */
        size_t n_sources;
        const ec2_image *copies;        /* the destination's images tagged with the policy */
        size_t n_copies;
        unsigned copy_slots;            /* copies that may start now */
        char *const *passed;            /* verify: the run's images that passed in this run
                                         * (NULL-terminated, may be NULL): passed before their
                                         * tag shows (dist_context.passed) */
} plan_copy_input;

void plan_copy_done(plan_copy *p);
/* 0, -EINVAL, -ENOMEM or plan_keep()'s error; *ret is untouched on failure. */
int plan_copy_build(const plan_copy_input *in, plan_copy *ret);
/* The destination's copies of source_region in flight (pending), for copy_slots. */
unsigned plan_copy_pending(const policy *p, const char *source_region, const ec2_image *copies, size_t n);
/* The policy's rules with the destination's retain in their place (departed cleared), for
 * plan_keep() and its reasons. */
void plan_copy_rules(const policy *p, const copy_destination *d, policy *ret);
/* The ClientToken of a copy: "amirotd-" and 32 hex digits of a digest of policy, source
 * image, destination region and account (NULL or "": the policy's own) and the attempt.
 * EC2 answers a token with the image it made for it, and a token whose image is gone (a
 * failed copy, retired) with IdempotentParameterMismatch, as it does when the parameters
 * changed (encrypted, kms_key_id): the copier then tries the next attempt's token. So a
 * retry, a restart or a crash finds the copy in flight again by walking the same tokens,
 * and never copies twice. */
#define PLAN_COPY_ATTEMPTS_MAX 8
void plan_copy_token(const char *policy_name, const char *source_id, const char *dest_region, const char *dest_account,
                     unsigned attempt, char ret[static PLAN_COPY_TOKEN_MAX + 1]);
