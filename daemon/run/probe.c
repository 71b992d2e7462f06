/* SPDX-License-Identifier: MIT */
/* See probe.h. Two rounds: the three describes, then the DryRun calls on what they found,
 * distribution's among them (probe-dist.c); verdicts are judged by probe-check.c. */
#include <stdio.h>

#include "aws/ec2-template-calls.h"
#include "aws/ec2-usage.h"
#include "run/dist-share-plan.h"
#include "run/plan.h"
#include "run/probe-check.h"
#include "run/probe-dist.h"
#include "run/probe.h"
#include "run/targets.h"

static const char *const verdict_names[_PROBE_VERDICT_MAX] = {
        [PROBE_PERMITTED] = "permitted",
        [PROBE_DENIED] = "not permitted",
        [PROBE_FAILED] = "could not check",
        [PROBE_NOT_CHECKED] = "not checked",
};

static const char *const action_names[_PROBE_ACTION_MAX] = {
        [PROBE_DESCRIBE_INSTANCES] = "DescribeInstances",
        [PROBE_DESCRIBE_IMAGES] = "DescribeImages",
        [PROBE_DESCRIBE_SNAPSHOTS] = "DescribeSnapshots",
        [PROBE_CREATE_IMAGE] = "CreateImage",
        [PROBE_CREATE_TAGS] = "CreateTags",
        [PROBE_DEREGISTER_IMAGE] = "DeregisterImage",
        [PROBE_DELETE_SNAPSHOT] = "DeleteSnapshot",
        [PROBE_DESCRIBE_LAUNCH_TEMPLATE_VERSIONS] = "DescribeLaunchTemplateVersions",
        [PROBE_DESCRIBE_IMAGE_ATTRIBUTE] = "DescribeImageAttribute",
        [PROBE_DESCRIBE_VOLUMES] = "DescribeVolumes",
        [PROBE_ENABLE_IMAGE_DEPRECATION] = "EnableImageDeprecation",
        [PROBE_DISABLE_IMAGE] = "DisableImage",
        [PROBE_ENABLE_DEREG_PROTECTION] = "EnableImageDeregistrationProtection",
        [PROBE_DISABLE_DEREG_PROTECTION] = "DisableImageDeregistrationProtection",
        [PROBE_TAG_IMAGE] = "CreateTags",               /* again: after creation, on the policy's image */
        [PROBE_MODIFY_IMAGE_ATTRIBUTE] = "ModifyImageAttribute",
        [PROBE_COPY_IMAGE] = "CopyImage",
        [PROBE_CREATE_LAUNCH_TEMPLATE_VERSION] = "CreateLaunchTemplateVersion",
        [PROBE_MODIFY_LAUNCH_TEMPLATE] = "ModifyLaunchTemplate",
        [PROBE_GET_PARAMETER] = "ssm:GetParameter",
};

const char *probe_verdict_to_string(probe_verdict v) {
        return v >= 0 && v < _PROBE_VERDICT_MAX ? verdict_names[v] : NULL;
}

const char *probe_action_to_string(probe_action a) {
        return a >= 0 && a < _PROBE_ACTION_MAX ? action_names[a] : NULL;
}

/* A call in flight, and where its verdict goes. */
typedef struct probe_call {
        permission_probe *probe;
        probe_action action;
        ec2_op *op;
        ec2_template_op *template_op;   /* protect's DescribeLaunchTemplateVersions */
        ec2_usage_op *usage_op;         /* its DescribeImageAttribute (aws/ec2-usage.h) */
} probe_call;

struct permission_probe {
        aws_client *ec2;
        const policy *policy;
        char *region;
        probe_callback callback;
        void *userdata;
        probe_call calls[_PROBE_ACTION_MAX];
        probe_check checks[_PROBE_ACTION_MAX];
        aws_pool *pool;
        probe_dist *dist;                               /* distribution's checks (probe-dist.h) */
        unsigned in_flight;
        bool second_round;
        char *instance_id, *image_id, *snapshot_id;     /* what the DryRun calls are asked on */
        ec2_tags tags;                                  /* CreateImage's, as a run gives them */
};

