/* SPDX-License-Identifier: MIT */
/*
 * EC2's values and parsers: every field of every parser, read from the canned
 * answers in tests/data/ec2/ (see its README), the state tables both ways, the
 * tag helpers, and what a page of the wrong shape does to a list (nothing).
 * Run from the repo root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>

#include "aws/ec2.h"
#include "aws/query.h"
#include "base/util.h"
#include "data-helper.h"

static xmlDoc *load(const char *name) {
        _cleanup_(freep) char *data = NULL;
        xmlDoc *doc = NULL;
        aws_error err = {};
        size_t size;
        int r;

        data = read_data(name, &size);
        r = aws_response_parse(data, size, 200, NULL, &doc, &err);
        if (r < 0)
                fail_msg("%s: %d %s", name, r, err.message ?: "");
        return doc;
}

static xmlDoc *load_string(const char *xml) {
        xmlDoc *doc = NULL;

        assert_int_equal(aws_response_parse(xml, strlen(xml), 200, NULL, &doc, NULL), 0);
        return doc;
}

static time_t t(const char *iso) {
        time_t v;

        assert_int_equal(parse_iso8601(iso, &v), 0);
        return v;
}

/* ---- Values ---------------------------------------------------------------------------- */

static void test_tags(void **state) {
        _cleanup_(ec2_tags_done) ec2_tags tags = {}, copy = {};

        (void) state;
        assert_null(ec2_tags_get(&tags, "Name"));
        assert_int_equal(ec2_tags_add(&tags, "Name", "web-1"), 0);
        assert_int_equal(ec2_tags_add(&tags, "Role", "web"), 0);
        assert_int_equal(ec2_tags_add(&tags, "Empty", NULL), 0);
        assert_int_equal(tags.n, 3);
        assert_string_equal(ec2_tags_get(&tags, "Name"), "web-1");
        assert_string_equal(ec2_tags_get(&tags, "Empty"), "");
        assert_null(ec2_tags_get(&tags, "name"));      /* keys are case-sensitive */
        assert_null(ec2_tags_get(NULL, "Name"));

        /* Adding an existing key replaces its value in place. */
        assert_int_equal(ec2_tags_add(&tags, "Name", "web-2"), 0);
        assert_int_equal(tags.n, 3);
        assert_string_equal(tags.items[0].key, "Name");
        assert_string_equal(tags.items[0].value, "web-2");
        assert_int_equal(ec2_tags_add(&tags, NULL, "x"), -EINVAL);

        /* A copy replaces what dst held and is independent. */
        assert_int_equal(ec2_tags_add(&copy, "Stale", "1"), 0);
        assert_int_equal(ec2_tags_copy(&tags, &copy), 0);
        assert_int_equal(copy.n, 3);
        assert_null(ec2_tags_get(&copy, "Stale"));
        assert_int_equal(ec2_tags_add(&tags, "Role", "api"), 0);
        assert_string_equal(ec2_tags_get(&copy, "Role"), "web");
        assert_string_equal(ec2_tags_get(&tags, "Role"), "api");

        ec2_tags_done(&tags);
        assert_int_equal(tags.n, 0);
        assert_null(tags.items);
        ec2_tags_done(&tags);           /* twice is fine */
        ec2_tags_done(NULL);
}

static void test_state_tables(void **state) {
        (void) state;
        for (int s = 0; s < _EC2_INSTANCE_STATE_MAX; s++)
                assert_int_equal(ec2_instance_state_from_string(ec2_instance_state_to_string(s)), s);
        for (int s = 0; s < _EC2_IMAGE_STATE_MAX; s++)
                assert_int_equal(ec2_image_state_from_string(ec2_image_state_to_string(s)), s);
        for (int s = 0; s < _EC2_SNAPSHOT_STATE_MAX; s++)
                assert_int_equal(ec2_snapshot_state_from_string(ec2_snapshot_state_to_string(s)), s);

        assert_string_equal(ec2_instance_state_to_string(EC2_INSTANCE_SHUTTING_DOWN), "shutting-down");
        assert_string_equal(ec2_instance_state_to_string(EC2_INSTANCE_STOPPED), "stopped");
        assert_int_equal(ec2_instance_state_from_string("running"), EC2_INSTANCE_RUNNING);
        assert_string_equal(ec2_image_state_to_string(EC2_IMAGE_AVAILABLE), "available");
        assert_string_equal(ec2_image_state_to_string(EC2_IMAGE_DISABLED), "disabled");
        assert_int_equal(ec2_image_state_from_string("failed"), EC2_IMAGE_FAILED);
        assert_int_equal(ec2_image_state_from_string("deregistered"), EC2_IMAGE_DEREGISTERED);
        assert_string_equal(ec2_snapshot_state_to_string(EC2_SNAPSHOT_RECOVERING), "recovering");
        assert_int_equal(ec2_snapshot_state_from_string("completed"), EC2_SNAPSHOT_COMPLETED);

        assert_int_equal(ec2_instance_state_from_string("Running"), _EC2_INSTANCE_STATE_INVALID);
        assert_int_equal(ec2_instance_state_from_string(""), -EINVAL);
        assert_int_equal(ec2_image_state_from_string(NULL), _EC2_IMAGE_STATE_INVALID);
        assert_int_equal(ec2_snapshot_state_from_string("done"), _EC2_SNAPSHOT_STATE_INVALID);
        assert_null(ec2_instance_state_to_string(_EC2_INSTANCE_STATE_MAX));
        assert_null(ec2_instance_state_to_string(_EC2_INSTANCE_STATE_INVALID));
        assert_null(ec2_image_state_to_string(_EC2_IMAGE_STATE_MAX));
        assert_null(ec2_snapshot_state_to_string(-1));
}

