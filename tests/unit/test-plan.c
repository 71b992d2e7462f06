/* SPDX-License-Identifier: MIT */
/*
 * The planner's rules, one test each on small hand-built fleets, then the safety
 * invariants over thousands of generated ones: nothing this policy did not tag is
 * ever touched; an instance never loses its newest good images; a plan applied and
 * planned again converges; stepping through slots keeps exactly retain.count images.
 * AMIROTD_TEST_SEED=N replays the generated cases from seed N.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "run/plan.h"

#define DAY (24 * 3600)
/* 2026-11-26T03:00:00Z: the start of the slot in which NOW lies, for `every: 24h at 03:00`. */
#define SLOT0 ((time_t) 1795662000)
#define SLOT(k) (SLOT0 + (time_t) (k) * DAY)
#define NOW (SLOT0 + 3600)
#define SLOT0_ID "20261126T030000Z"

/* ---- Building fleets ------------------------------------------------------------------- */

typedef struct world {
        policy policy;
        ec2_instance *instances;
        size_t n_instances;
        ec2_image *images;
        size_t n_images;
        ec2_snapshot *snapshots;
        size_t n_snapshots;
        plan plan;

        /* Generated fleets: the instance ids the policy must select, and every instance
         * id images may name (those of instances gone or never selected too). */
        char **expect_selected;
        char **instance_ids;
        unsigned next_image;
} world;

static void *grow(void *p, size_t n, size_t size) {
        void *q = reallocarray(p, n + 1, size);

        assert_non_null(q);
        memset((char *) q + n * size, 0, size);
        return q;
}

static char *xstrdup(const char *s) {
        char *c = strdup(s);

        assert_non_null(c);
        return c;
}

static void world_init(world *w, unsigned count) {
        *w = (world) {
                .policy = {
                        .name = xstrdup("web"),
                        .states = (1u << EC2_INSTANCE_RUNNING) | (1u << EC2_INSTANCE_STOPPED),
                        .schedule = { .kind = SCHEDULE_EVERY, .every = DAY, .at = 3 * 3600 },
                        .name_template = xstrdup("{policy}-{instance_id}-{slot}"),
                        .description_template = xstrdup("golden image of {instance_name}"),
                        .retain_count = count,
                        /* Unbounded, as the rules' tests assume; the bound's own tests lower it. */
                        .max_retire_per_run = 100,
                },
        };
}

static void image_free(ec2_image *g) {
        free(g->id);
        free(g->name);
        ec2_tags_done(&g->tags);
        for (size_t d = 0; d < g->n_devices; d++) {
                free(g->devices[d].device_name);
                free(g->devices[d].snapshot_id);
        }
        free(g->devices);
}

static void world_done(world *w) {
        policy *p = &w->policy;

        free(p->name);
        free(p->name_template);
        free(p->description_template);
        ec2_tags_done(&p->image_tags);
        for (size_t k = 0; k < p->n_tags; k++) {
                free(p->tags[k].key);
                free(p->tags[k].value);
        }
        free(p->tags);
        for (size_t k = 0; k < p->n_exclude_tags; k++) {
                free(p->exclude_tags[k].key);
                free(p->exclude_tags[k].value);
        }
        free(p->exclude_tags);

        for (size_t k = 0; k < w->n_instances; k++) {
                free(w->instances[k].id);
                free(w->instances[k].name);
                ec2_tags_done(&w->instances[k].tags);
        }
        free(w->instances);
        for (size_t k = 0; k < w->n_images; k++)
                image_free(&w->images[k]);
        free(w->images);
        for (size_t k = 0; k < w->n_snapshots; k++)
                ec2_snapshot_done(&w->snapshots[k]);
        free(w->snapshots);
        plan_done(&w->plan);
        strv_free(w->expect_selected);
        strv_free(w->instance_ids);
}

/* A target (value NULL: any value) or, with exclude, an exclusion. */
static void policy_select(world *w, bool exclude, const char *key, const char *value) {
        tag_selector **l = exclude ? &w->policy.exclude_tags : &w->policy.tags;
        size_t *n = exclude ? &w->policy.n_exclude_tags : &w->policy.n_tags;

        *l = grow(*l, *n, sizeof(tag_selector));
        (*l)[*n].key = xstrdup(key);
        (*l)[*n].value = value ? xstrdup(value) : NULL;
        (*n)++;
}

/* An instance with tags given as key, value, ..., NULL. */
static ec2_instance *add_instance(world *w, const char *id, ec2_instance_state state, ...) {
        ec2_instance *i;
        const char *k;
        va_list ap;

        w->instances = grow(w->instances, w->n_instances, sizeof(ec2_instance));
        i = &w->instances[w->n_instances++];
        i->id = xstrdup(id);
        i->state = state;
        va_start(ap, state);
        while ((k = va_arg(ap, const char *))) {
                const char *v = va_arg(ap, const char *);

                assert_int_equal(ec2_tags_add(&i->tags, k, v), 0);
        }
        va_end(ap);
        return i;
}

/* An image made for instance_id in slot k by policy owner (NULL: untagged) as amirotd
 * would have tagged it, created ten minutes into its slot. */
static ec2_image *add_image(world *w, const char *id, ec2_image_state state, const char *owner,
                            const char *instance_id, int k) {
        char slot[SLOT_ID_MAX], name[256];
        ec2_image *g;

        slot_id_format(SLOT(k), slot);
        w->images = grow(w->images, w->n_images, sizeof(ec2_image));
        g = &w->images[w->n_images++];
        g->id = xstrdup(id);
        g->state = state;
        g->creation_date = SLOT(k) + 600;
        snprintf(name, sizeof(name), "%s-%s-%s", owner ?: "hand", instance_id, slot);
        g->name = xstrdup(name);
        if (owner) {
                assert_int_equal(ec2_tags_add(&g->tags, TAG_POLICY, owner), 0);
                assert_int_equal(ec2_tags_add(&g->tags, TAG_INSTANCE_ID, instance_id), 0);
                assert_int_equal(ec2_tags_add(&g->tags, TAG_SLOT, slot), 0);
        }
        g->devices = calloc(2, sizeof(ec2_block_device));
        assert_non_null(g->devices);
        g->n_devices = 2;
        g->devices[0].device_name = xstrdup("/dev/xvda");
        snprintf(name, sizeof(name), "snap-%s", id);
        g->devices[0].snapshot_id = xstrdup(name);
        g->devices[1].device_name = xstrdup("ephemeral0");      /* instance store: no snapshot */
        return g;
}

static void world_plan_created(world *w, time_t now, char *const *created) {
        plan_input in = {
                .policy = &w->policy,
                .region = "us-east-1",
                .now = now,
                .instances = w->instances,
                .n_instances = w->n_instances,
                .images = w->images,
                .n_images = w->n_images,
                .snapshots = w->snapshots,
                .n_snapshots = w->n_snapshots,
                .created = created,
        };

        plan_done(&w->plan);
        assert_int_equal(plan_build(&in, &w->plan), 0);
}

/* The run's second plan: after the first (earlier) and its new images (created). */
static void world_plan_second(world *w, time_t now, char *const *created, const plan *earlier) {
        plan_input in = {
                .policy = &w->policy,
                .region = "us-east-1",
                .now = now,
                .instances = w->instances,
                .n_instances = w->n_instances,
                .images = w->images,
                .n_images = w->n_images,
                .created = created,
                .earlier = earlier,
        };

        plan_done(&w->plan);
        assert_int_equal(plan_build(&in, &w->plan), 0);
}

static void world_plan_at(world *w, time_t now) {
        world_plan_created(w, now, NULL);
}

static void world_plan(world *w) {
        world_plan_at(w, NOW);
}

static const plan_action *find_retire(const plan *p, const char *image_id) {
        for (size_t k = 0; k < p->n; k++)
                if (p->actions[k].kind == PLAN_RETIRE && streq(p->actions[k].image_id, image_id))
                        return &p->actions[k];
        return NULL;
}

static bool find_held(const plan *p, const char *image_id) {
        for (size_t k = 0; k < p->n_held; k++)
                if (streq(p->held[k].image_id, image_id))
                        return true;
        return false;
}

static size_t count_kind(const plan *p, plan_action_kind kind) {
        size_t n = 0;

        for (size_t k = 0; k < p->n; k++)
                n += p->actions[k].kind == kind;
        return n;
}

static void assert_action(const plan *p, size_t k, plan_action_kind kind, const char *instance_id,
                          const char *image_id) {
        assert_true(k < p->n);
        assert_int_equal(p->actions[k].kind, kind);
        assert_string_equal(p->actions[k].instance_id, instance_id);
        if (image_id)
                assert_string_equal(p->actions[k].image_id, image_id);
}

/* A snapshot of policy owner (NULL: untagged) for instance_id in slot k, started at start. */
static ec2_snapshot *add_snapshot(world *w, const char *id, ec2_snapshot_state state, const char *owner,
                                  const char *instance_id, int k, time_t start) {
        char slot[SLOT_ID_MAX];
        ec2_snapshot *s;

        slot_id_format(SLOT(k), slot);
        w->snapshots = grow(w->snapshots, w->n_snapshots, sizeof(ec2_snapshot));
        s = &w->snapshots[w->n_snapshots++];
        s->id = xstrdup(id);
        s->state = state;
        s->start_time = start;
        if (owner) {
                assert_int_equal(ec2_tags_add(&s->tags, TAG_POLICY, owner), 0);
                assert_int_equal(ec2_tags_add(&s->tags, TAG_INSTANCE_ID, instance_id), 0);
                assert_int_equal(ec2_tags_add(&s->tags, TAG_SLOT, slot), 0);
        }
        return s;
}

/* ---- One test per rule ----------------------------------------------------------------- */

static void test_creates_image_for_selected_instance(void **state) {
        world w;
        const plan_action *a;

        (void) state;
        world_init(&w, 3);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, "Name", "web one", NULL);
        world_plan(&w);

        assert_int_equal(w.plan.n, 1);
        a = &w.plan.actions[0];
        assert_int_equal(a->kind, PLAN_CREATE);
        assert_string_equal(a->instance_id, "i-1");
        assert_string_equal(a->slot, SLOT0_ID);
        assert_string_equal(a->image_name, "web-i-1-" SLOT0_ID);
        assert_string_equal(a->description, "golden image of web one");
        assert_true(a->no_reboot);
        assert_string_equal(ec2_tags_get(&a->image_tags, TAG_POLICY), "web");
        assert_string_equal(ec2_tags_get(&a->image_tags, TAG_INSTANCE_ID), "i-1");
        assert_string_equal(ec2_tags_get(&a->image_tags, TAG_SLOT), SLOT0_ID);
        assert_int_equal(a->snapshot_tags.n, a->image_tags.n);
        for (size_t k = 0; k < a->image_tags.n; k++)
                assert_string_equal(ec2_tags_get(&a->snapshot_tags, a->image_tags.items[k].key),
                                    a->image_tags.items[k].value);
        assert_null(ec2_tags_get(&a->image_tags, "Name"));     /* copy_instance_tags is off */

        w.policy.reboot = true;
        world_plan(&w);
        assert_false(w.plan.actions[0].no_reboot);
        world_done(&w);
}

