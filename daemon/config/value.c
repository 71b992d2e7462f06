/* SPDX-License-Identifier: MIT */
/*
 * The values of the configuration: typed scalars with errors that name what was
 * expected and what was found, durations ("7d"), the AMI name and description
 * templates, and "did you mean" for misspelled keys. Strings are read as
 * written, so `Golden: yes` is the string "yes" where a string is expected;
 * booleans and integers must be plain (unquoted) scalars.
 */
#include <inttypes.h>
#include <stdio.h>

#include "aws/endpoint.h"
#include "config/value.h"

bool cvalue_expect(loader *l, const cnode *n, cnode_kind kind, const char *what) {
        static const char *const names[] = {
                [CNODE_SCALAR] = "a string",
                [CNODE_MAPPING] = "a mapping",
                [CNODE_SEQUENCE] = "a sequence",
        };

        if (n && n->kind == kind && !(kind == CNODE_SCALAR && cnode_is_null(n)))
                return true;
        loader_error(l, n, "'%s' expects %s, got %s", what, names[kind], cnode_kind_name(n));
        return false;
}

int cvalue_mapping(loader *l, const cnode *n, const char *what, centry **ret, size_t *ret_n) {
        int r;

        if (!cvalue_expect(l, n, CNODE_MAPPING, what))
                return -EINVAL;
        r = cnode_mapping_entries(l, n, ret, ret_n);
        if (r < 0)
                return (l->oom = r);
        return 0;
}

int cvalue_string(loader *l, const cnode *n, const char *what, char **ret) {
        char *c;

        if (!cvalue_expect(l, n, CNODE_SCALAR, what))
                return -EINVAL;
        if (strlen(n->value) != n->length) {
                loader_error(l, n, "'%s' must not contain a NUL character", what);
                return -EINVAL;
        }
        c = strdup(n->value);
        if (!c) {
                l->oom = -ENOMEM;
                return -ENOMEM;
        }
        free(*ret);
        *ret = c;
        return 0;
}

