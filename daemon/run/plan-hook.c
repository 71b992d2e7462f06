/* SPDX-License-Identifier: MIT */
/*
 * See plan-hook.h. Pure: no I/O, no clock, no logging.
 */
#include <stdio.h>

#include "run/plan-hook.h"

/* SendCommand, Comment: "Length Constraints: Maximum length of 100." (aws/ssm-command.h's
 * SSM_COMMENT_MAX; not included here, which would pull in the AWS client). */
#define HOOK_COMMENT_MAX 100

static const char *const hook_kind_table[_HOOK_KIND_MAX] = {
        [HOOK_BEFORE] = "before",
        [HOOK_FREEZE] = "freeze",
        [HOOK_THAW] = "thaw",
        [HOOK_AFTER] = "after",
};

const char *hook_kind_to_string(hook_kind k) {
        return k >= 0 && k < _HOOK_KIND_MAX ? hook_kind_table[k] : NULL;
}

hook_kind hook_kind_from_string(const char *s) {
        for (size_t k = 0; s && k < _HOOK_KIND_MAX; k++)
                if (streq(s, hook_kind_table[k]))
                        return (hook_kind) k;
        return _HOOK_KIND_INVALID;
}

bool hook_wanted(const policy *p) {
        return p->hook_before.where != POLICY_HOOK_NONE || p->hook_after.where != POLICY_HOOK_NONE || p->freeze;
}

hook_verdict hook_failure_verdict(policy_hook_failure f, bool planned_no_reboot) {
        switch (f) {
        case POLICY_HOOK_FAILURE_CRASH_CONSISTENT:
                return (hook_verdict) { .create = true, .no_reboot = planned_no_reboot,
                                        .what = "taking a crash-consistent image (image.on_hook_failure: crash-consistent)" };
        case POLICY_HOOK_FAILURE_REBOOT:
                return (hook_verdict) { .create = true, .no_reboot = false,
                                        .what = "taking the image with a reboot (image.on_hook_failure: reboot)" };
        default:
                return (hook_verdict) { .create = false, .no_reboot = planned_no_reboot,
                                        .what = "no image of the instance for this slot; the run fails and is "
                                                "retried (image.on_hook_failure: crash-consistent or reboot "
                                                "would take one anyway)" };
        }
}

const char *hook_summary(const policy *p, char buf[static HOOK_SUMMARY_MAX]) {
        if (!hook_wanted(p))
                return NULL;
        snprintf(buf, HOOK_SUMMARY_MAX, "%s%s%s%s%s",
                 p->hook_before.where != POLICY_HOOK_NONE ? "before" : "",
                 p->hook_before.where != POLICY_HOOK_NONE && p->freeze ? ", " : "",
                 p->freeze ? "freeze" : "",
                 p->hook_after.where != POLICY_HOOK_NONE && (p->freeze || p->hook_before.where != POLICY_HOOK_NONE) ?
                         ", " : "",
                 p->hook_after.where != POLICY_HOOK_NONE ? "after" : "");
        return buf;
}

const char *hook_document(const policy_hook *h, bool windows) {
        if (h && !isempty(h->document))
                return h->document;
        return windows ? "AWS-RunPowerShellScript" : "AWS-RunShellScript";
}

char *hook_comment(hook_kind k, const char *policy_name, const char *slot) {
        char *s = NULL;

        if (asprintf_safe(&s, "amirotd %s %s %s", hook_kind_to_string(k) ?: "?", policy_name, slot ?: "-") < 0)
                return NULL;
        /* Only the policy's name (at most 48 characters) matters to hook_comment_kind(): a
         * cut slot loses nothing the restart needs. */
        if (strlen(s) > HOOK_COMMENT_MAX)
                s[HOOK_COMMENT_MAX] = 0;
        return s;
}

hook_kind hook_comment_kind(const char *comment, const char *policy_name, const char **ret_slot) {
        char kind[16];
        const char *p;
        size_t n;

        if (!comment || !startswith(comment, "amirotd "))
                return _HOOK_KIND_INVALID;
        p = comment + strlen("amirotd ");
        n = strcspn(p, " ");
        if (n == 0 || n >= sizeof(kind) || p[n] != ' ')
                return _HOOK_KIND_INVALID;
        memcpy(kind, p, n);
        kind[n] = 0;
        p += n + 1;
        n = strlen(policy_name);
        /* "amirotd freeze web ..." is not "amirotd freeze web-2 ...". */
        if (strncmp(p, policy_name, n) != 0 || (p[n] != ' ' && p[n] != 0))
                return _HOOK_KIND_INVALID;
        if (ret_slot)
                *ret_slot = p[n] == ' ' ? p + n + 1 : p + n;
        return hook_kind_from_string(kind);
}

