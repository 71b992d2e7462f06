/* SPDX-License-Identifier: MIT */
/*
 * Adoption's decision (adopt-plan.h, whose top holds the rules): each image found is
 * judged alone first (its tags, state, instance and slot), then the images taken are
 * grouped by instance and slot, so that each slot gets one image: the newest, unless
 * the policy already holds the slot. Pure: it calls the schedule's slot arithmetic and
 * nothing else.
 */
#include <stdio.h>
#include <stdlib.h>

#include "run/adopt-plan.h"
#include "run/plan.h"

static const char *const verdict_table[_ADOPT_VERDICT_MAX] = {
        [ADOPT_TAKE] = "adopt",
        [ADOPT_SKIP_OWN] = "own",
        [ADOPT_SKIP_OTHER_POLICY] = "other-policy",
        [ADOPT_SKIP_COPY] = "copy",
        [ADOPT_SKIP_STATE] = "state",
        [ADOPT_SKIP_NO_INSTANCE] = "no-instance",
        [ADOPT_SKIP_NO_DATE] = "no-date",
        [ADOPT_SKIP_FUTURE] = "future",
        [ADOPT_SKIP_SLOT_TAKEN] = "slot-taken",
        [ADOPT_SKIP_TAGS_FULL] = "tags-full",
        [ADOPT_SKIP_NOT_SELECTED] = "not-selected",
        [ADOPT_SKIP_MARKED] = "marked",
};

const char *adopt_verdict_to_string(adopt_verdict v) {
        return v >= 0 && v < _ADOPT_VERDICT_MAX ? verdict_table[v] : NULL;
}

static int skip(adopt_decision *d, adopt_verdict v, const char *fmt, ...) _printf_(3, 4);
static int skip(adopt_decision *d, adopt_verdict v, const char *fmt, ...) {
        va_list ap;
        int r;

        d->verdict = v;
        va_start(ap, fmt);
        r = vasprintf(&d->reason, fmt, ap);
        va_end(ap);
        if (r < 0) {
                d->reason = NULL;
                return -ENOMEM;
        }
        return 0;
}

bool adopt_name_matches(const char *pattern, const char *name) {
        const char *star = NULL, *resume = NULL;

        if (!pattern || !name)
                return false;
        /* greedy, with one point to come back to: the last * seen */
        while (*name) {
                char c = *pattern;
                size_t step = 1;
                bool literal = false;

                if (c == '\\' && (pattern[1] == '*' || pattern[1] == '?' || pattern[1] == '\\')) {
                        c = pattern[1];
                        step = 2;
                        literal = true;
                }
                if (!literal && c == '*') {
                        star = ++pattern;
                        resume = name;
                } else if (c != '\0' && ((!literal && c == '?') || c == *name)) {
                        pattern += step;
                        name++;
                } else if (star) {
                        pattern = star;
                        name = ++resume;
                } else
                        return false;
        }
        while (*pattern == '*')
                pattern++;
        return *pattern == '\0';
}

/* Whether g matches adopt's tags and name, as DescribeImages' filters should have made
 * sure: an endpoint that ignored a filter must not make the whole account adoptable. */
static bool selected(const policy_adopt *a, const ec2_image *g) {
        for (size_t k = 0; k < a->n_tags; k++) {
                const char *v = ec2_tags_get(&g->tags, a->tags[k].key);

                if (!v || (a->tags[k].value && !streq(v, a->tags[k].value)))
                        return false;
        }
        return !a->name || adopt_name_matches(a->name, g->name ?: "");
}

/* The first amirotd:* key of g's tags, or NULL. */
static const char *managed_key(const ec2_image *g) {
        for (size_t k = 0; k < g->tags.n; k++)
                if (startswith(g->tags.items[k].key, "amirotd:"))
                        return g->tags.items[k].key;
        return NULL;
}

/* What the image's own tags and state say, before its instance and slot. 1: judged (a
 * skip), 0: go on, <0: -ENOMEM. */
