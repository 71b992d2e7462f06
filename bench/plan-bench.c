/* SPDX-License-Identifier: MIT */
/*
 * The planner alone at fleet scale (issue 17, item 2): figures, not verdicts. For
 * each size N it builds, in a child process of its own (so that each peak RSS is that
 * size's), a synthetic region of N running instances with K = 7 daily images each,
 * every image with its snapshot, and around them what a real account holds: one
 * instance in 20 whose images another policy made, and one orphan snapshot (its image
 * deregistered, its deletion lost) per 10 instances. The policy keeps 5, so each
 * instance has two images to retire; max_retire_per_run is 10 %.
 *
 * Two plans per size, as a run makes them (engine.h): the first, then the second,
 * which sees the run's N new images as plan_input.created and the first plan as
 * plan_input.earlier. Each row prints the CPU seconds (user + system, getrusage) of
 * plan_build alone, the peak RSS of the process after it, and what the plan holds.
 *
 * Usage: plan-bench [N ...]   (default 1000 10000 14300: 14 300 x 7 is 100 000 images)
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run/plan.h"

#define DAY (24 * 3600)
#define IMAGES_PER_INSTANCE 7
/* 2030-01-10T03:00:00Z, the start of the slot in which the bench plans. */
#define SLOT_NOW ((time_t) 1894244400)

typedef struct fleet {
        policy policy;
        ec2_instance_list instances;
        ec2_image_list images;
        ec2_snapshot_list snapshots;
        ec2_image_list fresh;           /* the run's new images, one per selected instance */
        ec2_snapshot_list fresh_snapshots;
        char **created;                 /* their ids, the second plan's plan_input.created */
} fleet;

static void *grow(void *items, size_t *cap, size_t n, size_t size) {
        if (n < *cap)
                return items;
        *cap = *cap ? *cap * 2 : 1024;
        items = reallocarray(items, *cap, size);
        if (!items) {
                fputs("plan-bench: out of memory\n", stderr);
                exit(EXIT_FAILURE);
        }
        return items;
}

/* "ami-00000000000000001": an id of EC2's shape. */
static char *make_id(const char *prefix, unsigned long long v) {
        char *s;

        if (asprintf(&s, "%s-%017llx", prefix, v) < 0) {
                fputs("plan-bench: out of memory\n", stderr);
                exit(EXIT_FAILURE);
        }
        return s;
}

static void tags_add3(ec2_tags *t, const char *policy_name, const char *instance_id, const char *slot) {
        if (ec2_tags_add(t, TAG_POLICY, policy_name) < 0 || ec2_tags_add(t, TAG_INSTANCE_ID, instance_id) < 0 ||
            (slot && ec2_tags_add(t, TAG_SLOT, slot) < 0)) {
                fputs("plan-bench: out of memory\n", stderr);
                exit(EXIT_FAILURE);
        }
}

static void add_snapshot(ec2_snapshot_list *l, unsigned long long id, const char *owner, const char *instance_id,
                         const char *slot, time_t start) {
        ec2_snapshot *s;

        l->items = grow(l->items, &l->cap, l->n, sizeof(ec2_snapshot));
        s = &l->items[l->n++];
        *s = (ec2_snapshot) {
                .id = make_id("snap", id),
                .state = EC2_SNAPSHOT_COMPLETED,
                .start_time = start,
        };
        tags_add3(&s->tags, owner, instance_id, slot);
}

/* Image k of the instance (k = 1: yesterday's slot), and its snapshot. */
static void add_image(ec2_image_list *l, ec2_snapshot_list *snapshots, unsigned long long id, const char *owner, const char *instance_id, unsigned k) {
        time_t slot_start = SLOT_NOW - (time_t) k * DAY;
        char slot[SLOT_ID_MAX];
        ec2_image *g;

        slot_id_format(slot_start, slot);
        l->items = grow(l->items, &l->cap, l->n, sizeof(ec2_image));
        g = &l->items[l->n++];
        *g = (ec2_image) {
                .id = make_id("ami", id),
                .state = EC2_IMAGE_AVAILABLE,
                .creation_date = slot_start + 600,
                .n_devices = 1,
        };
        if (asprintf(&g->name, "%s-%s-%s", owner, instance_id, slot) < 0 ||
            !(g->devices = calloc(1, sizeof(ec2_block_device))) ||
            !(g->devices[0].device_name = strdup("/dev/xvda"))) {
                fputs("plan-bench: out of memory\n", stderr);
                exit(EXIT_FAILURE);
        }
        g->devices[0].snapshot_id = make_id("snap", id);
        tags_add3(&g->tags, owner, instance_id, slot);
        add_snapshot(snapshots, id, owner, instance_id, slot, slot_start + 600);
}

