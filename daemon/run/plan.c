/* SPDX-License-Identifier: MIT */
/*
 * The planner: the rules of design.md's "Rules that make it safe" as one pure
 * function. It sees one policy, one region, the time and what EC2 holds, and
 * returns the CreateImage and retire actions of a run. It does no I/O and
 * never logs, so every rule is tested without a network or a clock, and the
 * `amirotd plan` command shows exactly what a run would do.
 *
 * Every RETIRE in a plan is safe to execute at once against the state it was
 * built from: retention counts only images that are `available` now, so an
 * image that is still being created neither counts nor lets an older one go.
 * The engine therefore creates, and plans again as each instance's new image
 * becomes `available` (plan-retire.c) and once more after a last listing; those
 * plans retire what the new images have pushed out. What retention asks for
 * passes the bound of plan-bound.c before it is planned.
 */
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

#include "run/plan.h"
#include "run/verify-plan.h"

/* ---- Selection ------------------------------------------------------------------------- */

/* The value of an instance's tag; the Name tag may also come as ec2_instance.name. */
static const char *instance_tag(const ec2_instance *i, const char *key) {
        const char *v = ec2_tags_get(&i->tags, key);

        if (!v && streq(key, "Name"))
                v = i->name;
        return v;
}

static bool tag_selector_matches(const tag_selector *s, const ec2_instance *i) {
        const char *v = instance_tag(i, s->key);

        return v && (!s->value || streq(v, s->value));
}

/* A test instance of verify (amirotd:verify-of) is never a target, whatever its tags: it
 * carries those its image copied from the instance imaged. */
static bool instance_selected(const policy *p, const ec2_instance *i) {
        if (!i->id || i->state < 0 || i->state >= _EC2_INSTANCE_STATE_MAX ||
            !(p->states & (1u << i->state)) || ec2_tags_get(&i->tags, TAG_VERIFY_OF))
                return false;
        for (size_t k = 0; k < p->n_tags; k++)
                if (!tag_selector_matches(&p->tags[k], i))
                        return false;
        for (size_t k = 0; k < p->n_exclude_tags; k++)
                if (tag_selector_matches(&p->exclude_tags[k], i))
                        return false;
        return true;
}

static int instance_ptr_compare(const void *a, const void *b) {
        const ec2_instance *x = *(const ec2_instance *const *) a, *y = *(const ec2_instance *const *) b;

        return strcmp(x->id, y->id);
}

/* ---- Managed images -------------------------------------------------------------------- */

typedef struct managed_image {
        const ec2_image *image;
        const char *instance_id;        /* amirotd:instance-id */
        const char *slot;               /* amirotd:slot, or NULL */
        time_t age_key;                 /* the slot's start, or creation_date without a valid slot */
        bool future;                    /* its slot starts after now: the clock ran ahead once */
        bool released;                  /* into the retire stages: plan-stage.c's, not retention's */
        bool created;                   /* made (or found for its slot) by this run */
        verify_verdict verdict;         /* verify's (run/verify-plan.h); VERIFY_NOT_JUDGED without */
} managed_image;

/* By instance id, then newest first: slot, creation date, image id. A total order,
 * so the same images always give the same plan. */
static int managed_image_compare(const void *a, const void *b) {
        const managed_image *x = a, *y = b;
        int c;

        c = strcmp(x->instance_id, y->instance_id);
        if (c != 0)
                return c;
        if (x->age_key != y->age_key)
                return x->age_key > y->age_key ? -1 : 1;
        if (x->image->creation_date != y->image->creation_date)
                return x->image->creation_date > y->image->creation_date ? -1 : 1;
        return -strcmp(x->image->id, y->image->id);
}

static int name_ptr_compare(const void *a, const void *b) {
        const managed_image *x = *(const managed_image *const *) a, *y = *(const managed_image *const *) b;

        return strcmp(x->image->name, y->image->name);
}

