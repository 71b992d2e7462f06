/* SPDX-License-Identifier: MIT */
/*
 * The hooks around one instance's CreateImage, for a policy with image.before, image.after
 * or image.freeze (plan-hook.h's hook_wanted()); without them, exec.c sends CreateImage as
 * it always did. In order:
 *
 *   image.before → freeze → CreateImage → thaw → image.after
 *
 * The thaw goes out as soon as CreateImage has answered, success or failure, not when the
 * image is available: EC2 has taken the volumes' point in time by then, and every second
 * frozen stalls the instance's writers. image.after runs whenever image.before ran, like a
 * `finally`. A failed before or freeze follows image.on_hook_failure (plan-hook.c); a failed
 * thaw or after is an error of the run but never undoes the image.
 *
 * Every path out of a freeze thaws: the freeze's own failure or timeout, CreateImage held
 * too long (hook_freeze_hold()), and the executor freed while the instance may be frozen (a
 * reload, a stop): then the thaw keeper (thaw-keeper.h) sends it. After a kill -9, the next
 * run of the policy finds the freeze again (exec-hook-recover.c), and the freeze script's
 * watchdog thaws after freeze_timeout if amirotd never comes back.
 */
#include <stdio.h>

#include "run/exec-internal.h"
#include "run/hook-local.h"
#include "run/hook-log.h"
#include "run/hook-script.h"
#include "run/hook-ssm.h"

extern char **environ;

/* The thaw's own timeout: the script ends in a second; SSM's delivery takes a few. */

typedef enum hook_step {
        HOOK_STEP_BEFORE,
        HOOK_STEP_FREEZE,
        HOOK_STEP_CREATE,
        HOOK_STEP_AFTER,
} hook_step;

struct chain_hooks {
        hook_step step;
        bool before_ran;                /* image.before was started: image.after runs */
        bool freeze_sent;               /* the freeze may hold the instance: a thaw must follow */
        bool thaw_started, thaw_done;
        bool create_ended;              /* CreateImage's part of the chain is over (or skipped) */
        bool after_started;
        bool no_reboot;                 /* CreateImage's NoReboot (on_hook_failure: reboot clears it) */
        char *image_id;                 /* what CreateImage gave, for image.after */
        hook_local *local;              /* image.before/after on this host */
        hook_ssm *ssm;                  /* image.before/after or the freeze by SSM */
        hook_ssm *thaw;
        sd_event_source *hold;          /* "freeze-hold": CreateImage must have answered by then */
        usec_t freeze_started;          /* CLOCK_MONOTONIC: the freeze's SendCommand, before its
                                         * watchdog on the instance started */
};

static void hooks_go_on(chain *c);

static log_fields hook_fields(const chain *c, const char *what) {
        log_fields f = exec_action_fields(c->exec, chain_action(c), what);

        f.slot = chain_action(c)->slot;
        return f;
}

static const policy_hook *hook_of(const chain *c, hook_kind k) {
        return k == HOOK_BEFORE ? &c->exec->options.policy->hook_before : &c->exec->options.policy->hook_after;
}

static const char *hook_name(hook_kind k) {
        return k == HOOK_BEFORE ? "image.before" : k == HOOK_AFTER ? "image.after" : hook_kind_to_string(k);
}

/* "on this host" or "on i-0abc by SSM (AWS-RunShellScript)". */
static void hook_where(const chain *c, hook_kind k, char *buf, size_t size) {
        const plan_action *a = chain_action(c);

        if ((k == HOOK_BEFORE || k == HOOK_AFTER) && hook_of(c, k)->where == POLICY_HOOK_LOCAL)
                snprintf(buf, size, "for %s on this host", a->instance_id);
        else
                snprintf(buf, size, "on %s by SSM", a->instance_id);
}

/* ---- Running one hook ------------------------------------------------------------------ */

static int hook_local_environment(chain *c, hook_kind k, char ***ret) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        _cleanup_(strv_freep) char **extra = NULL;
        char *s;

#define PUSH(...) do {                                                  \
                if (asprintf_safe(&s, __VA_ARGS__) < 0 || strv_push(&extra, s) < 0)     \
                        return -ENOMEM;                                 \
        } while (0)
        PUSH("AMIROTD_POLICY=%s", x->options.policy->name);
        PUSH("AMIROTD_REGION=%s", x->options.region);
        PUSH("AMIROTD_INSTANCE_ID=%s", a->instance_id);
        PUSH("AMIROTD_SLOT=%s", a->slot);
        PUSH("AMIROTD_HOOK=%s", hook_kind_to_string(k));
        if (k == HOOK_AFTER && c->hooks->image_id)
                PUSH("AMIROTD_IMAGE_ID=%s", c->hooks->image_id);