static void test_no_create_when_current_slot_pending_or_available(void **state) {
        world w;

        (void) state;
        world_init(&w, 3);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_instance(&w, "i-2", EC2_INSTANCE_RUNNING, NULL);
        add_instance(&w, "i-3", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-1", EC2_IMAGE_PENDING, "web", "i-1", 0);
        add_image(&w, "ami-2", EC2_IMAGE_AVAILABLE, "web", "i-2", 0);
        add_image(&w, "ami-3", EC2_IMAGE_AVAILABLE, "web", "i-3", -1);   /* yesterday's */
        world_plan(&w);

        assert_int_equal(w.plan.n, 1);
        assert_action(&w.plan, 0, PLAN_CREATE, "i-3", NULL);

        /* Just before 03:00 the current slot is yesterday's: i-3 is done too. */
        world_plan_at(&w, SLOT0 - 1);
        assert_int_equal(w.plan.n, 2);
        assert_action(&w.plan, 0, PLAN_CREATE, "i-1", NULL);
        assert_action(&w.plan, 1, PLAN_CREATE, "i-2", NULL);
        world_done(&w);
}

static void test_no_create_when_name_taken_without_slot_tag(void **state) {
        ec2_image *g;
        world w;

        (void) state;
        world_init(&w, 3);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        /* A run that crashed between CreateImage and reading its tags back, or tags
         * lost: the name alone proves the slot is done. */
        g = add_image(&w, "ami-1", EC2_IMAGE_PENDING, "web", "i-other", -3);
        free(g->name);
        g->name = xstrdup("web-i-1-" SLOT0_ID);
        world_plan(&w);
        assert_int_equal(count_kind(&w.plan, PLAN_CREATE), 0);

        /* The same name on an image this policy did not tag does not count. */
        free(w.images[0].tags.items[0].value);
        w.images[0].tags.items[0].value = xstrdup("other-policy");
        world_plan(&w);
        assert_int_equal(count_kind(&w.plan, PLAN_CREATE), 1);
        world_done(&w);
}

static void test_failed_current_slot_recreated_after_retire(void **state) {
        const plan_action *a;
        world w;

        (void) state;
        world_init(&w, 3);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-old", EC2_IMAGE_AVAILABLE, "web", "i-1", -1);
        add_image(&w, "ami-bad", EC2_IMAGE_FAILED, "web", "i-1", 0);
        world_plan(&w);

        /* The failed image holds the name the new one needs: its RETIRE comes first. */
        assert_int_equal(w.plan.n, 2);
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-1", "ami-bad");
        assert_string_equal(w.plan.actions[0].reason, "failed");
        assert_int_equal(w.plan.actions[0].image_state, EC2_IMAGE_FAILED);
        assert_action(&w.plan, 1, PLAN_CREATE, "i-1", NULL);
        a = &w.plan.actions[1];
        assert_string_equal(a->image_name, "web-i-1-" SLOT0_ID);
        assert_string_equal(a->image_name, w.images[1].name);
        world_done(&w);
}

static void test_error_and_invalid_images_are_failed(void **state) {
        world w;

        (void) state;
        world_init(&w, 3);
        add_image(&w, "ami-e", EC2_IMAGE_ERROR, "web", "i-1", -2);
        add_image(&w, "ami-i", EC2_IMAGE_INVALID, "web", "i-1", -1);
        add_image(&w, "ami-f", EC2_IMAGE_FAILED, "web", "i-1", -3);
        world_plan(&w);
        assert_int_equal(w.plan.n, 3);
        /* Oldest first. */
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-1", "ami-f");
        assert_action(&w.plan, 1, PLAN_RETIRE, "i-1", "ami-e");
        assert_action(&w.plan, 2, PLAN_RETIRE, "i-1", "ami-i");
        for (size_t k = 0; k < 3; k++)
                assert_string_equal(w.plan.actions[k].reason, "failed");
        world_done(&w);
}

static void test_never_touches_image_without_policy_tag(void **state) {
        ec2_image *g;
        world w;

        (void) state;
        world_init(&w, 1);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-mine", EC2_IMAGE_AVAILABLE, "web", "i-1", 0);
        for (int k = 1; k <= 5; k++) {
                char id[32];

                snprintf(id, sizeof(id), "ami-hand-%d", k);
                add_image(&w, id, k == 1 ? EC2_IMAGE_FAILED : EC2_IMAGE_AVAILABLE, NULL, "i-1", -k);
                snprintf(id, sizeof(id), "ami-other-%d", k);
                add_image(&w, id, k == 1 ? EC2_IMAGE_FAILED : EC2_IMAGE_AVAILABLE, "web2", "i-1", -k);
                snprintf(id, sizeof(id), "ami-case-%d", k);
                add_image(&w, id, EC2_IMAGE_AVAILABLE, "WEB", "i-1", -k);
        }
        /* This policy's tag but no instance id: amirotd never made it so; left alone. */
        g = add_image(&w, "ami-noinst", EC2_IMAGE_FAILED, NULL, "i-1", -7);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_POLICY, "web"), 0);
        /* Those tags on an image without the policy tag do not make it ours. */
        g = add_image(&w, "ami-nopolicy", EC2_IMAGE_FAILED, NULL, "i-1", -8);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_INSTANCE_ID, "i-1"), 0);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_SLOT, "20261101T030000Z"), 0);
        world_plan(&w);

        assert_int_equal(w.plan.n, 0);
        world_done(&w);
}

static void test_retire_beyond_count_oldest_first(void **state) {
        world w;

        (void) state;
        world_init(&w, 2);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-c", EC2_IMAGE_AVAILABLE, "web", "i-1", -2);
        add_image(&w, "ami-a", EC2_IMAGE_AVAILABLE, "web", "i-1", -4);
        add_image(&w, "ami-e", EC2_IMAGE_AVAILABLE, "web", "i-1", 0);
        add_image(&w, "ami-b", EC2_IMAGE_AVAILABLE, "web", "i-1", -3);
        add_image(&w, "ami-d", EC2_IMAGE_AVAILABLE, "web", "i-1", -1);
        world_plan(&w);

        assert_int_equal(w.plan.n, 3);
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-1", "ami-a");
        assert_action(&w.plan, 1, PLAN_RETIRE, "i-1", "ami-b");
        assert_action(&w.plan, 2, PLAN_RETIRE, "i-1", "ami-c");
        for (size_t k = 0; k < 3; k++) {
                assert_string_equal(w.plan.actions[k].reason, "beyond retain.count 2");
                assert_int_equal(w.plan.actions[k].image_state, EC2_IMAGE_AVAILABLE);
        }
        world_done(&w);
}