static int name_key_compare(const void *key, const void *elem) {
        return strcmp(key, (*(const managed_image *const *) elem)->image->name);
}

/* Garbage: EC2 will never make these available. */
static bool image_state_is_failed(ec2_image_state s) {
        return s == EC2_IMAGE_FAILED || s == EC2_IMAGE_ERROR || s == EC2_IMAGE_INVALID;
}

/* Retention counts available images of a slot that has begun, not released, and with
 * verify only those that passed (plan.h). */
static bool retention_counts(const managed_image *m) {
        return m->image->state == EC2_IMAGE_AVAILABLE && !m->future && !m->released &&
                (m->verdict == VERIFY_NOT_JUDGED || m->verdict == VERIFY_PASSED);
}

/* An image that failed verification is garbage, as a failed creation is, unless it is in
 * the retire stages (plan-stage.c's) or disabled (a person's). */
static bool verify_failed(const managed_image *m) {
        return m->verdict == VERIFY_FAILED && m->image->state == EC2_IMAGE_AVAILABLE && !m->released;
}

/* ---- Building -------------------------------------------------------------------------- */

typedef struct plan_ctx {
        const plan_input *in;
        const policy *policy;
        char slot[SLOT_ID_MAX];
        managed_image **by_name;        /* managed images with a name, sorted by name */
        size_t n_by_name;
        plan *plan;
        size_t cap;
} plan_ctx;

static int plan_push(plan_ctx *c, plan_action_kind kind, const char *instance_id, plan_action **ret) {
        return plan_action_append(c->plan, &c->cap, kind, instance_id, ret);
}

