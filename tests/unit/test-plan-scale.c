/* SPDX-License-Identifier: MIT */
/*
 * The planner at fleet scale: a generated region of 20 000 images and about 40 000
 * snapshots (referenced ones, orphans, those of another policy or of none, young ones,
 * pending ones, ones whose image is deregistered or unlisted), planned once, and the
 * plan's retirements and sweep compared with a reference computed here the plain way:
 * each instance's images walked in a bucket of their own, each snapshot id looked up
 * in a table indexed by its number. The planner answers the same questions with sorted
 * indexes (plan-sweep.c); this proves the indexes change no decision. No timing.
 * AMIROTD_TEST_SEED=N replays from seed N; AMIROTD_TEST_CASES=N sets how many regions.
 */
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "run/plan.h"

#define DAY (24 * 3600)
/* 2026-11-26T03:00:00Z: the start of the slot in which NOW lies, for `every: 24h at 03:00`. */
#define SLOT0 ((time_t) 1795662000)
#define NOW (SLOT0 + 3600)

#define N_INSTANCE_IDS 2000
#define N_IMAGES 20000
#define N_SNAPSHOTS 40000
#define NO_SLOT INT_MIN                 /* an image without an amirotd:slot tag */

static uint64_t rng;

/* splitmix64: small, and the same sequence on every platform. */
static uint64_t rnd(void) {
        uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);

        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
}

/* true with probability percent / 100 */
static bool chance(unsigned percent) {
        return rnd() % 100 < percent;
}

static uint64_t env_u64(const char *name, uint64_t def) {
        const char *v = getenv(name);

        return v && *v ? strtoull(v, NULL, 10) : def;
}

/* What the generator knows of each image, for the reference. */
typedef struct image_meta {
        size_t instance;                /* index into the instance ids */
        int slot;                       /* days before SLOT0 (negative: the future), or NO_SLOT */
        bool managed;                   /* tagged web with an instance id, not deregistered */
        bool created;
} image_meta;

typedef struct region {
        policy policy;
        char *instance_ids[N_INSTANCE_IDS];
        ec2_instance *instances;
        size_t n_instances;
        ec2_image *images;
        image_meta *meta;
        size_t n_images;
        ec2_snapshot *snapshots;
        size_t n_snapshots;
        unsigned long long next_snapshot;       /* snapshot ids are snap-<number> */
        char **created;
        size_t n_created;
        plan plan;
} region;

static char *xasprintf(const char *fmt, ...) _printf_(1, 2);
static char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        assert_true(r >= 0);
        return s;
}

static char *slot_of(int days_before) {
        char buf[SLOT_ID_MAX];

        assert_non_null(slot_id_format(SLOT0 - (time_t) days_before * DAY, buf));
        return xasprintf("%s", buf);
}

/* "snap-3f2a91c0000000017": an id of EC2's shape whose last 9 digits are number, and whose
 * first 8 scramble the order, so that no list comes sorted by id. */
static char *make_id(const char *prefix, unsigned long long number) {
        uint32_t scramble = (uint32_t) ((number * 0x9E3779B97F4A7C15ULL) >> 32);

        return xasprintf("%s-%08" PRIx32 "%09llx", prefix, scramble, number);
}

/* The number make_id() put in id. */
static unsigned long long id_number(const char *id) {
        return strtoull(id + strlen(id) - 9, NULL, 16);
}

static void tags_add(ec2_tags *t, const char *key, const char *value) {
        assert_int_equal(ec2_tags_add(t, key, value), 0);
}

/* ---- Generating a region --------------------------------------------------------------- */

static ec2_snapshot *add_snapshot(region *w, unsigned long long number) {
        ec2_snapshot *s = &w->snapshots[w->n_snapshots++];

        assert_true(w->n_snapshots <= N_SNAPSHOTS);
        *s = (ec2_snapshot) {
                .id = make_id("snap", number),
                .state = EC2_SNAPSHOT_COMPLETED,
        };
        return s;
}

static ec2_image_state pick_image_state(void) {
        unsigned x = rnd() % 100;

        return x < 78 ? EC2_IMAGE_AVAILABLE : x < 82 ? EC2_IMAGE_PENDING : x < 86 ? EC2_IMAGE_FAILED :
                x < 87 ? EC2_IMAGE_ERROR : x < 90 ? EC2_IMAGE_DISABLED : EC2_IMAGE_DEREGISTERED;
}

