/* SPDX-License-Identifier: MIT */
/*
 * Typed EC2 calls and the parsers of their answers (libxml2). The values they
 * fill are in ec2-types.h, which the planner uses without this header. Describe
 * calls follow NextToken to the end. Each call calls back from the event loop;
 * ec2_describe_images_sync() runs the loop until done, for the one-shot
 * commands. This file knows EC2, not policies.
 */
#pragma once

#include <stdbool.h>

#include "base/util.h"
#include "client.h"
#include "ec2-types.h"
#include "error.h"

/* ---- Parsers (pure; exposed for tests and fuzzers) ------------------------------------- */

/* Each appends what one page of the answer holds to *list and returns the page's
 * NextToken in *ret_next_token (NULL on the last page). -EBADMSG for a document of
 * the wrong shape. */
int ec2_parse_describe_instances(xmlDoc *doc, ec2_instance_list *list, char **ret_next_token);
int ec2_parse_describe_images(xmlDoc *doc, ec2_image_list *list, char **ret_next_token);
int ec2_parse_describe_snapshots(xmlDoc *doc, ec2_snapshot_list *list, char **ret_next_token);
int ec2_parse_describe_volumes(xmlDoc *doc, ec2_volume_list *list, char **ret_next_token);

/*
 * The same, for a page read while it is parsed (aws_call_read_items() with .items): each
 * item is appended as it is read, and ec2_page_reader_end() then reads the rest of the
 * document and answers as the parsers above, appending the page or leaving the list as
 * it was. A reader set up for a page forgets what it appended when the client parses
 * another body for it (a retry). The list must outlive the reader.
 */
typedef struct ec2_page_reader {
        aws_xml_items items;
        const void *page;               /* ec2.c's description of the answer */
        void **list_items;
        size_t *n, *cap;
        size_t n0;                      /* the list's length before this page */
        int error;                      /* the first item's that could not be read */
} ec2_page_reader;

void ec2_page_reader_instances(ec2_page_reader *r, ec2_instance_list *list);
void ec2_page_reader_images(ec2_page_reader *r, ec2_image_list *list);
void ec2_page_reader_snapshots(ec2_page_reader *r, ec2_snapshot_list *list);
void ec2_page_reader_volumes(ec2_page_reader *r, ec2_volume_list *list);
void ec2_page_reader_instance_status(ec2_page_reader *r, ec2_instance_status_list *list);
int ec2_page_reader_end(ec2_page_reader *r, xmlDoc *doc, char **ret_next_token);
/* CreateImage's and CopyImage's <imageId>. */
int ec2_parse_create_image(xmlDoc *doc, char **ret_image_id);
/* The <return> of DeleteSnapshot, CreateTags, DeregisterImage: false only when EC2 says
 * "false"; an answer without the element is success (EC2: "true if the request
 * succeeds, and an error otherwise"). */
int ec2_parse_return(xmlDoc *doc, bool *ret);
/* Enable/DisableImageDeregistrationProtection: <return> holds the new state; *ret (may be
 * NULL) gets it. -EBADMSG when it is missing or "false". */
int ec2_parse_return_state(xmlDoc *doc, char **ret);
/* DeregisterImage: <return>, and in *ret_deleted the snapshots of deleteSnapshotResultSet
 * whose returnCode is "success": those EC2 says it deleted. NULL when there are none,
 * or when the answer has no set (DeleteAssociatedSnapshots not sent, or ignored by an
 * endpoint that predates it): then EC2 deleted nothing that amirotd may count. */
int ec2_parse_deregister(xmlDoc *doc, bool *ret, char ***ret_deleted);

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
        char *const *exclude_devices;   /* BlockDeviceMapping.N with NoDevice: devices the image leaves
                                         * out (NULL-terminated, may be NULL); each one the instance has,
                                         * never its root device (EC2 refuses both) */
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
typedef void (*ec2_volumes_cb)(int r, ec2_volume_list *l, const aws_error *err, void *userdata);
typedef void (*ec2_id_cb)(int r, const char *id, const aws_error *err, void *userdata);
typedef void (*ec2_done_cb)(int r, const aws_error *err, void *userdata);
/* deleted: the snapshots EC2 says DeleteAssociatedSnapshots deleted (NULL-terminated, or
 * NULL: none, or no per-snapshot result at all). Any other snapshot of the image is
 * still there as far as the caller can know. */
