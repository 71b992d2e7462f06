/* SPDX-License-Identifier: MIT */
/*
 * A policy's `retire` section: the stages an image passes once retention lets it go,
 * as Image Builder's lifecycle policies do it (deprecate, disable, delete), each a delay
 * after the release; and image.deprecate_after, DLM's fixed deprecation age. The
 * semantics are the planner's (run/plan-stage.c); this file checks what can be checked
 * without AWS: durations, their order, keys. See amirotd.yaml(5).
 */
#include "policy.h"
#include "config/diag.h"
#include "config/policy-retire.h"

static const char *const retire_keys[_RETIRE_STAGE_MAX + 1] = {
        [RETIRE_DEPRECATE] = "deprecate_after",
        [RETIRE_DISABLE] = "disable_after",
        [RETIRE_DEREGISTER] = "deregister_after",
        [_RETIRE_STAGE_MAX] = NULL,
};

static retire_stage retire_stage_of_key(const char *k) {
        for (size_t s = 0; s < _RETIRE_STAGE_MAX; s++)
                if (streq(k, retire_keys[s]))
                        return (retire_stage) s;
        return _RETIRE_STAGE_INVALID;
}

/* The stages given must come in the order an image passes them: a later stage's delay
 * never shorter than an earlier one's (equal ones run in the same run, in order). */
static void check_order(loader *l, const policy *p, const cnode *const at[_RETIRE_STAGE_MAX]) {
        char a[DURATION_MAX], b[DURATION_MAX];
        int last = -1;

        for (int s = 0; s < _RETIRE_STAGE_MAX; s++) {
                if (!(p->retire_stages & (1u << s)))
                        continue;
                if (last >= 0 && p->retire_after[s] < p->retire_after[last])
                        loader_error(l, at[s], "'retire.%s' (%s) comes before 'retire.%s' (%s): the stages "
                                     "run in the order deprecate, disable, deregister, so each delay must be "
                                     "at least the one before it",
                                     retire_keys[s], format_duration(p->retire_after[s], a),
                                     retire_keys[last], format_duration(p->retire_after[last], b));
                last = s;
        }
}

int config_retire_parse(loader *l, policy *p, const cnode *n) {
        _cleanup_(freep) centry *e = NULL;
        const cnode *at[_RETIRE_STAGE_MAX] = {};
        size_t n_e = 0;
        uint64_t v;
        int r;

        r = cvalue_mapping(l, n, "retire", &e, &n_e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_e; i++) {
                retire_stage s = retire_stage_of_key(e[i].key->value);
                /* A deprecation is scheduled with EnableImageDeprecation, at most 10 years ahead. */
                uint64_t max = s == RETIRE_DEPRECATE ? CONFIG_DEPRECATE_MAX : CVALUE_DURATION_MAX;

                if (s < 0) {
                        (void) cvalue_unknown(l, e[i].key, "key", "'retire'", retire_keys);
                        continue;
                }
                if (cvalue_duration(l, e[i].value, retire_keys[s], 0, max, &v) < 0)
                        continue;
                p->retire_stages |= 1u << s;
                p->retire_after[s] = v;
                at[s] = e[i].value;
        }
        if (n_e == 0) {
                loader_error(l, n, "'retire' needs at least one of 'deprecate_after', 'disable_after' "
                             "and 'deregister_after'");
                return -EINVAL;
        }
        check_order(l, p, at);
        if (p->retire_stages != 0 && !(p->retire_stages & (1u << RETIRE_DEREGISTER)))
                loader_warning(l, n, "'retire' has no 'deregister_after': images beyond retention are %s "
                               "and then kept forever, with their snapshots (and their cost)",
                               p->retire_stages & (1u << RETIRE_DISABLE) ? "disabled" : "deprecated");
        return 0;
}

int config_image_deprecate_parse(loader *l, policy *p, const cnode *n) {
        uint64_t v;
        int r;

        if (n && n->kind == CNODE_SCALAR && (streq_ptr(n->value, "0") || streq_ptr(n->value, "0s"))) {
                loader_error(l, n, "'image.deprecate_after' must be at least 1m; to deprecate no image by "
                             "age, leave it out");
                return -ERANGE;
        }
        r = cvalue_duration(l, n, "deprecate_after", 60, CONFIG_DEPRECATE_MAX, &v);
        if (r < 0)
                return r;
        p->deprecate_after = v;
        return 0;
}
