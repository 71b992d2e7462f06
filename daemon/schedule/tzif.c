/* SPDX-License-Identifier: MIT */
/*
 * See tzif.h. A reader of RFC 8536 (tzfile(5)): the version 1 block is
 * skipped, the 64-bit block of version 2 and later is read and checked, and
 * the footer's POSIX TZ string (POSIX.1-2017 section 8.3, with RFC 8536
 * section 3.3.1's extensions) is parsed into a rule for the instants past the
 * last transition, as every current libc does. The file is outside input:
 * every count is checked against the bytes there are, every index against its
 * table, and a file that breaks a rule of the RFC is refused with the rule's
 * name rather than read in part. Pure apart from reading the file in
 * tz_zone_load(); nothing here logs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedule/time.h"
#include "schedule/tzif.h"
#include "base/util.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"

/* Real zone files are a few kilobytes; anything this large is not one. */
#define TZIF_MAX_SIZE (256U * 1024U)
/* RFC 8536 3.1: "A TZif header is structured as follows ... 44 octets". */
#define TZIF_HEADER_SIZE 44
/* RFC 8536 3.2: "utoff ... SHOULD be in the range [-89999, 93599] (i.e., its value SHOULD be more
 * than -25 hours and less than 26 hours)". Enforced: zone.c relies on offsets within +-30 hours. */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599
/* Longer than any abbreviation tzdata has ever used ("+1030", "CEST", "ChST"). */
#define TZ_ABBR_MAX 15
#define TZ_FOOTER_MAX 255

typedef struct tz_type {
        int32_t utoff;
        bool is_dst;
        uint8_t abbr;                   /* index into chars */
} tz_type;

/* A date of a POSIX TZ rule: Jn (1..365, February 29 never counted), n (0..365), or Mm.w.d. */
typedef enum tz_rule_kind {
        TZ_RULE_JULIAN1,
        TZ_RULE_JULIAN0,
        TZ_RULE_MWD,
} tz_rule_kind;

typedef struct tz_rule {
        tz_rule_kind kind;
        unsigned day;                   /* Jn, n: the day; Mm.w.d: d, 0 = Sunday */
        unsigned month, week;           /* Mm.w.d: 1..12, 1..5 (5: the last) */
        int32_t time;                   /* local seconds after midnight, -167h..167h (RFC 8536 3.3.1) */
} tz_rule;

typedef struct tz_posix {
        bool present;                   /* the footer is not empty */
        bool has_dst;
        int32_t std_offset, dst_offset; /* seconds east of UTC */
        char std_abbr[TZ_ABBR_MAX + 1], dst_abbr[TZ_ABBR_MAX + 1];
        tz_rule start, end;             /* into and out of daylight saving time */
} tz_posix;

struct tz_zone {
        unsigned n_ref;
        char *name;
        int64_t *times;                 /* transitions, strictly ascending */
        uint8_t *time_types;            /* the type from each transition on */
        size_t n_times;
        tz_type *types;
        size_t n_types;
        char *chars;                    /* NUL-terminated abbreviations */
        size_t n_chars;
        tz_posix posix;
};

/* ---- Reading bytes ---- */

typedef struct cursor {
        const uint8_t *p;
        size_t left;
} cursor;

