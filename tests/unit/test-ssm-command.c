/* SPDX-License-Identifier: MIT */
/*
 * SSM Run Command's pure parts (aws/ssm-command.c): the status names both ways, the
 * parsers of SendCommand's, GetCommandInvocation's and ListCommands' answers (pages that
 * append, a page read whole or not at all), the request bodies with their limits, and
 * those bodies compared with what botocore's own SSM serializer makes of the same
 * request (the vectors `make check-unit` writes with tests/unit/sigv4-botocore.py, whose
 * signatures test-sigv4 checks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <libgen.h>
#include <cmocka.h>

#include "aws/json.h"
#include "aws/pace.h"
#include "aws/ssm-command.h"

static const char *vectors_path;

static json_object *parse(const char *body) {
        json_object *o = NULL;
        aws_error err = {};

        assert_int_equal(aws_json_response_parse(body, strlen(body), 200, "req-1", &o, &err), 0);
        aws_error_done(&err);
        return o;
}

static void test_status_names(void **state) {
        (void) state;
        for (ssm_command_status s = 0; s < _SSM_COMMAND_STATUS_MAX; s++)
                assert_int_equal(ssm_command_status_from_string(ssm_command_status_to_string(s)), s);
        assert_string_equal(ssm_command_status_to_string(SSM_COMMAND_IN_PROGRESS), "InProgress");
        assert_string_equal(ssm_command_status_to_string(SSM_COMMAND_TIMED_OUT), "TimedOut");
        assert_int_equal(ssm_command_status_from_string("ExecutionTimedOut"), _SSM_COMMAND_STATUS_INVALID);
        assert_int_equal(ssm_command_status_from_string(NULL), _SSM_COMMAND_STATUS_INVALID);
        assert_null(ssm_command_status_to_string(_SSM_COMMAND_STATUS_INVALID));
        assert_true(ssm_command_status_is_final(SSM_COMMAND_SUCCESS));
        assert_true(ssm_command_status_is_final(SSM_COMMAND_FAILED));
        assert_true(ssm_command_status_is_final(SSM_COMMAND_TIMED_OUT));
        assert_true(ssm_command_status_is_final(SSM_COMMAND_CANCELLED));
        assert_false(ssm_command_status_is_final(SSM_COMMAND_PENDING));
        assert_false(ssm_command_status_is_final(SSM_COMMAND_DELAYED));
        assert_false(ssm_command_status_is_final(SSM_COMMAND_CANCELLING));
        assert_false(ssm_command_status_is_final(_SSM_COMMAND_STATUS_INVALID));
}

static void test_send_command_answer(void **state) {
        _cleanup_(aws_json_freep) json_object *ok = parse(
                "{\"Command\": {\"CommandId\": \"0b2f4d9e-1111-2222-3333-444455556666\", \"Status\": \"Pending\"}}");
        _cleanup_(aws_json_freep) json_object *none = parse("{\"Command\": {\"Status\": \"Pending\"}}");
        _cleanup_(aws_json_freep) json_object *wrong = parse("{\"Command\": {\"CommandId\": 7}}");
        _cleanup_(aws_json_freep) json_object *empty = parse("{\"Command\": {\"CommandId\": \"\"}}");
        _cleanup_(aws_json_freep) json_object *flat = parse("{\"CommandId\": \"x\"}");
        _cleanup_(freep) char *id = NULL;

        (void) state;
        assert_int_equal(ssm_parse_send_command(ok, &id), 0);
        assert_string_equal(id, "0b2f4d9e-1111-2222-3333-444455556666");
        assert_int_equal(ssm_parse_send_command(none, &id), -EBADMSG);
        assert_int_equal(ssm_parse_send_command(wrong, &id), -EBADMSG);
        assert_int_equal(ssm_parse_send_command(empty, &id), -EBADMSG);
        assert_int_equal(ssm_parse_send_command(flat, &id), -EBADMSG);
        assert_int_equal(ssm_parse_send_command(NULL, &id), -EBADMSG);
}

static void test_invocation_answer(void **state) {
        _cleanup_(aws_json_freep) json_object *done = parse(
                "{\"CommandId\": \"c\", \"InstanceId\": \"i-0123456789abcdef0\", \"Status\": \"Failed\","
                " \"StatusDetails\": \"Failed\", \"ResponseCode\": 1, \"StandardOutputContent\": \"/data\\n\","
                " \"StandardErrorContent\": \"fsfreeze: /data: busy\"}");
        _cleanup_(aws_json_freep) json_object *pending = parse("{\"Status\": \"Pending\", \"StandardOutputContent\": \"\"}");
        _cleanup_(aws_json_freep) json_object *unknown = parse("{\"Status\": \"Exploded\", \"ResponseCode\": 0}");
        _cleanup_(aws_json_freep) json_object *missing = parse("{\"ResponseCode\": 0}");
        _cleanup_(aws_json_freep) json_object *odd = parse("{\"Status\": \"TimedOut\", \"StatusDetails\": 3,"
                                                           " \"ResponseCode\": \"2\"}");
        ssm_command_invocation inv = {};

        (void) state;
        assert_int_equal(ssm_parse_command_invocation(done, &inv), 0);
        assert_int_equal(inv.status, SSM_COMMAND_FAILED);
        assert_string_equal(inv.status_details, "Failed");
        assert_int_equal(inv.response_code, 1);
        assert_string_equal(inv.standard_output, "/data\n");
        assert_string_equal(inv.standard_error, "fsfreeze: /data: busy");
        ssm_command_invocation_done(&inv);
        assert_int_equal(inv.response_code, -1);

        /* Not started: "If the response code is -1, then the command hasn't started running". */
        assert_int_equal(ssm_parse_command_invocation(pending, &inv), 0);
        assert_int_equal(inv.status, SSM_COMMAND_PENDING);
        assert_int_equal(inv.response_code, -1);
        assert_null(inv.status_details);
        assert_null(inv.standard_error);
        ssm_command_invocation_done(&inv);

        /* Members of the wrong type are absent, not guessed. */
        assert_int_equal(ssm_parse_command_invocation(odd, &inv), 0);
        assert_int_equal(inv.status, SSM_COMMAND_TIMED_OUT);
        assert_null(inv.status_details);
        assert_int_equal(inv.response_code, -1);
        ssm_command_invocation_done(&inv);

        assert_int_equal(ssm_parse_command_invocation(unknown, &inv), -EBADMSG);
        assert_int_equal(ssm_parse_command_invocation(missing, &inv), -EBADMSG);
        assert_int_equal(ssm_parse_command_invocation(NULL, &inv), -EBADMSG);
}