/* ---- Parsers --------------------------------------------------------------------------- */

static void test_describe_instances(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = load("describe-instances.xml");
        _cleanup_(ec2_instance_list_done) ec2_instance_list l = {};
        _cleanup_(freep) char *token = NULL;
        ec2_instance *i;

        (void) state;
        assert_int_equal(ec2_parse_describe_instances(doc, &l, &token), 0);
        assert_string_equal(token, "eyJ2IjoiMiIsImMiOiJpL2xFZ3Z5TnNPbz0ifQ==");
        assert_int_equal(l.n, 3);

        i = &l.items[0];
        assert_string_equal(i->id, "i-1234567890abcdef0");
        assert_string_equal(i->image_id, "ami-0abcdef1234567890");
        assert_int_equal(i->state, EC2_INSTANCE_RUNNING);
        assert_string_equal(i->name, "web-1");
        assert_int_equal(i->tags.n, 3);
        assert_string_equal(i->tags.items[0].key, "Name");
        assert_string_equal(i->tags.items[0].value, "web-1");
        assert_string_equal(ec2_tags_get(&i->tags, "Role"), "web");
        assert_string_equal(ec2_tags_get(&i->tags, "Golden"), "yes");
        assert_int_equal(strv_length(i->volume_ids), 2);
        assert_string_equal(i->volume_ids[0], "vol-1234567890abcdef0");
        assert_string_equal(i->volume_ids[1], "vol-0fedcba0987654321");
        /* image.volumes: the root device and each volume's device */
        assert_string_equal(i->root_device_name, "/dev/xvda");
        assert_int_equal(i->n_volumes, 2);
        assert_string_equal(i->volumes[0].device_name, "/dev/xvda");
        assert_string_equal(i->volumes[0].volume_id, "vol-1234567890abcdef0");
        assert_string_equal(i->volumes[1].device_name, "/dev/sdf");
        assert_string_equal(i->volumes[1].volume_id, "vol-0fedcba0987654321");
        /* verify: the test instance's age and why it stopped */
        assert_int_equal(i->launch_time, t("2024-01-02T10:00:00Z"));
        assert_null(i->state_reason);

        i = &l.items[1];
        assert_string_equal(i->id, "i-0598c7d356eba48d7");
        assert_int_equal(i->state, EC2_INSTANCE_STOPPED);
        assert_int_equal(i->launch_time, 0);
        assert_string_equal(i->state_reason, "Client.UserInitiatedShutdown: User initiated shutdown");
        assert_null(i->name);
        assert_int_equal(i->tags.n, 2);
        assert_string_equal(ec2_tags_get(&i->tags, "Role"), "web & api");
        assert_string_equal(ec2_tags_get(&i->tags, "Empty"), "");
        assert_int_equal(strv_length(i->volume_ids), 1);
        assert_string_equal(i->volume_ids[0], "vol-049df61146c4d7901");

        /* The second reservation. */
        i = &l.items[2];
        assert_string_equal(i->id, "i-0b22a22eec53b9321");
        assert_string_equal(i->image_id, "ami-0ff8a91507f77f867");
        assert_int_equal(i->state, EC2_INSTANCE_SHUTTING_DOWN);
        assert_string_equal(i->name, "Grüße, 世界");
        assert_null(i->volume_ids);

        /* A second page appends. */
        token = mfree(token);
        assert_int_equal(ec2_parse_describe_instances(doc, &l, NULL), 0);
        assert_int_equal(l.n, 6);
        assert_string_equal(l.items[5].id, "i-0b22a22eec53b9321");
}

