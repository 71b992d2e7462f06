/* SPDX-License-Identifier: MIT */
/*
 * policy-ssm.c: a policy's `ssm_parameter`. Not for use outside daemon/config/.
 */
#pragma once

#include "config/value.h"

/* Reads `ssm_parameter` n (a name, or a list of names and mappings) into p. Errors at
 * their nodes; 0, or -ENOMEM. */
int config_ssm_parse(loader *l, policy *p, const cnode *n);

/* The names against p's final name and regions, once every key is read. */
void config_ssm_check(loader *l, const policy *p);
