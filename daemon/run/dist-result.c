/* SPDX-License-Identifier: MIT */
/*
 * See dist.h: what distribution did, counted and listed by the distributors. Apart from
 * dist.c, which names every distributor, so that a distributor and the table that runs
 * it do not use each other.
 */
#include <stdarg.h>
#include <stdio.h>

#include "run/dist.h"

void dist_result_done(dist_result *r) {
        for (size_t i = 0; i < r->n_steps; i++) {
                free(r->steps[i].action);
                free(r->steps[i].region);
                free(r->steps[i].instance_id);
                free(r->steps[i].image_id);
                free(r->steps[i].detail);
        }
        free(r->steps);
        *r = (dist_result) {};
}

int dist_result_add_step(dist_result *r, const char *action, const char *region, const char *instance_id,
                         const char *image_id, const char *detail_fmt, ...) {
        dist_step *steps, *s;
        va_list ap;
        int k;

        steps = reallocarray(r->steps, r->n_steps + 1, sizeof(dist_step));
        if (!steps)
                return -ENOMEM;
        r->steps = steps;
        s = &steps[r->n_steps++];
        *s = (dist_step) {
                .action = strdup(action),
                .region = strdup(region),
                .instance_id = instance_id ? strdup(instance_id) : NULL,
                .image_id = image_id ? strdup(image_id) : NULL,
        };
        va_start(ap, detail_fmt);
        k = vasprintf_safe(&s->detail, detail_fmt, ap);
        va_end(ap);
        if (k < 0 || !s->action || !s->region || (instance_id && !s->instance_id) || (image_id && !s->image_id))
                return -ENOMEM;
        return 0;
}
