/* SPDX-License-Identifier: MIT */
/*
 * One HTTP request as curl sees it: the easy handle with its options (TLS
 * always verified, no redirects, no signals, keep-alive, no "Expect:
 * 100-continue"), the body and header callbacks that fill it (the body capped
 * at the request's maximum, the x-amzn-RequestId header kept), and the
 * response made of a finished transfer, with CURLcode translated to -errno.
 * http.c schedules transfers on the loop; this file never sees the multi
 * handle or sd-event. Nothing here logs.
 */
#include <stdio.h>
#include <strings.h>

#include "http-transfer.h"

#define DEFAULT_CONNECT_TIMEOUT (5 * USEC_PER_SEC)
#define DEFAULT_TIMEOUT (60 * USEC_PER_SEC)
#define DEFAULT_MAX_RESPONSE_SIZE ((size_t) 16 * 1024 * 1024)

void http_response_done(http_response *r) {
        if (!r)
                return;
        free(r->error_message);
        /* The answers of IMDS, the container endpoint and STS are keys; the others cost a memset. */
        if (r->body)
                explicit_bzero(r->body, r->body_size);
        free(r->body);
        free(r->request_id);
        *r = (http_response) {};
}

int http_errno_from_curl(int code) {
        switch ((CURLcode) code) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return -ECONNRESET;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_USE_SSL_FAILED:
        case CURLE_SSL_CLIENTCERT:
                return -EPROTO;
        case CURLE_FILESIZE_EXCEEDED:
                return -EFBIG;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        case CURLE_URL_MALFORMAT:
        case CURLE_BAD_FUNCTION_ARGUMENT:
                return -EINVAL;
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_BAD_CONTENT_ENCODING:
                return -EBADMSG;
        case CURLE_ABORTED_BY_CALLBACK:
                return -ECANCELED;
        case CURLE_TOO_MANY_REDIRECTS:
                return -ELOOP;
        default:
                return -EIO;
        }
}

static size_t write_callback(char *data, size_t size, size_t nmemb, void *userdata) {
        http_transfer *t = userdata;
        size_t n = size * nmemb;

        if (n > t->max_response_size || t->body.len > t->max_response_size - n) {
                t->too_big = true;
                return 0;       /* curl aborts with CURLE_WRITE_ERROR */
        }
        if (strbuf_append(&t->body, data, n) < 0)
                return 0;
        return n;
}

/* The value of header line data[0..n) if it is header `name` (with its colon), trimmed, newly
 * allocated. A value with a control character in it (a bare CR, a NUL: RFC 9110, 5.5, forbids
 * them) is taken as absent: it would end up in log lines. */
static int header_value(const char *data, size_t n, const char *name, char **ret) {
        size_t k = strlen(name);
        const char *v, *end;

        *ret = NULL;
        if (n <= k || strncasecmp(data, name, k) != 0)
                return 0;
        v = data + k;
        end = data + n;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
        for (const char *c = v; c < end; c++)
                if (((unsigned char) *c < 0x20 && *c != '\t') || *c == 0x7f)
                        return 0;
        *ret = strndup(v, (size_t) (end - v));
        return *ret ? 1 : -ENOMEM;
}

int http_transfer_header_line(http_transfer *t, const char *data, size_t n) {
        char *v;
        int r;

        r = header_value(data, n, "x-amzn-requestid:", &v);
        if (r > 0) {
                free(t->request_id);
                t->request_id = v;
        }
        if (r == 0) {
                /* AWS's answers carry Date, errors included: the server's clock, for clock skew.
                 * curl_getdate() reads RFC 9110's IMF-fixdate and the obsolete forms. */
                r = header_value(data, n, "date:", &v);
                if (r > 0) {
                        time_t d = curl_getdate(v, NULL);

                        t->date = d > 0 ? d : 0;
                        free(v);
                }
        }
        return r < 0 ? r : 0;
}