permission_probe *permission_probe_free(permission_probe *probe) {
        if (!probe)
                return NULL;
        for (size_t i = 0; i < _PROBE_ACTION_MAX; i++) {
                ec2_op_cancel(probe->calls[i].op);
                ec2_template_op_cancel(probe->calls[i].template_op);
                ec2_usage_op_cancel(probe->calls[i].usage_op);
                free(probe->checks[i].detail);
        }
        probe_dist_free(probe->dist);
        free(probe->region);
        free(probe->instance_id);
        free(probe->image_id);
        free(probe->snapshot_id);
        ec2_tags_done(&probe->tags);
        return mfree(probe);
}

const probe_check *permission_probe_check(const permission_probe *probe, probe_action a) {
        return a >= 0 && a < _PROBE_ACTION_MAX ? &probe->checks[a] : NULL;
}

static void set_check(permission_probe *probe, probe_action a, probe_verdict v, const char *fmt, ...) _printf_(4, 5);
static void set_check(permission_probe *probe, probe_action a, probe_verdict v, const char *fmt, ...) {
        _cleanup_(freep) char *detail = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&detail, fmt, ap);
        va_end(ap);
        probe_check_set(&probe->checks[a], v, "%s", n < 0 ? "out of memory" : detail);
}

static void judge(probe_call *call, int r, const aws_error *err, const char *on) {
        call->op = NULL;
        probe_check_judge(&call->probe->checks[call->action], r, err, on);
}

static void round_done(permission_probe *probe);

static void call_done(permission_probe *probe) {
        if (--probe->in_flight == 0)
                round_done(probe);
}

static void on_instances(int r, ec2_instance_list *l, const aws_error *err, void *userdata) {
        probe_call *call = userdata;

        judge(call, r, err, "");
        if (r >= 0 && l->n > 0 && !(call->probe->instance_id = strdup(l->items[0].id)))
                set_check(call->probe, call->action, PROBE_FAILED, "out of memory");
        call_done(call->probe);
}

static void on_images(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        probe_call *call = userdata;

        judge(call, r, err, "");
        if (r >= 0 && l->n > 0 && !(call->probe->image_id = strdup(l->items[0].id)))
                set_check(call->probe, call->action, PROBE_FAILED, "out of memory");
        call_done(call->probe);
}

static void on_snapshots(int r, ec2_snapshot_list *l, const aws_error *err, void *userdata) {
        probe_call *call = userdata;

        judge(call, r, err, "");
        if (r >= 0 && l->n > 0 && !(call->probe->snapshot_id = strdup(l->items[0].id)))
                set_check(call->probe, call->action, PROBE_FAILED, "out of memory");
        call_done(call->probe);
}

static void on_created(int r, const char *id, const aws_error *err, void *userdata) {
        probe_call *call = userdata;
        permission_probe *probe = call->probe;
        const probe_check *create = &probe->checks[PROBE_CREATE_IMAGE];

        (void) id;
        judge(call, r, err, probe->instance_id);
        /* EC2 authorises the tags of TagSpecifications as ec2:CreateTags with CreateImage. */
        if (create->verdict == PROBE_PERMITTED)
                set_check(probe, PROBE_CREATE_TAGS, PROBE_PERMITTED, "with CreateImage (tags at creation)");
        else
                set_check(probe, PROBE_CREATE_TAGS, create->verdict == PROBE_DENIED ? PROBE_DENIED : PROBE_FAILED,
                          "with CreateImage, which was refused: the refusal does not say which of the two");
        call_done(probe);
}

static void on_deregistered(int r, char *const *deleted, const aws_error *err, void *userdata) {
        probe_call *call = userdata;

        (void) deleted;
        judge(call, r, err, call->probe->image_id);
        call_done(call->probe);
}

/* protect's reads are made for real: they change nothing. */
static void on_template_versions(int r, ec2_template_versions *l, const aws_error *err, void *userdata) {
        probe_call *call = userdata;

        (void) l;
        call->template_op = NULL;
        judge(call, r, err, "");
        call_done(call->probe);
}

static void on_last_launched(int r, time_t t, const aws_error *err, void *userdata) {
        probe_call *call = userdata;

        (void) t;
        call->usage_op = NULL;
        judge(call, r, err, call->probe->image_id);
        call_done(call->probe);
}

/* protect.last_launched_within's DescribeImageAttribute, on an image of the policy: 1 when
 * started, 0 when there is nothing to ask (said why). */
