/* SPDX-License-Identifier: MIT */
/*
 * The pure parts of the credential provider: the shared-credentials / config
 * INI format, the IMDS and credential_process JSON (json-c), the splitting of
 * credential_process's command line and the checks of AssumeRole's parameters. No I/O, so the fuzzer and the unit tests drive them directly.
 *
 * The INI reading follows botocore (configparser): '=' or ':' separates key and
 * value, the first of them wins, keys are case-insensitive, whole-line comments
 * start with '#' or ';', a value runs to the end of the line (no inline
 * comments). Where botocore fails on a junk line or a repeated section, this
 * parser skips the line and merges the sections (later keys win): a daemon that
 * loses its credentials over a stray line helps nobody.
 */
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>

#include "creds-internal.h"
#include "endpoint.h"

int creds_new(const char *access_key_id, const char *secret_access_key, const char *session_token,
              time_t expiration, aws_credentials **ret) {
        _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        if (strdup_or_null(access_key_id, &c->access_key_id) < 0 ||
            strdup_or_null(secret_access_key, &c->secret_access_key) < 0 ||
            strdup_or_null(session_token, &c->session_token) < 0)
                return -ENOMEM;
        c->expiration = expiration;
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- INI ------------------------------------------------------------------------------- */

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **b, const char **e) {
        while (*b < *e && is_blank(**b))
                (*b)++;
        while (*e > *b && is_blank((*e)[-1]))
                (*e)--;
}

static bool mem_eq(const char *b, const char *e, const char *s) {
        size_t n = strlen(s);

        return (size_t) (e - b) == n && memcmp(b, s, n) == 0;
}

static bool mem_eq_lower(const char *b, const char *e, const char *s) {
        size_t n = strlen(s);

        return (size_t) (e - b) == n && strncasecmp(b, s, n) == 0;
}

/*
 * Does the header [b, e) (trimmed) name `want`? "profile x" matches
 * "[profile   x]" and "[profile "x"]", as botocore's shlex split of the header
 * does; anything else must match exactly.
 */
static bool header_matches(const char *b, const char *e, const char *want) {
        const char *name;

        if (!startswith(want, "profile "))
                return mem_eq(b, e, want);

        name = want + strlen("profile ");
        if (e - b < 8 || memcmp(b, "profile", 7) != 0 || !is_blank(b[7]))
                return false;
        b += 7;
        trim(&b, &e);
        if (e - b >= 2 && *b == '"' && e[-1] == '"') {
                b++;
                e--;
        }
        return mem_eq(b, e, name);
}

static bool header_matches_any(const char *b, const char *e, const char *const *sections) {
        for (const char *const *s = sections; *s; s++)
                if (header_matches(b, e, *s))
                        return true;
        return false;
}

typedef struct ini_keys {
        char *access_key_id;
        char *secret_access_key;
        char *session_token;
        char *security_token;           /* botocore's legacy name of the session token */
} ini_keys;

static void ini_keys_done(ini_keys *k) {
        erase_and_free(k->access_key_id);
        erase_and_free(k->secret_access_key);
        erase_and_free(k->session_token);
        erase_and_free(k->security_token);
        *k = (ini_keys) {};
}

static int set_value(char **slot, const char *b, const char *e) {
        char *v = NULL;

        /* An empty value is no value: "aws_access_key_id =" unsets an earlier one. */
        if (e > b) {
                v = strndup(b, (size_t) (e - b));
                if (!v)
                        return -ENOMEM;
        }
        erase_and_free(*slot);
        *slot = v;
        return 0;
}

static int ini_line(const char *b, const char *e, ini_keys *k) {
        const char *d, *kb = b, *ke, *vb, *ve = e;

        /* configparser's OPTCRE: the first '=' or ':' separates key and value. */
        for (d = b; d < e && *d != '=' && *d != ':'; d++)
                ;
        if (d == e)
                return 0;               /* junk line, skipped */
        ke = d;
        vb = d + 1;
        trim(&kb, &ke);
        trim(&vb, &ve);
        if (kb == ke)
                return 0;

        if (mem_eq_lower(kb, ke, "aws_access_key_id"))
                return set_value(&k->access_key_id, vb, ve);
        if (mem_eq_lower(kb, ke, "aws_secret_access_key"))
                return set_value(&k->secret_access_key, vb, ve);
        if (mem_eq_lower(kb, ke, "aws_session_token"))
                return set_value(&k->session_token, vb, ve);
        if (mem_eq_lower(kb, ke, "aws_security_token"))
                return set_value(&k->security_token, vb, ve);
        return 0;
}

