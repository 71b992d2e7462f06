/* SPDX-License-Identifier: MIT */
/*
 * The permission check of `once --dry-run`: every call a real run of a policy
 * in a region makes, asked of EC2 with DryRun=true where the call has it. The
 * describes are made for real (they change nothing); CreateImage, DeregisterImage
 * and DeleteSnapshot are sent with DryRun=true against one instance the policy
 * selects, one image and one snapshot it made (so that IAM conditions on the
 * amirotd:policy tag are evaluated as in a real run); CreateTags is what
 * CreateImage's TagSpecifications ask for, and EC2 checks it with CreateImage.
 * The calls of retire, protect.newest, image.deprecate_after and image.volumes are
 * asked the same way (DryRun on one image of the policy) where the policy uses them.
 * A call that cannot be asked (no instance, no image yet), or that the policy does not
 * need, is reported as not checked, with the reason. Distribution's calls are asked
 * where each acts: CopyImage in each copy_to destination's region and
 * account, ModifyImageAttribute on the policy's image here, CreateLaunchTemplateVersion
 * and ModifyLaunchTemplate on each launch_template, and ssm:GetParameter of each
 * ssm_parameter (SSM has no DryRun: a read of the name, ParameterNotFound counting as
 * allowed); a check made in several places reports the worst verdict. Logs nothing: the caller prints the verdicts.
 */
#pragma once

#include "run/clients.h"

typedef enum probe_verdict {
        PROBE_PERMITTED,                /* DryRunOperation, or the describe succeeded */
        PROBE_DENIED,                   /* UnauthorizedOperation (or another refusal: AuthFailure, ...) */
        PROBE_FAILED,                   /* another error: the permission is not known */
        PROBE_NOT_CHECKED,              /* nothing to ask it about; detail says why */
        _PROBE_VERDICT_MAX,
        _PROBE_VERDICT_INVALID = -EINVAL,
} probe_verdict;

const char *probe_verdict_to_string(probe_verdict v);

typedef enum probe_action {
        PROBE_DESCRIBE_INSTANCES,
        PROBE_DESCRIBE_IMAGES,
        PROBE_DESCRIBE_SNAPSHOTS,
        PROBE_CREATE_IMAGE,
        PROBE_CREATE_TAGS,
        PROBE_DEREGISTER_IMAGE,
        PROBE_DELETE_SNAPSHOT,
        PROBE_DESCRIBE_LAUNCH_TEMPLATE_VERSIONS,        /* protect.in_use */
        PROBE_DESCRIBE_IMAGE_ATTRIBUTE,                 /* protect.last_launched_within */
        PROBE_DESCRIBE_VOLUMES,                         /* image.volumes' exclude_tags */
        PROBE_ENABLE_IMAGE_DEPRECATION,                 /* retire.deprecate_after, image.deprecate_after */
        PROBE_DISABLE_IMAGE,                            /* retire.disable_after */
        PROBE_ENABLE_DEREG_PROTECTION,                  /* protect.newest */
        PROBE_DISABLE_DEREG_PROTECTION,                 /* protect.newest */
        PROBE_TAG_IMAGE,                                /* amirotd:* tags on an image after its creation:
                                                         * retire, protect.newest, image.deprecate_after */
        PROBE_MODIFY_IMAGE_ATTRIBUTE,                   /* share, copy_to in another account */
        PROBE_COPY_IMAGE,                               /* copy_to, in each destination */
        PROBE_CREATE_LAUNCH_TEMPLATE_VERSION,           /* launch_template, in each template's account */
        PROBE_MODIFY_LAUNCH_TEMPLATE,                   /* launch_template with set_default */
        PROBE_GET_PARAMETER,                            /* ssm_parameter (SSM has no DryRun) */
        _PROBE_ACTION_MAX,
} probe_action;

const char *probe_action_to_string(probe_action a);  /* the EC2 action: "CreateImage" */

typedef struct probe_check {
        probe_verdict verdict;
        char *detail;                   /* what it was asked on, EC2's refusal, or why not checked */
} probe_check;

typedef struct permission_probe permission_probe;
typedef void (*probe_callback)(permission_probe *probe, void *userdata);

/* Calls back once, from the loop, when every check has its verdict. */
int permission_probe_start(aws_pool *pool, const policy *p, const char *region, probe_callback cb, void *userdata,
                           permission_probe **ret);
permission_probe *permission_probe_free(permission_probe *probe);       /* cancels; accepts NULL */
DEFINE_TRIVIAL_CLEANUP_FUNC(permission_probe *, permission_probe_free);

const probe_check *permission_probe_check(const permission_probe *probe, probe_action a);
