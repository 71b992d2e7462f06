/* SPDX-License-Identifier: MIT */
/*
 * The launch template calls. DescribeLaunchTemplateVersions serves everyone who reads
 * versions: every version of one template (launch_template, amirotd list) or the
 * $Default and $Latest of every template of the account (protect, copy_to's
 * retirement). The rest make a template follow an image (launch_template): a new
 * version from a source version with only its ImageId changed (CreateLaunchTemplateVersion), the
 * default version switch (ModifyLaunchTemplate) and the deletion of old versions
 * (DeleteLaunchTemplateVersions, whose answer says version by version what it
 * deleted). Calls on aws_client_call(), each calling back once from the event loop;
 * the parsers are pure, for tests and the fuzzer. Nothing here logs.
 */
#pragma once

#include <stdbool.h>

#include "client.h"
#include "error.h"

/* DeleteLaunchTemplateVersions: "You can delete up to 200 launch template versions in a
 * single request." */
#define EC2_TEMPLATE_DELETE_MAX 200

typedef struct ec2_template_version {
        char *template_id;
        char *template_name;            /* NULL when EC2 gave none */
        unsigned number;
        char *image_id;                 /* NULL: the version names no image; with resolve_alias, an
                                         * SSM parameter's AMI id in place of resolve:ssm:NAME */
        char *description;              /* VersionDescription; NULL when none */
        bool is_default;
} ec2_template_version;

/* Versions, in the order EC2 gave them. */
typedef struct ec2_template_versions {
        ec2_template_version *items;
        size_t n;
} ec2_template_versions;

void ec2_template_versions_done(ec2_template_versions *v);
/* Of one template's versions: the default version, the latest (highest number) one, or
 * NULL when there is none. */
const ec2_template_version *ec2_template_versions_default(const ec2_template_versions *v);
const ec2_template_version *ec2_template_versions_latest(const ec2_template_versions *v);

/* What DeleteLaunchTemplateVersions did, version by version. */
typedef struct ec2_template_delete_failure {
        unsigned number;
        char *code;                     /* "launchTemplateVersionDoesNotExist", "unexpectedError" */
        char *message;
} ec2_template_delete_failure;

typedef struct ec2_template_delete_result {
        unsigned *deleted;
        size_t n_deleted;
        ec2_template_delete_failure *failed;
        size_t n_failed;
} ec2_template_delete_result;

void ec2_template_delete_result_done(ec2_template_delete_result *r);

/* One page of DescribeLaunchTemplateVersions, appended to v, with an image or not;
 * *ret_next_token NULL on the last page. */
int ec2_parse_template_versions_page(xmlDoc *doc, ec2_template_versions *v, char **ret_next_token);
/* CreateLaunchTemplateVersion: launchTemplateVersion/versionNumber. */
int ec2_parse_create_template_version(xmlDoc *doc, unsigned *ret_number);
/* DeleteLaunchTemplateVersions: the successfully and unsuccessfully deleted sets. */
int ec2_parse_delete_template_versions(xmlDoc *doc, ec2_template_delete_result *ret);

typedef struct ec2_template_op ec2_template_op;
void ec2_template_op_cancel(ec2_template_op *op);      /* accepts NULL; the callback is never called */

/* v and res live during the callback: move them out (zeroing them) to keep them. */
typedef void (*ec2_template_versions_cb)(int r, ec2_template_versions *v, const aws_error *err, void *userdata);
typedef void (*ec2_template_number_cb)(int r, unsigned number, const aws_error *err, void *userdata);
typedef void (*ec2_template_delete_cb)(int r, ec2_template_delete_result *res, const aws_error *err,
                                       void *userdata);

/* Names one template: exactly one of id and name. */
typedef struct ec2_template_ref {
        const char *id;
        const char *name;
} ec2_template_ref;

/* What DescribeLaunchTemplateVersions lists: exactly one of a template and account_wide. */
typedef struct ec2_template_versions_request {
        ec2_template_ref template;      /* every version of this template */
        bool account_wide;              /* the $Default and $Latest versions of every template of the
                                         * account in the client's region */
        bool resolve_alias;             /* ResolveAlias: the AMI id an SSM parameter names */
} ec2_template_versions_request;

/* All pages. */
int ec2_describe_template_versions(aws_client *c, const ec2_template_versions_request *req,
                                   ec2_template_versions_cb cb, void *userdata, ec2_template_op **ret_op);
/* The same, running the client's loop until it completes (the one-shot commands; ec2-sync.c). */
int ec2_describe_template_versions_sync(aws_client *c, const ec2_template_versions_request *req,
                                        ec2_template_versions *ret, aws_error *ret_error);

typedef struct ec2_template_version_request {
        ec2_template_ref template;
        unsigned source_version;        /* SourceVersion: the new version copies its data */
        const char *image_id;           /* LaunchTemplateData.ImageId, the only data given */
        const char *description;        /* VersionDescription (at most 255 characters) */
        const char *client_token;       /* ClientToken (at most 128 ASCII characters); may be NULL */
        bool dry_run;
} ec2_template_version_request;

/* The new version's number. */
int ec2_create_template_version(aws_client *c, const ec2_template_version_request *req, ec2_template_number_cb cb,
                                void *userdata, ec2_template_op **ret_op);
/* ModifyLaunchTemplate SetDefaultVersion; calls back with the version made default. */
int ec2_set_template_default(aws_client *c, ec2_template_ref t, unsigned version, bool dry_run,
                             ec2_template_number_cb cb, void *userdata, ec2_template_op **ret_op);
/* DeleteLaunchTemplateVersions of 1 to EC2_TEMPLATE_DELETE_MAX versions. A version that
 * could not be deleted is in res->failed: the call itself succeeded (r 0). */
int ec2_delete_template_versions(aws_client *c, ec2_template_ref t, const unsigned *versions, size_t n,
                                 bool dry_run, ec2_template_delete_cb cb, void *userdata,
                                 ec2_template_op **ret_op);
