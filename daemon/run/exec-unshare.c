/* SPDX-License-Identifier: MIT */
/*
 * The step before a retirement deregisters an image of a policy that shares
 * (dist-share-plan.h's share_wanted): each of the image's snapshots loses its
 * create-volume permissions. DeregisterImage takes the image's launch permissions with
 * it, but a snapshot that DeleteAssociatedSnapshots skips (another image uses it) or that
 * cannot be deleted yet (InvalidSnapshot.InUse) would stay shared with the accounts it was
 * shared with. Read each snapshot's permissions, remove what the policy manages (with
 * `share` all there is, else its copy_to accounts; 500 accounts at a time, the public group
 * apart), then deregister. A failure keeps the image for the next
 * run: a retirement that would leave data shared does not happen.
 */
#include "base/log.h"
#include "run/dist-share-plan.h"
#include "run/exec-internal.h"

static void unshare_next(chain *c);

static log_fields unshare_fields(chain *c, const char *aws_action) {
        log_fields f = exec_action_fields(c->exec, chain_action(c), aws_action);

        f.snapshot_id = chain_action(c)->snapshot_ids[c->unshare_at];
        return f;
}

static bool snapshot_gone(const aws_error *err) {
        return err && aws_error_is(err, "InvalidSnapshot.NotFound");
}

static void unshare_failed(chain *c, int r, const aws_error *err, const char *aws_action, const char *what) {
        log_fields f = unshare_fields(c, aws_action);

        (void) exec_log_aws(LOG_ERR, r, err, &f, what);
        chain_fail(c, r < 0 ? r : -EIO, &f);
}

static void on_unshared(int r, const aws_error *err, void *userdata) {
        chain *c = userdata;
        executor *x = c->exec;
        log_fields f = unshare_fields(c, "ModifySnapshotAttribute");

        c->op = NULL;
        if (r < 0 && !snapshot_gone(err) && !(err && aws_error_is(err, "DryRunOperation"))) {
                unshare_failed(c, r, err, "ModifySnapshotAttribute",
                               "cannot remove the create-volume permissions of a snapshot before retiring its image");
                return;
        }
        if (r >= 0)
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_SHARES_CHANGED, &f,
                         "snapshot %s of image %s: create-volume permissions removed before the image is retired",
                         f.snapshot_id, f.image_id);
        /* More than one call's worth: read again what is left (not in a dry run, which changed nothing). */
        if (!c->unshare_more || x->options.dry_run || r < 0)
                c->unshare_at++;
        unshare_next(c);
}

/* What the policy takes away from the snapshot of an image on its way out: with `share`,
 * everyone (the public group too); without, only the accounts of its copy_to destinations
 * (dist-share-plan.h): a grant someone else made stays theirs. */
static int unshare_change(const policy *p, const ec2_permission_list *l, share_change *ret) {
        _cleanup_(share_wants_done) share_wants w = {};
        int r;

        r = share_wants_of(p, &w);
        return r < 0 ? r : share_diff_volume(&w, l, false, ret);
}

int exec_unshare_snapshot_call(aws_client *ec2, const policy *p, const char *snapshot_id,
                               const ec2_permission_list *current, bool dry_run, ec2_done_cb cb, void *userdata,
                               ec2_op **ret_op, bool *ret_more) {
        _cleanup_(share_change_done) share_change change = {};
        _cleanup_(strv_freep) char **chunk = NULL;
        size_t n;
        int r;

        r = unshare_change(p, current, &change);
        if (r < 0)
                return r;
        n = strv_length(change.remove_accounts);
        if (n == 0 && !change.remove_public)
                return 0;
        /* EC2 takes at most 500 accounts a call, and the public group in a call of its own. */
        *ret_more = n > EC2_SNAPSHOT_PERMISSIONS_MAX || (n > 0 && change.remove_public);
        if (n == 0)
                r = ec2_remove_create_volume_public(ec2, snapshot_id, dry_run, cb, userdata, ret_op);
        else {
                for (size_t i = 0; r >= 0 && i < n && i < EC2_SNAPSHOT_PERMISSIONS_MAX; i++)
                        r = strv_extend(&chunk, change.remove_accounts[i]);
                if (r >= 0)
                        r = ec2_modify_create_volume_permission(ec2, snapshot_id, NULL, chunk, dry_run, cb, userdata,
                                                                ret_op);
        }
        return r < 0 ? r : 1;
}

static void on_described(int r, ec2_permission_list *l, const aws_error *err, void *userdata) {
        chain *c = userdata;
        executor *x = c->exec;
        const char *snap = chain_action(c)->snapshot_ids[c->unshare_at];

        c->op = NULL;
        if (r < 0 && !snapshot_gone(err)) {
                unshare_failed(c, r, err, "DescribeSnapshotAttribute",
                               "cannot read the create-volume permissions of a snapshot before retiring its image");
                return;
        }
        r = r < 0 ? 0 : exec_unshare_snapshot_call(x->options.ec2, x->options.policy, snap, l, x->options.dry_run,
                                                   on_unshared, c, &c->op, &c->unshare_more);
        if (r < 0)
                unshare_failed(c, r, NULL, "ModifySnapshotAttribute",
                               "cannot remove the create-volume permissions of a snapshot before retiring its image");
        else if (r == 0) {
                /* the snapshot is gone, or nothing of the policy's is left on it */
                c->unshare_at++;
                unshare_next(c);
        }
}

/* Reads the next snapshot's permissions, or after the last deregisters. */
static int unshare_start_next(chain *c) {
        executor *x = c->exec;
        char *const *snaps = chain_action(c)->snapshot_ids;

        if (snaps && snaps[c->unshare_at])
                return ec2_describe_create_volume_permission(x->options.ec2, snaps[c->unshare_at], on_described, c,
                                                             &c->op);
        return exec_start_deregister(c);
}

/* The same from a callback: a failure to start is the action's. */
static void unshare_next(chain *c) {
        int r = unshare_start_next(c);

        if (r < 0) {
                log_fields f = exec_action_fields(c->exec, chain_action(c), "DeregisterImage");

                (void) exec_log_aws(LOG_ERR, r, NULL, &f, "cannot retire image");
                chain_fail(c, r, &f);
        }
}

int exec_start_unshare(chain *c) {
        executor *x = c->exec;

        if (!share_wanted(x->options.policy))
                return exec_start_deregister(c);
        c->unshare_at = 0;
        return unshare_start_next(c);
}
