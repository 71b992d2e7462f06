/* SPDX-License-Identifier: MIT */
/*
 * check: load every file, print each diagnostic with file:line:col, and with no error a
 * summary of each policy (or, with --dump, the normalised configuration). Nothing is
 * read from AWS.
 */
#include <stdio.h>

#include "aws/endpoint.h"
#include "commands-common.h"
#include "config/config.h"
#include "base/log.h"

/* ---- check ----------------------------------------------------------------------------- */

/* zone NULL: UTC. */
static void print_time_in(time_t t, const tz_zone *zone) {
        char buf[64];
        struct tm tm;

        if (schedule_local_time(zone, t, &tm) >= 0 && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm) > 0)
                fputs(buf, stdout);
}

static void print_selectors(const char *prefix, const tag_selector *t, size_t n) {
        for (size_t i = 0; i < n; i++)
                printf("%s%s=%s", i == 0 ? prefix : ", ", t[i].key, t[i].value ?: "*");
}

/* Per region, the URL each call goes to and why (issue 18): an operator's "why is it calling that?". */
static void print_endpoints(const config *c, const policy *p) {
        for (char **r = p->regions; r && *r; r++)
                for (int i = 0; i < (p->role_arn ? 2 : 1); i++) {
                        aws_endpoint_options eo = config_endpoint_options(c, i ? "sts" : "ec2", *r);
                        _cleanup_(freep) char *url = NULL, *why = NULL;
                        int k = aws_endpoint_resolve(&eo, i ? "sts" : "ec2", *r, &url, &why);

                        printf("  endpoint: %s %s %s (%s)\n", *r, i ? "sts" : "ec2", k < 0 ? "none" : url, why ?: strerror(-k));
                }
        /* SSM where ssm_parameter writes: each region of a target, else each of the policy's. */
        for (size_t i = 0; i < p->n_ssm_parameters; i++)
                for (char **r = p->regions; r && *r; r++) {
                        const char *region = p->ssm_parameters[i].region ?: *r;
                        aws_endpoint_options eo = config_endpoint_options(c, "ssm", region);
                        _cleanup_(freep) char *url = NULL, *why = NULL;
                        int k = aws_endpoint_resolve(&eo, "ssm", region, &url, &why);

                        printf("  endpoint: %s ssm %s (%s) for '%s'\n", region, k < 0 ? "none" : url,
                               why ?: strerror(-k), p->ssm_parameters[i].name);
                        if (p->ssm_parameters[i].region)
                                break;
                }
}

static void print_credentials(const config *c, const policy *p) {
        creds_options co = { .access_key_id = c->access_key_id, .profile = c->profile };
        _cleanup_(freep) char *what = NULL;
        creds_source s;

        if (creds_describe_source(&co, &s, &what) >= 0)
                printf("  credentials: %s%s (%s)%s%s\n", creds_source_to_string(s), creds_source_supported(s) ? "" :
                       " [not supported]", what, p->role_arn ? ", then AssumeRole " : "", p->role_arn ?: "");
}

/* retain in a line: count and max_age as they always read, then the other rules. */
static void print_retain(const policy *p) {
        char buf[DURATION_MAX];
        const char *sep = "";

        printf("  retain:   ");
        if (p->retain_count > 0) {
                printf("newest %u available per instance", p->retain_count);
                if (p->retain_max_age > 0)
                        printf(", none older than %s", format_duration(p->retain_max_age, buf));
                sep = ", ";
        } else if (p->retain_max_age > 0) {
                printf("every available image younger than %s", format_duration(p->retain_max_age, buf));
                sep = ", ";
        }
        for (retain_tier t = 0; t < _RETAIN_TIER_MAX; t++)
                if (p->retain_tiers[t] > 0) {
                        printf("%s%s %u", sep, retain_tier_to_string(t), p->retain_tiers[t]);
                        sep = ", ";
                }
        if (p->retain_min_count > 0)
                printf(", at least %u", p->retain_min_count);
        fputs(p->retain_max_age > 0 ? " (the newest always stays)\n" : "\n", stdout);
        if (p->departed_keep > 0 || p->departed_max_age > 0) {
                printf("  departed: ");
                if (p->departed_keep > 0)
                        printf("newest %u per instance the policy no longer selects%s", p->departed_keep,
                               p->departed_max_age > 0 ? "; " : "");
                if (p->departed_max_age > 0)
                        printf("all once the newest is older than %s", format_duration(p->departed_max_age, buf));
                printf("\n");
        }
}