static void test_list_pages_append(void **state) {
        _cleanup_(aws_json_freep) json_object *one = parse(
                "{\"Commands\": [{\"CommandId\": \"a\", \"DocumentName\": \"AWS-RunShellScript\","
                " \"Comment\": \"amirotd freeze web 2026-12-01T03:00Z\", \"InstanceIds\": [\"i-1\"],"
                " \"Status\": \"Success\", \"RequestedDateTime\": 1796094000.123},"
                " {\"CommandId\": \"b\", \"Status\": \"Cancelling\", \"RequestedDateTime\": 1796094001}],"
                " \"NextToken\": \"page2\"}");
        _cleanup_(aws_json_freep) json_object *two = parse(
                "{\"Commands\": [{\"CommandId\": \"c\", \"Status\": \"SomethingNew\", \"InstanceIds\": []}]}");
        _cleanup_(aws_json_freep) json_object *empty_token = parse("{\"Commands\": [], \"NextToken\": \"\"}");
        _cleanup_(ssm_command_list_done) ssm_command_list l = {};
        _cleanup_(freep) char *token = NULL;

        (void) state;
        assert_int_equal(ssm_parse_list_commands(one, &l, &token), 0);
        assert_string_equal(token, "page2");
        token = mfree(token);
        assert_int_equal(ssm_parse_list_commands(two, &l, &token), 0);
        assert_null(token);
        assert_int_equal(l.n, 3);
        assert_string_equal(l.items[0].id, "a");
        assert_string_equal(l.items[0].document, "AWS-RunShellScript");
        assert_string_equal(l.items[0].comment, "amirotd freeze web 2026-12-01T03:00Z");
        assert_string_equal(l.items[0].instance_ids[0], "i-1");
        assert_null(l.items[0].instance_ids[1]);
        assert_int_equal(l.items[0].status, SSM_COMMAND_SUCCESS);
        assert_int_equal(l.items[0].requested, 1796094000);
        assert_int_equal(l.items[0].requested_usec, 1796094000123000ULL);     /* its fraction kept */
        assert_int_equal(l.items[1].status, SSM_COMMAND_CANCELLING);
        assert_int_equal(l.items[1].requested, 1796094001);
        assert_int_equal(l.items[1].requested_usec, 1796094001000000ULL);
        assert_null(l.items[1].document);
        assert_null(l.items[1].instance_ids);
        /* A status this code does not know is no reason to lose the command. */
        assert_string_equal(l.items[2].id, "c");
        assert_int_equal(l.items[2].status, _SSM_COMMAND_STATUS_INVALID);
        assert_non_null(l.items[2].instance_ids);
        assert_null(l.items[2].instance_ids[0]);
        /* An empty NextToken ends the list. */
        assert_int_equal(ssm_parse_list_commands(empty_token, &l, &token), 0);
        assert_null(token);
        assert_int_equal(l.n, 3);
}

