/* SPDX-License-Identifier: MIT */
/*
 * policy-protect.c: a policy's `protect` section. Not for use outside
 * daemon/config/.
 */
#pragma once

#include "config/value.h"

/* Reads the `protect` mapping n into p (null: the defaults); *ret_newest is set to the node
 * of `newest` when one was read, for config_protect_check(). */
int config_protect_parse(loader *l, policy *p, const cnode *n, const cnode **ret_newest);

/* Once all of the policy's keys are read: warns at newest (the node of protect.newest, or
 * NULL) when it asks for more images than retain.count keeps. */
void config_protect_check(loader *l, const policy *p, const cnode *newest);
