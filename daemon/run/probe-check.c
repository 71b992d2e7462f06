/* SPDX-License-Identifier: MIT */
/* See probe-check.h. */
#include <stdarg.h>
#include <stdio.h>

#include "run/probe-check.h"

void probe_check_set(probe_check *k, probe_verdict v, const char *fmt, ...) {
        va_list ap;

        k->verdict = v;
        k->detail = mfree(k->detail);
        va_start(ap, fmt);
        if (vasprintf(&k->detail, fmt, ap) < 0)
                k->detail = NULL;
        va_end(ap);
}

/* Codes by which AWS refuses the caller rather than the request. */
static bool is_refusal(const aws_error *err) {
        return err && (aws_error_is(err, "UnauthorizedOperation") || aws_error_is(err, "AuthFailure") ||
                       aws_error_is(err, "Blocked") || aws_error_is(err, "OptInRequired") ||
                       aws_error_is(err, "AccessDeniedException"));     /* SSM's (JSON protocol) */
}

void probe_check_judge(probe_check *k, int r, const aws_error *err, const char *on) {
        const char *code = err && err->code ? err->code : NULL;
        const char *message = err && err->message ? err->message : strerror(-r);

        if (r >= 0 || (err && aws_error_is(err, "DryRunOperation")))
                probe_check_set(k, PROBE_PERMITTED, "%s", on);
        else if (is_refusal(err))
                probe_check_set(k, PROBE_DENIED, "%s: %s", code, message);
        else
                probe_check_set(k, PROBE_FAILED, "%s%s%s", code ?: "", code ? ": " : "", message);
}
