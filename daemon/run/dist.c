/* SPDX-License-Identifier: MIT */
/*
 * See dist.h: the distributors in order, each started from the loop ("dist
 * web/us-east-1") once the one before it is done, so that none ever returns into a
 * sequence that moved on under it; and the run's cache of the places' images, which
 * answers from the loop too, hit or miss, so that a distributor never sees its callback
 * before dist_images_get() has returned.
 */
#include <stdio.h>

#include "aws/ec2.h"
#include "run/dist.h"
#include "run/plan.h"

static dist_images *dist_images_new(void);
static dist_images *dist_images_free(dist_images *c);

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

/* ---- The places' images, once a run -------------------------------------------------------- */

typedef struct images_entry {
        char *region, *role_arn, *external_id;
        ec2_image_list list;
        bool stale;                     /* forgotten: kept for those holding it, handed out no more */
        struct images_entry *next;
} images_entry;

struct dist_images {
        images_entry *entries;
};

struct dist_images_op {
        dist_images *cache;             /* NULL: the entry is the op's own */
        images_entry *entry;            /* the answer */
        dist_place where;               /* borrowed from the caller */
        ec2_op *describe;
        sd_event_source *hit;           /* deferred: the answer of a cached place */
        dist_images_cb cb;
        void *userdata;
};

static images_entry *images_entry_free(images_entry *e) {
        if (!e)
                return NULL;
        ec2_image_list_done(&e->list);
        free(e->region);
        free(e->role_arn);
        free(e->external_id);
        return mfree(e);
}

static bool images_entry_is(const images_entry *e, const dist_place *where) {
        return !e->stale && streq(e->region, where->region) && streq_ptr(e->role_arn, where->role_arn) &&
                streq_ptr(e->external_id, where->external_id);
}

static dist_images *dist_images_new(void) {
        return calloc(1, sizeof(dist_images));
}

static dist_images *dist_images_free(dist_images *c) {
        if (!c)
                return NULL;
        while (c->entries) {
                images_entry *e = c->entries;
                c->entries = e->next;
                images_entry_free(e);
        }
        return mfree(c);
}

dist_images_op *dist_images_op_free(dist_images_op *op) {
        if (!op)
                return NULL;
        ec2_op_cancel(op->describe);
        sd_event_source_disable_unref(op->hit);
        if (!op->cache)
                images_entry_free(op->entry);
        return mfree(op);
}

static void images_answer(dist_images_op *op) {
        op->cb(0, op->entry->list.items, op->entry->list.n, NULL, op->userdata);
}

static int on_images_hit(sd_event_source *s, void *userdata) {
        dist_images_op *op = userdata;

        (void) s;
        images_answer(op);
        return 0;
}

static void on_images_described(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        dist_images_op *op = userdata;
        images_entry *e;

        op->describe = NULL;
        if (r >= 0) {
                e = calloc(1, sizeof(*e));
                if (e && (e->region = strdup(op->where.region)) &&
                    (!op->where.role_arn || (e->role_arn = strdup(op->where.role_arn))) &&
                    (!op->where.external_id || (e->external_id = strdup(op->where.external_id)))) {
                        e->list = *l;
                        *l = (ec2_image_list) {};
                } else {
                        e = images_entry_free(e);
                        r = -ENOMEM;
                }
        }
        if (r < 0) {
                op->cb(r, NULL, 0, err, op->userdata);
                return;
        }
        op->entry = e;
        if (op->cache) {
                e->next = op->cache->entries;
                op->cache->entries = e;
        }
        images_answer(op);
}

int dist_images_get(const dist_context *ctx, const dist_place *where, dist_images_cb cb, void *userdata,
                    dist_images_op **ret_op) {
        _cleanup_(dist_images_op_freep) dist_images_op *op = NULL;
        char *values[] = { (char *) ctx->policy->name, NULL };
        ec2_filter filter = { .name = "tag:" TAG_POLICY, .values = values };
        aws_client *ec2;
        int r;

        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (dist_images_op) { .cache = ctx->cache, .where = *where, .cb = cb, .userdata = userdata };
        for (images_entry *e = ctx->cache ? ctx->cache->entries : NULL; e; e = e->next)
                if (images_entry_is(e, where)) {
                        op->entry = e;
                        r = sd_event_add_defer(ctx->event, &op->hit, on_images_hit, op);
                        if (r < 0)
                                return r;
                        (void) sd_event_source_set_description(op->hit, "dist-images");
                        r = sd_event_source_set_enabled(op->hit, SD_EVENT_ONESHOT);
                        if (r < 0)
                                return r;
                        *ret_op = TAKE_PTR(op);
                        return 0;
                }
        r = aws_pool_ec2_as(ctx->pool, where->region, where->role_arn, where->external_id, &ec2);
        if (r < 0)
                return r;
        r = ec2_describe_images(ec2, &filter, 1, NULL, on_images_described, op, &op->describe);
        if (r < 0)
                return r;
        *ret_op = TAKE_PTR(op);
        return 0;
}

void dist_images_forget(const dist_context *ctx, const dist_place *where) {
        for (images_entry *e = ctx->cache ? ctx->cache->entries : NULL; e; e = e->next)
                if (images_entry_is(e, where))
                        e->stale = true;
}
