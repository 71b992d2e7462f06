/* SPDX-License-Identifier: MIT */
/*
 * One policy mapping to a struct policy: every key of the policy format (see
 * amirotd.yaml(5) and design.md), its defaults, and the checks that EC2 would
 * otherwise only make at the first CreateImage, hours after the reload. Each
 * error is reported where it is and the walk goes on, so that one `amirotd
 * check` lists every problem. The schedule section has a file of its own,
 * policy-schedule.c.
 */

#include "aws/endpoint.h"
#include "config/policy-adopt.h"
#include "config/policy-copy.h"
#include "config/policy-hook.h"
#include "config/policy-parse.h"
#include "config/policy-retain.h"
#include "config/policy-ssm.h"
#include "config/policy-protect.h"
#include "config/policy-retire.h"
#include "config/policy-schedule.h"
#include "config/policy-template.h"
#include "config/policy-share.h"
#include "config/policy-verify.h"

#define POLICY_NAME_MAX 48
#define DEFAULT_DESCRIPTION_TEMPLATE "amirotd {policy} {instance_id} {slot}"
#define DEFAULT_WAIT_TIMEOUT (2 * 3600)
/* "Tag restrictions: Maximum number of tags per resource - 50"; amirotd adds three of its own. */
#define IMAGE_TAGS_MAX (EC2_TAGS_PER_RESOURCE_MAX - 3)
#define SELECTOR_TAGS_MAX 50
#define TAG_KEY_MAX EC2_TAG_KEY_MAX
#define TAG_VALUE_MAX EC2_TAG_VALUE_MAX

/* Distribution's fields (run/dist.h). */
static void policy_dist_done(policy *p) {
        for (size_t i = 0; i < p->n_copy_to; i++) {
                free(p->copy_to[i].region);
                free(p->copy_to[i].role_arn);
                free(p->copy_to[i].external_id);
                free(p->copy_to[i].kms_key_id);
        }
        free(p->copy_to);
        strv_free(p->share_accounts);
        strv_free(p->share_organizations);
        strv_free(p->share_organizational_units);
        for (size_t i = 0; i < p->n_launch_templates; i++) {
                free(p->launch_templates[i].id);
                free(p->launch_templates[i].name);
                free(p->launch_templates[i].region);
                free(p->launch_templates[i].role_arn);
                free(p->launch_templates[i].external_id);
        }
        free(p->launch_templates);
        for (size_t i = 0; i < p->n_ssm_parameters; i++) {
                free(p->ssm_parameters[i].name);
                free(p->ssm_parameters[i].region);
                free(p->ssm_parameters[i].role_arn);
                free(p->ssm_parameters[i].external_id);
        }
        free(p->ssm_parameters);
}

void policy_done(policy *p) {
        if (!p)
                return;
        free(p->name);
        strv_free(p->regions);
        free(p->role_arn);
        free(p->external_id);
        for (size_t i = 0; i < p->n_tags; i++) {
                free(p->tags[i].key);
                free(p->tags[i].value);
        }
        free(p->tags);
        for (size_t i = 0; i < p->n_exclude_tags; i++) {
                free(p->exclude_tags[i].key);
                free(p->exclude_tags[i].value);
        }
        free(p->exclude_tags);
        schedule_done(&p->schedule);
        free(p->name_template);
        free(p->description_template);
        /* ec2_tags owned here: freed field by field, as ec2_tags_done() would */
        for (size_t i = 0; i < p->image_tags.n; i++) {
                free(p->image_tags.items[i].key);
                free(p->image_tags.items[i].value);
        }
        free(p->image_tags.items);
        strv_free(p->exclude_devices);
        for (size_t i = 0; i < p->n_exclude_volume_tags; i++) {
                free(p->exclude_volume_tags[i].key);
                free(p->exclude_volume_tags[i].value);
        }
        free(p->exclude_volume_tags);
        free(p->hook_before.command);
        free(p->hook_before.document);
        free(p->hook_after.command);
        free(p->hook_after.document);
        for (size_t i = 0; i < p->adopt.n_tags; i++) {
                free(p->adopt.tags[i].key);
                free(p->adopt.tags[i].value);
        }
        free(p->adopt.tags);
        free(p->adopt.name);
        free(p->adopt.instance_id);
        for (size_t i = 0; i < p->verify.n_networks; i++) {
                free(p->verify.networks[i].region);
                free(p->verify.networks[i].subnet_id);
                strv_free(p->verify.networks[i].security_group_ids);
        }
        free(p->verify.networks);
        free(p->verify.instance_type);
        free(p->verify.iam_instance_profile);
        free(p->verify.console_match);
        policy_dist_done(p);
        *p = (policy) {};
}

