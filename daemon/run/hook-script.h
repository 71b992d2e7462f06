/* SPDX-License-Identifier: MIT */
/*
 * The freeze and thaw scripts that image.freeze sends to an instance by SSM Run Command
 * (AWS-RunShellScript): pure text builders, POSIX sh. The freeze script syncs, freezes
 * each file system it may (hook-script.c says which), prints "frozen MOUNT-POINT" for
 * each, and starts a detached watchdog that thaws them after the timeout if no thaw
 * came. The thaw script thaws what the freeze of the same token froze, ends its
 * watchdog, and prints "thawed MOUNT-POINT" for each ("nothing frozen" when there is
 * nothing to do). Both exit 0 when there is nothing to do, and may run any number of
 * times; the freeze exits non-zero, with a message on stderr, when a file system
 * cannot be frozen, after thawing what it froze.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Where the scripts keep their state on the instance: under /run, a tmpfs, never frozen. */
#define HOOK_SCRIPT_STATE_DIR "/run/amirotd-freeze"
#define HOOK_SCRIPT_MOUNTINFO "/proc/self/mountinfo"
/* A token: 1 to this many of [A-Za-z0-9._:-]. */
#define HOOK_SCRIPT_TOKEN_MAX 128

/* A token ties a thaw to its freeze: a thaw of another token, and a watchdog of an
 * earlier run of the freeze, leave a freeze alone. It must be known again after a
 * restart, from what ListCommands tells of the freeze (its Comment): e.g. the
 * policy and the slot. */
bool hook_script_token_valid(const char *token);

/* The freeze script: timeout the seconds after which the instance thaws itself (its
 * line "FREEZE_TIMEOUT=<seconds>"). -EINVAL for a timeout of 0 or an invalid token,
 * -ENOMEM. */
int hook_script_freeze(uint64_t timeout, const char *token, char **ret);
/* The thaw script of the freeze of token. -EINVAL for an invalid token, -ENOMEM. */
int hook_script_thaw(const char *token, char **ret);

/* The same with the mount table read from mountinfo and the state kept in state (absolute
 * paths without quotes or backslashes), for the tests that run the scripts for real. */
typedef struct hook_script_paths {
        const char *mountinfo;
        const char *state;
} hook_script_paths;

int hook_script_freeze_at(const hook_script_paths *at, uint64_t timeout, const char *token, char **ret);
int hook_script_thaw_at(const hook_script_paths *at, const char *token, char **ret);
