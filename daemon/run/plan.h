/* SPDX-License-Identifier: MIT */
/*
 * The planner, a pure function: from one policy, one region, the time and what
 * EC2 holds, it derives the actions of a run. It holds the safety rules of
 * design.md: only images and snapshots tagged with this policy are ever
 * retired; retention counts available images only; pending ones are neither
 * counted nor retired; failed ones are garbage.
 *
 * Three kinds of image are set aside, neither counted nor retired by retention, whatever
 * their age:
 * - released ones (tagged amirotd:retired-at): retention let them go into the stages of
 *   `retire`, and from then on plan-stage.c alone decides on them (below);
 * - disabled ones (DisableImage) not released: a person took the image out of use; EC2
 *   keeps its name, so it still takes its slot, and its snapshots stay referenced (the sweep
 *   never deletes them). Image Builder's lifecycle makes "disabled" a stage of its
 *   own between deprecated and deleted: out of use, kept. amirotd leaves such an
 *   image to whoever disabled it: it neither deletes it behind their back nor lets
 *   it stand for a good generation, so the policy still keeps retain.count usable ones.
 * - those whose slot starts after `now` (a host clock that ran ahead, `once --now` in
 *   the future): they are listed in plan.future for the caller to report, and never
 *   displace current images. Once the clock reaches their slot they count again.
 * An image the run itself created (plan_input.created) is never retired by retention.
 *
 * With verify (run/verify-plan.h), retention counts only images that passed verification
 * (amirotd:verified=passed, or named by plan_input.passed); unverified ones are set aside
 * like pending ones, neither counted nor retired, and still hold their slot; failed ones
 * are garbage ("failed verification: REASON"), retired without the retire stages but
 * within max_retire_per_run as retention's retirements are (the verdict is a tag anyone
 * may write), unless released (plan-stage.c's) or disabled (a person's). Unlike a failed
 * creation, a failed image is available and keeps its slot (slot_taken): it is not made
 * again in its slot, the next slot makes the next one. Protection's newest
 * (plan-protect.c) are the passed ones; an unjudged image keeps the protection it has.
 * Without verify nothing changes.
 *
 * Retention is bounded per run (plan-bound.c), so that an operator's mistake (retain.count
 * lowered from 30 to 1, a max_age typo) costs a few images a run, not the policy's history
 * at once: each instance may retire one image by retention in a run, and one more for each
 * new image the run made of it (the normal rotation: one new image in, one out); beyond
 * that the run retires at most max_retire_per_run percent of the policy's counted images
 * in the region, oldest first.
 * The rest are held back (plan.held) and the next run goes on where this one stopped.
 * Failed images and orphan snapshots are garbage and are not bounded.
 *
 * The interface runs one way: the engine (and `amirotd plan`) call in with
 * data and get a plan back; the planner calls nothing but the schedule's slot
 * arithmetic and the EC2 value types, never the AWS client or the loop.
 * plan.c holds the rules, plan-keep.c retention's keep rules, plan-bound.c the bound on retirements per run, plan-sweep.c the
 * orphan sweep (rule 6), plan-retire.c the retirements as each new image becomes
 * available, plan-name.c the names and descriptions of new images, plan-volumes.c the
 * devices each new image leaves out (image.volumes).
 */
#pragma once

#include <time.h>

#include "aws/ec2-types.h"
#include "policy.h"

#define TAG_POLICY "amirotd:policy"
#define TAG_INSTANCE_ID "amirotd:instance-id"
#define TAG_SLOT "amirotd:slot"
/* On an image whose deregistration protection amirotd turned on (plan-protect.c):
 * "cooldown" or "no-cooldown", as it was turned on. */
#define TAG_PROTECTED "amirotd:protected"
/* Staged retirement (plan-stage.c): when retention let the image go, as format_iso8601()
 * writes it, in UTC and to the minute ("2026-12-01T14:49:00Z"); what amirotd did to it
 * since (deprecated | disabled | restored; empty: nothing yet); and DLM's deprecation by
 * image.deprecate_after (the DeprecateAt amirotd set, or "removed" once a person removed it). */
