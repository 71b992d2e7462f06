/* SPDX-License-Identifier: MIT */
/*
 * The calls of image verification's test instances (run/verify.c), over ec2-calls.c's ops:
 * RunInstances of one instance, DescribeInstanceStatus, GetConsoleOutput and
 * TerminateInstances. Parameter names follow the EC2 API reference (2016-11-15). Nothing
 * here logs.
 *
 * Retries: retry.c retries every call alike, mutating or not (a throttled or dropped
 * request is sent again). That is safe for TerminateInstances (terminating a terminated
 * instance succeeds) and for the two reads, but RunInstances without a ClientToken is not
 * idempotent: a retry of a request whose answer was lost would launch a second instance.
 * So RunInstances always sends one (-EINVAL without): EC2 answers a request repeated with
 * the same token with the first one's result (EC2's "Ensuring idempotency"), so a retry,
 * a second attempt or a restarted daemon gets the instance the first request launched. Pacing (pace.c): the
 * four actions draw from buckets of their own, the two reads "Describe*"/"Get*" at the
 * non-mutating rate (DescribeInstanceStatus with ids and no page token is charged to the
 * smaller unfiltered bucket, the stricter reading), RunInstances and TerminateInstances at
 * the mutating rate, which is the figure of their "resource-intensive" row.
 */
#include <stdio.h>

#include "ec2-instance-calls.h"
#include "ec2-op.h"

/* "Constraints: Maximum 64 ASCII characters" (ClientToken). */
#define CLIENT_TOKEN_MAX 64

static size_t strv_length_max(char *const *v, size_t max) {
        size_t n = 0;

        while (v && v[n] && n <= max)
                n++;
        return n;
}

static bool client_token_is_valid(const char *t) {
        if (isempty(t) || strlen(t) > CLIENT_TOKEN_MAX)
                return false;
        for (const char *p = t; *p; p++)
                if ((unsigned char) *p < 0x21 || (unsigned char) *p > 0x7e)
                        return false;
        return true;
}

/* BlockDeviceMapping.N.DeviceName with Ebs.DeleteOnTermination=true: only that one field of
 * each device changes; the image's snapshot, size and type stay as they are. */
static int add_delete_on_termination(aws_query *q, char *const *devices) {
        unsigned n = 0;
        int r;

        for (char *const *d = devices; d && *d; d++) {
                if (isempty(*d))
                        return -EINVAL;
                n++;
                if ((r = aws_query_addf(q, *d, "BlockDeviceMapping.%u.DeviceName", n)) < 0 ||
                    (r = aws_query_addf(q, "true", "BlockDeviceMapping.%u.Ebs.DeleteOnTermination", n)) < 0)
                        return r;
        }
        return 0;
}

/* IamInstanceProfile: "Arn: The Amazon Resource Name (ARN) of the instance profile",
 * "Name: The name of the instance profile". */
static int add_instance_profile(aws_query *q, const char *profile) {
        if (!profile)
                return 0;
        if (isempty(profile))
                return -EINVAL;
        return aws_query_add(q, startswith(profile, "arn:") ? "IamInstanceProfile.Arn" : "IamInstanceProfile.Name",
                             profile);
}