static void expect_bad_page(const char *body) {
        _cleanup_(aws_json_freep) json_object *o = parse(body);
        _cleanup_(aws_json_freep) json_object *first = parse("{\"Commands\": [{\"CommandId\": \"kept\"}]}");
        _cleanup_(ssm_command_list_done) ssm_command_list l = {};
        _cleanup_(freep) char *token = NULL;

        assert_int_equal(ssm_parse_list_commands(first, &l, &token), 0);
        assert_int_equal(ssm_parse_list_commands(o, &l, &token), -EBADMSG);
        assert_null(token);
        /* The page is read whole or not at all: what came before stays. */
        assert_int_equal(l.n, 1);
        assert_string_equal(l.items[0].id, "kept");
}

static void test_list_bad_pages(void **state) {
        (void) state;
        expect_bad_page("{\"NextToken\": \"x\"}");
        expect_bad_page("{\"Commands\": {}}");
        expect_bad_page("{\"Commands\": [{\"CommandId\": \"ok\"}, {\"Status\": \"Success\"}], \"NextToken\": \"x\"}");
        expect_bad_page("{\"Commands\": [{\"CommandId\": \"ok\"}, 3]}");
        expect_bad_page("{\"Commands\": [{\"CommandId\": \"ok\", \"InstanceIds\": [\"i-1\", 2]}]}");
}

static const ssm_send_command_request FREEZE = {
        .instance_id = "i-0123456789abcdef0",
        .document = SSM_DOCUMENT_SHELL,
        .script = "sync\nfsfreeze -f /data # \"\xc3\xa9\"",
        .execution_timeout = 120,
        .delivery_timeout = 600,
        .comment = "amirotd freeze web 2026-12-01T03:00Z",
};

static void test_send_command_body(void **state) {
        _cleanup_(freep) char *body = NULL, *minimal = NULL;
        ssm_send_command_request req = FREEZE;

        (void) state;
        assert_int_equal(ssm_send_command_body(&FREEZE, &body), 0);
        assert_string_equal(body, "{\"InstanceIds\":[\"i-0123456789abcdef0\"],\"DocumentName\":\"AWS-RunShellScript\","
                            "\"TimeoutSeconds\":600,\"Comment\":\"amirotd freeze web 2026-12-01T03:00Z\","
                            "\"Parameters\":{\"commands\":[\"sync\\nfsfreeze -f /data # \\\"\xc3\xa9\\\"\"],"
                            "\"executionTimeout\":[\"120\"]}}");
        /* 0 leaves SSM's defaults; no comment, no Comment. */
        assert_int_equal(ssm_send_command_body(&(ssm_send_command_request) {
                                .instance_id = "i-1", .document = SSM_DOCUMENT_POWERSHELL, .script = "" }, &minimal), 0);
        assert_string_equal(minimal, "{\"InstanceIds\":[\"i-1\"],\"DocumentName\":\"AWS-RunPowerShellScript\","
                            "\"Parameters\":{\"commands\":[\"\"]}}");

        req.instance_id = NULL;
        assert_int_equal(ssm_send_command_body(&req, &body), -EINVAL);
        req = FREEZE, req.document = "";
        assert_int_equal(ssm_send_command_body(&req, &body), -EINVAL);
        req = FREEZE, req.script = NULL;
        assert_int_equal(ssm_send_command_body(&req, &body), -EINVAL);
        assert_int_equal(ssm_send_command_body(NULL, &body), -EINVAL);
        /* "Maximum is 172800 (48 hours)"; TimeoutSeconds "Minimum value of 30. Maximum value of 2592000" */
        req = FREEZE, req.execution_timeout = 172801;
        assert_int_equal(ssm_send_command_body(&req, &body), -ERANGE);
        req = FREEZE, req.delivery_timeout = 29;
        assert_int_equal(ssm_send_command_body(&req, &body), -ERANGE);
        req = FREEZE, req.delivery_timeout = 2592001;
        assert_int_equal(ssm_send_command_body(&req, &body), -ERANGE);
        req = FREEZE, req.execution_timeout = 172800, req.delivery_timeout = 30;
        body = mfree(body);
        assert_int_equal(ssm_send_command_body(&req, &body), 0);
}