#define TAG_RETIRED_AT "amirotd:retired-at"
#define TAG_STAGE "amirotd:stage"
#define TAG_DEPRECATION "amirotd:deprecation"
/* On a copy made by copy_to (run/plan-copy.h): "REGION/ami-..." of its source. A copy carries
 * its source's amirotd:policy, instance-id and slot too, but it is no generation of the
 * source's instance: the planner leaves it to the copy distributor, and the sweep counts
 * its snapshots as in use. */
#define TAG_COPY_OF "amirotd:copy-of"

/* verify (run/verify.h): on an image, its verdict "passed" or "failed" and, when failed, why
 * (at most 256 characters), and the attempt at testing it (a small decimal, raised after a
 * test that gave no verdict: it makes a new ClientToken, verify-plan.h); on a test instance
 * and its volumes, "ami-..." of the image it proves (with amirotd:policy). */
#define TAG_VERIFIED "amirotd:verified"
#define TAG_VERIFY_REASON "amirotd:verify-reason"
#define TAG_VERIFY_OF "amirotd:verify-of"
#define TAG_VERIFY_ATTEMPT "amirotd:verify-attempt"

static inline bool plan_image_is_copy(const ec2_image *g) {
        return ec2_tags_get(&g->tags, TAG_COPY_OF) != NULL;
}

/* States in which the image holds its name and its slot: a CreateImage for the slot
 * would be a duplicate. Disabled images (DisableImage) were set aside by a person
 * and are left alone: retention neither counts nor retires them (above). */
static inline bool plan_image_state_occupies_slot(ec2_image_state s) {
        return s == EC2_IMAGE_PENDING || s == EC2_IMAGE_TRANSIENT || s == EC2_IMAGE_AVAILABLE ||
                s == EC2_IMAGE_DISABLED;
}

typedef enum plan_action_kind {
        PLAN_CREATE,                    /* CreateImage for the current slot */
        PLAN_RETIRE,                    /* DeregisterImage, then delete its snapshots */
        PLAN_DELETE_SNAPSHOT,           /* an orphan: this policy's snapshot that no image uses */
        PLAN_PROTECT,                   /* tag amirotd:protected, then EnableImageDeregistrationProtection */
        PLAN_UNPROTECT,                 /* DisableImageDeregistrationProtection, then untag amirotd:protected */
        PLAN_RELEASE,                   /* retention lets the image go into the retire stages: it is
                                         * tagged retired-at (image_tags), then as PLAN_DEPRECATE */
        PLAN_DEPRECATE,                 /* EnableImageDeprecation at deprecate_at (0: no call), then
                                         * the mark_tags */
        PLAN_DISABLE,                   /* DisableImage (unless disabled already), then mark_tags */
        PLAN_RESTORED,                  /* a person undid a stage: reported once, marked (mark_tags) */
        _PLAN_ACTION_KIND_MAX,
        _PLAN_ACTION_KIND_INVALID = -EINVAL,
} plan_action_kind;

const char *plan_action_kind_to_string(plan_action_kind k);
plan_action_kind plan_action_kind_from_string(const char *s);

typedef struct plan_action {
        plan_action_kind kind;
        char *instance_id;
        char *slot;                     /* slot id of the image created or retired */

        /* PLAN_CREATE */
        char *image_name;
        char *description;
        bool no_reboot;
        ec2_tags image_tags;            /* amirotd:* tags, the policy's, the instance's when asked */
        ec2_tags snapshot_tags;
        char **exclude_devices;         /* image.volumes: the devices left out (NoDevice), sorted;
                                         * NULL-terminated, NULL when none (plan-volumes.c) */
        bool root_kept;                 /* image.volumes would have left out the root device: kept */
        bool windows;                   /* the instance's platform is windows (hooks: its SSM document) */

        /* PLAN_RETIRE */
        char *image_id;
        ec2_image_state image_state;
        char **snapshot_ids;            /* from the image's block-device mappings; NULL-terminated */
        char *reason;                   /* "beyond retain.count 3", "older than max_age 90d", "failed" */
        bool retention;                 /* retired by retention's rules (plan-keep.c), or as an image
                                         * that failed verification: counts against
                                         * max_retire_per_run (failed creations do not) */
        bool verify_failed;             /* failed verification: bounded, but garbage: no retire stages */
        unsigned rotation;              /* retention: how many of its instance's images the run may
                                         * retire as the rotation: one, and one per image the run
                                         * made of it that retention counts */
        bool beyond_rotation;           /* retention: paid from the run's allowance (plan-bound.c) */
        time_t age_key;                 /* the image's slot start, else its creation date */

        /* PLAN_RELEASE, PLAN_DEPRECATE, PLAN_DISABLE, PLAN_RESTORED (image_id, image_state and
         * reason as for a RETIRE; a RETIRE of the deregister stage has due and stage too) */
        retire_stage stage;             /* the stage (RETIRE_DEPRECATE for image.deprecate_after) */
        time_t due;                     /* when it came due (a RELEASE: now) */
        time_t deprecate_at;            /* RELEASE, DEPRECATE: DeprecateAt; 0: no call */
        ec2_tags mark_tags;             /* written once the action's call succeeded */

        /* PLAN_DELETE_SNAPSHOT: snapshot_ids holds the one snapshot; reason says why */

        /* PLAN_PROTECT, PLAN_UNPROTECT: image_id, slot, reason ("newest 2 of i-..") */
        bool with_cooldown;             /* PLAN_PROTECT: WithCooldown (protect.cooldown) */
        bool tag_only;                  /* PLAN_UNPROTECT: protection is off already; only untag */
} plan_action;

