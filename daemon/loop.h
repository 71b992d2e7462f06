/* SPDX-License-Identifier: MIT */
/*
 * `amirotd run`: the long-running service. A manager owns the sd-event loop
 * and every event source: one timer per (policy, region) at its next slot,
 * the signals, the watchdog, and the status line sent to systemd.
 */
#pragma once

typedef struct manager_options {
        const char *config_path;
        const char *policies_dir;
} manager_options;

/* Runs until SIGTERM or SIGINT; returns the exit status. */
int manager_run(const manager_options *o);
