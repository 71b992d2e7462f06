/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for credential_process's outside input: the JSON the command
 * prints and the command line of the profile (split as shlex.split() does). The
 * input is given with its exact size, no terminating NUL, to the JSON parser, and
 * as a C string to the splitter. On success the keys must be non-empty and the
 * words non-NULL; on failure the error must say something.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/creds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(freep) char *text = NULL, *line = NULL;
        _cleanup_(strv_freep) char **argv = NULL;
        aws_credentials *c = NULL;
        aws_error err = {};
        int r;

        /* A copy of exactly size bytes, so that reading past the end is caught. */
        text = malloc(size ?: 1);
        line = strndup((const char *) data, size);
        if (!text || !line)
                return 0;
        if (size > 0)
                memcpy(text, data, size);

        r = creds_parse_process_json(text, size, &c, &err);
        if (r == 0) {
                assert(c->access_key_id && *c->access_key_id);
                assert(c->secret_access_key && *c->secret_access_key);
                assert(!c->session_token || *c->session_token);
        } else
                assert(r == -ENOMEM || (err.message && *err.message));
        aws_credentials_free(c);
        aws_error_done(&err);

        r = creds_process_split(line, &argv);
        assert(r == 0 || r == -EINVAL || r == -ENOENT || r == -ENOMEM);
        if (r == 0) {
                assert(argv[0]);
                for (size_t i = 0; argv[i]; i++)
                        assert(strlen(argv[i]) <= size);
        }
        return 0;
}
