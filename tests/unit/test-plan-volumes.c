/* SPDX-License-Identifier: MIT */
/*
 * image.volumes in the planner (plan-volumes.c): the devices each PLAN_CREATE leaves
 * out with NoDevice. One test per rule on a hand-built instance, then the invariants
 * over generated ones: the root device is never left out, nothing the instance lacks is
 * ever named, the list is sorted and without repeats, and it is exactly what the rule
 * asks for. AMIROTD_TEST_SEED=N replays the generated cases from seed N.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "run/plan.h"

/* 2026-11-26T04:00:00Z, one hour into the slot of `every: 24h at 03:00`. */
#define NOW ((time_t) 1795665600)

static char *xstrdup(const char *s) {
        char *c = strdup(s);

        assert_non_null(c);
        return c;
}

static void policy_init(policy *p, policy_volumes v) {
        *p = (policy) {
                .name = xstrdup("web"),
                .states = 1u << EC2_INSTANCE_RUNNING,
                .schedule = { .kind = SCHEDULE_EVERY, .every = 86400, .at = 3 * 3600 },
                .name_template = xstrdup("{policy}-{instance_id}-{slot}"),
                .retain_count = 3,
                .max_retire_per_run = 100,
                .volumes = v,
        };
        p->tags = calloc(1, sizeof(tag_selector));
        assert_non_null(p->tags);
        p->tags[0] = (tag_selector) { .key = xstrdup("Role"), .value = xstrdup("web") };
        p->n_tags = 1;
}

static void policy_exclude_tag(policy *p, const char *key, const char *value) {
        tag_selector *t = reallocarray(p->exclude_volume_tags, p->n_exclude_volume_tags + 1, sizeof(*t));

        assert_non_null(t);
        p->exclude_volume_tags = t;
        t[p->n_exclude_volume_tags++] = (tag_selector) { .key = xstrdup(key), .value = value ? xstrdup(value) : NULL };
}

static void policy_free(policy *p) {
        free(p->name);
        free(p->name_template);
        free(p->tags[0].key);
        free(p->tags[0].value);
        free(p->tags);
        strv_free(p->exclude_devices);
        for (size_t k = 0; k < p->n_exclude_volume_tags; k++) {
                free(p->exclude_volume_tags[k].key);
                free(p->exclude_volume_tags[k].value);
        }
        free(p->exclude_volume_tags);
}

/* An instance tagged Role=web with root device root and volumes given as device, volume id,
 * ..., NULL. */
static void instance_init(ec2_instance *i, const char *root, ...) {
        const char *d;
        va_list ap;

        *i = (ec2_instance) { .id = xstrdup("i-0123456789abcdef0"), .state = EC2_INSTANCE_RUNNING };
        assert_int_equal(ec2_tags_add(&i->tags, "Role", "web"), 0);
        i->root_device_name = root ? xstrdup(root) : NULL;
        va_start(ap, root);
        while ((d = va_arg(ap, const char *))) {
                const char *v = va_arg(ap, const char *);

                i->volumes = reallocarray(i->volumes, i->n_volumes + 1, sizeof(ec2_instance_volume));
                assert_non_null(i->volumes);
                i->volumes[i->n_volumes++] = (ec2_instance_volume) { .device_name = xstrdup(d), .volume_id = xstrdup(v) };
        }
        va_end(ap);
}

/* The one CREATE of a plan over instance i. */
static const plan_action *plan_create(plan *out, const policy *p, const ec2_instance *i, char *const *excluded) {
        plan_input in = {
                .policy = p, .region = "us-east-1", .now = NOW,
                .instances = i, .n_instances = 1,
                .excluded_volume_ids = excluded,
        };

        assert_int_equal(plan_build(&in, out), 0);
        assert_int_equal(out->n, 1);
        assert_int_equal(out->actions[0].kind, PLAN_CREATE);
        return &out->actions[0];
}

static void assert_devices(char *const *got, const char *const *want) {
        size_t n = 0;

        for (; want[n]; n++) {
                assert_non_null(got);
                assert_non_null(got[n]);
                assert_string_equal(got[n], want[n]);
        }
        if (n == 0)
                assert_null(got);
        else
                assert_null(got[n]);
}

#define THREE_VOLUMES "/dev/xvda", "/dev/xvda", "vol-root", "/dev/sdf", "vol-f", "/dev/sdg", "vol-g", NULL

static void test_all_leaves_nothing_out(void **state) {
        plan out = {};
        ec2_instance i;
        policy p;

        (void) state;
        policy_init(&p, POLICY_VOLUMES_ALL);
        instance_init(&i, THREE_VOLUMES);
        assert_devices(plan_create(&out, &p, &i, NULL)->exclude_devices, (const char *[]) { NULL });
        assert_false(out.actions[0].root_kept);
        plan_done(&out);
        ec2_instance_done(&i);
        policy_free(&p);
}

