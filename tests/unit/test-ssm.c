/* SPDX-License-Identifier: MIT */
/*
 * The JSON protocol's answers (aws/json.c) and SSM's (aws/ssm.c): success objects,
 * error objects as SSM sends them (a namespaced __type, a message in either case),
 * answers that are not JSON; GetParameter's and PutParameter's shapes; PutParameter's
 * request body; and SSM's naming rules for parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "aws/json.h"
#include "aws/ssm.h"

static int parse(const char *body, long status, json_object **ret, aws_error *err) {
        return aws_json_response_parse(body, strlen(body), status, "req-1", ret, err);
}

static void test_success_object(void **state) {
        _cleanup_(aws_json_freep) json_object *o = NULL;
        aws_error err = {};

        (void) state;
        assert_int_equal(parse("{\"Version\": 3, \"Tier\": \"Standard\"}\n", 200, &o, &err), 0);
        assert_string_equal(aws_json_string(o, "Tier"), "Standard");
        assert_null(aws_json_string(o, "Version"));     /* not a string */
        assert_null(err.code);
}

static void expect_error(const char *body, long status, const char *code, const char *message) {
        _cleanup_(aws_json_freep) json_object *o = NULL;
        aws_error err = {};

        assert_int_equal(parse(body, status, &o, &err), -EREMOTEIO);
        assert_null(o);
        assert_int_equal(err.status, status);
        assert_string_equal(err.code, code);
        if (message)
                assert_string_equal(err.message, message);
        assert_string_equal(err.request_id, "req-1");
        aws_error_done(&err);
}

static void test_error_objects(void **state) {
        (void) state;
        expect_error("{\"__type\": \"ParameterNotFound\", \"message\": \"\"}", 400, "ParameterNotFound", "");
        expect_error("{\"__type\": \"com.amazonaws.ssm#ThrottlingException\", \"Message\": \"Rate exceeded\"}",
                     400, "ThrottlingException", "Rate exceeded");
        expect_error("{\"__type\": \"ValidationException:http://internal.amazon.com/coral/x/\", "
                     "\"message\": \"bad\"}", 400, "ValidationException", "bad");
        expect_error("{\"code\": \"AccessDeniedException\"}", 400, "AccessDeniedException", NULL);
        /* No readable error object: the status names it. */
        expect_error("<html>502 Bad Gateway</html>", 502, "HTTP502", "HTTP 502 without a readable error document");
        expect_error("", 500, "InternalError", NULL);
        expect_error("{\"message\": \"no type\"}", 503, "Unavailable", NULL);
        expect_error("{\"__type\": \"ns#\"}", 400, "HTTP400", NULL);
}

static void expect_malformed(const char *body, size_t size, const char *part) {
        _cleanup_(aws_json_freep) json_object *o = NULL;
        aws_error err = {};

        assert_int_equal(aws_json_response_parse(body, size, 200, NULL, &o, &err), -EBADMSG);
        assert_null(o);
        assert_null(err.code);
        if (!strstr(err.message, part))
                fail_msg("%s: '%s'", part, err.message);
        aws_error_done(&err);
}

static void test_malformed_answers(void **state) {
        (void) state;
        expect_malformed("", 0, "empty answer");
        expect_malformed("{\"Version\": 1", 13, "truncated");
        expect_malformed("[1, 2]", 6, "not a JSON object");
        expect_malformed("{} {}", 5, "malformed JSON answer");
        expect_malformed("{\"a\":\"\0\"}", 8, "NUL");
        expect_malformed("{\"a\": \"\xff\"}", 10, "malformed JSON answer");
}

static void test_get_parameter_answer(void **state) {
        _cleanup_(aws_json_freep) json_object *o = NULL;
        _cleanup_(ssm_parameter_done) ssm_parameter p = {};
        aws_error err = {};

        (void) state;
        assert_int_equal(parse("{\"Parameter\": {\"Name\": \"/golden/web\", \"Type\": \"String\", "
                               "\"Value\": \"ami-0123456789abcdef0\", \"Version\": 7, \"DataType\": "
                               "\"aws:ec2:image\", \"LastModifiedDate\": 1.7e9}}", 200, &o, &err), 0);
        assert_int_equal(ssm_parse_get_parameter(o, &p), 0);
        assert_string_equal(p.name, "/golden/web");
        assert_string_equal(p.value, "ami-0123456789abcdef0");
        assert_string_equal(p.data_type, "aws:ec2:image");
        assert_int_equal(p.version, 7);
}