static config_pos pos_of(loader *l, const cnode *n) {
        return (config_pos) { .file = l->file, .line = n->line, .column = n->column };
}

static bool policy_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > POLICY_NAME_MAX)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-'))
                        return false;
        return true;
}

static int parse_regions(loader *l, policy *p, const cnode *n) {
        if (!cvalue_expect(l, n, CNODE_SEQUENCE, "regions"))
                return -EINVAL;
        if (n->n_items == 0) {
                loader_error(l, n, "'regions' must not be empty (leave it out for the global region)");
                return -EINVAL;
        }
        for (size_t i = 0; i < n->n_items; i++) {
                _cleanup_(freep) char *r = NULL;

                if (cvalue_string(l, n->items[i], "regions", &r) < 0)
                        continue;
                if (!aws_region_is_valid(r)) {
                        loader_error(l, n->items[i], "'%s' is not an AWS region name", r);
                        continue;
                }
                if (strv_contains(p->regions, r)) {
                        loader_warning(l, n->items[i], "region '%s' is listed twice, ignoring", r);
                        continue;
                }
                if (strv_push(&p->regions, TAKE_PTR(r)) < 0)
                        return (l->oom = -ENOMEM);
        }
        return 0;
}

/* An image tag's value may hold the name's placeholders ({instance_tag:KEY} among them); an
 * error is reported at the value. */
static int check_tag_template(loader *l, const cnode *v, const char *value) {
        _cleanup_(freep) char *msg = NULL;
        int r;

        r = config_check_template(value, CONFIG_TEMPLATE_TAG, 0, 0, &msg);
        if (r == -ENOMEM)
                return (l->oom = r);
        if (r < 0)
                loader_error(l, v, "%s", msg ?: "invalid tag value");
        return r;
}

