/* SPDX-License-Identifier: MIT */
/*
 * See profile.h. The file is read once into a flat list of (section, key,
 * subkey, value) settings; lookups walk it backwards so that the last
 * setting wins, as configparser's merging of repeated sections and keys does.
 * The nested form ("ec2 =" followed by indented "endpoint_url = ..." lines) is
 * botocore's configloader._parse_nested, used by [services NAME] sections.
 */
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile.h"
#include "base/util.h"

#define PROFILE_FILE_MAX (1024 * 1024)

typedef struct profile_setting {
        char *section, *key, *subkey, *value;
} profile_setting;

struct aws_profile_file {
        profile_setting *settings;
        size_t n;
        char **sections;                /* every header seen, normalised */
};

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **b, const char **e) {
        while (*b < *e && is_blank(**b))
                (*b)++;
        while (*e > *b && is_blank((*e)[-1]))
                (*e)--;
}

static char *memdup_lower(const char *b, const char *e, bool lower) {
        char *s = strndup(b, (size_t) (e - b));

        for (char *p = s; lower && p && *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char) (*p - 'A' + 'a');
        return s;
}

/* "[ profile  "x" ]" → "profile x"; "[services  y]" → "services y"; else the trimmed header. */
static char *normalise_header(const char *b, const char *e) {
        static const char *const kinds[] = { "profile", "services", "sso-session" };
        char *s = NULL;

        trim(&b, &e);
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                size_t n = strlen(kinds[i]);
                const char *nb = b + n, *ne = e;

                if ((size_t) (e - b) <= n || memcmp(b, kinds[i], n) != 0 || !is_blank(b[n]))
                        continue;
                trim(&nb, &ne);
                if (ne - nb >= 2 && *nb == '"' && ne[-1] == '"') {
                        nb++;
                        ne--;
                }
                return asprintf(&s, "%s %.*s", kinds[i], (int) (ne - nb), nb) < 0 ? NULL : s;
        }
        return memdup_lower(b, e, false);
}