static int start_last_launched(permission_probe *probe) {
        probe_call *call = &probe->calls[PROBE_DESCRIBE_IMAGE_ATTRIBUTE];
        int r;

        /* share reads launch permissions with the same action. */
        if (probe->policy->protect_last_launched_within == 0 && !share_wanted(probe->policy)) {
                set_check(probe, call->action, PROBE_NOT_CHECKED, "not needed: no protect.last_launched_within");
                return 0;
        }
        if (!probe->image_id) {
                set_check(probe, call->action, PROBE_NOT_CHECKED, "the policy has no image here yet to ask it about");
                return 0;
        }
        r = ec2_describe_last_launched(probe->ec2, probe->image_id, on_last_launched, call, &call->usage_op);
        return r < 0 ? r : 1;
}

static void on_snapshot_deleted(int r, const aws_error *err, void *userdata) {
        probe_call *call = userdata;

        judge(call, r, err, call->probe->snapshot_id);
        call_done(call->probe);
}

static int start_create(permission_probe *probe) {
        _cleanup_(freep) char *name = NULL;
        probe_call *call = &probe->calls[PROBE_CREATE_IMAGE];
        int r;

        if (asprintf(&name, "%s-permission-check", probe->policy->name) < 0)
                return -ENOMEM;
        r = ec2_tags_add(&probe->tags, TAG_POLICY, probe->policy->name);
        if (r < 0)
                return r;
        r = ec2_create_image(probe->ec2, &(ec2_create_image_request) {
                                     .instance_id = probe->instance_id,
                                     .name = name,
                                     .no_reboot = true,
                                     .image_tags = &probe->tags,
                                     .snapshot_tags = &probe->tags,
                                     .dry_run = true,
                             }, on_created, call, &call->op);
        return r < 0 ? r : 1;
}

static void on_image_dry_run(int r, const aws_error *err, void *userdata) {
        probe_call *call = userdata;

        judge(call, r, err, call->probe->image_id);
        call_done(call->probe);
}

static void on_volumes(int r, ec2_volume_list *l, const aws_error *err, void *userdata) {
        probe_call *call = userdata;

        (void) l;
        judge(call, r, err, "");
        call_done(call->probe);
}

/* Why the policy does not need the call a, or NULL when it does. */
static const char *not_needed(const policy *p, probe_action a) {
        bool protect = p->protect_newest > 0, stages = p->retire_stages != 0;

        switch (a) {
        case PROBE_DESCRIBE_VOLUMES:
                return p->n_exclude_volume_tags > 0 ? NULL : "not needed: no image.volumes exclude_tags";
        case PROBE_ENABLE_IMAGE_DEPRECATION:
                return (p->retire_stages & (1u << RETIRE_DEPRECATE)) || p->deprecate_after > 0 ? NULL :
                        "not needed: no retire.deprecate_after or image.deprecate_after";
        case PROBE_DISABLE_IMAGE:
                return p->retire_stages & (1u << RETIRE_DISABLE) ? NULL : "not needed: no retire.disable_after";
        case PROBE_ENABLE_DEREG_PROTECTION:
        case PROBE_DISABLE_DEREG_PROTECTION:
                return protect ? NULL : "not needed: no protect.newest";
        case PROBE_TAG_IMAGE:
                return protect || stages || p->deprecate_after > 0 ? NULL :
                        "not needed: no retire, protect.newest or image.deprecate_after";
        default:
                return NULL;
        }
}

/* One call of the image stages and protections, DryRun on the policy's image: 1 when
 * started, 0 when not needed or there is nothing to ask it about (said why). */
