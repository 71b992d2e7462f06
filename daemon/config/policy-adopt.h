/* SPDX-License-Identifier: MIT */
/*
 * policy-adopt.c: a policy's `adopt` section, the images `amirotd adopt` may take
 * in. Not for use outside daemon/config/.
 */
#pragma once

#include "config/value.h"

/* Reads the `adopt` mapping n into p->adopt (null: no section). Its `tags` mapping is left
 * to the caller, which reads tag selectors, in *ret_tags (NULL when none). */
int config_adopt_parse(loader *l, policy *p, const cnode *n, const cnode **ret_tags);

