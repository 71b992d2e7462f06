/* SPDX-License-Identifier: MIT */
/*
 * The EC2 values of ec2-types.h: tags (a small ordered map, key unique), the
 * state string tables (quoted from the EC2 API reference; a state this build
 * does not know reads as _INVALID, never as an error) and the destructors.
 * No XML and no I/O: the parsers that fill these live in ec2.c.
 */
#include "ec2-types.h"

void ec2_tags_done(ec2_tags *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->n; i++) {
                free(t->items[i].key);
                free(t->items[i].value);
        }
        free(t->items);
        *t = (ec2_tags) {};
}

int ec2_tags_add(ec2_tags *t, const char *key, const char *value) {
        _cleanup_(freep) char *k = NULL, *v = NULL;
        ec2_tag *items;

        if (!t || !key)
                return -EINVAL;
        v = strdup(value ?: "");
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->items[i].key, key)) {
                        free(t->items[i].value);
                        t->items[i].value = TAKE_PTR(v);
                        return 0;
                }
        k = strdup(key);
        if (!k)
                return -ENOMEM;
        items = reallocarray(t->items, t->n + 1, sizeof(*items));
        if (!items)
                return -ENOMEM;
        t->items = items;
        t->items[t->n++] = (ec2_tag) { .key = TAKE_PTR(k), .value = TAKE_PTR(v) };
        return 0;
}

const char *ec2_tags_get(const ec2_tags *t, const char *key) {
        if (!t || !key)
                return NULL;
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->items[i].key, key))
                        return t->items[i].value;
        return NULL;
}

int ec2_tags_copy(const ec2_tags *src, ec2_tags *dst) {
        _cleanup_(ec2_tags_done) ec2_tags c = {};
        int r;

        if (!src || !dst)
                return -EINVAL;
        for (size_t i = 0; i < src->n; i++) {
                r = ec2_tags_add(&c, src->items[i].key, src->items[i].value);
                if (r < 0)
                        return r;
        }
        ec2_tags_done(dst);
        *dst = c;
        c = (ec2_tags) {};
        return 0;
}

/* "Possible values: pending | running | shutting-down | terminated | stopping | stopped" */
static const char *const instance_state_table[_EC2_INSTANCE_STATE_MAX] = {
        [EC2_INSTANCE_PENDING] = "pending",
        [EC2_INSTANCE_RUNNING] = "running",
        [EC2_INSTANCE_SHUTTING_DOWN] = "shutting-down",
        [EC2_INSTANCE_TERMINATED] = "terminated",
        [EC2_INSTANCE_STOPPING] = "stopping",
        [EC2_INSTANCE_STOPPED] = "stopped",
};

/* "Valid Values: pending | available | invalid | deregistered | transient | failed | error | disabled" */
static const char *const image_state_table[_EC2_IMAGE_STATE_MAX] = {
        [EC2_IMAGE_PENDING] = "pending",
        [EC2_IMAGE_AVAILABLE] = "available",
        [EC2_IMAGE_INVALID] = "invalid",
        [EC2_IMAGE_DEREGISTERED] = "deregistered",
        [EC2_IMAGE_TRANSIENT] = "transient",
        [EC2_IMAGE_FAILED] = "failed",
        [EC2_IMAGE_ERROR] = "error",
        [EC2_IMAGE_DISABLED] = "disabled",
};

/* "Valid Values: pending | completed | error | recoverable | recovering" */
static const char *const snapshot_state_table[_EC2_SNAPSHOT_STATE_MAX] = {
        [EC2_SNAPSHOT_PENDING] = "pending",
        [EC2_SNAPSHOT_COMPLETED] = "completed",
        [EC2_SNAPSHOT_ERROR] = "error",
        [EC2_SNAPSHOT_RECOVERABLE] = "recoverable",
        [EC2_SNAPSHOT_RECOVERING] = "recovering",
};

static const char *table_to_string(const char *const *table, size_t n, int i) {
        return i >= 0 && (size_t) i < n ? table[i] : NULL;
}

static int table_from_string(const char *const *table, size_t n, const char *s) {
        if (s)
                for (size_t i = 0; i < n; i++)
                        if (streq(table[i], s))
                                return (int) i;
        return -EINVAL;
}

/* The to_string/from_string pair of one enum, from its table. */
#define DEFINE_STATE_TABLE(name, type, table)                                           \
        const char *name##_to_string(type s) {                                          \
                return table_to_string(table, ELEMENTSOF(table), s);                    \
        }                                                                               \
        type name##_from_string(const char *s) {                                        \
                return table_from_string(table, ELEMENTSOF(table), s);                  \
        }

DEFINE_STATE_TABLE(ec2_instance_state, ec2_instance_state, instance_state_table)
DEFINE_STATE_TABLE(ec2_image_state, ec2_image_state, image_state_table)
DEFINE_STATE_TABLE(ec2_snapshot_state, ec2_snapshot_state, snapshot_state_table)

void ec2_instance_done(ec2_instance *i) {
        if (!i)
                return;
        free(i->id);
        free(i->image_id);
        free(i->name);
        ec2_tags_done(&i->tags);
        strv_free(i->volume_ids);
        *i = (ec2_instance) {};
}

void ec2_image_done(ec2_image *i) {
        if (!i)
                return;
        free(i->id);
        free(i->name);
        free(i->description);
        free(i->owner_id);
        free(i->state_reason);
        ec2_tags_done(&i->tags);
        for (size_t k = 0; k < i->n_devices; k++) {
                free(i->devices[k].device_name);
                free(i->devices[k].snapshot_id);
        }
        free(i->devices);
        *i = (ec2_image) {};
}

void ec2_snapshot_done(ec2_snapshot *s) {
        if (!s)
                return;
        free(s->id);
        free(s->volume_id);
        free(s->description);
        ec2_tags_done(&s->tags);
        *s = (ec2_snapshot) {};
}

/* A list's _done(): every item's, then the array's. */
#define DEFINE_LIST_DONE(name, list_type, item_done)                                    \
        void name(list_type *l) {                                                       \
                if (!l)                                                                 \
                        return;                                                         \
                for (size_t k = 0; k < l->n; k++)                                       \
                        item_done(&l->items[k]);                                        \
                free(l->items);                                                         \
                *l = (list_type) {};                                                    \
        }

DEFINE_LIST_DONE(ec2_instance_list_done, ec2_instance_list, ec2_instance_done)
DEFINE_LIST_DONE(ec2_image_list_done, ec2_image_list, ec2_image_done)
DEFINE_LIST_DONE(ec2_snapshot_list_done, ec2_snapshot_list, ec2_snapshot_done)
