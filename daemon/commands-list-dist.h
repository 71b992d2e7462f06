/* SPDX-License-Identifier: MIT */
/*
 * `amirotd list`, beside each image: where distribution put it. Its copies in the
 * policy's copy_to destinations (DescribeImages there, through the destination's role,
 * by the amirotd:policy tag; a copy is matched to its source by amirotd:copy-of,
 * "REGION/ami-..."), and the versions of the policy's launch templates that name the
 * image or one of its copies (DescribeLaunchTemplateVersions of each template).
 * Everything is read once per policy, before its images are listed. A destination or
 * template that cannot be read is logged and said beside each image ("unreadable"): the
 * listing goes on without it.
 *
 * Each part of an image's distribution is one entry of the parts[] table in
 * commands-list-dist.c (copies, launch template versions; shares go there too): a
 * member of the image's "distribution" object in --json, continuation lines under the
 * image's row in the table.
 */
#pragma once

#include <json-c/json.h>

#include "aws/ec2-types.h"
#include "aws/ec2-template-calls.h"
#include "policy.h"
#include "run/clients.h"
#include "run/plan.h"                     /* TAG_COPY_OF */

/* The copies read in one place: a copy_to destination, or a region of the policy's own. */
typedef struct list_copies {
        char *region;
        char *account;                  /* the role's account; NULL: the policy's */
        ec2_image_list images;          /* the policy's images there that are copies */
        bool *shown;                    /* per image: listed beside its source */
        char *error;                    /* why it could not be read, or NULL */
} list_copies;

/* The versions of one launch template in one region (those that name an image are shown). */
typedef struct list_template {
        const launch_template_target *target;
        char *region;
        char *account;                  /* NULL: the policy's */
        ec2_template_versions versions;
        char *error;
} list_template;

typedef struct list_dist {
        const policy *policy;
        list_copies *copies;
        size_t n_copies;
        list_template *templates;
        size_t n_templates;
} list_dist;

void list_dist_done(list_dist *d);

/* Reads the copies and template versions of policy p; logs what cannot be read (and keeps
 * it as the place's error). 0, or -ENOMEM. */
int list_dist_read(aws_pool *pool, const policy *p, list_dist *ret);

/* An image of p's own region listing is a copy (tagged amirotd:copy-of): it is kept in d
 * (moved out of *img, which is zeroed) to be shown beside its source. 1 when taken, 0 when
 * img is no copy, -ENOMEM. */
int list_dist_take_copy(list_dist *d, const char *region, ec2_image *img);

/* img's "distribution" object for --json; marks the copies it shows. */
json_object *list_dist_image_json(list_dist *d, const ec2_image *img, const char *region);
/* img's continuation lines under its table row; marks the copies it shows. */
void list_dist_image_text(list_dist *d, const ec2_image *img, const char *region);

/* The copies that no listed image showed (their source is gone or was not listed): calls
 * cb for each, for a row of its own. */
typedef void (*list_dist_copy_cb)(const ec2_image *copy, const char *region, void *userdata);
void list_dist_unshown(list_dist *d, list_dist_copy_cb cb, void *userdata);
