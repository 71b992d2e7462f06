/* SPDX-License-Identifier: MIT */
/*
 * The Run Command calls (aws/ssm-command.c) against the real simulator (tests/ec2sim),
 * which checks every signature and serves Run Command as the SSM API reference says:
 * a command sent, read back while it runs and when it has ended; InvocationDoesNotExist
 * right after SendCommand as -ENOENT; a failed script's ResponseCode and stderr;
 * SendCommand's InvalidInstanceId as an error value; ListCommands over pages of 50 with
 * its filters; an op cancelled never calls back; a failure whose error the client left
 * empty (out of memory reading the answer, injected by wrapping the answer's parser:
 * -Wl,--wrap in the Makefile) still reports one that names the call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "aws-sync.h"
#include "aws/client.h"
#include "aws/creds.h"
#include "aws/json.h"
#include "aws/ssm.h"
#include "aws/ssm-command.h"
#include "ec2sim-helper.h"

static test_server sim;

/* While set, reading an answer runs out of memory (aws/json.c then sets no error). */
static bool answers_out_of_memory;

int __real_aws_json_response_parse(const char *body, size_t size, long status, const char *header_request_id,
                                   json_object **ret, aws_error *ret_error);
int __wrap_aws_json_response_parse(const char *body, size_t size, long status, const char *header_request_id,
                                   json_object **ret, aws_error *ret_error);

int __wrap_aws_json_response_parse(const char *body, size_t size, long status, const char *header_request_id,
                                   json_object **ret, aws_error *ret_error) {
        if (answers_out_of_memory)
                return -ENOMEM;
        return __real_aws_json_response_parse(body, size, status, header_request_id, ret, ret_error);
}

typedef struct fixture {
        sd_event *event;
        http_client *http;
        creds_provider *creds;
        aws_client *ssm;
} fixture;

typedef struct result {
        bool done;
        int r;
        char *id;
        char *code;
        char *message;
        ssm_command_invocation inv;
        size_t n;
        char *first_comment;
} result;

static void result_done(result *res) {
        free(res->id);
        free(res->code);
        free(res->message);
        free(res->first_comment);
        ssm_command_invocation_done(&res->inv);
        *res = (result) {};
}

static int setup_all(void **state) {
        (void) state;
        return test_ec2sim_start(&sim) < 0 ? -1 : 0;
}

static int teardown_all(void **state) {
        (void) state;
        test_server_stop(&sim);
        return 0;
}