/* The metrics' image census: what is described, minus what is retired, plus what is created. */
static void test_images_after_counts_the_outcome_by_state(void **state) {
        world w;

        (void) state;
        world_init(&w, 2);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_instance(&w, "i-2", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-a", EC2_IMAGE_AVAILABLE, "web", "i-1", -3);
        add_image(&w, "ami-b", EC2_IMAGE_AVAILABLE, "web", "i-1", -2);
        add_image(&w, "ami-c", EC2_IMAGE_AVAILABLE, "web", "i-1", -1);
        add_image(&w, "ami-f", EC2_IMAGE_FAILED, "web", "i-2", -1);
        add_image(&w, "ami-p", EC2_IMAGE_PENDING, "web", "i-2", -2);
        add_image(&w, "ami-x", EC2_IMAGE_AVAILABLE, "other", "i-2", -1);
        world_plan(&w);

        /* i-1: a create, ami-a retired (count 2 of 3 available); i-2: a create, ami-f retired */
        assert_int_equal(count_kind(&w.plan, PLAN_CREATE), 2);
        assert_int_equal(count_kind(&w.plan, PLAN_RETIRE), 2);
        assert_int_equal(w.plan.images_after[EC2_IMAGE_AVAILABLE], 2);
        assert_int_equal(w.plan.images_after[EC2_IMAGE_PENDING], 3);
        assert_int_equal(w.plan.images_after[EC2_IMAGE_FAILED], 0);
        world_done(&w);
}

static void test_retire_keeps_newest_available_when_create_fails(void **state) {
        world w;

        (void) state;
        world_init(&w, 2);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-1", EC2_IMAGE_AVAILABLE, "web", "i-1", -1);
        add_image(&w, "ami-2", EC2_IMAGE_AVAILABLE, "web", "i-1", -2);
        add_image(&w, "ami-f0", EC2_IMAGE_FAILED, "web", "i-1", 0);
        world_plan(&w);

        /* Two failures must not cost a good image: only the garbage goes. */
        assert_int_equal(w.plan.n, 2);
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-1", "ami-f0");
        assert_action(&w.plan, 1, PLAN_CREATE, "i-1", NULL);
        assert_null(find_retire(&w.plan, "ami-1"));
        assert_null(find_retire(&w.plan, "ami-2"));
        world_done(&w);
}

static void test_pending_not_counted_nor_retired(void **state) {
        world w;

        (void) state;
        world_init(&w, 2);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-p0", EC2_IMAGE_PENDING, "web", "i-1", 0);
        add_image(&w, "ami-1", EC2_IMAGE_AVAILABLE, "web", "i-1", -1);
        add_image(&w, "ami-2", EC2_IMAGE_AVAILABLE, "web", "i-1", -2);
        add_image(&w, "ami-3", EC2_IMAGE_AVAILABLE, "web", "i-1", -3);
        add_image(&w, "ami-p9", EC2_IMAGE_PENDING, "web", "i-1", -9);
        add_image(&w, "ami-t8", EC2_IMAGE_TRANSIENT, "web", "i-1", -8);
        world_plan(&w);

        /* Two available kept although a pending image is newer; the pending ones stay. */
        assert_int_equal(w.plan.n, 1);
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-1", "ami-3");
        world_done(&w);
}

static void test_deregistered_and_disabled_images_are_left_alone(void **state) {
        world w;

        (void) state;
        world_init(&w, 1);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-d0", EC2_IMAGE_DEREGISTERED, "web", "i-1", 0);
        add_image(&w, "ami-1", EC2_IMAGE_AVAILABLE, "web", "i-1", -1);
        add_image(&w, "ami-x2", EC2_IMAGE_DISABLED, "web", "i-1", -2);
        add_image(&w, "ami-u3", (ec2_image_state) 42, "web", "i-1", -3);
        world_plan(&w);

        /* A deregistered image of the current slot does not take it. */
        assert_int_equal(w.plan.n, 1);
        assert_action(&w.plan, 0, PLAN_CREATE, "i-1", NULL);
        world_done(&w);
}

/* Disabled by a person: out of rotation, not ours to delete. Not counted, so the policy
 * still keeps retain.count usable images; never retired, whatever its age; its
 * snapshots stay. */
static void test_disabled_image_neither_counted_nor_retired_nor_swept(void **state) {
        time_t old = NOW - PLAN_SNAPSHOT_GRACE - 1;
        world w;

        (void) state;
        world_init(&w, 2);
        w.policy.retain_max_age = 4 * DAY;
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-d1", EC2_IMAGE_DISABLED, "web", "i-1", -1);
        add_image(&w, "ami-2", EC2_IMAGE_AVAILABLE, "web", "i-1", -2);
        add_image(&w, "ami-3", EC2_IMAGE_AVAILABLE, "web", "i-1", -3);
        add_image(&w, "ami-4", EC2_IMAGE_AVAILABLE, "web", "i-1", -4);
        add_image(&w, "ami-d9", EC2_IMAGE_DISABLED, "web", "i-1", -9);
        add_snapshot(&w, "snap-ami-d9", EC2_SNAPSHOT_COMPLETED, "web", "i-1", -9, old);
        add_snapshot(&w, "snap-orphan", EC2_SNAPSHOT_COMPLETED, "web", "i-1", -12, old);
        world_plan(&w);

        assert_int_equal(w.plan.n, 3);
        assert_action(&w.plan, 0, PLAN_CREATE, "i-1", NULL);
        assert_action(&w.plan, 1, PLAN_RETIRE, "i-1", "ami-4");
        assert_int_equal(w.plan.actions[2].kind, PLAN_DELETE_SNAPSHOT);
        assert_string_equal(w.plan.actions[2].snapshot_ids[0], "snap-orphan");
        assert_null(find_retire(&w.plan, "ami-d1"));
        assert_null(find_retire(&w.plan, "ami-d9"));

        /* A disabled image of the current slot holds its name: no CREATE, and the
         * good images it would have pushed out stay. */
        add_image(&w, "ami-d0", EC2_IMAGE_DISABLED, "web", "i-1", 0);
        world_plan(&w);
        assert_int_equal(count_kind(&w.plan, PLAN_CREATE), 0);
        assert_null(find_retire(&w.plan, "ami-2"));
        assert_null(find_retire(&w.plan, "ami-d0"));
        world_done(&w);
}

/* A clock that ran ahead once left an image of a future slot: it is reported and
 * neither counted nor retired, so it does not push out the current images (the old
 * planner kept it as "newest" and retired today's image as beyond retain.count). */
static void test_future_slot_neither_counted_nor_retired(void **state) {
        world w;

        (void) state;
        world_init(&w, 1);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-f3", EC2_IMAGE_AVAILABLE, "web", "i-1", 3);
        add_image(&w, "ami-f5", EC2_IMAGE_PENDING, "web", "i-1", 5);
        add_image(&w, "ami-x4", EC2_IMAGE_FAILED, "web", "i-1", 4);
        add_image(&w, "ami-0", EC2_IMAGE_AVAILABLE, "web", "i-1", 0);
        add_image(&w, "ami-1", EC2_IMAGE_AVAILABLE, "web", "i-1", -1);
        world_plan(&w);

        assert_int_equal(w.plan.n, 2);
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-1", "ami-x4");      /* failed: garbage all the same */
        assert_action(&w.plan, 1, PLAN_RETIRE, "i-1", "ami-1");
        assert_string_equal(w.plan.actions[1].reason, "beyond retain.count 1");
        assert_int_equal(w.plan.n_future, 2);
        assert_string_equal(w.plan.future[0].image_id, "ami-f3");
        assert_string_equal(w.plan.future[0].instance_id, "i-1");
        assert_string_equal(w.plan.future[0].slot, "20261129T030000Z");
        assert_string_equal(w.plan.future[1].image_id, "ami-f5");

        /* Once the clock reaches its slot, it is an image like the others. */
        world_plan_at(&w, SLOT(3) + 60);
        assert_int_equal(w.plan.n_future, 1);
        assert_null(find_retire(&w.plan, "ami-f3"));
        assert_non_null(find_retire(&w.plan, "ami-0"));
        world_done(&w);
}

/* The run's own image is never retired by it, even when an image that sorts before it
 * (no slot tag, a later creation date) already fills retain.count. */
static void test_image_created_by_the_run_is_never_retired_by_it(void **state) {
        char *created[] = { (char *) "ami-0", NULL };
        ec2_image *h;
        world w;

        (void) state;
        world_init(&w, 1);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-0", EC2_IMAGE_AVAILABLE, "web", "i-1", 0);
        add_image(&w, "ami-1", EC2_IMAGE_AVAILABLE, "web", "i-1", -1);
        h = add_image(&w, "ami-h", EC2_IMAGE_AVAILABLE, "web", "i-1", 0);
        free(h->tags.items[2].key);
        free(h->tags.items[2].value);
        h->tags.n = 2;                  /* no slot tag: its creation date orders it */
        h->creation_date = NOW - 60;

        world_plan(&w);
        assert_non_null(find_retire(&w.plan, "ami-0"));

        world_plan_created(&w, NOW, created);
        assert_int_equal(w.plan.n, 1);
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-1", "ami-1");
        world_done(&w);
}

static void test_max_age_keeps_newest_available(void **state) {
        world w;

        (void) state;
        world_init(&w, 5);
        w.policy.retain_max_age = 7 * DAY;
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-1", EC2_IMAGE_AVAILABLE, "web", "i-1", -1);
        add_image(&w, "ami-6", EC2_IMAGE_AVAILABLE, "web", "i-1", -6);
        add_image(&w, "ami-7", EC2_IMAGE_AVAILABLE, "web", "i-1", -7);      /* 7 days and 50 min */
        add_image(&w, "ami-9", EC2_IMAGE_AVAILABLE, "web", "i-1", -9);
        add_image(&w, "ami-p", EC2_IMAGE_PENDING, "web", "i-1", 0);
        world_plan(&w);
        assert_int_equal(w.plan.n, 2);
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-1", "ami-9");
        assert_action(&w.plan, 1, PLAN_RETIRE, "i-1", "ami-7");
        assert_string_equal(w.plan.actions[0].reason, "older than max_age 1w");

        /* All of them old, and the create keeps failing: the newest good one stays. */
        world_plan_at(&w, NOW + 100 * DAY);
        assert_null(find_retire(&w.plan, "ami-1"));
        assert_non_null(find_retire(&w.plan, "ami-6"));
        assert_non_null(find_retire(&w.plan, "ami-7"));
        assert_non_null(find_retire(&w.plan, "ami-9"));
        assert_null(find_retire(&w.plan, "ami-p"));

        /* The newest good image, not the newest image: a newer failed one is garbage. */
        add_image(&w, "ami-f", EC2_IMAGE_FAILED, "web", "i-1", 50);
        world_plan_at(&w, NOW + 100 * DAY);
        assert_null(find_retire(&w.plan, "ami-1"));
        assert_non_null(find_retire(&w.plan, "ami-f"));

        w.policy.retain_max_age = 36 * 3600;
        world_plan_at(&w, NOW + 100 * DAY);
        assert_string_equal(find_retire(&w.plan, "ami-6")->reason, "older than max_age 1d12h");
        world_done(&w);
}

static void test_copy_instance_tags_skips_aws_keys(void **state) {
        const ec2_tags *t;
        world w;

        (void) state;
        world_init(&w, 1);
        w.policy.copy_instance_tags = true;
        assert_int_equal(ec2_tags_add(&w.policy.image_tags, "Team", "platform"), 0);
        assert_int_equal(ec2_tags_add(&w.policy.image_tags, TAG_SLOT, "policy-cannot-set-this"), 0);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING,
                     "Name", "web-1",
                     "aws:cloudformation:stack-name", "stack",
                     "AWS:autoscaling:groupName", "asg",
                     "Team", "instance-team",
                     TAG_POLICY, "evil",
                     TAG_SLOT, "evil",
                     "Env", "prod",
                     NULL);
        world_plan(&w);

        assert_int_equal(w.plan.n, 1);
        for (int pass = 0; pass < 2; pass++) {
                t = pass == 0 ? &w.plan.actions[0].image_tags : &w.plan.actions[0].snapshot_tags;
                assert_string_equal(ec2_tags_get(t, TAG_POLICY), "web");
                assert_string_equal(ec2_tags_get(t, TAG_INSTANCE_ID), "i-1");
                assert_string_equal(ec2_tags_get(t, TAG_SLOT), SLOT0_ID);
                assert_string_equal(ec2_tags_get(t, "Team"), "platform");
                assert_string_equal(ec2_tags_get(t, "Name"), "web-1");
                assert_string_equal(ec2_tags_get(t, "Env"), "prod");
                assert_null(ec2_tags_get(t, "aws:cloudformation:stack-name"));
                assert_null(ec2_tags_get(t, "AWS:autoscaling:groupName"));
                assert_int_equal(t->n, 6);
        }

        w.policy.copy_instance_tags = false;
        world_plan(&w);
        t = &w.plan.actions[0].image_tags;
        assert_int_equal(t->n, 4);
        assert_null(ec2_tags_get(t, "Name"));
        world_done(&w);
}

static void test_copied_tags_stop_at_ec2_limit(void **state) {
        const ec2_tags *t;
        world w;
        ec2_instance *i;

        (void) state;
        world_init(&w, 1);
        w.policy.copy_instance_tags = true;
        assert_int_equal(ec2_tags_add(&w.policy.image_tags, "Team", "platform"), 0);
        i = add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        for (int k = 0; k < 60; k++) {
                char key[16];

                snprintf(key, sizeof(key), "k%02d", k);
                assert_int_equal(ec2_tags_add(&i->tags, key, "v"), 0);
        }
        world_plan(&w);
        t = &w.plan.actions[0].image_tags;
        assert_int_equal(t->n, 50);
        assert_string_equal(ec2_tags_get(t, TAG_SLOT), SLOT0_ID);
        assert_string_equal(ec2_tags_get(t, "Team"), "platform");
        world_done(&w);
}

static void test_target_tags(void **state) {
        world w;

        (void) state;
        world_init(&w, 1);
        policy_select(&w, false, "Role", "web");
        policy_select(&w, false, "Golden", NULL);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, "Role", "web", "Golden", "yes", NULL);
        add_instance(&w, "i-2", EC2_INSTANCE_RUNNING, "Role", "web", "Golden", "", NULL);
        add_instance(&w, "i-3", EC2_INSTANCE_RUNNING, "Role", "db", "Golden", "yes", NULL);
        add_instance(&w, "i-4", EC2_INSTANCE_RUNNING, "Role", "web", NULL);
        add_instance(&w, "i-5", EC2_INSTANCE_RUNNING, "role", "web", "Golden", "yes", NULL);
        add_instance(&w, "i-6", EC2_INSTANCE_RUNNING, "Role", "web ", "Golden", "yes", NULL);
        world_plan(&w);

        assert_int_equal(w.plan.n, 2);
        assert_action(&w.plan, 0, PLAN_CREATE, "i-1", NULL);
        assert_action(&w.plan, 1, PLAN_CREATE, "i-2", NULL);
        world_done(&w);
}

static void test_exclude_tags(void **state) {
        world w;

        (void) state;
        world_init(&w, 1);
        policy_select(&w, false, "Role", "web");
        policy_select(&w, true, "amirotd-skip", "true");
        policy_select(&w, true, "Decommissioning", NULL);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, "Role", "web", "amirotd-skip", "true", NULL);
        add_instance(&w, "i-2", EC2_INSTANCE_RUNNING, "Role", "web", "amirotd-skip", "false", NULL);
        add_instance(&w, "i-3", EC2_INSTANCE_RUNNING, "Role", "web", "Decommissioning", "", NULL);
        add_instance(&w, "i-4", EC2_INSTANCE_RUNNING, "Role", "web", NULL);
        world_plan(&w);

        assert_int_equal(w.plan.n, 2);
        assert_action(&w.plan, 0, PLAN_CREATE, "i-2", NULL);
        assert_action(&w.plan, 1, PLAN_CREATE, "i-4", NULL);
        world_done(&w);
}

static void test_states(void **state) {
        world w;

        (void) state;
        world_init(&w, 1);
        for (ec2_instance_state s = 0; s < _EC2_INSTANCE_STATE_MAX; s++) {
                char id[32];

                snprintf(id, sizeof(id), "i-%d", (int) s);
                add_instance(&w, id, s, NULL);
        }
        add_instance(&w, "i-bad", _EC2_INSTANCE_STATE_INVALID, NULL);
        world_plan(&w);
        assert_int_equal(w.plan.n, 2);
        assert_string_equal(w.plan.actions[0].instance_id, "i-1");     /* EC2_INSTANCE_RUNNING */
        assert_string_equal(w.plan.actions[1].instance_id, "i-5");     /* EC2_INSTANCE_STOPPED */

        w.policy.states = 1u << EC2_INSTANCE_RUNNING;
        world_plan(&w);
        assert_int_equal(w.plan.n, 1);
        assert_string_equal(w.plan.actions[0].instance_id, "i-1");
        world_done(&w);
}

