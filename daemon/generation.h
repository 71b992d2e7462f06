/* SPDX-License-Identifier: MIT */
/*
 * A generation of the service: one loaded configuration and the AWS clients
 * built from it, reference-counted. A reload builds a new one and the manager
 * (loop.c) swaps it in, while the runs still in flight, and the policies a
 * broken file keeps, hold on to the generation they started with.
 */
#pragma once

#include <systemd/sd-event.h>

#include "aws/stats.h"
#include "config/config.h"
#include "run/clients.h"
#include "loop.h"

typedef struct generation {
        unsigned n_ref;
        config *config;
        aws_pool *pool;
} generation;

generation *generation_ref(generation *g);
generation *generation_unref(generation *g);

/*
 * Loads the configuration with config_load_keep_valid() and logs every diagnostic,
 * errors with MESSAGE_RELOAD_FAILED; the clients count their calls in stats (may be
 * NULL). 0 (a policy file with an error is left out: ret_diag->n_errors > 0), -EINVAL
 * (the global file or the policies directory is invalid), or -ENOMEM. ret_diag is
 * always initialised; the caller releases it.
 */
int generation_new(sd_event *event, const manager_options *o, aws_stats *stats, generation **ret,
                   config_diagnostics *ret_diag);