/* rotation: for a retention RETIRE, plan_action.rotation; 0 for garbage. */
static int retire(plan_ctx *c, const managed_image *m, const char *reason, unsigned rotation) {
        plan_action *a;
        int r;

        r = plan_push(c, PLAN_RETIRE, m->instance_id, &a);
        if (r < 0)
                return r;
        a->retention = rotation > 0;
        a->rotation = rotation;
        a->age_key = m->age_key;
        a->image_state = m->image->state;
        a->image_id = strdup(m->image->id);
        a->reason = strdup(reason);
        a->snapshot_ids = calloc(1, sizeof(char *));
        if (!a->image_id || !a->reason || !a->snapshot_ids)
                return -ENOMEM;
        r = strdup_or_null(m->slot, &a->slot);
        if (r < 0)
                return r;
        for (size_t k = 0; k < m->image->n_devices; k++) {
                const char *s = m->image->devices[k].snapshot_id;

                if (isempty(s) || strv_contains(a->snapshot_ids, s))
                        continue;
                r = strv_extend(&a->snapshot_ids, s);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The tags of a new image and its snapshots: amirotd's own, which nothing overrides
 * (rule 1: they are how a later run recognises what it made), then the policy's (their
 * values rendered as templates), then the instance's when asked, which never include the
 * reserved aws: prefix ("Tag keys ... can't start with aws:"), give way to the policy's
 * and stop at EC2's limit. */
static int create_tags(plan_ctx *c, const ec2_instance *i, ec2_tags *t) {
        const policy *p = c->policy;
        int r;

        r = ec2_tags_add(t, TAG_POLICY, p->name);
        if (r >= 0)
                r = ec2_tags_add(t, TAG_INSTANCE_ID, i->id);
        if (r >= 0)
                r = ec2_tags_add(t, TAG_SLOT, c->slot);
        if (r < 0)
                return r;

        for (size_t k = 0; k < p->image_tags.n; k++) {
                const ec2_tag *g = &p->image_tags.items[k];
                _cleanup_(freep) char *value = NULL;

                if (startswith(g->key, "amirotd:"))
                        continue;
                /* The keys stay literal; the values are templates ({instance_tag:KEY}, ...). */
                r = plan_render_tag_value(g->value ?: "", p, c->in->region, i, c->slot, &value);
                if (r >= 0)
                        r = ec2_tags_add(t, g->key, value);
                if (r < 0)
                        return r;
        }

        if (!p->copy_instance_tags)
                return 0;
        for (size_t k = 0; k < i->tags.n && t->n < EC2_TAGS_PER_RESOURCE_MAX; k++) {
                const ec2_tag *g = &i->tags.items[k];

                if (!g->key || strncasecmp(g->key, "aws:", 4) == 0 || startswith(g->key, "amirotd:") ||
                    ec2_tags_get(t, g->key))
                        continue;
                r = ec2_tags_add(t, g->key, g->value ?: "");
                if (r < 0)
                        return r;
        }
        return 0;
}

static int create(plan_ctx *c, const ec2_instance *i, char *image_name) {
        _cleanup_(freep) char *name = image_name;
        const policy *p = c->policy;
        plan_action *a;
        int r;

        r = plan_push(c, PLAN_CREATE, i->id, &a);
        if (r < 0)
                return r;
        a->image_name = TAKE_PTR(name);
        a->no_reboot = !p->reboot;
        a->windows = streq_ptr(i->platform, "windows");
        a->slot = strdup(c->slot);
        if (!a->slot)
                return -ENOMEM;
        r = plan_render_description(p, c->in->region, i, c->slot, &a->description);
        if (r < 0)
                return r;
        r = create_tags(c, i, &a->image_tags);
        if (r < 0)
                return r;
        r = plan_exclude_devices(c->in, i, &a->exclude_devices, &a->root_kept);
        if (r < 0)
                return r;
        return ec2_tags_copy(&a->image_tags, &a->snapshot_tags);
}

/* Whether the current slot already has an image of this instance that is, or may
 * still become, good: by its slot tag, or by its name (a second daemon, or a run that
 * crashed before its tags were read back). An available image that failed verification
 * takes the slot too: it is not made again in its slot (re-imaging a broken instance at
 * once would loop); the next slot makes the next one. */
static bool slot_taken(const plan_ctx *c, const managed_image *m, size_t n, const char *name) {
        managed_image **found;

        for (size_t k = 0; k < n; k++)
                if (streq_ptr(m[k].slot, c->slot) && plan_image_state_occupies_slot(m[k].image->state))
                        return true;

        found = bsearch(name, c->by_name, c->n_by_name, sizeof(managed_image *), name_key_compare);
        if (!found)
                return false;
        /* Equal names are adjacent; any of them in a live state takes the slot. */
        while (found > c->by_name && streq(found[-1]->image->name, name))
                found--;
        for (; found < c->by_name + c->n_by_name && streq((*found)->image->name, name); found++)
                if (plan_image_state_occupies_slot((*found)->image->state))
                        return true;
        return false;
}

/* An instance's rotation (plan_action.rotation): one out per run, and one per new image in
 * that retention counts. */
static unsigned instance_rotation(const managed_image *m, size_t n) {
        unsigned rotation = 1;

        for (size_t k = 0; k < n; k++)
                if (retention_counts(&m[k]))
                        rotation += m[k].created;
        return rotation;
}

/* Failed images first, oldest first. EC2 keeps the name of a failed image
 * registered until it is deregistered, so when the current slot's attempt
 * failed, its retirement must come before the CREATE that reuses the name.
 * An image that failed verification is available and keeps its slot: it is not made
 * again in its slot (slot_taken), the next slot makes the next one. Its verdict is a tag
 * anyone with CreateTags can write, so its retirement is bounded as retention's
 * (max_retire_per_run, plan-bound.c), sharing the instance's rotation: a mass re-tag
 * costs a few images a run. A failed creation is EC2's verdict: unbounded. */
static int retire_failed(plan_ctx *c, const managed_image *m, size_t n) {
        unsigned rotation = instance_rotation(m, n);
        int r;

        for (size_t k = n; k > 0; k--)
                if (image_state_is_failed(m[k - 1].image->state)) {
                        r = retire(c, &m[k - 1], "failed", 0);
                        if (r < 0)
                                return r;
                } else if (verify_failed(&m[k - 1])) {
                        _cleanup_(freep) char *reason = NULL;
                        const char *why = ec2_tags_get(&m[k - 1].image->tags, TAG_VERIFY_REASON);

                        if (asprintf(&reason, "failed verification%s%s", isempty(why) ? "" : ": ", why ?: "") < 0)
                                return -ENOMEM;
                        r = retire(c, &m[k - 1], reason, rotation);
                        if (r < 0)
                                return r;
                        c->plan->actions[c->plan->n - 1].verify_failed = true;
                }
        return 0;
}

/* The figures of a departed instance for the run's warning (engine-log.c): how many of
 * its images stay, and whether it is the one imaged longest ago. */
static void note_departed(plan *p, const managed_image *m, const plan_keep_image *img,
                          const plan_keep_verdict *verdict, size_t n) {
        p->n_departed++;
        for (size_t k = 0; k < n; k++)
                p->departed_images += verdict[k] == PLAN_KEEP;
        if (n > 0 && (!p->departed_oldest || img[0].age_key < p->departed_oldest_at)) {
                char *id = strdup(m[0].instance_id);

                if (!id)
                        return;         /* a figure for a warning: not worth failing the plan */
                free(p->departed_oldest);
                p->departed_oldest = id;
                p->departed_oldest_at = img[0].age_key;
        }
}

/* Retention over available images only (rule 5), by the keep rules of plan-keep.c.
 * An image of a future slot sorts first but is skipped: were it counted, a clock
 * that once ran ahead would make every later run retire its own fresh image as
 * "beyond retain.count". An image this run created counts and always stays.
 * departed: the instance is no longer selected; its figures go to the plan. */
static int retain(plan_ctx *c, const managed_image *m, size_t n, bool departed) {
        _cleanup_(freep) plan_keep_image *img = NULL;
        _cleanup_(freep) plan_keep_verdict *verdict = NULL;
        _cleanup_(freep) size_t *at = NULL;
        char *reason[PLAN_RETIRE_DEPARTED_MAX_AGE + 1] = {};
        unsigned rotation = instance_rotation(m, n);
        size_t counted = 0;
        int r = 0;

        img = calloc(n ?: 1, sizeof(plan_keep_image));
        verdict = calloc(n ?: 1, sizeof(plan_keep_verdict));
        at = calloc(n ?: 1, sizeof(size_t));
        if (!img || !verdict || !at)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++)
                if (retention_counts(&m[k])) {
                        at[counted] = k;
                        img[counted++] = (plan_keep_image) {
                                .age_key = m[k].age_key,
                                .creation_date = m[k].image->creation_date,
                                .created = m[k].created,
                        };
                }
        r = plan_keep(c->policy, c->in->now, departed, img, counted, verdict);
        if (r < 0)
                return r;
        if (departed)
                note_departed(c->plan, m, img, verdict, counted);

        /* Oldest first: should a run stop half-way, the newest images are still there. */
        for (size_t k = counted; k > 0 && r >= 0; k--) {
                plan_keep_verdict v = verdict[k - 1];

                if (v == PLAN_KEEP)
                        continue;
                if (!reason[v])
                        r = plan_keep_reason(c->policy, v, &reason[v]);
                if (r >= 0)
                        r = retire(c, &m[at[k - 1]], reason[v], rotation);
        }
        for (size_t v = 0; v < ELEMENTSOF(reason); v++)
                free(reason[v]);
        return r < 0 ? r : 0;
}

