/* SPDX-License-Identifier: MIT */
/*
 * The freeze and thaw scripts as amirotd sends them (run/hook-script.h), printed for
 * tests/integration/test_hook_script.py, which runs them in a real shell:
 *
 *   hook-script-print freeze SECONDS TOKEN [MOUNTINFO STATE-DIR]
 *   hook-script-print thaw TOKEN [MOUNTINFO STATE-DIR]
 *
 * Without MOUNTINFO and STATE-DIR, the instance's paths (/proc/self/mountinfo,
 * /run/amirotd-freeze). Exits 2 when the builder refuses its arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "run/hook-script.h"

int main(int argc, char **argv) {
        _cleanup_(freep) char *text = NULL;
        hook_script_paths at = { HOOK_SCRIPT_MOUNTINFO, HOOK_SCRIPT_STATE_DIR };
        bool freeze = argc >= 2 && streq(argv[1], "freeze");
        int first = freeze ? 4 : 3, r;
        uint64_t timeout = 0;

        if (argc < first || (argc != first && argc != first + 2) || (!freeze && !streq(argv[1], "thaw"))) {
                fprintf(stderr, "usage: %s freeze SECONDS TOKEN [MOUNTINFO STATE-DIR] | thaw TOKEN [MOUNTINFO STATE-DIR]\n",
                        argv[0]);
                return 2;
        }
        if (argc == first + 2)
                at = (hook_script_paths) { argv[first], argv[first + 1] };
        if (freeze)
                timeout = strtoull(argv[2], NULL, 10);
        r = freeze ? hook_script_freeze_at(&at, timeout, argv[3], &text) : hook_script_thaw_at(&at, argv[2], &text);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", argv[1], strerror(-r));
                return 2;
        }
        fputs(text, stdout);
        return 0;
}
