/* SPDX-License-Identifier: MIT */
/*
 * The EC2 values of ec2-types.h: tags (a small ordered map, key unique), the
 * state string tables (quoted from the EC2 API reference; a state this build
 * does not know reads as _INVALID, never as an error), the pools that hold a
 * parsed resource in one block, and the destructors.
 * No XML and no I/O: the parsers that fill these live in ec2.c.
 */
#include <assert.h>

#include "ec2-types.h"

/*
 * Tag keys are shared: the same few ("amirotd:policy", "amirotd:slot", "Name") stand on
 * every image and snapshot, so the first distinct keys that compaction meets are kept once,
 * for the process's life, in a small arena, and pooled tags point there. Bounded: keys
 * beyond the arena stay in each resource's pool. The daemon has one thread.
 */
#define INTERN_KEYS_MAX 64
#define INTERN_ARENA_SIZE 2048

static struct {
        char arena[INTERN_ARENA_SIZE];
        size_t used;
        char *keys[INTERN_KEYS_MAX];
        size_t n_keys;
} intern;

static bool is_interned(const void *p) {
        return p && (const char *) p >= intern.arena && (const char *) p < intern.arena + sizeof(intern.arena);
}

/* The arena's copy of key, made now if there is room, or NULL. */
static char *intern_key(const char *key) {
        size_t n = strlen(key) + 1;
        char *copy;

        for (size_t k = 0; k < intern.n_keys; k++)
                if (streq(intern.keys[k], key))
                        return intern.keys[k];
        if (intern.n_keys == INTERN_KEYS_MAX || n > sizeof(intern.arena) - intern.used)
                return NULL;
        copy = memcpy(intern.arena + intern.used, key, n);
        intern.used += n;
        intern.keys[intern.n_keys++] = copy;
        return copy;
}

static void free_unless_interned(void *p) {
        if (!is_interned(p))
                free(p);
}

