/* SPDX-License-Identifier: MIT */
/*
 * A policy's `ssm_parameter`: the SSM parameters (data type aws:ec2:image) that name
 * the policy's newest image, as CloudFormation, Terraform and launch templates read
 * it. A name, or a list of names and {name, region, role_arn, external_id}. A name is a
 * template of {policy}, {region}, {instance_id}, {instance_name} and
 * {instance_tag:KEY}; it is checked here as SSM checks PutParameter's Name, rendered
 * with the policy's name, each region it is written in, and the longest instance id
 * (the instance's own names and tags are checked again when a run renders them).
 * What a target means is the distributor's (run/dist-ssm.c).
 */
#include <stdio.h>

#include "aws/endpoint.h"
#include "aws/ssm.h"
#include "config/policy-ssm.h"

static const char *const target_keys[] = { "name", "region", "role_arn", "external_id", NULL };
static const char *const placeholders[] = {
        "policy", "region", "instance_id", "instance_name", "instance_tag:KEY", NULL
};

/* At most this many parameters per policy: each costs a GetParameter per run and region. */
#define SSM_TARGETS_MAX 100
/* "Tag key: Maximum length of 128 Unicode characters" (EC2 tags). */
#define TAG_KEY_MAX 128

static config_pos pos_at(loader *l, const cnode *n) {
        return (config_pos) { .file = l->file, .line = n->line, .column = n->column };
}

/* Each placeholder of t known: else an error with a suggestion, and false. */
static bool check_placeholders(loader *l, const cnode *n, const char *t) {
        const char *c, *end;

        for (const char *p = strchr(t, '{'); p; p = strchr(end, '{')) {
                end = strchr(p, '}');
                if (!end) {
                        loader_error(l, n, "unterminated placeholder '%s' in 'ssm_parameter', expected '}'", p);
                        return false;
                }
                _cleanup_(freep) char *name = strndup(p + 1, (size_t) (end - p - 1));
                if (!name) {
                        l->oom = -ENOMEM;
                        return false;
                }
                if (startswith(name, "instance_tag:")) {
                        size_t k = strlen(name + strlen("instance_tag:"));

                        if (k == 0 || k > TAG_KEY_MAX || strchr(name, '{')) {
                                loader_error(l, n, "'{%s}' needs a tag key of 1 to %d characters: "
                                             "{instance_tag:KEY}", name, TAG_KEY_MAX);
                                return false;
                        }
                        continue;
                }
                if (streq(name, "policy") || streq(name, "region") || streq(name, "instance_id") ||
                    streq(name, "instance_name"))
                        continue;
                if (streq(name, "slot")) {
                        loader_error(l, n, "'{slot}' has no place in 'ssm_parameter': a parameter names the "
                                     "newest image, whichever slot it is of");
                        return false;
                }
                c = cvalue_closest(name, placeholders);
                loader_error(l, n, "unknown placeholder '{%s}' in 'ssm_parameter'%s%s%s", name,
                             c ? ", did you mean '{" : "", c ? c : "", c ? "}'?" : "");
                return false;
        }
        return true;
}

/* The template rendered for the check: instance names and tags as one letter each. */
static int render_sample(const char *t, const char *policy_name, const char *region, char **ret) {
        strbuf b = {};
        int r = 0;

        for (const char *s = t; *s && r >= 0;) {
                const char *end = *s == '{' ? strchr(s, '}') : NULL;

                if (!end) {
                        r = strbuf_append(&b, s++, 1);
                        continue;
                }
                if (startswith(s, "{policy}"))
                        r = strbuf_puts(&b, policy_name);
                else if (startswith(s, "{region}"))
                        r = strbuf_puts(&b, region);
                else if (startswith(s, "{instance_id}"))
                        r = strbuf_puts(&b, "i-0123456789abcdef0");     /* the longest form */
                else
                        r = strbuf_puts(&b, "x");
                s = end + 1;
        }
        if (r < 0) {
                strbuf_done(&b);
                return r;
        }
        *ret = strbuf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}

/* Returns the suggestion for an unknown key, if any. */
static const char *parse_target_key(loader *l, ssm_parameter_target *t, const centry *e, const cnode **ext) {
        const char *k = e->key->value;
        const cnode *v = e->value;

        if (streq(k, "name"))
                (void) cvalue_string(l, v, "ssm_parameter.name", &t->name);
        else if (streq(k, "region")) {
                if (cvalue_string(l, v, "ssm_parameter.region", &t->region) >= 0 && !aws_region_is_valid(t->region))
                        loader_error(l, v, "'%s' is not an AWS region (us-east-1, eu-west-1, ...)", t->region);
        } else if (streq(k, "role_arn"))
                (void) cvalue_role_arn(l, v, "ssm_parameter.role_arn", &t->role_arn);
        else if (streq(k, "external_id")) {
                *ext = v;
                (void) cvalue_external_id(l, v, "ssm_parameter.external_id", &t->external_id);
        } else
                return cvalue_unknown(l, e->key, "key", "'ssm_parameter'", target_keys);
        return NULL;
}

