/* SPDX-License-Identifier: MIT */
/*
 * The typed EC2 calls, on top of aws_client_call(): each builds its Query
 * request, sends it, parses the answer with ec2.c's parsers and calls back once.
 * A Describe call is one ec2_op however many pages it takes: it copies its
 * first request for every page with that page's NextToken, appends each page
 * to one list, and stops at the first failing page, so a caller sees the whole
 * answer or an error, never half a fleet. A server that keeps sending tokens
 * (a repeated token, or more pages than any account has) ends the op with an
 * error rather than a loop. An op is freed before its callback runs, so the
 * callback may free or cancel anything, including whatever owns the op.
 * Nothing here logs.
 */
#include <stdio.h>

#include "ec2-op.h"

/*
 * DescribeInstances and DescribeSnapshots: "MaxResults ... Valid range: 5 -
 * 1000"; DescribeImages (paging since 2023): "Valid range: 1 - 1000". The
 * largest page means the fewest requests against the Describe bucket.
 */
#define EC2_MAX_RESULTS "1000"
/* DescribeVolumes: "Valid Range: Minimum value of 5. Maximum value of 500." */
#define EC2_VOLUMES_MAX_RESULTS "500"

/* Ten million resources: no account has that many; a server that goes on is broken. */
#define EC2_MAX_PAGES 10000U

struct ec2_op {
        aws_client *client;
        aws_call *call;                 /* the request in flight; NULL while it calls back */
        aws_query *query;               /* a Describe's first request; each page is sent as a copy.
                                         * Any other call's is handed to the client: NULL once sent */
        char *action;                   /* "CreateImage", for messages */
        op_kind kind;
        unsigned pages;                 /* answers received */
        char **tokens;                  /* every NextToken followed so far */
        union {
                ec2_instance_list instances;
                ec2_image_list images;
                ec2_snapshot_list snapshots;
                ec2_volume_list volumes;
                char **deleted;         /* OP_DEREGISTER */
                ec2_permission_list permissions;        /* OP_PERMISSIONS */
                ec2_instance_status_list statuses;      /* OP_INSTANCE_STATUS */
        };
        ec2_page_reader reader;         /* a Describe op's page in flight, read as it is parsed */
        op_callback cb;
        void *userdata;
};

static ec2_op *op_free(ec2_op *op) {
        if (!op)
                return NULL;
        if (op->call)
                aws_call_cancel(op->call);
        aws_query_free(op->query);
        free(op->action);
        strv_free(op->tokens);
        switch (op->kind) {
        case OP_INSTANCES:
        case OP_RUN_INSTANCES:
                ec2_instance_list_done(&op->instances);
                break;
        case OP_INSTANCE_STATUS:
                ec2_instance_status_list_done(&op->statuses);
                break;
        case OP_IMAGES:
                ec2_image_list_done(&op->images);
                break;
        case OP_SNAPSHOTS:
                ec2_snapshot_list_done(&op->snapshots);
                break;
        case OP_VOLUMES:
                ec2_volume_list_done(&op->volumes);
                break;
        case OP_DEREGISTER:
                strv_free(op->deleted);
                break;
        case OP_PERMISSIONS:
                ec2_permission_list_done(&op->permissions);
                break;
        default:
                break;
        }
        return mfree(op);
}

void ec2_op_cancel(ec2_op *op) {
        op_free(op);
}

/* Gives a finished list's unused slots back (the array grew by half while pages came):
 * the caller holds the list for a whole run. Failing to shrink costs nothing but room. */
static void list_trim(void **items, size_t n, size_t *cap, size_t item_size) {
        void *p;

        if (!*items || n == 0 || n == *cap)
                return;
        p = reallocarray(*items, n, item_size);
        if (!p)
                return;
        *items = p;
        *cap = n;
}

#define LIST_TRIM(l) list_trim((void **) &(l).items, (l).n, &(l).cap, sizeof(*(l).items))

/*
 * Calls back and frees op. Whatever the callback gets is moved to the stack and
 * the op is gone before the callback runs: nothing touches the op afterwards,
 * and the callback cannot see it half-freed. err is borrowed.
 */