/* Its block-device mappings, each snapshot listed as CreateImage tags it (mostly). */
static void add_devices(region *w, ec2_image *g) {
        g->n_devices = 1 + rnd() % 2;
        g->devices = calloc(g->n_devices, sizeof(ec2_block_device));
        assert_non_null(g->devices);
        for (size_t d = 0; d < g->n_devices; d++) {
                unsigned long long number = w->next_snapshot++;
                ec2_snapshot *s;

                g->devices[d].device_name = xasprintf("/dev/xvd%c", (char) ('a' + d));
                if (chance(4))
                        continue;       /* instance store: no snapshot */
                g->devices[d].snapshot_id = make_id("snap", number);
                if (chance(3))
                        continue;       /* referenced, but not listed */
                s = add_snapshot(w, number);
                s->start_time = g->creation_date;
                s->state = chance(95) ? EC2_SNAPSHOT_COMPLETED : EC2_SNAPSHOT_ERROR;
                for (size_t k = 0; k < g->tags.n; k++)
                        tags_add(&s->tags, g->tags.items[k].key, g->tags.items[k].value);
        }
}

static void add_image(region *w, int *last_slot) {
        size_t j = rnd() % N_INSTANCE_IDS;
        ec2_image *g = &w->images[w->n_images];
        image_meta *m = &w->meta[w->n_images];
        unsigned owner = rnd() % 100;
        _cleanup_(freep) char *slot = NULL;

        /* Mostly a new slot of the instance; now and then a retry of its last one, or a
         * slot of the future (a clock that ran ahead once). */
        m->instance = j;
        m->slot = chance(8) && last_slot[j] > 0 ? last_slot[j] : chance(2) ? -1 - (int) (rnd() % 3) :
                (last_slot[j] = last_slot[j] + 1 + (int) (rnd() % 2));
        *g = (ec2_image) {
                .id = make_id("ami", w->n_images + 1),
                .state = pick_image_state(),
                .creation_date = SLOT0 - (time_t) m->slot * DAY + 600 + (time_t) (rnd() % 60),
        };
        slot = slot_of(m->slot);
        g->name = xasprintf("web-%s-%s", w->instance_ids[j], slot);
        if (owner < 80 || owner >= 96)
                tags_add(&g->tags, TAG_POLICY, "web");
        else if (owner < 92)
                tags_add(&g->tags, TAG_POLICY, "db");
        if (owner < 96)
                /* owner >= 96: this policy's tag but no instance id, so no one's to judge */
                tags_add(&g->tags, TAG_INSTANCE_ID, w->instance_ids[j]);
        if (chance(97))
                tags_add(&g->tags, TAG_SLOT, slot);
        else
                m->slot = NO_SLOT;
        m->managed = owner < 80 && g->state != EC2_IMAGE_DEREGISTERED;
        if (owner < 80 && chance(5)) {
                m->created = true;
                w->created[w->n_created++] = g->id;
        }
        add_devices(w, g);
        w->n_images++;
}

/* The rest of the snapshots: no image of the list names them. */
static void add_loose_snapshot(region *w) {
        ec2_snapshot *s = add_snapshot(w, w->next_snapshot++);
        unsigned owner = rnd() % 100, age = rnd() % 100, state = rnd() % 100;
        _cleanup_(freep) char *slot = slot_of(1 + (int) (rnd() % 20));

        if (owner < 75)
                tags_add(&s->tags, TAG_POLICY, "web");
        else if (owner < 90)
                tags_add(&s->tags, TAG_POLICY, "db");
        if (chance(85))
                tags_add(&s->tags, TAG_INSTANCE_ID, w->instance_ids[rnd() % N_INSTANCE_IDS]);
        else if (chance(30))
                tags_add(&s->tags, TAG_INSTANCE_ID, "");
        if (chance(80))
                tags_add(&s->tags, TAG_SLOT, slot);
        s->state = state < 85 ? EC2_SNAPSHOT_COMPLETED : state < 90 ? EC2_SNAPSHOT_ERROR : EC2_SNAPSHOT_PENDING;
        s->start_time = age < 85 ? NOW - (time_t) (1 + rnd() % 30) * DAY :
                age < 95 ? NOW - PLAN_SNAPSHOT_GRACE + 600 : 0;
}

