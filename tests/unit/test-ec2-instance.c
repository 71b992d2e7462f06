/* SPDX-License-Identifier: MIT */
/*
 * The test instances' parsers and requests (daemon/aws/ec2-instance-calls.c, ec2.c,
 * ec2-console.c): RunInstances' one instance, DescribeInstanceStatus' pages (unknown
 * states kept as _INVALID, a page of the wrong shape leaving the list as it was),
 * GetConsoleOutput's base64 in its layouts and its errors, and each request compared
 * with what botocore's own EC2 serializer makes of the same parameters (the vectors
 * `make check-unit` writes with tests/unit/sigv4-botocore.py). Run from the repo root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <libgen.h>
#include <stdio.h>

#include "aws/client.h"
#include "aws/ec2-instance-calls.h"
#include "aws/ec2.h"
#include "aws/query.h"
#include "base/util.h"
#include "data-helper.h"

static const char *vectors_path;

static xmlDoc *load(const char *name) {
        _cleanup_(freep) char *data = NULL;
        xmlDoc *doc = NULL;
        aws_error err = {};
        size_t size;
        int r;

        data = read_data(name, &size);
        r = aws_response_parse(data, size, 200, NULL, &doc, &err);
        if (r < 0)
                fail_msg("%s: %d %s", name, r, err.message ?: "");
        return doc;
}

static xmlDoc *load_string(const char *xml) {
        xmlDoc *doc = NULL;

        assert_int_equal(aws_response_parse(xml, strlen(xml), 200, NULL, &doc, NULL), 0);
        return doc;
}

static time_t t(const char *iso) {
        time_t v;

        assert_int_equal(parse_iso8601(iso, &v), 0);
        return v;
}

/* ---- RunInstances ---------------------------------------------------------------------- */

static void test_run_instances(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = load("run-instances.xml");
        _cleanup_(ec2_instance_list_done) ec2_instance_list l = {};
        ec2_instance *i;

        (void) state;
        assert_int_equal(ec2_parse_run_instances(doc, &l), 0);
        assert_int_equal(l.n, 1);
        i = &l.items[0];
        assert_string_equal(i->id, "i-0a1b2c3d4e5f60789");
        assert_string_equal(i->image_id, "ami-0123456789abcdef0");
        assert_int_equal(i->state, EC2_INSTANCE_PENDING);
        assert_int_equal(i->launch_time, t("2026-12-01T03:10:42Z"));
        assert_string_equal(i->state_reason, "pending");
        assert_string_equal(ec2_tags_get(&i->tags, "amirotd:verify-of"), "ami-0123456789abcdef0");
        assert_string_equal(i->name, "amirotd verify ami-0123456789abcdef0");
        assert_null(i->volume_ids);
}

static void test_run_instances_bad(void **state) {
        static const char *const bad[] = {
                /* DescribeInstances' answer is not RunInstances' */
                "<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>",
                /* no instance, or two, for MinCount=MaxCount=1 */
                "<RunInstancesResponse><instancesSet/></RunInstancesResponse>",
                "<RunInstancesResponse><instancesSet><item><instanceId>i-1</instanceId></item>"
                "<item><instanceId>i-2</instanceId></item></instancesSet></RunInstancesResponse>",
                /* an instance without an id, an unreadable launch time */
                "<RunInstancesResponse><instancesSet><item><instanceId/></item></instancesSet></RunInstancesResponse>",
                "<RunInstancesResponse><instancesSet><item><instanceId>i-1</instanceId>"
                "<launchTime>yesterday</launchTime></item></instancesSet></RunInstancesResponse>",
        };
        _cleanup_(ec2_instance_list_done) ec2_instance_list l = {};
        _cleanup_(xmlFreeDocp) xmlDoc *good = load("run-instances.xml");

        (void) state;
        assert_int_equal(ec2_parse_run_instances(good, &l), 0);
        for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
                _cleanup_(xmlFreeDocp) xmlDoc *doc = load_string(bad[k]);

                if (ec2_parse_run_instances(doc, &l) != -EBADMSG)
                        fail_msg("not refused: %s", bad[k]);
                /* the list is as it was */
                assert_int_equal(l.n, 1);
                assert_string_equal(l.items[0].id, "i-0a1b2c3d4e5f60789");
        }
        assert_int_equal(ec2_parse_run_instances(NULL, &l), -EBADMSG);
        assert_int_equal(ec2_parse_run_instances(good, NULL), -EINVAL);
}

