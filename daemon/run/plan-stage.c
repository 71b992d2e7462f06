/* SPDX-License-Identifier: MIT */
/*
 * Staged retirement, part of the pure planner (plan.h, plan_stage()). Image Builder's
 * lifecycle policies take an image out of use in steps (deprecate, disable, delete) so
 * that a mistake shows before it costs anything; `retire` does the same for what
 * retention lets go, and image.deprecate_after deprecates every image at a fixed age, as
 * DLM does.
 *
 * AWS is the state: the release is the tag amirotd:retired-at, each stage done the tag
 * amirotd:stage, written after its call succeeded. A crash between a call and its tag
 * leaves the stage to be done again, and each call is idempotent (EnableImageDeprecation
 * sets the same time again; a disabled image is not disabled twice), so a later run
 * converges. A tag that says more than the image shows means a person undid the stage:
 * that is reported once and never fought.
 */
#include <stdio.h>

#include "run/plan.h"

time_t plan_deprecate_floor(time_t now) {
        return (now + 60) / 60 * 60 + 60;
}

bool plan_image_released(const ec2_image *g, time_t *ret_t0) {
        const char *v = ec2_tags_get(&g->tags, TAG_RETIRED_AT);
        time_t t;

        if (!v)
                return false;
        if (ret_t0)
                *ret_t0 = parse_iso8601(v, &t) >= 0 && t > 0 ? t : 0;
        return true;
}

typedef struct stage_ctx {
        const plan_input *in;
        plan *plan;
        size_t cap;
        const char **earlier;           /* image ids of in->earlier's actions, sorted */
        size_t n_earlier;
        const char **retired;           /* of those, the RETIREs' (a release is one there), sorted */
        size_t n_retired;
        const char **created;           /* in->created, sorted */
        size_t n_created;
        const ec2_image **images;       /* the policy's images, by id, each once */
        size_t n_images;
} stage_ctx;

static bool sorted_has(const char *const *ids, size_t n, const char *id) {
        return n > 0 && bsearch(&id, ids, n, sizeof(char *), str_ptr_compare);
}

static int push(stage_ctx *c, plan_action_kind kind, const ec2_image *g, const char *reason, plan_action **ret) {
        plan_action *a;
        int r;

        r = plan_action_append(c->plan, &c->cap, kind, ec2_tags_get(&g->tags, TAG_INSTANCE_ID), &a);
        if (r < 0)
                return r;
        a->image_state = g->state;
        a->image_id = strdup(g->id);
        a->reason = strdup(reason);
        a->snapshot_ids = calloc(1, sizeof(char *));
        if (!a->image_id || !a->reason || !a->snapshot_ids)
                return -ENOMEM;
        r = strdup_or_null(ec2_tags_get(&g->tags, TAG_SLOT), &a->slot);
        if (r < 0)
                return r;
        *ret = a;
        return 0;
}

static int mark(plan_action *a, const char *key, const char *value) {
        return ec2_tags_add(&a->mark_tags, key, value);
}

/* DeprecateAt for a stage due at `due`: that time, or the earliest EC2 takes; 0 (no call,
 * the tag only) when the image is deprecated by then already. */
static time_t deprecate_at(const stage_ctx *c, const ec2_image *g, time_t due) {
        time_t floor = plan_deprecate_floor(c->in->now), have = ec2_image_deprecation_time(g);

        if (have > 0 && have <= due)
                return 0;
        return due > floor ? (due + 59) / 60 * 60 : floor;
}

/* ---- Releases ------------------------------------------------------------------------- */

/* The retention RETIREs become releases: tagged retired-at (and the stage cleared, so
 * that an image once restored and handed back starts over), deprecation scheduled. */
static int release(stage_ctx *c, plan_action *a, const ec2_image *g) {
        const policy *p = c->in->policy;
        char t0[ISO8601_MAX];
        time_t now = c->in->now / 60 * 60;
        int r;

        a->kind = PLAN_RELEASE;
        a->due = now;
        a->stage = RETIRE_DEPRECATE;
        r = ec2_tags_add(&a->image_tags, TAG_RETIRED_AT, format_iso8601(now, t0));
        if (r >= 0)
                r = ec2_tags_add(&a->image_tags, TAG_STAGE, "");
        if (r < 0 || !(p->retire_stages & (1u << RETIRE_DEPRECATE)))
                return r;
        a->deprecate_at = g ? deprecate_at(c, g, now + (time_t) p->retire_after[RETIRE_DEPRECATE]) :
                MAX(now + (time_t) p->retire_after[RETIRE_DEPRECATE], plan_deprecate_floor(c->in->now));
        return mark(a, TAG_STAGE, "deprecated");
}

