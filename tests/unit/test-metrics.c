/* SPDX-License-Identifier: MIT */
/* aws/stats.c's counters and metrics.c's file: written atomically, read back the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "aws/stats.h"
#include "metrics.h"
#include "run/dist.h"

static void test_stats_rows(void **state) {
        _cleanup_(aws_stats_freep) aws_stats *s = NULL;
        const aws_stats_row *rows;

        (void) state;
        assert_int_equal(aws_stats_new(&s), 0);
        aws_stats_record(s, "ec2", "DescribeImages", "RequestLimitExceeded", 503, true);
        aws_stats_record(s, "ec2", "DescribeImages", NULL, 200, false);
        aws_stats_record(s, "ec2", "CreateImage", NULL, 0, true);
        aws_stats_record(s, "ec2", "CreateImage", NULL, 502, false);
        aws_stats_record(s, "ec2", "CreateImage", "InvalidAMIName.Duplicate", 400, false);
        assert_int_equal(aws_stats_rows(s, &rows), 6);
        /* by action, the action's own row first, then its codes in order */
        assert_string_equal(rows[0].action, "CreateImage");
        assert_null(rows[0].error_code);
        assert_int_equal(rows[0].attempts, 3);
        assert_int_equal(rows[0].retries, 1);
        assert_int_equal(rows[0].throttles, 0);
        assert_string_equal(rows[1].error_code, "InvalidAMIName.Duplicate");
        assert_string_equal(rows[2].error_code, "http_502");
        assert_string_equal(rows[3].error_code, "transport");
        assert_int_equal(rows[3].errors, 1);
        assert_string_equal(rows[4].action, "DescribeImages");
        assert_int_equal(rows[4].attempts, 2);
        assert_int_equal(rows[4].throttles, 1);
        assert_string_equal(rows[5].error_code, "RequestLimitExceeded");
        aws_stats_record(NULL, "ec2", "X", NULL, 200, false);     /* no stats: nothing */
}

static void test_write_and_read_back(void **state) {
        _cleanup_(aws_stats_freep) aws_stats *s = NULL;
        _cleanup_(metrics_samples_done) metrics_samples m = {};
        char dir[] = "/tmp/test-metrics.XXXXXX", path[64], leftover[64];
        metrics_unit u[2] = {
                { .policy = "web", .region = "us-east-1", .next_slot = 1800000000, .has_run = true,
                  .last_start = 1799990000, .last_duration = 2500000, .last_ok = true, .images_known = true,
                  .images = { [EC2_IMAGE_AVAILABLE] = 7, [EC2_IMAGE_PENDING] = 1 } },
                { .policy = "odd\"name\\\n", .region = "eu-west-1" },
        };
        struct stat st;
        mode_t old = umask(077);

        (void) state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/amirotd.prom", dir);
        assert_int_equal(aws_stats_new(&s), 0);
        aws_stats_record(s, "ec2", "CreateImage", "UnauthorizedOperation", 403, false);
        assert_int_equal(metrics_write(path, u, 2, s, 1799990005), 0);
        umask(old);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);

        assert_int_equal(metrics_read(path, &m), 0);
        assert_string_equal(m.items[1].name, "amirotd_images");
        assert_string_equal(metrics_sample_label(&m.items[1], "state"), "available");
        assert_true(m.items[1].value == 7);
        for (size_t i = 0; i < m.n; i++) {
                const char *p = metrics_sample_label(&m.items[i], "policy");

                if (streq(m.items[i].name, "amirotd_last_run_duration_seconds"))
                        assert_true(m.items[i].value == 2.5);
                if (streq(m.items[i].name, "amirotd_next_slot_timestamp_seconds") && streq(p, "web"))
                        assert_true(m.items[i].value == 1800000000);
                if (streq(m.items[i].name, "amirotd_aws_errors_total"))
                        assert_string_equal(metrics_sample_label(&m.items[i], "code"), "UnauthorizedOperation");
                /* the unit that never ran has only its (unknown) next slot, none, and its
                 * distribution counters, at 0 */
                if (p && streq(p, "odd\"name\\\n")) {
                        assert_non_null(strstr(m.items[i].name, "_total"));
                        assert_true(m.items[i].value == 0);
                }
        }
        assert_int_equal(unlink(path), 0);
        snprintf(leftover, sizeof(leftover), "%s", dir);
        assert_int_equal(rmdir(leftover), 0);           /* no temporary file left behind */

        /* A directory that does not exist: the error, and nothing written. */
        assert_int_equal(metrics_write("/nonexistent-dir/amirotd.prom", u, 1, s, 0), -ENOENT);
}

