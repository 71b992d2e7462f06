/* SPDX-License-Identifier: MIT */
/*
 * What the credential provider's files share: creds.c holds the provider (waits,
 * cache, refresh, dispatch from the loop), creds-chain.c the default chain's
 * synchronous sources, creds-imds.c its IMDSv2 step, creds-process.c its
 * credential_process step, creds-container.c its container-credentials step,
 * creds-webid.c its web-identity step, creds-role.c its role-chaining step,
 * creds-sts.c the AssumeRole provider, creds-parse.c the pure parsers. Not for
 * other modules.
 */
#pragma once

#include <libxml/tree.h>
#include <systemd/sd-event.h>

#include "creds.h"
#include "profile.h"

typedef struct aws_call aws_call;

/* The IMDS step of the chain (creds-imds.c), below the chain: it resolves p itself with
 * the keys it fetched, or hands a note on why it could not to failed(), which the chain
 * owns (the chain's last source decides what "no credentials" says). */
typedef void (*creds_imds_failed)(creds_provider *p, const char *note);

typedef struct creds_provider_vtable {
        /* Starts a resolution that ends with exactly one creds_provider_resolved(),
         * possibly before it returns. */
        void (*resolve)(creds_provider *p);
        /* Stops a resolution in flight without resolving. */
        void (*cancel)(creds_provider *p);
        /* Frees the kind's own fields. */
        void (*done)(creds_provider *p);
} creds_provider_vtable;

struct creds_wait {
        creds_provider *provider;
        creds_callback callback;
        void *userdata;
        creds_wait *prev, *next;
};

struct creds_provider {
        const creds_provider_vtable *vtable;
        sd_event *event;
        sd_event_source *defer;         /* answers waits from the loop */

        aws_credentials *cached;
        const char *source;             /* static string, NULL before the first */
        int result;                     /* of the last resolution */
        aws_error error;                /* of the last failed resolution */
        time_t last_attempt;            /* when the last resolution started */
        bool resolving, dispatching, free_requested;

        time_t (*now)(void *userdata);
        void *now_userdata;

        creds_wait *waits, *waits_tail;

        struct {
                http_client *http;      /* borrowed; NULL: no IMDS */
                char *access_key_id, *secret_access_key, *session_token, *profile, *credentials_file;
                bool credentials_file_named;
                strbuf tried;           /* "not configured, AWS_ACCESS_KEY_ID unset, ..." */
        } chain;

        struct {
                http_call *call;
                unsigned step;
                char *endpoint;
                char *token_header;     /* "X-aws-ec2-metadata-token: ..." */
                char *role;
                creds_imds_failed failed;
        } imds;

        struct {
                pid_t pid;              /* 0: none running */
                int pidfd, out_fd, err_fd;
                sd_event_source *exit_source, *out_source, *err_source, *timer;
                strbuf out;             /* the keys: wiped */
                strbuf err;             /* the first line of stderr, for the message */
                char *what;             /* "credential_process of profile 'x' (program)" */
                bool timed_out, too_long;
        } process;

        struct {
                http_call *call;
                char *role_arn;
        } webid;

        struct {
                creds_provider *base;   /* the source profile's chain or the credential_source */
                aws_client *sts;        /* on base */
                creds_provider *role;   /* AssumeRole on sts */
                creds_wait *wait;
                unsigned depth;         /* of this chain under role steps: a circle stops */
                bool static_only;       /* the profile names itself as source: its keys */
                creds_source only;      /* credential_source's one source; 0 (explicit): all */
        } role;

        struct {
                http_call *call;
                char *url;
                char *auth_header;      /* "Authorization: ...": wiped */
        } container;

        struct {
                aws_client *client;     /* borrowed */
                aws_call *call;
                char *role_arn, *session_name, *external_id;
                unsigned duration;
        } sts;
};

/* The provider's creation and clock, shared by both kinds. */
int creds_provider_alloc(sd_event *event, const creds_provider_vtable *vtable, creds_provider **ret);
time_t creds_provider_now(creds_provider *p);

/*
 * Ends a resolution: r >= 0 with c (taken) from source, or r < 0 with err
 * (moved from). Answers every wait from the loop.
 */
