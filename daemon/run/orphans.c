/* SPDX-License-Identifier: MIT */
/*
 * See orphans.h. The service's scan walks the places one request at a time: it runs
 * once per configuration generation, beside the policies' runs, and needs no hurry.
 */
#include <stdio.h>

#include "base/log.h"
#include "run/exec.h"
#include "run/orphans.h"
#include "run/plan.h"

/* The global identity: no role. */
static const policy global_identity = {};

static bool same_account(const policy *a, const policy *b) {
        return streq_ptr(a->role_arn, b->role_arn) && streq_ptr(a->external_id, b->external_id);
}

static int where_add(orphan_where **w, size_t *n, const policy *identity, const char *region) {
        orphan_where *nw;

        for (size_t k = 0; k < *n; k++)
                if (streq((*w)[k].region, region) && same_account((*w)[k].identity, identity))
                        return 0;
        nw = reallocarray(*w, *n + 1, sizeof(orphan_where));
        if (!nw)
                return -ENOMEM;
        *w = nw;
        nw[(*n)++] = (orphan_where) { .identity = identity, .region = region };
        return 0;
}

int orphan_where_list(const config *c, orphan_where **ret, size_t *ret_n) {
        _cleanup_(freep) orphan_where *w = NULL;
        size_t n = 0;
        int r;

        r = c->default_region ? where_add(&w, &n, &global_identity, c->default_region) : 0;
        for (size_t i = 0; r >= 0 && i < c->n_policies; i++)
                for (char **region = c->policies[i].regions; r >= 0 && region && *region; region++)
                        r = where_add(&w, &n, c->policies[i].role_arn ? &c->policies[i] : &global_identity,
                                      *region);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        *ret_n = n;
        return 0;
}

ec2_filter orphan_filter(void) {
        static char *values[] = { (char *) TAG_POLICY, NULL };

        return (ec2_filter) { .name = "tag-key", .values = values };
}

const char *orphan_policy_of(char *const *configured, const ec2_image *img) {
        const char *name = ec2_tags_get(&img->tags, TAG_POLICY);

        if (!name || strv_contains(configured, name) || img->state == EC2_IMAGE_DEREGISTERED)
                return NULL;
        return name;
}

/* ---- The service's scan ---------------------------------------------------------------- */

/* What was found of one orphaned policy name. */
typedef struct orphan_found {
        char *policy;
        char **regions;                 /* where, each once */
        unsigned images;
        bool said;
} orphan_found;

struct orphan_scan {
        sd_event *event;
        aws_pool *pool;
        char **configured;
        usec_t retry;

        orphan_where *where;
        size_t n_where;
        bool *pending;                  /* where[k] is still to be read */
        size_t next;                    /* the place in flight */
        ec2_op *op;
        sd_event_source *timer;         /* the retry of the places that failed */

        orphan_found *found;
        size_t n_found;
};

orphan_scan *orphan_scan_free(orphan_scan *s) {
        if (!s)
                return NULL;
        ec2_op_cancel(s->op);
        sd_event_source_disable_unref(s->timer);
        sd_event_unref(s->event);
        strv_free(s->configured);
        free(s->where);
        free(s->pending);
        for (size_t k = 0; k < s->n_found; k++) {
                free(s->found[k].policy);
                strv_free(s->found[k].regions);
        }
        free(s->found);
        return mfree(s);
}

static int found_add(orphan_scan *s, const char *policy_name, const char *region) {
        orphan_found *f = NULL;

        for (size_t k = 0; k < s->n_found && !f; k++)
                if (streq(s->found[k].policy, policy_name))
                        f = &s->found[k];
        if (!f) {
                f = reallocarray(s->found, s->n_found + 1, sizeof(orphan_found));
                if (!f)
                        return -ENOMEM;
                s->found = f;
                f = &s->found[s->n_found];
                *f = (orphan_found) { .policy = strdup(policy_name) };
                if (!f->policy)
                        return -ENOMEM;
                s->n_found++;
        }
        f->images++;
        return strv_contains(f->regions, region) ? 0 : strv_extend(&f->regions, region);
}

/* "us-east-1, eu-west-1" */
static char *regions_join(char *const *regions) {
        size_t len = 1;
        char *s;

        for (char *const *r = regions; r && *r; r++)
                len += strlen(*r) + 2;
        s = calloc(1, len);
        for (char *const *r = regions; s && r && *r; r++) {
                if (r != regions)
                        strcat(s, ", ");
                strcat(s, *r);
        }
        return s;
}

