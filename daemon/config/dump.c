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

/* Each put_*() writes key (the text before the value: a newline, indentation, "name: ") first. */
static void put_str(FILE *f, const char *key, const char *s) {
        fputs(key, f);
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

static void put_secret(FILE *f, const char *key, const char *s) {
        fputs(key, f);
        fputs(s ? "\"(set)\"" : "~", f);
}

static void put_duration(FILE *f, const char *key, uint64_t seconds) {
        char buf[DURATION_MAX];

        fputs(key, f);
        fputs(format_duration(seconds, buf), f);
}

/* retire: only when given (without it, retention deregisters at once). */
static void put_retire(FILE *f, const policy *p) {
        static const char *const keys[_RETIRE_STAGE_MAX] = {
                [RETIRE_DEPRECATE] = "deprecate_after",
                [RETIRE_DISABLE] = "disable_after",
                [RETIRE_DEREGISTER] = "deregister_after",
        };

        if (p->retire_stages == 0)
                return;
        fputs("    retire:", f);
        for (int s = 0; s < _RETIRE_STAGE_MAX; s++)
                if (p->retire_stages & (1u << s)) {
                        fprintf(f, "\n      %s: ", keys[s]);
                        put_duration(f, "", p->retire_after[s]);
                }
        fputs("\n", f);
}

/* ssm_parameter: only when given; each target as a mapping, its region "~" when it is
 * written in each of the policy's regions. */
static void put_ssm_parameters(FILE *f, const policy *p) {
        if (p->n_ssm_parameters == 0)
                return;
        fputs("    ssm_parameter:", f);
        for (size_t i = 0; i < p->n_ssm_parameters; i++) {
                const ssm_parameter_target *t = &p->ssm_parameters[i];

                put_str(f, "\n      - name: ", t->name);
                put_str(f, "\n        region: ", t->region);
                put_str(f, "\n        role_arn: ", t->role_arn);
                put_str(f, "\n        external_id: ", t->external_id);
        }
        fputs("\n", f);
}

static void put_selectors(FILE *f, const tag_selector *t, size_t n) {
        fputs("{", f);
        for (size_t i = 0; i < n; i++) {
                put_str(f, i > 0 ? ", " : "", t[i].key);
                put_str(f, ": ", t[i].value ? t[i].value : "*");
        }
        fputs("}", f);
}

static void put_tags(FILE *f, const ec2_tags *t) {
        fputs("{", f);
        for (size_t i = 0; i < t->n; i++) {
                put_str(f, i > 0 ? ", " : "", t->items[i].key);
                put_str(f, ": ", t->items[i].value);
        }
        fputs("}", f);
}


/* count and max_age always, as before; the other rules of retain only when given. */
static void put_retain(FILE *f, const policy *p) {
        if (p->retain_count > 0)
                fprintf(f, "\n    retain:\n      count: %u", p->retain_count);
        else
                fputs("\n    retain:\n      count: ~", f);
        if (p->retain_max_age > 0)
                put_duration(f, "\n      max_age: ", p->retain_max_age);
        else
                fputs("\n      max_age: ~", f);
        for (retain_tier t = 0; t < _RETAIN_TIER_MAX; t++)
                if (p->retain_tiers[t] > 0)
                        fprintf(f, "\n      %s: %u", retain_tier_to_string(t), p->retain_tiers[t]);
        if (p->retain_min_count > 0)
                fprintf(f, "\n      min_count: %u", p->retain_min_count);
        if (p->departed_keep == 0 && p->departed_max_age == 0)
                return;
        fputs("\n      departed:", f);
        if (p->departed_keep > 0)
                fprintf(f, "\n        keep: %u", p->departed_keep);
        if (p->departed_max_age > 0)
                put_duration(f, "\n        max_age: ", p->departed_max_age);
}
/* image.volumes, only when it is not the default (all): the golden dumps stay as they were. */
/* copy_to: only when given; a destination's retain only when it has its own. */
static void put_copy_to(FILE *f, const policy *p) {
        for (size_t i = 0; i < p->n_copy_to; i++) {
                const copy_destination *d = &p->copy_to[i];

                if (i == 0)
                        fputs("    copy_to:\n", f);
                put_str(f, "      - region: ", d->region);
                put_str(f, "\n        role_arn: ", d->role_arn);
                put_str(f, "\n        external_id: ", d->external_id);
                fprintf(f, "\n        encrypted: %s", d->encrypted ? "true" : "false");
                put_str(f, "\n        kms_key_id: ", d->kms_key_id);
                if (d->retain_set) {
                        fputs("\n        retain:", f);
                        if (d->retain.count > 0)
                                fprintf(f, "\n          count: %u", d->retain.count);
                        if (d->retain.max_age > 0)
                                put_duration(f, "\n          max_age: ", d->retain.max_age);
                        for (retain_tier t = 0; t < _RETAIN_TIER_MAX; t++)
                                if (d->retain.tiers[t] > 0)
                                        fprintf(f, "\n          %s: %u", retain_tier_to_string(t), d->retain.tiers[t]);
                        if (d->retain.min_count > 0)
                                fprintf(f, "\n          min_count: %u", d->retain.min_count);
                }
                if (d->deprecate_after > 0)
                        put_duration(f, "\n        deprecate_after: ", d->deprecate_after);
                fputs("\n", f);
        }
}

static void put_volumes(FILE *f, const policy *p) {
        if (p->volumes == POLICY_VOLUMES_ROOT)
                fputs("\n      volumes: root", f);
        if (p->volumes != POLICY_VOLUMES_EXCLUDE)
                return;
        fputs("\n      volumes:\n        exclude_devices: [", f);
        for (char **d = p->exclude_devices; d && *d; d++)
                put_str(f, d == p->exclude_devices ? "" : ", ", *d);
        fputs("]\n        exclude_tags: ", f);
        put_selectors(f, p->exclude_volume_tags, p->n_exclude_volume_tags);
}

static void put_hook(FILE *f, const char *key, const policy_hook *h) {
        if (h->where == POLICY_HOOK_NONE)
                return;
        fprintf(f, "\n      %s:", key);
        if (h->where == POLICY_HOOK_SSM) {
                put_str(f, "\n        ssm: ", h->command);
                put_str(f, "\n        document: ", h->document);
        } else
                put_str(f, "\n        local: ", h->command);
        put_duration(f, "\n        timeout: ", h->timeout);
}

/* The hooks around CreateImage, only when one is given: the golden dumps stay as they were. */
static void put_hooks(FILE *f, const policy *p) {
        if (!p->freeze && p->hook_before.where == POLICY_HOOK_NONE && p->hook_after.where == POLICY_HOOK_NONE)
                return;
        put_hook(f, "before", &p->hook_before);
        fprintf(f, "\n      freeze: %s", p->freeze ? "true" : "false");
        if (p->freeze)
                put_duration(f, "\n      freeze_timeout: ", p->freeze_timeout);
        put_hook(f, "after", &p->hook_after);
        fprintf(f, "\n      on_hook_failure: %s", policy_hook_failure_to_string(p->on_hook_failure));
}

static void dump_protect(FILE *f, const policy *p) {
        fprintf(f, "    protect:\n      in_use: %s", p->protect_in_use ? "true" : "false");
        if (p->protect_last_launched_within > 0)
                put_duration(f, "\n      last_launched_within: ", p->protect_last_launched_within);
        else
                fputs("\n      last_launched_within: ~", f);
        if (p->protect_newest > 0)
                fprintf(f, "\n      newest: %u", p->protect_newest);
        else
                fputs("\n      newest: ~", f);
        fprintf(f, "\n      cooldown: %s\n", p->protect_newest_cooldown ? "true" : "false");
}

/* launch_template: only when given, each template with every key, defaults included. */
static void put_templates(FILE *f, const policy *p) {
        if (p->n_launch_templates > 0)
                fputs("    launch_template:\n", f);
        for (size_t i = 0; i < p->n_launch_templates; i++) {
                const launch_template_target *t = &p->launch_templates[i];

                if (t->id)
                        put_str(f, "      - id: ", t->id);
                else
                        put_str(f, "      - name: ", t->name);
                put_str(f, "\n        region: ", t->region);
                put_str(f, "\n        role_arn: ", t->role_arn);
                put_str(f, "\n        external_id: ", t->external_id);
                fprintf(f, "\n        source: %s\n        set_default: %s\n        keep_versions: %u\n",
                        t->from_latest ? "latest" : "default", t->set_default ? "true" : "false", t->keep_versions);
        }
}

static void put_list(FILE *f, const char *key, char *const *l) {
        fputs(key, f);
        fputs("[", f);
        for (char *const *v = l; v && *v; v++)
                put_str(f, v == l ? "" : ", ", *v);
        fputs("]", f);
}

/* Nothing when not given (the distributor leaves shares alone); else every list, empty
 * ones too ({} shares with nobody). */
static void put_share(FILE *f, const policy *p) {
        if (!p->share_set)
                return;
        put_list(f, "    share:\n      accounts: ", p->share_accounts);
        put_list(f, "\n      organizations: ", p->share_organizations);
        put_list(f, "\n      organizational_units: ", p->share_organizational_units);
        fprintf(f, "\n      snapshots: %s\n", p->share_snapshots ? "true" : "false");
}

/* Nothing when not given (`amirotd adopt` refuses the policy); else every key. */
static void put_adopt(FILE *f, const policy *p) {
        if (!p->adopt.set)
                return;
        fputs("    adopt:\n      tags: ", f);
        put_selectors(f, p->adopt.tags, p->adopt.n_tags);
        put_str(f, "\n      name: ", p->adopt.name);
        put_str(f, "\n      instance_id: ", p->adopt.instance_id);
        fputs("\n", f);
}

/* Nothing when not given; else every key, defaults included. subnet_id and security_group_ids
 * as written: one subnet (and one list), or a mapping by region. */
static void put_verify(FILE *f, const policy *p) {
        const policy_verify *v = &p->verify;
        bool per_region = v->n_networks > 0 && v->networks[0].region;

        if (!v->set)
                return;
        put_str(f, "    verify:\n      instance_type: ", v->instance_type);
        if (!per_region) {
                put_str(f, "\n      subnet_id: ", v->n_networks ? v->networks[0].subnet_id : NULL);
                if (v->n_networks && v->networks[0].security_group_ids)
                        put_list(f, "\n      security_group_ids: ", v->networks[0].security_group_ids);
                else
                        fputs("\n      security_group_ids: ~", f);
        } else {
                fputs("\n      subnet_id:", f);
                for (size_t i = 0; i < v->n_networks; i++) {
                        put_str(f, "\n        ", v->networks[i].region);
                        put_str(f, ": ", v->networks[i].subnet_id);
                }
                fputs("\n      security_group_ids:", f);
                for (size_t i = 0; i < v->n_networks; i++) {
                        put_str(f, "\n        ", v->networks[i].region);
                        if (v->networks[i].security_group_ids)
                                put_list(f, ": ", v->networks[i].security_group_ids);
                        else
                                fputs(": ~", f);
                }
        }
        put_str(f, "\n      iam_instance_profile: ", v->iam_instance_profile);
        put_duration(f, "\n      timeout: ", v->timeout);
        put_str(f, "\n      console_match: ", v->console_match);
        fprintf(f, "\n      max_concurrent: %u\n", v->max_concurrent);
}

static void dump_policy(FILE *f, const policy *p) {
        const schedule *s = &p->schedule;
        bool first = true;

        put_str(f, "  - name: ", p->name);
        fprintf(f, "\n    # %s:%u:%u\n", p->pos.file ? p->pos.file : "-", p->pos.line, p->pos.column);
        if (p->disabled)
                fputs("    enabled: false\n", f);
        fputs("    regions: [", f);
        for (char **r = p->regions; r && *r; r++)
                put_str(f, r == p->regions ? "" : ", ", *r);
        put_str(f, "]\n    role_arn: ", p->role_arn);
        put_str(f, "\n    external_id: ", p->external_id);

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
                put_duration(f, "      every: ", s->every);
                fprintf(f, "\n      at: \"%02u:%02u\"\n", s->at / 3600, s->at % 3600 / 60);
        } else {
                put_str(f, "      cron: ", s->cron_expr);
                fputs("\n", f);
        }
        put_str(f, "      timezone: ", s->timezone ? s->timezone : "UTC");

        put_str(f, "\n    image:\n      name: ", p->name_template);
        put_str(f, "\n      description: ", p->description_template);
        fprintf(f, "\n      reboot: %s\n      copy_instance_tags: %s\n      tags: ",
                p->reboot ? "true" : "false", p->copy_instance_tags ? "true" : "false");
        put_tags(f, &p->image_tags);
        put_duration(f, "\n      wait_timeout: ", p->wait_timeout);
        put_volumes(f, p);
        if (p->deprecate_after > 0)
                put_duration(f, "\n      deprecate_after: ", p->deprecate_after);
        put_hooks(f, p);
        put_retain(f, p);
        fprintf(f, "\n      max_retire_per_run: %u%%\n", p->max_retire_per_run);
        dump_protect(f, p);
        put_retire(f, p);
        put_templates(f, p);
        put_ssm_parameters(f, p);
        put_copy_to(f, p);
        put_share(f, p);
        put_adopt(f, p);
        put_verify(f, p);
}

