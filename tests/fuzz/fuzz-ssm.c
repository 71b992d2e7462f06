/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for SSM's answers over the JSON protocol: the body through
 * aws_json_response_parse() under a success and a failure status, then
 * ssm_parse_get_parameter() and ssm_parse_put_parameter() on any object it returns. Any
 * crash, leak or sanitizer report is a bug; a parsed parameter has a name and a value,
 * a version is at least 1, and a failure says something (a code, or a message).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/json.h"
#include "aws/ssm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const long statuses[] = { 200, 400, 500 };

        for (size_t k = 0; k < ELEMENTSOF(statuses); k++) {
                json_object *o = NULL;
                aws_error err = {};
                int r = aws_json_response_parse((const char *) data, size, statuses[k], "fuzz", &o, &err);

                if (r == 0) {
                        ssm_parameter p = {};
                        int64_t version = 0;

                        assert(o && statuses[k] == 200);
                        if (ssm_parse_get_parameter(o, &p) == 0)
                                assert(p.name && p.value);
                        if (ssm_parse_put_parameter(o, &version) == 0)
                                assert(version >= 1);
                        ssm_parameter_done(&p);
                        json_object_put(o);
                } else {
                        assert(!o);
                        assert(r == -ENOMEM || err.code || (err.message && *err.message));
                        if (r == -EREMOTEIO)
                                assert(err.code && *err.code && err.status == statuses[k]);
                }
                aws_error_done(&err);
        }
        return 0;
}