/* Once per orphaned policy name and scan: the scan lives as long as the generation. */
static void say_found(orphan_scan *s) {
        for (size_t k = 0; k < s->n_found; k++) {
                orphan_found *f = &s->found[k];
                _cleanup_(freep) char *where = NULL;

                if (f->said)
                        continue;
                f->said = true;
                where = regions_join(f->regions);
                log_full(LOG_WARNING, 0, MESSAGE_POLICY_ORPHANED,
                         &(log_fields) { .policy = f->policy, .region = f->regions ? f->regions[0] : NULL },
                         "%u %s tagged amirotd:policy='%s' remain in %s, but no policy of that name is "
                         "configured: amirotd never touches them; 'amirotd list --orphaned' lists them",
                         f->images, f->images == 1 ? "image" : "images", f->policy, where ?: "?");
        }
}

static void scan_next(orphan_scan *s);

static void on_images(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        orphan_scan *s = userdata;
        const orphan_where *w = &s->where[s->next];

        s->op = NULL;
        if (r < 0) {
                _cleanup_(freep) char *what = NULL;

                if (asprintf(&what, "cannot look for images of removed policies, will retry in %llus",
                             (unsigned long long) (s->retry / USEC_PER_SEC)) < 0)
                        what = NULL;
                exec_log_aws(LOG_WARNING, r, err,
                             &(log_fields) { .region = w->region, .action = "DescribeImages" },
                             what ?: "cannot look for images of removed policies");
        } else {
                s->pending[s->next] = false;
                for (size_t k = 0; k < l->n; k++) {
                        const char *name = orphan_policy_of(s->configured, &l->items[k]);

                        if (name && found_add(s, name, w->region) < 0) {
                                log_error("cannot note an image of removed policy '%s': out of memory", name);
                                break;
                        }
                }
        }
        s->next++;
        scan_next(s);
}

static int on_retry(sd_event_source *source, uint64_t usec, void *userdata) {
        orphan_scan *s = userdata;

        (void) source;
        (void) usec;
        s->next = 0;
        scan_next(s);
        return 0;
}

/* Reads the next place still pending; at the end, warns and arms the retry. */
static void scan_next(orphan_scan *s) {
        ec2_filter filter = orphan_filter();
        bool failed = false;
        aws_client *ec2;
        int r;

        for (; s->next < s->n_where; s->next++) {
                const orphan_where *w = &s->where[s->next];

                if (!s->pending[s->next])
                        continue;
                r = aws_pool_ec2(s->pool, w->identity, w->region, &ec2);
                if (r >= 0)
                        r = ec2_describe_images(ec2, &filter, 1, NULL, on_images, s, &s->op);
                if (r >= 0)
                        return;
                log_full(LOG_WARNING, r, NULL, &(log_fields) { .region = w->region },
                         "cannot look for images of removed policies in %s: %s", w->region, strerror(-r));
        }

        say_found(s);
        for (size_t k = 0; k < s->n_where; k++)
                failed = failed || s->pending[k];
        if (!failed)
                return;
        if (!s->timer)
                r = sd_event_add_time_relative(s->event, &s->timer, CLOCK_MONOTONIC, s->retry, 0, on_retry, s);
        else {
                r = sd_event_source_set_time_relative(s->timer, s->retry);
                if (r >= 0)
                        r = sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                log_warning_errno(r, "cannot schedule the next look for images of removed policies: %s",
                                  strerror(-r));
        else
                (void) sd_event_source_set_description(s->timer, "orphans");
}

int orphan_scan_start(sd_event *event, aws_pool *pool, const config *c, char *const *configured,
                      usec_t retry, orphan_scan **ret) {
        _cleanup_(orphan_scan_freep) orphan_scan *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->pool = pool;
        s->retry = retry;
        r = strv_copy(configured, &s->configured);
        if (r < 0)
                return r;
        r = orphan_where_list(c, &s->where, &s->n_where);
        if (r < 0)
                return r;
        s->pending = calloc(s->n_where ?: 1, sizeof(bool));
        if (!s->pending)
                return -ENOMEM;
        for (size_t k = 0; k < s->n_where; k++)
                s->pending[k] = true;
        scan_next(s);
        *ret = TAKE_PTR(s);
        return 0;
}