/* EC2 lists in an order of its own. */
static void shuffle(void *items, size_t n, size_t size) {
        for (size_t k = n; k > 1; k--)
                memswap((char *) items + (k - 1) * size, (char *) items + (rnd() % k) * size, size);
}

static void region_generate(region *w) {
        _cleanup_(freep) int *last_slot = calloc(N_INSTANCE_IDS, sizeof(int));

        assert_non_null(last_slot);
        *w = (region) {
                .policy = {
                        .name = (char *) "web",
                        .states = (1u << EC2_INSTANCE_RUNNING) | (1u << EC2_INSTANCE_STOPPED),
                        .schedule = { .kind = SCHEDULE_EVERY, .every = DAY, .at = 3 * 3600 },
                        .retain_count = 4,
                        .retain_max_age = 8 * DAY,
                        /* Unbounded: this test is about which images, not how many per run. */
                        .max_retire_per_run = 100,
                },
                .instances = calloc(N_INSTANCE_IDS, sizeof(ec2_instance)),
                .images = calloc(N_IMAGES, sizeof(ec2_image)),
                .meta = calloc(N_IMAGES, sizeof(image_meta)),
                .snapshots = calloc(N_SNAPSHOTS, sizeof(ec2_snapshot)),
                .created = calloc(N_IMAGES + 1, sizeof(char *)),
                .next_snapshot = 1,
        };
        assert_true(w->instances && w->images && w->meta && w->snapshots && w->created);
        for (size_t j = 0; j < N_INSTANCE_IDS; j++) {
                w->instance_ids[j] = xasprintf("i-%017zx", 0x1000 + j);
                /* Most are there; the others left the fleet, their images stay. */
                if (chance(90))
                        w->instances[w->n_instances++] = (ec2_instance) {
                                .id = xasprintf("%s", w->instance_ids[j]),
                                .state = chance(90) ? EC2_INSTANCE_RUNNING : EC2_INSTANCE_TERMINATED,
                        };
        }
        while (w->n_images < N_IMAGES)
                add_image(w, last_slot);
        while (w->n_snapshots < N_SNAPSHOTS)
                add_loose_snapshot(w);
        shuffle(w->instances, w->n_instances, sizeof(ec2_instance));
        shuffle(w->created, w->n_created, sizeof(char *));
}

static void region_done(region *w) {
        for (size_t j = 0; j < N_INSTANCE_IDS; j++)
                free(w->instance_ids[j]);
        for (size_t k = 0; k < w->n_instances; k++)
                free(w->instances[k].id);
        free(w->instances);
        for (size_t k = 0; k < w->n_images; k++) {
                ec2_image *g = &w->images[k];

                for (size_t d = 0; d < g->n_devices; d++) {
                        free(g->devices[d].device_name);
                        free(g->devices[d].snapshot_id);
                }
                free(g->devices);
                free(g->id);
                free(g->name);
                ec2_tags_done(&g->tags);
        }
        free(w->images);
        free(w->meta);
        for (size_t k = 0; k < w->n_snapshots; k++)
                ec2_snapshot_done(&w->snapshots[k]);
        free(w->snapshots);
        free(w->created);
        plan_done(&w->plan);
}

/* ---- The reference --------------------------------------------------------------------- */

/* One decision: an image retired and why, or a snapshot swept (why NULL). */
typedef struct decision {
        const char *id;
        const char *why;
} decision;

static int decision_compare(const void *a, const void *b) {
        const decision *x = a, *y = b;

        return strcmp(x->id, y->id);
}

/* The image indexes of each instance id: bucket j is by_instance[start[j] .. start[j + 1]). */
typedef struct buckets {
        size_t start[N_INSTANCE_IDS + 1];
        size_t *by_instance;
} buckets;

static void buckets_fill(const region *w, buckets *b) {
        size_t fill[N_INSTANCE_IDS] = {};

        memset(b->start, 0, sizeof(b->start));
        for (size_t k = 0; k < w->n_images; k++)
                b->start[w->meta[k].instance + 1]++;
        for (size_t j = 0; j < N_INSTANCE_IDS; j++)
                b->start[j + 1] += b->start[j];
        b->by_instance = calloc(w->n_images, sizeof(size_t));
        assert_non_null(b->by_instance);
        for (size_t k = 0; k < w->n_images; k++) {
                size_t j = w->meta[k].instance;

                b->by_instance[b->start[j] + fill[j]++] = k;
        }
}

