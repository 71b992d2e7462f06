/* SPDX-License-Identifier: MIT */
/*
 * A local hook (image.before/after with `local:`): `/bin/sh -c COMMAND` as a child of the
 * daemon, on the loop. stdin is /dev/null; stdout and stderr go into one pipe, of which
 * the first HOOK_OUTPUT_MAX bytes are kept for the journal; the child leads a process
 * group of its own, so that its timeout ends the whole script (SIGTERM, then SIGKILL
 * HOOK_KILL_GRACE later), not just the shell.
 */
#pragma once

#include <systemd/sd-event.h>

#include "run/plan-hook.h"

#define HOOK_OUTPUT_MAX (4 * 1024)
#define HOOK_KILL_GRACE (5 * USEC_PER_SEC)

typedef struct hook_local hook_local;

/* env: the child's whole environment (hook_environment()). description names the event
 * sources ("hook before web/us-east-1 i-0abc"). cb comes once, from the loop. */
int hook_local_start(sd_event *e, const char *command, char *const *env, usec_t timeout, const char *description,
                     hook_done_cb cb, void *userdata, hook_local **ret);
/* A child still running is killed with its process group (SIGKILL) and reaped; cb is not
 * called. Accepts NULL. */
hook_local *hook_local_free(hook_local *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(hook_local *, hook_local_free);
