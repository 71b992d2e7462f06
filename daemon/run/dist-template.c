/* SPDX-License-Identifier: MIT */
/*
 * The "template" distributor (see dist.h): each launch template the policy names
 * follows the newest image of its region and account. One template after the other:
 * the images there (the run's own, or those of another region or account from the
 * run's cache, dist.h), every version of the template, then the decision
 * (dist-template-plan.c) and its steps: CreateLaunchTemplateVersion from the source
 * version with only ImageId, ModifyLaunchTemplate for the default, and
 * DeleteLaunchTemplateVersions of amirotd's oldest versions, 200 a call.
 *
 * A template's failure (one that does not exist, a refused call) is logged with the
 * policy, the region and the template, counted, and fails the run once every template
 * was tried; the next template still runs.
 */
#include <stdio.h>

#include "aws/ec2.h"
#include "aws/ec2-template-calls.h"
#include "base/log.h"
#include "run/dist-newest.h"
#include "run/dist-template-plan.h"
#include "run/dist.h"
#include "run/plan.h"

typedef struct template_run {
        dist_context ctx;
        dist_done_cb done;
        void *userdata;
        size_t at;                      /* the template being handled */
        const launch_template_target *t;
        const char *region;             /* where t is handled in this run */
        aws_client *ec2;                /* t's region and account */
        dist_images_op *images_op;      /* t's region and account's images, when not the run's (dist.h) */
        ec2_template_op *op;
        char *image_id;                 /* the newest image there */
        ec2_template_versions versions;
        template_decision decision;
        unsigned created;               /* the new version's number */
        unsigned *doomed;               /* versions to delete, oldest first */
        size_t n_doomed, next_doomed;
        int error;
} template_run;

static void next_template(template_run *s);

static bool template_wanted(const policy *p) {
        return p->n_launch_templates > 0;
}

/* Where the run handles t: without a region, in the run's own; with one of the policy's
 * regions, in that region's run; with any other, in the run of the policy's first region.
 * NULL: not in this run. */
static const char *target_region(const dist_context *ctx, const launch_template_target *t) {
        const policy *p = ctx->policy;

        if (!t->region)
                return ctx->region;
        if (strv_contains(p->regions, t->region))
                return streq(t->region, ctx->region) ? t->region : NULL;
        return p->regions && streq_ptr(p->regions[0], ctx->region) ? t->region : NULL;
}

/* Whether t lies in the run's account (no role of its own, or the policy's). */
static bool own_account(const dist_context *ctx, const launch_template_target *t) {
        return !t->role_arn || streq_ptr(t->role_arn, ctx->policy->role_arn);
}

static const char *template_label(const template_run *s) {
        return s->t->name ?: s->t->id;
}

/* The template's id as EC2 answered it (t may name it by name): its versions' own, once
 * template_decide() found a source version. */
static const char *template_id(const template_run *s) {
        return s->decision.source->template_id;
}

static log_fields fields(const template_run *s, const char *action, const aws_error *err) {
        return (log_fields) {
                .policy = s->ctx.policy->name, .region = s->region, .image_id = s->image_id,
                .action = action, .request_id = err ? err->request_id : NULL,
                .error_code = err ? err->code : NULL,
        };
}

/* Logs a failure of the template being handled, counts it, and goes on to the next. */
static void fail_template(template_run *s, int r, const char *action, const aws_error *err) {
        log_fields f = fields(s, action, err);

        /* An AWS error says what it is by its code; only a local failure needs its errno. */
        log_full(LOG_ERR, err && err->code ? 0 : r, MESSAGE_TEMPLATE_FAILED, &f,
                 "policy '%s': launch template '%s' in %s%s%s: %s failed: %s%s%s", s->ctx.policy->name,
                 template_label(s), s->region, s->t->role_arn ? " as " : "", s->t->role_arn ?: "", action,
                 err && err->code ? err->code : strerror(-r), err && err->message ? ": " : "",
                 err && err->message ? err->message : "");
        s->ctx.result->errors++;
        if (s->error == 0)
                s->error = r < 0 ? r : -EIO;
        next_template(s);
}

static bool dry_answer(const aws_error *err) {
        return err && aws_error_is(err, "DryRunOperation");
}

/* ---- Deleting amirotd's old versions ------------------------------------------------------ */

static void delete_next(template_run *s);

