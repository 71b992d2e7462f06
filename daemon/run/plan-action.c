/* SPDX-License-Identifier: MIT */
/*
 * The planner's values (plan.h): the names of the kinds of action, and freeing actions
 * and plans. Below every other plan*.c file, which all use it.
 */
#include "run/plan.h"

static const char *const plan_action_kind_table[_PLAN_ACTION_KIND_MAX] = {
        [PLAN_CREATE] = "create",
        [PLAN_RETIRE] = "retire",
        [PLAN_DELETE_SNAPSHOT] = "sweep",
        [PLAN_PROTECT] = "protect",
        [PLAN_UNPROTECT] = "unprotect",
        [PLAN_RELEASE] = "release",
        [PLAN_DEPRECATE] = "deprecate",
        [PLAN_DISABLE] = "disable",
        [PLAN_RESTORED] = "restored",
};

const char *plan_action_kind_to_string(plan_action_kind k) {
        if (k < 0 || k >= _PLAN_ACTION_KIND_MAX)
                return NULL;
        return plan_action_kind_table[k];
}

plan_action_kind plan_action_kind_from_string(const char *s) {
        if (s)
                for (size_t k = 0; k < ELEMENTSOF(plan_action_kind_table); k++)
                        if (streq(s, plan_action_kind_table[k]))
                                return (plan_action_kind) k;
        return _PLAN_ACTION_KIND_INVALID;
}

int plan_ids_sorted(char *const *ids, const char ***ret, size_t *ret_n) {
        size_t n = strv_length(ids);
        const char **v;

        v = calloc(n ?: 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++)
                v[k] = ids[k];
        qsort(v, n, sizeof(char *), str_ptr_compare);
        *ret = v;
        *ret_n = n;
        return 0;
}

void plan_action_done(plan_action *a) {
        free(a->instance_id);
        free(a->slot);
        free(a->image_name);
        free(a->description);
        ec2_tags_done(&a->image_tags);
        ec2_tags_done(&a->snapshot_tags);
        ec2_tags_done(&a->mark_tags);
        strv_free(a->exclude_devices);
        free(a->image_id);
        strv_free(a->snapshot_ids);
        free(a->reason);
        *a = (plan_action) {};
}

void plan_skipped_done(plan *p) {
        for (size_t k = 0; k < p->n_skipped; k++) {
                free(p->skipped[k].instance_id);
                free(p->skipped[k].image_id);
                free(p->skipped[k].slot);
                free(p->skipped[k].reason);
        }
        free(p->skipped);
        p->skipped = NULL;
        p->n_skipped = 0;
}

void plan_done(plan *p) {
        if (!p)
                return;
        for (size_t k = 0; k < p->n; k++)
                plan_action_done(&p->actions[k]);
        free(p->actions);
        for (size_t k = 0; k < p->n_future; k++) {
                free(p->future[k].instance_id);
                free(p->future[k].image_id);
                free(p->future[k].slot);
        }
        free(p->future);
        for (size_t k = 0; k < p->n_held; k++) {
                free(p->held[k].instance_id);
                free(p->held[k].image_id);
                free(p->held[k].slot);
                free(p->held[k].reason);
        }
        free(p->held);
        free(p->departed_oldest);
        plan_skipped_done(p);
        *p = (plan) {};
}

int plan_action_append(plan *p, size_t *cap, plan_action_kind kind, const char *instance_id, plan_action **ret) {
        plan_action *a;

        if (p->n >= *cap) {
                size_t n = *cap ? *cap * 2 : MAX(p->n, (size_t) 8) * 2;

                a = reallocarray(p->actions, n, sizeof(plan_action));
                if (!a)
                        return -ENOMEM;
                p->actions = a;
                *cap = n;
        }
        a = &p->actions[p->n++];
        *a = (plan_action) { .kind = kind, .image_state = _EC2_IMAGE_STATE_INVALID };
        a->instance_id = strdup(instance_id);
        if (!a->instance_id)
                return -ENOMEM;
        *ret = a;
        return 0;
}
