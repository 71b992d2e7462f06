/* SPDX-License-Identifier: MIT */
/*
 * Loading the configuration: reads amirotd.yaml and the policies directory,
 * turns each file into a positioned tree (yaml.c), hands the global file to
 * global.c and each policy to policy.c, then checks what spans files (unique
 * policy names). Diagnostics are collected (diag.c), never logged: the caller
 * prints them (`amirotd check`) or logs them (the service). For `check` and the
 * one-shot commands any error means no configuration; the service loads with
 * keep_valid, which leaves out only the policy files that have an error, so
 * that one broken file does not stop every other policy.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/global.h"
#include "config/policy-parse.h"

/* ---- The configuration ---- */

config *config_free(config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_policies; i++)
                policy_done(&c->policies[i]);
        free(c->policies);
        free(c->default_region);
        free(c->profile);
        free(c->access_key_id);
        erase_and_free(c->secret_access_key);
        erase_and_free(c->session_token);
        for (size_t i = 0; i < c->n_endpoints; i++) {
                free(c->endpoints[i].region);
                free(c->endpoints[i].url);
        }
        free(c->endpoints);
        free(c->policies_dir);
        free(c->metrics_file);
        free(c->credentials_file);
        free(c->sts_endpoint_url);
        strv_free(c->files);
        return mfree(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(config *, config_free);

const char *config_endpoint_for(const config *c, const char *region) {
        const char *any = NULL;

        for (size_t i = 0; i < c->n_endpoints; i++) {
                if (!c->endpoints[i].region)
                        any = c->endpoints[i].url;
                else if (region && streq(c->endpoints[i].region, region))
                        return c->endpoints[i].url;
        }
        return any;
}

aws_endpoint_options config_endpoint_options(const config *c, const char *service, const char *region) {
        return (aws_endpoint_options) {
                .url = streq(service, "sts") ? c->sts_endpoint_url : config_endpoint_for(c, region),
                .use_fips = c->use_fips_endpoint, .use_dualstack = c->use_dualstack_endpoint, .profile = c->profile,
        };
}

const policy *config_find_policy(const config *c, const char *name) {
        for (size_t i = 0; i < c->n_policies; i++)
                if (streq_ptr(c->policies[i].name, name))
                        return &c->policies[i];
        return NULL;
}

static int config_new(config **ret) {
        _cleanup_(config_freep) config *c = calloc(1, sizeof(config));

        if (!c)
                return -ENOMEM;
        if (config_global_defaults(c) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

/* Makes path the current file: its name is kept in config->files for every config_pos. */
static int loader_enter_file(loader *l, const char *path, size_t index) {
        if (strv_extend(&l->config->files, path) < 0)
                return (l->oom = -ENOMEM);
        l->file = l->config->files[strv_length(l->config->files) - 1];
        l->file_index = index;
        return 0;
}

/*
 * A policy file without a policy (empty, only comments, only empty documents, an empty
 * list) is an error, not "no policies": a file emptied by a failed write or a bad edit
 * would otherwise remove its policies at the next reload. Removing the file is how an
 * operator removes them. An empty document beside others is allowed.
 */
static void check_not_empty(loader *l, const cdoc_set *docs) {
        const cnode *first = NULL;

        for (size_t d = 0; d < docs->n_roots; d++) {
                const cnode *root = docs->roots[d];

                if (!root)
                        continue;
                if (!cnode_is_null(root) && !(root->kind == CNODE_SEQUENCE && root->n_items == 0))
                        return;         /* a policy, or what the parse below reports as wrong */
                first = first ?: root;
        }
        if (first && first->kind == CNODE_SEQUENCE)
                loader_error(l, first, "empty list of policies: a policy file holds at least one policy "
                                       "(to remove its policies, remove the file)");
        else if (first && first->line > 0)
                loader_error(l, first, "empty document: a policy file holds a policy or a list of policies "
                                       "(to remove its policies, remove the file)");
        else
                loader_diag_at(l, 1, 1, CONFIG_SEVERITY_ERROR, "empty policy file: it must hold a policy or "
                               "a list of policies (to remove its policies, remove the file)");
}

static int parse_policy_documents(loader *l, const cdoc_set *docs, bool syntax_ok) {
        if (syntax_ok)
                check_not_empty(l, docs);
        for (size_t d = 0; d < docs->n_roots; d++) {
                const cnode *root = docs->roots[d];
                int r;

                if (!root || cnode_is_null(root))
                        continue;
                if (root->kind == CNODE_MAPPING) {
                        r = config_policy_parse(l, root);
                        if (r == -ENOMEM || r == -E2BIG)
                                return r;
                        continue;
                }
                if (root->kind != CNODE_SEQUENCE) {
                        loader_error(l, root, "a policy file holds a policy (a mapping) or a list of policies, got %s",
                                     cnode_kind_name(root));
                        continue;
                }
                for (size_t i = 0; i < root->n_items; i++) {
                        if (root->items[i]->kind != CNODE_MAPPING) {
                                loader_error(l, root->items[i], "a list of policies holds mappings, got %s",
                                             cnode_kind_name(root->items[i]));
                                continue;
                        }
                        r = config_policy_parse(l, root->items[i]);
                        if (r == -ENOMEM || r == -E2BIG)
                                return r;
                }
        }
        return 0;
}

static int parse_text(loader *l, const char *data, size_t size, bool global) {
        size_t errors = l->diag->n_errors;
        cdoc_set docs = {};
        int r;

        r = cdoc_parse(l, data, size, &docs);
        if (r < 0)
                return (l->oom = r);
        if (global) {
                if (docs.n_roots > 1)
                        for (size_t d = 1; d < docs.n_roots; d++)
                                loader_error(l, docs.roots[d], "the global file holds one document, ignoring this one");
                r = docs.n_roots > 0 ? config_global_parse(l, docs.roots[0]) : 0;
        } else
                r = parse_policy_documents(l, &docs, l->diag->n_errors == errors);
        cdoc_set_done(&docs);
        return r == -ENOMEM ? r : 0;
}

/* Reads a regular file of at most CONFIG_MAX_FILE_SIZE bytes. */
static int read_file(loader *l, const char *path, bool missing_ok, char **ret, size_t *ret_size) {
        _cleanup_(freep) char *buf = NULL;
        struct stat st;
        size_t n = 0;
        int fd, r = 0;

        *ret = NULL;
        *ret_size = 0;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT && missing_ok)
                        return -ENOENT;
                loader_diag_at(l, 0, 0, CONFIG_SEVERITY_ERROR, "cannot open: %s", strerror(errno));
                return -EINVAL;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                loader_diag_at(l, 0, 0, CONFIG_SEVERITY_ERROR, "not a regular file");
                close(fd);
                return -EINVAL;
        }
        buf = malloc(CONFIG_MAX_FILE_SIZE + 1);
        if (!buf) {
                close(fd);
                return (l->oom = -ENOMEM);
        }
        while (n <= CONFIG_MAX_FILE_SIZE) {
                ssize_t k = read(fd, buf + n, CONFIG_MAX_FILE_SIZE + 1 - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        loader_diag_at(l, 0, 0, CONFIG_SEVERITY_ERROR, "cannot read: %s", strerror(errno));
                        r = -EINVAL;
                        break;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        close(fd);
        if (r < 0 || n > CONFIG_MAX_FILE_SIZE)
                explicit_bzero(buf, n);         /* the global file may hold keys (credentials:) */
        if (r < 0)
                return r;
        if (n > CONFIG_MAX_FILE_SIZE) {
                loader_diag_at(l, 0, 0, CONFIG_SEVERITY_ERROR, "larger than %u bytes, refusing it", CONFIG_MAX_FILE_SIZE);
                return -EINVAL;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

static int name_cmp(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static bool endswith_yaml(const char *name) {
        size_t n = strlen(name);

        return n > 5 && streq(name + n - 5, ".yaml");
}

static int yaml_name(const struct dirent *d) {
        size_t n = strlen(d->d_name);

        return d->d_name[0] != '.' &&
               ((n > 5 && streq(d->d_name + n - 5, ".yaml")) || (n > 4 && streq(d->d_name + n - 4, ".yml")));
}

static int load_policies_dir(loader *l, const char *dir, bool must_exist) {
        struct dirent **list = NULL;
        int n, r = 0;

        l->file = dir;
        l->file_index = 1;
        n = scandir(dir, &list, yaml_name, name_cmp);
        if (n < 0) {
                if (errno == ENOENT && !must_exist)
                        return 0;
                if (errno == ENOMEM)
                        return (l->oom = -ENOMEM);
                loader_diag_at(l, 0, 0, CONFIG_SEVERITY_ERROR, "cannot read the policies directory: %s", strerror(errno));
                return 0;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_(freep) char *path = NULL, *data = NULL;
                size_t size;

                if (r >= 0 && asprintf(&path, "%s/%s", dir, list[i]->d_name) < 0)
                        r = l->oom = -ENOMEM;
                if (r >= 0 && !endswith_yaml(list[i]->d_name)) {
                        /* Only *.yaml is read (editors' and packagers' leftovers stay out), but a
                         * policy named .yml is more likely a mistake than a leftover: say so. */
                        l->file = dir;
                        l->file_index = 1;
                        loader_diag_at(l, 0, 0, CONFIG_SEVERITY_WARNING,
                                       "'%s' is not read: policy files end in .yaml, ignoring", list[i]->d_name);
                        free(list[i]);
                        continue;
                }
                if (r >= 0)
                        r = loader_enter_file(l, path, 2 + (size_t) i);
                if (r >= 0 && read_file(l, path, false, &data, &size) == 0)
                        r = parse_text(l, data, size, false);
                free(list[i]);
        }
        free(list);
        return r;
}

typedef struct name_ref {
        const policy *p;
        size_t file_index;
        size_t index;
} name_ref;

static int name_ref_cmp(const void *x, const void *y) {
        const name_ref *a = x, *b = y;
        int c = strcmp(a->p->name, b->p->name);

        if (c != 0)
                return c;
        return a->index < b->index ? -1 : a->index > b->index;
}

/* Reports every name used twice, at both places. */
static void check_unique_names(loader *l) {
        config *c = l->config;
        name_ref *refs = calloc(c->n_policies ? c->n_policies : 1, sizeof(name_ref));
        size_t n = 0, g = 0;

        if (!refs) {
                l->oom = -ENOMEM;
                return;
        }
        for (size_t i = 0; i < c->n_policies; i++)
                if (c->policies[i].name)
                        refs[n++] = (name_ref) { &c->policies[i], l->policy_file[i], i };
        qsort(refs, n, sizeof(name_ref), name_ref_cmp);
        for (size_t i = 1; i < n; i++) {
                const policy *p = refs[i].p, *q = refs[g].p;

                if (!streq(p->name, q->name)) {
                        g = i;
                        continue;
                }
                l->file = p->name_pos.file;
                l->file_index = refs[i].file_index;
                loader_diag_at(l, p->name_pos.line, p->name_pos.column, CONFIG_SEVERITY_ERROR,
                               "duplicate policy name '%s', first defined at %s:%u:%u",
                               p->name, q->name_pos.file, q->name_pos.line, q->name_pos.column);
                l->file = q->name_pos.file;
                l->file_index = refs[g].file_index;
                loader_diag_at(l, q->name_pos.line, q->name_pos.column, CONFIG_SEVERITY_ERROR,
                               "policy name '%s' is defined again at %s:%u:%u",
                               p->name, p->name_pos.file, p->name_pos.line, p->name_pos.column);
        }
        free(refs);
}

typedef struct load_source {
        const char *main_path;          /* files */
        bool main_explicit;
        const char *policies_dir_override;
        const char *global_yaml;        /* or memory */
        size_t global_size;
        const char *const *policy_yaml;
        const size_t *policy_size;
        size_t n_policy;
        bool memory;
        bool keep_valid;                /* drop the policy files with errors, keep the rest */
} load_source;

static void load_from_memory(loader *l, const load_source *src) {
        if (src->global_yaml && loader_enter_file(l, "amirotd.yaml", 0) >= 0)
                (void) parse_text(l, src->global_yaml, src->global_size, true);
        for (size_t i = 0; i < src->n_policy && !l->oom; i++) {
                char name[64];

                snprintf(name, sizeof(name), "policy-%zu.yaml", i + 1);
                if (loader_enter_file(l, name, 2 + i) < 0)
                        break;
                (void) parse_text(l, src->policy_yaml[i], src->policy_size[i], false);
        }
}

/* The override, else `policies_dir` (relative to the global file's directory), else
 * policies.d beside the global file; sets *ret_explicit unless it is that last default. */
static int policies_dir_path(const load_source *src, const char *main_path, const char *key,
                             char **ret, bool *ret_explicit) {
        _cleanup_(freep) char *dir_copy = strdup(main_path);
        char *dir = NULL;
        int r = 0;

        *ret_explicit = true;
        if (!dir_copy)
                return -ENOMEM;
        if (src->policies_dir_override)
                dir = strdup(src->policies_dir_override);
        else if (key && key[0] == '/')
                dir = strdup(key);
        else if (key)
                r = asprintf(&dir, "%s/%s", dirname(dir_copy), key);
        else {
                *ret_explicit = false;
                r = asprintf(&dir, "%s/policies.d", dirname(dir_copy));
        }
        if (r < 0 || !dir)
                return -ENOMEM;
        *ret = dir;
        return 0;
}

/* `credentials_file`, relative to the global file's directory; by default aws-credentials
 * beside the global file (/etc/amirotd/aws-credentials, which the unit passes in with
 * LoadCredential=). */
static int credentials_file_path(const char *main_path, const char *key, char **ret) {
        _cleanup_(freep) char *dir_copy = strdup(main_path);

        if (!dir_copy)
                return -ENOMEM;
        if (key && key[0] == '/')
                return strdup_or_null(key, ret);
        return asprintf(ret, "%s/%s", dirname(dir_copy), key ?: "aws-credentials") < 0 ? -ENOMEM : 0;
}

static void load_from_files(loader *l, const load_source *src) {
        _cleanup_(freep) char *data = NULL, *dir = NULL;
        const char *path = src->main_path ? src->main_path : CONFIG_DEFAULT_PATH;
        config *c = l->config;
        bool dir_explicit;
        size_t size = 0;

        /* The default file may be missing: then every default applies. */
        l->file = path;
        if (read_file(l, path, !src->main_explicit, &data, &size) == 0 &&
            loader_enter_file(l, path, 0) >= 0)
                (void) parse_text(l, data, size, true);
        /* Its credentials: block is keys; the tree's copies are wiped by cdoc_set_done(). */
        if (data)
                explicit_bzero(data, size);

        if (policies_dir_path(src, path, c->policies_dir, &dir, &dir_explicit) < 0) {
                l->oom = -ENOMEM;
                return;
        }
        free(c->policies_dir);
        c->policies_dir = TAKE_PTR(dir);
        c->credentials_file_named = c->credentials_file;
        if (credentials_file_path(path, c->credentials_file, &dir) < 0) {
                l->oom = -ENOMEM;
                return;
        }
        free(c->credentials_file);
        c->credentials_file = TAKE_PTR(dir);

        if (!l->oom)
                (void) load_policies_dir(l, c->policies_dir, dir_explicit);
        if (!l->oom && c->n_policies == 0 && l->diag->n_errors == 0) {
                l->file = c->policies_dir;
                l->file_index = 1;
                loader_diag_at(l, 0, 0, CONFIG_SEVERITY_WARNING, "no policies, nothing to do");
        }
}

/*
 * keep_valid: the policies of every policy file with an error are left out, the rest
 * kept. An error in the global file (index 0), in the policies directory itself (1),
 * or past the diagnostics cap, leaves nothing to trust: -EINVAL. Runs before
 * loader_diagnostics_finish(), while diag_file_index still matches the items.
 */
static int drop_broken_files(loader *l) {
        config *c = l->config;
        const config_diagnostics *d = l->diag;
        size_t n = 0;

        if (l->truncated)
                return -EINVAL;
        for (size_t i = 0; i < d->n; i++)
                if (d->items[i].severity == CONFIG_SEVERITY_ERROR && l->diag_file_index[i] < 2)
                        return -EINVAL;
        for (size_t i = 0; i < c->n_policies; i++) {
                bool broken = false;

                for (size_t j = 0; j < d->n && !broken; j++)
                        broken = d->items[j].severity == CONFIG_SEVERITY_ERROR &&
                                 l->diag_file_index[j] == l->policy_file[i];
                if (broken) {
                        policy_done(&c->policies[i]);
                        continue;
                }
                l->policy_file[n] = l->policy_file[i];
                c->policies[n++] = c->policies[i];
        }
        c->n_policies = n;
        return 0;
}

static int load(const load_source *src, config **ret, config_diagnostics *ret_diagnostics) {
        _cleanup_(config_freep) config *c = NULL;
        config_diagnostics *d = ret_diagnostics;
        loader l = { .diag = d, .now = time(NULL) };
        int r;

        *d = (config_diagnostics) {};
        *ret = NULL;
        r = config_new(&c);
        if (r < 0)
                return r;
        l.config = c;

        /* Which file each policy came from, for sorting diagnostics on duplicate names. */
        l.policy_file = calloc(CONFIG_MAX_POLICIES, sizeof(size_t));
        if (!l.policy_file)
                return -ENOMEM;

        if (src->memory)
                load_from_memory(&l, src);
        else
                load_from_files(&l, src);

        if (!l.oom)
                check_unique_names(&l);
        if (!l.oom && src->keep_valid && d->n_errors > 0)
                r = drop_broken_files(&l);
        else
                r = d->n_errors > 0 ? -EINVAL : 0;
        if (!l.oom)
                loader_diagnostics_finish(&l);
        loader_diagnostics_done(&l);
        free(l.policy_file);
        /* The policies hold their own references to the zones. */
        for (size_t i = 0; i < l.n_zones; i++)
                tz_zone_unref(l.zones[i]);
        free(l.zones);
        if (l.oom) {
                config_diagnostics_done(d);
                return -ENOMEM;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int config_load(const char *main_path, const char *policies_dir_override,
                config **ret, config_diagnostics *ret_diagnostics) {
        return load(&(load_source) {
                .main_path = main_path,
                .main_explicit = main_path != NULL,
                .policies_dir_override = policies_dir_override,
        }, ret, ret_diagnostics);
}

int config_load_keep_valid(const char *main_path, const char *policies_dir_override,
                            config **ret, config_diagnostics *ret_diagnostics) {
        return load(&(load_source) {
                .main_path = main_path,
                .main_explicit = main_path != NULL,
                .policies_dir_override = policies_dir_override,
                .keep_valid = true,
        }, ret, ret_diagnostics);
}

int config_load_from_memory(const char *global_yaml, size_t global_size,
                            const char *const *policy_yaml, const size_t *policy_size, size_t n,
                            config **ret, config_diagnostics *ret_diagnostics) {
        return load(&(load_source) {
                .memory = true,
                .global_yaml = global_yaml,
                .global_size = global_size,
                .policy_yaml = policy_yaml,
                .policy_size = policy_size,
                .n_policy = n,
        }, ret, ret_diagnostics);
}