static int image_key_compare(const void *key, const void *elem) {
        return strcmp(key, (*(const ec2_image *const *) elem)->id);
}

static const ec2_image *find_image(const stage_ctx *c, const char *id) {
        const ec2_image **found;

        if (!id || c->n_images == 0)
                return NULL;
        found = bsearch(id, c->images, c->n_images, sizeof(ec2_image *), image_key_compare);
        return found ? *found : NULL;
}

/* With `retire`, retention's RETIREs become releases; those of a later plan whose image an
 * earlier one released already are dropped. */
static int releases(stage_ctx *c) {
        plan *p = c->plan;
        size_t w = 0;
        int r;

        for (size_t k = 0; k < p->n; k++) {
                plan_action *a = &p->actions[k];

                if (a->kind == PLAN_RETIRE && a->retention && !a->verify_failed && c->in->policy->retire_stages != 0) {
                        if (sorted_has(c->retired, c->n_retired, a->image_id)) {
                                plan_action_done(a);
                                continue;
                        }
                        r = release(c, a, find_image(c, a->image_id));
                        if (r < 0)
                                return r;
                }
                p->actions[w++] = *a;
        }
        p->n = w;
        return 0;
}

/* ---- Stages of released images -------------------------------------------------------- */

static uint64_t after(const policy *p, retire_stage s) {
        return p->retire_after[s];
}

static bool given(const policy *p, retire_stage s) {
        return p->retire_stages & (1u << s);
}

static int restored(stage_ctx *c, const ec2_image *g, const char *key, const char *value, const char *why) {
        plan_action *a;
        int r;

        r = push(c, PLAN_RESTORED, g, why, &a);
        if (r >= 0)
                r = mark(a, key, value);
        return r;
}

/* The next stage of one released image, if one is due (or, for the deprecation, not
 * scheduled yet). Without `retire`, the deregistration is due at once. */
static int stage_released(stage_ctx *c, const ec2_image *g, time_t t0) {
        const policy *p = c->in->policy;
        const char *stage = ec2_tags_get(&g->tags, TAG_STAGE) ?: "";
        time_t now = c->in->now;
        char why[128], d[DURATION_MAX];
        plan_action *a;
        int r;

        if (streq(stage, "restored") || (g->state != EC2_IMAGE_AVAILABLE && g->state != EC2_IMAGE_DISABLED))
                return 0;
        if (streq(stage, "disabled") && g->state == EC2_IMAGE_AVAILABLE)
                return restored(c, g, TAG_STAGE, "restored", "enabled again (EnableImage) after amirotd disabled it");
        if (streq(stage, "deprecated") && g->state == EC2_IMAGE_AVAILABLE && ec2_image_deprecation_time(g) == 0)
                return restored(c, g, TAG_STAGE, "restored",
                                "deprecation cancelled (DisableImageDeprecation) after amirotd set it");
        if (t0 == 0)
                return 0;               /* an unreadable retired-at: nothing is due */

        if (p->retire_stages == 0 || (given(p, RETIRE_DEREGISTER) && now >= t0 + (time_t) after(p, RETIRE_DEREGISTER))) {
                /* Deregistration protection (anyone's, or its cooldown) would refuse it: it
                 * waits; plan_protect() turns amirotd's own off. */
                if (g->dereg_protection != EC2_DEREG_PROTECTION_DISABLED)
                        return 0;
                if (p->retire_stages == 0)
                        snprintf(why, sizeof why, "released at %s, and the policy has no 'retire' any more",
                                 ec2_tags_get(&g->tags, TAG_RETIRED_AT));
                else
                        snprintf(why, sizeof why, "retire.deregister_after %s since %s",
                                 format_duration(after(p, RETIRE_DEREGISTER), d), ec2_tags_get(&g->tags, TAG_RETIRED_AT));
                r = push(c, PLAN_RETIRE, g, why, &a);
                if (r < 0)
                        return r;
                a->stage = RETIRE_DEREGISTER;
                a->due = t0 + (time_t) after(p, RETIRE_DEREGISTER);
                for (size_t k = 0; k < g->n_devices; k++) {
                        const char *snap = g->devices[k].snapshot_id;

                        if (!isempty(snap) && !strv_contains(a->snapshot_ids, snap) &&
                            (r = strv_extend(&a->snapshot_ids, snap)) < 0)
                                return r;
                }
                return 0;
        }
        if (given(p, RETIRE_DISABLE) && !streq(stage, "disabled") && now >= t0 + (time_t) after(p, RETIRE_DISABLE)) {
                snprintf(why, sizeof why, "retire.disable_after %s", format_duration(after(p, RETIRE_DISABLE), d));
                r = push(c, PLAN_DISABLE, g, why, &a);
                if (r < 0)
                        return r;
                a->stage = RETIRE_DISABLE;
                a->due = t0 + (time_t) after(p, RETIRE_DISABLE);
                return mark(a, TAG_STAGE, "disabled");
        }
        if (given(p, RETIRE_DEPRECATE) && isempty(stage) && g->state == EC2_IMAGE_AVAILABLE) {
                snprintf(why, sizeof why, "retire.deprecate_after %s", format_duration(after(p, RETIRE_DEPRECATE), d));
                r = push(c, PLAN_DEPRECATE, g, why, &a);
                if (r < 0)
                        return r;
                a->stage = RETIRE_DEPRECATE;
                a->due = t0 + (time_t) after(p, RETIRE_DEPRECATE);
                a->deprecate_at = deprecate_at(c, g, a->due);
                return mark(a, TAG_STAGE, "deprecated");
        }
        return 0;
}