static void on_deleted(int r, ec2_template_delete_result *res, const aws_error *err, void *userdata) {
        template_run *s = userdata;
        log_fields f = fields(s, "DeleteLaunchTemplateVersions", err);

        s->op = NULL;
        if (r < 0 && !dry_answer(err)) {
                fail_template(s, r, "DeleteLaunchTemplateVersions", err);
                return;
        }
        for (size_t i = 0; r >= 0 && i < res->n_deleted; i++) {
                s->ctx.result->template_versions_deleted++;
                log_full(LOG_INFO, 0, MESSAGE_TEMPLATE_VERSION, &f,
                         "policy '%s': deleted version %u of launch template '%s' (%s) in %s: beyond "
                         "keep_versions %u", s->ctx.policy->name, res->deleted[i], template_label(s),
                         template_id(s), s->region, s->t->keep_versions);
        }
        for (size_t i = 0; r >= 0 && i < res->n_failed; i++) {
                s->ctx.result->errors++;
                if (s->error == 0)
                        s->error = -EIO;
                f.error_code = res->failed[i].code;
                log_full(LOG_ERR, 0, MESSAGE_TEMPLATE_FAILED, &f,
                         "policy '%s': cannot delete version %u of launch template '%s' (%s) in %s: %s%s%s",
                         s->ctx.policy->name, res->failed[i].number, template_label(s), template_id(s),
                         s->region, res->failed[i].code ?: "unknown error", res->failed[i].message ? ": " : "",
                         res->failed[i].message ?: "");
        }
        delete_next(s);
}

static void delete_next(template_run *s) {
        size_t n = MIN(s->n_doomed - s->next_doomed, (size_t) EC2_TEMPLATE_DELETE_MAX);
        int r;

        if (n == 0) {
                next_template(s);
                return;
        }
        r = ec2_delete_template_versions(s->ec2, (ec2_template_ref) { .id = template_id(s) },
                                         s->doomed + s->next_doomed, n, s->ctx.dry_run, on_deleted, s, &s->op);
        s->next_doomed += n;
        if (r < 0)
                fail_template(s, r, "DeleteLaunchTemplateVersions", NULL);
}

/* The versions keep_versions lets go once this run's steps are done: a new version (made,
 * or in a plan to be made: either way not among those listed) is the latest, counts among
 * those kept, and is the default if set_default made it so. */
static int plan_deletions(template_run *s, unsigned new_version) {
        const ec2_template_version *def = ec2_template_versions_default(&s->versions);
        const ec2_template_version *latest = ec2_template_versions_latest(&s->versions);
        unsigned latest_number = new_version ?: latest->number;
        unsigned default_number = s->decision.make_default ?: def->number;

        if (s->decision.create && s->t->set_default && new_version)
                default_number = new_version;
        return template_versions_to_delete(&s->versions, s->ctx.policy->name, s->t->keep_versions,
                                           s->decision.create, default_number,
                                           latest_number, &s->doomed, &s->n_doomed);
}

static void start_deletions(template_run *s, unsigned new_version) {
        int r;

        r = plan_deletions(s, new_version);
        if (r < 0) {
                fail_template(s, r, "keep_versions", NULL);
                return;
        }
        delete_next(s);
}

/* ---- The new version and the default ------------------------------------------------------ */

static void on_default(int r, unsigned number, const aws_error *err, void *userdata) {
        template_run *s = userdata;
        log_fields f = fields(s, "ModifyLaunchTemplate", err);

        s->op = NULL;
        if (r < 0 && !dry_answer(err)) {
                fail_template(s, r, "ModifyLaunchTemplate", err);
                return;
        }
        if (r >= 0)
                log_full(LOG_INFO, 0, MESSAGE_TEMPLATE_VERSION, &f,
                         "policy '%s': version %u of launch template '%s' (%s) in %s is the default now, "
                         "with image %s", s->ctx.policy->name, number, template_label(s),
                         template_id(s), s->region, s->image_id);
        start_deletions(s, s->created);
}

static void set_default(template_run *s, unsigned number) {
        int r;

        r = ec2_set_template_default(s->ec2, (ec2_template_ref) { .id = template_id(s) }, number,
                                     s->ctx.dry_run, on_default, s, &s->op);
        if (r < 0)
                fail_template(s, r, "ModifyLaunchTemplate", NULL);
}

