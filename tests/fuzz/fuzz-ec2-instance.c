/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the test instances' answers (aws/ec2.c, aws/ec2-console.c):
 * RunInstances' one instance, DescribeInstanceStatus' pages (twice over the same list,
 * as paging does, and read while parsed, which must answer as the whole document read
 * does), and GetConsoleOutput's base64. Besides crashes, leaks and sanitizer reports,
 * each parser's promises are checked: a refused answer leaves the list as it was, a
 * RunInstances answer holds exactly one instance, every status has an id, and decoded
 * output is NULL or non-empty text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "aws/ec2.h"
#include "aws/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_all(xmlDoc *doc) {
        ec2_instance_list instances = {};
        ec2_instance_status_list statuses = {};
        char *token = NULL, *output = NULL;
        size_t before;
        int r;

        for (int pass = 0; pass < 2; pass++) {
                before = instances.n;
                r = ec2_parse_run_instances(doc, &instances);
                if (instances.n != before + (r >= 0))
                        abort();
                before = statuses.n;
                r = ec2_parse_instance_status(doc, &statuses, &token);
                if ((r < 0 && (statuses.n != before || token)) || (token && !*token))
                        abort();
                token = mfree(token);
        }
        for (size_t k = 0; k < statuses.n; k++)
                if (isempty(statuses.items[k].instance_id))
                        abort();
        r = ec2_parse_console_output(doc, &output);
        if (r >= 0 && output && !*output)
                abort();
        free(output);
        ec2_instance_list_done(&instances);
        ec2_instance_status_list_done(&statuses);
}

static void streamed_equals_whole(const uint8_t *data, size_t size) {
        ec2_instance_status_list whole = {}, streamed = {};
        ec2_page_reader rd;
        xmlDoc *doc = NULL;
        int r_whole, r;

        r = aws_response_parse((const char *) data, size, 200, "fuzz", &doc, NULL);
        r_whole = r < 0 ? r : ec2_parse_instance_status(doc, &whole, NULL);
        xmlFreeDoc(doc);
        doc = NULL;

        ec2_page_reader_instance_status(&rd, &streamed);
        r = aws_response_parse_items((const char *) data, size, 200, "fuzz", &rd.items, &doc, NULL);
        r = r < 0 ? r : ec2_page_reader_end(&rd, doc, NULL);
        if (r < 0)
                (void) ec2_page_reader_end(&rd, NULL, NULL);    /* as the op drops it */
        if (r != r_whole || streamed.n != whole.n)
                abort();
        xmlFreeDoc(doc);
        ec2_instance_status_list_done(&whole);
        ec2_instance_status_list_done(&streamed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        xmlDoc *doc = NULL;
        aws_error err = {};

        if (aws_response_parse((const char *) data, size, 200, "fuzz", &doc, &err) == 0) {
                parse_all(doc);
                xmlFreeDoc(doc);
        }
        aws_error_done(&err);
        streamed_equals_whole(data, size);
        return 0;
}