/* ---- image.deprecate_after ------------------------------------------------------------ */

static int deprecate_by_age(stage_ctx *c, const ec2_image *g) {
        const policy *p = c->in->policy;
        const char *m = ec2_tags_get(&g->tags, TAG_DEPRECATION);
        char why[64], d[DURATION_MAX], at[ISO8601_MAX];
        plan_action *a;
        int r;

        if (g->state != EC2_IMAGE_AVAILABLE || g->creation_date <= 0 || streq_ptr(m, "removed"))
                return 0;
        if (m && ec2_image_deprecation_time(g) == 0)
                return restored(c, g, TAG_DEPRECATION, "removed",
                                "deprecation cancelled (DisableImageDeprecation) after image.deprecate_after set it");
        if (m || ec2_image_deprecation_time(g) > 0)
                return 0;
        snprintf(why, sizeof why, "image.deprecate_after %s", format_duration(p->deprecate_after, d));
        r = push(c, PLAN_DEPRECATE, g, why, &a);
        if (r < 0)
                return r;
        a->stage = RETIRE_DEPRECATE;
        a->due = g->creation_date + (time_t) p->deprecate_after;
        a->deprecate_at = deprecate_at(c, g, a->due);
        return mark(a, TAG_DEPRECATION, format_iso8601(a->deprecate_at, at));
}

/* ---- The walk -------------------------------------------------------------------------- */

static int index_ids(stage_ctx *c) {
        size_t n_created = strv_length(c->in->created);
        const plan *e = c->in->earlier;

        c->earlier = calloc(e && e->n ? e->n : 1, sizeof(char *));
        c->retired = calloc(e && e->n ? e->n : 1, sizeof(char *));
        c->created = calloc(n_created ?: 1, sizeof(char *));
        if (!c->earlier || !c->retired || !c->created)
                return -ENOMEM;
        for (size_t k = 0; e && k < e->n; k++) {
                if (!e->actions[k].image_id)
                        continue;
                c->earlier[c->n_earlier++] = e->actions[k].image_id;
                if (e->actions[k].kind == PLAN_RETIRE)
                        c->retired[c->n_retired++] = e->actions[k].image_id;
        }
        for (size_t k = 0; k < n_created; k++)
                c->created[c->n_created++] = c->in->created[k];
        qsort(c->earlier, c->n_earlier, sizeof(char *), str_ptr_compare);
        qsort(c->retired, c->n_retired, sizeof(char *), str_ptr_compare);
        qsort(c->created, c->n_created, sizeof(char *), str_ptr_compare);
        return 0;
}

