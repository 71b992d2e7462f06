/* SPDX-License-Identifier: MIT */
/*
 * The copy distributor (copy_to): for each destination of the policy in turn, it reads the
 * destination's images of the policy (its copies), the launch templates there when a copy
 * may go, plans with plan-copy.c and has dist-copy-exec.c carry the plan out; with
 * plan_only it records the steps instead. Nothing is remembered between runs: the copies'
 * tags (amirotd:copy-of) and CopyImage's ClientToken are the state, so a copy in flight is
 * found again after a crash, and never started twice.
 */
#include <stdio.h>

#include "aws/ec2-template-calls.h"
#include "aws/endpoint.h"
#include "run/dist-copy-exec.h"
#include "run/exec.h"

typedef struct copy_state {
        const dist_context *ctx;
        dist_done_cb done;
        void *userdata;
        sd_event_source *next;          /* deferred: the destination at `at` */
        size_t at;
        bool begun;                     /* copy_to[at] is under way */
        copy_target target;
        char account[13];               /* another account's id (target.account) */
        dist_images_op *copies_op;      /* the destination's images of the policy (dist.h's cache) */
        const ec2_image *copies;        /* ... its answer, valid while copies_op lives */
        size_t n_copies;
        char **in_use;                  /* target.in_use */
        plan_copy plan;
        ec2_template_op *templates_op;
        copy_exec *exec;
        int error;
} copy_state;

static const copy_destination *destination(const copy_state *s) {
        return &s->ctx->policy->copy_to[s->at];
}

/* Where the destination's images are: without a role of its own, in the policy's account. */
static dist_place destination_place(const copy_state *s) {
        const policy *p = s->ctx->policy;
        const copy_destination *d = destination(s);

        return (dist_place) { .region = d->region, .role_arn = d->role_arn ?: p->role_arn,
                              .external_id = d->role_arn ? d->external_id : p->external_id };
}

static log_fields destination_fields(const copy_state *s, const char *action) {
        return (log_fields) { .policy = s->ctx->policy->name, .region = destination(s)->region, .action = action };
}

static void destination_reset(copy_state *s) {
        s->copies_op = dist_images_op_free(s->copies_op);
        s->copies = NULL;
        s->n_copies = 0;
        ec2_template_op_cancel(s->templates_op);
        s->templates_op = NULL;
        s->exec = copy_exec_free(s->exec);
        s->in_use = strv_free(s->in_use);
        plan_copy_done(&s->plan);
        s->target = (copy_target) {};
}

/* This destination is over: the next one, from the loop. */
static void destination_done(copy_state *s, int r) {
        if (r < 0 && s->error == 0)
                s->error = r;
        (void) sd_event_source_set_enabled(s->next, SD_EVENT_ONESHOT);
}

static void destination_failed(copy_state *s, int r, const aws_error *err, const char *what) {
        log_fields f = destination_fields(s, NULL);

        (void) exec_log_aws(LOG_ERR, r, err, &f, what);
        s->ctx->result->errors++;
        destination_done(s, r < 0 ? r : -EIO);
}

/* plan_only: the steps as `plan` rows. */
static int record_steps(copy_state *s) {
        const copy_destination *d = destination(s);
        _cleanup_(freep) char *where = NULL;
        char at[21];
        int r = copy_target_describe(&s->target, &where);

        for (size_t i = 0; r >= 0 && i < s->plan.n; i++) {
                const plan_copy_step *p = &s->plan.steps[i];

                if (p->kind == PLAN_COPY_START)
                        r = dist_result_add_step(s->ctx->result, "copy", d->region, p->instance_id, p->image->id,
                                                 "%s", where);
                else if (p->kind == PLAN_COPY_DEPRECATE)
                        r = dist_result_add_step(s->ctx->result, "deprecate-copy", d->region, p->instance_id,
                                                 p->image->id, "from %s", format_iso8601(p->deprecate_at, at) ?: "?");
                else if (strv_contains(s->in_use, p->image->id))
                        r = dist_result_add_step(s->ctx->result, "keep-copy", d->region, p->instance_id,
                                                 p->image->id, "named by a launch template (%s)", p->reason);
                else
                        r = dist_result_add_step(s->ctx->result, "retire-copy", d->region, p->instance_id,
                                                 p->image->id, "%s", p->reason);
        }
        if (r >= 0 && s->plan.deferred > 0)
                r = dist_result_add_step(s->ctx->result, "copy-deferred", d->region, NULL, NULL,
                                         "%u more wait for EC2's concurrent-copy limit (%u in flight)",
                                         s->plan.deferred, s->plan.pending);
        return r;
}

static void on_exec_done(int r, void *userdata) {
        copy_state *s = userdata;

        s->exec = copy_exec_free(s->exec);
        destination_done(s, r);
}

static void carry_out(copy_state *s) {
        log_fields f = destination_fields(s, "CopyImage");
        dist_place place = destination_place(s);
        int r;

        s->target.in_use = s->in_use;
        if (s->ctx->plan_only) {
                r = record_steps(s);
                destination_done(s, r);
                return;
        }
        /* Copies started, deprecated or retired: the run's list of the destination's images
         * is no longer EC2's (dist.h), and a template or parameter there must not name one. */
        if (s->plan.n > 0)
                dist_images_forget(s->ctx, &place);
        if (s->plan.deferred > 0)
                log_full(LOG_NOTICE, 0, MESSAGE_COPY_DEFERRED, &f,
                         "policy '%s': %u copies to %s wait for EC2's concurrent-copy limit (%u in flight)",
                         s->ctx->policy->name, s->plan.deferred, destination(s)->region, s->plan.pending);
        r = copy_exec_start(&s->target, &s->plan, on_exec_done, s, &s->exec);
        if (r < 0)
                destination_failed(s, r, NULL, "cannot start copying");
}

