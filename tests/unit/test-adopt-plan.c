/* SPDX-License-Identifier: MIT */
/*
 * Adoption's decision (run/adopt-plan.c): which images are taken in, with which
 * instance, slot and tags, and why each other one is left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "config-test-helper.h"
#include "run/adopt-plan.h"
#include "run/plan.h"

/* every 1d at 03:00 UTC: the slot of 2026-11-26 10:00 is 20261126T030000Z */
#define POLICY "name: web\ntargets: {tags: {R: x}}\nschedule: {every: 1d, at: \"03:00\"}\nretain: {count: 3}\n"

static time_t t(const char *s) {
        time_t v;

        assert_int_equal(parse_iso8601(s, &v), 0);
        return v;
}

typedef struct world {
        config *config;
        ec2_image found[16];
        size_t n_found;
        ec2_image managed[4];
        size_t n_managed;
        ec2_snapshot snapshots[4];
        size_t n_snapshots;
        adopt_plan plan;
} world;

static void world_done(world *w) {
        for (size_t k = 0; k < w->n_found; k++)
                ec2_image_done(&w->found[k]);
        for (size_t k = 0; k < w->n_managed; k++)
                ec2_image_done(&w->managed[k]);
        for (size_t k = 0; k < w->n_snapshots; k++)
                ec2_snapshot_done(&w->snapshots[k]);
        adopt_plan_done(&w->plan);
        config_free(w->config);
}

static void load(world *w, const char *adopt) {
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        _cleanup_(freep) char *text = NULL;

        assert_true(asprintf(&text, POLICY "%s", adopt) > 0);
        assert_int_equal(config_load_policy(text, &w->config, &d), 0);
}

/* An image named web-ID, with tags "K=V" ... (NULL-terminated), one snapshot per snap (or none). */
static ec2_image *image(ec2_image *g, const char *id, ec2_image_state state, const char *created,
                        const char *source, const char *snap, ...) {
        va_list ap;

        *g = (ec2_image) { .id = strdup(id), .state = state, .creation_date = created ? t(created) : 0 };
        assert_true(asprintf(&g->name, "web-%s", id) > 0);      /* matches "web-*" */
        if (source)
                g->source_instance_id = strdup(source);
        if (snap) {
                g->devices = calloc(1, sizeof(ec2_block_device));
                g->devices[0] = (ec2_block_device) { .device_name = strdup("/dev/xvda"), .snapshot_id = strdup(snap) };
                g->n_devices = 1;
        }
        va_start(ap, snap);
        for (const char *kv; (kv = va_arg(ap, const char *));) {
                _cleanup_(freep) char *k = strdup(kv);
                char *eq = strchr(k, '=');

                *eq = '\0';
                assert_int_equal(ec2_tags_add(&g->tags, k, eq + 1), 0);
        }
        va_end(ap);
        return g;
}

static ec2_image *found(world *w) { return &w->found[w->n_found++]; }
static ec2_image *managed(world *w) { return &w->managed[w->n_managed++]; }

static int build(world *w, const char *now) {
        adopt_input in = {
                .policy = &w->config->policies[0],
                .now = t(now),
                .found = w->found, .n_found = w->n_found,
                .managed = w->managed, .n_managed = w->n_managed,
                .snapshots = w->snapshots, .n_snapshots = w->n_snapshots,
        };

        return adopt_plan_build(&in, &w->plan);
}

static const adopt_decision *decision(const world *w, const char *image_id) {
        for (size_t k = 0; k < w->plan.n; k++)
                if (streq(w->plan.items[k].image->id, image_id))
                        return &w->plan.items[k];
        fail_msg("no decision on %s", image_id);
        return NULL;
}

static void assert_skip(const world *w, const char *image_id, adopt_verdict v, const char *part) {
        const adopt_decision *d = decision(w, image_id);

        if (d->verdict != v || !d->reason || !strstr(d->reason, part))
                fail_msg("%s: %s '%s', wanted %s '%s'", image_id, adopt_verdict_to_string(d->verdict),
                         d->reason ?: "", adopt_verdict_to_string(v), part);
        assert_int_equal(d->tags.n, 0);
        assert_null(d->snapshot_ids);
}

