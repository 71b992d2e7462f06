/* SPDX-License-Identifier: MIT */
/*
 * A policy's `retain` section: how many of an instance's available images stay
 * (count, max_age, the tiers hourly ... yearly as restic's and borg's --keep-*,
 * min_count), what becomes of the images of an instance the policy no longer
 * selects (departed), and the bound on retirements per run. What each rule
 * means is the planner's (run/plan.h, plan-keep.c); this file only reads and
 * checks the values, and warns where two of them say something an operator
 * probably did not mean.
 */

#include "config/policy-retain.h"

#define RETAIN_MAX 1000

static const char *const retain_keys[] = {
        "count", "max_age", "hourly", "daily", "weekly", "monthly", "yearly", "min_count", "departed",
        "max_retire_per_run", NULL
};
static const char *const departed_keys[] = { "keep", "max_age", NULL };
/* A copy destination's `retain` (copy_to): the rules only; departed and the bound on a
 * run's retirements are the source's business. */
static const char *const copy_retain_keys[] = {
        "count", "max_age", "hourly", "daily", "weekly", "monthly", "yearly", "min_count", NULL
};

/* What the section said, for the checks across keys. */
typedef struct retain_seen {
        bool rule;                      /* count, max_age or a tier, even if invalid */
        const cnode *min_count;
        const cnode *departed_keep;
        const char *where;              /* "'retain'", or "'copy_to.retain'" for a copy's */
        bool copy;                      /* a copy destination's: the rules only */
} retain_seen;

static bool retain_rule_key(const char *k) {
        if (streq_ptr(k, "count") || streq_ptr(k, "max_age"))
                return true;
        for (retain_tier t = 0; t < _RETAIN_TIER_MAX; t++)
                if (streq_ptr(k, retain_tier_to_string(t)))
                        return true;
        return false;
}

static retain_tier retain_tier_from_string(const char *k) {
        for (retain_tier t = 0; t < _RETAIN_TIER_MAX; t++)
                if (streq(k, retain_tier_to_string(t)))
                        return t;
        return _RETAIN_TIER_INVALID;
}

static void parse_departed(loader *l, policy *p, const cnode *n, retain_seen *seen) {
        _cleanup_(freep) centry *e = NULL;
        bool rule = false;              /* keep, or a max_age that is not ~ (valid or not: said once) */
        size_t n_e = 0;
        uint64_t v;

        if (cvalue_mapping(l, n, "departed", &e, &n_e) < 0)
                return;
        for (size_t i = 0; i < n_e; i++) {
                const char *k = e[i].key->value;

                if (streq(k, "keep")) {
                        rule = true;
                        seen->departed_keep = e[i].value;
                        if (cvalue_uint(l, e[i].value, "departed.keep", 1, RETAIN_MAX, &v) >= 0)
                                p->departed_keep = (unsigned) v;
                } else if (streq(k, "max_age") && !cnode_is_null(e[i].value)) {
                        rule = true;
                        if (cvalue_duration(l, e[i].value, "departed.max_age", 60, CVALUE_DURATION_MAX, &v) >= 0)
                                p->departed_max_age = v;
                } else if (!streq(k, "max_age") &&
                           cvalue_unknown(l, e[i].key, "key", "'retain.departed'", departed_keys))
                        rule = true;    /* one error for a misspelt rule, not a second for the missing one */
        }
        /* Empty, or `max_age: ~` alone: the operator meant a rule, and none is in effect. */
        if (!rule)
                loader_error(l, n, "'departed' needs 'keep' (1 to %d images) or 'max_age'", RETAIN_MAX);
}

