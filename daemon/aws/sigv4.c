/* SPDX-License-Identifier: MIT */
/*
 * AWS Signature Version 4, following "Create a signed AWS API request" in the
 * IAM user guide step by step: canonical request, string to sign, signing key,
 * signature, Authorization header. Every request EC2 and STS accept goes
 * through here, so the output is checked in tests against botocore's SigV4Auth
 * for a table of awkward requests, and against AWS's published example.
 *
 * Where the spec leaves a choice, botocore's behaviour is followed, because that
 * is what AWS's servers are known to agree with: the path is normalized (dot
 * segments and empty segments removed) and encoded once more, the query is
 * decoded as a form (so '+' is a space) and re-encoded, and the session token
 * is a signed header. Nothing here logs, and no secret reaches an error path:
 * the secret only ever lives in HMAC key buffers, wiped after use.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <strings.h>

#include "sigv4.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

aws_credentials *aws_credentials_free(aws_credentials *c) {
        if (!c)
                return NULL;
        if (c->secret_access_key) {
                OPENSSL_cleanse(c->secret_access_key, strlen(c->secret_access_key));
                free(c->secret_access_key);
        }
        if (c->session_token) {
                OPENSSL_cleanse(c->session_token, strlen(c->session_token));
                free(c->session_token);
        }
        free(c->access_key_id);
        free(c);
        return NULL;
}

int aws_credentials_copy(const aws_credentials *c, aws_credentials **ret) {
        _cleanup_(aws_credentials_freep) aws_credentials *n = NULL;

        if (!c || !ret)
                return -EINVAL;
        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        if (strdup_or_null(c->access_key_id, &n->access_key_id) < 0 ||
            strdup_or_null(c->secret_access_key, &n->secret_access_key) < 0 ||
            strdup_or_null(c->session_token, &n->session_token) < 0)
                return -ENOMEM;
        n->expiration = c->expiration;
        *ret = TAKE_PTR(n);
        return 0;
}

void sigv4_result_done(sigv4_result *r) {
        if (!r)
                return;
        free(r->authorization);
        *r = (sigv4_result) {};
}

void sigv4_key_cache_clear(sigv4_key_cache *c) {
        if (c)
                OPENSSL_cleanse(c, sizeof(*c));
}

void sha256_hex(const void *data, size_t size, char out[static 65]) {
        static const char hex[] = "0123456789abcdef";
        unsigned char md[SHA256_DIGEST_LENGTH];

        SHA256(size > 0 ? data : (const void *) "", size, md);
        for (size_t i = 0; i < sizeof(md); i++) {
                out[2 * i] = hex[md[i] >> 4];
                out[2 * i + 1] = hex[md[i] & 15];
        }
        out[64] = 0;
}

static bool is_unreserved(unsigned char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.' || c == '~';
}

/* URI-encodes size bytes of s (which may hold NULs, from a decoded %00). */
static int uri_encode_mem(const char *s, size_t size, bool encode_slash, strbuf *b) {
        static const char hex[] = "0123456789ABCDEF";
        size_t start = 0;
        int r;

        for (size_t i = 0; i < size; i++) {
                unsigned char c = (unsigned char) s[i];
                char esc[3];

                if (is_unreserved(c) || (c == '/' && !encode_slash))
                        continue;
                r = strbuf_append(b, s + start, i - start);
                if (r < 0)
                        return r;
                esc[0] = '%';
                esc[1] = hex[c >> 4];
                esc[2] = hex[c & 15];
                r = strbuf_append(b, esc, 3);
                if (r < 0)
                        return r;
                start = i + 1;
        }
        /* Also when nothing was appended: an empty value still gives a (non-NULL) buffer. */
        return strbuf_append(b, s + start, size - start);
}

int aws_uri_encode_append(const char *s, bool encode_slash, strbuf *b) {
        if (!s || !b)
                return -EINVAL;
        return uri_encode_mem(s, strlen(s), encode_slash, b);
}