void ec2_tags_done(ec2_tags *t) {
        if (!t)
                return;
        if (t->pooled) {
                *t = (ec2_tags) {};
                return;
        }
        for (size_t i = 0; i < t->n; i++) {
                free_unless_interned(t->items[i].key);
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
        if (t->pooled) {
                ec2_tags own = {};
                int r = ec2_tags_copy(t, &own);

                if (r < 0)
                        return r;
                *t = own;               /* the pool's copies go with the pool */
        }
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

void ec2_tags_keep_prefix(ec2_tags *t, const char *prefix) {
        size_t kept = 0;

        if (!t || t->pooled)
                return;
        for (size_t k = 0; k < t->n; k++)
                if (startswith(t->items[k].key, prefix))
                        kept++;
        if (kept == 0 || kept == t->n)
                return;
        kept = 0;
        for (size_t k = 0; k < t->n; k++) {
                if (startswith(t->items[k].key, prefix)) {
                        t->items[kept++] = t->items[k];
                        continue;
                }
                free_unless_interned(t->items[k].key);
                free(t->items[k].value);
        }
        t->n = kept;
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

/* InstanceStatusSummary, Status: "Valid Values: ok | impaired | insufficient-data |
 * not-applicable | initializing" */
static const char *const status_summary_table[_EC2_STATUS_SUMMARY_MAX] = {
        [EC2_STATUS_OK] = "ok",
        [EC2_STATUS_IMPAIRED] = "impaired",
        [EC2_STATUS_INSUFFICIENT_DATA] = "insufficient-data",
        [EC2_STATUS_NOT_APPLICABLE] = "not-applicable",
        [EC2_STATUS_INITIALIZING] = "initializing",
};

DEFINE_STATE_TABLE(ec2_status_summary, ec2_status_summary, status_summary_table)

static const char *const dereg_protection_table[_EC2_DEREG_PROTECTION_MAX] = {
        [EC2_DEREG_PROTECTION_DISABLED] = "disabled",
        [EC2_DEREG_PROTECTION_ENABLED] = "enabled-without-cooldown",
        [EC2_DEREG_PROTECTION_ENABLED_COOLDOWN] = "enabled-with-cooldown",
        [EC2_DEREG_PROTECTION_COOLDOWN] = "disabled-until",
};

const char *ec2_dereg_protection_to_string(ec2_dereg_protection p) {
        return table_to_string(dereg_protection_table, ELEMENTSOF(dereg_protection_table), p);
}

ec2_dereg_protection ec2_dereg_protection_from_string(const char *s) {
        if (s && startswith(s, "disabled-until"))
                return EC2_DEREG_PROTECTION_COOLDOWN;
        return table_from_string(dereg_protection_table, ELEMENTSOF(dereg_protection_table), s);
}

void ec2_instance_done(ec2_instance *i) {
        if (!i)
                return;
        free(i->id);
        free(i->image_id);
        free(i->name);
        ec2_tags_done(&i->tags);
        strv_free(i->volume_ids);
        free(i->root_device_name);
        free(i->platform);
        for (size_t k = 0; k < i->n_volumes; k++) {
                free(i->volumes[k].device_name);
                free(i->volumes[k].volume_id);
        }
        free(i->volumes);
        free(i->state_reason);
        *i = (ec2_instance) {};
}

/* ---- Pools ----------------------------------------------------------------------------- */

static bool pool_holds(const ec2_pool *p, const void *ptr) {
        return p->data && ptr && (const char *) ptr >= p->data && (const char *) ptr < p->data + p->size;
}

static void pool_free(const ec2_pool *p, void *ptr) {
        if (!pool_holds(p, ptr) && !is_interned(ptr))
                free(ptr);
}

/* Tags that may be partly in pool p: what a caller put there after compaction is its own. */
static void tags_done_in(const ec2_pool *p, ec2_tags *t) {
        if (!t->pooled) {
                ec2_tags_done(t);
                return;
        }
        for (size_t k = 0; k < t->n; k++) {
                pool_free(p, t->items[k].key);
                pool_free(p, t->items[k].value);
        }
        pool_free(p, t->items);
        *t = (ec2_tags) {};
}

static size_t str_size(const char *s) {
        return s ? strlen(s) + 1 : 0;
}

/* Points the keys at the arena's copies where it has them or room for them. */
static void tags_intern_keys(ec2_tags *t) {
        for (size_t k = 0; k < t->n; k++) {
                char *shared = is_interned(t->items[k].key) ? NULL : intern_key(t->items[k].key);

                if (shared) {
                        free(t->items[k].key);
                        t->items[k].key = shared;
                }
        }
}

static size_t tags_size(const ec2_tags *t) {
        size_t size = t->n * sizeof(ec2_tag);

        for (size_t k = 0; k < t->n; k++)
                size += (is_interned(t->items[k].key) ? 0 : str_size(t->items[k].key)) + str_size(t->items[k].value);
        return size;
}

/* Copies n bytes of array *a to the pool's next place (arrays first: malloc's alignment
 * holds for them), frees the original and points *a at the copy. */
static void pool_move_array(ec2_pool *p, size_t *used, void **a, size_t n) {
        if (!*a || n == 0)
                return;
        memcpy(p->data + *used, *a, n);
        free(*a);
        *a = p->data + *used;
        *used += n;
}

static void pool_move_str(ec2_pool *p, size_t *used, char **s) {
        size_t n = str_size(*s);

        if (n == 0)
                return;
        memcpy(p->data + *used, *s, n);
        free(*s);
        *s = p->data + *used;
        *used += n;
}

static void pool_move_tags(ec2_pool *p, size_t *used, ec2_tags *t) {
        pool_move_array(p, used, (void **) &t->items, t->n * sizeof(ec2_tag));
        for (size_t k = 0; k < t->n; k++) {
                if (!is_interned(t->items[k].key))
                        pool_move_str(p, used, &t->items[k].key);
                pool_move_str(p, used, &t->items[k].value);
        }
        t->pooled = t->items != NULL;
}

static int pool_new(size_t size, ec2_pool *ret) {
        *ret = (ec2_pool) { .data = size > 0 ? malloc(size) : NULL, .size = size };
        return size > 0 && !ret->data ? -ENOMEM : 0;
}

/* Only a resource with no pool yet and nothing pooled is compacted; one with a pool is left be. */
int ec2_image_compact(ec2_image *i) {
        size_t size, used = 0;
        int r;

        if (!i)
                return -EINVAL;
        if (i->pool.data || i->tags.pooled)
                return 0;
        tags_intern_keys(&i->tags);
        size = i->n_devices * sizeof(ec2_block_device) + tags_size(&i->tags) + str_size(i->id) +
                str_size(i->name) + str_size(i->state_reason) + str_size(i->source_instance_id);
        for (size_t k = 0; k < i->n_devices; k++)
                size += str_size(i->devices[k].device_name) + str_size(i->devices[k].snapshot_id);
        r = pool_new(size, &i->pool);
        if (r < 0)
                return r;
        pool_move_array(&i->pool, &used, (void **) &i->devices, i->n_devices * sizeof(ec2_block_device));
        pool_move_tags(&i->pool, &used, &i->tags);
        for (size_t k = 0; k < i->n_devices; k++) {
                pool_move_str(&i->pool, &used, &i->devices[k].device_name);
                pool_move_str(&i->pool, &used, &i->devices[k].snapshot_id);
        }
        pool_move_str(&i->pool, &used, &i->id);
        pool_move_str(&i->pool, &used, &i->name);
        pool_move_str(&i->pool, &used, &i->state_reason);
        pool_move_str(&i->pool, &used, &i->source_instance_id);
        assert(used == size);
        return 0;
}

int ec2_snapshot_compact(ec2_snapshot *s) {
        size_t size, used = 0;
        int r;

        if (!s)
                return -EINVAL;
        if (s->pool.data || s->tags.pooled)
                return 0;
        tags_intern_keys(&s->tags);
        size = tags_size(&s->tags) + str_size(s->id);
        r = pool_new(size, &s->pool);
        if (r < 0)
                return r;
        pool_move_tags(&s->pool, &used, &s->tags);
        pool_move_str(&s->pool, &used, &s->id);
        assert(used == size);
        return 0;
}

void ec2_image_done(ec2_image *i) {
        if (!i)
                return;
        pool_free(&i->pool, i->id);
        pool_free(&i->pool, i->name);
        pool_free(&i->pool, i->state_reason);
        pool_free(&i->pool, i->source_instance_id);
        tags_done_in(&i->pool, &i->tags);
        for (size_t k = 0; k < i->n_devices; k++) {
                pool_free(&i->pool, i->devices[k].device_name);
                pool_free(&i->pool, i->devices[k].snapshot_id);
        }
        pool_free(&i->pool, i->devices);
        free(i->pool.data);
        *i = (ec2_image) {};
}

void ec2_snapshot_done(ec2_snapshot *s) {
        if (!s)
                return;
        pool_free(&s->pool, s->id);
        tags_done_in(&s->pool, &s->tags);
        free(s->pool.data);
        *s = (ec2_snapshot) {};
}

void ec2_volume_done(ec2_volume *v) {
        if (!v)
                return;
        free(v->id);
        ec2_tags_done(&v->tags);
        *v = (ec2_volume) {};
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
DEFINE_LIST_DONE(ec2_volume_list_done, ec2_volume_list, ec2_volume_done)

static void ec2_instance_status_done(ec2_instance_status *s) {
        free(s->instance_id);
        *s = (ec2_instance_status) {};
}

DEFINE_LIST_DONE(ec2_instance_status_list_done, ec2_instance_status_list, ec2_instance_status_done)
