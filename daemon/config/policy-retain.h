/* SPDX-License-Identifier: MIT */
/*
 * policy-retain.c: a policy's `retain` section. Not for use outside
 * daemon/config/.
 */
#pragma once

#include "config/value.h"

/* Reads the `retain` mapping n into p: count, max_age, the tiers, min_count, departed,
 * max_retire_per_run; errors and warnings at their keys. 0, or -EINVAL when n is no mapping. */
int config_retain_parse(loader *l, policy *p, const cnode *n);

/* The same for a copy destination's `retain` (copy_to): count, max_age, the tiers and
 * min_count into *ret; departed and max_retire_per_run are no keys of it. */
int config_retain_rules_parse(loader *l, retain_rules *ret, const cnode *n);

/* Warns at n (the policy's `retain`) where a tier cannot mean what it says under p's schedule:
 * an hourly tier over images made less often than hourly. Called once the schedule is read. */
void config_retain_check_schedule(loader *l, const policy *p, const cnode *n);
