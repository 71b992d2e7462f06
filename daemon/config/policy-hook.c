/* SPDX-License-Identifier: MIT */
/*
 * The hooks around CreateImage, under a policy's `image` (run time: run/hook.h):
 *
 *   before / after      {ssm: SCRIPT, document: ..., timeout: 5m} run on the instance by
 *                       SSM Run Command, or {local: COMMAND, timeout: 5m} run on this host
 *                       by /bin/sh -c; exactly one of ssm and local.
 *   freeze              true: sync and fsfreeze the instance's file systems (by SSM) from
 *                       just before CreateImage until it has answered.
 *   freeze_timeout      the deadline after which the instance thaws itself.
 *   on_hook_failure     skip | crash-consistent | reboot, when before or the freeze fails.
 *
 * The checks are those an operator would otherwise learn from a failed run at night: a
 * key that means nothing where it stands (document with local, freeze_timeout without
 * freeze), a freeze that a reboot makes pointless, and the name templates' {placeholders}
 * written into a command, where nothing replaces them.
 */
#include "config/policy-hook.h"

static const char *const hook_keys[] = { "ssm", "local", "document", "timeout", NULL };
/* The two documents SendCommand is allowed (packaging/iam-policy.json). */
static const char *const documents[] = { "AWS-RunShellScript", "AWS-RunPowerShellScript", NULL };
static const char *const failure_values[] = { "skip", "crash-consistent", "reboot", NULL };
/* The placeholders of image.name: an operator may expect them replaced in a command too. */
static const char *const placeholders[] = { "{instance_id}", "{instance_name}", "{policy}", "{region}", "{slot}", NULL };

bool config_hook_key(const char *k) {
        return streq(k, "before") || streq(k, "after") || streq(k, "freeze") || streq(k, "freeze_timeout") ||
               streq(k, "on_hook_failure");
}

/* A placeholder of the name templates in a command, not as part of a shell's ${...}. */
static void check_placeholders(loader *l, const cnode *n, const char *cmd, policy_hook_where where) {
        for (const char *const *p = placeholders; *p; p++)
                for (const char *s = strstr(cmd, *p); s; s = strstr(s + 1, *p)) {
                        if (s > cmd && s[-1] == '$')
                                continue;
                        if (where == POLICY_HOOK_LOCAL)
                                loader_warning(l, n, "'%s' is not replaced in a hook's command: a local command "
                                               "reads AMIROTD_INSTANCE_ID, AMIROTD_POLICY, AMIROTD_REGION and "
                                               "AMIROTD_SLOT from its environment", *p);
                        else
                                loader_warning(l, n, "'%s' is not replaced in a hook's script: SSM runs it on the "
                                               "instance as written", *p);
                        return;
                }
}

static bool blank(const char *s) {
        for (; *s; s++)
                if (!strchr(" \t\r\n", *s))
                        return false;
        return true;
}

/* ssm: a script, as one string or a list of lines joined by newlines. */
static int parse_script(loader *l, policy_hook *h, const char *what, const cnode *n) {
        strbuf b = {};

        if (n->kind == CNODE_SCALAR)
                return cvalue_string(l, n, what, &h->command);
        if (n->kind != CNODE_SEQUENCE) {
                loader_error(l, n, "'%s' expects a script: a string, or a list of lines, got %s", what,
                             cnode_kind_name(n));
                return -EINVAL;
        }
        for (size_t i = 0; i < n->n_items; i++) {
                _cleanup_(freep) char *line = NULL;

                if (cvalue_string(l, n->items[i], what, &line) < 0) {
                        strbuf_done(&b);
                        return -EINVAL;
                }
                if ((i > 0 && strbuf_puts(&b, "\n") < 0) || strbuf_puts(&b, line) < 0) {
                        strbuf_done(&b);
                        return (l->oom = -ENOMEM);
                }
        }
        free(h->command);
        h->command = strbuf_steal(&b);
        if (!h->command && n->n_items > 0)
                return (l->oom = -ENOMEM);
        return 0;
}

/* What a hook's mapping said, for the checks across its keys. */
typedef struct hook_seen {
        const cnode *ssm, *local, *document;
        bool misspelt_command;          /* a typo of ssm or local: reported once, not again as missing */
} hook_seen;

static void parse_hook_key(loader *l, policy_hook *h, const char *what, const centry *e, hook_seen *seen) {
        const char *k = e->key->value;
        const cnode *v = e->value;
        uint64_t t;

        if (streq(k, "ssm")) {
                seen->ssm = v;
                (void) parse_script(l, h, "ssm", v);
        } else if (streq(k, "local")) {
                seen->local = v;
                (void) cvalue_string(l, v, "local", &h->command);
        } else if (streq(k, "document")) {
                seen->document = v;
                if (!cvalue_expect(l, v, CNODE_SCALAR, "document"))
                        return;
                if (!streq(v->value, documents[0]) && !streq(v->value, documents[1]))
                        cvalue_unknown(l, v, "document", "'document' (AWS-RunShellScript for Linux, "
                                       "AWS-RunPowerShellScript for Windows)", documents);
                else if (!(h->document = strdup(v->value)))
                        l->oom = -ENOMEM;
        } else if (streq(k, "timeout")) {
                if (cvalue_duration(l, v, "timeout", HOOK_TIMEOUT_MIN, HOOK_TIMEOUT_MAX, &t) >= 0)
                        h->timeout = t;
        } else {
                const char *c = cvalue_unknown(l, e->key, "key", what, hook_keys);

                if (streq_ptr(c, "ssm") || streq_ptr(c, "local"))
                        seen->misspelt_command = true;
        }
}

