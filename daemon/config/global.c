/* SPDX-License-Identifier: MIT */
/*
 * The global file amirotd.yaml: region, identity (profile or static
 * credentials), endpoint overrides, pacing of the AWS calls, and the daemon's
 * own settings, each with its default. Like policy.c it reports every problem
 * where it is and goes on, so that one `amirotd check` lists them all.
 */
#include <stdio.h>
#include <syslog.h>

#include "aws/endpoint.h"
#include "config/global.h"

#define DEFAULT_REGION "us-east-1"
#define DEFAULT_MAX_IN_FLIGHT 32
#define MAX_IN_FLIGHT_MAX 1000
#define DEFAULT_POLL_INITIAL 2
#define DEFAULT_POLL_MAX 300
#define DEFAULT_SPREAD 600
/* botocore's read_timeout and connect_timeout default to 60 s each; one bound for the whole request. */
#define DEFAULT_REQUEST_TIMEOUT 60
#define REQUEST_TIMEOUT_MAX 600

/* The `pacing` keys: the buckets that amirotd's calls draw from. Tags are applied at
 * creation (CreateImage's TagSpecifications); CopyImage and ModifyImageAttribute belong
 * to features not built yet: aws/pace.c paces them, but no key offers a bucket that
 * nothing uses. NULL-terminated, for the suggestions of an unknown key. */
static const char *const pacing_keys[] = {
        [PACE_DESCRIBE] = "describe",
        [PACE_MUTATING] = "mutating",
        [PACE_DELETE] = "delete",
        NULL
};

/* The categories of pace.h that no feature uses yet: accepted with a warning. */
static const char *const pacing_unused_keys[] = { "create_tags", "copy_image", "modify_attribute", NULL };

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
        return c >= 0 && c < (int) ELEMENTSOF(pacing_keys) - 1 ? pacing_keys[c] : NULL;
}

int config_global_defaults(config *c) {
        if (aws_region_from_environment(NULL, &c->default_region, NULL) < 0 ||
            (!c->default_region && !(c->default_region = strdup(DEFAULT_REGION))))
                return -ENOMEM;
        c->use_fips_endpoint = c->use_dualstack_endpoint = -1;
        memcpy(c->pacing, pace_default_config, sizeof(c->pacing));
        c->max_in_flight = DEFAULT_MAX_IN_FLIGHT;
        c->log_level = LOG_INFO;
        c->poll_initial = DEFAULT_POLL_INITIAL;
        c->poll_max = DEFAULT_POLL_MAX;
        c->spread = DEFAULT_SPREAD;
        c->max_retire_per_run = CONFIG_DEFAULT_MAX_RETIRE;
        c->request_timeout = DEFAULT_REQUEST_TIMEOUT;
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
                bool unused = false;
                size_t n_b = 0;

                for (int c = 0; pacing_keys[c]; c++)
                        if (streq(e[i].key->value, pacing_keys[c]))
                                cfg = &l->config->pacing[c];
                for (size_t u = 0; !cfg && pacing_unused_keys[u]; u++)
                        if (streq(e[i].key->value, pacing_unused_keys[u]))
                                unused = true;
                if (unused) {
                        loader_warning(l, e[i].key, "no call of amirotd draws from the '%s' bucket, ignoring",
                                       e[i].key->value);
                        continue;
                }
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
        "use_fips_endpoint", "use_dualstack_endpoint",
        "max_in_flight", "log_level", "dry_run", "poll_initial", "poll_max", "spread", "policies_dir",
        "metrics_file", "credentials_file", "max_retire_per_run", "request_timeout", NULL
};

static int parse_region(loader *l, const cnode *n) {
        config *c = l->config;

        if (cvalue_string(l, n, "region", &c->default_region) >= 0 && !aws_region_is_valid(c->default_region)) {
                loader_error(l, n, "'%s' is not an AWS region name", c->default_region);
                free(c->default_region);
                if (!(c->default_region = strdup(DEFAULT_REGION)))
                        return (l->oom = -ENOMEM);
        }
        return 0;
}

static void parse_log_level(loader *l, const cnode *n) {
        const char *names[ELEMENTSOF(log_levels) + 1] = {};
        bool found = false;

        for (size_t j = 0; j < ELEMENTSOF(log_levels); j++)
                names[j] = log_levels[j].name;
        if (!cvalue_expect(l, n, CNODE_SCALAR, "log_level"))
                return;
        for (size_t j = 0; j < ELEMENTSOF(log_levels); j++)
                if (streq(n->value, log_levels[j].name)) {
                        l->config->log_level = log_levels[j].priority;
                        found = true;
                }
        if (!found)
                cvalue_unknown(l, n, "log level", "'log_level' (debug, info, notice, warning, err)", names);
}