static const char *comment_of(const char *comment) {
        static char out[512];
        _cleanup_(freep) char *body = NULL;
        _cleanup_(aws_json_freep) json_object *o = NULL;
        ssm_send_command_request req = FREEZE;

        req.comment = comment;
        assert_int_equal(ssm_send_command_body(&req, &body), 0);
        o = parse(body);
        (void) snprintf(out, sizeof(out), "%s", aws_json_string(o, "Comment"));
        return out;
}

static void test_comment_is_cut_to_100_characters(void **state) {
        char text[300], expect[300];

        (void) state;
        memset(text, 'x', 150);
        text[150] = 0;
        assert_int_equal(strlen(comment_of(text)), 100);
        text[100] = 0;
        assert_string_equal(comment_of(text), text);
        /* Characters, not bytes: 98 x, then two 2-byte characters, then more. */
        memset(text, 'x', 98);
        strcpy(text + 98, "\xc3\xa9\xc3\xa9zzz");
        memcpy(expect, text, 102);
        expect[102] = 0;
        assert_string_equal(comment_of(text), expect);
        /* Never inside a character: 99 x, then a 3-byte character, then one more. */
        memset(text, 'x', 99);
        strcpy(text + 99, "\xe2\x82\xac\xe2\x82\xac");
        memcpy(expect, text, 102);
        expect[102] = 0;
        assert_string_equal(comment_of(text), expect);
}

static void test_invocation_and_list_bodies(void **state) {
        _cleanup_(freep) char *inv = NULL, *first = NULL, *next = NULL, *all = NULL;

        (void) state;
        assert_int_equal(ssm_get_command_invocation_body("0b2f4d9e-1111-2222-3333-444455556666",
                                                         "i-0123456789abcdef0", &inv), 0);
        assert_string_equal(inv, "{\"CommandId\":\"0b2f4d9e-1111-2222-3333-444455556666\","
                            "\"InstanceId\":\"i-0123456789abcdef0\"}");
        assert_int_equal(ssm_get_command_invocation_body("", "i-1", &inv), -EINVAL);
        assert_int_equal(ssm_get_command_invocation_body("c", NULL, &inv), -EINVAL);

        assert_int_equal(ssm_list_commands_body(&(ssm_list_commands_request) {
                                .invoked_after = 1796086800, .document = SSM_DOCUMENT_SHELL }, NULL, &first), 0);
        assert_string_equal(first, "{\"MaxResults\":50,\"Filters\":[{\"key\":\"InvokedAfter\","
                            "\"value\":\"2026-12-01T01:00:00Z\"},{\"key\":\"DocumentName\","
                            "\"value\":\"AWS-RunShellScript\"}]}");
        assert_int_equal(ssm_list_commands_body(&(ssm_list_commands_request) { .instance_id = "i-1" }, "tok/+=",
                                                &next), 0);
        assert_string_equal(next, "{\"InstanceId\":\"i-1\",\"MaxResults\":50,\"NextToken\":\"tok/+=\"}");
        assert_int_equal(ssm_list_commands_body(&(ssm_list_commands_request) {}, NULL, &all), 0);
        assert_string_equal(all, "{\"MaxResults\":50}");
        assert_int_equal(ssm_list_commands_body(NULL, NULL, &all), -EINVAL);
}

/* Run Command has no published rate (aws/pace.c): each action its own bucket, by category. */
static void test_pacing_of_run_command(void **state) {
        _cleanup_(aws_pacer_freep) aws_pacer *p = NULL;

        (void) state;
        assert_int_equal(pace_category_of("SendCommand"), PACE_MUTATING);
        assert_int_equal(pace_category_of("GetCommandInvocation"), PACE_DESCRIBE);
        assert_int_equal(pace_category_of("ListCommands"), PACE_DESCRIBE);
        assert_int_equal(aws_pacer_new(NULL, &p), 0);
        assert_ptr_not_equal(aws_pacer_bucket(p, "GetCommandInvocation", false),
                             aws_pacer_bucket(p, "ListCommands", false));
        assert_ptr_not_equal(aws_pacer_bucket(p, "SendCommand", false), aws_pacer_bucket(p, "PutParameter", false));
}

