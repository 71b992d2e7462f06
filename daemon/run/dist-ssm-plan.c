/* SPDX-License-Identifier: MIT */
/* See dist-ssm.h. Pure: tested in tests/unit/test-dist-ssm.c. */
#include "run/dist-ssm.h"
#include "run/plan.h"

bool dist_ssm_name_per_instance(const char *template) {
        return strstr(template, "{instance_id}") || strstr(template, "{instance_name}") ||
               strstr(template, "{instance_tag:");
}

const char *dist_ssm_target_region(const policy *p, const ssm_parameter_target *t, const char *run_region) {
        if (!t->region)
                return run_region;
        if (strv_contains(p->regions, t->region))
                return streq(t->region, run_region) ? t->region : NULL;
        return p->regions && streq(p->regions[0], run_region) ? t->region : NULL;
}