/* For node_exporter's textfile collector, which reads *.prom files of one directory. */
static void parse_metrics_file(loader *l, const cnode *n) {
        config *c = l->config;
        size_t len;

        if (cvalue_string(l, n, "metrics_file", &c->metrics_file) < 0)
                return;
        len = strlen(c->metrics_file);
        if (len == 0 || c->metrics_file[0] != '/' || c->metrics_file[len - 1] == '/')
                loader_error(l, n, "'metrics_file' is an absolute file name, got '%s'", c->metrics_file);
        else if (len < 6 || !streq(c->metrics_file + len - 5, ".prom"))
                loader_error(l, n, "'metrics_file' ends in .prom (node_exporter's textfile collector reads "
                             "no other files), got '%s'", c->metrics_file);
}

/* The keys that other keys are checked against once all are read. */
typedef struct global_seen {
        const cnode *credentials, *profile, *poll_initial, *credentials_file;
} global_seen;

static void parse_global_key(loader *l, const centry *e, global_seen *seen) {
        const char *k = e->key->value;
        const cnode *val = e->value;
        config *c = l->config;
        uint64_t v;

        if (streq(k, "region"))
                (void) parse_region(l, val);
        else if (streq(k, "profile")) {
                seen->profile = val;
                (void) cvalue_string(l, val, k, &c->profile);
        } else if (streq(k, "credentials")) {
                seen->credentials = val;
                (void) parse_credentials(l, val);
        } else if (streq(k, "endpoint_url"))
                (void) add_endpoint(l, val, NULL);
        else if (streq(k, "endpoints"))
                (void) parse_endpoints(l, val);
        else if (streq(k, "sts_endpoint_url"))
                (void) parse_sts_endpoint(l, val);
        else if (streq(k, "pacing"))
                (void) parse_pacing(l, val);
        else if (streq(k, "use_fips_endpoint") || streq(k, "use_dualstack_endpoint")) {
                bool b;
                if (cvalue_bool(l, val, k, &b) >= 0)
                        *(streq(k, "use_fips_endpoint") ? &c->use_fips_endpoint : &c->use_dualstack_endpoint) = b;
        }
        else if (streq(k, "max_in_flight")) {
                if (cvalue_uint(l, val, k, 1, MAX_IN_FLIGHT_MAX, &v) >= 0)
                        c->max_in_flight = (unsigned) v;
        } else if (streq(k, "log_level"))
                parse_log_level(l, val);
        else if (streq(k, "dry_run"))
                (void) cvalue_bool(l, val, k, &c->dry_run);
        else if (streq(k, "poll_initial")) {
                seen->poll_initial = val;
                (void) cvalue_duration(l, val, k, 1, 3600, &c->poll_initial);
        } else if (streq(k, "poll_max"))
                (void) cvalue_duration(l, val, k, 1, 3600, &c->poll_max);
        else if (streq(k, "spread")) {
                l->spread_pos = (config_pos) { l->file, val->line, val->column };
                l->spread_file_index = l->file_index;
                (void) cvalue_duration(l, val, k, 0, 86400, &c->spread);
        }
        else if (streq(k, "request_timeout"))
                (void) cvalue_duration(l, val, k, 1, REQUEST_TIMEOUT_MAX, &c->request_timeout);
        else if (streq(k, "policies_dir"))
                (void) cvalue_string(l, val, k, &c->policies_dir);
        else if (streq(k, "metrics_file"))
                parse_metrics_file(l, val);
        else if (streq(k, "credentials_file")) {
                seen->credentials_file = val;
                (void) cvalue_string(l, val, k, &c->credentials_file);
        } else if (streq(k, "max_retire_per_run"))
                (void) cvalue_percent(l, val, k, 0, 100, &c->max_retire_per_run);
        else
                cvalue_unknown(l, e->key, "key", "the global file", global_keys);
}

int config_global_parse(loader *l, const cnode *root) {
        _cleanup_(freep) centry *e = NULL;
        global_seen seen = {};
        config *c = l->config;
        size_t n_e = 0;
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
                parse_global_key(l, &e[i], &seen);
                if (l->oom)
                        return l->oom;
        }
        if (seen.profile && seen.credentials && c->profile && c->access_key_id)
                loader_error(l, seen.profile, "'profile' and 'credentials' exclude each other");
        if (seen.credentials_file && seen.credentials && c->access_key_id)
                loader_error(l, seen.credentials_file, "'credentials_file' and 'credentials' exclude each other");
        if (c->credentials_file && isempty(c->credentials_file))
                loader_error(l, seen.credentials_file, "'credentials_file' is empty");
        if (c->poll_initial > c->poll_max)
                loader_error(l, seen.poll_initial ? seen.poll_initial : root, "'poll_initial' is longer than 'poll_max'");
        return 0;
}
