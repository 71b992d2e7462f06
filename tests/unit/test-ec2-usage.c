/* SPDX-License-Identifier: MIT */
/*
 * aws/ec2-usage.c's parser: DescribeImageAttribute lastLaunchedTime (set, never,
 * malformed). DescribeLaunchTemplateVersions is test-ec2-template-calls.c's.
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
                cmocka_unit_test(test_last_launched),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