#undef PUSH
        return hook_environment(environ, extra, ret);
}

static void on_hook_done(const hook_outcome *o, void *userdata);

static int hook_description(const chain *c, const char *what, char **ret) {
        const executor *x = c->exec;

        return asprintf_safe(ret, "%s %s/%s %s", what, x->options.policy->name, x->options.region,
                             chain_action(c)->instance_id) < 0 ? -ENOMEM : 0;
}

/* Starts image.before/after or the freeze; on_hook_done() follows, from the loop. */
static int hook_run(chain *c, hook_kind k) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        const policy *p = x->options.policy;
        _cleanup_(freep) char *description = NULL, *comment = NULL, *script = NULL;
        _cleanup_(strv_freep) char **env = NULL;
        const policy_hook *h = k == HOOK_FREEZE ? NULL : hook_of(c, k);
        uint64_t timeout = h ? h->timeout : p->freeze_timeout;
        int r;

        r = hook_description(c, hook_kind_to_string(k), &description);
        if (r < 0)
                return r;
        if (h && h->where == POLICY_HOOK_LOCAL) {
                r = hook_local_environment(c, k, &env);
                if (r < 0)
                        return r;
                return hook_local_start(x->options.event, h->command, env, timeout * USEC_PER_SEC, description,
                                        on_hook_done, c, &c->hooks->local);
        }
        if (!x->options.ssm)
                return -ENXIO;
        comment = hook_comment(k, p->name, a->slot);
        if (!comment)
                return -ENOMEM;
        if (k == HOOK_FREEZE) {
                _cleanup_(freep) char *token = hook_token(p->name, a->slot);

                r = token ? hook_script_freeze(p->freeze_timeout, token, &script) : -ENOMEM;
                if (r < 0)
                        return r;
                /* From here on the freeze may reach the instance, answer or not. */
                c->hooks->freeze_sent = true;
                c->hooks->freeze_started = now_usec(CLOCK_MONOTONIC);
        }
        return hook_ssm_start(&(hook_ssm_request) {
                                      .event = x->options.event, .ssm = x->options.ssm,
                                      .instance_id = a->instance_id,
                                      .document = h ? hook_document(h, a->windows) : SSM_DOCUMENT_SHELL,
                                      .script = h ? h->command : script, .comment = comment,
                                      .timeout = timeout, .description = description,
                                      /* A freeze that arrives late may come after its thaw (the
                                       * thaw script's mark makes it refuse): it arrives soon or never. */
                                      .delivery_timeout = k == HOOK_FREEZE ? 1 : 0,
                              }, on_hook_done, c, &c->hooks->ssm);
}

/* ---- The thaw --------------------------------------------------------------------------- */

/* The freeze's watchdog thaws freeze_timeout after its SendCommand at the latest. */
static usec_t hooks_thaw_until(const executor *x, const chain_hooks *h) {
        return h->freeze_started + x->options.policy->freeze_timeout * USEC_PER_SEC;
}

/* A thaw SSM never accepted (command_id NULL) that may pass later: the keeper sends it again
 * until the watchdog thaws anyway, and owns it from here on. */
static bool hooks_thaw_again(chain *c, const hook_outcome *o) {
        const plan_action *a = chain_action(c);

        if (!hook_outcome_resendable(o) || !c->exec->options.keeper)
                return false;
        exec_hand_thaw(c->exec, a->instance_id, a->slot, "its first SendCommand failed",
                       hooks_thaw_until(c->exec, c->hooks));
        return true;
}

static void on_thaw_done(const hook_outcome *o, void *userdata) {
        chain *c = userdata;
        log_fields f = hook_fields(c, "thaw");
        char where[128];

        hook_where(c, HOOK_THAW, where, sizeof(where));
        if (hooks_thaw_again(c, o)) {
                hook_log_outcome(LOG_WARNING, NULL, &f, "thaw", where, o);
                log_full(LOG_WARNING, 0, NULL, &f, "policy '%s' in %s: sending the thaw of %s again",
                         c->exec->options.policy->name, c->exec->options.region, chain_action(c)->instance_id);
        } else if (hook_log_outcome(o->r == 0 ? LOG_INFO : LOG_ERR, NULL, &f, "thaw", where, o) < 0)
                exec_report_failure(c->exec, o->r, &f);
        /* o is the thaw's own: freed with it, after the log line. */
        c->hooks->thaw = hook_ssm_free(c->hooks->thaw);
        c->hooks->thaw_done = true;
        hooks_go_on(c);
}

