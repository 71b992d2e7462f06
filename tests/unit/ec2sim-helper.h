/* SPDX-License-Identifier: MIT */
/*
 * Starts a local test server that prints "... listening on http://HOST:PORT"
 * as its first line (tests/ec2sim/ec2sim, or a small canned server) for a test
 * program, and stops it again: fork, exec /usr/bin/python3, read the URL from a
 * pipe. The server gets SIGTERM when the test process dies, so a crashed test
 * leaves nothing behind. Also drives ec2sim's admin interface (/_sim/, JSON)
 * through http.c. Tests run from the repository root.
 */
#pragma once

#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aws-sync.h"
#include "aws/http.h"
#include "base/util.h"

#define TEST_EC2SIM "tests/ec2sim/ec2sim"
#define TEST_EC2SIM_ACCESS_KEY "AKIDEXAMPLE"
#define TEST_EC2SIM_SECRET_KEY "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TEST_EC2SIM_REGION "us-east-1"

typedef struct test_server {
        pid_t pid;
        char url[128];          /* "http://127.0.0.1:PORT" */
} test_server;

/* argv: the script and its arguments, NULL-terminated; run with /usr/bin/python3. */
static inline int test_server_start(test_server *s, const char *const *argv) {
        _cleanup_(strv_freep) char **args = NULL;
        char line[256] = {};
        size_t got = 0;
        const char *url;
        ssize_t k;
        int fds[2], r;
        pid_t pid, parent = getpid();

        /* The tests talk to 127.0.0.1 directly, whatever proxy the environment names. */
        setenv("no_proxy", "127.0.0.1,localhost", 1);
        setenv("NO_PROXY", "127.0.0.1,localhost", 1);

        /* Copied before fork(): the child only execs. */
        r = strv_extend(&args, "python3");
        for (size_t i = 0; r >= 0 && argv[i]; i++)
                r = strv_extend(&args, argv[i]);
        if (r < 0)
                return r;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return -errno;
        }
        if (pid == 0) {
                if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                        _exit(126);
                if (dup2(fds[1], STDOUT_FILENO) < 0)
                        _exit(126);
                execv("/usr/bin/python3", args);
                _exit(127);
        }
        close(fds[1]);
        while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
                k = read(fds[0], line + got, sizeof(line) - 1 - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                got += (size_t) k;
        }
        close(fds[0]);
        *s = (test_server) { .pid = pid };
        url = strstr(line, "http://");
        if (!url || sscanf(url, "%127[^ \r\n]", s->url) != 1) {
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
                *s = (test_server) {};
                return -EIO;
        }
        return 0;
}

static inline void test_server_stop(test_server *s) {
        if (s->pid > 0) {
                kill(s->pid, SIGTERM);
                waitpid(s->pid, NULL, 0);
                s->pid = 0;
        }
}

/* The simulator with images available at once (a test waits for nothing). */
static inline int test_ec2sim_start(test_server *s) {
        const char *argv[] = { TEST_EC2SIM, "--port", "0", "--pending-seconds", "0", NULL };

        return test_server_start(s, argv);
}

/*
 * METHOD URL/path with an optional JSON body; *ret (may be NULL) gets the parsed
 * JSON answer. -EIO for a transport failure or a status other than 200.
 */
static inline int test_ec2sim_admin(http_client *http, const test_server *s, const char *method,
                                    const char *path, const char *json, json_object **ret) {
        static const char *const headers[] = { "Content-Type: application/json", NULL };
        _cleanup_(freep) char *url = NULL;
        http_response resp = {};
        http_request req = {
                .method = method,
                .headers = headers,
                .body = json,
                .body_size = json ? strlen(json) : 0,
                .timeout = 60 * USEC_PER_SEC,
        };
        json_object *doc;
        int r;

        if (asprintf(&url, "%s%s", s->url, path) < 0)
                return -ENOMEM;
        req.url = url;
        r = http_client_run(http, &req, &resp);
        if (r < 0)
                return r;
        if (resp.error < 0 || resp.status != 200) {
                fprintf(stderr, "ec2sim admin %s %s: %d, HTTP %ld: %s\n", method, path, resp.error, resp.status,
                        resp.body ?: resp.error_message ?: "");
                http_response_done(&resp);
                return -EIO;
        }
        doc = json_tokener_parse(resp.body);
        http_response_done(&resp);
        if (!doc)
                return -EBADMSG;
        if (ret)
                *ret = doc;
        else
                json_object_put(doc);
        return 0;
}
