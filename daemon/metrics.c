/* SPDX-License-Identifier: MIT */
/*
 * See metrics.h. The format is Prometheus's text exposition format: "# HELP",
 * "# TYPE", then `name{label="value",...} value` lines, label values escaped
 * (backslash, double quote, newline), every sample of a name together. Times
 * are Unix seconds, as node_exporter's own *_timestamp_seconds are.
 * `promtool check metrics` accepts the output (tests/integration/test_metrics.py).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "run/dist.h"

static void put_label_value(FILE *f, const char *v) {
        fputc('"', f);
        for (; *v; v++)
                if (*v == '\\' || *v == '"')
                        fprintf(f, "\\%c", *v);
                else if (*v == '\n')
                        fputs("\\n", f);
                else
                        fputc(*v, f);
        fputc('"', f);
}

static void put_header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_unit_sample(FILE *f, const char *name, const metrics_unit *u, const char *state, double value) {
        fprintf(f, "%s{policy=", name);
        put_label_value(f, u->policy);
        fputs(",region=", f);
        put_label_value(f, u->region);
        if (state) {
                fputs(",state=", f);
                put_label_value(f, state);
        }
        fprintf(f, "} %.15g\n", value);
}

static void put_units(FILE *f, const metrics_unit *units, size_t n) {
        put_header(f, "amirotd_images", "gauge",
                   "Images of the policy in the region by state, as its last run left them.");
        for (size_t i = 0; i < n; i++)
                for (int s = 0; s < _EC2_IMAGE_STATE_MAX && units[i].images_known; s++)
                        put_unit_sample(f, "amirotd_images", &units[i], ec2_image_state_to_string(s),
                                        units[i].images[s]);

        put_header(f, "amirotd_last_run_start_timestamp_seconds", "gauge",
                   "When the last run of the policy in the region started, in Unix time.");
        for (size_t i = 0; i < n; i++)
                if (units[i].has_run)
                        put_unit_sample(f, "amirotd_last_run_start_timestamp_seconds", &units[i], NULL,
                                        (double) units[i].last_start);
        put_header(f, "amirotd_last_run_duration_seconds", "gauge",
                   "How long the last run of the policy in the region took.");
        for (size_t i = 0; i < n; i++)
                if (units[i].has_run)
                        put_unit_sample(f, "amirotd_last_run_duration_seconds", &units[i], NULL,
                                        (double) units[i].last_duration / USEC_PER_SEC);
        put_header(f, "amirotd_last_run_success", "gauge",
                   "1 if the last run of the policy in the region succeeded, else 0.");
        for (size_t i = 0; i < n; i++)
                if (units[i].has_run)
                        put_unit_sample(f, "amirotd_last_run_success", &units[i], NULL, units[i].last_ok);
        put_header(f, "amirotd_next_slot_timestamp_seconds", "gauge",
                   "When the next schedule slot of the policy in the region begins, in Unix time.");
        for (size_t i = 0; i < n; i++)
                if (units[i].next_slot > 0)
                        put_unit_sample(f, "amirotd_next_slot_timestamp_seconds", &units[i], NULL,
                                        (double) units[i].next_slot);
}

static const struct { const char *name, *help; } dist_names[_METRICS_DIST_MAX] = {
        [METRICS_SHARES_ADDED] = { "amirotd_shares_added_total",
                                   "Launch and create-volume permissions granted by the policy in the region." },
        [METRICS_SHARES_REMOVED] = { "amirotd_shares_removed_total",
                                     "Launch and create-volume permissions removed by the policy in the region." },
        [METRICS_COPIES_STARTED] = { "amirotd_copies_started_total",
                                     "Image copies (CopyImage) started from the policy's images in the region." },
        [METRICS_COPIES_RETIRED] = { "amirotd_copies_retired_total",
                                     "Copies of the policy's images in the region retired by their destination's "
                                     "retention." },
        [METRICS_TEMPLATE_VERSIONS] = { "amirotd_template_versions_created_total",
                                        "Launch template versions created for the policy's images in the region." },
        [METRICS_TEMPLATE_VERSIONS_DELETED] = { "amirotd_template_versions_deleted_total",
                                                "Launch template versions made by amirotd that the policy deleted." },
        [METRICS_SSM_PUBLISHED] = { "amirotd_ssm_parameters_published_total",
                                    "SSM parameters written with the policy's newest image in the region." },
        [METRICS_DIST_ERRORS] = { "amirotd_distribution_errors_total",
                                  "Distribution steps (share, copy, launch template, SSM parameter) of the policy "
                                  "in the region that failed." },
};

void metrics_dist_add(uint64_t counts[static _METRICS_DIST_MAX], const dist_result *r) {
        counts[METRICS_SHARES_ADDED] += r->shares_added;
        counts[METRICS_SHARES_REMOVED] += r->shares_removed;
        counts[METRICS_COPIES_STARTED] += r->copies_started;
        counts[METRICS_COPIES_RETIRED] += r->copies_retired;
        counts[METRICS_TEMPLATE_VERSIONS] += r->template_versions;
        counts[METRICS_TEMPLATE_VERSIONS_DELETED] += r->template_versions_deleted;
        counts[METRICS_SSM_PUBLISHED] += r->ssm_published;
        counts[METRICS_DIST_ERRORS] += r->errors;
}

/* Every unit's, zeros too: a counter that appears only at its first increment hides that
 * increment from rate() and increase(). */
