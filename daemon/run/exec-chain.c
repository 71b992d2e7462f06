/* SPDX-License-Identifier: MIT */
/*
 * What every kind of action's code shares: reporting results to the engine, the log
 * fields of an action, and moving a chain on. chain_done() hands the chain back to
 * exec.c through the executor's advance hook, so that this file and the files of each
 * kind of action (exec-retire.c) only call downward. See exec.h.
 */
#include <stdio.h>

#include "run/exec-internal.h"

int exec_log_aws(int level, int r, const aws_error *err, const log_fields *f, const char *what) {
        log_fields g = *f;

        g.error_code = err ? err->code : NULL;
        g.request_id = err ? err->request_id : NULL;
        /* A local failure's message says what failed ("no AWS credentials: ...", "the host name
         * '...' could not be resolved"); its errno is a class for retries, not a reason to print. */
        return log_full(level, 0, level <= LOG_ERR ? MESSAGE_POLICY_RUN_FAILED : NULL, &g,
                        "policy '%s' in %s: %s: %s%s%s",
                        g.policy, g.region, what,
                        err && err->code ? err->code : err && err->message ? "" : strerror(-r),
                        err && err->code && err->message ? ": " : "",
                        err && err->message ? err->message : "") ?: r;
}

char *exec_aws_reason(int r, const aws_error *err, const char *action) {
        char *s = NULL;

        if ((err && err->code ? asprintf(&s, "%s: %s%s%s", action, err->code, err->message ? ": " : "",
                                         err->message ?: "") :
                                asprintf(&s, "%s", err && err->message ? err->message : strerror(-r))) < 0)
                return NULL;
        return s;
}

/* ---- Reporting ------------------------------------------------------------------------- */

void exec_report(executor *x, exec_event e) {
        x->callback(&e, x->userdata);
}

void exec_report_failure(executor *x, int r, const log_fields *f) {
        exec_report(x, (exec_event) { .kind = EXEC_FAILED, .error = r, .fields = f });
}

const char *exec_dry_run_prefix(const executor *x) {
        return x->options.dry_run ? "dry run: would have " : "";
}

log_fields exec_action_fields(const executor *x, const plan_action *a, const char *aws_action) {
        return (log_fields) {
                .policy = x->options.policy->name,
                .region = x->options.region,
                .instance_id = a->instance_id,
                .image_id = a->image_id,
                .action = aws_action,
        };
}

/* ---- Chains ---------------------------------------------------------------------------- */

const plan_action *chain_action(const chain *c) {
        return &c->plan->actions[c->next];
}

void chain_done(chain *c) {
        c->snapshots = strv_free(c->snapshots);
        c->next++;
        c->exec->advance(c);
}

void chain_fail(chain *c, int r, const log_fields *f) {
        exec_report_failure(c->exec, r, f);
        chain_done(c);
}

int chain_timer(chain *c, usec_t delay, sd_event_time_handler_t cb, const char *what) {
        executor *x = c->exec;
        char description[128];
        int r;

        r = sd_event_add_time_relative(x->options.event, &c->timer, CLOCK_MONOTONIC, delay, 0, cb, c);
        if (r < 0)
                return r;
        snprintf(description, sizeof(description), "%s %s/%s %s", what, x->options.policy->name,
                 x->options.region, c->plan->actions[c->first].instance_id);
        (void) sd_event_source_set_description(c->timer, description);
        return 0;
}