char *hook_token(const char *policy_name, const char *slot) {
        char *s = NULL;

        return asprintf_safe(&s, "%s.%s", policy_name, isempty(slot) ? "-" : slot) < 0 ? NULL : s;
}

void hook_frozen_free(hook_frozen *l, size_t n) {
        for (size_t i = 0; l && i < n; i++) {
                free(l[i].instance_id);
                free(l[i].slot);
        }
        free(l);
}

static int hook_frozen_compare(const void *a, const void *b) {
        const hook_frozen *x = a, *y = b;

        return strcmp(x->instance_id, y->instance_id) ?: strcmp(x->slot, y->slot);
}

/* Whether a thaw of the same instance and slot came at or after seen[i], a freeze. */
static bool hook_thawed_after(const hook_command_seen *seen, size_t n, const char *policy_name, size_t i,
                              const char *slot) {
        for (size_t j = 0; j < n; j++) {
                const char *s;

                if (hook_comment_kind(seen[j].comment, policy_name, &s) == HOOK_THAW && streq(s, slot) &&
                    streq_ptr(seen[j].instance_id, seen[i].instance_id) && seen[j].requested >= seen[i].requested)
                        return true;
        }
        return false;
}

int hook_unthawed(const hook_command_seen *seen, size_t n, const char *policy_name, usec_t now, uint64_t hold,
                  hook_frozen **ret, size_t *ret_n) {
        hook_frozen *l = NULL;
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                const char *slot;
                bool known = false;
                hook_frozen *m;

                if (!seen[i].instance_id || hook_comment_kind(seen[i].comment, policy_name, &slot) != HOOK_FREEZE ||
                    seen[i].requested + hold * USEC_PER_SEC > now || hook_thawed_after(seen, n, policy_name, i, slot))
                        continue;
                for (size_t j = 0; j < k && !known; j++)
                        known = streq(l[j].instance_id, seen[i].instance_id) && streq(l[j].slot, slot);
                if (known)
                        continue;
                m = reallocarray(l, k + 1, sizeof(hook_frozen));
                if (!m)
                        goto fail;
                l = m;
                l[k] = (hook_frozen) { .instance_id = strdup(seen[i].instance_id), .slot = strdup(slot) };
                k++;
                if (!l[k - 1].instance_id || !l[k - 1].slot)
                        goto fail;
        }
        if (k > 0)
                qsort(l, k, sizeof(hook_frozen), hook_frozen_compare);
        *ret = l;
        *ret_n = k;
        return 0;
fail:
        hook_frozen_free(l, k);
        return -ENOMEM;
}

/*
 * The margin: a quarter of the freeze, at least 5 s, for a CreateImage queued for its
 * pace token and a slow answer. With NoReboot "we can't guarantee the file system
 * integrity of the created image" (CreateImage reference): the freeze is what makes the
 * volumes' point in time clean, so it must still hold when CreateImage answers, and the
 * instance's own watchdog (freeze_timeout) must not thaw it before.
 */
uint64_t hook_freeze_hold(uint64_t freeze_timeout) {
        uint64_t margin = MAX(freeze_timeout / 4, (uint64_t) 5);

        return freeze_timeout > margin ? freeze_timeout - margin : 1;
}

/* Five minutes beyond the freeze: SSM's clock and the host's may differ, and a freeze sent
 * just before a kill -9 is requested a little earlier than the host believes. */
uint64_t hook_freeze_window(uint64_t freeze_timeout) {
        return freeze_timeout + 300;
}

/* A SendCommand that was never accepted: throttling, a 5xx, a network error (no code) are
 * worth sending again; an agent not online (InvalidInstanceId), a denial or a request SSM
 * rejects as invalid would fail the same way again. */
bool hook_send_retryable(int r, const char *error_code) {
        static const char *const final[] = {
                "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException",
                "InvalidInstanceId", "InvalidDocument", "InvalidParameters", "ValidationException",
        };

        if (r == -EHOSTDOWN || r == -ENOMEM || r == -EINVAL)
                return false;
        for (size_t i = 0; error_code && i < ELEMENTSOF(final); i++)
                if (streq(error_code, final[i]))
                        return false;
        return true;
}

