/* SPDX-License-Identifier: MIT */
/*
 * A policy's `schedule`: `every` (with an optional `at`) or a `cron`
 * expression, in a `timezone`. Checked here so that a schedule that cannot
 * fire, or fires more often than hourly, is told at `amirotd check` rather
 * than seen in the bill.
 */
#include "config/policy-schedule.h"

/* Down to seconds, so that tests can drive many cycles quickly; under an hour warns. */
#define EVERY_MIN 1
#define EVERY_WARN 3600

/* "HH:MM", 00:00 to 23:59. */
static int parse_at(loader *l, const cnode *n, uint32_t *ret) {
        const char *s;

        if (!cvalue_expect(l, n, CNODE_SCALAR, "at"))
                return -EINVAL;
        s = n->value;
        if (strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' || s[1] < '0' || s[1] > '9' ||
            s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9' || (s[0] - '0') * 10 + (s[1] - '0') > 23) {
                loader_error(l, n, "'at' expects a time of day \"HH:MM\" (00:00 to 23:59), got '%s'%s", s,
                             n->plain && strchr(s, ':') == NULL ? " (quote it)" : "");
                return -EINVAL;
        }
        *ret = (uint32_t) (((s[0] - '0') * 10 + (s[1] - '0')) * 3600 + ((s[3] - '0') * 10 + (s[4] - '0')) * 60);
        return 0;
}

/* Each zone's file is read once per load and shared by every policy that names it; a reload
 * reads them afresh, so an upgraded tzdata takes effect with `systemctl reload`. */
static int loader_zone(loader *l, const char *name, tz_zone **ret, const char **ret_error) {
        tz_zone **zones;
        int r;

        for (size_t i = 0; i < l->n_zones; i++)
                if (streq(tz_zone_name(l->zones[i]), name)) {
                        *ret = tz_zone_ref(l->zones[i]);
                        return 0;
                }
        zones = reallocarray(l->zones, l->n_zones + 1, sizeof(*zones));
        if (!zones)
                return -ENOMEM;
        l->zones = zones;
        r = tz_zone_load(name, &zones[l->n_zones], ret_error);
        if (r < 0)
                return r;
        *ret = tz_zone_ref(zones[l->n_zones++]);
        return 0;
}

/* UTC is kept as no time zone: the schedule then needs no zone data. */
static void parse_timezone(loader *l, schedule *s, const cnode *n) {
        const char *why = NULL;
        int r;

        if (cvalue_string(l, n, "timezone", &s->timezone) < 0)
                return;
        if (streq(s->timezone, "UTC")) {
                s->timezone = mfree(s->timezone);
                return;
        }
        r = loader_zone(l, s->timezone, &s->zone, &why);
        if (r == -ENOMEM)
                l->oom = r;
        else if (r == -EBADMSG)
                loader_error(l, n, "time zone '%s': its file under /usr/share/zoneinfo is not a valid TZif file: %s",
                             s->timezone, why ?: "malformed");
        else if (r == -EINVAL)
                loader_error(l, n, "unknown time zone '%s' (an IANA name such as Europe/Berlin)", s->timezone);
        else if (r < 0)
                loader_error(l, n, "cannot read time zone '%s' under /usr/share/zoneinfo: %s", s->timezone,
                             strerror(-r));
        if (r < 0)
                s->timezone = mfree(s->timezone);
}

static void parse_every(loader *l, schedule *s, const cnode *every, const cnode *at) {
        s->kind = SCHEDULE_EVERY;
        if (cvalue_duration(l, every, "every", EVERY_MIN, CVALUE_DURATION_MAX, &s->every) >= 0 &&
            s->every < EVERY_WARN)
                loader_warning(l, every, "a schedule more often than hourly (every %s) makes many images "
                               "and many CreateImage calls", every->value);
        if (at)
                (void) parse_at(l, at, &s->at);
}

