/* SPDX-License-Identifier: MIT */
/*
 * The last step of the default chain: the instance role's credentials from the
 * EC2 instance metadata service, IMDSv2 only ("Use the Instance Metadata Service
 * to access instance metadata", EC2 user guide):
 *
 *   PUT /latest/api/token                           X-aws-ec2-metadata-token-ttl-seconds: 21600
 *   GET /latest/meta-data/iam/security-credentials/       -> role name
 *   GET /latest/meta-data/iam/security-credentials/ROLE   -> JSON keys, X-aws-ec2-metadata-token: ...
 *
 * Off EC2 nothing answers at 169.254.169.254, so every request has short
 * timeouts (1 s to connect, 2 s in all): a chain that ends here must fail fast
 * and say so, never hang. Everything goes through http.c's asynchronous calls.
 */
#include <stdio.h>

#include "creds-internal.h"

#define IMDS_ENDPOINT "http://169.254.169.254"
#define IMDS_ENDPOINT_IPV6 "http://[fd00:ec2::254]"
#define IMDS_CONNECT_TIMEOUT (1 * USEC_PER_SEC)
#define IMDS_TIMEOUT (2 * USEC_PER_SEC)
#define IMDS_MAX_RESPONSE (64 * 1024)
#define IMDS_CREDENTIALS_PATH "/latest/meta-data/iam/security-credentials/"

enum {
        IMDS_TOKEN,
        IMDS_ROLE,
        IMDS_CREDENTIALS,
};

static void imds_reset(creds_provider *p) {
        p->imds.call = NULL;
        p->imds.step = IMDS_TOKEN;
        p->imds.endpoint = mfree(p->imds.endpoint);
        erase_and_free(p->imds.token_header);
        p->imds.token_header = NULL;
        p->imds.role = mfree(p->imds.role);
}

/* Ends the step with a note for the chain; the endpoint is named when it is not the usual one. */
static void imds_fail(creds_provider *p, const char *fmt, ...) _printf_(2, 3);
static void imds_fail(creds_provider *p, const char *fmt, ...) {
        _cleanup_(freep) char *what = NULL, *note = NULL;
        va_list ap;
        int r;

        creds_imds_failed failed = p->imds.failed;

        va_start(ap, fmt);
        r = vasprintf_safe(&what, fmt, ap);
        va_end(ap);
        if (r >= 0 && p->imds.endpoint && !streq(p->imds.endpoint, IMDS_ENDPOINT))
                (void) asprintf_safe(&note, "%s: %s", p->imds.endpoint, what);
        imds_reset(p);
        failed(p, note ?: what ?: "out of memory");
}

static const char *imds_transport_error(const http_response *r) {
        switch (r->error) {
        case -ECONNREFUSED:
                return "connection refused";
        case -ETIMEDOUT:
                return "no answer within 2 s";
        case -EHOSTUNREACH:
        case -ENETUNREACH:
                return "unreachable";
        default:
                return r->error_message ?: strerror(-r->error);
        }
}

static void on_imds(http_call *call, http_response *r, void *userdata);

static int imds_submit(creds_provider *p, const char *method, const char *path, const char *header) {
        _cleanup_(freep) char *url = NULL;
        const char *headers[] = { header, NULL };
        http_request req = {
                .method = method,
                .headers = headers,
                .connect_timeout = IMDS_CONNECT_TIMEOUT,
                .timeout = IMDS_TIMEOUT,
                .max_response_size = IMDS_MAX_RESPONSE,
                .secret = true,
                /* The metadata service answers on the instance itself; a proxy set for
                 * AWS's endpoints (HTTPS_PROXY) must not see it, nor the keys it hands out. */
                .no_proxy = true,
        };

        if (asprintf(&url, "%s%s", p->imds.endpoint, path) < 0)
                return -ENOMEM;
        req.url = url;
        return http_client_submit(p->chain.http, &req, on_imds, p, &p->imds.call);
}

/* IAM role names: [\w+=,.@-]{1,64}; anything else is not put into a URL. */
static bool imds_role_is_valid(const char *s, size_t n) {
        if (n < 1 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || (s[i] && strchr("_+=,.@-", s[i]))))
                        return false;
        return true;
}

int creds_imds_parse_token(const char *body, size_t size, char **ret, const char **ret_why) {
        size_t n = size;

        *ret = NULL;
        while (n > 0 && body[n - 1] && strchr(" \t\r\n", body[n - 1]))
                n--;
        for (size_t i = 0; i < n; i++)
                if (body[i] < 0x21 || body[i] > 0x7e) {
                        *ret_why = "the session token is not printable text";
                        return -EBADMSG;
                }
        if (n == 0 || n > 4096) {
                *ret_why = "the session token is empty or too long";
                return -EBADMSG;
        }
        *ret = strndup(body, n);
        return *ret ? 0 : -ENOMEM;
}

