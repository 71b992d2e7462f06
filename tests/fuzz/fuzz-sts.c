/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for STS's answers: the body through aws_response_parse()
 * under a success and a failure status, then creds_sts_parse() as AssumeRole and
 * as AssumeRoleWithWebIdentity read it (one parser, two root names). Any crash,
 * leak or sanitizer report is a bug; on success the keys and the token are
 * non-empty and the expiration is a time, on failure the error says something.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/creds-internal.h"
#include "aws/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_as(const xmlDoc *doc, const char *action) {
        aws_credentials *c = NULL;
        aws_error err = {};
        int r;

        r = creds_sts_parse(doc, action, &c, &err);
        if (r == 0) {
                assert(c->access_key_id && *c->access_key_id);
                assert(c->secret_access_key && *c->secret_access_key);
                assert(c->session_token && *c->session_token);
                assert(c->expiration > 0);
        } else
                assert(r == -ENOMEM || (r == -EBADMSG && err.message && *err.message));
        aws_credentials_free(c);
        aws_error_done(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const long statuses[] = { 200, 403 };

        for (size_t k = 0; k < ELEMENTSOF(statuses); k++) {
                xmlDoc *doc = NULL;
                aws_error err = {};

                if (aws_response_parse((const char *) data, size, statuses[k], NULL, &doc, &err) == 0) {
                        parse_as(doc, "AssumeRole");
                        parse_as(doc, "AssumeRoleWithWebIdentity");
                        xmlFreeDoc(doc);
                }
                aws_error_done(&err);
        }
        return 0;
}
