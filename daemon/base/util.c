/* SPDX-License-Identifier: MIT */
/* The helpers declared in util.h. */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>

#include "base/util.h"

int vasprintf_safe(char **ret, const char *fmt, va_list ap) {
        if (vasprintf(ret, fmt, ap) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

int asprintf_safe(char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf_safe(ret, fmt, ap);
        va_end(ap);
        return r;
}

int strdup_or_null(const char *s, char **ret) {
        char *c = NULL;

        if (s) {
                c = strdup(s);
                if (!c)
                        return -ENOMEM;
        }
        *ret = c;
        return 0;
}

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        if (l)
                while (l[n])
                        n++;
        return n;
}

int strv_push(char ***l, char *value) {
        size_t n = strv_length(*l);
        char **c;

        c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c) {
                free(value);
                return -ENOMEM;
        }
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        char *c = strdup(value);

        if (!c)
                return -ENOMEM;
        return strv_push(l, c);
}

bool strv_contains(char *const *l, const char *s) {
        if (l)
                for (char *const *i = l; *i; i++)
                        if (streq(*i, s))
                                return true;
        return false;
}

int strv_copy(char *const *l, char ***ret) {
        char **c = NULL;
        int r;

        for (char *const *i = l; i && *i; i++) {
                r = strv_extend(&c, *i);
                if (r < 0) {
                        strv_free(c);
                        return r;
                }
        }
        *ret = c;
        return 0;
}

char *strjoin_n(const char *a, const char *b, size_t n) {
        size_t k = strlen(a);
        char *s;

        if (n > SIZE_MAX - k - 1)
                return NULL;
        s = malloc(k + n + 1);
        if (!s)
                return NULL;
        memcpy(s, a, k);
        memcpy(s + k, b, n);
        s[k + n] = 0;
        return s;
}

void wipe_free(void *p) {
        if (!p)
                return;
        explicit_bzero(p, malloc_usable_size(p));
        free(p);
}

/* Never realloc(): it would free the old block as it is. A block with room enough stays. */
void *wipe_realloc(void *p, size_t size) {
        size_t usable;
        void *n;

        if (!p)
                return malloc(size);
        if (size == 0) {
                wipe_free(p);
                return NULL;
        }
        usable = malloc_usable_size(p);
        if (size <= usable)
                return p;
        n = malloc(size);
        if (!n)
                return NULL;
        memcpy(n, p, usable);
        wipe_free(p);
        return n;
}

static int strbuf_reserve(strbuf *b, size_t extra) {
        size_t need, cap;
        char *d;

        if (extra > SIZE_MAX - b->len - 1)
                return -ENOMEM;
        need = b->len + extra + 1;
        if (need <= b->cap)
                return 0;
        cap = b->cap ? b->cap : 64;
        while (cap < need)
                cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if (b->secret) {
                d = malloc(cap);
                if (!d)
                        return -ENOMEM;
                if (b->data) {
                        memcpy(d, b->data, b->len + 1);
                        explicit_bzero(b->data, b->cap);
                        free(b->data);
                }
        } else {
                d = realloc(b->data, cap);
                if (!d)
                        return -ENOMEM;
        }
        b->data = d;
        b->cap = cap;
        return 0;
}

int strbuf_append(strbuf *b, const void *data, size_t len) {
        int r = strbuf_reserve(b, len);

        if (r < 0)
                return r;
        if (len > 0)
                memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = 0;
        return 0;
}

int strbuf_puts(strbuf *b, const char *s) {
        return strbuf_append(b, s, strlen(s));
}

int strbuf_printf(strbuf *b, const char *fmt, ...) {
        va_list ap;
        int n, r;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        r = strbuf_reserve(b, (size_t) n);
        if (r < 0)
                return r;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t) n;
        return 0;
}

char *strbuf_steal(strbuf *b) {
        char *d = b->data;

        if (!d)
                d = strdup("");
        *b = (strbuf) { .secret = b->secret };
        return d;
}

void strbuf_done(strbuf *b) {
        if (b->secret && b->data)
                explicit_bzero(b->data, b->cap);
        free(b->data);
        *b = (strbuf) { .secret = b->secret };
}

usec_t now_usec(clockid_t clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                abort();
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

int parse_iso8601(const char *s, time_t *ret) {
        struct tm tm = {};
        const char *p;
        time_t t;

        if (!s)
                return -EINVAL;
        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        if (streq(p, "Z") || streq(p, "+00:00") || streq(p, "+0000"))
                ;
        else
                return -EINVAL;
        t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret = t;
        return 0;
}

char *format_iso8601(time_t t, char buf[static ISO8601_MAX]) {
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, ISO8601_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, ISO8601_MAX, "invalid-time");
        return buf;
}

/* Weeks only when whole ("2w"), else days and smaller ("90d", "1h30m"): as operators write
 * them, and as the configuration reads them, so that a logged reason can be pasted back. */
char *format_duration(uint64_t seconds, char buf[static DURATION_MAX]) {
        static const struct { char unit; uint64_t seconds; } units[] = {
                { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
        };
        size_t k = 0;

        if (seconds == 0 || seconds % (7 * 86400) == 0) {
                snprintf(buf, DURATION_MAX, seconds ? "%" PRIu64 "w" : "0s", seconds / (7 * 86400));
                return buf;
        }
        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(units) && seconds > 0; i++) {
                uint64_t v = seconds / units[i].seconds;

                if (v == 0)
                        continue;
                k += (size_t) snprintf(buf + k, DURATION_MAX - k, "%" PRIu64 "%c", v, units[i].unit);
                seconds -= v * units[i].seconds;
        }
        return buf;
}

void memswap(void *a, void *b, size_t size) {
        unsigned char *x = a, *y = b;

        for (size_t i = 0; i < size; i++) {
                unsigned char t = x[i];

                x[i] = y[i];
                y[i] = t;
        }
}