typedef void (*ec2_deregister_cb)(int r, char *const *deleted, const aws_error *err, void *userdata);

/* DescribeInstances with filters (n may be 0), all pages (MaxResults 1000). */
int ec2_describe_instances(aws_client *c, const ec2_filter *filters, size_t n, ec2_instances_cb cb, void *userdata, ec2_op **ret_op);
/* DescribeImages Owner=self with filters, or the given image ids (NULL-terminated, may be NULL;
 * an empty vector is -EINVAL), all pages. Always with IncludeDisabled=true: every caller
 * reads images of its own account, and a disabled one (DisableImage) still holds its
 * name and its snapshots, so it must be seen (EC2 hides it by default). */
int ec2_describe_images(aws_client *c, const ec2_filter *filters, size_t n, char *const *image_ids, ec2_images_cb cb, void *userdata, ec2_op **ret_op);
/* DescribeSnapshots OwnerId=self with filters, all pages. */
int ec2_describe_snapshots(aws_client *c, const ec2_filter *filters, size_t n, ec2_snapshots_cb cb, void *userdata, ec2_op **ret_op);
/* DescribeVolumes with filters, all pages (MaxResults 500). */
int ec2_describe_volumes(aws_client *c, const ec2_filter *filters, size_t n, ec2_volumes_cb cb, void *userdata, ec2_op **ret_op);
int ec2_create_image(aws_client *c, const ec2_create_image_request *req, ec2_id_cb cb, void *userdata, ec2_op **ret_op);
/* delete_snapshots: DeleteAssociatedSnapshots=true. */
int ec2_deregister_image(aws_client *c, const char *image_id, bool delete_snapshots, bool dry_run, ec2_deregister_cb cb, void *userdata, ec2_op **ret_op);
int ec2_delete_snapshot(aws_client *c, const char *snapshot_id, bool dry_run, ec2_done_cb cb, void *userdata, ec2_op **ret_op);
int ec2_create_tags(aws_client *c, char *const *resource_ids, const ec2_tags *tags, bool dry_run, ec2_done_cb cb, void *userdata, ec2_op **ret_op);
/* DeleteTags of keys (NULL-terminated), whatever their values. */
int ec2_delete_tags(aws_client *c, char *const *resource_ids, char *const *keys, bool dry_run, ec2_done_cb cb, void *userdata, ec2_op **ret_op);
/* EnableImageDeregistrationProtection (WithCooldown when with_cooldown), or Disable... */
int ec2_set_image_deregistration_protection(aws_client *c, const char *image_id, bool enable, bool with_cooldown,
                                            bool dry_run, ec2_done_cb cb, void *userdata, ec2_op **ret_op);
/* EnableImageDeprecation with DeprecateAt (EC2: "You can't specify a date in the past. The
 * upper limit for DeprecateAt is 10 years from now"; seconds are rounded to the minute). */
int ec2_enable_image_deprecation(aws_client *c, const char *image_id, time_t deprecate_at, bool dry_run, ec2_done_cb cb, void *userdata, ec2_op **ret_op);
/* DisableImage: "Sets the AMI state to disabled and removes all launch permissions from the AMI." */
int ec2_disable_image(aws_client *c, const char *image_id, bool dry_run, ec2_done_cb cb, void *userdata, ec2_op **ret_op);

/* Who may launch an image (ModifyImageAttribute's LaunchPermission); each list
 * NULL-terminated or NULL. */
typedef struct ec2_launch_permissions {
        char *const *user_ids;                  /* 12-digit account ids */
        char *const *organization_arns;         /* arn:aws:organizations::ACCOUNT:organization/o-... */
        char *const *organizational_unit_arns;  /* arn:aws:organizations::ACCOUNT:ou/o-.../ou-... */
        bool group_all;                         /* Group=all: anyone (only ever removed by amirotd) */
} ec2_launch_permissions;
/* ModifyImageAttribute LaunchPermission.Add/Remove in one call (either may be NULL, not both
 * empty: -EINVAL). EC2 answers <return>true</return>. */
