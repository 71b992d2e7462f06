/* SPDX-License-Identifier: MIT */
/*
 * Starting a child program from the daemon: the credential_process of a profile
 * (aws/creds-process.c) and a local hook (run/hook-local.c). The child gets what a
 * program started by a person would, not what the loop holds: stdin /dev/null, its own
 * stdout and stderr, no other descriptor of the daemon (curl's sockets are not
 * close-on-exec), no blocked signal and every disposition at its default.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

typedef struct spawn_options {
        char *const *argv;              /* argv[0] is looked up in PATH when search */
        char *const *env;               /* NULL: the daemon's environment */
        int out_fd, err_fd;             /* become the child's stdout and stderr */
        bool search;
        bool new_group;                 /* a process group of its own, so that all of it can be signalled */
} spawn_options;

/* 0 with *ret_pid, or a negative errno. */
int spawn_child(const spawn_options *o, pid_t *ret_pid);
