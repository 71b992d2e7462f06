/* SPDX-License-Identifier: MIT */
/*
 * See hook-local.h. The child is watched as aws/creds-process.c watches the
 * credential_process: a pidfd io source for its exit (a timer that asks every 20 ms
 * where there are no pidfds, as under valgrind), an io source for its output, and a
 * timer for its timeout. sd_event_add_child() would want SIGCHLD blocked in every
 * thread before any thread starts, which the one-shot commands do not do. A hook freed
 * while it runs (stop, reload) is sent SIGKILL and reaped later by the loop, never waited
 * for in place.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/spawn.h"
#include "run/hook-local.h"

#define HOOK_LOCAL_POLL (20 * USEC_PER_MSEC)

struct hook_local {
        sd_event *event;
        pid_t pid;                      /* also its process group; 0 once reaped */
        int pidfd, out_fd;
        sd_event_source *exit_source, *out_source, *timer;
        strbuf out;
        bool timed_out;                 /* SIGTERM sent to the group */
        bool killed;                    /* and SIGKILL after the grace */
        usec_t timeout;
        hook_done_cb cb;
        void *userdata;
};

static void hook_local_close(hook_local *h) {
        h->exit_source = sd_event_source_disable_unref(h->exit_source);
        h->out_source = sd_event_source_disable_unref(h->out_source);
        h->timer = sd_event_source_disable_unref(h->timer);
        if (h->out_fd >= 0)
                close(h->out_fd);
        if (h->pidfd >= 0)
                close(h->pidfd);
        h->out_fd = h->pidfd = -1;
}

/* A hook that was killed is reaped by the loop once it has died, by a source that
 * outlives its hook_local (floating, owning the pidfd): SIGKILL is not instant for a
 * process in uninterruptible sleep, and the loop must not wait for one. */
static int on_killed_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        siginfo_t si = {};

        (void) revents;
        (void) userdata;
        if (waitid(P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0)
                return 0;
        (void) sd_event_source_disable_unref(s);        /* the loop's reference; closes the pidfd */
        return 0;
}

static int on_killed_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        siginfo_t si = {};

        (void) usec;
        if (waitid(P_PID, (id_t) (intptr_t) userdata, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0) {
                if (sd_event_source_set_time_relative(s, HOOK_LOCAL_POLL) >= 0 &&
                    sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) >= 0)
                        return 0;
        }
        (void) sd_event_source_disable_unref(s);
        return 0;
}

static void hook_local_reap_later(hook_local *h) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *s = NULL;
        siginfo_t si = {};
        int r;

        if (waitid(P_PID, (id_t) h->pid, &si, WEXITED | WNOHANG) == 0 && si.si_pid != 0)
                return;
        /* The pidfd is the exit source's: one epoll cannot watch an fd twice. */
        h->exit_source = sd_event_source_disable_unref(h->exit_source);
        if (h->pidfd >= 0)
                r = sd_event_add_io(h->event, &s, h->pidfd, EPOLLIN, on_killed_pidfd, NULL);
        else
                r = sd_event_add_time_relative(h->event, &s, CLOCK_MONOTONIC, HOOK_LOCAL_POLL, 0, on_killed_poll,
                                               (void *) (intptr_t) h->pid);
        if (r >= 0 && h->pidfd >= 0) {
                r = sd_event_source_set_io_fd_own(s, true);
                if (r >= 0)
                        h->pidfd = -1;
        }
        if (r >= 0) {
                (void) sd_event_source_set_description(s, "killed hook reaper");
                r = sd_event_source_set_floating(s, true);
        }
        if (r < 0)
                (void) waitpid(h->pid, NULL, 0);        /* no source to do it: here, as a last resort */
}

hook_local *hook_local_free(hook_local *h) {
        if (!h)
                return NULL;
        if (h->pid > 0) {
                (void) kill(-h->pid, SIGKILL);
                hook_local_reap_later(h);
        }
        hook_local_close(h);
        strbuf_done(&h->out);
        sd_event_unref(h->event);
        return mfree(h);
}