/* What happens to an image retention lets go: deregistered at once, or the stages of `retire`. */
static void print_retire(const policy *p) {
        static const char *const verbs[_RETIRE_STAGE_MAX] = {
                [RETIRE_DEPRECATE] = "deprecated", [RETIRE_DISABLE] = "disabled", [RETIRE_DEREGISTER] = "deregistered",
        };
        char buf[DURATION_MAX];
        bool first = true;

        if (p->retire_stages == 0)
                return;
        printf("  retire:   ");
        for (int s = 0; s < _RETIRE_STAGE_MAX; s++)
                if (p->retire_stages & (1u << s)) {
                        printf("%s%s after %s", first ? "" : ", ", verbs[s], format_duration(p->retire_after[s], buf));
                        first = false;
                }
        printf("%s\n", p->retire_stages & (1u << RETIRE_DEREGISTER) ? "" : ", then kept");
}

static void print_share(const policy *p) {
        size_t n = strv_length(p->share_accounts), o = strv_length(p->share_organizations),
                u = strv_length(p->share_organizational_units);

        if (!p->share_set)
                return;
        if (n + o + u == 0) {
                printf("  share:    with nobody (every share of the policy's images is removed)\n");
                return;
        }
        printf("  share:    with %zu %s, %zu %s, %zu %s%s\n", n, n == 1 ? "account" : "accounts",
               o, o == 1 ? "organization" : "organizations", u, u == 1 ? "OU" : "OUs",
               p->share_snapshots && n > 0 ? "; snapshots with the accounts" : "");
}

static void print_hook(const char *what, const policy_hook *h) {
        char buf[DURATION_MAX];

        printf("%s %s (%s, %s)", what, h->where == POLICY_HOOK_SSM ? "on the instance by SSM" : "on this host",
               h->where == POLICY_HOOK_SSM ? (h->document ?: "the platform's document") : "/bin/sh -c",
               format_duration(h->timeout, buf));
}

/* The hooks around CreateImage in the order they run; nothing when there are none. */
static void print_hooks(const policy *p) {
        bool before = p->hook_before.where != POLICY_HOOK_NONE;
        char buf[DURATION_MAX];

        if (!p->freeze && !before && p->hook_after.where == POLICY_HOOK_NONE)
                return;
        printf("  hooks:    ");
        if (before) {
                print_hook("before", &p->hook_before);
                printf(", then ");
        }
        if (p->freeze)
                printf("freeze (thaws itself after %s), then ", format_duration(p->freeze_timeout, buf));
        printf("CreateImage%s", p->freeze ? ", then thaw" : "");
        if (p->hook_after.where != POLICY_HOOK_NONE) {
                printf(", then ");
                print_hook("after", &p->hook_after);
        }
        if (p->freeze || before)
                printf("; when %s fails: %s", p->freeze && before ? "before or the freeze" : p->freeze ? "the freeze" :
                       "before", policy_hook_failure_to_string(p->on_hook_failure));
        printf("\n");
}