/* YAML 1.1's booleans (https://yaml.org/type/bool.html), in the three spellings it allows. */
static int parse_bool(const char *s) {
        static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON" };
        static const char *const no[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (streq(s, yes[i]))
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (streq(s, no[i]))
                        return 0;
        return -EINVAL;
}

int cvalue_role_arn(loader *l, const cnode *n, const char *what, char **ret) {
        int r;

        r = cvalue_string(l, n, what, ret);
        if (r < 0)
                return r;
        if (!aws_role_arn_is_valid(*ret)) {
                loader_error(l, n, "'role_arn' expects an IAM role ARN (arn:aws:iam::123456789012:role/NAME), "
                             "got '%s'", *ret);
                return -EINVAL;
        }
        return 0;
}

int cvalue_external_id(loader *l, const cnode *n, const char *what, char **ret) {
        int r;

        r = cvalue_string(l, n, what, ret);
        if (r < 0)
                return r;
        if (!aws_external_id_is_valid(*ret)) {
                loader_error(l, n, "'external_id' must be 2 to 1224 characters of letters, digits and _+=,.@:/-");
                return -EINVAL;
        }
        return 0;
}

int cvalue_bool(loader *l, const cnode *n, const char *what, bool *ret) {
        int b;

        if (!n || n->kind != CNODE_SCALAR || !n->plain || (b = parse_bool(n->value)) < 0) {
                if (n && n->kind == CNODE_SCALAR && !n->plain && parse_bool(n->value) >= 0)
                        loader_error(l, n, "'%s' expects a boolean, got a quoted string (write it without quotes)", what);
                else
                        loader_error(l, n, "'%s' expects a boolean (true or false), got %s%s%s%s", what,
                                     cnode_kind_name(n), n && n->kind == CNODE_SCALAR && !cnode_is_null(n) ? " '" : "",
                                     n && n->kind == CNODE_SCALAR && !cnode_is_null(n) ? n->value : "",
                                     n && n->kind == CNODE_SCALAR && !cnode_is_null(n) ? "'" : "");
                return -EINVAL;
        }
        *ret = b;
        return 0;
}

static int parse_uint(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (*s == '+')
                s++;
        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        return 0;
}

int cvalue_uint(loader *l, const cnode *n, const char *what, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t v;
        int r;

        if (!n || n->kind != CNODE_SCALAR || cnode_is_null(n)) {
                loader_error(l, n, "'%s' expects an integer, got %s", what, cnode_kind_name(n));
                return -EINVAL;
        }
        if (!n->plain) {
                loader_error(l, n, "'%s' expects an integer, got the quoted string '%s'", what, n->value);
                return -EINVAL;
        }
        r = parse_uint(n->value, &v);
        if (r == -EINVAL) {
                loader_error(l, n, "'%s' expects an integer, got '%s'", what, n->value);
                return r;
        }
        if (r < 0 || v < min || v > max) {
                loader_error(l, n, "'%s' must be between %" PRIu64 " and %" PRIu64 ", got %s", what, min, max, n->value);
                return -ERANGE;
        }
        *ret = v;
        return 0;
}

/* "10%": a whole percentage; the sign makes the unit plain to whoever reads the file. */
int cvalue_percent(loader *l, const cnode *n, const char *what, unsigned min, unsigned max, unsigned *ret) {
        char digits[16];
        size_t len;
        uint64_t v;
        int r = -EINVAL;

        if (!n || n->kind != CNODE_SCALAR || cnode_is_null(n)) {
                loader_error(l, n, "'%s' expects a percentage such as '10%%', got %s", what, cnode_kind_name(n));
                return -EINVAL;
        }
        len = strlen(n->value);
        if (len >= 2 && len <= sizeof(digits) && n->value[len - 1] == '%') {
                memcpy(digits, n->value, len - 1);
                digits[len - 1] = 0;
                r = parse_uint(digits, &v);
        }
        if (r == -EINVAL) {
                loader_error(l, n, "'%s' expects a percentage such as '10%%', got '%s'", what, n->value);
                return r;
        }
        if (r < 0 || v < min || v > max) {
                loader_error(l, n, "'%s' must be between %u%% and %u%%, got %s", what, min, max, n->value);
                return -ERANGE;
        }
        *ret = (unsigned) v;
        return 0;
}

int cvalue_number(loader *l, const cnode *n, const char *what, double min, double max, double *ret) {
        const char *s;
        double v = 0, scale = 1;
        bool digits = false, dot = false;

        if (!n || n->kind != CNODE_SCALAR || cnode_is_null(n) || !n->plain) {
                loader_error(l, n, "'%s' expects a number, got %s", what, n && !n->plain ? "a quoted string" : cnode_kind_name(n));
                return -EINVAL;
        }
        /* Decimal digits with an optional fraction; no exponents, no locale. */
        for (s = n->value; *s; s++) {
                if (*s == '.' && !dot) {
                        dot = true;
                } else if (*s >= '0' && *s <= '9' && (s - n->value) < 32) {
                        digits = true;
                        if (dot) {
                                scale /= 10;
                                v += (*s - '0') * scale;
                        } else
                                v = v * 10 + (*s - '0');
                } else {
                        digits = false;
                        break;
                }
        }
        if (!digits) {
                loader_error(l, n, "'%s' expects a number, got '%s'", what, n->value);
                return -EINVAL;
        }
        if (v < min || v > max) {
                loader_error(l, n, "'%s' must be between %g and %g, got %s", what, min, max, n->value);
                return -ERANGE;
        }
        *ret = v;
        return 0;
}

/* ---- Durations ---- */


int config_parse_duration(const char *s, uint64_t *ret) {
        static const struct { char unit; uint64_t seconds; } units[] = {
                { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
        };
        uint64_t total = 0;
        int last = -1;

        if (isempty(s))
                return -EINVAL;
        while (*s) {
                uint64_t v = 0, mult = 0;
                int u = -1;

                if (*s < '0' || *s > '9')
                        return -EINVAL;
                for (; *s >= '0' && *s <= '9'; s++) {
                        v = v * 10 + (uint64_t) (*s - '0');
                        if (v > CVALUE_DURATION_MAX)
                                return -ERANGE;
                }
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (*s == units[i].unit) {
                                u = (int) i;
                                mult = units[i].seconds;
                        }
                /* A unit is required; each at most once and from the largest down ("1h30m", not "30m1h"). */
                if (u < 0 || (last >= 0 && u >= last))
                        return -EINVAL;
                last = u;
                s++;
                if (v > CVALUE_DURATION_MAX / mult || total + v * mult > CVALUE_DURATION_MAX)
                        return -ERANGE;
                total += v * mult;
        }
        if (total == 0)
                return -ERANGE;
        *ret = total;
        return 0;
}

int cvalue_duration(loader *l, const cnode *n, const char *what, uint64_t min, uint64_t max, uint64_t *ret) {
        char a[DURATION_MAX], b[DURATION_MAX];
        uint64_t v;
        int r;

        if (!n || n->kind != CNODE_SCALAR || cnode_is_null(n)) {
                loader_error(l, n, "'%s' expects a duration such as 30m, 6h or 7d, got %s", what, cnode_kind_name(n));
                return -EINVAL;
        }
        if (min == 0 && (streq(n->value, "0") || streq(n->value, "0s"))) {
                *ret = 0;
                return 0;
        }
        r = config_parse_duration(n->value, &v);
        if (r < 0 && strlen(n->value) == n->length && parse_uint(n->value, &v) >= 0 && v > 0) {
                loader_error(l, n, "'%s' needs a unit: '%ss' for seconds, or m, h, d, w", what, n->value);
                return -EINVAL;
        }
        if (r < 0 || strlen(n->value) != n->length) {
                loader_error(l, n, "'%s' expects a duration such as 90s, 30m, 6h, 7d, 2w or 1h30m, got '%s'",
                             what, n->value);
                return -EINVAL;
        }
        if (v < min) {
                loader_error(l, n, "'%s' must be at least %s, got %s", what, format_duration(min, a), n->value);
                return -ERANGE;
        }
        if (v > max) {
                loader_error(l, n, "'%s' must be at most %s, got %s", what, format_duration(max, b), n->value);
                return -ERANGE;
        }
        *ret = v;
        return 0;
}

/* ---- Did you mean ---- */

unsigned config_edit_distance(const char *a, const char *b, unsigned max) {
        size_t la = strlen(a), lb = strlen(b);
        unsigned row[64 + 1];

        if (lb > 64 || la > 64)
                return max + 1;
        if ((la > lb ? la - lb : lb - la) > max)
                return max + 1;
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++) {
                unsigned diag = row[0], best;

                row[0] = (unsigned) i;
                best = row[0];
                for (size_t j = 1; j <= lb; j++) {
                        unsigned up = row[j], v;

                        v = diag + (a[i - 1] != b[j - 1]);
                        if (up + 1 < v)
                                v = up + 1;
                        if (row[j - 1] + 1 < v)
                                v = row[j - 1] + 1;
                        diag = up;
                        row[j] = v;
                        if (v < best)
                                best = v;
                }
                if (best > max)
                        return max + 1;
        }
        return row[lb] > max ? max + 1 : row[lb];
}

const char *cvalue_closest(const char *s, const char *const *known) {
        const char *best = NULL;
        unsigned best_d = 3;

        for (; known && *known; known++) {
                unsigned d = config_edit_distance(s, *known, 2);

                if (d < best_d) {
                        best = *known;
                        best_d = d;
                }
        }
        return best;
}

const char *cvalue_unknown(loader *l, const cnode *n, const char *what, const char *where, const char *const *known) {
        const char *c = cvalue_closest(n->value, known);

        if (c)
                loader_error(l, n, "unknown %s '%s' in %s, did you mean '%s'?", what, n->value, where, c);
        else
                loader_error(l, n, "unknown %s '%s' in %s", what, n->value, where);
        return c;
}

/* ---- Templates ---- */

size_t utf8_length(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xC0) != 0x80)
                        n++;
        return n;
}