static const uint8_t *take(cursor *c, uint64_t n) {
        const uint8_t *p = c->p;

        if (n > c->left)
                return NULL;
        c->p += n;
        c->left -= (size_t) n;
        return p;
}

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p) {
        return (int64_t) ((uint64_t) be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_header {
        uint8_t version;                /* 0 for version 1, else '2', '3', '4' ... */
        uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} tzif_header;

/* A file that breaks a rule: -EBADMSG, and the rule in *ret_error. */
static int malformed(const char **ret_error, const char *why) {
        *ret_error = why;
        return -EBADMSG;
}

/* -EINVAL if the bytes are no TZif file at all, -EBADMSG if the header is cut short. */
static int header_read(cursor *c, tzif_header *h, const char **ret_error) {
        const uint8_t *p;

        /* RFC 8536 3.1: "The magic four-octet ASCII sequence "TZif" identifies the file". */
        if (c->left < 4 || memcmp(c->p, "TZif", 4) != 0) {
                *ret_error = "not a TZif file";
                return -EINVAL;
        }
        p = take(c, TZIF_HEADER_SIZE);
        if (!p)
                return malformed(ret_error, "truncated header");
        *h = (tzif_header) {
                .version = p[4],
                .isutcnt = be32(p + 20), .isstdcnt = be32(p + 24), .leapcnt = be32(p + 28),
                .timecnt = be32(p + 32), .typecnt = be32(p + 36), .charcnt = be32(p + 40),
        };
        return 0;
}

/* RFC 8536 3.2, "Data Block": the bytes that follow a header, with times of time_size bytes. */
static uint64_t data_block_size(const tzif_header *h, unsigned time_size) {
        return (uint64_t) h->timecnt * time_size + h->timecnt + (uint64_t) h->typecnt * 6 + h->charcnt +
               (uint64_t) h->leapcnt * (time_size + 4) + h->isstdcnt + h->isutcnt;
}

/* RFC 8536 3.1's rules on the counts, and this reader's own. */
static const char *header_check(const tzif_header *h) {
        if (h->typecnt == 0)
                return "typecnt is zero";
        if (h->typecnt > 256)
                return "more than 256 local time types";
        if (h->charcnt == 0)
                return "charcnt is zero";
        if (h->isutcnt != 0 && h->isutcnt != h->typecnt)
                return "isutcnt is neither zero nor typecnt";
        if (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)
                return "isstdcnt is neither zero nor typecnt";
        /* Leap seconds ("right/" zones) count in time_t there, as nowhere else in amirotd. */
        if (h->leapcnt != 0)
                return "the file counts leap seconds";
        return NULL;
}

/* The 64-bit data block: transitions, their types, the types, the abbreviations. */
static int data_block_read(tz_zone *z, const tzif_header *h, cursor *c, const char **ret_error) {
        const uint8_t *times, *idx, *types, *chars, *flags;

        if (data_block_size(h, 8) > c->left)
                return malformed(ret_error, "truncated data block");
        times = take(c, (uint64_t) h->timecnt * 8);
        idx = take(c, h->timecnt);
        types = take(c, (uint64_t) h->typecnt * 6);
        chars = take(c, h->charcnt);
        /* Standard/wall and UT/local indicators only matter to POSIX-style TZ strings without rules,
         * which a footer never is (RFC 8536 3.2): checked for their values, then not kept. */
        flags = take(c, (uint64_t) h->isstdcnt + h->isutcnt);
        for (size_t i = 0; i < (size_t) h->isstdcnt + h->isutcnt; i++)
                if (flags[i] > 1)
                        return malformed(ret_error, "standard/wall or UT/local indicator not 0 or 1");

        z->n_times = h->timecnt;
        z->n_types = h->typecnt;
        z->n_chars = h->charcnt;
        z->times = calloc(MAX(h->timecnt, 1u), sizeof(int64_t));
        z->time_types = calloc(MAX(h->timecnt, 1u), 1);
        z->types = calloc(h->typecnt, sizeof(tz_type));
        z->chars = malloc(h->charcnt);
        if (!z->times || !z->time_types || !z->types || !z->chars)
                return -ENOMEM;
        memcpy(z->chars, chars, h->charcnt);

        for (size_t i = 0; i < h->timecnt; i++) {
                z->times[i] = be64(times + 8 * i);
                z->time_types[i] = idx[i];
                if (i > 0 && z->times[i] <= z->times[i - 1])
                        return malformed(ret_error, "transition times not in strictly ascending order");
                if (idx[i] >= h->typecnt)
                        return malformed(ret_error, "transition type index out of range");
        }
        for (size_t i = 0; i < h->typecnt; i++) {
                const uint8_t *t = types + 6 * i;

                z->types[i] = (tz_type) { (int32_t) be32(t), t[4], t[5] };
                if (z->types[i].utoff < UTOFF_MIN || z->types[i].utoff > UTOFF_MAX)
                        return malformed(ret_error, "UT offset beyond -25h..+26h");
                if (t[4] > 1)
                        return malformed(ret_error, "DST indicator not 0 or 1");
                if (t[5] >= h->charcnt || !memchr(z->chars + t[5], 0, h->charcnt - t[5]))
                        return malformed(ret_error, "time zone designation out of range or unterminated");
        }
        return 0;
}

/* ---- The footer: a POSIX TZ string ---- */

/* std and dst names: three or more letters, or <...> of letters, digits, '+' and '-'. */
static bool posix_abbr(const char **s, char ret[static TZ_ABBR_MAX + 1]) {
        const char *p = *s;
        size_t n = 0;
        bool quoted = *p == '<';

        if (quoted)
                p++;
        for (; (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
               (quoted && ((*p >= '0' && *p <= '9') || *p == '+' || *p == '-')); p++, n++)
                if (n >= TZ_ABBR_MAX)
                        return false;
        if (n < 3 || (quoted && *p != '>'))
                return false;
        memcpy(ret, *s + quoted, n);
        ret[n] = 0;
        *s = p + quoted;
        return true;
}

/* [+-]hh[:mm[:ss]] with hh at most max_hours, as seconds. */
static bool posix_hms(const char **s, int max_hours, int32_t *ret) {
        const char *p = *s;
        int sign = 1, part[3] = {};

        if (*p == '+' || *p == '-')
                sign = *p++ == '-' ? -1 : 1;
        for (int i = 0; i < 3; i++) {
                /* Up to three digits of hours (167), one or two of minutes and seconds. */
                size_t n = 0, max = i == 0 ? 3 : 2;

                if (i > 0 && *p != ':')
                        break;
                p += i > 0;
                while (n <= max && p[n] >= '0' && p[n] <= '9')
                        n++;
                if (n == 0 || n > max)
                        return false;
                part[i] = (int) parse_digits(p, n);
                p += n;
        }
        if (part[0] > max_hours || part[1] > 59 || part[2] > 59)
                return false;
        *ret = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
        *s = p;
        return true;
}

/* A date and an optional /time (default 02:00:00). */
static bool posix_rule(const char **s, tz_rule *ret) {
        const char *p = *s;
        tz_rule r = { .time = 7200 };
        size_t n;

        if (*p == 'M') {
                unsigned v[3];

                p++;
                for (int i = 0; i < 3; i++) {
                        if (i > 0 && *p++ != '.')
                                return false;
                        for (n = 0; p[n] >= '0' && p[n] <= '9' && n < 3; n++)
                                ;
                        if (n == 0 || n > 2)
                                return false;
                        v[i] = parse_digits(p, n);
                        p += n;
                }
                r = (tz_rule) { .kind = TZ_RULE_MWD, .month = v[0], .week = v[1], .day = v[2], .time = r.time };
                if (r.month < 1 || r.month > 12 || r.week < 1 || r.week > 5 || r.day > 6)
                        return false;
        } else {
                r.kind = *p == 'J' ? TZ_RULE_JULIAN1 : TZ_RULE_JULIAN0;
                p += *p == 'J';
                for (n = 0; p[n] >= '0' && p[n] <= '9' && n < 4; n++)
                        ;
                if (n == 0 || n > 3)
                        return false;
                r.day = parse_digits(p, n);
                p += n;
                if (r.kind == TZ_RULE_JULIAN1 ? r.day < 1 || r.day > 365 : r.day > 365)
                        return false;
        }
        /* RFC 8536 3.3.1: "the hours part of its transition times may be signed and range from
         * -167 through 167 instead of the POSIX-required unsigned values from 0 through 24". */
        if (*p == '/' && (p++, !posix_hms(&p, 167, &r.time)))
                return false;
        *ret = r;
        *s = p;
        return true;
}

/* POSIX: "std offset [dst [offset] [,rule]]"; offsets are west of UTC there, east here. */
static const char *posix_parse(const char *s, tz_posix *ret) {
        tz_posix p = { .present = *s != 0 };
        int32_t v;

        if (!p.present) {
                *ret = p;
                return NULL;
        }
        if (!posix_abbr(&s, p.std_abbr))
                return "footer: bad standard time name";
        if (!posix_hms(&s, 24, &v))
                return "footer: bad standard time offset";
        p.std_offset = -v;
        if (*s) {
                p.has_dst = true;
                if (!posix_abbr(&s, p.dst_abbr))
                        return "footer: bad daylight saving time name";
                p.dst_offset = p.std_offset + 3600;
                if (*s != ',' && *s) {
                        if (!posix_hms(&s, 24, &v))
                                return "footer: bad daylight saving time offset";
                        p.dst_offset = -v;
                }
                /* POSIX leaves the rules of "EST5EDT" to the implementation; RFC 8536 footers never
                 * omit them. */
                if (*s++ != ',' || !posix_rule(&s, &p.start) || *s++ != ',' || !posix_rule(&s, &p.end))
                        return "footer: bad or missing daylight saving time rule";
        }
        if (*s)
                return "footer: trailing characters";
        *ret = p;
        return NULL;
}

static int footer_read(tz_zone *z, cursor *c, const char **ret_error) {
        char buf[TZ_FOOTER_MAX + 1];
        const uint8_t *nl;
        size_t n;

        /* RFC 8536 3.3: "The footer ... consists of a newline character, a TZ string ..., and a
         * newline character." Nothing may follow it. */
        if (c->left < 2 || c->p[0] != '\n')
                return malformed(ret_error, "missing footer");
        nl = memchr(c->p + 1, '\n', c->left - 1);
        if (!nl)
                return malformed(ret_error, "unterminated footer");
        n = (size_t) (nl - c->p) - 1;
        if (n > TZ_FOOTER_MAX || memchr(c->p + 1, 0, n))
                return malformed(ret_error, "footer too long or with a NUL");
        if ((size_t) (nl - c->p) + 1 != c->left)
                return malformed(ret_error, "data after the footer");
        memcpy(buf, c->p + 1, n);
        buf[n] = 0;
        *ret_error = posix_parse(buf, &z->posix);
        return *ret_error ? -EBADMSG : 0;
}

/* ---- The zone ---- */

tz_zone *tz_zone_ref(tz_zone *z) {
        if (z)
                z->n_ref++;
        return z;
}

tz_zone *tz_zone_unref(tz_zone *z) {
        if (!z || --z->n_ref > 0)
                return NULL;
        free(z->name);
        free(z->times);
        free(z->time_types);
        free(z->types);
        free(z->chars);
        return mfree(z);
}

void tz_zone_unrefp(tz_zone **z) {
        tz_zone_unref(*z);
}

const char *tz_zone_name(const tz_zone *z) {
        return z ? z->name : NULL;
}

int tz_zone_parse(const void *data, size_t size, const char *name, tz_zone **ret, const char **ret_error) {
        _cleanup_(tz_zone_unrefp) tz_zone *z = NULL;
        cursor c = { data, size };
        const char *error = NULL;
        tzif_header h;
        int r;

        if (!ret_error)
                ret_error = &error;
        *ret_error = NULL;
        r = header_read(&c, &h, ret_error);
        if (r < 0)
                return r;
        /* RFC 8536 3.1: version 1 files have no 64-bit data and no footer; zic has not written
         * them since 2005. */
        if (h.version < '2')
                return malformed(ret_error, "version 1 file: no 64-bit data");
        if (!take(&c, data_block_size(&h, 4)))
                return malformed(ret_error, "truncated version 1 data block");
        r = header_read(&c, &h, ret_error);
        if (r < 0)
                return malformed(ret_error, "missing or bad second header");
        if (h.version < '2')
                return malformed(ret_error, "second header of version 1");
        *ret_error = header_check(&h);
        if (*ret_error)
                return -EBADMSG;

        z = calloc(1, sizeof(*z));
        if (!z)
                return -ENOMEM;
        z->n_ref = 1;
        if (name && !(z->name = strdup(name)))
                return -ENOMEM;
        r = data_block_read(z, &h, &c, ret_error);
        if (r < 0)
                return r;
        r = footer_read(z, &c, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(z);
        return 0;
}

/* A relative path of plain components: no "." or ".." or hidden files, no odd characters. */
static bool tz_name_is_safe(const char *tz) {
        size_t n = strlen(tz);

        if (n == 0 || n > 255 || tz[0] == '/' || tz[n - 1] == '/')
                return false;
        for (const char *p = tz; *p; p++) {
                bool ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                          *p == '_' || *p == '-' || *p == '+' || *p == '.' || *p == '/';

                if (!ok)
                        return false;
                if ((p == tz || p[-1] == '/') && (*p == '.' || *p == '/'))
                        return false;
        }
        /* "localtime" is whatever this host says, so two hosts could disagree on slots; "right/"
         * zones count leap seconds in time_t, which nothing else here does. */
        return !streq(tz, "localtime") && !startswith(tz, "right/");
}

static int read_all(int fd, uint8_t *buf, size_t cap, size_t *ret_size) {
        size_t n = 0;

        while (n < cap) {
                ssize_t k = read(fd, buf + n, cap - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        *ret_size = n;
        return 0;
}

int tz_zone_load(const char *name, tz_zone **ret, const char **ret_error) {
        _cleanup_(freep) char *path = NULL;
        _cleanup_(freep) uint8_t *buf = NULL;
        struct stat st;
        size_t size = 0;
        int fd, r;

        if (ret_error)
                *ret_error = NULL;
        if (!name || !tz_name_is_safe(name))
                return -EINVAL;
        if (asprintf(&path, ZONEINFO_DIR "/%s", name) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOENT || errno == ENOTDIR ? -EINVAL : -errno;
        buf = malloc(TZIF_MAX_SIZE + 1);
        if (!buf)
                r = -ENOMEM;
        else if (fstat(fd, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode))
                r = -EINVAL;
        else
                r = read_all(fd, buf, TZIF_MAX_SIZE + 1, &size);
        close(fd);
        if (r < 0)
                return r;
        if (size > TZIF_MAX_SIZE) {
                if (ret_error)
                        *ret_error = "larger than 256 KiB";
                return -EBADMSG;
        }
        return tz_zone_parse(buf, size, name, ret, ret_error);
}

/* ---- What the clock reads ---- */

/* Days since 1970-01-01 of a rule's date in year y. */
static int64_t rule_day(const tz_rule *r, int64_t y) {
        int64_t jan1 = days_from_civil(y, 1, 1), first;
        unsigned len;

        switch (r->kind) {
        case TZ_RULE_JULIAN1:
                return jan1 + r->day - 1 + (is_leap_year(y) && r->day >= 60);
        case TZ_RULE_JULIAN0:
                return jan1 + r->day;
        case TZ_RULE_MWD:
                break;
        }
        first = days_from_civil(y, r->month, 1);
        len = days_in_month(y, r->month);
        first += (r->day + 7 - weekday_from_days(first)) % 7 + (r->week - 1) * 7;
        /* Week 5 is the last such weekday of the month, which may be the fourth. */
        while (first >= days_from_civil(y, r->month, 1) + len)
                first -= 7;
        return first;
}

/* Past the last transition: the rule's changes in the year around t, the latest at or before t. */
static void posix_lookup(const tz_posix *p, int64_t t, tz_info *ret) {
        int64_t y, best = 0, year;
        bool found = false, dst = false;
        unsigned m, d;

        if (p->has_dst) {
                civil_from_days(floor_div(t + p->std_offset, SEC_PER_DAY), &year, &m, &d);
                for (y = year - 1; y <= year + 1; y++) {
                        /* The start is read on the standard clock, the end on the daylight clock. */
                        int64_t s = rule_day(&p->start, y) * SEC_PER_DAY + p->start.time - p->std_offset;
                        int64_t e = rule_day(&p->end, y) * SEC_PER_DAY + p->end.time - p->dst_offset;
                        int64_t ev[2] = { MIN(s, e), MAX(s, e) };
                        bool ev_dst[2] = { s <= e, s > e };

                        /* Later changes win ties: all-year DST ("0/0,J365/25") ends as it starts. */
                        for (int i = 0; i < 2; i++)
                                if (ev[i] <= t && (!found || ev[i] >= best)) {
                                        best = ev[i];
                                        dst = ev_dst[i];
                                        found = true;
                                }
                }
        }
        *ret = dst ? (tz_info) { p->dst_offset, true, p->dst_abbr } :
                     (tz_info) { p->std_offset, false, p->std_abbr };
}

int tz_zone_lookup(const tz_zone *z, int64_t t, tz_info *ret) {
        size_t lo = 0, hi;
        const tz_type *type;

        if (t < TZ_TIME_MIN || t > TZ_TIME_MAX)
                return -ERANGE;
        /* RFC 8536 3.2: the footer gives local time after the last transition, or always if there
         * is none; an empty footer leaves the last type in force. Before the first: type 0. */
        if (z->posix.present && (z->n_times == 0 || t > z->times[z->n_times - 1])) {
                posix_lookup(&z->posix, t, ret);
                return 0;
        }
        if (z->n_times == 0 || t < z->times[0])
                type = &z->types[0];
        else {
                /* The last transition at or before t. */
                for (hi = z->n_times; hi - lo > 1;) {
                        size_t mid = lo + (hi - lo) / 2;

                        if (z->times[mid] <= t)
                                lo = mid;
                        else
                                hi = mid;
                }
                type = &z->types[z->time_types[lo]];
        }
        *ret = (tz_info) { type->utoff, type->is_dst, z->chars + type->abbr };
        return 0;
}
