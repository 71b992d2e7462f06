/* SPDX-License-Identifier: MIT */
/*
 * A unit of the service: one (policy, region), with its slot timer, its retry after a
 * failed run and its run in flight. The manager (loop.c) builds the units of each
 * configuration generation, reads their fields for its status line and metrics, and
 * hears from them through the unit_host it hands them; a unit never calls the manager
 * by name.
 *
 * Slots are wall-clock times, so the slot timer is a CLOCK_REALTIME one. A unit
 * remembers the latest slot it started a run for (last_slot), and the wall clock may be
 * stepped either way under it: the rule of schedule_run_due() says which slot runs then
 * (the one a forward step lands in, at once; none again that has run), and the manager
 * calls unit_clock_stepped() on every step so that each unit re-plans by it.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "aws/ec2-types.h"
#include "run/engine.h"
#include "generation.h"
#include "metrics.h"

typedef struct unit unit;

typedef struct unit_host {
        sd_event *event;
        bool stopping;                  /* set by the manager: start nothing new */
        thaw_keeper *keeper;            /* the manager's: thaws what a run freed mid-freeze leaves */
        /* A run ended, or could not start (r < 0: it failed); the unit has logged it. */
        void (*run_ended)(unit *u, int r, void *userdata);
        /* A slot began or the plan moved: the "next" of the status line may have changed. */
        void (*changed)(void *userdata);
        void *userdata;
} unit_host;

struct unit {
        unit_host *host;
        generation *gen;                /* the generation whose policy this unit follows */
        const policy *policy;           /* in gen->config */
        char *region;
        sd_event_source *timer;         /* "slot P/R", CLOCK_REALTIME, at next */
        sd_event_source *retry;         /* "retry P/R": a catch-up run after a failed one */
        policy_run *run;                /* in flight, or NULL */
        generation *run_gen;            /* the generation the run holds */
        bool again;                     /* a slot began while the run was in flight */
        time_t next;                    /* the next run's slot start */
        time_t last_slot;               /* the latest slot a run was started for, or SLOT_NONE */
        int last_result;
        bool has_run;
        time_t run_start;               /* of the run in flight, or of the last one */
        usec_t run_start_monotonic;
        usec_t last_duration;
        bool images_known;
        unsigned images[_EC2_IMAGE_STATE_MAX];  /* as the last run that read them left them */
        uint64_t dist[_METRICS_DIST_MAX];       /* distribution's counters, summed over its runs */
        bool no_targets;                /* the last run's selection matched no instance */
        bool no_targets_said;           /* warned in this unit's generation */
        char *problem;                  /* why the run in flight cannot poll its images, or NULL */
        char *failure;                  /* why the last run failed (EC2 unreadable: the endpoint
                                         * down, DNS, TLS, credentials; else its error count), or NULL */
};

/* A unit of region that follows nothing yet: unit_follow() gives it its policy. 0 or -ENOMEM. */
int unit_new(unit_host *host, const char *region, unit **ret);
/* Frees u, cancelling its run; accepts NULL, returns NULL. */
unit *unit_free(unit *u);
/* Makes u follow policy p of generation g (a new unit, or a reload's). */
void unit_follow(unit *u, generation *g, const policy *p);

/* Arms the slot timer at the next run's slot. 0 or -errno; does not log. */
int unit_arm(unit *u);
/* Starts a run now, whatever the slot (at start: catch-up), or marks one to follow the run in flight. */
void unit_start(unit *u);
/* The wall clock was stepped: runs the slot the step landed in if it is due, re-arms the slot
 * timer, and says what it did for this unit. */
void unit_clock_stepped(unit *u);
