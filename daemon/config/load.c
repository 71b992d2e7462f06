/* SPDX-License-Identifier: MIT */
/*
 * Loading the configuration: reads amirotd.yaml and the policies directory,
 * turns each file into a positioned tree (yaml.c), reads the global
 * keys here and each policy in policy.c, then checks what spans files
 * (unique policy names). Diagnostics are collected, never logged: the caller
 * prints them (`amirotd check`) or logs them (reload), and any error means no
 * configuration, so a bad edit never replaces a good running set.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "aws/endpoint.h"
#include "config/internal.h"

#define DEFAULT_REGION "us-east-1"
#define DEFAULT_MAX_IN_FLIGHT 32
#define MAX_IN_FLIGHT_MAX 1000
#define DEFAULT_POLL_INITIAL 15
#define DEFAULT_POLL_MAX 300
#define DEFAULT_SPREAD 600

/* The names of the `pacing` keys. */
static const char *const pacing_keys[_PACE_CATEGORY_MAX + 1] = {
        [PACE_DESCRIBE] = "describe",
        [PACE_MUTATING] = "mutating",
        [PACE_DELETE] = "delete",
        [PACE_CREATE_TAGS] = "create_tags",
        [PACE_COPY_IMAGE] = "copy_image",
        [PACE_MODIFY_ATTRIBUTE] = "modify_attribute",
};

static const struct { const char *name; int priority; } log_levels[] = {
        { "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "notice", LOG_NOTICE },
        { "warning", LOG_WARNING }, { "err", LOG_ERR },
};

const char *config_log_level_to_string(int priority) {
        for (size_t i = 0; i < ELEMENTSOF(log_levels); i++)
                if (log_levels[i].priority == priority)
                        return log_levels[i].name;
        return NULL;
}

const char *config_pacing_key(pace_category c) {
        return c >= 0 && c < _PACE_CATEGORY_MAX ? pacing_keys[c] : NULL;
}

/* ---- Diagnostics ---- */

static const char *const severity_names[_CONFIG_SEVERITY_MAX] = {
        [CONFIG_SEVERITY_ERROR] = "error",
        [CONFIG_SEVERITY_WARNING] = "warning",
};

const char *config_severity_to_string(config_severity s) {
        return s >= 0 && s < _CONFIG_SEVERITY_MAX ? severity_names[s] : NULL;
}

void config_diagnostics_done(config_diagnostics *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].file);
                free(d->items[i].message);
        }
        free(d->items);
        *d = (config_diagnostics) {};
}

void config_diagnostics_print(const config_diagnostics *d, FILE *f) {
        for (size_t i = 0; i < d->n; i++) {
                const config_diagnostic *x = &d->items[i];
                const char *sev = config_severity_to_string(x->severity);

                if (x->file && x->line > 0)
                        fprintf(f, "%s:%u:%u: %s: %s\n", x->file, x->line, x->column, sev, x->message);
                else if (x->file)
                        fprintf(f, "%s: %s: %s\n", x->file, sev, x->message);
                else
                        fprintf(f, "%s: %s\n", sev, x->message);
        }
}

static void diag_add(loader *l, unsigned line, unsigned column, config_severity s, char *message) {
        config_diagnostics *d = l->diag;
        config_diagnostic *items;
        size_t *fi, *seq;
        char *file = NULL;

        if (!message || (l->file && !(file = strdup(l->file)))) {
                free(message);
                l->oom = -ENOMEM;
                return;
        }
        if (d->n >= l->cap_diag) {
                size_t cap = l->cap_diag ? l->cap_diag * 2 : 16;

                items = reallocarray(d->items, cap, sizeof(config_diagnostic));
                if (items)
                        d->items = items;
                fi = reallocarray(l->diag_file_index, cap, sizeof(size_t));
                if (fi)
                        l->diag_file_index = fi;
                seq = reallocarray(l->diag_seq, cap, sizeof(size_t));
                if (seq)
                        l->diag_seq = seq;
                if (!items || !fi || !seq) {
                        free(file);
                        free(message);
                        l->oom = -ENOMEM;
                        return;
                }
                l->cap_diag = cap;
        }
        d->items[d->n] = (config_diagnostic) { file, line, column, s, message };
        l->diag_file_index[d->n] = l->file_index;
        l->diag_seq[d->n] = d->n;
        d->n++;
        if (s == CONFIG_SEVERITY_ERROR)
                d->n_errors++;
        else
                d->n_warnings++;
}

