/* SPDX-License-Identifier: MIT */
/*
 * The decisions of sharing (dist-share.c), pure: who a policy wants its images and
 * their snapshots shared with, and the changes that bring what EC2 says to that. No I/O,
 * no logging; tests/unit/test-dist-share-plan.c holds its rules.
 */
#pragma once

#include <stdbool.h>

#include "aws/ec2.h"
#include "run/plan.h"                   /* TAG_COPY_OF */
#include "policy.h"

/* Who a policy shares with (issue 14's convention between share and copy_to). */
typedef struct share_wants {
        char **accounts;                /* launch permission: share.accounts and the copy_to accounts */
        char **organizations;
        char **organizational_units;
        char **volume_accounts;         /* create-volume permission of the snapshots: share.accounts
                                         * with share.snapshots, and the copy_to accounts */
        char **copy_accounts;           /* the accounts of copy_to destinations with a role_arn */
        bool reconcile;                 /* share is given: what is not wanted is removed, the
                                         * public group too; else only copy_accounts are managed */
} share_wants;

/* Whether p shares at all: a share section, or a copy_to destination in another account. */
bool share_wanted(const policy *p);
int share_wants_of(const policy *p, share_wants *ret);
void share_wants_done(share_wants *w);

/* One permission list's changes. */
typedef struct share_change {
        char **add_accounts;
        char **add_organizations;
        char **add_organizational_units;
        char **remove_accounts;
        char **remove_organizations;
        char **remove_organizational_units;
        bool remove_public;             /* the group "all" */
} share_change;

void share_change_done(share_change *c);
bool share_change_empty(const share_change *c);
size_t share_change_added(const share_change *c);
size_t share_change_removed(const share_change *c);

/*
 * What changes current (the image's launch permissions) to what w wants. keep: the image
 * is in use (available, not released); else every principal the policy manages is removed
 * (with reconcile: every one there is), so that an image on its way out is shared with
 * nobody. Never adds anything when !keep.
 */
int share_diff_launch(const share_wants *w, const ec2_permission_list *current, bool keep, share_change *ret);
/* The same for a snapshot's create-volume permissions (accounts only). */
int share_diff_volume(const share_wants *w, const ec2_permission_list *current, bool keep, share_change *ret);
/* Whether a policy's snapshots' create-volume permissions are looked at at all. */
bool share_manages_volumes(const share_wants *w);