int ec2_modify_launch_permission(aws_client *c, const char *image_id, const ec2_launch_permissions *add,
                                 const ec2_launch_permissions *remove, bool dry_run, ec2_done_cb cb,
                                 void *userdata, ec2_op **ret_op);
/* ModifySnapshotAttribute createVolumePermission: CreateVolumePermission.Add or .Remove of
 * account ids. EC2: "You may add or remove specified AWS account IDs from a snapshot's list
 * of create volume permissions, but you cannot do both in a single operation ... You can
 * make up to 500 modifications to a snapshot in a single operation": exactly one of the two
 * lists non-empty (else -EINVAL), of at most EC2_SNAPSHOT_PERMISSIONS_MAX ids (else -E2BIG). */
#define EC2_SNAPSHOT_PERMISSIONS_MAX 500
int ec2_modify_create_volume_permission(aws_client *c, const char *snapshot_id, char *const *add_user_ids,
                                        char *const *remove_user_ids, bool dry_run, ec2_done_cb cb,
                                        void *userdata, ec2_op **ret_op);
/* CopyImage, sent to the destination region's client. */
typedef struct ec2_copy_image_request {
        const char *source_region;
        const char *source_image_id;
        const char *name;               /* the new AMI's name: 3..128 characters of EC2's set */
        const char *description;        /* may be NULL */
        const char *client_token;       /* at most 64 ASCII characters; may be NULL */
        bool encrypted;
        const char *kms_key_id;         /* with encrypted only; may be NULL */
        const ec2_tags *image_tags;     /* TagSpecification ResourceType=image */
        const ec2_tags *snapshot_tags;  /* TagSpecification ResourceType=snapshot */
        bool dry_run;
} ec2_copy_image_request;
/* The new image's id is the callback's id. */
int ec2_copy_image(aws_client *c, const ec2_copy_image_request *req, ec2_id_cb cb, void *userdata, ec2_op **ret_op);
/* ModifySnapshotAttribute CreateVolumePermission.Remove Group=all: the snapshot is no
 * longer public. */
int ec2_remove_create_volume_public(aws_client *c, const char *snapshot_id, bool dry_run, ec2_done_cb cb,
                                    void *userdata, ec2_op **ret_op);
/* Who holds a launch permission (DescribeImageAttribute launchPermission) or a
 * create-volume permission (DescribeSnapshotAttribute createVolumePermission, accounts
 * and the group only); each list NULL-terminated or NULL. */
typedef struct ec2_permission_list {
        char **user_ids;
        char **organization_arns;
        char **organizational_unit_arns;
        bool public;                    /* <group>all</group>: anyone */
} ec2_permission_list;
void ec2_permission_list_done(ec2_permission_list *l);
/* The <launchPermission> or <createVolumePermission> (attribute) of a Describe*Attribute
 * answer; an answer without it holds none. -EBADMSG for an item of no known kind. */
int ec2_parse_permissions(xmlDoc *doc, const char *attribute, ec2_permission_list *ret);
/* r: 0 with err NULL and the list (move out what to keep), or <0 with err. */
typedef void (*ec2_permissions_cb)(int r, ec2_permission_list *l, const aws_error *err, void *userdata);
int ec2_describe_launch_permission(aws_client *c, const char *image_id, ec2_permissions_cb cb, void *userdata,
                                   ec2_op **ret_op);
int ec2_describe_create_volume_permission(aws_client *c, const char *snapshot_id, ec2_permissions_cb cb,
                                          void *userdata, ec2_op **ret_op);

/* ---- Test instances (run/verify.h) ------------------------------------------------------ */