void loader_diag_at(loader *l, unsigned line, unsigned column, config_severity s, const char *fmt, ...) {
        char *m = NULL;
        va_list ap;
        int r;

        if (l->truncated) {
                /* Still counted, so that the result is an error however many there are. */
                if (s == CONFIG_SEVERITY_ERROR)
                        l->diag->n_errors++;
                return;
        }
        if (l->diag->n >= CONFIG_MAX_DIAGNOSTICS) {
                l->truncated = true;
                diag_add(l, line, column, CONFIG_SEVERITY_ERROR, strdup("too many problems, stopping here"));
                return;
        }
        va_start(ap, fmt);
        r = vasprintf(&m, fmt, ap);
        va_end(ap);
        diag_add(l, line, column, s, r < 0 ? NULL : m);
}

/* Sorts by file (reading order), line, column, then the order found; drops exact repeats
 * (a value shared through an alias is reported once). */
static void diagnostics_finish(loader *l) {
        config_diagnostics *d = l->diag;
        size_t n = d->n, k = 0;

        /* insertion sort on an index permutation: few items, stable, no global state */
        size_t *order = calloc(n ? n : 1, sizeof(size_t));
        config_diagnostic *sorted = calloc(n ? n : 1, sizeof(config_diagnostic));

        if (!order || !sorted) {
                free(order);
                free(sorted);
                l->oom = -ENOMEM;
                return;
        }
        for (size_t i = 0; i < n; i++) {
                size_t j = i;
                const config_diagnostic *x = &d->items[i];

                while (j > 0) {
                        size_t o = order[j - 1];
                        const config_diagnostic *y = &d->items[o];
                        bool before;

                        if (l->diag_file_index[o] != l->diag_file_index[i])
                                before = l->diag_file_index[i] < l->diag_file_index[o];
                        else if (y->line != x->line)
                                before = x->line < y->line;
                        else if (y->column != x->column)
                                before = x->column < y->column;
                        else
                                before = false;
                        if (!before)
                                break;
                        order[j] = o;
                        j--;
                }
                order[j] = i;
        }
        d->n_errors = d->n_warnings = 0;
        for (size_t i = 0; i < n; i++) {
                config_diagnostic *x = &d->items[order[i]];

                if (k > 0 && sorted[k - 1].line == x->line && sorted[k - 1].column == x->column &&
                    sorted[k - 1].severity == x->severity && streq_ptr(sorted[k - 1].file, x->file) &&
                    streq(sorted[k - 1].message, x->message)) {
                        free(x->file);
                        free(x->message);
                        continue;
                }
                sorted[k++] = *x;
                if (x->severity == CONFIG_SEVERITY_ERROR)
                        d->n_errors++;
                else
                        d->n_warnings++;
        }
        if (l->truncated)
                d->n_errors++;          /* errors past the cap were not kept */
        free(d->items);
        free(order);
        d->items = sorted;
        d->n = k;
}

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
        free(c->secret_access_key);
        free(c->session_token);
        for (size_t i = 0; i < c->n_endpoints; i++) {
                free(c->endpoints[i].region);
                free(c->endpoints[i].url);
        }
        free(c->endpoints);
        free(c->policies_dir);
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
        c->default_region = strdup(DEFAULT_REGION);
        if (!c->default_region)
                return -ENOMEM;
        memcpy(c->pacing, pace_default_config, sizeof(c->pacing));
        c->max_in_flight = DEFAULT_MAX_IN_FLIGHT;
        c->log_level = LOG_INFO;
        c->poll_initial = DEFAULT_POLL_INITIAL;
        c->poll_max = DEFAULT_POLL_MAX;
        c->spread = DEFAULT_SPREAD;
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

