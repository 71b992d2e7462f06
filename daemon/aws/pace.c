/* SPDX-License-Identifier: MIT */
/*
 * Client-side token buckets that mirror EC2's own throttling, so a large fleet
 * runs at the rate EC2 allows instead of collecting RequestLimitExceeded.
 *
 * "Request throttling for the Amazon EC2 API" (EC2 developer guide): "Amazon
 * EC2 uses the token bucket algorithm ... each API is evaluated individually,
 * and you are throttled on the number of requests you make on a per-API basis.
 * Each request that you make removes one token from the API's bucket." Its
 * example: DescribeHosts, a non-mutating action, "is 100 tokens and the refill
 * rate is 20 tokens per second". So there is one bucket per action name, sized
 * by the action's category (the table "Request token bucket sizes and refill
 * rates"; see pace_default_config). EC2 adds its refill once a second; we add it
 * continuously, which keeps the same average rate and never bursts above it.
 *
 * Should a bucket of its own be unobtainable (out of memory), the action shares
 * its category's bucket: slower, never faster. Pure arithmetic: now is a
 * parameter.
 */
#include <math.h>

#include "pace.h"

/*
 * From the table "Request token bucket sizes and refill rates" (maximum
 * capacity, refill rate per second): non-mutating actions 100 / 20; mutating
 * actions (the default for anything not listed) 50 / 5; DeregisterImage and
 * DeleteSnapshot 100 / 5; CreateTags 100 / 10; CopyImage 100 / 1;
 * ModifyImageAttribute 100 / 5. The non-mutating 100 / 20 is also the page's
 * worked example; the per-action rows could not be re-read from the stored copy
 * of the page while writing this, so they are as the design review gave them.
 * Accounts can have higher limits by request: aws_pacer_new() takes a config.
 */
const pace_bucket_config pace_default_config[_PACE_CATEGORY_MAX] = {
        [PACE_DESCRIBE] = { .capacity = 100, .refill_per_sec = 20 },
        [PACE_MUTATING] = { .capacity = 50, .refill_per_sec = 5 },
        [PACE_DELETE] = { .capacity = 100, .refill_per_sec = 5 },
        [PACE_CREATE_TAGS] = { .capacity = 100, .refill_per_sec = 10 },
        [PACE_COPY_IMAGE] = { .capacity = 100, .refill_per_sec = 1 },
        [PACE_MODIFY_ATTRIBUTE] = { .capacity = 100, .refill_per_sec = 5 },
};

static const char *const category_table[_PACE_CATEGORY_MAX] = {
        [PACE_DESCRIBE] = "describe",
        [PACE_MUTATING] = "mutating",
        [PACE_DELETE] = "delete",
        [PACE_CREATE_TAGS] = "create-tags",
        [PACE_COPY_IMAGE] = "copy-image",
        [PACE_MODIFY_ATTRIBUTE] = "modify-attribute",
};

const char *pace_category_to_string(pace_category c) {
        return c >= 0 && c < _PACE_CATEGORY_MAX ? category_table[c] : NULL;
}

pace_category pace_category_from_string(const char *s) {
        for (size_t i = 0; s && i < _PACE_CATEGORY_MAX; i++)
                if (streq(s, category_table[i]))
                        return (pace_category) i;
        return _PACE_CATEGORY_INVALID;
}

pace_category pace_category_of(const char *action) {
        if (isempty(action))
                return _PACE_CATEGORY_INVALID;
        /* Non-mutating: the Describe*, Get* and List* actions only read. */
        if (startswith(action, "Describe") || startswith(action, "Get") || startswith(action, "List"))
                return PACE_DESCRIBE;
        if (streq(action, "CreateTags") || streq(action, "DeleteTags"))
                return PACE_CREATE_TAGS;
        if (streq(action, "DeregisterImage") || streq(action, "DeleteSnapshot"))
                return PACE_DELETE;
        if (streq(action, "CopyImage"))
                return PACE_COPY_IMAGE;
        if (streq(action, "ModifyImageAttribute"))
                return PACE_MODIFY_ATTRIBUTE;
        return PACE_MUTATING;
}

typedef struct pace_bucket {
        char *action;           /* NULL: a category's shared fallback bucket */
        pace_category category;
        double tokens;
        usec_t last;            /* when tokens was computed */
        bool started;
        struct pace_bucket *next;
} pace_bucket;

struct aws_pacer {
        pace_bucket_config config[_PACE_CATEGORY_MAX];
        pace_bucket *buckets;
        pace_bucket fallback[_PACE_CATEGORY_MAX];
};

int aws_pacer_new(const pace_bucket_config config[_PACE_CATEGORY_MAX], aws_pacer **ret) {
        aws_pacer *p;

        if (!config)
                config = pace_default_config;
        for (size_t i = 0; i < _PACE_CATEGORY_MAX; i++)
                if (!(config[i].capacity >= 1) || !(config[i].refill_per_sec > 0) ||
                    !isfinite(config[i].capacity) || !isfinite(config[i].refill_per_sec))
                        return -EINVAL;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        memcpy(p->config, config, sizeof(p->config));
        for (size_t i = 0; i < _PACE_CATEGORY_MAX; i++)
                p->fallback[i].category = (pace_category) i;
        *ret = p;
        return 0;
}