static void test_describe_images(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = load("describe-images.xml");
        _cleanup_(ec2_image_list_done) ec2_image_list l = {};
        _cleanup_(freep) char *token = NULL;
        ec2_image *i;

        (void) state;
        assert_int_equal(ec2_parse_describe_images(doc, &l, &token), 0);
        assert_string_equal(token, "AAEAAaQhQ2EXAMPLEnextpage");
        assert_int_equal(l.n, 3);

        i = &l.items[0];
        assert_string_equal(i->id, "ami-0a1b2c3d4e5f60001");
        assert_string_equal(i->name, "web-i-1234567890abcdef0-20240101T0300");
        assert_int_equal(i->state, EC2_IMAGE_AVAILABLE);
        assert_null(i->state_reason);
        assert_int_equal(i->creation_date, t("2024-01-01T03:00:12Z"));
        assert_int_equal(ec2_image_deprecation_time(i), t("2025-01-01T03:00:00Z"));
        assert_int_equal(i->tags.n, 3);
        assert_string_equal(ec2_tags_get(&i->tags, "amirotd:policy"), "web");
        assert_string_equal(ec2_tags_get(&i->tags, "amirotd:instance-id"), "i-1234567890abcdef0");
        assert_string_equal(ec2_tags_get(&i->tags, "amirotd:slot"), "20240101T0300");
        assert_int_equal(i->n_devices, 3);
        assert_string_equal(i->devices[0].device_name, "/dev/xvda");
        assert_string_equal(i->devices[0].snapshot_id, "snap-0aaaaaaaaaaaaaaa1");
        assert_string_equal(i->devices[1].device_name, "/dev/sdf");
        assert_string_equal(i->devices[1].snapshot_id, "snap-0aaaaaaaaaaaaaaa2");
        assert_string_equal(i->devices[2].device_name, "/dev/sdb");     /* ephemeral0: no EBS */
        assert_null(i->devices[2].snapshot_id);

        i = &l.items[1];
        assert_string_equal(i->id, "ami-0a1b2c3d4e5f60002");
        assert_int_equal(i->state, EC2_IMAGE_PENDING);
        assert_null(i->state_reason);
        assert_int_equal(i->creation_date, t("2024-01-02T03:00:05Z"));
        assert_int_equal(i->deprecation_minute, 0);    /* none */
        /* The deprecation time costs an image no byte (ec2-types.h); adoption's
         * source_instance_id costs its pointer (560 kB at 70 000 images): 88 on LP64. */
        if (sizeof(void *) == 8)
                assert_int_equal(sizeof(ec2_image), 88);
        assert_int_equal(i->n_devices, 1);
        assert_null(i->devices[0].snapshot_id);        /* not taken yet */
        assert_int_equal(i->tags.n, 1);

        i = &l.items[2];
        assert_string_equal(i->id, "ami-0a1b2c3d4e5f60003");
        assert_int_equal(i->state, EC2_IMAGE_FAILED);
        assert_string_equal(i->state_reason, "Client.InternalError: Internal error on snapshot creation");
        assert_int_equal(i->creation_date, t("2023-12-31T03:00:00Z"));
        assert_int_equal(i->n_devices, 0);
        assert_null(i->devices);
        assert_int_equal(i->tags.n, 0);
}

static void test_state_reason_forms(void **state) {
        static const struct {
                const char *reason, *expected;
        } cases[] = {
                { "<code>Server.InternalError</code><message>Server.InternalError: boom</message>", "Server.InternalError: boom" },
                { "<code>Client.UserInitiated</code><message>User initiated</message>", "Client.UserInitiated: User initiated" },
                { "<code>Client.Only</code>", "Client.Only" },
                { "<message>just a message</message>", "just a message" },
                { "<code/><message/>", NULL },
        };

        (void) state;
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
                _cleanup_(ec2_image_list_done) ec2_image_list l = {};
                _cleanup_(freep) char *xml = NULL;

                assert_true(asprintf(&xml, "<DescribeImagesResponse><imagesSet><item><imageId>ami-1</imageId>"
                                           "<imageState>failed</imageState><stateReason>%s</stateReason>"
                                           "</item></imagesSet></DescribeImagesResponse>", cases[k].reason) > 0);
                doc = load_string(xml);
                assert_int_equal(ec2_parse_describe_images(doc, &l, NULL), 0);
                assert_int_equal(l.n, 1);
                if (cases[k].expected)
                        assert_string_equal(l.items[0].state_reason, cases[k].expected);
                else
                        assert_null(l.items[0].state_reason);
        }
}

static void test_describe_volumes(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = load("describe-volumes.xml");
        _cleanup_(ec2_volume_list_done) ec2_volume_list l = {};
        _cleanup_(freep) char *token = NULL;

        (void) state;
        assert_int_equal(ec2_parse_describe_volumes(doc, &l, &token), 0);
        assert_string_equal(token, "eyJ2IjoiMiIsImMiOiJ2b2wifQ==");
        assert_int_equal(l.n, 2);
        assert_string_equal(l.items[0].id, "vol-0fedcba0987654321");
        assert_int_equal(l.items[0].tags.n, 2);
        assert_string_equal(ec2_tags_get(&l.items[0].tags, "Scratch"), "true");
        assert_string_equal(l.items[1].id, "vol-049df61146c4d7901");
        assert_string_equal(ec2_tags_get(&l.items[1].tags, "Ephemeral"), "");
        /* a second page appends */
        assert_int_equal(ec2_parse_describe_volumes(doc, &l, NULL), 0);
        assert_int_equal(l.n, 4);
}

