/* SPDX-License-Identifier: MIT */
/*
 * What schedule.c takes from the files below it: the cron calendar search
 * (cron.c) and the time zone scope through which wall times become instants
 * (zone.c, over a zone's data from tzif.c), both on local seconds as time.h
 * defines them. The calls run one way: schedule.c -> cron.c, zone.c ->
 * tzif.c -> time.c. Not for use outside the schedule module.
 */
#pragma once

#include "schedule/schedule.h"
#include "schedule/time.h"
#include "schedule/tzif.h"
#include "base/util.h"

/* cron.c: the first local minute > x at which cron fires, and the last one <= x, as local
 * seconds. -ERANGE when none comes within 400 years (the calendar's full cycle) or years 1..9999. */
int cron_next_wall(const cron_spec *c, int64_t x, int64_t *ret);
int cron_prev_wall(const cron_spec *c, int64_t x, int64_t *ret);

/* zone.c: the scope through which wall times become instants, over a zone's data (tzif.c). */
typedef struct zone {
        const tz_zone *tz;              /* NULL: UTC */
        int error;                      /* first failed lookup (-ERANGE), sticky */
} zone;

int64_t zone_max_wall(zone *z, int64_t t);
unsigned zone_occurrences(zone *z, int64_t w, int64_t ret[static 3]);
int zone_first_at_or_after(zone *z, int64_t w, int64_t *ret);
