/* SPDX-License-Identifier: MIT */
/*
 * The typed EC2 calls (daemon/aws/ec2-calls.c) against the real EC2 simulator
 * (tests/ec2sim), which checks every signature and parameter against EC2's
 * model: Describe calls follow NextToken over thousands of resources and
 * filter by tag, CreateImage tags image and snapshots, EC2's errors arrive as
 * values with code and request id, DryRun is a DryRunOperation, and an op that
 * is cancelled never calls back. What a correct simulator never sends (a
 * malformed page, a NextToken that repeats, <return>false</return>) comes from
 * tests/unit/ec2-canned.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "aws-sync.h"
#include "aws/client.h"
#include "aws/creds.h"
#include "aws/ec2.h"
#include "ec2sim-helper.h"

static test_server sim, canned;

typedef struct fixture {
        sd_event *event;
        http_client *http;
        creds_provider *creds;
        aws_client *ec2;                /* against the simulator */
} fixture;

static int setup_all(void **state) {
        const char *argv[] = { "tests/unit/ec2-canned.py", "--lifetime", "600", NULL };

        (void) state;
        if (test_ec2sim_start(&sim) < 0)
                return -1;
        if (test_server_start(&canned, argv) < 0) {
                test_server_stop(&sim);
                return -1;
        }
        return 0;
}

static int teardown_all(void **state) {
        (void) state;
        test_server_stop(&canned);
        test_server_stop(&sim);
        return 0;
}

static aws_client *client_new(fixture *f, const char *url) {
        aws_client_options o = {
                .service = "ec2",
                .region = TEST_EC2SIM_REGION,
                .endpoint_url = url,
        };
        aws_client *c = NULL;

        assert_int_equal(aws_client_new(f->http, f->creds, &o, &c), 0);
        return c;
}

