/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for what amirotd reads back from EC2's tags: the input is up
 * to three answers separated by a form feed (\f), DescribeInstances,
 * DescribeImages and DescribeSnapshots, parsed as the engine parses them (tags
 * included), then planned for a policy as a run would: the planner decodes
 * amirotd's own tags (amirotd:policy, amirotd:instance-id, amirotd:slot), the
 * Name tag into image names, and copies instance tags. Beyond "no crash, no
 * leak", the safety rules must hold whatever the tags say: only images and
 * snapshots tagged with this policy are retired or deleted, new images are for
 * instances EC2 listed, with a valid name and no aws: tag copied.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/ec2.h"
#include "aws/query.h"
#include "config/config.h"
#include "run/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_yaml[] =
        "name: web\n"
        "targets: {tags: {Role: web, Tier: \"*\"}, exclude_tags: {skip: \"yes\"}}\n"
        "schedule: {every: 1d, at: \"03:00\"}\n"
        "image: {name: \"{policy}-{region}-{instance_id}-{slot}\", copy_instance_tags: true,\n"
        "        description: \"{instance_name} at {slot}\"}\n"
        "retain: {count: 2, max_age: 7d}\n";

static config *policy_config(void) {
        static config *c;
        const char *texts[] = { policy_yaml };
        size_t sizes[] = { sizeof(policy_yaml) - 1 };
        config_diagnostics d = {};

        if (!c) {
                assert(config_load_from_memory(NULL, 0, texts, sizes, 1, &c, &d) == 0);
                config_diagnostics_done(&d);
        }
        return c;
}

static xmlDoc *parse_doc(const uint8_t *data, size_t size) {
        xmlDoc *doc = NULL;
        aws_error err = {};

        (void) aws_response_parse((const char *) data, size, 200, NULL, &doc, &err);
        aws_error_done(&err);
        return doc;
}

static bool tagged_by(const ec2_tags *t, const char *policy) {
        const char *v = ec2_tags_get(t, TAG_POLICY);

        return v && streq(v, policy);
}

static void check_plan(const plan_input *in, const plan *p) {
        const char *name = in->policy->name;

        for (size_t i = 0; i < p->n; i++) {
                const plan_action *a = &p->actions[i];
                bool found = false;

                switch (a->kind) {
                case PLAN_RETIRE:
                        for (size_t k = 0; k < in->n_images && !found; k++)
                                found = streq_ptr(in->images[k].id, a->image_id) &&
                                        tagged_by(&in->images[k].tags, name);
                        assert(found);          /* rule 2: only what this policy made */
                        break;
                case PLAN_DELETE_SNAPSHOT:
                        assert(a->snapshot_ids && a->snapshot_ids[0]);
                        for (size_t k = 0; k < in->n_snapshots && !found; k++)
                                found = streq_ptr(in->snapshots[k].id, a->snapshot_ids[0]) &&
                                        tagged_by(&in->snapshots[k].tags, name);
                        assert(found);
                        break;
                case PLAN_CREATE:
                        for (size_t k = 0; k < in->n_instances && !found; k++)
                                found = streq_ptr(in->instances[k].id, a->instance_id);
                        assert(found);
                        assert(a->image_name && strlen(a->image_name) >= 3 && strlen(a->image_name) <= 128);
                        for (size_t k = 0; k < a->image_tags.n; k++)
                                assert(strncasecmp(a->image_tags.items[k].key, "aws:", 4) != 0);
                        assert(streq_ptr(ec2_tags_get(&a->image_tags, TAG_POLICY), name));
                        break;
                default:
                        assert(!"unknown action");
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ec2_instance_list instances = {};
        ec2_image_list images = {};
        ec2_snapshot_list snapshots = {};
        const uint8_t *part[3] = {};
        size_t part_size[3] = {}, at = 0;
        config *c = policy_config();
        plan p = {};
        int r;

        for (size_t k = 0; k < 3 && at <= size; k++) {
                const uint8_t *ff = at < size ? memchr(data + at, '\f', size - at) : NULL;

                part[k] = data + at;
                part_size[k] = ff ? (size_t) (ff - (data + at)) : size - at;
                at += part_size[k] + 1;
        }
        for (size_t k = 0; k < 3; k++) {
                xmlDoc *doc = part[k] ? parse_doc(part[k], part_size[k]) : NULL;
                char *token = NULL;

                if (!doc)
                        continue;
                if (k == 0)
                        (void) ec2_parse_describe_instances(doc, &instances, &token);
                else if (k == 1)
                        (void) ec2_parse_describe_images(doc, &images, &token);
                else
                        (void) ec2_parse_describe_snapshots(doc, &snapshots, &token);
                free(token);
                xmlFreeDoc(doc);
        }

        plan_input in = {
                .policy = &c->policies[0],
                .region = "us-east-1",
                .now = 1796040000,              /* 2026-11-30 12:00:00 UTC */
                .instances = instances.items,
                .n_instances = instances.n,
                .images = images.items,
                .n_images = images.n,
                .snapshots = snapshots.items,
                .n_snapshots = snapshots.n,
        };
        r = plan_build(&in, &p);
        assert(r == 0 || r == -ENOMEM || r == -EINVAL);
        if (r == 0) {
                check_plan(&in, &p);
                plan_done(&p);
        }
        ec2_instance_list_done(&instances);
        ec2_image_list_done(&images);
        ec2_snapshot_list_done(&snapshots);
        return 0;
}