static void expect_bad_shape(const char *body, bool put) {
        _cleanup_(aws_json_freep) json_object *o = NULL;
        ssm_parameter p = {};
        aws_error err = {};
        int64_t v;

        assert_int_equal(parse(body, 200, &o, &err), 0);
        assert_int_equal(put ? ssm_parse_put_parameter(o, &v) : ssm_parse_get_parameter(o, &p), -EBADMSG);
}

static void test_answers_of_the_wrong_shape(void **state) {
        _cleanup_(aws_json_freep) json_object *o = NULL;
        aws_error err = {};
        int64_t v = 0;

        (void) state;
        expect_bad_shape("{}", false);
        expect_bad_shape("{\"Parameter\": []}", false);
        expect_bad_shape("{\"Parameter\": {\"Name\": \"/x\"}}", false);
        expect_bad_shape("{\"Parameter\": {\"Name\": \"/x\", \"Value\": 5}}", false);
        expect_bad_shape("{}", true);
        expect_bad_shape("{\"Version\": \"2\"}", true);
        expect_bad_shape("{\"Version\": 0}", true);
        assert_int_equal(parse("{\"Version\": 12, \"Tier\": \"Standard\"}", 200, &o, &err), 0);
        assert_int_equal(ssm_parse_put_parameter(o, &v), 0);
        assert_int_equal(v, 12);
}

static void test_put_parameter_body(void **state) {
        _cleanup_(freep) char *body = NULL;

        (void) state;
        assert_int_equal(ssm_put_parameter_body(&(ssm_put_request) {
                                .name = "/golden/web/latest", .value = "ami-0123456789abcdef0",
                                .data_type = SSM_DATA_TYPE_IMAGE, .overwrite = true,
                        }, &body), 0);
        assert_string_equal(body, "{\"Name\":\"/golden/web/latest\",\"Value\":\"ami-0123456789abcdef0\","
                            "\"Type\":\"String\",\"Overwrite\":true,\"DataType\":\"aws:ec2:image\"}");
        body = mfree(body);
        assert_int_equal(ssm_put_parameter_body(&(ssm_put_request) { .name = "a\"b", .value = "v" }, &body), 0);
        assert_string_equal(body, "{\"Name\":\"a\\\"b\",\"Value\":\"v\",\"Type\":\"String\"}");
        assert_int_equal(ssm_put_parameter_body(&(ssm_put_request) { .name = "", .value = "v" }, &body), -EINVAL);
}

static void expect_name(const char *name, const char *region, const char *part) {
        const char *why = NULL;

        if (!part) {
                assert_int_equal(ssm_parameter_name_check(name, region, &why), 0);
                return;
        }
        assert_int_equal(ssm_parameter_name_check(name, region, &why), -EINVAL);
        if (!strstr(why, part))
                fail_msg("'%s': '%s' does not say '%s'", name, why, part);
}

static void test_parameter_names(void **state) {
        char name[1100];

        (void) state;
        expect_name("/golden/web/latest", "us-east-1", NULL);
        expect_name("golden.web-latest_1", "us-east-1", NULL);
        expect_name("/Golden/AWS/ssm", "us-east-1", NULL);      /* only the first level is reserved */
        expect_name("", "us-east-1", "empty");
        expect_name("/golden web", "us-east-1", "only letters");
        expect_name("/golden:1", "us-east-1", "only letters");
        expect_name("golden/web", "us-east-1", "must start with '/'");
        expect_name("/golden//web", "us-east-1", "no empty level");
        expect_name("/golden/", "us-east-1", "no empty level");
        expect_name("aws-x", "us-east-1", "reserved");
        expect_name("/AwS/x", "us-east-1", "reserved");
        expect_name("ssmfoo", "us-east-1", "reserved");
        expect_name("/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15", "us-east-1", NULL);
        expect_name("/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", "us-east-1", "15 levels");
        /* 1011 with the ARN before it: arn:aws-us-gov:ssm:REGION:123456789012:parameter */
        memset(name, 'x', sizeof(name));
        name[0] = '/';
        name[1011 - strlen("arn:aws-us-gov:ssm:us-east-1:123456789012:parameter")] = 0;
        expect_name(name, "us-east-1", NULL);
        expect_name(name, "ap-southeast-2", "1011");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_success_object),
                cmocka_unit_test(test_error_objects),
                cmocka_unit_test(test_malformed_answers),
                cmocka_unit_test(test_get_parameter_answer),
                cmocka_unit_test(test_answers_of_the_wrong_shape),
                cmocka_unit_test(test_put_parameter_body),
                cmocka_unit_test(test_parameter_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
