/* SPDX-License-Identifier: MIT */
/*
 * Retention's keep rules for one instance, part of the pure planner (plan.h): which of
 * its counted images (available, of a slot that has begun) stay and, for the others,
 * which rule let them go. An image stays if any rule keeps it:
 * - the newest one, and any the run made;
 * - retain.count: the newest `count` not older than max_age (with max_age alone: every
 *   image not older than it, restic's --keep-within);
 * - each tier as restic's and borg's --keep-hourly ... --keep-yearly: walking newest
 *   first, the newest image of each distinct hour, day, ISO week (Monday to Sunday),
 *   month or year, until the tier has kept that many periods. Periods are read on the
 *   clock of the policy's time zone, from each image's slot start; max_age does not
 *   limit them (a yearly tier is meant to outlive it);
 * - retain.min_count: the newest min_count, whatever max_age and the tiers say.
 * An instance the policy no longer selects (departed) has its own rules when given:
 * departed.keep replaces count, the tiers and min_count by "the newest N", and
 * departed.max_age retires every image, the newest included, once the newest is older
 * than it. Without them it is judged like the others.
 *
 * Every rule is stable as time passes and newer images come: an image retired once is
 * never wanted back by a later plan (tests/unit/test-plan-keep.c proves it on random
 * histories), so a run never deletes what the next one would have kept.
 */
#include <stdio.h>

#include "run/plan.h"

static int64_t div_floor(int64_t a, int64_t b) {
        int64_t q = a / b;

        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The hour, day, ISO week, month and year of instant t on zone's clock, each as a number
 * that differs from one period to the next. An hour repeated when the clock falls back
 * is one period, as restic's formatted keys make it. */
static int period_keys(const tz_zone *zone, time_t t, int64_t ret[static _RETAIN_TIER_MAX]) {
        struct tm tm;
        int64_t local, days;
        int r;

        r = schedule_local_time(zone, t, &tm);
        if (r < 0)
                return r;
        local = (int64_t) t + tm.tm_gmtoff;
        days = div_floor(local, 86400);
        ret[RETAIN_HOURLY] = div_floor(local, 3600);
        ret[RETAIN_DAILY] = days;
        ret[RETAIN_WEEKLY] = div_floor(days + 3, 7);    /* 1970-01-01 was a Thursday */
        ret[RETAIN_MONTHLY] = ((int64_t) tm.tm_year + 1900) * 12 + tm.tm_mon;
        ret[RETAIN_YEARLY] = (int64_t) tm.tm_year + 1900;
        return 0;
}

static bool older_than(const plan_keep_image *g, time_t now, uint64_t max_age) {
        return max_age > 0 && g->creation_date > 0 && g->creation_date < now &&
                (uint64_t) (now - g->creation_date) > max_age;
}

static bool policy_has_tier(const policy *p) {
        for (retain_tier t = 0; t < _RETAIN_TIER_MAX; t++)
                if (p->retain_tiers[t] > 0)
                        return true;
        return false;
}

/* The tiers: keep[k] set for each image a tier keeps. An image whose time the zone cannot
 * place (outside years 0..9999) is kept: no rule can judge it. */
static void keep_tiers(const policy *p, const plan_keep_image *img, size_t n, bool *keep) {
        int64_t last[_RETAIN_TIER_MAX];
        unsigned left[_RETAIN_TIER_MAX];
        bool started[_RETAIN_TIER_MAX] = {};

        unsigned wanted = 0;

        for (retain_tier t = 0; t < _RETAIN_TIER_MAX; t++)
                wanted += left[t] = p->retain_tiers[t];
        /* The zone is read only while a tier still wants periods: most policies have none. */
        for (size_t k = 0; k < n && wanted > 0; k++) {
                int64_t key[_RETAIN_TIER_MAX];

                if (period_keys(p->schedule.zone, img[k].age_key, key) < 0) {
                        keep[k] = true;
                        continue;
                }
                for (retain_tier t = 0; t < _RETAIN_TIER_MAX; t++)
                        if (left[t] > 0 && (!started[t] || key[t] != last[t])) {
                                keep[k] = true;
                                last[t] = key[t];
                                started[t] = true;
                                left[t]--;
                                wanted--;
                        }
        }
}

/* count and max_age as before tiers came: `kept` counts what count keeps, the newest and
 * the run's new images included. Sets keep[k], and why[k] for what count lets go. */
static void keep_count(const policy *p, time_t now, const plan_keep_image *img, size_t n, bool *keep,
                       plan_keep_verdict *why) {
        size_t kept = 0;

        if (p->retain_count == 0 && p->retain_max_age == 0)
                return;
        for (size_t k = 0; k < n; k++) {
                if (k == 0 || img[k].created) {
                        kept++;
                        continue;
                }
                if (p->retain_count > 0 && kept >= p->retain_count)
                        why[k] = PLAN_RETIRE_COUNT;
                else if (older_than(&img[k], now, p->retain_max_age))
                        why[k] = PLAN_RETIRE_MAX_AGE;
                else {
                        keep[k] = true;
                        kept++;
                }
        }
}

/* A departed instance under retain.departed: true when its rules decided every image
 * (ret set), false when the policy's rules judge it. */
static bool keep_departed(const policy *p, time_t now, const plan_keep_image *img, size_t n,
                          plan_keep_verdict *ret) {
        if (p->departed_max_age > 0 && older_than(&img[0], now, p->departed_max_age)) {
                for (size_t k = 0; k < n; k++)
                        ret[k] = PLAN_RETIRE_DEPARTED_MAX_AGE;
                return true;
        }
        if (p->departed_keep == 0)
                return false;
        for (size_t k = 0; k < n; k++)
                ret[k] = k < p->departed_keep ? PLAN_KEEP : PLAN_RETIRE_DEPARTED_KEEP;
        return true;
}

int plan_keep(const policy *p, time_t now, bool departed, const plan_keep_image *img, size_t n,
              plan_keep_verdict *ret) {
        _cleanup_(freep) bool *keep = NULL;
        bool plain;

        if (!p || (n > 0 && (!img || !ret)))
                return -EINVAL;
        if (n == 0 || (departed && keep_departed(p, now, img, n, ret)))
                return 0;

        keep = calloc(n, sizeof(bool));
        if (!keep)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++)
                ret[k] = PLAN_RETIRE_NO_RULE;
        keep_count(p, now, img, n, keep, ret);
        /* With count and max_age alone, the reason names the one of them that let it go. */
        plain = !policy_has_tier(p) && p->retain_min_count == 0 && (p->retain_count > 0 || p->retain_max_age > 0);
        if (!plain)
                for (size_t k = 0; k < n; k++)
                        ret[k] = PLAN_RETIRE_NO_RULE;
        keep_tiers(p, img, n, keep);
        for (size_t k = 0; k < n && k < p->retain_min_count; k++)
                keep[k] = true;
        for (size_t k = 0; k < n; k++)
                if (k == 0 || img[k].created || keep[k])
                        ret[k] = PLAN_KEEP;
        return 0;
}

