/* SPDX-License-Identifier: MIT */
/*
 * The typed calls' shared insides (ec2-calls.c), for the files that add calls over them
 * (ec2-image-calls.c): what an answer is parsed as, and how a call is started. Nothing
 * outside daemon/aws/ec2-*.c includes this.
 */
#pragma once

#include "ec2.h"
#include "query.h"

typedef enum op_kind {
        OP_INSTANCES,
        OP_IMAGES,
        OP_SNAPSHOTS,
        OP_VOLUMES,
        OP_CREATE_IMAGE,        /* answers <imageId> */
        OP_RETURN,              /* answers <return>true</return> */
        OP_DEREGISTER,          /* <return>true</return> and a deleteSnapshotResultSet */
        OP_STATE,               /* answers the new state in <return> ("enabled-with-cooldown") */
        OP_PERMISSIONS,         /* Describe{Image,Snapshot}Attribute: a <launchPermission> or
                                 * <createVolumePermission> list */
        OP_RUN_INSTANCES,       /* one page: an instancesSet of one instance */
        OP_INSTANCE_STATUS,     /* DescribeInstanceStatus, all pages */
        OP_CONSOLE,             /* GetConsoleOutput's decoded <output>, to an ec2_id_cb (an
                                 * ec2_console_cb has its very type) */
} op_kind;

typedef union op_callback {
        ec2_instances_cb instances;
        ec2_images_cb images;
        ec2_snapshots_cb snapshots;
        ec2_volumes_cb volumes;
        ec2_id_cb id;
        ec2_done_cb done;
        ec2_deregister_cb deregister;
        ec2_permissions_cb permissions;
        ec2_instance_status_cb instance_status;
} op_callback;

/* Sends q (taken) as one op of kind, calling cb's member for kind once, with userdata. */
int ec2_op_start(aws_client *c, aws_query *q, op_kind kind, op_callback cb, void *userdata, ec2_op **ret_op);
/* TagSpecification.N.ResourceType=type and its tags, N counted in *n; nothing without tags. */
int ec2_query_add_tag_specification(aws_query *q, unsigned *n, const char *type, const ec2_tags *tags);
/* DryRun=true when dry_run. */
int ec2_query_add_dry_run(aws_query *q, bool dry_run);
