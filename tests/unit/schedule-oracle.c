/* SPDX-License-Identifier: MIT */
/*
 * The schedule code as a filter, for differential tests against implementations
 * this project did not write (tests/schedule/test_schedule_oracle.py drives it:
 * croniter for cron, Python's zoneinfo for time zones). One process answers
 * thousands of queries a second, one line each, fields separated by tabs:
 *
 *   cron  EXPR  TZ  INSTANT              -> CURRENT NEXT
 *   every SECONDS  AT  TZ  INSTANT       -> CURRENT NEXT
 *
 * TZ is an IANA name or "UTC"; AT is seconds after local midnight; INSTANT,
 * CURRENT and NEXT are seconds since the epoch: CURRENT is schedule_slot_at(),
 * NEXT schedule_next_slot_after(). A query the code refuses answers
 * "error ERRNO MESSAGE". Zones are read once, as the configuration loader does.
 * Output is flushed after each line, so a driver may also talk to it in turns.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule/schedule.h"
#include "base/util.h"

#define MAX_FIELDS 6
#define MAX_ZONES 64

static struct {
        char *name;
        tz_zone *zone;
} zones[MAX_ZONES];
static size_t n_zones;

/* The zone's data, loaded once per name; NULL for UTC. */
static int zone_get(const char *name, tz_zone **ret) {
        const char *error = NULL;
        int r;

        if (streq(name, "UTC")) {
                *ret = NULL;
                return 0;
        }
        for (size_t i = 0; i < n_zones; i++)
                if (streq(zones[i].name, name)) {
                        *ret = zones[i].zone;
                        return 0;
                }
        if (n_zones == MAX_ZONES)
                return -ENOSPC;
        r = tz_zone_load(name, &zones[n_zones].zone, &error);
        if (r < 0)
                return r;
        zones[n_zones].name = strdup(name);
        if (!zones[n_zones].name)
                return -ENOMEM;
        *ret = zones[n_zones++].zone;
        return 0;
}

static int parse_int64(const char *s, int64_t *ret) {
        char *end;

        errno = 0;
        *ret = strtoll(s, &end, 10);
        return errno != 0 || end == s || *end ? -EINVAL : 0;
}

/* Fills s from the fields of a query; *ret_t is the instant asked about. */
static int query_schedule(char **f, size_t n, schedule *s, int64_t *ret_t, char **ret_error) {
        int64_t every, at;
        const char *tz;
        int r;

        if (streq(f[0], "cron") && n == 4) {
                s->kind = SCHEDULE_CRON;
                r = cron_parse(f[1], &s->cron, ret_error);
                if (r < 0)
                        return r;
                tz = f[2];
        } else if (streq(f[0], "every") && n == 5) {
                s->kind = SCHEDULE_EVERY;
                if (parse_int64(f[1], &every) < 0 || every <= 0 || parse_int64(f[2], &at) < 0 ||
                    at < 0 || at >= 86400)
                        return -EINVAL;
                s->every = (uint64_t) every;
                s->at = (uint32_t) at;
                tz = f[3];
        } else
                return -EINVAL;
        r = zone_get(tz, &s->zone);
        if (r < 0)
                return r;
        return parse_int64(f[n - 1], ret_t);
}

static void answer(char *line) {
        _cleanup_(freep) char *error = NULL;
        char *f[MAX_FIELDS], *save = NULL;
        schedule s = { 0 };
        time_t current, next;
        int64_t t;
        size_t n = 0;
        int r;

        for (char *p = strtok_r(line, "\t\n", &save); p; p = strtok_r(NULL, "\t\n", &save))
                if (n < MAX_FIELDS)
                        f[n++] = p;
        r = n > 0 ? query_schedule(f, n, &s, &t, &error) : -EINVAL;
        if (r >= 0)
                r = schedule_slot_at(&s, (time_t) t, &current);
        if (r >= 0)
                r = schedule_next_slot_after(&s, (time_t) t, &next);
        if (r < 0)
                printf("error %d %s\n", -r, error ?: strerror(-r));
        else
                printf("%" PRId64 " %" PRId64 "\n", (int64_t) current, (int64_t) next);
        fflush(stdout);
}

int main(void) {
        char *line = NULL;
        size_t size = 0;

        while (getline(&line, &size, stdin) >= 0)
                answer(line);
        free(line);
        for (size_t i = 0; i < n_zones; i++) {
                free(zones[i].name);
                tz_zone_unref(zones[i].zone);
        }
        return 0;
}