/* deregistrationProtection as EC2 shows it; absent on an endpoint that predates it. */
static void test_dereg_protection_forms(void **state) {
        static const struct {
                const char *xml;
                ec2_dereg_protection expected;
        } cases[] = {
                { "", EC2_DEREG_PROTECTION_DISABLED },
                { "<deregistrationProtection>disabled</deregistrationProtection>", EC2_DEREG_PROTECTION_DISABLED },
                { "<deregistrationProtection>enabled-without-cooldown</deregistrationProtection>",
                  EC2_DEREG_PROTECTION_ENABLED },
                { "<deregistrationProtection>enabled-with-cooldown</deregistrationProtection>",
                  EC2_DEREG_PROTECTION_ENABLED_COOLDOWN },
                { "<deregistrationProtection>disabled-until 2026-12-02T10:00:00.000Z</deregistrationProtection>",
                  EC2_DEREG_PROTECTION_COOLDOWN },
                { "<deregistrationProtection>sometimes</deregistrationProtection>", _EC2_DEREG_PROTECTION_INVALID },
        };

        (void) state;
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
                _cleanup_(ec2_image_list_done) ec2_image_list l = {};
                _cleanup_(freep) char *xml = NULL;

                assert_true(asprintf(&xml, "<DescribeImagesResponse><imagesSet><item><imageId>ami-1</imageId>"
                                           "<imageState>available</imageState>%s"
                                           "</item></imagesSet></DescribeImagesResponse>", cases[k].xml) > 0);
                doc = load_string(xml);
                assert_int_equal(ec2_parse_describe_images(doc, &l, NULL), 0);
                assert_int_equal(l.n, 1);
                assert_int_equal(l.items[0].dereg_protection, cases[k].expected);
                assert_int_equal(l.items[0].state, EC2_IMAGE_AVAILABLE);
        }
        assert_true(ec2_dereg_protection_on(EC2_DEREG_PROTECTION_ENABLED_COOLDOWN));
        assert_false(ec2_dereg_protection_on(EC2_DEREG_PROTECTION_COOLDOWN));
        assert_true(ec2_dereg_protection_on(_EC2_DEREG_PROTECTION_INVALID));
        assert_false(ec2_dereg_protection_on(EC2_DEREG_PROTECTION_DISABLED));
        assert_string_equal(ec2_dereg_protection_to_string(EC2_DEREG_PROTECTION_ENABLED), "enabled-without-cooldown");
}

static void test_return_state(void **state) {
        static const struct {
                const char *xml, *expected;
        } cases[] = {
                { "<EnableImageDeregistrationProtectionResponse><return>enabled-with-cooldown</return>"
                  "</EnableImageDeregistrationProtectionResponse>", "enabled-with-cooldown" },
                { "<DisableImageDeregistrationProtectionResponse><return>disabled</return>"
                  "</DisableImageDeregistrationProtectionResponse>", "disabled" },
                { "<DisableImageDeregistrationProtectionResponse><return>false</return>"
                  "</DisableImageDeregistrationProtectionResponse>", NULL },
                { "<DisableImageDeregistrationProtectionResponse/>", NULL },
                { "<Other><return>disabled</return></Other>", NULL },
        };

        (void) state;
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                _cleanup_(xmlFreeDocp) xmlDoc *doc = load_string(cases[k].xml);
                _cleanup_(freep) char *got = NULL;

                if (cases[k].expected) {
                        assert_int_equal(ec2_parse_return_state(doc, &got), 0);
                        assert_string_equal(got, cases[k].expected);
                } else
                        assert_int_equal(ec2_parse_return_state(doc, &got), -EBADMSG);
        }
}

static void test_describe_snapshots(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = load("describe-snapshots.xml");
        _cleanup_(ec2_snapshot_list_done) ec2_snapshot_list l = {};
        static char sentinel[] = "sentinel";
        char *token = sentinel;
        ec2_snapshot *s;

        (void) state;
        assert_int_equal(ec2_parse_describe_snapshots(doc, &l, &token), 0);
        assert_null(token);             /* the last page */
        assert_int_equal(l.n, 3);

        s = &l.items[0];
        assert_string_equal(s->id, "snap-0aaaaaaaaaaaaaaa1");
        assert_int_equal(s->state, EC2_SNAPSHOT_COMPLETED);
        assert_int_equal(s->start_time, t("2024-01-01T03:00:15Z"));
        assert_int_equal(s->tags.n, 2);
        assert_string_equal(ec2_tags_get(&s->tags, "amirotd:policy"), "web");
        assert_string_equal(ec2_tags_get(&s->tags, "amirotd:slot"), "20240101T0300");

        s = &l.items[1];
        assert_string_equal(s->id, "snap-0bbbbbbbbbbbbbbb2");
        assert_int_equal(s->state, EC2_SNAPSHOT_PENDING);
        assert_int_equal(s->start_time, t("2024-01-02T03:00:09Z"));
        assert_int_equal(s->tags.n, 0);

        s = &l.items[2];
        assert_string_equal(s->id, "snap-0ccccccccccccccc3");
        assert_int_equal(s->state, EC2_SNAPSHOT_ERROR);
        assert_int_equal(s->start_time, t("2023-12-01T00:00:00Z"));
}

/* Images and snapshots keep their amirotd:* tags only; one with none of those keeps all
 * (exec.c reads "tagged by someone else" from it); instances keep every tag. */
