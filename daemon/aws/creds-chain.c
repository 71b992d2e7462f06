/* SPDX-License-Identifier: MIT */
/*
 * The default chain's synchronous sources, in botocore's order: explicit
 * configuration, environment, systemd credentials (our addition, for
 * LoadCredential=), the shared credentials file, the shared config file; then
 * creds-imds.c asks the instance metadata service. Every source that has
 * nothing adds a note, so that the final error lists what was tried; a source
 * with half a key pair stops the chain. No message ever holds a key.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds-internal.h"

/* Shared files are small; a larger one is a mistake, not credentials. */
#define CREDS_FILE_MAX (1024 * 1024)

/* Adds why a source had no keys to the list of those tried; out of memory only shortens it. */
#define chain_note(p, fmt, ...)                                                                 \
        (void) strbuf_printf(&(p)->chain.tried, "%s" fmt, (p)->chain.tried.len > 0 ? ", " : "", ##__VA_ARGS__)

/* Half a key pair is a mistake to report, not a source to skip: -EINVAL with the message for the half missing. */
static int chain_check_pair(const char *id, const char *secret, const char *no_secret, const char *no_id,
                            aws_error *err) {
        const char *missing = !secret ? no_secret : !id ? no_id : NULL;

        if (!missing)
                return 0;
        aws_error_setf(err, "%s", missing);
        return -EINVAL;
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
        explicit_bzero(text, size);     /* all of it: erase_and_free() stops at a NUL byte */
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
        r = chain_check_pair(id, secret, "the configuration has an access key id but no secret access key",
                             "the configuration has a secret access key but no access key id", err);
        if (r < 0)
                return r;
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

        if (p->chain.profile) {
                /* botocore: "An explicitly provided profile will negate an EnvProvider." */
                chain_note(p, "environment skipped (the configuration names a profile)");
                return 0;
        }
        if (!id && !secret) {
                chain_note(p, "AWS_ACCESS_KEY_ID unset");
                return 0;
        }
        r = chain_check_pair(id, secret, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
                             "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not", err);
        if (r < 0)
                return r;
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

/* The configuration's credentials_file, which the service receives through LoadCredential=
 * (chain_systemd) and a command run as root reads here. A file that exists but cannot be
 * read stops the chain, as one named explicitly and missing does: a silent fall back to
 * another identity would hide the mistake. */
static int chain_credentials_file(creds_provider *p, aws_credentials **ret, const char **ret_source, aws_error *err) {
        const char *path = p->chain.credentials_file, *from;
        const char *sections[] = { chain_profile(p, &from), NULL };
        _cleanup_(erase_and_freep) char *text = NULL;
        size_t size = 0;
        int r;

        if (!path)
                return 0;
        r = read_small_file(path, &text, &size);
        if (r == -ENOENT && !p->chain.credentials_file_named) {
                chain_note(p, "no %s", path);
                return 0;
        }
        if (r == -EACCES || r == -EPERM) {
                aws_error_setf(err, "credentials_file '%s' is not readable by this user (%s); run as root, "
                               "or under systemd pass it with LoadCredential=aws-credentials:%s",
                               path, strerror(-r), path);
                return r;
        }
        if (r < 0) {
                aws_error_setf(err, "credentials_file '%s' cannot be read: %s", path,
                               r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
                return r;
        }
        explicit_bzero(text, size);
        text = mfree(text);
        r = chain_ini_file(p, path, path, sections, ret, err);
        if (r > 0)
                *ret_source = "credentials-file";
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

/* The chain's end: every source said why it had nothing; IMDS, the last, says it here. */
static void chain_give_up(creds_provider *p, const char *imds_note) {
        aws_error err = {};

        chain_note(p, "IMDS: %s", imds_note);
        aws_error_setf(&err, "no AWS credentials: %s", p->chain.tried.data ?: "no source");
        creds_provider_resolved(p, -ENOKEY, NULL, NULL, &err);
        aws_error_done(&err);
}

/* As botocore's AssumeRoleWithWebIdentityProvider: each variable before the profile's
 * key, the variables only when no profile was named (creds-describe.c chose the same). */
static void chain_start_web_identity(creds_provider *p, const aws_shared_files *f) {
        bool env = !p->chain.profile;
        const char *file = (env ? getenv_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE") : NULL) ?:
                creds_profile_get(f, "web_identity_token_file");
        const char *role = (env ? getenv_nonempty("AWS_ROLE_ARN") : NULL) ?: creds_profile_get(f, "role_arn");
        const char *session = (env ? getenv_nonempty("AWS_ROLE_SESSION_NAME") : NULL) ?:
                creds_profile_get(f, "role_session_name");

        creds_webid_start(p, file, role, session);
}

/*
 * The sources that run asynchronously or stack on others start here, where
 * creds-describe.c (botocore's order) says the SDKs would take them: true when this
 * resolution is theirs. A source the SDKs would take and amirotd does not serve yet is
 * an error, never a reason to fall through to another identity (IMDS, say) that the
 * operator did not mean.
 */
static bool chain_take_described(creds_provider *p) {
        const creds_options o = {
                .access_key_id = p->chain.access_key_id,
                .profile = p->chain.profile,
        };
        _cleanup_(aws_shared_files_done) aws_shared_files f = {};
        _cleanup_(freep) char *description = NULL;
        aws_error err = {};
        creds_source s;

        if (creds_describe_with_files(&o, &f, &s, &description) < 0)
                return false;
        if (s == CREDS_SOURCE_PROCESS) {
                creds_process_start(p, creds_profile_get(&f, "credential_process"), description);
                return true;
        }
        if (s == CREDS_SOURCE_CONTAINER) {
                creds_container_start(p);
                return true;
        }
        if (s == CREDS_SOURCE_WEB_IDENTITY) {
                chain_start_web_identity(p, &f);
                return true;
        }
        /* A profile that is its own source_profile: its static keys, read below. */
        if (s == CREDS_SOURCE_ASSUME_ROLE && p->role.static_only)
                return false;
        if (s == CREDS_SOURCE_ASSUME_ROLE) {
                creds_role_start(p, &f, creds_provider_new_chain);
                return true;
        }
        if (creds_source_supported(s))
                return false;
        aws_error_setf(&err, "AWS credentials would come from %s: %s, which amirotd does not support yet",
                       creds_source_to_string(s), description);
        creds_provider_resolved(p, -EOPNOTSUPP, NULL, NULL, &err);
        aws_error_done(&err);
        return true;
}

/* The chain's last source. */
static void chain_imds(creds_provider *p) {
        /* botocore: AWS_EC2_METADATA_DISABLED, compared case-insensitively with "true". */
        const char *imds_disabled = getenv("AWS_EC2_METADATA_DISABLED");

        if (imds_disabled && strcasecmp(imds_disabled, "true") == 0)
                chain_give_up(p, "disabled by AWS_EC2_METADATA_DISABLED");
        else if (!p->chain.http)
                chain_give_up(p, "not tried (no HTTP client)");
        else
                creds_imds_start(p, chain_give_up);
}

/* Ends a resolution with what a synchronous source found: true when it ended it. */
static bool chain_sync_source(creds_provider *p, int (*source)(creds_provider *p, aws_credentials **ret,
                                                               const char **ret_source, aws_error *err)) {
        _cleanup_(aws_credentials_freep) aws_credentials *c = NULL;
        _cleanup_(aws_error_done) aws_error err = {};
        const char *name = NULL;
        int r;

        r = source(p, &c, &name, &err);
        if (r < 0) {
                if (!err.message)
                        aws_error_setf(&err, "cannot read AWS credentials: %s", strerror(-r));
                creds_provider_resolved(p, r, NULL, NULL, &err);
                return true;
        }
        if (r > 0) {
                creds_provider_resolved(p, 0, TAKE_PTR(c), name, NULL);
                return true;
        }
        return false;
}

/* A role's credential_source: that one source and no other (botocore's CanonicalNameCredentialSourcer). */
static void chain_resolve_only(creds_provider *p) {
        aws_error err = {};

        switch (p->role.only) {
        case CREDS_SOURCE_ENV:
                if (chain_sync_source(p, chain_environment))
                        return;
                aws_error_setf(&err, "credential_source Environment: no AWS_ACCESS_KEY_ID in the environment");
                creds_provider_resolved(p, -ENOKEY, NULL, NULL, &err);
                aws_error_done(&err);
                return;
        case CREDS_SOURCE_CONTAINER:
                creds_container_start(p);
                return;
        default:
                chain_imds(p);
                return;
        }
}

static void chain_resolve(creds_provider *p) {
        static int (*const sources[])(creds_provider *p, aws_credentials **ret, const char **ret_source,
                                      aws_error *err) = {
                chain_explicit,
                chain_environment,
                chain_systemd,
                chain_credentials_file,
                chain_shared_files,
        };

        strbuf_done(&p->chain.tried);
        if (p->role.only != CREDS_SOURCE_EXPLICIT) {
                chain_resolve_only(p);
                return;
        }
        if (chain_take_described(p))
                return;
        for (size_t i = 0; i < ELEMENTSOF(sources); i++)
                if (chain_sync_source(p, sources[i]))
                        return;
        chain_imds(p);
}

static void chain_cancel(creds_provider *p) {
        creds_imds_cancel(p);
        creds_process_cancel(p);
        creds_container_cancel(p);
        creds_webid_cancel(p);
        creds_role_cancel(p);
}

static void chain_done(creds_provider *p) {
        creds_imds_done(p);
        creds_process_cancel(p);
        creds_container_cancel(p);
        creds_webid_cancel(p);
        creds_role_done(p);
        free(p->chain.access_key_id);
        erase_and_free(p->chain.secret_access_key);
        erase_and_free(p->chain.session_token);
        free(p->chain.profile);
        free(p->chain.credentials_file);
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
        p->process.pidfd = p->process.out_fd = p->process.err_fd = -1;
        /* An empty string is unset, as for the environment variables. */
        if (strdup_or_null(isempty(o->access_key_id) ? NULL : o->access_key_id, &p->chain.access_key_id) < 0 ||
            strdup_or_null(isempty(o->secret_access_key) ? NULL : o->secret_access_key, &p->chain.secret_access_key) < 0 ||
            strdup_or_null(isempty(o->session_token) ? NULL : o->session_token, &p->chain.session_token) < 0 ||
            strdup_or_null(isempty(o->profile) ? NULL : o->profile, &p->chain.profile) < 0 ||
            strdup_or_null(isempty(o->credentials_file) ? NULL : o->credentials_file, &p->chain.credentials_file) < 0)
                return -ENOMEM;
        p->chain.credentials_file_named = o->credentials_file_named;

        *ret = TAKE_PTR(p);
        return 0;
}
