/* SPDX-License-Identifier: MIT */
/*
 * The `ssm_parameter` distributor: each parameter a run writes (dist-ssm.h's rule) names
 * the newest available image of the policy in the parameter's region and account, as
 * DescribeImages there shows it (the run's own images when that is the run's region and
 * account, else the run's cache of that place, dist.h). One parameter per target, or per instance the policy selects when the name
 * holds an instance variable. For each: GetParameter, and PutParameter (String,
 * aws:ec2:image, Overwrite) only when the value differs or the parameter is missing, so
 * a run that finds everything up to date writes nothing and a crash loses nothing: the
 * next run compares again. A parameter whose newest image is gone is left as it is, with
 * a warning. SSM validates an aws:ec2:image value after answering (PutParameter: "a
 * successful HTTP 200 response does not guarantee that your parameter was successfully
 * created or updated"); a write that did not land is simply written again by the next run.
 *
 * One call at a time: SSM's PutParameter allows a few calls a second per account, and a
 * policy writes a handful of parameters. With plan_only, only the reads run and each
 * write that would happen is a step; with dry_run (SSM has no DryRun), a log line.
 */
#include <stdio.h>

#include "aws/ssm.h"
#include "base/log.h"
#include "run/dist.h"
#include "run/dist-ssm.h"
#include "run/exec.h"
#include "run/plan.h"

/* A region and account whose images the parameters there name. */
typedef struct ssm_source {
        const char *region;             /* borrowed: the run's or a target's */
        const char *role_arn;           /* borrowed from the policy; NULL: the base credentials */
        const char *external_id;
        bool own;                       /* the run's region and account: ctx.images */
        dist_images_op *op;             /* else its images from the run's cache (dist.h) */
        const ec2_image *images;        /* ... valid while op lives */
        size_t n_images;
        int r;                          /* < 0: could not be read (logged) */
} ssm_source;

/* One parameter to keep up to date. */
typedef struct ssm_item {
        char *name;
        size_t source;
        const ec2_instance *instance;   /* NULL: the policy's newest image */
} ssm_item;

typedef struct dist_ssm {
        dist_context ctx;
        dist_done_cb done;
        void *userdata;
        ssm_source *sources;
        size_t n_sources, next_source;
        ssm_item *items;
        size_t n_items, next_item;
        ssm_op *ssm_op;
        const char *image_id;           /* the item's newest image, during its calls */
        char *old_value;                /* its parameter's value, NULL when missing */
        int error;
} dist_ssm;

static void ssm_advance(dist_ssm *s);

static void dist_ssm_free(void *state) {
        dist_ssm *s = state;

        if (!s)
                return;
        ssm_op_cancel(s->ssm_op);
        for (size_t i = 0; i < s->n_sources; i++)
                dist_images_op_free(s->sources[i].op);
        for (size_t i = 0; i < s->n_items; i++)
                free(s->items[i].name);
        free(s->sources);
        free(s->items);
        free(s->old_value);
        free(s);
}

static ssm_item *current(dist_ssm *s) {
        return &s->items[s->next_item - 1];
}

static log_fields item_fields(dist_ssm *s, const ssm_item *it) {
        return (log_fields) {
                .policy = s->ctx.policy->name,
                .region = s->sources[it->source].region,
                .instance_id = it->instance ? it->instance->id : NULL,
                .image_id = s->image_id,
                .action = "ssm-parameter",
        };
}

static void ssm_fail(dist_ssm *s, int r) {
        s->ctx.result->errors++;
        if (s->error == 0)
                s->error = r;
}

/* ---- Sources ----------------------------------------------------------------------------- */

static int source_add(dist_ssm *s, const char *region, const char *role_arn, const char *external_id,
                      size_t *ret) {
        const policy *p = s->ctx.policy;
        ssm_source *n;

        for (size_t i = 0; i < s->n_sources; i++)
                if (streq(s->sources[i].region, region) && streq_ptr(s->sources[i].role_arn, role_arn) &&
                    streq_ptr(s->sources[i].external_id, external_id)) {
                        *ret = i;
                        return 0;
                }
        n = reallocarray(s->sources, s->n_sources + 1, sizeof(ssm_source));
        if (!n)
                return -ENOMEM;
        s->sources = n;
        n[s->n_sources] = (ssm_source) {
                .region = region,
                .role_arn = role_arn,
                .external_id = external_id,
                .own = streq(region, s->ctx.region) && streq_ptr(role_arn, p->role_arn) &&
                       streq_ptr(external_id, p->external_id),
        };
        *ret = s->n_sources++;
        return 0;
}