/* ---- botocore's bodies ----------------------------------------------------------------- */

/* The "body" of the record named name in the vectors file, unescaped (see sigv4-botocore.py). */
static char *vector_body(const char *name) {
        _cleanup_(freep) char *line = NULL, *want = NULL;
        size_t size = 0;
        bool in = false;
        FILE *f = fopen(vectors_path, "re");

        if (!f)
                fail_msg("cannot open %s (%m): run `make check-unit`, or pass the file of "
                         "tests/unit/sigv4-botocore.py as argument or in $SIGV4_VECTORS", vectors_path);
        assert_true(asprintf(&want, "name: %s", name) > 0);
        while (getline(&line, &size, f) > 0) {
                line[strcspn(line, "\n")] = 0;
                if (!*line)
                        in = false;
                else if (streq(line, want))
                        in = true;
                else if (in && startswith(line, "body: ")) {
                        strbuf b = {};

                        for (const char *p = line + 6; *p; p++) {
                                char c = *p;
                                unsigned v;

                                if (c == '\\') {
                                        p++;
                                        if (*p == 'x' && sscanf(p + 1, "%2x", &v) == 1) {
                                                c = (char) v;
                                                p += 2;
                                        } else
                                                c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p;
                                }
                                assert_int_equal(strbuf_append(&b, &c, 1), 0);
                        }
                        assert_int_equal(strbuf_append(&b, "", 0), 0);
                        fclose(f);
                        return strbuf_steal(&b);
                }
        }
        fclose(f);
        fail_msg("%s has no request %s with a body", vectors_path, name);
        return NULL;
}

/* Same JSON as botocore's: the same members and values (botocore spaces it, json-c does not). */
static void expect_botocore(const char *name, const char *ours) {
        _cleanup_(freep) char *theirs = vector_body(name);
        _cleanup_(aws_json_freep) json_object *a = parse(ours), *b = parse(theirs);

        if (!json_object_equal(a, b))
                fail_msg("%s: ours %s, botocore's %s", name, ours, theirs);
}

static void test_bodies_are_botocores(void **state) {
        _cleanup_(freep) char *send = NULL, *inv = NULL, *list = NULL;

        (void) state;
        assert_int_equal(ssm_send_command_body(&FREEZE, &send), 0);
        expect_botocore("ssm-send-command", send);
        assert_int_equal(ssm_get_command_invocation_body("0b2f4d9e-1111-2222-3333-444455556666",
                                                         "i-0123456789abcdef0", &inv), 0);
        expect_botocore("ssm-get-command-invocation", inv);
        assert_int_equal(ssm_list_commands_body(&(ssm_list_commands_request) {
                                .instance_id = "i-0123456789abcdef0", .invoked_after = 1796086800,
                                .document = SSM_DOCUMENT_SHELL }, "tok/+=", &list), 0);
        expect_botocore("ssm-list-commands", list);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_names),
                cmocka_unit_test(test_send_command_answer),
                cmocka_unit_test(test_invocation_answer),
                cmocka_unit_test(test_list_pages_append),
                cmocka_unit_test(test_list_bad_pages),
                cmocka_unit_test(test_send_command_body),
                cmocka_unit_test(test_comment_is_cut_to_100_characters),
                cmocka_unit_test(test_invocation_and_list_bodies),
                cmocka_unit_test(test_pacing_of_run_command),
                cmocka_unit_test(test_bodies_are_botocores),
        };
        _cleanup_(freep) char *self = NULL, *beside = NULL;
        int r;

        vectors_path = getenv("SIGV4_VECTORS");
        if (isempty(vectors_path) && argc > 1)
                vectors_path = argv[1];
        if (isempty(vectors_path)) {
                self = strdup(argv[0]);
                if (!self || asprintf(&beside, "%s/sigv4-vectors.txt", dirname(self)) < 0)
                        return 1;
                vectors_path = beside;
        }
        r = cmocka_run_group_tests(tests, NULL, NULL);
        return r;
}