/* {KEY: VALUE} with "*" for any value (selector) or plain values (image tags, templates). */
static int parse_tag_map(loader *l, const cnode *n, const char *what, bool selector,
                         tag_selector **ret, size_t *ret_n, ec2_tags *ret_tags) {
        _cleanup_(freep) centry *e = NULL;
        size_t n_e = 0, max = selector ? SELECTOR_TAGS_MAX : IMAGE_TAGS_MAX;
        int r;

        r = cvalue_mapping(l, n, what, &e, &n_e);
        if (r < 0)
                return r;
        if (n_e > max) {
                loader_error(l, n, "'%s' has %zu tags, at most %zu are allowed", what, n_e, max);
                return -EINVAL;
        }
        for (size_t i = 0; i < n_e; i++) {
                const cnode *k = e[i].key, *v = e[i].value;
                _cleanup_(freep) char *key = NULL, *value = NULL;

                if (cvalue_string(l, k, what, &key) < 0)
                        continue;
                /* AWS's Tag shapes: "Length Constraints: Minimum length of 1". No instance carries an
                 * empty key, so a selector with one would select nothing, silently. */
                if (isempty(key)) {
                        loader_error(l, k, "empty tag key in '%s'", what);
                        continue;
                }
                if (utf8_length(key) > TAG_KEY_MAX) {
                        loader_error(l, k, "tag key '%.32s...' is longer than %d characters", key, TAG_KEY_MAX);
                        continue;
                }
                if (!selector && (strncasecmp(key, "aws:", 4) == 0 || strncasecmp(key, "amirotd:", 8) == 0)) {
                        loader_error(l, k, "tag key '%s' is reserved (aws: for AWS, amirotd: for amirotd's own tags)", key);
                        continue;
                }
                if (selector && cnode_is_null(v)) {
                        loader_error(l, v, "tag '%s' needs a value; write \"*\" to match any value", key);
                        continue;
                }
                if (!selector && cnode_is_null(v))
                        value = strdup("");
                else if (cvalue_string(l, v, key, &value) < 0)
                        continue;
                if (!value)
                        return (l->oom = -ENOMEM);
                /* an image tag's template is checked as rendered, below */
                if ((selector || !strchr(value, '{')) && utf8_length(value) > TAG_VALUE_MAX) {
                        loader_error(l, v, "value of tag '%s' is longer than %d characters", key, TAG_VALUE_MAX);
                        continue;
                }
                if (!selector && check_tag_template(l, v, value) < 0)
                        continue;
                if (selector) {
                        tag_selector *t = reallocarray(*ret, *ret_n + 1, sizeof(tag_selector));

                        if (!t)
                                return (l->oom = -ENOMEM);
                        *ret = t;
                        t[(*ret_n)++] = (tag_selector) {
                                .key = TAKE_PTR(key),
                                .value = streq(value, "*") ? NULL : TAKE_PTR(value),
                                .pos = pos_of(l, k),
                        };
                } else {
                        ec2_tag *t = reallocarray(ret_tags->items, ret_tags->n + 1, sizeof(ec2_tag));

                        if (!t)
                                return (l->oom = -ENOMEM);
                        ret_tags->items = t;
                        t[ret_tags->n++] = (ec2_tag) { .key = TAKE_PTR(key), .value = TAKE_PTR(value) };
                }
        }
        return 0;
}

static const char *const state_names[] = {
        "pending", "running", "shutting-down", "terminated", "stopping", "stopped", NULL
};

static int parse_states(loader *l, policy *p, const cnode *n) {
        if (!cvalue_expect(l, n, CNODE_SEQUENCE, "states"))
                return -EINVAL;
        if (n->n_items == 0) {
                loader_error(l, n, "'states' must not be empty");
                return -EINVAL;
        }
        p->states = 0;
        for (size_t i = 0; i < n->n_items; i++) {
                const cnode *s = n->items[i];
                ec2_instance_state st;

                if (!cvalue_expect(l, s, CNODE_SCALAR, "states"))
                        continue;
                st = ec2_instance_state_from_string(s->value);
                if (st < 0) {
                        cvalue_unknown(l, s, "instance state", "'states'", state_names);
                        continue;
                }
                /* "CreateImage: Creates an AMI from an instance that is either running or stopped." */
                if (st == EC2_INSTANCE_TERMINATED || st == EC2_INSTANCE_SHUTTING_DOWN) {
                        loader_error(l, s, "instances in state '%s' cannot be imaged", s->value);
                        continue;
                }
                p->states |= 1u << st;
        }
        return 0;
}

static const char *const targets_keys[] = { "tags", "exclude_tags", "states", NULL };