static void on_images(int r, const ec2_image *images, size_t n, const aws_error *err, void *userdata) {
        dist_ssm *s = userdata;
        ssm_source *src = &s->sources[s->next_source - 1];

        if (r >= 0) {
                src->images = images;
                src->n_images = n;
        } else {
                src->r = r;
                ssm_fail(s, r);
                exec_log_aws(LOG_ERR, r, err, &(log_fields) { .policy = s->ctx.policy->name, .region = src->region,
                                                              .action = "DescribeImages" },
                             "cannot read the images that its SSM parameters there would name");
        }
        ssm_advance(s);
}

/* 1: a describe runs; 0: nothing to do for this source. */
static int source_start(dist_ssm *s, ssm_source *src) {
        int r;

        if (src->own)
                return 0;
        r = dist_images_get(&s->ctx, &(dist_place) { .region = src->region, .role_arn = src->role_arn,
                                                      .external_id = src->external_id },
                            on_images, s, &src->op);
        if (r >= 0)
                return 1;
        src->r = r;
        ssm_fail(s, r);
        log_full(LOG_ERR, r, MESSAGE_POLICY_RUN_FAILED,
                 &(log_fields) { .policy = s->ctx.policy->name, .region = src->region },
                 "policy '%s': cannot read its images in %s for its SSM parameters: %s",
                 s->ctx.policy->name, src->region, strerror(-r));
        return 0;
}

/* ---- Items ------------------------------------------------------------------------------- */

static int item_add(dist_ssm *s, const ssm_parameter_target *t, size_t source, const ec2_instance *instance) {
        const char *region = s->sources[source].region, *why = NULL;
        _cleanup_(freep) char *name = NULL;
        ssm_item *n;
        int r;

        r = plan_render_template(t->name, s->ctx.policy, region, instance, NULL, &name);
        if (r < 0)
                return r;
        if (ssm_parameter_name_check(name, region, &why) < 0) {
                ssm_fail(s, -EINVAL);
                log_full(LOG_ERR, 0, MESSAGE_POLICY_RUN_FAILED,
                         &(log_fields) { .policy = s->ctx.policy->name, .region = region,
                                         .instance_id = instance ? instance->id : NULL, .action = "ssm-parameter" },
                         "policy '%s' in %s: SSM parameter '%s' (from '%s'%s%s) is no valid name: %s",
                         s->ctx.policy->name, region, name, t->name, instance ? " for " : "",
                         instance ? instance->id : "", why);
                return 0;
        }
        for (size_t i = 0; i < s->n_items; i++) {
                const ec2_instance *first = s->items[i].instance;

                if (!streq(s->items[i].name, name) || s->items[i].source != source)
                        continue;
                /* The same parameter again: once is enough. Two instances whose names or tags
                 * render to one parameter would take turns in it: the lower instance id keeps
                 * it, whatever order EC2 lists them in. */
                if (instance && first && instance != first) {
                        const ec2_instance *keep = strcmp(instance->id, first->id) < 0 ? instance : first;

                        log_full(LOG_WARNING, 0, NULL,
                                 &(log_fields) { .policy = s->ctx.policy->name, .region = region,
                                                 .instance_id = instance->id, .action = "ssm-parameter" },
                                 "policy '%s' in %s: SSM parameter '%s' is the name of both %s and %s; it "
                                 "names %s's image", s->ctx.policy->name, region, name, first->id,
                                 instance->id, keep->id);
                        s->items[i].instance = keep;
                }
                return 0;
        }
        n = reallocarray(s->items, s->n_items + 1, sizeof(ssm_item));
        if (!n)
                return -ENOMEM;
        s->items = n;
        n[s->n_items++] = (ssm_item) { .name = TAKE_PTR(name), .source = source, .instance = instance };
        return 0;
}