static void put_dist(FILE *f, const metrics_unit *units, size_t n) {
        for (metrics_dist_counter k = 0; k < _METRICS_DIST_MAX; k++) {
                put_header(f, dist_names[k].name, "counter", dist_names[k].help);
                for (size_t i = 0; i < n; i++)
                        put_unit_sample(f, dist_names[k].name, &units[i], NULL, (double) units[i].dist[k]);
        }
}

typedef enum stat_kind { STAT_REQUESTS, STAT_RETRIES, STAT_THROTTLES, STAT_ERRORS, _STAT_MAX } stat_kind;

static const struct { const char *name, *help; } stat_names[_STAT_MAX] = {
        [STAT_REQUESTS] = { "amirotd_aws_requests_total", "AWS API requests sent, each retry counted." },
        [STAT_RETRIES] = { "amirotd_aws_retries_total", "AWS API requests that were followed by a retry." },
        [STAT_THROTTLES] = { "amirotd_aws_throttles_total", "AWS API answers that were throttling errors." },
        [STAT_ERRORS] = { "amirotd_aws_errors_total",
                          "AWS API requests that failed, by error code (http_NNN: an answer without one; "
                          "transport: no answer)." },
};

static void put_stats(FILE *f, const aws_stats *stats) {
        const aws_stats_row *rows;
        size_t n = aws_stats_rows(stats, &rows);

        for (stat_kind k = 0; k < _STAT_MAX; k++) {
                put_header(f, stat_names[k].name, "counter", stat_names[k].help);
                for (size_t i = 0; i < n; i++) {
                        const aws_stats_row *r = &rows[i];
                        uint64_t v = k == STAT_REQUESTS ? r->attempts : k == STAT_RETRIES ? r->retries :
                                     k == STAT_THROTTLES ? r->throttles : r->errors;

                        if ((k == STAT_ERRORS) != !!r->error_code)
                                continue;
                        fprintf(f, "%s{service=", stat_names[k].name);
                        put_label_value(f, r->service);
                        fputs(",action=", f);
                        put_label_value(f, r->action);
                        if (r->error_code) {
                                fputs(",code=", f);
                                put_label_value(f, r->error_code);
                        }
                        fprintf(f, "} %" PRIu64 "\n", v);
                }
        }
}

int metrics_format(FILE *f, const metrics_unit *units, size_t n, const aws_stats *stats, time_t now) {
        put_units(f, units, n);
        put_dist(f, units, n);
        put_stats(f, stats);
        put_header(f, "amirotd_metrics_written_timestamp_seconds", "gauge",
                   "When amirotd wrote this file, in Unix time.");
        fprintf(f, "amirotd_metrics_written_timestamp_seconds %lld\n", (long long) now);
        return ferror(f) ? -EIO : 0;
}

/* A temporary name in path's directory that the textfile collector skips (not *.prom). */
static int temp_path(const char *path, char **ret) {
        _cleanup_(freep) char *copy = strdup(path);
        const char *base = strrchr(path, '/');

        if (!copy)
                return -ENOMEM;
        if (asprintf(ret, "%s/.%s.XXXXXX", dirname(copy), base ? base + 1 : path) < 0)
                return -ENOMEM;
        return 0;
}

static int fsync_directory_of(const char *path) {
        _cleanup_(freep) char *copy = strdup(path);
        int fd, r = 0;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                r = -errno;
        close(fd);
        return r;
}