static int parse_targets(loader *l, policy *p, const cnode *n) {
        _cleanup_(freep) centry *e = NULL;
        bool have_tags = false;
        size_t n_e = 0;
        int r;

        r = cvalue_mapping(l, n, "targets", &e, &n_e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_e; i++) {
                const char *k = e[i].key->value;

                if (streq(k, "tags")) {
                        have_tags = true;
                        if (parse_tag_map(l, e[i].value, "tags", true, &p->tags, &p->n_tags, NULL) >= 0 &&
                            p->n_tags == 0 && e[i].value->n_items == 0)
                                loader_error(l, e[i].value, "'targets.tags' is empty: a policy must select its instances by tag");
                } else if (streq(k, "exclude_tags")) {
                        if (!cnode_is_null(e[i].value))
                                (void) parse_tag_map(l, e[i].value, "exclude_tags", true,
                                                     &p->exclude_tags, &p->n_exclude_tags, NULL);
                } else if (streq(k, "states"))
                        (void) parse_states(l, p, e[i].value);
                else if (streq_ptr(cvalue_unknown(l, e[i].key, "key", "'targets'", targets_keys), "tags"))
                        have_tags = true;       /* one error for the typo, not a second for the missing key */
        }
        if (!have_tags)
                loader_error(l, n, "'targets' needs 'tags': a policy must select its instances by tag");
        return 0;
}

static const char *const image_keys[] = {
        "name", "description", "reboot", "copy_instance_tags", "tags", "wait_timeout", "volumes", "deprecate_after",
        "before", "after", "freeze", "freeze_timeout", "on_hook_failure", NULL
};

static int parse_image(loader *l, policy *p, const cnode *n, const cnode **ret_name, const cnode **ret_desc) {
        _cleanup_(freep) centry *e = NULL;
        size_t n_e = 0;
        uint64_t v;
        int r;

        r = cvalue_mapping(l, n, "image", &e, &n_e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_e; i++) {
                const char *k = e[i].key->value;
                const cnode *val = e[i].value;

                if (streq(k, "name")) {
                        if (cvalue_string(l, val, "name", &p->name_template) >= 0)
                                *ret_name = val;
                } else if (streq(k, "description")) {
                        if (cvalue_string(l, val, "description", &p->description_template) >= 0)
                                *ret_desc = val;
                } else if (streq(k, "reboot"))
                        (void) cvalue_bool(l, val, "reboot", &p->reboot);
                else if (streq(k, "copy_instance_tags"))
                        (void) cvalue_bool(l, val, "copy_instance_tags", &p->copy_instance_tags);
                else if (streq(k, "tags")) {
                        if (!cnode_is_null(val))
                                (void) parse_tag_map(l, val, "tags", false, NULL, NULL, &p->image_tags);
                } else if (streq(k, "wait_timeout")) {
                        if (cvalue_duration(l, val, "wait_timeout", 60, 7 * 86400, &v) >= 0)
                                p->wait_timeout = v;
                } else if (streq(k, "volumes")) {
                        if (config_image_volumes_parse(l, p, val, &val) >= 0 && val)
                                (void) parse_tag_map(l, val, "exclude_tags", true, &p->exclude_volume_tags,
                                                     &p->n_exclude_volume_tags, NULL);
                } else if (streq(k, "deprecate_after"))
                        (void) config_image_deprecate_parse(l, p, val);
                else if (config_hook_key(k))
                        config_hook_parse(l, p, k, val);
                else
                        cvalue_unknown(l, e[i].key, "key", "'image'", image_keys);
        }
        config_hook_check(l, p, e, n_e);
        return l->oom;
}

static void check_template(loader *l, const policy *p, const cnode *n, const char *t, config_template_kind kind) {
        _cleanup_(freep) char *msg = NULL;
        size_t policy_len = p->name ? strlen(p->name) : POLICY_NAME_MAX, region_len = 0;
        int r;

        for (char **i = p->regions; i && *i; i++)
                if (strlen(*i) > region_len)
                        region_len = strlen(*i);
        r = config_check_template(t, kind, policy_len, region_len, &msg);
        if (r == -ENOMEM)
                l->oom = r;
        else if (r < 0)
                loader_error(l, n, "%s", msg);
}

static const char *const policy_keys[] = {
        "name", "enabled", "regions", "role_arn", "external_id", "targets", "schedule", "image", "retain",
        "protect", "retire", "share", "copy_to", "launch_template", "ssm_parameter",
        "adopt",
        "verify",
        NULL
};

