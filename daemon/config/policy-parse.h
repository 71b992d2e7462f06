/* SPDX-License-Identifier: MIT */
/*
 * policy.c: one policy mapping to a struct policy. (Not named policy.h: a quoted
 * "policy.h" in config.h would find it before daemon/policy.h.) Not for use
 * outside daemon/config/.
 */
#pragma once

#include "config/value.h"

/* Reads one policy mapping into l->config; appended even with errors (for the duplicate
 * name check): any error drops the whole configuration anyway. Returns 0, -EINVAL,
 * -E2BIG past CONFIG_MAX_POLICIES, or -ENOMEM. */
int config_policy_parse(loader *l, const cnode *map);
void policy_done(policy *p);
/* image.volumes (policy-image.c): all, root, or {exclude_devices, exclude_tags}. The
 * exclude_tags mapping, for the caller to read as a tag selector, in *ret_exclude_tags
 * (NULL when none). */
int config_image_volumes_parse(loader *l, policy *p, const cnode *n, const cnode **ret_exclude_tags);
