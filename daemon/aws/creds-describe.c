/* SPDX-License-Identifier: MIT */
/*
 * Which credential source the SDKs' chain would use here, decided without
 * contacting AWS: botocore's create_credential_resolver() order (1.29,
 * credentials.py): env, assume-role (a profile with role_arn and source_profile
 * or credential_source), assume-role-with-web-identity (the profile's or
 * AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), sso, shared-credentials-file,
 * custom-process (credential_process), config-file, container-role
 * (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI), iam-role (IMDS). An
 * explicitly named profile (amirotd.yaml's `profile`) drops env, as botocore's
 * session profile does. amirotd adds its own two in front: the keys of
 * amirotd.yaml and systemd's $CREDENTIALS_DIRECTORY/aws-credentials.
 *
 * `amirotd check` prints the answer, the chain (creds-chain.c) uses it to refuse
 * what it cannot serve yet rather than fall through to another identity, and
 * tests/oracle compares the name with botocore's Credentials.method.
 */
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

#include "creds-internal.h"
#include "profile.h"

static const char *const source_names[_CREDS_SOURCE_MAX] = {
        [CREDS_SOURCE_EXPLICIT] = "explicit",
        [CREDS_SOURCE_ENV] = "env",
        [CREDS_SOURCE_SYSTEMD] = "systemd-credentials",
        [CREDS_SOURCE_ASSUME_ROLE] = "assume-role",
        [CREDS_SOURCE_WEB_IDENTITY] = "assume-role-with-web-identity",
        [CREDS_SOURCE_SSO] = "sso",
        [CREDS_SOURCE_SHARED_CREDENTIALS_FILE] = "shared-credentials-file",
        [CREDS_SOURCE_PROCESS] = "custom-process",
        [CREDS_SOURCE_CONFIG_FILE] = "config-file",
        [CREDS_SOURCE_CONTAINER] = "container-role",
        [CREDS_SOURCE_IMDS] = "iam-role",
        [CREDS_SOURCE_NONE] = "none",
};

const char *creds_source_to_string(creds_source s) {
        return s >= 0 && s < _CREDS_SOURCE_MAX ? source_names[s] : NULL;
}

/* Sources amirotd serves; the others are recognised, named, and refused. */
bool creds_source_supported(creds_source s) {
        return s == CREDS_SOURCE_EXPLICIT || s == CREDS_SOURCE_ENV || s == CREDS_SOURCE_SYSTEMD ||
               s == CREDS_SOURCE_SHARED_CREDENTIALS_FILE || s == CREDS_SOURCE_PROCESS || s == CREDS_SOURCE_CONFIG_FILE ||
               s == CREDS_SOURCE_CONTAINER || s == CREDS_SOURCE_WEB_IDENTITY ||
               s == CREDS_SOURCE_ASSUME_ROLE ||
               s == CREDS_SOURCE_IMDS || s == CREDS_SOURCE_NONE;
}

const char *creds_profile_get(const aws_shared_files *f, const char *key) {
        return aws_profile_get(f->credentials, f->profile, key, NULL) ?: aws_shared_config_get(f, f->profile, key);
}

static int found(creds_source s, char **ret, const char *fmt, ...) _printf_(3, 4);
static int found(creds_source s, char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf_safe(ret, fmt, ap);
        va_end(ap);
        return r < 0 ? r : (int) s;
}

