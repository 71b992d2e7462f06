/* SPDX-License-Identifier: MIT */
/* See engine-log.h. */
#include <stdio.h>

#include "run/engine-log.h"
#include "run/targets.h"
#include "base/log.h"

/* More departed instances than selected ones, and at least DEPARTED_WARN_MIN: an autoscaled
 * fleet that replaced itself, not a few machines stopped or retagged for a while. Warned
 * only while retain.departed is not set: once it is, what stays is the operator's choice. */
#define DEPARTED_WARN_MIN 10

static void engine_log_departed(const policy *p, const char *region, const plan *first) {
        log_fields f = { .policy = p->name, .region = region, .instance_id = first->departed_oldest };
        char slot[SLOT_ID_MAX];

        if (p->departed_keep > 0 || p->departed_max_age > 0 || first->n_departed < DEPARTED_WARN_MIN ||
            first->n_departed <= first->n_targets)
                return;
        log_full(LOG_WARNING, 0, MESSAGE_DEPARTED_PILE_UP, &f,
                 "policy '%s' in %s: %zu instances it no longer selects hold %u images (it selects %zu); "
                 "the one imaged longest ago is %s (%s): set retain.departed to retire them",
                 p->name, region, first->n_departed, first->departed_images, first->n_targets,
                 first->departed_oldest ?: "?", slot_id_format(first->departed_oldest_at, slot) ?: "?");
}

void engine_log_first_plan(const policy *p, const char *region, const plan *first, bool no_targets_said) {
        log_fields f = { .policy = p->name, .region = region };

        if (first->n_targets == 0) {
                _cleanup_(freep) char *what = NULL;

                (void) target_describe(p, &what);
                log_full(no_targets_said ? LOG_DEBUG : LOG_WARNING, 0, MESSAGE_NO_TARGETS, &f,
                         "policy '%s' in %s: no instance matches its targets (%s), so it creates nothing",
                         p->name, region, what ?: "?");
        }
        engine_log_departed(p, region, first);
        /* Once a run, from the first plan: a clock that ran ahead made these. */
        for (size_t i = 0; i < first->n_future; i++) {
                const plan_future_image *g = &first->future[i];

                f.instance_id = g->instance_id;
                f.image_id = g->image_id;
                log_full(LOG_WARNING, 0, MESSAGE_IMAGE_FUTURE_SLOT, &f,
                         "image %s of %s carries slot %s, which has not begun: was the clock ahead? "
                         "It is neither counted nor retired until its slot begins",
                         g->image_id, g->instance_id, g->slot);
        }
        f.image_id = NULL;
        for (size_t i = 0; i < first->n; i++) {
                const plan_action *a = &first->actions[i];

                if (a->kind != PLAN_CREATE || !a->root_kept)
                        continue;
                f.instance_id = a->instance_id;
                log_full(LOG_NOTICE, 0, NULL, &f, "policy '%s' in %s: image.volumes names the root device of %s, "
                         "which is kept: an image always holds its instance's root volume", p->name, region,
                         a->instance_id);
        }
}

void engine_log_skipped(const policy *p, const char *region, const plan *pl, char ***said) {
        log_fields f = { .policy = p->name, .region = region };

        for (size_t i = 0; i < pl->n_skipped; i++) {
                const plan_skipped_image *g = &pl->skipped[i];

                if (strv_contains(*said, g->image_id))
                        continue;
                (void) strv_extend(said, g->image_id);  /* out of memory: said again, harmless */
                f.instance_id = g->instance_id;
                f.image_id = g->image_id;
                f.slot = g->slot;
                log_full(LOG_NOTICE, 0, MESSAGE_IMAGE_PROTECTED, &f,
                         "image %s of %s (slot %s) is beyond retention but kept with its snapshots: %s",
                         g->image_id, g->instance_id, g->slot ?: "?", g->reason);
        }
}

/* The second plan's list is the whole of it: it sees what the first one retired. */
void engine_log_held(const policy *p, const char *region, const plan *last) {
        log_fields f = { .policy = p->name, .region = region };

        if (last->n_held == 0)
                return;
        log_full(LOG_WARNING, 0, MESSAGE_RETIRE_HELD, &f,
                 "policy '%s' in %s: max_retire_per_run %u%% holds back %zu %s that retention would retire "
                 "(oldest %s of %s): a run retires its rotation (one image per instance, one more per new "
                 "image) and %u more of the %u it counted; the next runs go on, oldest first",
                 p->name, region, last->retire_percent, last->n_held,
                 last->n_held == 1 ? "image" : "images", last->held[0].image_id, last->held[0].instance_id,
                 last->retire_allowance, last->images_counted);
}