static void parse_retain_key(loader *l, policy *p, const centry *e, retain_seen *seen) {
        const char *k = e->key->value;
        retain_tier t;
        uint64_t v;

        /* `max_age: ~` says "no max_age": it is no rule of its own. */
        if (retain_rule_key(k) && !(streq(k, "max_age") && cnode_is_null(e->value)))
                seen->rule = true;
        if (streq(k, "count")) {
                if (cvalue_uint(l, e->value, "count", 1, RETAIN_MAX, &v) >= 0)
                        p->retain_count = (unsigned) v;
        } else if (streq(k, "max_age")) {
                if (!cnode_is_null(e->value) &&
                    cvalue_duration(l, e->value, "max_age", 60, CVALUE_DURATION_MAX, &v) >= 0)
                        p->retain_max_age = v;
        } else if ((t = retain_tier_from_string(k)) >= 0) {
                if (cvalue_uint(l, e->value, k, 1, RETAIN_MAX, &v) >= 0)
                        p->retain_tiers[t] = (unsigned) v;
        } else if (streq(k, "min_count")) {
                seen->min_count = e->value;
                if (cvalue_uint(l, e->value, "min_count", 1, RETAIN_MAX, &v) >= 0)
                        p->retain_min_count = (unsigned) v;
        } else if (streq(k, "departed") && !seen->copy)
                parse_departed(l, p, e->value, seen);
        else if (streq(k, "max_retire_per_run") && !seen->copy) {
                if (cvalue_percent(l, e->value, k, 0, 100, &p->max_retire_per_run) >= 0)
                        p->max_retire_per_run_set = true;
        } else if (retain_rule_key(cvalue_unknown(l, e->key, "key", seen->where,
                                                  seen->copy ? copy_retain_keys : retain_keys)))
                /* A misspelt rule is reported once, as such, not also as a missing one. */
                seen->rule = true;
}

static bool retain_has_tier(const policy *p) {
        for (retain_tier t = 0; t < _RETAIN_TIER_MAX; t++)
                if (p->retain_tiers[t] > 0)
                        return true;
        return false;
}

/* Values that are valid one by one but together say less than they seem to. */
static void check_retain(loader *l, const policy *p, const retain_seen *seen) {
        if (p->retain_min_count > 0 && p->retain_count > 0 && p->retain_min_count >= p->retain_count)
                loader_warning(l, seen->min_count,
                               "'min_count' %u is not less than 'count' %u: 'count' keeps nothing that "
                               "'min_count' does not",
                               p->retain_min_count, p->retain_count);
        else if (p->retain_min_count > 0 && p->retain_max_age == 0 && !retain_has_tier(p))
                loader_warning(l, seen->min_count,
                               "'min_count' is a floor under 'max_age' and the tiers, and this policy has "
                               "neither: it changes nothing");
        if (p->departed_keep > 0 && p->retain_count > 0 && p->departed_keep > p->retain_count)
                loader_warning(l, seen->departed_keep,
                               "'departed.keep' %u is greater than 'count' %u: an instance keeps more images "
                               "once it has left the fleet than while in it",
                               p->departed_keep, p->retain_count);
}

static int retain_parse(loader *l, policy *p, const cnode *n, retain_seen *seen) {
        _cleanup_(freep) centry *e = NULL;
        size_t n_e = 0;
        int r;

        r = cvalue_mapping(l, n, "retain", &e, &n_e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_e; i++)
                parse_retain_key(l, p, &e[i], seen);
        if (!seen->rule) {
                loader_error(l, n, "%s needs 'count', 'max_age' or a tier (hourly, daily, weekly, "
                             "monthly, yearly)", seen->where);
                return 0;
        }
        check_retain(l, p, seen);
        return 0;
}

int config_retain_parse(loader *l, policy *p, const cnode *n) {
        return retain_parse(l, p, n, &(retain_seen) { .where = "'retain'" });
}

int config_retain_rules_parse(loader *l, retain_rules *ret, const cnode *n) {
        policy scratch = {};            /* only its retain_* fields are set: nothing to free */
        int r;

        r = retain_parse(l, &scratch, n, &(retain_seen) { .where = "'copy_to.retain'", .copy = true });
        if (r < 0)
                return r;
        *ret = (retain_rules) {
                .count = scratch.retain_count,
                .max_age = scratch.retain_max_age,
                .min_count = scratch.retain_min_count,
        };
        memcpy(ret->tiers, scratch.retain_tiers, sizeof(ret->tiers));
        return 0;
}

void config_retain_check_schedule(loader *l, const policy *p, const cnode *n) {
        char every[DURATION_MAX];
        unsigned hourly = p->retain_tiers[RETAIN_HOURLY];

        /* cron's gaps vary, and a cron schedule that fires hourly at times is what the tier is for. */
        if (hourly <= 1 || !n || p->schedule.kind != SCHEDULE_EVERY || p->schedule.every <= 3600)
                return;
        loader_warning(l, n,
                       "'hourly' %u: the schedule makes one image every %s, so each hour holds at most one "
                       "and the tier keeps the newest %u images, however old",
                       hourly, format_duration(p->schedule.every, every), hourly);
}
