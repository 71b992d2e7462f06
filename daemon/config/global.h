/* SPDX-License-Identifier: MIT */
/*
 * global.c: the schema of the global file amirotd.yaml, its defaults, and the
 * names it gives to log levels and pacing categories (for the dump). Not for
 * use outside daemon/config/.
 */
#pragma once

#include "config/value.h"

/* Every global setting's default, in a zeroed config. Returns 0 or -ENOMEM. */
int config_global_defaults(config *c);
/* The global file's one document (NULL: empty) into l->config. */
int config_global_parse(loader *l, const cnode *root);

const char *config_log_level_to_string(int priority);
const char *config_pacing_key(pace_category c);