int creds_imds_parse_role(const char *body, size_t size, char **ret, const char **ret_why) {
        const char *b = body, *end = body + size, *e;

        *ret = NULL;
        /* One role per line; an instance profile has at most one role. */
        while (b < end && strchr(" \t\r\n", *b) && *b)
                b++;
        for (e = b; e < end && *e && !strchr(" \t\r\n", *e); e++)
                ;
        if (b == e) {
                *ret_why = "no IAM role attached to this instance";
                return -ENOENT;
        }
        if (!imds_role_is_valid(b, (size_t) (e - b))) {
                *ret_why = "the role name is not a valid IAM role name";
                return -EBADMSG;
        }
        *ret = strndup(b, (size_t) (e - b));
        return *ret ? 0 : -ENOMEM;
}

static int imds_on_token(creds_provider *p, http_response *r) {
        _cleanup_(erase_and_freep) char *token = NULL;
        const char *why = NULL;
        int k;

        if (r->status != 200) {
                imds_fail(p, "token request (PUT /latest/api/token) answered HTTP %ld", r->status);
                return 0;
        }
        k = creds_imds_parse_token(r->body ?: "", r->body_size, &token, &why);
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                imds_fail(p, "%s", why);
                return 0;
        }
        p->imds.token_header = strjoin_n("X-aws-ec2-metadata-token: ", token, strlen(token));
        if (!p->imds.token_header)
                return -ENOMEM;
        p->imds.step = IMDS_ROLE;
        return imds_submit(p, "GET", IMDS_CREDENTIALS_PATH, p->imds.token_header);
}

static int imds_on_role(creds_provider *p, http_response *r) {
        _cleanup_(freep) char *path = NULL;
        const char *why = NULL;
        int k;

        if (r->status == 404) {
                imds_fail(p, "no IAM role attached to this instance");
                return 0;
        }
        if (r->status != 200) {
                imds_fail(p, "GET %s answered HTTP %ld", IMDS_CREDENTIALS_PATH, r->status);
                return 0;
        }
        k = creds_imds_parse_role(r->body ?: "", r->body_size, &p->imds.role, &why);
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                imds_fail(p, "%s", why);
                return 0;
        }
        if (asprintf(&path, "%s%s", IMDS_CREDENTIALS_PATH, p->imds.role) < 0)
                return -ENOMEM;
        p->imds.step = IMDS_CREDENTIALS;
        return imds_submit(p, "GET", path, p->imds.token_header);
}

static int imds_on_credentials(creds_provider *p, http_response *r) {
        _cleanup_(aws_error_done) aws_error err = {};
        aws_credentials *c = NULL;
        int k;

        if (r->status != 200) {
                imds_fail(p, "GET credentials of role '%s' answered HTTP %ld", p->imds.role, r->status);
                return 0;
        }
        k = creds_parse_imds_json(r->body, r->body_size, &c, &err);
        explicit_bzero(r->body, r->body_size);
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                if (err.code)
                        imds_fail(p, "role '%s': %s (Code '%s')", p->imds.role, err.message, err.code);
                else
                        imds_fail(p, "role '%s': %s", p->imds.role, err.message);
                return 0;
        }
        imds_reset(p);
        creds_provider_resolved(p, 0, c, "imds", NULL);
        return 0;
}

static void on_imds(http_call *call, http_response *r, void *userdata) {
        creds_provider *p = userdata;
        int k;

        (void) call;
        p->imds.call = NULL;

        if (r->error < 0) {
                imds_fail(p, "%s", imds_transport_error(r));
                return;
        }
        switch (p->imds.step) {
        case IMDS_TOKEN:
                k = imds_on_token(p, r);
                break;
        case IMDS_ROLE:
                k = imds_on_role(p, r);
                break;
        default:
                k = imds_on_credentials(p, r);
                break;
        }
        if (k < 0)
                imds_fail(p, "cannot continue: %s", strerror(-k));
}

void creds_imds_start(creds_provider *p, creds_imds_failed failed) {
        const char *endpoint = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
        size_t n;
        int r;

        imds_reset(p);
        p->imds.failed = failed;
        if (isempty(endpoint))
                endpoint = mode && strcasecmp(mode, "IPv6") == 0 ? IMDS_ENDPOINT_IPV6 : IMDS_ENDPOINT;
        else if (!startswith(endpoint, "http://") && !startswith(endpoint, "https://")) {
                imds_fail(p, "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http:// or https:// URL");
                return;
        }
        n = strlen(endpoint);
        while (n > 0 && endpoint[n - 1] == '/')
                n--;
        p->imds.endpoint = strndup(endpoint, n);
        if (!p->imds.endpoint) {
                imds_fail(p, "out of memory");
                return;
        }

        /* "PUT ... /latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 21600"" (6 hours, the
         * maximum, as the user guide's example): one token serves the two GETs that follow. */
        p->imds.step = IMDS_TOKEN;
        r = imds_submit(p, "PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: 21600");
        if (r < 0)
                imds_fail(p, "cannot start a request: %s", strerror(-r));
}

void creds_imds_cancel(creds_provider *p) {
        if (p->imds.call)
                http_call_cancel(p->imds.call);
        imds_reset(p);
}

void creds_imds_done(creds_provider *p) {
        creds_imds_cancel(p);
}