/* The images of a future slot that stay (failed ones are retired as garbage), oldest
 * first, for the caller to report. */
static int note_future(plan_ctx *c, const managed_image *m, size_t n) {
        plan *p = c->plan;

        for (size_t k = n; k > 0; k--) {
                const managed_image *f = &m[k - 1];
                plan_future_image *g;

                if (!f->future || image_state_is_failed(f->image->state))
                        continue;
                g = reallocarray(p->future, p->n_future + 1, sizeof(plan_future_image));
                if (!g)
                        return -ENOMEM;
                p->future = g;
                g = &p->future[p->n_future++];
                *g = (plan_future_image) {
                        .instance_id = strdup(f->instance_id),
                        .image_id = strdup(f->image->id),
                        .slot = strdup(f->slot),
                };
                if (!g->instance_id || !g->image_id || !g->slot)
                        return -ENOMEM;
        }
        return 0;
}

/* One instance id: its selected instance (NULL when the instance is gone or no longer
 * selected) and its managed images m[0..n), newest first. */
static int plan_instance(plan_ctx *c, const ec2_instance *i, const managed_image *m, size_t n) {
        bool departed = !i;
        int r;

        r = retire_failed(c, m, n);
        if (r < 0)
                return r;

        if (i) {
                _cleanup_(freep) char *name = NULL;

                r = plan_render_image_name(c->policy, c->in->region, i, c->slot, &name);
                if (r < 0)
                        return r;
                if (!slot_taken(c, m, n, name)) {
                        r = create(c, i, TAKE_PTR(name));
                        if (r < 0)
                                return r;
                }
        }

        /* An instance this run imaged has not departed, though a later plan of the run
         * (plan-retire.c) names no instance. */
        for (size_t k = 0; k < n && departed; k++)
                departed = !m[k].created;
        r = retain(c, m, n, departed);
        if (r < 0)
                return r;
        return note_future(c, m, n);
}

