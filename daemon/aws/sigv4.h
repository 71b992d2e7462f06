/* SPDX-License-Identifier: MIT */
/*
 * AWS Signature Version 4 (OpenSSL HMAC-SHA256/SHA-256), as specified in
 * "Create a signed AWS API request" of the IAM user guide. Pure: no I/O, the
 * time is a parameter.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/util.h"

typedef struct aws_credentials {
        char *access_key_id;
        char *secret_access_key;
        char *session_token;    /* NULL for long-term keys */
        time_t expiration;      /* 0: does not expire */
} aws_credentials;

aws_credentials *aws_credentials_free(aws_credentials *c);  /* wipes the secret and the token */
DEFINE_TRIVIAL_CLEANUP_FUNC(aws_credentials *, aws_credentials_free);
int aws_credentials_copy(const aws_credentials *c, aws_credentials **ret);

typedef struct sigv4_header {
        const char *name;       /* any case; signed lower-cased */
        const char *value;      /* trimmed, inner runs of spaces collapsed, as the spec says */
} sigv4_header;

typedef struct sigv4_request {
        const char *method;             /* "POST" */
        const char *host;               /* the Host header exactly as sent: "ec2.us-east-1.amazonaws.com", "127.0.0.1:8080" */
        const char *path;               /* as sent ("/", already encoded), or NULL for "/"; it is
                                         * normalized and encoded once more, as SigV4 wants */
        const char *query;              /* raw query string as sent, without '?', or NULL; it is
                                         * form-decoded ('+' is a space) and re-encoded */
        const sigv4_header *headers;    /* further headers to sign (e.g. content-type); host,
                                         * x-amz-date and x-amz-security-token are added by sigv4_sign */
        size_t n_headers;
        const void *payload;
        size_t payload_size;
        const char *region;             /* "us-east-1" */
        const char *service;            /* "ec2", "sts" */
        time_t now;
} sigv4_request;

typedef struct sigv4_result {
        char amz_date[17];              /* X-Amz-Date: "20261126T145500Z" */
        char *authorization;            /* Authorization header value */
} sigv4_result;

void sigv4_result_done(sigv4_result *r);

/*
 * Caches the derived signing key per (date, region, service, secret), which
 * changes once a day: deriving it is four HMACs per request otherwise. Zero-init.
 */
typedef struct sigv4_key_cache {
        char date[9];
        char region[64];
        char service[32];
        unsigned char secret_digest[32];
        unsigned char key[32];
        bool valid;
} sigv4_key_cache;

void sigv4_key_cache_clear(sigv4_key_cache *c);  /* wipes the key */

/*
 * Signs req with creds. cache may be NULL. Returns -EINVAL for a malformed
 * request (an empty field, a header sigv4_sign adds itself, a bad %-escape in
 * the query, a path not starting with '/'), -ERANGE for a time outside years
 * 0-9999, -ENOMEM, -EIO when OpenSSL fails.
 */
int sigv4_sign(const sigv4_request *req, const aws_credentials *creds, sigv4_key_cache *cache, sigv4_result *ret);

/* The canonical request sigv4_sign() would sign, for tests and debugging. */
int sigv4_canonical_request(const sigv4_request *req, const aws_credentials *creds, char **ret);

/*
 * URI-encodes s as SigV4 requires: A-Z a-z 0-9 - _ . ~ stay, every other byte
 * becomes %XX in upper case; '/' stays only when encode_slash is false. Also
 * the encoding of Query-protocol form bodies.
 */
int aws_uri_encode(const char *s, bool encode_slash, char **ret);
int aws_uri_encode_append(const char *s, bool encode_slash, strbuf *b);

/* Lower-case hex SHA-256 of data into out[65]. */
void sha256_hex(const void *data, size_t size, char out[static 65]);