static int setup(void **state) {
        creds_options o = {
                .access_key_id = TEST_EC2SIM_ACCESS_KEY,
                .secret_access_key = TEST_EC2SIM_SECRET_KEY,
        };
        fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_client_new(f->event, &f->http), 0);
        assert_int_equal(creds_provider_new_chain(f->http, &o, &f->creds), 0);
        f->ec2 = client_new(f, sim.url);
        assert_int_equal(test_ec2sim_admin(f->http, &sim, "POST", "/_sim/reset", NULL, NULL), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        aws_client_free(f->ec2);
        creds_provider_free(f->creds);
        http_client_free(f->http);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

/* ---- Helpers --------------------------------------------------------------------------- */

static json_object *admin(fixture *f, const char *method, const char *path, const char *json) {
        json_object *doc = NULL;

        assert_int_equal(test_ec2sim_admin(f->http, &sim, method, path, json, &doc), 0);
        return doc;
}

static void admin_ok(fixture *f, const char *method, const char *path, const char *json) {
        json_object_put(admin(f, method, path, json));
}

/* The first id of kind ("instances", "images", "snapshots") a seed created, copied. */
static char *seed(fixture *f, const char *json, const char *kind) {
        json_object *doc = admin(f, "POST", "/_sim/seed", json), *ids;
        char *id = NULL;

        if (kind) {
                assert_true(json_object_object_get_ex(doc, kind, &ids));
                assert_true(json_object_array_length(ids) > 0);
                id = strdup(json_object_get_string(json_object_array_get_idx(ids, 0)));
                assert_non_null(id);
        }
        json_object_put(doc);
        return id;
}

/* The simulator's log of calls of one action, oldest first; put it when done. */
static json_object *calls_of(fixture *f, const char *action) {
        char path[128];
        json_object *calls;

        snprintf(path, sizeof(path), "/_sim/calls?action=%s", action);
        calls = admin(f, "GET", path, NULL);
        assert_true(json_object_is_type(calls, json_type_array));
        return calls;
}

static json_object *call_at(json_object *calls, size_t i) {
        assert_true(i < json_object_array_length(calls));
        return json_object_array_get_idx(calls, i);
}

static const char *call_param(json_object *call, const char *name) {
        json_object *params, *v;

        assert_true(json_object_object_get_ex(call, "params", &params));
        return json_object_object_get_ex(params, name, &v) ? json_object_get_string(v) : NULL;
}

static const char *call_field(json_object *call, const char *name) {
        json_object *v;

        return json_object_object_get_ex(call, name, &v) ? json_object_get_string(v) : NULL;
}

static size_t images_count(fixture *f, const ec2_filter *filters, size_t n) {
        ec2_image_list l = {};
        aws_error err = {};
        size_t count;

        assert_int_equal(ec2_describe_images_sync(f->ec2, filters, n, NULL, &l, &err), 0);
        count = l.n;
        ec2_image_list_done(&l);
        aws_error_done(&err);
        return count;
}

static size_t snapshots_count(fixture *f, const ec2_filter *filters, size_t n) {
        ec2_snapshot_list l = {};
        aws_error err = {};
        size_t count;

        assert_int_equal(ec2_describe_snapshots_sync(f->ec2, filters, n, &l, &err), 0);
        count = l.n;
        ec2_snapshot_list_done(&l);
        aws_error_done(&err);
        return count;
}

/* An image of instance_id named name, with its snapshot ids (NULL-terminated) in *ret_snapshots. */
static char *create_image(fixture *f, const char *instance_id, const char *name, char ***ret_snapshots) {
        _cleanup_(ec2_tags_done) ec2_tags tags = {};
        ec2_create_image_request req = {
                .instance_id = instance_id,
                .name = name,
                .image_tags = &tags,
                .snapshot_tags = &tags,
        };
        ec2_image_list l = {};
        aws_error err = {};
        char *id = NULL, *ids[] = { NULL, NULL };

        assert_int_equal(ec2_tags_add(&tags, "amirotd:policy", "web"), 0);
        assert_int_equal(ec2_create_image_sync(f->ec2, &req, &id, &err), 0);
        assert_non_null(id);
        if (ret_snapshots) {
                ids[0] = id;
                assert_int_equal(ec2_describe_images_sync(f->ec2, NULL, 0, ids, &l, &err), 0);
                assert_int_equal(l.n, 1);
                *ret_snapshots = NULL;
                for (size_t i = 0; i < l.items[0].n_devices; i++)
                        assert_int_equal(strv_extend(ret_snapshots, l.items[0].devices[i].snapshot_id), 0);
                ec2_image_list_done(&l);
        }
        aws_error_done(&err);
        return id;
}

static void assert_aws_error(int r, const aws_error *err, const char *code) {
        assert_int_equal(r, -EREMOTEIO);
        assert_non_null(err->code);
        assert_string_equal(err->code, code);
        assert_false(isempty(err->request_id));
        assert_false(isempty(err->message));
}

/* ---- Paging ---------------------------------------------------------------------------- */

typedef struct images_result {
        unsigned calls;
        int r;
        ec2_image_list list;
        aws_error error;
        bool done;
} images_result;

static void on_images(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        images_result *res = userdata;

        res->calls++;
        res->r = r;
        res->done = true;
        assert_non_null(l);
        if (r >= 0) {
                assert_null(err);
                res->list = *l;
                *l = (ec2_image_list) {};
        } else {
                /* A failed op hands back no partial list. */
                assert_int_equal(l->n, 0);
                assert_non_null(err);
                assert_int_equal(aws_error_set(&res->error, err->status, err->code, err->message, err->request_id), 0);
        }
}

static int on_timer_set_done(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s, (void) usec;
        *(bool *) userdata = true;
        return 0;
}

/* Runs the loop for msec more milliseconds, so that a second callback would show. */
static void run_for(fixture *f, unsigned msec) {
        sd_event_source *timer = NULL;
        bool elapsed = false;

        assert_int_equal(sd_event_add_time_relative(f->event, &timer, CLOCK_MONOTONIC, msec * USEC_PER_MSEC, 0,
                                                     on_timer_set_done, &elapsed), 0);
        assert_int_equal(http_client_run_until(f->http, &elapsed), 0);
        sd_event_source_unref(timer);
}

static void test_describe_images_follows_next_token_over_2500(void **state) {
        fixture *f = *state;
        images_result res = {};
        json_object *calls;
        ec2_op *op = NULL;
        bool *seen;

        seed(f, "{\"images\": {\"count\": 2500, \"name\": \"bulk-{n}\", \"snapshots\": 0, "
                "\"tags\": {\"Batch\": \"bulk\", \"Index\": \"{n}\"}}}", NULL);
        admin_ok(f, "DELETE", "/_sim/calls", NULL);

        assert_int_equal(ec2_describe_images(f->ec2, NULL, 0, NULL, on_images, &res, &op), 0);
        assert_non_null(op);
        assert_int_equal(http_client_run_until(f->http, &res.done), 0);
        run_for(f, 100);
        assert_int_equal(res.calls, 1);
        assert_int_equal(res.r, 0);
        assert_int_equal(res.list.n, 2500);

        /* Every image once, with its own tags. */
        seen = calloc(2500, sizeof(bool));
        assert_non_null(seen);
        for (size_t i = 0; i < res.list.n; i++) {
                const ec2_image *img = &res.list.items[i];
                unsigned n;
                char index[16];

                assert_non_null(img->name);
                assert_int_equal(sscanf(img->name, "bulk-%u", &n), 1);
                assert_true(n < 2500);
                assert_false(seen[n]);
                seen[n] = true;
                snprintf(index, sizeof(index), "%u", n);
                assert_string_equal(ec2_tags_get(&img->tags, "Index"), index);
                assert_string_equal(ec2_tags_get(&img->tags, "Batch"), "bulk");
                assert_int_equal(img->state, EC2_IMAGE_AVAILABLE);
        }
        free(seen);
        ec2_image_list_done(&res.list);

        /* Three pages of at most 1000, each a copy of the first request plus the token before it. */
        calls = calls_of(f, "DescribeImages");
        assert_int_equal(json_object_array_length(calls), 3);
        for (size_t i = 0; i < 3; i++) {
                json_object *c = call_at(calls, i);

                assert_string_equal(call_param(c, "Owner.1"), "self");
                assert_string_equal(call_param(c, "MaxResults"), "1000");
                if (i == 0)
                        assert_null(call_param(c, "NextToken"));
                else
                        assert_non_null(call_param(c, "NextToken"));
        }
        assert_string_not_equal(call_param(call_at(calls, 1), "NextToken"), call_param(call_at(calls, 2), "NextToken"));
        json_object_put(calls);
}

static void test_describe_instances_and_snapshots_follow_next_token(void **state) {
        fixture *f = *state;
        ec2_instance_list instances = {};
        ec2_snapshot_list snapshots = {};
        aws_error err = {};
        json_object *calls;

        seed(f, "{\"instances\": {\"count\": 1200, \"tags\": {\"Role\": \"web-{n}\"}}, "
                "\"snapshots\": {\"count\": 1100, \"description\": \"snap {n}\"}}", NULL);
        admin_ok(f, "DELETE", "/_sim/calls", NULL);

        assert_int_equal(ec2_describe_instances_sync(f->ec2, NULL, 0, &instances, &err), 0);
        assert_int_equal(instances.n, 1200);
        for (size_t i = 0; i < instances.n; i++) {
                assert_true(startswith(instances.items[i].id, "i-"));
                assert_true(startswith(ec2_tags_get(&instances.items[i].tags, "Role"), "web-"));
                assert_non_null(instances.items[i].volume_ids);
        }
        ec2_instance_list_done(&instances);

        /* The seeded instances' root volumes have no snapshots: only the 1100 count. */
        assert_int_equal(ec2_describe_snapshots_sync(f->ec2, NULL, 0, &snapshots, &err), 0);
        assert_int_equal(snapshots.n, 1100);
        for (size_t i = 0; i < snapshots.n; i++)
                assert_true(startswith(snapshots.items[i].id, "snap-"));
        ec2_snapshot_list_done(&snapshots);
        assert_null(err.code);
        assert_null(err.message);

        calls = calls_of(f, "DescribeInstances");
        assert_int_equal(json_object_array_length(calls), 2);
        assert_string_equal(call_param(call_at(calls, 0), "MaxResults"), "1000");
        assert_null(call_param(call_at(calls, 0), "InstanceId.1"));
        assert_non_null(call_param(call_at(calls, 1), "NextToken"));
        json_object_put(calls);

        calls = calls_of(f, "DescribeSnapshots");
        assert_int_equal(json_object_array_length(calls), 2);
        assert_string_equal(call_param(call_at(calls, 0), "Owner.1"), "self");
        assert_string_equal(call_param(call_at(calls, 0), "MaxResults"), "1000");
        assert_non_null(call_param(call_at(calls, 1), "NextToken"));
        json_object_put(calls);
}

/* ---- Filters --------------------------------------------------------------------------- */

static void test_describe_filters_by_tag(void **state) {
        fixture *f = *state;
        char *a[] = { "a", NULL }, *ab[] = { "a", "b", NULL }, *team[] = { "Team", NULL };
        char *a1[] = { "a-1", NULL }, *web[] = { "web", NULL }, *running[] = { "running", NULL };
        ec2_filter by_a = { "tag:Team", a }, by_ab = { "tag:Team", ab }, by_key = { "tag-key", team };
        ec2_filter a_and_name[] = { { "tag:Team", a }, { "name", a1 } };
        ec2_filter web_running[] = { { "tag:Role", web }, { "instance-state-name", running } };
        ec2_filter policy = { "tag:amirotd:policy", web };
        ec2_instance_list instances = {};
        ec2_image_list images = {};
        aws_error err = {};

        seed(f, "{\"images\": {\"count\": 5, \"name\": \"a-{n}\", \"snapshots\": 0, \"tags\": {\"Team\": \"a\"}}}", NULL);
        seed(f, "{\"images\": {\"count\": 3, \"name\": \"b-{n}\", \"snapshots\": 0, \"tags\": {\"Team\": \"b\"}}}", NULL);
        seed(f, "{\"images\": {\"count\": 2, \"name\": \"none-{n}\", \"snapshots\": 0, \"tags\": {\"Other\": \"a\"}}}", NULL);
        seed(f, "{\"instances\": {\"count\": 3, \"tags\": {\"Role\": \"web\"}}}", NULL);
        seed(f, "{\"instances\": {\"count\": 2, \"state\": \"stopped\", \"tags\": {\"Role\": \"web\"}}}", NULL);
        seed(f, "{\"instances\": {\"count\": 4, \"tags\": {\"Role\": \"db\"}}}", NULL);
        seed(f, "{\"snapshots\": {\"count\": 4, \"tags\": {\"amirotd:policy\": \"web\"}}}", NULL);
        seed(f, "{\"snapshots\": {\"count\": 2, \"tags\": {\"amirotd:policy\": \"db\"}}}", NULL);

        assert_int_equal(ec2_describe_images_sync(f->ec2, &by_a, 1, NULL, &images, &err), 0);
        assert_int_equal(images.n, 5);
        for (size_t i = 0; i < images.n; i++) {
                assert_true(startswith(images.items[i].name, "a-"));
                assert_string_equal(ec2_tags_get(&images.items[i].tags, "Team"), "a");
        }
        ec2_image_list_done(&images);

        assert_int_equal(images_count(f, &by_ab, 1), 8);
        assert_int_equal(images_count(f, &by_key, 1), 8);
        assert_int_equal(images_count(f, a_and_name, 2), 1);
        assert_int_equal(images_count(f, NULL, 0), 10);

        assert_int_equal(ec2_describe_instances_sync(f->ec2, web_running, 2, &instances, &err), 0);
        assert_int_equal(instances.n, 3);
        for (size_t i = 0; i < instances.n; i++) {
                assert_int_equal(instances.items[i].state, EC2_INSTANCE_RUNNING);
                assert_string_equal(ec2_tags_get(&instances.items[i].tags, "Role"), "web");
        }
        ec2_instance_list_done(&instances);

        assert_int_equal(snapshots_count(f, &policy, 1), 4);
        aws_error_done(&err);
}

/* ---- CreateImage ----------------------------------------------------------------------- */

static void test_create_image_tags_image_and_snapshots(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *instance = NULL, *image = NULL;
        _cleanup_(ec2_tags_done) ec2_tags image_tags = {}, snapshot_tags = {};
        ec2_create_image_request req = {
                .name = "web-slot-20260101",
                .description = "golden image of web-1",
                .no_reboot = true,
                .image_tags = &image_tags,
                .snapshot_tags = &snapshot_tags,
        };
        char *ids[] = { NULL, NULL }, *web[] = { "web", NULL }, *platform[] = { "platform", NULL };
        char *volume_copy[] = { "volume copy", NULL };
        ec2_filter policy = { "tag:amirotd:policy", web }, team = { "tag:Team", platform };
        ec2_filter kind = { "tag:Kind", volume_copy };
        ec2_image_list images = {};
        ec2_snapshot_list snapshots = {};
        aws_error err = {};
        const ec2_image *img;
        json_object *calls, *c;

        instance = seed(f, "{\"instances\": [{\"volumes\": [8, 16], \"tags\": {\"Name\": \"web-1\"}}]}", "instances");
        assert_int_equal(ec2_tags_add(&image_tags, "amirotd:policy", "web"), 0);
        assert_int_equal(ec2_tags_add(&image_tags, "amirotd:slot", "20260101"), 0);
        assert_int_equal(ec2_tags_add(&image_tags, "Team", "platform"), 0);
        assert_int_equal(ec2_tags_add(&snapshot_tags, "amirotd:policy", "web"), 0);
        assert_int_equal(ec2_tags_add(&snapshot_tags, "Kind", "volume copy"), 0);
        req.instance_id = instance;

        assert_int_equal(ec2_create_image_sync(f->ec2, &req, &image, &err), 0);
        assert_non_null(image);
        assert_true(startswith(image, "ami-"));

        /* Read back by id: name, the image's amirotd:* tags (Team is not kept) and two snapshots. */
        ids[0] = image;
        assert_int_equal(ec2_describe_images_sync(f->ec2, NULL, 0, ids, &images, &err), 0);
        assert_int_equal(images.n, 1);
        img = &images.items[0];
        assert_string_equal(img->id, image);
        assert_string_equal(img->name, "web-slot-20260101");
        assert_int_equal(img->tags.n, 2);
        assert_string_equal(ec2_tags_get(&img->tags, "amirotd:policy"), "web");
        assert_string_equal(ec2_tags_get(&img->tags, "amirotd:slot"), "20260101");
        assert_null(ec2_tags_get(&img->tags, "Team"));         /* EC2 has it (below); the parser keeps amirotd:* only */
        assert_int_equal(img->n_devices, 2);
        assert_non_null(img->devices[0].snapshot_id);
        assert_non_null(img->devices[1].snapshot_id);

        /* The snapshots carry the snapshot tags, not the image's. */
        assert_int_equal(ec2_describe_snapshots_sync(f->ec2, &policy, 1, &snapshots, &err), 0);
        assert_int_equal(snapshots.n, 2);
        for (size_t i = 0; i < snapshots.n; i++) {
                const ec2_snapshot *s = &snapshots.items[i];

                assert_true(streq(s->id, img->devices[0].snapshot_id) || streq(s->id, img->devices[1].snapshot_id));
                assert_int_equal(s->tags.n, 1);
                assert_string_equal(ec2_tags_get(&s->tags, "amirotd:policy"), "web");
        }
        assert_int_equal(snapshots_count(f, &kind, 1), 2);
        assert_int_equal(snapshots_count(f, &team, 1), 0);
        assert_string_not_equal(snapshots.items[0].id, snapshots.items[1].id);
        ec2_snapshot_list_done(&snapshots);
        ec2_image_list_done(&images);

        calls = calls_of(f, "CreateImage");
        assert_int_equal(json_object_array_length(calls), 1);
        c = call_at(calls, 0);
        assert_string_equal(call_param(c, "InstanceId"), instance);
        assert_string_equal(call_param(c, "NoReboot"), "true");
        assert_string_equal(call_param(c, "TagSpecification.1.ResourceType"), "image");
        assert_string_equal(call_param(c, "TagSpecification.1.Tag.3.Key"), "Team");
        assert_string_equal(call_param(c, "TagSpecification.2.ResourceType"), "snapshot");
        assert_string_equal(call_param(c, "TagSpecification.2.Tag.2.Value"), "volume copy");
        assert_null(call_param(c, "DryRun"));
        json_object_put(calls);

        /* By id, DescribeImages sends neither Owner nor MaxResults (EC2 refuses the latter). */
        calls = calls_of(f, "DescribeImages");
        assert_int_equal(json_object_array_length(calls), 1);
        assert_string_equal(call_param(call_at(calls, 0), "ImageId.1"), image);
        assert_null(call_param(call_at(calls, 0), "MaxResults"));
        assert_null(call_param(call_at(calls, 0), "Owner.1"));
        json_object_put(calls);
        assert_int_equal(images_count(f, &team, 1), 1);
        aws_error_done(&err);
}

/* ---- CopyImage ------------------------------------------------------------------------- */

static int copy_image_sync(aws_client *c, const ec2_copy_image_request *req, char **ret_image_id, aws_error *ret_error) {
        ec2_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ec2_copy_image(c, req, ec2_sync_on_id, &s, &op);
        r = ec2_sync_wait(c, r, op, &s, "CopyImage", ret_error);
        if (r >= 0)
                *ret_image_id = s.id;
        return r;
}

static void test_copy_image_sends_its_token_encryption_and_tags(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *source = NULL, *copy = NULL, *again = NULL;
        _cleanup_(ec2_tags_done) ec2_tags tags = {};
        ec2_copy_image_request req = {
                .source_region = TEST_EC2SIM_REGION,
                .name = "golden-copy",
                .description = "amirotd copy",
                .client_token = "amirotd-0123456789abcdef0123456789abcdef",
                .encrypted = true,
                .kms_key_id = "alias/golden",
                .image_tags = &tags,
                .snapshot_tags = &tags,
        };
        aws_error err = {};
        json_object *calls, *c;

        source = seed(f, "{\"images\": [{\"name\": \"golden\"}]}", "images");
        req.source_image_id = source;
        assert_int_equal(ec2_tags_add(&tags, "amirotd:policy", "web"), 0);
        assert_int_equal(ec2_tags_add(&tags, "amirotd:copy-of", "us-east-1/ami-x"), 0);
        assert_int_equal(copy_image_sync(f->ec2, &req, &copy, &err), 0);
        assert_true(startswith(copy, "ami-"));
        /* the same token: the same copy */
        assert_int_equal(copy_image_sync(f->ec2, &req, &again, &err), 0);
        assert_string_equal(copy, again);

        calls = calls_of(f, "CopyImage");
        assert_int_equal(json_object_array_length(calls), 2);
        c = call_at(calls, 0);
        assert_string_equal(call_param(c, "SourceRegion"), TEST_EC2SIM_REGION);
        assert_string_equal(call_param(c, "SourceImageId"), source);
        assert_string_equal(call_param(c, "ClientToken"), req.client_token);
        assert_string_equal(call_param(c, "Encrypted"), "true");
        assert_string_equal(call_param(c, "KmsKeyId"), "alias/golden");
        assert_string_equal(call_param(c, "TagSpecification.1.ResourceType"), "image");
        assert_string_equal(call_param(c, "TagSpecification.1.Tag.2.Key"), "amirotd:copy-of");
        assert_string_equal(call_param(c, "TagSpecification.2.ResourceType"), "snapshot");
        assert_null(call_param(c, "CopyImageTags"));
        json_object_put(calls);

        /* KmsKeyId without Encrypted is refused before anything is sent. */
        req.encrypted = false;
        assert_int_equal(ec2_copy_image(f->ec2, &req, ec2_sync_on_id, NULL, NULL), -EINVAL);
        aws_error_done(&err);
}

static void test_create_image_omits_a_tag_specification_without_tags(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *instance = NULL, *image = NULL;
        _cleanup_(ec2_tags_done) ec2_tags none = {}, snapshot_tags = {};
        ec2_create_image_request req = {
                .name = "only-snapshot-tags",
                .image_tags = &none,
                .snapshot_tags = &snapshot_tags,
        };
        char *ids[] = { NULL, NULL };
        ec2_image_list images = {};
        aws_error err = {};
        json_object *calls, *c;

        instance = seed(f, "{\"instances\": [{}]}", "instances");
        assert_int_equal(ec2_tags_add(&snapshot_tags, "amirotd:policy", "web"), 0);
        req.instance_id = instance;
        assert_int_equal(ec2_create_image_sync(f->ec2, &req, &image, &err), 0);

        ids[0] = image;
        assert_int_equal(ec2_describe_images_sync(f->ec2, NULL, 0, ids, &images, &err), 0);
        assert_int_equal(images.n, 1);
        assert_int_equal(images.items[0].tags.n, 0);
        ec2_image_list_done(&images);

        calls = calls_of(f, "CreateImage");
        c = call_at(calls, 0);
        assert_string_equal(call_param(c, "NoReboot"), "false");
        assert_string_equal(call_param(c, "TagSpecification.1.ResourceType"), "snapshot");
        assert_null(call_param(c, "TagSpecification.2.ResourceType"));
        assert_null(call_param(c, "Description"));
        json_object_put(calls);
        aws_error_done(&err);
}

static void test_create_image_twice_is_duplicate_with_request_id(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *instance = NULL, *first = NULL, *second = NULL;
        ec2_create_image_request req = { .name = "web-i-1-slot-7" };
        aws_error err = {};
        json_object *calls, *c;
        int r;

        instance = seed(f, "{\"instances\": [{}]}", "instances");
        req.instance_id = instance;
        assert_int_equal(ec2_create_image_sync(f->ec2, &req, &first, &err), 0);
        assert_null(err.code);

        r = ec2_create_image_sync(f->ec2, &req, &second, &err);
        assert_aws_error(r, &err, "InvalidAMIName.Duplicate");
        assert_null(second);
        assert_int_equal(err.status, 400);
        assert_non_null(strstr(err.message, first));

        /* The request id is the simulator's for that very request. */
        calls = calls_of(f, "CreateImage");
        assert_int_equal(json_object_array_length(calls), 2);
        c = call_at(calls, 1);
        assert_string_equal(call_field(c, "error_code"), "InvalidAMIName.Duplicate");
        assert_string_equal(call_field(c, "request_id"), err.request_id);
        json_object_put(calls);
        aws_error_done(&err);
}

/* ---- Deregister, delete, tag ----------------------------------------------------------- */

static void test_deregister_image_with_its_snapshots(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *instance = NULL, *image = NULL, *other = NULL;
        _cleanup_(strv_freep) char **snaps = NULL, **other_snaps = NULL;
        ec2_filter by_snapshot = { "snapshot-id", NULL }, by_other = { "snapshot-id", NULL };
        char *ids[] = { NULL, NULL };
        ec2_filter by_image = { "image-id", ids };
        aws_error err = {};
        _cleanup_(strv_freep) char **deleted = NULL;
        json_object *calls;

        instance = seed(f, "{\"instances\": [{\"volumes\": [8, 16]}]}", "instances");
        image = create_image(f, instance, "to-retire-1", &snaps);
        other = create_image(f, instance, "to-retire-2", &other_snaps);
        assert_int_equal(strv_length(snaps), 2);
        by_snapshot.values = snaps;
        by_other.values = other_snaps;
        ids[0] = image;
        assert_int_equal(images_count(f, &by_image, 1), 1);
        assert_int_equal(snapshots_count(f, &by_snapshot, 1), 2);

        assert_int_equal(ec2_deregister_image_sync(f->ec2, image, true, false, &deleted, &err), 0);
        assert_null(err.code);
        /* EC2 deleted every one, and says so */
        assert_int_equal(strv_length(deleted), 2);
        assert_true(strv_contains(deleted, snaps[0]) && strv_contains(deleted, snaps[1]));
        assert_int_equal(images_count(f, &by_image, 1), 0);
        assert_int_equal(snapshots_count(f, &by_snapshot, 1), 0);

        /* Without delete_snapshots, they stay, and DeleteSnapshot removes them one by one. */
        assert_int_equal(ec2_deregister_image_sync(f->ec2, other, false, false, NULL, &err), 0);
        assert_int_equal(snapshots_count(f, &by_other, 1), 2);
        for (char **s = other_snaps; *s; s++)
                assert_int_equal(ec2_delete_snapshot_sync(f->ec2, *s, false, &err), 0);
        assert_int_equal(snapshots_count(f, &by_other, 1), 0);
        assert_int_equal(images_count(f, NULL, 0), 0);

        calls = calls_of(f, "DeregisterImage");
        assert_int_equal(json_object_array_length(calls), 2);
        assert_string_equal(call_param(call_at(calls, 0), "DeleteAssociatedSnapshots"), "true");
        assert_null(call_param(call_at(calls, 1), "DeleteAssociatedSnapshots"));
        json_object_put(calls);

        /* Gone is gone: EC2's not-found error, as a value. */
        assert_aws_error(ec2_deregister_image_sync(f->ec2, image, true, false, NULL, &err), &err, "InvalidAMIID.NotFound");
        aws_error_done(&err);
}

static void test_delete_snapshot_in_use_fails(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *instance = NULL, *image = NULL;
        _cleanup_(strv_freep) char **snaps = NULL;
        ec2_filter by_snapshot = { "snapshot-id", NULL };
        aws_error err = {};

        instance = seed(f, "{\"instances\": [{}]}", "instances");
        image = create_image(f, instance, "in-use", &snaps);
        assert_int_equal(strv_length(snaps), 1);
        by_snapshot.values = snaps;

        assert_aws_error(ec2_delete_snapshot_sync(f->ec2, snaps[0], false, &err), &err, "InvalidSnapshot.InUse");
        assert_non_null(strstr(err.message, image));
        assert_int_equal(snapshots_count(f, &by_snapshot, 1), 1);
        aws_error_done(&err);
}

static void test_create_tags_on_image_and_snapshot(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *instance = NULL, *image = NULL;
        _cleanup_(strv_freep) char **snaps = NULL, **resources = NULL;
        _cleanup_(ec2_tags_done) ec2_tags tags = {};
        char *ids[] = { NULL, NULL };
        ec2_image_list images = {};
        ec2_snapshot_list snapshots = {};
        char *team_x[] = { "team-x", NULL };
        ec2_filter by_snapshot = { "snapshot-id", NULL }, by_owner = { "tag:Owner", team_x };
        ec2_filter snapshot_by_owner[2];
        aws_error err = {};

        instance = seed(f, "{\"instances\": [{}]}", "instances");
        image = create_image(f, instance, "tag-me", &snaps);
        by_snapshot.values = snaps;
        snapshot_by_owner[0] = by_snapshot;
        snapshot_by_owner[1] = by_owner;
        assert_int_equal(strv_extend(&resources, image), 0);
        assert_int_equal(strv_extend(&resources, snaps[0]), 0);
        assert_int_equal(ec2_tags_add(&tags, "Owner", "team-x"), 0);
        assert_int_equal(ec2_tags_add(&tags, "amirotd:note", "team-x"), 0);
        assert_int_equal(ec2_tags_add(&tags, "amirotd:empty", ""), 0);

        assert_int_equal(ec2_create_tags_sync(f->ec2, resources, &tags, false, &err), 0);

        ids[0] = image;
        assert_int_equal(ec2_describe_images_sync(f->ec2, NULL, 0, ids, &images, &err), 0);
        assert_int_equal(images.n, 1);
        assert_string_equal(ec2_tags_get(&images.items[0].tags, "amirotd:note"), "team-x");
        assert_string_equal(ec2_tags_get(&images.items[0].tags, "amirotd:empty"), "");
        assert_string_equal(ec2_tags_get(&images.items[0].tags, "amirotd:policy"), "web");
        assert_null(ec2_tags_get(&images.items[0].tags, "Owner"));     /* on it in EC2, but not kept */
        ec2_image_list_done(&images);
        assert_int_equal(images_count(f, &by_owner, 1), 1);
        assert_int_equal(ec2_describe_snapshots_sync(f->ec2, &by_snapshot, 1, &snapshots, &err), 0);
        assert_int_equal(snapshots.n, 1);
        assert_string_equal(ec2_tags_get(&snapshots.items[0].tags, "amirotd:note"), "team-x");
        ec2_snapshot_list_done(&snapshots);
        assert_int_equal(snapshots_count(f, snapshot_by_owner, 2), 1);
        aws_error_done(&err);
}

static void test_dry_run_changes_nothing(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *instance = NULL, *image = NULL, *id = NULL;
        _cleanup_(strv_freep) char **snaps = NULL;
        _cleanup_(ec2_tags_done) ec2_tags tags = {};
        ec2_create_image_request req = { .name = "dry-run-image", .dry_run = true };
        char *resources[] = { NULL, NULL };
        ec2_filter by_snapshot = { "snapshot-id", NULL };
        char *owner[] = { "Owner", NULL };
        ec2_filter by_owner_tag = { "tag-key", owner };
        aws_error err = {};
        json_object *calls;

        instance = seed(f, "{\"instances\": [{}]}", "instances");
        req.instance_id = instance;
        assert_aws_error(ec2_create_image_sync(f->ec2, &req, &id, &err), &err, "DryRunOperation");
        assert_null(id);
        assert_int_equal(images_count(f, NULL, 0), 0);

        image = create_image(f, instance, "real-image", &snaps);
        by_snapshot.values = snaps;
        assert_aws_error(ec2_deregister_image_sync(f->ec2, image, true, true, NULL, &err), &err, "DryRunOperation");
        assert_int_equal(images_count(f, NULL, 0), 1);
        /* Not InUse: EC2 checks DryRun before anything else. */
        assert_aws_error(ec2_delete_snapshot_sync(f->ec2, snaps[0], true, &err), &err, "DryRunOperation");
        assert_int_equal(snapshots_count(f, &by_snapshot, 1), 1);
        resources[0] = image;
        assert_int_equal(ec2_tags_add(&tags, "Owner", "x"), 0);
        assert_aws_error(ec2_create_tags_sync(f->ec2, resources, &tags, true, &err), &err, "DryRunOperation");
        assert_int_equal(images_count(f, &by_owner_tag, 1), 0);

        calls = calls_of(f, "DeleteSnapshot");
        assert_int_equal(json_object_array_length(calls), 1);
        assert_string_equal(call_param(call_at(calls, 0), "DryRun"), "true");
        json_object_put(calls);
        aws_error_done(&err);
}

/* A disabled image is still the account's: every DescribeImages asks for it
 * (IncludeDisabled=true), with filters and by id, where EC2 hides it by default. */
static void test_describe_images_includes_disabled_images(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *disabled = NULL;
        char *values[] = { "web", NULL }, *ids[] = { NULL, NULL };
        ec2_filter by_policy = { "tag:amirotd:policy", values };
        ec2_image_list l = {};
        aws_error err = {};
        json_object *calls;

        disabled = seed(f, "{\"images\": [{\"name\": \"set-aside\", \"state\": \"disabled\", "
                        "\"tags\": {\"amirotd:policy\": \"web\"}}]}", "images");
        (void) seed(f, "{\"images\": [{\"name\": \"current\", \"tags\": {\"amirotd:policy\": \"web\"}}]}", NULL);

        assert_int_equal(images_count(f, &by_policy, 1), 2);
        ids[0] = disabled;
        assert_int_equal(ec2_describe_images_sync(f->ec2, NULL, 0, ids, &l, &err), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.items[0].id, disabled);
        assert_int_equal(l.items[0].state, EC2_IMAGE_DISABLED);
        ec2_image_list_done(&l);

        calls = calls_of(f, "DescribeImages");
        assert_int_equal(json_object_array_length(calls), 2);
        for (size_t i = 0; i < 2; i++)
                assert_string_equal(call_param(call_at(calls, i), "IncludeDisabled"), "true");
        json_object_put(calls);
        aws_error_done(&err);
}

/* An endpoint that ignores DeleteAssociatedSnapshots deregisters and names no snapshot:
 * the call reports none deleted, the snapshots are there, and DeleteSnapshot (answered
 * without <return>) removes them. */
static void test_deregister_without_snapshot_results_reports_none_deleted(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *instance = NULL, *image = NULL;
        _cleanup_(strv_freep) char **snaps = NULL, **deleted = NULL;
        ec2_filter by_snapshot = { "snapshot-id", NULL };
        aws_error err = {};

        admin_ok(f, "POST", "/_sim/settings",
                 "{\"ignore_delete_associated_snapshots\": true, \"delete_snapshot_return\": false}");
        instance = seed(f, "{\"instances\": [{\"volumes\": [8, 16]}]}", "instances");
        image = create_image(f, instance, "ignored-parameter", &snaps);
        by_snapshot.values = snaps;

        assert_int_equal(ec2_deregister_image_sync(f->ec2, image, true, false, &deleted, &err), 0);
        assert_null(deleted);
        assert_int_equal(snapshots_count(f, &by_snapshot, 1), 2);
        for (char **s = snaps; *s; s++)
                assert_int_equal(ec2_delete_snapshot_sync(f->ec2, *s, false, &err), 0);
        assert_int_equal(snapshots_count(f, &by_snapshot, 1), 0);
        aws_error_done(&err);
}

/* Deregistration protection: EC2's refusal comes back as a value, and the image stays. */
static void test_deregister_protected_image_is_not_permitted(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *image = NULL;
        char *ids[] = { NULL, NULL };
        ec2_filter by_image = { "image-id", ids };
        aws_error err = {};

        image = seed(f, "{\"images\": [{\"name\": \"protected\", "
                     "\"deregistration_protection\": \"enabled-without-cooldown\"}]}", "images");
        ids[0] = image;
        assert_aws_error(ec2_deregister_image_sync(f->ec2, image, true, false, NULL, &err), &err,
                         "OperationNotPermitted");
        assert_int_equal(images_count(f, &by_image, 1), 1);
        aws_error_done(&err);
}

/* ---- Cancel ---------------------------------------------------------------------------- */

static void on_images_never(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        (void) r, (void) l, (void) err, (void) userdata;
        fail_msg("a cancelled op called back");
}

static int on_timer_cancel(sd_event_source *s, uint64_t usec, void *userdata) {
        ec2_op **op = userdata;

        (void) s, (void) usec;
        ec2_op_cancel(*op);
        *op = NULL;
        return 0;
}

static void test_cancel_in_flight_never_calls_back(void **state) {
        fixture *f = *state;
        sd_event_source *cancel = NULL;
        json_object *calls;
        ec2_op *op = NULL;

        admin_ok(f, "POST", "/_sim/faults", "{\"kind\": \"latency\", \"action\": \"DescribeImages\", "
                                            "\"latency_ms\": 1500, \"count\": 1}");
        seed(f, "{\"images\": {\"count\": 3, \"snapshots\": 0}}", NULL);

        assert_int_equal(ec2_describe_images(f->ec2, NULL, 0, NULL, on_images_never, NULL, &op), 0);
        assert_int_equal(sd_event_add_time_relative(f->event, &cancel, CLOCK_MONOTONIC, 300 * USEC_PER_MSEC, 0,
                                                     on_timer_cancel, &op), 0);
        /* Long enough for the delayed answer to have come, had the op not been cancelled. */
        run_for(f, 2500);
        assert_null(op);
        sd_event_source_unref(cancel);

        /* The request was in flight: the simulator answered it, to nobody. */
        calls = calls_of(f, "DescribeImages");
        assert_int_equal(json_object_array_length(calls), 1);
        json_object_put(calls);

        /* The client goes on working. */
        assert_int_equal(images_count(f, NULL, 0), 3);
}

typedef struct pair {
        ec2_op *slow;
        unsigned fast_calls;
        ec2_snapshot_list snapshots;
} pair;

static void on_fast(int r, ec2_snapshot_list *l, const aws_error *err, void *userdata) {
        pair *p = userdata;

        (void) err;
        assert_int_equal(r, 0);
        p->fast_calls++;
        p->snapshots = *l;
        *l = (ec2_snapshot_list) {};
        /* Another op, from this callback: legal. */
        ec2_op_cancel(p->slow);
        p->slow = NULL;
}

static void test_callback_may_cancel_another_op(void **state) {
        fixture *f = *state;
        pair p = {};

        admin_ok(f, "POST", "/_sim/faults", "{\"kind\": \"latency\", \"action\": \"DescribeImages\", "
                                            "\"latency_ms\": 800, \"count\": 1}");
        seed(f, "{\"snapshots\": {\"count\": 2}}", NULL);

        assert_int_equal(ec2_describe_images(f->ec2, NULL, 0, NULL, on_images_never, NULL, &p.slow), 0);
        assert_int_equal(ec2_describe_snapshots(f->ec2, NULL, 0, on_fast, &p, NULL), 0);
        run_for(f, 1500);
        assert_int_equal(p.fast_calls, 1);
        assert_null(p.slow);
        assert_int_equal(p.snapshots.n, 2);
        ec2_snapshot_list_done(&p.snapshots);
}

/* ---- What only a broken server sends --------------------------------------------------- */

static void describe_canned(fixture *f, char *scenario, ec2_image_list *l, aws_error *err, int *ret) {
        _cleanup_(aws_client_freep) aws_client *c = client_new(f, canned.url);
        char *values[] = { scenario, NULL };
        ec2_filter filter = { "name", values };

        *ret = ec2_describe_images_sync(c, &filter, 1, NULL, l, err);
}

static void test_malformed_page_is_ebadmsg(void **state) {
        fixture *f = *state;
        _cleanup_(aws_client_freep) aws_client *c = client_new(f, canned.url);
        char *malformed[] = { "malformed", NULL };
        ec2_filter filter = { "name", malformed };
        images_result res = {};
        ec2_image_list l = {};
        aws_error err = {};
        int r;

        /* Page 1 parsed fine, page 2 did not: an error, and not the first page's image. */
        assert_int_equal(ec2_describe_images(c, &filter, 1, NULL, on_images, &res, NULL), 0);
        assert_int_equal(http_client_run_until(f->http, &res.done), 0);
        assert_int_equal(res.calls, 1);
        assert_int_equal(res.r, -EBADMSG);
        assert_null(res.error.code);
        assert_string_equal(res.error.request_id, "canned-p2");
        aws_error_done(&res.error);

        describe_canned(f, "malformed", &l, &err, &r);
        assert_int_equal(r, -EBADMSG);
        assert_int_equal(l.n, 0);
        assert_null(l.items);
        assert_null(err.code);
        assert_non_null(err.message);
        assert_non_null(strstr(err.message, "malformed DescribeImages answer (page 2)"));
        assert_string_equal(err.request_id, "canned-p2");
        aws_error_done(&err);
}

static void test_repeated_next_token_ends_the_op(void **state) {
        fixture *f = *state;
        ec2_image_list l = {};
        aws_error err = {};
        int r;

        describe_canned(f, "repeat", &l, &err, &r);
        assert_int_equal(r, -EBADMSG);
        assert_int_equal(l.n, 0);
        assert_non_null(strstr(err.message, "page 2 of the DescribeImages answer repeats an earlier NextToken"));

        /* a, b, a: caught on the third page, not only when a token repeats at once. */
        describe_canned(f, "cycle", &l, &err, &r);
        assert_int_equal(r, -EBADMSG);
        assert_non_null(strstr(err.message, "page 3 of the DescribeImages answer repeats"));
        aws_error_done(&err);
}

static void test_return_false_is_an_error(void **state) {
        fixture *f = *state;
        _cleanup_(aws_client_freep) aws_client *c = client_new(f, canned.url);
        aws_error err = {};

        assert_int_equal(ec2_deregister_image_sync(c, "ami-00000001", false, false, NULL, &err), -EIO);
        assert_null(err.code);
        assert_non_null(strstr(err.message, "<return>false</return>"));
        aws_error_done(&err);
}

/* ---- Arguments ------------------------------------------------------------------------- */

static void on_deregistered_never(int r, char *const *deleted, const aws_error *err, void *userdata) {
        (void) r;
        (void) deleted;
        (void) err;
        (void) userdata;
        fail_msg("a refused call must never call back");
}

static void on_done_never(int r, const aws_error *err, void *userdata) {
        (void) r, (void) err, (void) userdata;
        fail_msg("a call refused at once called back");
}

static void test_bad_arguments_are_refused_at_once(void **state) {
        fixture *f = *state;
        char *none[] = { NULL }, *one[] = { "x", NULL };
        ec2_create_image_request no_name = { .instance_id = "i-1" };
        ec2_tags no_tags = {};
        ec2_image_list l = {};
        aws_error err = {};
        ec2_op *op = NULL;

        assert_int_equal(ec2_describe_images(f->ec2, NULL, 0, none, on_images_never, NULL, &op), -EINVAL);
        assert_int_equal(ec2_describe_images(f->ec2, NULL, 1, NULL, on_images_never, NULL, &op), -EINVAL);
        assert_int_equal(ec2_describe_images(f->ec2, NULL, 0, NULL, NULL, NULL, &op), -EINVAL);
        assert_int_equal(ec2_deregister_image(f->ec2, "", false, false, on_deregistered_never, NULL, &op), -EINVAL);
        assert_int_equal(ec2_create_tags(f->ec2, one, &no_tags, false, on_done_never, NULL, &op), -EINVAL);
        assert_int_equal(ec2_create_tags(f->ec2, none, NULL, false, on_done_never, NULL, &op), -EINVAL);
        assert_null(op);

        /* The sync forms say why. */
        assert_int_equal(ec2_describe_images_sync(f->ec2, NULL, 0, none, &l, &err), -EINVAL);
        assert_non_null(strstr(err.message, "DescribeImages"));
        assert_int_equal(ec2_create_image_sync(f->ec2, &no_name, NULL, &err), -EINVAL);
        run_for(f, 50);
        aws_error_done(&err);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_describe_images_follows_next_token_over_2500, setup, teardown),
                cmocka_unit_test_setup_teardown(test_describe_instances_and_snapshots_follow_next_token, setup, teardown),
                cmocka_unit_test_setup_teardown(test_describe_filters_by_tag, setup, teardown),
                cmocka_unit_test_setup_teardown(test_create_image_tags_image_and_snapshots, setup, teardown),
                cmocka_unit_test_setup_teardown(test_create_image_omits_a_tag_specification_without_tags, setup, teardown),
                cmocka_unit_test_setup_teardown(test_copy_image_sends_its_token_encryption_and_tags, setup, teardown),
                cmocka_unit_test_setup_teardown(test_create_image_twice_is_duplicate_with_request_id, setup, teardown),
                cmocka_unit_test_setup_teardown(test_deregister_image_with_its_snapshots, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete_snapshot_in_use_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_describe_images_includes_disabled_images, setup, teardown),
                cmocka_unit_test_setup_teardown(test_deregister_without_snapshot_results_reports_none_deleted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_deregister_protected_image_is_not_permitted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_create_tags_on_image_and_snapshot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dry_run_changes_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel_in_flight_never_calls_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_callback_may_cancel_another_op, setup, teardown),
                cmocka_unit_test_setup_teardown(test_malformed_page_is_ebadmsg, setup, teardown),
                cmocka_unit_test_setup_teardown(test_repeated_next_token_ends_the_op, setup, teardown),
                cmocka_unit_test_setup_teardown(test_return_false_is_an_error, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_arguments_are_refused_at_once, setup, teardown),
        };

        return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
