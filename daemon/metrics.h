/* SPDX-License-Identifier: MIT */
/*
 * The service's metrics as a Prometheus text file (the text exposition format,
 * version 0.0.4), for node_exporter's textfile collector: written after each
 * run to the global `metrics_file`, atomically (a temporary file in the same
 * directory, fsync, rename), so that the collector never reads half a file.
 * `amirotd status` reads the same file back (metrics_read()) to show it to a
 * person. The names, each with its HELP line in metrics.c:
 *
 *   amirotd_images{policy,region,state}                     gauge
 *   amirotd_last_run_start_timestamp_seconds{policy,region} gauge
 *   amirotd_last_run_duration_seconds{policy,region}        gauge
 *   amirotd_last_run_success{policy,region}                 gauge, 1 or 0
 *   amirotd_next_slot_timestamp_seconds{policy,region}      gauge
 *   amirotd_shares_added_total{policy,region}               counter (distribution, below)
 *   amirotd_shares_removed_total{policy,region}             counter
 *   amirotd_copies_started_total{policy,region}             counter
 *   amirotd_copies_retired_total{policy,region}             counter
 *   amirotd_template_versions_created_total{policy,region}  counter
 *   amirotd_template_versions_deleted_total{policy,region}  counter
 *   amirotd_ssm_parameters_published_total{policy,region}   counter
 *   amirotd_distribution_errors_total{policy,region}        counter
 *   amirotd_aws_requests_total{service,action}              counter (attempts)
 *   amirotd_aws_retries_total{service,action}               counter
 *   amirotd_aws_throttles_total{service,action}             counter
 *   amirotd_aws_errors_total{service,action,code}           counter
 *   amirotd_metrics_written_timestamp_seconds               gauge
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "aws/ec2-types.h"
#include "aws/stats.h"
#include "base/util.h"

/* Distribution's counters (run/dist.h's dist_result), summed over the unit's runs since the
 * service started: Prometheus counters, which start again at 0 with the service. */
typedef enum metrics_dist_counter {
        METRICS_SHARES_ADDED,
        METRICS_SHARES_REMOVED,
        METRICS_COPIES_STARTED,
        METRICS_COPIES_RETIRED,
        METRICS_TEMPLATE_VERSIONS,
        METRICS_TEMPLATE_VERSIONS_DELETED,
        METRICS_SSM_PUBLISHED,
        METRICS_DIST_ERRORS,
        _METRICS_DIST_MAX,
} metrics_dist_counter;

struct dist_result;

/* Adds a run's distribution counters to counts. */
void metrics_dist_add(uint64_t counts[static _METRICS_DIST_MAX], const struct dist_result *r);

typedef struct metrics_unit {
        const char *policy;
        const char *region;
        time_t next_slot;               /* 0: none scheduled */
        bool has_run;                   /* the last_* and images fields are set */
        time_t last_start;
        usec_t last_duration;
        bool last_ok;
        bool images_known;              /* the run got as far as reading the images */
        unsigned images[_EC2_IMAGE_STATE_MAX];
        uint64_t dist[_METRICS_DIST_MAX];       /* since the service started; written for every unit */
} metrics_unit;

/* The file's text. Returns 0 or -EIO. */
int metrics_format(FILE *f, const metrics_unit *units, size_t n, const aws_stats *stats, time_t now);

/* metrics_format() into path, atomically; the file is mode 0644 whatever the umask, for the
 * collector to read. 0 or -errno (nothing logged; the temporary file is removed on failure). */
int metrics_write(const char *path, const metrics_unit *units, size_t n, const aws_stats *stats, time_t now);

/* One sample read back: name, its labels as "key=value" strings, its value. */
typedef struct metrics_sample {
        char *name;
        char **labels;                  /* "policy=web", "region=us-east-1", ...; strv */
        double value;
} metrics_sample;

typedef struct metrics_samples {
        metrics_sample *items;
        size_t n;
} metrics_samples;

void metrics_samples_done(metrics_samples *s);
/* The value of label key in s, or NULL. */
const char *metrics_sample_label(const metrics_sample *s, const char *key);

/* Reads a file written by metrics_write() (comments skipped). 0, -errno of the open or
 * read, or -EBADMSG when a line is not a sample of this format. */
int metrics_read(const char *path, metrics_samples *ret);