static void test_only_managed_tags_are_kept(void **state) {
        static const char *const answers[] = {
                "<DescribeImagesResponse><imagesSet>"
                "<item><imageId>ami-1</imageId><tagSet>"
                "<item><key>Name</key><value>web-1</value></item>"
                "<item><key>amirotd:policy</key><value>web</value></item>"
                "<item><key>team</key><value>blue</value></item>"
                "<item><key>amirotd:slot</key><value>20240101T0300</value></item>"
                "</tagSet></item>"
                "<item><imageId>ami-2</imageId><tagSet>"
                "<item><key>Name</key><value>theirs</value></item>"
                "<item><key>amirotd</key><value>not a prefix match</value></item>"
                "</tagSet></item>"
                "</imagesSet></DescribeImagesResponse>",
                "<DescribeSnapshotsResponse><snapshotSet>"
                "<item><snapshotId>snap-1</snapshotId><tagSet>"
                "<item><key>amirotd:policy</key><value>web</value></item>"
                "<item><key>CostCenter</key><value>42</value></item>"
                "</tagSet></item>"
                "</snapshotSet></DescribeSnapshotsResponse>",
                "<DescribeInstancesResponse><reservationSet><item><instancesSet>"
                "<item><instanceId>i-1</instanceId><tagSet>"
                "<item><key>Role</key><value>web</value></item>"
                "<item><key>amirotd:policy</key><value>web</value></item>"
                "</tagSet></item>"
                "</instancesSet></item></reservationSet></DescribeInstancesResponse>",
        };
        _cleanup_(xmlFreeDocp) xmlDoc *images = load_string(answers[0]);
        _cleanup_(xmlFreeDocp) xmlDoc *snapshots = load_string(answers[1]);
        _cleanup_(xmlFreeDocp) xmlDoc *instances = load_string(answers[2]);
        _cleanup_(ec2_image_list_done) ec2_image_list il = {};
        _cleanup_(ec2_snapshot_list_done) ec2_snapshot_list sl = {};
        _cleanup_(ec2_instance_list_done) ec2_instance_list nl = {};

        (void) state;
        assert_int_equal(ec2_parse_describe_images(images, &il, NULL), 0);
        assert_int_equal(il.n, 2);
        assert_int_equal(il.items[0].tags.n, 2);
        assert_string_equal(ec2_tags_get(&il.items[0].tags, "amirotd:policy"), "web");
        assert_string_equal(ec2_tags_get(&il.items[0].tags, "amirotd:slot"), "20240101T0300");
        assert_null(ec2_tags_get(&il.items[0].tags, "Name"));
        assert_null(ec2_tags_get(&il.items[0].tags, "team"));
        assert_int_equal(il.items[1].tags.n, 2);
        assert_string_equal(ec2_tags_get(&il.items[1].tags, "Name"), "theirs");

        assert_int_equal(ec2_parse_describe_snapshots(snapshots, &sl, NULL), 0);
        assert_int_equal(sl.items[0].tags.n, 1);
        assert_string_equal(ec2_tags_get(&sl.items[0].tags, "amirotd:policy"), "web");

        assert_int_equal(ec2_parse_describe_instances(instances, &nl, NULL), 0);
        assert_int_equal(nl.items[0].tags.n, 2);
        assert_string_equal(ec2_tags_get(&nl.items[0].tags, "Role"), "web");
}

/* sourceInstanceId is read for `amirotd adopt`, which looks only at images amirotd did not
 * tag: an image with amirotd:* tags does not keep it (its instance is in a tag). */
static void test_source_instance_only_on_unmanaged_images(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = load_string(
                "<DescribeImagesResponse><imagesSet>"
                "<item><imageId>ami-1</imageId><sourceInstanceId>i-0aaa1111</sourceInstanceId><tagSet>"
                "<item><key>Builder</key><value>packer</value></item>"
                "</tagSet></item>"
                "<item><imageId>ami-2</imageId><sourceInstanceId>i-0bbb2222</sourceInstanceId><tagSet>"
                "<item><key>amirotd:policy</key><value>web</value></item>"
                "</tagSet></item>"
                "<item><imageId>ami-3</imageId><sourceInstanceId></sourceInstanceId></item>"
                "<item><imageId>ami-4</imageId></item>"
                "</imagesSet></DescribeImagesResponse>");
        _cleanup_(ec2_image_list_done) ec2_image_list l = {};

        (void) state;
        assert_int_equal(ec2_parse_describe_images(doc, &l, NULL), 0);
        assert_int_equal(l.n, 4);
        assert_string_equal(l.items[0].source_instance_id, "i-0aaa1111");
        assert_null(l.items[1].source_instance_id);
        assert_null(l.items[2].source_instance_id);
        assert_null(l.items[3].source_instance_id);
}

static void test_create_image_and_return(void **state) {
        static const char *const returns[] = {
                "deregister-image.xml", "deregister-image-snapshots.xml", "delete-snapshot.xml", "create-tags.xml",
        };
        _cleanup_(xmlFreeDocp) xmlDoc *doc = load("create-image.xml");
        _cleanup_(freep) char *id = NULL;
        bool ok = false;

        (void) state;
        assert_int_equal(ec2_parse_create_image(doc, &id), 0);
        assert_string_equal(id, "ami-1234567890abcdef0");

        for (size_t k = 0; k < ELEMENTSOF(returns); k++) {
                _cleanup_(xmlFreeDocp) xmlDoc *d = load(returns[k]);
                char *none = NULL;

                ok = false;
                assert_int_equal(ec2_parse_return(d, &ok), 0);
                assert_true(ok);
                assert_int_equal(ec2_parse_create_image(d, &none), -EBADMSG);
                assert_null(none);
        }
}