/* Sends the thaw of a freeze that may hold the instance, at most once. */
static void hooks_thaw(chain *c) {
        executor *x = c->exec;
        chain_hooks *h = c->hooks;
        const plan_action *a = chain_action(c);
        log_fields f = hook_fields(c, "thaw");
        int r;

        h->hold = sd_event_source_disable_unref(h->hold);
        if (!h->freeze_sent || h->thaw_started)
                return;
        h->thaw_started = true;
        if (x->options.dry_run) {
                log_full(LOG_INFO, 0, NULL, &f, "dry run: would have thawed %s by SSM", a->instance_id);
                h->thaw_done = true;
                return;
        }
        r = exec_thaw_start(x, a->instance_id, a->slot, on_thaw_done, c, &h->thaw);
        if (r < 0 && hooks_thaw_again(c, &(hook_outcome) { .r = r }))
                h->thaw_done = true;
        else if (r < 0) {
                log_full(LOG_ERR, 0, MESSAGE_POLICY_RUN_FAILED, &f,
                         "policy '%s' in %s: cannot send the thaw of %s: %s; its freeze script thaws it after "
                         "image.freeze_timeout %llus", x->options.policy->name, x->options.region, a->instance_id,
                         strerror(-r), (unsigned long long) x->options.policy->freeze_timeout);
                exec_report_failure(x, r, &f);
                h->thaw_done = true;
        }
}

/* ---- The steps -------------------------------------------------------------------------- */

static void hooks_end(chain *c) {
        c->hooks = exec_hooks_free(c->exec, c->hooks, chain_action(c));
        chain_done(c);
}

static void hooks_create(chain *c) {
        int r;

        c->hooks->step = HOOK_STEP_CREATE;
        r = c->exec->create(c, c->hooks->no_reboot);
        if (r < 0) {
                log_fields f = hook_fields(c, "CreateImage");

                exec_log_aws(LOG_ERR, r, NULL, &f, "cannot start request");
                exec_report_failure(c->exec, r, &f);
                exec_hooks_answered(c, NULL);
                c->hooks->create_ended = true;
                hooks_go_on(c);
        }
}

/* A failed image.before or freeze: image.on_hook_failure decides. */
static void hooks_failed(chain *c, const char *what, int r) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        hook_verdict v = hook_failure_verdict(x->options.policy->on_hook_failure, a->no_reboot);
        log_fields f = hook_fields(c, what);

        hooks_thaw(c);
        if (v.create) {
                log_full(LOG_WARNING, 0, NULL, &f, "policy '%s' in %s: %s of %s failed; %s", x->options.policy->name,
                         x->options.region, what, a->instance_id, v.what);
                c->hooks->no_reboot = v.no_reboot;
                hooks_create(c);
                return;
        }
        log_full(LOG_ERR, 0, MESSAGE_POLICY_RUN_FAILED, &f, "policy '%s' in %s: %s of %s failed; %s",
                 x->options.policy->name, x->options.region, what, a->instance_id, v.what);
        exec_report_failure(x, r < 0 ? r : -EIO, &f);
        c->hooks->create_ended = true;
        hooks_go_on(c);
}

static int on_hold_expired(sd_event_source *s, uint64_t usec, void *userdata) {
        chain *c = userdata;
        executor *x = c->exec;
        log_fields f = hook_fields(c, "CreateImage");

        (void) s;
        (void) usec;
        c->hooks->hold = sd_event_source_disable_unref(c->hooks->hold);
        /* Still queued for its token or unanswered: the freeze cannot be held longer than the
         * instance's watchdog allows. Should the request have gone out, the next CreateImage of
         * the slot meets its name (InvalidAMIName.Duplicate) and finds the image. */
        ec2_op_cancel(c->op);
        c->op = NULL;
        log_full(LOG_ERR, 0, NULL, &f, "policy '%s' in %s: CreateImage of %s was not answered within %llus of the "
                 "freeze (image.freeze_timeout %llus); thawing", x->options.policy->name, x->options.region,
                 chain_action(c)->instance_id, (unsigned long long) hook_freeze_hold(x->options.policy->freeze_timeout),
                 (unsigned long long) x->options.policy->freeze_timeout);
        hooks_failed(c, "freeze", -ETIMEDOUT);
        return 0;
}