static int add_endpoint(loader *l, const cnode *n, const char *region) {
        _cleanup_(freep) char *url = NULL, *norm = NULL, *reg = NULL;
        config *c = l->config;
        endpoint_override *e;
        int r;

        if (cvalue_string(l, n, region ? region : "endpoint_url", &url) < 0)
                return -EINVAL;
        r = aws_endpoint_url("ec2", region ? region : DEFAULT_REGION, url, &norm);
        if (r == -ENOMEM)
                return (l->oom = r);
        if (r < 0) {
                loader_error(l, n, "'%s' is not an endpoint URL (http:// or https:// and a host)", url);
                return -EINVAL;
        }
        if (region && !(reg = strdup(region)))
                return (l->oom = -ENOMEM);
        e = reallocarray(c->endpoints, c->n_endpoints + 1, sizeof(endpoint_override));
        if (!e)
                return (l->oom = -ENOMEM);
        c->endpoints = e;
        e[c->n_endpoints++] = (endpoint_override) { TAKE_PTR(reg), TAKE_PTR(norm) };
        return 0;
}

/* STS has an endpoint of its own: an EC2 override (a VPC endpoint, say) says nothing of it. */
static int parse_sts_endpoint(loader *l, const cnode *n) {
        _cleanup_(freep) char *url = NULL;
        config *c = l->config;
        int r;

        if (cvalue_string(l, n, "sts_endpoint_url", &url) < 0)
                return -EINVAL;
        free(c->sts_endpoint_url);
        c->sts_endpoint_url = NULL;
        r = aws_endpoint_url("sts", DEFAULT_REGION, url, &c->sts_endpoint_url);
        if (r == -ENOMEM)
                return (l->oom = r);
        if (r < 0) {
                loader_error(l, n, "'%s' is not an endpoint URL (http:// or https:// and a host)", url);
                return -EINVAL;
        }
        return 0;
}

static int parse_endpoints(loader *l, const cnode *n) {
        _cleanup_(freep) centry *e = NULL;
        size_t n_e = 0;
        int r;

        r = cvalue_mapping(l, n, "endpoints", &e, &n_e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_e; i++) {
                if (!aws_region_is_valid(e[i].key->value)) {
                        loader_error(l, e[i].key, "'%s' is not an AWS region name", e[i].key->value);
                        continue;
                }
                (void) add_endpoint(l, e[i].value, e[i].key->value);
        }
        return 0;
}

static const char *const bucket_keys[] = { "capacity", "refill", NULL };

static int parse_pacing(loader *l, const cnode *n) {
        _cleanup_(freep) centry *e = NULL;
        size_t n_e = 0;
        int r;

        r = cvalue_mapping(l, n, "pacing", &e, &n_e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_e; i++) {
                _cleanup_(freep) centry *b = NULL;
                pace_bucket_config *cfg = NULL;
                size_t n_b = 0;

                for (int c = 0; c < _PACE_CATEGORY_MAX; c++)
                        if (streq(e[i].key->value, pacing_keys[c]))
                                cfg = &l->config->pacing[c];
                if (!cfg) {
                        cvalue_unknown(l, e[i].key, "category", "'pacing'", pacing_keys);
                        continue;
                }
                if (!cvalue_expect(l, e[i].value, CNODE_MAPPING, e[i].key->value))
                        continue;
                r = cnode_mapping_entries(l, e[i].value, &b, &n_b);
                if (r < 0)
                        return (l->oom = r);
                for (size_t j = 0; j < n_b; j++) {
                        if (streq(b[j].key->value, "capacity"))
                                (void) cvalue_number(l, b[j].value, "capacity", 1, 100000, &cfg->capacity);
                        else if (streq(b[j].key->value, "refill"))
                                (void) cvalue_number(l, b[j].value, "refill", 0.01, 100000, &cfg->refill_per_sec);
                        else
                                cvalue_unknown(l, b[j].key, "key", "a pacing bucket", bucket_keys);
                }
        }
        return 0;
}

static const char *const credentials_keys[] = { "access_key_id", "secret_access_key", "session_token", NULL };