static void test_deregister_reports_only_snapshots_ec2_deleted(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *plain = load("deregister-image.xml");
        _cleanup_(xmlFreeDocp) xmlDoc *with = load("deregister-image-snapshots.xml");
        _cleanup_(xmlFreeDocp) xmlDoc *failed = load("deregister-image-snapshots-failed.xml");
        _cleanup_(strv_freep) char **deleted = NULL, **none = NULL;
        bool ok = false;

        (void) state;
        /* No deleteSnapshotResultSet (an endpoint that ignored DeleteAssociatedSnapshots):
         * nothing may be counted as deleted. */
        assert_int_equal(ec2_parse_deregister(plain, &ok, &deleted), 0);
        assert_true(ok);
        assert_null(deleted);

        /* snap-...1 "success" is gone; snap-...2 "skipped" is not, for the caller to handle. */
        assert_int_equal(ec2_parse_deregister(with, &ok, &deleted), 0);
        assert_true(ok);
        assert_non_null(deleted);
        assert_string_equal(deleted[0], "snap-0aaaaaaaaaaaaaaa1");
        assert_null(deleted[1]);

        /* Every code but "success" (missing-permissions, internal-error, client-error) keeps it. */
        assert_int_equal(ec2_parse_deregister(failed, &ok, &none), 0);
        assert_true(ok);
        assert_null(none);
}

/* "return: Is true if the request succeeds, and an error otherwise": an answer without it
 * (ec2sim --no-delete-snapshot-return) is success, not a malformed answer. */
static void test_delete_snapshot_without_return_is_success(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = load("delete-snapshot-no-return.xml");
        bool ok = false;

        (void) state;
        assert_int_equal(ec2_parse_return(doc, &ok), 0);
        assert_true(ok);
}

static void test_return_values(void **state) {
        static const struct {
                const char *xml;
                int r;
                bool value;
        } cases[] = {
                { "<DeleteSnapshotResponse><return>true</return></DeleteSnapshotResponse>", 0, true },
                { "<DeleteSnapshotResponse><return>false</return></DeleteSnapshotResponse>", 0, false },
                { "<DeleteSnapshotResponse><return>yes</return></DeleteSnapshotResponse>", -EBADMSG, false },
                { "<DeleteSnapshotResponse><return/></DeleteSnapshotResponse>", -EBADMSG, false },
                { "<DeleteSnapshotResponse/>", 0, true },
                { "<DeleteSnapshotResponse><requestId>r</requestId></DeleteSnapshotResponse>", 0, true },
                { "<DeleteSnapshotResponse><return> true</return></DeleteSnapshotResponse>", -EBADMSG, false },
                { "<Something><return>true</return></Something>", -EBADMSG, false },
        };

        (void) state;
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                _cleanup_(xmlFreeDocp) xmlDoc *doc = load_string(cases[k].xml);
                bool v = !cases[k].value;

                assert_int_equal(ec2_parse_return(doc, &v), cases[k].r);
                if (cases[k].r == 0)
                        assert_int_equal(v, cases[k].value);
        }
}

/* A page of the wrong shape fails and leaves the list as it was. */
static void test_bad_pages_leave_the_list_alone(void **state) {
        static const char *const bad_images[] = {
                /* the second image has no id */
                "<DescribeImagesResponse><imagesSet><item><imageId>ami-2</imageId></item>"
                "<item><name>x</name></item></imagesSet></DescribeImagesResponse>",
                /* an unreadable date */
                "<DescribeImagesResponse><imagesSet><item><imageId>ami-2</imageId>"
                "<creationDate>yesterday</creationDate></item></imagesSet></DescribeImagesResponse>",
                /* a tag without a key */
                "<DescribeImagesResponse><imagesSet><item><imageId>ami-2</imageId>"
                "<tagSet><item><value>v</value></item></tagSet></item></imagesSet></DescribeImagesResponse>",
                /* another action's answer */
                "<DescribeSnapshotsResponse><snapshotSet/></DescribeSnapshotsResponse>",
                "<Response><Errors/></Response>",
        };
        _cleanup_(xmlFreeDocp) xmlDoc *good = load("describe-images.xml");
        _cleanup_(ec2_image_list_done) ec2_image_list l = {};

        (void) state;
        assert_int_equal(ec2_parse_describe_images(good, &l, NULL), 0);
        assert_int_equal(l.n, 3);
        for (size_t k = 0; k < ELEMENTSOF(bad_images); k++) {
                _cleanup_(xmlFreeDocp) xmlDoc *doc = load_string(bad_images[k]);
                char *token = NULL;

                assert_int_equal(ec2_parse_describe_images(doc, &l, &token), -EBADMSG);
                assert_null(token);
                assert_int_equal(l.n, 3);
                assert_string_equal(l.items[2].id, "ami-0a1b2c3d4e5f60003");
        }

        {
                _cleanup_(xmlFreeDocp) xmlDoc *doc = load_string(
                        "<DescribeInstancesResponse><reservationSet><item><instancesSet>"
                        "<item><instanceId>i-1</instanceId></item><item><imageId>ami-1</imageId></item>"
                        "</instancesSet></item></reservationSet></DescribeInstancesResponse>");
                _cleanup_(ec2_instance_list_done) ec2_instance_list il = {};

                assert_int_equal(ec2_parse_describe_instances(doc, &il, NULL), -EBADMSG);
                assert_int_equal(il.n, 0);
                assert_int_equal(ec2_parse_describe_instances(good, &il, NULL), -EBADMSG);
        }
        {
                _cleanup_(xmlFreeDocp) xmlDoc *doc = load_string(
                        "<DescribeSnapshotsResponse><snapshotSet><item><snapshotId>snap-1</snapshotId>"
                        "<startTime>2024-01-01</startTime></item></snapshotSet></DescribeSnapshotsResponse>");
                _cleanup_(ec2_snapshot_list_done) ec2_snapshot_list sl = {};

                assert_int_equal(ec2_parse_describe_snapshots(doc, &sl, NULL), -EBADMSG);
                assert_int_equal(sl.n, 0);
        }
        {
                _cleanup_(xmlFreeDocp) xmlDoc *doc = load_string("<CreateImageResponse><imageId/></CreateImageResponse>");
                char *id = NULL;

                assert_int_equal(ec2_parse_create_image(doc, &id), -EBADMSG);
                assert_null(id);
        }
        assert_int_equal(ec2_parse_describe_images(NULL, &l, NULL), -EBADMSG);
}