static void on_created(int r, unsigned number, const aws_error *err, void *userdata) {
        template_run *s = userdata;
        log_fields f = fields(s, "CreateLaunchTemplateVersion", err);

        s->op = NULL;
        if (dry_answer(err)) {
                log_full(LOG_INFO, 0, NULL, &f, "policy '%s': dry run: would make a version of launch template "
                         "'%s' in %s with image %s", s->ctx.policy->name, template_label(s), s->region, s->image_id);
                next_template(s);
                return;
        }
        if (r < 0) {
                fail_template(s, r, "CreateLaunchTemplateVersion", err);
                return;
        }
        s->created = number;
        s->ctx.result->template_versions++;
        log_full(LOG_INFO, 0, MESSAGE_TEMPLATE_VERSION, &f,
                 "policy '%s': made version %u of launch template '%s' (%s) in %s from version %u with image %s",
                 s->ctx.policy->name, number, template_label(s), template_id(s), s->region,
                 s->decision.source->number, s->image_id);
        if (s->t->set_default)
                set_default(s, number);
        else
                start_deletions(s, number);
}

static void create_version(template_run *s) {
        char description[TEMPLATE_DESCRIPTION_MAX], token[TEMPLATE_TOKEN_MAX];
        int r;

        template_description(s->ctx.policy->name, s->image_id, description);
        template_client_token(s->ctx.policy->name, template_id(s), s->image_id,
                              s->decision.source->number, token);
        r = ec2_create_template_version(s->ec2, &(ec2_template_version_request) {
                                                .template = { .id = template_id(s) },
                                                .source_version = s->decision.source->number,
                                                .image_id = s->image_id, .description = description,
                                                .client_token = token, .dry_run = s->ctx.dry_run,
                                        }, on_created, s, &s->op);
        if (r < 0)
                fail_template(s, r, "CreateLaunchTemplateVersion", NULL);
}

/* ---- plan_only: the steps it would take ---------------------------------------------------- */

static int record_steps(template_run *s) {
        const template_decision *d = &s->decision;
        const ec2_template_version *latest = ec2_template_versions_latest(&s->versions);
        const char *src = s->t->from_latest ? "$Latest" : "$Default";
        int r = 0;

        if (d->create)
                r = dist_result_add_step(s->ctx.result, "template-version", s->region, NULL, s->image_id,
                                         "%s (%s): version %u from %s %u%s", template_label(s),
                                         template_id(s), latest->number + 1, src, d->source->number,
                                         s->t->set_default ? ", made default" : "");
        else if (d->make_default)
                r = dist_result_add_step(s->ctx.result, "template-default", s->region, NULL, s->image_id,
                                         "%s (%s): version %u made default (it names the image already)",
                                         template_label(s), template_id(s), d->make_default);
        if (r >= 0)
                r = plan_deletions(s, 0);
        for (size_t i = 0; r >= 0 && i < s->n_doomed; i++)
                r = dist_result_add_step(s->ctx.result, "template-delete", s->region, NULL, NULL,
                                         "%s (%s): version %u, beyond keep_versions %u", template_label(s),
                                         template_id(s), s->doomed[i], s->t->keep_versions);
        return r;
}

/* ---- One template --------------------------------------------------------------------------- */

static void on_versions(int r, ec2_template_versions *v, const aws_error *err, void *userdata) {
        template_run *s = userdata;

        s->op = NULL;
        if (r < 0) {
                fail_template(s, r, "DescribeLaunchTemplateVersions", err);
                return;
        }
        s->versions = *v;
        *v = (ec2_template_versions) {};
        r = template_decide(&s->versions, s->t, s->ctx.policy->name, s->image_id, &s->decision);
        if (r < 0) {
                fail_template(s, r, "DescribeLaunchTemplateVersions",
                              &(aws_error) { .message = (char *) "the template has no default version" });
                return;
        }
        if (s->decision.source->image_id && startswith(s->decision.source->image_id, "resolve:ssm:")) {
                /* The template follows an SSM parameter already (ssm_parameter's job): a
                 * version with the image itself would cut that link. */
                log_fields f = fields(s, "DescribeLaunchTemplateVersions", NULL);

                log_full(LOG_WARNING, 0, MESSAGE_TEMPLATE_FAILED, &f,
                         "policy '%s': version %u of launch template '%s' in %s names its image through '%s': "
                         "publish the image with ssm_parameter instead, ignoring", s->ctx.policy->name,
                         s->decision.source->number, template_label(s), s->region, s->decision.source->image_id);
                next_template(s);
        } else if (s->ctx.plan_only) {
                r = record_steps(s);
                if (r < 0)
                        fail_template(s, r, "plan", NULL);
                else
                        next_template(s);
        } else if (s->decision.create)
                create_version(s);
        else if (s->decision.make_default)
                set_default(s, s->decision.make_default);
        else
                start_deletions(s, 0);
}