static size_t header_callback(char *data, size_t size, size_t nmemb, void *userdata) {
        size_t n = size * nmemb;

        return http_transfer_header_line(userdata, data, n) < 0 ? 0 : n;
}

#define SETOPT(easy, opt, val)                                          \
        do {                                                            \
                if (curl_easy_setopt((easy), (opt), (val)) != CURLE_OK) \
                        return -EIO;                                    \
        } while (0)

/* The easy handle's options, from what http_transfer_init() kept of the request. */
static int transfer_setup(http_transfer *t, void *private) {
        CURL *e = t->easy;

        SETOPT(e, CURLOPT_URL, t->url);
        SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
        SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
        SETOPT(e, CURLOPT_NOSIGNAL, 1L);
        SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L);
        SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L);
        SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
        SETOPT(e, CURLOPT_USERAGENT, "amirotd/" VERSION);
        SETOPT(e, CURLOPT_ACCEPT_ENCODING, "");
        SETOPT(e, CURLOPT_PRIVATE, private);
        SETOPT(e, CURLOPT_ERRORBUFFER, t->errbuf);
        SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, (long) (t->connect_timeout / USEC_PER_MSEC ?: 1));
        SETOPT(e, CURLOPT_TIMEOUT_MS, (long) (t->timeout / USEC_PER_MSEC ?: 1));
        if (t->no_proxy)
                SETOPT(e, CURLOPT_NOPROXY, "*");
        /* Fails early when Content-Length announces too much; the write callback catches the rest. */
        SETOPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) t->max_response_size);
        SETOPT(e, CURLOPT_WRITEFUNCTION, write_callback);
        SETOPT(e, CURLOPT_WRITEDATA, t);
        SETOPT(e, CURLOPT_HEADERFUNCTION, header_callback);
        SETOPT(e, CURLOPT_HEADERDATA, t);

        if (streq(t->method, "GET"))
                SETOPT(e, CURLOPT_HTTPGET, 1L);
        else if (streq(t->method, "HEAD"))
                SETOPT(e, CURLOPT_NOBODY, 1L);
        else {
                if (!streq(t->method, "POST"))
                        SETOPT(e, CURLOPT_CUSTOMREQUEST, t->method);
                SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) t->request_body_size);
                SETOPT(e, CURLOPT_POSTFIELDS, t->request_body);
        }
        SETOPT(e, CURLOPT_HTTPHEADER, t->headers);
        return 0;
}

/* Copies of the request's headers, plus "Expect:" (no 100-continue round trip before a
 * large body) unless the request has its own. */
static int transfer_copy_headers(http_transfer *t, const http_request *req) {
        bool has_expect = false;

        for (const char *const *h = req->headers; h && *h; h++) {
                struct curl_slist *l = curl_slist_append(t->headers, *h);
                if (!l)
                        return -ENOMEM;
                t->headers = l;
                if (strncasecmp(*h, "Expect:", 7) == 0)
                        has_expect = true;
        }
        if (!has_expect) {
                struct curl_slist *l = curl_slist_append(t->headers, "Expect:");
                if (!l)
                        return -ENOMEM;
                t->headers = l;
        }
        return 0;
}

int http_transfer_init(http_transfer *t, const http_request *req) {
        const char *method = req->method ?: "GET";

        *t = (http_transfer) {
                .max_response_size = req->max_response_size ?: DEFAULT_MAX_RESPONSE_SIZE,
                .body.secret = req->secret,
                .connect_timeout = req->connect_timeout ?: DEFAULT_CONNECT_TIMEOUT,
                .timeout = req->timeout ?: DEFAULT_TIMEOUT,
                .no_proxy = req->no_proxy,
        };
        t->url = strdup(req->url);
        t->method = strdup(method);
        if (!t->url || !t->method)
                return -ENOMEM;
        if (!streq(method, "GET") && !streq(method, "HEAD")) {
                /* Our own copy, which lives as long as the transfer and is wiped with it
                 * (a web-identity request's body is its token), rather than curl's. */
                t->request_body = malloc(req->body_size + 1);
                if (!t->request_body)
                        return -ENOMEM;
                if (req->body_size > 0)
                        memcpy(t->request_body, req->body, req->body_size);
                t->request_body[req->body_size] = 0;
                t->request_body_size = req->body_size;
        }
        return transfer_copy_headers(t, req);
}

