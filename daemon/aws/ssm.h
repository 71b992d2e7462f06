/* SPDX-License-Identifier: MIT */
/*
 * Typed SSM Parameter Store calls over the JSON protocol (client.c, json.h):
 * GetParameter and PutParameter, as distribution publishes the newest image. This file
 * knows SSM, not policies; nothing here logs.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "client.h"

/* The target prefix of SSM's X-Amz-Target ("AmazonSSM.GetParameter"). */
#define SSM_TARGET_PREFIX "AmazonSSM"
/* The data type of a parameter that names an AMI ("aws:ec2:image", PutParameter's DataType). */
#define SSM_DATA_TYPE_IMAGE "aws:ec2:image"

typedef struct ssm_parameter {
        char *name;
        char *type;                     /* "String", "StringList", "SecureString" */
        char *value;
        char *data_type;                /* "text", "aws:ec2:image"; NULL when not said */
        int64_t version;
} ssm_parameter;

void ssm_parameter_done(ssm_parameter *p);

/* PutParameter's naming rules ("Naming Constraints" of its Name, SSM API reference) for a
 * parameter of region in an account: 0, or -EINVAL with *ret_why (static text). */
#define SSM_PARAMETER_NAME_MAX_WITH_ARN 1011
#define SSM_PARAMETER_MAX_DEPTH 15
int ssm_parameter_name_check(const char *name, const char *region, const char **ret_why);

/* ---- Parsers (pure; exposed for tests and the fuzzer) ----------------------------------- */

/* GetParameter's {"Parameter": {"Name", "Type", "Value", "Version", "DataType", ...}}:
 * -EBADMSG without a Parameter of string Name and Value. */
int ssm_parse_get_parameter(json_object *answer, ssm_parameter *ret);
/* PutParameter's {"Version": N, "Tier": ...}: -EBADMSG without an integer Version >= 1. */
int ssm_parse_put_parameter(json_object *answer, int64_t *ret_version);

/* ---- Calls ------------------------------------------------------------------------------ */

typedef struct ssm_op ssm_op;

/* r: 0 with p; -ENOENT when SSM answered ParameterNotFound (p NULL, err set); another
 * negative errno with err (error.h's convention). Called once, from the loop. */
typedef void (*ssm_get_cb)(int r, const ssm_parameter *p, const aws_error *err, void *userdata);
/* r: 0 with the parameter's new version, or <0 with err. */
typedef void (*ssm_put_cb)(int r, int64_t version, const aws_error *err, void *userdata);

int ssm_get_parameter(aws_client *c, const char *name, ssm_get_cb cb, void *userdata, ssm_op **ret_op);

typedef struct ssm_put_request {
        const char *name;
        const char *value;
        const char *type;               /* NULL: "String" */
        const char *data_type;          /* NULL: none sent ("text") */
        const char *description;        /* may be NULL */
        bool overwrite;
} ssm_put_request;

/* The request body, for tests and the botocore comparison. */
int ssm_put_parameter_body(const ssm_put_request *req, char **ret);
int ssm_put_parameter(aws_client *c, const ssm_put_request *req, ssm_put_cb cb, void *userdata, ssm_op **ret_op);

/* Cancels the call: its callback is never called. Accepts NULL. */
void ssm_op_cancel(ssm_op *op);
