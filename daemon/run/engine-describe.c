/* SPDX-License-Identifier: MIT */
/*
 * A run's describes (engine-internal.h): instances, its images and snapshots, and the
 * volumes image.volumes asks for, each answer replacing one list of the run.
 */
#include <stddef.h>

#include "run/engine-internal.h"
#include "run/exec.h"
#include "run/targets.h"

/* The list each describe fills; all are { items, n, cap }. */
static const struct {
        const char *action;
        size_t offset;                  /* of the list in policy_run */
        size_t size;
} describe_table[_DESCRIBE_KIND_MAX] = {
        [DESCRIBE_INSTANCES] = { "DescribeInstances", offsetof(policy_run, instances), sizeof(ec2_instance_list) },
        [DESCRIBE_IMAGES]    = { "DescribeImages",    offsetof(policy_run, images),    sizeof(ec2_image_list) },
        [DESCRIBE_SNAPSHOTS] = { "DescribeSnapshots", offsetof(policy_run, snapshots), sizeof(ec2_snapshot_list) },
        [DESCRIBE_VOLUMES]   = { "DescribeVolumes",   offsetof(policy_run, volumes),   sizeof(ec2_volume_list) },
};

/* Snapshots feed only the orphan sweep: without them (no ec2:DescribeSnapshots, throttled
 * past the retries) the run sweeps nothing, and creates and retires as usual. */
static void describes_done(policy_run *run) {
        log_fields f = engine_fields(run);

        f.action = describe_table[DESCRIBE_SNAPSHOTS].action;
        if (run->snapshots_r < 0)
                exec_log_aws(run->describe_failed ? LOG_DEBUG : LOG_WARNING, run->snapshots_r,
                             &run->snapshots_error, &f, run->describe_failed ? "cannot read EC2's state either" :
                             "cannot list snapshots, skipping the orphan sweep this run");
        run->snapshots_r = 0;
        aws_error_done(&run->snapshots_error);
        run->described(run);
}

/* The answer replaces the run's list. The old list goes into the answer's place, where
 * ec2 frees it with the answer's remains when the callback returns. A cause that fails
 * one describe (credentials, the network) fails all three: the first failure is logged,
 * and the snapshots' only if the run could read the rest (describes_done()). */
static void described(describe *d, int r, void *list, const aws_error *err) {
        policy_run *run = d->run;
        log_fields f = engine_fields(run);

        d->op = NULL;
        f.action = describe_table[d->kind].action;
        if (r >= 0)
                memswap((unsigned char *) run + describe_table[d->kind].offset, list, describe_table[d->kind].size);
        else if (d->kind == DESCRIBE_SNAPSHOTS) {
                run->snapshots_r = r;
                if (aws_error_set(&run->snapshots_error, err ? err->status : 0, err ? err->code : NULL,
                                  err ? err->message : NULL, err ? err->request_id : NULL) < 0)
                        run->snapshots_r = -ENOMEM;
        } else if (run->describe_failed)
                exec_log_aws(LOG_DEBUG, r, err, &f, "cannot read EC2's state either");
        else {
                exec_log_aws(LOG_ERR, r, err, &f, "cannot read EC2's state");
                engine_fail(run, r);
                run->describe_failed = true;
                free(run->result.error);
                run->result.error = exec_aws_reason(r, err, f.action);
        }
        if (--run->describing == 0)
                describes_done(run);
}

/* The ec2 callbacks differ only in the list's type. */
static void on_instances(int r, ec2_instance_list *l, const aws_error *err, void *userdata) {
        described(userdata, r, l, err);
}

static void on_images(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        described(userdata, r, l, err);
}

static void on_snapshots(int r, ec2_snapshot_list *l, const aws_error *err, void *userdata) {
        described(userdata, r, l, err);
}

static void on_volumes(int r, ec2_volume_list *l, const aws_error *err, void *userdata) {
        described(userdata, r, l, err);
}

static int describe_started(policy_run *run, int r) {
        if (r < 0)
                return r;
        run->describing++;
        return 0;
}

/* Server-side filters narrow what EC2 sends; the planner checks everything again. */
int engine_describe_instances(policy_run *run) {
        _cleanup_(target_filters_done) target_filters f = {};
        describe *d = &run->describes[DESCRIBE_INSTANCES];
        int r;

        r = target_filters_build(run->policy, &f);
        if (r < 0)
                return r;
        r = ec2_describe_instances(run->ec2, f.filters, f.n, on_instances, d, &d->op);
        return describe_started(run, r);
}

/* The images or snapshots this policy tagged. */
int engine_describe_managed(policy_run *run, describe_kind kind) {
        char *values[] = { (char *) run->policy->name, NULL };
        ec2_filter filter = { .name = "tag:" TAG_POLICY, .values = values };
        describe *d = &run->describes[kind];
        int r;

        if (kind == DESCRIBE_SNAPSHOTS)
                r = ec2_describe_snapshots(run->ec2, &filter, 1, on_snapshots, d, &d->op);
        else
                r = ec2_describe_images(run->ec2, &filter, 1, NULL, on_images, d, &d->op);
        return describe_started(run, r);
}

/* The volumes carrying one of image.volumes.exclude_tags' keys (one filter: its values are
 * OR-ed, at most 50 keys of the 200 values a filter takes); the planner matches the values. */
int engine_describe_volumes(policy_run *run) {
        _cleanup_(strv_freep) char **keys = NULL;
        describe *d = &run->describes[DESCRIBE_VOLUMES];
        const policy *p = run->policy;
        int r = 0;

        if (p->volumes != POLICY_VOLUMES_EXCLUDE || p->n_exclude_volume_tags == 0)
                return 0;
        for (size_t i = 0; r >= 0 && i < p->n_exclude_volume_tags; i++)
                r = strv_contains(keys, p->exclude_volume_tags[i].key) ? 0 :
                        strv_extend(&keys, p->exclude_volume_tags[i].key);
        if (r >= 0)
                r = ec2_describe_volumes(run->ec2, &(ec2_filter) { .name = "tag-key", .values = keys }, 1,
                                         on_volumes, d, &d->op);
        return describe_started(run, r);
}
