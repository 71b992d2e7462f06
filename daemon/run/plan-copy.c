/* SPDX-License-Identifier: MIT */
/*
 * The copy planner (copy_to): see plan-copy.h for its rules. Pure, as plan.c: data in,
 * steps out; retention's keep rules are plan-keep.c's, read with the destination's retain.
 */
#include <inttypes.h>
#include <stdio.h>

#include "run/plan-copy.h"
#include "run/plan.h"
#include "run/verify-plan.h"

typedef enum entry_kind {
        ENTRY_SOURCE,                   /* a source not yet copied (no copy available, pending or other) */
        ENTRY_AVAILABLE,                /* a copy */
        ENTRY_PENDING,
        ENTRY_FAILED,
        ENTRY_OTHER,                    /* a copy in a state retention leaves alone (disabled, ...) */
} entry_kind;

typedef struct entry {
        const ec2_image *image;
        const char *instance_id;
        const char *source_id;          /* a copy's source (after "REGION/"); a source's own id */
        time_t age_key;
        entry_kind kind;
        bool wanted;                    /* ENTRY_SOURCE: the destination's rules keep its copy */
        bool retired;                   /* a copy this plan retires */
} entry;

typedef struct copy_ctx {
        const plan_copy_input *in;
        policy rules;                   /* the policy with the destination's retain */
        entry *copies;                  /* the destination's copies of this region, by source id */
        size_t n_copies;
        entry *sources;                 /* by source id */
        size_t n_sources;
        plan_copy *plan;
} copy_ctx;

void plan_copy_done(plan_copy *p) {
        for (size_t i = 0; i < p->n; i++)
                free(p->steps[i].reason);
        free(p->steps);
        *p = (plan_copy) {};
}

void plan_copy_rules(const policy *p, const copy_destination *d, policy *ret) {
        *ret = *p;
        ret->departed_keep = 0;
        ret->departed_max_age = 0;
        if (!d || !d->retain_set)
                return;
        ret->retain_count = d->retain.count;
        ret->retain_max_age = d->retain.max_age;
        ret->retain_min_count = d->retain.min_count;
        memcpy(ret->retain_tiers, d->retain.tiers, sizeof(ret->retain_tiers));
}

/* FNV-1a, 64 bits, over the fields with a separator that none of them holds. */
static uint64_t fnv1a(uint64_t h, const char *const *fields, size_t n) {
        for (size_t i = 0; i < n; i++) {
                for (const unsigned char *c = (const unsigned char *) (fields[i] ?: ""); *c; c++)
                        h = (h ^ *c) * UINT64_C(0x100000001b3);
                h = (h ^ 0x1f) * UINT64_C(0x100000001b3);
        }
        return h;
}

void plan_copy_token(const char *policy_name, const char *source_id, const char *dest_region, const char *dest_account,
                     unsigned attempt, char ret[static PLAN_COPY_TOKEN_MAX + 1]) {
        char n[16];
        const char *fields[] = { policy_name, source_id, dest_region, dest_account, n };

        /* the first attempt's digest has no attempt number: "" */
        if (attempt == 0)
                n[0] = '\0';
        else
                snprintf(n, sizeof(n), "%u", attempt);

        /* Two differently seeded digests: 128 bits, so that no two copies of a fleet meet. */
        snprintf(ret, PLAN_COPY_TOKEN_MAX + 1, "amirotd-%016" PRIx64 "%016" PRIx64,
                 fnv1a(UINT64_C(0xcbf29ce484222325), fields, ELEMENTSOF(fields)),
                 fnv1a(UINT64_C(0x84222325cbf29ce4), fields, ELEMENTSOF(fields)));
}

static time_t age_key_of(const ec2_image *g) {
        const char *slot = ec2_tags_get(&g->tags, TAG_SLOT);
        time_t t;

        return slot && slot_id_parse(slot, &t) >= 0 ? t : g->creation_date;
}

/* The source id of a copy of region: "REGION/ami-..." → "ami-..."; NULL otherwise. */
static const char *copy_source_of(const ec2_image *g, const char *region) {
        const char *v = ec2_tags_get(&g->tags, TAG_COPY_OF);
        size_t n = strlen(region);

        if (!v || strncmp(v, region, n) != 0 || v[n] != '/' || isempty(v + n + 1))
                return NULL;
        return v + n + 1;
}

