/* SPDX-License-Identifier: MIT */
/*
 * The freeze and thaw scripts (hook-script.h), as text. What a freeze may freeze, the
 * rule of select_awk below:
 *
 *  - a local block-device file system of a type fsfreeze(8) can freeze: btrfs, ext2,
 *    ext3, ext4, f2fs, jfs, nilfs2, reiserfs, xfs (its source under /dev/; never a
 *    pseudo file system such as proc or tmpfs, never a network one such as nfs or cifs,
 *    never vfat, overlay or squashfs), mounted read-write;
 *  - never "/", nor a file system holding /var/lib/amazon/ssm, /var/log/amazon/ssm or
 *    /var/snap/amazon-ssm-agent: the SSM agent writes there to receive and run the thaw,
 *    and a frozen one would block it until the watchdog's deadline; nor those holding
 *    /tmp or /var/tmp (see KEEP_WRITABLE), nor the one holding the state directory.
 *    Those are known by their device (MAJOR:MINOR in mountinfo), so that a bind mount
 *    of the root file system elsewhere is left alone too;
 *  - each file system once (by device): a second freeze of the same one, through a bind
 *    mount or a btrfs subvolume, would fail with EBUSY;
 *  - a mount point with a newline in its name is skipped (the state lists one a line).
 *
 * The state under the state directory: token (whose freeze holds), run (which run of it:
 * the watchdog's key), mounts (what may be frozen, each written before it is frozen),
 * watchdog (its pid), lock (flock(1), which orders the freeze, the thaw and the watchdog).
 */
#include <inttypes.h>
#include <stdio.h>

#include "base/util.h"
#include "run/hook-script.h"

/* The directories whose file systems stay writable: the SSM agent's own (amazon-ssm-agent:
 * its state and logs, and the snap's data on Ubuntu), and /tmp and /var/tmp, volumes of their
 * own on CIS-hardened images, where the tools a thaw runs may need to write. */
#define KEEP_WRITABLE "/:/var/lib/amazon/ssm:/var/log/amazon/ssm:/var/snap/amazon-ssm-agent:/tmp:/var/tmp"

/* Shell functions of all three: the freeze, the thaw and the freeze's watchdog. */
static const char common_sh[] =
        "# Takes the lock that orders this script, a thaw and a watchdog: none acts on a half-written state.\n"
        "# Never gives up: a watchdog that gave up while a slow freeze held the lock would leave that\n"
        "# freeze in place for good. A freeze holds the lock no later than its deadline, and SSM's\n"
        "# executionTimeout ends a thaw that would wait longer.\n"
        "lock() {\n"
        "        exec 9>>\"$STATE/lock\" || return 1\n"
        "        command -v flock >/dev/null 2>&1 || return 0\n"
        "        if ! flock -n 9; then\n"
        "                echo \"amirotd: waiting for $STATE/lock, held by another freeze or thaw\" >&2\n"
        "                flock 9 || return 1\n"
        "        fi\n"
        "}\n"
        "# Thaws what the state names when it is freeze $1's (and, for a watchdog, run $2 of it),\n"
        "# ends that freeze's watchdog, and forgets the state. Harmless when nothing is frozen.\n"
        "thaw_state() {\n"
        "        if [ ! -f \"$STATE/token\" ]; then\n"
        "                echo \"nothing frozen\"\n"
        "                return 0\n"
        "        fi\n"
        "        thaw_held=$(cat \"$STATE/token\")\n"
        "        if [ \"$thaw_held\" != \"$1\" ]; then\n"
        "                echo \"nothing frozen by $1 (the freeze in place is $thaw_held's)\"\n"
        "                return 0\n"
        "        fi\n"
        "        if [ -n \"${2:-}\" ] && [ \"$(cat \"$STATE/run\" 2>/dev/null)\" != \"$2\" ]; then\n"
        "                return 0\n"
        "        fi\n"
        "        if [ -f \"$STATE/mounts\" ]; then\n"
        "                while IFS= read -r thaw_mount; do\n"
        "                        # fails for a file system that was never frozen (a freeze cut short): nothing to do\n"
        "                        if fsfreeze -u \"$thaw_mount\" 2>/dev/null; then\n"
        "                                echo \"thawed $thaw_mount\"\n"
        "                        fi\n"
        "                done <\"$STATE/mounts\"\n"
        "        fi\n"
        "        if [ -f \"$STATE/watchdog\" ]; then\n"
        "                read -r thaw_pid <\"$STATE/watchdog\" || thaw_pid=\n"
        "                # only that watchdog, not a process that has its number since\n"
        "                if [ -n \"$thaw_pid\" ] && [ \"$thaw_pid\" != \"$$\" ] && grep -q amirotd-freeze-watchdog \"/proc/$thaw_pid/cmdline\" 2>/dev/null; then\n"
        "                        kill \"$thaw_pid\" 2>/dev/null\n"
        "                fi\n"
        "        fi\n"
        "        rm -f \"$STATE/candidates\" \"$STATE/mounts\" \"$STATE/watchdog\" \"$STATE/run\" \"$STATE/token\"\n"
        "}\n";