/* A managed image whose slot lies in the future: kept out of retention, reported. */
typedef struct plan_future_image {
        char *instance_id;
        char *image_id;
        char *slot;
} plan_future_image;

/* An image retention would retire, held back by max_retire_per_run: a later run retires it. */
typedef struct plan_held_image {
        char *instance_id;
        char *image_id;
        char *slot;
        char *reason;                   /* retention's reason: "beyond retain.count 1" */
        time_t age_key;
} plan_held_image;

/* A retirement left out because of deregistration protection (plan-protect.c): a later
 * run retires it when the reason is gone. */
typedef struct plan_skipped_image {
        char *instance_id;
        char *image_id;
        char *slot;
        char *reason;                   /* "deregistration protection turned on by someone else" */
} plan_skipped_image;

typedef struct plan {
        plan_action *actions;
        size_t n;
        plan_future_image *future;      /* not actions: nothing is done to them */
        size_t n_future;
        plan_held_image *held;          /* not actions either: oldest first */
        size_t n_held;
        plan_skipped_image *skipped;    /* nor these: in the order of their RETIREs */
        size_t n_skipped;
        /* The run's bound on retention (plan-bound.c), from its first plan: */
        unsigned images_counted;        /* available images of the policy retention counted */
        unsigned retire_percent;        /* the policy's max_retire_per_run */
        unsigned retire_allowance;      /* images_counted * retire_percent / 100: what the run may
                                         * retire beyond one image per instance */
        /* This policy's images in the region by state once the plan is carried out: those
         * described, without the retired ones, with the created ones pending (for metrics) */
        unsigned images_after[_EC2_IMAGE_STATE_MAX];
        size_t n_targets;               /* instances the policy selects (tags, exclude_tags, states) */
        /* Departed instances: ids with managed images that the policy no longer selects (plan-keep.c) */
        size_t n_departed;
        unsigned departed_images;       /* their available images that this plan keeps */
        char *departed_oldest;          /* the one whose newest image is oldest; NULL when none */
        time_t departed_oldest_at;      /* that image's slot start (or creation date) */
} plan;

/* ids (NULL-terminated, may be NULL) sorted by strcmp into *ret (free the array only). 0 or -ENOMEM. */
int plan_ids_sorted(char *const *ids, const char ***ret, size_t *ret_n);
/* Frees what an action holds and zeroes it (for a caller that filters a plan). */
void plan_action_done(plan_action *a);
void plan_done(plan *p);
/* Appends a blank action of kind for instance_id (copied) to p, growing p->actions by
 * doubling: *cap counts the actions allocated, 0 when the caller does not know (then p->n
 * is). Its image_state is _EC2_IMAGE_STATE_INVALID. 0 or -ENOMEM (the action is then
 * counted in p, to be freed with it). */
int plan_action_append(plan *p, size_t *cap, plan_action_kind kind, const char *instance_id, plan_action **ret);

