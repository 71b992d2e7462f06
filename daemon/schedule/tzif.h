/* SPDX-License-Identifier: MIT */
/*
 * A time zone read from its TZif file (RFC 8536, tzfile(5)) into memory, and
 * what its clock reads at an instant, computed from that data alone. Nothing
 * here touches the environment (TZ) or libc's zone state: curl's threaded
 * resolver runs getaddrinfo() in other threads, which reads the environment,
 * so setenv("TZ") and tzset() would race with it. A zone is read once, when
 * the configuration is loaded, and shared by reference.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tz_zone tz_zone;

/* What the clock of a zone reads at an instant. abbr points into the zone: valid while it lives. */
typedef struct tz_info {
        int32_t offset;                 /* seconds east of UTC */
        bool is_dst;
        const char *abbr;               /* "CEST", "+1030" */
} tz_info;

/* Instants tz_zone_lookup() accepts: years 0..9999 and a day either side, so that nothing in the
 * rule arithmetic can overflow. */
#define TZ_TIME_MIN INT64_C(-62167305600)
#define TZ_TIME_MAX INT64_C(253402387199)

/*
 * Parses the bytes of a TZif file of version 2 or later: its 64-bit data and the POSIX TZ string of
 * its footer, which gives the rule for instants past the last transition. name is kept for display
 * (may be NULL). 0, -ENOMEM, or -EINVAL with *ret_error (may be NULL) set to a static reason
 * ("truncated data block", "footer: bad offset" ...). Pure: for tests and fuzzers too.
 */
int tz_zone_parse(const void *data, size_t size, const char *name, tz_zone **ret, const char **ret_error);

/* Reads /usr/share/zoneinfo/NAME (a relative name checked by timezone_is_valid()'s rules) and
 * parses it. 0, -EINVAL (bad name, or not a valid TZif file: *ret_error says why), -ENOENT, -ENOMEM. */
int tz_zone_load(const char *name, tz_zone **ret, const char **ret_error);

tz_zone *tz_zone_ref(tz_zone *z);
tz_zone *tz_zone_unref(tz_zone *z);
void tz_zone_unrefp(tz_zone **z);
const char *tz_zone_name(const tz_zone *z);

/* The zone's clock at instant t. 0, or -ERANGE for t outside [TZ_TIME_MIN, TZ_TIME_MAX]. */
int tz_zone_lookup(const tz_zone *z, int64_t t, tz_info *ret);
