/* SPDX-License-Identifier: MIT */
/*
 * The credential_process step of the chain: a profile's command that prints
 * keys as JSON, which is how IAM Roles Anywhere's signing helper
 * (`aws_signing_helper credential-process ...`) serves hosts outside AWS.
 * botocore's ProcessProvider runs it without a shell (the line split as
 * shlex.split() does), waits for it, refuses a non-zero exit and reads stdout;
 * so does this, but from the loop: the child's exit is a pidfd io source, its
 * stdout and stderr are pipes read as they fill, and a timer kills it after
 * CREDS_PROCESS_TIMEOUT (botocore waits forever; a daemon must not). Keys with
 * an Expiration are refreshed by creds.c, which runs the command again.
 *
 * stdout holds the keys: kept in a buffer wiped after parsing, never quoted.
 * stderr is for humans and may echo anything: only its first line, cut to 200
 * bytes, goes into the error, and only when the command failed.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/spawn.h"
#include "creds-internal.h"


/* The signing helper signs one CreateSession call: seconds, unless the network hangs. */
#define CREDS_PROCESS_TIMEOUT (60 * USEC_PER_SEC)
/* The JSON of four keys is under 4 KiB; much more is not credentials. */
#define CREDS_PROCESS_MAX_OUTPUT (64 * 1024)
#define CREDS_PROCESS_MAX_ERROR_LINE 200

static void process_close(creds_provider *p) {
        p->process.exit_source = sd_event_source_disable_unref(p->process.exit_source);
        p->process.out_source = sd_event_source_disable_unref(p->process.out_source);
        p->process.err_source = sd_event_source_disable_unref(p->process.err_source);
        p->process.timer = sd_event_source_disable_unref(p->process.timer);
        if (p->process.out_fd >= 0)
                close(p->process.out_fd);
        if (p->process.err_fd >= 0)
                close(p->process.err_fd);
        if (p->process.pidfd >= 0)
                close(p->process.pidfd);
        p->process.out_fd = p->process.err_fd = p->process.pidfd = -1;
        strbuf_done(&p->process.out);          /* secret: wiped */
        strbuf_done(&p->process.err);
        p->process.what = mfree(p->process.what);
        p->process.pid = 0;
        p->process.timed_out = p->process.too_long = false;
}

static void process_fail(creds_provider *p, int r, const char *fmt, ...) _printf_(3, 4);
static void process_fail(creds_provider *p, int r, const char *fmt, ...) {
        _cleanup_(freep) char *why = NULL;
        aws_error err = {};
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf_safe(&why, fmt, ap) < 0)
                why = NULL;
        va_end(ap);
        aws_error_setf(&err, "cannot get AWS credentials from %s: %s", p->process.what ?: "credential_process",
                       why ?: "out of memory");
        process_close(p);
        creds_provider_resolved(p, r, NULL, NULL, &err);
        aws_error_done(&err);
}

/* Reads what fd has now into b (at most max bytes, the rest drained and flagged);
 * 1 at the end of the stream, 0 when more may come, -errno. */
static int process_read(int fd, strbuf *b, size_t max, bool *ret_too_long) {
        char buf[4096];

        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        explicit_bzero(buf, sizeof(buf));
                        return errno == EAGAIN ? 0 : -errno;
                }
                if (n == 0) {
                        explicit_bzero(buf, sizeof(buf));
                        return 1;
                }
                if (b->len + (size_t) n > max) {
                        *ret_too_long = true;
                        continue;
                }
                if (strbuf_append(b, buf, (size_t) n) < 0) {
                        explicit_bzero(buf, sizeof(buf));
                        return -ENOMEM;
                }
        }
}

static int on_process_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        creds_provider *p = userdata;
        bool is_out = s == p->process.out_source;
        bool ignored = false;
        int r;

        (void) revents;
        r = is_out ? process_read(fd, &p->process.out, CREDS_PROCESS_MAX_OUTPUT, &p->process.too_long)
                   : process_read(fd, &p->process.err, 64 * 1024, &ignored);
        if (r != 0)
                /* The end, or an error reading: the exit tells the rest. */
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

