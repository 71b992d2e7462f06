/* SPDX-License-Identifier: MIT */
/*
 * The calls that grant and revoke the use of an image and its snapshots to other
 * accounts (share, copy_to): ModifyImageAttribute's LaunchPermission and
 * ModifySnapshotAttribute's CreateVolumePermission, over ec2-calls.c's ops. Nothing
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
        unsigned n_add = 0, n_remove = 0;
        int r;

        if (!c || !cb || isempty(snapshot_id))
                return -EINVAL;
        r = aws_query_new("ModifySnapshotAttribute", &q);
        if (r >= 0)
                r = aws_query_add(q, "SnapshotId", snapshot_id);
        if (r >= 0)
                r = aws_query_add(q, "Attribute", "createVolumePermission");
        for (char *const *v = add_user_ids; r >= 0 && v && *v; v++)
                r = aws_query_addf(q, *v, "CreateVolumePermission.Add.%u.UserId", ++n_add);
        for (char *const *v = remove_user_ids; r >= 0 && v && *v; v++)
                r = aws_query_addf(q, *v, "CreateVolumePermission.Remove.%u.UserId", ++n_remove);
        if (r >= 0 && n_add + n_remove == 0)
                r = -EINVAL;
        if (r >= 0)
                r = ec2_query_add_dry_run(q, dry_run);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_RETURN, (op_callback) { .done = cb }, userdata, ret_op);
}