static void op_finish(ec2_op *op, int r, const aws_error *err, const char *id) {
        aws_error fallback = {};
        op_kind kind = op->kind;
        op_callback cb = op->cb;
        void *userdata = op->userdata;
        ec2_instance_list instances = {};
        ec2_image_list images = {};
        ec2_snapshot_list snapshots = {};
        ec2_volume_list volumes = {};
        _cleanup_(strv_freep) char **deleted = NULL;

        /* A failed op hands back no partial list. */
        if (r >= 0)
                switch (kind) {
                case OP_INSTANCES:
                        instances = op->instances;
                        op->instances = (ec2_instance_list) {};
                        LIST_TRIM(instances);
                        break;
                case OP_IMAGES:
                        images = op->images;
                        op->images = (ec2_image_list) {};
                        LIST_TRIM(images);
                        break;
                case OP_SNAPSHOTS:
                        snapshots = op->snapshots;
                        op->snapshots = (ec2_snapshot_list) {};
                        LIST_TRIM(snapshots);
                        break;
                case OP_VOLUMES:
                        volumes = op->volumes;
                        op->volumes = (ec2_volume_list) {};
                        break;
                case OP_DEREGISTER:
                        deleted = TAKE_PTR(op->deleted);
                        break;
                default:
                        break;
                }
        op_free(op);

        if (r >= 0)
                err = NULL;
        else if (!err)
                err = &fallback;        /* "<0 with err": never a NULL one */

        switch (kind) {
        case OP_INSTANCES:
                cb.instances(r, &instances, err, userdata);
                ec2_instance_list_done(&instances);
                break;
        case OP_IMAGES:
                cb.images(r, &images, err, userdata);
                ec2_image_list_done(&images);
                break;
        case OP_SNAPSHOTS:
                cb.snapshots(r, &snapshots, err, userdata);
                ec2_snapshot_list_done(&snapshots);
                break;
        case OP_VOLUMES:
                cb.volumes(r, &volumes, err, userdata);
                ec2_volume_list_done(&volumes);
                break;
        case OP_CREATE_IMAGE:
        case OP_CONSOLE:
                cb.id(r, r >= 0 ? id : NULL, err, userdata);
                break;
        case OP_RETURN:
        case OP_STATE:
                cb.done(r, err, userdata);
                break;
        case OP_DEREGISTER:
                cb.deregister(r, deleted, err, userdata);
                break;
        default:                        /* OP_PERMISSIONS, OP_INSTANCE_STATUS: op_end() */
                break;
        }
}

/* op_finish() for a Describe*Attribute op: the list, then the callback. */
static void op_finish_permissions(ec2_op *op, int r, const aws_error *err) {
        _cleanup_(ec2_permission_list_done) ec2_permission_list l = {};
        ec2_permissions_cb cb = op->cb.permissions;
        void *userdata = op->userdata;

        if (r >= 0)
                l = op->permissions;
        op->permissions = (ec2_permission_list) {};
        op_free(op);
        cb(r, &l, r >= 0 ? NULL : err ?: &(const aws_error) {}, userdata);
}

/* op_finish() for DescribeInstanceStatus: the list, then the callback. */
static void op_finish_statuses(ec2_op *op, int r, const aws_error *err) {
        _cleanup_(ec2_instance_status_list_done) ec2_instance_status_list l = {};
        ec2_instance_status_cb cb = op->cb.instance_status;
        void *userdata = op->userdata;

        if (r >= 0) {
                l = op->statuses;
                LIST_TRIM(l);
        }
        op->statuses = (ec2_instance_status_list) {};
        op_free(op);
        cb(r, &l, r >= 0 ? NULL : err ?: &(const aws_error) {}, userdata);
}

/* Calls back for any kind of op: see op_finish(). */
static void op_end(ec2_op *op, int r, const aws_error *err, const char *id) {
        /* RunInstances' answer is DescribeInstances' items, read and handed over alike. */
        if (op->kind == OP_RUN_INSTANCES)
                op->kind = OP_INSTANCES;
        if (op->kind == OP_PERMISSIONS)
                op_finish_permissions(op, r, err);
        else if (op->kind == OP_INSTANCE_STATUS)
                op_finish_statuses(op, r, err);
        else
                op_finish(op, r, err, id);
}

