/* SPDX-License-Identifier: MIT */
/*
 * The test instances' calls (daemon/aws/ec2-instance-calls.c) against the real EC2
 * simulator (tests/ec2sim), which checks each signature and parameter as EC2 does: one
 * instance launched from an image with its tags and every EBS device set to go with it,
 * the same ClientToken answering the same instance, DescribeInstanceStatus from pending
 * to ok (and impaired), the console decoded (Latest, and its refusal on a Xen type), a
 * RunInstances whose answer was lost retried into one launch, TerminateInstances leaving
 * no volume behind and succeeding twice, and EC2's refusals arriving as errors with their
 * codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>

#include "aws-sync.h"
#include "aws/client.h"
#include "aws/creds.h"
#include "aws/ec2.h"
#include "ec2sim-helper.h"

static test_server sim;

typedef struct fixture {
        sd_event *event;
        http_client *http;
        creds_provider *creds;
        aws_client *ec2;
        char *image_id;                 /* an available image of two EBS devices */
        char *subnet_id;                /* the region's first default subnet */
} fixture;

static int setup_all(void **state) {
        (void) state;
        return test_ec2sim_start(&sim) < 0 ? -1 : 0;
}

static int teardown_all(void **state) {
        (void) state;
        test_server_stop(&sim);
        return 0;
}

static json_object *admin(fixture *f, const char *method, const char *path, const char *json) {
        json_object *doc = NULL;

        assert_int_equal(test_ec2sim_admin(f->http, &sim, method, path, json, &doc), 0);
        return doc;
}

static void admin_ok(fixture *f, const char *method, const char *path, const char *json) {
        json_object_put(admin(f, method, path, json));
}

static char *first_string(json_object *doc, const char *list, const char *field) {
        json_object *a, *item, *v;

        assert_true(json_object_object_get_ex(doc, list, &a));
        assert_true(json_object_array_length(a) > 0);
        item = json_object_array_get_idx(a, 0);
        if (field)
                assert_true(json_object_object_get_ex(item, field, &v));
        else
                v = item;
        return strdup(json_object_get_string(v));
}

static int setup(void **state) {
        creds_options o = {
                .access_key_id = TEST_EC2SIM_ACCESS_KEY,
                .secret_access_key = TEST_EC2SIM_SECRET_KEY,
        };
        aws_client_options co = {
                .service = "ec2",
                .region = TEST_EC2SIM_REGION,
        };
        fixture *f = calloc(1, sizeof(*f));
        json_object *doc;

        assert_non_null(f);
        co.endpoint_url = sim.url;
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_client_new(f->event, &f->http), 0);
        assert_int_equal(creds_provider_new_chain(f->http, &o, &f->creds), 0);
        assert_int_equal(aws_client_new(f->http, f->creds, &co, &f->ec2), 0);
        admin_ok(f, "POST", "/_sim/reset", NULL);
        /* checks pass at once, the console is there as soon as the instance runs */
        admin_ok(f, "POST", "/_sim/settings", "{\"status_seconds\": 0, \"console_post_seconds\": 0}");
        /* /dev/xvda goes with its instance, /dev/sdf (as CreateImage may copy it) does not */
        doc = admin(f, "POST", "/_sim/seed",
                    "{\"images\": [{\"name\": \"web-new\", \"snapshots\": [8, 100], "
                    "\"tags\": {\"amirotd:policy\": \"web\"}}]}");
        f->image_id = first_string(doc, "images", NULL);
        json_object_put(doc);
        doc = admin(f, "GET", "/_sim/network?region=" TEST_EC2SIM_REGION, NULL);
        f->subnet_id = first_string(doc, "subnets", "SubnetId");
        json_object_put(doc);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        free(f->image_id);
        free(f->subnet_id);
        aws_client_free(f->ec2);
        creds_provider_free(f->creds);
        http_client_free(f->http);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

/* ---- Helpers --------------------------------------------------------------------------- */

static char *const devices[] = { (char *) "/dev/xvda", (char *) "/dev/sdf", NULL };
static ec2_tag tag_items[] = {
        { (char *) "amirotd:policy", (char *) "web" },
        { (char *) "amirotd:verify-of", NULL },         /* the image, set by request() */
        { (char *) "Name", (char *) "amirotd verify web" },
};
static const ec2_tags tags = { tag_items, ELEMENTSOF(tag_items), false };

static ec2_run_instances_request request(fixture *f) {
        tag_items[1].value = f->image_id;
        return (ec2_run_instances_request) {
                .image_id = f->image_id,
                .instance_type = "t3.micro",
                .subnet_id = f->subnet_id,
                .client_token = "amirotd-verify-test-1",
                .tags = &tags,
                .delete_on_termination = devices,
        };
}

