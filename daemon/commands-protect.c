/* SPDX-License-Identifier: MIT */
/* See commands-protect.h. */
#include "base/log.h"
#include "commands-protect.h"

static void on_checked(protect_result *res, void *userdata) {
        plan_checks *pp = userdata;

        pp->op = NULL;
        pp->result = *res;
        *res = (protect_result) {};
        pp->cb(pp->userdata);
}

int plan_checks_start(plan_checks *pp, sd_event *event, aws_pool *pool, const policy *p, const char *region, const plan *pl,
                       time_t now, void (*cb)(void *userdata), void *userdata) {
        _cleanup_(strv_freep) char **ids = NULL;
        aws_client *ec2;
        int r;

        if (!protect_wanted(p))
                return 0;
        for (size_t i = 0; i < pl->n; i++)
                if (protect_applies(&pl->actions[i]) && pl->actions[i].image_id &&
                    strv_extend(&ids, pl->actions[i].image_id) < 0)
                        return log_error_errno(-ENOMEM, "out of memory");
        if (!ids)
                return 0;
        r = aws_pool_ec2(pool, p, region, &ec2);
        if (r >= 0)
                r = protect_checker_new(event, ec2, p, &pp->checker);
        if (r < 0)
                return log_full(LOG_ERR, r, NULL, &(log_fields) { .policy = p->name, .region = region },
                                "policy '%s' in %s: cannot check which images are in use", p->name, region);
        pp->cb = cb;
        pp->userdata = userdata;
        r = protect_check(pp->checker, ids, now, on_checked, pp, &pp->op);
        if (r < 0)
                return log_error_errno(r, "cannot check which images are in use");
        return 1;
}

void plan_checks_done(plan_checks *pp) {
        protect_op_cancel(pp->op);
        protect_result_done(&pp->result);
        pp->checker = protect_checker_free(pp->checker);
        *pp = (plan_checks) {};
}

const protect_verdict *plan_checks_kept(const plan_checks *pp, const plan_action *a) {
        const protect_verdict *v;

        if (!protect_applies(a))
                return NULL;
        v = protect_result_find(&pp->result, a->image_id);
        return v && v->kind != PROTECT_NONE ? v : NULL;
}