static void test_takes_an_image_with_its_instance_and_slot(void **state) {
        _cleanup_(world_done) world w = {};
        const adopt_decision *d;

        (void) state;
        load(&w, "adopt: {tags: {Builder: packer}}\n");
        image(found(&w), "ami-1", EC2_IMAGE_AVAILABLE, "2026-11-26T10:00:00Z", "i-0aaa1111", "snap-1",
              "Builder=packer", "Name=web golden", NULL);
        assert_int_equal(build(&w, "2026-12-01T12:34:56Z"), 0);
        assert_int_equal(w.plan.n, 1);
        assert_int_equal(w.plan.n_take, 1);
        d = decision(&w, "ami-1");
        assert_int_equal(d->verdict, ADOPT_TAKE);
        assert_null(d->reason);
        assert_string_equal(d->instance_id, "i-0aaa1111");
        assert_string_equal(d->slot, "20261126T030000Z");
        /* exactly the four amirotd:* tags, nothing of the image's own */
        assert_int_equal(d->tags.n, ADOPT_TAGS_WRITTEN);
        assert_string_equal(ec2_tags_get(&d->tags, TAG_POLICY), "web");
        assert_string_equal(ec2_tags_get(&d->tags, TAG_INSTANCE_ID), "i-0aaa1111");
        assert_string_equal(ec2_tags_get(&d->tags, TAG_SLOT), "20261126T030000Z");
        assert_string_equal(ec2_tags_get(&d->tags, TAG_ADOPTED), "2026-12-01T12:34:56Z");
        assert_non_null(d->snapshot_ids);
        assert_string_equal(d->snapshot_ids[0], "snap-1");
        assert_null(d->snapshot_ids[1]);
}

static void test_slot_before_the_anchor_is_the_day_before(void **state) {
        _cleanup_(world_done) world w = {};

        (void) state;
        load(&w, "adopt: {name: web-*}\n");
        /* 02:59 is still the slot that began at 03:00 the day before */
        image(found(&w), "ami-1", EC2_IMAGE_AVAILABLE, "2026-11-26T02:59:00Z", "i-0aaa1111", NULL, NULL);
        assert_int_equal(build(&w, "2026-12-01T00:00:00Z"), 0);
        assert_string_equal(decision(&w, "ami-1")->slot, "20261125T030000Z");
        assert_null(decision(&w, "ami-1")->snapshot_ids);      /* instance store: nothing else to tag */
}

static void test_instance_from_the_section_else_ec2_else_none(void **state) {
        _cleanup_(world_done) world w = {}, w2 = {};

        (void) state;
        /* Packer's EBS builder makes each image of a throw-away instance: had EC2's word
         * won, each image would count for an instance of its own, departed, kept forever */
        load(&w, "adopt: {name: web-*, instance_id: i-0fff9999}\n");
        image(found(&w), "ami-1", EC2_IMAGE_AVAILABLE, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL, NULL);
        image(found(&w), "ami-2", EC2_IMAGE_AVAILABLE, "2026-11-27T10:00:00Z", NULL, NULL, NULL);
        image(found(&w), "ami-3", EC2_IMAGE_AVAILABLE, "2026-11-27T11:00:00Z", "i-0bbb2222", NULL, NULL);
        assert_int_equal(build(&w, "2026-12-01T00:00:00Z"), 0);
        assert_string_equal(decision(&w, "ami-1")->instance_id, "i-0fff9999");  /* the section's word first */
        assert_string_equal(ec2_tags_get(&decision(&w, "ami-1")->tags, TAG_INSTANCE_ID), "i-0fff9999");
        assert_string_equal(decision(&w, "ami-2")->instance_id, "i-0fff9999");
        /* two builds in one slot count for one instance now: the newer is taken */
        assert_int_equal(decision(&w, "ami-3")->verdict, ADOPT_TAKE);
        assert_skip(&w, "ami-2", ADOPT_SKIP_SLOT_TAKEN, "goes to the newer ami-3");
        assert_int_equal(w.plan.n_take, 2);

        load(&w2, "adopt: {name: web-*}\n");
        image(found(&w2), "ami-1", EC2_IMAGE_AVAILABLE, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL, NULL);
        image(found(&w2), "ami-2", EC2_IMAGE_AVAILABLE, "2026-11-27T10:00:00Z", NULL, NULL, NULL);
        assert_int_equal(build(&w2, "2026-12-01T00:00:00Z"), 0);
        assert_string_equal(decision(&w2, "ami-1")->instance_id, "i-0aaa1111");   /* else EC2's */
        assert_skip(&w2, "ami-2", ADOPT_SKIP_NO_INSTANCE, "no instance: ");
        assert_skip(&w2, "ami-2", ADOPT_SKIP_NO_INSTANCE, "give adopt.instance_id");
        assert_int_equal(w2.plan.n_take, 1);
}

