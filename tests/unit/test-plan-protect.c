/* SPDX-License-Identifier: MIT */
/*
 * Deregistration protection (plan-protect.c): the newest protect.newest available images
 * of each selected instance are protected, amirotd's protection beyond them is turned
 * off, someone else's is never touched, and a retirement never meets a protection it
 * cannot pass. Rules one test each, then the same over generated histories.
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
#define MAX_IMAGES 64
#define MAX_INSTANCES 8

typedef struct fleet {
        policy policy;
        ec2_instance instances[MAX_INSTANCES];
        size_t n_instances;
        ec2_image images[MAX_IMAGES];
        size_t n_images;
        bool others[MAX_IMAGES];        /* protected by someone else at the start */
        plan plan;
} fleet;

static void fleet_init(fleet *f, unsigned count, unsigned newest, bool cooldown) {
        *f = (fleet) {
                .policy = {
                        .name = (char *) "web",
                        .states = (1u << EC2_INSTANCE_RUNNING) | (1u << EC2_INSTANCE_STOPPED),
                        .schedule = { .kind = SCHEDULE_EVERY, .every = DAY, .at = 3 * 3600 },
                        .name_template = (char *) "{policy}-{instance_id}-{slot}",
                        .retain_count = count,
                        .max_retire_per_run = 100,
                        .protect_newest = newest,
                        .protect_newest_cooldown = cooldown,
                },
        };
}

static void fleet_done(fleet *f) {
        for (size_t k = 0; k < f->n_instances; k++)
                free(f->instances[k].id);
        for (size_t k = 0; k < f->n_images; k++) {
                free(f->images[k].id);
                free(f->images[k].name);
                ec2_tags_done(&f->images[k].tags);
        }
        plan_done(&f->plan);
}

static void add_instance(fleet *f, const char *id, ec2_instance_state state) {
        assert_true(f->n_instances < MAX_INSTANCES);
        f->instances[f->n_instances++] = (ec2_instance) { .id = strdup(id), .state = state };
}

/* An image of instance_id in slot k, with protection d, marked by amirotd when marked. */
static ec2_image *add_image(fleet *f, const char *instance_id, int k, ec2_image_state state,
                            ec2_dereg_protection d, bool marked) {
        char slot[SLOT_ID_MAX], id[64], name[128];
        ec2_image *g;

        assert_true(f->n_images < MAX_IMAGES);
        slot_id_format(SLOT(k), slot);
        snprintf(id, sizeof(id), "ami-%s-%03d", instance_id, k + 500);
        snprintf(name, sizeof(name), "web-%s-%s", instance_id, slot);
        f->others[f->n_images] = ec2_dereg_protection_on(d) && !marked;
        g = &f->images[f->n_images++];
        *g = (ec2_image) { .id = strdup(id), .name = strdup(name), .state = state, .dereg_protection = d,
                           .creation_date = SLOT(k) + 600 };
        assert_int_equal(ec2_tags_add(&g->tags, TAG_POLICY, "web"), 0);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_INSTANCE_ID, instance_id), 0);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_SLOT, slot), 0);
        if (marked)
                assert_int_equal(ec2_tags_add(&g->tags, TAG_PROTECTED, "no-cooldown"), 0);
        return g;
}

static void fleet_plan(fleet *f) {
        plan_input in = {
                .policy = &f->policy,
                .region = "us-east-1",
                .now = NOW,
                .instances = f->instances,
                .n_instances = f->n_instances,
                .images = f->images,
                .n_images = f->n_images,
        };

        plan_done(&f->plan);
        assert_int_equal(plan_build(&in, &f->plan), 0);
}

static ec2_image *image(fleet *f, const char *id) {
        for (size_t k = 0; k < f->n_images; k++)
                if (streq(f->images[k].id, id))
                        return &f->images[k];
        fail_msg("no image %s", id);
        return NULL;
}

static bool marked(const ec2_image *g) {
        return ec2_tags_get(&g->tags, TAG_PROTECTED) != NULL;
}