static int setup(void **state) {
        creds_options o = { .access_key_id = TEST_EC2SIM_ACCESS_KEY, .secret_access_key = TEST_EC2SIM_SECRET_KEY };
        aws_client_options c = {
                .service = "ssm", .region = TEST_EC2SIM_REGION, .endpoint_url = sim.url,
                .json_target_prefix = SSM_TARGET_PREFIX,
        };
        fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_client_new(f->event, &f->http), 0);
        assert_int_equal(creds_provider_new_chain(f->http, &o, &f->creds), 0);
        assert_int_equal(aws_client_new(f->http, f->creds, &c, &f->ssm), 0);
        assert_int_equal(test_ec2sim_admin(f->http, &sim, "POST", "/_sim/reset", NULL, NULL), 0);
        assert_int_equal(test_ec2sim_admin(f->http, &sim, "POST", "/_sim/clock", "{\"freeze\": true}", NULL), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;

        aws_client_free(f->ssm);
        creds_provider_free(f->creds);
        http_client_free(f->http);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

/* ---- Helpers --------------------------------------------------------------------------- */

static void admin(fixture *f, const char *method, const char *path, const char *body) {
        assert_int_equal(test_ec2sim_admin(f->http, &sim, method, path, body, NULL), 0);
}

static char *new_instance(fixture *f) {
        _cleanup_(aws_json_freep) json_object *doc = NULL;
        json_object *list;

        assert_int_equal(test_ec2sim_admin(f->http, &sim, "POST", "/_sim/seed", "{\"instances\": [{}]}", &doc), 0);
        assert_true(json_object_object_get_ex(doc, "instances", &list));
        return strdup(json_object_get_string(json_object_array_get_idx(list, 0)));
}

static void advance(fixture *f, double seconds) {
        char body[64];

        (void) snprintf(body, sizeof(body), "{\"advance_seconds\": %.3f}", seconds);
        admin(f, "POST", "/_sim/clock", body);
}

static void keep_code(result *res, const aws_error *err) {
        assert_non_null(err);           /* "<0 with err": never a NULL one */
        if (err->code)
                res->code = strdup(err->code);
        if (err->message)
                res->message = strdup(err->message);
}

static void on_sent(int r, const char *command_id, const aws_error *err, void *userdata) {
        result *res = userdata;

        res->r = r;
        res->done = true;
        if (r >= 0)
                res->id = strdup(command_id);
        else
                keep_code(res, err);
}

static void on_invocation(int r, const ssm_command_invocation *inv, const aws_error *err, void *userdata) {
        result *res = userdata;

        res->r = r;
        res->done = true;
        if (r < 0) {
                keep_code(res, err);
                return;
        }
        res->inv = (ssm_command_invocation) { .status = inv->status, .response_code = inv->response_code };
        assert_int_equal(strdup_or_null(inv->status_details, &res->inv.status_details), 0);
        assert_int_equal(strdup_or_null(inv->standard_output, &res->inv.standard_output), 0);
        assert_int_equal(strdup_or_null(inv->standard_error, &res->inv.standard_error), 0);
}

static void on_list(int r, const ssm_command_list *l, const aws_error *err, void *userdata) {
        result *res = userdata;

        res->r = r;
        res->done = true;
        if (r < 0) {
                keep_code(res, err);
                return;
        }
        res->n = l->n;
        if (l->n > 0)
                assert_int_equal(strdup_or_null(l->items[0].comment, &res->first_comment), 0);
}

static int send_sync(fixture *f, const char *iid, const char *script, const char *comment, result *res) {
        ssm_send_command_request req = {
                .instance_id = iid, .document = SSM_DOCUMENT_SHELL, .script = script,
                .execution_timeout = 120, .delivery_timeout = 600, .comment = comment,
        };

        *res = (result) {};
        assert_int_equal(ssm_send_command(f->ssm, &req, on_sent, res, NULL), 0);
        assert_int_equal(http_client_run_until(f->http, &res->done), 0);
        return res->r;
}

static int invocation_sync(fixture *f, const char *id, const char *iid, result *res) {
        *res = (result) {};
        assert_int_equal(ssm_get_command_invocation(f->ssm, id, iid, on_invocation, res, NULL), 0);
        assert_int_equal(http_client_run_until(f->http, &res->done), 0);
        return res->r;
}

static size_t calls_of(fixture *f, const char *action) {
        _cleanup_(aws_json_freep) json_object *doc = NULL;
        char path[128];

        (void) snprintf(path, sizeof(path), "/_sim/calls?action=%s", action);
        assert_int_equal(test_ec2sim_admin(f->http, &sim, "GET", path, NULL, &doc), 0);
        return json_object_array_length(doc);
}

/* ---- Tests ------------------------------------------------------------------------------ */

static void test_send_then_read_until_it_ends(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *iid = new_instance(f);
        _cleanup_(result_done) result sent = {};
        _cleanup_(result_done) result inv = {};
        char body[128];

        (void) snprintf(body, sizeof(body), "{\"instance\": \"%s\", \"invisible_gets\": 1}", iid);
        admin(f, "POST", "/_sim/run-command", body);
        assert_int_equal(send_sync(f, iid, "echo hello", "amirotd before web 2026-12-01T03:00Z", &sent), 0);
        assert_int_equal(strlen(sent.id), 36);

        /* "The Run Command API follows an eventual consistency model": not visible yet. */
        assert_int_equal(invocation_sync(f, sent.id, iid, &inv), -ENOENT);
        assert_string_equal(inv.code, "InvocationDoesNotExist");
        result_done(&inv);
        assert_int_equal(invocation_sync(f, sent.id, iid, &inv), 0);
        assert_int_equal(inv.inv.status, SSM_COMMAND_PENDING);
        assert_int_equal(inv.inv.response_code, -1);
        result_done(&inv);

        advance(f, 2);
        assert_int_equal(invocation_sync(f, sent.id, iid, &inv), 0);
        assert_int_equal(inv.inv.status, SSM_COMMAND_SUCCESS);
        assert_true(ssm_command_status_is_final(inv.inv.status));
        assert_int_equal(inv.inv.response_code, 0);
        assert_string_equal(inv.inv.status_details, "Success");
}

static void test_a_failed_script_and_a_refused_instance(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *iid = new_instance(f);
        _cleanup_(result_done) result sent = {};
        _cleanup_(result_done) result inv = {};
        char body[160];

        (void) snprintf(body, sizeof(body), "{\"instance\": \"%s\", \"outcome\": \"fail\", \"stderr\": \"busy\"}", iid);
        admin(f, "POST", "/_sim/run-command", body);
        assert_int_equal(send_sync(f, iid, "fsfreeze -f /data", NULL, &sent), 0);
        advance(f, 2);
        assert_int_equal(invocation_sync(f, sent.id, iid, &inv), 0);
        assert_int_equal(inv.inv.status, SSM_COMMAND_FAILED);
        assert_int_equal(inv.inv.response_code, 1);
        assert_string_equal(inv.inv.standard_error, "busy");
        result_done(&sent);

        (void) snprintf(body, sizeof(body), "{\"instance\": \"%s\", \"agent\": \"offline\"}", iid);
        admin(f, "POST", "/_sim/run-command", body);
        assert_int_equal(send_sync(f, iid, "true", NULL, &sent), -EREMOTEIO);
        assert_string_equal(sent.code, "InvalidInstanceId");
}

static void test_list_follows_pages_and_filters(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *iid = new_instance(f);
        _cleanup_(aws_json_freep) json_object *clock = NULL;
        _cleanup_(result_done) result res = {};
        json_object *now;
        time_t after;
        char comment[64];

        assert_int_equal(send_sync(f, iid, "true", "old", &res), 0);
        result_done(&res);
        advance(f, 3600);
        assert_int_equal(test_ec2sim_admin(f->http, &sim, "GET", "/_sim/clock", NULL, &clock), 0);
        assert_true(json_object_object_get_ex(clock, "now", &now));
        assert_int_equal(parse_iso8601(json_object_get_string(now), &after), 0);
        for (int i = 0; i < 61; i++) {
                (void) snprintf(comment, sizeof(comment), "amirotd freeze web %d", i);
                assert_int_equal(send_sync(f, iid, "true", comment, &res), 0);
                result_done(&res);
        }
        admin(f, "DELETE", "/_sim/calls", NULL);
        assert_int_equal(ssm_list_commands(f->ssm, &(ssm_list_commands_request) {
                                .instance_id = iid, .invoked_after = after - 1, .document = SSM_DOCUMENT_SHELL },
                        on_list, &res, NULL), 0);
        assert_int_equal(http_client_run_until(f->http, &res.done), 0);
        assert_int_equal(res.r, 0);
        assert_int_equal(res.n, 61);                    /* not "old": before InvokedAfter */
        assert_string_equal(res.first_comment, "amirotd freeze web 60");
        assert_int_equal(calls_of(f, "ListCommands"), 2);
        result_done(&res);

        /* Every command when nothing filters. */
        assert_int_equal(ssm_list_commands(f->ssm, &(ssm_list_commands_request) {}, on_list, &res, NULL), 0);
        assert_int_equal(http_client_run_until(f->http, &res.done), 0);
        assert_int_equal(res.n, 62);
}

static void test_errors_and_cancel(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *iid = new_instance(f);
        _cleanup_(result_done) result res = {};
        ssm_command_op *op = NULL;

        assert_int_equal(invocation_sync(f, "00000000-0000-0000-0000-000000000000", iid, &res), -ENOENT);
        result_done(&res);
        admin(f, "POST", "/_sim/faults", "{\"kind\": \"error\", \"action\": \"ListCommands\", "
                                         "\"code\": \"InvalidNextToken\", \"count\": 1}");
        assert_int_equal(ssm_list_commands(f->ssm, &(ssm_list_commands_request) {}, on_list, &res, NULL), 0);
        assert_int_equal(http_client_run_until(f->http, &res.done), 0);
        assert_int_equal(res.r, -EREMOTEIO);
        assert_string_equal(res.code, "InvalidNextToken");
        result_done(&res);

        assert_int_equal(ssm_send_command(f->ssm, &(ssm_send_command_request) {
                                .instance_id = iid, .document = SSM_DOCUMENT_SHELL, .script = "true" },
                        on_sent, &res, &op), 0);
        ssm_command_op_cancel(op);
        advance(f, 0);
        assert_false(res.done);
        assert_int_equal(ssm_send_command(f->ssm, &(ssm_send_command_request) {
                                .instance_id = iid, .document = SSM_DOCUMENT_SHELL, .script = "true",
                                .delivery_timeout = 10 }, on_sent, &res, &op), -ERANGE);
}

static void test_an_error_says_why_when_the_client_said_nothing(void **state) {
        fixture *f = *state;
        _cleanup_(freep) char *iid = new_instance(f);
        _cleanup_(result_done) result res = {};

        answers_out_of_memory = true;
        assert_int_equal(send_sync(f, iid, "true", "amirotd freeze web 2026-12-01T03:00Z", &res), -ENOMEM);
        assert_non_null(res.message);
        assert_non_null(strstr(res.message, "SendCommand"));
        result_done(&res);

        assert_int_equal(invocation_sync(f, "00000000-0000-0000-0000-000000000000", iid, &res), -ENOMEM);
        assert_non_null(res.message);
        assert_non_null(strstr(res.message, "GetCommandInvocation"));
        result_done(&res);

        assert_int_equal(ssm_list_commands(f->ssm, &(ssm_list_commands_request) {}, on_list, &res, NULL), 0);
        assert_int_equal(http_client_run_until(f->http, &res.done), 0);
        answers_out_of_memory = false;
        assert_int_equal(res.r, -ENOMEM);
        assert_non_null(res.message);
        assert_non_null(strstr(res.message, "ListCommands"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_send_then_read_until_it_ends, setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_failed_script_and_a_refused_instance, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list_follows_pages_and_filters, setup, teardown),
                cmocka_unit_test_setup_teardown(test_errors_and_cancel, setup, teardown),
                cmocka_unit_test_setup_teardown(test_an_error_says_why_when_the_client_said_nothing, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
