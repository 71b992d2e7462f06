/* SPDX-License-Identifier: MIT */
/*
 * aws/ec2-usage.c's parsers: a page of DescribeLaunchTemplateVersions (versions
 * without an image left out, $Default told from $Latest, the next token) and
 * DescribeImageAttribute lastLaunchedTime (set, never, malformed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>

#include "aws/ec2-usage.h"
#include "aws/query.h"

#define NS "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\""

static xmlDoc *parse(const char *xml) {
        xmlDoc *doc = NULL;

        assert_int_equal(aws_response_parse(xml, strlen(xml), 200, NULL, &doc, NULL), 0);
        return doc;
}

static void test_template_versions_page(void **state) {
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
        _cleanup_(freep) char *token = NULL;
        ec2_template_image_list l = {};

        (void) state;
        assert_int_equal(ec2_parse_launch_template_versions(doc, &l, &token), 0);
        assert_int_equal(l.n, 2);               /* lt-2 names no image */
        assert_string_equal(l.items[0].template_id, "lt-1");
        assert_string_equal(l.items[0].template_name, "web");
        assert_string_equal(l.items[0].image_id, "ami-1");
        assert_int_equal(l.items[0].version, 3);
        assert_true(l.items[0].is_default);
        assert_string_equal(l.items[0].description, "amirotd web ami-1");
        assert_string_equal(l.items[1].image_id, "ami-2");
        assert_null(l.items[1].template_name);
        assert_null(l.items[1].description);
        assert_false(l.items[1].is_default);
        /* the highest version answered, also one without an image: a template's $Latest */
        assert_int_equal(l.max_version, 7);
        assert_string_equal(token, "next");
        ec2_template_image_list_done(&l);
        assert_null(l.items);
}

static void test_template_versions_last_page_and_bad_item(void **state) {
        static const char last[] =
                "<DescribeLaunchTemplateVersionsResponse " NS "><launchTemplateVersionSet/>"
                "<nextToken></nextToken></DescribeLaunchTemplateVersionsResponse>";
        static const char bad[] =
                "<DescribeLaunchTemplateVersionsResponse " NS "><launchTemplateVersionSet>"
                "<item><launchTemplateId>lt-1</launchTemplateId><versionNumber>x</versionNumber>"
                "<launchTemplateData><imageId>ami-1</imageId></launchTemplateData></item>"
                "</launchTemplateVersionSet></DescribeLaunchTemplateVersionsResponse>";
        _cleanup_(xmlFreeDocp) xmlDoc *a = parse(last), *b = parse(bad);
        char *token = NULL;
        ec2_template_image_list l = {};

        (void) state;
        assert_int_equal(ec2_parse_launch_template_versions(a, &l, &token), 0);
        assert_int_equal(l.n, 0);
        assert_null(token);
        assert_int_equal(ec2_parse_launch_template_versions(b, &l, &token), -EBADMSG);
        assert_int_equal(l.n, 0);
        ec2_template_image_list_done(&l);
}

static void test_last_launched(void **state) {
        static const char set[] =
                "<DescribeImageAttributeResponse " NS "><imageId>ami-1</imageId>"
                "<lastLaunchedTime><value>2026-11-30T10:00:00.000Z</value></lastLaunchedTime>"
                "</DescribeImageAttributeResponse>";
        static const char never[] =
                "<DescribeImageAttributeResponse " NS "><imageId>ami-1</imageId><lastLaunchedTime/>"
                "</DescribeImageAttributeResponse>";
        static const char bad[] =
                "<DescribeImageAttributeResponse " NS "><lastLaunchedTime><value>yesterday</value>"
                "</lastLaunchedTime></DescribeImageAttributeResponse>";
        _cleanup_(xmlFreeDocp) xmlDoc *a = parse(set), *b = parse(never), *c = parse(bad);
        time_t t = -1;

        (void) state;
        assert_int_equal(ec2_parse_last_launched(a, &t), 0);
        assert_int_equal(t, 1796032800);        /* 2026-11-30T10:00:00Z */
        assert_int_equal(ec2_parse_last_launched(b, &t), 0);
        assert_int_equal(t, 0);
        assert_int_equal(ec2_parse_last_launched(c, &t), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_template_versions_page),
                cmocka_unit_test(test_template_versions_last_page_and_bad_item),
                cmocka_unit_test(test_last_launched),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