/* ---- DescribeInstanceStatus ------------------------------------------------------------ */

static void test_instance_status(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = load("describe-instance-status.xml");
        _cleanup_(ec2_instance_status_list_done) ec2_instance_status_list l = {};
        _cleanup_(freep) char *token = NULL;

        (void) state;
        assert_int_equal(ec2_parse_instance_status(doc, &l, &token), 0);
        assert_string_equal(token, "AAEAAeY2Zm9yLXRoZS1uZXh0LXBhZ2U=");
        assert_int_equal(l.n, 5);

        assert_string_equal(l.items[0].instance_id, "i-1234567890abcdef0");
        assert_int_equal(l.items[0].state, EC2_INSTANCE_RUNNING);
        assert_int_equal(l.items[0].system_status, EC2_STATUS_OK);
        assert_int_equal(l.items[0].instance_status, EC2_STATUS_OK);

        assert_int_equal(l.items[1].system_status, EC2_STATUS_INITIALIZING);
        assert_int_equal(l.items[1].instance_status, EC2_STATUS_IMPAIRED);

        assert_int_equal(l.items[2].state, EC2_INSTANCE_STOPPED);
        assert_int_equal(l.items[2].system_status, EC2_STATUS_NOT_APPLICABLE);
        assert_int_equal(l.items[2].instance_status, EC2_STATUS_NOT_APPLICABLE);

        /* A missing instanceStatus is no summary at all: neither ok nor impaired. */
        assert_int_equal(l.items[3].state, EC2_INSTANCE_PENDING);
        assert_int_equal(l.items[3].system_status, EC2_STATUS_INSUFFICIENT_DATA);
        assert_int_equal(l.items[3].instance_status, _EC2_STATUS_SUMMARY_INVALID);

        /* States and summaries this build does not know are kept, not an error. */
        assert_string_equal(l.items[4].instance_id, "i-0d44c44aae75d1543");
        assert_int_equal(l.items[4].state, _EC2_INSTANCE_STATE_INVALID);
        assert_int_equal(l.items[4].system_status, _EC2_STATUS_SUMMARY_INVALID);
        assert_int_equal(l.items[4].instance_status, EC2_STATUS_OK);

        /* A second page appends. */
        token = mfree(token);
        assert_int_equal(ec2_parse_instance_status(doc, &l, NULL), 0);
        assert_int_equal(l.n, 10);
        assert_string_equal(l.items[9].instance_id, "i-0d44c44aae75d1543");
}

static void test_instance_status_last_and_bad(void **state) {
        static const char *const bad[] = {
                "<DescribeInstancesResponse/>",
                "<DescribeInstanceStatusResponse><instanceStatusSet><item><instanceState><name>running</name>"
                "</instanceState></item></instanceStatusSet></DescribeInstanceStatusResponse>",
                "<DescribeInstanceStatusResponse><instanceStatusSet><item><instanceId>i-1</instanceId></item>"
                "<item><instanceId></instanceId></item></instanceStatusSet></DescribeInstanceStatusResponse>",
        };
        _cleanup_(ec2_instance_status_list_done) ec2_instance_status_list l = {};
        _cleanup_(xmlFreeDocp) xmlDoc *last = load_string(
                "<DescribeInstanceStatusResponse><requestId>r</requestId><instanceStatusSet>"
                "<item><instanceId>i-1</instanceId></item></instanceStatusSet><nextToken/>"
                "</DescribeInstanceStatusResponse>");
        _cleanup_(xmlFreeDocp) xmlDoc *none = load_string(
                "<DescribeInstanceStatusResponse><instanceStatusSet/></DescribeInstanceStatusResponse>");
        char *token = (char *) "stale";

        (void) state;
        /* An empty nextToken is the last page; an item with nothing but an id is all unknown. */
        assert_int_equal(ec2_parse_instance_status(last, &l, &token), 0);
        assert_null(token);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.items[0].state, _EC2_INSTANCE_STATE_INVALID);
        assert_int_equal(l.items[0].system_status, _EC2_STATUS_SUMMARY_INVALID);
        assert_int_equal(ec2_parse_instance_status(none, &l, NULL), 0);
        assert_int_equal(l.n, 1);

        for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
                _cleanup_(xmlFreeDocp) xmlDoc *doc = load_string(bad[k]);

                if (ec2_parse_instance_status(doc, &l, NULL) != -EBADMSG)
                        fail_msg("not refused: %s", bad[k]);
                assert_int_equal(l.n, 1);
                assert_string_equal(l.items[0].instance_id, "i-1");
        }
}