static void test_unselected_instance_keeps_newest_images(void **state) {
        world w;

        (void) state;
        world_init(&w, 2);
        /* i-gone was terminated; i-out lost its Role tag; i-stopped is stopped. */
        policy_select(&w, false, "Role", "web");
        w.policy.states = 1u << EC2_INSTANCE_RUNNING;
        add_instance(&w, "i-out", EC2_INSTANCE_RUNNING, NULL);
        add_instance(&w, "i-stopped", EC2_INSTANCE_STOPPED, "Role", "web", NULL);
        for (int k = 1; k <= 4; k++) {
                char id[32];

                snprintf(id, sizeof(id), "ami-gone-%d", k);
                add_image(&w, id, EC2_IMAGE_AVAILABLE, "web", "i-gone", -k);
                snprintf(id, sizeof(id), "ami-out-%d", k);
                add_image(&w, id, EC2_IMAGE_AVAILABLE, "web", "i-out", -k);
                snprintf(id, sizeof(id), "ami-stopped-%d", k);
                add_image(&w, id, EC2_IMAGE_AVAILABLE, "web", "i-stopped", -k);
        }
        add_image(&w, "ami-gone-f", EC2_IMAGE_FAILED, "web", "i-gone", -5);
        world_plan(&w);

        /* Retention goes on per instance id, with no CREATE. */
        assert_int_equal(count_kind(&w.plan, PLAN_CREATE), 0);
        assert_int_equal(w.plan.n, 7);
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-gone", "ami-gone-f");
        assert_action(&w.plan, 1, PLAN_RETIRE, "i-gone", "ami-gone-4");
        assert_action(&w.plan, 2, PLAN_RETIRE, "i-gone", "ami-gone-3");
        assert_action(&w.plan, 3, PLAN_RETIRE, "i-out", "ami-out-4");
        assert_action(&w.plan, 4, PLAN_RETIRE, "i-out", "ami-out-3");
        assert_action(&w.plan, 5, PLAN_RETIRE, "i-stopped", "ami-stopped-4");
        assert_action(&w.plan, 6, PLAN_RETIRE, "i-stopped", "ami-stopped-3");

        /* Years later, with max_age: each keeps its last good image. */
        w.policy.retain_max_age = 30 * DAY;
        world_plan_at(&w, NOW + 3 * 365 * DAY);
        assert_int_equal(w.plan.n, 10);
        assert_null(find_retire(&w.plan, "ami-gone-1"));
        assert_null(find_retire(&w.plan, "ami-out-1"));
        assert_null(find_retire(&w.plan, "ami-stopped-1"));
        world_done(&w);
}

static void test_retire_carries_image_details(void **state) {
        const plan_action *a;
        ec2_image *g;
        world w;

        (void) state;
        world_init(&w, 1);
        add_image(&w, "ami-1", EC2_IMAGE_AVAILABLE, "web", "i-1", -1);
        g = add_image(&w, "ami-2", EC2_IMAGE_AVAILABLE, "web", "i-1", -2);
        /* A second EBS volume, and the root snapshot listed twice. */
        g->devices = reallocarray(g->devices, 4, sizeof(ec2_block_device));
        assert_non_null(g->devices);
        g->devices[2] = (ec2_block_device) { xstrdup("/dev/sdf"), xstrdup("snap-data") };
        g->devices[3] = (ec2_block_device) { xstrdup("/dev/sdg"), xstrdup("snap-ami-2") };
        g->n_devices = 4;
        world_plan(&w);

        assert_int_equal(w.plan.n, 1);
        a = &w.plan.actions[0];
        assert_int_equal(a->kind, PLAN_RETIRE);
        assert_string_equal(a->image_id, "ami-2");
        assert_string_equal(a->instance_id, "i-1");
        assert_string_equal(a->slot, "20261124T030000Z");
        assert_int_equal(a->image_state, EC2_IMAGE_AVAILABLE);
        assert_string_equal(a->reason, "beyond retain.count 1");
        assert_int_equal(strv_length(a->snapshot_ids), 2);
        assert_string_equal(a->snapshot_ids[0], "snap-ami-2");
        assert_string_equal(a->snapshot_ids[1], "snap-data");
        world_done(&w);
}

static void test_order_is_by_instance_then_failed_create_retire(void **state) {
        world w;

        (void) state;
        world_init(&w, 1);
        add_instance(&w, "i-c", EC2_INSTANCE_RUNNING, NULL);
        add_instance(&w, "i-a", EC2_INSTANCE_RUNNING, NULL);
        add_instance(&w, "i-b", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-c2", EC2_IMAGE_AVAILABLE, "web", "i-c", -2);
        add_image(&w, "ami-c1", EC2_IMAGE_AVAILABLE, "web", "i-c", -1);
        add_image(&w, "ami-cf", EC2_IMAGE_FAILED, "web", "i-c", -4);
        add_image(&w, "ami-c3", EC2_IMAGE_AVAILABLE, "web", "i-c", -3);
        add_image(&w, "ami-a0", EC2_IMAGE_AVAILABLE, "web", "i-a", 0);
        add_image(&w, "ami-a1", EC2_IMAGE_AVAILABLE, "web", "i-a", -1);
        add_image(&w, "ami-bb", EC2_IMAGE_AVAILABLE, "web", "i-bb", -1);
        world_plan(&w);

        assert_int_equal(w.plan.n, 6);
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-a", "ami-a1");
        assert_action(&w.plan, 1, PLAN_CREATE, "i-b", NULL);
        assert_action(&w.plan, 2, PLAN_RETIRE, "i-c", "ami-cf");
        assert_action(&w.plan, 3, PLAN_CREATE, "i-c", NULL);
        assert_action(&w.plan, 4, PLAN_RETIRE, "i-c", "ami-c3");
        assert_action(&w.plan, 5, PLAN_RETIRE, "i-c", "ami-c2");
        world_done(&w);
}

static void test_newest_by_slot_then_creation_date_then_id(void **state) {
        ec2_image *g;
        world w;

        (void) state;
        world_init(&w, 2);
        /* Created late (a slow run) but for an older slot: the slot decides. */
        g = add_image(&w, "ami-late", EC2_IMAGE_AVAILABLE, "web", "i-1", -3);
        g->creation_date = SLOT(0) + 10;
        add_image(&w, "ami-1", EC2_IMAGE_AVAILABLE, "web", "i-1", -1);
        add_image(&w, "ami-2", EC2_IMAGE_AVAILABLE, "web", "i-1", -2);
        world_plan(&w);
        assert_int_equal(w.plan.n, 1);
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-1", "ami-late");

        /* Without a slot tag, the creation date stands in; equal ones fall to the id. */
        for (size_t k = 0; k < w.n_images; k++) {
                w.images[k].creation_date = SLOT(-1);
                free(w.images[k].tags.items[2].value);
                w.images[k].tags.items[2].value = xstrdup("not-a-slot");
        }
        w.images[1].creation_date = SLOT(-2);  /* ami-1 */
        world_plan(&w);
        assert_int_equal(w.plan.n, 1);
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-1", "ami-1");
        w.images[1].creation_date = SLOT(-1);
        world_plan(&w);
        assert_int_equal(w.plan.n, 1);
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-1", "ami-1");
        world_done(&w);
}

static void test_listed_twice_planned_once(void **state) {
        world w;

        (void) state;
        world_init(&w, 1);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-1", EC2_IMAGE_AVAILABLE, "web", "i-1", -1);
        add_image(&w, "ami-2", EC2_IMAGE_AVAILABLE, "web", "i-1", -2);
        add_image(&w, "ami-2", EC2_IMAGE_AVAILABLE, "web", "i-1", -2);
        world_plan(&w);
        assert_int_equal(w.plan.n, 2);
        assert_action(&w.plan, 0, PLAN_CREATE, "i-1", NULL);
        assert_action(&w.plan, 1, PLAN_RETIRE, "i-1", "ami-2");
        world_done(&w);
}

static void test_render_template(void **state) {
        _cleanup_(freep) char *s = NULL;
        ec2_instance *i;
        world w;

        (void) state;
        world_init(&w, 1);
        i = add_instance(&w, "i-0abc", EC2_INSTANCE_RUNNING, NULL);
        assert_int_equal(plan_render_template("{policy}/{instance_id}/{instance_name}/{slot}/{region}/{other}",
                                              &w.policy, "eu-west-1", i, SLOT0_ID, &s), 0);
        /* No Name tag: the instance id stands in. */
        assert_string_equal(s, "web/i-0abc/i-0abc/" SLOT0_ID "/eu-west-1/{other}");
        s = mfree(s);
        assert_int_equal(ec2_tags_add(&i->tags, "Name", "Web Ä*1"), 0);
        assert_int_equal(plan_render_template("{instance_name}{instance_name}", &w.policy, NULL, i, NULL, &s), 0);
        assert_string_equal(s, "Web Ä*1Web Ä*1");
        s = mfree(s);
        assert_int_equal(plan_render_template("", &w.policy, NULL, i, NULL, &s), 0);
        assert_string_equal(s, "");
        s = mfree(s);
        assert_int_equal(plan_render_template(NULL, &w.policy, NULL, i, NULL, &s), -EINVAL);
        assert_int_equal(plan_render_description(&w.policy, "eu-west-1", i, SLOT0_ID, &s), 0);
        assert_string_equal(s, "golden image of Web Ä*1");
        s = mfree(s);
        /* Without a description template, an image has no description. */
        w.policy.description_template = mfree(w.policy.description_template);
        assert_int_equal(plan_render_description(&w.policy, "eu-west-1", i, SLOT0_ID, &s), 0);
        assert_null(s);
        world_done(&w);
}

static void test_image_name_sanitized_and_slot_survives_cut(void **state) {
        char long_name[300];
        const plan_action *a;
        ec2_instance *i;
        world w;

        (void) state;
        world_init(&w, 1);
        free(w.policy.name_template);
        w.policy.name_template = xstrdup("{policy} {instance_name} ({instance_id}) {slot}");
        i = add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, "Name", "db:1/ü\"x#[ok]@'_.", NULL);
        world_plan(&w);
        a = &w.plan.actions[0];
        /* One '-' per rejected character, a two-byte UTF-8 one included. */
        assert_string_equal(a->image_name, "web db-1/--x-[ok]@'_. (i-1) " SLOT0_ID);
        assert_string_equal(a->description, "golden image of db:1/ü\"x#[ok]@'_.");

        /* A long Name tag gives way; the slot stays. */
        memset(long_name, 'n', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;
        assert_int_equal(ec2_tags_add(&i->tags, "Name", long_name), 0);
        world_plan(&w);
        a = &w.plan.actions[0];
        assert_int_equal(strlen(a->image_name), 128);
        assert_true(strstr(a->image_name, "(i-1) " SLOT0_ID) != NULL);
        assert_int_equal(strlen(a->description), 255);

        /* Nothing to shorten: cut at 128. */
        free(w.policy.name_template);
        w.policy.name_template = xstrdup("{slot}{instance_id}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        world_plan(&w);
        assert_int_equal(strlen(w.plan.actions[0].image_name), 128);
        assert_true(startswith(w.plan.actions[0].image_name, SLOT0_ID "i-1xxx"));

        /* The description is cut at 255 bytes, never inside a character. */
        free(w.policy.description_template);
        w.policy.description_template = xstrdup("{instance_name}");
        memset(long_name, 'n', sizeof(long_name) - 1);
        memcpy(long_name + 254, "é", 2);
        assert_int_equal(ec2_tags_add(&i->tags, "Name", long_name), 0);
        world_plan(&w);
        assert_int_equal(strlen(w.plan.actions[0].description), 254);
        world_done(&w);
}

static bool ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && streq(s + n - m, suffix);
}

static void test_render_instance_tag(void **state) {
        _cleanup_(freep) char *s = NULL;
        ec2_instance *i;
        world w;

        (void) state;
        world_init(&w, 1);
        i = add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, "Team", "platform", "aws:autoscaling:groupName", "asg-1",
                         "Name", "web 1", NULL);
        assert_int_equal(plan_render_template("{instance_tag:Team}/{instance_tag:aws:autoscaling:groupName}/"
                                              "{instance_tag:Missing}/{instance_tag:}/{instance_tag:Team",
                                              &w.policy, "eu-west-1", i, SLOT0_ID, &s), 0);
        /* A missing tag renders empty; malformed placeholders (rejected by check) stay as written. */
        assert_string_equal(s, "platform/asg-1//{instance_tag:}/{instance_tag:Team");
        s = mfree(s);
        /* Tag keys are case-sensitive, as EC2's are. */
        assert_int_equal(plan_render_template("{instance_tag:team}", &w.policy, NULL, i, NULL, &s), 0);
        assert_string_equal(s, "");
        s = mfree(s);
        /* Without an instance (A's SSM parameter names of a policy), every instance_tag is empty. */
        assert_int_equal(plan_render_template("/golden/{policy}/{instance_tag:Team}", &w.policy, NULL, NULL, NULL, &s), 0);
        assert_string_equal(s, "/golden/web/");
        world_done(&w);
}

