/* SPDX-License-Identifier: MIT */
/*
 * A policy's `copy_to` list: the destinations its images are copied to (CopyImage), each a
 * region and optionally another account's role, with the copy's encryption, its own
 * retention and its deprecation. What each key means is the copy distributor's
 * (run/dist-copy.c, run/plan-copy.c); this file reads and checks the values, the way
 * EC2 would check them at the first CopyImage, hours after the reload.
 */
#include "aws/endpoint.h"
#include "config/policy-copy.h"
#include "config/policy-retain.h"

/* DLM copies to 3 regions at most; amirotd allows one destination per region and account,
 * bounded only so that a runaway list is caught. */
#define COPY_TO_MAX 50
/* EnableImageDeprecation: "The upper limit for DeprecateAt is 10 years from now". */
#define DEPRECATE_AFTER_MAX (10ULL * 365 * 86400)

static const char *const copy_keys[] = {
        "region", "role_arn", "external_id", "encrypted", "kms_key_id", "retain", "deprecate_after", NULL
};

/* What a destination's keys said, for the checks across keys. */
typedef struct copy_seen {
        const cnode *region, *external_id, *kms_key_id;
} copy_seen;

static bool key_id_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* CopyImage KmsKeyId: "You can specify a KMS key using any of the following: Key ID ...
 * Key alias ... Key ARN ... Alias ARN"; "The specified KMS key must exist in the destination
 * Region." NULL when valid, else what is wrong. */
static const char *kms_key_problem(const char *s, const char *region) {
        const char *rest;
        size_t n;

        if (strncmp(s, "alias/", 6) == 0)
                return strlen(s) > 6 && strlen(s) <= 256 ? NULL : "an alias is 'alias/NAME'";
        if (strncmp(s, "arn:", 4) != 0) {
                /* a key id: a UUID, or a multi-Region key's mrk-... */
                for (rest = s; *rest; rest++)
                        if (!key_id_char(*rest))
                                return "a key id is a UUID or mrk-...";
                return strlen(s) >= 1 && strlen(s) <= 256 ? NULL : "a key id is a UUID or mrk-...";
        }
        /* arn:PARTITION:kms:REGION:ACCOUNT:key/ID or :alias/NAME */
        rest = strstr(s, ":kms:");
        if (!rest)
                return "a KMS ARN is arn:aws:kms:REGION:ACCOUNT:key/ID or ...:alias/NAME";
        rest += 5;
        n = strcspn(rest, ":");
        if (region && (n != strlen(region) || strncmp(rest, region, n) != 0))
                return "the key must be in the destination region";
        rest += n;
        if (*rest != ':' || strspn(rest + 1, "0123456789") != 12 || rest[13] != ':')
                return "a KMS ARN is arn:aws:kms:REGION:ACCOUNT:key/ID or ...:alias/NAME";
        rest += 14;
        if ((strncmp(rest, "key/", 4) != 0 || rest[4] == '\0') && (strncmp(rest, "alias/", 6) != 0 || rest[6] == '\0'))
                return "a KMS ARN is arn:aws:kms:REGION:ACCOUNT:key/ID or ...:alias/NAME";
        return NULL;
}

static void parse_copy_key(loader *l, copy_destination *d, const centry *e, copy_seen *seen) {
        const char *k = e->key->value;
        const cnode *v = e->value;
        uint64_t u;

        if (streq(k, "region")) {
                seen->region = v;
                if (cvalue_string(l, v, "region", &d->region) >= 0 && !aws_region_is_valid(d->region)) {
                        loader_error(l, v, "'%s' is not an AWS region name", d->region);
                        d->region = mfree(d->region);
                }
        } else if (streq(k, "role_arn")) {
                if (!cnode_is_null(v))
                        (void) cvalue_role_arn(l, v, "role_arn", &d->role_arn);
        } else if (streq(k, "external_id")) {
                seen->external_id = v;
                if (!cnode_is_null(v))
                        (void) cvalue_external_id(l, v, "external_id", &d->external_id);
        } else if (streq(k, "encrypted"))
                (void) cvalue_bool(l, v, "encrypted", &d->encrypted);
        else if (streq(k, "kms_key_id")) {
                seen->kms_key_id = v;
                if (!cnode_is_null(v))
                        (void) cvalue_string(l, v, "kms_key_id", &d->kms_key_id);
        } else if (streq(k, "retain")) {
                if (config_retain_rules_parse(l, &d->retain, v) >= 0)
                        d->retain_set = true;
        } else if (streq(k, "deprecate_after")) {
                if (!cnode_is_null(v) &&
                    cvalue_duration(l, v, "deprecate_after", 60, DEPRECATE_AFTER_MAX, &u) >= 0)
                        d->deprecate_after = u;
        } else
                cvalue_unknown(l, e->key, "key", "'copy_to'", copy_keys);
}

