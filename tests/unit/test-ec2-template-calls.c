/* SPDX-License-Identifier: MIT */
/*
 * aws/ec2-template-calls.c's parsers: pages of one template's versions (with and
 * without image or description), a page of every template's $Default and $Latest (each
 * version with its template's id and name, $Default told from $Latest), a new
 * version's number, and DeleteLaunchTemplateVersions' two sets, a partial failure
 * read version by version; malformed answers refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>

#include "aws/ec2-template-calls.h"
#include "aws/query.h"

#define NS "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\""

static xmlDoc *parse(const char *xml) {
        xmlDoc *doc = NULL;

        assert_int_equal(aws_response_parse(xml, strlen(xml), 200, NULL, &doc, NULL), 0);
        return doc;
}

static void test_versions_pages(void **state) {
        static const char page1[] =
                "<DescribeLaunchTemplateVersionsResponse " NS "><requestId>r-1</requestId>"
                "<launchTemplateVersionSet>"
                "<item><launchTemplateId>lt-0123456789abcdef0</launchTemplateId>"
                "<launchTemplateName>web-golden</launchTemplateName><versionNumber>1</versionNumber>"
                "<versionDescription>by hand</versionDescription><defaultVersion>false</defaultVersion>"
                "<launchTemplateData><instanceType>t3.small</instanceType></launchTemplateData></item>"
                "<item><launchTemplateId>lt-0123456789abcdef0</launchTemplateId><versionNumber>2</versionNumber>"
                "<versionDescription>amirotd web ami-0bbbbbbbbbbbbbbb2</versionDescription>"
                "<defaultVersion>true</defaultVersion>"
                "<launchTemplateData><imageId>ami-0bbbbbbbbbbbbbbb2</imageId></launchTemplateData></item>"
                "</launchTemplateVersionSet><nextToken>next</nextToken>"
                "</DescribeLaunchTemplateVersionsResponse>";
        static const char page2[] =
                "<DescribeLaunchTemplateVersionsResponse " NS "><requestId>r-2</requestId>"
                "<launchTemplateVersionSet>"
                "<item><launchTemplateId>lt-0123456789abcdef0</launchTemplateId><versionNumber>7</versionNumber>"
                "<defaultVersion>false</defaultVersion>"
                "<launchTemplateData><imageId>ami-0ccccccccccccccc3</imageId></launchTemplateData></item>"
                "</launchTemplateVersionSet><nextToken></nextToken>"
                "</DescribeLaunchTemplateVersionsResponse>";
        _cleanup_(xmlFreeDocp) xmlDoc *d1 = parse(page1), *d2 = parse(page2);
        _cleanup_(ec2_template_versions_done) ec2_template_versions v = {};
        _cleanup_(freep) char *token = NULL;

        (void) state;
        assert_int_equal(ec2_parse_template_versions_page(d1, &v, &token), 0);
        assert_string_equal(token, "next");
        token = mfree(token);
        assert_int_equal(ec2_parse_template_versions_page(d2, &v, &token), 0);
        assert_null(token);
        assert_int_equal(v.n, 3);
        assert_string_equal(v.items[0].template_id, "lt-0123456789abcdef0");
        assert_string_equal(v.items[0].template_name, "web-golden");
        assert_string_equal(v.items[2].template_id, "lt-0123456789abcdef0");
        assert_null(v.items[2].template_name);
        assert_null(v.items[0].image_id);
        assert_string_equal(v.items[0].description, "by hand");
        assert_string_equal(v.items[1].description, "amirotd web ami-0bbbbbbbbbbbbbbb2");
        assert_null(v.items[2].description);
        assert_int_equal(ec2_template_versions_default(&v)->number, 2);
        assert_int_equal(ec2_template_versions_latest(&v)->number, 7);
        assert_string_equal(ec2_template_versions_latest(&v)->image_id, "ami-0ccccccccccccccc3");
}

/* protect's read: versions of several templates; one without an image is kept, as such. */
static void test_versions_account_wide(void **state) {
        static const char xml[] =
                "<DescribeLaunchTemplateVersionsResponse " NS "><requestId>r-1</requestId>"
                "<launchTemplateVersionSet>"
                "<item><launchTemplateId>lt-1</launchTemplateId><launchTemplateName>web</launchTemplateName>"
                "<versionNumber>3</versionNumber><defaultVersion>true</defaultVersion>"
                "<versionDescription>amirotd web ami-1</versionDescription>"
                "<launchTemplateData><imageId>ami-1</imageId></launchTemplateData></item>"
                "<item><launchTemplateId>lt-1</launchTemplateId><versionNumber>4</versionNumber>"
                "<defaultVersion>false</defaultVersion><launchTemplateData><imageId>ami-2</imageId>"
                "</launchTemplateData></item>"
                "<item><launchTemplateId>lt-2</launchTemplateId><versionNumber>7</versionNumber>"
                "<defaultVersion>true</defaultVersion><launchTemplateData><instanceType>t3.micro</instanceType>"
                "</launchTemplateData></item>"
                "</launchTemplateVersionSet><nextToken>next</nextToken>"
                "</DescribeLaunchTemplateVersionsResponse>";
        _cleanup_(xmlFreeDocp) xmlDoc *doc = parse(xml);
        _cleanup_(ec2_template_versions_done) ec2_template_versions v = {};
        _cleanup_(freep) char *token = NULL;

        (void) state;
        assert_int_equal(ec2_parse_template_versions_page(doc, &v, &token), 0);
        assert_int_equal(v.n, 3);
        assert_string_equal(v.items[0].template_id, "lt-1");
        assert_string_equal(v.items[0].template_name, "web");
        assert_string_equal(v.items[0].image_id, "ami-1");
        assert_int_equal(v.items[0].number, 3);
        assert_true(v.items[0].is_default);
        assert_string_equal(v.items[0].description, "amirotd web ami-1");
        assert_string_equal(v.items[1].image_id, "ami-2");
        assert_null(v.items[1].template_name);
        assert_null(v.items[1].description);
        assert_false(v.items[1].is_default);
        assert_string_equal(v.items[2].template_id, "lt-2");
        assert_null(v.items[2].image_id);       /* lt-2's names no image */
        assert_string_equal(token, "next");
}

