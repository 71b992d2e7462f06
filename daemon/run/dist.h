/* SPDX-License-Identifier: MIT */
/*
 * Distribution: what follows a policy's images beyond themselves, once a run's own work
 * in its region is done (engine.c's last step): shares (`share`), copies to other
 * regions and accounts (`copy_to`), launch template versions (`launch_template`) and
 * SSM parameters (`ssm_parameter`). Each is a distributor over dist_ops; dist.c runs
 * those a policy uses one after the other, in that order: a copy to another account
 * needs the source shared first, and a template or a parameter names the newest image
 * there is, copies included.
 *
 * A distributor reads what it needs (EC2 of other regions and accounts through the pool,
 * SSM), decides, and acts; with plan_only it changes nothing and records the steps it
 * would take, which `plan` prints. AWS is its state, as for the run: what it did is
 * found again by tags (amirotd:copy-of), by descriptions and by EC2's ClientTokens, so
 * a crash at any point loses nothing and a later run finishes the work. A distributor's
 * failure is logged where it is decided and fails the run (so that it is tried again),
 * but the next distributor still runs.
 */
#pragma once

#include <stdbool.h>
#include <time.h>
#include <systemd/sd-event.h>

#include "aws/ec2-types.h"
#include "base/util.h"
#include "run/clients.h"
#include "policy.h"

/* One thing distribution did, or with plan_only would do: a row of `plan`. */
typedef struct dist_step {
        char *action;                   /* "share", "unshare", "copy", "retire-copy",
                                         * "template-version", "ssm-parameter", ... */
        char *region;                   /* where it acts */
        char *instance_id;              /* may be NULL */
        char *image_id;                 /* the image it is about; may be NULL */
        char *detail;                   /* what and why: "to eu-west-1 in account 444455556666" */
} dist_step;

/* What distribution did in one run of a policy in one region: counted by the
 * distributors, reported on the run's summary line and in the metrics. */
typedef struct dist_result {
        dist_step *steps;
        size_t n_steps;
        unsigned shares_added;          /* launch or create-volume permissions granted */
        unsigned shares_removed;
        unsigned copies_started;        /* CopyImage accepted */
        unsigned copies_retired;        /* copies deregistered by their destination's retention */
        unsigned template_versions;     /* launch template versions created */
        unsigned template_versions_deleted;
        unsigned ssm_published;         /* SSM parameters written */
        unsigned errors;                /* distribution steps that failed */
} dist_result;

void dist_result_done(dist_result *r);
/* Appends a step (each string copied; instance_id and image_id may be NULL). 0 or -ENOMEM. */
int dist_result_add_step(dist_result *r, const char *action, const char *region, const char *instance_id,
                         const char *image_id, const char *detail_fmt, ...) _printf_(6, 7);

typedef struct dist_images dist_images;

/* What a distributor is handed; everything is borrowed for as long as it runs. */
typedef struct dist_context {
        sd_event *event;
        aws_pool *pool;                 /* clients of other regions and roles */
        aws_client *ec2;                /* the run's: its region, the policy's credentials */
        const policy *policy;
        const char *region;             /* the run's region: where the policy's own images are */
        time_t now;
        bool plan_only;                 /* decide and record steps; change nothing */
        bool dry_run;                   /* DryRun=true on mutating calls */
        const ec2_image *images;        /* the images tagged with the policy in region, as the run
                                         * last described them (its own and any copies there) */
        size_t n_images;
        const ec2_instance *instances;  /* the instances the run described (candidates, unfiltered) */
        size_t n_instances;
        char *const *passed;            /* images that passed in this run, NULL-terminated; may be NULL */
        dist_result *result;            /* counters and steps, shared by the distributors */
        dist_images *cache;             /* the run's images of other places (below); NULL: none */
} dist_context;

/*
 * The policy's images in the places distribution acts, read once a run. Share, copy_to,
 * launch_template and ssm_parameter each need the images tagged with the policy in a
 * place (a region, as the policy's account or a role's): a copy_to destination that is
 * also a template's and a parameter's region would be described three times. So the first
 * distributor of a run that needs a place's images describes them (DescribeImages,
 * tag:amirotd:policy=NAME, all of them: each caller picks its own, as share picks the
 * copies of the run's region), and the later ones get the same list, which lives until
 * the run's distribution ends. The run's own region and account is not cached: it is
 * ctx->images already.
 *
 * The rule that keeps the list true: a distributor that changes a place's images (copy_to
 * starting, deprecating or retiring copies there) calls dist_images_forget() before it
 * acts. Whoever asks for that place afterwards gets a fresh DescribeImages, never the list
 * from before the change; whoever holds the old list keeps it, valid, until its op is freed.
 * Launch permissions, templates and parameters are no part of the list: sharing and
 * publishing forget nothing.
 */
typedef struct dist_place {
        const char *region;
        const char *role_arn;           /* NULL: the policy's default credentials */
        const char *external_id;
} dist_place;

/* The cache of one run's distribution (dist.c makes and frees it; accepts NULL). */
dist_images *dist_images_new(void);
dist_images *dist_images_free(dist_images *c);

typedef struct dist_images_op dist_images_op;
/* r < 0: the DescribeImages failed (err, may be NULL, says why); images is NULL. */
typedef void (*dist_images_cb)(int r, const ec2_image *images, size_t n, const aws_error *err, void *userdata);

/* The policy's images in where: cb once, from the loop, unless the op is freed first. The
 * images stay valid until the op is freed. ctx->cache NULL: described each time. */
int dist_images_get(const dist_context *ctx, const dist_place *where, dist_images_cb cb, void *userdata,
                    dist_images_op **ret_op);
/* Cancels what is in flight (cb is not called) and lets go of the images; accepts NULL. */
dist_images_op *dist_images_op_free(dist_images_op *op);
DEFINE_TRIVIAL_CLEANUP_FUNC(dist_images_op *, dist_images_op_free);
/* where's images are about to change: the next dist_images_get() describes them again. */
void dist_images_forget(const dist_context *ctx, const dist_place *where);

/* r: 0, or the first failure (already logged). */
typedef void (*dist_done_cb)(int r, void *userdata);

typedef struct dist_ops {
        const char *name;               /* "share": its section of the policy */
        bool (*wanted)(const policy *p);
        /* Starts on ctx; calls done exactly once, from any context (also from inside
         * start), unless it is freed first. A negative return: nothing started, no done. */
        int (*start)(const dist_context *ctx, dist_done_cb done, void *userdata, void **ret_state);
        void (*free)(void *state);      /* cancels what is in flight; accepts NULL */
} dist_ops;

/* The distributors (one file each), in the order dist.c runs them. */
extern const dist_ops dist_share_ops;           /* share: dist-share.c */
extern const dist_ops dist_copy_ops;            /* copy_to: dist-copy.c */
extern const dist_ops dist_template_ops;        /* launch_template: dist-template.c */
extern const dist_ops dist_ssm_ops;             /* ssm_parameter: dist-ssm.c */

typedef struct dist dist;

/* Whether p distributes at all. */
bool dist_wanted(const policy *p);
/* Runs each distributor p wants, in order, on ctx (copied; what it points to is borrowed);
 * done is called once, from the loop, after the last. */
int dist_start(const dist_context *ctx, dist_done_cb done, void *userdata, dist **ret);
/* Cancels what runs; done is not called. */
dist *dist_free(dist *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(dist *, dist_free);