/* Empty answers, states this build does not know, and an empty nextToken. */
static void test_edges(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *empty = load_string(
                "<DescribeInstancesResponse><requestId>r</requestId><reservationSet/><nextToken/></DescribeInstancesResponse>");
        _cleanup_(xmlFreeDocp) xmlDoc *unknown = load_string(
                "<DescribeImagesResponse><imagesSet><item><imageId>ami-9</imageId><imageState>hibernating</imageState>"
                "</item><item><imageId>ami-10</imageId></item></imagesSet></DescribeImagesResponse>");
        _cleanup_(xmlFreeDocp) xmlDoc *prefixed = load_string(
                "<e:DescribeSnapshotsResponse xmlns:e=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><e:snapshotSet>"
                "<e:item><e:snapshotId>snap-p</e:snapshotId><e:status>recoverable</e:status></e:item>"
                "</e:snapshotSet></e:DescribeSnapshotsResponse>");
        _cleanup_(ec2_instance_list_done) ec2_instance_list il = {};
        _cleanup_(ec2_image_list_done) ec2_image_list l = {};
        _cleanup_(ec2_snapshot_list_done) ec2_snapshot_list sl = {};
        char *token = NULL;

        (void) state;
        assert_int_equal(ec2_parse_describe_instances(empty, &il, &token), 0);
        assert_int_equal(il.n, 0);
        assert_null(token);

        assert_int_equal(ec2_parse_describe_images(unknown, &l, NULL), 0);
        assert_int_equal(l.n, 2);
        assert_int_equal(l.items[0].state, _EC2_IMAGE_STATE_INVALID);
        assert_int_equal(l.items[1].state, _EC2_IMAGE_STATE_INVALID);
        assert_null(l.items[1].name);
        assert_int_equal(l.items[1].creation_date, 0);

        assert_int_equal(ec2_parse_describe_snapshots(prefixed, &sl, NULL), 0);
        assert_int_equal(sl.n, 1);
        assert_string_equal(sl.items[0].id, "snap-p");
        assert_int_equal(sl.items[0].state, EC2_SNAPSHOT_RECOVERABLE);
}

/* Lists grow past their first allocation; every item survives the moves. */
static void test_many_items(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(ec2_image_list_done) ec2_image_list l = {};
        strbuf b = {};
        const size_t n = 2500;

        (void) state;
        assert_int_equal(strbuf_puts(&b, "<DescribeImagesResponse><imagesSet>"), 0);
        for (size_t k = 0; k < n; k++)
                assert_int_equal(strbuf_printf(&b, "<item><imageId>ami-%05zu</imageId><imageState>available</imageState>"
                                                   "<tagSet><item><key>n</key><value>%zu</value></item></tagSet></item>", k, k), 0);
        assert_int_equal(strbuf_puts(&b, "</imagesSet><nextToken>more</nextToken></DescribeImagesResponse>"), 0);
        doc = load_string(b.data);
        strbuf_done(&b);

        assert_int_equal(ec2_parse_describe_images(doc, &l, NULL), 0);
        assert_int_equal(l.n, n);
        for (size_t k = 0; k < n; k++) {
                char id[16], v[16];

                snprintf(id, sizeof(id), "ami-%05zu", k);
                snprintf(v, sizeof(v), "%zu", k);
                assert_string_equal(l.items[k].id, id);
                assert_string_equal(ec2_tags_get(&l.items[k].tags, "n"), v);
        }
}

/* ---- Pools ------------------------------------------------------------------------------ */

static bool in_pool(const ec2_pool *p, const void *ptr) {
        return ptr && (const char *) ptr >= p->data && (const char *) ptr < p->data + p->size;
}