static void test_never_taken(void **state) {
        _cleanup_(world_done) world w = {};

        (void) state;
        load(&w, "adopt: {name: web-*}\n");
        image(found(&w), "ami-own", EC2_IMAGE_AVAILABLE, "2026-11-26T10:00:00Z", NULL, NULL,
              "amirotd:policy=web", "amirotd:instance-id=i-0aaa1111", "amirotd:slot=20261126T030000Z", NULL);
        image(found(&w), "ami-adopted", EC2_IMAGE_AVAILABLE, "2026-11-25T10:00:00Z", NULL, NULL,
              "amirotd:policy=web", "amirotd:instance-id=i-0aaa1111", "amirotd:slot=20261125T030000Z",
              "amirotd:adopted=2026-11-30T00:00:00Z", NULL);
        image(found(&w), "ami-other", EC2_IMAGE_AVAILABLE, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL,
              "amirotd:policy=db", NULL);
        image(found(&w), "ami-copy", EC2_IMAGE_AVAILABLE, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL,
              "amirotd:copy-of=us-west-2/ami-9", NULL);
        image(found(&w), "ami-marked", EC2_IMAGE_AVAILABLE, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL,
              "amirotd:adopted=2026-11-01T00:00:00Z", NULL);
        image(found(&w), "ami-pending", EC2_IMAGE_PENDING, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL, NULL);
        image(found(&w), "ami-failed", EC2_IMAGE_FAILED, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL, NULL);
        image(found(&w), "ami-disabled", EC2_IMAGE_DISABLED, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL, NULL);
        image(found(&w), "ami-dereg", EC2_IMAGE_DEREGISTERED, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL, NULL);
        image(found(&w), "ami-unknown", _EC2_IMAGE_STATE_INVALID, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL, NULL);
        image(found(&w), "ami-future", EC2_IMAGE_AVAILABLE, "2026-12-02T10:00:00Z", "i-0aaa1111", NULL, NULL);
        image(found(&w), "ami-nodate", EC2_IMAGE_AVAILABLE, NULL, "i-0aaa1111", NULL, NULL);
        assert_int_equal(build(&w, "2026-12-01T00:00:00Z"), 0);
        assert_int_equal(w.plan.n, w.n_found);
        assert_int_equal(w.plan.n_take, 0);
        assert_skip(&w, "ami-own", ADOPT_SKIP_OWN, "already the policy's own image");
        assert_skip(&w, "ami-adopted", ADOPT_SKIP_OWN, "already adopted (2026-11-30T00:00:00Z)");
        assert_skip(&w, "ami-other", ADOPT_SKIP_OTHER_POLICY, "belongs to policy 'db'");
        assert_skip(&w, "ami-copy", ADOPT_SKIP_COPY, "a copy of us-west-2/ami-9");
        assert_skip(&w, "ami-marked", ADOPT_SKIP_MARKED, "carries amirotd:adopted but no amirotd:policy: left alone");
        assert_skip(&w, "ami-pending", ADOPT_SKIP_STATE, "pending: only available images are adopted");
        assert_skip(&w, "ami-failed", ADOPT_SKIP_STATE, "failed: ");
        assert_skip(&w, "ami-disabled", ADOPT_SKIP_STATE, "disabled: ");
        assert_skip(&w, "ami-dereg", ADOPT_SKIP_STATE, "deregistered: ");
        assert_skip(&w, "ami-unknown", ADOPT_SKIP_STATE, "in an unknown state");
        assert_skip(&w, "ami-future", ADOPT_SKIP_FUTURE, "created 2026-12-02T10:00:00Z, after now");
        assert_skip(&w, "ami-nodate", ADOPT_SKIP_NO_DATE, "no creation date");
}