/* The mount points to freeze (the rule at the top), by awk from mountinfo read twice: the
 * first pass finds the devices to keep writable. */
static const char select_awk[] =
        "# The file systems to freeze, one mount point a line, from /proc/self/mountinfo read twice\n"
        "# (mountinfo(5): ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER-OPTIONS).\n"
        "function unescape(s,    out, i) {\n"
        "        out = \"\"\n"
        "        while ((i = index(s, \"\\\\\")) > 0) {\n"
        "                out = out substr(s, 1, i - 1) sprintf(\"%c\", substr(s, i + 1, 1) * 64 + substr(s, i + 2, 1) * 8 + substr(s, i + 3, 1))\n"
        "                s = substr(s, i + 4)\n"
        "        }\n"
        "        return out s\n"
        "}\n"
        "function holds(m, path) {\n"
        "        return m == \"/\" || path == m || index(path, m \"/\") == 1\n"
        "}\n"
        "BEGIN {\n"
        "        n = split(keep, kept, \":\")\n"
        "        split(\"btrfs ext2 ext3 ext4 f2fs jfs nilfs2 reiserfs xfs\", t, \" \")\n"
        "        for (i in t)\n"
        "                freezable[t[i]] = 1\n"
        "}\n"
        "{\n"
        "        for (i = 7; i <= NF && $i != \"-\"; i++)\n"
        "                ;\n"
        "        dev = $3; mp = unescape($5); opts = $6; type = $(i + 1); src = $(i + 2)\n"
        "}\n"
        "NR == FNR {\n"
        "        for (k = 1; k <= n; k++)\n"
        "                if (holds(mp, kept[k]) && length(mp) >= depth[k]) {\n"
        "                        depth[k] = length(mp)\n"
        "                        holder[k] = dev\n"
        "                }\n"
        "        next\n"
        "}\n"
        "FNR == 1 {\n"
        "        for (k = 1; k <= n; k++)\n"
        "                if (k in holder)\n"
        "                        protected[holder[k]] = 1\n"
        "}\n"
        "(dev in protected) || (dev in done) || !(type in freezable) || src !~ /^\\/dev\\// || opts !~ /^rw(,|$)/ || index(mp, \"\\n\") {\n"
        "        next\n"
        "}\n"
        "{\n"
        "        done[dev] = 1\n"
        "        print mp\n"
        "}\n";

