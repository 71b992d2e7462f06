/* SPDX-License-Identifier: MIT */
/*
 * The thaws nobody else will send. At the start of each run of a policy with image.freeze
 * (so after every restart, a kill -9 included), ListCommands finds the policy's freezes
 * of the last freeze window (hook_freeze_window(): InvokedAfter now minus freeze_timeout
 * and a margin, DocumentName AWS-RunShellScript) by their Comment, and each instance that
 * no later thaw of the policy followed is thawed, logged with MESSAGE_HOOK_THAW_RECOVERED,
 * before any freeze of this run goes out (a thaw that overtook a new freeze would thaw it).
 * AWS is the state: nothing of this is kept on the host.
 *
 * And the thaws of an executor freed while an instance may be frozen go to the thaw
 * keeper (exec_hand_thaw()), which outlives the run.
 */
#include <stdio.h>

#include "run/exec-internal.h"
#include "run/hook-log.h"
#include "run/hook-script.h"
#include "run/hook-ssm.h"

typedef struct recovered_thaw {
        exec_recovery *recovery;
        hook_frozen frozen;             /* instance and slot (the token) of the freeze */
        hook_ssm *ssm;
} recovered_thaw;

struct exec_recovery {
        executor *exec;
        bool done;
        bool holds_run;                 /* counted in chains_running: the run is not done before it */
        ssm_command_op *op;
        chain **waiting;                /* chains whose freeze waits for the thaws */
        size_t n_waiting;
        void (*resume)(chain *c);       /* exec-hook.c's: sends the freeze of a waiting chain */
        hook_frozen *found;             /* ListCommands' freezes with no thaw */
        size_t n_found;
        recovered_thaw *thaws;          /* one per found */
        size_t n_thaws, pending;
};

void exec_hand_thaw(executor *x, const char *instance_id, const char *slot, const char *why, usec_t retry_until) {
        _cleanup_(freep) char *script = NULL, *token = hook_token(x->options.policy->name, slot);
        log_fields f = { .policy = x->options.policy->name, .region = x->options.region, .instance_id = instance_id,
                         .slot = slot, .action = "thaw" };

        if (!x->options.keeper || !x->options.ssm || !token || hook_script_thaw(token, &script) < 0) {
                log_full(LOG_ERR, 0, MESSAGE_POLICY_RUN_FAILED, &f, "policy '%s' in %s: cannot thaw %s (%s); its "
                         "freeze script thaws it after image.freeze_timeout", f.policy, f.region, instance_id, why);
                return;
        }
        (void) thaw_keeper_send(x->options.keeper, &(thaw_request) {
                                        .ssm = x->options.ssm, .policy = f.policy, .region = f.region,
                                        .instance_id = instance_id, .slot = slot, .script = script,
                                        .timeout = HOOK_THAW_TIMEOUT, .why = why, .retry_until = retry_until,
                                }, x->options.keeper_hold);
}

/* A freeze found after a restart was requested no later than now: its watchdog thaws within
 * freeze_timeout from now at the latest. */
static usec_t recovery_retry_until(const executor *x) {
        return now_usec(CLOCK_MONOTONIC) + x->options.policy->freeze_timeout * USEC_PER_SEC;
}

exec_recovery *exec_recovery_free(exec_recovery *v) {
        if (!v)
                return NULL;
        ssm_command_op_cancel(v->op);
        for (size_t i = 0; i < v->n_thaws; i++) {
                if (v->thaws[i].ssm)
                        exec_hand_thaw(v->exec, v->thaws[i].frozen.instance_id, v->thaws[i].frozen.slot,
                                       "found frozen after a restart; the run ended before its thaw did",
                                       recovery_retry_until(v->exec));
                hook_ssm_free(v->thaws[i].ssm);
        }
        hook_frozen_free(v->found, v->n_found);
        free(v->thaws);
        free(v->waiting);
        return mfree(v);
}