bool hook_outcome_resendable(const hook_outcome *o) {
        return o->r < 0 && !o->command_id && hook_send_retryable(o->r, o->error_code);
}

/* 1 s, then twice as long each time, at most 10 s apart. */
usec_t hook_thaw_retry_delay(unsigned n) {
        return n >= 4 ? 10 * USEC_PER_SEC : MIN((usec_t) USEC_PER_SEC << n, 10 * USEC_PER_SEC);
}

/* "The Run Command API follows an eventual consistency model ... the result of an API
 * command you run ... might not be immediately visible to all subsequent commands you run"
 * (GetCommandInvocation reference): a couple of seconds before the first poll, then half
 * again each time, at most 10 s apart. */
usec_t hook_poll_delay(unsigned n) {
        usec_t d = 2 * USEC_PER_SEC;

        for (unsigned i = 0; i < n && d < 10 * USEC_PER_SEC; i++)
                d += d / 2;
        return MIN(d, 10 * USEC_PER_SEC);
}

/* The daemon's credentials, what points at them (a profile, a file, a role to assume with
 * a token, a container endpoint: each gives the hook the daemon's identity), and what
 * systemd hands the service alone: a hook is the operator's script, not the service, and
 * must not notify systemd or act as amirotd. A region, an endpoint or FIPS stay: they say
 * where AWS is, not who calls it. amirotd.yaml(5) lists them. */
static bool hook_env_dropped(const char *entry) {
        static const char *const dropped[] = {
                "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                "AWS_CREDENTIAL_EXPIRATION",
                "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                "CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
                "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
        };
        size_t n = strcspn(entry, "=");

        if (strncmp(entry, "AMIROTD_", strlen("AMIROTD_")) == 0)
                return true;
        for (size_t i = 0; i < ELEMENTSOF(dropped); i++)
                if (strlen(dropped[i]) == n && strncmp(entry, dropped[i], n) == 0)
                        return true;
        return false;
}

int hook_environment(char *const *env, char *const *extra, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;

        for (char *const *e = env; e && *e; e++)
                if (!hook_env_dropped(*e) && strv_extend(&l, *e) < 0)
                        return -ENOMEM;
        for (char *const *e = extra; e && *e; e++)
                if (strv_extend(&l, *e) < 0)
                        return -ENOMEM;
        if (!l && strv_extend(&l, "PATH=/usr/sbin:/usr/bin:/sbin:/bin") < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

/* The length of the well-formed UTF-8 character at s (RFC 3629 section 4: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0; *ret_cp its code point. n > 0. */
static size_t utf8_char(const unsigned char *s, size_t n, uint32_t *ret_cp) {
        static const uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000 };
        size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 :
                     (s[0] & 0xF8) == 0xF0 ? 4 : 0;
        uint32_t cp = len == 1 ? s[0] : len == 2 ? s[0] & 0x1F : len == 3 ? s[0] & 0x0F : s[0] & 0x07;

        if (len == 0 || len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3F);
        }
        if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        *ret_cp = cp;
        return len;
}

/* journald keeps a MESSAGE that is not valid UTF-8 as a blob ("[... blob data]" in
 * journalctl), and a hook prints what it likes: the excerpt is valid UTF-8, cut between
 * characters, with each byte of an ill-formed sequence and each control character (C0 but
 * newline and tab, DEL, C1) as one '?'. Never longer than what it replaces. */
char *hook_excerpt(const char *out, size_t len) {
        const unsigned char *in = (const unsigned char *) out;
        size_t i = 0, w = 0;
        char *s;

        /* The script's last newline ends its output, not a line of it. */
        while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
                len--;
        s = malloc(MIN(len, (size_t) HOOK_EXCERPT_MAX) + 4);
        if (!s)
                return NULL;
        while (i < len) {
                uint32_t cp = 0;
                size_t n = utf8_char(in + i, len - i, &cp);

                if (n == 0) {
                        n = 1;
                        cp = '?';
                }
                if (i + n > HOOK_EXCERPT_MAX)
                        break;
                if ((cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7F && cp < 0xA0))
                        s[w++] = '?';
                else if (n == 1)
                        s[w++] = (char) cp;
                else {
                        memcpy(s + w, in + i, n);
                        w += n;
                }
                i += n;
        }
        strcpy(s + w, i < len ? "..." : "");
        return s;
}
