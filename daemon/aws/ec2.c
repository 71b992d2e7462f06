/* SPDX-License-Identifier: MIT */
/*
 * Typed EC2: the values the daemon reasons about (instances, images,
 * snapshots, tags), parsed from EC2's XML answers, and the calls that fetch or
 * change them, built on aws_client_call(). Parsers are pure and strict where a
 * wrong value could lead to a wrong deletion: a missing resource id or an
 * unreadable timestamp rejects the page (-EBADMSG) rather than inventing a
 * value, while a state string this build does not know is kept as _INVALID so
 * that a new EC2 state does not stop the daemon (the planner leaves such
 * resources alone). Element names follow the EC2 API reference (2016-11-15):
 * reservationSet/item/instancesSet/item, imagesSet/item, snapshotSet/item,
 * tagSet/item/{key,value}, blockDeviceMapping/item. Nothing here logs.
 */
#include <stdio.h>

#include "ec2.h"
#include "query.h"

/* ---- Values ---------------------------------------------------------------------------- */

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

const char *ec2_instance_state_to_string(ec2_instance_state s) {
        return table_to_string(instance_state_table, ELEMENTSOF(instance_state_table), s);
}

ec2_instance_state ec2_instance_state_from_string(const char *s) {
        return table_from_string(instance_state_table, ELEMENTSOF(instance_state_table), s);
}

const char *ec2_image_state_to_string(ec2_image_state s) {
        return table_to_string(image_state_table, ELEMENTSOF(image_state_table), s);
}

ec2_image_state ec2_image_state_from_string(const char *s) {
        return table_from_string(image_state_table, ELEMENTSOF(image_state_table), s);
}

const char *ec2_snapshot_state_to_string(ec2_snapshot_state s) {
        return table_to_string(snapshot_state_table, ELEMENTSOF(snapshot_state_table), s);
}

ec2_snapshot_state ec2_snapshot_state_from_string(const char *s) {
        return table_from_string(snapshot_state_table, ELEMENTSOF(snapshot_state_table), s);
}

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

/* Frees items [from, n) of a list and shrinks it back to `from` items. */
#define LIST_TRUNCATE(l, from, done)                                    \
        do {                                                            \
                for (size_t _k = (from); _k < (l)->n; _k++)             \
                        done(&(l)->items[_k]);                          \
                (l)->n = (from);                                        \
        } while (0)

void ec2_instance_list_done(ec2_instance_list *l) {
        if (!l)
                return;
        LIST_TRUNCATE(l, 0, ec2_instance_done);
        free(l->items);
        *l = (ec2_instance_list) {};
}

void ec2_image_list_done(ec2_image_list *l) {
        if (!l)
                return;
        LIST_TRUNCATE(l, 0, ec2_image_done);
        free(l->items);
        *l = (ec2_image_list) {};
}

void ec2_snapshot_list_done(ec2_snapshot_list *l) {
        if (!l)
                return;
        LIST_TRUNCATE(l, 0, ec2_snapshot_done);
        free(l->items);
        *l = (ec2_snapshot_list) {};
}

/* Makes room for one more item of `size` bytes in a list of n with capacity *cap. */
static int list_reserve(void **items, size_t *cap, size_t n, size_t size) {
        size_t c;
        void *p;

        if (n < *cap)
                return 0;
        c = *cap ? *cap * 2 : 64;
        if (c < *cap)
                return -ENOMEM;
        p = reallocarray(*items, c, size);
        if (!p)
                return -ENOMEM;
        *items = p;
        *cap = c;
        return 0;
}

#define LIST_RESERVE(l) list_reserve((void **) &(l)->items, &(l)->cap, (l)->n, sizeof(*(l)->items))

/* ---- Parsers --------------------------------------------------------------------------- */

static xmlNode *response_root(xmlDoc *doc, const char *name) {
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

        if (!root || !root->name || (name && !streq((const char *) root->name, name)))
                return NULL;
        return root;
}

/* The text at path, or NULL when absent: -ENOMEM is the only failure. */
static int text_opt(const xmlNode *n, const char *path, char **ret) {
        int r = xml_child_text(n, path, ret);

        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        return r;
}