static void test_image_tags_rendered(void **state) {
        char long_value[400];
        const plan_action *a;
        world w;

        (void) state;
        world_init(&w, 1);
        assert_int_equal(ec2_tags_add(&w.policy.image_tags, "Source", "{policy}/{instance_id}/{slot}/{region}"), 0);
        assert_int_equal(ec2_tags_add(&w.policy.image_tags, "Team", "{instance_tag:Team}"), 0);
        assert_int_equal(ec2_tags_add(&w.policy.image_tags, "{instance_name}", "{instance_name} @ {instance_tag:Env}"), 0);
        assert_int_equal(ec2_tags_add(&w.policy.image_tags, "Plain", "fixed"), 0);
        /* 250 'x' and three 'é' (two bytes each): cut at 256 characters, between whole characters */
        memset(long_value, 'x', 250);
        memcpy(long_value + 250, "{instance_tag:Long}", 20);
        assert_int_equal(ec2_tags_add(&w.policy.image_tags, "Long", long_value), 0);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, "Team", "platform", "Name", "web 1", "Long", "ééééééééé", NULL);
        world_plan(&w);
        a = &w.plan.actions[0];
        assert_int_equal(a->kind, PLAN_CREATE);
        assert_string_equal(ec2_tags_get(&a->image_tags, "Source"), "web/i-1/" SLOT0_ID "/us-east-1");
        assert_string_equal(ec2_tags_get(&a->image_tags, "Team"), "platform");
        /* keys stay literal; a missing instance tag is empty */
        assert_string_equal(ec2_tags_get(&a->image_tags, "{instance_name}"), "web 1 @ ");
        assert_string_equal(ec2_tags_get(&a->image_tags, "Plain"), "fixed");
        assert_int_equal(strlen(ec2_tags_get(&a->image_tags, "Long")), 250 + 6 * 2);
        assert_true(ends_with(ec2_tags_get(&a->image_tags, "Long"), "xéééééé"));
        /* the snapshots carry the same rendered values */
        assert_string_equal(ec2_tags_get(&a->snapshot_tags, "Team"), "platform");
        world_done(&w);
}

static void test_image_name_instance_tag_cut_before_slot(void **state) {
        char long_value[300];
        const plan_action *a;
        ec2_instance *i;
        world w;

        (void) state;
        world_init(&w, 1);
        free(w.policy.name_template);
        w.policy.name_template = xstrdup("{policy}-{instance_tag:Service}-{instance_tag:Service}-{instance_id}-{slot}");
        i = add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, "Service", "api:v2 ü", NULL);
        world_plan(&w);
        a = &w.plan.actions[0];
        /* sanitised as a Name tag is: one '-' per rejected character */
        assert_string_equal(a->image_name, "web-api-v2 --api-v2 --i-1-" SLOT0_ID);

        /* two long values share the cut evenly; the slot stays */
        memset(long_value, 's', sizeof(long_value) - 1);
        long_value[sizeof(long_value) - 1] = 0;
        assert_int_equal(ec2_tags_add(&i->tags, "Service", long_value), 0);
        world_plan(&w);
        a = &w.plan.actions[0];
        assert_int_equal(strlen(a->image_name), 128);
        assert_true(ends_with(a->image_name, "s-i-1-" SLOT0_ID));
        /* 128 - "web-" - "--i-1-" - 16 = 102 characters for the two values: 51 each */
        assert_int_equal(strspn(a->image_name + 4, "s"), 51);

        /* a missing tag leaves an empty part, and the name still holds its slot */
        ec2_tags_done(&i->tags);
        world_plan(&w);
        assert_string_equal(w.plan.actions[0].image_name, "web---i-1-" SLOT0_ID);
        world_done(&w);
}

static void test_action_kind_strings(void **state) {
        (void) state;
        for (plan_action_kind k = 0; k < _PLAN_ACTION_KIND_MAX; k++)
                assert_int_equal(plan_action_kind_from_string(plan_action_kind_to_string(k)), k);
        assert_string_equal(plan_action_kind_to_string(PLAN_CREATE), "create");
        assert_string_equal(plan_action_kind_to_string(PLAN_RETIRE), "retire");
        assert_null(plan_action_kind_to_string(_PLAN_ACTION_KIND_MAX));
        assert_null(plan_action_kind_to_string(_PLAN_ACTION_KIND_INVALID));
        assert_int_equal(plan_action_kind_from_string("delete"), _PLAN_ACTION_KIND_INVALID);
        assert_int_equal(plan_action_kind_from_string(NULL), _PLAN_ACTION_KIND_INVALID);
}

static void test_bad_input(void **state) {
        plan p = {};
        plan_input in = { .n_images = 1 };
        world w;

        (void) state;
        world_init(&w, 1);
        assert_int_equal(plan_build(NULL, &p), -EINVAL);
        assert_int_equal(plan_build(&in, &p), -EINVAL);
        in.policy = &w.policy;
        assert_int_equal(plan_build(&in, &p), -EINVAL);        /* images NULL with n_images 1 */
        assert_null(p.actions);
        plan_done(&p);
        plan_done(NULL);
        world_done(&w);
}

/* ---- Generated fleets ------------------------------------------------------------------ */

static uint64_t seed;                   /* the case being checked, printed when it fails */
static uint64_t rng;

/* splitmix64: small, and the same sequence on every platform. */
static uint64_t rnd(void) {
        uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);

        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
}

static unsigned rnd_below(unsigned n) {
        return (unsigned) (rnd() % n);
}

static bool chance(unsigned percent) {
        return rnd_below(100) < percent;
}

