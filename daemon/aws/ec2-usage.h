/* SPDX-License-Identifier: MIT */
/*
 * What may still launch from an image, beyond the instances DescribeInstances
 * shows and the launch templates' versions (ec2-template-calls.h): an image's
 * lastLaunchedTime (DescribeImageAttribute). A call on aws_client_call(), calling
 * back once from the event loop; the parser is pure, for tests.
 */
#pragma once

#include <time.h>

#include "client.h"
#include "error.h"

/* DescribeImageAttribute lastLaunchedTime: *ret 0 when the image was never launched from
 * (or not since April 2017, when EC2 began to record it). */
int ec2_parse_last_launched(xmlDoc *doc, time_t *ret);

typedef struct ec2_usage_op ec2_usage_op;
void ec2_usage_op_cancel(ec2_usage_op *op);     /* accepts NULL; the callback is never called */

typedef void (*ec2_last_launched_cb)(int r, time_t last_launched, const aws_error *err, void *userdata);

int ec2_describe_last_launched(aws_client *c, const char *image_id, ec2_last_launched_cb cb, void *userdata,
                               ec2_usage_op **ret_op);
