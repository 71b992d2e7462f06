/* SPDX-License-Identifier: MIT */
/*
 * Deregistration protection (protect.newest), part of the pure planner (plan.h).
 * "When deregistration protection is enabled, the AMI can't be deregistered"
 * (EnableImageDeregistrationProtection): neither by amirotd nor by a person, so the
 * images a fleet launches from stay. Protection follows the rotation: each selected
 * instance's newest protect.newest available images have it, the others lose it.
 *
 * amirotd turns off only what it turned on. Its mark is the tag amirotd:protected,
 * written before protection is turned on and removed after it is turned off, so that
 * a crash between the two calls leaves a marked image: one without protection is
 * protected again, or untagged, by the next run; never a protection nobody owns. An
 * image protected without the mark is someone else's: it is left as it is and never
 * retired.
 *
 * With protect.cooldown, EC2 keeps refusing DeregisterImage for 24 h after protection
 * is turned off, and DescribeImages says "disabled-until ...": the RETIRE waits for a
 * later run rather than earning a refusal.
 */
#include <stdio.h>

#include "run/plan.h"
#include "run/verify-plan.h"

typedef enum protect_op {
        OP_NONE,
        OP_PROTECT,
        OP_UNPROTECT,
} protect_op;

typedef struct protect_image {
        const ec2_image *image;
        const char *instance_id;
        const char *slot;
        time_t age_key;                 /* as retention orders images: slot start, else creation */
        unsigned rank;                  /* among its instance's available images, newest 0 */
        bool keep;                      /* among the newest protect.newest of a selected instance */
        bool future;                    /* its slot starts after now: retention skips it */
        bool marked;                    /* carries TAG_PROTECTED */
        bool released;                  /* into the retire stages: out of retention, and of its newest */
        verify_verdict verdict;         /* verify: only a passed one takes a place among the newest */
        bool done;                      /* its action is in the plan already */
        protect_op op;
} protect_image;

/* Retention's order (plan.c): by instance, then newest first: slot, creation date, id. */
static int protect_image_compare(const void *a, const void *b) {
        const protect_image *x = a, *y = b;
        int c = strcmp(x->instance_id, y->instance_id);

        if (c != 0)
                return c;
        if (x->age_key != y->age_key)
                return x->age_key > y->age_key ? -1 : 1;
        if (x->image->creation_date != y->image->creation_date)
                return x->image->creation_date > y->image->creation_date ? -1 : 1;
        return -strcmp(x->image->id, y->image->id);
}

static int protect_image_ptr_by_id(const void *a, const void *b) {
        return strcmp((*(protect_image *const *) a)->image->id, (*(protect_image *const *) b)->image->id);
}

static int id_key_compare(const void *key, const void *elem) {
        return strcmp(key, (*(protect_image *const *) elem)->image->id);
}

