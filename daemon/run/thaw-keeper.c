/* SPDX-License-Identifier: MIT */
/*
 * See thaw-keeper.h. Each thaw is an entry of a list, with its SSM command (hook-ssm.c)
 * and the hold on its client's generation; it ends when SSM says the thaw ended, or
 * after its timeout. The freeze script's own watchdog thaws the instance after
 * freeze_timeout whatever becomes of this.
 */
#include <stdio.h>

#include "run/hook-log.h"
#include "run/hook-ssm.h"
#include "run/thaw-keeper.h"

typedef struct thaw_entry {
        thaw_keeper *keeper;
        struct thaw_entry *next;
        hook_ssm *ssm;
        hook_ssm_request req;           /* for a new try; strings owned below */
        char *policy, *region, *instance_id, *slot, *message_id, *why, *script, *comment, *description, *document;
        bool after;                     /* image.after, not a thaw */
        usec_t retry_until;
        unsigned tries;
        sd_event_source *retry;         /* "thaw retry": the next SendCommand */
        void *hold;
} thaw_entry;

struct thaw_keeper {
        sd_event *event;
        thaw_entry *entries;
        size_t pending;
        void *(*ref)(void *);
        void (*unref)(void *);
        void (*idle)(void *userdata);
        void *idle_userdata;
        sd_event_source *idle_defer;    /* "thaw-keeper idle": the idle callback, from the loop */
};

static thaw_entry *thaw_entry_free(thaw_entry *e) {
        thaw_keeper *k = e->keeper;
        thaw_entry *next = e->next;

        hook_ssm_free(e->ssm);
        sd_event_source_disable_unref(e->retry);
        if (e->hold && k->unref)
                k->unref(e->hold);
        free(e->policy);
        free(e->region);
        free(e->instance_id);
        free(e->slot);
        free(e->message_id);
        free(e->why);
        free(e->script);
        free(e->comment);
        free(e->description);
        free(e->document);
        free(e);
        return next;
}

int thaw_keeper_new(sd_event *e, thaw_keeper **ret) {
        thaw_keeper *k = calloc(1, sizeof(*k));

        if (!k)
                return -ENOMEM;
        k->event = sd_event_ref(e);
        *ret = k;
        return 0;
}

thaw_keeper *thaw_keeper_free(thaw_keeper *k) {
        if (!k)
                return NULL;
        for (thaw_entry *e = k->entries; e; e = thaw_entry_free(e))
                ;
        sd_event_source_disable_unref(k->idle_defer);
        sd_event_unref(k->event);
        return mfree(k);
}

void thaw_keeper_set_hold(thaw_keeper *k, void *(*ref)(void *), void (*unref)(void *)) {
        k->ref = ref;
        k->unref = unref;
}

size_t thaw_keeper_pending(const thaw_keeper *k) {
        return k ? k->pending : 0;
}

static int on_idle(sd_event_source *s, void *userdata) {
        thaw_keeper *k = userdata;

        (void) s;
        if (k->pending == 0 && k->idle)
                k->idle(k->idle_userdata);
        return 0;
}

static void thaw_keeper_check_idle(thaw_keeper *k) {
        int r;

        if (!k->idle || k->pending > 0)
                return;
        if (!k->idle_defer) {
                r = sd_event_add_defer(k->event, &k->idle_defer, on_idle, k);
                if (r < 0) {
                        k->idle(k->idle_userdata);
                        return;
                }
                (void) sd_event_source_set_description(k->idle_defer, "thaw-keeper idle");
        }
        (void) sd_event_source_set_enabled(k->idle_defer, SD_EVENT_ONESHOT);
}

void thaw_keeper_on_idle(thaw_keeper *k, void (*cb)(void *userdata), void *userdata) {
        k->idle = cb;
        k->idle_userdata = userdata;
        thaw_keeper_check_idle(k);
}

static void on_thawed(const hook_outcome *o, void *userdata);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        thaw_entry *e = userdata;
        int r;

        (void) s;
        (void) usec;
        e->retry = sd_event_source_disable_unref(e->retry);
        r = hook_ssm_start(&e->req, on_thawed, e, &e->ssm);
        if (r < 0)
                on_thawed(&(hook_outcome) { .r = r, .status = "SendCommand could not be started", .exit_code = -1 }, e);
        return 0;
}