static int add_setting(aws_profile_file *f, const char *section, const char *kb, const char *ke,
                       const char *sb, const char *se, const char *vb, const char *ve) {
        profile_setting *n, s = {};

        n = reallocarray(f->settings, f->n + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        f->settings = n;
        s.section = strdup(section);
        s.key = memdup_lower(kb, ke, true);
        s.subkey = sb ? memdup_lower(sb, se, true) : NULL;
        s.value = memdup_lower(vb, ve, false);
        if (!s.section || !s.key || (sb && !s.subkey) || !s.value) {
                free(s.section);
                free(s.key);
                free(s.subkey);
                free(s.value);
                return -ENOMEM;
        }
        f->settings[f->n++] = s;
        return 0;
}

/* Splits "key = value" at the first '=' or ':'; false when there is neither or no key. */
static bool split_key_value(const char *b, const char *e, const char **kb, const char **ke,
                            const char **vb, const char **ve) {
        const char *sep = b;

        while (sep < e && *sep != '=' && *sep != ':')
                sep++;
        if (sep == e)
                return false;
        *kb = b;
        *ke = sep;
        *vb = sep + 1;
        *ve = e;
        trim(kb, ke);
        trim(vb, ve);
        return *ke > *kb;
}

typedef struct parse_state {
        char *section;                  /* NULL: before the first header */
        char *nested_key;               /* the key of "key =" awaiting indented lines */
        bool in_value;                  /* the last key line belongs to a section */
} parse_state;

static int parse_line(aws_profile_file *f, parse_state *st, const char *b, const char *e) {
        const char *kb, *ke, *vb, *ve;
        bool indented = b < e && (*b == ' ' || *b == '\t');

        trim(&b, &e);
        if (b == e || *b == '#' || *b == ';')
                return 0;
        if (!indented && *b == '[') {
                const char *close = memchr(b, ']', (size_t) (e - b));

                free(st->section);
                st->section = NULL;
                st->nested_key = mfree(st->nested_key);
                if (!close)
                        return 0;       /* junk: keys up to the next header go nowhere */
                st->section = normalise_header(b + 1, close);
                if (!st->section)
                        return -ENOMEM;
                return strv_extend(&f->sections, st->section);
        }
        if (!st->section)
                return 0;
        if (indented && st->nested_key) {
                if (!split_key_value(b, e, &kb, &ke, &vb, &ve))
                        return 0;
                return add_setting(f, st->section, st->nested_key, st->nested_key + strlen(st->nested_key),
                                   kb, ke, vb, ve);
        }
        if (indented)
                return 0;       /* a continuation of a plain value: no setting we read has one */
        st->nested_key = mfree(st->nested_key);
        if (!split_key_value(b, e, &kb, &ke, &vb, &ve))
                return 0;
        if (vb == ve) {
                /* "key =" with nothing after: a nested mapping may follow. */
                st->nested_key = memdup_lower(kb, ke, true);
                if (!st->nested_key)
                        return -ENOMEM;
        }
        return add_setting(f, st->section, kb, ke, NULL, NULL, vb, ve);
}

int aws_profile_file_parse(const char *text, size_t size, aws_profile_file **ret) {
        aws_profile_file *f;
        parse_state st = {};
        const char *p = text, *end = text + size;
        int r = 0;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        while (p < end && r >= 0) {
                const char *nl = memchr(p, '\n', (size_t) (end - p)), *le = nl ?: end;
                const char *nul = memchr(p, 0, (size_t) (le - p));

                /* A NUL ends the line for us as it would for a C string: the rest is junk. */
                r = parse_line(f, &st, p, nul ?: le);
                p = nl ? nl + 1 : end;
        }
        free(st.section);
        free(st.nested_key);
        if (r < 0) {
                aws_profile_file_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

static void erase(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

aws_profile_file *aws_profile_file_free(aws_profile_file *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n; i++) {
                free(f->settings[i].section);
                free(f->settings[i].key);
                free(f->settings[i].subkey);
                erase(f->settings[i].value);
        }
        free(f->settings);
        strv_free(f->sections);
        return mfree(f);
}

int aws_profile_file_load(const char *path, aws_profile_file **ret) {
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0;
        struct stat st;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
                r = S_ISDIR(st.st_mode) ? -EISDIR : -errno;
                goto out;
        }
        buf = malloc(PROFILE_FILE_MAX + 1);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        for (;;) {
                ssize_t n = read(fd, buf + size, PROFILE_FILE_MAX + 1 - size);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > PROFILE_FILE_MAX) {
                        r = -EFBIG;
                        goto out;
                }
        }
        r = aws_profile_file_parse(buf, size, ret);
out:
        if (buf)
                explicit_bzero(buf, size);
        close(fd);
        return r;
}

const char *aws_profile_get(const aws_profile_file *f, const char *section, const char *key, const char *subkey) {
        if (!f)
                return NULL;
        for (size_t i = f->n; i > 0; i--) {
                const profile_setting *s = &f->settings[i - 1];

                if (streq(s->section, section) && strcasecmp(s->key, key) == 0 &&
                    (subkey ? s->subkey && strcasecmp(s->subkey, subkey) == 0 : !s->subkey))
                        return s->value;
        }
        return NULL;
}

bool aws_profile_has_section(const aws_profile_file *f, const char *section) {
        return f && strv_contains(f->sections, section);
}

/* ---- The shared files of a host ------------------------------------------------------- */

const char *aws_getenv(const char *name) {
        const char *v = getenv(name);

        return isempty(v) ? NULL : v;
}

/* "~/x" as botocore's os.path.expanduser() does it: with $HOME, or not at all. */
static int shared_path(const char *env, const char *default_path, char **ret) {
        const char *v = aws_getenv(env), *home = aws_getenv("HOME");

        if (v && v[0] == '~' && (v[1] == '/' || v[1] == 0))
                return home ? asprintf_safe(ret, "%s%s", home, v + 1) : 0;
        if (v)
                return strdup_or_null(v, ret);
        return home ? asprintf_safe(ret, "%s/%s", home, default_path) : 0;
}

int aws_shared_files_load(const char *profile, aws_shared_files *ret) {
        aws_shared_files f = {};
        int r;

        if (isempty(profile))
                profile = NULL;
        f.profile_explicit = profile || aws_getenv("AWS_PROFILE");
        r = strdup_or_null(profile ?: aws_getenv("AWS_PROFILE") ?: "default", &f.profile);
        if (r >= 0)
                r = shared_path("AWS_CONFIG_FILE", ".aws/config", &f.config_path);
        if (r >= 0)
                r = shared_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", &f.credentials_path);
        if (r >= 0 && f.config_path && aws_profile_file_load(f.config_path, &f.config) == -ENOMEM)
                r = -ENOMEM;
        if (r >= 0 && f.credentials_path && aws_profile_file_load(f.credentials_path, &f.credentials) == -ENOMEM)
                r = -ENOMEM;
        if (r < 0) {
                aws_shared_files_done(&f);
                return -ENOMEM;
        }
        *ret = f;
        return 0;
}

void aws_shared_files_done(aws_shared_files *f) {
        aws_profile_file_free(f->config);
        aws_profile_file_free(f->credentials);
        free(f->config_path);
        free(f->credentials_path);
        free(f->profile);
        *f = (aws_shared_files) {};
}

const char *aws_shared_config_get(const aws_shared_files *f, const char *profile, const char *key) {
        _cleanup_(freep) char *section = NULL;
        const char *v;

        if (!f->config)
                return NULL;
        if (asprintf_safe(&section, "profile %s", profile) < 0)
                return NULL;
        v = aws_profile_get(f->config, section, key, NULL);
        if (!v && streq(profile, "default"))
                v = aws_profile_get(f->config, "default", key, NULL);
        return v;
}

bool aws_shared_profile_exists(const aws_shared_files *f, const char *profile) {
        _cleanup_(freep) char *section = NULL;

        if (aws_profile_has_section(f->credentials, profile))
                return true;
        if (streq(profile, "default") && aws_profile_has_section(f->config, "default"))
                return true;
        return asprintf_safe(&section, "profile %s", profile) >= 0 && aws_profile_has_section(f->config, section);
}

int aws_parse_bool_setting(const char *s) {
        if (!s)
                return -ENOENT;
        if (strcasecmp(s, "true") == 0)
                return 1;
        if (strcasecmp(s, "false") == 0)
                return 0;
        return -EINVAL;
}
