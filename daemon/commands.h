/* SPDX-License-Identifier: MIT */
/*
 * The one-shot commands: check, plan, once, list. Each returns the process's
 * exit status (see EXIT_* below and amirotd(8)).
 */
#pragma once

#include <stdbool.h>
#include <time.h>

/* Distinct, so that a script (or `systemctl status`) can tell what went wrong; amirotd(8),
 * EXIT STATUS. */
#define EXIT_OK 0
#define EXIT_PARTIAL 1          /* some of the work failed (an action, a policy region), the rest was done */
#define EXIT_USAGE 2            /* bad command line, or --policy names no policy */
#define EXIT_AWS 3              /* EC2 could not be read for any selected policy region, or (a dry run)
                                 * refused a permission that a run needs */
#define EXIT_CONFIG 78          /* the configuration is invalid (sysexits.h's EX_CONFIG) */

typedef struct cli_options {
        const char *config_path;        /* NULL: /etc/amirotd/amirotd.yaml */
        const char *policies_dir;       /* NULL: from the configuration */
        const char *policy;             /* NULL: every policy */
        bool json;
        bool dump;
        bool dry_run;
        bool no_wait;
        bool orphaned;                  /* list: the images of policies no longer configured */
        const char *region;             /* adopt: only this region of the policy; NULL: all */
        time_t now;                     /* 0: the real time; --now is for tests */
} cli_options;

int cmd_check(const cli_options *o);
int cmd_plan(const cli_options *o);
int cmd_once(const cli_options *o);
int cmd_list(const cli_options *o);
int cmd_adopt(const cli_options *o);