static tag_selector role_web = { .key = (char *) "Role", .value = (char *) "web" };

static void fleet_build(fleet *f, size_t n) {
        unsigned long long next = 1;

        *f = (fleet) {
                .policy = {
                        .name = (char *) "web",
                        .tags = &role_web,
                        .n_tags = 1,
                        .states = 1u << EC2_INSTANCE_RUNNING,
                        .schedule = { .kind = SCHEDULE_EVERY, .every = DAY, .at = 3 * 3600 },
                        .retain_count = 5,
                        .max_retire_per_run = 10,
                },
        };
        for (size_t i = 0; i < n; i++) {
                char *id = make_id("i", 0x100000 + i);
                const char *owner = i % 20 == 19 ? "db" : "web";
                ec2_instance *inst;

                f->instances.items = grow(f->instances.items, &f->instances.cap, f->instances.n,
                                          sizeof(ec2_instance));
                inst = &f->instances.items[f->instances.n++];
                *inst = (ec2_instance) { .id = id, .state = EC2_INSTANCE_RUNNING };
                if (ec2_tags_add(&inst->tags, "Role", owner) < 0)
                        exit(EXIT_FAILURE);
                for (unsigned k = 1; k <= IMAGES_PER_INSTANCE; k++)
                        add_image(&f->images, &f->snapshots, next++, owner, id, k);
                if (i % 10 == 9)
                        /* An orphan: its image (slot k = 9) was deregistered, its deletion lost. */
                        add_snapshot(&f->snapshots, next++, owner, id, NULL, SLOT_NOW - 9 * DAY);
                if (streq(owner, "web"))
                        /* The image the run makes for the current slot, as the second plan sees it. */
                        add_image(&f->fresh, &f->fresh_snapshots, next++, owner, id, 0);
        }
        f->created = calloc(f->fresh.n + 1, sizeof(char *));
        if (!f->created)
                exit(EXIT_FAILURE);
        for (size_t k = 0; k < f->fresh.n; k++)
                f->created[k] = f->fresh.items[k].id;
}

static bool gone(char **ids, size_t n, const char *id) {
        return bsearch(&id, ids, n, sizeof(char *), str_ptr_compare);
}

/* What EC2 holds once the first plan is carried out and the new images are available:
 * its retired images and deleted snapshots gone, the new ones there. Shallow copies. */
static void fleet_after(const fleet *f, const plan *first, ec2_image_list *ret_images,
                        ec2_snapshot_list *ret_snapshots) {
        ec2_image_list images = {};
        ec2_snapshot_list snapshots = {};
        char **ids = NULL;
        size_t n = 0, cap = 0;

        for (size_t k = 0; k < first->n; k++) {
                const plan_action *a = &first->actions[k];

                if (a->kind == PLAN_RETIRE) {
                        ids = grow(ids, &cap, n, sizeof(char *));
                        ids[n++] = a->image_id;
                }
                for (char **s = a->snapshot_ids; s && *s; s++) {
                        ids = grow(ids, &cap, n, sizeof(char *));
                        ids[n++] = *s;
                }
        }
        qsort(ids, n, sizeof(char *), str_ptr_compare);
        for (size_t k = 0; k < f->images.n + f->fresh.n; k++) {
                const ec2_image *g = k < f->images.n ? &f->images.items[k] : &f->fresh.items[k - f->images.n];

                if (gone(ids, n, g->id))
                        continue;
                images.items = grow(images.items, &images.cap, images.n, sizeof(ec2_image));
                images.items[images.n++] = *g;
        }
        for (size_t k = 0; k < f->snapshots.n + f->fresh_snapshots.n; k++) {
                const ec2_snapshot *s = k < f->snapshots.n ? &f->snapshots.items[k] :
                        &f->fresh_snapshots.items[k - f->snapshots.n];

                if (gone(ids, n, s->id))
                        continue;
                snapshots.items = grow(snapshots.items, &snapshots.cap, snapshots.n, sizeof(ec2_snapshot));
                snapshots.items[snapshots.n++] = *s;
        }
        free(ids);
        *ret_images = images;
        *ret_snapshots = snapshots;
}