/* The one instance a request launched; its id, copied. */
static char *run(fixture *f, const ec2_run_instances_request *req) {
        _cleanup_(ec2_instance_list_done) ec2_instance_list l = {};
        _cleanup_(aws_error_done) aws_error err = {};

        if (ec2_run_instances_sync(f->ec2, req, &l, &err) < 0)
                fail_msg("RunInstances: %s: %s", err.code ?: "", err.message ?: "");
        assert_int_equal(l.n, 1);
        return strdup(l.items[0].id);
}

static ec2_instance_status status_of(fixture *f, char *id) {
        _cleanup_(ec2_instance_status_list_done) ec2_instance_status_list l = {};
        _cleanup_(aws_error_done) aws_error err = {};
        char *ids[] = { id, NULL };
        ec2_instance_status s;

        if (ec2_describe_instance_status_sync(f->ec2, ids, &l, &err) < 0)
                fail_msg("DescribeInstanceStatus: %s: %s", err.code ?: "", err.message ?: "");
        assert_int_equal(l.n, 1);
        assert_string_equal(l.items[0].instance_id, id);
        s = l.items[0];
        s.instance_id = NULL;
        return s;
}

/* The image's entry in the simulator's boot accounting. */
static json_object *boot_of(fixture *f) {
        json_object *doc = admin(f, "GET", "/_sim/boot?region=" TEST_EC2SIM_REGION, NULL), *images, *image;

        assert_true(json_object_object_get_ex(doc, "images", &images));
        assert_true(json_object_object_get_ex(images, f->image_id, &image));
        json_object_get(image);
        json_object_put(doc);
        return image;
}

static size_t boot_count(fixture *f, const char *what) {
        json_object *image = boot_of(f), *list;
        size_t n;

        assert_true(json_object_object_get_ex(image, what, &list));
        n = json_object_array_length(list);
        json_object_put(image);
        return n;
}

/* ---- Tests ----------------------------------------------------------------------------- */

static void test_launch_watch_terminate(void **state) {
        fixture *f = *state;
        ec2_run_instances_request req = request(f);
        _cleanup_(freep) char *id = NULL, *again = NULL, *console = NULL;
        _cleanup_(ec2_instance_list_done) ec2_instance_list l = {};
        _cleanup_(aws_error_done) aws_error err = {};
        ec2_instance *i;
        ec2_instance_status s;
        char *ids[] = { NULL, NULL };

        assert_int_equal(ec2_run_instances_sync(f->ec2, &req, &l, &err), 0);
        assert_int_equal(l.n, 1);
        i = &l.items[0];
        id = strdup(i->id);
        ids[0] = id;
        assert_string_equal(i->image_id, f->image_id);
        assert_int_equal(i->state, EC2_INSTANCE_PENDING);
        assert_true(i->launch_time > 0);
        assert_string_equal(ec2_tags_get(&i->tags, "amirotd:verify-of"), f->image_id);
        assert_string_equal(ec2_tags_get(&i->tags, "amirotd:policy"), "web");

        /* The same token is the same launch: a retry or a restart never launches twice. */
        again = run(f, &req);
        assert_string_equal(again, id);
        assert_int_equal(boot_count(f, "launched"), 1);

        /* Pending, then running with both checks ok (the simulator's boot takes a read). */
        s = status_of(f, id);
        if (s.state != EC2_INSTANCE_RUNNING)
                s = status_of(f, id);
        assert_int_equal(s.state, EC2_INSTANCE_RUNNING);
        assert_int_equal(s.system_status, EC2_STATUS_OK);
        assert_int_equal(s.instance_status, EC2_STATUS_OK);

        assert_int_equal(ec2_get_console_output_sync(f->ec2, id, true, &console, &err), 0);
        assert_non_null(console);
        assert_non_null(strstr(console, "Linux version"));
        assert_non_null(strstr(console, " login: "));

        /* Terminated, twice (EC2: idempotent), and no volume of it is left behind, the
         * image's DeleteOnTermination=false device included. */
        assert_int_equal(ec2_terminate_instances_sync(f->ec2, ids, false, &err), 0);
        assert_int_equal(ec2_terminate_instances_sync(f->ec2, ids, false, &err), 0);
        s = status_of(f, id);
        assert_true(s.state == EC2_INSTANCE_SHUTTING_DOWN || s.state == EC2_INSTANCE_TERMINATED);
        assert_int_equal(boot_count(f, "alive"), 0);
        assert_int_equal(boot_count(f, "volumes_left"), 0);
}

static void expect_param(json_object *params, const char *name, const char *want) {
        json_object *v;

        if (!json_object_object_get_ex(params, name, &v))
                fail_msg("RunInstances without %s", name);
        assert_string_equal(json_object_get_string(v), want);
}