static int judge_tags_and_state(const adopt_input *in, const ec2_image *g, adopt_decision *d) {
        const char *owner = ec2_tags_get(&g->tags, TAG_POLICY);
        const char *copy_of = ec2_tags_get(&g->tags, TAG_COPY_OF);
        const char *adopted = ec2_tags_get(&g->tags, TAG_ADOPTED);
        int r;

        if (copy_of)
                r = skip(d, ADOPT_SKIP_COPY, "a copy of %s: copies are never adopted", copy_of);
        else if (owner && streq(owner, in->policy->name))
                r = adopted ? skip(d, ADOPT_SKIP_OWN, "already adopted (%s)", adopted) :
                        skip(d, ADOPT_SKIP_OWN, "already the policy's own image");
        else if (owner)
                r = skip(d, ADOPT_SKIP_OTHER_POLICY, "belongs to policy '%s': never taken from another policy", owner);
        else if (managed_key(g))
                /* amirotd's marks without a policy: someone took it out of a policy by hand, or
                 * half-way; EC2's answer then keeps only amirotd:* tags, so it cannot be judged */
                r = skip(d, ADOPT_SKIP_MARKED, "carries %s but no %s: left alone (remove amirotd's tags to "
                         "adopt it)", managed_key(g), TAG_POLICY);
        else if (!selected(&in->policy->adopt, g))
                r = skip(d, ADOPT_SKIP_NOT_SELECTED, "does not match adopt's tags and name (did the endpoint "
                         "ignore a filter?)");
        else if (g->state != EC2_IMAGE_AVAILABLE)
                r = skip(d, ADOPT_SKIP_STATE, "%s: only available images are adopted",
                         ec2_image_state_to_string(g->state) ?: "in an unknown state");
        else if (g->tags.n + ADOPT_TAGS_WRITTEN > EC2_TAGS_PER_RESOURCE_MAX)
                r = skip(d, ADOPT_SKIP_TAGS_FULL, "has %u tags: adoption's %d would pass EC2's %d per resource",
                         (unsigned) g->tags.n, ADOPT_TAGS_WRITTEN, EC2_TAGS_PER_RESOURCE_MAX);
        else
                return 0;
        return r < 0 ? r : 1;
}

/* The amirotd:policy tag of the snapshot, as in->snapshots has it, or NULL. */
static const char *snapshot_policy(const adopt_input *in, const char *snapshot_id) {
        for (size_t k = 0; k < in->n_snapshots; k++)
                if (streq_ptr(in->snapshots[k].id, snapshot_id))
                        return ec2_tags_get(&in->snapshots[k].tags, TAG_POLICY);
        return NULL;
}

/* Whether a snapshot of g belongs to another policy: 1 (a skip), 0, <0: -ENOMEM. */
static int judge_snapshots(const adopt_input *in, const ec2_image *g, adopt_decision *d) {
        for (size_t k = 0; k < g->n_devices; k++) {
                const char *owner = snapshot_policy(in, g->devices[k].snapshot_id);
                int r;

                if (!owner || streq(owner, in->policy->name))
                        continue;
                r = skip(d, ADOPT_SKIP_OTHER_POLICY, "its snapshot %s belongs to policy '%s': never taken from "
                         "another policy", g->devices[k].snapshot_id, owner);
                return r < 0 ? r : 1;
        }
        return 0;
}

/* The tags to write and the snapshots to write them on: each once, and none that the
 * policy holds already (the IAM policy lets adopt tag only snapshots of no policy). */
