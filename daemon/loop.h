/* SPDX-License-Identifier: MIT */
/*
 * `amirotd run`: the long-running service. A manager owns the sd-event loop
 * and every event source of its own: the units (unit.h), one per (policy,
 * region) with a timer at its next slot, the signals, the clock-step watch,
 * the watchdog, and the status line sent to systemd.
 *
 * Who owns which event sources. The loop belongs to whoever runs it: the
 * manager here for the service, the runner in commands.c for a one-shot
 * command. Everything below them is handed that loop explicitly and adds only
 * the sources of its own work, each freed by the object it serves, so that
 * freeing a run, a call or a client can never leave a callback behind. Every
 * source carries a description naming what it serves, so that sd-event's own
 * messages (a failing callback, SYSTEMD_LOG_LEVEL=debug) and a debugger say
 * which policy and region a source belongs to:
 *
 *   loop.c         "signal SIGTERM", "signal SIGINT", "signal SIGHUP" (stop,
 *                  stop, reload); "clock-step", a timerfd that wakes when the
 *                  wall clock is set (base/clock-step.h); the watchdog,
 *                  sd-event's own, armed by sd_event_set_watchdog() when
 *                  systemd asks for one.
 *   unit.c         per (policy, region): "slot P/R", a CLOCK_REALTIME timer at
 *                  its next run's slot, because slots are wall-clock times;
 *                  "retry P/R": a catch-up run after a failed one.
 *   commands.c     "signal SIGINT", "signal SIGTERM" (cancel the command) and
 *                  "progress", the once-a-second redraw of the pending images
 *                  on a terminal.
 *   run/engine.c,  a run's own timers, named for its policy and region: the
 *   run/exec.c     spread delays before the creates and the polls for pending
 *                  images; they end with the run (policy_run_free()).
 *   aws/client.c   a call's wait before a retry ("aws-backoff") or for a token
 *                  of its rate limit ("aws-pace"); ends with the call.
 *   aws/http.c     what curl multi asks for: one io source per socket
 *                  ("http-socket"), one timer for its timeouts ("http-timer"),
 *                  and a defer that starts queued requests from the loop
 *                  rather than inside a caller ("http-queue").
 *   aws/creds.c    a defer that answers credential requests from the loop,
 *                  never inside the call that asked ("creds-answer").
 *
 * Signals are blocked and read from a signalfd (sd_event_add_signal()), so no
 * code runs in signal context; loop_add_signal() below does both for the two
 * front doors.
 */
#pragma once

#include <systemd/sd-event.h>

typedef struct manager_options {
        const char *config_path;
        const char *policies_dir;
} manager_options;

/* Runs until SIGTERM or SIGINT; returns the exit status: 0, 1 (could not start or run), or
 * EX_CONFIG (78) when the global file or the policies directory is invalid at start. */
int manager_run(const manager_options *o);

/* Blocks signo and watches it with a source described "signal SIGTERM" etc. If the source cannot
 * be added, the signal is unblocked again (unless it was blocked before), so that it is never left
 * blocked with nothing reading it. 0 or -errno; does not log. */
int loop_add_signal(sd_event *e, int signo, sd_event_signal_handler_t handler, void *userdata,
                    sd_event_source **ret);