/* "exited with status 3: first line" / "was killed by signal 9". */
static void process_describe_exit(creds_provider *p, const siginfo_t *si, char *buf, size_t size) {
        const char *err = p->process.err.data ?: "";
        size_t n = strcspn(err, "\r\n");
        char line[CREDS_PROCESS_MAX_ERROR_LINE + 1];

        n = MIN(n, (size_t) CREDS_PROCESS_MAX_ERROR_LINE);
        for (size_t i = 0; i < n; i++)
                line[i] = (unsigned char) err[i] < 0x20 || err[i] == 0x7f ? '?' : err[i];
        line[n] = 0;
        if (si->si_code == CLD_EXITED)
                snprintf(buf, size, "exited with status %d%s%s", si->si_status, n > 0 ? ": " : "", line);
        else
                snprintf(buf, size, "was killed by signal %s%s%s", sigabbrev_np(si->si_status) ?: "?",
                         n > 0 ? ": " : "", line);
}

/* The command has exited and is reaped (si): its keys, or why not. */
static void process_finish(creds_provider *p, const siginfo_t *si) {
        _cleanup_(aws_error_done) aws_error err = {};
        aws_credentials *c = NULL;
        char status[CREDS_PROCESS_MAX_ERROR_LINE + 64];
        bool ignored = false;
        int r;

        p->process.pid = 0;

        /* What the command wrote before it exited is in the pipes; a child of its own
         * that keeps them open is not waited for. */
        if (p->process.out_source && sd_event_source_get_enabled(p->process.out_source, NULL) > 0)
                (void) process_read(p->process.out_fd, &p->process.out, CREDS_PROCESS_MAX_OUTPUT,
                                    &p->process.too_long);
        if (p->process.err_source && sd_event_source_get_enabled(p->process.err_source, NULL) > 0)
                (void) process_read(p->process.err_fd, &p->process.err, 64 * 1024, &ignored);

        if (p->process.timed_out) {
                process_fail(p, -ETIMEDOUT, "no answer within %llu s, killed",
                             (unsigned long long) (CREDS_PROCESS_TIMEOUT / USEC_PER_SEC));
                return;
        }
        if (si->si_code != CLD_EXITED || si->si_status != 0) {
                process_describe_exit(p, si, status, sizeof(status));
                process_fail(p, -EIO, "it %s", status);
                return;
        }
        if (p->process.too_long) {
                process_fail(p, -EBADMSG, "it printed more than %d KiB", CREDS_PROCESS_MAX_OUTPUT / 1024);
                return;
        }

        r = creds_parse_process_json(p->process.out.data ?: "", p->process.out.len, &c, &err);
        if (r < 0) {
                process_fail(p, r, "%s", err.message ?: strerror(-r));
                return;
        }
        process_close(p);
        creds_provider_resolved(p, 0, c, "custom-process", NULL);
}