static void unmark(ec2_image *g) {
        ec2_tags t = {};

        for (size_t k = 0; k < g->tags.n; k++)
                if (!streq(g->tags.items[k].key, TAG_PROTECTED))
                        assert_int_equal(ec2_tags_add(&t, g->tags.items[k].key, g->tags.items[k].value), 0);
        ec2_tags_done(&g->tags);
        g->tags = t;
}

/* What EC2 would make of the plan, in order; a RETIRE never meets protection. */
static void fleet_apply(fleet *f) {
        for (size_t k = 0; k < f->plan.n; k++) {
                const plan_action *a = &f->plan.actions[k];
                ec2_image *g;

                if (a->kind == PLAN_CREATE)
                        continue;
                g = image(f, a->image_id);
                switch (a->kind) {
                case PLAN_PROTECT:
                        assert_int_equal(ec2_tags_add(&g->tags, TAG_PROTECTED, a->with_cooldown ? "cooldown" : "no-cooldown"), 0);
                        g->dereg_protection = a->with_cooldown ? EC2_DEREG_PROTECTION_ENABLED_COOLDOWN :
                                EC2_DEREG_PROTECTION_ENABLED;
                        break;
                case PLAN_UNPROTECT:
                        assert_true(marked(g));
                        if (g->dereg_protection == EC2_DEREG_PROTECTION_ENABLED_COOLDOWN)
                                g->dereg_protection = EC2_DEREG_PROTECTION_COOLDOWN;
                        else if (g->dereg_protection == EC2_DEREG_PROTECTION_ENABLED)
                                g->dereg_protection = EC2_DEREG_PROTECTION_DISABLED;
                        else
                                assert_true(a->tag_only);
                        unmark(g);
                        break;
                case PLAN_RETIRE:
                        assert_int_equal(g->dereg_protection, EC2_DEREG_PROTECTION_DISABLED);
                        g->state = EC2_IMAGE_DEREGISTERED;
                        break;
                default:
                        break;
                }
        }
}

static const plan_action *find(const plan *p, plan_action_kind kind, const char *image_id) {
        for (size_t k = 0; k < p->n; k++)
                if (p->actions[k].kind == kind && streq_ptr(p->actions[k].image_id, image_id))
                        return &p->actions[k];
        return NULL;
}

static size_t index_of(const plan *p, const plan_action *a) {
        return (size_t) (a - p->actions);
}

static const char *skipped(const plan *p, const char *image_id) {
        for (size_t k = 0; k < p->n_skipped; k++)
                if (streq(p->skipped[k].image_id, image_id))
                        return p->skipped[k].reason;
        return NULL;
}

static size_t count_kind(const plan *p, plan_action_kind kind) {
        size_t n = 0;

        for (size_t k = 0; k < p->n; k++)
                n += p->actions[k].kind == kind;
        return n;
}

/* ---- Rules ----------------------------------------------------------------------------- */

static void test_protects_the_newest_n(void **state) {
        fleet f;
        ec2_image *g[4];

        (void) state;
        fleet_init(&f, 3, 2, false);
        add_instance(&f, "i-1", EC2_INSTANCE_RUNNING);
        for (int k = 0; k < 4; k++)
                g[k] = add_image(&f, "i-1", -k, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_DISABLED, false);
        fleet_plan(&f);
        assert_int_equal(count_kind(&f.plan, PLAN_CREATE), 0);         /* the slot has its image */
        assert_int_equal(count_kind(&f.plan, PLAN_PROTECT), 2);
        assert_non_null(find(&f.plan, PLAN_PROTECT, g[0]->id));
        assert_non_null(find(&f.plan, PLAN_PROTECT, g[1]->id));
        assert_string_equal(find(&f.plan, PLAN_PROTECT, g[0]->id)->reason, "newest 2 of i-1");
        assert_false(find(&f.plan, PLAN_PROTECT, g[0]->id)->with_cooldown);
        assert_non_null(find(&f.plan, PLAN_RETIRE, g[3]->id));
        assert_int_equal(count_kind(&f.plan, PLAN_UNPROTECT), 0);

        /* Applied and planned again: nothing more to do. */
        fleet_apply(&f);
        fleet_plan(&f);
        assert_int_equal(f.plan.n, 0);
        fleet_done(&f);
}