/* The text at path, which must be present and non-empty. */
static int text_req(const xmlNode *n, const char *path, char **ret) {
        char *s = NULL;
        int r;

        r = text_opt(n, path, &s);
        if (r < 0)
                return r;
        if (isempty(s)) {
                free(s);
                return -EBADMSG;
        }
        *ret = s;
        return 0;
}

/* A timestamp at path: 0 when absent or empty, -EBADMSG when unreadable. */
static int time_opt(const xmlNode *n, const char *path, time_t *ret) {
        _cleanup_(freep) char *s = NULL;
        int r;

        r = text_opt(n, path, &s);
        if (r < 0)
                return r;
        if (isempty(s)) {
                *ret = 0;
                return 0;
        }
        return parse_iso8601(s, ret) < 0 ? -EBADMSG : 0;
}

/* tagSet/item/{key,value} of parent; a tag without a key is a malformed answer. */
static int parse_tags(const xmlNode *parent, ec2_tags *ret) {
        _cleanup_(ec2_tags_done) ec2_tags tags = {};
        xmlNode *set = xml_child(parent, "tagSet");
        int r;

        for (xmlNode *item = xml_child(set, "item"); item; item = xml_next(item, "item")) {
                _cleanup_(freep) char *key = NULL, *value = NULL;

                r = text_req(item, "key", &key);
                if (r < 0)
                        return r;
                r = text_opt(item, "value", &value);
                if (r < 0)
                        return r;
                r = ec2_tags_add(&tags, key, value);
                if (r < 0)
                        return r;
        }
        ec2_tags_done(ret);
        *ret = tags;
        tags = (ec2_tags) {};
        return 0;
}

/* nextToken of the root; an empty one means the last page as much as an absent one. */
static int parse_next_token(const xmlNode *root, char **ret) {
        char *t = NULL;
        int r;

        if (!ret)
                return 0;
        r = text_opt(root, "nextToken", &t);
        if (r < 0)
                return r;
        if (isempty(t))
                t = mfree(t);
        *ret = t;
        return 0;
}

static int parse_instance(const xmlNode *item, ec2_instance *ret) {
        _cleanup_(ec2_instance_done) ec2_instance i = {};
        _cleanup_(freep) char *state = NULL;
        const char *name;
        xmlNode *bdm;
        int r;

        r = text_req(item, "instanceId", &i.id);
        if (r < 0)
                return r;
        r = text_opt(item, "imageId", &i.image_id);
        if (r < 0)
                return r;
        r = text_opt(item, "instanceState/name", &state);
        if (r < 0)
                return r;
        i.state = ec2_instance_state_from_string(state);
        r = parse_tags(item, &i.tags);
        if (r < 0)
                return r;
        name = ec2_tags_get(&i.tags, "Name");
        r = strdup_or_null(name, &i.name);
        if (r < 0)
                return r;

        bdm = xml_child(item, "blockDeviceMapping");
        for (xmlNode *d = xml_child(bdm, "item"); d; d = xml_next(d, "item")) {
                _cleanup_(freep) char *volume = NULL;

                r = text_opt(d, "ebs/volumeId", &volume);
                if (r < 0)
                        return r;
                if (isempty(volume))
                        continue;
                r = strv_push(&i.volume_ids, TAKE_PTR(volume));
                if (r < 0)
                        return r;
        }

        *ret = i;
        i = (ec2_instance) {};
        return 0;
}

int ec2_parse_describe_instances(xmlDoc *doc, ec2_instance_list *list, char **ret_next_token) {
        _cleanup_(freep) char *token = NULL;
        xmlNode *root, *set;
        size_t n0;
        int r = 0;

        if (!list)
                return -EINVAL;
        root = response_root(doc, "DescribeInstancesResponse");
        if (!root)
                return -EBADMSG;
        n0 = list->n;
        set = xml_child(root, "reservationSet");
        for (xmlNode *res = xml_child(set, "item"); r >= 0 && res; res = xml_next(res, "item")) {
                xmlNode *instances = xml_child(res, "instancesSet");

                for (xmlNode *it = xml_child(instances, "item"); it; it = xml_next(it, "item")) {
                        r = LIST_RESERVE(list);
                        if (r < 0)
                                break;
                        r = parse_instance(it, &list->items[list->n]);
                        if (r < 0)
                                break;
                        list->n++;
                }
        }
        if (r >= 0)
                r = parse_next_token(root, &token);
        if (r < 0) {
                LIST_TRUNCATE(list, n0, ec2_instance_done);
                return r;
        }
        if (ret_next_token)
                *ret_next_token = TAKE_PTR(token);
        return 0;
}

