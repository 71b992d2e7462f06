/* SPDX-License-Identifier: MIT */
/* See clock-step.h. */
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/clock-step.h"
#include "base/util.h"

struct clock_step_watch {
        sd_event_source *source;        /* owns the timerfd */
        int64_t offset;                 /* CLOCK_REALTIME - CLOCK_BOOTTIME, µs, when last read */
        clock_step_handler_t handler;
        void *userdata;
};

/* BOOTTIME rather than MONOTONIC: the wall clock goes on while the machine sleeps, and a resume
 * is not a step. The two reads are microseconds apart, far below any step that matters. */
static int64_t clock_offset(void) {
        return (int64_t) now_usec(CLOCK_REALTIME) - (int64_t) now_usec(CLOCK_BOOTTIME);
}

static int on_clock_set(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        clock_step_watch *w = userdata;
        uint64_t expirations;
        int64_t offset, step;

        (void) s;
        (void) revents;
        /* ECANCELED is the news; the read also resets the timer to watch for the next set. A
         * wake-up without it (EAGAIN) is spurious. */
        if (read(fd, &expirations, sizeof(expirations)) >= 0 || errno != ECANCELED)
                return 0;
        offset = clock_offset();
        step = offset - w->offset;
        w->offset = offset;
        w->handler(step, w->userdata);
        return 0;
}

int clock_step_watch_new(sd_event *e, clock_step_handler_t handler, void *userdata, clock_step_watch **ret) {
        /* The end of time: the timer never expires, it only reports sets of the clock. */
        const struct itimerspec forever = { .it_value = { .tv_sec = (time_t) INT64_MAX } };
        clock_step_watch *w;
        int fd, r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->handler = handler;
        w->userdata = userdata;

        fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                goto fail;
        }
        if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &forever, NULL) < 0) {
                r = -errno;
                close(fd);
                goto fail;
        }
        w->offset = clock_offset();
        r = sd_event_add_io(e, &w->source, fd, EPOLLIN, on_clock_set, w);
        if (r < 0) {
                close(fd);
                goto fail;
        }
        r = sd_event_source_set_io_fd_own(w->source, true);
        if (r < 0) {
                w->source = sd_event_source_disable_unref(w->source);
                close(fd);
                goto fail;
        }
        (void) sd_event_source_set_priority(w->source, SD_EVENT_PRIORITY_IMPORTANT);
        (void) sd_event_source_set_description(w->source, "clock-step");
        *ret = w;
        return 0;

fail:
        free(w);
        return r;
}

clock_step_watch *clock_step_watch_free(clock_step_watch *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->source);
        return mfree(w);
}
