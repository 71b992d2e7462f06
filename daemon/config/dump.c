/* SPDX-License-Identifier: MIT */
/*
 * `amirotd check --dump`: the configuration as amirotd understood it, every
 * default filled in, in one fixed order, so that an operator sees what a
 * missing key means and the golden tests can diff it. The output is YAML that
 * amirotd itself would read back (apart from the "(set)" shown for secrets).
 */
#include <stdio.h>

#include "config/global.h"

/* Plain when YAML reads it back as the same string, else double-quoted. */
static bool plain_safe(const char *s) {
        static const char *const words[] = {
                "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE",
                "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~",
        };
        bool numeric = true;

        if (isempty(s))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (streq(s, words[i]))
                        return false;
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '/'))
                return false;
        for (const char *p = s; *p; p++) {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr("_-./", *p)))
                        return false;
                if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == '_'))
                        numeric = false;
        }
        return !numeric;
}

static void put_str(FILE *f, const char *s) {
        if (!s) {
                fputs("~", f);
                return;
        }
        if (plain_safe(s)) {
                fputs(s, f);
                return;
        }
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

static void put_secret(FILE *f, const char *s) {
        fputs(s ? "\"(set)\"" : "~", f);
}

static void put_duration(FILE *f, uint64_t seconds) {
        char buf[DURATION_MAX];

        fputs(format_duration(seconds, buf), f);
}

static void put_selectors(FILE *f, const tag_selector *t, size_t n) {
        fputs("{", f);
        for (size_t i = 0; i < n; i++) {
                fputs(i > 0 ? ", " : "", f);
                put_str(f, t[i].key);
                fputs(": ", f);
                put_str(f, t[i].value ? t[i].value : "*");
        }
        fputs("}", f);
}

static void put_tags(FILE *f, const ec2_tags *t) {
        fputs("{", f);
        for (size_t i = 0; i < t->n; i++) {
                fputs(i > 0 ? ", " : "", f);
                put_str(f, t->items[i].key);
                fputs(": ", f);
                put_str(f, t->items[i].value);
        }
        fputs("}", f);
}

static void dump_policy(FILE *f, const policy *p) {
        const schedule *s = &p->schedule;
        bool first = true;

        fputs("  - name: ", f);
        put_str(f, p->name);
        fprintf(f, "\n    # %s:%u:%u\n", p->pos.file ? p->pos.file : "-", p->pos.line, p->pos.column);
        fputs("    regions: [", f);
        for (char **r = p->regions; r && *r; r++) {
                fputs(r == p->regions ? "" : ", ", f);
                put_str(f, *r);
        }
        fputs("]\n    role_arn: ", f);
        put_str(f, p->role_arn);
        fputs("\n    external_id: ", f);
        put_str(f, p->external_id);

        fputs("\n    targets:\n      tags: ", f);
        put_selectors(f, p->tags, p->n_tags);
        fputs("\n      exclude_tags: ", f);
        put_selectors(f, p->exclude_tags, p->n_exclude_tags);
        fputs("\n      states: [", f);
        for (int st = 0; st < _EC2_INSTANCE_STATE_MAX; st++)
                if (p->states & (1u << st)) {
                        fprintf(f, "%s%s", first ? "" : ", ", ec2_instance_state_to_string(st));
                        first = false;
                }
        fputs("]\n    schedule:\n", f);
        if (s->kind == SCHEDULE_EVERY) {
                fputs("      every: ", f);
                put_duration(f, s->every);
                fprintf(f, "\n      at: \"%02u:%02u\"\n", s->at / 3600, s->at % 3600 / 60);
        } else {
                fputs("      cron: ", f);
                put_str(f, s->cron_expr);
                fputs("\n", f);
        }
        fputs("      timezone: ", f);
        put_str(f, s->timezone ? s->timezone : "UTC");

        fputs("\n    image:\n      name: ", f);
        put_str(f, p->name_template);
        fputs("\n      description: ", f);
        put_str(f, p->description_template);
        fprintf(f, "\n      reboot: %s\n      copy_instance_tags: %s\n      tags: ",
                p->reboot ? "true" : "false", p->copy_instance_tags ? "true" : "false");
        put_tags(f, &p->image_tags);
        fputs("\n      wait_timeout: ", f);
        put_duration(f, p->wait_timeout);
        fprintf(f, "\n    retain:\n      count: %u\n      max_age: ", p->retain_count);
        if (p->retain_max_age > 0)
                put_duration(f, p->retain_max_age);
        else
                fputs("~", f);
        fputs("\n", f);
}

int config_dump(FILE *f, const config *c) {
        const char *any = NULL;

        fputs("region: ", f);
        put_str(f, c->default_region);
        fputs("\nprofile: ", f);
        put_str(f, c->profile);
        if (c->access_key_id || c->secret_access_key || c->session_token) {
                fputs("\ncredentials:\n  access_key_id: ", f);
                put_secret(f, c->access_key_id);
                fputs("\n  secret_access_key: ", f);
                put_secret(f, c->secret_access_key);
                fputs("\n  session_token: ", f);
                put_secret(f, c->session_token);
        } else
                fputs("\ncredentials: ~", f);

        for (size_t i = 0; i < c->n_endpoints; i++)
                if (!c->endpoints[i].region)
                        any = c->endpoints[i].url;
        fputs("\nendpoint_url: ", f);
        put_str(f, any);
        fputs("\nendpoints:", f);
        if (c->n_endpoints == 0 || (c->n_endpoints == 1 && any))
                fputs(" {}", f);
        for (size_t i = 0; i < c->n_endpoints; i++)
                if (c->endpoints[i].region) {
                        fputs("\n  ", f);
                        put_str(f, c->endpoints[i].region);
                        fputs(": ", f);
                        put_str(f, c->endpoints[i].url);
                }
        fputs("\nsts_endpoint_url: ", f);
        put_str(f, c->sts_endpoint_url);

        fputs("\npacing:\n", f);
        for (int i = 0; i < _PACE_CATEGORY_MAX; i++)
                fprintf(f, "  %s: {capacity: %g, refill: %g}\n", config_pacing_key(i),
                        c->pacing[i].capacity, c->pacing[i].refill_per_sec);
        fprintf(f, "max_in_flight: %u\nlog_level: %s\ndry_run: %s\npolicies_dir: ",
                c->max_in_flight, config_log_level_to_string(c->log_level) ?: "info",
                c->dry_run ? "true" : "false");
        put_str(f, c->policies_dir);
        fputs("\npoll_initial: ", f);
        put_duration(f, c->poll_initial);
        fputs("\npoll_max: ", f);
        put_duration(f, c->poll_max);
        fputs("\nspread: ", f);
        put_duration(f, c->spread);
        fputs(c->n_policies ? "\npolicies:\n" : "\npolicies: []\n", f);
        for (size_t i = 0; i < c->n_policies; i++)
                dump_policy(f, &c->policies[i]);

        return ferror(f) ? -EIO : 0;
}