/* The planner would count two images of one slot as two generations: one per slot. */
static void test_one_image_per_instance_and_slot(void **state) {
        _cleanup_(world_done) world w = {};

        (void) state;
        load(&w, "adopt: {name: web-*}\n");
        image(found(&w), "ami-early", EC2_IMAGE_AVAILABLE, "2026-11-26T04:00:00Z", "i-0aaa1111", "snap-e", NULL);
        image(found(&w), "ami-late", EC2_IMAGE_AVAILABLE, "2026-11-26T20:00:00Z", "i-0aaa1111", "snap-l", NULL);
        image(found(&w), "ami-mid", EC2_IMAGE_AVAILABLE, "2026-11-26T12:00:00Z", "i-0aaa1111", "snap-m", NULL);
        /* another instance in the same slot, and the same instance in the next slot: both taken */
        image(found(&w), "ami-b", EC2_IMAGE_AVAILABLE, "2026-11-26T12:00:00Z", "i-0bbb2222", NULL, NULL);
        image(found(&w), "ami-next", EC2_IMAGE_AVAILABLE, "2026-11-27T03:00:00Z", "i-0aaa1111", NULL, NULL);
        assert_int_equal(build(&w, "2026-12-01T00:00:00Z"), 0);
        assert_int_equal(w.plan.n_take, 3);
        assert_int_equal(decision(&w, "ami-late")->verdict, ADOPT_TAKE);
        assert_skip(&w, "ami-early", ADOPT_SKIP_SLOT_TAKEN, "slot 20261126T030000Z of i-0aaa1111 goes to the newer ami-late");
        assert_skip(&w, "ami-mid", ADOPT_SKIP_SLOT_TAKEN, "goes to the newer ami-late");
        assert_int_equal(decision(&w, "ami-b")->verdict, ADOPT_TAKE);
        assert_int_equal(decision(&w, "ami-next")->verdict, ADOPT_TAKE);
        assert_string_equal(decision(&w, "ami-next")->slot, "20261127T030000Z");
}

static void test_a_slot_the_policy_holds_is_not_taken(void **state) {
        _cleanup_(world_done) world w = {};

        (void) state;
        load(&w, "adopt: {name: web-*}\n");
        image(managed(&w), "ami-made", EC2_IMAGE_AVAILABLE, "2026-11-26T03:00:10Z", NULL, NULL,
              "amirotd:policy=web", "amirotd:instance-id=i-0aaa1111", "amirotd:slot=20261126T030000Z", NULL);
        /* a failed one and a copy hold no slot; nor does another policy's */
        image(managed(&w), "ami-made-failed", EC2_IMAGE_FAILED, "2026-11-27T03:00:10Z", NULL, NULL,
              "amirotd:policy=web", "amirotd:instance-id=i-0aaa1111", "amirotd:slot=20261127T030000Z", NULL);
        image(managed(&w), "ami-copy", EC2_IMAGE_AVAILABLE, "2026-11-28T03:00:10Z", NULL, NULL,
              "amirotd:policy=web", "amirotd:instance-id=i-0aaa1111", "amirotd:slot=20261128T030000Z",
              "amirotd:copy-of=us-west-2/ami-9", NULL);
        image(found(&w), "ami-1", EC2_IMAGE_AVAILABLE, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL, NULL);
        image(found(&w), "ami-2", EC2_IMAGE_AVAILABLE, "2026-11-27T10:00:00Z", "i-0aaa1111", NULL, NULL);
        image(found(&w), "ami-3", EC2_IMAGE_AVAILABLE, "2026-11-28T10:00:00Z", "i-0aaa1111", NULL, NULL);
        assert_int_equal(build(&w, "2026-12-01T00:00:00Z"), 0);
        assert_skip(&w, "ami-1", ADOPT_SKIP_SLOT_TAKEN, "slot 20261126T030000Z of i-0aaa1111 already has ami-made of the policy");
        assert_int_equal(decision(&w, "ami-2")->verdict, ADOPT_TAKE);
        assert_int_equal(decision(&w, "ami-3")->verdict, ADOPT_TAKE);
        assert_int_equal(w.plan.n_take, 2);
}

