/* SPDX-License-Identifier: MIT */
/*
 * Distribution's permission checks of `once --dry-run` (probe.h), each asked where the
 * call acts: ModifyImageAttribute (DryRun) on the policy's image in the run's region
 * (share, copy_to in another account); CopyImage (DryRun) in each copy_to destination's
 * region and account; CreateLaunchTemplateVersion and, with set_default,
 * ModifyLaunchTemplate (DryRun) on each launch_template in its region and account;
 * ssm:GetParameter of each ssm_parameter's name (SSM has no DryRun: a read, where
 * ParameterNotFound counts as allowed, since a run creates the parameter). A check asked
 * in several places keeps the worst verdict and names the places.
 */
#pragma once

#include "run/clients.h"
#include "run/probe.h"

typedef struct probe_dist probe_dist;

typedef struct probe_dist_request {
        aws_pool *pool;
        aws_client *ec2;                /* the run's region's */
        const policy *policy;
        const char *region;
        const char *image_id;           /* an image of the policy here, or NULL */
        probe_check *checks;            /* indexed by probe_action: distribution's are set */
        void (*done)(void *userdata);   /* once per call started, from the loop */
        void *userdata;
} probe_dist_request;

/* Sets the checks distribution does not need or cannot ask to not checked, and starts the
 * others; *ret_started: the calls started (done follows for each). On failure, free what
 * *ret holds: that cancels the calls already started. */
int probe_dist_start(const probe_dist_request *req, probe_dist **ret, unsigned *ret_started);
probe_dist *probe_dist_free(probe_dist *d);     /* cancels; accepts NULL */
DEFINE_TRIVIAL_CLEANUP_FUNC(probe_dist *, probe_dist_free);