/* Every thaw has ended (or there was none): the freezes that waited go on, and the run may
 * end. Last: EXEC_DONE may end the run (exec.h). Before any exec_start(), the run has
 * not asked for an EXEC_DONE yet, and its own exec_start() reports it. */
static void recovery_done(exec_recovery *v) {
        _cleanup_(freep) chain **waiting = TAKE_PTR(v->waiting);
        executor *x = v->exec;
        size_t n = v->n_waiting;

        v->done = true;
        v->n_waiting = 0;
        for (size_t i = 0; i < n; i++)
                v->resume(waiting[i]);
        if (!v->holds_run)
                return;
        v->holds_run = false;
        if (--x->chains_running == 0 && x->batches)
                exec_report(x, (exec_event) { .kind = EXEC_DONE });
}

static void on_recovered(const hook_outcome *o, void *userdata) {
        recovered_thaw *t = userdata;
        exec_recovery *v = t->recovery;
        executor *x = v->exec;
        log_fields f = { .policy = x->options.policy->name, .region = x->options.region,
                         .instance_id = t->frozen.instance_id, .slot = t->frozen.slot, .action = "thaw" };
        char where[160];

        snprintf(where, sizeof(where), "of %s by SSM (a freeze of an earlier run, with no thaw since)",
                 t->frozen.instance_id);
        /* Not sent, and it may pass later: the keeper sends it again; this run goes on. */
        if (hook_outcome_resendable(o) && x->options.keeper) {
                hook_log_outcome(LOG_WARNING, NULL, &f, "thaw", where, o);
                exec_hand_thaw(x, t->frozen.instance_id, t->frozen.slot, "found frozen after a restart; "
                               "its first SendCommand failed", recovery_retry_until(x));
        } else
                hook_log_outcome(o->r == 0 ? LOG_NOTICE : LOG_ERR, MESSAGE_HOOK_THAW_RECOVERED, &f, "thaw", where, o);
        t->ssm = hook_ssm_free(t->ssm);
        if (--v->pending == 0)
                recovery_done(v);
}