/* "i-" and 17 hexadecimal digits, the longest instance id. */
#define INSTANCE_ID_MAX 19

/* What a template renders to at the longest. */
typedef struct template_scan {
        config_template_kind kind;
        size_t policy_len, region_len;
        size_t len;
        bool has_slot, has_id;
} template_scan;

/* *ret_error as asprintf() makes it; returns -EINVAL, or -ENOMEM when it could not. */
_printf_(2, 3) static int template_error(char **ret_error, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf_safe(ret_error, fmt, ap);
        va_end(ap);
        return r < 0 ? r : -EINVAL;
}

/* {instance_tag:KEY}: the instance's tag KEY. Its value is free text, as a Name tag is, so it
 * is not counted: the planner cuts it (in a name, before the slot) and sanitises it. */
static int template_instance_tag(const char *key, char **ret_error) {
        if (isempty(key))
                return template_error(ret_error, "empty tag key in placeholder '{instance_tag:}', "
                                      "write '{instance_tag:KEY}'");
        if (utf8_length(key) > EC2_TAG_KEY_MAX)
                return template_error(ret_error, "tag key '%.32s...' in placeholder '{instance_tag:...}' is "
                                      "longer than %d characters", key, EC2_TAG_KEY_MAX);
        return 0;
}

static int template_placeholder(template_scan *t, const char *name, char **ret_error) {
        static const char *const known[] = {
                "policy", "instance_id", "instance_name", "slot", "region", "instance_tag:KEY", NULL
        };
        const char *c;

        if (startswith(name, "instance_tag:"))
                return template_instance_tag(name + strlen("instance_tag:"), ret_error);
        if (streq(name, "policy"))
                t->len += t->policy_len;
        else if (streq(name, "instance_id")) {
                t->len += INSTANCE_ID_MAX;
                t->has_id = true;
        } else if (streq(name, "slot")) {
                t->len += SLOT_ID_MAX - 1;
                t->has_slot = true;
        } else if (streq(name, "region"))
                t->len += t->region_len;
        else if (streq(name, "instance_name")) {
                /* A Name tag holds any character, and renaming an instance must not
                 * change the name of its slot's image: that name is the idempotency key. */
                if (t->kind == CONFIG_TEMPLATE_NAME)
                        return template_error(ret_error, "{instance_name} is not allowed in the image name "
                                              "(its characters are not EC2's and a rename would break "
                                              "one image per slot); use it in the description");
                /* not counted: the planner cuts the description at 255 characters */
        } else {
                c = cvalue_closest(name, known);
                return template_error(ret_error, "unknown placeholder '{%s}'%s%s%s", name,
                                      c ? ", did you mean '{" : "", c ? c : "", c ? "}'?" : "");
        }
        return 0;
}