static void on_answer(aws_call *call, int r, xmlDoc *doc, const aws_error *err, void *userdata);

/* A Describe page's items are appended as its answer is parsed, never all in one tree. */
static bool op_reads_items(ec2_op *op) {
        switch (op->kind) {
        case OP_INSTANCES:
                ec2_page_reader_instances(&op->reader, &op->instances);
                return true;
        case OP_IMAGES:
                ec2_page_reader_images(&op->reader, &op->images);
                return true;
        case OP_SNAPSHOTS:
                ec2_page_reader_snapshots(&op->reader, &op->snapshots);
                return true;
        case OP_VOLUMES:
                ec2_page_reader_volumes(&op->reader, &op->volumes);
                return true;
        case OP_INSTANCE_STATUS:
                ec2_page_reader_instance_status(&op->reader, &op->statuses);
                return true;
        default:
                return false;
        }
}

/* A call that is sent once hands its query over rather than holding a copy of it while
 * it waits: with thousands of CreateImage calls in the pacer's line, the copies were 10 MB. */
static int op_send(ec2_op *op) {
        bool paged = op_reads_items(op);
        aws_query *q = NULL;
        int r;

        if (paged) {
                r = aws_query_copy(op->query, &q);
                if (r < 0)
                        return r;
        } else
                q = TAKE_PTR(op->query);
        r = aws_client_call(op->client, q, on_answer, op, &op->call);
        if (r >= 0 && paged)
                aws_call_read_items(op->call, &op->reader.items);
        return r;
}

/* A local failure about an answer that arrived: its request id helps whoever reads the log. */
static void answer_error(aws_error *e, xmlDoc *doc, const char *fmt, ...) _printf_(3, 4);
static void answer_error(aws_error *e, xmlDoc *doc, const char *fmt, ...) {
        _cleanup_(freep) char *message = NULL, *rid = NULL;
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&message, fmt, ap);
        va_end(ap);
        if (k < 0)
                message = NULL;
        rid = xml_child_text_or_null(root, "requestId");
        (void) aws_error_set(e, 0, NULL, message ?: "out of memory", isempty(rid) ? NULL : rid);
}

/* -EBADMSG from a parser: the answer has the wrong shape; anything else is ours (-ENOMEM). */
static void parse_error(aws_error *e, xmlDoc *doc, int r, const char *action, unsigned page) {
        if (r == -EBADMSG)
                answer_error(e, doc, "malformed %s answer (page %u)", action, page);
        else
                answer_error(e, doc, "cannot read the %s answer (page %u): %s", action, page, strerror(-r));
}

/*
 * One Describe page: appends its items, and sends the next page if there is
 * one. Returns 1 when a page was sent, 0 on the last page, <0 with e filled.
 */
static int op_page(ec2_op *op, xmlDoc *doc, aws_error *e) {
        _cleanup_(freep) char *token = NULL;
        const char *action = op->action;
        int r;

        r = ec2_page_reader_end(&op->reader, doc, &token);
        if (r < 0) {
                parse_error(e, doc, r, action, op->pages);
                return r;
        }
        if (!token)
                return 0;

        if (strv_contains(op->tokens, token)) {
                answer_error(e, doc, "page %u of the %s answer repeats an earlier NextToken", op->pages, action);
                return -EBADMSG;
        }
        if (op->pages >= EC2_MAX_PAGES) {
                answer_error(e, doc, "the %s answer goes on past %u pages", action, EC2_MAX_PAGES);
                return -E2BIG;
        }
        r = aws_query_set(op->query, "NextToken", token);
        if (r >= 0)
                r = strv_push(&op->tokens, TAKE_PTR(token));
        if (r >= 0)
                r = op_send(op);
        if (r < 0) {
                answer_error(e, doc, "cannot request page %u of %s: %s", op->pages + 1, action, strerror(-r));
                return r;
        }
        return 1;
}