/* The hold counts from the freeze's SendCommand, not from the Success amirotd saw a poll
 * later: the instance's watchdog counts from no earlier than that. */
static void hooks_frozen(chain *c) {
        executor *x = c->exec;
        usec_t until = c->hooks->freeze_started + hook_freeze_hold(x->options.policy->freeze_timeout) * USEC_PER_SEC;
        int r;

        r = sd_event_add_time(x->options.event, &c->hooks->hold, CLOCK_MONOTONIC, until, USEC_PER_SEC / 10,
                              on_hold_expired, c);
        if (r < 0) {
                hooks_failed(c, "freeze", r);
                return;
        }
        (void) sd_event_source_set_description(c->hooks->hold, "freeze-hold");
        hooks_create(c);
}

static void hooks_start_step(chain *c, hook_step step);

static void on_hook_done(const hook_outcome *o, void *userdata) {
        chain *c = userdata;
        chain_hooks *h = c->hooks;
        hook_kind k = h->step == HOOK_STEP_BEFORE ? HOOK_BEFORE : h->step == HOOK_STEP_FREEZE ? HOOK_FREEZE : HOOK_AFTER;
        log_fields f = hook_fields(c, hook_name(k));
        char where[128];

        hook_where(c, k, where, sizeof(where));
        hook_log_outcome(o->r == 0 ? LOG_INFO : LOG_ERR, NULL, &f, hook_name(k), where, o);
        h->local = hook_local_free(h->local);
        h->ssm = hook_ssm_free(h->ssm);
        if (k == HOOK_AFTER) {
                if (o->r < 0)
                        exec_report_failure(c->exec, o->r, &f);
                hooks_end(c);
        } else if (o->r < 0)
                hooks_failed(c, hook_name(k), o->r);
        else if (k == HOOK_BEFORE)
                hooks_start_step(c, HOOK_STEP_FREEZE);
        else
                hooks_frozen(c);
}

/* Dry run: what would run, and the step after it at once. */
static void hooks_dry_run(chain *c, hook_kind k) {
        const policy_hook *h = k == HOOK_FREEZE ? NULL : hook_of(c, k);
        log_fields f = hook_fields(c, hook_name(k));
        char where[128];

        hook_where(c, k, where, sizeof(where));
        log_full(LOG_INFO, 0, NULL, &f, "dry run: would have run %s %s%s%s%s", hook_name(k), where,
                 h ? ": '" : "", h ? h->command : "", h ? "'" : "");
        if (k == HOOK_FREEZE)
                c->hooks->freeze_sent = true;   /* and its thaw is told too */
}

static void hooks_resume_freeze(chain *c);

static void hooks_start_step(chain *c, hook_step step) {
        executor *x = c->exec;
        const policy *p = x->options.policy;
        const plan_action *a = chain_action(c);
        hook_kind k = step == HOOK_STEP_BEFORE ? HOOK_BEFORE : step == HOOK_STEP_FREEZE ? HOOK_FREEZE : HOOK_AFTER;
        int r;

        c->hooks->step = step;
        if (step == HOOK_STEP_CREATE) {
                hooks_create(c);
                return;
        }
        if (k == HOOK_FREEZE ? !p->freeze : hook_of(c, k)->where == POLICY_HOOK_NONE) {
                if (step == HOOK_STEP_AFTER)
                        hooks_end(c);
                else
                        hooks_start_step(c, step + 1);
                return;
        }
        if (k == HOOK_FREEZE && a->windows) {
                log_fields f = hook_fields(c, "freeze");

                log_full(LOG_ERR, 0, NULL, &f, "policy '%s' in %s: image.freeze runs fsfreeze, on Linux only; %s "
                         "runs Windows (use image.before with a VSS script instead)", p->name, x->options.region,
                         a->instance_id);
                hooks_failed(c, "freeze", -EOPNOTSUPP);
                return;
        }
        if (k == HOOK_FREEZE && exec_recovery_wait(c, hooks_resume_freeze))
                return;
        if (k == HOOK_BEFORE)
                c->hooks->before_ran = true;
        if (k == HOOK_AFTER)
                c->hooks->after_started = true;
        if (x->options.dry_run) {
                hooks_dry_run(c, k);
                if (k == HOOK_AFTER)
                        hooks_end(c);
                else
                        hooks_start_step(c, step + 1);
                return;
        }
        r = hook_run(c, k);
        if (r < 0)
                on_hook_done(&(hook_outcome) { .r = r, .status = strerror(-r), .exit_code = -1 }, c);
}

