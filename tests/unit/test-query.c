/* SPDX-License-Identifier: MIT */
/*
 * The Query protocol: what goes on the wire for parameters, lists, filters and
 * awkward characters, and how every kind of answer is read: success and error
 * documents (EC2, STS, with HTTP 200 too), unreadable bodies, and hostile input
 * (malformed, truncated, non-UTF-8, entity bombs, huge, deeply nested). Data
 * files are under tests/data/ec2/ (see its README); run from the repo root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>

#include "aws/query.h"
#include "base/util.h"
#include "data-helper.h"

static char *encode(const aws_query *q) {
        char *body = NULL;

        assert_int_equal(aws_query_encode(q, "2016-11-15", &body), 0);
        assert_non_null(body);
        return body;
}

/* ---- Requests --------------------------------------------------------------------------- */

static void test_action_and_version_come_first(void **state) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        _cleanup_(freep) char *body = NULL;

        (void) state;
        assert_int_equal(aws_query_new("DescribeImages", &q), 0);
        assert_string_equal(aws_query_action(q), "DescribeImages");
        body = encode(q);
        assert_string_equal(body, "Action=DescribeImages&Version=2016-11-15");
        body = mfree(body);

        assert_int_equal(aws_query_add(q, "Owner.1", "self"), 0);
        assert_int_equal(aws_query_add(q, "MaxResults", "1000"), 0);
        assert_int_equal(aws_query_add(q, "DryRun", "false"), 0);
        body = encode(q);
        assert_string_equal(body, "Action=DescribeImages&Version=2016-11-15&Owner.1=self&MaxResults=1000&DryRun=false");
}

static void test_special_characters_are_encoded(void **state) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        _cleanup_(freep) char *body = NULL;

        (void) state;
        assert_int_equal(aws_query_new("CreateImage", &q), 0);
        assert_int_equal(aws_query_add(q, "Description", "a b+c*d~e/f=g&h%i"), 0);
        assert_int_equal(aws_query_add(q, "Name", "Grüße-世界"), 0);
        assert_int_equal(aws_query_add(q, "TagSpecification.1.Tag.1.Key", "amirotd:policy"), 0);
        assert_int_equal(aws_query_add(q, "Empty", ""), 0);
        assert_int_equal(aws_query_add(q, "Odd Name&", "x"), 0);
        body = encode(q);
        assert_string_equal(body,
                            "Action=CreateImage&Version=2016-11-15"
                            "&Description=a%20b%2Bc%2Ad~e%2Ff%3Dg%26h%25i"
                            "&Name=Gr%C3%BC%C3%9Fe-%E4%B8%96%E7%95%8C"
                            "&TagSpecification.1.Tag.1.Key=amirotd%3Apolicy"
                            "&Empty="
                            "&Odd%20Name%26=x");
}

static void test_lists_and_filters(void **state) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        _cleanup_(freep) char *body = NULL;
        char *ids[] = { "ami-1", "ami-2", "ami-3", NULL };
        char *roles[] = { "web", "api server", NULL };
        char *states[] = { "running", NULL };
        char *none[] = { NULL };

        (void) state;
        assert_int_equal(aws_query_new("DescribeImages", &q), 0);
        assert_int_equal(aws_query_add_list(q, "ImageId", ids), 0);
        assert_int_equal(aws_query_add_list(q, "Owner", none), 0);
        assert_int_equal(aws_query_add_list(q, "Owner", NULL), 0);
        assert_int_equal(aws_query_add_filter(q, "tag:Role", roles), 0);
        assert_int_equal(aws_query_add_filter(q, "instance-state-name", states), 0);
        assert_int_equal(aws_query_add_filter1(q, "tag-key", "amirotd:policy"), 0);
        body = encode(q);
        assert_string_equal(body,
                            "Action=DescribeImages&Version=2016-11-15"
                            "&ImageId.1=ami-1&ImageId.2=ami-2&ImageId.3=ami-3"
                            "&Filter.1.Name=tag%3ARole&Filter.1.Value.1=web&Filter.1.Value.2=api%20server"
                            "&Filter.2.Name=instance-state-name&Filter.2.Value.1=running"
                            "&Filter.3.Name=tag-key&Filter.3.Value.1=amirotd%3Apolicy");

        /* A filter needs a name and at least one value; a refused one takes no number. */
        assert_int_equal(aws_query_add_filter(q, "state", none), -EINVAL);
        assert_int_equal(aws_query_add_filter(q, "state", NULL), -EINVAL);
        assert_int_equal(aws_query_add_filter(q, "", states), -EINVAL);
        assert_int_equal(aws_query_add_filter1(q, "state", NULL), -EINVAL);
        assert_int_equal(aws_query_add_filter1(q, "state", "available"), 0);
        assert_string_equal(aws_query_get(q, "Filter.4.Name"), "state");
        assert_string_equal(aws_query_get(q, "Filter.4.Value.1"), "available");
}