static void test_root_leaves_out_every_other_device(void **state) {
        plan out = {};
        ec2_instance i;
        policy p;

        (void) state;
        policy_init(&p, POLICY_VOLUMES_ROOT);
        /* EC2's order of the mappings is not sorted: the list is */
        instance_init(&i, "/dev/sda1", "/dev/sdg", "vol-g", "/dev/sda1", "vol-root", "/dev/sdf", "vol-f", NULL);
        assert_devices(plan_create(&out, &p, &i, NULL)->exclude_devices,
                       (const char *[]) { "/dev/sdf", "/dev/sdg", NULL });
        assert_false(out.actions[0].root_kept);
        plan_done(&out);
        ec2_instance_done(&i);
        policy_free(&p);
}

static void test_root_of_a_single_volume_instance_leaves_nothing(void **state) {
        plan out = {};
        ec2_instance i;
        policy p;

        (void) state;
        policy_init(&p, POLICY_VOLUMES_ROOT);
        instance_init(&i, "/dev/xvda", "/dev/xvda", "vol-root", NULL);
        assert_devices(plan_create(&out, &p, &i, NULL)->exclude_devices, (const char *[]) { NULL });
        plan_done(&out);
        ec2_instance_done(&i);
        policy_free(&p);
}

static void test_exclude_devices_only_those_the_instance_has(void **state) {
        plan out = {};
        ec2_instance i;
        policy p;

        (void) state;
        policy_init(&p, POLICY_VOLUMES_EXCLUDE);
        /* /dev/xvdg is the same device as /dev/sdg; /dev/sdp is not on the instance: EC2 would
         * answer InvalidBlockDeviceMapping if it were sent */
        assert_int_equal(strv_extend(&p.exclude_devices, "/dev/xvdg"), 0);
        assert_int_equal(strv_extend(&p.exclude_devices, "/dev/sdp"), 0);
        instance_init(&i, THREE_VOLUMES);
        assert_devices(plan_create(&out, &p, &i, NULL)->exclude_devices, (const char *[]) { "/dev/sdg", NULL });
        assert_false(out.actions[0].root_kept);
        plan_done(&out);
        ec2_instance_done(&i);
        policy_free(&p);
}

static void test_exclude_never_the_root_device(void **state) {
        plan out = {};
        ec2_instance i;
        policy p;

        (void) state;
        policy_init(&p, POLICY_VOLUMES_EXCLUDE);
        assert_int_equal(strv_extend(&p.exclude_devices, "/dev/xvda"), 0);
        assert_int_equal(strv_extend(&p.exclude_devices, "/dev/sdf"), 0);
        instance_init(&i, THREE_VOLUMES);
        assert_devices(plan_create(&out, &p, &i, NULL)->exclude_devices, (const char *[]) { "/dev/sdf", NULL });
        assert_true(out.actions[0].root_kept);
        plan_done(&out);
        ec2_instance_done(&i);
        policy_free(&p);
}

static void test_exclude_tags_by_the_volumes_found(void **state) {
        char *excluded[] = { "vol-f", "vol-other", "vol-root", NULL };  /* sorted, as the engine gives it */
        plan out = {};
        ec2_instance i;
        policy p;

        (void) state;
        policy_init(&p, POLICY_VOLUMES_EXCLUDE);
        policy_exclude_tag(&p, "Scratch", "true");
        instance_init(&i, THREE_VOLUMES);
        /* the root volume carries the tag too: kept, and said */
        assert_devices(plan_create(&out, &p, &i, excluded)->exclude_devices, (const char *[]) { "/dev/sdf", NULL });
        assert_true(out.actions[0].root_kept);
        plan_done(&out);
        ec2_instance_done(&i);
        policy_free(&p);
}

static void test_without_root_device_name_nothing_is_left_out(void **state) {
        plan out = {};
        ec2_instance i;
        policy p;

        (void) state;
        policy_init(&p, POLICY_VOLUMES_ROOT);
        instance_init(&i, NULL, "/dev/xvda", "vol-root", "/dev/sdf", "vol-f", NULL);
        assert_devices(plan_create(&out, &p, &i, NULL)->exclude_devices, (const char *[]) { NULL });
        plan_done(&out);
        ec2_instance_done(&i);
        policy_free(&p);
}

static void test_excluded_volumes_match_key_and_value(void **state) {
        ec2_volume v[4] = {
                { .id = xstrdup("vol-d") }, { .id = xstrdup("vol-a") }, { .id = xstrdup("vol-c") }, { .id = xstrdup("vol-b") },
        };
        char **ids = NULL;
        policy p;

        (void) state;
        policy_init(&p, POLICY_VOLUMES_EXCLUDE);
        policy_exclude_tag(&p, "Scratch", "true");
        policy_exclude_tag(&p, "Ephemeral", NULL);
        assert_int_equal(ec2_tags_add(&v[0].tags, "Scratch", "true"), 0);
        assert_int_equal(ec2_tags_add(&v[1].tags, "Scratch", "false"), 0);    /* wrong value */
        assert_int_equal(ec2_tags_add(&v[2].tags, "Ephemeral", ""), 0);        /* "*": any value */
        assert_int_equal(ec2_tags_add(&v[3].tags, "Other", "true"), 0);
        assert_int_equal(plan_excluded_volumes(&p, v, 4, &ids), 0);
        assert_devices(ids, (const char *[]) { "vol-c", "vol-d", NULL });
        strv_free(ids);
        assert_int_equal(plan_excluded_volumes(&p, v, 0, &ids), 0);
        assert_null(ids);
        for (size_t k = 0; k < 4; k++)
                ec2_volume_done(&v[k]);
        policy_free(&p);
}