static void test_escaped_labels_read_back(void **state) {
        _cleanup_(metrics_samples_done) metrics_samples m = {};
        char path[] = "/tmp/test-metrics-escape.XXXXXX";
        metrics_unit u = { .policy = "a\"b\\c\nd", .region = "us-east-1", .next_slot = 5 };
        FILE *f;
        int fd;

        (void) state;
        fd = mkstemp(path);
        assert_true(fd >= 0);
        f = fdopen(fd, "w");
        assert_int_equal(metrics_format(f, &u, 1, NULL, 9), 0);
        fclose(f);
        assert_int_equal(metrics_read(path, &m), 0);
        assert_int_equal(m.n, 2 + _METRICS_DIST_MAX);         /* next slot, distribution, written */
        assert_string_equal(metrics_sample_label(&m.items[0], "policy"), "a\"b\\c\nd");
        assert_true(m.items[0].value == 5);
        unlink(path);
}

/* Distribution's counters: one per dist_result field, summed over runs, per policy and region. */
static void test_distribution_counters(void **state) {
        _cleanup_(metrics_samples_done) metrics_samples m = {};
        char path[] = "/tmp/test-metrics-dist.XXXXXX";
        dist_result run1 = { .shares_added = 3, .copies_started = 2, .template_versions = 1, .ssm_published = 1 };
        dist_result run2 = { .shares_added = 1, .shares_removed = 2, .copies_started = 1, .copies_retired = 5,
                             .template_versions = 5, .template_versions_deleted = 7, .ssm_published = 7,
                             .errors = 9 };
        metrics_unit u[2] = {
                { .policy = "web", .region = "us-east-1" },
                { .policy = "web", .region = "eu-west-1" },
        };
        static const struct { const char *name; double value; } want[] = {
                /* each total distinct, so that two fields swapped show */
                { "amirotd_shares_added_total", 4 },
                { "amirotd_shares_removed_total", 2 },
                { "amirotd_copies_started_total", 3 },
                { "amirotd_copies_retired_total", 5 },
                { "amirotd_template_versions_created_total", 6 },
                { "amirotd_template_versions_deleted_total", 7 },
                { "amirotd_ssm_parameters_published_total", 8 },
                { "amirotd_distribution_errors_total", 9 },
        };
        size_t found = 0;
        FILE *f;
        int fd;

        (void) state;
        metrics_dist_add(u[0].dist, &run1);
        metrics_dist_add(u[0].dist, &run2);
        fd = mkstemp(path);
        assert_true(fd >= 0);
        f = fdopen(fd, "w");
        assert_int_equal(metrics_format(f, u, 2, NULL, 9), 0);
        fclose(f);
        assert_int_equal(metrics_read(path, &m), 0);
        for (size_t i = 0; i < m.n; i++)
                for (size_t k = 0; k < ELEMENTSOF(want); k++) {
                        if (!streq(m.items[i].name, want[k].name))
                                continue;
                        assert_string_equal(metrics_sample_label(&m.items[i], "policy"), "web");
                        if (streq(metrics_sample_label(&m.items[i], "region"), "us-east-1"))
                                assert_true(m.items[i].value == want[k].value);
                        else
                                assert_true(m.items[i].value == 0);
                        found++;
                }
        assert_int_equal(found, 2 * ELEMENTSOF(want));
        unlink(path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stats_rows),
                cmocka_unit_test(test_write_and_read_back),
                cmocka_unit_test(test_escaped_labels_read_back),
                cmocka_unit_test(test_distribution_counters),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