static void test_set_replaces_in_place(void **state) {
        _cleanup_(aws_query_freep) aws_query *q = NULL, *copy = NULL;
        _cleanup_(freep) char *body = NULL, *body_copy = NULL;

        (void) state;
        assert_int_equal(aws_query_new("DescribeInstances", &q), 0);
        assert_int_equal(aws_query_add(q, "MaxResults", "1000"), 0);
        assert_null(aws_query_get(q, "NextToken"));
        assert_int_equal(aws_query_set(q, "NextToken", "page2"), 0);
        assert_int_equal(aws_query_add(q, "DryRun", "false"), 0);
        assert_string_equal(aws_query_get(q, "NextToken"), "page2");

        /* Replacing keeps the position; nothing is duplicated. */
        assert_int_equal(aws_query_set(q, "NextToken", "page3+/="), 0);
        body = encode(q);
        assert_string_equal(body, "Action=DescribeInstances&Version=2016-11-15&MaxResults=1000"
                                  "&NextToken=page3%2B%2F%3D&DryRun=false");
        body = mfree(body);

        /* A copy is independent of its original. */
        assert_int_equal(aws_query_copy(q, &copy), 0);
        assert_int_equal(aws_query_set(copy, "NextToken", "page4"), 0);
        assert_string_equal(aws_query_get(q, "NextToken"), "page3+/=");

        /* NULL removes; removing what is absent is fine. */
        assert_int_equal(aws_query_set(q, "NextToken", NULL), 0);
        assert_int_equal(aws_query_set(q, "NextToken", NULL), 0);
        assert_null(aws_query_get(q, "NextToken"));
        body = encode(q);
        assert_string_equal(body, "Action=DescribeInstances&Version=2016-11-15&MaxResults=1000&DryRun=false");

        body_copy = encode(copy);
        assert_string_equal(body_copy, "Action=DescribeInstances&Version=2016-11-15&MaxResults=1000"
                                       "&NextToken=page4&DryRun=false");
}

static void test_invalid_arguments(void **state) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        aws_query *none = NULL;
        char *body = NULL;

        (void) state;
        assert_int_equal(aws_query_new("", &none), -EINVAL);
        assert_int_equal(aws_query_new(NULL, &none), -EINVAL);
        assert_null(none);
        assert_null(aws_query_free(NULL));

        assert_int_equal(aws_query_new("DeleteSnapshot", &q), 0);
        assert_int_equal(aws_query_add(q, "Action", "DeleteVolume"), -EINVAL);
        assert_int_equal(aws_query_add(q, "Version", "2010-01-01"), -EINVAL);
        assert_int_equal(aws_query_set(q, "Action", "x"), -EINVAL);
        assert_int_equal(aws_query_add(q, "", "x"), -EINVAL);
        assert_int_equal(aws_query_add(q, "SnapshotId", NULL), -EINVAL);
        assert_int_equal(aws_query_encode(q, NULL, &body), -EINVAL);
        assert_int_equal(aws_query_encode(q, "", &body), -EINVAL);
        assert_null(body);
        assert_int_equal(aws_query_addf(q, "snap-1", "%s", "SnapshotId"), 0);
        assert_string_equal(aws_query_get(q, "SnapshotId"), "snap-1");
        assert_null(aws_query_get(q, "Action"));
}