static int parse_cron(loader *l, schedule *s, const cnode *cron, const cnode *at) {
        _cleanup_(freep) char *msg = NULL;
        int r;

        s->kind = SCHEDULE_CRON;
        if (at)
                loader_error(l, at, "'at' goes with 'every'; with 'cron' the expression says when");
        if (cvalue_string(l, cron, "cron", &s->cron_expr) < 0)
                return 0;
        r = cron_parse(s->cron_expr, &s->cron, &msg);
        if (r == -ENOMEM)
                return (l->oom = r);
        if (r < 0)
                loader_error(l, cron, "invalid cron expression '%s': %s", s->cron_expr, msg ? msg : "cannot parse");
        else if (__builtin_popcountll(s->cron.minutes) > 1)
                loader_warning(l, cron, "a schedule more often than hourly ('%s' fires %d times an hour) "
                               "makes many images and many CreateImage calls", s->cron_expr,
                               __builtin_popcountll(s->cron.minutes));
        return 0;
}

/*
 * A run's creations start spread over `spread`, cut to a quarter of the time left in the slot
 * (loop.c): say so where a policy's slots make the cut, at `spread` if it was set, else at the
 * schedule. Slots are measured over the year from the load on (daylight saving time shortens
 * wall-clock slots, cron's gaps differ).
 */
void config_schedule_check_spread(loader *l, const schedule *s, const cnode *n, const char *policy_name) {
        char spread[DURATION_MAX], cut[DURATION_MAX] = "under 1s", slot[DURATION_MAX];
        const char *file = l->file;
        size_t file_index = l->file_index;
        uint64_t shortest, bound;

        if (l->config->spread == 0 || schedule_shortest_slot(s, l->now, l->now + 366 * 86400, &shortest) < 0)
                return;
        bound = shortest / CONFIG_SPREAD_SLOT_FRACTION;
        if (bound >= l->config->spread)
                return;
        format_duration(l->config->spread, spread);
        if (bound > 0)
                format_duration(bound, cut);
        format_duration(shortest, slot);
        if (!l->spread_pos.file) {
                loader_warning(l, n, "the default spread of %s is cut to %s for policy '%s': its slots last as "
                               "little as %s, and a run's creations start within a quarter of the time left in "
                               "the slot ('spread' in amirotd.yaml sets the window)",
                               spread, cut, policy_name ?: "?", slot);
                return;
        }
        /* At the global file's `spread`, then back to the policy's file. */
        l->file = l->spread_pos.file;
        l->file_index = l->spread_file_index;
        loader_diag_at(l, l->spread_pos.line, l->spread_pos.column, CONFIG_SEVERITY_WARNING,
                       "spread %s is cut to %s for policy '%s': its slots last as little as %s, and a run's "
                       "creations start within a quarter of the time left in the slot",
                       spread, cut, policy_name ?: "?", slot);
        l->file = file;
        l->file_index = file_index;
}

static const char *const schedule_keys[] = { "every", "at", "cron", "timezone", NULL };

int config_schedule_parse(loader *l, schedule *s, const cnode *n) {
        _cleanup_(freep) centry *e = NULL;
        const cnode *every = NULL, *at = NULL, *cron = NULL;
        size_t n_e = 0;
        int r;

        r = cvalue_mapping(l, n, "schedule", &e, &n_e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_e; i++) {
                const char *k = e[i].key->value;

                if (streq(k, "every"))
                        every = e[i].value;
                else if (streq(k, "at"))
                        at = e[i].value;
                else if (streq(k, "cron"))
                        cron = e[i].value;
                else if (streq(k, "timezone"))
                        parse_timezone(l, s, e[i].value);
                else
                        cvalue_unknown(l, e[i].key, "key", "'schedule'", schedule_keys);
        }

        if (every && cron) {
                loader_error(l, cron, "'schedule' takes either 'every' or 'cron', not both");
                return -EINVAL;
        }
        if (!every && !cron) {
                loader_error(l, n, "'schedule' needs 'every' (e.g. 24h) or 'cron' (e.g. \"0 3 * * *\")");
                return -EINVAL;
        }
        if (every) {
                parse_every(l, s, every, at);
                return 0;
        }
        return parse_cron(l, s, cron, at);
}
