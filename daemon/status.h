/* SPDX-License-Identifier: MIT */
/*
 * `amirotd status`: the service's last run, next slot and images per policy
 * and region, from the metrics file (metrics.h) or else from the journal.
 * Returns the exit status (commands.h's EXIT_*).
 */
#pragma once

#include "commands.h"

int cmd_status(const cli_options *o);
