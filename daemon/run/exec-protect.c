/* SPDX-License-Identifier: MIT */
/*
 * protect.in_use and protect.last_launched_within at retirement: before the first
 * action of a chain that takes an image out of use (protect_applies(): a retirement, a
 * release into the retire stages, a disable), the chain's such actions are checked
 * together (run/protect.c: DescribeInstances shared with the other chains, up to 195
 * images a call, the run's launch templates, lastLaunchedTime); each image then goes or
 * stays by its verdict. Right before the call, not at planning: an instance launched
 * from the image a minute ago counts. Failed images are garbage and are not checked. A
 * check that failed keeps the image and fails the action.
 */
#include "run/exec-internal.h"

static void kept(chain *c, const protect_verdict *v) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        log_fields f = exec_action_fields(x, a, a->kind == PLAN_DISABLE ? "DisableImage" :
                                          a->kind == PLAN_RELEASE ? "CreateTags" : "DeregisterImage");

        if (v->kind == PROTECT_UNKNOWN) {
                f.action = v->action;
                f.error_code = v->error_code;
                f.request_id = v->request_id;
                log_full(LOG_ERR, 0, MESSAGE_POLICY_RUN_FAILED, &f,
                         "policy '%s' in %s: keeping image %s of %s (slot %s): %s",
                         x->options.policy->name, x->options.region, a->image_id, a->instance_id,
                         a->slot ?: "?", v->reason ?: "cannot tell whether it is in use");
                chain_fail(c, v->error < 0 ? v->error : -EIO, &f);
                return;
        }
        /* Once per run: a later plan of the same run (the retirements after the waits) may
         * name the image again. */
        if (!strv_contains(x->in_use_reported, a->image_id)) {
                (void) strv_extend(&x->in_use_reported, a->image_id);  /* out of memory: said again, harmless */
                log_full(LOG_NOTICE, 0, MESSAGE_IMAGE_IN_USE, &f,
                         "image %s of %s (slot %s) is %s; keeping it", a->image_id, a->instance_id,
                         a->slot ?: "?", v->reason ?: "in use");
        }
        exec_report(x, (exec_event) { .kind = EXEC_KEPT_IN_USE, .fields = &f });
        chain_done(c);
}

static void on_checked(protect_result *res, void *userdata) {
        chain *c = userdata;
        int r;

        c->protect_op = NULL;
        protect_result_done(&c->protect);
        c->protect = *res;
        *res = (protect_result) {};
        c->protect_checked = true;
        r = exec_start_checked(c);
        if (r < 0)
                chain_fail(c, r, NULL);
}

/* The retention retirements of the chain from its current action on, checked together. */
static int start_check(chain *c) {
        executor *x = c->exec;
        _cleanup_(strv_freep) char **ids = NULL;
        int r;

        if (!x->protect) {
                r = protect_checker_new(x->options.event, x->options.ec2, x->options.policy, &x->protect);
                if (r < 0)
                        return r;
        }
        for (size_t i = c->next; i < c->end; i++) {
                const plan_action *a = &c->plan->actions[i];

                if (protect_applies(a) && a->image_id && strv_extend(&ids, a->image_id) < 0)
                        return -ENOMEM;
        }
        return protect_check(x->protect, ids, x->options.now ?: time(NULL), on_checked, c, &c->protect_op);
}

static int start_unchecked(chain *c) {
        return chain_action(c)->kind == PLAN_RETIRE ? exec_start_unshare(c) : exec_start_stage(c);
}

int exec_start_checked(chain *c) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        const protect_verdict *v;

        if (!protect_applies(a) || !protect_wanted(x->options.policy))
                return start_unchecked(c);
        v = protect_result_find(&c->protect, a->image_id);
        if (!v && !c->protect_checked)
                return start_check(c);
        if (!v)         /* checked, yet not answered for: never deregistered unchecked */
                return -ENOMEM;
        c->protect_checked = false;     /* the next retirement of the chain looks again if it must */
        if (v->kind == PROTECT_NONE)
                return start_unchecked(c);
        kept(c, v);
        return 0;
}