/* ---- Answers ---------------------------------------------------------------------------- */

static int parse_file(const char *name, long status, const char *header_rid, xmlDoc **ret_doc, aws_error *err) {
        _cleanup_(freep) char *body = NULL;
        size_t size;

        body = read_data(name, &size);
        return aws_response_parse(body, size, status, header_rid, ret_doc, err);
}

static void test_success_documents(void **state) {
        static const struct {
                const char *file, *root;
        } cases[] = {
                { "describe-instances.xml", "DescribeInstancesResponse" },
                { "describe-images.xml", "DescribeImagesResponse" },
                { "describe-snapshots.xml", "DescribeSnapshotsResponse" },
                { "create-image.xml", "CreateImageResponse" },
                { "deregister-image.xml", "DeregisterImageResponse" },
                { "deregister-image-snapshots.xml", "DeregisterImageResponse" },
                { "delete-snapshot.xml", "DeleteSnapshotResponse" },
                { "create-tags.xml", "CreateTagsResponse" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
                aws_error err = {};

                assert_int_equal(parse_file(cases[i].file, 200, NULL, &doc, &err), 0);
                assert_non_null(doc);
                assert_string_equal((const char *) xmlDocGetRootElement(doc)->name, cases[i].root);
                assert_null(err.code);
                assert_null(err.message);
                aws_error_done(&err);
        }
}

static void assert_remote_error(const char *file, long status, const char *header_rid, const char *code,
                                const char *message_start, const char *request_id) {
        xmlDoc *doc = NULL;
        aws_error err = {};

        assert_int_equal(parse_file(file, status, header_rid, &doc, &err), -EREMOTEIO);
        assert_null(doc);
        assert_int_equal(err.status, status);
        assert_string_equal(err.code, code);
        assert_non_null(err.message);
        if (!startswith(err.message, message_start))
                fail_msg("%s: message '%s' does not start with '%s'", file, err.message, message_start);
        if (request_id)
                assert_string_equal(err.request_id, request_id);
        else
                assert_null(err.request_id);
        aws_error_done(&err);
}

static void test_error_documents(void **state) {
        (void) state;
        assert_remote_error("error-duplicate-name.xml", 400, "header-id", "InvalidAMIName.Duplicate",
                            "AMI name web-i-1234567890abcdef0-20240101T0300 is already in use",
                            "ea966190-f9aa-478e-9ede-example");
        /* An error document is an error also when HTTP says 200. */
        assert_remote_error("error-duplicate-name.xml", 200, NULL, "InvalidAMIName.Duplicate",
                            "AMI name", "ea966190-f9aa-478e-9ede-example");
        assert_remote_error("error-request-limit.xml", 503, NULL, "RequestLimitExceeded",
                            "Request limit exceeded.", "5d0b7a1c-0c3e-4d5a-9a3e-throttled01");
        assert_remote_error("error-dry-run.xml", 412, NULL, "DryRunOperation",
                            "Request would have succeeded", "0f0a2a4e-2f4c-4d6c-9b1e-dryrun000001");
        assert_remote_error("error-sts.xml", 403, NULL, "AccessDenied",
                            "User: arn:aws:iam::123456789012:user/amirotd is not authorized",
                            "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
        assert_remote_error("error-sts.xml", 200, NULL, "AccessDenied", "User:",
                            "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
}

static void test_unreadable_failed_answers(void **state) {
        aws_error err = {};
        xmlDoc *doc = NULL;

        (void) state;
        /* A proxy's HTML page: the status decides, the header's request id is kept. */
        assert_remote_error("service-unavailable.html", 503, "rid-503", "Unavailable", "HTTP 503", "rid-503");
        assert_remote_error("truncated.xml", 500, NULL, "InternalError", "HTTP 500", NULL);
        assert_remote_error("xml-bomb.xml", 502, NULL, "HTTP502", "HTTP 502", NULL);
        /* A well-formed document that is not an error document, with a failure status. */
        assert_remote_error("create-image.xml", 404, NULL, "HTTP404", "HTTP 404", NULL);

        assert_int_equal(aws_response_parse("", 0, 500, "rid-empty", &doc, &err), -EREMOTEIO);
        assert_string_equal(err.code, "InternalError");
        assert_string_equal(err.request_id, "rid-empty");
        assert_int_equal(aws_response_parse(NULL, 0, 403, NULL, &doc, &err), -EREMOTEIO);
        assert_string_equal(err.code, "HTTP403");
        assert_int_equal(err.status, 403);
        /* An error document without a code is as good as none. */
        assert_int_equal(aws_response_parse("<Response><Errors><Error><Message>x</Message></Error></Errors></Response>",
                                            72, 400, NULL, &doc, &err), -EREMOTEIO);
        assert_string_equal(err.code, "HTTP400");
        assert_null(doc);
        aws_error_done(&err);
}

static void assert_bad_message(const char *body, size_t size, const char *message_part) {
        aws_error err = {};
        xmlDoc *doc = NULL;

        assert_int_equal(aws_response_parse(body, size, 200, "rid", &doc, &err), -EBADMSG);
        assert_null(doc);
        assert_null(err.code);
        assert_non_null(err.message);
        if (message_part && !strstr(err.message, message_part))
                fail_msg("message '%s' does not mention '%s'", err.message, message_part);
        assert_string_equal(err.request_id, "rid");
        aws_error_done(&err);
}

static void assert_bad_file(const char *file, const char *message_part) {
        _cleanup_(freep) char *body = NULL;
        size_t size;

        body = read_data(file, &size);
        assert_bad_message(body, size, message_part);
}

static void test_bad_documents(void **state) {
        (void) state;
        assert_bad_file("malformed.xml", "line 7");
        assert_bad_file("truncated.xml", "malformed XML");
        assert_bad_file("non-utf8.xml", "not UTF-8");
        assert_bad_file("service-unavailable.html", "malformed XML");
        assert_bad_message("", 0, "empty");
        assert_bad_message("   ", 3, NULL);
        assert_bad_message("just text", 9, NULL);
        assert_bad_message("<a>", 3, NULL);
        assert_bad_message("<a></a><b></b>", 14, NULL);
        assert_bad_message("<a>&#0;</a>", 11, NULL);
        assert_bad_message("<a>&undefined;</a>", 18, NULL);
        /* A NUL inside the body ends no string early: the size counts. */
        assert_bad_message("<a>x\0y</a>", 10, NULL);
        /* An error document with HTTP 200 but no code: neither success nor a usable error. */
        assert_bad_message("<ErrorResponse><Error><Message>m</Message></Error></ErrorResponse>", 66, "without an error code");
}

static void test_utf8_is_checked_strictly(void **state) {
        static const char *bad[] = {
                "<a>\xC0\xAF</a>",              /* overlong '/' */
                "<a>\xE0\x80\xAF</a>",          /* overlong, 3 bytes */
                "<a>\xED\xA0\x80</a>",          /* UTF-16 surrogate */
                "<a>\xF4\x90\x80\x80</a>",      /* above U+10FFFF */
                "<a>\xC3</a>",                  /* cut sequence */
                "<a>\xFF</a>",
                "<a>\xE4\xB8</a>",
        };
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        const char *good = "\xEF\xBB\xBF<a>\xF0\x9F\x98\x80 \xE4\xB8\x96 \xC3\xA9</a>";  /* BOM, emoji, CJK, é */

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_bad_message(bad[i], strlen(bad[i]), "not UTF-8");
        assert_int_equal(aws_response_parse(good, strlen(good), 200, NULL, &doc, NULL), 0);
        assert_string_equal((const char *) xmlDocGetRootElement(doc)->name, "a");
}

/* The body is UTF-8 (checked above) whatever its XML declaration says. */
static void test_declared_encoding_is_ignored(void **state) {
        static const char *body = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xC3\xA9</a>";
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(freep) xmlChar *text = NULL;

        (void) state;
        assert_int_equal(aws_response_parse(body, strlen(body), 200, NULL, &doc, NULL), 0);
        text = xmlNodeGetContent(xmlDocGetRootElement(doc));
        assert_string_equal((const char *) text, "\xC3\xA9");
}

static void test_entities_are_never_expanded(void **state) {
        usec_t start = now_usec(CLOCK_MONOTONIC);

        (void) state;
        assert_bad_file("xml-bomb.xml", "document type declarations are not accepted");
        assert_bad_file("xxe.xml", "document type declarations are not accepted");
        assert_bad_message("<!DOCTYPE a SYSTEM \"http://127.0.0.1:1/x.dtd\"><a/>", 48, "document type");
        /* Refused at the DOCTYPE, before any expansion: no time to speak of. */
        assert_true(now_usec(CLOCK_MONOTONIC) - start < 5 * USEC_PER_SEC);
}

static void test_deep_nesting_is_refused(void **state) {
        strbuf b = {};
        const size_t depth = 100000;

        (void) state;
        for (size_t i = 0; i < depth; i++)
                assert_int_equal(strbuf_puts(&b, "<a>"), 0);
        for (size_t i = 0; i < depth; i++)
                assert_int_equal(strbuf_puts(&b, "</a>"), 0);
        assert_bad_message(b.data, b.len, "depth");
        strbuf_done(&b);
}

/* A DescribeImages answer of at least `size` bytes, n images. */
static char *big_describe_images(size_t size, size_t *ret_len, size_t *ret_n) {
        strbuf b = {};
        size_t n = 0;

        assert_int_equal(strbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                         "<DescribeImagesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
                                         "<requestId>big</requestId><imagesSet>"), 0);
        while (b.len < size) {
                assert_int_equal(strbuf_printf(&b,
                                               "<item><imageId>ami-%017zx</imageId><imageState>available</imageState>"
                                               "<imageOwnerId>123456789012</imageOwnerId>"
                                               "<creationDate>2024-01-01T03:00:00.000Z</creationDate>"
                                               "<name>web-i-%017zx-slot</name>"
                                               "<blockDeviceMapping><item><deviceName>/dev/xvda</deviceName>"
                                               "<ebs><snapshotId>snap-%017zx</snapshotId></ebs></item></blockDeviceMapping>"
                                               "<tagSet><item><key>amirotd:policy</key><value>web</value></item></tagSet>"
                                               "</item>", n, n, n), 0);
                n++;
        }
        assert_int_equal(strbuf_puts(&b, "</imagesSet></DescribeImagesResponse>"), 0);
        *ret_len = b.len;
        *ret_n = n;
        return strbuf_steal(&b);
}

static void test_large_documents(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(freep) char *body = NULL, *huge = NULL;
        aws_error err = {};
        size_t len, n, count = 0;
        xmlNode *set;

        (void) state;
        body = big_describe_images(10 * 1000 * 1000, &len, &n);
        assert_int_equal(aws_response_parse(body, len, 200, NULL, &doc, &err), 0);
        set = xml_child(xmlDocGetRootElement(doc), "imagesSet");
        for (xmlNode *i = xml_child(set, "item"); i; i = xml_next(i, "item"))
                count++;
        assert_int_equal(count, n);

        /* Past 16 MiB we refuse without parsing. */
        huge = malloc(16 * 1024 * 1024 + 1);
        assert_non_null(huge);
        memset(huge, ' ', 16 * 1024 * 1024 + 1);
        assert_int_equal(aws_response_parse(huge, 16 * 1024 * 1024 + 1, 200, NULL, NULL, &err), -EFBIG);
        assert_non_null(strstr(err.message, "exceeds"));
        aws_error_done(&err);
}

static void test_parse_prints_nothing(void **state) {
        _cleanup_(freep) char *body = NULL;
        char buf[64];
        size_t size;
        int saved, fd[2];
        ssize_t n;

        (void) state;
        body = read_data("malformed.xml", &size);
        assert_int_equal(pipe2(fd, O_CLOEXEC | O_NONBLOCK), 0);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_true(dup2(fd[1], STDERR_FILENO) >= 0);
        assert_int_equal(aws_response_parse(body, size, 200, NULL, NULL, NULL), -EBADMSG);
        assert_int_equal(aws_response_parse("<a><b></a>", 10, 200, NULL, NULL, NULL), -EBADMSG);
        assert_int_equal(aws_response_parse("<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>", 40, 200, NULL, NULL, NULL), -EBADMSG);
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        close(fd[1]);
        n = read(fd[0], buf, sizeof(buf));
        close(fd[0]);
        if (n > 0)
                fail_msg("libxml2 wrote to stderr: '%.*s'", (int) n, buf);
}

/* ---- XML helpers ------------------------------------------------------------------------ */

static void test_xml_helpers(void **state) {
        static const char xml[] =
                "<r xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\" xmlns:x=\"urn:other\">"
                "<!-- comment --><item><k>1</k></item>text<x:item><k>2</k></x:item>"
                "<other/><item><k>a &amp; b</k><deep><er>z</er></deep><empty/></item></r>";
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(freep) char *s = NULL;
        xmlNode *root, *i1, *i2, *i3;

        (void) state;
        assert_int_equal(aws_response_parse(xml, sizeof(xml) - 1, 200, NULL, &doc, NULL), 0);
        root = xmlDocGetRootElement(doc);
        i1 = xml_child(root, "item");
        assert_non_null(i1);
        i2 = xml_next(i1, "item");
        assert_non_null(i2);            /* x:item: namespaces do not matter */
        i3 = xml_next(i2, "item");
        assert_non_null(i3);
        assert_null(xml_next(i3, "item"));
        assert_null(xml_child(root, "missing"));
        assert_null(xml_child(NULL, "item"));
        assert_null(xml_next(NULL, "item"));

        assert_int_equal(xml_child_text(i2, "k", &s), 0);
        assert_string_equal(s, "2");
        s = mfree(s);
        assert_int_equal(xml_child_text(i3, "k", &s), 0);
        assert_string_equal(s, "a & b");
        s = mfree(s);
        assert_int_equal(xml_child_text(i3, "deep/er", &s), 0);
        assert_string_equal(s, "z");
        s = mfree(s);
        assert_int_equal(xml_child_text(i3, "empty", &s), 0);
        assert_string_equal(s, "");
        s = mfree(s);
        assert_int_equal(xml_child_text(i3, "deep/missing", &s), -ENOENT);
        assert_int_equal(xml_child_text(i3, "deep//er", &s), -ENOENT);
        assert_int_equal(xml_child_text(i3, "", &s), -ENOENT);
        assert_null(s);
        s = xml_child_text_or_null(i1, "k");
        assert_string_equal(s, "1");
        assert_null(xml_child_text_or_null(i1, "nope"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_action_and_version_come_first),
                cmocka_unit_test(test_special_characters_are_encoded),
                cmocka_unit_test(test_lists_and_filters),
                cmocka_unit_test(test_set_replaces_in_place),
                cmocka_unit_test(test_invalid_arguments),
                cmocka_unit_test(test_success_documents),
                cmocka_unit_test(test_error_documents),
                cmocka_unit_test(test_unreadable_failed_answers),
                cmocka_unit_test(test_bad_documents),
                cmocka_unit_test(test_utf8_is_checked_strictly),
                cmocka_unit_test(test_declared_encoding_is_ignored),
                cmocka_unit_test(test_entities_are_never_expanded),
                cmocka_unit_test(test_deep_nesting_is_refused),
                cmocka_unit_test(test_large_documents),
                cmocka_unit_test(test_parse_prints_nothing),
                cmocka_unit_test(test_xml_helpers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
