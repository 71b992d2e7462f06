/* SPDX-License-Identifier: MIT */
/*
 * The requests of the test instances' calls (ec2-instance-calls.c), built apart from
 * sending them so that tests compare each with botocore's own serialization of the same
 * parameters. The calls themselves are declared in ec2.h.
 */
#pragma once

#include "ec2.h"
#include "query.h"

/* DescribeInstanceStatus: "Constraints: Maximum 100 explicitly specified instance IDs." */
#define EC2_INSTANCE_STATUS_IDS_MAX 100
/* TerminateInstances: "Constraints: Up to 1000 instance IDs." */
#define EC2_TERMINATE_IDS_MAX 1000

/* Each returns -EINVAL for a request the call would refuse, -E2BIG for too many ids. */
int ec2_run_instances_query(const ec2_run_instances_request *req, aws_query **ret);
int ec2_terminate_instances_query(char *const *instance_ids, bool dry_run, aws_query **ret);
int ec2_describe_instance_status_query(char *const *instance_ids, aws_query **ret);
int ec2_get_console_output_query(const char *instance_id, bool latest, aws_query **ret);