int aws_uri_encode(const char *s, bool encode_slash, char **ret) {
        strbuf b = {};
        int r;

        if (!ret)
                return -EINVAL;
        r = aws_uri_encode_append(s, encode_slash, &b);
        if (r < 0) {
                strbuf_done(&b);
                return r;
        }
        *ret = strbuf_steal(&b);
        return 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/*
 * Decodes one name or value of a query string as servers do for the Query
 * protocol (application/x-www-form-urlencoded): %XX is a byte, '+' a space.
 * botocore sends spaces in query strings as '+', and AWS reads them so.
 */
static int form_decode(const char *s, size_t size, strbuf *b) {
        int r;

        r = strbuf_append(b, "", 0);
        if (r < 0)
                return r;
        for (size_t i = 0; i < size; i++) {
                char c = s[i];

                if (c == '%') {
                        int hi, lo;

                        if (i + 2 >= size)
                                return -EINVAL;
                        hi = unhex(s[i + 1]);
                        lo = unhex(s[i + 2]);
                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        c = (char) (hi << 4 | lo);
                        i += 2;
                } else if (c == '+')
                        c = ' ';
                r = strbuf_append(b, &c, 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct query_pair {
        char *name;     /* both encoded: ASCII, so strcmp() orders them as the spec's byte order */
        char *value;
} query_pair;

static void query_pairs_free(query_pair *p, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(p[i].name);
                free(p[i].value);
        }
        free(p);
}

static int query_pair_cmp(const void *a, const void *b) {
        const query_pair *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        return c != 0 ? c : strcmp(x->value, y->value);
}

/* Decodes and re-encodes one component, so that any valid encoding on the wire signs the same. */
static int query_component(const char *s, size_t size, char **ret) {
        strbuf raw = {}, enc = {};
        int r;

        r = form_decode(s, size, &raw);
        if (r >= 0)
                r = uri_encode_mem(raw.data, raw.len, true, &enc);
        strbuf_done(&raw);
        if (r < 0) {
                strbuf_done(&enc);
                return r;
        }
        *ret = strbuf_steal(&enc);
        return 0;
}

/* "Sort the parameter names by character code point in ascending order... parameters with
 * duplicate names should be sorted by value." Empty pieces ("a=1&&b=2") are not parameters. */
static int append_canonical_query(const char *query, strbuf *b) {
        query_pair *pairs = NULL;
        size_t n = 0, cap = 0;
        int r = 0;

        for (const char *p = query ? query : ""; *p;) {
                size_t len = strcspn(p, "&");
                const char *eq = memchr(p, '=', len);
                size_t name_len = eq ? (size_t) (eq - p) : len;

                if (len > 0) {
                        if (n == cap) {
                                query_pair *np;

                                cap = cap ? cap * 2 : 16;
                                np = reallocarray(pairs, cap, sizeof(*pairs));
                                if (!np) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                pairs = np;
                        }
                        pairs[n] = (query_pair) {};
                        n++;
                        r = query_component(p, name_len, &pairs[n - 1].name);
                        if (r < 0)
                                goto fail;
                        r = eq ? query_component(eq + 1, len - name_len - 1, &pairs[n - 1].value)
                               : query_component("", 0, &pairs[n - 1].value);
                        if (r < 0)
                                goto fail;
                }
                p += len;
                if (*p == '&')
                        p++;
        }

        if (n > 0)
                qsort(pairs, n, sizeof(*pairs), query_pair_cmp);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = strbuf_printf(b, "%s%s=%s", i > 0 ? "&" : "", pairs[i].name, pairs[i].value);
fail:
        query_pairs_free(pairs, n);
        return r;
}

/*
 * The canonical URI: "the URI-encoded version of the absolute path component
 * of the URI", normalized per RFC 3986 ("Normalize URI paths according to RFC
 * 3986. Remove redundant and relative path components."). Like botocore, empty
 * segments go too, and the path as sent (already encoded) is encoded once more,
 * as every service but S3 expects.
 */
static int append_canonical_uri(const char *path, strbuf *b) {
        size_t *seg_start = NULL, n = 0, base = b->len;
        bool trailing;
        int r = 0;

        if (isempty(path))
                return strbuf_puts(b, "/");
        if (path[0] != '/')
                return -EINVAL;

        trailing = path[strlen(path) - 1] == '/';
        /* Each kept segment is appended as "/seg"; seg_start remembers where, so ".." can drop it. */
        seg_start = calloc(strlen(path) + 1, sizeof(size_t));
        if (!seg_start)
                return -ENOMEM;
        for (const char *p = path; *p;) {
                size_t len;

                p += strspn(p, "/");
                len = strcspn(p, "/");
                if (len == 0)
                        break;
                if (len == 2 && p[0] == '.' && p[1] == '.') {
                        if (n > 0) {
                                n--;
                                b->len = seg_start[n];
                                b->data[b->len] = 0;
                        }
                } else if (!(len == 1 && p[0] == '.')) {
                        seg_start[n++] = b->len;
                        r = strbuf_puts(b, "/");
                        if (r >= 0)
                                r = uri_encode_mem(p, len, true, b);
                        if (r < 0)
                                goto fail;
                }
                p += len;
        }
        if (n == 0 || trailing)
                r = strbuf_puts(b, "/");
fail:
        free(seg_start);
        if (r < 0) {
                b->len = base;
                if (b->data)
                        b->data[base] = 0;
        }
        return r;
}

typedef struct canonical_header {
        char *name;             /* lower-cased copy */
        const char *value;      /* borrowed */
        size_t index;           /* keeps repeated headers in the order given */
} canonical_header;

static int canonical_header_cmp(const void *a, const void *b) {
        const canonical_header *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        if (c != 0)
                return c;
        return x->index < y->index ? -1 : x->index > y->index;
}

static bool is_sigv4_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* "Trimall": leading and trailing whitespace removed, inner runs made one space. */
static int append_trimmed(const char *v, strbuf *b) {
        bool need_space = false;
        int r;

        for (const char *p = v; *p;) {
                size_t len;

                if (is_sigv4_space(*p)) {
                        p++;
                        continue;
                }
                for (len = 0; p[len] && !is_sigv4_space(p[len]); len++)
                        ;
                if (need_space) {
                        r = strbuf_append(b, " ", 1);
                        if (r < 0)
                                return r;
                }
                r = strbuf_append(b, p, len);
                if (r < 0)
                        return r;
                need_space = true;
                p += len;
        }
        return 0;
}

static bool header_name_is_valid(const char *name) {
        if (isempty(name))
                return false;
        /* RFC 9110 token characters. */
        for (const char *p = name; *p; p++)
                if (!(is_unreserved((unsigned char) *p) || strchr("!#$%&'*+^`|", *p)))
                        return false;
        return true;
}

static bool header_is_reserved(const char *name) {
        return strcasecmp(name, "host") == 0 || strcasecmp(name, "x-amz-date") == 0 ||
               strcasecmp(name, "x-amz-security-token") == 0 || strcasecmp(name, "authorization") == 0;
}

/*
 * Appends the canonical headers ("Lowercase(HeaderName) + ':' + Trimall(HeaderValue) + '\n'",
 * sorted by name, values of a repeated header joined by commas) to b and the signed
 * header list ("Lowercase(HeaderName) ... separated by semicolons") to signed_headers.
 */
static int append_canonical_headers(const sigv4_request *req, const char *amz_date, const char *token,
                                    strbuf *b, strbuf *signed_headers) {
        canonical_header *h;
        size_t n = 0, max = req->n_headers + 3;
        int r = 0;

        if (req->n_headers > 0 && !req->headers)
                return -EINVAL;
        h = calloc(max, sizeof(*h));
        if (!h)
                return -ENOMEM;

        for (size_t i = 0; i < req->n_headers; i++) {
                const sigv4_header *x = &req->headers[i];

                if (!header_name_is_valid(x->name) || !x->value || header_is_reserved(x->name)) {
                        r = -EINVAL;
                        goto fail;
                }
                h[n] = (canonical_header) { .name = strdup(x->name), .value = x->value, .index = n };
                if (!h[n].name) {
                        r = -ENOMEM;
                        goto fail;
                }
                for (char *p = h[n].name; *p; p++)
                        if (*p >= 'A' && *p <= 'Z')
                                *p = (char) (*p - 'A' + 'a');
                n++;
        }
        h[n] = (canonical_header) { .name = strdup("host"), .value = req->host, .index = n };
        n++;
        h[n] = (canonical_header) { .name = strdup("x-amz-date"), .value = amz_date, .index = n };
        n++;
        if (token) {
                h[n] = (canonical_header) { .name = strdup("x-amz-security-token"), .value = token, .index = n };
                n++;
        }
        for (size_t i = 0; i < n; i++)
                if (!h[i].name) {
                        r = -ENOMEM;
                        goto fail;
                }

        qsort(h, n, sizeof(*h), canonical_header_cmp);
        for (size_t i = 0; i < n; i++) {
                bool same = i > 0 && streq(h[i - 1].name, h[i].name);

                if (same)
                        r = strbuf_puts(b, ",");
                else {
                        if (i > 0)
                                r = strbuf_puts(b, "\n");
                        if (r >= 0)
                                r = strbuf_printf(b, "%s:", h[i].name);
                        if (r >= 0)
                                r = strbuf_printf(signed_headers, "%s%s", i > 0 ? ";" : "", h[i].name);
                }
                if (r >= 0)
                        r = append_trimmed(h[i].value, b);
                if (r < 0)
                        goto fail;
        }
        r = strbuf_puts(b, "\n");
fail:
        for (size_t i = 0; i < max; i++)
                free(h[i].name);
        free(h);
        return r;
}

static bool scope_part_is_valid(const char *s) {
        if (isempty(s))
                return false;
        for (const char *p = s; *p; p++)
                if (!is_unreserved((unsigned char) *p))
                        return false;
        return true;
}

static int format_amz_date(time_t now, char out[static 17]) {
        struct tm tm;

        if (!gmtime_r(&now, &tm))
                return -EINVAL;
        if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
                return -ERANGE;
        if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
                return -ERANGE;
        return 0;
}

/* Validates what goes into the scope and the canonical request; tells nothing about the secret. */
static int sigv4_check(const sigv4_request *req, const aws_credentials *creds) {
        if (!req || !creds)
                return -EINVAL;
        if (!scope_part_is_valid(creds->access_key_id) || isempty(creds->secret_access_key))
                return -EINVAL;
        if (!scope_part_is_valid(req->region) || !scope_part_is_valid(req->service))
                return -EINVAL;
        if (isempty(req->method) || isempty(req->host) || strpbrk(req->method, " \t\r\n") ||
            strpbrk(req->host, " \t\r\n"))
                return -EINVAL;
        if (req->payload_size > 0 && !req->payload)
                return -EINVAL;
        return 0;
}

static const char *session_token_of(const aws_credentials *creds) {
        /* botocore signs the token only when it is set and not empty ("if self.credentials.token"). */
        return isempty(creds->session_token) ? NULL : creds->session_token;
}

/* Checks the request, then fills amz_date with its time and b with its canonical form. */
static int build_canonical_request(const sigv4_request *req, const aws_credentials *creds, char amz_date[static 17],
                                   strbuf *b, strbuf *signed_headers) {
        char payload_hash[65];
        int r;

        r = sigv4_check(req, creds);
        if (r >= 0)
                r = format_amz_date(req->now, amz_date);
        if (r >= 0)
                r = strbuf_printf(b, "%s\n", req->method);
        if (r >= 0)
                r = append_canonical_uri(req->path, b);
        if (r >= 0)
                r = strbuf_puts(b, "\n");
        if (r >= 0)
                r = append_canonical_query(req->query, b);
        if (r >= 0)
                r = strbuf_puts(b, "\n");
        if (r >= 0)
                r = append_canonical_headers(req, amz_date, session_token_of(creds), b, signed_headers);
        if (r < 0)
                return r;
        sha256_hex(req->payload, req->payload_size, payload_hash);
        return strbuf_printf(b, "\n%s\n%s", signed_headers->data, payload_hash);
}

int sigv4_canonical_request(const sigv4_request *req, const aws_credentials *creds, char **ret) {
        strbuf b = { .secret = true }, signed_headers = {};     /* b: x-amz-security-token's value */
        char amz_date[17];
        int r;

        if (!ret)
                return -EINVAL;
        r = build_canonical_request(req, creds, amz_date, &b, &signed_headers);
        strbuf_done(&signed_headers);
        if (r < 0) {
                strbuf_done(&b);
                return r;
        }
        *ret = strbuf_steal(&b);
        return 0;
}

static int hmac_sha256(const void *key, size_t key_size, const void *data, size_t size,
                       unsigned char out[static 32]) {
        unsigned len = 0;

        if (!HMAC(EVP_sha256(), key, (int) key_size, data, size, out, &len) || len != 32)
                return -EIO;
        return 0;
}

/*
 * kSecret = your secret access key; kDate = HMAC("AWS4" + kSecret, Date);
 * kRegion = HMAC(kDate, Region); kService = HMAC(kRegion, Service);
 * kSigning = HMAC(kService, "aws4_request").
 */
static int derive_signing_key(const char *secret, const char *date, const char *region, const char *service,
                              unsigned char out[static 32]) {
        size_t secret_len = strlen(secret);
        unsigned char k1[32], k2[32];
        char *ksecret;
        int r;

        if (secret_len > SIZE_MAX - 5 || secret_len > INT32_MAX - 4)
                return -EINVAL;
        ksecret = malloc(secret_len + 5);
        if (!ksecret)
                return -ENOMEM;
        memcpy(ksecret, "AWS4", 4);
        memcpy(ksecret + 4, secret, secret_len + 1);

        r = hmac_sha256(ksecret, secret_len + 4, date, strlen(date), k1);
        if (r >= 0)
                r = hmac_sha256(k1, sizeof(k1), region, strlen(region), k2);
        if (r >= 0)
                r = hmac_sha256(k2, sizeof(k2), service, strlen(service), k1);
        if (r >= 0)
                r = hmac_sha256(k1, sizeof(k1), "aws4_request", strlen("aws4_request"), out);

        OPENSSL_cleanse(ksecret, secret_len + 5);
        free(ksecret);
        OPENSSL_cleanse(k1, sizeof(k1));
        OPENSSL_cleanse(k2, sizeof(k2));
        return r;
}

static int signing_key(sigv4_key_cache *cache, const char *secret, const char *date, const char *region,
                       const char *service, unsigned char out[static 32]) {
        unsigned char digest[SHA256_DIGEST_LENGTH];
        bool cacheable;
        int r;

        cacheable = cache && strlen(region) < sizeof(cache->region) && strlen(service) < sizeof(cache->service);
        if (!cacheable)
                return derive_signing_key(secret, date, region, service, out);

        /* Only a digest of the secret is kept, to notice a rotated key without storing it. */
        SHA256((const unsigned char *) secret, strlen(secret), digest);
        if (cache->valid && streq(cache->date, date) && streq(cache->region, region) &&
            streq(cache->service, service) && CRYPTO_memcmp(cache->secret_digest, digest, sizeof(digest)) == 0) {
                memcpy(out, cache->key, 32);
                return 0;
        }

        sigv4_key_cache_clear(cache);
        r = derive_signing_key(secret, date, region, service, out);
        if (r < 0)
                return r;
        memcpy(cache->date, date, 9);
        strcpy(cache->region, region);
        strcpy(cache->service, service);
        memcpy(cache->secret_digest, digest, sizeof(digest));
        memcpy(cache->key, out, 32);
        cache->valid = true;
        return 0;
}

int sigv4_sign(const sigv4_request *req, const aws_credentials *creds, sigv4_key_cache *cache, sigv4_result *ret) {
        strbuf canonical = { .secret = true }, signed_headers = {}, sts = {}, auth = {};  /* canonical: the token */
        char amz_date[17], date[9], hash[65], signature[65];
        unsigned char key[32], mac[32];
        int r;

        if (!ret)
                return -EINVAL;
        r = build_canonical_request(req, creds, amz_date, &canonical, &signed_headers);
        if (r < 0)
                goto fail;
        memcpy(date, amz_date, 8);
        date[8] = 0;

        /* Algorithm \n RequestDateTime \n CredentialScope \n HashedCanonicalRequest */
        sha256_hex(canonical.data, canonical.len, hash);
        r = strbuf_printf(&sts, SIGV4_ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s",
                          amz_date, date, req->region, req->service, hash);
        if (r < 0)
                goto fail;

        r = signing_key(cache, creds->secret_access_key, date, req->region, req->service, key);
        if (r < 0)
                goto fail;
        r = hmac_sha256(key, sizeof(key), sts.data, sts.len, mac);
        OPENSSL_cleanse(key, sizeof(key));
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < sizeof(mac); i++)
                snprintf(signature + 2 * i, 3, "%02x", mac[i]);

        r = strbuf_printf(&auth, SIGV4_ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
                          creds->access_key_id, date, req->region, req->service, signed_headers.data, signature);
        if (r < 0)
                goto fail;

        *ret = (sigv4_result) { .authorization = strbuf_steal(&auth) };
        memcpy(ret->amz_date, amz_date, sizeof(amz_date));
fail:
        strbuf_done(&canonical);
        strbuf_done(&signed_headers);
        strbuf_done(&sts);
        strbuf_done(&auth);
        return r;
}