static const char freeze_sh[] =
        "# without them, no freeze: a freeze without its watchdog could stay frozen for good\n"
        "for tool in fsfreeze setsid awk sync date; do\n"
        "        if ! command -v \"$tool\" >/dev/null 2>&1; then\n"
        "                echo \"amirotd: $tool is missing: not freezing\" >&2\n"
        "                exit 1\n"
        "        fi\n"
        "done\n"
        "umask 077\n"
        "mkdir -p \"$STATE\" || exit 1\n"
        "lock || exit 1\n"
        "# Its thaw came first (this freeze was slow to arrive, and amirotd gave up on it): no freeze.\n"
        "# SSM delivers a freeze within 30 s of its send or never, so an older mark is not its\n"
        "# thaw's: a later freeze of the slot (a retry) freezes. Spent either way.\n"
        "if [ -f \"$STATE/thawed.$TOKEN\" ]; then\n"
        "        read -r thawed_at <\"$STATE/thawed.$TOKEN\" || thawed_at=0\n"
        "        rm -f \"$STATE/thawed.$TOKEN\"\n"
        "        if [ $(( $(date +%s) - ${thawed_at:-0} )) -le 60 ]; then\n"
        "                echo \"amirotd: $TOKEN was thawed already (its thaw came first): not freezing\" >&2\n"
        "                exit 1\n"
        "        fi\n"
        "fi\n"
        "# A freeze in place gives way, this one's own included (SSM delivered it twice, or amirotd\n"
        "# sent it again): thawed, and frozen anew below with a fresh watchdog, so that the file\n"
        "# systems always end in one whole freeze. An older freeze's watchdog then finds nothing of\n"
        "# its own to thaw.\n"
        "if [ -f \"$STATE/token\" ]; then\n"
        "        thaw_state \"$(cat \"$STATE/token\")\" >/dev/null\n"
        "fi\n"
        "# Nothing is frozen past this: the watchdog thaws at it, so a freeze made later would outlive it.\n"
        "DEADLINE=$(( $(date +%s) + FREEZE_TIMEOUT ))\n"
        "past_deadline() {\n"
        "        [ \"$(date +%s)\" -ge \"$DEADLINE\" ]\n"
        "}\n"
        "RUN=$(cat /proc/sys/kernel/random/uuid 2>/dev/null || echo \"$$-$(date +%s)\")\n"
        "printf '%s\\n' \"$RUN\" >\"$STATE/run\" && : >\"$STATE/mounts\" && printf '%s\\n' \"$TOKEN\" >\"$STATE/token\" || exit 1\n"
        "# The watchdog starts before the first freeze: whatever ends this script (SSM's\n"
        "# executionTimeout, say, over a fsfreeze that hangs), the file systems thaw at the deadline,\n"
        "# or as soon as this script lets go of the lock after it. Its own\n"
        "# session and /dev/null for output, so that SSM sees this command end at once; not the\n"
        "# lock's descriptor, or it would hold the lock while it sleeps.\n"
        "setsid sh -c \"$COMMON\"'\n"
        "sleep \"$1\"\n"
        "STATE=$4\n"
        "lock && thaw_state \"$2\" \"$3\"' amirotd-freeze-watchdog \"$FREEZE_TIMEOUT\" \"$TOKEN\" \"$RUN\" \"$STATE\" \\\n"
        "        </dev/null >/dev/null 2>&1 9>&- &\n"
        "echo $! >\"$STATE/watchdog\"\n"
        "# sync and fsfreeze without the lock's descriptor: one that hangs on a dead disk must not hold\n"
        "# the lock once SSM's executionTimeout has ended this script\n"
        "sync 9>&-\n"
        "if past_deadline; then\n"
        "        thaw_state \"$TOKEN\" >/dev/null\n"
        "        echo \"amirotd: sync outlasted freeze_timeout (${FREEZE_TIMEOUT}s): not freezing\" >&2\n"
        "        exit 1\n"
        "fi\n"
        "if ! awk -v keep=\"$KEEP:$STATE\" \"$SELECT\" \"$MOUNTINFO\" \"$MOUNTINFO\" >\"$STATE/candidates\"; then\n"
        "        thaw_state \"$TOKEN\" >/dev/null\n"
        "        echo \"amirotd: cannot read $MOUNTINFO\" >&2\n"
        "        exit 1\n"
        "fi\n"
        "if [ ! -s \"$STATE/candidates\" ]; then\n"
        "        thaw_state \"$TOKEN\" >/dev/null\n"
        "        echo \"nothing to freeze: no file system but / and those the SSM agent writes to\"\n"
        "        exit 0\n"
        "fi\n"
        "while IFS= read -r m; do\n"
        "        if past_deadline; then\n"
        "                thaw_state \"$TOKEN\"\n"
        "                echo \"amirotd: freezing outlasted freeze_timeout (${FREEZE_TIMEOUT}s): thawed what was frozen, not freezing $m\" >&2\n"
        "                exit 1\n"
        "        fi\n"
        "        # named before it is frozen: a thaw after a crash right here still finds it\n"
        "        printf '%s\\n' \"$m\" >>\"$STATE/mounts\"\n"
        "        if ! fsfreeze -f \"$m\" 9>&-; then\n"
        "                # not ours to thaw: frozen by someone else (EBUSY), or not frozen at all\n"
        "                sed '$d' \"$STATE/mounts\" >\"$STATE/mounts.new\" && mv \"$STATE/mounts.new\" \"$STATE/mounts\"\n"
        "                thaw_state \"$TOKEN\"\n"
        "                echo \"amirotd: cannot freeze $m: thawed what was frozen\" >&2\n"
        "                exit 1\n"
        "        fi\n"
        "        echo \"frozen $m\"\n"
        "done <\"$STATE/candidates\"\n"
        "# a last fsfreeze that ended past the deadline: the watchdog is thawing it, no image may count on it\n"
        "if past_deadline; then\n"
        "        thaw_state \"$TOKEN\"\n"
        "        echo \"amirotd: freezing outlasted freeze_timeout (${FREEZE_TIMEOUT}s): thawed what was frozen\" >&2\n"
        "        exit 1\n"
        "fi\n"
        "exit 0\n";

