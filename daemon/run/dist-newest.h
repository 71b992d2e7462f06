/* SPDX-License-Identifier: MIT */
/*
 * "The newest image" a launch template (dist-template.c) or an SSM parameter names in a
 * region and account: among the images tagged amirotd:policy=NAME there, sources and
 * copies alike, the available ones that are neither released (amirotd:retired-at) nor
 * deprecated, of a slot not after now, newest by amirotd:slot, then by CreationDate. With
 * verify (run/verify-plan.h), only images that passed (amirotd:verified=passed: a copy
 * carries its source's verdict) qualify: a launch template and a parameter name an image
 * known to boot. Pure.
 */
#pragma once

#include <time.h>

#include "aws/ec2-types.h"

/* The newest image of policy_name (and of instance_id, unless NULL) among images at now,
 * passed ones only when passed_only (the policy's verify.set), or NULL when none qualifies.
 * passed (NULL-terminated, may be NULL): the images that passed in this run, which qualify
 * as passed before their tag shows in the run's describe (EC2's tags are eventually
 * consistent), as plan_input.passed does for the planner. */
const ec2_image *dist_newest_image(const ec2_image *images, size_t n, const char *policy_name,
                                   const char *instance_id, bool passed_only, char *const *passed, time_t now);
