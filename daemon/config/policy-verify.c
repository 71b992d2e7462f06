/* SPDX-License-Identifier: MIT */
/*
 * A policy's `verify` section: the test instance each new image boots (run/verify.c)
 * before retention counts it. This file reads the values and checks them the way
 * RunInstances would, hours after the reload, at the first new image: an instance type
 * of EC2's form, a subnet and security groups by id, an instance profile by IAM's name
 * rules or ARN, and console_match compiled as the run will compile it. A subnet lives in
 * one region: a policy of several regions names one per region, and the check against
 * the policy's regions waits until every key of the policy is read (config_verify_check).
 */
#include <regex.h>

#include "aws/endpoint.h"
#include "config/policy-verify.h"

/* The quota "Security groups per network interface" is 5 by default and 16 at most. */
#define VERIFY_GROUPS_MAX 16
/* InstanceType: the longest of today's names ("u7in-32tb.224xlarge") with room to grow. */
#define INSTANCE_TYPE_MAX 64
/* CreateInstanceProfile's InstanceProfileName: "Pattern: [\w+=,.@-]+ Minimum: 1 Maximum: 128". */
#define PROFILE_NAME_MAX 128
/* The path of an IAM ARN: "Maximum length of 512". */
#define PROFILE_PATH_MAX 512

static const char *const verify_keys[] = {
        "instance_type", "subnet_id", "security_group_ids", "iam_instance_profile", "timeout", "console_match",
        "max_concurrent", NULL
};

static config_pos pos_of(loader *l, const cnode *n) {
        return (config_pos) { .file = l->file, .line = n->line, .column = n->column };
}

/* PREFIX and 8 or 17 lowercase hex digits, as EC2 writes its ids. */
static bool ec2_id_valid(const char *s, const char *prefix) {
        size_t n;

        if (!startswith(s, prefix))
                return false;
        s += strlen(prefix);
        n = strlen(s);
        return (n == 8 || n == 17) && strspn(s, "0123456789abcdef") == n;
}

/* EC2's FAMILY.SIZE: [a-z0-9-]+\.[a-z0-9]+ ("t3.micro", "u-6tb1.metal"). */
static bool instance_type_valid(const char *s) {
        size_t family = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-");

        if (family == 0 || s[family] != '.' || strlen(s) > INSTANCE_TYPE_MAX)
                return false;
        s += family + 1;
        return *s && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789") == strlen(s);
}

static bool profile_name_valid(const char *s, size_t n) {
        if (n < 1 || n > PROFILE_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
                      strchr("_+=,.@-", s[i])))
                        return false;
        return true;
}

/* arn:PARTITION:iam::ACCOUNT:instance-profile/[PATH/]NAME; a path's characters are "any ASCII
 * character from the ! (\u0021) through the DEL character (\u007F)". */
static bool profile_arn_valid(const char *s) {
        const char *rest, *name;
        size_t n;

        if (!startswith(s, "arn:"))
                return false;
        rest = s + 4;
        n = strspn(rest, "abcdefghijklmnopqrstuvwxyz-");         /* the partition: aws, aws-cn, ... */
        if (n == 0 || !startswith(rest + n, ":iam::"))
                return false;
        rest += n + 6;
        if (strspn(rest, "0123456789") != 12 || !startswith(rest + 12, ":instance-profile/"))
                return false;
        rest += 12 + strlen(":instance-profile/");
        name = strrchr(rest, '/') ? strrchr(rest, '/') + 1 : rest;
        if ((size_t) (name - rest) + 1 > PROFILE_PATH_MAX)
                return false;
        for (const char *c = rest; c < name; c++)
                if ((unsigned char) *c < 0x21 || (unsigned char) *c > 0x7f)
                        return false;
        return profile_name_valid(name, strlen(name));
}

static verify_network *add_network(loader *l, policy_verify *v, const cnode *at) {
        verify_network *w = reallocarray(v->networks, v->n_networks + 1, sizeof(verify_network));

        if (!w) {
                l->oom = -ENOMEM;
                return NULL;
        }
        v->networks = w;
        w = &w[v->n_networks++];
        *w = (verify_network) { .pos = pos_of(l, at) };
        return w;
}

/* One subnet id at n into *ret (NULL when invalid, the error reported). */
static int parse_subnet_id(loader *l, const cnode *n, const char *what, char **ret) {
        if (cvalue_string(l, n, what, ret) < 0)
                return -EINVAL;
        if (!ec2_id_valid(*ret, "subnet-")) {
                loader_error(l, n, "'%s' '%s' is not a subnet id (subnet- and 8 or 17 hex digits)", what, *ret);
                *ret = mfree(*ret);
                return -EINVAL;
        }
        return 0;
}

