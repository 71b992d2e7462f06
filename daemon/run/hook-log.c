/* SPDX-License-Identifier: MIT */
/*
 * See hook-log.h. The output excerpt is the operator's own script's: it goes into the
 * message as hook_excerpt() cut it (control characters replaced), quoted, last.
 */
#include <stdio.h>

#include "run/hook-log.h"

int hook_log_outcome(int level, const char *message_id, const log_fields *f, const char *what, const char *where,
                     const hook_outcome *o) {
        log_fields g = *f;
        char code[32] = "";

        g.error_code = o->error_code;
        g.request_id = o->request_id;
        if (o->exit_code >= 0)
                snprintf(code, sizeof(code), ", exit code %lld", (long long) o->exit_code);
        log_full(level, 0, message_id ?: MESSAGE_HOOK_RESULT, &g, "policy '%s' in %s: %s %s%s%s%s: %s%s%s%s%s%s%s%s%s%s%s",
                 g.policy, g.region, what, where,
                 o->command_id ? " (command " : "", o->command_id ?: "", o->command_id ? ")" : "",
                 o->r == 0 ? "succeeded" : o->r == -ETIMEDOUT ? "timed out" : "failed",
                 o->status ? ", " : "", o->status ?: "", code,
                 o->error_code ? ": " : "", o->error_code ?: "",
                 o->aws_message ? ": " : "", o->aws_message ?: "",
                 isempty(o->output) ? "" : "; output: '", isempty(o->output) ? "" : o->output,
                 isempty(o->output) ? "" : "'");
        return o->r;
}
