/* SPDX-License-Identifier: MIT */
/*
 * The pure decisions of the `ssm_parameter` distributor (dist-ssm-plan.c): which run
 * writes a parameter (the newest image it names is dist-newest.h's). dist-ssm.c reads AWS,
 * decides through these, and writes. No I/O here, no logging, no clock.
 */
#pragma once

#include <time.h>

#include "aws/ec2-types.h"
#include "run/dist-newest.h"
#include "policy.h"

/*
 * The region in which a run of p in run_region writes t, or NULL when another run does:
 * a target without a region is written by each region's run in its own region; one in
 * one of p's regions by that region's run; one in any other region by the run of p's
 * first region only, so that exactly one run writes each parameter.
 */
/* Whether a name template holds an instance variable ({instance_id}, {instance_name},
 * {instance_tag:KEY}): then it is one parameter per instance the policy selects. */
bool dist_ssm_name_per_instance(const char *template);

const char *dist_ssm_target_region(const policy *p, const ssm_parameter_target *t, const char *run_region);

