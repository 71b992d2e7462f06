/* SPDX-License-Identifier: MIT */
/*
 * Describe pages read while they are parsed (aws_response_parse_items() with an
 * ec2_page_reader): the items come out as the whole-document parsers read them,
 * the document handed back holds none of them, and every failure answers as
 * aws_response_parse() and ec2_parse_describe_*() do: truncated or malformed XML,
 * a DOCTYPE, an error document, an item that cannot be read, a retried body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "aws/ec2.h"
#include "aws/query.h"
#include "base/util.h"
#include "data-helper.h"

/* The images of body, read while parsing (streamed) and from the whole tree (not). */
static int images_of(const char *body, size_t size, bool streamed, ec2_image_list *l, char **ret_token,
                     aws_error *err) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        ec2_page_reader rd;
        int r;

        if (!streamed) {
                r = aws_response_parse(body, size, 200, "rid", &doc, err);
                return r < 0 ? r : ec2_parse_describe_images(doc, l, ret_token);
        }
        ec2_page_reader_images(&rd, l);
        r = aws_response_parse_items(body, size, 200, "rid", &rd.items, &doc, err);
        if (r < 0) {
                /* The client reports this and the op drops the list; the reader still rewinds. */
                assert_int_equal(ec2_page_reader_end(&rd, NULL, NULL), -EBADMSG);
                return r;
        }
        /* What the callback gets: requestId and nextToken, but no item left in the tree. */
        assert_null(xml_child(xml_child(xmlDocGetRootElement(doc), "imagesSet"), "item"));
        return ec2_page_reader_end(&rd, doc, ret_token);
}

static void test_a_page_reads_as_the_whole_tree(void **state) {
        _cleanup_(freep) char *body = NULL, *t1 = NULL, *t2 = NULL;
        _cleanup_(ec2_image_list_done) ec2_image_list whole = {}, streamed = {};
        size_t size;

        (void) state;
        body = read_data("describe-images.xml", &size);
        assert_int_equal(images_of(body, size, false, &whole, &t1, NULL), 0);
        assert_int_equal(images_of(body, size, true, &streamed, &t2, NULL), 0);
        assert_string_equal(t2, "AAEAAaQhQ2EXAMPLEnextpage");
        assert_string_equal(t1, t2);
        assert_int_equal(streamed.n, 3);
        assert_int_equal(whole.n, streamed.n);
        for (size_t k = 0; k < whole.n; k++) {
                const ec2_image *a = &whole.items[k], *b = &streamed.items[k];

                assert_string_equal(a->id, b->id);
                assert_string_equal(a->name ?: "-", b->name ?: "-");
                assert_int_equal(a->state, b->state);
                assert_string_equal(a->state_reason ?: "-", b->state_reason ?: "-");
                assert_int_equal(a->creation_date, b->creation_date);
                assert_int_equal(a->tags.n, b->tags.n);
                assert_int_equal(a->n_devices, b->n_devices);
                for (size_t d = 0; d < a->n_devices; d++)
                        assert_string_equal(a->devices[d].snapshot_id ?: "-", b->devices[d].snapshot_id ?: "-");
        }

        /* A second page appends, as the paging loop needs. */
        assert_int_equal(images_of(body, size, true, &streamed, NULL, NULL), 0);
        assert_int_equal(streamed.n, 6);
        assert_string_equal(streamed.items[3].id, streamed.items[0].id);
}

/* Every refusal gives the same code and message read whole or streamed, and leaves the list be. */
static void test_failures_answer_as_before(void **state) {
        static const char *const files[] = { "truncated.xml", "malformed.xml", "non-utf8.xml", "xxe.xml",
                                             "xml-bomb.xml", "error-request-limit.xml", "service-unavailable.html" };
        _cleanup_(freep) char *good = NULL;
        size_t good_size;

        (void) state;
        good = read_data("describe-images.xml", &good_size);
        for (size_t k = 0; k < ELEMENTSOF(files) + 1; k++) {
                _cleanup_(freep) char *body = NULL;
                _cleanup_(ec2_image_list_done) ec2_image_list a = {}, b = {};
                aws_error ea = {}, eb = {};
                size_t size;
                int ra, rb;

                /* The last: a page cut off after its first item was read. */
                body = k < ELEMENTSOF(files) ? read_data(files[k], &size) : strndup(good, good_size * 2 / 3);
                size = k < ELEMENTSOF(files) ? size : strlen(body);
                assert_int_equal(images_of(good, good_size, true, &b, NULL, NULL), 0);
                assert_int_equal(images_of(good, good_size, false, &a, NULL, NULL), 0);
                ra = images_of(body, size, false, &a, NULL, &ea);
                rb = images_of(body, size, true, &b, NULL, &eb);
                assert_true(ra < 0);
                assert_int_equal(ra, rb);
                assert_string_equal(ea.code ?: "-", eb.code ?: "-");
                assert_string_equal(ea.message ?: "-", eb.message ?: "-");
                assert_string_equal(ea.request_id ?: "-", eb.request_id ?: "-");
                assert_int_equal(a.n, 3);
                assert_int_equal(b.n, 3);
                aws_error_done(&ea);
                aws_error_done(&eb);
        }
}