/* Rule 6 (plan-sweep.c). plan_sweep() grows c->plan->actions itself, behind c->cap's
 * back: it comes after the last plan_push(). */
static int sweep(plan_ctx *c, const managed_image *m, size_t n) {
        _cleanup_(freep) plan_slot_ref *refs = NULL;

        size_t n_refs = n;

        refs = calloc(n + c->in->n_images + 1, sizeof(plan_slot_ref));
        if (!refs)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++)
                refs[k] = (plan_slot_ref) { .instance_id = m[k].instance_id, .slot = m[k].slot };
        /* The copies here are not managed, but their snapshots are theirs: a pending copy
         * need not list them yet, and they carry its instance and slot. */
        for (size_t k = 0; k < c->in->n_images; k++) {
                const ec2_image *g = &c->in->images[k];
                const char *instance_id = ec2_tags_get(&g->tags, TAG_INSTANCE_ID);

                if (plan_image_is_copy(g) && instance_id && g->state != EC2_IMAGE_DEREGISTERED &&
                    streq_ptr(ec2_tags_get(&g->tags, TAG_POLICY), c->in->policy->name))
                        refs[n_refs++] = (plan_slot_ref) { .instance_id = instance_id,
                                                           .slot = ec2_tags_get(&g->tags, TAG_SLOT) };
        }
        return plan_sweep(c->in, refs, n_refs, c->plan);
}

/* The instances the policy selects, by id. */
static int select_instances(const plan_input *in, const ec2_instance ***ret, size_t *ret_n) {
        const ec2_instance **selected;
        size_t n = 0;

        selected = calloc(in->n_instances ?: 1, sizeof(ec2_instance *));
        if (!selected)
                return -ENOMEM;
        for (size_t k = 0; k < in->n_instances; k++)
                if (instance_selected(in->policy, &in->instances[k]))
                        selected[n++] = &in->instances[k];
        qsort(selected, n, sizeof(ec2_instance *), instance_ptr_compare);
        *ret = selected;
        *ret_n = n;
        return 0;
}