static void test_listed_twice_judged_once_and_full_tags(void **state) {
        _cleanup_(world_done) world w = {};
        char kv[EC2_TAGS_PER_RESOURCE_MAX][16];
        ec2_image *g;

        (void) state;
        load(&w, "adopt: {name: web-*}\n");
        image(found(&w), "ami-1", EC2_IMAGE_AVAILABLE, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL, NULL);
        image(found(&w), "ami-1", EC2_IMAGE_AVAILABLE, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL, NULL);
        g = image(found(&w), "ami-full", EC2_IMAGE_AVAILABLE, "2026-11-27T10:00:00Z", "i-0aaa1111", NULL, NULL);
        for (int k = 0; k < EC2_TAGS_PER_RESOURCE_MAX - ADOPT_TAGS_WRITTEN + 1; k++) {
                snprintf(kv[k], sizeof(kv[k]), "k%d", k);
                assert_int_equal(ec2_tags_add(&g->tags, kv[k], "v"), 0);
        }
        assert_int_equal(build(&w, "2026-12-01T00:00:00Z"), 0);
        assert_int_equal(w.plan.n, 2);
        assert_int_equal(decision(&w, "ami-1")->verdict, ADOPT_TAKE);
        assert_skip(&w, "ami-full", ADOPT_SKIP_TAGS_FULL, "has 47 tags: adoption's 4 would pass EC2's 50");
}

/* DescribeImages' filters select; the decision checks again, so that an endpoint that
 * ignored a filter cannot make the whole account adoptable. */
static void test_checks_the_selection_again(void **state) {
        _cleanup_(world_done) world w = {};
        ec2_image *g;

        (void) state;
        load(&w, "adopt: {tags: {Builder: packer, Team: \"*\"}, name: \"web-?\?-*\"}\n");
        g = image(found(&w), "ami-ok", EC2_IMAGE_AVAILABLE, "2026-11-26T10:00:00Z", "i-0aaa1111", NULL,
                  "Builder=packer", "Team=", NULL);
        free(g->name);
        g->name = strdup("web-01-golden");
        g = image(found(&w), "ami-name", EC2_IMAGE_AVAILABLE, "2026-11-27T10:00:00Z", "i-0aaa1111", NULL,
                  "Builder=packer", "Team=blue", NULL);
        free(g->name);
        g->name = strdup("web-1-golden");
        g = image(found(&w), "ami-value", EC2_IMAGE_AVAILABLE, "2026-11-28T10:00:00Z", "i-0aaa1111", NULL,
                  "Builder=console", "Team=blue", NULL);
        free(g->name);
        g->name = strdup("web-02-golden");
        g = image(found(&w), "ami-key", EC2_IMAGE_AVAILABLE, "2026-11-29T10:00:00Z", "i-0aaa1111", NULL,
                  "Builder=packer", NULL);
        free(g->name);
        g->name = strdup("web-03-golden");
        assert_int_equal(build(&w, "2026-12-01T00:00:00Z"), 0);
        assert_int_equal(decision(&w, "ami-ok")->verdict, ADOPT_TAKE);
        assert_skip(&w, "ami-name", ADOPT_SKIP_NOT_SELECTED, "does not match adopt's tags and name");
        assert_skip(&w, "ami-value", ADOPT_SKIP_NOT_SELECTED, "does not match");
        assert_skip(&w, "ami-key", ADOPT_SKIP_NOT_SELECTED, "does not match");
}

static void test_name_patterns_as_ec2_reads_them(void **state) {
        (void) state;
        assert_true(adopt_name_matches("web-*", "web-"));
        assert_true(adopt_name_matches("web-*", "web-golden-2026"));
        assert_true(adopt_name_matches("*-golden-*", "web-golden-2026"));
        assert_true(adopt_name_matches("w?b", "web"));
        assert_true(adopt_name_matches("a*b*c", "aXbYbZc"));
        assert_true(adopt_name_matches("[web] *", "[web] golden"));        /* [ is no class */
        assert_true(adopt_name_matches("web\\*", "web*"));
        assert_true(adopt_name_matches("what\\?", "what?"));
        assert_false(adopt_name_matches("web\\*", "web-1"));
        assert_false(adopt_name_matches("what\\?", "whats"));
        assert_false(adopt_name_matches("web-*", "db-web-1"));
        assert_false(adopt_name_matches("w?b", "wb"));
        assert_false(adopt_name_matches("web", "web-1"));
        assert_false(adopt_name_matches("a*b*c", "aXbYbZ"));
        assert_false(adopt_name_matches("[web]", "w"));
        /* EC2: "a filter value of \*amazon\?\\ specifies the literal string *amazon?\." */
        assert_true(adopt_name_matches("\\*amazon\\?\\\\", "*amazon?\\"));
        assert_false(adopt_name_matches("\\*amazon\\?\\\\", "*amazon?\\\\"));
        assert_true(adopt_name_matches("web\\\\*", "web\\1"));            /* \\ then a wildcard */
        assert_false(adopt_name_matches("web\\\\*", "web-1"));
        assert_true(adopt_name_matches("C:\\\\img?", "C:\\img1"));
        assert_true(adopt_name_matches("web\\x", "web\\x"));                /* any other \ is itself */
}

