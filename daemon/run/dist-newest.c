/* SPDX-License-Identifier: MIT */
/*
 * See dist-newest.h. A slot id ("20261126T030000Z") that does not parse ranks below every
 * one that does: an image whose slot cannot be read is never preferred to one whose slot
 * can, and two such images are ordered by CreationDate alone.
 */
#include "run/dist-newest.h"
#include "run/plan.h"
#include "schedule/schedule.h"

static time_t image_slot(const ec2_image *i) {
        time_t t;

        return slot_id_parse(ec2_tags_get(&i->tags, TAG_SLOT), &t) >= 0 ? t : (time_t) -1;
}

/* An image of a slot after now (a host clock that ran ahead) is never the newest: the
 * planner sets it aside too (plan.h). */
static bool image_qualifies(const ec2_image *i, const char *policy_name, const char *instance_id,
                            bool passed_only, char *const *passed, time_t now) {
        time_t deprecated = ec2_image_deprecation_time(i);

        return i->state == EC2_IMAGE_AVAILABLE && i->id &&
                streq_ptr(ec2_tags_get(&i->tags, TAG_POLICY), policy_name) &&
                (!instance_id || streq_ptr(ec2_tags_get(&i->tags, TAG_INSTANCE_ID), instance_id)) &&
                !ec2_tags_get(&i->tags, TAG_RETIRED_AT) &&
                !(deprecated > 0 && deprecated <= now) &&
                image_slot(i) <= now &&
                (!passed_only || streq_ptr(ec2_tags_get(&i->tags, TAG_VERIFIED), "passed") || strv_contains(passed, i->id));
}

/* Whether a is newer than b. */
static bool newer(const ec2_image *a, const ec2_image *b) {
        time_t sa = image_slot(a), sb = image_slot(b);

        if (sa != sb)
                return sa > sb;
        if (a->creation_date != b->creation_date)
                return a->creation_date > b->creation_date;
        return strcmp(a->id, b->id) > 0;       /* any fixed order: the same answer every run */
}

const ec2_image *dist_newest_image(const ec2_image *images, size_t n, const char *policy_name,
                                   const char *instance_id, bool passed_only, char *const *passed, time_t now) {
        const ec2_image *best = NULL;

        for (size_t i = 0; i < n; i++)
                if (image_qualifies(&images[i], policy_name, instance_id, passed_only, passed, now) && (!best || newer(&images[i], best)))
                        best = &images[i];
        return best;
}
