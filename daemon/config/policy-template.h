/* SPDX-License-Identifier: MIT */
/*
 * policy-template.c: a policy's `launch_template` section. Not for use outside
 * daemon/config/.
 */
#pragma once

#include "config/value.h"

/* Reads `launch_template` (a mapping or a list of them) into p->launch_templates: name or
 * id, region, role_arn, external_id, source, set_default, keep_versions; errors at their
 * keys. 0, or -EINVAL when n is neither. */
int config_template_parse(loader *l, policy *p, const cnode *n);

/* Once p's regions are known: a template named by id without a region, in a policy of more
 * than one region (an id is one region's), is an error at its entry. */
void config_template_check_regions(loader *l, const policy *p);

/* EC2's LaunchTemplateName (3-128 of [a-zA-Z0-9().-/_]) and launch template id (lt-...). */
bool launch_template_name_valid(const char *s);
bool launch_template_id_valid(const char *s);
