/* SPDX-License-Identifier: MIT */
/*
 * The EC2 values the daemon reasons about: tags, instances, images, snapshots,
 * their states with string tables both ways, growable lists of each, and the
 * limits EC2 documents for them. Plain data: this header includes libc and
 * base/util.h only, so that the planner and the configuration use EC2's types
 * without the client, libxml2 or sd-event (make check-plan-pure proves it).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/util.h"

/* ---- Limits ---------------------------------------------------------------------------- */

/* CreateImage, Name: "Constraints: 3-128 alphanumeric characters, parentheses (()), square
 * brackets ([]), spaces ( ), periods (.), slashes (/), dashes (-), single quotes ('),
 * at-signs (@), or underscores(_)". */
#define EC2_IMAGE_NAME_MIN 3
#define EC2_IMAGE_NAME_MAX 128

static inline bool ec2_image_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                (c != '\0' && strchr("()[] ./-'@_", c));
}

/* CreateImage, Description: "Constraints: Up to 255 characters". */
#define EC2_IMAGE_DESCRIPTION_MAX 255

/* Tag your Amazon EC2 resources, Tag restrictions: "Maximum number of tags per resource – 50". */
#define EC2_TAGS_PER_RESOURCE_MAX 50

/* Tag restrictions: "Maximum key length – 128 Unicode characters in UTF-8", "Maximum value
 * length – 256 Unicode characters in UTF-8". */
#define EC2_TAG_KEY_MAX 128
#define EC2_TAG_VALUE_MAX 256

/* ---- Values ---------------------------------------------------------------------------- */

/*
 * One block holding the strings and arrays of one image or snapshot read from EC2, so
 * that each costs one allocation rather than twenty: at 70 000 images the headers and
 * rounding of a million small mallocs were a third of the daemon's peak. A pointer of the
 * resource that lies in its pool is freed with the pool; one outside it (a field a caller
 * replaced) is freed on its own, so a pooled resource is still plain data.
 */
typedef struct ec2_pool {
        char *data;
        size_t size;
} ec2_pool;

/* A state EC2 sent that this build does not know (or none) is parsed as _..._INVALID,
 * not as an error: callers leave such resources alone. */

typedef struct ec2_tag {
        char *key;
        char *value;
} ec2_tag;

/* 16 bytes, not 24: one stands in every image, snapshot and instance of a run. A
 * resource's tags number EC2_TAGS_PER_RESOURCE_MAX at most, and an answer 16 MiB. */
typedef struct ec2_tags {
        ec2_tag *items;
        uint32_t n;
        bool pooled;                    /* items and strings are in their resource's pool (below) */
} ec2_tags;

/* Of pooled tags, _done() frees nothing (the pool's owner does), and _add() first copies
 * them out of the pool: tags read from EC2 can be changed like any others. */
void ec2_tags_done(ec2_tags *t);
int ec2_tags_add(ec2_tags *t, const char *key, const char *value);      /* replaces an existing key */
const char *ec2_tags_get(const ec2_tags *t, const char *key);           /* NULL when absent */
int ec2_tags_copy(const ec2_tags *src, ec2_tags *dst);
/* Drops every tag whose key does not start with prefix, unless none does: then t is left
 * whole, so that "tagged, but not by us" still reads differently from "not tagged".
 * For tags not pooled yet (the parsers call it before compaction). */
void ec2_tags_keep_prefix(ec2_tags *t, const char *prefix);

typedef enum ec2_instance_state {
        EC2_INSTANCE_PENDING,
        EC2_INSTANCE_RUNNING,
        EC2_INSTANCE_SHUTTING_DOWN,
        EC2_INSTANCE_TERMINATED,
        EC2_INSTANCE_STOPPING,
        EC2_INSTANCE_STOPPED,
        _EC2_INSTANCE_STATE_MAX,
        _EC2_INSTANCE_STATE_INVALID = -EINVAL,
} ec2_instance_state;

const char *ec2_instance_state_to_string(ec2_instance_state s);
ec2_instance_state ec2_instance_state_from_string(const char *s);

/* An EBS volume of an instance's block-device mappings (DescribeInstances'
 * blockDeviceMapping: deviceName and ebs/volumeId). */
typedef struct ec2_instance_volume {
        char *device_name;              /* "/dev/sdf" */
        char *volume_id;
} ec2_instance_volume;

