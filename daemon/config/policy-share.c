/* SPDX-License-Identifier: MIT */
/*
 * A policy's `share` section: who may launch its images (ModifyImageAttribute
 * LaunchPermission: account ids, organization ARNs, OU ARNs) and, with `snapshots`,
 * create volumes from their snapshots (ModifySnapshotAttribute createVolumePermission,
 * accounts only: EC2 has no organization principal there). The distributor
 * (run/dist-share.c) reconciles every image to this list; here each entry is checked as
 * EC2 would check it, so that a typo is an error at `check`, not a run that fails.
 */
#include "aws/partitions.h"
#include "config/policy-share.h"

/* AMI quotas (EC2 user guide): "You can share an AMI with up to 1,000 entities"
 * (accounts, organizations and OUs alike). */
#define SHARE_ENTITIES_MAX 1000

static const char *const share_keys[] = { "accounts", "organizations", "organizational_units", "snapshots", NULL };

static bool all_of(const char *s, size_t n, const char *set) {
        for (size_t i = 0; i < n; i++)
                if (!s[i] || !strchr(set, s[i]))
                        return false;
        return true;
}

/* [a-z0-9]{min,max} up to the first of end_chars (or the end); *s moves past it. */
static bool id_part(const char **s, size_t min, size_t max, const char *end_chars) {
        size_t n = strcspn(*s, end_chars);

        if (n < min || n > max || !all_of(*s, n, "abcdefghijklmnopqrstuvwxyz0123456789"))
                return false;
        *s += n;
        return true;
}

static bool account_id_valid(const char *s) {
        return strlen(s) == 12 && all_of(s, 12, "0123456789");
}

/* "arn:PARTITION:organizations::123456789012:" for a partition amirotd knows; the rest. */
static const char *organizations_arn_rest(const char *s) {
        const char *p = NULL;

        for (size_t i = 0; aws_partitions[i]; i++) {
                size_t n = strlen(aws_partitions[i]->id);

                if (startswith(s, "arn:") && strncmp(s + 4, aws_partitions[i]->id, n) == 0 && s[4 + n] == ':')
                        p = s + 5 + n;
        }
        if (!p || !startswith(p, "organizations::"))
                return NULL;
        p += strlen("organizations::");
        if (strlen(p) < 13 || !all_of(p, 12, "0123456789") || p[12] != ':')
                return NULL;
        return p + 13;
}

/*
 * EC2's reference gives no pattern for LaunchPermission's ARNs; Image Builder's, which
 * hands them to ModifyImageAttribute, does:
 * "^arn:aws[^:]*:organizations::[0-9]{12}:organization/o-[a-z0-9]{10,32}$" and
 * "^arn:aws[^:]*:organizations::[0-9]{12}:ou/o-[a-z0-9]{10,32}/ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}".
 */
static bool organization_arn_valid(const char *s) {
        const char *p = organizations_arn_rest(s);

        if (!p || !startswith(p, "organization/o-"))
                return false;
        p += strlen("organization/o-");
        return id_part(&p, 10, 32, "") && *p == '\0';
}

static bool organizational_unit_arn_valid(const char *s) {
        const char *p = organizations_arn_rest(s);

        if (!p || !startswith(p, "ou/o-"))
                return false;
        p += strlen("ou/o-");
        if (!id_part(&p, 10, 32, "/") || !startswith(p, "/ou-"))
                return false;
        p += strlen("/ou-");
        if (!id_part(&p, 4, 32, "-") || *p != '-')
                return false;
        p++;
        return id_part(&p, 8, 32, "") && *p == '\0';
}

typedef struct share_list {
        const char *key;
        bool (*valid)(const char *s);
        const char *expects;
} share_list;

static const share_list lists[] = {
        { "accounts", account_id_valid, "a 12-digit AWS account id" },
        { "organizations", organization_arn_valid,
          "an organization ARN (arn:aws:organizations::123456789012:organization/o-abcd123456)" },
        { "organizational_units", organizational_unit_arn_valid,
          "an OU ARN (arn:aws:organizations::123456789012:ou/o-abcd123456/ou-ab12-cd34ef56)" },
};

static int parse_list(loader *l, const share_list *s, const cnode *n, char ***ret) {
        if (cnode_is_null(n))
                return 0;
        if (!cvalue_expect(l, n, CNODE_SEQUENCE, s->key))
                return -EINVAL;
        for (size_t i = 0; i < n->n_items; i++) {
                _cleanup_(freep) char *v = NULL;

                if (cvalue_string(l, n->items[i], s->key, &v) < 0)
                        continue;
                if (!s->valid(v)) {
                        loader_error(l, n->items[i], "'%s' expects %s, got '%s'", s->key, s->expects, v);
                        continue;
                }
                if (strv_contains(*ret, v)) {
                        loader_warning(l, n->items[i], "'%s' lists '%s' twice, ignoring", s->key, v);
                        continue;
                }
                if (strv_push(ret, TAKE_PTR(v)) < 0)
                        return (l->oom = -ENOMEM);
        }
        return 0;
}

int config_share_parse(loader *l, policy *p, const cnode *n) {
        _cleanup_(freep) centry *e = NULL;
        size_t n_e = 0, entities;
        int r;

        if (cnode_is_null(n))
                return 0;
        r = cvalue_mapping(l, n, "share", &e, &n_e);
        if (r < 0)
                return r;
        p->share_set = true;
        for (size_t i = 0; i < n_e; i++) {
                const char *k = e[i].key->value;
                char ***const targets[] = { &p->share_accounts, &p->share_organizations,
                                            &p->share_organizational_units };
                size_t j;

                for (j = 0; j < ELEMENTSOF(lists) && !streq(k, lists[j].key); j++)
                        ;
                if (j < ELEMENTSOF(lists))
                        (void) parse_list(l, &lists[j], e[i].value, targets[j]);
                else if (streq(k, "snapshots"))
                        (void) cvalue_bool(l, e[i].value, "snapshots", &p->share_snapshots);
                else
                        cvalue_unknown(l, e[i].key, "key", "'share'", share_keys);
        }
        entities = strv_length(p->share_accounts) + strv_length(p->share_organizations) +
                strv_length(p->share_organizational_units);
        if (entities > SHARE_ENTITIES_MAX)
                loader_error(l, n, "'share' names %zu accounts, organizations and OUs; EC2 shares an "
                             "image with at most %d", entities, SHARE_ENTITIES_MAX);
        return 0;
}
