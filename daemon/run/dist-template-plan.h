/* SPDX-License-Identifier: MIT */
/*
 * What a launch template needs so that it follows an image (dist-template.c acts on
 * it): whether a new version is made, from which source, whether a version becomes the
 * default, and which of amirotd's old versions go (keep_versions). Pure: the template's
 * versions as DescribeLaunchTemplateVersions listed them go in, decisions come out.
 *
 * A version amirotd made carries VersionDescription "amirotd POLICY IMAGE-ID": that is
 * how a later run, after a crash between the new version and the default switch, finds
 * it again, and how keep_versions tells amirotd's versions from everyone else's.
 */
#pragma once

#include <stdbool.h>

#include "aws/ec2-template-calls.h"
#include "policy.h"

/* "amirotd " + a policy name (at most 48) + " " + an image id: far below EC2's 255. */
#define TEMPLATE_DESCRIPTION_MAX 128
/* ClientToken: a SHA-256 in hex, of EC2's "Maximum 128 ASCII characters". */
#define TEMPLATE_TOKEN_MAX 65

typedef struct template_decision {
        const ec2_template_version *source;     /* $Default or $Latest, as the target says */
        bool up_to_date;                /* the source already names the image */
        bool create;                    /* a new version from source with the image */
        unsigned make_default;          /* the version to make the default (0: none, or the new one
                                         * when create and the target says set_default) */
        const ec2_template_version *found;      /* amirotd's version of the image, found again */
} template_decision;

/* The VersionDescription of amirotd's versions for image_id. */
char *template_description(const char *policy_name, const char *image_id, char buf[static TEMPLATE_DESCRIPTION_MAX]);
/* The ClientToken of the version for (policy, template, image) made from source: the same
 * request after a retry or a restart, another one once the source moved on. */
void template_client_token(const char *policy_name, const char *template_id, const char *image_id, unsigned source,
                           char buf[static TEMPLATE_TOKEN_MAX]);

/* The decision for template t of policy_name, whose versions are v, to follow image_id.
 * -ENOENT: the template has no source version (none listed, or no default). */
int template_decide(const ec2_template_versions *v, const launch_template_target *t, const char *policy_name,
                    const char *image_id, template_decision *ret);

/* amirotd's versions of v beyond keep (the newest keep stay, counting one more when
 * a new version is still to come: pending_new), oldest first, never default nor latest
 * (the version numbers after this run's steps), never one that another wrote. Stored in
 * *ret (to free), their count in *ret_n; keep 0 deletes nothing. */
int template_versions_to_delete(const ec2_template_versions *v, const char *policy_name, unsigned keep,
                                bool pending_new, unsigned default_version, unsigned latest_version,
                                unsigned **ret, size_t *ret_n);