/* The images this policy manages, by instance id and newest first, each once. */
static int collect_managed(const plan_input *in, managed_image **ret, size_t *ret_n) {
        /* Sorted: the second plan of a run at fleet scale looks up 100 000 images among
         * 14 000 ids. */
        _cleanup_(freep) const char **created = NULL, **passed = NULL;
        managed_image *managed;
        size_t n = 0, n_created, n_passed;
        int r;

        r = plan_ids_sorted(in->created, &created, &n_created);
        if (r >= 0)
                r = plan_ids_sorted(in->passed, &passed, &n_passed);
        if (r < 0)
                return r;
        managed = calloc(in->n_images ?: 1, sizeof(managed_image));
        if (!managed)
                return -ENOMEM;
        for (size_t k = 0; k < in->n_images; k++) {
                const ec2_image *g = &in->images[k];
                const char *owner = ec2_tags_get(&g->tags, TAG_POLICY);
                const char *instance_id = ec2_tags_get(&g->tags, TAG_INSTANCE_ID);
                const char *slot = ec2_tags_get(&g->tags, TAG_SLOT);
                bool future = false;
                time_t t;

                /* Rule 2: what this policy did not tag is not ours, whatever it is called.
                 * amirotd tags every image with its instance id at creation; one without
                 * cannot be attributed to an instance, so retention cannot judge it and it
                 * is left alone. An image in a state this build does not know is, too. */
                if (!g->id || !owner || !streq(owner, in->policy->name) || isempty(instance_id) ||
                    g->state < 0 || g->state >= _EC2_IMAGE_STATE_MAX || g->state == EC2_IMAGE_DEREGISTERED)
                        continue;
                /* A copy (copy_to) carries its source's tags but is no generation here: the
                 * copy distributor keeps it by its destination's rules, and it must take no
                 * slot of an instance of this region. */
                if (plan_image_is_copy(g))
                        continue;
                if (!slot || slot_id_parse(slot, &t) < 0)
                        t = g->creation_date;
                else
                        /* Only the slot tag says "future": EC2's creation date comes from
                         * EC2's clock, which may well be ahead of a host that lags. */
                        future = t > in->now;
                managed[n++] = (managed_image) {
                        .image = g,
                        .instance_id = instance_id,
                        .slot = slot,
                        .age_key = t,
                        .future = future,
                        .released = plan_image_released(g, NULL),
                        .created = bsearch(&g->id, created, n_created, sizeof(char *), str_ptr_compare) != NULL,
                        .verdict = verify_plan_verdict(in->policy, g, passed, n_passed),
                };
        }
        qsort(managed, n, sizeof(managed_image), managed_image_compare);

        /* An image listed twice (a page boundary that moved) is planned once. */
        if (n > 1) {
                size_t w = 1;

                for (size_t k = 1; k < n; k++)
                        if (!streq(managed[k].image->id, managed[w - 1].image->id))
                                managed[w++] = managed[k];
                n = w;
        }
        *ret = managed;
        *ret_n = n;
        return 0;
}

/* The managed images that have a name, by name, for slot_taken(). */
static int index_by_name(managed_image *m, size_t n, managed_image ***ret, size_t *ret_n) {
        managed_image **by_name;
        size_t k = 0;

        by_name = calloc(n ?: 1, sizeof(managed_image *));
        if (!by_name)
                return -ENOMEM;
        for (size_t j = 0; j < n; j++)
                if (m[j].image->name)
                        by_name[k++] = &m[j];
        qsort(by_name, k, sizeof(managed_image *), name_ptr_compare);
        *ret = by_name;
        *ret_n = k;
        return 0;
}

/* Walks the selected instances and the managed images' instance ids together, in
 * id order, so the plan's order depends on nothing but its input. */
static int plan_instances(plan_ctx *c, const ec2_instance **selected, size_t n_selected,
                          const managed_image *managed, size_t n_managed) {
        size_t a = 0, b = 0;
        int r;

        while (a < n_selected || b < n_managed) {
                const ec2_instance *i = NULL;
                const char *id;
                size_t e;

                if (b >= n_managed || (a < n_selected && strcmp(selected[a]->id, managed[b].instance_id) <= 0))
                        id = selected[a]->id;
                else
                        id = managed[b].instance_id;

                if (a < n_selected && streq(selected[a]->id, id)) {
                        i = selected[a];
                        /* The same instance listed twice gets one image. */
                        while (a < n_selected && streq(selected[a]->id, id))
                                a++;
                }
                for (e = b; e < n_managed && streq(managed[e].instance_id, id); e++)
                        ;

                r = plan_instance(c, i, managed + b, e - b);
                if (r < 0)
                        return r;
                b = e;
        }
        return 0;
}

