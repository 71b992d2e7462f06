/* SPDX-License-Identifier: MIT */
/*
 * The sharing calls (daemon/aws/ec2-share-calls.c) against the EC2 simulator: launch
 * permissions of accounts, organizations and OUs added and removed in one
 * ModifyImageAttribute and read back with DescribeImageAttribute; create-volume
 * permissions added, then removed, never both in one call (EC2 refuses that), at most
 * 500 at once; EC2's errors as values. Then the parser on answers a simulator does not
 * send (the public group, an item of no known kind).
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

#define OTHER "444455556666"
#define ORG "arn:aws:organizations::111122223333:organization/o-abc123def4"
#define OU "arn:aws:organizations::111122223333:ou/o-abc123def4/ou-ab12-cd34ef56"

static test_server sim;

typedef struct fixture {
        sd_event *event;
        http_client *http;
        creds_provider *creds;
        aws_client *ec2;
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

static int setup(void **state) {
        creds_options co = {
                .access_key_id = TEST_EC2SIM_ACCESS_KEY,
                .secret_access_key = TEST_EC2SIM_SECRET_KEY,
        };
        aws_client_options o = { .service = "ec2", .region = TEST_EC2SIM_REGION, .endpoint_url = sim.url };
        fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_client_new(f->event, &f->http), 0);
        assert_int_equal(creds_provider_new_chain(f->http, &co, &f->creds), 0);
        assert_int_equal(aws_client_new(f->http, f->creds, &o, &f->ec2), 0);
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

/* The first id of kind ("images", "snapshots") the seed created, copied. */
static char *seed(fixture *f, const char *json, const char *kind) {
        json_object *doc = NULL, *ids;
        char *id;

        assert_int_equal(test_ec2sim_admin(f->http, &sim, "POST", "/_sim/seed", json, &doc), 0);
        assert_true(json_object_object_get_ex(doc, kind, &ids));
        id = strdup(json_object_get_string(json_object_array_get_idx(ids, 0)));
        assert_non_null(id);
        json_object_put(doc);
        return id;
}

typedef struct permissions_sync {
        ec2_sync s;
        ec2_permission_list l;
} permissions_sync;

static void on_permissions(int r, ec2_permission_list *l, const aws_error *err, void *userdata) {
        permissions_sync *p = userdata;

        ec2_sync_done(&p->s, r, err);
        if (r >= 0) {
                p->l = *l;
                *l = (ec2_permission_list) {};
        }
}

static int describe_sync(fixture *f, bool snapshot, const char *id, ec2_permission_list *ret, aws_error *err) {
        permissions_sync p = {};
        ec2_op *op = NULL;
        int r;

        r = snapshot ? ec2_describe_create_volume_permission(f->ec2, id, on_permissions, &p, &op) :
                ec2_describe_launch_permission(f->ec2, id, on_permissions, &p, &op);
        r = ec2_sync_wait(f->ec2, r, op, &p.s, "Describe*Attribute", err);
        if (r >= 0)
                *ret = p.l;
        return r;
}

static int modify_image_sync(fixture *f, const char *image, const ec2_launch_permissions *add,
                             const ec2_launch_permissions *remove, aws_error *err) {
        ec2_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ec2_modify_launch_permission(f->ec2, image, add, remove, false, ec2_sync_on_done, &s, &op);
        return ec2_sync_wait(f->ec2, r, op, &s, "ModifyImageAttribute", err);
}

static int modify_snapshot_sync(fixture *f, const char *snap, char *const *add, char *const *remove, aws_error *err) {
        ec2_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ec2_modify_create_volume_permission(f->ec2, snap, add, remove, false, ec2_sync_on_done, &s, &op);
        return ec2_sync_wait(f->ec2, r, op, &s, "ModifySnapshotAttribute", err);
}

static void test_launch_permissions_added_and_removed_in_one_call(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *image = seed(f, "{\"images\": [{\"name\": \"golden\", \"snapshots\": [8]}]}", "images");
        _cleanup_(ec2_permission_list_done) ec2_permission_list l = {}, l2 = {};
        _cleanup_(aws_error_done) aws_error err = {};
        char *accounts[] = { OTHER, "777788889999", NULL }, *orgs[] = { ORG, NULL }, *ous[] = { OU, NULL };
        char *gone[] = { "777788889999", NULL };
        ec2_launch_permissions add = { accounts, orgs, ous }, remove = { .user_ids = gone, .organization_arns = orgs };

        assert_int_equal(describe_sync(f, false, image, &l, &err), 0);
        assert_null(l.user_ids);
        assert_false(l.public);
        assert_int_equal(modify_image_sync(f, image, &add, NULL, &err), 0);
        ec2_permission_list_done(&l);
        assert_int_equal(describe_sync(f, false, image, &l, &err), 0);
        assert_int_equal(strv_length(l.user_ids), 2);
        assert_string_equal(l.user_ids[0], OTHER);
        assert_string_equal(l.organization_arns[0], ORG);
        assert_string_equal(l.organizational_unit_arns[0], OU);

        assert_int_equal(modify_image_sync(f, image, NULL, &remove, &err), 0);
        assert_int_equal(describe_sync(f, false, image, &l2, &err), 0);
        assert_int_equal(strv_length(l2.user_ids), 1);
        assert_string_equal(l2.user_ids[0], OTHER);
        assert_null(l2.organization_arns);
        assert_int_equal(strv_length(l2.organizational_unit_arns), 1);

        /* Nothing to change is not a call. */
        assert_int_equal(ec2_modify_launch_permission(f->ec2, image, &(ec2_launch_permissions) {}, NULL, false,
                                                      ec2_sync_on_done, NULL, NULL), -EINVAL);
}