/* ---- Generated instances ----------------------------------------------------------------- */

static const char *const devices[] = {
        "/dev/xvda", "/dev/sda1", "/dev/sdf", "/dev/sdg", "/dev/sdh", "/dev/xvdi", "/dev/xvdj", "/dev/sdk",
};
#define N_DEVICES (sizeof(devices) / sizeof(devices[0]))

static bool has_device(const ec2_instance *i, const char *d) {
        for (size_t k = 0; k < i->n_volumes; k++)
                if (streq(i->volumes[k].device_name, d))
                        return true;
        return false;
}

/* What the rule asks of one volume, written independently of plan-volumes.c (exact names:
 * the generated lists use the instance's own). */
static bool expect_out(const policy *p, const ec2_instance *i, const ec2_instance_volume *v, char *const *excluded) {
        if (streq(v->device_name, i->root_device_name) || p->volumes == POLICY_VOLUMES_ALL)
                return false;
        if (p->volumes == POLICY_VOLUMES_ROOT)
                return true;
        return strv_contains(p->exclude_devices, v->device_name) || strv_contains(excluded, v->volume_id);
}

static void check_generated(unsigned seed) {
        char **excluded = NULL, id[32];
        const plan_action *a;
        plan out = {};
        ec2_instance i;
        size_t n_out = 0;
        policy p;

        srandom(seed);
        policy_init(&p, (policy_volumes) (random() % _POLICY_VOLUMES_MAX));
        instance_init(&i, devices[random() % 2], NULL);
        for (size_t k = 0; k < N_DEVICES; k++) {
                if (k > 1 && random() % 2 == 0)
                        continue;
                if (k <= 1 && !streq(devices[k], i.root_device_name))
                        continue;
                snprintf(id, sizeof(id), "vol-%02zu", k);
                i.volumes = reallocarray(i.volumes, i.n_volumes + 1, sizeof(ec2_instance_volume));
                assert_non_null(i.volumes);
                i.volumes[i.n_volumes++] = (ec2_instance_volume) { .device_name = xstrdup(devices[k]),
                                                                   .volume_id = xstrdup(id) };
                if (random() % 3 == 0)
                        assert_int_equal(strv_extend(&excluded, id), 0);        /* made in order: sorted */
        }
        for (size_t k = 0; k < 3; k++) {
                const char *d = devices[random() % N_DEVICES];

                if (random() % 2 == 0 && !strv_contains(p.exclude_devices, d))
                        assert_int_equal(strv_extend(&p.exclude_devices, d), 0);
        }

        a = plan_create(&out, &p, &i, excluded);
        for (char **d = a->exclude_devices; d && *d; d++, n_out++) {
                assert_false(streq(*d, i.root_device_name));
                assert_true(has_device(&i, *d));
                if (d != a->exclude_devices)
                        assert_true(strcmp(d[-1], *d) < 0);
        }
        for (size_t k = 0; k < i.n_volumes; k++)
                assert_int_equal(expect_out(&p, &i, &i.volumes[k], excluded),
                                 strv_contains(a->exclude_devices, i.volumes[k].device_name));
        assert_true(n_out < i.n_volumes);       /* the root always stays */
        plan_done(&out);
        strv_free(excluded);
        ec2_instance_done(&i);
        policy_free(&p);
}

static void test_random_never_root_never_absent_exactly_the_rule(void **state) {
        const char *env = getenv("AMIROTD_TEST_SEED");
        unsigned first = env ? (unsigned) strtoul(env, NULL, 10) : 1;

        (void) state;
        for (unsigned s = first; s < first + 2000; s++)
                check_generated(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_all_leaves_nothing_out),
                cmocka_unit_test(test_root_leaves_out_every_other_device),
                cmocka_unit_test(test_root_of_a_single_volume_instance_leaves_nothing),
                cmocka_unit_test(test_exclude_devices_only_those_the_instance_has),
                cmocka_unit_test(test_exclude_never_the_root_device),
                cmocka_unit_test(test_exclude_tags_by_the_volumes_found),
                cmocka_unit_test(test_without_root_device_name_nothing_is_left_out),
                cmocka_unit_test(test_excluded_volumes_match_key_and_value),
                cmocka_unit_test(test_random_never_root_never_absent_exactly_the_rule),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
