/* SPDX-License-Identifier: MIT */
/*
 * Starts tests/unit/httpd.py (the scripted local HTTP server) for a test
 * program and stops it again: fork, exec /usr/bin/python3, read the port it
 * prints. The server also exits on its own after its lifetime or when this
 * process is gone. Tests run from the repository root.
 */
#pragma once

#include <signal.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"

typedef struct test_httpd {
        pid_t pid;
        unsigned port;
        char base[64];          /* "http://127.0.0.1:PORT" */
} test_httpd;

static inline int test_httpd_start(test_httpd *h, unsigned lifetime_sec) {
        char lifetime[16], buf[32] = {};
        int fds[2];
        ssize_t n;
        size_t got = 0;
        pid_t pid;

        /* The tests talk to 127.0.0.1 directly, whatever proxy the environment names. */
        setenv("no_proxy", "127.0.0.1,localhost", 1);
        setenv("NO_PROXY", "127.0.0.1,localhost", 1);

        if (pipe(fds) < 0)
                return -errno;
        snprintf(lifetime, sizeof(lifetime), "%u", lifetime_sec);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                dup2(fds[1], STDOUT_FILENO);
                close(fds[0]);
                close(fds[1]);
                execl("/usr/bin/python3", "python3", "tests/unit/httpd.py", "--lifetime", lifetime, (char *) NULL);
                _exit(127);
        }
        close(fds[1]);
        while (got < sizeof(buf) - 1 && !memchr(buf, '\n', got)) {
                n = read(fds[0], buf + got, sizeof(buf) - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t) n;
        }
        close(fds[0]);
        *h = (test_httpd) { .pid = pid };
        if (sscanf(buf, "%u", &h->port) != 1 || h->port == 0) {
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
                return -EIO;
        }
        snprintf(h->base, sizeof(h->base), "http://127.0.0.1:%u", h->port);
        return 0;
}

static inline void test_httpd_stop(test_httpd *h) {
        if (h->pid > 0) {
                kill(h->pid, SIGTERM);
                waitpid(h->pid, NULL, 0);
                h->pid = 0;
        }
}

/* "BASE/path" into a static buffer of the caller's. */
static inline const char *test_httpd_url(const test_httpd *h, const char *path, char buf[static 256]) {
        snprintf(buf, 256, "%s%s", h->base, path);
        return buf;
}