/* The policy's images, in retention's order, each once. */
static int collect(const plan_input *in, protect_image **ret, size_t *ret_n) {
        _cleanup_(freep) const char **passed = NULL;
        protect_image *v;
        size_t n = 0, n_passed;

        if (plan_ids_sorted(in->passed, &passed, &n_passed) < 0)
                return -ENOMEM;
        v = calloc(in->n_images ?: 1, sizeof(protect_image));
        if (!v)
                return -ENOMEM;
        for (size_t k = 0; k < in->n_images; k++) {
                const ec2_image *g = &in->images[k];
                const char *instance_id = ec2_tags_get(&g->tags, TAG_INSTANCE_ID);
                const char *slot = ec2_tags_get(&g->tags, TAG_SLOT);
                bool future = false;
                time_t t;

                if (!g->id || !streq_ptr(ec2_tags_get(&g->tags, TAG_POLICY), in->policy->name) ||
                    isempty(instance_id) || g->state < 0 || g->state >= _EC2_IMAGE_STATE_MAX ||
                    g->state == EC2_IMAGE_DEREGISTERED || plan_image_is_copy(g))
                        continue;
                if (!slot || slot_id_parse(slot, &t) < 0)
                        t = g->creation_date;
                else
                        future = t > in->now;
                v[n++] = (protect_image) {
                        .image = g,
                        .instance_id = instance_id,
                        .slot = slot,
                        .age_key = t,
                        .future = future,
                        .marked = ec2_tags_get(&g->tags, TAG_PROTECTED) != NULL,
                        .released = plan_image_released(g, NULL),
                        .verdict = verify_plan_verdict(in->policy, g, passed, n_passed),
                };
        }
        qsort(v, n, sizeof(protect_image), protect_image_compare);
        if (n > 1) {
                size_t w = 1;

                for (size_t k = 1; k < n; k++)
                        if (!streq(v[k].image->id, v[w - 1].image->id))
                                v[w++] = v[k];
                n = w;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Sorted ids, looked up in O(log n): at fleet scale a run holds 14 000 instances. */
typedef struct id_set {
        const char **ids;
        size_t n;
} id_set;

static bool id_set_contains(const id_set *s, const char *id) {
        return id && bsearch(&id, s->ids, s->n, sizeof(char *), str_ptr_compare);
}

/* The instances the policy selects, the images the run created, the instances the plan
 * creates an image of. */
typedef struct protect_sets {
        id_set selected, created, creating;
} protect_sets;

static void protect_sets_done(protect_sets *s) {
        free(s->selected.ids);
        free(s->created.ids);
        free(s->creating.ids);
}

static int protect_sets_build(const plan_input *in, const ec2_instance *const *selected, size_t n_selected,
                              const plan *p, protect_sets *ret) {
        size_t n_created = strv_length(in->created);
        protect_sets s = {
                .selected.ids = calloc(n_selected + 1, sizeof(char *)),
                .created.ids = calloc(n_created + 1, sizeof(char *)),
                .creating.ids = calloc(p->n + 1, sizeof(char *)),
        };

        if (!s.selected.ids || !s.created.ids || !s.creating.ids) {
                protect_sets_done(&s);
                return -ENOMEM;
        }
        for (size_t k = 0; k < n_selected; k++)
                s.selected.ids[s.selected.n++] = selected[k]->id;
        for (size_t k = 0; k < n_created; k++)
                s.created.ids[s.created.n++] = in->created[k];
        for (size_t k = 0; k < p->n; k++)
                if (p->actions[k].kind == PLAN_CREATE)
                        s.creating.ids[s.creating.n++] = p->actions[k].instance_id;
        qsort(s.selected.ids, s.selected.n, sizeof(char *), str_ptr_compare);
        qsort(s.created.ids, s.created.n, sizeof(char *), str_ptr_compare);
        qsort(s.creating.ids, s.creating.n, sizeof(char *), str_ptr_compare);
        *ret = s;
        return 0;
}

/* Whether the policy protects the newest images of g's instance: it selects the instance,
 * or the run made an image of it (a plan of plan_retire_ready() lists no instances). */
static bool instance_covered(const protect_sets *s, const protect_image *g, size_t n) {
        if (id_set_contains(&s->selected, g[0].instance_id))
                return true;
        for (size_t k = 0; k < n; k++)
                if (id_set_contains(&s->created, g[k].image->id))
                        return true;
        return false;
}

/* The verdict on each image of one instance, g[0..n) newest first. A new image on its
 * way takes the first of the newest places (plan.h); with verify, only once it passed,
 * and so never in anticipation: it may fail. */
static void judge_instance(const plan_input *in, const protect_sets *s, protect_image *g, size_t n) {
        const policy *pol = in->policy;
        bool covered = pol->protect_newest > 0 && instance_covered(s, g, n);
        unsigned coming = covered && !pol->verify.set && id_set_contains(&s->creating, g[0].instance_id) ? 1 : 0;
        unsigned rank = 0;

        for (size_t k = 0; k < n; k++) {
                protect_image *m = &g[k];
                ec2_dereg_protection d = m->image->dereg_protection;
                bool on = ec2_dereg_protection_on(d), want;

                /* Retention's available images: of a slot that has begun, not released, passed
                 * with verify (plan.h). */
                if (m->image->state == EC2_IMAGE_AVAILABLE && !m->future && !m->released &&
                    m->verdict == VERIFY_UNVERIFIED) {
                        /* Not judged yet: neither a place nor the loss of its protection (the
                         * images protected before verify was turned on stay so). */
                        m->keep = m->marked;
                        want = false;
                } else if (m->image->state == EC2_IMAGE_AVAILABLE && !m->future && !m->released &&
                           m->verdict != VERIFY_FAILED) {
                        m->rank = rank++;
                        m->keep = covered && m->rank < pol->protect_newest;
                        want = m->keep && m->rank + coming < pol->protect_newest;
                } else
                        want = false;

                if (want && (!on || (m->marked && (d == EC2_DEREG_PROTECTION_ENABLED_COOLDOWN) !=
                                                  pol->protect_newest_cooldown)))
                        /* Off, or amirotd's with the other cooldown setting: (again) as configured. */
                        m->op = OP_PROTECT;
                else if (!m->keep && m->marked)
                        m->op = OP_UNPROTECT;
        }
}

/* A PROTECT or UNPROTECT holds these strings only. */
static void protect_action_free(plan_action *a) {
        free(a->instance_id);
        free(a->image_id);
        free(a->slot);
        free(a->reason);
        *a = (plan_action) {};
}

static int protect_action(const plan_input *in, const protect_image *m, bool tag_only, plan_action *ret) {
        const policy *pol = in->policy;
        plan_action a = {
                .kind = m->op == OP_PROTECT ? PLAN_PROTECT : PLAN_UNPROTECT,
                .image_state = m->image->state,
                .with_cooldown = pol->protect_newest_cooldown,
                .tag_only = tag_only,
                .age_key = m->age_key,
        };
        int r;

        a.instance_id = strdup(m->instance_id);
        a.image_id = strdup(m->image->id);
        r = strdup_or_null(m->slot, &a.slot);
        if (r >= 0 && a.kind == PLAN_PROTECT)
                r = asprintf(&a.reason, "newest %u of %s", pol->protect_newest, m->instance_id);
        else if (r >= 0 && !m->keep && pol->protect_newest > 0)
                r = asprintf(&a.reason, "no longer among the newest %u", pol->protect_newest);
        else if (r >= 0)
                a.reason = strdup("protect.newest is off");
        if (r < 0 || !a.instance_id || !a.image_id || !a.reason) {
                protect_action_free(&a);
                return -ENOMEM;
        }
        *ret = a;
        return 0;
}

/* Why a RETIRE of m cannot go now (NULL: it can); *ret_unprotect: amirotd's protection
 * is to be turned off first, in the same chain. */
static const char *retire_blocked(const plan_input *in, const protect_image *m, bool *ret_unprotect) {
        ec2_dereg_protection d = m->image->dereg_protection;

        *ret_unprotect = false;
        if (m->keep)
                return "among the newest images under deregistration protection (protect.newest)";
        if (ec2_dereg_protection_on(d) && !m->marked)
                return "deregistration protection turned on by someone else";
        if (d == EC2_DEREG_PROTECTION_COOLDOWN)
                return "deregistration protection is in its 24 h cooldown";
        if (ec2_dereg_protection_on(d)) {
                *ret_unprotect = true;
                if (d == EC2_DEREG_PROTECTION_ENABLED_COOLDOWN)
                        return "deregistration protection turned off now; its 24 h cooldown keeps the image until then";
        }
        (void) in;
        return NULL;
}

typedef struct protect_ctx {
        const plan_input *in;
        protect_image *images;
        size_t n_images;
        protect_image **by_id;
        plan_action *out;               /* the new actions */
        bool *fresh;                    /* out[k] is new here (freed on failure) */
        size_t n_out;
        plan_skipped_image *skipped;
        size_t n_skipped;
        bool *dropped;                  /* of p->actions: moved to skipped */
} protect_ctx;

static int emit_new(protect_ctx *c, protect_image *m, bool tag_only) {
        int r = protect_action(c->in, m, tag_only, &c->out[c->n_out]);

        if (r < 0)
                return r;
        c->fresh[c->n_out++] = true;
        m->done = true;
        return 0;
}

static int skip(protect_ctx *c, const plan_action *a, const char *reason) {
        plan_skipped_image *s = &c->skipped[c->n_skipped++];

        *s = (plan_skipped_image) {
                .instance_id = strdup(a->instance_id),
                .image_id = strdup(a->image_id),
                .reason = strdup(reason),
        };
        if (!s->instance_id || !s->image_id || !s->reason)
                return -ENOMEM;
        return strdup_or_null(a->slot, &s->slot);
}

/* One action of the plan, with the UNPROTECT its RETIRE needs before it, or skipped. */
static int emit_existing(protect_ctx *c, const plan_action *a, size_t index) {
        protect_image **found = NULL;
        const char *blocked;
        bool unprotect = false;
        int r;

        if (a->kind == PLAN_RETIRE && a->image_id)
                found = bsearch(a->image_id, c->by_id, c->n_images, sizeof(protect_image *), id_key_compare);
        if (found) {
                protect_image *m = *found;

                blocked = retire_blocked(c->in, m, &unprotect);
                if (unprotect) {
                        m->op = OP_UNPROTECT;
                        r = emit_new(c, m, false);
                        if (r < 0)
                                return r;
                }
                if (blocked) {
                        c->dropped[index] = true;
                        return skip(c, a, blocked);
                }
                m->done = true; /* a marked image without protection goes as it is */
        }
        c->out[c->n_out] = *a;
        c->fresh[c->n_out++] = false;
        return 0;
}

/* The PROTECTs of one instance's images, then its UNPROTECTs: never fewer protected between. */
static int emit_instance(protect_ctx *c, protect_image *g, size_t n) {
        int r;

        for (protect_op op = OP_PROTECT; op <= OP_UNPROTECT; op++)
                for (size_t k = 0; k < n; k++)
                        if (g[k].op == op && !g[k].done) {
                                r = emit_new(c, &g[k], op == OP_UNPROTECT &&
                                             !ec2_dereg_protection_on(g[k].image->dereg_protection));
                                if (r < 0)
                                        return r;
                        }
        return 0;
}

/* Walks the plan's actions (grouped by instance, in id order) and the images together. */
static int merge(protect_ctx *c, const plan *p) {
        size_t a = 0, b = 0;
        int r;

        while (a < p->n || b < c->n_images) {
                const char *id;
                size_t e;

                if (b >= c->n_images || (a < p->n && strcmp(p->actions[a].instance_id, c->images[b].instance_id) <= 0))
                        id = p->actions[a].instance_id;
                else
                        id = c->images[b].instance_id;
                for (e = b; e < c->n_images && streq(c->images[e].instance_id, id); e++)
                        ;
                for (; a < p->n && streq(p->actions[a].instance_id, id); a++) {
                        r = emit_existing(c, &p->actions[a], a);
                        if (r < 0)
                                return r;
                }
                r = emit_instance(c, c->images + b, e - b);
                if (r < 0)
                        return r;
                b = e;
        }
        return 0;
}

static void protect_ctx_fail(protect_ctx *c) {
        plan skipped = { .skipped = c->skipped, .n_skipped = c->n_skipped };

        for (size_t k = 0; k < c->n_out; k++)
                if (c->fresh[k])
                        protect_action_free(&c->out[k]);
        plan_skipped_done(&skipped);
        c->skipped = NULL;
}

static int commit(protect_ctx *c, plan *p) {
        plan_skipped_image *s;

        s = reallocarray(p->skipped, p->n_skipped + c->n_skipped ?: 1, sizeof(plan_skipped_image));
        if (!s)
                return -ENOMEM;
        p->skipped = s;
        memcpy(p->skipped + p->n_skipped, c->skipped, c->n_skipped * sizeof(plan_skipped_image));
        p->n_skipped += c->n_skipped;
        c->n_skipped = 0;
        /* A RETIRE skipped gives its ids to its plan_skipped_image (copied in skip()) and
         * holds nothing else than these (as plan-bound.c's held ones). */
        for (size_t k = 0; k < p->n; k++)
                if (c->dropped[k]) {
                        plan_action *a = &p->actions[k];

                        free(a->instance_id);
                        free(a->image_id);
                        free(a->slot);
                        free(a->reason);
                        strv_free(a->snapshot_ids);
                }
        free(p->actions);
        p->actions = TAKE_PTR(c->out);
        p->n = c->n_out;
        return 0;
}

/* Without protect.newest, a policy none of whose images is protected, in its cooldown or
 * marked has nothing to do here (the common case, at any scale). */
/* Whether anything here is protect's business: protect.newest, or an image of the policy
 * that carries amirotd's mark or has protection (a RETIRE of it may have to wait). A scan
 * before any sorting: most policies have neither. */
static bool protection_matters(const plan_input *in) {
        if (in->policy->protect_newest > 0)
                return true;
        for (size_t k = 0; k < in->n_images; k++) {
                const ec2_image *g = &in->images[k];

                if ((ec2_tags_get(&g->tags, TAG_PROTECTED) || g->dereg_protection != EC2_DEREG_PROTECTION_DISABLED) &&
                    streq_ptr(ec2_tags_get(&g->tags, TAG_POLICY), in->policy->name))
                        return true;
        }
        return false;
}

int plan_protect(const plan_input *in, const ec2_instance *const *selected, size_t n_selected, plan *p) {
        _cleanup_(freep) protect_image *images = NULL;
        _cleanup_(freep) protect_image **by_id = NULL;
        _cleanup_(freep) bool *fresh = NULL, *dropped = NULL;
        _cleanup_(freep) plan_skipped_image *skipped = NULL;
        _cleanup_(freep) plan_action *out = NULL;
        _cleanup_(protect_sets_done) protect_sets sets = {};
        protect_ctx c;
        size_t n;
        int r;

        if (!in || !in->policy || !p || (n_selected > 0 && !selected))
                return -EINVAL;
        if (!protection_matters(in))
                return 0;
        r = collect(in, &images, &n);
        if (r < 0)
                return r;
        r = protect_sets_build(in, selected, n_selected, p, &sets);
        if (r < 0)
                return r;
        by_id = calloc(n ?: 1, sizeof(protect_image *));
        /* At most one new action per image, besides the plan's own. */
        out = calloc(p->n + n + 1, sizeof(plan_action));
        fresh = calloc(p->n + n + 1, sizeof(bool));
        dropped = calloc(p->n + 1, sizeof(bool));
        skipped = calloc(p->n + 1, sizeof(plan_skipped_image));
        if (!by_id || !out || !fresh || !dropped || !skipped)
                return -ENOMEM;
        for (size_t k = 0, e; k < n; k = e) {
                for (e = k; e < n && streq(images[e].instance_id, images[k].instance_id); e++)
                        ;
                judge_instance(in, &sets, images + k, e - k);
        }
        for (size_t k = 0; k < n; k++)
                by_id[k] = &images[k];
        qsort(by_id, n, sizeof(protect_image *), protect_image_ptr_by_id);

        c = (protect_ctx) { .in = in, .images = images, .n_images = n, .by_id = by_id, .out = out,
                            .fresh = fresh, .skipped = skipped, .dropped = dropped };
        r = merge(&c, p);
        if (r >= 0)
                r = commit(&c, p);
        if (r < 0) {
                protect_ctx_fail(&c);
                skipped = NULL;
                return r;
        }
        out = NULL;
        return 0;
}