/* "count 3, max_age 90d, daily 7, min_count 2": the rules a policy gives. */
static int format_rules(const policy *p, char **ret) {
        char buf[512], age[DURATION_MAX];
        size_t w = 0;

        buf[0] = '\0';
#define APPEND(...) (w += (size_t) snprintf(buf + w, w < sizeof(buf) ? sizeof(buf) - w : 0, __VA_ARGS__))
        if (p->retain_count > 0)
                APPEND("%scount %u", w ? ", " : "", p->retain_count);
        if (p->retain_max_age > 0)
                APPEND("%smax_age %s", w ? ", " : "", format_duration(p->retain_max_age, age));
        for (retain_tier t = 0; t < _RETAIN_TIER_MAX; t++)
                if (p->retain_tiers[t] > 0)
                        APPEND("%s%s %u", w ? ", " : "", retain_tier_to_string(t), p->retain_tiers[t]);
        if (p->retain_min_count > 0)
                APPEND("%smin_count %u", w ? ", " : "", p->retain_min_count);
#undef APPEND
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

int plan_keep_reason(const policy *p, plan_keep_verdict v, char **ret) {
        _cleanup_(freep) char *rules = NULL;
        char age[DURATION_MAX];
        int r = -1;

        switch (v) {
        case PLAN_RETIRE_COUNT:
                r = asprintf(ret, "beyond retain.count %u", p->retain_count);
                break;
        case PLAN_RETIRE_MAX_AGE:
                r = asprintf(ret, "older than max_age %s", format_duration(p->retain_max_age, age));
                break;
        case PLAN_RETIRE_NO_RULE:
                if (format_rules(p, &rules) < 0)
                        return -ENOMEM;
                r = asprintf(ret, "kept by no rule (%s)", rules);
                break;
        case PLAN_RETIRE_DEPARTED_KEEP:
                r = asprintf(ret, "departed instance: beyond retain.departed.keep %u", p->departed_keep);
                break;
        case PLAN_RETIRE_DEPARTED_MAX_AGE:
                r = asprintf(ret, "departed instance: not imaged for retain.departed.max_age %s",
                             format_duration(p->departed_max_age, age));
                break;
        default:
                return -EINVAL;
        }
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}
