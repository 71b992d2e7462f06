/* SPDX-License-Identifier: MIT */
/*
 * Retirement as each new image becomes available, part of the pure planner (plan.h).
 * A run no longer waits for its whole fleet before it retires anything: as soon as an
 * instance's new image is seen available, the engine asks here what that instance may
 * now retire, and retires it while the other images are still being made. CreateImage
 * and DeregisterImage draw on separate EC2 buckets, so the two overlap.
 *
 * There is no second rule: this file runs plan_build() itself, on the images the run
 * described for just those instances (less what the run has retired already), with
 * each one's new image added as available and created by the run, and keeps the
 * RETIREs. So retain.count counts available images only, the new image is never
 * retired, protections and failed images are judged as always, and the bound on
 * retirements per run (plan-bound.c) is the run's: plan_input.earlier carries what
 * the run has retired so far.
 */
#include <stdlib.h>

#include "run/plan.h"

static const char *image_instance_id(const ec2_image *g) {
        return ec2_tags_get(&g->tags, TAG_INSTANCE_ID);
}

static int image_ptr_by_instance(const void *a, const void *b) {
        return strcmp(image_instance_id(*(ec2_image *const *) a), image_instance_id(*(ec2_image *const *) b));
}

int plan_image_index_build(ec2_image *images, size_t n, const char *policy_name, plan_image_index *ret) {
        ec2_image **by_instance;
        size_t k = 0;

        by_instance = calloc(n ?: 1, sizeof(ec2_image *));
        if (!by_instance)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (images[i].id && !isempty(image_instance_id(&images[i])) &&
                    streq_ptr(ec2_tags_get(&images[i].tags, TAG_POLICY), policy_name) &&
                    !plan_image_is_copy(&images[i]))
                        by_instance[k++] = &images[i];
        qsort(by_instance, k, sizeof(ec2_image *), image_ptr_by_instance);
        plan_image_index_done(ret);
        *ret = (plan_image_index) { .by_instance = by_instance, .n = k };
        return 0;
}

void plan_image_index_done(plan_image_index *x) {
        free(x->by_instance);
        *x = (plan_image_index) {};
}

/* [*ret_first, *ret_end): the indexed images of instance_id. */
static void index_range(const plan_image_index *x, const char *instance_id, size_t *ret_first, size_t *ret_end) {
        size_t lo = 0, hi = x->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(image_instance_id(x->by_instance[mid]), instance_id) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_first = lo;
        while (lo < x->n && streq(image_instance_id(x->by_instance[lo]), instance_id))
                lo++;
        *ret_end = lo;
}

void plan_image_index_forget(plan_image_index *x, const char *instance_id, const char *image_id) {
        size_t first, end;

        if (!instance_id || !image_id)
                return;
        index_range(x, instance_id, &first, &end);
        for (size_t k = first; k < end; k++)
                if (streq(x->by_instance[k]->id, image_id))
                        x->by_instance[k]->state = EC2_IMAGE_DEREGISTERED;
}

static int ready_by_instance(const void *a, const void *b) {
        return strcmp(((const plan_ready_image *) a)->instance_id, ((const plan_ready_image *) b)->instance_id);
}

/* The view of one instance: its described images the run has not retired, and its new
 * image as available (a copy of the described one if the describe saw it, else one
 * made of what the run knows: id, name, its tags and the slot). */
static size_t view_instance(const plan_image_index *x, const plan_ready_image *r, ec2_tag *tags,
                            ec2_image *view) {
        size_t first, end, n = 0;
        bool listed = false;

        index_range(x, r->instance_id, &first, &end);
        for (size_t k = first; k < end; k++) {
                if (x->by_instance[k]->state == EC2_IMAGE_DEREGISTERED)
                        continue;
                view[n] = *x->by_instance[k];
                if (streq(view[n].id, r->image_id)) {
                        view[n].state = EC2_IMAGE_AVAILABLE;
                        listed = true;
                }
                n++;
        }
        if (!listed)
                view[n++] = (ec2_image) {
                        .id = r->image_id,
                        .name = r->name,
                        .state = EC2_IMAGE_AVAILABLE,
                        .tags = { .items = tags, .n = 3 },
                };
        return n;
}

/* Counts the views' images: the indexed ones of each ready instance, and one new each. */
static size_t view_size(const plan_image_index *x, const plan_ready_image *ready, size_t n) {
        size_t total = 0;

        for (size_t i = 0; i < n; i++) {
                size_t first, end;

                index_range(x, ready[i].instance_id, &first, &end);
                total += end - first + 1;
        }
        return total;
}

void plan_keep_retirements(plan *p) {
        size_t n = 0;

        for (size_t i = 0; i < p->n; i++)
                if (p->actions[i].kind != PLAN_CREATE && p->actions[i].kind != PLAN_DELETE_SNAPSHOT)
                        p->actions[n++] = p->actions[i];
                else
                        plan_action_done(&p->actions[i]);
        p->n = n;
}

int plan_retire_ready(const plan_input *in, const plan_image_index *x, plan_ready_image *ready, size_t n,
                      plan *ret) {
        _cleanup_(freep) ec2_image *view = NULL;
        _cleanup_(freep) ec2_tag *tags = NULL;
        _cleanup_(freep) char **created = NULL;
        char slot[SLOT_ID_MAX];
        time_t slot_start;
        plan_input sub;
        size_t n_view = 0, n_created = 0;
        int r;

        if (!in || !in->policy || !x || (n > 0 && !ready) || !ret)
                return -EINVAL;
        r = schedule_slot_at(&in->policy->schedule, in->now, &slot_start);
        if (r < 0)
                return r;
        if (!slot_id_format(slot_start, slot))
                return -ERANGE;

        qsort(ready, n, sizeof(plan_ready_image), ready_by_instance);
        view = calloc(view_size(x, ready, n) ?: 1, sizeof(ec2_image));
        tags = calloc(3 * n ?: 1, sizeof(ec2_tag));
        created = calloc(n + 1, sizeof(char *));
        if (!view || !tags || !created)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                ec2_tag *t = &tags[3 * i];

                /* One new image per instance and slot: a second one named is the same. */
                if (i > 0 && streq(ready[i].instance_id, ready[i - 1].instance_id))
                        continue;
                t[0] = (ec2_tag) { (char *) TAG_POLICY, in->policy->name };
                t[1] = (ec2_tag) { (char *) TAG_INSTANCE_ID, ready[i].instance_id };
                t[2] = (ec2_tag) { (char *) TAG_SLOT, slot };
                n_view += view_instance(x, &ready[i], t, view + n_view);
                created[n_created++] = ready[i].image_id;
        }

        sub = *in;
        sub.instances = NULL;           /* no instance: nothing to create */
        sub.n_instances = 0;
        sub.images = view;
        sub.n_images = n_view;
        sub.snapshots = NULL;           /* the sweep is the first plan's */
        sub.n_snapshots = 0;
        sub.created = created;
        /* With verify, a ready image counts only once in->passed names it (available is not
         * booted); its tags in the index were read before any verdict. */
        r = plan_build(&sub, ret);
        if (r < 0)
                return r;
        plan_keep_retirements(ret);
        return 0;
}
