/* SPDX-License-Identifier: MIT */
/*
 * `amirotd status`: what the service did, per policy and region, for a person.
 * With `metrics_file` configured it reads that file back (metrics.h: the same
 * numbers Prometheus sees); without one, or before the service has written
 * it, it reads the service's last "run done"/"run failed" line of each policy
 * and region from the journal. Nothing here talks to AWS.
 */
#include <stdio.h>
#include <systemd/sd-journal.h>

#include "base/log.h"
#include "commands.h"
#include "config/config.h"
#include "metrics.h"
#include "status.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(config *, config_free);

/* The value of name{policy=p,region=r[,state=s]}; false if absent. */
static bool sample_of(const metrics_samples *m, const char *name, const char *p, const char *r, const char *state,
                      double *ret) {
        for (size_t i = 0; i < m->n; i++) {
                const metrics_sample *s = &m->items[i];

                if (streq(s->name, name) && streq_ptr(metrics_sample_label(s, "policy"), p) &&
                    streq_ptr(metrics_sample_label(s, "region"), r) &&
                    (!state || streq_ptr(metrics_sample_label(s, "state"), state))) {
                        *ret = s->value;
                        return true;
                }
        }
        return false;
}

static const char *time_or(double t, char buf[static ISO8601_MAX], const char *none) {
        return t > 0 ? format_iso8601((time_t) t, buf) : none;
}

/* disabled: enabled: false, shown in the NEXT SLOT column (no slot is scheduled). */
static void print_unit_from_metrics(const metrics_samples *m, const char *p, const char *r, bool disabled) {
        char started[ISO8601_MAX], next[ISO8601_MAX], took[DURATION_MAX];
        double start = 0, duration = 0, ok = 0, slot = 0, v;
        bool ran = sample_of(m, "amirotd_last_run_start_timestamp_seconds", p, r, NULL, &start);
        const char *sep = "";

        (void) sample_of(m, "amirotd_last_run_duration_seconds", p, r, NULL, &duration);
        (void) sample_of(m, "amirotd_last_run_success", p, r, NULL, &ok);
        (void) sample_of(m, "amirotd_next_slot_timestamp_seconds", p, r, NULL, &slot);
        printf("%-20s %-15s %-21s %-7s %-7s %-21s ", p, r, time_or(ran ? start : 0, started, "never"),
               ran ? (duration < 1 ? "<1s" : format_duration((uint64_t) duration, took)) : "-",
               ran ? (ok > 0 ? "ok" : "failed") : "-", disabled ? "disabled" : time_or(slot, next, "-"));
        for (int s = 0; s < _EC2_IMAGE_STATE_MAX; s++)
                if (sample_of(m, "amirotd_images", p, r, ec2_image_state_to_string(s), &v) && v > 0) {
                        printf("%s%.0f %s", sep, v, ec2_image_state_to_string(s));
                        sep = ", ";
                }
        printf("%s\n", *sep ? "" : "-");
}

/* "AWS calls since the service started: N requests, N retries, N throttled; errors: N CODE (Action), ..." */
static void print_aws_from_metrics(const metrics_samples *m) {
        double requests = 0, retries = 0, throttles = 0;
        const char *sep = "; errors: ";

        for (size_t i = 0; i < m->n; i++) {
                const metrics_sample *s = &m->items[i];

                if (streq(s->name, "amirotd_aws_requests_total"))
                        requests += s->value;
                else if (streq(s->name, "amirotd_aws_retries_total"))
                        retries += s->value;
                else if (streq(s->name, "amirotd_aws_throttles_total"))
                        throttles += s->value;
        }
        printf("\nAWS calls since the service started: %.0f request%s, %.0f retr%s, %.0f throttled",
               requests, requests == 1 ? "" : "s", retries, retries == 1 ? "y" : "ies", throttles);
        for (size_t i = 0; i < m->n; i++) {
                const metrics_sample *s = &m->items[i];

                if (!streq(s->name, "amirotd_aws_errors_total") || s->value <= 0)
                        continue;
                printf("%s%.0f %s (%s)", sep, s->value, metrics_sample_label(s, "code") ?: "?",
                       metrics_sample_label(s, "action") ?: "?");
                sep = ", ";
        }
        printf("\n");
}

static void print_header(void) {
        printf("%-20s %-15s %-21s %-7s %-7s %-21s %s\n", "POLICY", "REGION", "LAST RUN", "TOOK", "RESULT",
               "NEXT SLOT", "IMAGES");
}