static void test_unprotects_its_own_beyond_n_and_never_others(void **state) {
        fleet f;
        ec2_image *g[5];
        const plan_action *u, *r;

        (void) state;
        fleet_init(&f, 2, 2, false);
        add_instance(&f, "i-1", EC2_INSTANCE_RUNNING);
        for (int k = 0; k < 4; k++)
                g[k] = add_image(&f, "i-1", -k, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_ENABLED, true);
        g[4] = add_image(&f, "i-1", -4, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_ENABLED, false);
        fleet_plan(&f);
        assert_int_equal(count_kind(&f.plan, PLAN_PROTECT), 0);
        for (int k = 2; k < 4; k++) {
                /* The UNPROTECT comes first, in the instance's chain. */
                u = find(&f.plan, PLAN_UNPROTECT, g[k]->id);
                r = find(&f.plan, PLAN_RETIRE, g[k]->id);
                assert_non_null(u);
                assert_non_null(r);
                assert_true(index_of(&f.plan, u) < index_of(&f.plan, r));
                assert_false(u->tag_only);
                assert_string_equal(u->reason, "no longer among the newest 2");
        }
        assert_null(find(&f.plan, PLAN_UNPROTECT, g[4]->id));
        assert_null(find(&f.plan, PLAN_RETIRE, g[4]->id));
        assert_string_equal(skipped(&f.plan, g[4]->id), "deregistration protection turned on by someone else");
        fleet_apply(&f);
        assert_int_equal(g[4]->dereg_protection, EC2_DEREG_PROTECTION_ENABLED);
        fleet_done(&f);
}

static void test_cooldown_keeps_the_image_until_it_ends(void **state) {
        fleet f;
        ec2_image *g[4];

        (void) state;
        fleet_init(&f, 1, 1, true);
        add_instance(&f, "i-1", EC2_INSTANCE_RUNNING);
        g[0] = add_image(&f, "i-1", 0, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_ENABLED_COOLDOWN, true);
        g[1] = add_image(&f, "i-1", -1, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_ENABLED_COOLDOWN, true);
        g[2] = add_image(&f, "i-1", -2, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_COOLDOWN, false);
        g[3] = add_image(&f, "i-1", -3, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_COOLDOWN, true);
        fleet_plan(&f);
        /* Turned off now, retired by a later run. */
        assert_non_null(find(&f.plan, PLAN_UNPROTECT, g[1]->id));
        assert_null(find(&f.plan, PLAN_RETIRE, g[1]->id));
        assert_non_null(strstr(skipped(&f.plan, g[1]->id), "cooldown"));
        /* In the cooldown: not tried. A mark left by a crash is removed. */
        assert_null(find(&f.plan, PLAN_RETIRE, g[2]->id));
        assert_string_equal(skipped(&f.plan, g[2]->id), "deregistration protection is in its 24 h cooldown");
        assert_null(find(&f.plan, PLAN_UNPROTECT, g[2]->id));
        assert_true(find(&f.plan, PLAN_UNPROTECT, g[3]->id)->tag_only);
        assert_null(find(&f.plan, PLAN_RETIRE, g[3]->id));
        fleet_apply(&f);

        /* Once the cooldown has passed, DescribeImages says "disabled". */
        for (int k = 1; k < 4; k++)
                g[k]->dereg_protection = EC2_DEREG_PROTECTION_DISABLED;
        fleet_plan(&f);
        for (int k = 1; k < 4; k++)
                assert_non_null(find(&f.plan, PLAN_RETIRE, g[k]->id));
        assert_int_equal(f.plan.n, 3);
        fleet_done(&f);
}