/* subnet_id: one subnet (network region NULL), or REGION: subnet-... for each region. */
static int parse_subnets(loader *l, policy_verify *v, const cnode *n) {
        _cleanup_(freep) centry *e = NULL;
        size_t n_e = 0;
        int r;

        if (n->kind == CNODE_SCALAR && !cnode_is_null(n)) {
                _cleanup_(freep) char *id = NULL;
                verify_network *w;

                if (parse_subnet_id(l, n, "verify.subnet_id", &id) < 0)
                        return -EINVAL;
                if (!(w = add_network(l, v, n)))
                        return -ENOMEM;
                w->subnet_id = TAKE_PTR(id);
                return 0;
        }
        if (n->kind != CNODE_MAPPING) {
                loader_error(l, n, "'verify.subnet_id' expects a subnet id, or a mapping of region to subnet id, "
                             "got %s", cnode_kind_name(n));
                return -EINVAL;
        }
        r = cvalue_mapping(l, n, "verify.subnet_id", &e, &n_e);
        if (r < 0)
                return r;
        if (n_e == 0)
                loader_error(l, n, "'verify.subnet_id' is empty: give a subnet id, or one per region");
        for (size_t i = 0; i < n_e; i++) {
                _cleanup_(freep) char *id = NULL, *region = NULL;
                verify_network *w;

                if (!aws_region_is_valid(e[i].key->value)) {
                        loader_error(l, e[i].key, "'%s' in 'verify.subnet_id' is not an AWS region name",
                                     e[i].key->value);
                        continue;
                }
                /* kept without a subnet when invalid (the error drops the policy anyway), so that
                 * its region does not also read as left out */
                (void) parse_subnet_id(l, e[i].value, "verify.subnet_id", &id);
                if (!(region = strdup(e[i].key->value)) || !(w = add_network(l, v, e[i].key)))
                        return (l->oom = -ENOMEM);
                w->region = TAKE_PTR(region);
                w->subnet_id = TAKE_PTR(id);
        }
        return l->oom;
}

/* A list of security group ids into *ret (NULL-terminated). */
static int parse_group_list(loader *l, const cnode *n, char ***ret) {
        _cleanup_(strv_freep) char **groups = NULL;

        if (!cvalue_expect(l, n, CNODE_SEQUENCE, "verify.security_group_ids"))
                return -EINVAL;
        if (n->n_items == 0) {
                loader_error(l, n, "'verify.security_group_ids' is empty: leave it out for the VPC's default group");
                return -EINVAL;
        }
        if (n->n_items > VERIFY_GROUPS_MAX) {
                loader_error(l, n, "'verify.security_group_ids' has %zu groups, at most %d are allowed "
                             "(EC2's limit per network interface)", n->n_items, VERIFY_GROUPS_MAX);
                return -EINVAL;
        }
        for (size_t i = 0; i < n->n_items; i++) {
                _cleanup_(freep) char *id = NULL;

                if (cvalue_string(l, n->items[i], "verify.security_group_ids", &id) < 0)
                        continue;
                if (!ec2_id_valid(id, "sg-")) {
                        loader_error(l, n->items[i], "'%s' is not a security group id (sg- and 8 or 17 hex digits)", id);
                        continue;
                }
                if (strv_contains(groups, id)) {
                        loader_warning(l, n->items[i], "security group '%s' is listed twice, ignoring", id);
                        continue;
                }
                if (strv_push(&groups, TAKE_PTR(id)) < 0)
                        return (l->oom = -ENOMEM);
        }
        *ret = TAKE_PTR(groups);
        return 0;
}

static verify_network *network_of(policy_verify *v, const char *region) {
        for (size_t i = 0; i < v->n_networks; i++)
                if (streq_ptr(v->networks[i].region, region))
                        return &v->networks[i];
        return NULL;
}

/* security_group_ids: a list beside one subnet, or REGION: [sg-...] beside a subnet per region
 * (a group belongs to one VPC, so to one region). subnet: subnet_id's node, or NULL. */