/* ---- GetConsoleOutput ------------------------------------------------------------------ */

static char *console_of(const char *output_element) {
        _cleanup_(freep) char *xml = NULL;
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        char *text = (char *) "unset";
        int r;

        assert_true(asprintf(&xml, "<GetConsoleOutputResponse><requestId>r</requestId>"
                             "<instanceId>i-1</instanceId>%s</GetConsoleOutputResponse>", output_element) > 0);
        doc = load_string(xml);
        r = ec2_parse_console_output(doc, &text);
        if (r < 0)
                return NULL;
        return text ?: strdup("(null)");
}

static void expect_console(const char *element, const char *want) {
        _cleanup_(freep) char *got = console_of(element);

        if (!got || !streq(got, want))
                fail_msg("%s: got \"%s\", want \"%s\"", element, got ?: "(error)", want);
}

static void test_console_output(void **state) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = load("get-console-output.xml");
        _cleanup_(freep) char *text = NULL;

        (void) state;
        /* 76-column lines as EC2 wraps them, a trailing newline, a NUL of the console left out */
        assert_int_equal(ec2_parse_console_output(doc, &text), 0);
        assert_string_equal(text, "Linux version 6.1.0 (amirotd test)\n[    0.000000] Command line: "
                            "BOOT_IMAGE=/vmlinuz\ncloud-init[812]: Cloud-init v. 23.4 finished\nlogin: \n");

        /* padding: two, one, none; and the same without it */
        expect_console("<output>YQ==</output>", "a");
        expect_console("<output>YWI=</output>", "ab");
        expect_console("<output>YWJj</output>", "abc");
        expect_console("<output>YQ</output>", "a");
        expect_console("<output>YWI</output>", "ab");
        expect_console("<output>\n  YWJj\r\nZGVm\n</output>", "abcdef");
        expect_console("<output>aGk+Pz8/</output>", "hi>???");
        expect_console("<output>Pz8/Pw==</output>", "????");
        expect_console("<output>/+8=</output>", "\xff\xef");
        /* nothing yet: no element, an empty one, blanks only, or only NUL bytes */
        expect_console("", "(null)");
        expect_console("<output/>", "(null)");
        expect_console("<output>\n</output>", "(null)");
        expect_console("<output>AAAA</output>", "(null)");
}

static void test_console_output_bad(void **state) {
        static const char *const bad[] = {
                "<output>YQ=</output>",         /* padding that does not complete the group */
                "<output>Y===</output>",        /* six bits are no byte */
                "<output>Y</output>",
                "<output>YQ==YQ==</output>",    /* "=" before the end */
                "<output>YW!j</output>",        /* outside the alphabet */
                "<output>YW-j</output>",        /* base64url is not what EC2 sends */
                "<output>====</output>",
        };
        _cleanup_(xmlFreeDocp) xmlDoc *wrong = load_string("<DescribeInstancesResponse/>");
        char *text = NULL;

        (void) state;
        for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
                _cleanup_(freep) char *got = console_of(bad[k]);

                if (got)
                        fail_msg("%s: decoded as \"%s\"", bad[k], got);
        }
        assert_int_equal(ec2_parse_console_output(wrong, &text), -EBADMSG);
        assert_int_equal(ec2_parse_console_output(NULL, &text), -EBADMSG);
        assert_int_equal(ec2_parse_console_output(wrong, NULL), -EINVAL);
}

/* ---- Requests -------------------------------------------------------------------------- */

static ec2_tag verify_tag_items[] = {
        { (char *) "amirotd:policy", (char *) "web" },
        { (char *) "amirotd:verify-of", (char *) "ami-0123456789abcdef0" },
        { (char *) "Name", (char *) "amirotd verify web ami-0123456789abcdef0" },
};
static const ec2_tags verify_tags = { verify_tag_items, ELEMENTSOF(verify_tag_items), false };