static int parse_credentials(loader *l, const cnode *n) {
        _cleanup_(freep) centry *e = NULL;
        config *c = l->config;
        size_t n_e = 0;
        int r;

        r = cvalue_mapping(l, n, "credentials", &e, &n_e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_e; i++) {
                const char *k = e[i].key->value;

                if (streq(k, "access_key_id"))
                        (void) cvalue_string(l, e[i].value, k, &c->access_key_id);
                else if (streq(k, "secret_access_key"))
                        (void) cvalue_string(l, e[i].value, k, &c->secret_access_key);
                else if (streq(k, "session_token"))
                        (void) cvalue_string(l, e[i].value, k, &c->session_token);
                else
                        cvalue_unknown(l, e[i].key, "key", "'credentials'", credentials_keys);
        }
        if (!c->access_key_id != !c->secret_access_key)
                loader_error(l, n, "'credentials' needs both 'access_key_id' and 'secret_access_key'");
        else if (c->session_token && !c->access_key_id)
                loader_error(l, n, "'session_token' goes with 'access_key_id' and 'secret_access_key'");
        return 0;
}

static const char *const global_keys[] = {
        "region", "profile", "credentials", "endpoint_url", "endpoints", "sts_endpoint_url", "pacing",
        "max_in_flight", "log_level", "dry_run", "poll_initial", "poll_max", "spread", "policies_dir", NULL
};

static int parse_global(loader *l, const cnode *root) {
        _cleanup_(freep) centry *e = NULL;
        const cnode *credentials = NULL, *profile = NULL, *poll_initial = NULL;
        config *c = l->config;
        size_t n_e = 0;
        uint64_t v;
        int r;

        if (!root)
                return 0;
        if (root->kind != CNODE_MAPPING) {
                loader_error(l, root, "the global file holds a mapping of settings, got %s", cnode_kind_name(root));
                return -EINVAL;
        }
        r = cnode_mapping_entries(l, root, &e, &n_e);
        if (r < 0)
                return (l->oom = r);
        for (size_t i = 0; i < n_e; i++) {
                const char *k = e[i].key->value;
                const cnode *val = e[i].value;

                if (streq(k, "region")) {
                        if (cvalue_string(l, val, k, &c->default_region) >= 0 && !aws_region_is_valid(c->default_region)) {
                                loader_error(l, val, "'%s' is not an AWS region name", c->default_region);
                                free(c->default_region);
                                if (!(c->default_region = strdup(DEFAULT_REGION)))
                                        return (l->oom = -ENOMEM);
                        }
                } else if (streq(k, "profile")) {
                        profile = val;
                        (void) cvalue_string(l, val, k, &c->profile);
                } else if (streq(k, "credentials")) {
                        credentials = val;
                        (void) parse_credentials(l, val);
                } else if (streq(k, "endpoint_url"))
                        (void) add_endpoint(l, val, NULL);
                else if (streq(k, "endpoints"))
                        (void) parse_endpoints(l, val);
                else if (streq(k, "sts_endpoint_url"))
                        (void) parse_sts_endpoint(l, val);
                else if (streq(k, "pacing"))
                        (void) parse_pacing(l, val);
                else if (streq(k, "max_in_flight")) {
                        if (cvalue_uint(l, val, k, 1, MAX_IN_FLIGHT_MAX, &v) >= 0)
                                c->max_in_flight = (unsigned) v;
                } else if (streq(k, "log_level")) {
                        const char *names[ELEMENTSOF(log_levels) + 1] = {};
                        bool found = false;

                        for (size_t j = 0; j < ELEMENTSOF(log_levels); j++)
                                names[j] = log_levels[j].name;
                        if (!cvalue_expect(l, val, CNODE_SCALAR, k))
                                continue;
                        for (size_t j = 0; j < ELEMENTSOF(log_levels); j++)
                                if (streq(val->value, log_levels[j].name)) {
                                        c->log_level = log_levels[j].priority;
                                        found = true;
                                }
                        if (!found)
                                cvalue_unknown(l, val, "log level", "'log_level' (debug, info, notice, warning, err)", names);
                } else if (streq(k, "dry_run"))
                        (void) cvalue_bool(l, val, k, &c->dry_run);
                else if (streq(k, "poll_initial")) {
                        poll_initial = val;
                        (void) cvalue_duration(l, val, k, 1, 3600, &c->poll_initial);
                } else if (streq(k, "poll_max"))
                        (void) cvalue_duration(l, val, k, 1, 3600, &c->poll_max);
                else if (streq(k, "spread"))
                        (void) cvalue_duration(l, val, k, 0, 86400, &c->spread);
                else if (streq(k, "policies_dir"))
                        (void) cvalue_string(l, val, k, &c->policies_dir);
                else
                        cvalue_unknown(l, e[i].key, "key", "the global file", global_keys);
                if (l->oom)
                        return l->oom;
        }
        if (profile && credentials && c->profile && c->access_key_id)
                loader_error(l, profile, "'profile' and 'credentials' exclude each other");
        if (c->poll_initial > c->poll_max)
                loader_error(l, poll_initial ? poll_initial : root, "'poll_initial' is longer than 'poll_max'");
        return 0;
}

