/* SPDX-License-Identifier: MIT */
/*
 * EC2's XML answers read into ec2-types.h's values (the calls that fetch them
 * are in ec2-calls.c). Parsers are pure and strict where a wrong value could
 * lead to a wrong deletion: a missing resource id or an unreadable timestamp
 * rejects the page (-EBADMSG) rather than inventing a value, while a state
 * string this build does not know is kept as _INVALID so that a new EC2 state
 * does not stop the daemon (the planner leaves such resources alone). The
 * three Describe answers differ only in where their items stand and how one
 * is read, so one walker reads them all. Element names follow the EC2 API
 * reference (2016-11-15): reservationSet/item/instancesSet/item,
 * imagesSet/item, snapshotSet/item, tagSet/item/{key,value},
 * blockDeviceMapping/item. Nothing here logs.
 */
#include <stdio.h>

#include "ec2.h"
#include "query.h"

/* ---- Parsers --------------------------------------------------------------------------- */

/* The tags amirotd writes (run/plan.h names them); of images and snapshots only these are
 * read (ec2-types.h), so only these are kept. Instances keep all theirs: policies select
 * instances by any tag. */
#define MANAGED_TAG_PREFIX "amirotd:"

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

/* One blockDeviceMapping item: an EBS volume, kept by id and with its device name. */
static int parse_instance_volume(const xmlNode *d, ec2_instance *i) {
        _cleanup_(freep) char *volume = NULL, *device = NULL, *copy = NULL;
        ec2_instance_volume *v;
        int r;

        r = text_opt(d, "ebs/volumeId", &volume);
        if (r < 0)
                return r;
        if (isempty(volume))
                return 0;
        r = text_opt(d, "deviceName", &device);
        if (r < 0)
                return r;
        copy = strdup(volume);
        if (!copy)
                return -ENOMEM;
        r = strv_push(&i->volume_ids, TAKE_PTR(copy));
        if (r < 0)
                return r;
        if (isempty(device))
                return 0;
        v = reallocarray(i->volumes, i->n_volumes + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        i->volumes = v;
        v[i->n_volumes++] = (ec2_instance_volume) { .device_name = TAKE_PTR(device), .volume_id = TAKE_PTR(volume) };
        return 0;
}

static int parse_state_reason(const xmlNode *item, char **ret);

static int parse_instance(const xmlNode *item, void *ret) {
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

        r = text_opt(item, "rootDeviceName", &i.root_device_name);
        if (r < 0)
                return r;
        r = text_opt(item, "platform", &i.platform);
        if (r >= 0)
                r = time_opt(item, "launchTime", &i.launch_time);
        if (r >= 0)
                r = parse_state_reason(item, &i.state_reason);
        if (r < 0)
                return r;
        bdm = xml_child(item, "blockDeviceMapping");
        for (xmlNode *d = xml_child(bdm, "item"); d; d = xml_next(d, "item")) {
                r = parse_instance_volume(d, &i);
                if (r < 0)
                        return r;
        }

        *(ec2_instance *) ret = i;
        i = (ec2_instance) {};
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

static bool tags_have_prefix(const ec2_tags *t, const char *prefix) {
        for (size_t k = 0; k < t->n; k++)
                if (startswith(t->items[k].key, prefix))
                        return true;
        return false;
}

static int parse_image(const xmlNode *item, void *ret) {
        _cleanup_(ec2_image_done) ec2_image i = {};
        _cleanup_(freep) char *state = NULL, *protection = NULL;
        time_t deprecation = 0;
        xmlNode *bdm;
        int r;

        r = text_req(item, "imageId", &i.id);
        if (r < 0)
                return r;
        if ((r = text_opt(item, "name", &i.name)) < 0 ||
            (r = text_opt(item, "imageState", &state)) < 0 ||
            (r = parse_state_reason(item, &i.state_reason)) < 0 ||
            (r = time_opt(item, "creationDate", &i.creation_date)) < 0 ||
            (r = text_opt(item, "deregistrationProtection", &protection)) < 0 ||
            (r = time_opt(item, "deprecationTime", &deprecation)) < 0 ||
            (r = parse_tags(item, &i.tags)) < 0)
                return r;
        ec2_tags_keep_prefix(&i.tags, MANAGED_TAG_PREFIX);
        if (!tags_have_prefix(&i.tags, MANAGED_TAG_PREFIX) &&
            (r = text_opt(item, "sourceInstanceId", &i.source_instance_id)) < 0)
                return r;
        if (isempty(i.source_instance_id))
                i.source_instance_id = mfree(i.source_instance_id);
        i.state = ec2_image_state_from_string(state);
        i.dereg_protection = isempty(protection) ? EC2_DEREG_PROTECTION_DISABLED :
                ec2_dereg_protection_from_string(protection);
        i.deprecation_minute = ec2_deprecation_minute(deprecation);

        bdm = xml_child(item, "blockDeviceMapping");
        for (xmlNode *d = xml_child(bdm, "item"); d; d = xml_next(d, "item")) {
                ec2_block_device *devices;
                ec2_block_device dev = {};

                r = text_opt(d, "deviceName", &dev.device_name);
                if (r >= 0)
                        r = text_opt(d, "ebs/snapshotId", &dev.snapshot_id);
                if (r >= 0 && isempty(dev.snapshot_id))
                        dev.snapshot_id = mfree(dev.snapshot_id);
                if (r >= 0 && i.n_devices >= EC2_IMAGE_DEVICES_MAX)
                        r = -EBADMSG;
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
        r = ec2_image_compact(&i);
        if (r < 0)
                return r;

        *(ec2_image *) ret = i;
        i = (ec2_image) {};
        return 0;
}

static int parse_snapshot(const xmlNode *item, void *ret) {
        _cleanup_(ec2_snapshot_done) ec2_snapshot s = {};
        _cleanup_(freep) char *state = NULL;
        int r;

        r = text_req(item, "snapshotId", &s.id);
        if (r < 0)
                return r;
        if ((r = text_opt(item, "status", &state)) < 0 ||
            (r = time_opt(item, "startTime", &s.start_time)) < 0 ||
            (r = parse_tags(item, &s.tags)) < 0)
                return r;
        ec2_tags_keep_prefix(&s.tags, MANAGED_TAG_PREFIX);
        s.state = ec2_snapshot_state_from_string(state);
        r = ec2_snapshot_compact(&s);
        if (r < 0)
                return r;

        *(ec2_snapshot *) ret = s;
        s = (ec2_snapshot) {};
        return 0;
}

/* DescribeVolumes' volumeSet/item: its id and every tag (image.volumes matches them). */
static int parse_volume(const xmlNode *item, void *ret) {
        _cleanup_(ec2_volume_done) ec2_volume v = {};
        int r;

        r = text_req(item, "volumeId", &v.id);
        if (r >= 0)
                r = parse_tags(item, &v.tags);
        if (r < 0)
                return r;
        *(ec2_volume *) ret = v;
        v = (ec2_volume) {};
        return 0;
}

/* DescribeInstanceStatus' instanceStatusSet/item: instanceId, instanceState/name,
 * systemStatus/status, instanceStatus/status. A summary this build does not know, or one
 * that is absent, is _INVALID: neither "ok" nor "impaired", so nobody judges on it. */
static int parse_instance_status(const xmlNode *item, void *ret) {
        _cleanup_(freep) char *id = NULL, *state = NULL, *system = NULL, *instance = NULL;
        int r;

        r = text_req(item, "instanceId", &id);
        if (r >= 0)
                r = text_opt(item, "instanceState/name", &state);
        if (r >= 0)
                r = text_opt(item, "systemStatus/status", &system);
        if (r >= 0)
                r = text_opt(item, "instanceStatus/status", &instance);
        if (r < 0)
                return r;
        *(ec2_instance_status *) ret = (ec2_instance_status) {
                .instance_id = TAKE_PTR(id),
                .state = ec2_instance_state_from_string(state),
                .system_status = ec2_status_summary_from_string(system),
                .instance_status = ec2_status_summary_from_string(instance),
        };
        return 0;
}

/* ---- Describe pages ------------------------------------------------------------------ */

/* What tells one Describe answer from another: where its items stand and how one is read. */
typedef struct describe_page {
        const char *const *path;        /* names from the root element to an item */
        size_t item_size;
        int (*parse)(const xmlNode *item, void *ret);
        void (*done)(void *item);
} describe_page;

static void instance_done(void *p) { ec2_instance_done(p); }
static void image_done(void *p) { ec2_image_done(p); }
static void snapshot_done(void *p) { ec2_snapshot_done(p); }
static void volume_done(void *p) { ec2_volume_done(p); }
static void instance_status_done(void *p) {
        free(((ec2_instance_status *) p)->instance_id);
}

/* Instances come grouped by reservation: reservationSet/item/instancesSet/item. */
static const char *const instances_path[] = {
        "DescribeInstancesResponse", "reservationSet", "item", "instancesSet", "item", NULL,
};
static const char *const images_path[] = { "DescribeImagesResponse", "imagesSet", "item", NULL };
static const char *const snapshots_path[] = { "DescribeSnapshotsResponse", "snapshotSet", "item", NULL };
static const char *const volumes_path[] = { "DescribeVolumesResponse", "volumeSet", "item", NULL };
/* RunInstances answers one reservation: its instancesSet/item are DescribeInstances' items. */
static const char *const run_instances_path[] = { "RunInstancesResponse", "instancesSet", "item", NULL };
static const char *const instance_status_path[] = {
        "DescribeInstanceStatusResponse", "instanceStatusSet", "item", NULL,
};

static const describe_page describe_instances = {
        instances_path, sizeof(ec2_instance), parse_instance, instance_done,
};
static const describe_page describe_images = {
        images_path, sizeof(ec2_image), parse_image, image_done,
};
static const describe_page describe_snapshots = {
        snapshots_path, sizeof(ec2_snapshot), parse_snapshot, snapshot_done,
};
static const describe_page describe_volumes = {
        volumes_path, sizeof(ec2_volume), parse_volume, volume_done,
};
static const describe_page run_instances = {
        run_instances_path, sizeof(ec2_instance), parse_instance, instance_done,
};
static const describe_page describe_instance_status = {
        instance_status_path, sizeof(ec2_instance_status), parse_instance_status, instance_status_done,
};

/* Makes room for one more item and parses it into that place. The array grows by half
 * (from 64), not double: at 70 000 images a doubled array would stand 61 000 slots
 * (8 MiB) empty; realloc() of a block that large moves pages, not bytes. */
static int page_add(ec2_page_reader *rd, const xmlNode *item) {
        const describe_page *p = rd->page;
        size_t cap;
        void *items;
        int r;

        if (*rd->n == *rd->cap) {
                cap = *rd->cap ? *rd->cap + *rd->cap / 2 : 64;
                if (cap < *rd->cap)
                        return -ENOMEM;
                items = reallocarray(*rd->list_items, cap, p->item_size);
                if (!items)
                        return -ENOMEM;
                *rd->list_items = items;
                *rd->cap = cap;
        }
        r = p->parse(item, (char *) *rd->list_items + *rd->n * p->item_size);
        if (r < 0)
                return r;
        (*rd->n)++;
        return 0;
}

/* The list as it was before the page. */
static void reader_rewind(ec2_page_reader *rd) {
        const describe_page *p = rd->page;

        for (size_t k = rd->n0; k < *rd->n; k++)
                p->done((char *) *rd->list_items + k * p->item_size);
        *rd->n = rd->n0;
}

static void reader_start(void *userdata) {
        ec2_page_reader *rd = userdata;

        reader_rewind(rd);
        rd->error = 0;
}

/* After an item that could not be read, the rest are let go unread: the page fails. */
static void reader_item(xmlNode *item, void *userdata) {
        ec2_page_reader *rd = userdata;

        if (rd->error >= 0)
                rd->error = page_add(rd, item);
}

static void reader_init(ec2_page_reader *rd, const describe_page *p, void **items, size_t *n, size_t *cap) {
        *rd = (ec2_page_reader) {
                .items = { .path = p->path, .start = reader_start, .item = reader_item, .userdata = rd },
                .page = p,
                .list_items = items,
                .n = n,
                .cap = cap,
                .n0 = *n,
        };
}

void ec2_page_reader_instances(ec2_page_reader *r, ec2_instance_list *l) {
        reader_init(r, &describe_instances, (void **) &l->items, &l->n, &l->cap);
}

void ec2_page_reader_images(ec2_page_reader *r, ec2_image_list *l) {
        reader_init(r, &describe_images, (void **) &l->items, &l->n, &l->cap);
}

void ec2_page_reader_snapshots(ec2_page_reader *r, ec2_snapshot_list *l) {
        reader_init(r, &describe_snapshots, (void **) &l->items, &l->n, &l->cap);
}

void ec2_page_reader_volumes(ec2_page_reader *r, ec2_volume_list *l) {
        reader_init(r, &describe_volumes, (void **) &l->items, &l->n, &l->cap);
}

void ec2_page_reader_instance_status(ec2_page_reader *r, ec2_instance_status_list *l) {
        reader_init(r, &describe_instance_status, (void **) &l->items, &l->n, &l->cap);
}

int ec2_page_reader_end(ec2_page_reader *rd, xmlDoc *doc, char **ret_next_token) {
        _cleanup_(freep) char *token = NULL;
        const describe_page *p = rd ? rd->page : NULL;
        xmlNode *root;
        int r;

        if (!p)
                return -EINVAL;
        root = response_root(doc, p->path[0]);
        r = root ? rd->error : -EBADMSG;
        if (r >= 0)
                r = parse_next_token(root, &token);
        if (r < 0) {
                reader_rewind(rd);
                return r;
        }
        rd->n0 = *rd->n;
        if (ret_next_token)
                *ret_next_token = TAKE_PTR(token);
        return 0;
}

/* The items of a whole document, as aws_response_parse_items() hands them over: the
 * elements at path from depth on, below parent. */
static void walk_items(ec2_page_reader *rd, const xmlNode *parent, size_t depth) {
        const char *const *path = ((const describe_page *) rd->page)->path;

        for (xmlNode *n = xml_child(parent, path[depth]); n; n = xml_next(n, path[depth]))
                if (path[depth + 1])
                        walk_items(rd, n, depth + 1);
                else
                        reader_item(n, rd);
}

/* Appends one page's items to the reader's list; on failure the list is left as it was. */
static int parse_describe(xmlDoc *doc, ec2_page_reader *rd, char **ret_next_token) {
        xmlNode *root = response_root(doc, ((const describe_page *) rd->page)->path[0]);

        if (root)
                walk_items(rd, root, 1);
        return ec2_page_reader_end(rd, doc, ret_next_token);
}

int ec2_parse_describe_instances(xmlDoc *doc, ec2_instance_list *list, char **ret_next_token) {
        ec2_page_reader rd;

        if (!list)
                return -EINVAL;
        ec2_page_reader_instances(&rd, list);
        return parse_describe(doc, &rd, ret_next_token);
}

int ec2_parse_describe_images(xmlDoc *doc, ec2_image_list *list, char **ret_next_token) {
        ec2_page_reader rd;

        if (!list)
                return -EINVAL;
        ec2_page_reader_images(&rd, list);
        return parse_describe(doc, &rd, ret_next_token);
}

int ec2_parse_describe_snapshots(xmlDoc *doc, ec2_snapshot_list *list, char **ret_next_token) {
        ec2_page_reader rd;

        if (!list)
                return -EINVAL;
        ec2_page_reader_snapshots(&rd, list);
        return parse_describe(doc, &rd, ret_next_token);
}

int ec2_parse_describe_volumes(xmlDoc *doc, ec2_volume_list *list, char **ret_next_token) {
        ec2_page_reader rd;

        if (!list)
                return -EINVAL;
        ec2_page_reader_volumes(&rd, list);
        return parse_describe(doc, &rd, ret_next_token);
}

int ec2_parse_instance_status(xmlDoc *doc, ec2_instance_status_list *list, char **ret_next_token) {
        ec2_page_reader rd;

        if (!list)
                return -EINVAL;
        ec2_page_reader_instance_status(&rd, list);
        return parse_describe(doc, &rd, ret_next_token);
}

/* Exactly one instance: MinCount=MaxCount=1 launched one or failed. */
int ec2_parse_run_instances(xmlDoc *doc, ec2_instance_list *list) {
        ec2_page_reader rd;
        size_t n0;
        int r;

        if (!list)
                return -EINVAL;
        n0 = list->n;
        reader_init(&rd, &run_instances, (void **) &list->items, &list->n, &list->cap);
        r = parse_describe(doc, &rd, NULL);
        if (r >= 0 && list->n != n0 + 1) {
                rd.n0 = n0;     /* the list as before the answer */
                reader_rewind(&rd);
                return -EBADMSG;
        }
        return r;
}

/* ---- Other answers --------------------------------------------------------------------- */

int ec2_parse_create_image(xmlDoc *doc, char **ret_image_id) {
        /* CopyImage answers the same <imageId> in its own root */
        xmlNode *root = response_root(doc, "CreateImageResponse") ?: response_root(doc, "CopyImageResponse");

        if (!ret_image_id)
                return -EINVAL;
        if (!root)
                return -EBADMSG;
        return text_req(root, "imageId", ret_image_id);
}

/*
 * "return: Is true if the request succeeds, and an error otherwise" (DeleteSnapshot,
 * DeregisterImage, CreateTags): the element adds nothing to a 200 answer, and an
 * endpoint that leaves it out (ec2sim --no-delete-snapshot-return) has still
 * answered success. Only an explicit "false" is a failure; a <return> that is
 * neither word is a malformed answer.
 */
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
        r = text_opt(root, "return", &s);
        if (r < 0)
                return r;
        if (!s || streq(s, "true"))
                *ret = true;
        else if (streq(s, "false"))
                *ret = false;
        else
                return -EBADMSG;
        return 0;
}

int ec2_parse_return_state(xmlDoc *doc, char **ret) {
        _cleanup_(freep) char *s = NULL;
        xmlNode *root = response_root(doc, NULL);
        size_t len;
        int r;

        len = root ? strlen((const char *) root->name) : 0;
        if (len < 8 || !streq((const char *) root->name + len - 8, "Response"))
                return -EBADMSG;
        r = text_opt(root, "return", &s);
        if (r < 0)
                return r;
        if (isempty(s) || streq(s, "false"))
                return -EBADMSG;
        if (ret)
                *ret = TAKE_PTR(s);
        return 0;
}

int ec2_parse_deregister(xmlDoc *doc, bool *ret, char ***ret_deleted) {
        _cleanup_(strv_freep) char **deleted = NULL;
        xmlNode *set;
        int r;

        if (!ret_deleted)
                return -EINVAL;
        r = ec2_parse_return(doc, ret);
        if (r < 0)
                return r;
        /* DeleteSnapshotReturnCode: "success | skipped | missing-permissions |
         * internal-error | client-error": only "success" says the snapshot is gone. */
        set = xml_child(xmlDocGetRootElement(doc), "deleteSnapshotResultSet");
        for (xmlNode *it = xml_child(set, "item"); it; it = xml_next(it, "item")) {
                _cleanup_(freep) char *id = NULL, *code = NULL;

                r = text_req(it, "snapshotId", &id);
                if (r < 0)
                        return r;
                code = xml_child_text_or_null(it, "returnCode");
                if (!streq_ptr(code, "success"))
                        continue;
                r = strv_push(&deleted, TAKE_PTR(id));
                if (r < 0)
                        return r;
        }
        *ret_deleted = TAKE_PTR(deleted);
        return 0;
}