static bool policy_image(const policy *p, const ec2_image *g) {
        return g->id && streq_ptr(ec2_tags_get(&g->tags, TAG_POLICY), p->name) &&
                !isempty(ec2_tags_get(&g->tags, TAG_INSTANCE_ID)) && g->state >= 0 &&
                g->state < _EC2_IMAGE_STATE_MAX && g->state != EC2_IMAGE_DEREGISTERED;
}

static entry_kind copy_kind(ec2_image_state s) {
        switch (s) {
        case EC2_IMAGE_AVAILABLE:
                return ENTRY_AVAILABLE;
        case EC2_IMAGE_PENDING:
                return ENTRY_PENDING;
        case EC2_IMAGE_FAILED:
        case EC2_IMAGE_ERROR:
        case EC2_IMAGE_INVALID:
                return ENTRY_FAILED;
        default:
                return ENTRY_OTHER;
        }
}

static int entry_by_source(const void *a, const void *b) {
        const entry *x = a, *y = b;
        int c = strcmp(x->source_id, y->source_id);

        /* a source's failed copies: newest last */
        if (c == 0)
                c = x->image->creation_date < y->image->creation_date ? -1 : x->image->creation_date > y->image->creation_date;
        return c != 0 ? c : strcmp(x->image->id, y->image->id);
}

/* An image listed twice (a page boundary that moved) is planned once. */
static size_t dedup(entry *e, size_t n) {
        size_t w = n > 0;

        for (size_t k = 1; k < n; k++)
                if (!streq(e[k].image->id, e[w - 1].image->id))
                        e[w++] = e[k];
        return w;
}

static int key_by_source(const void *key, const void *elem) {
        return strcmp(key, ((const entry *) elem)->source_id);
}

unsigned plan_copy_pending(const policy *p, const char *source_region, const ec2_image *copies, size_t n) {
        unsigned pending = 0;

        for (size_t k = 0; k < n; k++)
                if (policy_image(p, &copies[k]) && copies[k].state == EC2_IMAGE_PENDING &&
                    copy_source_of(&copies[k], source_region))
                        pending++;
        return pending;
}

static int collect_copies(copy_ctx *c) {
        const plan_copy_input *in = c->in;

        c->copies = calloc(in->n_copies ?: 1, sizeof(entry));
        if (!c->copies)
                return -ENOMEM;
        for (size_t k = 0; k < in->n_copies; k++) {
                const ec2_image *g = &in->copies[k];
                const char *source_id = copy_source_of(g, in->source_region);

                if (!policy_image(in->policy, g) || !source_id)
                        continue;
                c->copies[c->n_copies++] = (entry) {
                        .image = g,
                        .instance_id = ec2_tags_get(&g->tags, TAG_INSTANCE_ID),
                        .source_id = source_id,
                        .age_key = age_key_of(g),
                        .kind = copy_kind(g->state),
                };
        }
        qsort(c->copies, c->n_copies, sizeof(entry), entry_by_source);
        c->n_copies = dedup(c->copies, c->n_copies);
        c->plan->pending = 0;
        for (size_t k = 0; k < c->n_copies; k++)
                c->plan->pending += c->copies[k].kind == ENTRY_PENDING;
        return 0;
}

/* A source is copied when a copy of it exists that is not failed. */
static bool source_copied(const copy_ctx *c, const char *id) {
        const entry *e = bsearch(id, c->copies, c->n_copies, sizeof(entry), key_by_source);

        if (!e)
                return false;
        while (e > c->copies && streq(e[-1].source_id, id))
                e--;
        for (; e < c->copies + c->n_copies && streq(e->source_id, id); e++)
                if (e->kind != ENTRY_FAILED)
                        return true;
        return false;
}

