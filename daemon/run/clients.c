/* SPDX-License-Identifier: MIT */
/*
 * See clients.h. EC2 throttles per account and region ("Amazon EC2 throttles
 * EC2 API requests for each AWS account on a per-Region basis"), so each
 * (account, region, service) has its own pacer (pace.h's aws_pacers), shared by
 * every client of that key: a role_arn policy paces in the role's account, STS
 * apart from EC2, and all policies of the default credentials in their one
 * account. Credentials are per role. Each client is keyed by (region, role_arn,
 * external_id) and lives as long as the pool; its EC2 and SSM clients are made on
 * first use.
 */
#include <stdio.h>

#include "aws/endpoint.h"
#include "aws/retry.h"
#include "aws/ssm.h"
#include "run/clients.h"
#include "base/log.h"

typedef struct pool_entry {
        char *region;
        char *role_arn;                 /* NULL: the base credentials */
        char *external_id;
        aws_client *sts;                /* only for a role */
        creds_provider *role_creds;     /* only for a role */
        aws_client *ec2;                /* NULL until first asked for */
        aws_client *ssm;
} pool_entry;

struct aws_pool {
        const config *config;
        http_client *http;
        creds_provider *creds;
        aws_pacers *pacers;
        pool_entry *entries;
        size_t n_entries;
        char **warned;                  /* endpoints already warned about */
        int64_t warned_clock_offset;    /* the clock skew last reported, in seconds */
        aws_stats *stats;               /* borrowed; may be NULL */
};

/* "ec2 DescribeImages attempt 2: HTTP 503 RequestLimitExceeded in 3 ms (paced 0 ms), will retry". An
 * attempt that ends the call without success says why: an answer that could not be read carries
 * neither a code nor an error status, and must not read like a success. */
static void trace_call(const aws_call_trace *t, void *userdata) {
        bool failed = t->next_delay == 0 && !streq_ptr(t->decision, "success");

        (void) userdata;
        log_full(LOG_DEBUG, 0, NULL,
                 &(log_fields) { .region = t->region, .action = t->action,
                                 .request_id = t->request_id, .error_code = t->error_code },
                 "%s %s attempt %u: HTTP %ld%s%s in %llu ms (paced %llu ms)%s%s",
                 t->service, t->action, t->attempt, t->status,
                 t->error_code ? " " : "", t->error_code ?: "",
                 (unsigned long long) (t->elapsed / USEC_PER_MSEC),
                 (unsigned long long) (t->paced / USEC_PER_MSEC),
                 t->next_delay > 0 ? ", will retry" : failed ? ", failed: " : "",
                 failed ? t->decision ?: "?" : "");
}

/*
 * A client corrected its clock for AWS's (client.c). Every client of the pool
 * learns the same skew on its first request; the operator hears of it once,
 * and again only if it changes by more than retry.c's threshold.
 */
static void on_clock_skew(const aws_clock_skew *s, void *userdata) {
        aws_pool *p = userdata;
        int64_t change = s->offset - p->warned_clock_offset;
        log_fields f = { .region = s->region, .error_code = s->error_code, .request_id = s->request_id };

        if (change > -RETRY_CLOCK_SKEW_THRESHOLD_SEC && change < RETRY_CLOCK_SKEW_THRESHOLD_SEC)
                return;
        p->warned_clock_offset = s->offset;
        if (s->offset > -RETRY_CLOCK_SKEW_THRESHOLD_SEC && s->offset < RETRY_CLOCK_SKEW_THRESHOLD_SEC) {
                log_full(LOG_NOTICE, 0, NULL, &f, "host clock agrees with AWS again (%s in %s), signing with it",
                         s->service, s->region);
                return;
        }
        log_full(LOG_WARNING, 0, NULL, &f,
                 "host clock is off by %lld seconds (%s AWS's: %s in %s answered %s, with its Date header); "
                 "signing requests with AWS's time, check time synchronisation (timedatectl)",
                 (long long) (s->offset < 0 ? -s->offset : s->offset), s->offset < 0 ? "ahead of" : "behind",
                 s->service, s->region, s->error_code ?: "a clock skew error");
}

int aws_pool_new(sd_event *event, const config *c, aws_pool **ret) {
        _cleanup_(aws_pool_freep) aws_pool *p = NULL;
        creds_options co;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->config = c;

        r = aws_pacers_new(c->pacing, &p->pacers);
        if (r < 0)
                return r;
        r = http_client_new(event, &p->http);
        if (r < 0)
                return r;
        http_client_set_max_in_flight(p->http, c->max_in_flight);

        co = (creds_options) {
                .access_key_id = c->access_key_id,
                .secret_access_key = c->secret_access_key,
                .session_token = c->session_token,
                .profile = c->profile,
                .credentials_file = c->credentials_file,
                .credentials_file_named = c->credentials_file_named,
        };
        r = creds_provider_new_chain(p->http, &co, &p->creds);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(p);
        return 0;
}

aws_pool *aws_pool_free(aws_pool *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_entries; i++) {
                pool_entry *e = &p->entries[i];

                aws_client_free(e->ec2);
                aws_client_free(e->ssm);
                creds_provider_free(e->role_creds);
                aws_client_free(e->sts);
                free(e->region);
                free(e->role_arn);
                free(e->external_id);
        }
        free(p->entries);
        aws_pacers_free(p->pacers);
        strv_free(p->warned);
        creds_provider_free(p->creds);
        http_client_free(p->http);
        return mfree(p);
}