/* What the pipe holds now, up to HOOK_OUTPUT_MAX kept, the rest drained. */
static int hook_local_read(hook_local *h) {
        char buf[4096];

        for (;;) {
                ssize_t n = read(h->out_fd, buf, sizeof(buf));

                if (n < 0)
                        return errno == EINTR ? 0 : errno == EAGAIN ? 0 : -errno;
                if (n == 0)
                        return 1;
                if (h->out.len + (size_t) n > HOOK_OUTPUT_MAX) {
                        size_t room = HOOK_OUTPUT_MAX - h->out.len;

                        if (room > 0 && strbuf_append(&h->out, buf, room) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (strbuf_append(&h->out, buf, (size_t) n) < 0)
                        return -ENOMEM;
        }
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) fd;
        (void) revents;
        if (hook_local_read(userdata) != 0)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static void hook_local_finish(hook_local *h, const siginfo_t *si) {
        _cleanup_(freep) char *excerpt = NULL;
        char status[160];
        hook_outcome o = { .exit_code = -1, .status = status };

        /* The shell may die of the SIGTERM at once while a child of its that ignores it
         * lives on; the timer that would have sent SIGKILL ends with the shell, so the
         * rest of the group gets it now. The group outlives its leader: the id is still its. */
        if (h->timed_out)
                (void) kill(-h->pid, SIGKILL);
        h->pid = 0;
        /* What it wrote before it exited is in the pipe; a background child of its own that
         * keeps the pipe open is not waited for. */
        if (h->out_source && sd_event_source_get_enabled(h->out_source, NULL) > 0)
                (void) hook_local_read(h);
        if (si->si_code == CLD_EXITED) {
                o.exit_code = si->si_status;
                snprintf(status, sizeof(status), "exited with status %d", si->si_status);
        } else
                snprintf(status, sizeof(status), "killed by signal %s", sigabbrev_np(si->si_status) ?: "?");
        o.r = h->timed_out ? -ETIMEDOUT : si->si_code == CLD_EXITED && si->si_status == 0 ? 0 : -EIO;
        if (h->timed_out)
                snprintf(status, sizeof(status), "did not end within %llus; its process group was sent SIGTERM%s",
                         (unsigned long long) (h->timeout / USEC_PER_SEC), h->killed ? ", then SIGKILL" : "");
        /* More than HOOK_OUTPUT_MAX is more than the excerpt: hook_excerpt() marks the cut. */
        excerpt = h->out.len > 0 ? hook_excerpt(h->out.data, h->out.len) : NULL;
        o.output = excerpt;
        hook_local_close(h);
        h->cb(&o, h->userdata);
}

static int on_exit_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        siginfo_t si = {};

        (void) s;
        (void) revents;
        if (waitid(P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                return 0;
        hook_local_finish(userdata, &si);
        return 0;
}

static int on_exit_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        hook_local *h = userdata;
        siginfo_t si = {};

        (void) usec;
        if (waitid(P_PID, (id_t) h->pid, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0) {
                if (sd_event_source_set_time_relative(s, HOOK_LOCAL_POLL) >= 0)
                        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        hook_local_finish(h, &si);
        return 0;
}

/* The timeout: SIGTERM to the whole group, then SIGKILL after the grace. The exit source
 * reports the end. */
static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        hook_local *h = userdata;

        (void) usec;
        if (!h->timed_out) {
                h->timed_out = true;
                (void) kill(-h->pid, SIGTERM);
                if (sd_event_source_set_time_relative(s, HOOK_KILL_GRACE) >= 0)
                        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        h->killed = true;
        (void) kill(-h->pid, SIGKILL);
        return 0;
}

/* Its own process group lets the timeout reach every process the script started. */
static int hook_local_spawn(hook_local *h, const char *command, char *const *env, int out_fd) {
        _cleanup_(freep) char *script = strdup(command);
        char sh[] = "/bin/sh", c[] = "-c";
        char *argv[] = { sh, c, script, NULL };
        spawn_options o = { .argv = argv, .env = env, .out_fd = out_fd, .err_fd = out_fd, .new_group = true };

        if (!script)
                return -ENOMEM;
        return spawn_child(&o, &h->pid);
}

static int hook_local_watch(hook_local *h, const char *description) {
        char name[160];
        int r;

        h->pidfd = pidfd_open(h->pid, 0);
        if (h->pidfd < 0 && errno != ENOSYS)
                return -errno;
        r = sd_event_add_io(h->event, &h->out_source, h->out_fd, EPOLLIN, on_output, h);
        if (r < 0)
                return r;
        snprintf(name, sizeof(name), "%s output", description);
        (void) sd_event_source_set_description(h->out_source, name);
        if (h->pidfd >= 0)
                r = sd_event_add_io(h->event, &h->exit_source, h->pidfd, EPOLLIN, on_exit_pidfd, h);
        else
                r = sd_event_add_time_relative(h->event, &h->exit_source, CLOCK_MONOTONIC, HOOK_LOCAL_POLL, 0,
                                               on_exit_poll, h);
        if (r < 0)
                return r;
        snprintf(name, sizeof(name), "%s exit", description);
        (void) sd_event_source_set_description(h->exit_source, name);
        r = sd_event_add_time_relative(h->event, &h->timer, CLOCK_MONOTONIC, h->timeout, USEC_PER_SEC / 10,
                                       on_timeout, h);
        if (r < 0)
                return r;
        snprintf(name, sizeof(name), "%s timeout", description);
        (void) sd_event_source_set_description(h->timer, name);
        return 0;
}

int hook_local_start(sd_event *e, const char *command, char *const *env, usec_t timeout, const char *description,
                     hook_done_cb cb, void *userdata, hook_local **ret) {
        _cleanup_(hook_local_freep) hook_local *h = NULL;
        int fds[2];
        int r;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        *h = (hook_local) { .event = sd_event_ref(e), .pidfd = -1, .out_fd = -1, .timeout = timeout,
                            .cb = cb, .userdata = userdata };
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        /* The script's end blocks, as a pipe a program inherits usually does. */
        if (fcntl(fds[1], F_SETFL, 0) < 0) {
                r = -errno;
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        h->out_fd = fds[0];
        r = hook_local_spawn(h, command, env, fds[1]);
        close(fds[1]);
        if (r < 0)
                return r;
        r = hook_local_watch(h, description);
        if (r < 0)
                return r;               /* hook_local_free() kills and reaps it */
        *ret = TAKE_PTR(h);
        return 0;
}
