/* SPDX-License-Identifier: MIT */
/*
 * The credential provider: one cache, one resolution at a time, and every
 * caller answered from the event loop. A get with fresh credentials is answered
 * from the cache; otherwise it waits for the one resolution in flight (starting
 * it when there is none), so a hundred concurrent calls cost one IMDS or STS
 * round trip. Temporary credentials are resolved again when they come within 5
 * minutes of their expiry; if that fails while they are still valid, callers
 * keep getting them (the next get tries again, at most every 10 s).
 *
 * This file also holds the synchronous sources of the default chain, in
 * botocore's order: explicit configuration, environment, systemd credentials
 * (our addition, for LoadCredential=), the shared credentials file, the shared
 * config file; creds-imds.c then tries the instance metadata service. Every
 * source that has nothing adds a note, so that the final error lists what was
 * tried. No message ever holds a key.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds-internal.h"

/* Refresh temporary credentials this long before Expiration. botocore's mandatory
 * refresh is 10 minutes; IMDS serves new keys at least 5 minutes before the old
 * ones expire ("Retrieve security credentials from instance metadata"). */
#define CREDS_REFRESH_BEFORE (5 * 60)
/* While cached credentials are still valid, a failed refresh is retried no more often. */
#define CREDS_RETRY_AFTER 10

/* Shared files are small; a larger one is a mistake, not credentials. */
#define CREDS_FILE_MAX (1024 * 1024)

/* ---- The provider ---------------------------------------------------------------------- */

time_t creds_provider_now(creds_provider *p) {
        return p->now ? p->now(p->now_userdata) : time(NULL);
}

void creds_provider_set_clock(creds_provider *p, time_t (*now)(void *userdata), void *userdata) {
        p->now = now;
        p->now_userdata = userdata;
}

static bool creds_usable(creds_provider *p, time_t now) {
        return p->cached && (p->cached->expiration == 0 || now < p->cached->expiration);
}

static bool creds_need_resolve(creds_provider *p) {
        time_t now = creds_provider_now(p);

        if (!creds_usable(p, now))
                return true;
        if (p->cached->expiration == 0 || now < p->cached->expiration - CREDS_REFRESH_BEFORE)
                return false;
        /* In the refresh window with valid keys: try again, but not on every get. */
        return now - p->last_attempt >= CREDS_RETRY_AFTER || now < p->last_attempt;
}

static void creds_wait_unlink(creds_wait *w) {
        creds_provider *p = w->provider;

        if (w->prev)
                w->prev->next = w->next;
        else
                p->waits = w->next;
        if (w->next)
                w->next->prev = w->prev;
        else
                p->waits_tail = w->prev;
        w->prev = w->next = NULL;
}

void creds_wait_cancel(creds_wait *w) {
        if (!w)
                return;
        creds_wait_unlink(w);
        free(w);
}

static void creds_provider_schedule(creds_provider *p) {
        /* Cannot fail for a valid defer source. */
        (void) sd_event_source_set_enabled(p->defer, SD_EVENT_ONESHOT);
}

static void creds_provider_dispatch(creds_provider *p) {
        _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
        _cleanup_(aws_error_done) aws_error err = {};
        int r = 0;

        if (p->resolving || !p->waits)
                return;

        /* Each callback gets a copy, so that one which invalidates or frees the
         * provider cannot pull the credentials from under the next. */
        if (creds_usable(p, creds_provider_now(p)))
                r = aws_credentials_copy(p->cached, &c);
        else if (p->result < 0) {
                r = p->result;
                if (aws_error_set(&err, p->error.status, p->error.code, p->error.message, p->error.request_id) < 0)
                        r = -ENOMEM;
        } else {
                r = -ESTALE;
                aws_error_setf(&err, "AWS credentials from %s expired", p->source ?: "the provider");
        }
        if (r == -ENOMEM && !err.message)
                aws_error_setf(&err, "out of memory");

        p->dispatching = true;
        while (p->waits && !p->resolving && !p->free_requested) {
                creds_wait *w = p->waits;
                creds_callback cb = w->callback;
                void *userdata = w->userdata;

                creds_wait_cancel(w);
                cb(r, r >= 0 ? c : NULL, r >= 0 ? NULL : &err, userdata);
        }
        p->dispatching = false;

        if (p->free_requested)
                creds_provider_free(p);
}

