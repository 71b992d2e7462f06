/* SPDX-License-Identifier: MIT */
/*
 * The configuration as plain data: the global settings of amirotd.yaml and
 * one struct per policy, each value with the file, line and column it came
 * from. Produced by config/load.c; read by everything else; no side effects.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "aws/ec2-types.h"
#include "aws/endpoint.h"
#include "aws/pace.h"
#include "schedule/schedule.h"

/* The image name when a policy gives none: unique per instance and slot (design.md, rule 3). */
#define POLICY_DEFAULT_NAME_TEMPLATE "{policy}-{instance_id}-{slot}"

typedef struct config_pos {
        const char *file;               /* owned by the config (config.files) */
        unsigned line;                  /* 1-based */
        unsigned column;                /* 1-based */
} config_pos;

typedef struct tag_selector {
        char *key;
        char *value;                    /* NULL: the key must be present with any value ("*") */
        config_pos pos;
} tag_selector;

/* image.volumes: which of an instance's EBS volumes its images hold (CreateImage's
 * block-device mappings with NoDevice for the others). */
typedef enum policy_volumes {
        POLICY_VOLUMES_ALL,             /* default */
        POLICY_VOLUMES_ROOT,            /* the root device only */
        POLICY_VOLUMES_EXCLUDE,         /* all but exclude_devices and volumes tagged exclude_volume_tags */
        _POLICY_VOLUMES_MAX,
        _POLICY_VOLUMES_INVALID = -EINVAL,
} policy_volumes;

/* retain's tiers, as restic's and borg's keep-hourly ... keep-yearly. */
typedef enum retain_tier {
        RETAIN_HOURLY,
        RETAIN_DAILY,
        RETAIN_WEEKLY,
        RETAIN_MONTHLY,
        RETAIN_YEARLY,
        _RETAIN_TIER_MAX,
        _RETAIN_TIER_INVALID = -EINVAL,
} retain_tier;

/* A tier's key under `retain` ("hourly" ... "yearly"), also its name in retirement reasons. */
static inline const char *retain_tier_to_string(retain_tier t) {
        static const char *const names[_RETAIN_TIER_MAX] = {
                [RETAIN_HOURLY] = "hourly",
                [RETAIN_DAILY] = "daily",
                [RETAIN_WEEKLY] = "weekly",
                [RETAIN_MONTHLY] = "monthly",
                [RETAIN_YEARLY] = "yearly",
        };

        return t >= 0 && t < _RETAIN_TIER_MAX ? names[t] : NULL;
}

/* retire's stages, in the order an image passes them. */
typedef enum retire_stage {
        RETIRE_DEPRECATE,
        RETIRE_DISABLE,
        RETIRE_DEREGISTER,
        _RETIRE_STAGE_MAX,
        _RETIRE_STAGE_INVALID = -EINVAL,
} retire_stage;

/* Retention's rules, as a policy's own retain_* fields: a copy destination's own `retain`. */
typedef struct retain_rules {
        unsigned count;                 /* 0: no count rule */
        uint64_t max_age;               /* seconds; 0: none */
        unsigned tiers[_RETAIN_TIER_MAX];
        unsigned min_count;
} retain_rules;

/* copy_to: a destination of the policy's images (CopyImage). */
typedef struct copy_destination {
        char *region;
        char *role_arn;                 /* another account's role: NULL for the policy's own */
        char *external_id;
        bool encrypted;                 /* Encrypted=true */
        char *kms_key_id;               /* KmsKeyId; NULL: the destination's default key */
        bool retain_set;                /* retain given: else the policy's own rules */
        retain_rules retain;
        uint64_t deprecate_after;       /* seconds from the copy's creation; 0: none */
        config_pos pos;
} copy_destination;

/* launch_template: a template whose new versions follow the newest image. */
typedef struct launch_template_target {
        char *id;                       /* "lt-0abc...", or NULL when named */
        char *name;                     /* or NULL when by id */
        char *region;                   /* NULL: each of the policy's regions */
        char *role_arn;                 /* the template's account; NULL: the policy's */
        char *external_id;
        bool from_latest;               /* the new version's source: $Latest, else $Default */
        bool set_default;               /* make the new version the default */
        unsigned keep_versions;         /* versions made by amirotd kept; 0: all */
        config_pos pos;
} launch_template_target;

/* ssm_parameter: a parameter (data type aws:ec2:image) naming the newest image. */
typedef struct ssm_parameter_target {
        char *name;                     /* "/golden/{policy}/latest": may hold the tag variables */
        char *region;                   /* NULL: each of the policy's regions */
        char *role_arn;                 /* the parameter's account; NULL: the policy's */
        char *external_id;
        config_pos pos;
} ssm_parameter_target;

/* image.before / image.after: a command around CreateImage (run/hook.h). */
typedef enum policy_hook_where {
        POLICY_HOOK_NONE,               /* not given */
        POLICY_HOOK_SSM,                /* on the instance, by SSM Run Command */
        POLICY_HOOK_LOCAL,              /* on the amirotd host, by /bin/sh -c */
        _POLICY_HOOK_WHERE_MAX,
        _POLICY_HOOK_WHERE_INVALID = -EINVAL,
} policy_hook_where;

