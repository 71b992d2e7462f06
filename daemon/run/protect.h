/* SPDX-License-Identifier: MIT */
/*
 * protect.in_use and protect.last_launched_within: whether an image that
 * retention would retire is still used. The launch templates the policy itself names
 * (launch_template, in the checker's region and the policy's account) keep the images
 * their $Default and $Latest name even with protect.in_use false. Asked right before the DeregisterImage
 * (exec-protect.c), and by `amirotd plan` for each retirement it shows. Read-only:
 * DescribeInstances (image-id, not terminated), DescribeLaunchTemplateVersions
 * ($Default and $Latest of every template, read once per checker, that is once
 * per run), DescribeImageAttribute lastLaunchedTime. The checks of many images
 * share their DescribeInstances calls (protect.c). A check that fails keeps the
 * image: it may go only when EC2 said nothing uses it. Nothing here logs.
 */
#pragma once

#include <systemd/sd-event.h>
#include <time.h>

#include "aws/ec2.h"
#include "run/plan.h"
#include "policy.h"

typedef enum protect_kind {
        PROTECT_NONE,                   /* nothing uses it: it may go */
        PROTECT_INSTANCE,               /* an instance that is not terminated was launched from it */
        PROTECT_TEMPLATE,               /* a launch template's $Default or $Latest names it */
        PROTECT_LAUNCHED,               /* launched from within protect.last_launched_within */
        PROTECT_UNKNOWN,                /* the check failed: kept */
        _PROTECT_KIND_MAX,
        _PROTECT_KIND_INVALID = -EINVAL,
} protect_kind;

typedef struct protect_verdict {
        char *image_id;
        protect_kind kind;
        char *reason;                   /* "in use by i-0abc (running)", "cannot check: ..." */
        char *by;                       /* the instance or launch template; NULL */
        /* PROTECT_UNKNOWN: what failed */
        int error;
        const char *action;             /* static: "DescribeInstances", ... */
        char *error_code, *request_id;
} protect_verdict;

typedef struct protect_result {
        protect_verdict *items;         /* one per image asked about, in order */
        size_t n;
} protect_result;

void protect_result_done(protect_result *r);
const protect_verdict *protect_result_find(const protect_result *r, const char *image_id);

/* Whether p asks for any check at retirement (protect, or templates of its own). */
bool protect_wanted(const policy *p);
/* Whether protect checks the action: a RETIRE of an available or disabled image (retention's,
 * or the deregister stage's), a PLAN_RELEASE or a PLAN_DISABLE: whatever takes a usable
 * image out of use. Failed images are garbage: nothing launches from them. */
bool protect_applies(const plan_action *a);

typedef struct protect_checker protect_checker;
typedef struct protect_op protect_op;

/* Its calls go through ec2; event is the loop they run on. */
int protect_checker_new(sd_event *event, aws_client *ec2, const policy *p, protect_checker **ret);
/* Every op must be cancelled or done before. */
protect_checker *protect_checker_free(protect_checker *pc);
DEFINE_TRIVIAL_CLEANUP_FUNC(protect_checker *, protect_checker_free);

/* res lives during the callback: move it out (zeroing *res) to keep it. */
typedef void (*protect_cb)(protect_result *res, void *userdata);

/* Checks image_ids (NULL-terminated, not empty) at now; calls back once, from the event
 * loop, or before this returns when no request could be started at all (*ret_op, set
 * first, is then gone: the callback forgets it). 0, or -ENOMEM/-EINVAL without a callback. */
int protect_check(protect_checker *pc, char *const *image_ids, time_t now, protect_cb cb, void *userdata,
                  protect_op **ret_op);
void protect_op_cancel(protect_op *op);         /* accepts NULL; the callback is never called */

