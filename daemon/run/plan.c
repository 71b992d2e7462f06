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
 * The engine therefore creates, waits for `available`, lists and plans again,
 * and the second plan retires what the new images have pushed out.
 */
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

#include "run/plan.h"

/* CreateImage, Description: "Constraints: Up to 255 characters". */
#define IMAGE_DESCRIPTION_MAX 255

static const char *const plan_action_kind_table[_PLAN_ACTION_KIND_MAX] = {
        [PLAN_CREATE] = "create",
        [PLAN_RETIRE] = "retire",
        [PLAN_DELETE_SNAPSHOT] = "sweep",
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

void plan_action_done(plan_action *a) {
        free(a->instance_id);
        free(a->slot);
        free(a->image_name);
        free(a->description);
        ec2_tags_done(&a->image_tags);
        ec2_tags_done(&a->snapshot_tags);
        free(a->image_id);
        strv_free(a->snapshot_ids);
        free(a->reason);
        *a = (plan_action) {};
}

void plan_done(plan *p) {
        if (!p)
                return;
        for (size_t k = 0; k < p->n; k++)
                plan_action_done(&p->actions[k]);
        free(p->actions);
        *p = (plan) {};
}

/* ---- Templates ------------------------------------------------------------------------- */

/* The value of an instance's tag; the Name tag may also come as ec2_instance.name. */
static const char *instance_tag(const ec2_instance *i, const char *key) {
        const char *v = ec2_tags_get(&i->tags, key);

        if (!v && streq(key, "Name"))
                v = i->name;
        return v;
}

/* {instance_name}: the Name tag, or the instance id when it has none. */
static const char *instance_display_name(const ec2_instance *i) {
        const char *n;

        if (!i)
                return NULL;
        n = instance_tag(i, "Name");
        return isempty(n) ? i->id : n;
}

static int render(const char *template, const policy *p, const char *region, const ec2_instance *i,
                  const char *instance_name, const char *slot, char **ret) {
        const struct {
                const char *placeholder;
                const char *value;
        } vars[] = {
                { "{policy}",        p->name },
                { "{instance_id}",   i ? i->id : NULL },
                { "{instance_name}", instance_name },
                { "{slot}",          slot },
                { "{region}",        region },
        };
        strbuf b = {};
        int r = 0;

        for (const char *s = template; *s && r >= 0;) {
                size_t k;

                for (k = 0; k < ELEMENTSOF(vars); k++)
                        if (startswith(s, vars[k].placeholder))
                                break;
                if (k < ELEMENTSOF(vars)) {
                        r = strbuf_puts(&b, vars[k].value ?: "");
                        s += strlen(vars[k].placeholder);
                } else
                        /* Config validation rejects unknown placeholders; here they stay as written. */
                        r = strbuf_append(&b, s++, 1);
        }
        if (r < 0) {
                strbuf_done(&b);
                return r;
        }
        *ret = strbuf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}

int plan_render_template(const char *template, const policy *p, const char *region,
                         const ec2_instance *i, const char *slot, char **ret) {
        if (!template || !p || !ret)
                return -EINVAL;
        return render(template, p, region, i, instance_display_name(i), slot, ret);
}

static bool image_name_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                (c != '\0' && strchr("()[] ./-'@_", c));
}

/* Replaces each character EC2 rejects in an AMI name by '-', one per character
 * (the continuation bytes of a UTF-8 sequence are dropped), in place. */
static void image_name_sanitize(char *s) {
        bool in_sequence = false;
        char *w = s;

        for (const char *r = s; *r; r++) {
                unsigned char c = (unsigned char) *r;

                if (in_sequence && (c & 0xC0) == 0x80)
                        continue;
                in_sequence = c & 0x80;
                *w++ = image_name_char_ok(*r) ? *r : '-';
        }
        *w = 0;
}

static size_t count_occurrences(const char *s, const char *needle) {
        size_t n = 0;

        for (const char *p = strstr(s, needle); p; p = strstr(p + strlen(needle), needle))
                n++;
        return n;
}

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static void truncate_utf8(char *s, size_t max) {
        size_t n = strlen(s);

        if (n <= max)
                return;
        n = max;
        while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
                n--;
        s[n] = 0;
}