/* A snapshot as DescribeSnapshots lists it, tagged amirotd:policy=owner. */
static void snapshot_of_policy(world *w, const char *id, const char *owner) {
        ec2_snapshot *s = &w->snapshots[w->n_snapshots++];

        *s = (ec2_snapshot) { .id = strdup(id), .state = EC2_SNAPSHOT_COMPLETED };
        assert_int_equal(ec2_tags_add(&s->tags, TAG_POLICY, owner), 0);
}

static void test_snapshots_a_policy_holds_already(void **state) {
        _cleanup_(world_done) world w = {};
        const adopt_decision *d;

        (void) state;
        load(&w, "adopt: {name: web-*}\n");
        /* an adoption interrupted after its snapshots' tags: the image is taken, the
         * snapshot not tagged again (the IAM policy allows no retag) */
        image(found(&w), "ami-1", EC2_IMAGE_AVAILABLE, "2026-11-26T10:00:00Z", "i-0aaa1111", "snap-1", NULL);
        snapshot_of_policy(&w, "snap-1", "web");
        /* an image of no policy on a snapshot another policy holds: never taken */
        image(found(&w), "ami-2", EC2_IMAGE_AVAILABLE, "2026-11-27T10:00:00Z", "i-0aaa1111", "snap-2", NULL);
        snapshot_of_policy(&w, "snap-2", "db");
        image(found(&w), "ami-3", EC2_IMAGE_AVAILABLE, "2026-11-28T10:00:00Z", "i-0aaa1111", "snap-3", NULL);
        assert_int_equal(build(&w, "2026-12-01T00:00:00Z"), 0);
        d = decision(&w, "ami-1");
        assert_int_equal(d->verdict, ADOPT_TAKE);
        assert_null(d->snapshot_ids);
        assert_int_equal(d->n_snapshots_own, 1);
        assert_string_equal(ec2_tags_get(&d->tags, TAG_POLICY), "web");
        assert_skip(&w, "ami-2", ADOPT_SKIP_OTHER_POLICY, "its snapshot snap-2 belongs to policy 'db'");
        d = decision(&w, "ami-3");
        assert_int_equal(d->verdict, ADOPT_TAKE);
        assert_string_equal(d->snapshot_ids[0], "snap-3");
        assert_null(d->snapshot_ids[1]);
        assert_int_equal(d->n_snapshots_own, 0);
        assert_int_equal(w.plan.n_take, 2);
}

static void test_refuses_a_policy_without_adopt(void **state) {
        _cleanup_(world_done) world w = {};

        (void) state;
        load(&w, "");
        assert_int_equal(build(&w, "2026-12-01T00:00:00Z"), -EINVAL);
        assert_int_equal(adopt_verdict_to_string(ADOPT_SKIP_SLOT_TAKEN)[0], 's');
        assert_null(adopt_verdict_to_string(_ADOPT_VERDICT_MAX));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_takes_an_image_with_its_instance_and_slot),
                cmocka_unit_test(test_slot_before_the_anchor_is_the_day_before),
                cmocka_unit_test(test_instance_from_the_section_else_ec2_else_none),
                cmocka_unit_test(test_never_taken),
                cmocka_unit_test(test_one_image_per_instance_and_slot),
                cmocka_unit_test(test_a_slot_the_policy_holds_is_not_taken),
                cmocka_unit_test(test_listed_twice_judged_once_and_full_tags),
                cmocka_unit_test(test_checks_the_selection_again),
                cmocka_unit_test(test_name_patterns_as_ec2_reads_them),
                cmocka_unit_test(test_snapshots_a_policy_holds_already),
                cmocka_unit_test(test_refuses_a_policy_without_adopt),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