/* The earlier runs' thaws have ended (exec-hook-recover.c): the freeze goes out. */
static void hooks_resume_freeze(chain *c) {
        hooks_start_step(c, HOOK_STEP_FREEZE);
}

/* Once CreateImage's part and the thaw are over: image.after (if before ran), then the end. */
static void hooks_go_on(chain *c) {
        chain_hooks *h = c->hooks;

        if (!h->create_ended || (h->thaw_started && !h->thaw_done) || h->after_started)
                return;
        if (h->before_ran)
                hooks_start_step(c, HOOK_STEP_AFTER);
        else
                hooks_end(c);
}

/* ---- For exec.c ------------------------------------------------------------------------- */

int exec_start_hooked_create(chain *c) {
        c->hooks = calloc(1, sizeof(chain_hooks));
        if (!c->hooks)
                return -ENOMEM;
        c->hooks->no_reboot = chain_action(c)->no_reboot;
        hooks_start_step(c, HOOK_STEP_BEFORE);
        return 0;
}


void exec_hooks_answered(chain *c, const char *image_id) {
        if (!c->hooks)
                return;
        if (image_id && !c->hooks->image_id)
                c->hooks->image_id = strdup(image_id);  /* without it, image.after lacks AMIROTD_IMAGE_ID */
        hooks_thaw(c);
}

void exec_create_end(chain *c) {
        if (!c->hooks) {
                chain_done(c);
                return;
        }
        c->hooks->create_ended = true;
        hooks_go_on(c);
}

/* image.after is a `finally`: the run ends (a stop, a reload) after image.before ran and
 * before image.after did. By SSM, the keeper sends it; on this host, it cannot outlive the
 * run: the operator is told which hook did not run. */
static void hooks_hand_after(executor *x, const chain_hooks *h, const plan_action *a) {
        const policy_hook *after = &x->options.policy->hook_after;
        log_fields f = { .policy = x->options.policy->name, .region = x->options.region,
                         .instance_id = a->instance_id, .slot = a->slot, .action = "image.after" };

        if (!h->before_ran || h->after_started || x->options.dry_run || after->where == POLICY_HOOK_NONE)
                return;
        if (after->where == POLICY_HOOK_SSM && x->options.keeper && x->options.ssm &&
            thaw_keeper_send(x->options.keeper, &(thaw_request) {
                                     .ssm = x->options.ssm, .policy = f.policy, .region = f.region,
                                     .instance_id = a->instance_id, .slot = a->slot, .script = after->command,
                                     .document = hook_document(after, a->windows), .timeout = after->timeout,
                                     .after = true, .why = "the run ended after image.before ran",
                                     .retry_until = now_usec(CLOCK_MONOTONIC) + after->timeout * USEC_PER_SEC,
                             }, x->options.keeper_hold) >= 0)
                return;
        log_full(LOG_ERR, 0, MESSAGE_POLICY_RUN_FAILED, &f, "policy '%s' in %s: the run ended after image.before "
                 "of %s ran, and image.after %s did not run: run it by hand", f.policy, f.region, a->instance_id,
                 after->where == POLICY_HOOK_LOCAL ? "(on this host)" : "(by SSM)");
}

chain_hooks *exec_hooks_free(executor *x, chain_hooks *h, const plan_action *a) {
        if (!h)
                return NULL;
        /* The run is gone while the instance may be frozen: the keeper thaws it. */
        if (h->freeze_sent && !h->thaw_done && !x->options.dry_run)
                exec_hand_thaw(x, a->instance_id, a->slot, "the run ended while the instance was frozen",
                               hooks_thaw_until(x, h));
        hooks_hand_after(x, h, a);
        hook_local_free(h->local);
        hook_ssm_free(h->ssm);
        hook_ssm_free(h->thaw);
        sd_event_source_disable_unref(h->hold);
        free(h->image_id);
        return mfree(h);
}
