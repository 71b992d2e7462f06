/* SPDX-License-Identifier: MIT */
/*
 * verify's decisions, pure (make check-plan-pure): which images wait for a verdict, how
 * retention treats each verdict, the test instance's ClientToken and tags, and the verdict
 * on what EC2 says of a test instance. run/verify.c does the calls; the planner (plan.c,
 * plan-retire.c, plan-copy.c) and dist-newest.c read an image's verdict from here.
 *
 * With verify on, an image counts as good only once an instance launched from it has
 * booted: amirotd:verified=passed. Until then it is set aside like a pending image,
 * neither counted nor retired, so that an unproven image never pushes a passed one out of
 * retention; amirotd:verified=failed makes it garbage, retired within max_retire_per_run
 * (plan-bound.c) and not made again in its slot. A test that ended for EC2's or a person's
 * reason gives no verdict (VERIFY_ABANDON): the image is tested again next run.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws/ec2-types.h"
#include "policy.h"

typedef enum verify_verdict {
        VERIFY_NOT_JUDGED,              /* verify is off for the policy: the image counts as before */
        VERIFY_PASSED,                  /* amirotd:verified=passed */
        VERIFY_FAILED,                  /* amirotd:verified=failed: garbage */
        VERIFY_UNVERIFIED,              /* verify is on and the image has no verdict yet: set aside */
        _VERIFY_VERDICT_MAX,
        _VERIFY_VERDICT_INVALID = -EINVAL,
} verify_verdict;

/* An image's verdict under p's verify (a value of amirotd:verified other than "passed" or
 * "failed" reads as unverified: set aside, never counted, never retired on a guess). */
verify_verdict verify_image_verdict(const policy *p, const ec2_image *g);
/* The same as the planner reads it: passed too when g's id is among passed[0..n), sorted
 * (plan_input.passed: the run's own verdicts, ahead of EC2's eventually consistent tags). */
verify_verdict verify_plan_verdict(const policy *p, const ec2_image *g, const char *const *passed, size_t n);

/* The images among images[n] that verify must judge at now: p's own (amirotd:policy), not a
 * copy, available, not released (amirotd:retired-at), of a slot not after now, without a
 * verdict; newest first (slot, then CreationDate). *ret: pointers into images (free the
 * array only), NULL when none. 0 or -ENOMEM. */
int verify_plan_candidates(const policy *p, const ec2_image *images, size_t n, time_t now, const ec2_image ***ret,
                           size_t *ret_n);

/* The attempt at testing g: amirotd:verify-attempt, raised by run/verify.c after a test that
 * gave no verdict (VERIFY_ABANDON); 0 when absent or not a small decimal (at most 6 digits). */
unsigned verify_image_attempt(const ec2_image *g);

/* RunInstances' ClientToken for the test instance of image_id in region:
 * "amirotd-verify-" IMAGE "-" and 16 hex digits of a 64-bit FNV-1a over v's instance_type,
 * region's subnet_id and security group ids, iam_instance_profile and attempt. The same for
 * every retry, run and host, so that a retry or a restart never launches a second instance
 * of an image; another network, type, profile or attempt gives another token, since EC2
 * answers a reused token with its (maybe terminated) instance for at least 24 h, and one
 * with changed parameters with IdempotentParameterMismatch. At most 64 characters
 * (RunInstances' limit); -EINVAL when image_id is not [a-z0-9-]+ or the token does not fit. */
int verify_client_token(const policy_verify *v, const char *region, const char *image_id, unsigned attempt,
                        char *buf, size_t size);

/* The test instance's tags (instance and volumes): amirotd:policy=NAME and
 * amirotd:verify-of=IMAGE, and Name "amirotd-verify NAME IMAGE". */
int verify_instance_tags(const policy *p, const char *image_id, ec2_tags *ret);

/* What EC2 says of one test instance, and what amirotd has read of its console. */
typedef struct verify_observation {
        ec2_instance_state state;       /* _EC2_INSTANCE_STATE_INVALID: EC2 does not list it (yet) */
        ec2_status_summary system_status;       /* _INVALID when not listed */
        ec2_status_summary instance_status;
        const char *state_reason;       /* when stopped or terminated, EC2's reason, or NULL */
        int console;                    /* console_match: 1 matched, 0 read and not matched, -1 not read yet */
        time_t launched;                /* its launch time, else when amirotd first saw it; 0: not known */
        time_t now;
} verify_observation;

typedef enum verify_step {
        VERIFY_WAIT,                    /* ask again later */
        VERIFY_READ_CONSOLE,            /* both checks pass: read the console (console_match) */
        VERIFY_PASS,                    /* tag the image passed, then terminate the instance */
        VERIFY_FAIL,                    /* tag the image failed with the reason, then terminate */
        VERIFY_ABANDON,                 /* no verdict on the image: the test failed for a reason that is
                                         * EC2's or a person's (reason says which): amirotd:verify-attempt
                                         * is raised, the instance terminated, the run fails, the image
                                         * stays unverified and is tested again next run */
        _VERIFY_STEP_MAX,
        _VERIFY_STEP_INVALID = -EINVAL,
} verify_step;

/* The next step for one test instance under v. On VERIFY_FAIL and VERIFY_ABANDON, reason
 * (at most size bytes, to fit a tag's 256 characters) says why in words an operator can act
 * on: "status check impaired: instance", "the instance stopped:
 * Client.InstanceInitiatedShutdown: ...", "never left pending within 10m", "status checks
 * not ok within 10m (instance: initializing)", "console output did not match '...' within
 * 10m". VERIFY_ABANDON, no verdict: the instance stopped or terminated with a state reason
 * (API_StateReason) of EC2's ("Server.*"), of a person's (Client.UserInitiatedShutdown), of
 * the account's (Client.VolumeLimitExceeded) or Client.InternalError (among others, a
 * missing KMS grant on an encrypted image's key); or the system status check, EC2's host
 * (API_InstanceStatus), is impaired; or, at the timeout, EC2 does not list the instance
 * (terminated and left out, or never visible) or only the system check is not ok yet.
 * Client.InstanceInitiatedShutdown, Client.InvalidSnapshot.* and an unknown or absent
 * reason fail the image, as does an impaired instance status check. A test instance older
 * than v->timeout is judged on what EC2 says now, and failed unless that passes or is no
 * verdict: so a test instance found after a restart gets the one last look it is owed
 * (with console_match, read its console first: a console not read yet counts as not
 * matched). launched 0 means not known: VERIFY_WAIT (or
 * READ_CONSOLE, PASS) unless the state is final; so the caller passes the first time it saw
 * the instance when EC2 gives no launch time, and the timeout counts from there. */
verify_step verify_judge(const policy_verify *v, const verify_observation *o, char *reason, size_t size);
