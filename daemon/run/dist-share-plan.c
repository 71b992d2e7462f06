/* SPDX-License-Identifier: MIT */
/*
 * See dist-share-plan.h. A policy with a share section owns its images' share lists:
 * what it does not name goes (a share someone added by hand, the public group: amirotd
 * never makes an image public). A policy that only copies to other accounts owns just
 * those accounts' permissions, which CopyImage there needs, and leaves any other share
 * alone.
 */
#include "aws/endpoint.h"
#include "run/dist-share-plan.h"

bool share_wanted(const policy *p) {
        char account[13];

        if (p->share_set)
                return true;
        for (size_t i = 0; i < p->n_copy_to; i++)
                if (aws_role_arn_account(p->copy_to[i].role_arn, account))
                        return true;
        return false;
}

/* Appends a copy of each of add not yet in *l. */
static int union_into(char ***l, char *const *add) {
        for (char *const *v = add; v && *v; v++)
                if (!strv_contains(*l, *v) && strv_extend(l, *v) < 0)
                        return -ENOMEM;
        return 0;
}

void share_wants_done(share_wants *w) {
        strv_free(w->accounts);
        strv_free(w->organizations);
        strv_free(w->organizational_units);
        strv_free(w->volume_accounts);
        strv_free(w->copy_accounts);
        *w = (share_wants) {};
}

int share_wants_of(const policy *p, share_wants *ret) {
        _cleanup_(share_wants_done) share_wants w = { .reconcile = p->share_set };
        char account[13], own[13];
        bool own_known = aws_role_arn_account(p->role_arn, own);

        /* A destination in the account of the policy's own role is no other account (as
         * dist-copy.c sees it): an image is not shared with its owner. */
        for (size_t i = 0; i < p->n_copy_to; i++)
                if (aws_role_arn_account(p->copy_to[i].role_arn, account) && !(own_known && streq(own, account)) &&
                    !strv_contains(w.copy_accounts, account) && strv_extend(&w.copy_accounts, account) < 0)
                        return -ENOMEM;
        if (union_into(&w.accounts, p->share_accounts) < 0 || union_into(&w.accounts, w.copy_accounts) < 0 ||
            union_into(&w.organizations, p->share_organizations) < 0 ||
            union_into(&w.organizational_units, p->share_organizational_units) < 0 ||
            (p->share_snapshots && union_into(&w.volume_accounts, p->share_accounts) < 0) ||
            union_into(&w.volume_accounts, w.copy_accounts) < 0)
                return -ENOMEM;
        *ret = w;
        w = (share_wants) {};
        return 0;
}

bool share_manages_volumes(const share_wants *w) {
        return w->reconcile || w->volume_accounts;
}

void share_change_done(share_change *c) {
        strv_free(c->add_accounts);
        strv_free(c->add_organizations);
        strv_free(c->add_organizational_units);
        strv_free(c->remove_accounts);
        strv_free(c->remove_organizations);
        strv_free(c->remove_organizational_units);
        *c = (share_change) {};
}

size_t share_change_added(const share_change *c) {
        return strv_length(c->add_accounts) + strv_length(c->add_organizations) +
                strv_length(c->add_organizational_units);
}

size_t share_change_removed(const share_change *c) {
        return strv_length(c->remove_accounts) + strv_length(c->remove_organizations) +
                strv_length(c->remove_organizational_units) + (c->remove_public ? 1 : 0);
}

bool share_change_empty(const share_change *c) {
        return share_change_added(c) == 0 && share_change_removed(c) == 0;
}

/*
 * One kind of principal: *add gets what is wanted and missing (only when keep), *remove
 * what is there and not to stay: with reconcile, anything not wanted (or anything at all
 * when !keep); else only the managed ones (copy accounts) that are not wanted (or all of
 * them when !keep).
 */
static int diff_list(char *const *current, char *const *wanted, char *const *managed, bool reconcile, bool keep,
                     char ***add, char ***remove) {
        for (char *const *v = wanted; keep && v && *v; v++)
                if (!strv_contains(current, *v) && strv_extend(add, *v) < 0)
                        return -ENOMEM;
        for (char *const *v = current; v && *v; v++) {
                bool stays = keep && strv_contains(wanted, *v);
                bool ours = reconcile || strv_contains(managed, *v);

                if (ours && !stays && !strv_contains(*remove, *v) && strv_extend(remove, *v) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int share_diff_launch(const share_wants *w, const ec2_permission_list *current, bool keep, share_change *ret) {
        _cleanup_(share_change_done) share_change c = {};

        if (diff_list(current->user_ids, w->accounts, w->copy_accounts, w->reconcile, keep,
                      &c.add_accounts, &c.remove_accounts) < 0 ||
            diff_list(current->organization_arns, w->organizations, NULL, w->reconcile, keep,
                      &c.add_organizations, &c.remove_organizations) < 0 ||
            diff_list(current->organizational_unit_arns, w->organizational_units, NULL, w->reconcile, keep,
                      &c.add_organizational_units, &c.remove_organizational_units) < 0)
                return -ENOMEM;
        c.remove_public = w->reconcile && current->public;
        *ret = c;
        c = (share_change) {};
        return 0;
}

int share_diff_volume(const share_wants *w, const ec2_permission_list *current, bool keep, share_change *ret) {
        _cleanup_(share_change_done) share_change c = {};

        if (diff_list(current->user_ids, w->volume_accounts, w->copy_accounts, w->reconcile, keep,
                      &c.add_accounts, &c.remove_accounts) < 0)
                return -ENOMEM;
        c.remove_public = w->reconcile && current->public;
        *ret = c;
        c = (share_change) {};
        return 0;
}