static int parse_groups(loader *l, policy_verify *v, const cnode *n, const cnode *subnet) {
        _cleanup_(freep) centry *e = NULL;
        bool per_region = subnet && subnet->kind == CNODE_MAPPING;
        size_t n_e = 0;
        int r;

        if (n->kind == CNODE_SEQUENCE && per_region) {
                loader_error(l, n, "'verify.security_group_ids' is one list, and 'subnet_id' names a subnet per "
                             "region: a security group lives in one region; give REGION: [sg-...] for each");
                return -EINVAL;
        }
        if (n->kind == CNODE_SEQUENCE) {
                _cleanup_(strv_freep) char **groups = NULL;

                r = parse_group_list(l, n, &groups);
                if (r >= 0 && v->n_networks == 1)
                        v->networks[0].security_group_ids = TAKE_PTR(groups);
                return r;
        }
        if (n->kind == CNODE_MAPPING && !per_region) {
                loader_error(l, n, "'verify.security_group_ids' per region goes with 'subnet_id' per region");
                return -EINVAL;
        }
        if (n->kind != CNODE_MAPPING) {
                loader_error(l, n, "'verify.security_group_ids' expects a list of security group ids%s, got %s",
                             per_region ? " per region" : "", cnode_kind_name(n));
                return -EINVAL;
        }
        r = cvalue_mapping(l, n, "verify.security_group_ids", &e, &n_e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_e; i++) {
                _cleanup_(strv_freep) char **groups = NULL;
                verify_network *w = network_of(v, e[i].key->value);

                if (!aws_region_is_valid(e[i].key->value)) {
                        loader_error(l, e[i].key, "'%s' in 'verify.security_group_ids' is not an AWS region name",
                                     e[i].key->value);
                        continue;
                }
                if (cnode_is_null(e[i].value))
                        continue;               /* the VPC's default group, as `check --dump` writes it */
                if (parse_group_list(l, e[i].value, &groups) < 0)
                        continue;
                if (w)
                        w->security_group_ids = TAKE_PTR(groups);
                else
                        loader_error(l, e[i].key, "'verify.security_group_ids' names region '%s', for which "
                                     "'subnet_id' names no subnet", e[i].key->value);
        }
        return l->oom;
}

/* RunInstances' IamInstanceProfile: .Name or .Arn; the run tells them apart by "arn:". */
static void parse_profile(loader *l, policy_verify *v, const cnode *n) {
        _cleanup_(freep) char *s = NULL;

        if (cnode_is_null(n) || cvalue_string(l, n, "verify.iam_instance_profile", &s) < 0)
                return;
        if (startswith(s, "arn:") ? !profile_arn_valid(s) : !profile_name_valid(s, strlen(s))) {
                loader_error(l, n, "'verify.iam_instance_profile' '%s' is neither an instance profile's name (1 to %d "
                             "letters, digits and _+=,.@-) nor its ARN "
                             "(arn:aws:iam::123456789012:instance-profile/NAME)", s, PROFILE_NAME_MAX);
                return;
        }
        free(v->iam_instance_profile);
        v->iam_instance_profile = TAKE_PTR(s);
}

/* Compiled as the run compiles it (REG_EXTENDED | REG_NOSUB), so that a bad one is reported now. */
static void parse_console_match(loader *l, policy_verify *v, const cnode *n) {
        _cleanup_(freep) char *s = NULL;
        char why[256];
        regex_t re;
        int r;

        if (cnode_is_null(n) || cvalue_string(l, n, "verify.console_match", &s) < 0)
                return;
        if (isempty(s)) {
                loader_error(l, n, "'verify.console_match' is empty, which matches any output: leave it out to "
                             "judge by the status checks alone");
                return;
        }
        if (utf8_length(s) > VERIFY_CONSOLE_MATCH_MAX) {
                loader_error(l, n, "'verify.console_match' is longer than %d characters (it goes into the "
                             "amirotd:verify-reason tag of an image that fails it)", VERIFY_CONSOLE_MATCH_MAX);
                return;
        }
        r = regcomp(&re, s, REG_EXTENDED | REG_NOSUB);
        if (r != 0) {
                (void) regerror(r, &re, why, sizeof(why));
                loader_error(l, n, "'verify.console_match' '%s' is not a POSIX extended regular expression: %s", s, why);
                return;
        }
        regfree(&re);
        free(v->console_match);
        v->console_match = TAKE_PTR(s);
}

static void parse_instance_type(loader *l, policy_verify *v, const cnode *n) {
        if (cvalue_string(l, n, "verify.instance_type", &v->instance_type) < 0)
                return;
        if (!instance_type_valid(v->instance_type)) {
                loader_error(l, n, "'verify.instance_type' '%s' is not an EC2 instance type (FAMILY.SIZE, such as "
                             "t3.micro)", v->instance_type);
                v->instance_type = mfree(v->instance_type);
        }
}