#define check(cond)                                                                             \
        do {                                                                                    \
                if (!(cond)) {                                                                  \
                        print_error("seed %" PRIu64 ": %s:%d: %s\n"                             \
                                    "  (replay: AMIROTD_TEST_SEED=%" PRIu64 " AMIROTD_TEST_CASES=1)\n", \
                                    seed, __FILE__, __LINE__, #cond, seed);                     \
                        fail();                                                                 \
                }                                                                               \
        } while (0)

static uint64_t env_u64(const char *name, uint64_t def) {
        const char *e = getenv(name);

        return e ? strtoull(e, NULL, 0) : def;
}

static ec2_image_state random_image_state(void) {
        static const struct {
                ec2_image_state state;
                unsigned weight;
        } table[] = {
                { EC2_IMAGE_AVAILABLE,    55 },
                { EC2_IMAGE_PENDING,      10 },
                { EC2_IMAGE_FAILED,       10 },
                { EC2_IMAGE_DEREGISTERED,  8 },
                { EC2_IMAGE_DISABLED,      4 },
                { EC2_IMAGE_ERROR,         4 },
                { EC2_IMAGE_INVALID,       4 },
                { EC2_IMAGE_TRANSIENT,     5 },
        };
        unsigned x = rnd_below(100);

        for (size_t k = 0; k < ELEMENTSOF(table); k++) {
                if (x < table[k].weight)
                        return table[k].state;
                x -= table[k].weight;
        }
        return EC2_IMAGE_AVAILABLE;
}

/* A fleet of up to 8 instances, some selected and some not, and images of them and of
 * instances that are gone: this policy's, another policy's and hand-made ones, in every
 * state, some without their slot tag. */
static void world_generate(world *w) {
        unsigned n_instances = rnd_below(9), n_gone = rnd_below(3);

        world_init(w, 1 + rnd_below(5));
        policy_select(w, false, "Role", "web");
        policy_select(w, true, "amirotd-skip", NULL);
        w->policy.copy_instance_tags = chance(50);
        w->policy.retain_max_age = chance(50) ? 0 : (1 + rnd_below(10)) * (uint64_t) DAY;

        for (unsigned k = 0; k < n_instances; k++) {
                char id[32];
                bool running = chance(50);

                snprintf(id, sizeof(id), "i-%02u", k);
                switch (rnd_below(6)) {
                case 0 ... 2:
                        add_instance(w, id, running ? EC2_INSTANCE_RUNNING : EC2_INSTANCE_STOPPED,
                                     "Role", "web", "Name", chance(50) ? id : "web server", NULL);
                        assert_int_equal(strv_extend(&w->expect_selected, id), 0);
                        break;
                case 3:
                        add_instance(w, id, EC2_INSTANCE_RUNNING, "Role", "db", NULL);
                        break;
                case 4:
                        add_instance(w, id, EC2_INSTANCE_RUNNING, "Role", "web", "amirotd-skip", "", NULL);
                        break;
                default:
                        add_instance(w, id, running ? EC2_INSTANCE_TERMINATED : EC2_INSTANCE_PENDING,
                                     "Role", "web", NULL);
                }
                assert_int_equal(strv_extend(&w->instance_ids, id), 0);
        }
        for (unsigned k = 0; k < n_gone; k++) {
                char id[32];

                snprintf(id, sizeof(id), "i-gone%u", k);
                assert_int_equal(strv_extend(&w->instance_ids, id), 0);
        }

        for (char **id = w->instance_ids; id && *id; id++) {
                uint32_t slots_used = 0;
                unsigned n = rnd_below(9);

                for (unsigned k = 0; k < n; k++) {
                        unsigned back = rnd_below(16);
                        const char *owner;
                        ec2_image *g;
                        char image_id[48];

                        /* One image per instance and slot, so that their order is the slots'. */
                        if (slots_used & (1u << back))
                                continue;
                        slots_used |= 1u << back;
                        owner = chance(75) ? "web" : chance(50) ? "web2" : NULL;
                        snprintf(image_id, sizeof(image_id), "ami-%s-%u", *id, back);
                        g = add_image(w, image_id, random_image_state(), owner, *id, -(int) back);
                        g->creation_date = SLOT(-(int) back) + rnd_below(3600);
                        if (owner && chance(15)) {
                                /* Lost its slot tag: the creation date orders it. */
                                assert_string_equal(g->tags.items[2].key, TAG_SLOT);
                                free(g->tags.items[2].key);
                                free(g->tags.items[2].value);
                                g->tags.n = 2;
                        }
                }
        }
}

static ec2_image *find_image(world *w, const char *id) {
        for (size_t k = 0; k < w->n_images; k++)
                if (streq(w->images[k].id, id))
                        return &w->images[k];
        return NULL;
}

static bool is_ours(const ec2_image *g) {
        return streq_ptr(ec2_tags_get(&g->tags, TAG_POLICY), "web");
}

static bool is_ours_of(const ec2_image *g, const char *instance_id) {
        return is_ours(g) && streq_ptr(ec2_tags_get(&g->tags, TAG_INSTANCE_ID), instance_id);
}

static unsigned count_available(const world *w, const char *instance_id) {
        unsigned n = 0;

        for (size_t k = 0; k < w->n_images; k++)
                n += is_ours_of(&w->images[k], instance_id) && w->images[k].state == EC2_IMAGE_AVAILABLE;
        return n;
}

/* This policy's available images of an instance, newest first (generated images have
 * one slot each and a creation date within it, so the creation date orders them). */
static size_t available_newest_first(world *w, const char *instance_id, ec2_image **ret, size_t max) {
        size_t n = 0;

        for (size_t k = 0; k < w->n_images && n < max; k++)
                if (is_ours_of(&w->images[k], instance_id) && w->images[k].state == EC2_IMAGE_AVAILABLE)
                        ret[n++] = &w->images[k];
        for (size_t a = 1; a < n; a++)
                for (size_t b = a; b > 0 && ret[b - 1]->creation_date < ret[b]->creation_date; b--) {
                        ec2_image *t = ret[b];

                        ret[b] = ret[b - 1];
                        ret[b - 1] = t;
                }
        return n;
}

static bool slot_taken_by(const world *w, const char *instance_id, const char *slot) {
        char name[128];

        snprintf(name, sizeof(name), "web-%s-%s", instance_id, slot);
        for (size_t k = 0; k < w->n_images; k++) {
                const ec2_image *g = &w->images[k];

                if (is_ours(g) && streq(g->name, name) &&
                    (g->state == EC2_IMAGE_AVAILABLE || g->state == EC2_IMAGE_PENDING ||
                     g->state == EC2_IMAGE_TRANSIENT || g->state == EC2_IMAGE_DISABLED))
                        return true;
        }
        return false;
}

/* The rules, checked on w->plan against w's images, independently of plan.c. */
static void check_plan(world *w, time_t now) {
        const plan *p = &w->plan;
        char slot[SLOT_ID_MAX];
        const char *last_instance = "";
        int last_phase = 0;

        slot_id_format(now - ((now - SLOT0) % DAY + DAY) % DAY, slot);

        for (size_t k = 0; k < p->n; k++) {
                const plan_action *a = &p->actions[k];
                int phase;

                check(a->instance_id);
                if (a->kind == PLAN_RETIRE) {
                        const ec2_image *g = find_image(w, a->image_id);

                        /* Rule 2: only this policy's images, and only those that are done. */
                        check(g);
                        check(is_ours_of(g, a->instance_id));
                        check(g->state == EC2_IMAGE_AVAILABLE || g->state == EC2_IMAGE_FAILED ||
                              g->state == EC2_IMAGE_ERROR || g->state == EC2_IMAGE_INVALID);
                        check(a->image_state == g->state);
                        check(streq_ptr(a->slot, ec2_tags_get(&g->tags, TAG_SLOT)));
                        check(a->snapshot_ids && a->snapshot_ids[0] && startswith(a->snapshot_ids[0], "snap-"));
                        for (size_t j = 0; j < k; j++)
                                check(!streq_ptr(p->actions[j].image_id, a->image_id));
                        phase = g->state == EC2_IMAGE_AVAILABLE ? 2 : 0;
                        check(streq(a->reason, "failed") == (phase == 0));
                } else {
                        check(a->kind == PLAN_CREATE);
                        check(strv_contains(w->expect_selected, a->instance_id));
                        check(streq(a->slot, slot));
                        check(!slot_taken_by(w, a->instance_id, slot));
                        check(streq_ptr(ec2_tags_get(&a->image_tags, TAG_POLICY), "web"));
                        check(streq_ptr(ec2_tags_get(&a->image_tags, TAG_INSTANCE_ID), a->instance_id));
                        check(streq_ptr(ec2_tags_get(&a->image_tags, TAG_SLOT), slot));
                        check(streq_ptr(ec2_tags_get(&a->snapshot_tags, TAG_SLOT), slot));
                        check(strlen(a->image_name) <= 128);
                        phase = 1;
                }
                /* Order: by instance; failed retires, the create, then the others. */
                check(strcmp(last_instance, a->instance_id) <= 0);
                if (strcmp(last_instance, a->instance_id) < 0)
                        last_phase = 0;
                check(phase >= last_phase);
                check(!(phase == 1 && last_phase == 1 && k > 0 && streq(last_instance, a->instance_id)));
                last_instance = a->instance_id;
                last_phase = phase;
        }

        /* Every selected instance whose slot is free gets its image. */
        for (char **id = w->expect_selected; id && *id; id++) {
                bool created = false;

                for (size_t k = 0; k < p->n; k++)
                        created = created || (p->actions[k].kind == PLAN_CREATE && streq(p->actions[k].instance_id, *id));
                check(created == !slot_taken_by(w, *id, slot));
        }

        for (char **id = w->instance_ids; id && *id; id++) {
                ec2_image *avail[64];
                size_t n = available_newest_first(w, *id, avail, ELEMENTSOF(avail));
                unsigned count = w->policy.retain_count;

                /* Failed images are garbage. */
                for (size_t k = 0; k < w->n_images; k++) {
                        const ec2_image *g = &w->images[k];

                        if (is_ours_of(g, *id) && (g->state == EC2_IMAGE_FAILED || g->state == EC2_IMAGE_ERROR ||
                                                   g->state == EC2_IMAGE_INVALID))
                                check(find_retire(p, g->id));
                }
                /* The newest min(count, available) stay, unless max_age takes all but the
                 * newest; whatever lies beyond count goes. */
                for (size_t r = 0; r < n; r++) {
                        const plan_action *a = find_retire(p, avail[r]->id);
                        bool old = w->policy.retain_max_age > 0 && avail[r]->creation_date < now &&
                                (uint64_t) (now - avail[r]->creation_date) > w->policy.retain_max_age;
                        /* max_retire_per_run may hold one back for a later run. */
                        bool held = find_held(p, avail[r]->id);

                        check(!(a && held));
                        if (r == 0)
                                check(!a && !held);
                        else if (r < count)
                                check((a || held) == old);
                        else
                                check(a || held);
                        if (a && r < count)
                                check(startswith(a->reason, "older than max_age"));
                        if (a && !old)
                                check(startswith(a->reason, "beyond retain.count"));
                }
        }
}

/* What the engine would do: retired images disappear, created ones appear in state s. */
static void world_apply(world *w, ec2_image_state s, time_t now) {
        const plan *p = &w->plan;

        for (size_t k = 0; k < p->n; k++) {
                const plan_action *a = &p->actions[k];
                ec2_image *g;

                if (a->kind == PLAN_RETIRE) {
                        g = find_image(w, a->image_id);
                        check(g);
                        image_free(g);
                        memmove(g, g + 1, (size_t) (w->images + w->n_images - (g + 1)) * sizeof(ec2_image));
                        w->n_images--;
                        continue;
                }
                w->images = grow(w->images, w->n_images, sizeof(ec2_image));
                g = &w->images[w->n_images++];
                check(asprintf(&g->id, "ami-new%u", w->next_image++) > 0);
                g->name = xstrdup(a->image_name);
                g->state = s;
                g->creation_date = now;
                assert_int_equal(ec2_tags_copy(&a->image_tags, &g->tags), 0);
                g->devices = calloc(1, sizeof(ec2_block_device));
                assert_non_null(g->devices);
                g->n_devices = 1;
                g->devices[0].device_name = xstrdup("/dev/xvda");
                check(asprintf(&g->devices[0].snapshot_id, "snap-%s", g->id) > 0);
        }
}

static void world_set_state(world *w, ec2_image_state from, ec2_image_state to) {
        for (size_t k = 0; k < w->n_images; k++)
                if (w->images[k].state == from && startswith(w->images[k].id, "ami-new"))
                        w->images[k].state = to;
}

static void test_random_plans_keep_the_rules_and_converge(void **state) {
        uint64_t base = env_u64("AMIROTD_TEST_SEED", 20261126), cases = env_u64("AMIROTD_TEST_CASES", 2000);

        (void) state;
        for (seed = base; seed < base + cases; seed++) {
                time_t now;
                world w;

                rng = seed;
                world_generate(&w);
                now = SLOT0 + rnd_below(DAY);
                world_plan_at(&w, now);
                check_plan(&w, now);

                /* Rule 3: while the new images are pending, running again does nothing. */
                world_apply(&w, EC2_IMAGE_PENDING, now);
                world_plan_at(&w, now);
                check(w.plan.n == 0);

                /* Once they are available, retention makes room for them, and that is all. */
                world_set_state(&w, EC2_IMAGE_PENDING, EC2_IMAGE_AVAILABLE);
                world_plan_at(&w, now);
                check_plan(&w, now);
                check(count_kind(&w.plan, PLAN_CREATE) == 0);
                world_apply(&w, EC2_IMAGE_AVAILABLE, now);
                world_plan_at(&w, now);
                check(w.plan.n == 0);
                world_done(&w);
        }
}

static void test_random_failed_creates_never_cost_good_images(void **state) {
        uint64_t base = env_u64("AMIROTD_TEST_SEED", 20261126), cases = env_u64("AMIROTD_TEST_CASES", 2000);

        (void) state;
        for (seed = base; seed < base + cases; seed++) {
                time_t now;
                world w;

                rng = seed ^ 0x5eed;
                world_generate(&w);
                now = SLOT0 + rnd_below(DAY);
                for (int round = 0; round < 4; round++) {
                        unsigned before[16], k = 0;

                        for (char **id = w.instance_ids; id && *id; id++)
                                before[k++] = count_available(&w, *id);
                        world_plan_at(&w, now);
                        check_plan(&w, now);
                        world_apply(&w, chance(70) ? EC2_IMAGE_FAILED : EC2_IMAGE_AVAILABLE, now);

                        k = 0;
                        for (char **id = w.instance_ids; id && *id; id++, k++) {
                                unsigned after = count_available(&w, *id);

                                check(after >= (before[k] > 0 ? 1u : 0u));
                                if (w.policy.retain_max_age == 0)
                                        check(after >= MIN(w.policy.retain_count, before[k]));
                        }
                        now += rnd_below(3) * 3600;
                }
                world_done(&w);
        }
}

static void test_random_slots_keep_retain_count(void **state) {
        uint64_t base = env_u64("AMIROTD_TEST_SEED", 20261126), cases = env_u64("AMIROTD_TEST_CASES", 2000) / 3 + 1;

        (void) state;
        for (seed = base; seed < base + cases; seed++) {
                unsigned count, slots, initial[16];
                world w;

                rng = seed ^ 0x51075;
                world_generate(&w);
                w.policy.retain_max_age = 0;
                count = w.policy.retain_count;
                slots = count + 1 + rnd_below(4);
                for (char **id = w.instance_ids; id && *id; id++)
                        initial[id - w.instance_ids] = count_available(&w, *id);
                for (unsigned s = 1; s <= slots; s++) {
                        time_t now = SLOT(s) + rnd_below(DAY);
                        unsigned runs = 0;

                        /* Runs within the slot until there is nothing left to do; a create
                         * fails now and then and is tried again. */
                        for (;; runs++) {
                                check(runs < 30);
                                world_plan_at(&w, now);
                                check_plan(&w, now);
                                if (w.plan.n == 0)
                                        break;
                                world_apply(&w, chance(25) ? EC2_IMAGE_FAILED : EC2_IMAGE_AVAILABLE, now);
                        }
                        for (char **id = w.expect_selected; id && *id; id++) {
                                unsigned n = count_available(&w, *id);

                                check(n >= MIN(count, s) && n <= count);
                        }
                }
                for (char **id = w.expect_selected; id && *id; id++)
                        check(count_available(&w, *id) == count);
                /* Instances outside the fleet: retention trims them to count, and one that
                 * had a good image keeps one. */
                for (char **id = w.instance_ids; id && *id; id++)
                        if (!strv_contains(w.expect_selected, *id)) {
                                unsigned n = count_available(&w, *id);

                                check(n == MIN(count, initial[id - w.instance_ids]));
                        }
                world_done(&w);
        }
}

static bool action_same(const plan_action *a, const plan_action *b) {
        return a->kind == b->kind && streq(a->instance_id, b->instance_id) && streq_ptr(a->image_id, b->image_id) &&
                streq_ptr(a->image_name, b->image_name) && streq_ptr(a->slot, b->slot);
}

static bool image_is_future(const world *w, const char *id, time_t now) {
        for (size_t k = 0; k < w->n_images; k++) {
                const char *slot = ec2_tags_get(&w->images[k].tags, TAG_SLOT);
                time_t t;

                if (streq(w->images[k].id, id))
                        return slot && slot_id_parse(slot, &t) >= 0 && t > now;
        }
        return false;
}

/* Images of future slots (a clock that ran ahead) change nothing in the plan of the
 * current ones: the plan is the one without them, plus the retirement of those that
 * failed, and the others are reported. The run's own images are never retired. */
static void test_random_future_images_never_displace_current_ones(void **state) {
        uint64_t base = env_u64("AMIROTD_TEST_SEED", 20261126), cases = env_u64("AMIROTD_TEST_CASES", 2000);

        (void) state;
        for (seed = base; seed < base + cases; seed++) {
                _cleanup_(strv_freep) char **created = NULL;
                plan without = {};
                size_t future = 0, j = 0;
                time_t now;
                world w;

                rng = seed ^ 0xf07e;
                world_generate(&w);
                now = SLOT0 + rnd_below(DAY);
                world_plan_at(&w, now);
                without = w.plan;
                w.plan = (plan) {};

                for (char **id = w.instance_ids; id && *id; id++)
                        for (unsigned k = 1 + rnd_below(3), n = rnd_below(3); n > 0; n--, k++) {
                                char image_id[48];
                                ec2_image *g;

                                snprintf(image_id, sizeof(image_id), "ami-%s-future%u", *id, k);
                                g = add_image(&w, image_id, random_image_state(), "web", *id, (int) k);
                                future += g->state != EC2_IMAGE_FAILED && g->state != EC2_IMAGE_ERROR &&
                                        g->state != EC2_IMAGE_INVALID && g->state != EC2_IMAGE_DEREGISTERED &&
                                        g->state >= 0 && g->state < _EC2_IMAGE_STATE_MAX;
                        }
                world_plan_at(&w, now);

                check(w.plan.n_future == future);
                for (size_t k = 0; k < w.plan.n_future; k++)
                        check(image_is_future(&w, w.plan.future[k].image_id, now));
                for (size_t k = 0; k < w.plan.n; k++) {
                        const plan_action *a = &w.plan.actions[k];

                        if (a->image_id && image_is_future(&w, a->image_id, now)) {
                                check(a->kind == PLAN_RETIRE && streq(a->reason, "failed"));
                                continue;
                        }
                        check(j < without.n && action_same(a, &without.actions[j]));
                        j++;
                }
                check(j == without.n);
                plan_done(&without);

                /* The run's own images: a random choice of available ones stays. */
                for (size_t k = 0; k < w.n_images; k++)
                        if (w.images[k].state == EC2_IMAGE_AVAILABLE && chance(30))
                                assert_int_equal(strv_extend(&created, w.images[k].id), 0);
                world_plan_created(&w, now, created);
                for (size_t k = 0; k < w.plan.n; k++)
                        check(!w.plan.actions[k].image_id || !strv_contains(created, w.plan.actions[k].image_id));
                world_done(&w);
        }
}

static void test_sweeps_only_own_old_unreferenced_snapshots(void **state) {
        time_t old = NOW - PLAN_SNAPSHOT_GRACE - 1;
        world w;

        (void) state;
        world_init(&w, 3);
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-1", EC2_IMAGE_AVAILABLE, "web", "i-1", 0);
        add_image(&w, "ami-2", EC2_IMAGE_PENDING, "web", "i-1", -1);
        for (size_t d = 0; d < w.images[1].n_devices; d++) {  /* pending: snapshots not listed yet */
                free(w.images[1].devices[d].device_name);
                free(w.images[1].devices[d].snapshot_id);
        }
        w.images[1].n_devices = 0;

        add_snapshot(&w, "snap-orphan", EC2_SNAPSHOT_COMPLETED, "web", "i-1", -5, old);
        add_snapshot(&w, "snap-ami-1", EC2_SNAPSHOT_COMPLETED, "web", "i-1", 0, old);     /* in use */
        add_snapshot(&w, "snap-of-pending", EC2_SNAPSHOT_COMPLETED, "web", "i-1", -1, old);
        add_snapshot(&w, "snap-other", EC2_SNAPSHOT_COMPLETED, "db", "i-1", -5, old);
        add_snapshot(&w, "snap-hand", EC2_SNAPSHOT_COMPLETED, NULL, NULL, -5, old);
        add_snapshot(&w, "snap-young", EC2_SNAPSHOT_COMPLETED, "web", "i-1", -6, NOW - 60);
        add_snapshot(&w, "snap-pending", EC2_SNAPSHOT_PENDING, "web", "i-1", -7, old);
        add_snapshot(&w, "snap-error", EC2_SNAPSHOT_ERROR, "web", "i-1", -8, old);
        world_plan(&w);

        assert_int_equal(count_kind(&w.plan, PLAN_DELETE_SNAPSHOT), 2);
        assert_int_equal(count_kind(&w.plan, PLAN_RETIRE), 0);
        for (size_t k = 0; k < w.plan.n; k++) {
                const plan_action *a = &w.plan.actions[k];

                if (a->kind != PLAN_DELETE_SNAPSHOT)
                        continue;
                assert_string_equal(a->instance_id, "i-1");
                assert_non_null(a->snapshot_ids);
                assert_null(a->snapshot_ids[1]);
                assert_true(streq(a->snapshot_ids[0], "snap-orphan") || streq(a->snapshot_ids[0], "snap-error"));
                assert_non_null(a->reason);
        }
        world_done(&w);
}

/* ---- The bound on retirements per run (plan-bound.c) ---------------------------------- */

static size_t count_retention(const plan *p) {
        size_t n = 0;

        for (size_t k = 0; k < p->n; k++)
                n += p->actions[k].kind == PLAN_RETIRE && p->actions[k].retention;
        return n;
}

static size_t count_beyond(const plan *p) {
        size_t n = 0;

        for (size_t k = 0; k < p->n; k++)
                n += p->actions[k].kind == PLAN_RETIRE && p->actions[k].retention && p->actions[k].beyond_rotation;
        return n;
}

/* One instance with images in slots 0, -1, ..., -(n-1), named ami-00 (newest) to ami-NN. */
static void world_history(world *w, const char *instance_id, unsigned n) {
        for (unsigned k = 0; k < n; k++) {
                char id[32];

                snprintf(id, sizeof(id), "ami-%s-%02u", instance_id, k);
                add_image(w, id, EC2_IMAGE_AVAILABLE, "web", instance_id, -(int) k);
        }
}

/* retain.count lowered from 30 to 1 with the default 10%: the run retires one image as the
 * rotation and three more (a tenth of 30), the four oldest; the other 25 are held back,
 * oldest first, with retention's reason. */
static void test_bound_holds_back_all_but_the_oldest(void **state) {
        world w;

        (void) state;
        world_init(&w, 1);
        w.policy.max_retire_per_run = 10;
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        world_history(&w, "i-1", 30);
        world_plan(&w);

        assert_int_equal(w.plan.images_counted, 30);
        assert_int_equal(w.plan.retire_percent, 10);
        assert_int_equal(w.plan.retire_allowance, 3);
        assert_int_equal(w.plan.n, 4);
        assert_action(&w.plan, 0, PLAN_RETIRE, "i-1", "ami-i-1-29");
        assert_action(&w.plan, 1, PLAN_RETIRE, "i-1", "ami-i-1-28");
        assert_action(&w.plan, 2, PLAN_RETIRE, "i-1", "ami-i-1-27");
        assert_action(&w.plan, 3, PLAN_RETIRE, "i-1", "ami-i-1-26");
        assert_int_equal(w.plan.n_held, 25);
        for (size_t k = 0; k < w.plan.n_held; k++) {
                char id[32];

                snprintf(id, sizeof(id), "ami-i-1-%02zu", 25 - k);
                assert_string_equal(w.plan.held[k].image_id, id);
                assert_string_equal(w.plan.held[k].instance_id, "i-1");
                assert_string_equal(w.plan.held[k].reason, "beyond retain.count 1");
        }
        /* The images_after census does not count held images as gone. */
        assert_int_equal(w.plan.images_after[EC2_IMAGE_AVAILABLE], 26);
        world_done(&w);
}

/* A max_age typo (30m for 30d) asks for every image but the newest: the same bound. */
static void test_bound_applies_to_max_age(void **state) {
        world w;

        (void) state;
        world_init(&w, 30);
        w.policy.max_retire_per_run = 20;
        w.policy.retain_max_age = 30 * 60;
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        world_history(&w, "i-1", 20);
        world_plan(&w);

        assert_int_equal(w.plan.n, 1 + 4);
        assert_int_equal(w.plan.n_held, 14);
        assert_string_equal(w.plan.held[0].reason, "older than max_age 30m");
        assert_string_equal(w.plan.held[0].image_id, "ami-i-1-14");
        world_done(&w);
}

/* Runs after the bound continue where the last one stopped, oldest first, until
 * retention is met; the newest image is never retired. */
static void test_bound_later_runs_continue_oldest_first(void **state) {
        world w;
        unsigned runs = 0, next_oldest = 29;

        (void) state;
        world_init(&w, 1);
        w.policy.max_retire_per_run = 10;
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        world_history(&w, "i-1", 30);
        for (;; runs++) {
                assert_true(runs < 30);
                world_plan(&w);
                if (w.plan.n == 0)
                        break;
                assert_int_equal(w.plan.n, 1 + plan_retire_allowance(count_available(&w, "i-1"), 10));
                for (size_t k = 0; k < w.plan.n; k++) {
                        char id[32];

                        snprintf(id, sizeof(id), "ami-i-1-%02u", next_oldest--);
                        assert_action(&w.plan, k, PLAN_RETIRE, "i-1", id);
                }
                if (w.plan.n_held > 0) {
                        char id[32];

                        snprintf(id, sizeof(id), "ami-i-1-%02u", next_oldest);
                        assert_string_equal(w.plan.held[0].image_id, id);
                }
                world_apply(&w, EC2_IMAGE_AVAILABLE, NOW);
        }
        assert_int_equal(w.plan.n_held, 0);
        assert_int_equal(count_available(&w, "i-1"), 1);
        assert_non_null(find_image(&w, "ami-i-1-00"));
        /* 30 → 26 → 23 → 20 → 17 → 15 → 13 → 11 → 9, then one a run down to 1 */
        assert_int_equal(runs, 16);
        world_done(&w);
}

/* A normal rotation is never held back, even at 0% and with many instances: the new
 * image pushes one out of each instance, in the run's second plan. */
static void test_bound_never_holds_back_a_normal_rotation(void **state) {
        _cleanup_(strv_freep) char **created = NULL;
        world w;
        plan first;

        (void) state;
        world_init(&w, 3);
        w.policy.max_retire_per_run = 0;
        policy_select(&w, false, "Role", "web");
        for (unsigned i = 0; i < 20; i++) {
                char id[16];

                snprintf(id, sizeof(id), "i-%02u", i);
                add_instance(&w, id, EC2_INSTANCE_RUNNING, "Role", "web", NULL);
                for (int k = 1; k <= 3; k++) {
                        char image_id[32];

                        snprintf(image_id, sizeof(image_id), "ami-%s-%d", id, k);
                        add_image(&w, image_id, EC2_IMAGE_AVAILABLE, "web", id, -k);
                }
        }
        world_plan(&w);
        assert_int_equal(count_kind(&w.plan, PLAN_CREATE), 20);
        assert_int_equal(count_kind(&w.plan, PLAN_RETIRE), 0);
        world_apply(&w, EC2_IMAGE_AVAILABLE, NOW);
        for (unsigned k = 0; k < 20; k++) {
                char id[32];

                snprintf(id, sizeof(id), "ami-new%u", k);
                assert_int_equal(strv_extend(&created, id), 0);
        }
        first = w.plan;
        w.plan = (plan) {};
        world_plan_second(&w, NOW, created, &first);
        assert_int_equal(count_kind(&w.plan, PLAN_RETIRE), 20);
        assert_int_equal(w.plan.n_held, 0);
        for (size_t k = 0; k < w.plan.n; k++)
                assert_true(strlen(w.plan.actions[k].image_id) > 2 &&
                            streq(w.plan.actions[k].image_id + strlen(w.plan.actions[k].image_id) - 2, "-3"));
        plan_done(&first);

        /* The same with max_age: the first plan retires the one that aged out. */
        world_apply(&w, EC2_IMAGE_AVAILABLE, NOW);
        w.policy.retain_max_age = 2 * DAY - 1;
        world_plan_at(&w, SLOT(1) + 60);
        assert_int_equal(count_kind(&w.plan, PLAN_RETIRE), 20);
        assert_int_equal(w.plan.n_held, 0);
        world_done(&w);
}

/* Failed images are garbage: the bound never holds them back. */
static void test_bound_leaves_failed_images_alone(void **state) {
        world w;

        (void) state;
        world_init(&w, 1);
        w.policy.max_retire_per_run = 0;
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, NULL);
        add_image(&w, "ami-ok", EC2_IMAGE_AVAILABLE, "web", "i-1", 0);
        for (int k = 1; k <= 12; k++) {
                char id[32];

                snprintf(id, sizeof(id), "ami-failed-%d", k);
                add_image(&w, id, EC2_IMAGE_FAILED, "web", "i-1", -k);
        }
        world_plan(&w);
        assert_int_equal(count_kind(&w.plan, PLAN_RETIRE), 12);
        assert_int_equal(w.plan.n_held, 0);
        world_done(&w);
}