int creds_ini_lookup(const char *text, size_t size, const char *const *sections,
                     ini_result *ret_result, aws_credentials **ret) {
        const char *p = text, *end = text + size;
        _cleanup_(ini_keys_done) ini_keys k = {};
        bool in_section = false, found = false;
        int r;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *b = p, *e = nl ? nl : end, *close = NULL;

                p = nl ? nl + 1 : end;
                trim(&b, &e);
                if (b == e || *b == '#' || *b == ';')
                        continue;
                if (memchr(b, 0, (size_t) (e - b)))
                        continue;       /* a NUL byte: junk */

                if (*b == '[') {
                        /* configparser's SECTCRE "\[(?P<header>.+)\]": up to the last ']'. */
                        for (const char *c = b + 1; c < e; c++)
                                if (*c == ']')
                                        close = c;
                        if (!close)
                                continue;
                        b++;
                        e = close;
                        trim(&b, &e);
                        in_section = header_matches_any(b, e, sections);
                        found = found || in_section;
                        continue;
                }

                if (!in_section)
                        continue;
                r = ini_line(b, e, &k);
                if (r < 0)
                        return r;
        }

        if (!found)
                *ret_result = INI_NO_SECTION;
        else if (!k.access_key_id && !k.secret_access_key)
                *ret_result = INI_NO_KEYS;
        else if (!k.secret_access_key)
                *ret_result = INI_NO_SECRET;
        else if (!k.access_key_id)
                *ret_result = INI_NO_KEY_ID;
        else {
                r = creds_new(k.access_key_id, k.secret_access_key,
                              k.session_token ?: k.security_token, 0, ret);
                if (r < 0)
                        return r;
                *ret_result = INI_FOUND;
        }
        return 0;
}

int creds_parse_ini(const char *text, size_t size, const char *section, aws_credentials **ret) {
        const char *sections[] = { section, NULL };
        ini_result result;
        int r;

        if (!text || !section || !ret)
                return -EINVAL;
        r = creds_ini_lookup(text, size, sections, &result, ret);
        if (r < 0)
                return r;
        switch (result) {
        case INI_FOUND:
                return 0;
        case INI_NO_SECRET:
        case INI_NO_KEY_ID:
                return -EINVAL;
        default:
                return -ENOENT;
        }
}

/* ---- IMDS JSON ------------------------------------------------------------------------- */

DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free);

/* The strings are keys: wiped in place (json-c owns them, writable) before the object
 * goes. json-c's tokener keeps no more than fragments of them, which it frees as they are. */
static void json_object_wipe(json_object *o) {
        if (json_object_is_type(o, json_type_string)) {
                char *s = (char *) (uintptr_t) json_object_get_string(o);

                explicit_bzero(s, (size_t) json_object_get_string_len(o));
                return;
        }
        if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, key, v) {
                        (void) key;
                        json_object_wipe(v);
                }
        }
}

static void json_object_putp(json_object **o) {
        if (*o)
                json_object_wipe(*o);
        json_object_put(*o);
}

