/* SPDX-License-Identifier: MIT */
/* See spawn.h. */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include "spawn.h"

extern char **environ;

static int actions_set(posix_spawn_file_actions_t *a, const spawn_options *o) {
        int r = posix_spawn_file_actions_addopen(a, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

        if (r == 0)
                r = posix_spawn_file_actions_adddup2(a, o->out_fd, STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(a, o->err_fd, STDERR_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addclosefrom_np(a, STDERR_FILENO + 1);
        return -r;
}

static int attributes_set(posix_spawnattr_t *a, const spawn_options *o) {
        sigset_t all, none;
        int r;

        sigfillset(&all);
        sigemptyset(&none);
        r = posix_spawnattr_setflags(a, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        (o->new_group ? POSIX_SPAWN_SETPGROUP : 0));
        if (r == 0 && o->new_group)
                r = posix_spawnattr_setpgroup(a, 0);
        if (r == 0)
                r = posix_spawnattr_setsigmask(a, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(a, &all);
        return -r;
}

int spawn_child(const spawn_options *o, pid_t *ret_pid) {
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attr;
        char *const *env = o->env ?: environ;
        int r;

        r = -posix_spawn_file_actions_init(&actions);
        if (r < 0)
                return r;
        r = -posix_spawnattr_init(&attr);
        if (r < 0) {
                posix_spawn_file_actions_destroy(&actions);
                return r;
        }
        r = actions_set(&actions, o);
        if (r >= 0)
                r = attributes_set(&attr, o);
        if (r >= 0)
                r = -(o->search ? posix_spawnp : posix_spawn)(ret_pid, o->argv[0], &actions, &attr, o->argv, env);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        return r;
}