/* What the section said, for the checks across its keys. */
typedef struct verify_seen {
        const cnode *instance_type, *subnet, *groups;
        bool subnet_misspelled;
} verify_seen;

static void parse_verify_key(loader *l, policy_verify *v, const centry *e, verify_seen *seen) {
        const char *k = e->key->value, *suggestion;
        const cnode *n = e->value;
        uint64_t u;

        if (streq(k, "instance_type")) {
                seen->instance_type = n;
                parse_instance_type(l, v, n);
        } else if (streq(k, "subnet_id"))
                seen->subnet = n;               /* read first, below: security_group_ids depends on its shape */
        else if (streq(k, "security_group_ids"))
                seen->groups = n;
        else if (streq(k, "iam_instance_profile"))
                parse_profile(l, v, n);
        else if (streq(k, "timeout")) {
                if (cvalue_duration(l, n, "verify.timeout", VERIFY_TIMEOUT_MIN, VERIFY_TIMEOUT_MAX, &u) >= 0)
                        v->timeout = u;
        } else if (streq(k, "console_match"))
                parse_console_match(l, v, n);
        else if (streq(k, "max_concurrent")) {
                if (cvalue_uint(l, n, "verify.max_concurrent", 1, VERIFY_MAX_CONCURRENT_MAX, &u) >= 0)
                        v->max_concurrent = (unsigned) u;
        } else {
                suggestion = cvalue_unknown(l, e->key, "key", "'verify'", verify_keys);
                /* one error for a misspelled key, not a second for the missing one */
                if (streq_ptr(suggestion, "instance_type"))
                        seen->instance_type = e->key;
                else if (streq_ptr(suggestion, "subnet_id"))
                        seen->subnet_misspelled = true;
        }
}

int config_verify_parse(loader *l, policy *p, const cnode *n) {
        _cleanup_(freep) centry *e = NULL;
        policy_verify *v = &p->verify;
        verify_seen seen = {};
        size_t n_e = 0;
        int r;

        if (cnode_is_null(n))
                return 0;
        r = cvalue_mapping(l, n, "verify", &e, &n_e);
        if (r < 0)
                return r;
        v->set = true;
        v->pos = pos_of(l, n);
        v->timeout = VERIFY_TIMEOUT_DEFAULT;
        v->max_concurrent = VERIFY_MAX_CONCURRENT_DEFAULT;
        for (size_t i = 0; i < n_e; i++)
                parse_verify_key(l, v, &e[i], &seen);
        if (!seen.instance_type)
                loader_error(l, n, "'verify' needs 'instance_type': what the test instance runs on (such as t3.micro)");
        if (seen.subnet)
                (void) parse_subnets(l, v, seen.subnet);
        else if (!seen.subnet_misspelled)
                loader_error(l, n, "'verify' needs 'subnet_id': where the test instance starts");
        if (seen.groups && !cnode_is_null(seen.groups))
                (void) parse_groups(l, v, seen.groups, seen.subnet);
        return l->oom;
}

void config_verify_check(loader *l, const policy *p) {
        const policy_verify *v = &p->verify;
        size_t n_regions = strv_length(p->regions);

        if (!v->set)
                return;
        for (size_t i = 0; i < v->n_networks; i++) {
                const verify_network *w = &v->networks[i];

                if (!w->region && n_regions > 1)
                        loader_diag_at(l, w->pos.line, w->pos.column, CONFIG_SEVERITY_ERROR,
                                       "'verify.subnet_id' is one subnet, and the policy runs in %zu regions: a subnet "
                                       "lives in one region; give REGION: subnet-... for each", n_regions);
                else if (w->region && !strv_contains(p->regions, w->region))
                        loader_diag_at(l, w->pos.line, w->pos.column, CONFIG_SEVERITY_ERROR,
                                       "'verify.subnet_id' names region '%s', which is not one of the policy's regions",
                                       w->region);
        }
        if (v->n_networks == 0 || !v->networks[0].region)
                return;
        for (char **r = p->regions; r && *r; r++)
                if (!policy_verify_network(v, *r))
                        loader_diag_at(l, v->networks[0].pos.line, v->networks[0].pos.column, CONFIG_SEVERITY_ERROR,
                                       "'verify.subnet_id' names no subnet for the policy's region '%s'", *r);
}
