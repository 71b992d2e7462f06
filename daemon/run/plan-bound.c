/* SPDX-License-Identifier: MIT */
/*
 * The bound on retirements per run, part of the pure planner (plan.h). An
 * operator's mistake, retain.count lowered from 30 to 1 or a max_age of 30m meant
 * as 30d, asks retention to retire most of a policy's images at once; deregistered
 * images cannot be brought back. So a run retires by retention at most:
 *   - one image per instance, its oldest, and one more for each new image the run
 *     made of it: the normal rotation (one new image in, one out), which the bound
 *     never holds back, whatever the fleet's size, and a backlog of one that drains;
 *   - and beyond that, max_retire_per_run percent of the policy's counted images
 *     in the region (rounded down), the oldest of the policy first.
 * Everything else retention asks for is held back and listed; the next run plans
 * again from what EC2 then holds and goes on with the oldest, so a change that was
 * meant converges within a few runs and one that was not leaves time to notice.
 *
 * A run plans more than once (engine.h): the bound is the run's. The first plan
 * fixes the allowance from the images it counts; each later one (plan_input.earlier,
 * the retirements planned so far) spends what the earlier ones left of it, and each
 * instance's rotation less what they retired of it as rotation. The rotation counts
 * the run's new images, which only the later plans see: without that, an instance one
 * image behind (a max_age that came due, an earlier bound) would spend its one
 * retirement on the backlog in the first plan and hold back the new image's rotation
 * in a later one, and stay one behind, with a warning, run after run.
 */
#include <stdlib.h>

#include "run/plan.h"

unsigned plan_retire_allowance(unsigned counted, unsigned percent) {
        return (unsigned) ((uint64_t) counted * MIN(percent, 100u) / 100u);
}

/* The instance ids of the earlier plan's rotation RETIREs, sorted (an id once per
 * retirement), and how many of its retention RETIREs the run's allowance paid for. */
static int earlier_rotations(const plan *earlier, const char ***ret, size_t *ret_n, size_t *ret_beyond) {
        _cleanup_(freep) const char **ids = NULL;
        size_t n = 0, beyond = 0;

        ids = calloc(earlier && earlier->n > 0 ? earlier->n : 1, sizeof(char *));
        if (!ids)
                return -ENOMEM;
        for (size_t k = 0; earlier && k < earlier->n; k++) {
                const plan_action *a = &earlier->actions[k];

                if (a->kind != PLAN_RETIRE || !a->retention)
                        continue;
                if (a->beyond_rotation)
                        beyond++;
                else
                        ids[n++] = a->instance_id;
        }
        qsort(ids, n, sizeof(char *), str_ptr_compare);
        *ret_beyond = beyond;
        *ret_n = n;
        *ret = TAKE_PTR(ids);
        return 0;
}

/* How often id occurs in the sorted ids. */
static size_t count_sorted(const char *const *ids, size_t n, const char *id) {
        size_t lo = 0, hi = n, count = 0;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(ids[mid], id) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        while (lo + count < n && streq(ids[lo + count], id))
                count++;
        return count;
}

/* Oldest first, across the policy; then by instance and image id, so that the same
 * input always holds back the same images. */
static int retire_age_compare(const void *a, const void *b) {
        const plan_action *x = *(const plan_action *const *) a, *y = *(const plan_action *const *) b;
        int c;

        if (x->age_key != y->age_key)
                return x->age_key < y->age_key ? -1 : 1;
        c = strcmp(x->instance_id, y->instance_id);
        return c != 0 ? c : strcmp(x->image_id, y->image_id);
}

/* Moves the RETIRE a to p->held, which has room for it. */
static void hold(plan *p, plan_action *a) {
        p->held[p->n_held++] = (plan_held_image) {
                .instance_id = TAKE_PTR(a->instance_id),
                .image_id = TAKE_PTR(a->image_id),
                .slot = TAKE_PTR(a->slot),
                .reason = TAKE_PTR(a->reason),
                .age_key = a->age_key,
        };
        /* A RETIRE holds nothing else (plan.c's plan_action_done() would say so, but
         * plan.c calls in here: the planner's files call one way). */
        strv_free(a->snapshot_ids);
        *a = (plan_action) {};
}

/* Marks the retention RETIREs beyond the bound (keep[k] false); returns how many. */
static int mark_beyond(const plan_input *in, plan *p, bool *keep, size_t *ret_n) {
        _cleanup_(freep) const char **rotated = NULL;
        _cleanup_(freep) plan_action **extra = NULL;
        size_t n_rotated, beyond_earlier, n_extra = 0, left, held = 0, rotation_left = 0;
        const char *last = NULL;
        int r;

        r = earlier_rotations(in->earlier, &rotated, &n_rotated, &beyond_earlier);
        if (r < 0)
                return r;
        extra = calloc(p->n ?: 1, sizeof(plan_action *));
        if (!extra)
                return -ENOMEM;

        /* The actions come by instance, each instance's retirements oldest first: the
         * oldest are its rotation, as far as the earlier plan left it any. */
        for (size_t k = 0; k < p->n; k++) {
                plan_action *a = &p->actions[k];

                keep[k] = true;
                if (a->kind != PLAN_RETIRE || !a->retention)
                        continue;
                if (!streq_ptr(last, a->instance_id)) {
                        size_t used = count_sorted(rotated, n_rotated, a->instance_id);

                        rotation_left = a->rotation > used ? a->rotation - used : 0;
                        last = a->instance_id;
                }
                a->beyond_rotation = rotation_left == 0;
                if (rotation_left > 0)
                        rotation_left--;
                else
                        extra[n_extra++] = a;
        }

        qsort(extra, n_extra, sizeof(plan_action *), retire_age_compare);
        left = p->retire_allowance > beyond_earlier ? p->retire_allowance - beyond_earlier : 0;
        for (size_t k = left; k < n_extra; k++) {
                keep[extra[k] - p->actions] = false;
                held++;
        }
        *ret_n = held;
        return 0;
}

static int held_age_compare(const void *a, const void *b) {
        const plan_held_image *x = a, *y = b;
        int c;

        if (x->age_key != y->age_key)
                return x->age_key < y->age_key ? -1 : 1;
        c = strcmp(x->instance_id, y->instance_id);
        return c != 0 ? c : strcmp(x->image_id, y->image_id);
}

int plan_bound_retirements(const plan_input *in, unsigned counted, plan *p) {
        _cleanup_(freep) bool *keep = NULL;
        plan_held_image *held;
        size_t n_held, w = 0;
        int r;

        if (in->earlier) {
                p->images_counted = in->earlier->images_counted;
                p->retire_percent = in->earlier->retire_percent;
                p->retire_allowance = in->earlier->retire_allowance;
        } else {
                p->images_counted = counted;
                p->retire_percent = MIN(in->policy->max_retire_per_run, 100u);
                p->retire_allowance = plan_retire_allowance(counted, p->retire_percent);
        }

        keep = calloc(p->n ?: 1, sizeof(bool));
        if (!keep)
                return -ENOMEM;
        r = mark_beyond(in, p, keep, &n_held);
        if (r < 0 || n_held == 0)
                return r;
        held = reallocarray(p->held, p->n_held + n_held, sizeof(plan_held_image));
        if (!held)
                return -ENOMEM;
        p->held = held;

        for (size_t k = 0; k < p->n; k++)
                if (keep[k])
                        p->actions[w++] = p->actions[k];
                else
                        hold(p, &p->actions[k]);
        p->n = w;
        qsort(p->held, p->n_held, sizeof(plan_held_image), held_age_compare);
        return 0;
}
