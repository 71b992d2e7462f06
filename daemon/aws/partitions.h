/* SPDX-License-Identifier: MIT */
/*
 * AWS partitions: which DNS suffix serves a region, whether the partition
 * offers FIPS and dual-stack endpoints, and under which suffix. The table
 * follows botocore's data/partitions.json (the "outputs" of each partition)
 * and adds the partitions that the 1.29 copy on Debian 12 does not know yet.
 */
#pragma once

#include <stdbool.h>

typedef struct aws_partition {
        const char *id;                 /* "aws", "aws-cn", ... as in ARNs */
        const char *dns_suffix;         /* "amazonaws.com" */
        const char *dualstack_dns_suffix;       /* NULL: the partition has no dual-stack endpoints */
        bool supports_fips;
        const char *const *prefixes;    /* the regions' leading words: "us", "eu"... */
} aws_partition;

/* The partition whose region names `region` has the shape of (see aws_region_is_valid()); NULL if none. */
const aws_partition *aws_partition_for_region(const char *region);

/* The partition named id ("aws-us-gov"); NULL if none. */
const aws_partition *aws_partition_by_id(const char *id);

/* Every partition, NULL-terminated, in the order they are tried. */
extern const aws_partition *const aws_partitions[];
