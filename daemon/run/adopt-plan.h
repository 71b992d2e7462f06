/* SPDX-License-Identifier: MIT */
/*
 * Adoption, the pure decision: which existing images (Packer's, the console's, an
 * earlier script's) `amirotd adopt` tags as a policy's own, and with which instance
 * and slot. From the policy, the time and what DescribeImages found, and nothing
 * else: no client, no log, no clock (make check-plan-pure builds it alone).
 *
 * The rules (amirotd(8), ADOPT), each a skip with its reason:
 * - an image tagged amirotd:policy is never taken: this policy's is already its own
 *   ("already adopted" or "already the policy's own image"), another policy's stays
 *   that policy's (design.md, rule 2, read the other way: nothing of another policy
 *   is touched);
 * - a copy (amirotd:copy-of) is no generation of an instance of this region;
 * - an image with amirotd:* tags but no amirotd:policy (taken out of a policy by hand)
 *   is left alone until a person removes them;
 * - only available images: pending ones may still fail, failed ones are garbage,
 *   disabled ones a person set aside, deregistered ones are going;
 * - the instance is adopt.instance_id, else EC2's sourceInstanceId (CreateImage's
 *   images), else none: an image that counts for no instance cannot be judged by
 *   retention, so it is skipped ("no instance: give adopt.instance_id"). The section
 *   wins because Packer's EBS builder makes each image of a throw-away instance: by
 *   EC2's word each would count for a departed instance of its own, kept forever;
 * - the slot is the policy's schedule's slot that holds the image's creation date;
 *   an image created after now (EC2's clock ahead of the host's) is skipped;
 * - one image per instance and slot (design.md, rule 3): a slot the policy already
 *   has an image of that instance for is not taken again; of several images of one
 *   instance in one slot, the newest is adopted and the others are skipped. The
 *   planner would count both as generations, so that retain.count 7 would keep six
 *   slots' worth: one per slot keeps "7 generations" true;
 * - an image one of whose snapshots another policy holds (its amirotd:policy):
 *   never taken from that policy, and the IAM policy lets adopt tag a snapshot
 *   only while it carries no amirotd:policy;
 * - an image with too many tags for adoption's four (EC2: 50 per resource);
 * - an image that does not match adopt's tags and name after all: DescribeImages'
 *   filters select, and this checks again, so that an endpoint that ignored a filter
 *   cannot make the whole account adoptable.
 * Images shared with the account by another are never listed: the command asks
 * DescribeImages for Owners=self only.
 * What is written: amirotd:policy, amirotd:instance-id, amirotd:slot and
 * amirotd:adopted (the time of adoption, as format_iso8601() writes it), on the image
 * and on each of its EBS snapshots, so that retirement (DeleteSnapshot, allowed by the
 * IAM policy on snapshots tagged amirotd:policy) and the orphan sweep treat them as
 * the policy's. No other tag, never the name. A snapshot that carries this policy's
 * amirotd:policy already (an adoption interrupted between the snapshots and the
 * image, or an image registered from a snapshot of the policy's) is not tagged again:
 * the IAM policy would refuse it.
 */
#pragma once

#include <time.h>

#include "aws/ec2-types.h"
#include "policy.h"
#include "schedule/schedule.h"

/* On an image (and its snapshots) that `amirotd adopt` took in: when, as TAG_RETIRED_AT. */
#define TAG_ADOPTED "amirotd:adopted"

/* The tags adoption writes, each of them an amirotd:* key. */
#define ADOPT_TAGS_WRITTEN 4

typedef enum adopt_verdict {
        ADOPT_TAKE,
        ADOPT_SKIP_OWN,                 /* already this policy's */
        ADOPT_SKIP_OTHER_POLICY,
        ADOPT_SKIP_COPY,
        ADOPT_SKIP_STATE,               /* not available */
        ADOPT_SKIP_NO_INSTANCE,
        ADOPT_SKIP_NO_DATE,             /* EC2 gave no creation date */
        ADOPT_SKIP_FUTURE,              /* created after now */
        ADOPT_SKIP_SLOT_TAKEN,          /* the instance's slot has another image */
        ADOPT_SKIP_TAGS_FULL,
        ADOPT_SKIP_NOT_SELECTED,        /* does not match adopt's tags and name after all */
        ADOPT_SKIP_MARKED,              /* amirotd:* tags, but no amirotd:policy */
        _ADOPT_VERDICT_MAX,
        _ADOPT_VERDICT_INVALID = -EINVAL,
} adopt_verdict;

/* "adopt", "own", "other-policy", "copy", "state", "no-instance", "no-date", "future",
 * "slot-taken", "tags-full", "not-selected", "marked". */
const char *adopt_verdict_to_string(adopt_verdict v);

typedef struct adopt_decision {
        const ec2_image *image;         /* one of adopt_input.found */
        adopt_verdict verdict;
        char *reason;                   /* a skip's reason, readable; NULL for ADOPT_TAKE */
        /* ADOPT_TAKE (and, where known, a skip's): */
        const char *instance_id;        /* adopt.instance_id, or the image's sourceInstanceId */
        char slot[SLOT_ID_MAX];         /* "" when not known */
        ec2_tags tags;                  /* ADOPT_TAKE: the tags to write, on image and snapshots */
        char **snapshot_ids;            /* ADOPT_TAKE: its EBS snapshots to tag, NULL-terminated or NULL */
        size_t n_snapshots_own;         /* ADOPT_TAKE: its EBS snapshots the policy holds already */
} adopt_decision;

typedef struct adopt_plan {
        adopt_decision *items;          /* one per image found, in the order found, each once */
        size_t n;
        size_t n_take;
} adopt_plan;

typedef struct adopt_input {
        const policy *policy;
        time_t now;
        const ec2_image *found;         /* DescribeImages Owners=self with adopt's filters */
        size_t n_found;
        const ec2_image *managed;       /* DescribeImages of tag:amirotd:policy=the policy: the slots
                                         * it holds already (may be none) */
        size_t n_managed;
        const ec2_snapshot *snapshots;  /* of found's snapshots, at least those tagged amirotd:policy */
        size_t n_snapshots;
} adopt_input;

/* Decides on each image of in->found, by the rules above. 0, -EINVAL (no policy, or one
 * without an adopt section), -ENOMEM, or schedule_slot_at()'s error; *ret is untouched on
 * failure. */
int adopt_plan_build(const adopt_input *in, adopt_plan *ret);
void adopt_plan_done(adopt_plan *p);
/* EC2's name filter: * any run of characters, ? one, \*, \? and \\ themselves ("a filter
 * value of \*amazon\?\\ specifies the literal string *amazon?\"); nothing else is
 * special (a [ is a [, a \ before any other character a \). */
bool adopt_name_matches(const char *pattern, const char *name);
