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
 *   amirotd_aws_requests_total{service,action}              counter (attempts)
 *   amirotd_aws_retries_total{service,action}               counter
 *   amirotd_aws_throttles_total{service,action}             counter
 *   amirotd_aws_errors_total{service,action,code}           counter
 *   amirotd_metrics_written_timestamp_seconds               gauge
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "aws/ec2-types.h"
#include "aws/stats.h"
#include "base/util.h"

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