typedef struct ec2_instance {
        char *id;
        ec2_instance_state state;
        char *image_id;
        char *name;                     /* the Name tag, or NULL */
        ec2_tags tags;
        char **volume_ids;              /* EBS volumes of its block-device mappings; NULL-terminated or NULL */
        char *root_device_name;         /* rootDeviceName ("/dev/xvda"), or NULL */
        char *platform;                 /* platform: "windows", or NULL for Linux/UNIX */
        ec2_instance_volume *volumes;   /* the same mappings with their device names, in EC2's order */
        size_t n_volumes;
        time_t launch_time;             /* launchTime; 0 if EC2 gave none */
        char *state_reason;             /* stateReason/message ("Client.UserInitiatedShutdown: ..."), or NULL */
} ec2_instance;

/* DescribeInstanceStatus' systemStatus and instanceStatus summaries ("ok | impaired |
 * insufficient-data | not-applicable | initializing"). */
typedef enum ec2_status_summary {
        EC2_STATUS_OK,
        EC2_STATUS_IMPAIRED,
        EC2_STATUS_INSUFFICIENT_DATA,
        EC2_STATUS_NOT_APPLICABLE,
        EC2_STATUS_INITIALIZING,
        _EC2_STATUS_SUMMARY_MAX,
        _EC2_STATUS_SUMMARY_INVALID = -EINVAL,
} ec2_status_summary;

const char *ec2_status_summary_to_string(ec2_status_summary s);
ec2_status_summary ec2_status_summary_from_string(const char *s);

/* One item of DescribeInstanceStatus (IncludeAllInstances=true: pending and stopped ones too). */
typedef struct ec2_instance_status {
        char *instance_id;
        ec2_instance_state state;       /* instanceState/name */
        ec2_status_summary system_status;       /* systemStatus/status: AWS's side of the host */
        ec2_status_summary instance_status;     /* instanceStatus/status: the reachability check */
} ec2_instance_status;

typedef struct ec2_instance_status_list { ec2_instance_status *items; size_t n, cap; } ec2_instance_status_list;
void ec2_instance_status_list_done(ec2_instance_status_list *l);

typedef enum ec2_image_state {
        EC2_IMAGE_PENDING,
        EC2_IMAGE_AVAILABLE,
        EC2_IMAGE_INVALID,
        EC2_IMAGE_DEREGISTERED,
        EC2_IMAGE_TRANSIENT,
        EC2_IMAGE_FAILED,
        EC2_IMAGE_ERROR,
        EC2_IMAGE_DISABLED,
        _EC2_IMAGE_STATE_MAX,
        _EC2_IMAGE_STATE_INVALID = -EINVAL,
} ec2_image_state;

const char *ec2_image_state_to_string(ec2_image_state s);
ec2_image_state ec2_image_state_from_string(const char *s);

/* DescribeImages' deregistrationProtection: "enabled-without-cooldown",
 * "enabled-with-cooldown", "disabled", and during the 24 h cooldown after protection
 * with cooldown was turned off "disabled-until" and the time it ends (EC2 user guide,
 * "Protect an Amazon EC2 AMI from deregistration"). Absent (an older endpoint): disabled. */
typedef enum ec2_dereg_protection {
        EC2_DEREG_PROTECTION_DISABLED,
        EC2_DEREG_PROTECTION_ENABLED,           /* without cooldown */
        EC2_DEREG_PROTECTION_ENABLED_COOLDOWN,  /* with cooldown */
        EC2_DEREG_PROTECTION_COOLDOWN,          /* off, but DeregisterImage refused until it ends */
        _EC2_DEREG_PROTECTION_MAX,
        _EC2_DEREG_PROTECTION_INVALID = -EINVAL,
} ec2_dereg_protection;

const char *ec2_dereg_protection_to_string(ec2_dereg_protection p);
/* Any "disabled-until..." reads as EC2_DEREG_PROTECTION_COOLDOWN, whatever its time. */
ec2_dereg_protection ec2_dereg_protection_from_string(const char *s);

static inline bool ec2_dereg_protection_on(ec2_dereg_protection p) {
        /* A value this build does not know reads as on: no image is deregistered on a guess. */
        return p != EC2_DEREG_PROTECTION_DISABLED && p != EC2_DEREG_PROTECTION_COOLDOWN;
}

typedef struct ec2_block_device {
        char *device_name;              /* "/dev/xvda" */
        char *snapshot_id;              /* NULL for instance-store or no-device mappings */
} ec2_block_device;