/* "Client.InternalError: ..." from stateReason/{code,message}; EC2's message usually repeats the code. */
static int parse_state_reason(const xmlNode *item, char **ret) {
        _cleanup_(freep) char *code = NULL, *message = NULL;
        xmlNode *reason = xml_child(item, "stateReason");
        int r;

        *ret = NULL;
        if (!reason)
                return 0;
        r = text_opt(reason, "code", &code);
        if (r < 0)
                return r;
        r = text_opt(reason, "message", &message);
        if (r < 0)
                return r;
        if (isempty(message))
                return strdup_or_null(isempty(code) ? NULL : code, ret);
        if (isempty(code) || startswith(message, code)) {
                *ret = TAKE_PTR(message);
                return 0;
        }
        return asprintf(ret, "%s: %s", code, message) < 0 ? -ENOMEM : 0;
}

static int parse_image(const xmlNode *item, ec2_image *ret) {
        _cleanup_(ec2_image_done) ec2_image i = {};
        _cleanup_(freep) char *state = NULL;
        xmlNode *bdm;
        int r;

        r = text_req(item, "imageId", &i.id);
        if (r < 0)
                return r;
        if ((r = text_opt(item, "name", &i.name)) < 0 ||
            (r = text_opt(item, "description", &i.description)) < 0 ||
            (r = text_opt(item, "imageOwnerId", &i.owner_id)) < 0 ||
            (r = text_opt(item, "imageState", &state)) < 0 ||
            (r = parse_state_reason(item, &i.state_reason)) < 0 ||
            (r = time_opt(item, "creationDate", &i.creation_date)) < 0 ||
            (r = time_opt(item, "deprecationTime", &i.deprecation_time)) < 0 ||
            (r = parse_tags(item, &i.tags)) < 0)
                return r;
        i.state = ec2_image_state_from_string(state);

        bdm = xml_child(item, "blockDeviceMapping");
        for (xmlNode *d = xml_child(bdm, "item"); d; d = xml_next(d, "item")) {
                ec2_block_device *devices;
                ec2_block_device dev = {};

                r = text_opt(d, "deviceName", &dev.device_name);
                if (r >= 0)
                        r = text_opt(d, "ebs/snapshotId", &dev.snapshot_id);
                if (r >= 0 && isempty(dev.snapshot_id))
                        dev.snapshot_id = mfree(dev.snapshot_id);
                if (r >= 0) {
                        devices = reallocarray(i.devices, i.n_devices + 1, sizeof(*devices));
                        if (devices)
                                i.devices = devices;
                        else
                                r = -ENOMEM;
                }
                if (r < 0) {
                        free(dev.device_name);
                        free(dev.snapshot_id);
                        return r;
                }
                i.devices[i.n_devices++] = dev;
        }

        *ret = i;
        i = (ec2_image) {};
        return 0;
}

int ec2_parse_describe_images(xmlDoc *doc, ec2_image_list *list, char **ret_next_token) {
        _cleanup_(freep) char *token = NULL;
        xmlNode *root, *set;
        size_t n0;
        int r = 0;

        if (!list)
                return -EINVAL;
        root = response_root(doc, "DescribeImagesResponse");
        if (!root)
                return -EBADMSG;
        n0 = list->n;
        set = xml_child(root, "imagesSet");
        for (xmlNode *it = xml_child(set, "item"); it; it = xml_next(it, "item")) {
                r = LIST_RESERVE(list);
                if (r < 0)
                        break;
                r = parse_image(it, &list->items[list->n]);
                if (r < 0)
                        break;
                list->n++;
        }
        if (r >= 0)
                r = parse_next_token(root, &token);
        if (r < 0) {
                LIST_TRUNCATE(list, n0, ec2_image_done);
                return r;
        }
        if (ret_next_token)
                *ret_next_token = TAKE_PTR(token);
        return 0;
}

