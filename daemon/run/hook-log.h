/* SPDX-License-Identifier: MIT */
/*
 * The one log line of a hook's result (exec-hook.c, thaw-keeper.c): where it ran, its SSM
 * command id, status, exit code and an excerpt of its output, with MESSAGE_HOOK_RESULT
 * unless told otherwise.
 */
#pragma once

#include "base/log.h"
#include "run/plan-hook.h"

/* what: "image.before", "freeze", ...; where: "on i-0abc by SSM" or "on this host". Returns
 * o->r (0 for a success). */
int hook_log_outcome(int level, const char *message_id, const log_fields *f, const char *what, const char *where,
                     const hook_outcome *o);
