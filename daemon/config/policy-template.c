/* SPDX-License-Identifier: MIT */
/*
 * A policy's `launch_template` section: the launch templates whose new versions
 * follow the policy's newest image (run/dist-template.c does it). A mapping, or a
 * list of them, each naming one template by id or by name, optionally in one
 * region and another account. This file only reads and checks the values.
 */
#include "aws/endpoint.h"
#include "config/policy-template.h"

/* A template rotated daily keeps about ten days of versions to roll back to; EC2 allows
 * "Launch template versions per launch template: 10,000" (EC2 quotas). */
#define TEMPLATE_KEEP_DEFAULT 10
#define TEMPLATE_KEEP_MAX 10000
/* Where one policy's templates are listed, one version a run each: a bound on a typo's cost. */
#define TEMPLATES_MAX 100

static const char *const template_keys[] = {
        "name", "id", "region", "role_arn", "external_id", "source", "set_default", "keep_versions", NULL
};

/* CreateLaunchTemplate's LaunchTemplateName: "Length Constraints: Minimum length of 3.
 * Maximum length of 128. Pattern: [a-zA-Z0-9\(\)\.\-/_]+". */
bool launch_template_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 3 || n > 128)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      strchr("().-/_", *s)))
                        return false;
        return true;
}

/* "lt-" and 17 (or, for older resources, 8) lowercase hexadecimal digits, as EC2's ids. */
bool launch_template_id_valid(const char *s) {
        size_t n;

        if (!startswith(s, "lt-"))
                return false;
        s += 3;
        n = strlen(s);
        if (n != 17 && n != 8)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

/* What one entry said, for the checks across its keys. */
typedef struct template_seen {
        const cnode *name, *id, *external_id;
} template_seen;

static void parse_identity(loader *l, launch_template_target *t, const char *k, const cnode *v,
                           template_seen *seen) {
        if (streq(k, "role_arn")) {
                (void) cvalue_role_arn(l, v, "launch_template.role_arn", &t->role_arn);
                return;
        }
        seen->external_id = v;
        (void) cvalue_external_id(l, v, "launch_template.external_id", &t->external_id);
}

static void parse_source(loader *l, launch_template_target *t, const cnode *v) {
        _cleanup_(freep) char *s = NULL;

        if (cvalue_string(l, v, "launch_template.source", &s) < 0)
                return;
        if (streq(s, "latest"))
                t->from_latest = true;
        else if (!streq(s, "default"))
                loader_error(l, v, "'source' must be 'default' or 'latest' (the version the new one is "
                             "made from), got '%s'", s);
}

static void parse_template_key(loader *l, launch_template_target *t, const centry *e, template_seen *seen) {
        const char *k = e->key->value;
        const cnode *v = e->value;
        uint64_t u;

        if (streq(k, "name")) {
                seen->name = v;
                if (cvalue_string(l, v, "launch_template.name", &t->name) >= 0 &&
                    !launch_template_name_valid(t->name))
                        loader_error(l, v, "launch template name '%s' must be 3 to 128 letters, digits "
                                     "and ().-/_", t->name);
        } else if (streq(k, "id")) {
                seen->id = v;
                if (cvalue_string(l, v, "launch_template.id", &t->id) >= 0 && !launch_template_id_valid(t->id))
                        loader_error(l, v, "'%s' is not a launch template id (lt- and 17 hexadecimal digits)",
                                     t->id);
        } else if (streq(k, "region")) {
                if (cvalue_string(l, v, "launch_template.region", &t->region) >= 0 &&
                    !aws_region_is_valid(t->region))
                        loader_error(l, v, "'%s' is not an AWS region name", t->region);
        } else if (streq(k, "role_arn") || streq(k, "external_id"))
                parse_identity(l, t, k, v, seen);
        else if (streq(k, "source"))
                parse_source(l, t, v);
        else if (streq(k, "set_default"))
                (void) cvalue_bool(l, v, "set_default", &t->set_default);
        else if (streq(k, "keep_versions")) {
                if (cvalue_uint(l, v, "keep_versions", 0, TEMPLATE_KEEP_MAX, &u) >= 0)
                        t->keep_versions = (unsigned) u;
        } else if (streq_ptr(cvalue_unknown(l, e->key, "key", "'launch_template'", template_keys), "name"))
                seen->name = e->key;    /* one error for a misspelt name, not a second for the missing one */
}

static bool same_target(const launch_template_target *a, const launch_template_target *b) {
        return streq_ptr(a->id, b->id) && streq_ptr(a->name, b->name) && streq_ptr(a->region, b->region) &&
                streq_ptr(a->role_arn, b->role_arn);
}

static int parse_template(loader *l, policy *p, const cnode *n) {
        _cleanup_(freep) centry *e = NULL;
        launch_template_target *t, *items;
        template_seen seen = {};
        size_t n_e = 0;
        int r;

        r = cvalue_mapping(l, n, "launch_template", &e, &n_e);
        if (r < 0)
                return r;
        items = reallocarray(p->launch_templates, p->n_launch_templates + 1, sizeof(*items));
        if (!items)
                return (l->oom = -ENOMEM);
        p->launch_templates = items;
        t = &items[p->n_launch_templates++];
        *t = (launch_template_target) {
                .set_default = true, .keep_versions = TEMPLATE_KEEP_DEFAULT,
                .pos = { .file = l->file, .line = n->line, .column = n->column },
        };
        for (size_t i = 0; i < n_e; i++)
                parse_template_key(l, t, &e[i], &seen);
        if (!seen.name && !seen.id)
                loader_error(l, n, "'launch_template' needs 'name' or 'id'");
        else if (seen.name && seen.id)
                loader_error(l, seen.id, "'launch_template' takes 'name' or 'id', not both");
        if (seen.external_id && !t->role_arn)
                loader_error(l, seen.external_id, "'external_id' goes with 'role_arn'");
        for (size_t i = 0; i + 1 < p->n_launch_templates && (t->id || t->name); i++)
                if (same_target(&p->launch_templates[i], t)) {
                        loader_error(l, n, "launch template '%s'%s%s is listed twice", t->id ?: t->name,
                                     t->region ? " in " : "", t->region ?: "");
                        break;
                }
        return 0;
}

int config_template_parse(loader *l, policy *p, const cnode *n) {
        if (n->kind == CNODE_MAPPING)
                return parse_template(l, p, n);
        if (n->kind != CNODE_SEQUENCE) {
                loader_error(l, n, "'launch_template' must be a mapping or a list of mappings, got %s",
                             cnode_kind_name(n));
                return -EINVAL;
        }
        if (n->n_items == 0)
                loader_error(l, n, "'launch_template' must not be empty (leave it out for none)");
        if (n->n_items > TEMPLATES_MAX) {
                loader_error(l, n, "'launch_template' lists %zu templates, at most %d", n->n_items, TEMPLATES_MAX);
                return -EINVAL;
        }
        for (size_t i = 0; i < n->n_items; i++)
                (void) parse_template(l, p, n->items[i]);
        return 0;
}

void config_template_check_regions(loader *l, const policy *p) {
        size_t n_regions = 0;

        while (p->regions && p->regions[n_regions])
                n_regions++;
        for (size_t i = 0; n_regions > 1 && i < p->n_launch_templates; i++) {
                const launch_template_target *t = &p->launch_templates[i];

                if (t->id && !t->region)
                        loader_diag_at(l, t->pos.line, t->pos.column, CONFIG_SEVERITY_ERROR,
                                       "launch template '%s' is one region's, and the policy runs in %zu: "
                                       "give its 'region'", t->id, n_regions);
        }
}