/* A parsed image is one block: every string and array of it lies in its pool. */
static void test_parsed_items_are_pooled(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *images = load("describe-images.xml");
        _cleanup_(xmlFreeDocp) xmlDoc *snapshots = load("describe-snapshots.xml");
        _cleanup_(ec2_image_list_done) ec2_image_list l = {};
        _cleanup_(ec2_snapshot_list_done) ec2_snapshot_list sl = {};
        ec2_image *i;
        ec2_snapshot *s;

        (void) state;
        assert_int_equal(ec2_parse_describe_images(images, &l, NULL), 0);
        i = &l.items[0];
        assert_non_null(i->pool.data);
        assert_true(in_pool(&i->pool, i->id) && in_pool(&i->pool, i->name));
        assert_true(in_pool(&i->pool, i->devices) && in_pool(&i->pool, i->devices[0].device_name) &&
                    in_pool(&i->pool, i->devices[1].snapshot_id));
        assert_true(i->tags.pooled && in_pool(&i->pool, i->tags.items));
        for (size_t k = 0; k < i->tags.n; k++)
                assert_true(!in_pool(&i->pool, i->tags.items[k].key) && in_pool(&i->pool, i->tags.items[k].value));
        assert_true(in_pool(&l.items[2].pool, l.items[2].state_reason));
        assert_null(l.items[2].devices);
        assert_int_equal(l.items[2].tags.n, 0);

        assert_int_equal(ec2_parse_describe_snapshots(snapshots, &sl, NULL), 0);
        s = &sl.items[0];
        assert_true(in_pool(&s->pool, s->id) && s->tags.pooled);
        for (size_t k = 0; k < s->tags.n; k++)
                assert_true(in_pool(&s->pool, s->tags.items[k].value));

        /* Keys are shared: the image's "amirotd:policy" and the snapshot's are one string. */
        assert_string_equal(i->tags.items[0].key, "amirotd:policy");
        assert_string_equal(s->tags.items[0].key, "amirotd:policy");
        assert_ptr_equal(i->tags.items[0].key, s->tags.items[0].key);
}

/* Pooled values are still plain data: tags can be changed, fields replaced, and _done()
 * frees what is outside the pool and nothing twice (valgrind and ASan runs check that). */
static void test_pooled_items_stay_plain_data(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = load("describe-images.xml");
        _cleanup_(ec2_image_list_done) ec2_image_list l = {};
        _cleanup_(ec2_tags_done) ec2_tags copy = {};
        ec2_image *i;

        (void) state;
        assert_int_equal(ec2_parse_describe_images(doc, &l, NULL), 0);
        i = &l.items[0];
        assert_int_equal(ec2_tags_copy(&i->tags, &copy), 0);
        assert_false(copy.pooled);
        assert_string_equal(ec2_tags_get(&copy, "amirotd:policy"), "web");

        assert_int_equal(ec2_tags_add(&i->tags, "amirotd:policy", "db"), 0);
        assert_int_equal(ec2_tags_add(&i->tags, "Team", "platform"), 0);
        assert_false(i->tags.pooled);
        assert_false(in_pool(&i->pool, i->tags.items));
        assert_int_equal(i->tags.n, 4);
        assert_string_equal(ec2_tags_get(&i->tags, "amirotd:policy"), "db");
        assert_string_equal(ec2_tags_get(&i->tags, "amirotd:slot"), "20240101T0300");
        assert_string_equal(ec2_tags_get(&i->tags, "Team"), "platform");

        i->name = strdup("renamed");    /* the pool's copy goes with the pool */
        assert_non_null(i->name);

        /* Compacting twice, or an image built by hand, is fine too. */
        assert_int_equal(ec2_image_compact(&l.items[1]), 0);
        {
                _cleanup_(ec2_image_done) ec2_image h = { .id = strdup("ami-1"), .name = strdup("h") };

                assert_int_equal(ec2_tags_add(&h.tags, "k", "v"), 0);
                assert_int_equal(ec2_image_compact(&h), 0);
                assert_true(in_pool(&h.pool, h.id) && in_pool(&h.pool, h.tags.items[0].value));
                assert_false(in_pool(&h.pool, h.tags.items[0].key));     /* shared */
                assert_string_equal(h.name, "h");
                assert_string_equal(ec2_tags_get(&h.tags, "k"), "v");
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tags),
                cmocka_unit_test(test_state_tables),
                cmocka_unit_test(test_describe_instances),
                cmocka_unit_test(test_describe_images),
                cmocka_unit_test(test_state_reason_forms),
                cmocka_unit_test(test_dereg_protection_forms),
                cmocka_unit_test(test_return_state),
                cmocka_unit_test(test_describe_snapshots),
                cmocka_unit_test(test_describe_volumes),
                cmocka_unit_test(test_only_managed_tags_are_kept),
                cmocka_unit_test(test_source_instance_only_on_unmanaged_images),
                cmocka_unit_test(test_create_image_and_return),
                cmocka_unit_test(test_return_values),
                cmocka_unit_test(test_deregister_reports_only_snapshots_ec2_deleted),
                cmocka_unit_test(test_delete_snapshot_without_return_is_success),
                cmocka_unit_test(test_bad_pages_leave_the_list_alone),
                cmocka_unit_test(test_edges),
                cmocka_unit_test(test_many_items),
                cmocka_unit_test(test_parsed_items_are_pooled),
                cmocka_unit_test(test_pooled_items_stay_plain_data),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