typedef struct plan_input {
        const policy *policy;
        const char *region;
        time_t now;
        const ec2_instance *instances;  /* candidates; the planner applies tags, exclude_tags and states */
        size_t n_instances;
        const ec2_image *images;        /* images of the account (those without this policy's tag are ignored) */
        size_t n_images;
        const ec2_snapshot *snapshots;  /* snapshots of the account, for the orphan sweep; may be none */
        size_t n_snapshots;
        char *const *created;           /* ids of the images this run created or found for its slot
                                         * (NULL-terminated, may be NULL): retention never retires them */
        const plan *earlier;            /* the run's first plan when this is its second (NULL: this is
                                         * the first): its retirements count against the run's bound */
        char *const *excluded_volume_ids;       /* image.volumes.exclude_tags: the volumes carrying one
                                                 * of the tags, sorted, NULL-terminated (may be NULL) */
        char *const *passed;            /* verify: ids of the images that passed in this run
                                         * (NULL-terminated, may be NULL), counted as passed even
                                         * when the run's describe does not show amirotd:verified
                                         * yet (EC2's tags are eventually consistent) */
} plan_input;

/*
 * Rule 6: a snapshot tagged by this policy that no image references any more (a
 * crash between deregistering and deleting, or a deletion refused with
 * InvalidSnapshot.InUse) is swept, once it is older than this: CreateImage makes
 * the image before its snapshots, but a pending image need not list them yet.
 */
#define PLAN_SNAPSHOT_GRACE (60 * 60)

/* The actions of one run, in a fixed order: by instance id; for each, the RETIREs of
 * failed images, then its CREATE, then the RETIREs retention asks for, oldest first
 * (each preceded by its UNPROTECT where amirotd protected the image), then its PROTECTs
 * and its other UNPROTECTs (plan_protect()).
 * Every RETIRE is safe to execute at once: retention counts only images available
 * now, so the engine creates, and as each new image becomes available plans again
 * (plan_retire_ready()) to retire what it has pushed out. Images of a future slot are in ret->future, oldest
 * first, by instance; retirements beyond the run's bound (plan-bound.c) in ret->held,
 * oldest first. 0, -EINVAL, -ENOMEM, or schedule_slot_at()'s error; *ret is
 * untouched on failure. */
int plan_build(const plan_input *in, plan *ret);

/* Retention's keep rules for one instance (plan-keep.c; the rules are at its top). */

typedef enum plan_keep_verdict {
        PLAN_KEEP,
        PLAN_RETIRE_COUNT,              /* "beyond retain.count 3" (count and max_age alone) */
        PLAN_RETIRE_MAX_AGE,            /* "older than max_age 90d" (count and max_age alone) */
        PLAN_RETIRE_NO_RULE,            /* "kept by no rule (count 3, daily 7, weekly 4)" */
        PLAN_RETIRE_DEPARTED_KEEP,      /* beyond retain.departed.keep */
        PLAN_RETIRE_DEPARTED_MAX_AGE,   /* its newest image is older than retain.departed.max_age */
} plan_keep_verdict;

/* One image that retention counts (available, of a slot that has begun). */
typedef struct plan_keep_image {
        time_t age_key;                 /* its slot start, else its creation date: its time for the tiers */
        time_t creation_date;           /* max_age is measured from it; 0: unknown, never too old */
        bool created;                   /* made by this run: always kept */
} plan_keep_image;

/* The verdict on each of an instance's counted images img[0..n), newest first, at now:
 * ret[k] is PLAN_KEEP or the rule that lets img[k] go. departed: the policy no longer
 * selects the instance (nor did this run image it). The tiers read periods on the clock
 * of p->schedule.zone (NULL: UTC), which the configuration loader sets for every named
 * zone. 0, -EINVAL or -ENOMEM. */
int plan_keep(const policy *p, time_t now, bool departed, const plan_keep_image *img, size_t n,
              plan_keep_verdict *ret);
/* The retirement reason for a verdict other than PLAN_KEEP. 0, -EINVAL or -ENOMEM. */
int plan_keep_reason(const policy *p, plan_keep_verdict v, char **ret);

/* Deregistration protection (plan-protect.c). */