aws_pacer *aws_pacer_free(aws_pacer *p) {
        if (!p)
                return NULL;
        while (p->buckets) {
                pace_bucket *b = p->buckets;
                p->buckets = b->next;
                free(b->action);
                free(b);
        }
        return mfree(p);
}

static pace_bucket *pacer_bucket(aws_pacer *p, const char *action) {
        pace_category cat = pace_category_of(action);
        pace_bucket *b;

        if (cat < 0)
                cat = PACE_MUTATING;
        if (!action)
                return &p->fallback[cat];
        for (b = p->buckets; b; b = b->next)
                if (streq(b->action, action))
                        return b;

        b = calloc(1, sizeof(*b));
        if (!b)
                return &p->fallback[cat];
        b->action = strdup(action);
        if (!b->action) {
                free(b);
                return &p->fallback[cat];
        }
        b->category = cat;
        b->next = p->buckets;
        p->buckets = b;
        return b;
}

/* Brings b's tokens up to time now; a new bucket starts full, as EC2's do. */
static void bucket_refill(const aws_pacer *p, pace_bucket *b, usec_t now) {
        const pace_bucket_config *cfg = &p->config[b->category];

        if (!b->started) {
                b->tokens = cfg->capacity;
                b->last = now;
                b->started = true;
                return;
        }
        if (now > b->last) {
                b->tokens += (double) (now - b->last) / (double) USEC_PER_SEC * cfg->refill_per_sec;
                if (b->tokens > cfg->capacity)
                        b->tokens = cfg->capacity;
                b->last = now;
        }
        /* A clock that went backwards (a caller's mistake) adds nothing and takes nothing. */
}

usec_t aws_pacer_take(aws_pacer *p, const char *action, usec_t now) {
        pace_bucket *b;
        double missing, wait;

        if (!p)
                return 0;
        b = pacer_bucket(p, action);
        bucket_refill(p, b, now);
        /* The epsilon forgives the rounding of the wait computed below. */
        if (b->tokens + 1e-9 >= 1) {
                b->tokens = b->tokens >= 1 ? b->tokens - 1 : 0;
                return 0;
        }
        missing = 1 - b->tokens;
        wait = ceil(missing / p->config[b->category].refill_per_sec * (double) USEC_PER_SEC);
        return wait < 1 ? 1 : (usec_t) wait;
}

double aws_pacer_tokens(aws_pacer *p, const char *action, usec_t now) {
        pace_bucket *b;

        if (!p)
                return 0;
        b = pacer_bucket(p, action);
        bucket_refill(p, b, now);
        return b->tokens;
}

/* ---- One pacer per (account, region, service) ------------------------------------------- */

typedef struct pacer_entry {
        char *account;
        char *region;
        char *service;
        aws_pacer *pacer;
        struct pacer_entry *next;
} pacer_entry;

struct aws_pacers {
        pace_bucket_config config[_PACE_CATEGORY_MAX];
        pacer_entry *entries;
        size_t n_entries;
};

int aws_pacers_new(const pace_bucket_config config[_PACE_CATEGORY_MAX], aws_pacers **ret) {
        _cleanup_(aws_pacer_freep) aws_pacer *probe = NULL;
        aws_pacers *s;
        int r;

        if (!config)
                config = pace_default_config;
        r = aws_pacer_new(config, &probe);      /* validates config once, here */
        if (r < 0)
                return r;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        memcpy(s->config, config, sizeof(s->config));
        *ret = s;
        return 0;
}

static pacer_entry *pacer_entry_free(pacer_entry *e) {
        if (!e)
                return NULL;
        aws_pacer_free(e->pacer);
        free(e->account);
        free(e->region);
        free(e->service);
        return mfree(e);
}

aws_pacers *aws_pacers_free(aws_pacers *s) {
        if (!s)
                return NULL;
        while (s->entries) {
                pacer_entry *e = s->entries;
                s->entries = e->next;
                pacer_entry_free(e);
        }
        return mfree(s);
}

int aws_pacers_get(aws_pacers *s, const char *account, const char *region, const char *service, aws_pacer **ret) {
        pacer_entry *e;
        int r;

        if (!s || isempty(account) || isempty(region) || isempty(service) || !ret)
                return -EINVAL;
        for (e = s->entries; e; e = e->next)
                if (streq(e->account, account) && streq(e->region, region) && streq(e->service, service)) {
                        *ret = e->pacer;
                        return 0;
                }

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->account = strdup(account);
        e->region = strdup(region);
        e->service = strdup(service);
        if (!e->account || !e->region || !e->service) {
                pacer_entry_free(e);
                return -ENOMEM;
        }
        r = aws_pacer_new(s->config, &e->pacer);
        if (r < 0) {
                pacer_entry_free(e);
                return r;
        }
        e->next = s->entries;
        s->entries = e;
        s->n_entries++;
        *ret = e->pacer;
        return 0;
}

size_t aws_pacers_count(const aws_pacers *s) {
        return s ? s->n_entries : 0;
}
