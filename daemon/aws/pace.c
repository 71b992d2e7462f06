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
 * Each bucket also holds the line of requests waiting for it (pace_waiter,
 * embedded in the caller's request), served in order: a newcomer takes a
 * token at once only when nobody waits, and only the head of a line needs a
 * timer. With N requests waiting, a token costs one wake-up, not N.
 *
 * Should a bucket of its own be unobtainable (out of memory), the action shares
 * its category's bucket: slower, never faster. Pure: now is a parameter, and
 * the event loop is the caller's.
 */
#include <math.h>

#include "pace.h"

/*
 * "Request throttling for the Amazon EC2 API", Amazon EC2 developer guide,
 * https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html,
 * section "Request token bucket sizes and refill rates" (bucket maximum
 * capacity, bucket refill rate per second), re-read row by row for issue 17:
 *
 *   Non-mutating actions: "The Describe*, List*, Search*, and Get* API actions
 *     that are not included in another category"                     100 / 20
 *   Unfiltered and unpaginated non-mutating actions: DescribeInstances,
 *     DescribeInstanceStatus, DescribeNetworkInterfaces,
 *     DescribeSecurityGroups, DescribeSnapshots,
 *     DescribeSpotInstanceRequests, DescribeVolumes                     50 / 10
 *   Mutating actions: "All mutating API actions that are not
 *     Resource-intensive actions or Uncategorized actions"              50 / 5
 *   Uncategorized actions: CopyImage 100 / 1; CreateTags 100 / 10;
 *     DeleteSnapshot 100 / 5; DeleteTags 100 / 10; DeregisterImage 100 / 5;
 *     ModifyImageAttribute 100 / 5
 *
 * Each uncategorized action has "their own token bucket sizes and refill
 * rates": the categories below group those that share figures, and each
 * action still has a bucket of its own. CreateImage is in no table but
 * "Mutating actions". The "unfiltered and unpaginated" bucket is for requests
 * "without specifying either pagination or a filter": amirotd's
 * DescribeInstances and DescribeSnapshots always send MaxResults (ec2-calls.c),
 * and DescribeImages is not one of the seven, so none of its requests draws
 * from it; the client still charges it to any request that would
 * (pace_category_of_request). Not modelled: "Console non-mutating actions"
 * (amirotd calls none), and for verify's test instances (aws/ec2-instance-calls.c)
 * the separate row of "Resource-intensive actions" and the resource token buckets
 * ("the resource token bucket size for RunInstances is 1000 tokens, and the refill
 * rate is two tokens per second", counted in instances; TerminateInstances has one
 * too). RunInstances and TerminateInstances each have a bucket of their own at the
 * "Mutating actions" figures; verify launches one instance per image, at most
 * verify.max_concurrent at once, far inside either bucket, and retry.c's backoff
 * answers a throttle. GetConsoleOutput is a "Get*": non-mutating. Accounts can
 * have higher limits by request: aws_pacer_new() takes a config.
 *
 * SSM is not EC2 and has no token-bucket table: its quotas are transactions
 * per second. "AWS Systems Manager endpoints and quotas", Parameter Store, "Max
 * throughput (transactions per second)": a default throughput of 40, shared by
 * GetParameter, GetParameters and GetParametersByPath (read through a citation
 * of that table; no figure of PutParameter's own was found in the documents);
 * "Changing Parameter Store throughput" (Systems Manager user guide): "Parameter
 * Store throughput defines the number of API transactions per second (TPS) that
 * Systems Manager can process for GetParameter, GetParameters, and PutParameter
 * API calls for your AWS account and Region". So PACE_SSM_PARAMETER is one
 * bucket for all four actions (amirotd sends GetParameter and PutParameter) of
 * 40 tokens refilled at 40 a second: one second's worth at once, then the
 * standard rate. Accounts with "higher throughput" enabled may go faster; the
 * standard figure is the one that never gets throttled.
 *
 * Run Command (SendCommand, GetCommandInvocation, ListCommands): no rate of its
 * own was found in the documents read. The SSM API reference names only
 * ThrottlingException ("The request or operation exceeds the maximum allowed
 * request rate per Amazon Web Services account and Amazon Web Services Region"),
 * with no figure, and nothing says its actions share a throughput as Parameter
 * Store's do. No shared bucket, then: each action keeps a bucket of its own sized
 * by its name's category (SendCommand 50 / 5 a second, the two reads 100 / 20
 * each), for a few calls per instance and slot; retry.c's backoff answers a
 * throttle. A documented figure would replace this with a category of its own.
 */
const pace_bucket_config pace_default_config[_PACE_CATEGORY_MAX] = {
        [PACE_DESCRIBE] = { .capacity = 100, .refill_per_sec = 20 },
        [PACE_MUTATING] = { .capacity = 50, .refill_per_sec = 5 },
        [PACE_DELETE] = { .capacity = 100, .refill_per_sec = 5 },
        [PACE_CREATE_TAGS] = { .capacity = 100, .refill_per_sec = 10 },
        [PACE_COPY_IMAGE] = { .capacity = 100, .refill_per_sec = 1 },
        [PACE_MODIFY_ATTRIBUTE] = { .capacity = 100, .refill_per_sec = 5 },
        [PACE_UNFILTERED] = { .capacity = 50, .refill_per_sec = 10 },
        [PACE_SSM_PARAMETER] = { .capacity = 40, .refill_per_sec = 40 },
};

static const char *const category_table[_PACE_CATEGORY_MAX] = {
        [PACE_DESCRIBE] = "describe",
        [PACE_MUTATING] = "mutating",
        [PACE_DELETE] = "delete",
        [PACE_CREATE_TAGS] = "create-tags",
        [PACE_COPY_IMAGE] = "copy-image",
        [PACE_MODIFY_ATTRIBUTE] = "modify-attribute",
        [PACE_UNFILTERED] = "unfiltered",
        [PACE_SSM_PARAMETER] = "ssm-parameter",
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

/* "Unfiltered and unpaginated non-mutating actions": the seven the table lists. */
static const char *const unfiltered_actions[] = {
        "DescribeInstances", "DescribeInstanceStatus", "DescribeNetworkInterfaces", "DescribeSecurityGroups",
        "DescribeSnapshots", "DescribeSpotInstanceRequests", "DescribeVolumes",
};

pace_category pace_category_of(const char *action) {
        return pace_category_of_request(action, false);
}

pace_category pace_category_of_request(const char *action, bool unfiltered) {
        if (isempty(action))
                return _PACE_CATEGORY_INVALID;
        /* No EC2 action has these names: only SSM's pacer ever sees them. */
        if (streq(action, "GetParameter") || streq(action, "GetParameters") ||
            streq(action, "GetParametersByPath") || streq(action, "PutParameter"))
                return PACE_SSM_PARAMETER;
        if (unfiltered)
                for (size_t i = 0; i < ELEMENTSOF(unfiltered_actions); i++)
                        if (streq(action, unfiltered_actions[i]))
                                return PACE_UNFILTERED;
        /* Non-mutating: "The Describe*, List*, Search*, and Get* API actions". */
        if (startswith(action, "Describe") || startswith(action, "Get") || startswith(action, "List") ||
            startswith(action, "Search"))
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

struct pace_bucket {
        char *action;           /* NULL: a category's shared fallback bucket */
        pace_category category;
        const pace_bucket_config *config;       /* the pacer's, of category */
        double tokens;
        usec_t last;            /* when tokens was computed */
        bool started;
        pace_waiter *head, *tail;       /* the line, first come first served */
        size_t n_waiting;
        struct pace_bucket *next;
};

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
        for (size_t i = 0; i < _PACE_CATEGORY_MAX; i++) {
                p->fallback[i].category = (pace_category) i;
                p->fallback[i].config = &p->config[i];
        }
        *ret = p;
        return 0;
}

/* Whoever still waits in b's line is let go of: its owner should have left first. */
static void bucket_release_line(pace_bucket *b) {
        while (b->head)
                (void) pace_waiter_leave(b->head);
}

aws_pacer *aws_pacer_free(aws_pacer *p) {
        if (!p)
                return NULL;
        while (p->buckets) {
                pace_bucket *b = p->buckets;
                p->buckets = b->next;
                bucket_release_line(b);
                free(b->action);
                free(b);
        }
        for (size_t i = 0; i < _PACE_CATEGORY_MAX; i++)
                bucket_release_line(&p->fallback[i]);
        return mfree(p);
}

pace_bucket *aws_pacer_bucket(aws_pacer *p, const char *action, bool unfiltered) {
        pace_category cat = pace_category_of_request(action, unfiltered);
        pace_bucket *b;

        if (!p)
                return NULL;
        if (cat < 0)
                cat = PACE_MUTATING;
        /* Parameter Store's throughput is shared by its actions: one bucket for them all. */
        if (!action || cat == PACE_SSM_PARAMETER)
                return &p->fallback[cat];
        /* A handful of actions: a list is all the structure this needs. */
        for (b = p->buckets; b; b = b->next)
                if (b->category == cat && streq(b->action, action))
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
        b->config = &p->config[cat];
        b->next = p->buckets;
        p->buckets = b;
        return b;
}

/* Brings b's tokens up to time now; a new bucket starts full, as EC2's do. */
static void bucket_refill(pace_bucket *b, usec_t now) {
        if (!b->started) {
                b->tokens = b->config->capacity;
                b->last = now;
                b->started = true;
                return;
        }
        if (now > b->last) {
                b->tokens += (double) (now - b->last) / (double) USEC_PER_SEC * b->config->refill_per_sec;
                if (b->tokens > b->config->capacity)
                        b->tokens = b->config->capacity;
                b->last = now;
        }
        /* A clock that went backwards (a caller's mistake) adds nothing and takes nothing. */
}

/* Takes a token at time now and returns 0, or returns how long until one is there. */
static usec_t bucket_take(pace_bucket *b, usec_t now) {
        double missing, wait;

        bucket_refill(b, now);
        /* The epsilon forgives the rounding of the wait computed below. */
        if (b->tokens + 1e-9 >= 1) {
                b->tokens = b->tokens >= 1 ? b->tokens - 1 : 0;
                return 0;
        }
        missing = 1 - b->tokens;
        wait = ceil(missing / b->config->refill_per_sec * (double) USEC_PER_SEC);
        return wait < 1 ? 1 : (usec_t) wait;
}

usec_t pace_bucket_enter(pace_bucket *b, pace_waiter *w, usec_t now) {
        usec_t wait;

        /* Nobody may overtake the line: a token goes to a newcomer only when nobody waits. */
        if (!b->head) {
                wait = bucket_take(b, now);
                if (wait == 0)
                        return 0;
        } else
                wait = USEC_INFINITY;

        w->bucket = b;
        w->next = NULL;
        w->prev = b->tail;
        if (b->tail)
                b->tail->next = w;
        else
                b->head = w;
        b->tail = w;
        b->n_waiting++;
        return wait;
}

pace_waiter *pace_bucket_next(pace_bucket *b, usec_t now, usec_t *ret_wait) {
        pace_waiter *w;
        usec_t wait;

        if (!b->head) {
                *ret_wait = USEC_INFINITY;
                return NULL;
        }
        wait = bucket_take(b, now);
        if (wait > 0) {
                *ret_wait = wait;
                return NULL;
        }
        w = b->head;
        (void) pace_waiter_leave(w);
        *ret_wait = 0;
        return w;
}

pace_waiter *pace_bucket_head(const pace_bucket *b) {
        return b ? b->head : NULL;
}

size_t pace_bucket_waiting(const pace_bucket *b) {
        return b ? b->n_waiting : 0;
}

pace_waiter *pace_waiter_leave(pace_waiter *w) {
        pace_bucket *b = w ? w->bucket : NULL;
        bool was_head;

        if (!b)
                return NULL;
        was_head = b->head == w;
        if (w->prev)
                w->prev->next = w->next;
        else
                b->head = w->next;
        if (w->next)
                w->next->prev = w->prev;
        else
                b->tail = w->prev;
        b->n_waiting--;
        *w = (pace_waiter) {};
        return was_head ? b->head : NULL;
}

usec_t aws_pacer_take(aws_pacer *p, const char *action, usec_t now) {
        return p ? bucket_take(aws_pacer_bucket(p, action, false), now) : 0;
}

double aws_pacer_tokens(aws_pacer *p, const char *action, usec_t now) {
        pace_bucket *b;

        if (!p)
                return 0;
        b = aws_pacer_bucket(p, action, false);
        bucket_refill(b, now);
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
