/* SPDX-License-Identifier: MIT */
/*
 * `amirotd plan`: protect's checks (run/protect.h) for each retirement the plan
 * shows, read-only, so that an image in use shows as "keep" with the reason,
 * as the run would keep it.
 */
#pragma once

#include "run/clients.h"
#include "run/plan.h"
#include "run/protect.h"

typedef struct plan_checks {
        protect_checker *checker;
        protect_op *op;
        protect_result result;
        void (*cb)(void *userdata);
        void *userdata;
} plan_checks;

/* Starts the checks of pl's retention retirements (of p in region), on event. 1: started, cb(userdata)
 * follows from the loop; 0: nothing to check; <0: not checked (said why). */
int plan_checks_start(plan_checks *pp, sd_event *event, aws_pool *pool, const policy *p, const char *region, const plan *pl,
                       time_t now, void (*cb)(void *userdata), void *userdata);
void plan_checks_done(plan_checks *pp);

/* The verdict that keeps a's image, or NULL when it goes (or was not checked). */
const protect_verdict *plan_checks_kept(const plan_checks *pp, const plan_action *a);