static int on_process_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        siginfo_t si = {};

        (void) s;
        (void) revents;
        if (waitid(P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                return 0;               /* not yet: the pidfd stays readable until reaped */
        process_finish(userdata, &si);
        return 0;
}

/* Without pidfds (valgrind 3.19 does not know pidfd_open): asks every 20 ms instead. */
#define CREDS_PROCESS_POLL (20 * USEC_PER_MSEC)
static int on_process_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        creds_provider *p = userdata;
        siginfo_t si = {};

        (void) usec;
        if (waitid(P_PID, (id_t) p->process.pid, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0) {
                if (sd_event_source_set_time_relative(s, CREDS_PROCESS_POLL) >= 0)
                        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        process_finish(p, &si);
        return 0;
}

static int on_process_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        creds_provider *p = userdata;

        (void) s;
        (void) usec;
        /* The exit source reports the end; nothing is resolved here. */
        p->process.timed_out = true;
        if (p->process.pidfd >= 0)
                (void) pidfd_send_signal(p->process.pidfd, SIGKILL, NULL, 0);
        else
                (void) kill(p->process.pid, SIGKILL);   /* not reaped yet: the pid is still its */
        return 0;
}

/* botocore inherits stdin; a daemon's is nothing, and the command gets nothing. */
static int process_spawn(creds_provider *p, char **argv, int out_fd, int err_fd) {
        spawn_options o = { .argv = argv, .out_fd = out_fd, .err_fd = err_fd, .search = true };

        return spawn_child(&o, &p->process.pid);
}

static int process_watch(creds_provider *p, int fd, sd_event_source **ret, const char *description) {
        int r = sd_event_add_io(p->event, ret, fd, EPOLLIN, fd == p->process.pidfd ? on_process_exit : on_process_output, p);

        if (r >= 0)
                (void) sd_event_source_set_description(*ret, description);
        return r;
}

static int process_run(creds_provider *p, char **argv) {
        int out[2] = { -1, -1 }, err[2] = { -1, -1 };
        int r;

        if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = -errno;
                goto fail;
        }
        /* The command's ends block, as a pipe a program inherits usually does. */
        if (fcntl(out[1], F_SETFL, 0) < 0 || fcntl(err[1], F_SETFL, 0) < 0) {
                r = -errno;
                goto fail;
        }
        r = process_spawn(p, argv, out[1], err[1]);
        close(out[1]);
        close(err[1]);
        out[1] = err[1] = -1;
        p->process.out_fd = out[0];
        p->process.err_fd = err[0];
        out[0] = err[0] = -1;
        if (r < 0)
                goto fail;
        /* Not yet reaped, so the pidfd finds it even if it has already exited. */
        p->process.pidfd = pidfd_open(p->process.pid, 0);
        if (p->process.pidfd < 0 && errno != ENOSYS)
                return -errno;          /* the caller kills and reaps it */
        r = process_watch(p, p->process.out_fd, &p->process.out_source, "creds-process-stdout");
        if (r >= 0)
                r = process_watch(p, p->process.err_fd, &p->process.err_source, "creds-process-stderr");
        if (r >= 0 && p->process.pidfd >= 0)
                r = process_watch(p, p->process.pidfd, &p->process.exit_source, "creds-process-exit");
        else if (r >= 0) {
                r = sd_event_add_time_relative(p->event, &p->process.exit_source, CLOCK_MONOTONIC,
                                               CREDS_PROCESS_POLL, 0, on_process_poll, p);
                if (r >= 0)
                        (void) sd_event_source_set_description(p->process.exit_source, "creds-process-exit");
        }
        if (r >= 0)
                r = sd_event_add_time_relative(p->event, &p->process.timer, CLOCK_MONOTONIC, CREDS_PROCESS_TIMEOUT,
                                               USEC_PER_SEC, on_process_timeout, p);
        if (r >= 0)
                (void) sd_event_source_set_description(p->process.timer, "creds-process-timeout");
        return r;
fail:
        for (size_t i = 0; i < 2; i++) {
                if (out[i] >= 0)
                        close(out[i]);
                if (err[i] >= 0)
                        close(err[i]);
        }
        return r;
}

void creds_process_start(creds_provider *p, const char *command, const char *what) {
        _cleanup_(strv_freep) char **argv = NULL;
        int r;

        process_close(p);
        p->process.out.secret = true;           /* stdout is keys: no copy left when it grows */
        p->process.what = strdup(what);
        r = creds_process_split(command, &argv);
        if (r == -ENOMEM || !p->process.what) {
                process_fail(p, -ENOMEM, "out of memory");
                return;
        }
        if (r < 0) {
                process_fail(p, -EINVAL, "the command line %s",
                             r == -ENOENT ? "is empty" : "has an unclosed quote or ends in a backslash");
                return;
        }
        r = process_run(p, argv);
        if (r < 0) {
                if (p->process.pid > 0) {
                        /* Started, but not watched: killed and reaped before saying why. */
                        (void) kill(p->process.pid, SIGKILL);
                        (void) waitpid(p->process.pid, NULL, 0);
                        p->process.pid = 0;
                }
                process_fail(p, r, "cannot run '%s': %s", argv[0], strerror(-r));
        }
}

void creds_process_cancel(creds_provider *p) {
        if (p->process.pid > 0) {
                /* Killed and reaped at once: SIGKILL cannot be caught, and a zombie must not stay. */
                (void) kill(p->process.pid, SIGKILL);
                (void) waitpid(p->process.pid, NULL, 0);
        }
        process_close(p);
}
