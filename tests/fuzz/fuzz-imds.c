/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the instance metadata service's answers, each given the
 * same bytes with their exact size and no terminating NUL, as a body would be:
 * the session token (PUT /latest/api/token), the role name
 * (GET .../security-credentials/) and the credentials JSON of the role. amirotd
 * reads nothing else from IMDS (no region, no identity document). Any crash,
 * leak or sanitizer report is a bug. A token that is accepted goes into a
 * header, so it must be printable and short; a role goes into a URL path, so it
 * must be an IAM role name.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/creds-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_token(const char *text, size_t size) {
        char *token = NULL;
        const char *why = NULL;
        int r;

        r = creds_imds_parse_token(text, size, &token, &why);
        if (r == 0) {
                assert(*token && strlen(token) <= 4096);
                for (const char *c = token; *c; c++)
                        assert(*c > 0x20 && *c < 0x7f);
        } else
                assert(r == -ENOMEM || (r == -EBADMSG && why && !token));
        free(token);
}

static void check_role(const char *text, size_t size) {
        char *role = NULL;
        const char *why = NULL;
        int r;

        r = creds_imds_parse_role(text, size, &role, &why);
        if (r == 0) {
                assert(*role && strlen(role) <= 64);
                assert(strspn(role, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-") ==
                       strlen(role));
        } else
                assert(r == -ENOMEM || ((r == -EBADMSG || r == -ENOENT) && why && !role));
        free(role);
}

static void check_credentials(const char *text, size_t size) {
        aws_credentials *c = NULL;
        aws_error err = {};
        int r;

        r = creds_parse_imds_json(text, size, &c, &err);
        if (r == 0) {
                assert(c->access_key_id && *c->access_key_id);
                assert(c->secret_access_key && *c->secret_access_key);
                assert(c->session_token && *c->session_token);
        } else
                assert(r == -ENOMEM || (err.message && *err.message));
        aws_credentials_free(c);
        aws_error_done(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text;

        /* A copy of exactly size bytes, so that reading past the end is caught. */
        text = malloc(size ?: 1);
        if (!text)
                return 0;
        if (size > 0)
                memcpy(text, data, size);
        check_token(text, size);
        check_role(text, size);
        check_credentials(text, size);
        free(text);
        return 0;
}
