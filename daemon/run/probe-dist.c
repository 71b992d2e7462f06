/* SPDX-License-Identifier: MIT */
/* See probe-dist.h. */
#include <stdarg.h>
#include <stdio.h>

#include "aws/ec2-template-calls.h"
#include "aws/ssm.h"
#include "run/dist-share-plan.h"
#include "run/plan.h"
#include "run/probe-check.h"
#include "run/probe-dist.h"

typedef struct dist_call {
        probe_dist *dist;
        probe_action action;
        char *where;                    /* the place it was asked in */
        ec2_op *op;
        ec2_template_op *template_op;
        ssm_op *ssm_op;
} dist_call;

struct probe_dist {
        probe_dist_request req;
        char *name;                     /* CopyImage's Name */
        dist_call *calls;
        size_t n_calls;
};

probe_dist *probe_dist_free(probe_dist *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_calls; i++) {
                ec2_op_cancel(d->calls[i].op);
                ec2_template_op_cancel(d->calls[i].template_op);
                ssm_op_cancel(d->calls[i].ssm_op);
                free(d->calls[i].where);
        }
        free(d->calls);
        free(d->name);
        return mfree(d);
}

static unsigned verdict_rank(probe_verdict v) {
        return v == PROBE_DENIED ? 3 : v == PROBE_FAILED ? 2 : v == PROBE_PERMITTED ? 1 : 0;
}

/* One place's verdict into its action's check: a worse one replaces, an equal one adds its place. */
static void judge(dist_call *call, int r, const aws_error *err, bool allowed) {
        probe_check *k = &call->dist->req.checks[call->action];
        _cleanup_(freep) char *before = NULL;
        probe_check here = {};
        probe_verdict was = k->verdict;

        if (allowed)
                probe_check_set(&here, PROBE_PERMITTED, "%s", call->where);
        else {
                probe_check_judge(&here, r, err, call->where);
                if (here.verdict != PROBE_PERMITTED) {
                        _cleanup_(freep) char *why = TAKE_PTR(here.detail);

                        probe_check_set(&here, here.verdict, "%s: %s", call->where, why ?: "");
                }
        }
        before = TAKE_PTR(k->detail);
        if (verdict_rank(here.verdict) > verdict_rank(was))
                *k = here;
        else if (here.verdict == was) {
                probe_check_set(k, was, "%s; %s", before ?: "", here.detail ?: "");
                free(here.detail);
        } else {
                k->detail = TAKE_PTR(before);
                free(here.detail);
        }
        call->dist->req.done(call->dist->req.userdata);
}

static void on_done(int r, const aws_error *err, void *userdata) {
        dist_call *call = userdata;

        call->op = NULL;
        judge(call, r, err, false);
}

static void on_copied(int r, const char *id, const aws_error *err, void *userdata) {
        (void) id;
        on_done(r, err, userdata);
}

static void on_template(int r, unsigned number, const aws_error *err, void *userdata) {
        dist_call *call = userdata;

        (void) number;
        call->template_op = NULL;
        judge(call, r, err, false);
}

static void on_parameter(int r, const ssm_parameter *p, const aws_error *err, void *userdata) {
        dist_call *call = userdata;

        (void) p;
        call->ssm_op = NULL;
        /* SSM has no DryRun: a read of the name, which may not exist yet (a run creates it). */
        judge(call, r, err, r >= 0 || r == -ENOENT);
}

/* A new call of action a, asked in `where`; NULL when out of memory. */
static dist_call *call_new(probe_dist *d, probe_action a, const char *fmt, ...) _printf_(3, 4);
static dist_call *call_new(probe_dist *d, probe_action a, const char *fmt, ...) {
        dist_call *call = &d->calls[d->n_calls];
        va_list ap;
        int n;

        *call = (dist_call) { .dist = d, .action = a };
        va_start(ap, fmt);
        n = vasprintf(&call->where, fmt, ap);
        va_end(ap);
        if (n < 0)
                return NULL;
        d->n_calls++;
        return call;
}

static int start_share(probe_dist *d) {
        _cleanup_(share_wants_done) share_wants w = {};
        dist_call *call;
        int r;

        r = share_wants_of(d->req.policy, &w);
        if (r < 0)
                return r;
        call = call_new(d, PROBE_MODIFY_IMAGE_ATTRIBUTE, "%s", d->req.image_id);
        if (!call)
                return -ENOMEM;
        /* What a run adds; a policy that names nobody only ever removes (the public group here). */
        if (strv_length(w.accounts) + strv_length(w.organizations) + strv_length(w.organizational_units) == 0)
                return ec2_modify_launch_permission(d->req.ec2, d->req.image_id, NULL,
                                                    &(ec2_launch_permissions) { .group_all = true }, true, on_done,
                                                    call, &call->op);
        return ec2_modify_launch_permission(d->req.ec2, d->req.image_id,
                                            &(ec2_launch_permissions) {
                                                    .user_ids = w.accounts,
                                                    .organization_arns = w.organizations,
                                                    .organizational_unit_arns = w.organizational_units,
                                            }, NULL, true, on_done, call, &call->op);
}

static int start_copy(probe_dist *d, const copy_destination *dest) {
        aws_client *c;
        dist_call *call;
        int r;

        call = call_new(d, PROBE_COPY_IMAGE, "%s%s%s", dest->region, dest->role_arn ? " as " : "",
                        dest->role_arn ?: "");
        if (!call)
                return -ENOMEM;
        r = aws_pool_ec2_as(d->req.pool, dest->region, dest->role_arn, dest->external_id, &c);
        if (r < 0)
                return r;
        return ec2_copy_image(c, &(ec2_copy_image_request) {
                                      .source_region = d->req.region,
                                      .source_image_id = d->req.image_id,
                                      .name = d->name,
                                      .encrypted = dest->encrypted,
                                      .kms_key_id = dest->kms_key_id,
                                      .dry_run = true,
                              }, on_copied, call, &call->op);
}