/* An image retention counts, in the order of design.md: newest slot first, then newest
 * creation date, then the greater id. */
typedef struct counted {
        time_t age_key;
        const ec2_image *image;
        bool created;
} counted;

static int counted_newest_first(const void *a, const void *b) {
        const counted *x = a, *y = b;

        if (x->age_key != y->age_key)
                return x->age_key > y->age_key ? -1 : 1;
        if (x->image->creation_date != y->image->creation_date)
                return x->image->creation_date > y->image->creation_date ? -1 : 1;
        return -strcmp(x->image->id, y->image->id);
}

static bool failed(ec2_image_state s) {
        return s == EC2_IMAGE_FAILED || s == EC2_IMAGE_ERROR || s == EC2_IMAGE_INVALID;
}

/* Retention and garbage for one instance's images, appended to d. */
static void expect_instance(const region *w, const buckets *b, size_t j, const char *why_count,
                            const char *why_age, decision *d, size_t *n) {
        counted c[64];
        size_t n_c = 0, kept = 0;

        for (size_t e = b->start[j]; e < b->start[j + 1]; e++) {
                size_t k = b->by_instance[e];
                const image_meta *m = &w->meta[k];

                if (!m->managed)
                        continue;
                if (failed(w->images[k].state))
                        d[(*n)++] = (decision) { w->images[k].id, "failed" };
                else if (w->images[k].state == EC2_IMAGE_AVAILABLE && (m->slot == NO_SLOT || m->slot > 0)) {
                        assert_true(n_c < ELEMENTSOF(c));
                        c[n_c++] = (counted) {
                                .age_key = m->slot == NO_SLOT ? w->images[k].creation_date :
                                        SLOT0 - (time_t) m->slot * DAY,
                                .image = &w->images[k],
                                .created = m->created,
                        };
                }
        }
        qsort(c, n_c, sizeof(counted), counted_newest_first);
        for (size_t k = 0; k < n_c; k++) {
                time_t made = c[k].image->creation_date;

                if (kept == 0 || c[k].created)
                        kept++;
                else if (kept >= w->policy.retain_count)
                        d[(*n)++] = (decision) { c[k].image->id, why_count };
                else if (made > 0 && made < NOW && (uint64_t) (NOW - made) > w->policy.retain_max_age)
                        d[(*n)++] = (decision) { c[k].image->id, why_age };
                else
                        kept++;
        }
}

/* Rule 6, the plain way: a snapshot id's number indexes a table of referenced ones, and
 * the managed images of its instance are walked. */
static bool expect_swept(const region *w, const buckets *b, const bool *referenced, const ec2_snapshot *s) {
        const char *policy_tag = ec2_tags_get(&s->tags, TAG_POLICY);
        const char *instance = ec2_tags_get(&s->tags, TAG_INSTANCE_ID);
        const char *slot = ec2_tags_get(&s->tags, TAG_SLOT);

        if (!streq_ptr(policy_tag, "web") || (s->state != EC2_SNAPSHOT_COMPLETED && s->state != EC2_SNAPSHOT_ERROR) ||
            s->start_time <= 0 || s->start_time > NOW - PLAN_SNAPSHOT_GRACE ||
            referenced[id_number(s->id)])
                return false;
        if (isempty(instance))
                return true;
        for (size_t j = strtoull(instance + strlen("i-"), NULL, 16) - 0x1000, e = b->start[j];
             e < b->start[j + 1]; e++) {
                size_t k = b->by_instance[e];

                if (w->meta[k].managed && streq_ptr(ec2_tags_get(&w->images[k].tags, TAG_SLOT), slot))
                        return false;
        }
        return true;
}

static void expect_sweep(const region *w, const buckets *b, decision *d, size_t *n) {
        _cleanup_(freep) bool *referenced = calloc(w->next_snapshot, sizeof(bool));

        assert_non_null(referenced);
        for (size_t k = 0; k < w->n_images; k++)
                for (size_t e = 0; w->images[k].state != EC2_IMAGE_DEREGISTERED && e < w->images[k].n_devices; e++)
                        if (w->images[k].devices[e].snapshot_id)
                                referenced[id_number(w->images[k].devices[e].snapshot_id)] = true;
        for (size_t k = 0; k < w->n_snapshots; k++)
                if (expect_swept(w, b, referenced, &w->snapshots[k]))
                        d[(*n)++] = (decision) { w->snapshots[k].id, NULL };
}