/* The placeholder at p ('{'); *ret_end is its '}'. */
static int template_brace(template_scan *t, const char *p, const char **ret_end, char **ret_error) {
        const char *end = strchr(p, '}');
        _cleanup_(freep) char *name = NULL;

        if (!end)
                return template_error(ret_error, "unterminated placeholder '%s', expected '}'", p);
        if (memchr(p + 1, '{', (size_t) (end - p - 1)))
                return template_error(ret_error, "invalid placeholder '%.*s'", (int) (end - p + 1), p);
        name = strndup(p + 1, (size_t) (end - p - 1));
        if (!name)
                return -ENOMEM;
        *ret_end = end;
        return template_placeholder(t, name, ret_error);
}

static int template_check_length(const template_scan *t, char **ret_error) {
        if (t->kind == CONFIG_TEMPLATE_NAME) {
                if (!t->has_slot || !t->has_id)
                        return template_error(ret_error, "the image name must contain {slot} and {instance_id}, "
                                              "so that each instance gets one image per slot");
                if (t->len > EC2_IMAGE_NAME_MAX)
                        return template_error(ret_error, "the image name can be %zu characters long, EC2 allows %d",
                                              t->len, EC2_IMAGE_NAME_MAX);
                /* no check against EC2_IMAGE_NAME_MIN: {slot} alone is 16 characters */
        } else if (t->kind == CONFIG_TEMPLATE_DESCRIPTION && t->len > EC2_IMAGE_DESCRIPTION_MAX)
                return template_error(ret_error, "the description can be %zu characters long, EC2 allows %d",
                                      t->len, EC2_IMAGE_DESCRIPTION_MAX);
        else if (t->kind == CONFIG_TEMPLATE_TAG && t->len > EC2_TAG_VALUE_MAX)
                return template_error(ret_error, "the tag value is at least %zu characters long, EC2 allows %d",
                                      t->len, EC2_TAG_VALUE_MAX);
        return 0;
}

int config_check_template(const char *template, config_template_kind kind,
                          size_t policy_len, size_t region_len, char **ret_error) {
        template_scan t = { .kind = kind, .policy_len = policy_len, .region_len = region_len };
        int r;

        *ret_error = NULL;
        for (const char *p = template; *p; p++) {
                if (*p == '{') {
                        r = template_brace(&t, p, &p, ret_error);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (kind == CONFIG_TEMPLATE_NAME && !ec2_image_name_char(*p)) {
                        if ((unsigned char) *p >= 0x80)
                                return template_error(ret_error, "non-ASCII character in the image name; EC2 allows "
                                                      "letters, digits, spaces and ( ) [ ] . / - ' @ _");
                        return template_error(ret_error, "character '%c' is not allowed in an image name; EC2 allows "
                                              "letters, digits, spaces and ( ) [ ] . / - ' @ _", *p);
                }
                if (((unsigned char) *p & 0xC0) != 0x80)
                        t.len++;
        }
        return template_check_length(&t, ret_error);
}