/* The checks across one destination's keys. */
static void check_destination(loader *l, const copy_destination *d, const cnode *n, const copy_seen *seen) {
        const char *problem;

        if (!seen->region)
                loader_error(l, n, "a 'copy_to' destination needs 'region'");
        if (seen->external_id && !d->role_arn)
                loader_error(l, seen->external_id, "'external_id' goes with 'role_arn'");
        if (d->kms_key_id && !d->encrypted)
                /* CopyImage: "If you specify KmsKeyId, you must also set Encrypted to true." */
                loader_error(l, seen->kms_key_id, "'kms_key_id' needs 'encrypted: true' (EC2 refuses a key "
                             "for an unencrypted copy)");
        else if (d->kms_key_id && (problem = kms_key_problem(d->kms_key_id, d->region)))
                loader_error(l, seen->kms_key_id, "'kms_key_id' '%s' is not a KMS key of %s: %s",
                             d->kms_key_id, d->region ?: "the destination", problem);
}

static int parse_destination(loader *l, policy *p, const cnode *n) {
        _cleanup_(freep) centry *e = NULL;
        copy_destination *d;
        copy_seen seen = {};
        size_t n_e = 0;
        int r;

        r = cvalue_mapping(l, n, "copy_to", &e, &n_e);
        if (r < 0)
                return r;
        d = reallocarray(p->copy_to, p->n_copy_to + 1, sizeof(copy_destination));
        if (!d)
                return (l->oom = -ENOMEM);
        p->copy_to = d;
        d = &d[p->n_copy_to++];
        *d = (copy_destination) { .pos = { .file = l->file, .line = n->line, .column = n->column } };
        for (size_t i = 0; i < n_e; i++)
                parse_copy_key(l, d, &e[i], &seen);
        check_destination(l, d, n, &seen);
        return l->oom;
}

int config_copy_to_parse(loader *l, policy *p, const cnode *n) {
        if (cnode_is_null(n))
                return 0;
        if (!cvalue_expect(l, n, CNODE_SEQUENCE, "copy_to"))
                return -EINVAL;
        if (n->n_items > COPY_TO_MAX) {
                loader_error(l, n, "'copy_to' has %zu destinations, at most %d are allowed", n->n_items, COPY_TO_MAX);
                return -EINVAL;
        }
        for (size_t i = 0; i < n->n_items; i++)
                if (parse_destination(l, p, n->items[i]) == -ENOMEM)
                        return -ENOMEM;
        return 0;
}

/* The account a destination copies into: its role's, else the policy's (its role's, or ""
 * for the base credentials, whose account is known only at run time). */
static const char *destination_account(const policy *p, const copy_destination *d, char buf[static 13]) {
        return aws_role_arn_account(d->role_arn ?: p->role_arn, buf) ? buf : "";
}

void config_copy_to_check(loader *l, const policy *p) {
        char own[13], a[13], b[13];
        const char *own_account = aws_role_arn_account(p->role_arn, own) ? own : "";

        for (size_t i = 0; i < p->n_copy_to; i++) {
                const copy_destination *d = &p->copy_to[i];
                const char *account = destination_account(p, d, a);
                const cnode at = { .line = d->pos.line, .column = d->pos.column }, *n = &at;

                if (!d->region)
                        continue;
                /* A copy keeps its source's name, and names are unique per account and region:
                 * a copy beside its source would be InvalidAMIName.Duplicate, and it would
                 * protect nothing that the source does not. */
                if ((!d->role_arn || (*own_account && streq(account, own_account))) &&
                    strv_contains(p->regions, d->region))
                        loader_error(l, n, "'copy_to' region '%s' is one of the policy's own regions in "
                                     "the same account: a copy there would duplicate its source "
                                     "(copy to another region, or to another account with 'role_arn')",
                                     d->region);
                for (size_t j = 0; j < i; j++)
                        if (streq_ptr(p->copy_to[j].region, d->region) &&
                            streq(destination_account(p, &p->copy_to[j], b), account)) {
                                loader_error(l, n, "'copy_to' lists region '%s'%s%s twice", d->region,
                                             *account ? " in account " : "", account);
                                break;
                        }
        }
}
