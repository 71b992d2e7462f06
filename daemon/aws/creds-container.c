/* SPDX-License-Identifier: MIT */
/*
 * The container-credentials step of the chain: the task role of an ECS task
 * (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, asked of the ECS agent at
 * http://169.254.170.2) and EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI,
 * http://169.254.170.23/v1/credentials, with the pod's token in
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE as the Authorization header).
 *
 * The rules are botocore's ContainerProvider and ContainerMetadataFetcher. Debian's
 * 1.29 allows a full URI to 169.254.170.2, localhost and 127.0.0.1 and reads only
 * AWS_CONTAINER_AUTHORIZATION_TOKEN; later botocore (the one EKS Pod Identity
 * needs) adds 169.254.170.23, fd00:ec2::23 and any loopback address, and
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, read at every fetch and taking precedence
 * over the variable, a value with CR or LF refused. amirotd follows the later rules.
 * botocore asks 3 times, 2 s each, 1 s apart; amirotd asks once with a 2 s limit
 * and, at a refresh, keeps the keys it has until they expire (creds.c).
 *
 * The endpoint is on the host or link-local: never through a proxy. The token and
 * the answer are secrets: wiped, never quoted.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "creds-internal.h"

#define CONTAINER_ECS_ENDPOINT "http://169.254.170.2"
#define CONTAINER_CONNECT_TIMEOUT (1 * USEC_PER_SEC)
#define CONTAINER_TIMEOUT (2 * USEC_PER_SEC)
#define CONTAINER_MAX_RESPONSE (64 * 1024)
#define CONTAINER_MAX_TOKEN (16 * 1024)

static bool host_allowed(const char *host) {
        static const char *const allowed[] = { "localhost", "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]" };
        unsigned char a[16];
        char inner[64];
        size_t n;

        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                if (strcasecmp(host, allowed[i]) == 0)
                        return true;
        /* ip_address(host).is_loopback: 127.0.0.0/8 and ::1. */
        if (inet_pton(AF_INET, host, a) == 1)
                return a[0] == 127;
        n = strlen(host);
        if (n < 3 || n - 2 >= sizeof(inner) || host[0] != '[' || host[n - 1] != ']')
                return false;
        memcpy(inner, host + 1, n - 2);
        inner[n - 2] = 0;
        if (inet_pton(AF_INET6, inner, a) == 1) {
                static const unsigned char loopback[16] = { [15] = 1 };
                return memcmp(a, loopback, 16) == 0 || strcasecmp(inner, "fd00:ec2::23") == 0;
        }
        return false;
}

int creds_container_url_check(const char *url) {
        CURLU *u;
        char *scheme = NULL, *host = NULL;
        int r = -EINVAL;

        if (!url)
                return -EINVAL;
        u = curl_url();
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            (streq(scheme, "http") || streq(scheme, "https")))
                r = host_allowed(host) ? 0 : -EPERM;
        curl_free(scheme);
        curl_free(host);
        curl_url_cleanup(u);
        return r;
}

static void container_reset(creds_provider *p) {
        p->container.call = NULL;
        p->container.url = mfree(p->container.url);
        erase_and_free(p->container.auth_header);
        p->container.auth_header = NULL;
}

static void container_fail(creds_provider *p, int r, const char *fmt, ...) _printf_(3, 4);
static void container_fail(creds_provider *p, int r, const char *fmt, ...) {
        _cleanup_(freep) char *why = NULL;
        aws_error err = {};
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf_safe(&why, fmt, ap) < 0)
                why = NULL;
        va_end(ap);
        aws_error_setf(&err, "cannot get AWS credentials from the container endpoint%s%s: %s",
                       p->container.url ? " " : "", p->container.url ?: "", why ?: "out of memory");
        container_reset(p);
        creds_provider_resolved(p, r, NULL, NULL, &err);
        aws_error_done(&err);
}

/* "Authorization: TOKEN" from the token file (read anew each time) or the variable; NULL
 * header when neither is set. Returns 0 or -errno with a static why. */
