/* SPDX-License-Identifier: MIT */
/*
 * policy-copy.c: a policy's `copy_to` list. Not for use outside daemon/config/.
 */
#pragma once

#include "config/value.h"

/* Reads the `copy_to` sequence n into p->copy_to; errors at their keys. 0, -EINVAL when n is
 * no sequence, or -ENOMEM. */
int config_copy_to_parse(loader *l, policy *p, const cnode *n);
/* The checks against the rest of the policy, once all of it is read: a destination that is
 * one of the policy's regions in the same account, a (region, account) listed twice. */
void config_copy_to_check(loader *l, const policy *p);
