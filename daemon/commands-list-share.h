/* SPDX-License-Identifier: MIT */
/*
 * commands-list-share.c: who each image of `amirotd list` is shared with.
 */
#pragma once

#include <json-c/json.h>

#include "aws/ec2-types.h"
#include "run/clients.h"
#include "policy.h"

/* For an image of p in region, when p shares (share, or copy_to another account): reads its
 * launch permissions and adds them to the last element of json ("shared_with") or, without
 * json, prints "  shared with: ..." under its row. Logs a failure, which is the list's
 * only in that the image's shares are not shown: 0, or the negative errno. */
int list_share_show(aws_pool *pool, const policy *p, const char *region, const ec2_image *img, json_object *json);
