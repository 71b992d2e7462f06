/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the HTTP header lines of every answer, as curl's header
 * callback hands them over: the input split at each '\n' (the '\n' kept), each
 * line given with its exact size and no terminating NUL, to
 * http_transfer_header_line(), which keeps x-amzn-RequestId and reads Date
 * (curl_getdate()). amirotd reads no other header (Retry-After is not used: the
 * SDKs' standard retry mode ignores it too). Any crash, leak or sanitizer report
 * is a bug; a request id kept has no line break in it, a date is after 1970.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/http-transfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        http_transfer t = {};
        size_t at = 0;
        int r;

        while (at < size) {
                const uint8_t *nl = memchr(data + at, '\n', size - at);
                size_t n = nl ? (size_t) (nl - (data + at)) + 1 : size - at;
                char *line = malloc(n);

                if (!line)
                        break;
                memcpy(line, data + at, n);
                r = http_transfer_header_line(&t, line, n);
                assert(r == 0 || r == -ENOMEM);
                free(line);
                at += n;
        }
        if (t.request_id)
                assert(!strpbrk(t.request_id, "\r\n"));
        assert(t.date >= 0);
        free(t.request_id);
        return 0;
}