static void test_network_and_profile(void **state) {
        fixture *f = *state;
        ec2_run_instances_request req = request(f);
        _cleanup_(freep) char *id = NULL;
        json_object *doc, *calls, *params;
        char *groups[] = { NULL, NULL };

        doc = admin(f, "GET", "/_sim/network?region=" TEST_EC2SIM_REGION, NULL);
        groups[0] = first_string(doc, "security_groups", "GroupId");
        json_object_put(doc);
        req.security_group_ids = groups;
        req.iam_instance_profile = "arn:aws:iam::123456789012:instance-profile/amirotd-verify";
        req.client_token = "amirotd-verify-test-2";
        id = run(f, &req);
        assert_non_null(id);
        /* as the simulator read the request */
        calls = admin(f, "GET", "/_sim/calls?action=RunInstances", NULL);
        assert_int_equal(json_object_array_length(calls), 1);
        assert_true(json_object_object_get_ex(json_object_array_get_idx(calls, 0), "params", &params));
        expect_param(params, "IamInstanceProfile.Arn", req.iam_instance_profile);
        expect_param(params, "SecurityGroupId.1", groups[0]);
        expect_param(params, "SubnetId", f->subnet_id);
        expect_param(params, "MinCount", "1");
        expect_param(params, "MaxCount", "1");
        expect_param(params, "BlockDeviceMapping.2.DeviceName", "/dev/sdf");
        expect_param(params, "BlockDeviceMapping.2.Ebs.DeleteOnTermination", "true");
        expect_param(params, "TagSpecification.2.ResourceType", "volume");
        assert_false(json_object_object_get_ex(params, "AssociatePublicIpAddress", NULL));
        json_object_put(calls);
        free(groups[0]);
}

/* EC2 launched the instance but its answer was lost on the way: the client sends the
 * same RunInstances again (the same ClientToken), and that launches nothing more but
 * answers the instance launched the first time. */
static void test_lost_answer_retried_launches_once(void **state) {
        fixture *f = *state;
        ec2_run_instances_request req = request(f);
        _cleanup_(freep) char *id = NULL, *launched = NULL;
        json_object *calls, *params, *image, *list;

        admin_ok(f, "POST", "/_sim/faults", "{\"action\": \"RunInstances\", \"kind\": \"lost_answer\", \"count\": 1}");
        id = run(f, &req);
        calls = admin(f, "GET", "/_sim/calls?action=RunInstances", NULL);
        assert_int_equal(json_object_array_length(calls), 2);
        for (size_t k = 0; k < 2; k++) {
                assert_true(json_object_object_get_ex(json_object_array_get_idx(calls, k), "params", &params));
                expect_param(params, "ClientToken", req.client_token);
        }
        json_object_put(calls);
        image = boot_of(f);
        assert_true(json_object_object_get_ex(image, "launched", &list));
        assert_int_equal(json_object_array_length(list), 1);
        launched = strdup(json_object_get_string(json_object_array_get_idx(list, 0)));
        json_object_put(image);
        assert_string_equal(id, launched);
}

static void expect_error(int r, aws_error *err, const char *code) {
        assert_true(r < 0);
        if (!streq_ptr(err->code, code))
                fail_msg("error %s (%s), want %s", err->code ?: "(none)", err->message ?: "", code);
        aws_error_done(err);
}

static void test_refusals(void **state) {
        fixture *f = *state;
        ec2_run_instances_request req = request(f);
        _cleanup_(ec2_instance_list_done) ec2_instance_list l = {};
        _cleanup_(ec2_instance_status_list_done) ec2_instance_status_list sl = {};
        aws_error err = {};
        char *unknown[] = { (char *) "i-0123456789abcdef0", NULL };
        char *console = NULL;

        req.subnet_id = "subnet-0000000000000dead";
        expect_error(ec2_run_instances_sync(f->ec2, &req, &l, &err), &err, "InvalidSubnetID.NotFound");
        req = request(f);
        req.client_token = "amirotd-verify-test-3";
        req.instance_type = "t9.gigantic";
        expect_error(ec2_run_instances_sync(f->ec2, &req, &l, &err), &err, "InvalidParameterValue");
        req = request(f);
        req.client_token = "amirotd-verify-test-4";
        req.dry_run = true;
        expect_error(ec2_run_instances_sync(f->ec2, &req, &l, &err), &err, "DryRunOperation");
        assert_int_equal(l.n, 0);

        expect_error(ec2_describe_instance_status_sync(f->ec2, unknown, &sl, &err), &err,
                     "InvalidInstanceID.NotFound");
        expect_error(ec2_get_console_output_sync(f->ec2, unknown[0], true, &console, &err), &err,
                     "InvalidInstanceID.NotFound");
        expect_error(ec2_terminate_instances_sync(f->ec2, unknown, false, &err), &err, "InvalidInstanceID.NotFound");
        assert_null(console);
}

