/* SPDX-License-Identifier: MIT */
/*
 * What the credential provider's files share: creds.c holds the provider (waits,
 * cache, refresh, dispatch from the loop), creds-chain.c the default chain's
 * synchronous sources, creds-imds.c its IMDSv2 step, creds-sts.c the AssumeRole
 * provider, creds-parse.c the pure parsers. Not for other modules.
 */
#pragma once

#include <systemd/sd-event.h>

#include "creds.h"

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
                aws_client *client;     /* borrowed */
                aws_call *call;
                char *role_arn, *session_name, *external_id;
                unsigned duration;
        } sts;
};

/* Wipes and frees a string that may hold a secret. */
static inline void erase_and_free(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}
static inline void erase_and_freep(char **s) {
        erase_and_free(*s);
}

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

/* The IMDS step of the chain (creds-imds.c): see creds_imds_failed. */
void creds_imds_start(creds_provider *p, creds_imds_failed failed);
void creds_imds_cancel(creds_provider *p);
void creds_imds_done(creds_provider *p);