static void on_templates(int r, ec2_template_versions *l, const aws_error *err, void *userdata) {
        copy_state *s = userdata;
        log_fields f = destination_fields(s, "DescribeLaunchTemplateVersions");

        s->templates_op = NULL;
        for (size_t i = 0; r >= 0 && i < l->n; i++)
                if (l->items[i].image_id && !strv_contains(s->in_use, l->items[i].image_id))
                        r = strv_extend(&s->in_use, l->items[i].image_id);
        if (r < 0) {
                /* Fail closed: no copy goes while what the templates name is unknown. */
                f.error_code = err ? err->code : NULL;
                f.request_id = err ? err->request_id : NULL;
                log_full(LOG_WARNING, 0, NULL, &f,
                         "policy '%s': cannot read the launch templates in %s (%s); no copy is retired there, "
                         "will retry", s->ctx->policy->name, destination(s)->region,
                         err && err->code ? err->code : err && err->message ? err->message : strerror(-r));
                for (size_t i = 0; i < s->plan.n; i++)
                        if (s->plan.steps[i].kind == PLAN_COPY_RETIRE &&
                            strv_extend(&s->in_use, s->plan.steps[i].image->id) < 0) {
                                destination_failed(s, -ENOMEM, NULL, "cannot plan copies");
                                return;
                        }
        }
        carry_out(s);
}

static bool plan_retires(const plan_copy *p) {
        for (size_t i = 0; i < p->n; i++)
                if (p->steps[i].kind == PLAN_COPY_RETIRE)
                        return true;
        return false;
}

static void on_copies(int r, const ec2_image *images, size_t n, const aws_error *err, void *userdata) {
        copy_state *s = userdata;
        unsigned pending;

        if (r < 0) {
                destination_failed(s, r, err, "cannot read the copies");
                return;
        }
        s->copies = images;
        s->n_copies = n;
        pending = plan_copy_pending(s->ctx->policy, s->ctx->region, s->copies, s->n_copies);
        r = plan_copy_build(&(plan_copy_input) {
                                    .policy = s->ctx->policy,
                                    .dest = destination(s),
                                    .source_region = s->ctx->region,
                                    .now = s->ctx->now,
                                    .sources = s->ctx->images,
                                    .n_sources = s->ctx->n_images,
                                    .copies = s->copies,
                                    .n_copies = s->n_copies,
                                    .copy_slots = pending < PLAN_COPY_CONCURRENT_MAX ? PLAN_COPY_CONCURRENT_MAX - pending : 0,
                                    .passed = s->ctx->passed,
                            }, &s->plan);
        if (r < 0) {
                destination_failed(s, r, NULL, "cannot plan copies");
                return;
        }
        if (!plan_retires(&s->plan)) {
                carry_out(s);
                return;
        }
        r = ec2_describe_template_versions(s->target.client, &(ec2_template_versions_request) {
                                                   .account_wide = true, .resolve_alias = true,
                                           }, on_templates, s, &s->templates_op);
        if (r < 0)
                on_templates(r, &(ec2_template_versions) {}, NULL, s);
}

static int begin_destination(copy_state *s) {
        const policy *p = s->ctx->policy;
        const copy_destination *d = destination(s);
        char own[13];
        dist_place place;
        int r;

        /* Without a role of its own, a destination is the policy's account. */
        r = aws_pool_ec2_as(s->ctx->pool, d->region, d->role_arn ?: p->role_arn,
                            d->role_arn ? d->external_id : p->external_id, &s->target.client);
        if (r < 0)
                return r;
        s->target.ctx = s->ctx;
        s->target.dest = d;
        if (aws_role_arn_account(d->role_arn, s->account) &&
            !(aws_role_arn_account(p->role_arn, own) && streq(own, s->account)))
                s->target.account = s->account;
        place = destination_place(s);
        return dist_images_get(s->ctx, &place, on_copies, s, &s->copies_op);
}

static int on_next(sd_event_source *es, void *userdata) {
        copy_state *s = userdata;
        int r;

        (void) es;
        if (s->begun) {
                destination_reset(s);
                s->at++;
        }
        s->begun = true;
        if (s->at >= s->ctx->policy->n_copy_to) {
                /* The callee may free s: nothing of it is touched after. */
                s->done(s->error, s->userdata);
                return 0;
        }
        r = begin_destination(s);
        if (r < 0)
                destination_failed(s, r, NULL, "cannot read the copies");
        return 0;
}

static bool copy_wanted(const policy *p) {
        return p->n_copy_to > 0;
}

static void copy_free(void *state) {
        copy_state *s = state;

        if (!s)
                return;
        destination_reset(s);
        sd_event_source_disable_unref(s->next);
        free(s);
}

static int copy_start(const dist_context *ctx, dist_done_cb done, void *userdata, void **ret_state) {
        copy_state *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (copy_state) { .ctx = ctx, .done = done, .userdata = userdata };
        r = sd_event_add_defer(ctx->event, &s->next, on_next, s);
        if (r >= 0) {
                (void) sd_event_source_set_description(s->next, "copy_to");
                r = sd_event_source_set_enabled(s->next, SD_EVENT_ONESHOT);
        }
        if (r < 0) {
                copy_free(s);
                return r;
        }
        *ret_state = s;
        return 0;
}

const dist_ops dist_copy_ops = {
        .name = "copy_to",
        .wanted = copy_wanted,
        .start = copy_start,
        .free = copy_free,
};