int http_transfer_open(http_transfer *t, void *private) {
        if (t->easy)
                return -EBUSY;
        t->easy = curl_easy_init();
        if (!t->easy)
                return -ENOMEM;
        return transfer_setup(t, private);
}

void http_transfer_done(http_transfer *t) {
        if (!t)
                return;
        if (t->easy)
                curl_easy_cleanup(t->easy);
        /* A header may be a session token or a container's Authorization. */
        for (struct curl_slist *l = t->headers; l; l = l->next)
                explicit_bzero(l->data, strlen(l->data));
        curl_slist_free_all(t->headers);
        if (t->request_body)
                explicit_bzero(t->request_body, t->request_body_size);
        free(t->request_body);
        free(t->url);
        free(t->method);
        strbuf_done(&t->body);
        free(t->request_id);
        *t = (http_transfer) {};
}

void http_response_fail(int error, const char *message, http_response *ret) {
        *ret = (http_response) {
                .error = error,
                .error_message = message ? strdup(message) : NULL,
        };
}

/*
 * Like http_errno_from_curl(), but knowing the transfer: curl reports bytes that
 * are not an HTTP status line as CURLE_UNSUPPORTED_PROTOCOL ("Received HTTP/0.9
 * when not allowed"), the code of a URL with a scheme it does not speak. With a
 * connection made (a peer address known), it was the answer: -EBADMSG, an
 * unreadable answer, which retry.c treats as transient.
 */
static int transfer_errno(http_transfer *t, CURLcode code) {
        const char *ip = NULL;

        if (code == CURLE_UNSUPPORTED_PROTOCOL &&
            curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && !isempty(ip))
                return -EBADMSG;
        return http_errno_from_curl(code);
}

void http_transfer_response(http_transfer *t, CURLcode code, http_response *ret) {
        long status = 0;

        (void) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        if (code == CURLE_OK) {
                /* Not in one initializer: its order of evaluation is unspecified, and the steal empties t->body. */
                *ret = (http_response) { .status = status, .body_size = t->body.len };
                ret->body = strbuf_steal(&t->body);
                ret->request_id = TAKE_PTR(t->request_id);
                ret->date = t->date;
                if (!ret->body) {
                        http_response_done(ret);
                        http_response_fail(-ENOMEM, "Out of memory", ret);
                }
        } else if (t->too_big || code == CURLE_FILESIZE_EXCEEDED) {
                http_response_fail(-EFBIG, "Response larger than the allowed maximum", ret);
                ret->status = status;
        } else if (code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY) {
                /* -EHOSTUNREACH only classifies it (transient, retried): strerror()'s "No route
                 * to host" would send an operator to the routing table, not to DNS. */
                const char *prefix = code == CURLE_COULDNT_RESOLVE_PROXY ? "Could not resolve proxy: " :
                                                                          "Could not resolve host: ";
                const char *host = startswith(t->errbuf, prefix) ? t->errbuf + strlen(prefix) : NULL;
                _cleanup_(freep) char *message = NULL;

                if (asprintf(&message, "the %s name '%s' could not be resolved (DNS)",
                             code == CURLE_COULDNT_RESOLVE_PROXY ? "proxy's host" : "host",
                             host ?: "?") < 0)
                        message = NULL;
                http_response_fail(-EHOSTUNREACH, message ?: "a host name could not be resolved (DNS)", ret);
                ret->status = status;
        } else {
                http_response_fail(transfer_errno(t, code), t->errbuf[0] ? t->errbuf : curl_easy_strerror(code), ret);
                ret->status = status;
                ret->request_id = TAKE_PTR(t->request_id);
                ret->date = t->date;
        }
}
