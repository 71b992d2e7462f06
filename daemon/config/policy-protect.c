/* SPDX-License-Identifier: MIT */
/*
 * A policy's `protect` section: what retention must not retire, however old.
 * in_use and last_launched_within are checked at retirement (run/exec-protect.c);
 * newest turns on EC2's deregistration protection. in_use defaults to true (the
 * default is set where the policy is created, policy.c).
 */
#include "config/policy-protect.h"

#define PROTECT_NEWEST_MAX 100
/* lastLaunchedTime: "the time is updated within 24 hours" of a launch: a shorter window may
 * miss a launch that happened inside it. */
#define LAST_LAUNCHED_PRECISION 86400

static const char *const protect_keys[] = { "in_use", "last_launched_within", "newest", "cooldown", NULL };

static void parse_last_launched(loader *l, policy *p, const cnode *n) {
        uint64_t v;

        if (cnode_is_null(n)) {
                p->protect_last_launched_within = 0;
                return;
        }
        if (cvalue_duration(l, n, "last_launched_within", 60, CVALUE_DURATION_MAX, &v) < 0)
                return;
        if (v < LAST_LAUNCHED_PRECISION)
                loader_warning(l, n, "'last_launched_within' is shorter than 1d: EC2 updates an image's "
                               "lastLaunchedTime up to 24 hours after a launch, so a launch inside %s "
                               "may not be seen yet", n->value);
        p->protect_last_launched_within = v;
}

int config_protect_parse(loader *l, policy *p, const cnode *n, const cnode **ret_newest) {
        _cleanup_(freep) centry *e = NULL;
        size_t n_e = 0;
        uint64_t v;
        int r;

        if (cnode_is_null(n))
                return 0;
        r = cvalue_mapping(l, n, "protect", &e, &n_e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_e; i++) {
                const char *k = e[i].key->value;
                const cnode *val = e[i].value;

                if (streq(k, "in_use"))
                        (void) cvalue_bool(l, val, "in_use", &p->protect_in_use);
                else if (streq(k, "last_launched_within"))
                        parse_last_launched(l, p, val);
                else if (streq(k, "newest")) {
                        if (cnode_is_null(val))
                                p->protect_newest = 0;
                        else if (cvalue_uint(l, val, "newest", 1, PROTECT_NEWEST_MAX, &v) >= 0) {
                                p->protect_newest = (unsigned) v;
                                *ret_newest = val;
                        }
                } else if (streq(k, "cooldown"))
                        (void) cvalue_bool(l, val, "cooldown", &p->protect_newest_cooldown);
                else
                        cvalue_unknown(l, e[i].key, "key", "'protect'", protect_keys);
        }
        return 0;
}

void config_protect_check(loader *l, const policy *p, const cnode *newest) {
        if (newest && p->retain_count > 0 && p->protect_newest > p->retain_count)
                loader_warning(l, newest, "'newest' (%u) is greater than 'retain.count' (%u): it then "
                               "covers images that retention wants to retire",
                               p->protect_newest, p->retain_count);
}
