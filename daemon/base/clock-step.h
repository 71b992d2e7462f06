/* SPDX-License-Identifier: MIT */
/*
 * Tells when the wall clock is set. sd-event's CLOCK_REALTIME timers are absolute, so the kernel
 * fires one that a forward step jumps past and keeps one that a backward step puts further away;
 * what they cannot tell is that the time they were computed from has moved, which is the
 * caller's to re-plan. libsystemd 252 exports no source for it (its event_add_time_change() is
 * internal), so this is the same mechanism: a CLOCK_REALTIME timerfd armed for the end of time
 * with TFD_TIMER_CANCEL_ON_SET, whose read fails with ECANCELED whenever the clock is set
 * (clock_settime, settimeofday, adjtimex's ADJ_SETOFFSET: NTP's steps; not its slewing), and
 * after a resume from suspend.
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct clock_step_watch clock_step_watch;

/* step_usec: how far CLOCK_REALTIME moved against CLOCK_BOOTTIME since the watch began or last
 * called, negative when back; 0 for a resume or a set to the same time. */
typedef void (*clock_step_handler_t)(int64_t step_usec, void *userdata);

/* A source described "clock-step", dispatched before the timers that fire in the same iteration
 * (SD_EVENT_PRIORITY_IMPORTANT), so that the handler re-plans before the slot timers act.
 * 0 or -errno; does not log. */
int clock_step_watch_new(sd_event *e, clock_step_handler_t handler, void *userdata, clock_step_watch **ret);
clock_step_watch *clock_step_watch_free(clock_step_watch *w);