typedef struct policy_hook {
        policy_hook_where where;
        char *command;                  /* SSM: the document's commands (a script); LOCAL: the shell command */
        char *document;                 /* SSM: NULL: by the instance's platform, AWS-RunShellScript
                                         * or AWS-RunPowerShellScript */
        uint64_t timeout;               /* seconds */
        config_pos pos;
} policy_hook;

/* image.on_hook_failure: what becomes of an instance's image when a hook or the freeze fails. */
typedef enum policy_hook_failure {
        POLICY_HOOK_FAILURE_SKIP,       /* no image of the instance for the slot; the run fails */
        POLICY_HOOK_FAILURE_CRASH_CONSISTENT,   /* CreateImage as without hooks */
        POLICY_HOOK_FAILURE_REBOOT,     /* CreateImage with NoReboot=false */
        _POLICY_HOOK_FAILURE_MAX,
        _POLICY_HOOK_FAILURE_INVALID = -EINVAL,
} policy_hook_failure;

/* on_hook_failure's values, as written in the configuration and in log lines. */
static inline const char *policy_hook_failure_to_string(policy_hook_failure f) {
        static const char *const names[_POLICY_HOOK_FAILURE_MAX] = {
                [POLICY_HOOK_FAILURE_SKIP] = "skip",
                [POLICY_HOOK_FAILURE_CRASH_CONSISTENT] = "crash-consistent",
                [POLICY_HOOK_FAILURE_REBOOT] = "reboot",
        };

        return f >= 0 && f < _POLICY_HOOK_FAILURE_MAX ? names[f] : NULL;
}

static inline policy_hook_failure policy_hook_failure_from_string(const char *s) {
        for (int f = 0; f < _POLICY_HOOK_FAILURE_MAX; f++)
                if (s && strcmp(s, policy_hook_failure_to_string(f)) == 0)
                        return f;
        return _POLICY_HOOK_FAILURE_INVALID;
}

/* adopt: existing images that `amirotd adopt` tags as the policy's own. */
typedef struct policy_adopt {
        bool set;                       /* an adopt section is given */
        tag_selector *tags;             /* images carrying all of them */
        size_t n_tags;
        char *name;                     /* and/or a name pattern (EC2's name filter: * and ?) */
        char *instance_id;              /* the instance they count for when EC2 names none; NULL */
        config_pos pos;
} policy_adopt;

/* verify.subnet_id / security_group_ids: where a test instance starts in one region. A
 * subnet lives in one region: a policy of several regions names one per region. */
typedef struct verify_network {
        char *region;                   /* NULL: the policy's only region */
        char *subnet_id;                /* "subnet-..." */
        char **security_group_ids;      /* NULL-terminated "sg-..."; NULL: the VPC's default group */
        config_pos pos;
} verify_network;

/* verify: each new image proves it boots (run/verify.h) before retention counts it. */
typedef struct policy_verify {
        bool set;                       /* a verify section is given */
        char *instance_type;            /* "t3.micro" */
        verify_network *networks;       /* one per region of the policy (or one, region NULL) */
        size_t n_networks;
        char *iam_instance_profile;     /* a profile's name or ARN; NULL: none */
        uint64_t timeout;               /* seconds from the test instance's launch to a verdict */
        char *console_match;            /* POSIX extended regex the console output must match; NULL */
        unsigned max_concurrent;        /* test instances at once per policy and region */
        config_pos pos;
} policy_verify;

/* The network of verify in region, or NULL when the policy names none there. */
static inline const verify_network *policy_verify_network(const policy_verify *v, const char *region) {
        for (size_t i = 0; i < v->n_networks; i++)
                if (!v->networks[i].region || (region && strcmp(v->networks[i].region, region) == 0))
                        return &v->networks[i];
        return NULL;
}