/* An item that cannot be read fails the page, also when good items stand before and after it. */
static void test_a_malformed_item_fails_the_page(void **state) {
        static const char page[] =
                "<DescribeImagesResponse><requestId>r-1</requestId><imagesSet>"
                "<item><imageId>ami-1</imageId></item>"
                "<item><imageId>ami-2</imageId><creationDate>yesterday</creationDate></item>"
                "<item><imageId>ami-3</imageId></item>"
                "</imagesSet><nextToken>t</nextToken></DescribeImagesResponse>";
        _cleanup_(ec2_image_list_done) ec2_image_list l = {};
        char *token = NULL;

        (void) state;
        assert_int_equal(images_of(page, sizeof(page) - 1, true, &l, &token, NULL), -EBADMSG);
        assert_null(token);
        assert_int_equal(l.n, 0);
        assert_int_equal(images_of(page, sizeof(page) - 1, false, &l, &token, NULL), -EBADMSG);
        assert_int_equal(l.n, 0);
}

/* The client parses another body for the same page after a retry: the first one's items go. */
static void test_a_retried_body_starts_the_page_over(void **state) {
        static const char page[] =
                "<DescribeSnapshotsResponse><snapshotSet>"
                "<item><snapshotId>snap-1</snapshotId></item><item><snapshotId>snap-2</snapshotId></item>"
                "</snapshotSet></DescribeSnapshotsResponse>";
        _cleanup_(ec2_snapshot_list_done) ec2_snapshot_list l = {};
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        ec2_page_reader rd;
        aws_error err = {};

        (void) state;
        assert_int_equal(ec2_parse_describe_snapshots(NULL, &l, NULL), -EBADMSG);
        ec2_page_reader_snapshots(&rd, &l);
        /* Cut off after the first item: read, then failed (the client retries). */
        assert_int_equal(aws_response_parse_items(page, 90, 200, NULL, &rd.items, NULL, &err), -EBADMSG);
        assert_int_equal(l.n, 1);
        aws_error_done(&err);
        assert_int_equal(aws_response_parse_items(page, sizeof(page) - 1, 200, NULL, &rd.items, &doc, NULL), 0);
        assert_int_equal(ec2_page_reader_end(&rd, doc, NULL), 0);
        assert_int_equal(l.n, 2);
        assert_string_equal(l.items[0].id, "snap-1");
        assert_string_equal(l.items[1].id, "snap-2");
}

/* Instances stand two lists deep; the reservations around them stay, emptied. */
static void test_instances_stream_from_reservations(void **state) {
        static const char page[] =
                "<DescribeInstancesResponse><reservationSet>"
                "<item><reservationId>r-1</reservationId><instancesSet>"
                "<item><instanceId>i-1</instanceId></item><item><instanceId>i-2</instanceId></item>"
                "</instancesSet></item>"
                "<item><reservationId>r-2</reservationId><instancesSet>"
                "<item><instanceId>i-3</instanceId></item></instancesSet></item>"
                "</reservationSet><nextToken>n</nextToken></DescribeInstancesResponse>";
        _cleanup_(ec2_instance_list_done) ec2_instance_list l = {};
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(freep) char *token = NULL;
        ec2_page_reader rd;

        (void) state;
        ec2_page_reader_instances(&rd, &l);
        assert_int_equal(aws_response_parse_items(page, sizeof(page) - 1, 200, NULL, &rd.items, &doc, NULL), 0);
        assert_int_equal(ec2_page_reader_end(&rd, doc, &token), 0);
        assert_string_equal(token, "n");
        assert_int_equal(l.n, 3);
        assert_string_equal(l.items[0].id, "i-1");
        assert_string_equal(l.items[1].id, "i-2");
        assert_string_equal(l.items[2].id, "i-3");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_page_reads_as_the_whole_tree),
                cmocka_unit_test(test_failures_answer_as_before),
                cmocka_unit_test(test_a_malformed_item_fails_the_page),
                cmocka_unit_test(test_a_retried_body_starts_the_page_over),
                cmocka_unit_test(test_instances_stream_from_reservations),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