static int take(const adopt_input *in, const ec2_image *g, adopt_decision *d) {
        _cleanup_(strv_freep) char **seen = NULL;
        char when[ISO8601_MAX];
        int r;

        d->verdict = ADOPT_TAKE;
        if ((r = ec2_tags_add(&d->tags, TAG_POLICY, in->policy->name)) < 0 ||
            (r = ec2_tags_add(&d->tags, TAG_INSTANCE_ID, d->instance_id)) < 0 ||
            (r = ec2_tags_add(&d->tags, TAG_SLOT, d->slot)) < 0 ||
            (r = ec2_tags_add(&d->tags, TAG_ADOPTED, format_iso8601(in->now, when))) < 0)
                return r;
        for (size_t k = 0; k < g->n_devices; k++) {
                const char *id = g->devices[k].snapshot_id;

                if (!id || strv_contains(seen, id))
                        continue;
                if (strv_extend(&seen, id) < 0)
                        return -ENOMEM;
                if (snapshot_policy(in, id))            /* this policy's: judge_snapshots() let it by */
                        d->n_snapshots_own++;
                else if (strv_extend(&d->snapshot_ids, id) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* One image alone: its verdict, and for one taken its instance, slot and tags. */
static int judge(const adopt_input *in, const ec2_image *g, adopt_decision *d) {
        char when[ISO8601_MAX];
        time_t slot_start;
        int r;

        *d = (adopt_decision) { .image = g };
        r = judge_tags_and_state(in, g, d);
        if (r == 0)
                r = judge_snapshots(in, g, d);
        if (r != 0)
                return r < 0 ? r : 0;
        /* the operator's word first: Packer's EBS builder makes each image of a throw-away
         * instance, whose generations no retain.count would ever retire */
        d->instance_id = in->policy->adopt.instance_id ?: g->source_instance_id;
        if (!d->instance_id)
                return skip(d, ADOPT_SKIP_NO_INSTANCE,
                            "no instance: EC2 names none (not made by CreateImage); give adopt.instance_id");
        if (g->creation_date <= 0)
                return skip(d, ADOPT_SKIP_NO_DATE, "EC2 gives no creation date: its slot cannot be told");
        if (g->creation_date > in->now)
                return skip(d, ADOPT_SKIP_FUTURE, "created %s, after now: was a clock ahead?",
                            format_iso8601(g->creation_date, when));
        r = schedule_slot_at(&in->policy->schedule, g->creation_date, &slot_start);
        if (r < 0)
                return r;
        if (!slot_id_format(slot_start, d->slot))
                return -ERANGE;
        return take(in, g, d);
}

/* By instance, slot, then newest first (creation date, then id): a total order. */
static int taken_compare(const void *a, const void *b) {
        const adopt_decision *x = *(const adopt_decision *const *) a, *y = *(const adopt_decision *const *) b;
        int c = strcmp(x->instance_id, y->instance_id);

        if (c == 0)
                c = strcmp(x->slot, y->slot);
        if (c == 0 && x->image->creation_date != y->image->creation_date)
                c = x->image->creation_date > y->image->creation_date ? -1 : 1;
        return c != 0 ? c : -strcmp(x->image->id, y->image->id);
}

/* Whether the policy's image g holds its slot, as the planner counts it (plan.c): a copy
 * holds no slot here, and a deregistered or failed image holds none any more. */
static bool holds_slot(const adopt_input *in, const ec2_image *g) {
        return streq_ptr(ec2_tags_get(&g->tags, TAG_POLICY), in->policy->name) && !plan_image_is_copy(g) &&
                ec2_tags_get(&g->tags, TAG_INSTANCE_ID) && ec2_tags_get(&g->tags, TAG_SLOT) &&
                plan_image_state_occupies_slot(g->state);
}

static int holder_compare(const void *a, const void *b) {
        const ec2_image *x = *(const ec2_image *const *) a, *y = *(const ec2_image *const *) b;
        int c = strcmp(ec2_tags_get(&x->tags, TAG_INSTANCE_ID), ec2_tags_get(&y->tags, TAG_INSTANCE_ID));

        return c != 0 ? c : strcmp(ec2_tags_get(&x->tags, TAG_SLOT), ec2_tags_get(&y->tags, TAG_SLOT));
}

static int holder_key_compare(const void *key, const void *elem) {
        const adopt_decision *d = key;
        const ec2_image *g = *(const ec2_image *const *) elem;
        int c = strcmp(d->instance_id, ec2_tags_get(&g->tags, TAG_INSTANCE_ID));

        return c != 0 ? c : strcmp(d->slot, ec2_tags_get(&g->tags, TAG_SLOT));
}

static bool same_slot(const adopt_decision *x, const adopt_decision *y) {
        return streq(x->instance_id, y->instance_id) && streq(x->slot, y->slot);
}

/* A taken image gives its slot up to other: the policy's image (by_policy) or a newer one found. */
static int untake(adopt_decision *d, const char *other, bool by_policy) {
        ec2_tags_done(&d->tags);
        d->snapshot_ids = strv_free(d->snapshot_ids);
        d->n_snapshots_own = 0;
        if (by_policy)
                return skip(d, ADOPT_SKIP_SLOT_TAKEN, "slot %s of %s already has %s of the policy",
                            d->slot, d->instance_id, other);
        return skip(d, ADOPT_SKIP_SLOT_TAKEN, "slot %s of %s goes to the newer %s", d->slot, d->instance_id, other);
}

/* One image per instance and slot: the newest of those taken (the first of its group in
 * taken_compare()'s order), unless one of the policy's images holds the slot already. */
static int one_per_slot(const adopt_input *in, adopt_plan *p) {
        _cleanup_(freep) adopt_decision **taken = NULL;
        _cleanup_(freep) const ec2_image **holders = NULL;
        size_t n = 0, n_holders = 0, group = 0;
        int r = 0;

        taken = calloc(p->n ?: 1, sizeof(adopt_decision *));
        holders = calloc(in->n_managed ?: 1, sizeof(ec2_image *));
        if (!taken || !holders)
                return -ENOMEM;
        for (size_t k = 0; k < p->n; k++)
                if (p->items[k].verdict == ADOPT_TAKE)
                        taken[n++] = &p->items[k];
        for (size_t k = 0; k < in->n_managed; k++)
                if (holds_slot(in, &in->managed[k]))
                        holders[n_holders++] = &in->managed[k];
        qsort(taken, n, sizeof(adopt_decision *), taken_compare);
        qsort(holders, n_holders, sizeof(ec2_image *), holder_compare);
        for (size_t k = 0; k < n && r >= 0; k++) {
                adopt_decision *d = taken[k];
                const ec2_image **holder = bsearch(d, holders, n_holders, sizeof(ec2_image *), holder_key_compare);

                if (k == 0 || !same_slot(taken[k - 1], d))
                        group = k;
                if (holder)
                        r = untake(d, (*holder)->id, true);
                else if (group != k)
                        r = untake(d, taken[group]->image->id, false);
        }
        for (size_t k = 0; k < p->n; k++)
                if (p->items[k].verdict == ADOPT_TAKE)
                        p->n_take++;
        return r;
}

static int image_ptr_id_compare(const void *a, const void *b) {
        const ec2_image *x = *(const ec2_image *const *) a, *y = *(const ec2_image *const *) b;
        int c = strcmp(x->id, y->id);

        /* equal ids: the one listed first, first */
        return c != 0 ? c : (x < y ? -1 : x > y);
}

static int image_ptr_address_compare(const void *a, const void *b) {
        const ec2_image *x = *(const ec2_image *const *) a, *y = *(const ec2_image *const *) b;

        return x < y ? -1 : x > y;
}

/* The images of in->found to judge: each id once (a page boundary that moved may list one
 * twice), without those EC2 gave no id, in the order found. */
static int distinct_found(const adopt_input *in, const ec2_image ***ret, size_t *ret_n) {
        _cleanup_(freep) const ec2_image **by_id = NULL;
        size_t n = 0, w = 0;

        by_id = calloc(in->n_found ?: 1, sizeof(ec2_image *));
        if (!by_id)
                return -ENOMEM;
        for (size_t k = 0; k < in->n_found; k++)
                if (in->found[k].id)
                        by_id[n++] = &in->found[k];
        qsort(by_id, n, sizeof(ec2_image *), image_ptr_id_compare);
        for (size_t k = 0; k < n; k++)
                if (k == 0 || !streq(by_id[k - 1]->id, by_id[k]->id))
                        by_id[w++] = by_id[k];
        /* back in the order found: pointers into one array compare as their indexes */
        qsort(by_id, w, sizeof(ec2_image *), image_ptr_address_compare);
        *ret = TAKE_PTR(by_id);
        *ret_n = w;
        return 0;
}

void adopt_plan_done(adopt_plan *p) {
        if (!p)
                return;
        for (size_t k = 0; k < p->n; k++) {
                free(p->items[k].reason);
                ec2_tags_done(&p->items[k].tags);
                strv_free(p->items[k].snapshot_ids);
        }
        free(p->items);
        *p = (adopt_plan) {};
}

int adopt_plan_build(const adopt_input *in, adopt_plan *ret) {
        _cleanup_(adopt_plan_done) adopt_plan p = {};
        _cleanup_(freep) const ec2_image **found = NULL;
        size_t n_found;
        int r;

        if (!in || !in->policy || !in->policy->adopt.set || !ret)
                return -EINVAL;
        r = distinct_found(in, &found, &n_found);
        if (r < 0)
                return r;
        p.items = calloc(n_found ?: 1, sizeof(adopt_decision));
        if (!p.items)
                return -ENOMEM;
        for (size_t k = 0; k < n_found; k++) {
                r = judge(in, found[k], &p.items[p.n++]);
                if (r < 0)
                        return r;
        }
        r = one_per_slot(in, &p);
        if (r < 0)
                return r;
        *ret = p;
        p = (adopt_plan) {};
        return 0;
}