int metrics_write(const char *path, const metrics_unit *units, size_t n, const aws_stats *stats, time_t now) {
        _cleanup_(freep) char *tmp = NULL;
        FILE *f = NULL;
        int fd, r;

        r = temp_path(path, &tmp);
        if (r < 0)
                return r;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* The service's UMask=0077 would keep node_exporter out. */
        if (fchmod(fd, 0644) < 0 || !(f = fdopen(fd, "w"))) {
                r = -errno;
                close(fd);
                goto fail;
        }
        r = metrics_format(f, units, n, stats, now);
        if (r >= 0 && fflush(f) != 0)
                r = -errno;
        if (r >= 0 && fsync(fileno(f)) < 0)
                r = -errno;
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r < 0)
                goto fail;
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        (void) fsync_directory_of(path);
        return 0;

fail:
        (void) unlink(tmp);
        return r;
}

/* ---- Reading it back (`amirotd status`) ---------------------------------------------- */

void metrics_samples_done(metrics_samples *s) {
        for (size_t i = 0; i < s->n; i++) {
                free(s->items[i].name);
                strv_free(s->items[i].labels);
        }
        free(s->items);
        *s = (metrics_samples) {};
}

const char *metrics_sample_label(const metrics_sample *s, const char *key) {
        size_t k = strlen(key);

        for (char **l = s->labels; l && *l; l++)
                if (strncmp(*l, key, k) == 0 && (*l)[k] == '=')
                        return *l + k + 1;
        return NULL;
}

/* `key="value"` at *p, unescaping the value; moves *p past it. */
static int parse_label(const char **p, char **ret) {
        const char *s = *p, *eq = strchr(s, '=');
        _cleanup_(freep) char *out = NULL;
        size_t n = 0;

        if (!eq || eq[1] != '"' || eq == s)
                return -EBADMSG;
        out = malloc(strlen(s) + 1);
        if (!out)
                return -ENOMEM;
        memcpy(out, s, eq - s + 1);
        n = eq - s + 1;
        for (s = eq + 2; *s && *s != '"'; s++) {
                if (*s != '\\' || !s[1]) {
                        out[n++] = *s;
                        continue;
                }
                s++;
                out[n++] = *s == 'n' ? '\n' : *s;
        }
        if (*s != '"')
                return -EBADMSG;
        out[n] = '\0';
        *p = s + 1;
        *ret = TAKE_PTR(out);
        return 0;
}

static int parse_line(const char *line, metrics_sample *ret) {
        _cleanup_(freep) char *name = NULL;
        _cleanup_(strv_freep) char **labels = NULL;
        const char *p = line + strcspn(line, "{ ");
        char *end;
        int r;

        name = strndup(line, p - line);
        if (!name)
                return -ENOMEM;
        if (*p == '{') {
                p++;
                while (*p != '}') {
                        char *l = NULL;

                        r = parse_label(&p, &l);
                        if (r < 0)
                                return r;
                        r = strv_extend(&labels, l);
                        free(l);
                        if (r < 0)
                                return r;
                        if (*p == ',')
                                p++;
                        else if (*p != '}')
                                return -EBADMSG;
                }
                p++;
        }
        if (*p != ' ')
                return -EBADMSG;
        ret->value = strtod(p + 1, &end);
        if (end == p + 1)
                return -EBADMSG;
        ret->name = TAKE_PTR(name);
        ret->labels = TAKE_PTR(labels);
        return 0;
}

int metrics_read(const char *path, metrics_samples *ret) {
        _cleanup_(metrics_samples_done) metrics_samples s = {};
        _cleanup_(freep) char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        FILE *f;
        int r = 0;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (r >= 0 && (len = getline(&line, &cap, f)) >= 0) {
                metrics_sample *items;

                if (len > 0 && line[len - 1] == '\n')
                        line[--len] = '\0';
                if (len == 0 || line[0] == '#')
                        continue;
                items = reallocarray(s.items, s.n + 1, sizeof(metrics_sample));
                if (!items) {
                        r = -ENOMEM;
                        break;
                }
                s.items = items;
                s.items[s.n] = (metrics_sample) {};
                r = parse_line(line, &s.items[s.n]);
                if (r >= 0)
                        s.n++;
        }
        if (r >= 0 && ferror(f))
                r = -EIO;
        fclose(f);
        if (r < 0)
                return r;
        *ret = s;
        s = (metrics_samples) {};
        return 0;
}