static void on_answer(aws_call *call, int r, xmlDoc *doc, const aws_error *err, void *userdata) {
        _cleanup_(aws_error_done) aws_error e = {};
        _cleanup_(freep) char *id = NULL;
        ec2_op *op = userdata;
        bool ok;

        (void) call;
        op->call = NULL;        /* it is calling back: no longer ours to cancel */
        op->pages++;
        if (r < 0) {
                op_end(op, r, err, NULL);
                return;
        }

        switch (op->kind) {
        case OP_INSTANCES:
        case OP_IMAGES:
        case OP_SNAPSHOTS:
        case OP_VOLUMES:
        case OP_INSTANCE_STATUS:
                r = op_page(op, doc, &e);
                if (r > 0)
                        return;         /* the next page is on its way */
                break;
        case OP_CREATE_IMAGE:
        case OP_CONSOLE:
                r = op->kind == OP_CREATE_IMAGE ? ec2_parse_create_image(doc, &id) : ec2_parse_console_output(doc, &id);
                if (r < 0)
                        parse_error(&e, doc, r, op->action, op->pages);
                break;
        case OP_RUN_INSTANCES:
                r = ec2_parse_run_instances(doc, &op->instances);
                if (r < 0)
                        parse_error(&e, doc, r, op->action, op->pages);
                break;
        case OP_RETURN:
        case OP_DEREGISTER:
                r = op->kind == OP_RETURN ? ec2_parse_return(doc, &ok) : ec2_parse_deregister(doc, &ok, &op->deleted);
                if (r < 0)
                        parse_error(&e, doc, r, op->action, op->pages);
                else if (!ok) {
                        r = -EIO;
                        answer_error(&e, doc, "EC2 answered %s with <return>false</return>",
                                     op->action);
                }
                break;
        case OP_STATE:
                r = ec2_parse_return_state(doc, NULL);
                if (r < 0)
                        parse_error(&e, doc, r, op->action, op->pages);
                break;
        case OP_PERMISSIONS:
                r = ec2_parse_permissions(doc, streq(op->action, "DescribeImageAttribute") ? "launchPermission" :
                                          "createVolumePermission", &op->permissions);
                if (r < 0)
                        parse_error(&e, doc, r, op->action, op->pages);
                op_finish_permissions(op, r, &e);
                return;
        }
        op_end(op, r, &e, id);
}

/* Takes ownership of q, also on failure. */
int ec2_op_start(aws_client *c, aws_query *q, op_kind kind, op_callback cb, void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *query = q;
        _cleanup_(freep) char *action = NULL;
        ec2_op *op;
        int r;

        if (!query)
                return -EINVAL;
        action = strdup(aws_query_action(query));
        if (!action)
                return -ENOMEM;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (ec2_op) {
                .client = c,
                .action = TAKE_PTR(action),
                .query = TAKE_PTR(query),
                .kind = kind,
                .cb = cb,
                .userdata = userdata,
        };
        r = op_send(op);
        if (r < 0) {
                op_free(op);
                return r;
        }
        if (ret_op)
                *ret_op = op;
        return 0;
}

/* ---- Requests ------------------------------------------------------------------------- */