int ec2_run_instances_query(const ec2_run_instances_request *req, aws_query **ret) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        unsigned specs = 0;
        int r;

        if (!req || !ret || isempty(req->image_id) || isempty(req->instance_type) || isempty(req->subnet_id) ||
            !client_token_is_valid(req->client_token))
                return -EINVAL;
        r = aws_query_new("RunInstances", &q);
        if (r < 0)
                return r;
        if ((r = aws_query_add(q, "ImageId", req->image_id)) < 0 ||
            (r = aws_query_add(q, "InstanceType", req->instance_type)) < 0 ||
            (r = aws_query_add(q, "MinCount", "1")) < 0 ||
            (r = aws_query_add(q, "MaxCount", "1")) < 0 ||
            /* No AssociatePublicIpAddress: the subnet's own setting decides. */
            (r = aws_query_add(q, "SubnetId", req->subnet_id)) < 0 ||
            (r = aws_query_add_list(q, "SecurityGroupId", req->security_group_ids)) < 0 ||
            (r = add_instance_profile(q, req->iam_instance_profile)) < 0 ||
            (r = aws_query_add(q, "ClientToken", req->client_token)) < 0 ||
            (r = ec2_query_add_tag_specification(q, &specs, "instance", req->tags)) < 0 ||
            (r = ec2_query_add_tag_specification(q, &specs, "volume", req->tags)) < 0 ||
            (r = add_delete_on_termination(q, req->delete_on_termination)) < 0 ||
            (r = ec2_query_add_dry_run(q, req->dry_run)) < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

int ec2_run_instances(aws_client *c, const ec2_run_instances_request *req, ec2_instances_cb cb, void *userdata,
                      ec2_op **ret_op) {
        aws_query *q = NULL;
        int r;

        if (!c || !cb)
                return -EINVAL;
        r = ec2_run_instances_query(req, &q);
        if (r < 0)
                return r;
        return ec2_op_start(c, q, OP_RUN_INSTANCES, (op_callback) { .instances = cb }, userdata, ret_op);
}

/* InstanceId.N of a non-empty vector of at most max non-empty ids. */
static int add_instance_ids(aws_query *q, char *const *ids, size_t max) {
        size_t n = strv_length_max(ids, max);

        if (n == 0)
                return -EINVAL;
        if (n > max)
                return -E2BIG;
        for (size_t i = 0; i < n; i++)
                if (isempty(ids[i]))
                        return -EINVAL;
        return aws_query_add_list(q, "InstanceId", ids);
}

int ec2_terminate_instances_query(char *const *instance_ids, bool dry_run, aws_query **ret) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = aws_query_new("TerminateInstances", &q);
        if (r < 0)
                return r;
        if ((r = add_instance_ids(q, instance_ids, EC2_TERMINATE_IDS_MAX)) < 0 ||
            (r = ec2_query_add_dry_run(q, dry_run)) < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

/* Its answer (instancesSet of currentState/previousState) has no <return>: success is the
 * 200 itself, which ec2_parse_return() reads as true. */
int ec2_terminate_instances(aws_client *c, char *const *instance_ids, bool dry_run, ec2_done_cb cb, void *userdata,
                            ec2_op **ret_op) {
        aws_query *q = NULL;
        int r;

        if (!c || !cb)
                return -EINVAL;
        r = ec2_terminate_instances_query(instance_ids, dry_run, &q);
        if (r < 0)
                return r;
        return ec2_op_start(c, q, OP_RETURN, (op_callback) { .done = cb }, userdata, ret_op);
}

int ec2_describe_instance_status_query(char *const *instance_ids, aws_query **ret) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = aws_query_new("DescribeInstanceStatus", &q);
        if (r < 0)
                return r;
        /* MaxResults: "You cannot specify this parameter and the instance IDs parameter in
         * the same request", so none; a NextToken EC2 sends anyway is still followed.
         * IncludeAllInstances: "When true, includes the health status for all instances.
         * When false, includes the health status for running instances only": a pending or
         * stopped test instance must be seen, not mistaken for a vanished one. */
        if ((r = add_instance_ids(q, instance_ids, EC2_INSTANCE_STATUS_IDS_MAX)) < 0 ||
            (r = aws_query_add(q, "IncludeAllInstances", "true")) < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

int ec2_describe_instance_status(aws_client *c, char *const *instance_ids, ec2_instance_status_cb cb, void *userdata,
                                 ec2_op **ret_op) {
        aws_query *q = NULL;
        int r;

        if (!c || !cb)
                return -EINVAL;
        r = ec2_describe_instance_status_query(instance_ids, &q);
        if (r < 0)
                return r;
        return ec2_op_start(c, q, OP_INSTANCE_STATUS, (op_callback) { .instance_status = cb }, userdata, ret_op);
}

int ec2_get_console_output_query(const char *instance_id, bool latest, aws_query **ret) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!ret || isempty(instance_id))
                return -EINVAL;
        r = aws_query_new("GetConsoleOutput", &q);
        if (r < 0)
                return r;
        r = aws_query_add(q, "InstanceId", instance_id);
        if (r < 0)
                return r;
        if (latest) {
                r = aws_query_add(q, "Latest", "true");
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(q);
        return 0;
}

int ec2_get_console_output(aws_client *c, const char *instance_id, bool latest, ec2_console_cb cb,
                           void *userdata, ec2_op **ret_op) {
        aws_query *q = NULL;
        int r;

        if (!c || !cb)
                return -EINVAL;
        r = ec2_get_console_output_query(instance_id, latest, &q);
        if (r < 0)
                return r;
        /* An ec2_console_cb is an ec2_id_cb by type: the op hands over a string alike. */
        return ec2_op_start(c, q, OP_CONSOLE, (op_callback) { .id = cb }, userdata, ret_op);
}

/* Neither the API reference nor the user guide names the error EC2 answers for Latest on
 * an instance type without the Nitro hypervisor; UnsupportedOperation is EC2's code for an
 * operation the instance's type or configuration does not support (ec2sim answers it). */
bool ec2_console_latest_unsupported(const aws_error *err) {
        return err && aws_error_is(err, "UnsupportedOperation");
}