static int start_template(probe_dist *d, const launch_template_target *t, probe_action a) {
        const char *region = t->region ?: d->req.region;
        ec2_template_ref ref = { .id = t->id, .name = t->name };
        aws_client *c;
        dist_call *call;
        int r;

        call = call_new(d, a, "%s in %s%s%s", t->id ?: t->name, region, t->role_arn ? " as " : "",
                        t->role_arn ?: "");
        if (!call)
                return -ENOMEM;
        r = aws_pool_ec2_as(d->req.pool, region, t->role_arn, t->external_id, &c);
        if (r < 0)
                return r;
        if (a == PROBE_MODIFY_LAUNCH_TEMPLATE)
                return ec2_set_template_default(c, ref, 1, true, on_template, call, &call->template_op);
        return ec2_create_template_version(c, &(ec2_template_version_request) {
                                                   .template = ref,
                                                   .source_version = 1,
                                                   .image_id = d->req.image_id,
                                                   .dry_run = true,
                                           }, on_template, call, &call->template_op);
}

static int start_parameter(probe_dist *d, const ssm_parameter_target *t) {
        const char *region = t->region ?: d->req.region;
        _cleanup_(freep) char *name = NULL;
        aws_client *c;
        dist_call *call;
        int r;

        /* A name with instance variables is asked as it renders without an instance. */
        r = plan_render_tag_value(t->name, d->req.policy, region, NULL, NULL, &name);
        if (r < 0)
                return r;
        call = call_new(d, PROBE_GET_PARAMETER, "'%s' in %s%s%s", name, region, t->role_arn ? " as " : "",
                        t->role_arn ?: "");
        if (!call)
                return -ENOMEM;
        r = aws_pool_ssm(d->req.pool, region, t->role_arn, t->external_id, &c);
        if (r < 0)
                return r;
        return ssm_get_parameter(c, name, on_parameter, call, &call->ssm_op);
}

/* Why a is not asked (not needed, or nothing to ask it on), or NULL when it is. */
static const char *not_asked(const probe_dist_request *req, probe_action a) {
        const policy *p = req->policy;
        bool set_default = false;

        for (size_t i = 0; i < p->n_launch_templates; i++)
                set_default = set_default || p->launch_templates[i].set_default;
        switch (a) {
        case PROBE_MODIFY_IMAGE_ATTRIBUTE:
                if (!share_wanted(p))
                        return "not needed: no share, no copy_to in another account";
                break;
        case PROBE_COPY_IMAGE:
                if (p->n_copy_to == 0)
                        return "not needed: no copy_to";
                break;
        case PROBE_CREATE_LAUNCH_TEMPLATE_VERSION:
                if (p->n_launch_templates == 0)
                        return "not needed: no launch_template";
                break;
        case PROBE_MODIFY_LAUNCH_TEMPLATE:
                return set_default ? NULL : "not needed: no launch_template with set_default";
        case PROBE_GET_PARAMETER:
                return p->n_ssm_parameters > 0 ? NULL : "not needed: no ssm_parameter";
        default:
                return NULL;
        }
        return req->image_id ? NULL : "the policy has no image here yet to ask it about";
}

static int start_all(probe_dist *d, unsigned *ret_started) {
        const policy *p = d->req.policy;
        int r = 0;

        *ret_started = 0;
        for (probe_action a = PROBE_MODIFY_IMAGE_ATTRIBUTE; a <= PROBE_GET_PARAMETER; a++) {
                const char *why = not_asked(&d->req, a);

                /* Asked: not checked until the first answer comes (its rank is the lowest). */
                probe_check_set(&d->req.checks[a], PROBE_NOT_CHECKED, "%s", why ?: "");
        }
        if (!not_asked(&d->req, PROBE_MODIFY_IMAGE_ATTRIBUTE))
                r = start_share(d);
        for (size_t i = 0; r >= 0 && !not_asked(&d->req, PROBE_COPY_IMAGE) && i < p->n_copy_to; i++)
                r = start_copy(d, &p->copy_to[i]);
        for (size_t i = 0; r >= 0 && i < p->n_launch_templates; i++) {
                if (!not_asked(&d->req, PROBE_CREATE_LAUNCH_TEMPLATE_VERSION))
                        r = start_template(d, &p->launch_templates[i], PROBE_CREATE_LAUNCH_TEMPLATE_VERSION);
                if (r >= 0 && p->launch_templates[i].set_default)
                        r = start_template(d, &p->launch_templates[i], PROBE_MODIFY_LAUNCH_TEMPLATE);
        }
        for (size_t i = 0; r >= 0 && i < p->n_ssm_parameters; i++)
                r = start_parameter(d, &p->ssm_parameters[i]);
        *ret_started = (unsigned) d->n_calls;
        return r < 0 ? r : 0;
}

int probe_dist_start(const probe_dist_request *req, probe_dist **ret, unsigned *ret_started) {
        const policy *p = req->policy;
        size_t max = 1 + p->n_copy_to + 2 * p->n_launch_templates + p->n_ssm_parameters;
        probe_dist *d;

        *ret_started = 0;
        d = *ret = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->req = *req;
        d->calls = calloc(max, sizeof(*d->calls));
        if (!d->calls || asprintf(&d->name, "%s-permission-check", p->name) < 0)
                return -ENOMEM;
        return start_all(d, ret_started);
}
