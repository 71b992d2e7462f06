/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for everything that reads an AWS answer: aws_response_parse()
 * under a success and a failure status, then every EC2 parser on the document,
 * twice over the same list (as paging does), and each Describe page read while it
 * is parsed (aws_response_parse_items()), which must answer as the whole document
 * read does. Any crash, leak, hang, sanitizer report or abort() is a bug; error
 * returns are the expected outcome for most inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "aws/ec2.h"
#include "aws/ec2-template-calls.h"
#include "aws/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The launch template answers (ec2-template-calls.c): a versions page twice, as paging
 * appends, a new version's number, and the deleted and undeleted sets. */
static void parse_templates(xmlDoc *doc) {
        ec2_template_versions versions = {};
        ec2_template_delete_result deleted = {};
        char *token = NULL;
        unsigned number;

        for (int pass = 0; pass < 2; pass++) {
                (void) ec2_parse_template_versions_page(doc, &versions, &token);
                token = mfree(token);
        }
        (void) ec2_template_versions_default(&versions);
        (void) ec2_template_versions_latest(&versions);
        (void) ec2_parse_create_template_version(doc, &number);
        (void) ec2_parse_delete_template_versions(doc, &deleted);
        ec2_template_versions_done(&versions);
        ec2_template_delete_result_done(&deleted);
}

static void parse_all(xmlDoc *doc) {
        ec2_instance_list instances = {};
        ec2_image_list images = {};
        ec2_snapshot_list snapshots = {};
        ec2_volume_list volumes = {};
        char *token = NULL, *id = NULL;
        bool ok;

        for (int pass = 0; pass < 2; pass++) {
                (void) ec2_parse_describe_instances(doc, &instances, &token);
                token = mfree(token);
                (void) ec2_parse_describe_images(doc, &images, &token);
                token = mfree(token);
                (void) ec2_parse_describe_snapshots(doc, &snapshots, &token);
                token = mfree(token);
                (void) ec2_parse_describe_volumes(doc, &volumes, &token);
                token = mfree(token);
        }
        (void) ec2_parse_create_image(doc, &id);
        free(id);
        (void) ec2_parse_return(doc, &ok);
        parse_templates(doc);
        for (size_t k = 0; k < 2; k++) {
                ec2_permission_list permissions = {};

                if (ec2_parse_permissions(doc, k ? "createVolumePermission" : "launchPermission", &permissions) >= 0)
                        ec2_permission_list_done(&permissions);
        }

        for (size_t i = 0; i < images.n; i++) {
                (void) ec2_image_state_to_string(images.items[i].state);
                (void) ec2_tags_get(&images.items[i].tags, "Name");
        }
        ec2_instance_list_done(&instances);
        ec2_image_list_done(&images);
        ec2_snapshot_list_done(&snapshots);
        ec2_volume_list_done(&volumes);
}

/* The item counts of the whole-document parsers, and their results. */
typedef struct counts {
        int r[3];
        size_t n[3];
} counts;

static counts whole(const uint8_t *data, size_t size) {
        ec2_instance_list instances = {};
        ec2_image_list images = {};
        ec2_snapshot_list snapshots = {};
        xmlDoc *doc = NULL;
        counts c = {};
        int r;

        r = aws_response_parse((const char *) data, size, 200, "fuzz", &doc, NULL);
        c.r[0] = r < 0 ? r : ec2_parse_describe_instances(doc, &instances, NULL);
        c.r[1] = r < 0 ? r : ec2_parse_describe_images(doc, &images, NULL);
        c.r[2] = r < 0 ? r : ec2_parse_describe_snapshots(doc, &snapshots, NULL);
        c.n[0] = instances.n, c.n[1] = images.n, c.n[2] = snapshots.n;
        ec2_instance_list_done(&instances);
        ec2_image_list_done(&images);
        ec2_snapshot_list_done(&snapshots);
        xmlFreeDoc(doc);
        return c;
}

static void streamed_equals_whole(const uint8_t *data, size_t size) {
        ec2_instance_list instances = {};
        ec2_image_list images = {};
        ec2_snapshot_list snapshots = {};
        ec2_page_reader rd[3];
        counts c = whole(data, size);

        ec2_page_reader_instances(&rd[0], &instances);
        ec2_page_reader_images(&rd[1], &images);
        ec2_page_reader_snapshots(&rd[2], &snapshots);
        for (size_t k = 0; k < ELEMENTSOF(rd); k++) {
                xmlDoc *doc = NULL;
                int r;

                r = aws_response_parse_items((const char *) data, size, 200, "fuzz", &rd[k].items, &doc, NULL);
                r = r < 0 ? r : ec2_page_reader_end(&rd[k], doc, NULL);
                if (r < 0)
                        (void) ec2_page_reader_end(&rd[k], NULL, NULL);   /* as the op drops it */
                if (r != c.r[k] || *rd[k].n != c.n[k])
                        abort();
                xmlFreeDoc(doc);
        }
        ec2_instance_list_done(&instances);
        ec2_image_list_done(&images);
        ec2_snapshot_list_done(&snapshots);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const long statuses[] = { 200, 503 };

        for (size_t k = 0; k < ELEMENTSOF(statuses); k++) {
                xmlDoc *doc = NULL;
                aws_error err = {};

                if (aws_response_parse((const char *) data, size, statuses[k], "fuzz", &doc, &err) == 0) {
                        parse_all(doc);
                        xmlFreeDoc(doc);
                }
                aws_error_done(&err);
        }
        streamed_equals_whole(data, size);
        return 0;
}
