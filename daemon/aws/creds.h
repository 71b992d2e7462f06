/* SPDX-License-Identifier: MIT */
/*
 * Where the AWS keys come from, tried in this order, the first that has keys
 * wins: explicit configuration; AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
 * (/AWS_SESSION_TOKEN); systemd credentials ($CREDENTIALS_DIRECTORY/aws-credentials,
 * shared-credentials format, for LoadCredential=); the configuration's
 * credentials_file, read directly (the command line as root); the shared files
 * (~/.aws/credentials, ~/.aws/config with [profile x], AWS_PROFILE,
 * AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE); IMDSv2. Temporary credentials
 * are refreshed before they expire. An AssumeRole provider stacks on any other.
 */
#pragma once

#include <stdbool.h>

#include "base/util.h"
#include "error.h"
#include "http.h"
#include "sigv4.h"

typedef struct creds_provider creds_provider;
typedef struct creds_wait creds_wait;
typedef struct aws_client aws_client;

typedef struct creds_options {
        const char *access_key_id;      /* explicit configuration; all three NULL when unset */
        const char *secret_access_key;
        const char *session_token;
        const char *profile;            /* NULL: $AWS_PROFILE, else "default" */
        const char *credentials_file;   /* a shared-credentials file of the configuration (NULL: none),
                                         * read after $CREDENTIALS_DIRECTORY/aws-credentials, which is
                                         * the same file passed in by LoadCredential= under systemd */
        bool credentials_file_named;    /* named explicitly: missing or unreadable is an error */
} creds_options;

/*
 * The default chain. http is borrowed (used for IMDS) and must outlive the
 * provider; it may be NULL, then IMDS is not tried and the provider runs on
 * sd_event_default(). o may be NULL; its strings are copied.
 *
 * A failure that must not be papered over by a later source stops the chain:
 * one key without the other (explicit, environment or file), and a profile
 * named by o->profile or AWS_PROFILE that no file has. Temporary credentials
 * are refreshed by running the chain again.
 */
int creds_provider_new_chain(http_client *http, const creds_options *o, creds_provider **ret);

/*
 * STS AssumeRole on top of the credentials of `sts` (an aws_client for service
 * "sts", borrowed). session_name NULL: "amirotd-<pid>"; external_id may be NULL;
 * duration_seconds 0: 3600.
 */
int creds_provider_new_assume_role(aws_client *sts, const char *role_arn, const char *session_name,
                                   const char *external_id, unsigned duration_seconds, creds_provider **ret);

/*
 * Checks the AssumeRole parameters as creds_provider_new_assume_role() does
 * (which returns -EINVAL for them): NULL when valid, else a static message
 * saying what is wrong, for the config layer that knows file:line:col.
 */
const char *creds_assume_role_check(const char *role_arn, const char *session_name,
                                    const char *external_id, unsigned duration_seconds);

creds_provider *creds_provider_free(creds_provider *p);  /* cancels waits without calling back */
DEFINE_TRIVIAL_CLEANUP_FUNC(creds_provider *, creds_provider_free);

/*
 * Called from the event loop (never from inside creds_provider_get()) with
 * r = 0 and valid credentials (borrowed, valid during the callback), or r < 0
 * and err saying which source failed and why (never a secret): -ENOKEY when no
 * source had keys (the message lists each one tried), -EINVAL for half a key
 * pair, -EREMOTEIO with STS's code for a refused AssumeRole.
 */
typedef void (*creds_callback)(int r, const aws_credentials *c, const aws_error *err, void *userdata);

/*
 * Cached credentials that are not within 5 minutes of expiring are answered
 * without I/O. Gets while a resolution is in flight wait for it. ret_wait may
 * be NULL; a wait is freed once its callback has been called.
 */
int creds_provider_get(creds_provider *p, creds_callback cb, void *userdata, creds_wait **ret_wait);
void creds_wait_cancel(creds_wait *w);  /* accepts NULL; the callback is never called */

/* The loop the provider's timers and requests run on. */
sd_event *creds_provider_get_event(const creds_provider *p);

/* Forget cached credentials (after AuthFailure or ExpiredToken), so the next get resolves anew. */
void creds_provider_invalidate(creds_provider *p);