void aws_pool_set_stats(aws_pool *p, aws_stats *s) {
        p->stats = s;
}

creds_provider *aws_pool_creds(aws_pool *p) {
        return p->creds;
}

http_client *aws_pool_http(aws_pool *p) {
        return p->http;
}

/*
 * The account whose buckets a policy's calls draw from: the role's account
 * (arn:PARTITION:iam::ACCOUNT:role/NAME, checked by the configuration), or one
 * name for the default credentials, which all belong to one account, whichever
 * it is: asking STS which would cost a call and a permission for nothing.
 */
#define DEFAULT_CREDENTIALS_ACCOUNT "default credentials"

static int pacing_account(const char *role_arn, char **ret) {
        char account[13];

        if (role_arn && !aws_role_arn_account(role_arn, account))
                return -EINVAL;
        *ret = strdup(role_arn ? account : DEFAULT_CREDENTIALS_ACCOUNT);
        return *ret ? 0 : -ENOMEM;
}

static int pool_client(aws_pool *p, const char *service, const char *region, const char *role_arn,
                       creds_provider *creds, aws_client **ret) {
        _cleanup_(freep) char *endpoint = NULL, *why = NULL, *account = NULL;
        aws_endpoint_options eo = config_endpoint_options(p->config, service, region);
        int r = aws_endpoint_resolve(&eo, service, region, &endpoint, &why);

        if (r < 0)
                return log_error_errno(r, "no %s endpoint for region '%s': %s", service, region, why ?: strerror(-r));
        aws_client_options o = {
                .service = service,
                .region = region,
                .endpoint_url = endpoint,
                .json_target_prefix = streq(service, "ssm") ? SSM_TARGET_PREFIX : NULL,
                .trace = trace_call,
                .clock_skew = on_clock_skew,
                .trace_userdata = p,
                .stats = p->stats,
                .timeout = p->config->request_timeout * USEC_PER_SEC,
        };

        r = pacing_account(role_arn, &account);
        if (r < 0)
                return r;
        r = aws_pacers_get(p->pacers, account, region, service, &o.pacer);
        if (r < 0)
                return r;

        if (endpoint && startswith(endpoint, "http://") && !strv_contains(p->warned, endpoint)) {
                log_warning("endpoint '%s' is plain HTTP: requests are not encrypted, use it for tests only", endpoint);
                (void) strv_extend(&p->warned, endpoint);
        }
        return aws_client_new(p->http, creds, &o, ret);
}

int aws_pool_ec2(aws_pool *p, const policy *pol, const char *region, aws_client **ret) {
        return aws_pool_ec2_as(p, region, pol->role_arn, pol->external_id, ret);
}

/* The entry of (region, role_arn, external_id), with the role's credentials; made on first use. */
static int pool_entry_get(aws_pool *p, const char *region, const char *role_arn, const char *external_id,
                          pool_entry **ret) {
        pool_entry *e;
        int r;

        for (size_t i = 0; i < p->n_entries; i++) {
                e = &p->entries[i];
                if (streq(e->region, region) && streq_ptr(e->role_arn, role_arn) &&
                    streq_ptr(e->external_id, external_id)) {
                        *ret = e;
                        return 0;
                }
        }

        e = reallocarray(p->entries, p->n_entries + 1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        p->entries = e;
        e = &p->entries[p->n_entries];
        *e = (pool_entry) {};

        e->region = strdup(region);
        if (!e->region ||
            strdup_or_null(role_arn, &e->role_arn) < 0 ||
            strdup_or_null(external_id, &e->external_id) < 0) {
                r = -ENOMEM;
                goto fail;
        }

        if (role_arn) {
                /* STS is called with the base credentials, in their account. */
                r = pool_client(p, "sts", region, NULL, p->creds, &e->sts);
                if (r < 0)
                        goto fail;
                r = creds_provider_new_assume_role(e->sts, role_arn, NULL, external_id, 0, &e->role_creds);
                if (r < 0)
                        goto fail;
        }

        p->n_entries++;
        *ret = e;
        return 0;

fail:
        creds_provider_free(e->role_creds);
        aws_client_free(e->sts);
        free(e->region);
        free(e->role_arn);
        free(e->external_id);
        return r;
}

/* The client of service in e's region and account, made on first use. */
static int pool_entry_client(aws_pool *p, pool_entry *e, const char *service, aws_client **client,
                             aws_client **ret) {
        int r;

        if (!*client) {
                r = pool_client(p, service, e->region, e->role_arn, e->role_creds ?: p->creds, client);
                if (r < 0)
                        return r;
        }
        *ret = *client;
        return 0;
}

int aws_pool_ec2_as(aws_pool *p, const char *region, const char *role_arn, const char *external_id,
                    aws_client **ret) {
        pool_entry *e;
        int r = pool_entry_get(p, region, role_arn, external_id, &e);

        return r < 0 ? r : pool_entry_client(p, e, "ec2", &e->ec2, ret);
}

int aws_pool_ssm(aws_pool *p, const char *region, const char *role_arn, const char *external_id,
                 aws_client **ret) {
        pool_entry *e;
        int r = pool_entry_get(p, region, role_arn, external_id, &e);

        return r < 0 ? r : pool_entry_client(p, e, "ssm", &e->ssm, ret);
}