/* The bound is the run's: what the first plan retired counts against the second. */
static void test_bound_spans_both_plans_of_a_run(void **state) {
        _cleanup_(strv_freep) char **created = NULL;
        world w;
        plan first;

        (void) state;
        world_init(&w, 2);
        w.policy.max_retire_per_run = 10;
        policy_select(&w, false, "Role", "web");
        add_instance(&w, "i-1", EC2_INSTANCE_RUNNING, "Role", "web", NULL);
        for (int k = 1; k <= 20; k++) {
                char id[32];

                snprintf(id, sizeof(id), "ami-%02d", k);
                add_image(&w, id, EC2_IMAGE_AVAILABLE, "web", "i-1", -k);
        }
        world_plan(&w);
        /* 20 counted: the rotation and 2 more. */
        assert_int_equal(count_kind(&w.plan, PLAN_RETIRE), 3);
        assert_int_equal(count_kind(&w.plan, PLAN_CREATE), 1);
        world_apply(&w, EC2_IMAGE_AVAILABLE, NOW);
        assert_int_equal(strv_extend(&created, "ami-new0"), 0);
        first = w.plan;
        w.plan = (plan) {};
        world_plan_second(&w, NOW, created, &first);
        /* The new image pushes one out (its rotation), but the run has spent its allowance. */
        assert_int_equal(count_kind(&w.plan, PLAN_RETIRE), 1);
        assert_false(w.plan.actions[0].beyond_rotation);
        assert_string_equal(w.plan.actions[0].image_id, "ami-17");
        assert_int_equal(w.plan.n_held, 15);
        assert_int_equal(w.plan.retire_allowance, 2);
        plan_done(&first);
        world_done(&w);
}