/* The images retention counts: available, of a slot that has begun. */
static unsigned count_retained(const managed_image *managed, size_t n) {
        unsigned counted = 0;

        for (size_t i = 0; i < n; i++)
                counted += retention_counts(&managed[i]);
        return counted;
}

static void count_images_after(plan *p, const managed_image *managed, size_t n) {
        for (size_t i = 0; i < n; i++)
                p->images_after[managed[i].image->state]++;
        for (size_t i = 0; i < p->n; i++)
                if (p->actions[i].kind == PLAN_CREATE)
                        p->images_after[EC2_IMAGE_PENDING]++;
                else if (p->actions[i].kind == PLAN_RETIRE && p->actions[i].image_state >= 0 &&
                         p->actions[i].image_state < _EC2_IMAGE_STATE_MAX &&
                         p->images_after[p->actions[i].image_state] > 0)
                        p->images_after[p->actions[i].image_state]--;
                else if (p->actions[i].kind == PLAN_DISABLE && p->actions[i].image_state == EC2_IMAGE_AVAILABLE &&
                         p->images_after[EC2_IMAGE_AVAILABLE] > 0) {
                        p->images_after[EC2_IMAGE_AVAILABLE]--;
                        p->images_after[EC2_IMAGE_DISABLED]++;
                }
}

int plan_build(const plan_input *in, plan *ret) {
        _cleanup_(freep) const ec2_instance **selected = NULL;
        _cleanup_(freep) managed_image *managed = NULL;
        _cleanup_(freep) managed_image **by_name = NULL;
        _cleanup_(plan_done) plan p = {};
        size_t n_selected, n_managed, n_by_name;
        time_t slot_start;
        plan_ctx c;
        int r;

        if (!in || !in->policy || !in->policy->name || !ret ||
            (in->n_instances > 0 && !in->instances) || (in->n_images > 0 && !in->images) ||
            (in->n_snapshots > 0 && !in->snapshots))
                return -EINVAL;

        r = schedule_slot_at(&in->policy->schedule, in->now, &slot_start);
        if (r < 0)
                return r;

        r = select_instances(in, &selected, &n_selected);
        if (r < 0)
                return r;
        r = collect_managed(in, &managed, &n_managed);
        if (r < 0)
                return r;
        r = index_by_name(managed, n_managed, &by_name, &n_by_name);
        if (r < 0)
                return r;

        c = (plan_ctx) {
                .in = in,
                .policy = in->policy,
                .by_name = by_name,
                .n_by_name = n_by_name,
                .plan = &p,
        };
        /* schedule_slot_at() keeps slots within years 1900..9999, which have an id. */
        if (!slot_id_format(slot_start, c.slot))
                return -ERANGE;

        p.n_targets = n_selected;
        r = plan_instances(&c, selected, n_selected, managed, n_managed);
        if (r < 0)
                return r;
        /* Protection first: a retirement it stops spends nothing of the run's bound. */
        r = plan_protect(in, selected, n_selected, &p);
        if (r < 0)
                return r;
        r = plan_bound_retirements(in, count_retained(managed, n_managed), &p);
        if (r >= 0)
                r = plan_stage(in, &p);
        if (r < 0)
                return r;
        r = sweep(&c, managed, n_managed);
        if (r < 0)
                return r;
        count_images_after(&p, managed, n_managed);

        *ret = p;
        p = (plan) {};
        return 0;
}

bool plan_instance_selected(const policy *p, const ec2_instance *i) {
        return instance_selected(p, i);
}