static void parse_target(loader *l, ssm_parameter_target *t, const cnode *n) {
        _cleanup_(freep) centry *e = NULL;
        const cnode *ext = NULL, *name = NULL;
        bool misspelt_name = false;
        size_t n_e = 0;

        t->pos = pos_at(l, n);
        if (n->kind == CNODE_SCALAR) {
                name = n;
                (void) cvalue_string(l, n, "ssm_parameter", &t->name);
        } else {
                if (cvalue_mapping(l, n, "an 'ssm_parameter' entry (a name, or a mapping with 'name')",
                                   &e, &n_e) < 0)
                        return;
                for (size_t i = 0; i < n_e; i++) {
                        if (streq(e[i].key->value, "name"))
                                name = e[i].value;
                        /* one error for a misspelt 'name', not a second for the missing one */
                        if (streq_ptr(parse_target_key(l, t, &e[i], &ext), "name"))
                                misspelt_name = true;
                }
                if (!name && !misspelt_name)
                        loader_error(l, n, "an 'ssm_parameter' entry needs 'name'");
                if (ext && !t->role_arn)
                        loader_error(l, ext, "'external_id' goes with 'role_arn'");
        }
        if (t->name && name) {
                t->pos = pos_at(l, name);
                if (!check_placeholders(l, name, t->name))
                        t->name = mfree(t->name);
        }
}

int config_ssm_parse(loader *l, policy *p, const cnode *n) {
        const cnode *const *items = (const cnode *const *) &n;
        size_t count = 1;

        if (cnode_is_null(n))
                return 0;
        if (n->kind == CNODE_SEQUENCE) {
                items = (const cnode *const *) n->items;
                count = n->n_items;
                if (count == 0)
                        return 0;
        } else if (n->kind != CNODE_SCALAR) {
                loader_error(l, n, "'ssm_parameter' expects a parameter name or a list of them, got %s",
                             cnode_kind_name(n));
                return 0;
        }
        if (count > SSM_TARGETS_MAX) {
                loader_error(l, n, "'ssm_parameter' lists %zu parameters, at most %d are allowed", count,
                             SSM_TARGETS_MAX);
                return 0;
        }
        p->ssm_parameters = calloc(count, sizeof(ssm_parameter_target));
        if (!p->ssm_parameters)
                return (l->oom = -ENOMEM);
        for (size_t i = 0; i < count; i++) {
                p->n_ssm_parameters++;
                parse_target(l, &p->ssm_parameters[i], items[i]);
                if (l->oom)
                        return l->oom;
        }
        return 0;
}

static void check_name_in(loader *l, const policy *p, const ssm_parameter_target *t, const char *region) {
        _cleanup_(freep) char *sample = NULL;
        const char *why = NULL;

        if (render_sample(t->name, p->name ?: "x", region, &sample) < 0) {
                l->oom = -ENOMEM;
                return;
        }
        if (ssm_parameter_name_check(sample, region, &why) < 0)
                loader_diag_at(l, t->pos.line, t->pos.column, CONFIG_SEVERITY_ERROR,
                               "ssm_parameter '%s' is no valid SSM parameter name: %s", t->name, why);
}

static bool same_target(const ssm_parameter_target *a, const ssm_parameter_target *b) {
        return streq(a->name, b->name) && streq_ptr(a->region, b->region) && streq_ptr(a->role_arn, b->role_arn);
}

void config_ssm_check(loader *l, const policy *p) {
        for (size_t i = 0; i < p->n_ssm_parameters; i++) {
                const ssm_parameter_target *t = &p->ssm_parameters[i];

                if (!t->name)
                        continue;
                if (t->region)
                        check_name_in(l, p, t, t->region);
                else
                        for (char **r = p->regions; r && *r; r++)
                                check_name_in(l, p, t, *r);
                for (size_t j = 0; j < i; j++)
                        if (p->ssm_parameters[j].name && same_target(&p->ssm_parameters[j], t)) {
                                loader_diag_at(l, t->pos.line, t->pos.column, CONFIG_SEVERITY_ERROR,
                                               "ssm_parameter '%s' is listed twice (line %u)", t->name,
                                               p->ssm_parameters[j].pos.line);
                                break;
                        }
        }
}