/* What a policy's keys said, for the checks that span keys once all are read. */
typedef struct policy_seen {
        const cnode *name, *name_template, *description_template, *external_id, *schedule_node;
        const cnode *retain_node;
        const cnode *protect_newest;
        bool targets, schedule, retain;
} policy_seen;

static void parse_name(loader *l, policy *p, const cnode *n) {
        if (cvalue_string(l, n, "name", &p->name) < 0)
                return;
        if (!policy_name_valid(p->name)) {
                loader_error(l, n, "policy name '%s' must be 1 to %d letters, digits or dashes",
                             p->name, POLICY_NAME_MAX);
                p->name = mfree(p->name);
        } else
                p->name_pos = pos_of(l, n);
}

static void parse_identity(loader *l, policy *p, const char *k, const cnode *v, policy_seen *seen) {
        if (cnode_is_null(v))
                return;
        if (streq(k, "role_arn")) {
                (void) cvalue_role_arn(l, v, "role_arn", &p->role_arn);
                return;
        }
        seen->external_id = v;
        (void) cvalue_external_id(l, v, "external_id", &p->external_id);
}

static void parse_policy_key(loader *l, policy *p, const centry *e, policy_seen *seen) {
        const char *k = e->key->value, *suggestion;
        const cnode *v = e->value;

        if (streq(k, "name")) {
                seen->name = v;
                parse_name(l, p, v);
        } else if (streq(k, "enabled")) {
                bool enabled = true;

                if (cvalue_bool(l, v, "enabled", &enabled) >= 0)
                        p->disabled = !enabled;
        } else if (streq(k, "regions"))
                (void) parse_regions(l, p, v);
        else if (streq(k, "role_arn") || streq(k, "external_id"))
                parse_identity(l, p, k, v, seen);
        else if (streq(k, "targets")) {
                seen->targets = true;
                (void) parse_targets(l, p, v);
        } else if (streq(k, "schedule")) {
                seen->schedule = true;
                seen->schedule_node = v;
                (void) config_schedule_parse(l, &p->schedule, v);
        } else if (streq(k, "image"))
                (void) parse_image(l, p, v, &seen->name_template, &seen->description_template);
        else if (streq(k, "retain")) {
                seen->retain = true;
                seen->retain_node = v;
                (void) config_retain_parse(l, p, v);
        } else if (streq(k, "protect"))
                (void) config_protect_parse(l, p, v, &seen->protect_newest);
        else if (streq(k, "retire"))
                (void) config_retire_parse(l, p, v);
        else if (streq(k, "share"))
                (void) config_share_parse(l, p, v);
        else if (streq(k, "copy_to"))
                (void) config_copy_to_parse(l, p, v);
        else if (streq(k, "launch_template"))
                (void) config_template_parse(l, p, v);
        else if (streq(k, "ssm_parameter"))
                (void) config_ssm_parse(l, p, v);
        else if (streq(k, "adopt")) {
                if (config_adopt_parse(l, p, v, &v) >= 0 && v)
                        (void) parse_tag_map(l, v, "tags", true, &p->adopt.tags, &p->adopt.n_tags, NULL);
        }
        else if (streq(k, "verify"))
                (void) config_verify_parse(l, p, v);
        else {
                suggestion = cvalue_unknown(l, e->key, "key", "policy", policy_keys);
                /* one error for a misspelled key, not a second one for the missing key */
                if (streq_ptr(suggestion, "name"))
                        seen->name = e->key;
                else if (streq_ptr(suggestion, "targets"))
                        seen->targets = true;
                else if (streq_ptr(suggestion, "schedule"))
                        seen->schedule = true;
                else if (streq_ptr(suggestion, "retain"))
                        seen->retain = true;
        }
}

static void report_missing(loader *l, const policy *p, const cnode *map, const char *what) {
        loader_error(l, map, "policy%s%s%s needs %s", p->name ? " '" : "", p->name ? p->name : "",
                     p->name ? "'" : "", what);
}