static void test_a_new_image_on_its_way_takes_a_place(void **state) {
        fleet f;
        ec2_image *g[3];

        (void) state;
        fleet_init(&f, 5, 2, false);
        add_instance(&f, "i-1", EC2_INSTANCE_RUNNING);
        for (int k = 1; k <= 3; k++)
                g[k - 1] = add_image(&f, "i-1", -k, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_DISABLED, false);
        fleet_plan(&f);
        assert_int_equal(count_kind(&f.plan, PLAN_CREATE), 1);
        /* The newest existing one only: the new image takes the other place. */
        assert_non_null(find(&f.plan, PLAN_PROTECT, g[0]->id));
        assert_null(find(&f.plan, PLAN_PROTECT, g[1]->id));
        assert_int_equal(f.plan.n, 2);

        /* And the second keeps its protection until the new one is there. */
        g[1]->dereg_protection = EC2_DEREG_PROTECTION_ENABLED;
        assert_int_equal(ec2_tags_add(&g[1]->tags, TAG_PROTECTED, "no-cooldown"), 0);
        g[2]->dereg_protection = EC2_DEREG_PROTECTION_ENABLED;
        assert_int_equal(ec2_tags_add(&g[2]->tags, TAG_PROTECTED, "no-cooldown"), 0);
        fleet_plan(&f);
        assert_null(find(&f.plan, PLAN_UNPROTECT, g[1]->id));
        assert_non_null(find(&f.plan, PLAN_UNPROTECT, g[2]->id));
        fleet_done(&f);
}

static void test_as_the_new_image_becomes_available(void **state) {
        fleet f;
        ec2_image *old[2];
        plan_image_index x = {};
        plan_ready_image ready = { .instance_id = (char *) "i-1", .image_id = (char *) "ami-new" };
        plan_input in;
        plan p = {};

        (void) state;
        fleet_init(&f, 5, 2, true);
        add_instance(&f, "i-1", EC2_INSTANCE_RUNNING);
        for (int k = 1; k <= 2; k++) {
                old[k - 1] = add_image(&f, "i-1", -k, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_ENABLED_COOLDOWN,
                                       true);
        }
        in = (plan_input) { .policy = &f.policy, .region = "us-east-1", .now = NOW };
        assert_int_equal(plan_image_index_build(f.images, f.n_images, "web", &x), 0);
        assert_int_equal(plan_retire_ready(&in, &x, &ready, 1, &p), 0);
        assert_int_equal(p.n, 2);
        assert_int_equal(p.actions[0].kind, PLAN_PROTECT);
        assert_string_equal(p.actions[0].image_id, "ami-new");
        assert_true(p.actions[0].with_cooldown);
        assert_int_equal(p.actions[1].kind, PLAN_UNPROTECT);
        assert_string_equal(p.actions[1].image_id, old[1]->id);
        plan_done(&p);
        plan_image_index_done(&x);
        fleet_done(&f);
}

static void test_crash_leftovers_and_departed_instances(void **state) {
        fleet f;
        ec2_image *a, *b, *c, *d;

        (void) state;
        fleet_init(&f, 5, 1, false);
        add_instance(&f, "i-1", EC2_INSTANCE_RUNNING);
        add_instance(&f, "i-2", EC2_INSTANCE_TERMINATED);
        /* Tagged, then the crash before EnableImageDeregistrationProtection. */
        a = add_image(&f, "i-1", 0, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_DISABLED, true);
        /* Turned off, then the crash before DeleteTags. */
        b = add_image(&f, "i-1", -1, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_DISABLED, true);
        /* The instance left the fleet: its protection goes, someone else's stays. */
        c = add_image(&f, "i-2", -1, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_ENABLED, true);
        d = add_image(&f, "i-2", -2, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_ENABLED, false);
        fleet_plan(&f);
        assert_non_null(find(&f.plan, PLAN_PROTECT, a->id));
        assert_true(find(&f.plan, PLAN_UNPROTECT, b->id)->tag_only);
        assert_false(find(&f.plan, PLAN_UNPROTECT, c->id)->tag_only);
        assert_null(find(&f.plan, PLAN_UNPROTECT, d->id));
        assert_int_equal(f.plan.n, 3);
        /* Actions stay grouped by instance, in id order. */
        assert_string_equal(f.plan.actions[2].instance_id, "i-2");
        fleet_done(&f);
}

