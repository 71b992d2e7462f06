/* SPDX-License-Identifier: MIT */
/*
 * What a run says about its plans, once a run: an empty selection, images of a future
 * slot (from the first plan), retirements held back by max_retire_per_run (from the
 * last). Logging only; the run's state stays in engine.c.
 */
#pragma once

#include <stdbool.h>

#include "run/plan.h"
#include "policy.h"

/* no_targets_said: the empty selection was warned about in this configuration generation
 * already; it is said at debug level then. */
void engine_log_first_plan(const policy *p, const char *region, const plan *first, bool no_targets_said);
/* The retirements deregistration protection stopped in a plan of the run (plan.skipped),
 * each image once a run: said holds the ids said so far. */
void engine_log_skipped(const policy *p, const char *region, const plan *pl, char ***said);
/* What the run's last plan held back, and why (nothing when it held nothing back). */
void engine_log_held(const policy *p, const char *region, const plan *last);