static int parse_snapshot(const xmlNode *item, ec2_snapshot *ret) {
        _cleanup_(ec2_snapshot_done) ec2_snapshot s = {};
        _cleanup_(freep) char *state = NULL;
        int r;

        r = text_req(item, "snapshotId", &s.id);
        if (r < 0)
                return r;
        if ((r = text_opt(item, "status", &state)) < 0 ||
            (r = text_opt(item, "volumeId", &s.volume_id)) < 0 ||
            (r = text_opt(item, "description", &s.description)) < 0 ||
            (r = time_opt(item, "startTime", &s.start_time)) < 0 ||
            (r = parse_tags(item, &s.tags)) < 0)
                return r;
        s.state = ec2_snapshot_state_from_string(state);

        *ret = s;
        s = (ec2_snapshot) {};
        return 0;
}

int ec2_parse_describe_snapshots(xmlDoc *doc, ec2_snapshot_list *list, char **ret_next_token) {
        _cleanup_(freep) char *token = NULL;
        xmlNode *root, *set;
        size_t n0;
        int r = 0;

        if (!list)
                return -EINVAL;
        root = response_root(doc, "DescribeSnapshotsResponse");
        if (!root)
                return -EBADMSG;
        n0 = list->n;
        set = xml_child(root, "snapshotSet");
        for (xmlNode *it = xml_child(set, "item"); it; it = xml_next(it, "item")) {
                r = LIST_RESERVE(list);
                if (r < 0)
                        break;
                r = parse_snapshot(it, &list->items[list->n]);
                if (r < 0)
                        break;
                list->n++;
        }
        if (r >= 0)
                r = parse_next_token(root, &token);
        if (r < 0) {
                LIST_TRUNCATE(list, n0, ec2_snapshot_done);
                return r;
        }
        if (ret_next_token)
                *ret_next_token = TAKE_PTR(token);
        return 0;
}

int ec2_parse_create_image(xmlDoc *doc, char **ret_image_id) {
        xmlNode *root = response_root(doc, "CreateImageResponse");

        if (!ret_image_id)
                return -EINVAL;
        if (!root)
                return -EBADMSG;
        return text_req(root, "imageId", ret_image_id);
}

int ec2_parse_return(xmlDoc *doc, bool *ret) {
        _cleanup_(freep) char *s = NULL;
        xmlNode *root = response_root(doc, NULL);
        size_t len;
        int r;

        if (!ret)
                return -EINVAL;
        len = root ? strlen((const char *) root->name) : 0;
        if (len < 8 || !streq((const char *) root->name + len - 8, "Response"))
                return -EBADMSG;
        r = text_req(root, "return", &s);
        if (r < 0)
                return r;
        if (streq(s, "true"))
                *ret = true;
        else if (streq(s, "false"))
                *ret = false;
        else
                return -EBADMSG;
        return 0;
}

int ec2_parse_deregister(xmlDoc *doc, bool *ret, char ***ret_kept) {
        _cleanup_(strv_freep) char **kept = NULL;
        xmlNode *set;
        int r;

        if (!ret_kept)
                return -EINVAL;
        r = ec2_parse_return(doc, ret);
        if (r < 0)
                return r;
        set = xml_child(xmlDocGetRootElement(doc), "deleteSnapshotResultSet");
        for (xmlNode *it = xml_child(set, "item"); it; it = xml_next(it, "item")) {
                _cleanup_(freep) char *id = NULL, *code = NULL;

                r = text_req(it, "snapshotId", &id);
                if (r < 0)
                        return r;
                code = xml_child_text_or_null(it, "returnCode");
                if (streq_ptr(code, "success"))
                        continue;
                r = strv_push(&kept, TAKE_PTR(id));
                if (r < 0)
                        return r;
        }
        *ret_kept = TAKE_PTR(kept);
        return 0;
}