static int collect_sources(copy_ctx *c) {
        const plan_copy_input *in = c->in;

        c->sources = calloc(in->n_sources ?: 1, sizeof(entry));
        if (!c->sources)
                return -ENOMEM;
        for (size_t k = 0; k < in->n_sources; k++) {
                const ec2_image *g = &in->sources[k];
                time_t t = age_key_of(g);

                if (!policy_image(in->policy, g) || plan_image_is_copy(g) || g->state != EC2_IMAGE_AVAILABLE ||
                    plan_image_released(g, NULL) || t > in->now ||
                    (in->policy->verify.set && verify_image_verdict(in->policy, g) != VERIFY_PASSED &&
                     !strv_contains(in->passed, g->id)))
                        continue;
                c->sources[c->n_sources++] = (entry) {
                        .image = g,
                        .instance_id = ec2_tags_get(&g->tags, TAG_INSTANCE_ID),
                        .source_id = g->id,
                        .age_key = t,
                        /* copied ones are marked: they take no part beyond being looked up */
                        .kind = source_copied(c, g->id) ? ENTRY_OTHER : ENTRY_SOURCE,
                };
        }
        qsort(c->sources, c->n_sources, sizeof(entry), entry_by_source);
        c->n_sources = dedup(c->sources, c->n_sources);
        return 0;
}

/* By instance, newest first. */
static int entry_ptr_by_instance(const void *a, const void *b) {
        const entry *x = *(const entry *const *) a, *y = *(const entry *const *) b;
        int c = strcmp(x->instance_id, y->instance_id);

        if (c != 0)
                return c;
        if (x->age_key != y->age_key)
                return x->age_key > y->age_key ? -1 : 1;
        return strcmp(x->image->id, y->image->id);
}

static int push(copy_ctx *c, plan_copy_kind kind, const entry *e, const char *reason) {
        plan_copy_step *steps = reallocarray(c->plan->steps, c->plan->n + 1, sizeof(plan_copy_step));

        if (!steps)
                return -ENOMEM;
        c->plan->steps = steps;
        steps[c->plan->n] = (plan_copy_step) {
                .kind = kind,
                .image = e->image,
                .instance_id = e->instance_id,
                .age_key = e->age_key,
        };
        if (reason && !(steps[c->plan->n].reason = strdup(reason)))
                return -ENOMEM;
        c->plan->n++;
        return 0;
}

/* The rules over g[0..n) (newest first); pending entries count and stay. */
static int judge(copy_ctx *c, entry **g, size_t n, plan_keep_verdict *ret) {
        _cleanup_(freep) plan_keep_image *img = calloc(n ?: 1, sizeof(plan_keep_image));

        if (!img)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++)
                /* A copy's age is its source's: its slot start, for max_age too. */
                img[k] = (plan_keep_image) {
                        .age_key = g[k]->age_key,
                        .creation_date = g[k]->age_key,
                        .created = g[k]->kind == ENTRY_PENDING,
                };
        return plan_keep(&c->rules, c->in->now, false, img, n, ret);
}

/* One instance's entries g[0..n), newest first: which sources are wanted, which available
 * copies leave (oldest first). */
