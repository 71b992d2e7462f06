/* SPDX-License-Identifier: MIT */
/*
 * policy-retire.c: a policy's `retire` section (staged retirement) and image.deprecate_after.
 * Not for use outside daemon/config/.
 */
#pragma once

#include "config/value.h"

/* EnableImageDeprecation: "The upper limit for DeprecateAt is 10 years from now". */
#define CONFIG_DEPRECATE_MAX (3650ULL * 86400)

/* Reads the `retire` mapping n into p->retire_stages and p->retire_after[]. */
int config_retire_parse(loader *l, policy *p, const cnode *n);
/* Reads image.deprecate_after (node n) into p->deprecate_after. */
int config_image_deprecate_parse(loader *l, policy *p, const cnode *n);