static void test_off_without_protect_newest(void **state) {
        fleet f;
        ec2_image *a, *b;

        (void) state;
        fleet_init(&f, 1, 0, false);
        add_instance(&f, "i-1", EC2_INSTANCE_RUNNING);
        a = add_image(&f, "i-1", 0, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_DISABLED, false);
        b = add_image(&f, "i-1", -1, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_DISABLED, false);
        fleet_plan(&f);
        assert_int_equal(f.plan.n, 1);
        assert_non_null(find(&f.plan, PLAN_RETIRE, b->id));
        /* protect.newest removed from the policy: amirotd's protection goes. */
        a->dereg_protection = EC2_DEREG_PROTECTION_ENABLED;
        assert_int_equal(ec2_tags_add(&a->tags, TAG_PROTECTED, "no-cooldown"), 0);
        fleet_plan(&f);
        assert_string_equal(find(&f.plan, PLAN_UNPROTECT, a->id)->reason, "protect.newest is off");
        fleet_done(&f);
}

/* Retirements that protection skips do not use up the bound of the run (plan-bound.c). */
static void test_kept_images_spend_no_rotation(void **state) {
        fleet f;
        ec2_image *g[4];

        (void) state;
        fleet_init(&f, 1, 0, false);
        f.policy.max_retire_per_run = 0;        /* the rotation only: one image per instance */
        add_instance(&f, "i-1", EC2_INSTANCE_RUNNING);
        for (int k = 0; k < 4; k++)
                g[k] = add_image(&f, "i-1", -k, EC2_IMAGE_AVAILABLE,
                                 k >= 2 ? EC2_DEREG_PROTECTION_ENABLED : EC2_DEREG_PROTECTION_DISABLED, false);
        fleet_plan(&f);
        assert_int_equal(f.plan.n, 1);
        assert_non_null(find(&f.plan, PLAN_RETIRE, g[1]->id));
        assert_int_equal(f.plan.n_skipped, 2);
        assert_int_equal(f.plan.n_held, 0);
        fleet_done(&f);
}

/* ---- Generated histories --------------------------------------------------------------- */

static uint64_t seed_state;