int plan_render_image_name(const policy *p, const char *region, const ec2_instance *i,
                           const char *slot, char **ret) {
        _cleanup_(freep) char *name = NULL, *short_name = NULL;
        const char *template, *display;
        size_t len, n;
        int r;

        if (!p || !ret)
                return -EINVAL;

        template = p->name_template ?: POLICY_DEFAULT_NAME_TEMPLATE;
        display = instance_display_name(i);
        r = render(template, p, region, i, display, slot, &name);
        if (r < 0)
                return r;
        image_name_sanitize(name);

        /* A name cut at its end could lose the slot and so collide with the next slot's
         * name, which CreateImage would answer with InvalidAMIName.Duplicate forever.
         * The free text of a long Name tag gives way first; a hard cut is the last
         * resort, for a template whose fixed text alone is too long. */
        len = strlen(name);
        n = count_occurrences(template, "{instance_name}");
        if (len > EC2_IMAGE_NAME_MAX && n > 0 && display) {
                size_t l, cut;

                short_name = strdup(display);
                if (!short_name)
                        return -ENOMEM;
                image_name_sanitize(short_name);
                l = strlen(short_name);
                cut = (len - EC2_IMAGE_NAME_MAX + n - 1) / n;
                short_name[cut < l ? l - cut : 0] = 0;

                name = mfree(name);
                r = render(template, p, region, i, short_name, slot, &name);
                if (r < 0)
                        return r;
                image_name_sanitize(name);
        }
        truncate_utf8(name, EC2_IMAGE_NAME_MAX);

        *ret = TAKE_PTR(name);
        return 0;
}

/* ---- Selection ------------------------------------------------------------------------- */

static bool tag_selector_matches(const tag_selector *s, const ec2_instance *i) {
        const char *v = instance_tag(i, s->key);

        return v && (!s->value || streq(v, s->value));
}