typedef struct policy {
        char *name;                     /* [A-Za-z0-9-]{1,48}, unique */
        bool disabled;                  /* `enabled: false`: listed and planned, nothing created or retired */
        config_pos pos;                 /* of the policy's mapping */
        config_pos name_pos;            /* of its name's value */
        char **regions;                 /* NULL-terminated, never empty once loaded */
        char *role_arn;                 /* NULL: the global credentials */
        char *external_id;

        tag_selector *tags;             /* all must match */
        size_t n_tags;
        tag_selector *exclude_tags;     /* any match excludes */
        size_t n_exclude_tags;
        unsigned states;                /* bit (1u << ec2_instance_state); default running|stopped */

        schedule schedule;

        char *name_template;            /* contains {slot} and {instance_id} */
        char *description_template;
        bool reboot;                    /* default false: NoReboot=true, as DLM */
        bool copy_instance_tags;        /* never aws:* keys */
        ec2_tags image_tags;
        uint64_t wait_timeout;          /* seconds to wait for available; default 2h */
        policy_volumes volumes;         /* image.volumes */
        char **exclude_devices;         /* NULL-terminated device names ("/dev/sdf"); POLICY_VOLUMES_EXCLUDE */
        tag_selector *exclude_volume_tags;      /* a volume carrying any of them is left out */
        size_t n_exclude_volume_tags;
        uint64_t deprecate_after;       /* image.deprecate_after: seconds from creation; 0: none */
        policy_hook hook_before;        /* image.before; where POLICY_HOOK_NONE: none */
        policy_hook hook_after;         /* image.after */
        bool freeze;                    /* image.freeze: fsfreeze around CreateImage, by SSM */
        uint64_t freeze_timeout;        /* image.freeze_timeout, seconds: the instance thaws itself then */
        policy_hook_failure on_hook_failure;    /* image.on_hook_failure */

        unsigned retain_count;          /* 1..1000; 0: no count rule (another rule is given) */
        uint64_t retain_max_age;        /* seconds; 0: none */
        unsigned retain_tiers[_RETAIN_TIER_MAX];        /* images kept per tier; 0: tier not used */
        unsigned retain_min_count;      /* floor under max_age and the tiers; 0: none */
        unsigned departed_keep;         /* retain.departed.keep; 0: the policy's rules */
        uint64_t departed_max_age;      /* retain.departed.max_age, seconds; 0: none */

        bool protect_in_use;            /* protect.in_use: instances and launch templates */
        uint64_t protect_last_launched_within;  /* seconds; 0: none */
        unsigned protect_newest;        /* protect.newest: deregistration protection; 0: none */
        bool protect_newest_cooldown;   /* protect.cooldown: EC2's 24 h cooldown when it is turned off */

        /* retire: each stage's delay after retention lets an image go, in seconds, when bit
         * (1u << stage) of retire_stages says it was given. retire_stages 0 (no `retire`):
         * deregistered at once, as before. Zero-initialised, a policy has no stages. */
        unsigned retire_stages;
        uint64_t retire_after[_RETIRE_STAGE_MAX];

        policy_adopt adopt;             /* adopt; adopt.set false when not given */
        policy_verify verify;           /* verify; verify.set false when not given */

        /* Distribution (run/dist.h); each empty when not given. */
        copy_destination *copy_to;
        size_t n_copy_to;
        char **share_accounts;          /* share.accounts: 12-digit ids; NULL-terminated or NULL */
        char **share_organizations;     /* share.organizations: organization ARNs */
        char **share_organizational_units;      /* share.organizational_units: OU ARNs */
        bool share_snapshots;           /* share.snapshots: createVolumePermission to the accounts too */
        bool share_set;                 /* a share section is given: launch permissions are reconciled */
        launch_template_target *launch_templates;
        size_t n_launch_templates;
        ssm_parameter_target *ssm_parameters;
        size_t n_ssm_parameters;

        unsigned max_retire_per_run;    /* percent 0..100 of the policy's counted images that a run
                                         * may retire beyond one per instance; default: the global key */
        bool max_retire_per_run_set;    /* by the policy's retain.max_retire_per_run */
} policy;

typedef struct endpoint_override {
        char *region;                   /* NULL: every region */
        char *url;
} endpoint_override;

typedef struct config {
        char **files;                   /* every file read, for config_pos.file */

        char *default_region;           /* default "us-east-1" */
        char *profile;
        char *access_key_id;            /* explicit credentials; never printed */
        char *secret_access_key;
        char *session_token;
        char *credentials_file;         /* shared-credentials format; default aws-credentials beside the
                                         * global file; NULL when loaded from memory */
        bool credentials_file_named;    /* by the global file's `credentials_file` key */
        endpoint_override *endpoints;
        size_t n_endpoints;
        char *sts_endpoint_url;         /* STS for role_arn; NULL: https://sts.REGION.amazonaws.com */
        int use_fips_endpoint, use_dualstack_endpoint;  /* -1: unset (AWS_USE_..._ENDPOINT, the profile's keys) */
        pace_bucket_config pacing[_PACE_CATEGORY_MAX];
        unsigned max_in_flight;         /* default 32 */
        int log_level;                  /* syslog priority, default LOG_INFO */
        bool dry_run;
        uint64_t poll_initial;          /* seconds: first poll of a new image; default 2 */
        uint64_t poll_max;              /* seconds: poll backoff cap; default 300 */
        uint64_t spread;                /* seconds: creations of a slot spread over this window; default 600 */
        unsigned max_retire_per_run;    /* percent, each policy's default; default 10 (CONFIG_DEFAULT_MAX_RETIRE) */
        uint64_t request_timeout;       /* seconds: one HTTP request to AWS, connection included; default 60 */
        char *policies_dir;             /* default /etc/amirotd/policies.d */
        char *metrics_file;             /* Prometheus text file written after each run; NULL: none */

        policy *policies;
        size_t n_policies;
} config;

config *config_free(config *c);

/* The endpoint URL override for region, or NULL. */
const char *config_endpoint_for(const config *c, const char *region);
/* What aws_endpoint_resolve() needs from the configuration for service in region. */
aws_endpoint_options config_endpoint_options(const config *c, const char *service, const char *region);
const policy *config_find_policy(const config *c, const char *name);