/* Protection follows protect.newest: for each instance the policy selects (selected[],
 * sorted by id; or of which
 * in->created names an image), its newest protect.newest available images get a
 * PLAN_PROTECT unless protected; an image carrying TAG_PROTECTED beyond them (or of an
 * instance no longer selected) gets a PLAN_UNPROTECT: amirotd turns off only what it
 * turned on. Where p already CREATEs for an instance, its new image is counted as coming:
 * only the newest protect.newest - 1 are protected, and none of the newest protect.newest
 * is unprotected, so that the plans made as the new image becomes available never turn
 * off what this one turns on. Each RETIRE of an image with protection is preceded by its
 * PLAN_UNPROTECT when the protection is amirotd's and has no cooldown; it moves to
 * p->skipped when someone else turned protection on, when a cooldown keeps the image
 * (now or once amirotd turns protection off), or when the image is among the newest
 * protect.newest. Keeps the actions of each instance together, in instance order.
 * 0, -EINVAL or -ENOMEM (p is then unchanged). */
int plan_protect(const plan_input *in, const ec2_instance *const *selected, size_t n_selected, plan *p);
/* Frees p->skipped (plan_done() calls it). */
void plan_skipped_done(plan *p);

/* The bound on retirements per run (plan-bound.c). */

/* What retention may retire in this run beyond one image per instance: counted (the
 * policy's available images it counts) times percent, rounded down. */
unsigned plan_retire_allowance(unsigned counted, unsigned percent);
/* Holds back the retention RETIREs of p beyond the run's bound: per instance, its oldest
 * ones as its rotation allows (plan_action.rotation, less what in->earlier retired of the
 * instance as rotation); then the others, oldest first across the policy, while the run's
 * allowance lasts (less what in->earlier spent of it). The rest move, oldest first,
 * from p->actions to p->held, the order of the actions kept otherwise. counted: the
 * available images retention counted in this plan (used when in->earlier is NULL).
 * 0 or -ENOMEM (p's actions are then unchanged). */
int plan_bound_retirements(const plan_input *in, unsigned counted, plan *p);

/* The orphan sweep (plan-sweep.c). */

/* A managed image as the sweep sees it: a snapshot tagged with its instance id and slot
 * is its, listed or not (slot NULL: the image has no slot tag, nor has the snapshot). */
typedef struct plan_slot_ref {
        const char *instance_id;
        const char *slot;
} plan_slot_ref;

/* Appends to p a PLAN_DELETE_SNAPSHOT for each snapshot rule 6 sweeps, in in->snapshots'
 * order: tagged by in's policy, completed or in error, older than PLAN_SNAPSHOT_GRACE,
 * named by no block-device mapping of an image of in that is not deregistered, and of no
 * managed image's instance and slot. managed: the policy's managed images (sorted in
 * place). 0 or -ENOMEM (p then holds the actions appended so far). */
int plan_sweep(const plan_input *in, plan_slot_ref *managed, size_t n_managed, plan *p);

/* The volumes of new images (plan-volumes.c). */

/* The devices of instance i that image.volumes leaves out of its image, sorted, into
 * *ret (NULL-terminated, NULL when none): for root, every EBS device but the root one;
 * for exclude, the devices of exclude_devices that i has and those whose volume is in
 * in->excluded_volume_ids. The root device (i's rootDeviceName) is never left out:
 * *ret_root_kept says a rule asked for it. 0 or -ENOMEM. */
int plan_exclude_devices(const plan_input *in, const ec2_instance *i, char ***ret, bool *ret_root_kept);
/* Of volumes (DescribeVolumes), the ids of those carrying one of p's
 * image.volumes.exclude_tags ("*": the key with any value), sorted, into *ret
 * (NULL-terminated, NULL when none): plan_input.excluded_volume_ids. 0 or -ENOMEM. */
int plan_excluded_volumes(const policy *p, const ec2_volume *volumes, size_t n, char ***ret);

