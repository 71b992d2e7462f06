/* SPDX-License-Identifier: MIT */
/*
 * The role-chaining step of the chain: a profile with role_arn and either
 * source_profile (that profile's credentials, itself possibly a role) or
 * credential_source (Environment, Ec2InstanceMetadata, EcsContainer), as the CLI
 * and botocore's AssumeRoleProvider do it:
 *
 *   [profile ops]                     [profile base]
 *   role_arn = arn:aws:iam::...       aws_access_key_id = ...
 *   source_profile = base
 *   external_id, role_session_name, duration_seconds: optional
 *
 * The source is a chain of its own (creds-chain.c) for the source profile, or a
 * chain restricted to the one credential_source; STS AssumeRole on its keys is
 * creds-sts.c's provider, which caches and refreshes the role's keys. They are
 * built at the first resolution and kept: a refresh asks the role provider again,
 * which asks its source again only when the source's keys need it. A profile that
 * names itself as source_profile uses its own static keys (botocore does so too);
 * a longer circle stops after CREDS_ROLE_MAX_DEPTH roles with an error.
 */
#include <stdio.h>
#include <strings.h>

#include "client.h"
#include "creds-internal.h"

#define CREDS_ROLE_MAX_DEPTH 5

static void role_fail(creds_provider *p, int r, const char *fmt, ...) _printf_(3, 4);
static void role_fail(creds_provider *p, int r, const char *fmt, ...) {
        _cleanup_(freep) char *why = NULL;
        aws_error err = {};
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf_safe(&why, fmt, ap) < 0)
                why = NULL;
        va_end(ap);
        aws_error_setf(&err, "%s", why ?: "out of memory");
        creds_provider_resolved(p, r, NULL, NULL, &err);
        aws_error_done(&err);
}

static void on_role(int r, const aws_credentials *c, const aws_error *err, void *userdata) {
        _cleanup_(aws_error_done) aws_error e = {};
        creds_provider *p = userdata;
        aws_credentials *copy = NULL;

        p->role.wait = NULL;
        if (r < 0) {
                if (!err || aws_error_set(&e, err->status, err->code, err->message, err->request_id) < 0)
                        aws_error_setf(&e, "%s", strerror(-r));
                creds_provider_resolved(p, r, NULL, NULL, &e);
                return;
        }
        r = aws_credentials_copy(c, &copy);
        if (r < 0) {
                role_fail(p, r, "out of memory");
                return;
        }
        creds_provider_resolved(p, 0, copy, "assume-role", NULL);
}

static creds_source credential_source_from_string(const char *s) {
        /* botocore's CanonicalNameCredentialSourcer: compared case-insensitively. */
        if (strcasecmp(s, "Environment") == 0)
                return CREDS_SOURCE_ENV;
        if (strcasecmp(s, "Ec2InstanceMetadata") == 0)
                return CREDS_SOURCE_IMDS;
        if (strcasecmp(s, "EcsContainer") == 0)
                return CREDS_SOURCE_CONTAINER;
        return _CREDS_SOURCE_INVALID;
}