int config_dump(FILE *f, const config *c) {
        const char *any = NULL;

        put_str(f, "region: ", c->default_region);
        put_str(f, "\nprofile: ", c->profile);
        if (c->access_key_id || c->secret_access_key || c->session_token) {
                put_secret(f, "\ncredentials:\n  access_key_id: ", c->access_key_id);
                put_secret(f, "\n  secret_access_key: ", c->secret_access_key);
                put_secret(f, "\n  session_token: ", c->session_token);
        } else
                fputs("\ncredentials: ~", f);

        for (size_t i = 0; i < c->n_endpoints; i++)
                if (!c->endpoints[i].region)
                        any = c->endpoints[i].url;
        put_str(f, "\nendpoint_url: ", any);
        fputs("\nendpoints:", f);
        if (c->n_endpoints == 0 || (c->n_endpoints == 1 && any))
                fputs(" {}", f);
        for (size_t i = 0; i < c->n_endpoints; i++)
                if (c->endpoints[i].region) {
                        put_str(f, "\n  ", c->endpoints[i].region);
                        put_str(f, ": ", c->endpoints[i].url);
                }
        put_str(f, "\nsts_endpoint_url: ", c->sts_endpoint_url);

        fputs("\npacing:\n", f);
        for (int i = 0; config_pacing_key(i); i++)
                fprintf(f, "  %s: {capacity: %g, refill: %g}\n", config_pacing_key(i),
                        c->pacing[i].capacity, c->pacing[i].refill_per_sec);
        fprintf(f, "max_in_flight: %u\nlog_level: %s\ndry_run: %s",
                c->max_in_flight, config_log_level_to_string(c->log_level) ?: "info",
                c->dry_run ? "true" : "false");
        put_str(f, "\npolicies_dir: ", c->policies_dir);
        put_str(f, "\nmetrics_file: ", c->metrics_file);
        put_str(f, "\ncredentials_file: ", c->credentials_file);
        put_duration(f, "\npoll_initial: ", c->poll_initial);
        put_duration(f, "\npoll_max: ", c->poll_max);
        put_duration(f, "\nspread: ", c->spread);
        fprintf(f, "\nmax_retire_per_run: %u%%", c->max_retire_per_run);
        put_duration(f, "\nrequest_timeout: ", c->request_timeout);
        fputs(c->n_policies ? "\npolicies:\n" : "\npolicies: []\n", f);
        for (size_t i = 0; i < c->n_policies; i++)
                dump_policy(f, &c->policies[i]);

        return ferror(f) ? -EIO : 0;
}
