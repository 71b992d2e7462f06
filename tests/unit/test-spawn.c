/* SPDX-License-Identifier: MIT */
/*
 * base/spawn.c: a child gets stdin /dev/null, the descriptors it was given and no other
 * of the daemon's, no blocked signal, and a process group of its own when asked.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/spawn.h"
#include "base/util.h"

/* Runs argv with its output into a pipe; returns what it printed (at most 4 KiB). */
static char *run(char **argv, bool new_group) {
        static char buf[4096];
        int out[2];
        pid_t pid;
        ssize_t n, got = 0;
        int status;
        spawn_options o = { .argv = argv, .search = true, .new_group = new_group };

        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        o.out_fd = o.err_fd = out[1];
        assert_int_equal(spawn_child(&o, &pid), 0);
        close(out[1]);
        while ((n = read(out[0], buf + got, sizeof(buf) - 1 - got)) > 0)
                got += n;
        close(out[0]);
        buf[got] = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        return buf;
}

static void test_no_descriptor_of_the_daemon(void **state) {
        int leaked = open("/dev/null", O_RDONLY);      /* as curl's sockets: not close-on-exec */
        char fd[16], line[32];
        char sh[] = "sh", c[] = "-c", script[] = "ls /proc/$$/fd | tr '\\n' ' '";
        char *argv[] = { sh, c, script, NULL };
        const char *out;

        (void) state;
        assert_true(leaked > 2);
        snprintf(fd, sizeof(fd), "%d", leaked);
        out = run(argv, false);
        snprintf(line, sizeof(line), " %s ", fd);
        assert_null(strstr(out, line));
        assert_non_null(strstr(out, "0 1 2 "));
        close(leaked);
}

static void test_no_blocked_signal_and_own_group(void **state) {
        sigset_t term, old;
        char sh[] = "sh", c[] = "-c";
        char script[] = "grep SigBlk /proc/self/status; [ \"$(cut -d' ' -f5 /proc/$$/stat)\" = $$ ] && echo own group";
        char *argv[] = { sh, c, script, NULL };
        const char *out;

        (void) state;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        assert_int_equal(sigprocmask(SIG_BLOCK, &term, &old), 0);
        out = run(argv, true);
        assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
        assert_non_null(strstr(out, "SigBlk:\t0000000000000000"));
        assert_non_null(strstr(out, "own group"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_descriptor_of_the_daemon),
                cmocka_unit_test(test_no_blocked_signal_and_own_group),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