/* The source's provider: 0, or <0 with the error already resolved on p. */
static int role_new_base(creds_provider *p, const aws_shared_files *f, creds_chain_new new_chain) {
        const char *src = creds_profile_get(f, "source_profile"), *cs = creds_profile_get(f, "credential_source");
        creds_options o = { .profile = src };
        creds_source only = 0;
        int r;

        if (!src && !cs) {
                role_fail(p, -EINVAL, "profile '%s' has role_arn but neither source_profile nor credential_source",
                          f->profile);
                return -EINVAL;
        }
        if (src && cs) {
                role_fail(p, -EINVAL, "profile '%s' has both source_profile and credential_source", f->profile);
                return -EINVAL;
        }
        if (p->role.depth + 1 >= CREDS_ROLE_MAX_DEPTH) {
                role_fail(p, -ELOOP, "profile '%s': source_profile goes round in a circle or more than %d roles deep",
                          f->profile, CREDS_ROLE_MAX_DEPTH);
                return -ELOOP;
        }
        if (cs) {
                only = credential_source_from_string(cs);
                if ((int) only < 0) {
                        role_fail(p, -EINVAL, "profile '%s': credential_source '%s' is not Environment, "
                                  "Ec2InstanceMetadata or EcsContainer", f->profile, cs);
                        return -EINVAL;
                }
                o.profile = NULL;
        } else if (!aws_shared_profile_exists(f, src)) {
                role_fail(p, -ENOENT, "profile '%s': source_profile '%s' does not exist", f->profile, src);
                return -ENOENT;
        }

        r = new_chain(p->chain.http, &o, &p->role.base);
        if (r < 0) {
                role_fail(p, r, "cannot set up the source of profile '%s': %s", f->profile, strerror(-r));
                return r;
        }
        p->role.base->role.depth = p->role.depth + 1;
        p->role.base->role.only = only;
        p->role.base->role.static_only = src && streq(src, f->profile);
        return 0;
}

static int parse_duration(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        if (!s) {
                *ret = 0;
                return 0;
        }
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > 43200)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int role_build(creds_provider *p, const aws_shared_files *f, creds_chain_new new_chain) {
        const char *role_arn = creds_profile_get(f, "role_arn"), *bad;
        const char *session = creds_profile_get(f, "role_session_name");
        const char *external_id = creds_profile_get(f, "external_id");
        _cleanup_(freep) char *region = NULL, *url = NULL;
        aws_client_options co = { .service = "sts" };
        const char *why = NULL;
        unsigned duration;
        int r;

        if (parse_duration(creds_profile_get(f, "duration_seconds"), &duration) < 0) {
                role_fail(p, -EINVAL, "profile '%s': duration_seconds is not a number of seconds", f->profile);
                return -EINVAL;
        }
        bad = creds_assume_role_check(role_arn, session, external_id, duration);
        if (bad) {
                role_fail(p, -EINVAL, "profile '%s': %s", f->profile, bad);
                return -EINVAL;
        }
        if (!p->chain.http) {
                role_fail(p, -EOPNOTSUPP, "profile '%s': cannot assume role '%s' without an HTTP client",
                          f->profile, role_arn);
                return -EOPNOTSUPP;
        }
        r = creds_sts_endpoint(f->profile, &region, &url, &why);
        if (r < 0) {
                role_fail(p, r, "profile '%s': %s: %s", f->profile, why, strerror(-r));
                return r;
        }
        r = role_new_base(p, f, new_chain);
        if (r < 0)
                return r;
        co.region = region;
        co.endpoint_url = url;
        r = aws_client_new(p->chain.http, p->role.base, &co, &p->role.sts);
        if (r >= 0)
                r = creds_provider_new_assume_role(p->role.sts, role_arn, session, external_id, duration,
                                                   &p->role.role);
        if (r < 0) {
                role_fail(p, r, "profile '%s': cannot set up AssumeRole: %s", f->profile, strerror(-r));
                creds_role_done(p);
                return r;
        }
        return 0;
}

void creds_role_start(creds_provider *p, const aws_shared_files *f, creds_chain_new new_chain) {
        int r;

        if (!p->role.role && role_build(p, f, new_chain) < 0)
                return;
        r = creds_provider_get(p->role.role, on_role, p, &p->role.wait);
        if (r < 0)
                role_fail(p, r, "cannot ask for the role's credentials: %s", strerror(-r));
}

void creds_role_cancel(creds_provider *p) {
        creds_wait_cancel(TAKE_PTR(p->role.wait));
}

void creds_role_done(creds_provider *p) {
        creds_role_cancel(p);
        p->role.role = creds_provider_free(p->role.role);
        p->role.sts = aws_client_free(p->role.sts);
        p->role.base = creds_provider_free(p->role.base);
}