static int on_defer(sd_event_source *s, void *userdata) {
        (void) s;
        creds_provider_dispatch(userdata);
        return 0;
}

void creds_provider_resolved(creds_provider *p, int r, aws_credentials *c, const char *source, aws_error *err) {
        p->resolving = false;
        if (r >= 0) {
                aws_credentials_free(p->cached);
                p->cached = c;
                p->source = source;
                p->result = 0;
                aws_error_done(&p->error);
        } else {
                aws_credentials_free(c);
                p->result = r;
                if (err)
                        aws_error_move(&p->error, err);
                else
                        aws_error_setf(&p->error, "%s", strerror(-r));
                if (!creds_usable(p, creds_provider_now(p)))
                        p->cached = aws_credentials_free(p->cached);
        }
        creds_provider_schedule(p);
}

int creds_provider_alloc(sd_event *event, const creds_provider_vtable *vtable, creds_provider **ret) {
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->vtable = vtable;
        p->event = sd_event_ref(event);
        r = sd_event_add_defer(event, &p->defer, on_defer, p);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(p->defer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->defer, "creds-answer");
        *ret = TAKE_PTR(p);
        return 0;
}

creds_provider *creds_provider_free(creds_provider *p) {
        if (!p)
                return NULL;
        if (p->dispatching) {
                /* Called from one of our callbacks: finish when the dispatch returns. */
                p->free_requested = true;
                return NULL;
        }
        if (p->resolving && p->vtable && p->vtable->cancel)
                p->vtable->cancel(p);
        while (p->waits)
                creds_wait_cancel(p->waits);
        if (p->vtable && p->vtable->done)
                p->vtable->done(p);
        sd_event_source_disable_unref(p->defer);
        sd_event_unref(p->event);
        aws_credentials_free(p->cached);
        aws_error_done(&p->error);
        free(p);
        return NULL;
}

int creds_provider_get(creds_provider *p, creds_callback cb, void *userdata, creds_wait **ret_wait) {
        creds_wait *w;

        if (!p || !cb)
                return -EINVAL;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (creds_wait) {
                .provider = p,
                .callback = cb,
                .userdata = userdata,
                .prev = p->waits_tail,
        };
        if (p->waits_tail)
                p->waits_tail->next = w;
        else
                p->waits = w;
        p->waits_tail = w;

        if (!p->resolving) {
                if (creds_need_resolve(p)) {
                        p->resolving = true;
                        p->last_attempt = creds_provider_now(p);
                        p->vtable->resolve(p);
                } else
                        creds_provider_schedule(p);
        }

        if (ret_wait)
                *ret_wait = w;
        return 0;
}

typedef struct creds_sync {
        bool done;
        int r;
        aws_credentials *c;
        aws_error error;
} creds_sync;

static void on_sync(int r, const aws_credentials *c, const aws_error *err, void *userdata) {
        creds_sync *s = userdata;

        s->done = true;
        s->r = r;
        if (r >= 0) {
                s->r = aws_credentials_copy(c, &s->c);
                if (s->r < 0)
                        aws_error_setf(&s->error, "out of memory");
        } else if (err)
                aws_error_set(&s->error, err->status, err->code, err->message, err->request_id);
}

int creds_provider_get_sync(creds_provider *p, aws_credentials **ret, aws_error *ret_error) {
        creds_sync s = {};
        creds_wait *w;
        int r;

        if (!p || !ret)
                return -EINVAL;
        r = creds_provider_get(p, on_sync, &s, &w);
        if (r < 0)
                return r;
        while (!s.done) {
                r = sd_event_run(p->event, UINT64_MAX);
                if (r < 0) {
                        if (!s.done)
                                creds_wait_cancel(w);
                        aws_credentials_free(s.c);
                        aws_error_done(&s.error);
                        if (ret_error)
                                aws_error_setf(ret_error, "cannot run the event loop: %s", strerror(-r));
                        return r;
                }
        }
        if (s.r < 0) {
                if (ret_error)
                        aws_error_move(ret_error, &s.error);
                aws_error_done(&s.error);
                return s.r;
        }
        *ret = s.c;
        return 0;
}