static double cpu_seconds(void) {
        struct rusage u;

        getrusage(RUSAGE_SELF, &u);
        return (double) (u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                (double) (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static double peak_rss_mib(void) {
        struct rusage u;

        getrusage(RUSAGE_SELF, &u);
        return (double) u.ru_maxrss / 1024.0;   /* ru_maxrss is in KiB on Linux */
}

static size_t count_kind(const plan *p, plan_action_kind kind) {
        size_t n = 0;

        for (size_t k = 0; k < p->n; k++)
                n += p->actions[k].kind == kind;
        return n;
}

static int plan_once(const fleet *f, const ec2_image_list *images, const ec2_snapshot_list *snapshots,
                     const char *which, const plan *earlier, plan *ret) {
        plan_input in = {
                .policy = &f->policy,
                .region = "us-east-1",
                .now = SLOT_NOW + 1800,
                .instances = f->instances.items,
                .n_instances = f->instances.n,
                .images = images->items,
                .n_images = images->n,
                .snapshots = snapshots->items,
                .n_snapshots = snapshots->n,
                .created = earlier ? f->created : NULL,
                .earlier = earlier,
        };
        double before = cpu_seconds(), cpu;
        int r;

        r = plan_build(&in, ret);
        cpu = cpu_seconds() - before;
        if (r < 0) {
                fprintf(stderr, "plan-bench: plan_build: %s\n", strerror(-r));
                return r;
        }
        printf("| %6zu | %7zu | %9zu | %-6s | %8.3f | %7.1f | %6zu | %6zu | %5zu | %5zu |\n",
               f->instances.n, images->n, snapshots->n, which, cpu, peak_rss_mib(),
               count_kind(ret, PLAN_CREATE), count_kind(ret, PLAN_RETIRE),
               count_kind(ret, PLAN_DELETE_SNAPSHOT), ret->n_held);
        fflush(stdout);
        return 0;
}

/* In a child: the input, then both plans. Nothing is freed; the child exits. */
static int bench_size(size_t n) {
        plan first = {}, second = {};
        ec2_image_list images;
        ec2_snapshot_list snapshots;
        fleet f;

        fleet_build(&f, n);
        printf("| %6zu | %7zu | %9zu | input  |          | %7.1f |        |        |       |       |\n",
               f.instances.n, f.images.n, f.snapshots.n, peak_rss_mib());
        if (plan_once(&f, &f.images, &f.snapshots, "first", NULL, &first) < 0)
                return EXIT_FAILURE;
        fleet_after(&f, &first, &images, &snapshots);
        if (plan_once(&f, &images, &snapshots, "second", &first, &second) < 0)
                return EXIT_FAILURE;
        return EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        static const size_t sizes_default[] = { 1000, 10000, 14300 };
        size_t n_sizes = argc > 1 ? (size_t) argc - 1 : ELEMENTSOF(sizes_default);
        int ret = EXIT_SUCCESS;

        printf("plan_build: N instances x %d images (1 in 20 of another policy), a snapshot each, "
               "an orphan per 10 instances\n\n", IMAGES_PER_INSTANCE);
        printf("| N      | images  | snapshots | plan   | CPU s    | RSS MiB | create | retire | sweep | held  |\n");
        printf("|--------|---------|-----------|--------|----------|---------|--------|--------|-------|-------|\n");
        fflush(stdout);
        for (size_t k = 0; k < n_sizes; k++) {
                size_t n = argc > 1 ? strtoul(argv[k + 1], NULL, 10) : sizes_default[k];
                pid_t pid = fork();
                int status;

                if (pid < 0)
                        return EXIT_FAILURE;
                if (pid == 0)
                        _exit(bench_size(n));
                if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        ret = EXIT_FAILURE;
        }
        return ret;
}