static int start_image_dry_run(permission_probe *probe, probe_action a) {
        probe_call *call = &probe->calls[a];
        const policy *p = probe->policy;
        const char *why = not_needed(p, a);
        char *ids[] = { probe->image_id, NULL };
        int r;

        if (why) {
                set_check(probe, a, PROBE_NOT_CHECKED, "%s", why);
                return 0;
        }
        if (a == PROBE_DESCRIBE_VOLUMES) {
                char *keys[] = { p->exclude_volume_tags[0].key, NULL };
                ec2_filter f = { .name = "tag-key", .values = keys };

                r = ec2_describe_volumes(probe->ec2, &f, 1, on_volumes, call, &call->op);
                return r < 0 ? r : 1;
        }
        if (!probe->image_id) {
                set_check(probe, a, PROBE_NOT_CHECKED, "the policy has no image here yet to ask it about");
                return 0;
        }
        switch (a) {
        case PROBE_ENABLE_IMAGE_DEPRECATION:
                r = ec2_enable_image_deprecation(probe->ec2, probe->image_id, time(NULL) + 86400, true,
                                                 on_image_dry_run, call, &call->op);
                break;
        case PROBE_DISABLE_IMAGE:
                r = ec2_disable_image(probe->ec2, probe->image_id, true, on_image_dry_run, call, &call->op);
                break;
        case PROBE_ENABLE_DEREG_PROTECTION:
        case PROBE_DISABLE_DEREG_PROTECTION:
                r = ec2_set_image_deregistration_protection(probe->ec2, probe->image_id,
                                                            a == PROBE_ENABLE_DEREG_PROTECTION,
                                                            p->protect_newest_cooldown, true, on_image_dry_run,
                                                            call, &call->op);
                break;
        default: {
                _cleanup_(ec2_tags_done) ec2_tags tags = {};

                /* The key a run writes: the release's, else protection's mark. */
                r = ec2_tags_add(&tags, p->retire_stages ? TAG_RETIRED_AT : TAG_PROTECTED, "permission-check");
                if (r >= 0)
                        r = ec2_create_tags(probe->ec2, ids, &tags, true, on_image_dry_run, call, &call->op);
        }
        }
        return r < 0 ? r : 1;
}

static void on_dist_call_done(void *userdata) {
        call_done(userdata);
}

/* Distribution's checks (probe-dist.h) after n calls of the second round: the calls started. */
static int start_dist(permission_probe *probe, int n) {
        unsigned started;
        int r;

        r = probe_dist_start(&(probe_dist_request) {
                                     .pool = probe->pool,
                                     .ec2 = probe->ec2,
                                     .policy = probe->policy,
                                     .region = probe->region,
                                     .image_id = probe->image_id,
                                     .checks = probe->checks,
                                     .done = on_dist_call_done,
                                     .userdata = probe,
                             }, &probe->dist, &started);
        return r < 0 ? r : n + (int) started;
}

/* The second round: each DryRun call that has something to be asked on. Returns the calls started. */
static int start_dry_runs(permission_probe *probe) {
        int r, n = 0;

        if (probe->instance_id) {
                r = start_create(probe);
                if (r < 0)
                        return r;
                n++;
        } else {
                const char *why = probe->checks[PROBE_DESCRIBE_INSTANCES].verdict == PROBE_PERMITTED ?
                        "no instance matches the policy's targets here to ask it about" :
                        "DescribeInstances failed, so there is no instance to ask it about";

                set_check(probe, PROBE_CREATE_IMAGE, PROBE_NOT_CHECKED, "%s", why);
                set_check(probe, PROBE_CREATE_TAGS, PROBE_NOT_CHECKED, "checked with CreateImage, which was not");
        }
        if (probe->image_id) {
                probe_call *call = &probe->calls[PROBE_DEREGISTER_IMAGE];

                r = ec2_deregister_image(probe->ec2, probe->image_id, true, true, on_deregistered, call, &call->op);
                if (r < 0)
                        return r;
                n++;
        } else
                set_check(probe, PROBE_DEREGISTER_IMAGE, PROBE_NOT_CHECKED,
                          probe->checks[PROBE_DESCRIBE_IMAGES].verdict == PROBE_PERMITTED ?
                          "the policy has no image here yet to ask it about" :
                          "DescribeImages failed, so there is no image to ask it about");
        if (probe->snapshot_id) {
                probe_call *call = &probe->calls[PROBE_DELETE_SNAPSHOT];

                r = ec2_delete_snapshot(probe->ec2, probe->snapshot_id, true, on_snapshot_deleted, call, &call->op);
                if (r < 0)
                        return r;
                n++;
        } else
                set_check(probe, PROBE_DELETE_SNAPSHOT, PROBE_NOT_CHECKED,
                          probe->checks[PROBE_DESCRIBE_SNAPSHOTS].verdict == PROBE_PERMITTED ?
                          "the policy has no snapshot here yet to ask it about" :
                          "DescribeSnapshots failed, so there is no snapshot to ask it about");
        r = start_last_launched(probe);
        if (r < 0)
                return r;
        n += r;
        for (probe_action a = PROBE_DESCRIBE_VOLUMES; a <= PROBE_TAG_IMAGE; a++) {
                r = start_image_dry_run(probe, a);
                if (r < 0)
                        return r;
                n += r;
        }
        return start_dist(probe, n);
}

