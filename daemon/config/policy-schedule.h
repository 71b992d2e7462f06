/* SPDX-License-Identifier: MIT */
/*
 * policy-schedule.c: a policy's `schedule` section. Not for use outside
 * daemon/config/.
 */
#pragma once

#include "config/value.h"

/* Reads the `schedule` mapping n into s: every and at, or cron; and the time zone. */
int config_schedule_parse(loader *l, schedule *s, const cnode *n);
