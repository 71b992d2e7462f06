/* SPDX-License-Identifier: MIT */
/*
 * What schedule.c takes from the files below it: the cron calendar search
 * (cron.c) and the time zone scope through which wall times become instants
 * (zone.c), both on local seconds as time.h defines them. The calls run one
 * way: schedule.c -> cron.c, zone.c -> time.c. Not for use outside the
 * schedule module.
 */
#pragma once

#include "schedule/schedule.h"
#include "schedule/time.h"
#include "base/util.h"

/* cron.c: the first local minute > x at which cron fires, and the last one <= x, as local
 * seconds. -ERANGE when none comes within 400 years (the calendar's full cycle) or years 1..9999. */
int cron_next_wall(const cron_spec *c, int64_t x, int64_t *ret);
int cron_prev_wall(const cron_spec *c, int64_t x, int64_t *ret);

/* zone.c: while a zone is entered, TZ names its file and libc's localtime_r() reads it. */
typedef struct zone {
        bool local;                     /* false: UTC, computed without libc */
        char *saved_tz;                 /* TZ as it was, NULL if unset */
        int error;                      /* first failure of localtime_r(), sticky */
} zone;

int zone_enter(zone *z, const char *tz);        /* NULL or "UTC": no libc involved */
void zone_leave(zone *z);                       /* restores TZ; for _cleanup_ */
int64_t zone_max_wall(zone *z, int64_t t);
unsigned zone_occurrences(zone *z, int64_t w, int64_t ret[static 3]);
int zone_first_at_or_after(zone *z, int64_t w, int64_t *ret);