/* The source of the last credentials: "explicit", "environment", "systemd-credentials", "credentials-file",
 * "shared-credentials-file", "shared-config-file", "imds", "assume-role"; NULL before the first. */
const char *creds_provider_source(const creds_provider *p);

/* The wall clock (seconds) used for expiry decisions; for tests. now NULL: time(). */
void creds_provider_set_clock(creds_provider *p, time_t (*now)(void *userdata), void *userdata);

/* The sources of the SDKs' chain, named as botocore's Credentials.method names them. */
typedef enum creds_source {
        CREDS_SOURCE_EXPLICIT,                  /* amirotd.yaml's credentials */
        CREDS_SOURCE_ENV,
        CREDS_SOURCE_SYSTEMD,                   /* $CREDENTIALS_DIRECTORY/aws-credentials */
        CREDS_SOURCE_ASSUME_ROLE,               /* profile: role_arn + source_profile / credential_source */
        CREDS_SOURCE_WEB_IDENTITY,
        CREDS_SOURCE_SSO,
        CREDS_SOURCE_SHARED_CREDENTIALS_FILE,
        CREDS_SOURCE_PROCESS,                   /* credential_process */
        CREDS_SOURCE_CONFIG_FILE,
        CREDS_SOURCE_CONTAINER,
        CREDS_SOURCE_IMDS,
        CREDS_SOURCE_NONE,                      /* IMDS disabled, nothing else */
        _CREDS_SOURCE_MAX,
        _CREDS_SOURCE_INVALID = -EINVAL,
} creds_source;

const char *creds_source_to_string(creds_source s);
bool creds_source_supported(creds_source s);

/*
 * Which source the default chain would take for o, without contacting AWS or any
 * endpoint (creds-describe.c), and a line for operators saying which file, profile,
 * role or URL: never a key. Returns 0 or -ENOMEM.
 */
int creds_describe_source(const creds_options *o, creds_source *ret_source, char **ret_description);

/*
 * Pure parser of the shared-credentials / config INI format (exposed for tests and the fuzzer).
 * Looks up `section` ("default", "profile x"; in section headers the blanks after
 * "profile" and around the name do not matter); junk lines are skipped, not fatal;
 * a repeated section or key: the later key wins. Returns -ENOENT when the section or
 * its keys are missing, -EINVAL when it has one of the two keys without the other.
 */
int creds_parse_ini(const char *text, size_t size, const char *section, aws_credentials **ret);

/*
 * Pure parser of the IMDS answer for a role's credentials:
 * {"Code": "Success", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"}.
 * Returns -EBADMSG for malformed or incomplete JSON, -EREMOTEIO when Code is not
 * "Success" (ret_error->code holds it); ret_error->message says what (never a secret).
 */
int creds_parse_imds_json(const char *text, size_t size, aws_credentials **ret, aws_error *ret_error);

/*
 * Pure parser of a credential_process's output: {"Version": 1, "AccessKeyId",
 * "SecretAccessKey", "SessionToken"?, "Expiration"?}; no Expiration: keys that do
 * not expire. -EBADMSG with ret_error->message (never a secret) when malformed.
 */
int creds_parse_process_json(const char *text, size_t size, aws_credentials **ret, aws_error *ret_error);

/*
 * Splits credential_process's command line into argv as botocore does (Python's
 * shlex.split(), POSIX rules, no shell). -EINVAL for an unclosed quote or a trailing
 * backslash, -ENOENT when there is no word.
 */
int creds_process_split(const char *command, char ***ret);

/* Pure parser of the container endpoint's answer (ECS, EKS Pod Identity): as the IMDS one. */
int creds_parse_container_json(const char *text, size_t size, aws_credentials **ret, aws_error *ret_error);

/*
 * Whether AWS_CONTAINER_CREDENTIALS_FULL_URI may be asked for keys, by botocore's
 * rules (ContainerMetadataFetcher): http or https to a loopback address, localhost,
 * 169.254.170.2 (ECS), 169.254.170.23 or fd00:ec2::23 (EKS Pod Identity). 0, -EPERM for
 * another host, -EINVAL for what is not such a URL.
 */
int creds_container_url_check(const char *url);
