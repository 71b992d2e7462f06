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

/* Slot ids ("20261126T030000Z") sort as their times do. */
static bool slot_after(const char *slot, time_t now) {
        char buf[sizeof("20261126T030000Z")];
        struct tm tm;

        if (!gmtime_r(&now, &tm) || strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm) == 0)
                return false;
        return strcmp(slot, buf) > 0;
}

static bool eligible(const ec2_image *g, const char *policy_name, const char *instance_id, time_t now) {
        const char *slot = ec2_tags_get(&g->tags, TAG_SLOT);
        time_t deprecated = ec2_image_deprecation_time(g);

        return g->id && g->state == EC2_IMAGE_AVAILABLE &&
               streq_ptr(ec2_tags_get(&g->tags, TAG_POLICY), policy_name) &&
               (!instance_id || streq_ptr(ec2_tags_get(&g->tags, TAG_INSTANCE_ID), instance_id)) &&
               !ec2_tags_get(&g->tags, TAG_RETIRED_AT) &&
               !(deprecated > 0 && deprecated <= now) &&
               !(slot && slot_after(slot, now));
}

/* > 0 when a is newer than b. */
static int newer(const ec2_image *a, const ec2_image *b) {
        int c = strcmp(ec2_tags_get(&a->tags, TAG_SLOT) ?: "", ec2_tags_get(&b->tags, TAG_SLOT) ?: "");

        if (c != 0)
                return c;
        if (a->creation_date != b->creation_date)
                return a->creation_date > b->creation_date ? 1 : -1;
        return strcmp(a->id, b->id);
}

const ec2_image *dist_newest_image(const ec2_image *images, size_t n, const char *policy_name,
                                   const char *instance_id, time_t now) {
        const ec2_image *best = NULL;

        for (size_t i = 0; i < n; i++)
                if (eligible(&images[i], policy_name, instance_id, now) && (!best || newer(&images[i], best) > 0))
                        best = &images[i];
        return best;
}