void creds_provider_invalidate(creds_provider *p) {
        if (!p)
                return;
        p->cached = aws_credentials_free(p->cached);
        p->result = 0;
        aws_error_done(&p->error);
}

const char *creds_provider_source(const creds_provider *p) {
        return p ? p->source : NULL;
}

/* ---- The default chain: synchronous sources -------------------------------------------- */

static void chain_note(creds_provider *p, const char *fmt, ...) _printf_(2, 3);
static void chain_note(creds_provider *p, const char *fmt, ...) {
        _cleanup_(freep) char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        /* Out of memory only shortens the message. */
        (void) strbuf_printf(&p->chain.tried, "%s%s", p->chain.tried.len > 0 ? ", " : "", s);
}

static const char *getenv_nonempty(const char *name) {
        const char *v = getenv(name);

        return isempty(v) ? NULL : v;
}

static int read_small_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_(erase_and_freep) char *buf = NULL;
        size_t size = 0;
        struct stat st;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto fail;
        }
        if (S_ISDIR(st.st_mode)) {
                r = -EISDIR;
                goto fail;
        }
        buf = calloc(1, CREDS_FILE_MAX + 1);
        if (!buf) {
                r = -ENOMEM;
                goto fail;
        }
        for (;;) {
                ssize_t n = read(fd, buf + size, CREDS_FILE_MAX + 1 - size);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto fail;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > CREDS_FILE_MAX) {
                        r = -EFBIG;
                        goto fail;
                }
        }
        close(fd);
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
fail:
        close(fd);
        return r;
}

/*
 * One INI file: 1 with *ret when a section has keys, 0 with a note when the file
 * or the keys are not there, <0 with err when only half a key pair is.
 */
static int chain_ini_file(creds_provider *p, const char *path, const char *display_path,
                          const char *const *sections, aws_credentials **ret, aws_error *err) {
        _cleanup_(erase_and_freep) char *text = NULL;
        ini_result result;
        size_t size = 0;
        int r;

        r = read_small_file(path, &text, &size);
        if (r == -ENOENT || r == -ENOTDIR) {
                chain_note(p, "no %s", display_path);
                return 0;
        }
        if (r == -EFBIG) {
                chain_note(p, "%s is larger than 1 MiB, ignored", display_path);
                return 0;
        }
        if (r < 0) {
                /* Unreadable is skipped, as botocore's configparser does, but said. */
                chain_note(p, "cannot read %s: %s", display_path, strerror(-r));
                return 0;
        }

        r = creds_ini_lookup(text, size, sections, &result, ret);
        if (r < 0) {
                aws_error_setf(err, "cannot parse %s: %s", display_path, strerror(-r));
                return r;
        }
        switch (result) {
        case INI_FOUND:
                return 1;
        case INI_NO_SECTION:
                chain_note(p, "no [%s] in %s", sections[0], display_path);
                return 0;
        case INI_NO_KEYS:
                chain_note(p, "no aws_access_key_id in [%s] of %s", sections[0], display_path);
                return 0;
        case INI_NO_SECRET:
                aws_error_setf(err, "[%s] in %s has aws_access_key_id but no aws_secret_access_key",
                               sections[0], display_path);
                return -EINVAL;
        case INI_NO_KEY_ID:
                aws_error_setf(err, "[%s] in %s has aws_secret_access_key but no aws_access_key_id",
                               sections[0], display_path);
                return -EINVAL;
        }
        return -EINVAL;
}

static int chain_explicit(creds_provider *p, aws_credentials **ret, const char **ret_source, aws_error *err) {
        const char *id = p->chain.access_key_id, *secret = p->chain.secret_access_key;
        int r;

        if (!id && !secret) {
                chain_note(p, "not configured");
                return 0;
        }
        if (!secret) {
                aws_error_setf(err, "the configuration has an access key id but no secret access key");
                return -EINVAL;
        }
        if (!id) {
                aws_error_setf(err, "the configuration has a secret access key but no access key id");
                return -EINVAL;
        }
        r = creds_new(id, secret, p->chain.session_token, 0, ret);
        if (r < 0)
                return r;
        *ret_source = "explicit";
        return 1;
}