/*
 * Staged retirement (plan-stage.c), once the bound is applied. With `retire`, each
 * retention RETIRE becomes a PLAN_RELEASE: the image is tagged amirotd:retired-at (T0)
 * and leaves retention. The release also schedules the deprecation stage at once
 * (EnableImageDeprecation takes a DeprecateAt in the future): DeprecateAt = T0 +
 * deprecate_after, or the next allowed minute. Each released image, per run: at T0 +
 * disable_after a PLAN_DISABLE, at T0 + deregister_after a RETIRE (the deregister stage;
 * not bounded: the release was); a stage not given is skipped, and one whose time came
 * with a later one's is passed over by it. Without `retire`, a released image (the key was
 * removed) is deregistered at once. amirotd:stage records each stage done, after its call
 * succeeded; stage "disabled" on an available image, or "deprecated" on one without a
 * deprecation time, is a person's undoing: a PLAN_RESTORED reports it once and marks the
 * image "restored", which nothing amirotd does ever touches again (removing retired-at
 * hands it back to retention).
 * image.deprecate_after: every available image of the policy without a deprecation time
 * and without the amirotd:deprecation mark gets a PLAN_DEPRECATE at creation + D (or the
 * next allowed minute); a marked one whose deprecation a person removed, a PLAN_RESTORED.
 * A later plan of a run (in->earlier) plans nothing twice: no image of in->earlier's
 * actions, and of the deprecations only those of the run's new images (in->created).
 * 0 or -ENOMEM.
 */
int plan_stage(const plan_input *in, plan *p);
/* The earliest DeprecateAt EC2 takes at now: the next whole minute at least 60 s ahead
 * ("You can't specify a date in the past"; seconds are rounded to the minute). */
time_t plan_deprecate_floor(time_t now);
/* Whether the image is released (tagged retired-at); *ret_t0 its time, 0 when unreadable. */
bool plan_image_released(const ec2_image *g, time_t *ret_t0);

/* Whether p selects i: its state, its tags, none of the excluded tags. */
bool plan_instance_selected(const policy *p, const ec2_instance *i);

/* The names and descriptions of new images (plan-name.c). */

/* Renders a template: {policy} {instance_id} {instance_name} {slot} {region} and
 * {instance_tag:KEY} (the instance's tag KEY; empty when it has none), uncut. */
int plan_render_template(const char *template, const policy *p, const char *region,
                         const ec2_instance *i, const char *slot, char **ret);
/* An image.tags value rendered as plan_render_template() does, cut to EC2's 256 characters
 * (whole UTF-8 sequences). */
int plan_render_tag_value(const char *template, const policy *p, const char *region, const ec2_instance *i,
                          const char *slot, char **ret);
/* The AMI name of an instance's image for a slot: the policy's name template rendered,
 * characters EC2 rejects replaced by '-', at most 128 characters (a long Name tag or
 * instance tag is shortened first, so the slot stays in the name). */
int plan_render_image_name(const policy *p, const char *region, const ec2_instance *i,
                           const char *slot, char **ret);
/* The image description: the policy's description template rendered, at most 255 bytes
 * (CreateImage's limit); *ret is NULL when the policy has none. */
int plan_render_description(const policy *p, const char *region, const ec2_instance *i,
                            const char *slot, char **ret);

/* Retirement as each new image becomes available (plan-retire.c). */

/* This policy's images of a run's describe, by their instance, to look up one instance's
 * images in O(log n). Points into the list it was built from, which must outlive it. */
typedef struct plan_image_index {
        ec2_image **by_instance;
        size_t n;
} plan_image_index;

int plan_image_index_build(ec2_image *images, size_t n, const char *policy_name, plan_image_index *ret);
void plan_image_index_done(plan_image_index *x);
/* The run retires image_id (or hands it to be retired): later views leave it out. It
 * sets the image's state in the described list to deregistered. */
void plan_image_index_forget(plan_image_index *x, const char *instance_id, const char *image_id);

/* A new image of this run, seen available. */
typedef struct plan_ready_image {
        char *instance_id;
        char *image_id;
        char *name;                     /* may be NULL */
} plan_ready_image;

/* Keeps only the RETIREs, PROTECTs and UNPROTECTs of p and what plan_stage() added (the engine's last
 * plan creates nothing). */
void plan_keep_retirements(plan *p);
/* The RETIREs that ready[] now allow their instances: plan_build() of in (policy, region,
 * now, earlier: what the run retired so far, for the bound) over each instance's indexed
 * images not forgotten, with its new image available and created by the run (so never
 * retired). With verify on, an image in ready[] counts as passed only when in->passed names
 * it (the engine's verdicts of this run: the tags in the index were read before them);
 * until then it is set aside, and pushes no passed image out. No CREATE, no sweep. Sorts ready[] by instance. 0, -EINVAL,
 * -ENOMEM, or plan_build()'s error. */
int plan_retire_ready(const plan_input *in, const plan_image_index *x, plan_ready_image *ready, size_t n,
                      plan *ret);