/* Over generated fleets and any share: a run (two plans) never retires more than one
 * image per instance and one per new image, plus its allowance; what it retires beyond the rotation is never
 * newer than what it holds back; the newest image stays; held plus retired is what an
 * unbounded plan would retire; and runs converge to retain.count. */
static void check_bounded_plan(world *w, time_t now) {
        const plan *p = &w->plan;
        _cleanup_(plan_done) plan unbounded = {};
        unsigned percent = w->policy.max_retire_per_run;
        const char *last = NULL;
        plan_input in = {
                .policy = &w->policy, .region = "us-east-1", .now = now,
                .instances = w->instances, .n_instances = w->n_instances,
                .images = w->images, .n_images = w->n_images,
        };

        check_plan(w, now);
        w->policy.max_retire_per_run = 100;
        check(plan_build(&in, &unbounded) == 0);
        w->policy.max_retire_per_run = percent;
        check(count_retention(&unbounded) == count_retention(p) + p->n_held);
        for (size_t k = 0; k < p->n_held; k++) {
                check(find_retire(&unbounded, p->held[k].image_id));
                check(k == 0 || p->held[k - 1].age_key <= p->held[k].age_key);
        }
        for (size_t k = 0; k < p->n; k++) {
                const plan_action *a = &p->actions[k];
                bool rotation;

                if (a->kind != PLAN_RETIRE || !a->retention)
                        continue;
                rotation = !streq_ptr(last, a->instance_id);
                last = a->instance_id;
                for (size_t h = 0; !rotation && h < p->n_held; h++)
                        check(a->age_key <= p->held[h].age_key);
        }
}

static void test_random_bound_per_run(void **state) {
        uint64_t base = env_u64("AMIROTD_TEST_SEED", 20261126), cases = env_u64("AMIROTD_TEST_CASES", 2000);

        (void) state;
        for (seed = base; seed < base + cases; seed++) {
                world w;
                time_t now;
                unsigned runs = 0;

                rng = seed ^ 0xb0d;
                world_generate(&w);
                w.policy.max_retire_per_run = chance(30) ? 0 : rnd_below(101);
                now = SLOT0 + rnd_below(DAY);
                for (;; runs++) {
                        _cleanup_(strv_freep) char **created = NULL;
                        size_t retired, instances = 0;
                        unsigned first_new = w.next_image;
                        const char *last = NULL;
                        plan first;

                        check(runs < 60);
                        world_plan_at(&w, now);
                        check_bounded_plan(&w, now);
                        world_apply(&w, EC2_IMAGE_AVAILABLE, now);
                        for (unsigned k = first_new; k < w.next_image; k++) {
                                char id[32];

                                snprintf(id, sizeof(id), "ami-new%u", k);
                                check(strv_extend(&created, id) == 0);
                        }
                        first = w.plan;
                        w.plan = (plan) {};
                        world_plan_second(&w, now, created, &first);
                        check(count_kind(&w.plan, PLAN_CREATE) == 0);
                        check(w.plan.retire_allowance == plan_retire_allowance(first.images_counted,
                                                                              w.policy.max_retire_per_run));
                        retired = count_retention(&first) + count_retention(&w.plan);
                        /* Instances that retired by retention in this run, over both plans. */
                        for (size_t k = 0; k < first.n; k++)
                                if (first.actions[k].kind == PLAN_RETIRE && first.actions[k].retention &&
                                    !streq_ptr(last, first.actions[k].instance_id)) {
                                        instances++;
                                        last = first.actions[k].instance_id;
                                }
                        for (size_t k = 0; k < w.plan.n; k++)
                                if (w.plan.actions[k].kind == PLAN_RETIRE && w.plan.actions[k].retention &&
                                    !find_retire(&first, w.plan.actions[k].image_id)) {
                                        bool seen = false;

                                        for (size_t j = 0; j < first.n; j++)
                                                seen = seen || (first.actions[j].retention &&
                                                                streq(first.actions[j].instance_id,
                                                                      w.plan.actions[k].instance_id));
                                        for (size_t j = 0; j < k; j++)
                                                seen = seen || (w.plan.actions[j].retention &&
                                                                streq(w.plan.actions[j].instance_id,
                                                                      w.plan.actions[k].instance_id));
                                        instances += !seen;
                                }
                        check(retired <= instances + strv_length(created) + first.retire_allowance);
                        check(count_beyond(&first) + count_beyond(&w.plan) <= first.retire_allowance);
                        world_apply(&w, EC2_IMAGE_AVAILABLE, now);
                        plan_done(&first);
                        /* A day later, a new slot: each run creates and rotates. */
                        now += DAY;
                        if (w.plan.n_held == 0)
                                break;
                }
                /* Converged: every instance of the policy at or below retain.count. */
                for (char **id = w.instance_ids; id && *id; id++)
                        if (w.policy.retain_max_age == 0)
                                check(count_available(&w, *id) <= w.policy.retain_count);
                world_done(&w);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_creates_image_for_selected_instance),
                cmocka_unit_test(test_no_create_when_current_slot_pending_or_available),
                cmocka_unit_test(test_no_create_when_name_taken_without_slot_tag),
                cmocka_unit_test(test_failed_current_slot_recreated_after_retire),
                cmocka_unit_test(test_error_and_invalid_images_are_failed),
                cmocka_unit_test(test_never_touches_image_without_policy_tag),
                cmocka_unit_test(test_retire_beyond_count_oldest_first),
                cmocka_unit_test(test_images_after_counts_the_outcome_by_state),
                cmocka_unit_test(test_retire_keeps_newest_available_when_create_fails),
                cmocka_unit_test(test_pending_not_counted_nor_retired),
                cmocka_unit_test(test_deregistered_and_disabled_images_are_left_alone),
                cmocka_unit_test(test_disabled_image_neither_counted_nor_retired_nor_swept),
                cmocka_unit_test(test_future_slot_neither_counted_nor_retired),
                cmocka_unit_test(test_image_created_by_the_run_is_never_retired_by_it),
                cmocka_unit_test(test_max_age_keeps_newest_available),
                cmocka_unit_test(test_copy_instance_tags_skips_aws_keys),
                cmocka_unit_test(test_copied_tags_stop_at_ec2_limit),
                cmocka_unit_test(test_target_tags),
                cmocka_unit_test(test_exclude_tags),
                cmocka_unit_test(test_states),
                cmocka_unit_test(test_unselected_instance_keeps_newest_images),
                cmocka_unit_test(test_retire_carries_image_details),
                cmocka_unit_test(test_order_is_by_instance_then_failed_create_retire),
                cmocka_unit_test(test_newest_by_slot_then_creation_date_then_id),
                cmocka_unit_test(test_listed_twice_planned_once),
                cmocka_unit_test(test_render_template),
                cmocka_unit_test(test_render_instance_tag),
                cmocka_unit_test(test_image_tags_rendered),
                cmocka_unit_test(test_image_name_instance_tag_cut_before_slot),
                cmocka_unit_test(test_image_name_sanitized_and_slot_survives_cut),
                cmocka_unit_test(test_action_kind_strings),
                cmocka_unit_test(test_sweeps_only_own_old_unreferenced_snapshots),
                cmocka_unit_test(test_bad_input),
                cmocka_unit_test(test_random_plans_keep_the_rules_and_converge),
                cmocka_unit_test(test_random_failed_creates_never_cost_good_images),
                cmocka_unit_test(test_random_slots_keep_retain_count),
                cmocka_unit_test(test_random_future_images_never_displace_current_ones),
                cmocka_unit_test(test_bound_holds_back_all_but_the_oldest),
                cmocka_unit_test(test_bound_applies_to_max_age),
                cmocka_unit_test(test_bound_later_runs_continue_oldest_first),
                cmocka_unit_test(test_bound_never_holds_back_a_normal_rotation),
                cmocka_unit_test(test_bound_leaves_failed_images_alone),
                cmocka_unit_test(test_bound_spans_both_plans_of_a_run),
                cmocka_unit_test(test_random_bound_per_run),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