static void test_impaired_and_silent(void **state) {
        fixture *f = *state;
        ec2_run_instances_request req = request(f);
        _cleanup_(freep) char *id = NULL, *fault = NULL;
        _cleanup_(aws_error_done) aws_error err = {};
        char *console = (char *) "unset";
        ec2_instance_status s;

        assert_true(asprintf(&fault, "{\"image\": \"%s\", \"instance_status\": \"impaired\", \"console\": \"none\"}",
                             f->image_id) > 0);
        admin_ok(f, "POST", "/_sim/boot", fault);
        id = run(f, &req);
        s = status_of(f, id);
        if (s.state != EC2_INSTANCE_RUNNING)
                s = status_of(f, id);
        assert_int_equal(s.state, EC2_INSTANCE_RUNNING);
        assert_int_equal(s.instance_status, EC2_STATUS_IMPAIRED);
        /* no output at all yet: NULL, not an empty string, not an error */
        assert_int_equal(ec2_get_console_output_sync(f->ec2, id, false, &console, &err), 0);
        assert_null(console);
}

/* What the buffered post lacks, Latest has; a Xen type refuses Latest with an error
 * ec2_console_latest_unsupported() knows, and then the buffered post is what there is. */
static void test_console_latest_and_its_refusal(void **state) {
        fixture *f = *state;
        ec2_run_instances_request req = request(f);
        _cleanup_(freep) char *nitro = NULL, *xen = NULL, *fault = NULL, *latest = NULL, *buffered = NULL;
        _cleanup_(freep) char *fallback = NULL;
        _cleanup_(aws_error_done) aws_error err = {};
        char *refused = NULL;

        assert_true(asprintf(&fault, "{\"image\": \"%s\", \"console_posted\": \"early\"}", f->image_id) > 0);
        admin_ok(f, "POST", "/_sim/boot", fault);
        nitro = run(f, &req);
        (void) status_of(f, nitro);
        assert_int_equal(ec2_get_console_output_sync(f->ec2, nitro, true, &latest, &err), 0);
        assert_non_null(strstr(latest, " login: "));
        assert_int_equal(ec2_get_console_output_sync(f->ec2, nitro, false, &buffered, &err), 0);
        assert_non_null(strstr(buffered, "Linux version"));
        assert_null(strstr(buffered, " login: "));

        req.client_token = "amirotd-verify-test-xen";
        req.instance_type = "t2.micro";
        xen = run(f, &req);
        (void) status_of(f, xen);
        assert_true(ec2_get_console_output_sync(f->ec2, xen, true, &refused, &err) < 0);
        assert_true(ec2_console_latest_unsupported(&err));
        aws_error_done(&err);
        assert_int_equal(ec2_get_console_output_sync(f->ec2, xen, false, &fallback, &err), 0);
        assert_non_null(strstr(fallback, "Linux version"));

        /* Not this refusal: another error, none, or no error at all. */
        assert_int_equal(aws_error_set(&err, 400, "InvalidInstanceID.NotFound", "gone", NULL), 0);
        assert_false(ec2_console_latest_unsupported(&err));
        aws_error_done(&err);
        assert_false(ec2_console_latest_unsupported(&err));
        assert_false(ec2_console_latest_unsupported(NULL));
}

static void test_cancelled_never_calls_back(void **state) {
        fixture *f = *state;
        ec2_run_instances_request req = request(f);
        char *ids[] = { (char *) "i-0123456789abcdef0", NULL };
        ec2_sync s = {};
        ec2_op *ops[4] = {};

        assert_int_equal(ec2_run_instances(f->ec2, &req, ec2_sync_on_instances, &s, &ops[0]), 0);
        assert_int_equal(ec2_describe_instance_status(f->ec2, ids, ec2_sync_on_statuses, &s, &ops[1]), 0);
        assert_int_equal(ec2_get_console_output(f->ec2, ids[0], true, ec2_sync_on_id, &s, &ops[2]), 0);
        assert_int_equal(ec2_terminate_instances(f->ec2, ids, false, ec2_sync_on_done, &s, &ops[3]), 0);
        for (size_t k = 0; k < ELEMENTSOF(ops); k++)
                ec2_op_cancel(ops[k]);
        for (int k = 0; k < 20; k++)
                (void) sd_event_run(f->event, 10000);
        assert_false(s.done);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_launch_watch_terminate, setup, teardown),
                cmocka_unit_test_setup_teardown(test_network_and_profile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lost_answer_retried_launches_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_impaired_and_silent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_console_latest_and_its_refusal, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancelled_never_calls_back, setup, teardown),
        };

        return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