static int add_filters(aws_query *q, const ec2_filter *filters, size_t n) {
        int r;

        for (size_t i = 0; i < n; i++) {
                r = aws_query_add_filter(q, filters[i].name, filters[i].values);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* PREFIX.N.Key / PREFIX.N.Value for each tag. */
static int add_tags(aws_query *q, const char *prefix, const ec2_tags *tags) {
        int r;

        for (size_t i = 0; i < tags->n; i++) {
                r = aws_query_addf(q, tags->items[i].key, "%s.%zu.Key", prefix, i + 1);
                if (r < 0)
                        return r;
                r = aws_query_addf(q, tags->items[i].value ?: "", "%s.%zu.Value", prefix, i + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

int ec2_query_add_dry_run(aws_query *q, bool dry_run) {
        return dry_run ? aws_query_add(q, "DryRun", "true") : 0;
}

static bool filters_are_valid(const ec2_filter *filters, size_t n) {
        return n == 0 || filters;
}

int ec2_describe_instances(aws_client *c, const ec2_filter *filters, size_t n, ec2_instances_cb cb, void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || !filters_are_valid(filters, n))
                return -EINVAL;
        r = aws_query_new("DescribeInstances", &q);
        if (r < 0)
                return r;
        /* "You cannot specify this parameter and the instance IDs parameter in the same
         * request": this call never sends InstanceId.N. */
        r = add_filters(q, filters, n);
        if (r >= 0)
                r = aws_query_add(q, "MaxResults", EC2_MAX_RESULTS);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_INSTANCES, (op_callback) { .instances = cb }, userdata, ret_op);
}

int ec2_describe_images(aws_client *c, const ec2_filter *filters, size_t n, char *const *image_ids, ec2_images_cb cb, void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        /* An empty id list would mean "all images", which nobody asking for none wants. */
        if (!c || !cb || !filters_are_valid(filters, n) || (image_ids && !image_ids[0]))
                return -EINVAL;
        r = aws_query_new("DescribeImages", &q);
        if (r < 0)
                return r;
        if (image_ids)
                /* MaxResults: "You can't specify this parameter and the ImageIds parameter in the same call." */
                r = aws_query_add_list(q, "ImageId", image_ids);
        else {
                r = aws_query_add(q, "Owner.1", "self");
                if (r >= 0)
                        r = aws_query_add(q, "MaxResults", EC2_MAX_RESULTS);
        }
        /* "IncludeDisabled: Specifies whether to include disabled AMIs. Default: No
         * disabled AMIs are included in the response." Also with ImageId.N: "A disabled
         * AMI does not appear in DescribeImages API calls by default" (DisableImage). */
        if (r >= 0)
                r = aws_query_add(q, "IncludeDisabled", "true");
        if (r >= 0)
                r = add_filters(q, filters, n);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_IMAGES, (op_callback) { .images = cb }, userdata, ret_op);
}

int ec2_describe_snapshots(aws_client *c, const ec2_filter *filters, size_t n, ec2_snapshots_cb cb, void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || !filters_are_valid(filters, n))
                return -EINVAL;
        r = aws_query_new("DescribeSnapshots", &q);
        if (r < 0)
                return r;
        /* Without an owner, EC2 also lists every public snapshot and those shared with us. */
        r = aws_query_add(q, "Owner.1", "self");
        if (r >= 0)
                r = add_filters(q, filters, n);
        if (r >= 0)
                r = aws_query_add(q, "MaxResults", EC2_MAX_RESULTS);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_SNAPSHOTS, (op_callback) { .snapshots = cb }, userdata, ret_op);
}

int ec2_describe_volumes(aws_client *c, const ec2_filter *filters, size_t n, ec2_volumes_cb cb, void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || !filters_are_valid(filters, n))
                return -EINVAL;
        r = aws_query_new("DescribeVolumes", &q);
        if (r >= 0)
                r = add_filters(q, filters, n);
        if (r >= 0)
                r = aws_query_add(q, "MaxResults", EC2_VOLUMES_MAX_RESULTS);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_VOLUMES, (op_callback) { .volumes = cb }, userdata, ret_op);
}

/* TagSpecification.N.ResourceType=type, TagSpecification.N.Tag.M.{Key,Value}; none without tags. */
int ec2_query_add_tag_specification(aws_query *q, unsigned *n, const char *type, const ec2_tags *tags) {
        char prefix[64];
        int r;

        if (!tags || tags->n == 0)
                return 0;
        (*n)++;
        r = aws_query_addf(q, type, "TagSpecification.%u.ResourceType", *n);
        if (r < 0)
                return r;
        snprintf(prefix, sizeof(prefix), "TagSpecification.%u.Tag", *n);
        return add_tags(q, prefix, tags);
}

/* "NoDevice: To omit the device from the block device mapping, specify an empty string." */
static int add_no_devices(aws_query *q, char *const *devices) {
        unsigned n = 0;
        int r;

        for (char *const *d = devices; d && *d; d++) {
                n++;
                if ((r = aws_query_addf(q, *d, "BlockDeviceMapping.%u.DeviceName", n)) < 0 ||
                    (r = aws_query_addf(q, "", "BlockDeviceMapping.%u.NoDevice", n)) < 0)
                        return r;
        }
        return 0;
}

