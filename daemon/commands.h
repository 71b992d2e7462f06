/* SPDX-License-Identifier: MIT */
/*
 * The one-shot commands: check, plan, once, list. Each returns the process's
 * exit status (see EXIT_* below and amirotd(8)).
 */
#pragma once

#include <stdbool.h>
#include <time.h>

#define EXIT_OK 0
#define EXIT_FAILED 1           /* invalid configuration, or an action or AWS call failed */
#define EXIT_USAGE 2            /* bad command line */

typedef struct cli_options {
        const char *config_path;        /* NULL: /etc/amirotd/amirotd.yaml */
        const char *policies_dir;       /* NULL: from the configuration */
        const char *policy;             /* NULL: every policy */
        bool json;
        bool dump;
        bool dry_run;
        bool no_wait;
        time_t now;                     /* 0: the real time; --now is for tests */
} cli_options;

int cmd_check(const cli_options *o);
int cmd_plan(const cli_options *o);
int cmd_once(const cli_options *o);
int cmd_list(const cli_options *o);