static void round_done(permission_probe *probe) {
        int r;

        if (!probe->second_round) {
                probe->second_round = true;
                /* The calls' callbacks come from the loop, never from inside the starts:
                 * counting them after the starts is safe. */
                r = start_dry_runs(probe);
                if (r > 0) {
                        probe->in_flight = (unsigned) r;
                        return;
                }
                if (r < 0)
                        for (int a = PROBE_CREATE_IMAGE; a < _PROBE_ACTION_MAX; a++) {
                                if (a == PROBE_DESCRIBE_LAUNCH_TEMPLATE_VERSIONS)
                                        continue;       /* of the first round */
                                ec2_op_cancel(probe->calls[a].op);
                                probe->calls[a].op = NULL;
                                ec2_usage_op_cancel(probe->calls[a].usage_op);
                                probe->calls[a].usage_op = NULL;
                                set_check(probe, a, PROBE_FAILED, "cannot send: %s", strerror(-r));
                        }
                if (r < 0)
                        probe->dist = probe_dist_free(probe->dist);
        }
        probe->callback(probe, probe->userdata);
}

int permission_probe_start(aws_pool *pool, const policy *p, const char *region, probe_callback cb, void *userdata,
                           permission_probe **ret) {
        _cleanup_(permission_probe_freep) permission_probe *probe = NULL;
        _cleanup_(target_filters_done) target_filters f = {};
        char *values[] = { (char *) p->name, NULL };
        ec2_filter managed = { .name = "tag:" TAG_POLICY, .values = values };
        int r;

        probe = calloc(1, sizeof(*probe));
        if (!probe)
                return -ENOMEM;
        probe->policy = p;
        probe->pool = pool;
        probe->callback = cb;
        probe->userdata = userdata;
        for (int a = 0; a < _PROBE_ACTION_MAX; a++)
                probe->calls[a] = (probe_call) { .probe = probe, .action = (probe_action) a };
        probe->region = strdup(region);
        if (!probe->region)
                return -ENOMEM;
        r = aws_pool_ec2(pool, p, region, &probe->ec2);
        if (r < 0)
                return r;
        r = target_filters_build(p, &f);
        if (r < 0)
                return r;

        r = ec2_describe_instances(probe->ec2, f.filters, f.n, on_instances, &probe->calls[PROBE_DESCRIBE_INSTANCES],
                                   &probe->calls[PROBE_DESCRIBE_INSTANCES].op);
        if (r < 0)
                return r;
        r = ec2_describe_images(probe->ec2, &managed, 1, NULL, on_images, &probe->calls[PROBE_DESCRIBE_IMAGES],
                                &probe->calls[PROBE_DESCRIBE_IMAGES].op);
        if (r < 0)
                return r;
        r = ec2_describe_snapshots(probe->ec2, &managed, 1, on_snapshots, &probe->calls[PROBE_DESCRIBE_SNAPSHOTS],
                                   &probe->calls[PROBE_DESCRIBE_SNAPSHOTS].op);
        if (r < 0)
                return r;
        probe->in_flight = 3;
        if (p->protect_in_use) {
                probe_call *call = &probe->calls[PROBE_DESCRIBE_LAUNCH_TEMPLATE_VERSIONS];

                r = ec2_describe_template_versions(probe->ec2, &(ec2_template_versions_request) {
                                                           .account_wide = true, .resolve_alias = true,
                                                   }, on_template_versions, call, &call->template_op);
                if (r < 0)
                        return r;
                probe->in_flight++;
        } else
                set_check(probe, PROBE_DESCRIBE_LAUNCH_TEMPLATE_VERSIONS, PROBE_NOT_CHECKED,
                          "not needed: protect.in_use is off");
        *ret = TAKE_PTR(probe);
        return 0;
}