/* One policy file's documents: each a policy (a mapping) or a list of them. */
static int parse_policy_documents(loader *l, const cdoc_set *docs) {
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
        cdoc_set docs = {};
        int r;

        r = cdoc_parse(l, data, size, &docs);
        if (r < 0)
                return (l->oom = r);
        if (global) {
                if (docs.n_roots > 1)
                        for (size_t d = 1; d < docs.n_roots; d++)
                                loader_error(l, docs.roots[d], "the global file holds one document, ignoring this one");
                r = docs.n_roots > 0 ? parse_global(l, docs.roots[0]) : 0;
        } else
                r = parse_policy_documents(l, &docs);
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
} load_source;

static int load(const load_source *src, config **ret, config_diagnostics *ret_diagnostics) {
        _cleanup_(config_freep) config *c = NULL;
        config_diagnostics *d = ret_diagnostics;
        loader l = { .diag = d };
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

        if (src->memory) {
                if (src->global_yaml && loader_enter_file(&l, "amirotd.yaml", 0) >= 0)
                        (void) parse_text(&l, src->global_yaml, src->global_size, true);
                for (size_t i = 0; i < src->n_policy && !l.oom; i++) {
                        char name[64];

                        snprintf(name, sizeof(name), "policy-%zu.yaml", i + 1);
                        if (loader_enter_file(&l, name, 2 + i) < 0)
                                break;
                        (void) parse_text(&l, src->policy_yaml[i], src->policy_size[i], false);
                }
        } else {
                _cleanup_(freep) char *data = NULL, *dir_copy = NULL, *dir = NULL;
                const char *path = src->main_path ? src->main_path : CONFIG_DEFAULT_PATH;
                bool dir_explicit = true;
                size_t size = 0;

                /* The default file may be missing: then every default applies. */
                l.file = path;
                if (read_file(&l, path, !src->main_explicit, &data, &size) == 0 &&
                    loader_enter_file(&l, path, 0) >= 0)
                        (void) parse_text(&l, data, size, true);

                dir_copy = strdup(path);
                if (!dir_copy)
                        l.oom = -ENOMEM;
                else if (src->policies_dir_override)
                        dir = strdup(src->policies_dir_override);
                else if (c->policies_dir && c->policies_dir[0] == '/')
                        dir = strdup(c->policies_dir);
                else if (c->policies_dir)
                        r = asprintf(&dir, "%s/%s", dirname(dir_copy), c->policies_dir) < 0 ? -ENOMEM : 0;
                else {
                        dir_explicit = false;
                        r = asprintf(&dir, "%s/policies.d", dirname(dir_copy)) < 0 ? -ENOMEM : 0;
                }
                if (!dir || r < 0)
                        l.oom = -ENOMEM;
                else {
                        free(c->policies_dir);
                        c->policies_dir = TAKE_PTR(dir);
                }

                if (!l.oom)
                        (void) load_policies_dir(&l, c->policies_dir, dir_explicit);
                if (!l.oom && c->n_policies == 0 && d->n_errors == 0) {
                        l.file = c->policies_dir;
                        l.file_index = 1;
                        loader_diag_at(&l, 0, 0, CONFIG_SEVERITY_WARNING, "no policies, nothing to do");
                }
        }

        if (!l.oom)
                check_unique_names(&l);
        if (!l.oom)
                diagnostics_finish(&l);
        free(l.diag_file_index);
        free(l.diag_seq);
        free(l.policy_file);
        if (l.oom) {
                config_diagnostics_done(d);
                return -ENOMEM;
        }
        if (d->n_errors > 0)
                return -EINVAL;
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
