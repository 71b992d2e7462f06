/* SPDX-License-Identifier: MIT */
/*
 * The web-identity step of the chain: how an EKS service account (IRSA) gets its
 * role. The kubelet keeps a projected OIDC token in a file
 * (AWS_WEB_IDENTITY_TOKEN_FILE) and the pod has AWS_ROLE_ARN; a profile may say the
 * same with web_identity_token_file and role_arn. botocore's
 * AssumeRoleWithWebIdentityProvider reads the file at every fetch (the token is
 * rotated, and lives shorter than the keys) and calls STS
 * AssumeRoleWithWebIdentity; so does this. STS API reference:
 * "Calling AssumeRoleWithWebIdentity does not require the use of Amazon Web
 * Services security credentials": the request is not signed, and the caller needs
 * no IAM permission (the role's trust policy names the identity provider).
 *
 * STS's endpoint is the one the SDKs' settings give (AWS_ENDPOINT_URL_STS, the
 * profile's, the region's: AWS_REGION, AWS_DEFAULT_REGION, the profile's region,
 * else us-east-1). One attempt of at most 10 s; at a refresh, the keys in hand
 * serve until they expire (creds.c). The token and the keys are wiped.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "creds-internal.h"
#include "endpoint.h"
#include "query.h"

#define WEBID_TIMEOUT (10 * USEC_PER_SEC)
/* "WebIdentityToken: Length Constraints: Minimum length of 4. Maximum length of 20000." */
#define WEBID_TOKEN_MAX 20000

/* Ends the step with why; code (STS's, may be NULL) stays a value of the error. */
static void webid_fail(creds_provider *p, int r, const char *code, const char *fmt, ...) _printf_(4, 5);
static void webid_fail(creds_provider *p, int r, const char *code, const char *fmt, ...) {
        _cleanup_(freep) char *why = NULL, *m = NULL;
        aws_error err = {};
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf_safe(&why, fmt, ap) < 0)
                why = NULL;
        va_end(ap);
        if (asprintf_safe(&m, "cannot assume role '%s' with web identity: %s", p->webid.role_arn ?: "?",
                          why ?: "out of memory") < 0 ||
            aws_error_set(&err, 0, code, m, NULL) < 0)
                aws_error_setf(&err, "out of memory");
        p->webid.call = NULL;
        p->webid.role_arn = mfree(p->webid.role_arn);
        creds_provider_resolved(p, r, NULL, NULL, &err);
        aws_error_done(&err);
}

static int webid_read_token(const char *path, char **ret) {
        _cleanup_(erase_and_freep) char *buf = NULL;
        ssize_t n;
        int fd;

        buf = calloc(1, WEBID_TOKEN_MAX + 2);
        if (!buf)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, WEBID_TOKEN_MAX + 1);
        close(fd);
        if (n < 0)
                return -errno;
        while (n > 0 && strchr(" \t\r\n", buf[n - 1]))
                buf[--n] = 0;
        if (n < 4 || n > WEBID_TOKEN_MAX || memchr(buf, 0, (size_t) n))
                return -EBADMSG;
        *ret = TAKE_PTR(buf);
        return 0;
}

static void on_webid(http_call *call, http_response *r, void *userdata) {
        _cleanup_(aws_error_done) aws_error err = {};
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        creds_provider *p = userdata;
        aws_credentials *c = NULL;
        int k;

        (void) call;
        p->webid.call = NULL;
        if (r->error < 0) {
                webid_fail(p, r->error, NULL, "%s", r->error_message ?: strerror(-r->error));
                return;
        }
        k = aws_response_parse(r->body, r->body_size, r->status, r->request_id, &doc, &err);
        if (r->body)
                explicit_bzero(r->body, r->body_size);
        if (k < 0) {
                /* STS's code (InvalidIdentityToken, AccessDenied, ExpiredTokenException) stays a value. */
                webid_fail(p, k, err.code, "%s%s%s", err.code ?: "", err.code ? ": " : "",
                           err.message ?: strerror(-k));
                return;
        }
        k = creds_sts_parse(doc, "AssumeRoleWithWebIdentity", &c, &err);
        if (k < 0) {
                webid_fail(p, k, NULL, "%s", err.message ?: strerror(-k));
                return;
        }
        p->webid.role_arn = mfree(p->webid.role_arn);
        creds_provider_resolved(p, 0, c, "assume-role-with-web-identity", NULL);
}

