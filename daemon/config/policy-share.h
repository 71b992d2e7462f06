/* SPDX-License-Identifier: MIT */
/*
 * policy-share.c: a policy's `share` section (launch permissions and the snapshots'
 * create-volume permissions). Not for use outside daemon/config/.
 */
#pragma once

#include "config/value.h"

/* Reads the `share` mapping n into p. Null is the same as no section; `{}` is a section
 * that shares with nobody: p->share_set, and every share is removed. */
int config_share_parse(loader *l, policy *p, const cnode *n);