static char *const security_groups[] = { (char *) "sg-0a1b2c3d", (char *) "sg-0e0f0a0b", NULL };
static char *const devices[] = { (char *) "/dev/xvda", (char *) "/dev/sdf", NULL };
static char *const two_ids[] = { (char *) "i-0a1b2c3d4e5f60789", (char *) "i-0b22a22eec53b9321", NULL };

static const ec2_run_instances_request RUN = {
        .image_id = "ami-0123456789abcdef0",
        .instance_type = "t3.micro",
        .subnet_id = "subnet-0a1b2c3d4e5f60718",
        .security_group_ids = security_groups,
        .iam_instance_profile = "amirotd-verify",
        .client_token = "amirotd-verify-ami-0123456789abcdef0",
        .tags = &verify_tags,
        .delete_on_termination = devices,
};

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
                        char *body = strdup(line + 6);

                        /* EC2 bodies are printable ASCII: nothing is escaped but a backslash */
                        assert_non_null(body);
                        assert_null(strchr(body, '\\'));
                        fclose(f);
                        return body;
                }
        }
        fclose(f);
        fail_msg("%s has no request %s with a body", vectors_path, name);
        return NULL;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The body's name=value pairs, sorted: the order of parameters means nothing to EC2. */
static char **pairs(const char *body) {
        _cleanup_(freep) char *copy = strdup(body);
        char **v = NULL, *save = NULL;

        assert_non_null(copy);
        for (char *p = strtok_r(copy, "&", &save); p; p = strtok_r(NULL, "&", &save))
                assert_int_equal(strv_push(&v, strdup(p)), 0);
        qsort(v, strv_length(v), sizeof(*v), compare_strings);
        return v;
}

/* Our request (taken) encoded equals botocore's body for the same parameters. */
static void expect_botocore(const char *name, aws_query *q) {
        _cleanup_(aws_query_freep) aws_query *query = q;
        _cleanup_(freep) char *ours = NULL, *theirs = vector_body(name);
        _cleanup_(strv_freep) char **a = NULL, **b = NULL;

        assert_int_equal(aws_query_encode(query, "2016-11-15", &ours), 0);
        a = pairs(ours);
        b = pairs(theirs);
        for (size_t k = 0; a[k] || b[k]; k++)
                if (!a[k] || !b[k] || !streq(a[k], b[k]))
                        fail_msg("%s: ours %s\nbotocore's %s\n(first difference: %s / %s)", name, ours, theirs,
                                 a[k] ?: "(end)", b[k] ?: "(end)");
}

static void test_requests_are_botocores(void **state) {
        ec2_run_instances_request arn = {
                .image_id = "ami-0123456789abcdef0",
                .instance_type = "m7g.large",
                .subnet_id = "subnet-0a1b2c3d4e5f60718",
                .iam_instance_profile = "arn:aws:iam::123456789012:instance-profile/verify",
                .client_token = "amirotd-verify-ami-0123456789abcdef0",
                .dry_run = true,
        };
        aws_query *q = NULL;

        (void) state;
        assert_int_equal(ec2_run_instances_query(&RUN, &q), 0);
        expect_botocore("ec2-run-instances", q);
        assert_int_equal(ec2_run_instances_query(&arn, &q), 0);
        expect_botocore("ec2-run-instances-arn", q);
        assert_int_equal(ec2_terminate_instances_query(two_ids, true, &q), 0);
        expect_botocore("ec2-terminate-instances", q);
        assert_int_equal(ec2_describe_instance_status_query(two_ids, &q), 0);
        expect_botocore("ec2-describe-instance-status", q);
        assert_int_equal(ec2_get_console_output_query("i-0a1b2c3d4e5f60789", false, &q), 0);
        expect_botocore("ec2-get-console-output", q);
        assert_int_equal(ec2_get_console_output_query("i-0a1b2c3d4e5f60789", true, &q), 0);
        expect_botocore("ec2-get-console-output-latest", q);
}