static int status_from_metrics(const config *c, const cli_options *o, const metrics_samples *m) {
        char written[ISO8601_MAX];
        double w = 0;

        for (size_t i = 0; i < m->n; i++)
                if (streq(m->items[i].name, "amirotd_metrics_written_timestamp_seconds"))
                        w = m->items[i].value;
        printf("From %s, written %s.\n\n", c->metrics_file, time_or(w, written, "at an unknown time"));
        print_header();
        for (size_t i = 0; i < c->n_policies; i++)
                for (char **r = c->policies[i].regions; r && *r; r++)
                        if (!o->policy || streq(o->policy, c->policies[i].name))
                                print_unit_from_metrics(m, c->policies[i].name, *r, c->policies[i].disabled);
        print_aws_from_metrics(m);
        return EXIT_OK;
}

/* The last "run done"/"run failed" line of (p, r) in the journal, or "no run in the journal". */
static void print_unit_from_journal(sd_journal *j, const policy *p, const char *r, time_t now) {
        _cleanup_(freep) char *mp = NULL, *mr = NULL;
        char next[ISO8601_MAX], when[ISO8601_MAX];
        const char *message = NULL;
        time_t slot = 0;
        uint64_t t = 0;

        if (!p->disabled)
                (void) schedule_next_slot_after(&p->schedule, now, &slot);
        sd_journal_flush_matches(j);
        if (asprintf(&mp, "AMIROTD_POLICY=%s", p->name) < 0 || asprintf(&mr, "AMIROTD_REGION=%s", r) < 0)
                return;
        if (sd_journal_add_match(j, "SYSLOG_IDENTIFIER=amirotd", 0) < 0 || sd_journal_add_match(j, mp, 0) < 0 ||
            sd_journal_add_match(j, mr, 0) < 0 || sd_journal_seek_tail(j) < 0)
                return;
        while (!message && sd_journal_previous(j) > 0) {
                const void *data;
                size_t len;

                if (sd_journal_get_data(j, "MESSAGE", &data, &len) < 0)
                        continue;
                if (memmem(data, len, ": run done", 10) || memmem(data, len, ": run failed", 12)) {
                        message = (const char *) data + strlen("MESSAGE=");
                        (void) sd_journal_get_realtime_usec(j, &t);
                        printf("%-20s %-15s %-21s %-21s %.*s\n", p->name, r, format_iso8601(t / USEC_PER_SEC, when),
                               p->disabled ? "disabled" : time_or(slot, next, "-"), (int) (len - strlen("MESSAGE=")),
                               message);
                }
        }
        if (!message)
                printf("%-20s %-15s %-21s %-21s %s\n", p->name, r, "never",
                       p->disabled ? "disabled" : time_or(slot, next, "-"), "no run in the journal");
}

static int status_from_journal(const config *c, const cli_options *o) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        time_t now = o->now ?: time(NULL);
        int r;

        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0) {
                log_error("cannot open the journal: %s", strerror(-r));
                return EXIT_PARTIAL;
        }
        printf("From the journal: the last run of each policy and region.\n\n");
        printf("%-20s %-15s %-21s %-21s %s\n", "POLICY", "REGION", "LAST RUN", "NEXT SLOT", "RESULT");
        for (size_t i = 0; i < c->n_policies; i++)
                for (char **region = c->policies[i].regions; region && *region; region++)
                        if (!o->policy || streq(o->policy, c->policies[i].name))
                                print_unit_from_journal(j, &c->policies[i], *region, now);
        return EXIT_OK;
}

int cmd_status(const cli_options *o) {
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        _cleanup_(metrics_samples_done) metrics_samples m = {};
        _cleanup_(config_freep) config *c = NULL;
        int r;

        /* As the service loads it: a broken policy file is reported and left out. */
        r = config_load_keep_valid(o->config_path, o->policies_dir, &c, &d);
        config_diagnostics_print(&d, stderr);
        if (r < 0) {
                log_error("configuration invalid: %zu error%s", d.n_errors, d.n_errors == 1 ? "" : "s");
                return EXIT_CONFIG;
        }
        if (o->policy && !config_find_policy(c, o->policy)) {
                log_error("no policy named '%s'", o->policy);
                return EXIT_USAGE;
        }
        if (!c->metrics_file)
                return status_from_journal(c, o);
        r = metrics_read(c->metrics_file, &m);
        if (r == -ENOENT) {
                log_notice("no metrics yet: '%s' does not exist (the service writes it after each run); "
                           "reading the journal", c->metrics_file);
                return status_from_journal(c, o);
        }
        if (r < 0) {
                log_error("cannot read the metrics file '%s': %s", c->metrics_file,
                          r == -EBADMSG ? "not a metrics file written by amirotd" : strerror(-r));
                return EXIT_PARTIAL;
        }
        return status_from_metrics(c, o, &m);
}