/*
 * An image or snapshot holds only what the planner and the commands read: EC2's
 * description, owner and volume id are not kept, and its tags are
 * only the amirotd:* ones (all of them when it has none: see ec2_tags_keep_prefix()).
 * At 70 000 images each dropped byte is 70 kB of the daemon's peak.
 */
typedef struct ec2_image {
        char *id;
        char *name;
        char *state_reason;             /* "Client.InternalError: ..." for failed images, or NULL */
        /* sourceInstanceId: "The ID of the instance that the AMI was created from if the AMI
         * was created using CreateImage". Kept only on an image without amirotd:* tags, the
         * only kind `amirotd adopt` reads it of (amirotd's own name theirs in a tag); NULL
         * otherwise, so that managed images do not pay for it. */
        char *source_instance_id;
        time_t creation_date;           /* 0 if EC2 gave none */
        ec2_tags tags;
        ec2_block_device *devices;
        /* n_devices, state and dereg_protection share one word, and deprecation_minute fills
         * the next: neither the protection nor the deprecation time costs an image a byte. */
        uint32_t n_devices : 16;        /* at most EC2_IMAGE_DEVICES_MAX */
        ec2_image_state state : 8;
        ec2_dereg_protection dereg_protection : 8;
        uint32_t deprecation_minute;    /* deprecationTime in minutes since the epoch (EC2 keeps
                                         * it to the minute); 0: none. ec2_image_deprecation_time() */
        ec2_pool pool;                  /* see ec2_image_compact() */
} ec2_image;

/* What n_devices holds; EC2's own limit on an image's block-device mappings is far lower. */
#define EC2_IMAGE_DEVICES_MAX ((1u << 16) - 1)

/* EnableImageDeprecation: "If you specify a value for seconds, Amazon EC2 rounds the
 * seconds to the nearest minute": a deprecation time is a whole minute. */
static inline time_t ec2_image_deprecation_time(const ec2_image *i) {
        return (time_t) i->deprecation_minute * 60;
}
/* t rounded down to its minute; 0 (none) for a time before 1970 or past year 10 000. */
static inline uint32_t ec2_deprecation_minute(time_t t) {
        return t > 0 && t / 60 <= UINT32_MAX ? (uint32_t) (t / 60) : 0;
}

typedef enum ec2_snapshot_state {
        EC2_SNAPSHOT_PENDING,
        EC2_SNAPSHOT_COMPLETED,
        EC2_SNAPSHOT_ERROR,
        EC2_SNAPSHOT_RECOVERABLE,
        EC2_SNAPSHOT_RECOVERING,
        _EC2_SNAPSHOT_STATE_MAX,
        _EC2_SNAPSHOT_STATE_INVALID = -EINVAL,
} ec2_snapshot_state;

const char *ec2_snapshot_state_to_string(ec2_snapshot_state s);
ec2_snapshot_state ec2_snapshot_state_from_string(const char *s);

typedef struct ec2_snapshot {
        char *id;
        ec2_snapshot_state state;
        time_t start_time;
        ec2_tags tags;
        ec2_pool pool;                  /* see ec2_snapshot_compact() */
} ec2_snapshot;

/* An EBS volume as DescribeVolumes lists it: only what image.volumes reads. */
typedef struct ec2_volume {
        char *id;
        ec2_tags tags;
} ec2_volume;

/* Growable arrays of the above; _done() frees every element and the array. */
typedef struct ec2_instance_list { ec2_instance *items; size_t n, cap; } ec2_instance_list;
typedef struct ec2_volume_list { ec2_volume *items; size_t n, cap; } ec2_volume_list;
typedef struct ec2_image_list { ec2_image *items; size_t n, cap; } ec2_image_list;
typedef struct ec2_snapshot_list { ec2_snapshot *items; size_t n, cap; } ec2_snapshot_list;

void ec2_instance_done(ec2_instance *i);
void ec2_image_done(ec2_image *i);
void ec2_snapshot_done(ec2_snapshot *s);
void ec2_volume_done(ec2_volume *v);
/* Moves every string and array of the resource into one new pool (the parsers call it
 * on each item they read). On -ENOMEM the resource is left as it was. */
int ec2_image_compact(ec2_image *i);
int ec2_snapshot_compact(ec2_snapshot *s);
void ec2_instance_list_done(ec2_instance_list *l);
void ec2_image_list_done(ec2_image_list *l);
void ec2_snapshot_list_done(ec2_snapshot_list *l);
void ec2_volume_list_done(ec2_volume_list *l);
