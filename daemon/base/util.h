/* SPDX-License-Identifier: MIT */
/*
 * Small helpers every file uses: cleanup attributes, ownership transfer, string
 * comparison, a growable string buffer and time conversions. Nothing here knows
 * about AWS or policies.
 */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define _pure_ __attribute__((pure))

#define _fallthrough_ __attribute__((fallthrough))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand on ownership: returns the pointer and clears the variable. */
#define TAKE_PTR(p)                                     \
        ({                                              \
                typeof(p) *_pp_ = &(p);                 \
                typeof(p) _p_ = *_pp_;                  \
                *_pp_ = NULL;                           \
                _p_;                                    \
        })

/* Defines funcp(type *p) calling func(*p) when non-NULL, for _cleanup_(). */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)         \
        static inline void func##p(type *p) {           \
                if (*p)                                 \
                        func(*p);                       \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

/* qsort() and bsearch() order of an array of C strings. */
static inline int str_ptr_compare(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static inline bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The length of s cut to at most max bytes, without splitting a UTF-8 sequence. */
static inline size_t utf8_cut_bytes(const char *s, size_t max) {
        size_t n = strlen(s);

        if (n <= max)
                return n;
        while (max > 0 && ((unsigned char) s[max] & 0xC0) == 0x80)
                max--;
        return max;
}

/* The length in bytes of s's first max characters (code points): EC2's tag values and
 * SSM's comments are limited in characters, not bytes. */
static inline size_t utf8_cut_chars(const char *s, size_t max) {
        size_t chars = 0, i = 0;

        for (; s[i]; i++)
                if (((unsigned char) s[i] & 0xC0) != 0x80 && chars++ == max)
                        break;
        return i;
}

static inline bool isempty(const char *s) {
        return !s || !*s;
}

/* Wipes and frees a string that may hold a secret (a key, a session token); accepts NULL. */
static inline void erase_and_free(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}
static inline void erase_and_freep(char **s) {
        erase_and_free(*s);
}

/* Allocation functions for the libraries that take them (libcurl's curl_global_init_mem(),
 * libxml2's xmlMemSetup()): each block is wiped before it goes back to malloc, so that a
 * key or token a library copied (a header, a request body, an answer's text) does not
 * linger in freed memory. Plain malloc(), calloc() and strdup() pair with them. */
void wipe_free(void *p);
void *wipe_realloc(void *p, size_t size);

/* free() that returns NULL, for `p = mfree(p);` */
static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* asprintf() and vasprintf() leave their pointer undefined on failure; these leave NULL
 * (which free() takes) and return 0 or -ENOMEM. */
int asprintf_safe(char **ret, const char *fmt, ...) _printf_(2, 3);
int vasprintf_safe(char **ret, const char *fmt, va_list ap) _printf_(2, 0);

/* a followed by the first n bytes of b, in one exact allocation: for secrets, which
 * asprintf() would leave behind in the buffers it outgrows and frees. NULL: no memory. */
char *strjoin_n(const char *a, const char *b, size_t n);

/* strdup() of a possibly-NULL string; returns -ENOMEM on failure. */
int strdup_or_null(const char *s, char **ret);
/* Exchanges the size bytes at a and b (which do not overlap). */
void memswap(void *a, void *b, size_t size);

/* A NULL-terminated vector of strings. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
size_t strv_length(char *const *l);
int strv_push(char ***l, char *value);          /* takes ownership of value, also on failure */
int strv_extend(char ***l, const char *value);  /* copies value */
bool strv_contains(char *const *l, const char *s);
int strv_copy(char *const *l, char ***ret);      /* NULL copies to NULL */

/* A growable, always NUL-terminated byte buffer. A secret one (set .secret before the
 * first append) leaves no copy behind: growing moves the bytes and wipes the old block
 * (realloc() would free it as it is), and strbuf_done() wipes. strbuf_steal() hands
 * the bytes on: their new owner wipes them. */
typedef struct strbuf {
        char *data;
        size_t len;
        size_t cap;
        bool secret;
} strbuf;

int strbuf_append(strbuf *b, const void *data, size_t len);
int strbuf_puts(strbuf *b, const char *s);
int strbuf_printf(strbuf *b, const char *fmt, ...) _printf_(2, 3);
char *strbuf_steal(strbuf *b);                  /* returns data (never NULL), resets b */
void strbuf_done(strbuf *b);

/* Time: microseconds, like sd-event. */
typedef uint64_t usec_t;
#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY (24ULL * USEC_PER_HOUR)

usec_t now_usec(clockid_t clock);

/* ISO 8601 as EC2 writes it: "2026-11-26T14:55:00.000Z" (fraction optional, Z or +00:00). */
int parse_iso8601(const char *s, time_t *ret);
/* Writes "2026-11-26T14:55:00Z" into buf (at least 21 bytes). */
char *format_iso8601(time_t t, char buf[static 21]);

#define ISO8601_MAX 21

/* Seconds as the configuration writes them: "1h30m", "90d", "2w" (weeks only when whole),
 * "0s"; config_parse_duration() reads every one back. */
#define DURATION_MAX 64
char *format_duration(uint64_t seconds, char buf[static DURATION_MAX]);