static void parse_hook(loader *l, policy_hook *h, const char *key, const cnode *n) {
        _cleanup_(freep) centry *e = NULL;
        char what[16];
        hook_seen seen = {};
        size_t n_e = 0;

        if (cnode_is_null(n))
                return;
        snprintf(what, sizeof(what), "'%s'", key);
        if (n->kind == CNODE_SCALAR) {
                loader_error(l, n, "'%s' expects a mapping: {ssm: SCRIPT} to run it on the instance, or "
                             "{local: COMMAND} to run it on this host", key);
                return;
        }
        if (cvalue_mapping(l, n, key, &e, &n_e) < 0)
                return;
        *h = (policy_hook) { .timeout = HOOK_TIMEOUT_DEFAULT, .pos = { .file = l->file, .line = n->line, .column = n->column } };
        for (size_t i = 0; i < n_e && !l->oom; i++)
                parse_hook_key(l, h, what, &e[i], &seen);
        if (seen.ssm && seen.local) {
                loader_error(l, seen.local, "%s has both 'ssm' and 'local': a hook runs on the instance (ssm) "
                             "or on this host (local), not both", what);
                return;
        }
        if (!seen.ssm && !seen.local) {
                if (!seen.misspelt_command)
                        loader_error(l, n, "%s needs 'ssm' (a script run on the instance by SSM Run Command) "
                                     "or 'local' (a command run on this host)", what);
                return;
        }
        h->where = seen.ssm ? POLICY_HOOK_SSM : POLICY_HOOK_LOCAL;
        if (seen.local && seen.document)
                loader_error(l, seen.document, "'document' goes with 'ssm': a local command runs by /bin/sh -c");
        if (!h->command)
                return;
        if (blank(h->command))
                loader_error(l, seen.ssm ?: seen.local, "the %s of %s is empty: write it, or leave %s out",
                             seen.ssm ? "script" : "command", what, what);
        else
                check_placeholders(l, seen.ssm ?: seen.local, h->command, h->where);
}

void config_hook_parse(loader *l, policy *p, const char *k, const cnode *v) {
        uint64_t t;

        if (streq(k, "before"))
                parse_hook(l, &p->hook_before, k, v);
        else if (streq(k, "after"))
                parse_hook(l, &p->hook_after, k, v);
        else if (streq(k, "freeze"))
                (void) cvalue_bool(l, v, "freeze", &p->freeze);
        else if (streq(k, "freeze_timeout")) {
                if (cvalue_duration(l, v, "freeze_timeout", FREEZE_TIMEOUT_MIN, FREEZE_TIMEOUT_MAX, &t) >= 0)
                        p->freeze_timeout = t;
        } else if (streq(k, "on_hook_failure")) {
                if (!cvalue_expect(l, v, CNODE_SCALAR, "on_hook_failure"))
                        return;
                policy_hook_failure f = policy_hook_failure_from_string(v->value);

                if (f >= 0)
                        p->on_hook_failure = f;
                else if (startswith("crash-consistent", v->value) || startswith(v->value, "crash"))
                        /* "crash", "crash_consistent": too far from the name for cvalue_closest() */
                        loader_error(l, v, "unknown value '%s' in 'on_hook_failure', did you mean "
                                     "'crash-consistent'?", v->value);
                else
                        cvalue_unknown(l, v, "value", "'on_hook_failure' (skip, crash-consistent or reboot)", failure_values);
        }
}

static const cnode *find(const centry *e, size_t n_e, const char *k, bool value) {
        for (size_t i = 0; i < n_e; i++)
                if (streq(e[i].key->value, k))
                        return value ? e[i].value : e[i].key;
        return NULL;
}

void config_hook_check(loader *l, policy *p, const centry *e, size_t n_e) {
        const cnode *timeout = find(e, n_e, "freeze_timeout", false), *failure = find(e, n_e, "on_hook_failure", false);
        const cnode *freeze = find(e, n_e, "freeze", true);

        if (timeout && !p->freeze)
                loader_error(l, timeout, "'freeze_timeout' goes with 'freeze: true': it is the deadline after "
                             "which a frozen instance thaws itself");
        if (failure && !p->freeze && p->hook_before.where == POLICY_HOOK_NONE)
                loader_error(l, failure, "'on_hook_failure' goes with 'before' or 'freeze: true': it decides "
                             "what becomes of the image when one of them fails (a failed 'after' fails the run "
                             "but keeps the image)");
        if (p->freeze && p->reboot)
                loader_error(l, freeze, "'freeze: true' with 'reboot: true' is pointless: CreateImage reboots "
                             "the instance, which shuts its file systems down cleanly (and a frozen file system "
                             "would hold the shutdown up until it thaws itself)");
        else if (failure && p->reboot && p->on_hook_failure == POLICY_HOOK_FAILURE_REBOOT)
                loader_warning(l, failure, "'on_hook_failure: reboot' is what 'reboot: true' does anyway");
        if (p->freeze && (streq_ptr(p->hook_before.document, "AWS-RunPowerShellScript") ||
                          streq_ptr(p->hook_after.document, "AWS-RunPowerShellScript")))
                loader_warning(l, freeze, "'freeze: true' runs fsfreeze, a Linux command, and fails on a "
                               "Windows instance: quiesce a Windows instance in 'before' (VSS) instead");
        if (p->freeze && p->freeze_timeout == 0)
                p->freeze_timeout = FREEZE_TIMEOUT_DEFAULT;
}