int exec_thaw_start(executor *x, const char *instance_id, const char *slot, hook_done_cb cb, void *userdata,
                    hook_ssm **ret) {
        _cleanup_(freep) char *script = NULL, *comment = NULL, *description = NULL, *token = NULL;
        int r;

        comment = hook_comment(HOOK_THAW, x->options.policy->name, slot);
        token = hook_token(x->options.policy->name, slot);
        r = comment && token ? hook_script_thaw(token, &script) : -ENOMEM;
        if (r >= 0 && asprintf_safe(&description, "thaw %s/%s %s", x->options.policy->name, x->options.region,
                                    instance_id) < 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        return hook_ssm_start(&(hook_ssm_request) {
                                      .event = x->options.event, .ssm = x->options.ssm,
                                      .instance_id = instance_id, .document = SSM_DOCUMENT_SHELL,
                                      .script = script, .comment = comment, .timeout = HOOK_THAW_TIMEOUT,
                                      .description = description,
                              }, cb, userdata, ret);
}

static int recovery_thaw(exec_recovery *v, recovered_thaw *t) {
        return exec_thaw_start(v->exec, t->frozen.instance_id, t->frozen.slot, on_recovered, t, &t->ssm);
}

/* The wall clock of the run's start (--now in tests), gone on by the time since. */
static usec_t recovery_now(const executor *x) {
        return (usec_t) x->options.now * USEC_PER_SEC + (now_usec(CLOCK_MONOTONIC) - x->options.now_monotonic);
}

static int recovery_found(exec_recovery *v, const ssm_command_list *l, size_t *ret_n) {
        const executor *x = v->exec;
        _cleanup_(freep) hook_command_seen *seen = NULL;
        size_t n = 0;
        int r;

        for (size_t i = 0; i < l->n; i++)
                n += strv_length(l->items[i].instance_ids);
        seen = calloc(n ?: 1, sizeof(hook_command_seen));
        if (!seen)
                return -ENOMEM;
        n = 0;
        for (size_t i = 0; i < l->n; i++)
                for (char **id = l->items[i].instance_ids; id && *id; id++)
                        seen[n++] = (hook_command_seen) { .comment = l->items[i].comment, .instance_id = *id,
                                                          .requested = l->items[i].requested_usec };
        r = hook_unthawed(seen, n, x->options.policy->name, recovery_now(x),
                          hook_freeze_hold(x->options.policy->freeze_timeout), &v->found, &v->n_found);
        *ret_n = v->n_found;
        return r;
}

static void on_listed(int r, const ssm_command_list *l, const aws_error *err, void *userdata) {
        exec_recovery *v = userdata;
        executor *x = v->exec;
        log_fields f = { .policy = x->options.policy->name, .region = x->options.region, .action = "ListCommands" };
        size_t n = 0;

        v->op = NULL;
        if (r >= 0)
                r = recovery_found(v, l, &n);
        if (r >= 0 && n > 0 && !(v->thaws = calloc(n, sizeof(recovered_thaw))))
                r = -ENOMEM;
        if (r < 0) {
                exec_log_aws(LOG_WARNING, r, err, &f, "cannot look for freezes an earlier run left without a thaw "
                             "(each instance's freeze script thaws it after image.freeze_timeout), ignoring");
                recovery_done(v);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                recovered_thaw *t = &v->thaws[v->n_thaws++];

                *t = (recovered_thaw) { .recovery = v, .frozen = v->found[i] };
                f.instance_id = t->frozen.instance_id;
                f.slot = t->frozen.slot;
                f.action = "thaw";
                log_full(LOG_NOTICE, 0, MESSAGE_HOOK_THAW_RECOVERED, &f, "policy '%s' in %s: %s was frozen for slot "
                         "%s by an earlier run that never thawed it (amirotd stopped in between); thawing it now",
                         f.policy, f.region, f.instance_id, f.slot);
                r = recovery_thaw(v, t);
                if (r < 0)
                        exec_log_aws(LOG_ERR, r, NULL, &f, "cannot send the thaw");
                else
                        v->pending++;
        }
        if (v->pending == 0)
                recovery_done(v);
}

int exec_recover_start(executor *x) {
        const policy *p = x->options.policy;
        exec_recovery *v;
        int r;

        if (!p->freeze || x->options.dry_run || !x->options.ssm || x->recovery)
                return 0;
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->exec = x;
        x->recovery = v;
        /* The run ends after the thaws, not before: a run with nothing of its own to do would
         * otherwise end first, and take the search or its thaws with it. */
        v->holds_run = true;
        x->chains_running++;
        r = ssm_list_commands(x->options.ssm, &(ssm_list_commands_request) {
                                      .invoked_after = x->options.now - (time_t) hook_freeze_window(p->freeze_timeout),
                                      .document = SSM_DOCUMENT_SHELL,
                              }, on_listed, v, &v->op);
        if (r < 0) {
                v->done = true;
                v->holds_run = false;
                x->chains_running--;
                exec_log_aws(LOG_WARNING, r, NULL, &(log_fields) { .policy = p->name, .region = x->options.region,
                                                                   .action = "ListCommands" },
                             "cannot look for freezes an earlier run left without a thaw, ignoring");
        }
        return r;
}

bool exec_recovery_wait(chain *c, void (*resume)(chain *c)) {
        exec_recovery *v = c->exec->recovery;
        chain **w;

        if (!v || v->done)
                return false;
        w = reallocarray(v->waiting, v->n_waiting + 1, sizeof(chain *));
        if (!w)
                return false;           /* the freeze goes on without waiting */
        v->waiting = w;
        w[v->n_waiting++] = c;
        v->resume = resume;
        return true;
}
