/* SPDX-License-Identifier: MIT */
/*
 * The orphan sweep (rule 6), part of the pure planner (plan.h): which of the policy's
 * snapshots no image uses any more. A region at fleet scale holds about as many
 * snapshots as images (100 000 of each at 14 300 instances of 7 generations), so the
 * question "does any image reference this snapshot" is asked of a sorted index of the
 * referenced ids, not of every image in turn: that was 10^10 comparisons and most of a
 * minute of CPU per plan. The same goes for "does a managed image of this instance and
 * slot exist". Both indexes are built once per plan, O(n log n).
 * plan.c calls in here; nothing here calls back.
 */
#include <stdlib.h>

#include "run/plan.h"

/* The snapshot ids the block-device mappings of in's images name, sorted, each as often
 * as it is named. A deregistered image references nothing: EC2 lists such an image for
 * a while after DeregisterImage, and its snapshots are free to go. */
static int referenced_index(const plan_input *in, const char ***ret, size_t *ret_n) {
        _cleanup_(freep) const char **ids = NULL;
        size_t n = 0, cap = 0;

        for (size_t k = 0; k < in->n_images; k++)
                cap += in->images[k].n_devices;
        ids = calloc(cap ?: 1, sizeof(char *));
        if (!ids)
                return -ENOMEM;
        for (size_t k = 0; k < in->n_images; k++) {
                const ec2_image *g = &in->images[k];

                if (g->state == EC2_IMAGE_DEREGISTERED)
                        continue;
                for (size_t d = 0; d < g->n_devices; d++)
                        if (g->devices[d].snapshot_id)
                                ids[n++] = g->devices[d].snapshot_id;
        }
        qsort(ids, n, sizeof(char *), str_ptr_compare);
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

/* By instance id, then slot, no slot first. */
static int slot_ref_compare(const void *a, const void *b) {
        const plan_slot_ref *x = a, *y = b;
        int c = strcmp(x->instance_id, y->instance_id);

        if (c != 0 || x->slot == y->slot)
                return c;
        if (!x->slot || !y->slot)
                return x->slot ? 1 : -1;
        return strcmp(x->slot, y->slot);
}

/* Whether the snapshot is one of the policy's, finished, and past the grace in which
 * a pending image need not list it yet: the cheap half of the question. */
static bool sweep_candidate(const plan_input *in, const ec2_snapshot *s) {
        return s->id && streq_ptr(ec2_tags_get(&s->tags, TAG_POLICY), in->policy->name) &&
                (s->state == EC2_SNAPSHOT_COMPLETED || s->state == EC2_SNAPSHOT_ERROR) &&
                s->start_time > 0 && s->start_time <= in->now - PLAN_SNAPSHOT_GRACE;
}

/* The snapshots to sweep, in in->snapshots' order; managed is sorted by slot_ref_compare(). */
static int find_orphans(const plan_input *in, const plan_slot_ref *managed, size_t n_managed,
                        const ec2_snapshot ***ret, size_t *ret_n) {
        _cleanup_(freep) const char **referenced = NULL;
        _cleanup_(freep) const ec2_snapshot **orphans = NULL;
        size_t n_referenced, n = 0;
        int r;

        r = referenced_index(in, &referenced, &n_referenced);
        if (r < 0)
                return r;
        orphans = calloc(in->n_snapshots ?: 1, sizeof(ec2_snapshot *));
        if (!orphans)
                return -ENOMEM;

        for (size_t k = 0; k < in->n_snapshots; k++) {
                const ec2_snapshot *s = &in->snapshots[k];
                plan_slot_ref key;

                if (!sweep_candidate(in, s) ||
                    bsearch(&s->id, referenced, n_referenced, sizeof(char *), str_ptr_compare))
                        continue;
                /* A managed image of the same instance and slot still exists: the snapshot
                 * is its, listed or not, and leaves with it. */
                key = (plan_slot_ref) {
                        .instance_id = ec2_tags_get(&s->tags, TAG_INSTANCE_ID),
                        .slot = ec2_tags_get(&s->tags, TAG_SLOT),
                };
                if (key.instance_id &&
                    bsearch(&key, managed, n_managed, sizeof(plan_slot_ref), slot_ref_compare))
                        continue;
                orphans[n++] = s;
        }
        *ret = TAKE_PTR(orphans);
        *ret_n = n;
        return 0;
}

int plan_sweep(const plan_input *in, plan_slot_ref *managed, size_t n_managed, plan *p) {
        _cleanup_(freep) const ec2_snapshot **orphans = NULL;
        plan_action *actions;
        size_t n;
        int r;

        qsort(managed, n_managed, sizeof(plan_slot_ref), slot_ref_compare);
        r = find_orphans(in, managed, n_managed, &orphans, &n);
        if (r < 0 || n == 0)
                return r;
        actions = reallocarray(p->actions, p->n + n, sizeof(plan_action));
        if (!actions)
                return -ENOMEM;
        p->actions = actions;

        for (size_t k = 0; k < n; k++) {
                const ec2_snapshot *s = orphans[k];
                plan_action *a = &p->actions[p->n++];

                *a = (plan_action) {
                        .kind = PLAN_DELETE_SNAPSHOT,
                        .image_state = _EC2_IMAGE_STATE_INVALID,
                        .instance_id = strdup(ec2_tags_get(&s->tags, TAG_INSTANCE_ID) ?: "-"),
                        .reason = strdup("orphaned: no image uses it"),
                };
                if (!a->instance_id || !a->reason ||
                    strdup_or_null(ec2_tags_get(&s->tags, TAG_SLOT), &a->slot) < 0 ||
                    strv_extend(&a->snapshot_ids, s->id) < 0)
                        return -ENOMEM;
        }
        return 0;
}
