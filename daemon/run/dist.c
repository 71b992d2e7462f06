/* SPDX-License-Identifier: MIT */
/*
 * See dist.h: the distributors in order, each started from the loop ("dist
 * web/us-east-1") once the one before it is done, so that none ever returns into a
 * sequence that moved on under it. The run's cache of the places' images is
 * dist-images.c's; dist.c only makes it before the first distributor and frees it
 * after the last.
 */
#include <stdio.h>

#include "run/dist.h"

/* In the order they run: one line each. */
static const dist_ops *const distributors[] = {
        &dist_share_ops,
        &dist_copy_ops,
        &dist_template_ops,
        &dist_ssm_ops,
        NULL
};

struct dist {
        dist_context ctx;
        dist_done_cb done;
        void *userdata;
        sd_event_source *next;          /* deferred: start the next distributor, or end */
        size_t at;                      /* index of the distributor running (or next to run) */
        void *state;                    /* the running distributor's */
        bool started;                   /* distributors[at] started and not yet freed */
        bool running;                   /* ... and not yet done */
        int error;
        dist_images *cache;             /* ctx.cache: the distributors' ops hold into it, so it goes last */
};

bool dist_wanted(const policy *p) {
        for (size_t i = 0; distributors[i]; i++)
                if (distributors[i]->wanted(p))
                        return true;
        return false;
}

static void on_distributor_done(int r, void *userdata) {
        dist *d = userdata;

        if (r < 0 && d->error == 0)
                d->error = r;
        d->running = false;
        (void) sd_event_source_set_enabled(d->next, SD_EVENT_ONESHOT);
}

/* Frees the distributor that ended, starts the next one p wants; after the last, done. */
static int on_next(sd_event_source *s, void *userdata) {
        dist *d = userdata;
        int r;

        (void) s;
        if (d->running)
                return 0;
        if (d->started) {
                distributors[d->at]->free(d->state);
                d->state = NULL;
                d->started = false;
                d->at++;
        }
        for (; distributors[d->at]; d->at++) {
                if (!distributors[d->at]->wanted(d->ctx.policy))
                        continue;
                d->running = d->started = true;
                r = distributors[d->at]->start(&d->ctx, on_distributor_done, d, &d->state);
                if (r >= 0)
                        return 0;
                d->running = d->started = false;
                d->state = NULL;
                if (d->error == 0)
                        d->error = r;
        }
        /* The callee may free d: nothing of it is touched after. */
        d->done(d->error, d->userdata);
        return 0;
}

int dist_start(const dist_context *ctx, dist_done_cb done, void *userdata, dist **ret) {
        _cleanup_(dist_freep) dist *d = NULL;
        char description[128];
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->cache = dist_images_new();
        if (!d->cache)
                return -ENOMEM;
        d->ctx = *ctx;
        d->ctx.cache = d->cache;
        d->done = done;
        d->userdata = userdata;
        r = sd_event_add_defer(ctx->event, &d->next, on_next, d);
        if (r < 0)
                return r;
        snprintf(description, sizeof(description), "dist %s/%s", ctx->policy->name, ctx->region);
        (void) sd_event_source_set_description(d->next, description);
        r = sd_event_source_set_enabled(d->next, SD_EVENT_ONESHOT);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

dist *dist_free(dist *d) {
        if (!d)
                return NULL;
        if (d->started)
                distributors[d->at]->free(d->state);
        sd_event_source_disable_unref(d->next);
        dist_images_free(d->cache);
        return mfree(d);
}