/* RunInstances of one instance (MinCount=MaxCount=1) from image_id. */
typedef struct ec2_run_instances_request {
        const char *image_id;
        const char *instance_type;
        const char *subnet_id;
        char *const *security_group_ids;        /* SecurityGroupId.N; NULL-terminated, may be NULL */
        const char *iam_instance_profile;       /* IamInstanceProfile.Arn when it starts "arn:", else
                                                 * .Name; NULL: none */
        const char *client_token;               /* at most 64 ASCII characters: a repeated request
                                                 * answers the instance the first one launched */
        const ec2_tags *tags;                   /* TagSpecification ResourceType=instance and volume */
        char *const *delete_on_termination;     /* BlockDeviceMapping.N.DeviceName with
                                                 * Ebs.DeleteOnTermination=true: each EBS device of the
                                                 * image, so that no volume outlives the instance */
        bool dry_run;
} ec2_run_instances_request;
/* The callback's list holds the one instance launched (id, state, launch_time, tags). */
int ec2_run_instances(aws_client *c, const ec2_run_instances_request *req, ec2_instances_cb cb, void *userdata,
                      ec2_op **ret_op);
/* TerminateInstances of instance_ids (NULL-terminated, at most 1000). Idempotent in EC2:
 * an instance terminated already answers success. */
int ec2_terminate_instances(aws_client *c, char *const *instance_ids, bool dry_run, ec2_done_cb cb, void *userdata,
                            ec2_op **ret_op);
/* DescribeInstanceStatus of instance_ids (NULL-terminated, at most 100) with
 * IncludeAllInstances=true, all pages. An id EC2 does not know is
 * InvalidInstanceID.NotFound (err), as DescribeInstances. */
typedef void (*ec2_instance_status_cb)(int r, ec2_instance_status_list *l, const aws_error *err, void *userdata);
int ec2_describe_instance_status(aws_client *c, char *const *instance_ids, ec2_instance_status_cb cb, void *userdata,
                                 ec2_op **ret_op);
/* GetConsoleOutput: output is the decoded text (NUL-terminated, any bytes but NUL; NULL
 * when EC2 has none yet), for the callback's duration. Without latest, EC2 answers
 * "buffered information that was posted shortly after an instance transition state
 * (start, stop, reboot, or terminate)", which may stop before the lines a boot prints
 * last; with latest, "the latest serial console output at any time during the instance
 * lifecycle", which "is supported on instance types that use the Nitro hypervisor"
 * (API_GetConsoleOutput). So: ask with latest; when EC2 refuses it for the instance's
 * type (ec2_console_latest_unsupported), ask without. */
typedef void (*ec2_console_cb)(int r, const char *output, const aws_error *err, void *userdata);
int ec2_get_console_output(aws_client *c, const char *instance_id, bool latest, ec2_console_cb cb,
                           void *userdata, ec2_op **ret_op);
/* Whether err is EC2 refusing Latest for an instance type without it (a Xen type). */
bool ec2_console_latest_unsupported(const aws_error *err);
/* Their parsers: RunInstances' instancesSet as DescribeInstances' items; the items of one
 * DescribeInstanceStatus page; GetConsoleOutput's <output> decoded from base64 (*ret NULL
 * when empty or absent). -EBADMSG for a document of the wrong shape. */
int ec2_parse_run_instances(xmlDoc *doc, ec2_instance_list *list);
int ec2_parse_instance_status(xmlDoc *doc, ec2_instance_status_list *list, char **ret_next_token);
int ec2_parse_console_output(xmlDoc *doc, char **ret);

/* Synchronous: runs the event loop until the call is done, for the one-shot commands.
 * ret_error (may be NULL; zeroed or filled before) is filled on failure and cleared on
 * success. (The tests' synchronous forms of the other calls are in tests/unit/aws-sync.h.) */
int ec2_describe_images_sync(aws_client *c, const ec2_filter *filters, size_t n, char *const *image_ids, ec2_image_list *ret, aws_error *ret_error);
int ec2_describe_snapshots_sync(aws_client *c, const ec2_filter *filters, size_t n, ec2_snapshot_list *ret,
                                aws_error *ret_error);
/* CreateTags of tags on resource_ids (at most 1000: "Constraints: Up to 1000 resource IDs"). */
int ec2_tag_resources_sync(aws_client *c, char *const *resource_ids, const ec2_tags *tags, aws_error *ret_error);