/* An image of in's policy that the stages may look at: plan.c's rule 2; a copy (copy_to) has
 * its destination's deprecate_after, set by the copy distributor. */
static bool image_managed(const plan_input *in, const ec2_image *g) {
        return g->id && streq_ptr(ec2_tags_get(&g->tags, TAG_POLICY), in->policy->name) &&
                !isempty(ec2_tags_get(&g->tags, TAG_INSTANCE_ID)) && !plan_image_is_copy(g);
}

static int image_ptr_by_id(const void *a, const void *b) {
        return strcmp((*(const ec2_image *const *) a)->id, (*(const ec2_image *const *) b)->id);
}

/* The policy's images, by id, each once: an image listed twice is staged once. */
static int index_images(stage_ctx *c) {
        const plan_input *in = c->in;
        size_t n = 0, w = 0;

        c->images = calloc(in->n_images ?: 1, sizeof(ec2_image *));
        if (!c->images)
                return -ENOMEM;
        for (size_t k = 0; k < in->n_images; k++)
                if (image_managed(in, &in->images[k]))
                        c->images[n++] = &in->images[k];
        qsort(c->images, n, sizeof(ec2_image *), image_ptr_by_id);
        for (size_t k = 0; k < n; k++)
                if (w == 0 || !streq(c->images[k]->id, c->images[w - 1]->id))
                        c->images[w++] = c->images[k];
        c->n_images = w;
        return 0;
}

/* The image ids of the plan's actions so far, sorted: an image already acted on is left be. */
static int planned_ids(const plan *p, const char ***ret) {
        const char **ids;

        ids = calloc(p->n ?: 1, sizeof(char *));
        if (!ids)
                return -ENOMEM;
        for (size_t k = 0; k < p->n; k++)
                ids[k] = p->actions[k].image_id ?: "";
        qsort(ids, p->n, sizeof(char *), str_ptr_compare);
        *ret = ids;
        return 0;
}

/* One image: released, the next of its stages (first plan only); else, with
 * image.deprecate_after, its deprecation (a later plan: only the run's new images). */
static int stage_image(stage_ctx *c, const ec2_image *g) {
        bool first = !c->in->earlier, is_new = sorted_has(c->created, c->n_created, g->id);
        time_t t0;

        if (plan_image_released(g, &t0))
                return first ? stage_released(c, g, t0) : 0;
        if (c->in->policy->deprecate_after == 0 || (!first && !is_new))
                return 0;
        if (g->creation_date <= 0 && is_new) {
                /* The run's new image, known by its id only: made just now. */
                ec2_image made = *g;

                made.creation_date = c->in->now;
                return deprecate_by_age(c, &made);
        }
        return deprecate_by_age(c, g);
}

/* Whether anything here is the stages' business: `retire`, image.deprecate_after, or an
 * image of the policy released once (its stages go on, or it goes when `retire` was
 * removed). A scan before any sorting: most policies have none. */
static bool stages_matter(const plan_input *in) {
        const policy *p = in->policy;

        if (p->retire_stages != 0 || p->deprecate_after > 0)
                return true;
        for (size_t k = 0; k < in->n_images; k++)
                if (ec2_tags_get(&in->images[k].tags, TAG_RETIRED_AT) && image_managed(in, &in->images[k]))
                        return true;
        return false;
}

int plan_stage(const plan_input *in, plan *p) {
        stage_ctx c = { .in = in, .plan = p };
        _cleanup_(freep) const char **planned = NULL;
        size_t n_planned = 0;
        int r;

        if (!stages_matter(in))
                return 0;
        r = index_ids(&c);
        if (r >= 0)
                r = index_images(&c);
        if (r >= 0)
                r = releases(&c);
        if (r >= 0) {
                n_planned = p->n;
                r = planned_ids(p, &planned);
        }
        for (size_t k = 0; r >= 0 && k < c.n_images; k++)
                if (!sorted_has(c.earlier, c.n_earlier, c.images[k]->id) &&
                    !sorted_has(planned, n_planned, c.images[k]->id))
                        r = stage_image(&c, c.images[k]);
        free(c.earlier);
        free(c.retired);
        free(c.created);
        free(c.images);
        return r;
}
