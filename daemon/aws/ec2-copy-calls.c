/* SPDX-License-Identifier: MIT */
/*
 * CopyImage (copy_to), over ec2-calls.c's ops: "Initiates an AMI copy operation ... The copy
 * operation must be initiated in the destination Region", so the call goes to the
 * destination's client and names the source's region. Nothing here logs.
 */
#include "ec2-op.h"

int ec2_copy_image(aws_client *c, const ec2_copy_image_request *req, ec2_id_cb cb, void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        unsigned specs = 0;
        int r;

        if (!c || !req || !cb || isempty(req->source_region) || isempty(req->source_image_id) ||
            isempty(req->name) || (req->kms_key_id && !req->encrypted))
                return -EINVAL;
        r = aws_query_new("CopyImage", &q);
        if (r < 0)
                return r;
        if ((r = aws_query_add(q, "SourceRegion", req->source_region)) < 0 ||
            (r = aws_query_add(q, "SourceImageId", req->source_image_id)) < 0 ||
            (r = aws_query_add(q, "Name", req->name)) < 0 ||
            (req->description && (r = aws_query_add(q, "Description", req->description)) < 0) ||
            (req->client_token && (r = aws_query_add(q, "ClientToken", req->client_token)) < 0) ||
            /* "If you specify KmsKeyId, you must also set Encrypted to true." */
            (req->encrypted && (r = aws_query_add(q, "Encrypted", "true")) < 0) ||
            (req->kms_key_id && (r = aws_query_add(q, "KmsKeyId", req->kms_key_id)) < 0) ||
            /* TagSpecifications rather than CopyImageTags: the copy carries amirotd:copy-of
             * besides the source's tags, and a copy from another account reads none of the
             * source's user tags. */
            (r = ec2_query_add_tag_specification(q, &specs, "image", req->image_tags)) < 0 ||
            (r = ec2_query_add_tag_specification(q, &specs, "snapshot", req->snapshot_tags)) < 0 ||
            (r = ec2_query_add_dry_run(q, req->dry_run)) < 0)
                return r;
        /* Its answer is CreateImage's: <imageId>. */
        return ec2_op_start(c, TAKE_PTR(q), OP_CREATE_IMAGE, (op_callback) { .id = cb }, userdata, ret_op);
}
