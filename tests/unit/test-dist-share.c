/* SPDX-License-Identifier: MIT */
/*
 * The share distributor (run/dist-share.c) through dist_start(), against the EC2
 * simulator in several regions: the run's own images are shared, and so are their
 * copies in the destinations of copy_to in the policy's own account, found there by
 * amirotd:copy-of; a copy of another region's image, the destination's own images, and
 * destinations in other accounts are left alone. (copy_to is set by hand here: its
 * section is parsed by another part of the configuration.) The rest of the
 * distributor's behaviour is proven through the binary, tests/integration/test_share.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "aws-sync.h"
#include "config-test-helper.h"
#include "ec2sim-helper.h"
#include "run/clients.h"
#include "run/dist.h"

#define OTHER "444455556666"
#define COPY_ACCOUNT "777788889999"

static test_server sim;

static int setup_all(void **state) {
        (void) state;
        return test_ec2sim_start(&sim) < 0 ? -1 : 0;
}

static int teardown_all(void **state) {
        (void) state;
        test_server_stop(&sim);
        return 0;
}

/* The first image id of a seed in region. */
static char *seed(http_client *http, const char *region, const char *name, const char *tags) {
        _cleanup_(freep) char *json = NULL;
        json_object *doc = NULL, *ids;
        char *id;

        assert_true(asprintf(&json, "{\"region\": \"%s\", \"images\": [{\"name\": \"%s\", \"tags\": %s}]}",
                             region, name, tags) > 0);
        assert_int_equal(test_ec2sim_admin(http, &sim, "POST", "/_sim/seed", json, &doc), 0);
        assert_true(json_object_object_get_ex(doc, "images", &ids));
        id = strdup(json_object_get_string(json_object_array_get_idx(ids, 0)));
        json_object_put(doc);
        return id;
}

typedef struct permissions_sync {
        bool done;
        int r;
        ec2_permission_list l;
} permissions_sync;

static void on_permissions(int r, ec2_permission_list *l, const aws_error *err, void *userdata) {
        permissions_sync *s = userdata;

        (void) err;
        s->done = true;
        s->r = r;
        if (r >= 0) {
                s->l = *l;
                *l = (ec2_permission_list) {};
        }
}

/* The accounts image may be launched by, "A,B" ("" for none). */
static char *launch_accounts(aws_client *ec2, const char *image) {
        permissions_sync s = {};
        char *out = strdup("");

        assert_int_equal(ec2_describe_launch_permission(ec2, image, on_permissions, &s, NULL), 0);
        assert_int_equal(http_client_run_until(aws_client_http(ec2), &s.done), 0);
        assert_int_equal(s.r, 0);
        for (char **v = s.l.user_ids; v && *v; v++) {
                char *t;

                assert_true(asprintf(&t, "%s%s%s", out, *out ? "," : "", *v) > 0);
                free(out);
                out = t;
        }
        ec2_permission_list_done(&s.l);
        return out;
}

static void on_dist_done(int r, void *userdata) {
        int *ret = userdata;

        *ret = r;
}

static void test_copies_in_own_account_are_shared_too(void **state) {
        _cleanup_(freep) char *global = NULL, *src = NULL, *copy = NULL, *foreign_copy = NULL, *own = NULL;
        _cleanup_(freep) char *a = NULL, *b = NULL, *c2 = NULL, *d2 = NULL;
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(aws_pool_freep) aws_pool *pool = NULL;
        _cleanup_(ec2_image_list_done) ec2_image_list images = {};
        _cleanup_(dist_result_done) dist_result res = {};
        void *share = NULL;
        static const char *policy_text = "name: web\nregions: [us-east-1]\ntargets: {tags: {R: x}}\n"
                "schedule: {every: 1d}\nretain: {count: 3}\nshare: {accounts: [\"" OTHER "\"]}\n";
        const char *texts[] = { policy_text };
        size_t sizes[] = { strlen(policy_text) };
        char *policy_values[] = { "web", NULL };
        ec2_filter by_policy = { "tag:amirotd:policy", policy_values };
        aws_client *ec2, *dest;
        policy *p;
        int done = 1;

        (void) state;
        assert_true(asprintf(&global, "region: us-east-1\nendpoint_url: %s\ncredentials:\n  access_key_id: %s\n"
                             "  secret_access_key: %s\n", sim.url, TEST_EC2SIM_ACCESS_KEY,
                             TEST_EC2SIM_SECRET_KEY) > 0);
        assert_int_equal(config_load_from_memory(global, strlen(global), texts, sizes, 1, &c, &d), 0);
        p = &c->policies[0];
        p->copy_to = calloc(3, sizeof(copy_destination));
        assert_non_null(p->copy_to);
        p->copy_to[0].region = strdup("eu-west-1");
        p->copy_to[1].region = strdup("eu-west-2");
        p->copy_to[1].role_arn = strdup("arn:aws:iam::" COPY_ACCOUNT ":role/amirotd");
        p->copy_to[2].region = strdup("eu-west-1");        /* twice: read once */
        p->n_copy_to = 3;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(aws_pool_new(e, c, &pool), 0);
        assert_int_equal(aws_pool_ec2(pool, p, "us-east-1", &ec2), 0);
        assert_int_equal(aws_pool_ec2(pool, p, "eu-west-1", &dest), 0);
        assert_int_equal(test_ec2sim_admin(aws_client_http(ec2), &sim, "POST", "/_sim/reset", NULL, NULL), 0);
        src = seed(aws_client_http(ec2), "us-east-1", "web-src", "{\"amirotd:policy\": \"web\"}");
        {
                _cleanup_(freep) char *tags = NULL;

                assert_true(asprintf(&tags, "{\"amirotd:policy\": \"web\", \"amirotd:copy-of\": \"us-east-1/%s\"}",
                                     src) > 0);
                copy = seed(aws_client_http(ec2), "eu-west-1", "web-copy", tags);
        }
        foreign_copy = seed(aws_client_http(ec2), "eu-west-1", "web-other-copy",
                            "{\"amirotd:policy\": \"web\", \"amirotd:copy-of\": \"eu-central-1/ami-0123456789abcdef0\"}");
        own = seed(aws_client_http(ec2), "eu-west-1", "web-own", "{\"amirotd:policy\": \"web\"}");
        assert_int_equal(ec2_describe_images_sync(ec2, &by_policy, 1, NULL, &images, NULL), 0);

        /* The share distributor alone: copy_to's would copy to the destinations set above. */
        assert_int_equal(dist_share_ops.start(&(dist_context) {
                                                      .event = e, .pool = pool, .ec2 = ec2, .policy = p,
                                                      .region = "us-east-1", .images = images.items,
                                                      .n_images = images.n, .result = &res,
                                              }, on_dist_done, &done, &share), 0);
        while (done == 1)
                assert_true(sd_event_run(e, UINT64_MAX) >= 0);
        dist_share_ops.free(share);
        assert_int_equal(done, 0);

        a = launch_accounts(ec2, src);
        b = launch_accounts(dest, copy);
        c2 = launch_accounts(dest, foreign_copy);
        d2 = launch_accounts(dest, own);
        assert_string_equal(a, OTHER "," COPY_ACCOUNT);
        assert_string_equal(b, OTHER "," COPY_ACCOUNT);
        assert_string_equal(c2, "");
        assert_string_equal(d2, "");
        assert_int_equal(res.shares_added, 6);          /* and the copy account on each snapshot */
        assert_int_equal(res.errors, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_copies_in_own_account_are_shared_too),
        };

        return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