static int items_build(dist_ssm *s) {
        const policy *p = s->ctx.policy;
        int r;

        for (size_t i = 0; i < p->n_ssm_parameters; i++) {
                const ssm_parameter_target *t = &p->ssm_parameters[i];
                const char *region = dist_ssm_target_region(p, t, s->ctx.region);
                size_t source;

                if (!region || !t->name)
                        continue;
                /* The parameter's account: the target's role, else the policy's own. */
                r = t->role_arn ? source_add(s, region, t->role_arn, t->external_id, &source)
                                : source_add(s, region, p->role_arn, p->external_id, &source);
                if (r < 0)
                        return r;
                if (!dist_ssm_name_per_instance(t->name)) {
                        r = item_add(s, t, source, NULL);
                        if (r < 0)
                                return r;
                        continue;
                }
                for (size_t k = 0; k < s->ctx.n_instances; k++) {
                        if (!plan_instance_selected(p, &s->ctx.instances[k]))
                                continue;
                        r = item_add(s, t, source, &s->ctx.instances[k]);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static void on_put(int r, int64_t version, const aws_error *err, void *userdata) {
        dist_ssm *s = userdata;
        ssm_item *it = current(s);
        log_fields f = item_fields(s, it);

        s->ssm_op = NULL;
        if (r < 0) {
                ssm_fail(s, r);
                _cleanup_(freep) char *what = NULL;
                if (asprintf(&what, "cannot publish %s to SSM parameter '%s'", s->image_id, it->name) < 0)
                        what = NULL;
                exec_log_aws(LOG_ERR, r, err, &f, what ?: "PutParameter");
        } else {
                s->ctx.result->ssm_published++;
                log_full(LOG_INFO, 0, MESSAGE_SSM_PUBLISHED, &f,
                         "policy '%s' in %s: SSM parameter '%s' now names %s (version %lld, was %s)",
                         f.policy, f.region, it->name, s->image_id, (long long) version,
                         s->old_value ?: "missing");
        }
        ssm_advance(s);
}

static int item_write(dist_ssm *s, ssm_item *it) {
        ssm_source *src = &s->sources[it->source];
        log_fields f = item_fields(s, it);
        aws_client *ssm;
        int r;

        if (s->ctx.plan_only)
                return dist_result_add_step(s->ctx.result, "ssm-parameter", src->region,
                                            it->instance ? it->instance->id : NULL, s->image_id, "%s: %s -> %s",
                                            it->name, s->old_value ?: "(none)", s->image_id);
        if (s->ctx.dry_run) {
                log_full(LOG_INFO, 0, NULL, &f, "policy '%s' in %s: would set SSM parameter '%s' to %s (dry run)",
                         f.policy, f.region, it->name, s->image_id);
                return 0;
        }
        r = aws_pool_ssm(s->ctx.pool, src->region, src->role_arn, src->external_id, &ssm);
        if (r >= 0)
                r = ssm_put_parameter(ssm, &(ssm_put_request) {
                                .name = it->name,
                                .value = s->image_id,
                                .type = "String",
                                .data_type = SSM_DATA_TYPE_IMAGE,
                                .overwrite = true,
                        }, on_put, s, &s->ssm_op);
        return r < 0 ? r : 1;
}

static void on_get(int r, const ssm_parameter *p, const aws_error *err, void *userdata) {
        dist_ssm *s = userdata;
        ssm_item *it = current(s);
        log_fields f = item_fields(s, it);

        s->ssm_op = NULL;
        s->old_value = mfree(s->old_value);
        if (r < 0 && r != -ENOENT) {
                ssm_fail(s, r);
                _cleanup_(freep) char *what = NULL;
                if (asprintf(&what, "cannot read SSM parameter '%s'", it->name) < 0)
                        what = NULL;
                exec_log_aws(LOG_ERR, r, err, &f, what ?: "GetParameter");
                ssm_advance(s);
                return;
        }
        /* A parameter of that name that is not an image's (a String of data type text, a
         * StringList, a SecureString) belongs to someone else: never overwritten, its value
         * never said. */
        if (p && (!streq_ptr(p->type, "String") || !streq_ptr(p->data_type, SSM_DATA_TYPE_IMAGE))) {
                ssm_fail(s, -EEXIST);
                log_full(LOG_ERR, 0, MESSAGE_POLICY_RUN_FAILED, &f,
                         "policy '%s' in %s: SSM parameter '%s' exists as a %s of data type %s, not an image's "
                         "(String, %s): left alone; remove it or name another parameter", f.policy, f.region,
                         it->name, p->type ?: "parameter", p->data_type ?: "text", SSM_DATA_TYPE_IMAGE);
                ssm_advance(s);
                return;
        }
        if (p && streq(p->value, s->image_id)) {
                log_full(LOG_DEBUG, 0, NULL, &f, "SSM parameter '%s' in %s names %s already", it->name, f.region,
                         s->image_id);
                ssm_advance(s);
                return;
        }
        if (p && !(s->old_value = strdup(p->value)))
                r = -ENOMEM;
        else
                r = item_write(s, it);
        if (r < 0) {
                ssm_fail(s, r);
                log_full(LOG_ERR, r, MESSAGE_POLICY_RUN_FAILED, &f, "policy '%s' in %s: cannot publish to SSM "
                         "parameter '%s': %s", f.policy, f.region, it->name, strerror(-r));
        }
        if (r <= 0)
                ssm_advance(s);
}

/* 1: a call runs; 0: nothing to do for this item. */
static int item_start(dist_ssm *s, ssm_item *it) {
        ssm_source *src = &s->sources[it->source];
        const ec2_image *g;
        aws_client *ssm;
        int r;

        s->image_id = NULL;
        if (src->r < 0)
                return 0;       /* its images could not be read: failed and logged once */
        g = dist_newest_image(src->own ? s->ctx.images : src->images,
                              src->own ? s->ctx.n_images : src->n_images,
                              s->ctx.policy->name, it->instance ? it->instance->id : NULL,
                              s->ctx.policy->verify.set, s->ctx.passed, s->ctx.now);
        if (!g) {
                log_fields f = item_fields(s, it);

                log_full(LOG_WARNING, 0, MESSAGE_SSM_NO_IMAGE, &f,
                         "policy '%s' in %s: no %s image%s%s for SSM parameter '%s', leaving it as it is",
                         f.policy, f.region, s->ctx.policy->verify.set ? "passed" : "available",
                         it->instance ? " of " : "", it->instance ? it->instance->id : "", it->name);
                return 0;
        }
        s->image_id = g->id;
        r = aws_pool_ssm(s->ctx.pool, src->region, src->role_arn, src->external_id, &ssm);
        if (r >= 0)
                r = ssm_get_parameter(ssm, it->name, on_get, s, &s->ssm_op);
        if (r >= 0)
                return 1;
        ssm_fail(s, r);
        log_fields f = item_fields(s, it);
        log_full(LOG_ERR, r, MESSAGE_POLICY_RUN_FAILED, &f,
                 "policy '%s' in %s: cannot read SSM parameter '%s': %s", s->ctx.policy->name, src->region,
                 it->name, strerror(-r));
        return 0;
}

/* Describes each source that needs it, then each item in turn; after the last, done. */
static void ssm_advance(dist_ssm *s) {
        while (s->next_source < s->n_sources)
                if (source_start(s, &s->sources[s->next_source++]) > 0)
                        return;
        while (s->next_item < s->n_items)
                if (item_start(s, &s->items[s->next_item++]) > 0)
                        return;
        s->done(s->error, s->userdata);         /* may free s */
}

static bool dist_ssm_wanted(const policy *p) {
        return p->n_ssm_parameters > 0;
}

static int dist_ssm_start(const dist_context *ctx, dist_done_cb done, void *userdata, void **ret_state) {
        dist_ssm *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (dist_ssm) { .ctx = *ctx, .done = done, .userdata = userdata };
        r = items_build(s);
        if (r < 0) {
                dist_ssm_free(s);
                return r;
        }
        *ret_state = s;
        ssm_advance(s);
        return 0;
}

const dist_ops dist_ssm_ops = {
        .name = "ssm_parameter",
        .wanted = dist_ssm_wanted,
        .start = dist_ssm_start,
        .free = dist_ssm_free,
};
