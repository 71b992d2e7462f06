/* SPDX-License-Identifier: MIT */
/*
 * The calls that read, grant and revoke the use of an image and its snapshots by other
 * accounts (share, copy_to): DescribeImageAttribute/ModifyImageAttribute's launch
 * permissions and DescribeSnapshotAttribute/ModifySnapshotAttribute's create-volume
 * permissions, over ec2-calls.c's ops, and the parser of the Describe answers. Nothing
 * here logs.
 */
#include "ec2-op.h"

/* "LaunchPermission.Add.1.UserId", ... one entry per principal, numbered across kinds. */
static int add_permissions(aws_query *q, const char *prefix, const ec2_launch_permissions *lp, unsigned *n) {
        static const char *const kinds[] = { "UserId", "OrganizationArn", "OrganizationalUnitArn" };
        int r = 0;

        if (!lp)
                return 0;
        char *const *lists[] = { lp->user_ids, lp->organization_arns, lp->organizational_unit_arns };
        for (size_t k = 0; r >= 0 && k < ELEMENTSOF(kinds); k++)
                for (char *const *v = lists[k]; r >= 0 && v && *v; v++)
                        r = aws_query_addf(q, *v, "%s.%u.%s", prefix, ++*n, kinds[k]);
        if (r >= 0 && lp->group_all)
                r = aws_query_addf(q, "all", "%s.%u.Group", prefix, ++*n);
        return r;
}

int ec2_modify_launch_permission(aws_client *c, const char *image_id, const ec2_launch_permissions *add,
                                 const ec2_launch_permissions *remove, bool dry_run, ec2_done_cb cb,
                                 void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        unsigned n_add = 0, n_remove = 0;
        int r;

        if (!c || !cb || isempty(image_id))
                return -EINVAL;
        r = aws_query_new("ModifyImageAttribute", &q);
        if (r >= 0)
                r = aws_query_add(q, "ImageId", image_id);
        if (r >= 0)
                r = add_permissions(q, "LaunchPermission.Add", add, &n_add);
        if (r >= 0)
                r = add_permissions(q, "LaunchPermission.Remove", remove, &n_remove);
        if (r >= 0 && n_add + n_remove == 0)
                r = -EINVAL;
        if (r >= 0)
                r = ec2_query_add_dry_run(q, dry_run);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_RETURN, (op_callback) { .done = cb }, userdata, ret_op);
}

int ec2_modify_create_volume_permission(aws_client *c, const char *snapshot_id, char *const *add_user_ids,
                                        char *const *remove_user_ids, bool dry_run, ec2_done_cb cb,
                                        void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        size_t n_add = strv_length(add_user_ids), n_remove = strv_length(remove_user_ids);
        const char *op = n_add > 0 ? "Add" : "Remove";
        unsigned n = 0;
        int r;

        if (!c || !cb || isempty(snapshot_id) || (n_add > 0) == (n_remove > 0))
                return -EINVAL;
        if (n_add + n_remove > EC2_SNAPSHOT_PERMISSIONS_MAX)
                return -E2BIG;
        r = aws_query_new("ModifySnapshotAttribute", &q);
        if (r >= 0)
                r = aws_query_add(q, "SnapshotId", snapshot_id);
        if (r >= 0)
                r = aws_query_add(q, "Attribute", "createVolumePermission");
        for (char *const *v = n_add > 0 ? add_user_ids : remove_user_ids; r >= 0 && *v; v++)
                r = aws_query_addf(q, *v, "CreateVolumePermission.%s.%u.UserId", op, ++n);
        if (r >= 0)
                r = ec2_query_add_dry_run(q, dry_run);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_RETURN, (op_callback) { .done = cb }, userdata, ret_op);
}

int ec2_remove_create_volume_public(aws_client *c, const char *snapshot_id, bool dry_run, ec2_done_cb cb,
                                    void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || isempty(snapshot_id))
                return -EINVAL;
        r = aws_query_new("ModifySnapshotAttribute", &q);
        if (r >= 0)
                r = aws_query_add(q, "SnapshotId", snapshot_id);
        if (r >= 0)
                r = aws_query_add(q, "Attribute", "createVolumePermission");
        if (r >= 0)
                r = aws_query_add(q, "CreateVolumePermission.Remove.1.Group", "all");
        if (r >= 0)
                r = ec2_query_add_dry_run(q, dry_run);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_RETURN, (op_callback) { .done = cb }, userdata, ret_op);
}

static int describe_attribute(aws_client *c, const char *action, const char *id_key, const char *id,
                              const char *attribute, op_kind kind, ec2_permissions_cb cb, void *userdata,
                              ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || isempty(id))
                return -EINVAL;
        r = aws_query_new(action, &q);
        if (r >= 0)
                r = aws_query_add(q, id_key, id);
        if (r >= 0)
                r = aws_query_add(q, "Attribute", attribute);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), kind, (op_callback) { .permissions = cb }, userdata, ret_op);
}

int ec2_describe_launch_permission(aws_client *c, const char *image_id, ec2_permissions_cb cb, void *userdata,
                                   ec2_op **ret_op) {
        return describe_attribute(c, "DescribeImageAttribute", "ImageId", image_id, "launchPermission",
                                  OP_PERMISSIONS, cb, userdata, ret_op);
}

int ec2_describe_create_volume_permission(aws_client *c, const char *snapshot_id, ec2_permissions_cb cb,
                                          void *userdata, ec2_op **ret_op) {
        return describe_attribute(c, "DescribeSnapshotAttribute", "SnapshotId", snapshot_id,
                                  "createVolumePermission", OP_PERMISSIONS, cb, userdata, ret_op);
}