int creds_sts_endpoint(const char *profile, char **ret_region, char **ret_url, const char **ret_why) {
        _cleanup_(freep) char *region = NULL, *why = NULL;
        aws_endpoint_options o = AWS_ENDPOINT_OPTIONS_DEFAULT;
        const char *from;
        int r;

        o.profile = profile;
        r = aws_region_from_environment(profile, &region, &from);
        if (r < 0) {
                *ret_why = "cannot read the region";
                return r;
        }
        if (!region) {
                region = strdup("us-east-1");
                if (!region)
                        return -ENOMEM;
        }
        r = aws_endpoint_resolve(&o, "sts", region, ret_url, &why);
        if (r < 0) {
                *ret_why = "cannot resolve STS's endpoint";
                return r;
        }
        if (ret_region)
                *ret_region = TAKE_PTR(region);
        return 0;
}

void creds_webid_start(creds_provider *p, const char *token_file, const char *role_arn, const char *session_name) {
        static const char *const headers[] = { "Content-Type: application/x-www-form-urlencoded; charset=utf-8", NULL };
        _cleanup_(erase_and_freep) char *token = NULL, *body = NULL;
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        _cleanup_(freep) char *url = NULL, *session = NULL;
        const char *why = NULL;
        http_request req = { .method = "POST", .headers = headers, .timeout = WEBID_TIMEOUT, .secret = true };
        int r;

        creds_webid_cancel(p);
        p->webid.role_arn = strdup(role_arn);
        if (!p->webid.role_arn) {
                webid_fail(p, -ENOMEM, NULL, "out of memory");
                return;
        }
        if (creds_assume_role_check(role_arn, session_name, NULL, 0)) {
                webid_fail(p, -EINVAL, NULL, "%s", creds_assume_role_check(role_arn, session_name, NULL, 0));
                return;
        }
        r = webid_read_token(token_file, &token);
        if (r < 0) {
                webid_fail(p, r, NULL, "cannot read the token file '%s': %s", token_file,
                           r == -EBADMSG ? "not a token of 4-20000 characters" : strerror(-r));
                return;
        }
        if (!p->chain.http) {
                webid_fail(p, -EOPNOTSUPP, NULL, "no HTTP client");
                return;
        }
        r = creds_sts_endpoint(p->chain.profile, NULL, &url, &why);
        if (r < 0) {
                webid_fail(p, r, NULL, "%s: %s", why, strerror(-r));
                return;
        }
        if (!session_name && asprintf(&session, "amirotd-%d", (int) getpid()) < 0) {
                webid_fail(p, -ENOMEM, NULL, "out of memory");
                return;
        }
        r = aws_query_new("AssumeRoleWithWebIdentity", &q);
        if (r >= 0)
                r = aws_query_add(q, "RoleArn", role_arn);
        if (r >= 0)
                r = aws_query_add(q, "RoleSessionName", session_name ?: session);
        if (r >= 0)
                r = aws_query_add(q, "WebIdentityToken", token);
        if (r >= 0)
                r = aws_query_encode(q, "2011-06-15", &body);
        if (r < 0) {
                webid_fail(p, r, NULL, "cannot build the request: %s", strerror(-r));
                return;
        }
        /* The query's copy of the token is freed with it; http.c copies the body. */
        req.url = url;
        req.body = body;
        req.body_size = strlen(body);
        r = http_client_submit(p->chain.http, &req, on_webid, p, &p->webid.call);
        if (r < 0)
                webid_fail(p, r, NULL, "cannot start a request: %s", strerror(-r));
}

void creds_webid_cancel(creds_provider *p) {
        if (p->webid.call)
                http_call_cancel(p->webid.call);
        p->webid.call = NULL;
        p->webid.role_arn = mfree(p->webid.role_arn);
}