static void check_required(loader *l, const policy *p, const cnode *map, const policy_seen *seen) {
        if (!seen->name)
                loader_error(l, map, "policy without 'name'");
        if (!seen->targets)
                report_missing(l, p, map, "'targets' with 'tags'");
        if (!seen->schedule)
                report_missing(l, p, map, "'schedule'");
        if (!seen->retain)
                report_missing(l, p, map, "'retain'");
        if (seen->external_id && !p->role_arn)
                loader_error(l, seen->external_id, "'external_id' goes with 'role_arn'");
}

/* The defaults of what was left out, then the templates against the final name and regions. */
static int complete(loader *l, policy *p, const cnode *map, const policy_seen *seen) {
        const config *c = l->config;

        if (!p->regions && c->default_region && strv_extend(&p->regions, c->default_region) < 0)
                return (l->oom = -ENOMEM);
        if (!p->name_template && !(p->name_template = strdup(POLICY_DEFAULT_NAME_TEMPLATE)))
                return (l->oom = -ENOMEM);
        if (!p->description_template && !(p->description_template = strdup(DEFAULT_DESCRIPTION_TEMPLATE)))
                return (l->oom = -ENOMEM);
        if (!p->max_retire_per_run_set)
                p->max_retire_per_run = c->max_retire_per_run;
        if (seen->name_template)
                check_template(l, p, seen->name_template, p->name_template, CONFIG_TEMPLATE_NAME);
        else if (p->name)
                check_template(l, p, map, p->name_template, CONFIG_TEMPLATE_NAME);
        if (seen->description_template)
                check_template(l, p, seen->description_template, p->description_template, CONFIG_TEMPLATE_DESCRIPTION);
        if (seen->schedule_node)
                config_schedule_check_spread(l, &p->schedule, seen->schedule_node, p->name);
        if (seen->schedule_node)
                config_retain_check_schedule(l, p, seen->retain_node);
        config_protect_check(l, p, seen->protect_newest);
        config_copy_to_check(l, p);
        config_template_check_regions(l, p);
        config_ssm_check(l, p);
        config_verify_check(l, p);
        return l->oom;
}

/* Kept even when invalid, so that duplicate names are found; any error drops the whole config. */
static int policy_append(loader *l, const cnode *map, policy **ret) {
        config *c = l->config;
        policy *pl;

        if (c->n_policies >= CONFIG_MAX_POLICIES) {
                loader_error(l, map, "more than %u policies, ignoring the rest", CONFIG_MAX_POLICIES);
                return -E2BIG;
        }
        pl = reallocarray(c->policies, c->n_policies + 1, sizeof(policy));
        if (!pl)
                return (l->oom = -ENOMEM);
        c->policies = pl;
        l->policy_file[c->n_policies] = l->file_index;
        *ret = &c->policies[c->n_policies++];
        **ret = (policy) {
                .pos = pos_of(l, map),
                .states = (1u << EC2_INSTANCE_RUNNING) | (1u << EC2_INSTANCE_STOPPED),
                .wait_timeout = DEFAULT_WAIT_TIMEOUT,
                .protect_in_use = true,
        };
        return 0;
}

int config_policy_parse(loader *l, const cnode *map) {
        _cleanup_(freep) centry *e = NULL;
        policy_seen seen = {};
        size_t n_e = 0;
        policy *p;
        int r;

        r = policy_append(l, map, &p);
        if (r < 0)
                return r;
        r = cnode_mapping_entries(l, map, &e, &n_e);
        if (r < 0)
                return (l->oom = r);
        for (size_t i = 0; i < n_e; i++) {
                parse_policy_key(l, p, &e[i], &seen);
                if (l->oom)
                        return l->oom;
        }
        check_required(l, p, map, &seen);
        return complete(l, p, map, &seen);
}
