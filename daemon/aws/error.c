/* SPDX-License-Identifier: MIT */
/* aws_error: see error.h. */
#include <stdio.h>

#include "base/util.h"
#include "error.h"

void aws_error_done(aws_error *e) {
        free(e->code);
        free(e->message);
        free(e->request_id);
        *e = (aws_error) {};
}

int aws_error_set(aws_error *e, long status, const char *code, const char *message, const char *request_id) {
        aws_error n = { .status = status };

        if (strdup_or_null(code, &n.code) < 0 ||
            strdup_or_null(message, &n.message) < 0 ||
            strdup_or_null(request_id, &n.request_id) < 0) {
                aws_error_done(&n);
                return -ENOMEM;
        }
        aws_error_done(e);
        *e = n;
        return 0;
}

int aws_error_setf(aws_error *e, const char *fmt, ...) {
        va_list ap;
        char *m;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        aws_error_done(e);
        e->message = m;
        return 0;
}

const char *aws_error_code_from_status(long status, char buf[static 16]) {
        if (status == 500)
                return "InternalError";
        if (status == 503)
                return "Unavailable";
        snprintf(buf, 16, "HTTP%ld", status);
        return buf;
}

bool aws_error_is(const aws_error *e, const char *code) {
        return e->code && streq(e->code, code);
}

void aws_error_move(aws_error *dst, aws_error *src) {
        aws_error_done(dst);
        *dst = *src;
        *src = (aws_error) {};
}
