/* SPDX-License-Identifier: MIT */
/*
 * Typed EC2 calls and the structs they fill, parsed from EC2's XML with
 * libxml2. Describe calls follow NextToken to the end. Each call exists in an
 * asynchronous form (callback from the event loop) and a synchronous one that
 * runs the loop until done. This file knows EC2, not policies.
 */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "base/util.h"
#include "client.h"
#include "error.h"

/* ---- Values ---------------------------------------------------------------------------- */

/* A state EC2 sent that this build does not know (or none) is parsed as _..._INVALID,
 * not as an error: callers leave such resources alone. */

typedef struct ec2_tag {
        char *key;
        char *value;
} ec2_tag;

typedef struct ec2_tags {
        ec2_tag *items;
        size_t n;
} ec2_tags;

void ec2_tags_done(ec2_tags *t);
int ec2_tags_add(ec2_tags *t, const char *key, const char *value);      /* replaces an existing key */
const char *ec2_tags_get(const ec2_tags *t, const char *key);           /* NULL when absent */
int ec2_tags_copy(const ec2_tags *src, ec2_tags *dst);

typedef enum ec2_instance_state {
        EC2_INSTANCE_PENDING,
        EC2_INSTANCE_RUNNING,
        EC2_INSTANCE_SHUTTING_DOWN,
        EC2_INSTANCE_TERMINATED,
        EC2_INSTANCE_STOPPING,
        EC2_INSTANCE_STOPPED,
        _EC2_INSTANCE_STATE_MAX,
        _EC2_INSTANCE_STATE_INVALID = -EINVAL,
} ec2_instance_state;

const char *ec2_instance_state_to_string(ec2_instance_state s);
ec2_instance_state ec2_instance_state_from_string(const char *s);

typedef struct ec2_instance {
        char *id;
        ec2_instance_state state;
        char *image_id;
        char *name;                     /* the Name tag, or NULL */
        ec2_tags tags;
        char **volume_ids;              /* EBS volumes of its block-device mappings; NULL-terminated or NULL */
} ec2_instance;

typedef enum ec2_image_state {
        EC2_IMAGE_PENDING,
        EC2_IMAGE_AVAILABLE,
        EC2_IMAGE_INVALID,
        EC2_IMAGE_DEREGISTERED,
        EC2_IMAGE_TRANSIENT,
        EC2_IMAGE_FAILED,
        EC2_IMAGE_ERROR,
        EC2_IMAGE_DISABLED,
        _EC2_IMAGE_STATE_MAX,
        _EC2_IMAGE_STATE_INVALID = -EINVAL,
} ec2_image_state;

const char *ec2_image_state_to_string(ec2_image_state s);
ec2_image_state ec2_image_state_from_string(const char *s);

typedef struct ec2_block_device {
        char *device_name;              /* "/dev/xvda" */
        char *snapshot_id;              /* NULL for instance-store or no-device mappings */
} ec2_block_device;

typedef struct ec2_image {
        char *id;
        char *name;
        char *description;
        char *owner_id;
        ec2_image_state state;
        char *state_reason;             /* "Client.InternalError: ..." for failed images, or NULL */
        time_t creation_date;           /* 0 if EC2 gave none */
        time_t deprecation_time;        /* 0: not deprecated */
        ec2_tags tags;
        ec2_block_device *devices;
        size_t n_devices;
} ec2_image;

typedef enum ec2_snapshot_state {
        EC2_SNAPSHOT_PENDING,
        EC2_SNAPSHOT_COMPLETED,
        EC2_SNAPSHOT_ERROR,
        EC2_SNAPSHOT_RECOVERABLE,
        EC2_SNAPSHOT_RECOVERING,
        _EC2_SNAPSHOT_STATE_MAX,
        _EC2_SNAPSHOT_STATE_INVALID = -EINVAL,
} ec2_snapshot_state;

const char *ec2_snapshot_state_to_string(ec2_snapshot_state s);
ec2_snapshot_state ec2_snapshot_state_from_string(const char *s);

typedef struct ec2_snapshot {
        char *id;
        ec2_snapshot_state state;
        char *volume_id;
        char *description;
        time_t start_time;
        ec2_tags tags;
} ec2_snapshot;

/* Growable arrays of the above; _done() frees every element and the array. */
typedef struct ec2_instance_list { ec2_instance *items; size_t n, cap; } ec2_instance_list;
typedef struct ec2_image_list { ec2_image *items; size_t n, cap; } ec2_image_list;
typedef struct ec2_snapshot_list { ec2_snapshot *items; size_t n, cap; } ec2_snapshot_list;

void ec2_instance_done(ec2_instance *i);
void ec2_image_done(ec2_image *i);
void ec2_snapshot_done(ec2_snapshot *s);
void ec2_instance_list_done(ec2_instance_list *l);
void ec2_image_list_done(ec2_image_list *l);
void ec2_snapshot_list_done(ec2_snapshot_list *l);

/* ---- Parsers (pure; exposed for tests and fuzzers) ------------------------------------- */

/* Each appends what one page of the answer holds to *list and returns the page's
 * NextToken in *ret_next_token (NULL on the last page). -EBADMSG for a document of
 * the wrong shape. */
