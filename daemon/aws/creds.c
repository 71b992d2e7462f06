/* SPDX-License-Identifier: MIT */
/*
 * The credential provider: one cache, one resolution at a time, and every
 * caller answered from the event loop. A get with fresh credentials is answered
 * from the cache; otherwise it waits for the one resolution in flight (starting
 * it when there is none), so a hundred concurrent calls cost one IMDS or STS
 * round trip. Temporary credentials are resolved again when they come within 5
 * minutes of their expiry; if that fails while they are still valid, callers
 * keep getting them (the next get tries again, at most every 10 s).
 *
 * What a resolution does is the kind's: creds-chain.c (the default chain) or
 * creds-sts.c (AssumeRole).
 */
#include <stdio.h>

#include "creds-internal.h"
#include "list.h"

/* Refresh temporary credentials this long before Expiration. botocore's mandatory
 * refresh is 10 minutes; IMDS serves new keys at least 5 minutes before the old
 * ones expire ("Retrieve security credentials from instance metadata"). */
#define CREDS_REFRESH_BEFORE (5 * 60)
/* While cached credentials are still valid, a failed refresh is retried no more often. */
#define CREDS_RETRY_AFTER 10

/* ---- The provider ---------------------------------------------------------------------- */

time_t creds_provider_now(creds_provider *p) {
        return p->now ? p->now(p->now_userdata) : time(NULL);
}

void creds_provider_set_clock(creds_provider *p, time_t (*now)(void *userdata), void *userdata) {
        p->now = now;
        p->now_userdata = userdata;
}

static bool creds_usable(creds_provider *p, time_t now) {
        return p->cached && (p->cached->expiration == 0 || now < p->cached->expiration);
}

static bool creds_need_resolve(creds_provider *p) {
        time_t now = creds_provider_now(p);

        if (!creds_usable(p, now))
                return true;
        if (p->cached->expiration == 0 || now < p->cached->expiration - CREDS_REFRESH_BEFORE)
                return false;
        /* In the refresh window with valid keys: try again, but not on every get. */
        return now - p->last_attempt >= CREDS_RETRY_AFTER || now < p->last_attempt;
}

static void creds_wait_unlink(creds_wait *w) {
        LIST_REMOVE(w->provider->waits, &w->provider->waits_tail, w);
}

void creds_wait_cancel(creds_wait *w) {
        if (!w)
                return;
        creds_wait_unlink(w);
        free(w);
}

static void creds_provider_schedule(creds_provider *p) {
        /* Cannot fail for a valid defer source. */
        (void) sd_event_source_set_enabled(p->defer, SD_EVENT_ONESHOT);
}

static void creds_provider_dispatch(creds_provider *p) {
        _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
        _cleanup_(aws_error_done) aws_error err = {};
        int r = 0;

        if (p->resolving || !p->waits)
                return;

        /* Each callback gets a copy, so that one which invalidates or frees the
         * provider cannot pull the credentials from under the next. */
        if (creds_usable(p, creds_provider_now(p)))
                r = aws_credentials_copy(p->cached, &c);
        else if (p->result < 0) {
                r = p->result;
                if (aws_error_set(&err, p->error.status, p->error.code, p->error.message, p->error.request_id) < 0)
                        r = -ENOMEM;
        } else {
                r = -ESTALE;
                aws_error_setf(&err, "AWS credentials from %s expired", p->source ?: "the provider");
        }
        if (r == -ENOMEM && !err.message)
                aws_error_setf(&err, "out of memory");

        p->dispatching = true;
        while (p->waits && !p->resolving && !p->free_requested) {
                creds_wait *w = p->waits;
                creds_callback cb = w->callback;
                void *userdata = w->userdata;

                creds_wait_cancel(w);
                cb(r, r >= 0 ? c : NULL, r >= 0 ? NULL : &err, userdata);
        }
        p->dispatching = false;

        if (p->free_requested)
                creds_provider_free(p);
}

static int on_defer(sd_event_source *s, void *userdata) {
        (void) s;
        creds_provider_dispatch(userdata);
        return 0;
}

void creds_provider_resolved(creds_provider *p, int r, aws_credentials *c, const char *source, aws_error *err) {
        p->resolving = false;
        if (r >= 0) {
                aws_credentials_free(p->cached);
                p->cached = c;
                p->source = source;
                p->result = 0;
                aws_error_done(&p->error);
        } else {
                aws_credentials_free(c);
                p->result = r;
                if (err)
                        aws_error_move(&p->error, err);
                else
                        aws_error_setf(&p->error, "%s", strerror(-r));
                if (!creds_usable(p, creds_provider_now(p)))
                        p->cached = aws_credentials_free(p->cached);
        }
        creds_provider_schedule(p);
}

int creds_provider_alloc(sd_event *event, const creds_provider_vtable *vtable, creds_provider **ret) {
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->vtable = vtable;
        p->event = sd_event_ref(event);
        r = sd_event_add_defer(event, &p->defer, on_defer, p);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(p->defer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->defer, "creds-answer");
        *ret = TAKE_PTR(p);
        return 0;
}

creds_provider *creds_provider_free(creds_provider *p) {
        if (!p)
                return NULL;
        if (p->dispatching) {
                /* Called from one of our callbacks: finish when the dispatch returns. */
                p->free_requested = true;
                return NULL;
        }
        if (p->resolving && p->vtable && p->vtable->cancel)
                p->vtable->cancel(p);
        while (p->waits)
                creds_wait_cancel(p->waits);
        if (p->vtable && p->vtable->done)
                p->vtable->done(p);
        sd_event_source_disable_unref(p->defer);
        sd_event_unref(p->event);
        aws_credentials_free(p->cached);
        aws_error_done(&p->error);
        free(p);
        return NULL;
}

int creds_provider_get(creds_provider *p, creds_callback cb, void *userdata, creds_wait **ret_wait) {
        creds_wait *w;

        if (!p || !cb)
                return -EINVAL;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (creds_wait) {
                .provider = p,
                .callback = cb,
                .userdata = userdata,
        };
        LIST_APPEND(p->waits, &p->waits_tail, w);

        if (!p->resolving) {
                if (creds_need_resolve(p)) {
                        p->resolving = true;
                        p->last_attempt = creds_provider_now(p);
                        p->vtable->resolve(p);
                } else
                        creds_provider_schedule(p);
        }

        if (ret_wait)
                *ret_wait = w;
        return 0;
}

sd_event *creds_provider_get_event(const creds_provider *p) {
        return p ? p->event : NULL;
}

void creds_provider_invalidate(creds_provider *p) {
        if (!p)
                return;
        /* A chain's role step keeps the role's keys in its own provider: forget them too,
         * or the next resolution would hand back the keys AWS just refused. */
        creds_provider_invalidate(p->role.role);
        p->cached = aws_credentials_free(p->cached);
        p->result = 0;
        aws_error_done(&p->error);
}

const char *creds_provider_source(const creds_provider *p) {
        return p ? p->source : NULL;
}
