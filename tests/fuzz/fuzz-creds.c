/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the credential provider's parsers of outside input: the
 * shared-credentials / config INI format (looked up as a credentials-file
 * profile, a config-file profile and the default) and the IMDS credentials JSON.
 * The input is given with its exact size and no terminating NUL, as a file's
 * content would be. Any crash, leak or sanitizer report is a bug; on success the
 * keys must be non-empty, on failure the error must say something.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/creds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const aws_credentials *c) {
        assert(c->access_key_id && *c->access_key_id);
        assert(c->secret_access_key && *c->secret_access_key);
        assert(!c->session_token || *c->session_token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const sections[] = { "default", "prod", "profile prod" };
        _cleanup_(freep) char *text = NULL;
        aws_credentials *c = NULL;
        aws_error err = {};
        int r;

        /* A copy of exactly size bytes, so that reading past the end is caught. */
        text = malloc(size ?: 1);
        if (!text)
                return 0;
        if (size > 0)
                memcpy(text, data, size);

        for (size_t i = 0; i < ELEMENTSOF(sections); i++) {
                r = creds_parse_ini(text, size, sections[i], &c);
                assert(r == 0 || r == -ENOENT || r == -EINVAL || r == -ENOMEM);
                if (r == 0)
                        check(c);
                c = aws_credentials_free(c);
        }

        r = creds_parse_imds_json(text, size, &c, &err);
        if (r == 0) {
                check(c);
                assert(c->session_token);
        } else
                assert(r == -ENOMEM || (err.message && *err.message));
        aws_credentials_free(c);
        aws_error_done(&err);
        return 0;
}