static void test_requests_refused(void **state) {
        _cleanup_(strv_freep) char **many = NULL;
        char *const none[] = { NULL }, *const blank[] = { (char *) "", NULL };
        char *const blank_device[] = { (char *) "", NULL };
        ec2_run_instances_request r;
        aws_query *q = NULL;

        (void) state;
        /* RunInstances is retried like every call: without a ClientToken a retry could
         * launch a second instance, so there is no RunInstances without one. */
        r = RUN;
        r.client_token = NULL;
        assert_int_equal(ec2_run_instances_query(&r, &q), -EINVAL);
        r.client_token = "";
        assert_int_equal(ec2_run_instances_query(&r, &q), -EINVAL);
        r.client_token = "amirotd-verify-ami-0123456789abcdef0-and-then-some-more-characters-past-64";
        assert_int_equal(ec2_run_instances_query(&r, &q), -EINVAL);
        r.client_token = "amirotd verify";    /* not a token of printable ASCII without blanks */
        assert_int_equal(ec2_run_instances_query(&r, &q), -EINVAL);
        r = RUN;
        r.subnet_id = NULL;
        assert_int_equal(ec2_run_instances_query(&r, &q), -EINVAL);
        r = RUN;
        r.iam_instance_profile = "";
        assert_int_equal(ec2_run_instances_query(&r, &q), -EINVAL);
        r = RUN;
        r.delete_on_termination = blank_device;
        assert_int_equal(ec2_run_instances_query(&r, &q), -EINVAL);
        assert_null(q);

        assert_int_equal(ec2_terminate_instances_query(NULL, false, &q), -EINVAL);
        assert_int_equal(ec2_terminate_instances_query(none, false, &q), -EINVAL);
        assert_int_equal(ec2_describe_instance_status_query(blank, &q), -EINVAL);
        assert_int_equal(ec2_get_console_output_query("", true, &q), -EINVAL);

        /* DescribeInstanceStatus takes at most 100 ids, TerminateInstances 1000 */
        for (unsigned k = 0; k < 101; k++) {
                char *id = NULL;

                assert_true(asprintf(&id, "i-%017x", k) > 0);
                assert_int_equal(strv_push(&many, id), 0);
        }
        assert_int_equal(ec2_describe_instance_status_query(many, &q), -E2BIG);
        assert_int_equal(ec2_terminate_instances_query(many, false, &q), 0);
        aws_query_free(q);
        free(many[100]);
        many[100] = NULL;
        assert_int_equal(ec2_describe_instance_status_query(many, &q), 0);
        assert_string_equal(aws_query_get(q, "InstanceId.100"), "i-00000000000000063");
        assert_string_equal(aws_query_get(q, "IncludeAllInstances"), "true");
        assert_null(aws_query_get(q, "MaxResults"));
        aws_query_free(q);
}

/* The bucket each request draws from as the client charges it (aws_client_pace_category). */
static void test_requests_pacing(void **state) {
        _cleanup_(aws_query_freep) aws_query *run = NULL, *terminate = NULL, *status = NULL, *console = NULL;

        (void) state;
        assert_int_equal(ec2_run_instances_query(&RUN, &run), 0);
        assert_int_equal(ec2_terminate_instances_query(two_ids, false, &terminate), 0);
        assert_int_equal(ec2_describe_instance_status_query(two_ids, &status), 0);
        assert_int_equal(ec2_get_console_output_query("i-0a1b2c3d4e5f60789", false, &console), 0);
        assert_int_equal(aws_client_pace_category(run), PACE_MUTATING);
        assert_int_equal(aws_client_pace_category(terminate), PACE_MUTATING);
        /* ids, but neither MaxResults (EC2 refuses it with ids) nor a filter: the smaller
         * "unfiltered and unpaginated" bucket, the stricter reading */
        assert_int_equal(aws_client_pace_category(status), PACE_UNFILTERED);
        assert_int_equal(aws_client_pace_category(console), PACE_DESCRIBE);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_run_instances),
                cmocka_unit_test(test_run_instances_bad),
                cmocka_unit_test(test_instance_status),
                cmocka_unit_test(test_instance_status_last_and_bad),
                cmocka_unit_test(test_console_output),
                cmocka_unit_test(test_console_output_bad),
                cmocka_unit_test(test_requests_are_botocores),
                cmocka_unit_test(test_requests_refused),
                cmocka_unit_test(test_requests_pacing),
        };
        _cleanup_(freep) char *self = NULL, *beside = NULL;

        vectors_path = getenv("SIGV4_VECTORS");
        if (isempty(vectors_path) && argc > 1)
                vectors_path = argv[1];
        if (isempty(vectors_path)) {
                self = strdup(argv[0]);
                if (!self || asprintf(&beside, "%s/sigv4-vectors.txt", dirname(self)) < 0)
                        return 1;
                vectors_path = beside;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