static void test_create_volume_permissions_add_then_remove(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *snap = seed(f, "{\"images\": [{\"name\": \"golden\", \"snapshots\": [8]}]}", "snapshots");
        _cleanup_(ec2_permission_list_done) ec2_permission_list l = {}, l2 = {};
        _cleanup_(aws_error_done) aws_error err = {};
        char *accounts[] = { OTHER, "777788889999", NULL }, *gone[] = { OTHER, NULL };

        assert_int_equal(modify_snapshot_sync(f, snap, accounts, NULL, &err), 0);
        assert_int_equal(describe_sync(f, true, snap, &l, &err), 0);
        assert_int_equal(strv_length(l.user_ids), 2);
        assert_int_equal(modify_snapshot_sync(f, snap, NULL, gone, &err), 0);
        assert_int_equal(describe_sync(f, true, snap, &l2, &err), 0);
        assert_int_equal(strv_length(l2.user_ids), 1);
        assert_string_equal(l2.user_ids[0], "777788889999");

        /* EC2: "you cannot do both in a single operation". */
        assert_int_equal(ec2_modify_create_volume_permission(f->ec2, snap, accounts, gone, false, ec2_sync_on_done,
                                                             NULL, NULL), -EINVAL);
        assert_int_equal(ec2_modify_create_volume_permission(f->ec2, snap, NULL, NULL, false, ec2_sync_on_done,
                                                             NULL, NULL), -EINVAL);
}

static void test_at_most_500_create_volume_permissions_at_once(void **state) {
        fixture *f = *state;
        _cleanup_(strv_freep) char **many = NULL;

        for (unsigned i = 0; i <= EC2_SNAPSHOT_PERMISSIONS_MAX; i++) {
                char *id;

                assert_true(asprintf(&id, "%012u", 100000000u + i) > 0);
                assert_int_equal(strv_push(&many, id), 0);
        }
        assert_int_equal(ec2_modify_create_volume_permission(f->ec2, "snap-0123456789abcdef0", many, NULL, false,
                                                             ec2_sync_on_done, NULL, NULL), -E2BIG);
}

static void test_errors_are_values(void **state) {
        fixture *f = *state;
        _cleanup_(ec2_permission_list_done) ec2_permission_list l = {};
        _cleanup_(aws_error_done) aws_error err = {}, err2 = {};
        char *bad[] = { "1234", NULL };

        assert_true(describe_sync(f, true, "snap-0123456789abcdef0", &l, &err) < 0);
        assert_string_equal(err.code, "InvalidSnapshot.NotFound");
        assert_non_null(err.request_id);
        {
                _cleanup_(freep) char *snap = seed(f, "{\"images\": [{\"name\": \"g\", \"snapshots\": [8]}]}", "snapshots");

                assert_true(modify_snapshot_sync(f, snap, bad, NULL, &err2) < 0);
                assert_string_equal(err2.code, "InvalidUserID.Malformed");
        }
}

static int parse(const char *xml, const char *attribute, ec2_permission_list *l) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = xmlReadMemory(xml, (int) strlen(xml), NULL, NULL, XML_PARSE_NONET);

        assert_non_null(doc);
        return ec2_parse_permissions(doc, attribute, l);
}

static void test_parser(void **state) {
        _cleanup_(ec2_permission_list_done) ec2_permission_list l = {}, none = {}, bad = {};

        (void) state;
        assert_int_equal(parse("<DescribeImageAttributeResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
                               "<imageId>ami-1</imageId><launchPermission><item><group>all</group></item>"
                               "<item><userId>" OTHER "</userId></item></launchPermission>"
                               "</DescribeImageAttributeResponse>", "launchPermission", &l), 0);
        assert_true(l.public);
        assert_string_equal(l.user_ids[0], OTHER);
        /* An image shared with nobody answers without items (or the element). */
        assert_int_equal(parse("<DescribeImageAttributeResponse><imageId>ami-1</imageId>"
                               "</DescribeImageAttributeResponse>", "launchPermission", &none), 0);
        assert_null(none.user_ids);
        assert_false(none.public);
        assert_int_equal(parse("<DescribeSnapshotAttributeResponse><createVolumePermission><item><x>1</x></item>"
                               "</createVolumePermission></DescribeSnapshotAttributeResponse>",
                               "createVolumePermission", &bad), -EBADMSG);
        assert_int_equal(parse("<Other/>", "launchPermission", &bad), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_launch_permissions_added_and_removed_in_one_call, setup, teardown),
                cmocka_unit_test_setup_teardown(test_create_volume_permissions_add_then_remove, setup, teardown),
                cmocka_unit_test_setup_teardown(test_at_most_500_create_volume_permissions_at_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_errors_are_values, setup, teardown),
                cmocka_unit_test(test_parser),
        };

        return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