static bool instance_selected(const policy *p, const ec2_instance *i) {
        if (!i->id || i->state < 0 || i->state >= _EC2_INSTANCE_STATE_MAX ||
            !(p->states & (1u << i->state)))
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

/* States in which the image holds its name and its slot: a CreateImage for the slot
 * would be a duplicate. Disabled images (DisableImage) were set aside by a person
 * and are left alone. */
static bool image_state_occupies_slot(ec2_image_state s) {
        return s == EC2_IMAGE_PENDING || s == EC2_IMAGE_TRANSIENT || s == EC2_IMAGE_AVAILABLE ||
                s == EC2_IMAGE_DISABLED;
}

/* Garbage: EC2 will never make these available. */
static bool image_state_is_failed(ec2_image_state s) {
        return s == EC2_IMAGE_FAILED || s == EC2_IMAGE_ERROR || s == EC2_IMAGE_INVALID;
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
        plan_action *a;

        if (c->plan->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 16;

                a = reallocarray(c->plan->actions, cap, sizeof(plan_action));
                if (!a)
                        return -ENOMEM;
                c->plan->actions = a;
                c->cap = cap;
        }
        a = &c->plan->actions[c->plan->n++];
        *a = (plan_action) { .kind = kind, .image_state = _EC2_IMAGE_STATE_INVALID };
        a->instance_id = strdup(instance_id);
        if (!a->instance_id)
                return -ENOMEM;
        *ret = a;
        return 0;
}

static int retire(plan_ctx *c, const managed_image *m, const char *reason) {
        plan_action *a;
        int r;

        r = plan_push(c, PLAN_RETIRE, m->instance_id, &a);
        if (r < 0)
                return r;
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
 * (rule 1: they are how a later run recognises what it made), then the policy's, then
 * the instance's when asked, which never include the reserved aws: prefix ("Tag keys
 * ... can't start with aws:"), give way to the policy's and stop at EC2's limit. */
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

                if (startswith(g->key, "amirotd:"))
                        continue;
                r = ec2_tags_add(t, g->key, g->value ?: "");
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
        a->slot = strdup(c->slot);
        if (!a->slot)
                return -ENOMEM;
        if (p->description_template) {
                r = plan_render_template(p->description_template, p, c->in->region, i, c->slot,
                                         &a->description);
                if (r < 0)
                        return r;
                truncate_utf8(a->description, IMAGE_DESCRIPTION_MAX);
        }
        r = create_tags(c, i, &a->image_tags);
        if (r < 0)
                return r;
        return ec2_tags_copy(&a->image_tags, &a->snapshot_tags);
}

/* Whether the current slot already has an image of this instance that is, or may
 * still become, good: by its slot tag, or by its name (a second daemon, or a run that
 * crashed before its tags were read back). */
static bool slot_taken(const plan_ctx *c, const managed_image *m, size_t n, const char *name) {
        managed_image **found;

        for (size_t k = 0; k < n; k++)
                if (streq_ptr(m[k].slot, c->slot) && image_state_occupies_slot(m[k].image->state))
                        return true;

        found = bsearch(name, c->by_name, c->n_by_name, sizeof(managed_image *), name_key_compare);
        if (!found)
                return false;
        /* Equal names are adjacent; any of them in a live state takes the slot. */
        while (found > c->by_name && streq(found[-1]->image->name, name))
                found--;
        for (; found < c->by_name + c->n_by_name && streq((*found)->image->name, name); found++)
                if (image_state_occupies_slot((*found)->image->state))
                        return true;
        return false;
}

/* One instance id: its selected instance (NULL when the instance is gone or no longer
 * selected) and its managed images m[0..n), newest first. */
static int plan_instance(plan_ctx *c, const ec2_instance *i, const managed_image *m, size_t n) {
        const policy *p = c->policy;
        _cleanup_(freep) const char **why = NULL;
        _cleanup_(freep) char *count_reason = NULL, *age_reason = NULL;
        char age[DURATION_MAX];
        size_t kept = 0;
        int r;

        /* Failed images first, oldest first. EC2 keeps the name of a failed image
         * registered until it is deregistered, so when the current slot's attempt
         * failed, its retirement must come before the CREATE that reuses the name. */
        for (size_t k = n; k > 0; k--)
                if (image_state_is_failed(m[k - 1].image->state)) {
                        r = retire(c, &m[k - 1], "failed");
                        if (r < 0)
                                return r;
                }

        if (i) {
                _cleanup_(freep) char *name = NULL;

                r = plan_render_image_name(p, c->in->region, i, c->slot, &name);
                if (r < 0)
                        return r;
                if (!slot_taken(c, m, n, name)) {
                        r = create(c, i, TAKE_PTR(name));
                        if (r < 0)
                                return r;
                }
        }

        /* Retention over available images only (rule 5). This applies as well to an
         * instance that left the fleet or was terminated: its images age out like the
         * others, but its newest available image is never retired, so the last good
         * image of a retired machine stays until an operator removes it. */
        if (n == 0)
                return 0;
        why = calloc(n, sizeof(const char *));
        if (asprintf(&count_reason, "beyond retain.count %u", p->retain_count) < 0)
                count_reason = NULL;
        format_duration(p->retain_max_age, age);
        if (asprintf(&age_reason, "older than max_age %s", age) < 0)
                age_reason = NULL;
        if (!why || !count_reason || !age_reason)
                return -ENOMEM;

        for (size_t k = 0; k < n; k++) {
                const ec2_image *g = m[k].image;

                if (g->state != EC2_IMAGE_AVAILABLE)
                        continue;
                if (kept == 0)
                        /* Whatever the rules say, the newest good image stays. */
                        kept++;
                else if (kept >= p->retain_count)
                        why[k] = count_reason;
                else if (p->retain_max_age > 0 && g->creation_date > 0 && g->creation_date < c->in->now &&
                         (uint64_t) (c->in->now - g->creation_date) > p->retain_max_age)
                        why[k] = age_reason;
                else
                        kept++;
        }

        /* Oldest first: should a run stop half-way, the newest images are still there. */
        for (size_t k = n; k > 0; k--)
                if (why[k - 1]) {
                        r = retire(c, &m[k - 1], why[k - 1]);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static bool snapshot_referenced(const plan_input *in, const char *id) {
        for (size_t k = 0; k < in->n_images; k++) {
                const ec2_image *g = &in->images[k];

                if (g->state == EC2_IMAGE_DEREGISTERED)
                        continue;
                for (size_t d = 0; d < g->n_devices; d++)
                        if (streq_ptr(g->devices[d].snapshot_id, id))
                                return true;
        }
        return false;
}

/* Whether a managed image of the same instance and slot still exists: then the
 * snapshot is its, listed or not, and leaves with it. */
static bool snapshot_has_image(const managed_image *m, size_t n, const char *instance_id, const char *slot) {
        for (size_t k = 0; k < n; k++)
                if (streq_ptr(m[k].instance_id, instance_id) && streq_ptr(m[k].slot, slot))
                        return true;
        return false;
}

static int sweep(plan_ctx *c, const managed_image *m, size_t n) {
        const plan_input *in = c->in;

        for (size_t k = 0; k < in->n_snapshots; k++) {
                const ec2_snapshot *s = &in->snapshots[k];
                const char *instance_id = ec2_tags_get(&s->tags, TAG_INSTANCE_ID);
                const char *slot = ec2_tags_get(&s->tags, TAG_SLOT);
                plan_action *a;
                int r;

                if (!s->id || !streq_ptr(ec2_tags_get(&s->tags, TAG_POLICY), c->policy->name) ||
                    (s->state != EC2_SNAPSHOT_COMPLETED && s->state != EC2_SNAPSHOT_ERROR) ||
                    s->start_time <= 0 || s->start_time > in->now - PLAN_SNAPSHOT_GRACE ||
                    snapshot_referenced(in, s->id) || snapshot_has_image(m, n, instance_id, slot))
                        continue;

                r = plan_push(c, PLAN_DELETE_SNAPSHOT, instance_id ?: "-", &a);
                if (r < 0)
                        return r;
                if (strdup_or_null(slot, &a->slot) < 0 ||
                    strv_extend(&a->snapshot_ids, s->id) < 0 ||
                    !(a->reason = strdup("orphaned: no image uses it")))
                        return -ENOMEM;
        }
        return 0;
}

int plan_build(const plan_input *in, plan *ret) {
        _cleanup_(freep) const ec2_instance **selected = NULL;
        _cleanup_(freep) managed_image *managed = NULL;
        _cleanup_(freep) managed_image **by_name = NULL;
        _cleanup_(plan_done) plan p = {};
        size_t n_selected = 0, n_managed = 0, n_by_name = 0, a = 0, b = 0;
        const policy *pol;
        time_t slot_start;
        plan_ctx c;
        int r;

        if (!in || !in->policy || !in->policy->name || !ret ||
            (in->n_instances > 0 && !in->instances) || (in->n_images > 0 && !in->images) ||
            (in->n_snapshots > 0 && !in->snapshots))
                return -EINVAL;
        pol = in->policy;

        r = schedule_slot_at(&pol->schedule, in->now, &slot_start);
        if (r < 0)
                return r;

        selected = calloc(in->n_instances ?: 1, sizeof(ec2_instance *));
        managed = calloc(in->n_images ?: 1, sizeof(managed_image));
        by_name = calloc(in->n_images ?: 1, sizeof(managed_image *));
        if (!selected || !managed || !by_name)
                return -ENOMEM;

        for (size_t k = 0; k < in->n_instances; k++)
                if (instance_selected(pol, &in->instances[k]))
                        selected[n_selected++] = &in->instances[k];
        qsort(selected, n_selected, sizeof(ec2_instance *), instance_ptr_compare);

        for (size_t k = 0; k < in->n_images; k++) {
                const ec2_image *g = &in->images[k];
                const char *owner = ec2_tags_get(&g->tags, TAG_POLICY);
                const char *instance_id = ec2_tags_get(&g->tags, TAG_INSTANCE_ID);
                const char *slot = ec2_tags_get(&g->tags, TAG_SLOT);
                time_t t;

                /* Rule 2: what this policy did not tag is not ours, whatever it is called.
                 * amirotd tags every image with its instance id at creation; one without
                 * cannot be attributed to an instance, so retention cannot judge it and it
                 * is left alone. An image in a state this build does not know is, too. */
                if (!g->id || !owner || !streq(owner, pol->name) || isempty(instance_id) ||
                    g->state < 0 || g->state >= _EC2_IMAGE_STATE_MAX || g->state == EC2_IMAGE_DEREGISTERED)
                        continue;
                if (!slot || slot_id_parse(slot, &t) < 0)
                        t = g->creation_date;
                managed[n_managed++] = (managed_image) {
                        .image = g,
                        .instance_id = instance_id,
                        .slot = slot,
                        .age_key = t,
                };
        }
        qsort(managed, n_managed, sizeof(managed_image), managed_image_compare);

        /* An image listed twice (a page boundary that moved) is planned once. */
        if (n_managed > 1) {
                size_t w = 1;

                for (size_t k = 1; k < n_managed; k++)
                        if (!streq(managed[k].image->id, managed[w - 1].image->id))
                                managed[w++] = managed[k];
                n_managed = w;
        }

        for (size_t k = 0; k < n_managed; k++)
                if (managed[k].image->name)
                        by_name[n_by_name++] = &managed[k];
        qsort(by_name, n_by_name, sizeof(managed_image *), name_ptr_compare);

        c = (plan_ctx) {
                .in = in,
                .policy = pol,
                .by_name = by_name,
                .n_by_name = n_by_name,
                .plan = &p,
        };
        slot_id_format(slot_start, c.slot);

        /* Walk the selected instances and the managed images' instance ids together, in
         * id order, so the plan's order depends on nothing but its input. */
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

                r = plan_instance(&c, i, managed + b, e - b);
                if (r < 0)
                        return r;
                b = e;
        }

        r = sweep(&c, managed, n_managed);
        if (r < 0)
                return r;

        *ret = p;
        p = (plan) {};
        return 0;
}
