/* SPDX-License-Identifier: MIT */
/*
 * The run's cache of the policy's images in the places distribution acts (dist.h has
 * the rule). A hit answers from the loop, as a DescribeImages does, so that a
 * distributor never sees its callback before dist_images_get() has returned. A forgotten
 * entry stays in the list, stale, until the run ends: whoever holds it keeps reading it.
 * Without a cache (a distributor tested alone) each op describes and owns its answer.
 */
#include "aws/ec2.h"
#include "run/dist.h"
#include "run/plan.h"

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

dist_images *dist_images_new(void) {
        return calloc(1, sizeof(dist_images));
}

dist_images *dist_images_free(dist_images *c) {
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
