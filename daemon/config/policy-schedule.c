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

/* UTC is kept as no time zone: the schedule then needs no zone database. */
static void parse_timezone(loader *l, schedule *s, const cnode *n) {
        if (cvalue_string(l, n, "timezone", &s->timezone) < 0)
                return;
        if (!timezone_is_valid(s->timezone)) {
                loader_error(l, n, "unknown time zone '%s' (an IANA name such as Europe/Berlin)", s->timezone);
                s->timezone = mfree(s->timezone);
        } else if (streq(s->timezone, "UTC"))
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
