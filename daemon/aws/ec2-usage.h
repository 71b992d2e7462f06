/* SPDX-License-Identifier: MIT */
/*
 * What may still launch from an image, beyond the instances DescribeInstances
 * shows: the default and latest versions of the account's launch templates
 * (DescribeLaunchTemplateVersions, every template at once), and an image's
 * lastLaunchedTime (DescribeImageAttribute). Calls on aws_client_call(), each
 * calling back once from the event loop; the parsers are pure, for tests.
 */
#pragma once

#include <time.h>

#include "client.h"
#include "error.h"

typedef struct ec2_template_image {
        char *template_id;
        char *template_name;
        char *image_id;                 /* as resolved: an SSM parameter comes back as its AMI id */
        unsigned version;
        bool is_default;                /* the template's $Default; else its $Latest */
        char *description;              /* VersionDescription, or NULL */
} ec2_template_image;

typedef struct ec2_template_image_list {
        ec2_template_image *items;
        size_t n;
        unsigned max_version;           /* the highest version number answered, with an image or not */
} ec2_template_image_list;

void ec2_template_image_list_done(ec2_template_image_list *l);

/* One page of DescribeLaunchTemplateVersions: versions that name an image are appended
 * (a version without ImageId names none); *ret_next_token is NULL on the last page. */
int ec2_parse_launch_template_versions(xmlDoc *doc, ec2_template_image_list *list, char **ret_next_token);
/* DescribeImageAttribute lastLaunchedTime: *ret 0 when the image was never launched from
 * (or not since April 2017, when EC2 began to record it). */
int ec2_parse_last_launched(xmlDoc *doc, time_t *ret);

typedef struct ec2_usage_op ec2_usage_op;
void ec2_usage_op_cancel(ec2_usage_op *op);     /* accepts NULL; the callback is never called */

/* l lives during the callback: move it out (zeroing *l) to keep it. */
typedef void (*ec2_template_images_cb)(int r, ec2_template_image_list *l, const aws_error *err, void *userdata);
typedef void (*ec2_last_launched_cb)(int r, time_t last_launched, const aws_error *err, void *userdata);

/* The $Default and $Latest versions of every launch template of the account in the client's
 * region, with ResolveAlias=true, all pages. */
int ec2_describe_template_images(aws_client *c, ec2_template_images_cb cb, void *userdata, ec2_usage_op **ret_op);
/* Every version of one launch template (by id, else by name) that names an image, with
 * ResolveAlias=true, all pages: its $Latest is the list's max_version. */
int ec2_describe_template_image_versions(aws_client *c, const char *template_id, const char *template_name,
                                         ec2_template_images_cb cb, void *userdata, ec2_usage_op **ret_op);
/* The same, running the client's loop until it completes (the one-shot commands). */
int ec2_describe_template_image_versions_sync(aws_client *c, const char *template_id, const char *template_name,
                                              ec2_template_image_list *ret, aws_error *ret_error);
int ec2_describe_last_launched(aws_client *c, const char *image_id, ec2_last_launched_cb cb, void *userdata,
                               ec2_usage_op **ret_op);