/* The profile's own sources, in botocore's order; _CREDS_SOURCE_MAX when it has none. */
static int describe_profile(const aws_shared_files *f, bool env_allowed, char **ret) {
        const char *role = creds_profile_get(f, "role_arn"), *web = creds_profile_get(f, "web_identity_token_file");
        const char *v;

        if (role && !web) {
                const char *src = creds_profile_get(f, "source_profile"), *cs = creds_profile_get(f, "credential_source");

                return found(CREDS_SOURCE_ASSUME_ROLE, ret, "role %s of profile '%s' with %s %s", role, f->profile,
                             src ? "the credentials of profile" : cs ? "credential_source" : "no source_profile or",
                             src ?: cs ?: "credential_source");
        }
        /* botocore's web-identity provider reads the variables only when no profile was named
         * explicitly (disable_env_vars), and then each one before the profile's key. */
        v = (env_allowed ? aws_getenv("AWS_WEB_IDENTITY_TOKEN_FILE") : NULL) ?: web;
        role = (env_allowed ? aws_getenv("AWS_ROLE_ARN") : NULL) ?: role;
        if (v && role)
                return found(CREDS_SOURCE_WEB_IDENTITY, ret, "role %s with the token in %s", role, v);
        if (creds_profile_get(f, "sso_start_url") || creds_profile_get(f, "sso_session"))
                return found(CREDS_SOURCE_SSO, ret, "IAM Identity Center (SSO) of profile '%s'", f->profile);
        if (aws_profile_get(f->credentials, f->profile, "aws_access_key_id", NULL))
                return found(CREDS_SOURCE_SHARED_CREDENTIALS_FILE, ret, "[%s] in %s", f->profile, f->credentials_path);
        if ((v = creds_profile_get(f, "credential_process")))
                /* The command line may carry arguments; its first word is enough to say which. */
                return found(CREDS_SOURCE_PROCESS, ret, "credential_process of profile '%s' (%.*s)", f->profile,
                             (int) strcspn(v, " \t"), v);
        if (aws_shared_config_get(f, f->profile, "aws_access_key_id"))
                return found(CREDS_SOURCE_CONFIG_FILE, ret, "profile '%s' in %s", f->profile, f->config_path);
        return _CREDS_SOURCE_MAX;
}

static bool systemd_file_exists(const char *dir) {
        _cleanup_(freep) char *path = NULL;

        return asprintf_safe(&path, "%s/aws-credentials", dir) >= 0 && access(path, F_OK) >= 0;
}

int creds_describe_source(const creds_options *o, creds_source *ret_source, char **ret_description) {
        _cleanup_(aws_shared_files_done) aws_shared_files f = {};

        return creds_describe_with_files(o, &f, ret_source, ret_description);
}

int creds_describe_with_files(const creds_options *o, aws_shared_files *f, creds_source *ret_source,
                              char **ret_description) {
        const char *v;
        int r;

        *ret_description = NULL;
        if (o && !isempty(o->access_key_id))
                r = found(CREDS_SOURCE_EXPLICIT, ret_description, "the keys in the configuration");
        else if ((!o || isempty(o->profile)) && aws_getenv("AWS_ACCESS_KEY_ID"))
                r = found(CREDS_SOURCE_ENV, ret_description, "AWS_ACCESS_KEY_ID");
        else if ((v = aws_getenv("CREDENTIALS_DIRECTORY")) && systemd_file_exists(v))
                r = found(CREDS_SOURCE_SYSTEMD, ret_description, "%s/aws-credentials", v);
        else {
                r = aws_shared_files_load(o ? o->profile : NULL, f);
                if (r < 0)
                        return r;
                r = describe_profile(f, !o || isempty(o->profile), ret_description);
                if (r == _CREDS_SOURCE_MAX) {
                        const char *rel = aws_getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
                        const char *full = aws_getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");

                        v = getenv("AWS_EC2_METADATA_DISABLED");
                        if (rel || full)
                                r = found(CREDS_SOURCE_CONTAINER, ret_description, "%s%s", rel ? "http://169.254.170.2" : "",
                                          rel ?: full);
                        else if (v && strcasecmp(v, "true") == 0)
                                r = found(CREDS_SOURCE_NONE, ret_description, "none (IMDS disabled by AWS_EC2_METADATA_DISABLED)");
                        else
                                r = found(CREDS_SOURCE_IMDS, ret_description,
                                          "the instance profile, from IMDSv2 (no IMDSv1 fallback)");
                }
        }
        if (r < 0)
                return r;
        *ret_source = (creds_source) r;
        return 0;
}