static int container_auth_header(char **ret, const char **ret_why) {
        const char *path = aws_getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        const char *token = aws_getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        _cleanup_(erase_and_freep) char *buf = NULL;
        ssize_t n = 0;
        int fd;

        *ret = NULL;
        if (path) {
                buf = calloc(1, CONTAINER_MAX_TOKEN + 1);
                if (!buf)
                        return -ENOMEM;
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        *ret_why = "cannot open AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
                        return -errno;
                }
                n = read(fd, buf, CONTAINER_MAX_TOKEN + 1);
                close(fd);
                if (n < 0 || n > CONTAINER_MAX_TOKEN) {
                        *ret_why = "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (or it is over 16 KiB)";
                        return n < 0 ? -errno : -EFBIG;
                }
                /* A file written by `echo` ends in a newline; the token does not. */
                while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                        buf[--n] = 0;
                token = buf;
        }
        if (!token)
                return 0;
        if (strpbrk(token, "\r\n") || (path && memchr(buf, 0, (size_t) n))) {
                *ret_why = "the authorization token is not a legal header value";
                return -EINVAL;
        }
        *ret = strjoin_n("Authorization: ", token, strlen(token));
        return *ret ? 0 : -ENOMEM;
}

static void on_container(http_call *call, http_response *r, void *userdata) {
        _cleanup_(aws_error_done) aws_error err = {};
        creds_provider *p = userdata;
        aws_credentials *c = NULL;
        int k;

        (void) call;
        p->container.call = NULL;
        if (r->error < 0) {
                container_fail(p, r->error, "%s", r->error_message ?: strerror(-r->error));
                return;
        }
        if (r->status != 200) {
                explicit_bzero(r->body, r->body_size);
                container_fail(p, -EREMOTEIO, "HTTP %ld", r->status);
                return;
        }
        k = creds_parse_container_json(r->body, r->body_size, &c, &err);
        explicit_bzero(r->body, r->body_size);
        if (k < 0) {
                container_fail(p, k, "%s", err.message ?: strerror(-k));
                return;
        }
        container_reset(p);
        creds_provider_resolved(p, 0, c, "container-role", NULL);
}

void creds_container_start(creds_provider *p) {
        const char *rel = aws_getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        const char *full = aws_getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        const char *headers[] = { "Accept: application/json", NULL, NULL };
        const char *why = NULL;
        http_request req = {
                .method = "GET",
                .headers = headers,
                .connect_timeout = CONTAINER_CONNECT_TIMEOUT,
                .timeout = CONTAINER_TIMEOUT,
                .max_response_size = CONTAINER_MAX_RESPONSE,
                .secret = true,
                .no_proxy = true,
        };
        int r;

        container_reset(p);
        if (rel)
                r = asprintf_safe(&p->container.url, "%s%s", CONTAINER_ECS_ENDPOINT, rel);
        else
                r = strdup_or_null(full, &p->container.url);
        if (r < 0 || !p->container.url) {
                container_fail(p, -ENOMEM, "out of memory");
                return;
        }
        r = creds_container_url_check(p->container.url);
        if (r < 0) {
                container_fail(p, r, "%s", r == -EPERM ?
                               "the host is not loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23" :
                               "not an http:// or https:// URL");
                return;
        }
        if (!p->chain.http) {
                container_fail(p, -EOPNOTSUPP, "no HTTP client");
                return;
        }
        r = container_auth_header(&p->container.auth_header, &why);
        if (r < 0) {
                container_fail(p, r, "%s: %s", why ?: "out of memory", strerror(-r));
                return;
        }
        headers[1] = p->container.auth_header;
        req.url = p->container.url;
        r = http_client_submit(p->chain.http, &req, on_container, p, &p->container.call);
        if (r < 0)
                container_fail(p, r, "cannot start a request: %s", strerror(-r));
}

void creds_container_cancel(creds_provider *p) {
        if (p->container.call)
                http_call_cancel(p->container.call);
        container_reset(p);
}