static uint64_t rnd(void) {
        /* splitmix64 */
        uint64_t z = (seed_state += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static unsigned rnd_below(unsigned n) {
        return (unsigned) (rnd() % n);
}

static const ec2_dereg_protection protections[] = {
        EC2_DEREG_PROTECTION_DISABLED, EC2_DEREG_PROTECTION_DISABLED, EC2_DEREG_PROTECTION_ENABLED,
        EC2_DEREG_PROTECTION_ENABLED_COOLDOWN, EC2_DEREG_PROTECTION_COOLDOWN,
};

static void generate(fleet *f) {
        static const char *const ids[] = { "i-1", "i-2", "i-3", "i-4" };

        fleet_init(f, 1 + rnd_below(4), 1 + rnd_below(4), rnd_below(2));
        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                unsigned n = rnd_below(8);

                add_instance(f, ids[i], rnd_below(4) ? EC2_INSTANCE_RUNNING : EC2_INSTANCE_TERMINATED);
                /* The current slot has its image (available or pending): no CREATE. */
                add_image(f, ids[i], 0, rnd_below(3) ? EC2_IMAGE_AVAILABLE : EC2_IMAGE_PENDING,
                          EC2_DEREG_PROTECTION_DISABLED, false);
                for (unsigned k = 1; k <= n; k++) {
                        ec2_dereg_protection d = protections[rnd_below(ELEMENTSOF(protections))];

                        add_image(f, ids[i], -(int) k, rnd_below(6) ? EC2_IMAGE_AVAILABLE : EC2_IMAGE_FAILED,
                                  d, rnd_below(2));
                }
        }
}

/* After the plan: the newest protect.newest available images of each selected instance are
 * protected by amirotd (or by someone else); no other image carries amirotd's protection;
 * someone else's protection is as it was. */
static void check(fleet *f, const ec2_dereg_protection *before) {
        for (size_t i = 0; i < f->n_instances; i++) {
                bool selected = f->instances[i].state == EC2_INSTANCE_RUNNING;
                unsigned rank = 0;

                /* Images were added newest first per instance. */
                for (size_t k = 0; k < f->n_images; k++) {
                        ec2_image *g = &f->images[k];

                        if (!streq(ec2_tags_get(&g->tags, TAG_INSTANCE_ID), f->instances[i].id))
                                continue;
                        if (f->others[k]) {
                                assert_int_equal(g->dereg_protection, before[k]);
                                assert_int_not_equal(g->state, EC2_IMAGE_DEREGISTERED);
                                assert_false(marked(g));
                        }
                        if (g->state != EC2_IMAGE_AVAILABLE)
                                continue;
                        if (selected && rank < f->policy.protect_newest)
                                assert_true(ec2_dereg_protection_on(g->dereg_protection));
                        else if (!f->others[k])
                                assert_false(marked(g) && ec2_dereg_protection_on(g->dereg_protection));
                        if (marked(g))
                                assert_true(ec2_dereg_protection_on(g->dereg_protection));
                        if (ec2_dereg_protection_on(g->dereg_protection) && !f->others[k])
                                assert_true(marked(g));
                        rank++;
                }
        }
}

static void test_generated_histories(void **state) {
        const char *env = getenv("AMIROTD_TEST_SEED"), *cases_env = getenv("AMIROTD_TEST_CASES");
        uint64_t first = env ? strtoull(env, NULL, 10) : 1;
        unsigned cases = cases_env ? (unsigned) strtoul(cases_env, NULL, 10) : 2000;

        (void) state;
        for (uint64_t seed = first; seed < first + cases; seed++) {
                ec2_dereg_protection before[MAX_IMAGES];
                fleet f;

                seed_state = seed;
                generate(&f);
                for (size_t k = 0; k < f.n_images; k++)
                        before[k] = f.images[k].dereg_protection;
                fleet_plan(&f);
                fleet_apply(&f);
                if (getenv("AMIROTD_TEST_VERBOSE"))
                        fprintf(stderr, "seed %" PRIu64 ": %zu actions\n", seed, f.plan.n);
                check(&f, before);

                /* Planned again: amirotd's protection is settled. */
                fleet_plan(&f);
                assert_int_equal(count_kind(&f.plan, PLAN_PROTECT), 0);
                fleet_done(&f);
        }
}

/* A released image (retire stages) has left retention: it is not among the newest N,
 * loses amirotd's protection, and the next one down is protected in its place. */
static void test_a_released_image_is_not_among_the_newest(void **state) {
        fleet f;

        (void) state;
        fleet_init(&f, 3, 2, false);
        add_instance(&f, "i-a", EC2_INSTANCE_RUNNING);
        add_image(&f, "i-a", -2, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_DISABLED, false);
        assert_int_equal(ec2_tags_add(&add_image(&f, "i-a", -1, EC2_IMAGE_AVAILABLE,
                                                 EC2_DEREG_PROTECTION_ENABLED, true)->tags,
                                      TAG_RETIRED_AT, "2026-11-26T03:30:00Z"), 0);
        add_image(&f, "i-a", 0, EC2_IMAGE_AVAILABLE, EC2_DEREG_PROTECTION_ENABLED, true);
        fleet_plan(&f);
        assert_non_null(find(&f.plan, PLAN_UNPROTECT, "ami-i-a-499"));
        assert_non_null(find(&f.plan, PLAN_PROTECT, "ami-i-a-498"));
        assert_null(find(&f.plan, PLAN_UNPROTECT, "ami-i-a-500"));
        fleet_done(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_protects_the_newest_n),
                cmocka_unit_test(test_a_released_image_is_not_among_the_newest),
                cmocka_unit_test(test_unprotects_its_own_beyond_n_and_never_others),
                cmocka_unit_test(test_cooldown_keeps_the_image_until_it_ends),
                cmocka_unit_test(test_a_new_image_on_its_way_takes_a_place),
                cmocka_unit_test(test_as_the_new_image_becomes_available),
                cmocka_unit_test(test_crash_leftovers_and_departed_instances),
                cmocka_unit_test(test_off_without_protect_newest),
                cmocka_unit_test(test_kept_images_spend_no_rotation),
                cmocka_unit_test(test_generated_histories),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