static int chain_environment(creds_provider *p, aws_credentials **ret, const char **ret_source, aws_error *err) {
        const char *id = getenv_nonempty("AWS_ACCESS_KEY_ID");
        const char *secret = getenv_nonempty("AWS_SECRET_ACCESS_KEY");
        int r;

        if (!id && !secret) {
                chain_note(p, "AWS_ACCESS_KEY_ID unset");
                return 0;
        }
        if (!secret) {
                aws_error_setf(err, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
                return -EINVAL;
        }
        if (!id) {
                aws_error_setf(err, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
                return -EINVAL;
        }
        r = creds_new(id, secret, getenv_nonempty("AWS_SESSION_TOKEN"), 0, ret);
        if (r < 0)
                return r;
        *ret_source = "environment";
        return 1;
}

static const char *chain_profile(creds_provider *p, const char **ret_from) {
        const char *profile;

        if (p->chain.profile) {
                *ret_from = "the configuration";
                return p->chain.profile;
        }
        profile = getenv_nonempty("AWS_PROFILE");
        if (profile) {
                *ret_from = "AWS_PROFILE";
                return profile;
        }
        *ret_from = NULL;
        return "default";
}

/* systemd's LoadCredential=/SetCredential= put files under $CREDENTIALS_DIRECTORY
 * (systemd.exec(5), "Credentials"); ours is "aws-credentials", in the shared format. */
static int chain_systemd(creds_provider *p, aws_credentials **ret, const char **ret_source, aws_error *err) {
        const char *dir = getenv_nonempty("CREDENTIALS_DIRECTORY"), *from;
        const char *sections[] = { chain_profile(p, &from), NULL };
        _cleanup_(freep) char *path = NULL;
        int r;

        if (!dir) {
                chain_note(p, "no $CREDENTIALS_DIRECTORY/aws-credentials");
                return 0;
        }
        if (asprintf(&path, "%s/aws-credentials", dir) < 0)
                return -ENOMEM;
        r = chain_ini_file(p, path, path, sections, ret, err);
        if (r > 0)
                *ret_source = "systemd-credentials";
        return r;
}

/* "~/x" as botocore's os.path.expanduser() does it: with $HOME, or not at all. */
static int expand_home(const char *path, const char *home, char **ret) {
        if (path[0] == '~' && (path[1] == '/' || path[1] == 0)) {
                if (!home)
                        return -ENOENT;
                return asprintf(ret, "%s%s", home, path + 1) < 0 ? -ENOMEM : 0;
        }
        return strdup_or_null(path, ret);
}

static int shared_file_path(const char *env, const char *default_path, const char *home, char **ret) {
        const char *v = getenv_nonempty(env);

        if (v)
                return expand_home(v, home, ret);
        if (!home)
                return -ENOENT;
        return asprintf(ret, "%s/%s", home, default_path) < 0 ? -ENOMEM : 0;
}

static int chain_shared_files(creds_provider *p, aws_credentials **ret, const char **ret_source, aws_error *err) {
        const char *home = getenv_nonempty("HOME"), *from;
        const char *profile = chain_profile(p, &from);
        _cleanup_(freep) char *credentials_path = NULL, *config_path = NULL, *config_section = NULL;
        int r;

        r = shared_file_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", home, &credentials_path);
        if (r == -ENOMEM)
                return r;
        r = shared_file_path("AWS_CONFIG_FILE", ".aws/config", home, &config_path);
        if (r == -ENOMEM)
                return r;
        if (!credentials_path && !config_path)
                /* A DynamicUser= service may have no home: nothing to read. */
                chain_note(p, "no shared files ($HOME unset)");

        if (credentials_path) {
                const char *sections[] = { profile, NULL };

                r = chain_ini_file(p, credentials_path, credentials_path, sections, ret, err);
                if (r != 0) {
                        *ret_source = "shared-credentials-file";
                        return r;
                }
        }

        if (config_path) {
                /* The config file names profiles "[profile x]"; the default one is
                 * "[default]", and botocore takes "[profile default]" as well. */
                const char *sections[] = { NULL, NULL, NULL };

                if (streq(profile, "default")) {
                        sections[0] = "default";
                        sections[1] = "profile default";
                } else {
                        if (asprintf(&config_section, "profile %s", profile) < 0)
                                return -ENOMEM;
                        sections[0] = config_section;
                }
                r = chain_ini_file(p, config_path, config_path, sections, ret, err);
                if (r != 0) {
                        *ret_source = "shared-config-file";
                        return r;
                }
        }

        if (from) {
                /* A profile that was asked for by name is not replaced by another identity. */
                aws_error_setf(err, "no AWS credentials for profile '%s' (from %s): %s",
                               profile, from, p->chain.tried.data ?: "");
                return -ENOKEY;
        }
        return 0;
}

void creds_chain_give_up(creds_provider *p) {
        aws_error err = {};

        aws_error_setf(&err, "no AWS credentials: %s", p->chain.tried.data ?: "no source");
        creds_provider_resolved(p, -ENOKEY, NULL, NULL, &err);
        aws_error_done(&err);
}

void creds_chain_note_imds(creds_provider *p, const char *what) {
        chain_note(p, "IMDS: %s", what);
}

static void chain_resolve(creds_provider *p) {
        static int (*const sources[])(creds_provider *p, aws_credentials **ret, const char **ret_source,
                                      aws_error *err) = {
                chain_explicit,
                chain_environment,
                chain_systemd,
                chain_shared_files,
        };
        const char *imds_disabled;

        strbuf_done(&p->chain.tried);

        for (size_t i = 0; i < ELEMENTSOF(sources); i++) {
                _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
                _cleanup_(aws_error_done) aws_error err = {};
                const char *source = NULL;
                int r;

                r = sources[i](p, &c, &source, &err);
                if (r < 0) {
                        if (!err.message)
                                aws_error_setf(&err, "cannot read AWS credentials: %s", strerror(-r));
                        creds_provider_resolved(p, r, NULL, NULL, &err);
                        return;
                }
                if (r > 0) {
                        creds_provider_resolved(p, 0, TAKE_PTR(c), source, NULL);
                        return;
                }
        }

        /* botocore: AWS_EC2_METADATA_DISABLED, compared case-insensitively with "true". */
        imds_disabled = getenv("AWS_EC2_METADATA_DISABLED");
        if (imds_disabled && strcasecmp(imds_disabled, "true") == 0)
                creds_chain_note_imds(p, "disabled by AWS_EC2_METADATA_DISABLED");
        else if (!p->chain.http)
                creds_chain_note_imds(p, "not tried (no HTTP client)");
        else {
                creds_imds_start(p);
                return;
        }
        creds_chain_give_up(p);
}

static void chain_cancel(creds_provider *p) {
        creds_imds_cancel(p);
}

static void chain_done(creds_provider *p) {
        creds_imds_done(p);
        free(p->chain.access_key_id);
        erase_and_free(p->chain.secret_access_key);
        erase_and_free(p->chain.session_token);
        free(p->chain.profile);
        strbuf_done(&p->chain.tried);
}

static const creds_provider_vtable chain_vtable = {
        .resolve = chain_resolve,
        .cancel = chain_cancel,
        .done = chain_done,
};

int creds_provider_new_chain(http_client *http, const creds_options *o, creds_provider **ret) {
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        const creds_options none = {};
        int r;

        if (!ret)
                return -EINVAL;
        if (!o)
                o = &none;

        if (http)
                event = sd_event_ref(http_client_get_event(http));
        else {
                r = sd_event_default(&event);
                if (r < 0)
                        return r;
        }

        r = creds_provider_alloc(event, &chain_vtable, &p);
        if (r < 0)
                return r;
        p->chain.http = http;
        /* An empty string is unset, as for the environment variables. */
        if (strdup_or_null(isempty(o->access_key_id) ? NULL : o->access_key_id, &p->chain.access_key_id) < 0 ||
            strdup_or_null(isempty(o->secret_access_key) ? NULL : o->secret_access_key, &p->chain.secret_access_key) < 0 ||
            strdup_or_null(isempty(o->session_token) ? NULL : o->session_token, &p->chain.session_token) < 0 ||
            strdup_or_null(isempty(o->profile) ? NULL : o->profile, &p->chain.profile) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(p);
        return 0;
}