static const char *json_string_member(json_object *o, const char *name) {
        json_object *v;

        if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* One JSON object of outside input, what = "IMDS credentials" etc. for the messages. */
static int json_parse_object(const char *text, size_t size, const char *what, json_object **ret,
                             aws_error *ret_error) {
        _cleanup_(json_tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *o = NULL;
        size_t end;

        if (size > 64 * 1024 || memchr(text, 0, size)) {
                aws_error_setf(ret_error, "%s are not JSON text", what);
                return -EBADMSG;
        }
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, text, (int) size);
        if (!o) {
                enum json_tokener_error e = json_tokener_get_error(tok);

                aws_error_setf(ret_error, "%s are not valid JSON: %s", what,
                               e == json_tokener_continue ? "truncated" : json_tokener_error_desc(e));
                return -EBADMSG;
        }
        for (end = json_tokener_get_parse_end(tok); end < size; end++)
                if (!is_blank(text[end]) && text[end] != '\n' && text[end] != '\r') {
                        aws_error_setf(ret_error, "%s have data after the JSON object", what);
                        return -EBADMSG;
                }
        if (!json_object_is_type(o, json_type_object)) {
                aws_error_setf(ret_error, "%s are not a JSON object", what);
                return -EBADMSG;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int creds_expiration_parse(const char *s, time_t *ret) {
        time_t t;

        /* 0 means "does not expire" and a time before 1970 is no answer a service gives: either
         * would keep temporary keys cached forever, or have them refreshed at every request. */
        if (parse_iso8601(s, &t) < 0 || t <= 0)
                return -EBADMSG;
        *ret = t;
        return 0;
}

/* The role credentials JSON that IMDS and the container endpoints share:
 * AccessKeyId, SecretAccessKey, Token, Expiration; who and what name the source in messages. */
static int parse_role_json(const char *text, size_t size, const char *who, const char *what,
                           aws_credentials **ret, aws_error *ret_error) {
        char m[64];
        _cleanup_(json_object_putp) json_object *o = NULL;
        static const char *const required[] = { "AccessKeyId", "SecretAccessKey", "Token", "Expiration" };
        const char *code;
        time_t expiration;
        int r;

        if (!text || !ret || !ret_error)
                return -EINVAL;
        r = json_parse_object(text, size, what, &o, ret_error);
        if (r < 0)
                return r;

        /* "Code": "Success" in every answer of the instance metadata service's
         * iam/security-credentials/ROLE; anything else carries no keys. */
        code = json_string_member(o, "Code");
        if (code && !streq(code, "Success")) {
                snprintf(m, sizeof(m), "%s did not return credentials", who);
                if (aws_error_set(ret_error, 0, code, m, NULL) < 0)
                        return -ENOMEM;
                return -EREMOTEIO;
        }

        for (size_t i = 0; i < ELEMENTSOF(required); i++) {
                const char *v = json_string_member(o, required[i]);

                if (isempty(v)) {
                        aws_error_setf(ret_error, "%s lack the string '%s'", what, required[i]);
                        return -EBADMSG;
                }
        }
        if (creds_expiration_parse(json_string_member(o, "Expiration"), &expiration) < 0) {
                aws_error_setf(ret_error, "%s have an unreadable Expiration", what);
                return -EBADMSG;
        }

        return creds_new(json_string_member(o, "AccessKeyId"), json_string_member(o, "SecretAccessKey"),
                         json_string_member(o, "Token"), expiration, ret);
}

int creds_parse_imds_json(const char *text, size_t size, aws_credentials **ret, aws_error *ret_error) {
        return parse_role_json(text, size, "IMDS", "IMDS credentials", ret, ret_error);
}

/* The ECS agent's and the EKS Pod Identity agent's answer: the same fields as IMDS's,
 * with RoleArn (and AccountId) beside them and no Code. */
int creds_parse_container_json(const char *text, size_t size, aws_credentials **ret, aws_error *ret_error) {
        return parse_role_json(text, size, "the container endpoint", "container credentials", ret, ret_error);
}

/* ---- credential_process ---------------------------------------------------------------- */

/*
 * "Sourcing credentials with an external process" (AWS CLI user guide, and
 * botocore's ProcessProvider): {"Version": 1, "AccessKeyId": ..., "SecretAccessKey": ...,
 * "SessionToken": ..., "Expiration": ISO 8601}; the last two optional, and without
 * Expiration the keys do not expire. botocore refuses any Version but 1.
 */
int creds_parse_process_json(const char *text, size_t size, aws_credentials **ret, aws_error *ret_error) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        static const char *const required[] = { "AccessKeyId", "SecretAccessKey" };
        json_object *v;
        time_t expiration = 0;
        const char *token = NULL;
        int r;

        if (!text || !ret || !ret_error)
                return -EINVAL;
        r = json_parse_object(text, size, "credential_process's credentials", &o, ret_error);
        if (r < 0)
                return r;

        if (!json_object_object_get_ex(o, "Version", &v) ||
            !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) ||
            json_object_get_double(v) != 1.0) {
                aws_error_setf(ret_error, "credential_process's credentials lack \"Version\": 1");
                return -EBADMSG;
        }
        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (isempty(json_string_member(o, required[i]))) {
                        aws_error_setf(ret_error, "credential_process's credentials lack the string '%s'",
                                       required[i]);
                        return -EBADMSG;
                }
        if (json_object_object_get_ex(o, "SessionToken", &v) && !json_object_is_type(v, json_type_null)) {
                token = json_string_member(o, "SessionToken");
                if (isempty(token)) {
                        aws_error_setf(ret_error, "credential_process's SessionToken is not a non-empty string");
                        return -EBADMSG;
                }
        }
        if (json_object_object_get_ex(o, "Expiration", &v) && !json_object_is_type(v, json_type_null) &&
            creds_expiration_parse(json_string_member(o, "Expiration"), &expiration) < 0) {
                aws_error_setf(ret_error, "credential_process's credentials have an unreadable Expiration");
                return -EBADMSG;
        }

        return creds_new(json_string_member(o, "AccessKeyId"), json_string_member(o, "SecretAccessKey"),
                         token, expiration, ret);
}

/*
 * botocore runs credential_process without a shell, split by compat_shell_split(),
 * which is Python's shlex.split() off Windows: POSIX rules, no comments. Blanks
 * (space, tab, CR, LF) separate words; a backslash outside quotes takes the next
 * character as it is; '...' is literal; in "..." a backslash escapes only '"' and
 * itself. "" and '' make an empty word.
 */
int creds_process_split(const char *command, char ***ret) {
        _cleanup_(strv_freep) char **argv = NULL;
        _cleanup_(strbuf_done) strbuf word = {};
        bool in_word = false;
        char quote = 0;
        int r;

        if (!command || !ret)
                return -EINVAL;
        for (const char *c = command;; c++) {
                if (!*c) {
                        if (quote)
                                return -EINVAL;         /* shlex: "No closing quotation" */
                } else if (quote == '\'') {
                        if (*c == '\'')
                                quote = 0;
                        else if (strbuf_append(&word, c, 1) < 0)
                                return -ENOMEM;
                        continue;
                } else if (quote == '"') {
                        if (*c == '"')
                                quote = 0;
                        else {
                                if (*c == '\\' && (c[1] == '"' || c[1] == '\\'))
                                        c++;
                                if (strbuf_append(&word, c, 1) < 0)
                                        return -ENOMEM;
                        }
                        continue;
                } else if (*c == '\'' || *c == '"') {
                        quote = *c;
                        in_word = true;
                        continue;
                } else if (*c == '\\') {
                        if (!c[1])
                                return -EINVAL;         /* shlex: "No escaped character" */
                        c++;
                        if (strbuf_append(&word, c, 1) < 0)
                                return -ENOMEM;
                        in_word = true;
                        continue;
                } else if (!strchr(" \t\r\n", *c)) {
                        if (strbuf_append(&word, c, 1) < 0)
                                return -ENOMEM;
                        in_word = true;
                        continue;
                }
                /* A blank or the end: the word so far, if any, is done. */
                if (in_word) {
                        r = word.data ? strv_push(&argv, strbuf_steal(&word)) : strv_extend(&argv, "");
                        if (r < 0)
                                return r;
                        in_word = false;
                }
                if (!*c)
                        break;
        }
        if (!argv)
                return -ENOENT;
        *ret = TAKE_PTR(argv);
        return 0;
}

/* ---- AssumeRole parameters ------------------------------------------------------------- */


const char *creds_assume_role_check(const char *role_arn, const char *session_name,
                                    const char *external_id, unsigned duration_seconds) {
        if (!role_arn || !aws_role_arn_is_valid(role_arn))
                return "role_arn must look like arn:aws:iam::123456789012:role/NAME "
                        "(partition aws, aws-cn or aws-us-gov; a 12-digit account; an optional path)";

        /* STS AssumeRole, RoleSessionName: "Length Constraints: Minimum length of 2.
         * Maximum length of 64. Pattern: [\w+=,.@-]*" */
        if (session_name && !aws_iam_name_is_valid(session_name, strlen(session_name), 2, 64))
                return "role session name must be 2-64 characters of letters, digits and _+=,.@-";

        /* ExternalId: "Minimum length of 2. Maximum length of 1224. Pattern: [\w+=,.@:\/-]*" */
        if (external_id) {
                size_t n = strlen(external_id);

                if (n < 2 || n > 1224)
                        return "external_id must be 2-1224 characters";
                for (size_t i = 0; i < n; i++)
                        if (!aws_iam_name_char(external_id[i]) && external_id[i] != ':' && external_id[i] != '/')
                                return "external_id may only hold letters, digits and _+=,.@:/-";
        }

        /* DurationSeconds: "Minimum value of 900. Maximum value of 43200." (0: STS's default, 3600) */
        if (duration_seconds != 0 && (duration_seconds < 900 || duration_seconds > 43200))
                return "duration must be between 900 and 43200 seconds (15 minutes to 12 hours)";

        return NULL;
}
