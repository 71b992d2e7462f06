/* SPDX-License-Identifier: MIT */
/*
 * policy-schedule.c: a policy's `schedule` section. Not for use outside
 * daemon/config/.
 */
#pragma once

#include "config/value.h"

/* Reads the `schedule` mapping n into s: every and at, or cron; and the time zone. */
int config_schedule_parse(loader *l, schedule *s, const cnode *n);

/* Warns where `spread` is cut by the slots of schedule s (of policy policy_name, whose schedule
 * is node n): at the global `spread` if it was set, else at n. */
void config_schedule_check_spread(loader *l, const schedule *s, const cnode *n, const char *policy_name);