int ec2_parse_describe_instances(xmlDoc *doc, ec2_instance_list *list, char **ret_next_token);
int ec2_parse_describe_images(xmlDoc *doc, ec2_image_list *list, char **ret_next_token);
int ec2_parse_describe_snapshots(xmlDoc *doc, ec2_snapshot_list *list, char **ret_next_token);
int ec2_parse_create_image(xmlDoc *doc, char **ret_image_id);
/* DeregisterImage: <return>, and DeleteSnapshotResultSet when DeleteAssociatedSnapshots was sent. */
int ec2_parse_return(xmlDoc *doc, bool *ret);
/* DeregisterImage: <return>, and in *ret_kept the snapshots of deleteSnapshotResultSet
 * whose returnCode is not "success" (skipped, missing-permissions, ...): those EC2 did
 * not delete. NULL when there are none or no set was sent. */
int ec2_parse_deregister(xmlDoc *doc, bool *ret, char ***ret_kept);

/* ---- Calls ----------------------------------------------------------------------------- */

typedef struct ec2_filter {
        const char *name;               /* "tag:Role", "tag-key", "instance-state-name", "name", "state" */
        char *const *values;            /* NULL-terminated */
} ec2_filter;

typedef struct ec2_create_image_request {
        const char *instance_id;
        const char *name;               /* 3..128 characters of EC2's set */
        const char *description;        /* may be NULL */
        bool no_reboot;
        const ec2_tags *image_tags;     /* TagSpecification ResourceType=image */
        const ec2_tags *snapshot_tags;  /* TagSpecification ResourceType=snapshot */
        bool dry_run;
} ec2_create_image_request;

/*
 * An asynchronous typed call in progress (all its pages). It calls back once,
 * from the event loop, and is freed before its callback runs: the callback may
 * cancel other ops and free what owns this one, but must not cancel this one.
 * Cancel every op of a client before aws_client_free(). ret_op may be NULL.
 */
typedef struct ec2_op ec2_op;
void ec2_op_cancel(ec2_op *op);         /* accepts NULL; the callback is never called */

/* r: 0 with err NULL, or <0 with err (see error.h) and an empty list. The list lives
 * during the callback: move items or the whole list out (zeroing *l) to keep them;
 * what is left is freed when the callback returns. */
typedef void (*ec2_instances_cb)(int r, ec2_instance_list *l, const aws_error *err, void *userdata);
typedef void (*ec2_images_cb)(int r, ec2_image_list *l, const aws_error *err, void *userdata);
typedef void (*ec2_snapshots_cb)(int r, ec2_snapshot_list *l, const aws_error *err, void *userdata);
typedef void (*ec2_id_cb)(int r, const char *id, const aws_error *err, void *userdata);
typedef void (*ec2_done_cb)(int r, const aws_error *err, void *userdata);
/* kept: the snapshots DeleteAssociatedSnapshots did not delete (NULL-terminated, or NULL). */
typedef void (*ec2_deregister_cb)(int r, char *const *kept, const aws_error *err, void *userdata);

/* DescribeInstances with filters (n may be 0), all pages (MaxResults 1000). */
int ec2_describe_instances(aws_client *c, const ec2_filter *filters, size_t n, ec2_instances_cb cb, void *userdata, ec2_op **ret_op);
/* DescribeImages Owner=self with filters, or the given image ids (NULL-terminated, may be NULL;
 * an empty vector is -EINVAL), all pages. */
int ec2_describe_images(aws_client *c, const ec2_filter *filters, size_t n, char *const *image_ids, ec2_images_cb cb, void *userdata, ec2_op **ret_op);
/* DescribeSnapshots OwnerId=self with filters, all pages. */
int ec2_describe_snapshots(aws_client *c, const ec2_filter *filters, size_t n, ec2_snapshots_cb cb, void *userdata, ec2_op **ret_op);
int ec2_create_image(aws_client *c, const ec2_create_image_request *req, ec2_id_cb cb, void *userdata, ec2_op **ret_op);
/* delete_snapshots: DeleteAssociatedSnapshots=true. */
int ec2_deregister_image(aws_client *c, const char *image_id, bool delete_snapshots, bool dry_run, ec2_deregister_cb cb, void *userdata, ec2_op **ret_op);
int ec2_delete_snapshot(aws_client *c, const char *snapshot_id, bool dry_run, ec2_done_cb cb, void *userdata, ec2_op **ret_op);
int ec2_create_tags(aws_client *c, char *const *resource_ids, const ec2_tags *tags, bool dry_run, ec2_done_cb cb, void *userdata, ec2_op **ret_op);

/* Synchronous forms: run the event loop until the call is done. ret_error (may be NULL;
 * zeroed or filled before) is filled on failure and cleared on success. */
int ec2_describe_instances_sync(aws_client *c, const ec2_filter *filters, size_t n, ec2_instance_list *ret, aws_error *ret_error);
int ec2_describe_images_sync(aws_client *c, const ec2_filter *filters, size_t n, char *const *image_ids, ec2_image_list *ret, aws_error *ret_error);
int ec2_describe_snapshots_sync(aws_client *c, const ec2_filter *filters, size_t n, ec2_snapshot_list *ret, aws_error *ret_error);
int ec2_create_image_sync(aws_client *c, const ec2_create_image_request *req, char **ret_image_id, aws_error *ret_error);
/* ret_kept may be NULL. */
int ec2_deregister_image_sync(aws_client *c, const char *image_id, bool delete_snapshots, bool dry_run, char ***ret_kept, aws_error *ret_error);
int ec2_delete_snapshot_sync(aws_client *c, const char *snapshot_id, bool dry_run, aws_error *ret_error);
int ec2_create_tags_sync(aws_client *c, char *const *resource_ids, const ec2_tags *tags, bool dry_run, aws_error *ret_error);