void creds_provider_resolved(creds_provider *p, int r, aws_credentials *c, const char *source, aws_error *err);

/* Builds credentials from copies of the strings (session_token may be NULL). */
int creds_new(const char *access_key_id, const char *secret_access_key, const char *session_token,
              time_t expiration, aws_credentials **ret);

/* What the INI parser found in the sections asked for. */
typedef enum ini_result {
        INI_FOUND,
        INI_NO_SECTION,
        INI_NO_KEYS,
        INI_NO_SECRET,          /* aws_access_key_id without aws_secret_access_key */
        INI_NO_KEY_ID,          /* aws_secret_access_key without aws_access_key_id */
} ini_result;

/*
 * Merges every section of text whose header is one of sections (NULL-terminated;
 * "default", "name", "profile name"), later keys winning. Returns -ENOMEM or 0
 * with *ret_result, and *ret set when INI_FOUND.
 */
int creds_ini_lookup(const char *text, size_t size, const char *const *sections,
                     ini_result *ret_result, aws_credentials **ret);

/* Which source the chain takes (creds-describe.c), with the shared files it read for it
 * (*ret_files is filled even on failure; aws_shared_files_done() it). */
int creds_describe_with_files(const creds_options *o, aws_shared_files *ret_files, creds_source *ret_source,
                              char **ret_description);
/* A profile's setting from the credentials file ([NAME]) or, failing that, the config file. */
const char *creds_profile_get(const aws_shared_files *f, const char *key);

/* The credential_process step of the chain (creds-process.c): runs command, resolves p
 * with its keys or with why not. what names it in messages ("credential_process of ..."). */
void creds_process_start(creds_provider *p, const char *command, const char *what);
void creds_process_cancel(creds_provider *p);

/* STS's answer to action ("AssumeRole", "AssumeRoleWithWebIdentity"): its Credentials. */
/* An answer's Expiration (ISO 8601): -EBADMSG when unreadable or not after 1970. */
int creds_expiration_parse(const char *s, time_t *ret);
int creds_sts_parse(const xmlDoc *doc, const char *action, aws_credentials **ret, aws_error *err);

/* The web-identity step of the chain (creds-webid.c): STS AssumeRoleWithWebIdentity, unsigned,
 * with the token read from token_file; session_name NULL: "amirotd-<pid>". Resolves p. */
void creds_webid_start(creds_provider *p, const char *token_file, const char *role_arn, const char *session_name);
void creds_webid_cancel(creds_provider *p);

/* STS's region and endpoint URL as the SDK settings of profile give them (creds-webid.c):
 * AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1. */
int creds_sts_endpoint(const char *profile, char **ret_region, char **ret_url, const char **ret_why);

/* The role-chaining step of the chain (creds-role.c): a profile's role_arn on top of its
 * source_profile's credentials or its credential_source, by STS AssumeRole. new_chain is
 * creds_provider_new_chain(), handed in so that the step need not call back into the chain's file. */
typedef int (*creds_chain_new)(http_client *http, const creds_options *o, creds_provider **ret);
void creds_role_start(creds_provider *p, const aws_shared_files *f, creds_chain_new new_chain);
void creds_role_cancel(creds_provider *p);
void creds_role_done(creds_provider *p);

/* The container-credentials step of the chain (creds-container.c): resolves p with the
 * keys of AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI, or with why not. */
void creds_container_start(creds_provider *p);
void creds_container_cancel(creds_provider *p);

/* The IMDS step of the chain (creds-imds.c): see creds_imds_failed. */
void creds_imds_start(creds_provider *p, creds_imds_failed failed);
/* The answers' pure parsers: the session token (printable, at most 4096 bytes, trailing
 * white space dropped) and the role name (the first line, an IAM role name). 0, -ENOENT
 * (no role), -EBADMSG with *ret_why, or -ENOMEM. */
int creds_imds_parse_token(const char *body, size_t size, char **ret, const char **ret_why);
int creds_imds_parse_role(const char *body, size_t size, char **ret, const char **ret_why);
void creds_imds_cancel(creds_provider *p);
void creds_imds_done(creds_provider *p);
