/* SPDX-License-Identifier: MIT */
/*
 * The pure decisions of the hooks around CreateImage (exec-hook.c runs them): what
 * image.on_hook_failure makes of a failed image.before or freeze, which SSM document a
 * hook runs in, the Comment that marks amirotd's commands and finds its freezes again
 * after a restart, which of those freezes never saw a thaw, how long the freeze may still
 * be held, how often a command is polled, the environment of a local hook and the excerpt
 * of a hook's output that goes into the journal. No I/O, no clock: time is a parameter.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/util.h"
#include "policy.h"

/* The four kinds of command amirotd runs around CreateImage, in the Comment's spelling. */
typedef enum hook_kind {
        HOOK_BEFORE,
        HOOK_FREEZE,
        HOOK_THAW,
        HOOK_AFTER,
        _HOOK_KIND_MAX,
        _HOOK_KIND_INVALID = -EINVAL,
} hook_kind;

const char *hook_kind_to_string(hook_kind k);
hook_kind hook_kind_from_string(const char *s);

/* Whether the policy runs anything around its CreateImage: without, the executor sends
 * CreateImage exactly as before (no call more, no state more). */
bool hook_wanted(const policy *p);

/* What follows a failed image.before or freeze. */
typedef struct hook_verdict {
        bool create;                    /* CreateImage goes out; false: skip (the action fails) */
        bool no_reboot;                 /* its NoReboot */
        const char *what;               /* for the log line: "skipping the image", ... */
} hook_verdict;

hook_verdict hook_failure_verdict(policy_hook_failure f, bool planned_no_reboot);

/* The SSM document a hook runs in: its own, else by the instance's platform. */
const char *hook_document(const policy_hook *h, bool windows);

/* "amirotd <kind> <policy> <slot>", cut to SSM's 100 characters; NULL when out of memory. */
char *hook_comment(hook_kind k, const char *policy_name, const char *slot);
/* The kind of a Comment amirotd wrote for policy_name (any slot), or _HOOK_KIND_INVALID;
 * *ret_slot (may be NULL) points into comment at its slot ("" when none). */
hook_kind hook_comment_kind(const char *comment, const char *policy_name, const char **ret_slot);

/* The token that ties a thaw to its freeze on the instance (hook-script.h): "POLICY.SLOT",
 * known again after a restart from the freeze's Comment. NULL when out of memory. */
char *hook_token(const char *policy_name, const char *slot);

/* A command of ListCommands, as far as the search for unthawed freezes needs it. */
typedef struct hook_command_seen {
        const char *comment;
        const char *instance_id;        /* its one instance (amirotd sends to one) */
        usec_t requested;               /* RequestedDateTime with its fraction, since the epoch */
} hook_command_seen;

/* A freeze found with no thaw after it. */
typedef struct hook_frozen {
        char *instance_id;
        char *slot;
} hook_frozen;

void hook_frozen_free(hook_frozen *l, size_t n);

/* policy_name's freezes in seen that no thaw of the same instance and slot followed
 * (requested at or after the freeze): a daemon killed between the two. A freeze requested
 * less than hold seconds (hook_freeze_hold()) before now (wall clock, microseconds) is left
 * alone: a live run holds it (this host's or another one's running the same policy), and
 * thaws it itself, or its watchdog does. One per instance and slot, sorted by instance.
 * 0 or -ENOMEM. */
int hook_unthawed(const hook_command_seen *seen, size_t n, const char *policy_name, usec_t now, uint64_t hold,
                  hook_frozen **ret, size_t *ret_n);

/* The part of freeze_timeout that CreateImage must have been answered within, so that the
 * instance's own watchdog never thaws under a CreateImage still being taken. */
uint64_t hook_freeze_hold(uint64_t freeze_timeout);
/* How far back ListCommands looks for a freeze after a restart: past that the watchdog
 * has thawed it. */
uint64_t hook_freeze_window(uint64_t freeze_timeout);

/* Whether a thaw whose SendCommand failed (r, and the AWS error code or NULL) is sent again
 * (until the freeze's watchdog has thawed anyway), and the wait before the n-th new try
 * (n from 0), in microseconds. */
bool hook_send_retryable(int r, const char *error_code);
usec_t hook_thaw_retry_delay(unsigned n);

/* The wait before the n-th GetCommandInvocation (n from 0), in microseconds. */
usec_t hook_poll_delay(unsigned n);

/* The environment of a local hook: env (the daemon's) without its secrets and without
 * any AMIROTD_* of its own, then extra ("KEY=value", NULL-terminated). 0 or -ENOMEM. */
int hook_environment(char *const *env, char *const *extra, char ***ret);

/* "before, freeze, after": what runs around each CreateImage of p, for `plan`; NULL when
 * nothing does. */
#define HOOK_SUMMARY_MAX 32
const char *hook_summary(const policy *p, char buf[static HOOK_SUMMARY_MAX]);

/* What a hook printed, for a log line: at most HOOK_EXCERPT_MAX bytes of out without its
 * trailing newlines, cut between characters, valid UTF-8 (an ill-formed byte as '?'),
 * control characters but newlines and tabs as '?', "..." when cut. Newly allocated; NULL
 * when out of memory. */
#define HOOK_EXCERPT_MAX 1024
char *hook_excerpt(const char *out, size_t len);

/* How a hook ended (hook-local.c, hook-ssm.c), for its log line and the next step. */
typedef struct hook_outcome {
        int r;                          /* 0: success; -EIO: it ran and failed; -ETIMEDOUT: not done
                                         * within its timeout; -EHOSTDOWN: the SSM agent is not online;
                                         * another <0: it could not be run (aws_message says why) */
        const char *status;             /* "exited with status 3", "Success", "Failed", "TimedOut", ... */
        int64_t exit_code;              /* the script's; -1 when none */
        const char *command_id;         /* SSM's CommandId; NULL for a local hook */
        const char *output;             /* an excerpt (hook_excerpt()); may be NULL */
        const char *error_code;         /* an AWS call's failure: its code, request id, message */
        const char *request_id;
        const char *aws_message;
} hook_outcome;

/* A SendCommand SSM never accepted (no command id) for a reason that may pass later
 * (hook_send_retryable()): worth sending again. */
bool hook_outcome_resendable(const hook_outcome *o);

/* Called once, from the loop, never from inside the call that started the hook. */
typedef void (*hook_done_cb)(const hook_outcome *o, void *userdata);