static void print_summary(const policy *p, time_t now) {
        char buf[DURATION_MAX];
        time_t next;

        printf("%s (%s:%u)%s\n", p->name, p->pos.file, p->pos.line,
               p->disabled ? ": disabled (enabled: false), never run" : "");
        print_selectors("  targets:  instances tagged ", p->tags, p->n_tags);
        print_selectors(", except those tagged ", p->exclude_tags, p->n_exclude_tags);
        printf("; states");
        for (int s = 0, first = 1; s < _EC2_INSTANCE_STATE_MAX; s++)
                if (p->states & (1u << s)) {
                        printf("%s%s", first ? " " : ", ", ec2_instance_state_to_string(s));
                        first = 0;
                }
        printf("\n  regions: ");
        for (char **r = p->regions; r && *r; r++)
                printf(" %s", *r);
        if (p->role_arn)
                printf(" as %s", p->role_arn);
        printf("\n  schedule: ");
        if (p->schedule.kind == SCHEDULE_CRON)
                printf("cron '%s'", p->schedule.cron_expr);
        else
                printf("every %s at %02u:%02u", format_duration(p->schedule.every, buf),
                       p->schedule.at / 3600, p->schedule.at / 60 % 60);
        printf(" %s\n", p->schedule.timezone ?: "UTC");
        if (!p->disabled && schedule_next_slot_after(&p->schedule, now, &next) >= 0) {
                printf("  next slot: ");
                print_time_in(next, p->schedule.zone);
                if (p->schedule.zone) {
                        printf(" (");
                        print_time_in(next, NULL);
                        printf(")");
                }
                printf("\n");
        }
        printf("  image:    '%s'%s%s%s", p->name_template, p->reboot ? ", with reboot" : ", no reboot",
               p->copy_instance_tags ? ", instance tags copied" : "",
               p->volumes == POLICY_VOLUMES_ROOT ? ", root volume only" :
               p->volumes == POLICY_VOLUMES_EXCLUDE ? ", without volumes" : "");
        for (char **d = p->exclude_devices; p->volumes == POLICY_VOLUMES_EXCLUDE && d && *d; d++)
                printf(" %s", *d);
        if (p->volumes == POLICY_VOLUMES_EXCLUDE)
                print_selectors(p->exclude_devices ? ", and tagged " : " tagged ", p->exclude_volume_tags,
                                p->n_exclude_volume_tags);
        if (p->deprecate_after > 0)
                printf(", deprecated at %s of age", format_duration(p->deprecate_after, buf));
        printf("\n");
        print_hooks(p);
        print_retain(p);
        print_retire(p);
        printf("  protect:  %s", p->protect_in_use ? "images that instances or launch templates use" :
               "no check of instances and launch templates (in_use: false)");
        if (p->protect_last_launched_within > 0)
                printf(", images launched from within %s", format_duration(p->protect_last_launched_within, buf));
        if (p->protect_newest > 0)
                printf(", deregistration protection of the newest %u%s", p->protect_newest,
                       p->protect_newest_cooldown ? " (with cooldown)" : "");
        printf("\n");
        print_share(p);
}

/* verify in a line: what boots each new image, where, and what it must show by when. */
static void print_verify(const policy *p) {
        const policy_verify *v = &p->verify;
        char buf[DURATION_MAX];

        if (!v->set)
                return;
        printf("  verify:   each new image boots a test instance (%s) in", v->instance_type);
        for (size_t i = 0; i < v->n_networks; i++) {
                const verify_network *w = &v->networks[i];

                printf("%s%s%s %s", i > 0 ? "," : "", w->region ? " " : "", w->region ?: "", w->subnet_id);
                for (char **g = w->security_group_ids; g && *g; g++)
                        printf("%s%s", g == w->security_group_ids ? " (" : " ", *g);
                printf("%s", w->security_group_ids ? ")" : "");
        }
        if (v->iam_instance_profile)
                printf(" with profile %s", v->iam_instance_profile);
        printf("; passes when both status checks are ok%s%s%s within %s; at most %u at once per region\n",
               v->console_match ? " and the console matches '" : "", v->console_match ?: "",
               v->console_match ? "'" : "", format_duration(v->timeout, buf), v->max_concurrent);
}

/* copy_to: one line, each destination with what differs from a plain copy. */
static void print_copy_to(const policy *p) {
        char buf[DURATION_MAX], account[13];

        for (size_t i = 0; i < p->n_copy_to; i++) {
                const copy_destination *d = &p->copy_to[i];

                printf("%s%s", i == 0 ? "  copy_to:  " : "; ", d->region);
                if (d->role_arn && aws_role_arn_account(d->role_arn, account))
                        printf(" in account %s", account);
                if (d->encrypted)
                        printf(", encrypted%s%s%s", d->kms_key_id ? " (" : "", d->kms_key_id ?: "",
                               d->kms_key_id ? ")" : "");
                if (d->retain_set)
                        printf(", its own retain");
                if (d->deprecate_after > 0)
                        printf(", deprecated at %s of age", format_duration(d->deprecate_after, buf));
        }
        if (p->n_copy_to > 0)
                printf("\n");
}

int cmd_check(const cli_options *o) {
        _cleanup_(config_freep) config *c = NULL;
        time_t now = cli_now(o);
        int r;

        r = load_config(o, &c);
        if (r != 0)
                return r;
        if (o->dump)
                return config_dump(stdout, c) < 0 ? EXIT_PARTIAL : EXIT_OK;

        for (size_t i = 0; i < c->n_policies; i++)
                if (selected(o, &c->policies[i])) {
                        print_summary(&c->policies[i], now);
                        print_copy_to(&c->policies[i]);
                        print_verify(&c->policies[i]);
                        print_endpoints(c, &c->policies[i]);
                        print_credentials(c, &c->policies[i]);
                }
        printf("%zu %s valid\n", c->n_policies, c->n_policies == 1 ? "policy" : "policies");
        return EXIT_OK;
}