/* A SendCommand that failed and may pass later: sent again after a wait, while the freeze's
 * watchdog has not thawed the instance anyway. */
static bool thaw_retry(thaw_entry *e, const hook_outcome *o, const log_fields *f) {
        usec_t delay = hook_thaw_retry_delay(e->tries);

        if (!hook_outcome_resendable(o) || now_usec(CLOCK_MONOTONIC) + delay >= e->retry_until)
                return false;
        e->ssm = hook_ssm_free(e->ssm);
        if (sd_event_add_time_relative(e->keeper->event, &e->retry, CLOCK_MONOTONIC, delay, USEC_PER_SEC / 10,
                                       on_retry, e) < 0)
                return false;
        (void) sd_event_source_set_description(e->retry, "thaw retry");
        e->tries++;
        log_full(LOG_WARNING, 0, NULL, f, "policy '%s' in %s: the %s of %s was not sent (%s%s%s); sending it "
                 "again in %llus", e->policy, e->region, f->action, e->instance_id, o->status ?: "failed",
                 o->error_code ? ": " : "", o->error_code ?: "", (unsigned long long) (delay / USEC_PER_SEC));
        return true;
}

static void on_thawed(const hook_outcome *o, void *userdata) {
        thaw_entry *e = userdata, **p;
        thaw_keeper *k = e->keeper;
        const char *what = e->after ? "image.after" : "thaw";
        log_fields f = { .policy = e->policy, .region = e->region, .instance_id = e->instance_id,
                         .slot = e->slot, .action = what };
        char where[128];

        if (thaw_retry(e, o, &f))
                return;
        snprintf(where, sizeof(where), "%s %s by SSM (%s)", e->after ? "on" : "of", e->instance_id, e->why);
        hook_log_outcome(o->r == 0 ? LOG_NOTICE : LOG_ERR, e->message_id, &f, what, where, o);
        for (p = &k->entries; *p && *p != e; p = &(*p)->next)
                ;
        if (*p)
                *p = e->next;
        e->next = NULL;
        thaw_entry_free(e);
        k->pending--;
        thaw_keeper_check_idle(k);
}

int thaw_keeper_send(thaw_keeper *k, const thaw_request *req, void *hold) {
        thaw_entry *e;
        int r;

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->keeper = k;
        e->retry_until = req->retry_until;
        e->after = req->after;
        if (strdup_or_null(req->policy, &e->policy) < 0 || strdup_or_null(req->region, &e->region) < 0 ||
            strdup_or_null(req->instance_id, &e->instance_id) < 0 || strdup_or_null(req->slot, &e->slot) < 0 ||
            strdup_or_null(req->message_id, &e->message_id) < 0 || strdup_or_null(req->why, &e->why) < 0 ||
            strdup_or_null(req->script, &e->script) < 0 ||
            strdup_or_null(req->document ?: SSM_DOCUMENT_SHELL, &e->document) < 0)
                r = -ENOMEM;
        else {
                e->comment = hook_comment(req->after ? HOOK_AFTER : HOOK_THAW, req->policy, req->slot);
                r = e->comment && asprintf_safe(&e->description, "%s %s/%s %s", req->after ? "after" : "thaw",
                                                req->policy, req->region, req->instance_id) >= 0 ? 0 : -ENOMEM;
        }
        e->req = (hook_ssm_request) {
                .event = k->event, .ssm = req->ssm, .instance_id = e->instance_id,
                .document = e->document, .script = e->script, .comment = e->comment,
                .timeout = req->timeout, .description = e->description,
        };
        if (r >= 0)
                r = hook_ssm_start(&e->req, on_thawed, e, &e->ssm);
        if (r < 0) {
                log_full(LOG_ERR, 0, MESSAGE_POLICY_RUN_FAILED,
                         &(log_fields) { .policy = req->policy, .region = req->region, .instance_id = req->instance_id },
                         "policy '%s' in %s: cannot send the %s of %s (%s): %s", req->policy, req->region,
                         req->after ? "image.after" : "thaw", req->instance_id, req->why, strerror(-r));
                thaw_entry_free(e);
                return r;
        }
        if (hold && k->ref)
                e->hold = k->ref(hold);
        e->next = k->entries;
        k->entries = e;
        k->pending++;
        return 0;
}