/* ---- The test -------------------------------------------------------------------------- */

static void check_region(uint64_t seed) {
        _cleanup_(freep) decision *retired = calloc(N_IMAGES, sizeof(decision)),
                *planned_retired = calloc(N_IMAGES, sizeof(decision)),
                *swept = calloc(N_SNAPSHOTS, sizeof(decision));
        size_t n_retired = 0, n_planned = 0, n_swept = 0, n_planned_swept = 0, n_count = 0, n_age = 0;
        _cleanup_(freep) char *why_count = NULL, *why_age = NULL;
        char age[DURATION_MAX];
        buckets b;
        region w;

        rng = seed;
        region_generate(&w);
        why_count = xasprintf("beyond retain.count %u", w.policy.retain_count);
        why_age = xasprintf("older than max_age %s", format_duration(w.policy.retain_max_age, age));
        assert_non_null(retired && planned_retired && swept);

        assert_int_equal(plan_build(&(plan_input) {
                .policy = &w.policy, .region = "eu-west-1", .now = NOW,
                .instances = w.instances, .n_instances = w.n_instances,
                .images = w.images, .n_images = w.n_images,
                .snapshots = w.snapshots, .n_snapshots = w.n_snapshots,
                .created = w.created,
        }, &w.plan), 0);

        buckets_fill(&w, &b);
        for (size_t j = 0; j < N_INSTANCE_IDS; j++)
                expect_instance(&w, &b, j, why_count, why_age, retired, &n_retired);
        expect_sweep(&w, &b, swept, &n_swept);

        /* Retirements: the same images for the same reasons (their order has tests of its own). */
        for (size_t k = 0; k < w.plan.n; k++)
                if (w.plan.actions[k].kind == PLAN_RETIRE) {
                        assert_true(n_planned < N_IMAGES);
                        planned_retired[n_planned++] = (decision) {
                                w.plan.actions[k].image_id, w.plan.actions[k].reason };
                }
        qsort(retired, n_retired, sizeof(decision), decision_compare);
        qsort(planned_retired, n_planned, sizeof(decision), decision_compare);
        assert_int_equal(n_planned, n_retired);
        for (size_t k = 0; k < n_retired; k++) {
                assert_string_equal(planned_retired[k].id, retired[k].id);
                assert_string_equal(planned_retired[k].why, retired[k].why);
                n_count += retired[k].why == why_count;
                n_age += retired[k].why == why_age;
        }
        assert_int_equal(w.plan.n_held, 0);

        /* The sweep: the same snapshots, in the order they were listed. */
        for (size_t k = 0; k < w.plan.n; k++) {
                const plan_action *a = &w.plan.actions[k];

                if (a->kind != PLAN_DELETE_SNAPSHOT)
                        continue;
                assert_true(n_planned_swept < n_swept);
                assert_string_equal(a->snapshot_ids[0], swept[n_planned_swept].id);
                assert_null(a->snapshot_ids[1]);
                n_planned_swept++;
        }
        assert_int_equal(n_planned_swept, n_swept);

        /* The region exercised every rule, lest the equalities above hold of empty sets. */
        print_message("seed %" PRIu64 ": %zu images, %zu snapshots: %zu retired (%zu by count, %zu by age), "
                      "%zu swept\n", seed, w.n_images, w.n_snapshots, n_retired, n_count, n_age, n_swept);
        assert_true(w.n_snapshots == N_SNAPSHOTS && n_count > 1000 && n_age > 100 &&
                    n_retired - n_count - n_age > 100 && n_swept > 1000);

        free(b.by_instance);
        region_done(&w);
}

static void test_plan_at_scale_equals_reference(void **state) {
        uint64_t base = env_u64("AMIROTD_TEST_SEED", 20261201), cases = env_u64("AMIROTD_TEST_CASES", 3);

        (void) state;
        for (uint64_t k = 0; k < cases; k++)
                check_region(base + k);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plan_at_scale_equals_reference),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