int ec2_create_image(aws_client *c, const ec2_create_image_request *req, ec2_id_cb cb, void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        unsigned specs = 0;
        int r;

        if (!c || !req || !cb || isempty(req->instance_id) || isempty(req->name))
                return -EINVAL;
        r = aws_query_new("CreateImage", &q);
        if (r < 0)
                return r;
        if ((r = aws_query_add(q, "InstanceId", req->instance_id)) < 0 ||
            (r = aws_query_add(q, "Name", req->name)) < 0 ||
            (req->description && (r = aws_query_add(q, "Description", req->description)) < 0) ||
            (r = aws_query_add(q, "NoReboot", req->no_reboot ? "true" : "false")) < 0 ||
            (r = ec2_query_add_tag_specification(q, &specs, "image", req->image_tags)) < 0 ||
            (r = ec2_query_add_tag_specification(q, &specs, "snapshot", req->snapshot_tags)) < 0 ||
            (r = add_no_devices(q, req->exclude_devices)) < 0 ||
            (r = ec2_query_add_dry_run(q, req->dry_run)) < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_CREATE_IMAGE, (op_callback) { .id = cb }, userdata, ret_op);
}

int ec2_deregister_image(aws_client *c, const char *image_id, bool delete_snapshots, bool dry_run, ec2_deregister_cb cb, void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || isempty(image_id))
                return -EINVAL;
        r = aws_query_new("DeregisterImage", &q);
        if (r < 0)
                return r;
        r = aws_query_add(q, "ImageId", image_id);
        /* "DeleteAssociatedSnapshots: Specifies whether to delete the snapshots associated
         * with the AMI during deregistration." */
        if (r >= 0 && delete_snapshots)
                r = aws_query_add(q, "DeleteAssociatedSnapshots", "true");
        if (r >= 0)
                r = ec2_query_add_dry_run(q, dry_run);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_DEREGISTER, (op_callback) { .deregister = cb }, userdata, ret_op);
}

int ec2_delete_snapshot(aws_client *c, const char *snapshot_id, bool dry_run, ec2_done_cb cb, void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || isempty(snapshot_id))
                return -EINVAL;
        r = aws_query_new("DeleteSnapshot", &q);
        if (r < 0)
                return r;
        r = aws_query_add(q, "SnapshotId", snapshot_id);
        if (r >= 0)
                r = ec2_query_add_dry_run(q, dry_run);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_RETURN, (op_callback) { .done = cb }, userdata, ret_op);
}

int ec2_create_tags(aws_client *c, char *const *resource_ids, const ec2_tags *tags, bool dry_run, ec2_done_cb cb, void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        /* CreateTags: "Resources ... Required: Yes", "Tags ... Required: Yes". */
        if (!c || !cb || !resource_ids || !resource_ids[0] || !tags || tags->n == 0)
                return -EINVAL;
        r = aws_query_new("CreateTags", &q);
        if (r < 0)
                return r;
        r = aws_query_add_list(q, "ResourceId", resource_ids);
        if (r >= 0)
                r = add_tags(q, "Tag", tags);
        if (r >= 0)
                r = ec2_query_add_dry_run(q, dry_run);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_RETURN, (op_callback) { .done = cb }, userdata, ret_op);
}

/* DeleteTags: "If you omit Value, we delete the tag regardless of its value." */
int ec2_delete_tags(aws_client *c, char *const *resource_ids, char *const *keys, bool dry_run, ec2_done_cb cb, void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        size_t n = 0;
        int r;

        if (!c || !cb || !resource_ids || !resource_ids[0] || !keys || !keys[0])
                return -EINVAL;
        r = aws_query_new("DeleteTags", &q);
        if (r < 0)
                return r;
        r = aws_query_add_list(q, "ResourceId", resource_ids);
        for (; r >= 0 && keys[n]; n++) {
                char name[32];

                (void) snprintf(name, sizeof(name), "Tag.%zu.Key", n + 1);
                r = aws_query_add(q, name, keys[n]);
        }
        if (r >= 0)
                r = ec2_query_add_dry_run(q, dry_run);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_RETURN, (op_callback) { .done = cb }, userdata, ret_op);
}