/* With the newest image of t's region and account known: the template's versions. */
static void with_images(template_run *s, const ec2_image *images, size_t n) {
        const ec2_image *newest = dist_newest_image(images, n, s->ctx.policy->name, NULL,
                                                    s->ctx.policy->verify.set, s->ctx.passed, s->ctx.now);
        log_fields f = fields(s, "DescribeImages", NULL);
        int r;

        if (!newest) {
                log_full(LOG_DEBUG, 0, NULL, &f, "policy '%s': no %s image in %s%s%s for launch template "
                         "'%s' yet", s->ctx.policy->name, s->ctx.policy->verify.set ? "passed" : "available",
                         s->region, s->t->role_arn ? " as " : "", s->t->role_arn ?: "", template_label(s));
                next_template(s);
                return;
        }
        s->image_id = strdup(newest->id);
        if (!s->image_id) {
                fail_template(s, -ENOMEM, "DescribeImages", NULL);
                return;
        }
        r = ec2_describe_template_versions(s->ec2, &(ec2_template_versions_request) {
                                                   .template = { .id = s->t->id, .name = s->t->name },
                                           }, on_versions, s, &s->op);
        if (r < 0)
                fail_template(s, r, "DescribeLaunchTemplateVersions", NULL);
}

static void on_images(int r, const ec2_image *images, size_t n, const aws_error *err, void *userdata) {
        template_run *s = userdata;

        if (r < 0) {
                fail_template(s, r, "DescribeImages", err);
                return;
        }
        with_images(s, images, n);
}

static void template_reset(template_run *s) {
        s->images_op = dist_images_op_free(s->images_op);
        ec2_template_op_cancel(s->op);
        s->op = NULL;
        ec2_template_versions_done(&s->versions);
        s->image_id = mfree(s->image_id);
        s->doomed = mfree(s->doomed);
        s->n_doomed = s->next_doomed = 0;
        s->created = 0;
        s->decision = (template_decision) {};
}

static int start_template(template_run *s) {
        const launch_template_target *t = s->t;
        const policy *p = s->ctx.policy;
        bool own = own_account(&s->ctx, t);
        dist_place place = { .region = s->region, .role_arn = own ? p->role_arn : t->role_arn,
                             .external_id = own ? p->external_id : t->external_id };
        int r;

        if (own && streq(s->region, s->ctx.region)) {
                s->ec2 = s->ctx.ec2;
                with_images(s, s->ctx.images, s->ctx.n_images);
                return 0;
        }
        r = aws_pool_ec2_as(s->ctx.pool, place.region, place.role_arn, place.external_id, &s->ec2);
        if (r < 0)
                return r;
        return dist_images_get(&s->ctx, &place, on_images, s, &s->images_op);
}

/* The next template this run handles, or the end: done, once. */
static void next_template(template_run *s) {
        const policy *p = s->ctx.policy;
        int r;

        template_reset(s);
        while (s->at < p->n_launch_templates) {
                s->t = &p->launch_templates[s->at++];
                s->region = target_region(&s->ctx, s->t);
                if (!s->region)
                        continue;
                r = start_template(s);
                if (r < 0)
                        fail_template(s, r, "DescribeImages", NULL);
                return;
        }
        s->done(s->error, s->userdata);
}

static int template_start(const dist_context *ctx, dist_done_cb done, void *userdata, void **ret_state) {
        template_run *s;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (template_run) { .ctx = *ctx, .done = done, .userdata = userdata };
        *ret_state = s;
        next_template(s);
        return 0;
}

static void template_free(void *state) {
        template_run *s = state;

        if (!s)
                return;
        template_reset(s);
        free(s);
}

const dist_ops dist_template_ops = {
        .name = "launch_template",
        .wanted = template_wanted,
        .start = template_start,
        .free = template_free,
};