bool hook_script_token_valid(const char *token) {
        size_t n = token ? strlen(token) : 0;

        if (n == 0 || n > HOOK_SCRIPT_TOKEN_MAX)
                return false;
        for (const char *c = token; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                      strchr("._:-", *c)))
                        return false;
        return true;
}

/* Written inside single quotes: an absolute path without quotes, backslashes or newlines. */
static bool path_valid(const char *p) {
        return p && p[0] == '/' && !strpbrk(p, "'\\\n\"$`");
}

/* NAME='TEXT' on a line, each ' of TEXT written '\''. Not a here-document: bash before 5.1
 * (/bin/sh on Amazon Linux 2) writes those to a file in $TMPDIR or /tmp, where a thaw would
 * block on a frozen file system. */
static int put_assignment(strbuf *b, const char *name, const char *text) {
        if (strbuf_printf(b, "%s='", name) < 0)
                return -ENOMEM;
        for (;;) {
                size_t n = strcspn(text, "'");

                if (strbuf_append(b, text, n) < 0)
                        return -ENOMEM;
                if (!text[n])
                        break;
                if (strbuf_puts(b, "'\\''") < 0)
                        return -ENOMEM;
                text += n + 1;
        }
        return strbuf_puts(b, "'\n") < 0 ? -ENOMEM : 0;
}

/* The variables both scripts start with, and the common functions. */
static int put_head(strbuf *b, const char *what, const hook_script_paths *at, const char *token) {
        if (strbuf_printf(b, "#!/bin/sh\n# amirotd %s: see amirotd.yaml(5), image.freeze.\n"
                          "TOKEN='%s'\nMOUNTINFO='%s'\nSTATE='%s'\nKEEP='%s'\n",
                          what, token, at->mountinfo, at->state, KEEP_WRITABLE) < 0)
                return -ENOMEM;
        if (put_assignment(b, "COMMON", common_sh) < 0 || strbuf_puts(b, "eval \"$COMMON\"\n") < 0)
                return -ENOMEM;
        return 0;
}

static int finish(strbuf *b, int r, char **ret) {
        if (r < 0) {
                strbuf_done(b);
                return r;
        }
        *ret = strbuf_steal(b);
        return 0;
}

int hook_script_freeze_at(const hook_script_paths *at, uint64_t timeout, const char *token, char **ret) {
        strbuf b = {};
        int r;

        if (timeout == 0 || !hook_script_token_valid(token) || !path_valid(at->mountinfo) || !path_valid(at->state))
                return -EINVAL;
        r = put_head(&b, "freeze", at, token);
        if (r >= 0 && (strbuf_printf(&b, "FREEZE_TIMEOUT=%" PRIu64 "\n", timeout) < 0 ||
                       put_assignment(&b, "SELECT", select_awk) < 0 || strbuf_puts(&b, freeze_sh) < 0))
                r = -ENOMEM;
        return finish(&b, r, ret);
}

int hook_script_thaw_at(const hook_script_paths *at, const char *token, char **ret) {
        static const char thaw_sh[] =
                "umask 077\n"
                "mkdir -p \"$STATE\" || exit 1\n"
                "lock || exit 1\n"
                "# Nothing of this token frozen: its freeze may still arrive, late; the mark makes it refuse.\n"
                "if [ \"$(cat \"$STATE/token\" 2>/dev/null)\" != \"$TOKEN\" ]; then\n"
                "        date +%s >\"$STATE/thawed.$TOKEN\"\n"
                "fi\n"
                "thaw_state \"$TOKEN\"\n"
                "exit 0\n";
        strbuf b = {};
        int r;

        if (!hook_script_token_valid(token) || !path_valid(at->mountinfo) || !path_valid(at->state))
                return -EINVAL;
        r = put_head(&b, "thaw", at, token);
        if (r >= 0 && strbuf_puts(&b, thaw_sh) < 0)
                r = -ENOMEM;
        return finish(&b, r, ret);
}

static const hook_script_paths instance_paths = {
        .mountinfo = HOOK_SCRIPT_MOUNTINFO,
        .state = HOOK_SCRIPT_STATE_DIR,
};

int hook_script_freeze(uint64_t timeout, const char *token, char **ret) {
        return hook_script_freeze_at(&instance_paths, timeout, token, ret);
}

int hook_script_thaw(const char *token, char **ret) {
        return hook_script_thaw_at(&instance_paths, token, ret);
}