static void test_versions_malformed(void **state) {
        static const char *const bad[] = {
                "<R " NS "><launchTemplateVersionSet><item><launchTemplateId>lt-1</launchTemplateId>"
                "</item></launchTemplateVersionSet></R>",                       /* no number */
                "<R " NS "><launchTemplateVersionSet><item><launchTemplateId>lt-1</launchTemplateId>"
                "<versionNumber>-3</versionNumber></item></launchTemplateVersionSet></R>",
                "<R " NS "><launchTemplateVersionSet><item><launchTemplateId>lt-1</launchTemplateId>"
                "<versionNumber>0</versionNumber></item></launchTemplateVersionSet></R>",
                "<R " NS "><launchTemplateVersionSet><item><versionNumber>1</versionNumber></item>"
                "</launchTemplateVersionSet></R>",                              /* no template id */
                "<R " NS "><launchTemplateVersionSet><item><launchTemplateId>lt-1</launchTemplateId>"
                "<versionNumber>x</versionNumber></item></launchTemplateVersionSet></R>",
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(xmlFreeDocp) xmlDoc *doc = parse(bad[i]);
                _cleanup_(ec2_template_versions_done) ec2_template_versions v = {};
                _cleanup_(freep) char *token = NULL;

                assert_int_equal(ec2_parse_template_versions_page(doc, &v, &token), -EBADMSG);
        }
}

static void test_create_version(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *ok = parse(
                "<CreateLaunchTemplateVersionResponse " NS "><requestId>r</requestId><launchTemplateVersion>"
                "<launchTemplateId>lt-1</launchTemplateId><versionNumber>12</versionNumber>"
                "</launchTemplateVersion></CreateLaunchTemplateVersionResponse>");
        _cleanup_(xmlFreeDocp) xmlDoc *none = parse(
                "<CreateLaunchTemplateVersionResponse " NS "><requestId>r</requestId>"
                "</CreateLaunchTemplateVersionResponse>");
        unsigned n = 0;

        (void) state;
        assert_int_equal(ec2_parse_create_template_version(ok, &n), 0);
        assert_int_equal(n, 12);
        assert_int_equal(ec2_parse_create_template_version(none, &n), -EBADMSG);
}

static void test_delete_partial_failure(void **state) {
        static const char xml[] =
                "<DeleteLaunchTemplateVersionsResponse " NS "><requestId>r</requestId>"
                "<successfullyDeletedLaunchTemplateVersionSet>"
                "<item><launchTemplateId>lt-1</launchTemplateId><versionNumber>2</versionNumber></item>"
                "<item><launchTemplateId>lt-1</launchTemplateId><versionNumber>4</versionNumber></item>"
                "</successfullyDeletedLaunchTemplateVersionSet>"
                "<unsuccessfullyDeletedLaunchTemplateVersionSet>"
                "<item><launchTemplateId>lt-1</launchTemplateId><versionNumber>3</versionNumber>"
                "<responseError><code>unexpectedError</code><message>default version</message></responseError>"
                "</item></unsuccessfullyDeletedLaunchTemplateVersionSet>"
                "</DeleteLaunchTemplateVersionsResponse>";
        _cleanup_(xmlFreeDocp) xmlDoc *doc = parse(xml);
        _cleanup_(xmlFreeDocp) xmlDoc *empty = parse(
                "<DeleteLaunchTemplateVersionsResponse " NS "><requestId>r</requestId>"
                "</DeleteLaunchTemplateVersionsResponse>");
        _cleanup_(xmlFreeDocp) xmlDoc *bad = parse(
                "<DeleteLaunchTemplateVersionsResponse " NS "><successfullyDeletedLaunchTemplateVersionSet>"
                "<item><versionNumber>x</versionNumber></item></successfullyDeletedLaunchTemplateVersionSet>"
                "</DeleteLaunchTemplateVersionsResponse>");
        _cleanup_(ec2_template_delete_result_done) ec2_template_delete_result r = {};

        (void) state;
        assert_int_equal(ec2_parse_delete_template_versions(doc, &r), 0);
        assert_int_equal(r.n_deleted, 2);
        assert_int_equal(r.deleted[0], 2);
        assert_int_equal(r.deleted[1], 4);
        assert_int_equal(r.n_failed, 1);
        assert_int_equal(r.failed[0].number, 3);
        assert_string_equal(r.failed[0].code, "unexpectedError");
        assert_string_equal(r.failed[0].message, "default version");
        ec2_template_delete_result_done(&r);
        assert_int_equal(ec2_parse_delete_template_versions(empty, &r), 0);
        assert_int_equal(r.n_deleted + r.n_failed, 0);
        assert_int_equal(ec2_parse_delete_template_versions(bad, &r), -EBADMSG);
        assert_null(r.deleted);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_versions_pages),
                cmocka_unit_test(test_versions_account_wide),
                cmocka_unit_test(test_versions_malformed),
                cmocka_unit_test(test_create_version),
                cmocka_unit_test(test_delete_partial_failure),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
