/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for everything that reads an AWS answer: aws_response_parse()
 * under a success and a failure status, then every EC2 parser on the document,
 * twice over the same list (as paging does). Any crash, leak, hang or sanitizer
 * report is a bug; error returns are the expected outcome for most inputs.
 */
#include <stddef.h>
#include <stdint.h>

#include "aws/ec2.h"
#include "aws/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_all(xmlDoc *doc) {
        ec2_instance_list instances = {};
        ec2_image_list images = {};
        ec2_snapshot_list snapshots = {};
        char *token = NULL, *id = NULL;
        bool ok;

        for (int pass = 0; pass < 2; pass++) {
                (void) ec2_parse_describe_instances(doc, &instances, &token);
                token = mfree(token);
                (void) ec2_parse_describe_images(doc, &images, &token);
                token = mfree(token);
                (void) ec2_parse_describe_snapshots(doc, &snapshots, &token);
                token = mfree(token);
        }
        (void) ec2_parse_create_image(doc, &id);
        free(id);
        (void) ec2_parse_return(doc, &ok);

        for (size_t i = 0; i < images.n; i++) {
                (void) ec2_image_state_to_string(images.items[i].state);
                (void) ec2_tags_get(&images.items[i].tags, "Name");
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
        return 0;
}
