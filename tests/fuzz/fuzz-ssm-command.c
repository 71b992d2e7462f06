/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for SSM Run Command's answers over the JSON protocol: the body
 * through aws_json_response_parse() under a success and a failure status, then
 * ssm_parse_send_command(), ssm_parse_command_invocation() and ssm_parse_list_commands()
 * (twice, as pages append) on any object it returns. Any crash, leak or sanitizer report
 * is a bug; a command id is never empty, an invocation's status is a known one, a list
 * grows only by whole pages of commands that each have an id, and a NextToken is never
 * empty.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/json.h"
#include "aws/ssm-command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_all(json_object *o) {
        ssm_command_invocation inv = {};
        ssm_command_list l = {};
        char *id = NULL, *token = NULL;

        if (ssm_parse_send_command(o, &id) == 0)
                assert(id && *id);
        free(id);
        if (ssm_parse_command_invocation(o, &inv) == 0)
                assert(inv.status >= 0 && inv.status < _SSM_COMMAND_STATUS_MAX);
        ssm_command_invocation_done(&inv);
        for (int page = 0; page < 2; page++) {
                size_t before = l.n;
                int r = ssm_parse_list_commands(o, &l, &token);

                assert(l.n <= l.cap);
                if (r < 0)
                        assert(l.n == before && !token);
                for (size_t i = 0; i < l.n; i++)
                        assert(l.items[i].id && *l.items[i].id);
                assert(!token || *token);
                token = mfree(token);
        }
        ssm_command_list_done(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const long statuses[] = { 200, 400, 500 };

        for (size_t k = 0; k < ELEMENTSOF(statuses); k++) {
                json_object *o = NULL;
                aws_error err = {};
                int r = aws_json_response_parse((const char *) data, size, statuses[k], "fuzz", &o, &err);

                if (r == 0) {
                        assert(o && statuses[k] == 200);
                        parse_all(o);
                        json_object_put(o);
                } else {
                        assert(!o);
                        if (r == -EREMOTEIO)
                                assert(err.code && *err.code && err.status == statuses[k]);
                }
                aws_error_done(&err);
        }
        return 0;
}