static int plan_group(copy_ctx *c, entry **g, size_t n) {
        _cleanup_(freep) plan_keep_verdict *v = calloc(n ?: 1, sizeof(plan_keep_verdict));
        _cleanup_(freep) entry **avail = calloc(n ?: 1, sizeof(entry *));
        size_t n_avail = 0;
        int r;

        if (!v || !avail)
                return -ENOMEM;
        r = judge(c, g, n, v);
        if (r < 0)
                return r;
        for (size_t k = 0; k < n; k++) {
                if (g[k]->kind == ENTRY_SOURCE)
                        g[k]->wanted = v[k] == PLAN_KEEP;
                else if (g[k]->kind == ENTRY_AVAILABLE)
                        avail[n_avail++] = g[k];
        }
        r = judge(c, avail, n_avail, v);
        if (r < 0)
                return r;
        for (size_t k = n_avail; k-- > 1;) {
                _cleanup_(freep) char *reason = NULL;

                if (v[k] == PLAN_KEEP)
                        continue;
                if (ec2_dereg_protection_on(avail[k]->image->dereg_protection)) {
                        c->plan->kept_protected++;
                        continue;
                }
                avail[k]->retired = true;
                r = plan_keep_reason(&c->rules, v[k], &reason);
                if (r >= 0)
                        r = push(c, PLAN_COPY_RETIRE, avail[k], reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int plan_groups(copy_ctx *c) {
        _cleanup_(freep) entry **all = calloc(c->n_copies + c->n_sources + 1, sizeof(entry *));
        size_t n = 0;
        int r;

        if (!all)
                return -ENOMEM;
        for (size_t k = 0; k < c->n_copies; k++)
                if (c->copies[k].kind == ENTRY_AVAILABLE || c->copies[k].kind == ENTRY_PENDING)
                        all[n++] = &c->copies[k];
        for (size_t k = 0; k < c->n_sources; k++)
                if (c->sources[k].kind == ENTRY_SOURCE)
                        all[n++] = &c->sources[k];
        qsort(all, n, sizeof(entry *), entry_ptr_by_instance);
        for (size_t s = 0, e; s < n; s = e) {
                for (e = s + 1; e < n && streq(all[e]->instance_id, all[s]->instance_id); e++)
                        ;
                r = plan_group(c, all + s, e - s);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Failed copies are garbage, and hold their names: they go before any copy starts. */
static int retire_failed(copy_ctx *c) {
        int r;

        for (size_t k = 0; k < c->n_copies; k++) {
                if (c->copies[k].kind != ENTRY_FAILED)
                        continue;
                r = push(c, PLAN_COPY_RETIRE, &c->copies[k], "failed");
                if (r < 0)
                        return r;
        }
        return 0;
}

static int deprecate_copies(copy_ctx *c) {
        uint64_t after = c->in->dest->deprecate_after;
        int r;

        if (after == 0)
                return 0;
        for (size_t k = 0; k < c->n_copies; k++) {
                const entry *e = &c->copies[k];
                time_t at = e->image->creation_date > 0 ? e->image->creation_date + (time_t) after : c->in->now;

                if ((e->kind != ENTRY_AVAILABLE && e->kind != ENTRY_PENDING) || e->retired ||
                    e->image->deprecation_minute != 0 || ec2_tags_get(&e->image->tags, TAG_DEPRECATION))
                        continue;
                r = push(c, PLAN_COPY_DEPRECATE, e, NULL);
                if (r < 0)
                        return r;
                c->plan->steps[c->plan->n - 1].deprecate_at = MAX(at, plan_deprecate_floor(c->in->now));
        }
        return 0;
}

static int entry_ptr_newest_first(const void *a, const void *b) {
        const entry *x = *(const entry *const *) a, *y = *(const entry *const *) b;

        if (x->age_key != y->age_key)
                return x->age_key > y->age_key ? -1 : 1;
        return strcmp(x->image->id, y->image->id);
}

/* The wanted sources, newest first, as many as copy_slots allows. */
static int start_copies(copy_ctx *c) {
        _cleanup_(freep) entry **wanted = calloc(c->n_sources + 1, sizeof(entry *));
        size_t n = 0;
        int r;

        if (!wanted)
                return -ENOMEM;
        for (size_t k = 0; k < c->n_sources; k++)
                if (c->sources[k].kind == ENTRY_SOURCE && c->sources[k].wanted)
                        wanted[n++] = &c->sources[k];
        qsort(wanted, n, sizeof(entry *), entry_ptr_newest_first);
        for (size_t k = 0; k < n; k++) {
                if (k >= c->in->copy_slots) {
                        c->plan->deferred = (unsigned) (n - k);
                        break;
                }
                r = push(c, PLAN_COPY_START, wanted[k], NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

int plan_copy_build(const plan_copy_input *in, plan_copy *ret) {
        _cleanup_(plan_copy_done) plan_copy p = {};
        copy_ctx c = { .in = in, .plan = &p };
        int r;

        if (!in || !in->policy || !in->dest || isempty(in->source_region) || !ret ||
            (in->n_sources > 0 && !in->sources) || (in->n_copies > 0 && !in->copies))
                return -EINVAL;
        plan_copy_rules(in->policy, in->dest, &c.rules);
        r = collect_copies(&c);
        if (r >= 0)
                r = collect_sources(&c);
        if (r >= 0)
                r = plan_groups(&c);
        if (r >= 0)
                r = retire_failed(&c);
        if (r >= 0)
                r = deprecate_copies(&c);
        if (r >= 0)
                r = start_copies(&c);
        free(c.copies);
        free(c.sources);
        if (r < 0)
                return r;
        *ret = p;
        p = (plan_copy) {};
        return 0;
}
