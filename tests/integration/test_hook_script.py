# The freeze and thaw scripts of image.freeze (daemon/run/hook-script.c), run for real in a
# shell as SSM's AWS-RunShellScript would run them on an instance. The text comes from
# build/tests/hook-script-print, the same builders amirotd sends, with the mount table and
# the state directory of each test (the only two paths that differ on an instance).
#
# Two layers: a fake fsfreeze on PATH that records its calls, over a fake mountinfo, for
# the rules (what is frozen, tokens, watchdog, failures); and the real fsfreeze on
# loop-mounted ext4 file systems in a mount namespace of their own (root only), proving
# that a freeze really blocks writes and that the thaw and the watchdog really end it.
# The real layer never lets the script read the real mount table: a bug in the rule
# must not freeze this machine's root.
import os
import shutil
import signal
import subprocess
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PRINT = os.path.join(os.path.dirname(os.environ.get("AMIROTD", os.path.join(ROOT, "build", "amirotd"))),
                     "tests", "hook-script-print")

# A mount table with one of each case of the rule (mountinfo(5)'s format).
MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda1 rw,discard
40 27 254:0 /srv /srv/bind rw,relatime - ext4 /dev/vda1 rw
41 27 254:1 / /var rw,relatime shared:5 - xfs /dev/vdb rw
42 27 254:2 / /data rw,relatime shared:1 master:2 - xfs /dev/vdc rw
43 27 254:2 / /data2 rw,relatime - xfs /dev/vdc rw
44 27 254:3 / /my\\040disk rw,relatime - ext4 /dev/vdd rw
45 27 254:4 / /ro ro,relatime - ext4 /dev/vde ro
46 27 0:50 / /nfs rw,relatime - nfs4 srv:/x rw
47 27 254:5 / /boot/efi rw,relatime - vfat /dev/vdf rw
48 27 0:51 / /run rw - tmpfs tmpfs rw
49 27 0:52 / /home rw - btrfs /dev/vdg rw,subvol=/home
50 27 0:52 / /home2 rw - btrfs /dev/vdg rw,subvol=/home2
51 27 254:6 / /nl\\012x rw - ext4 /dev/vdh rw
52 27 0:53 / /merged rw - overlay overlay rw
53 27 254:7 / /tmp rw,relatime - ext4 /dev/vdi rw
54 41 254:8 / /var/tmp rw,relatime - xfs /dev/vdj rw
"""
# /data once though mounted twice, "/my disk" unescaped, /home once for its two subvolumes;
# not /, its bind mount /srv/bind, /var (holds /var/lib/amazon/ssm), read-only, network,
# vfat, tmpfs, overlay, a name with a newline, or /tmp and /var/tmp (volumes of their own
# on CIS-hardened images: the tools a thaw runs may write there).
FROZEN = ["/data", "/my disk", "/home"]

FAKE_FSFREEZE = """#!/bin/sh
# records "-f MOUNT" / "-u MOUNT"; fails -f of a mount point containing $FAIL_ON (recorded
# as "failed -f MOUNT": the file system is not frozen by it); takes $SLOW_SECONDS over -f
# of one containing $SLOW_ON (a freeze that flushes a busy disk)
if [ "$1" = -f ] && [ -n "${SLOW_ON:-}" ]; then
        case "$2" in *"$SLOW_ON"*) sleep "$SLOW_SECONDS";; esac
fi
if [ "$1" = -f ] && [ -n "${FAIL_ON:-}" ]; then
        case "$2" in *"$FAIL_ON"*)
                echo "failed $1 $2" >>"$FSFREEZE_LOG"
                echo "fsfreeze: $2: Device or resource busy" >&2
                exit 1;;
        esac
fi
echo "$1 $2" >>"$FSFREEZE_LOG"
exit 0
"""


def script(*args):
    r = subprocess.run([PRINT, *args], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout


class Instance:
    """A fake instance: a mount table, a state directory, a recording fsfreeze."""

    def __init__(self, tmp, mountinfo=MOUNTINFO, shell="sh"):
        self.tmp = tmp
        self.shell = shell
        self.mountinfo = os.path.join(tmp, "mountinfo")
        self.state = os.path.join(tmp, "run", "amirotd-freeze")
        self.log = os.path.join(tmp, "fsfreeze.log")
        bindir = os.path.join(tmp, "bin")
        os.makedirs(bindir)
        with open(self.mountinfo, "w") as f:
            f.write(mountinfo)
        with open(os.path.join(bindir, "fsfreeze"), "w") as f:
            f.write(FAKE_FSFREEZE)
        os.chmod(os.path.join(bindir, "fsfreeze"), 0o755)
        open(self.log, "w").close()
        self.bindir = bindir
        self.env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"], FSFREEZE_LOG=self.log)

    def slow_sync(self, seconds):
        """A sync that takes this long (dirty pages on a slow disk)."""
        with open(os.path.join(self.bindir, "sync"), "w") as f:
            f.write(f"#!/bin/sh\nsleep {seconds}\n")
        os.chmod(os.path.join(self.bindir, "sync"), 0o755)

    def run(self, text, timeout=20, **env):
        start = time.monotonic()
        r = subprocess.run([self.shell, "-c", text], capture_output=True, text=True, timeout=timeout,
                           env=dict(self.env, **env), check=False)
        r.elapsed = time.monotonic() - start
        return r

    def freeze(self, token, seconds=30, timeout=20, **env):
        return self.run(script("freeze", str(seconds), token, self.mountinfo, self.state), timeout=timeout, **env)

    def thaw(self, token):
        return self.run(script("thaw", token, self.mountinfo, self.state))

    def calls(self):
        with open(self.log) as f:
            return f.read().splitlines()

    def frozen(self):
        """What the calls leave frozen, in the order frozen."""
        frozen = []
        for c in self.calls():
            if c.startswith("failed "):
                continue
            op, mount = c.split(" ", 1)
            if op == "-f":
                frozen.append(mount)
            elif mount in frozen:
                frozen.remove(mount)
        return frozen

    def watchdogs(self):
        """The live watchdogs of this instance's state directory."""
        pids = []
        for pid in os.listdir("/proc"):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if b"amirotd-freeze-watchdog" in argv and self.state.encode() in argv:
                pids.append(int(pid))
        return pids

    def cleanup(self):
        for pid in self.watchdogs():
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(params=["sh", "bash"])
def instance(request, tmp_path):
    if not shutil.which(request.param):
        pytest.skip(f"no {request.param}")
    i = Instance(str(tmp_path), shell=request.param)
    yield i
    i.cleanup()


def wait_for(predicate, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_scripts_carry_what_ec2sim_and_operators_read():
    text = script("freeze", "60", "db.20261201T0000Z")
    assert "\nFREEZE_TIMEOUT=60\n" in text
    assert "fsfreeze -f" in text and "fsfreeze -u" in text
    assert "TOKEN='db.20261201T0000Z'" in text
    assert "STATE='/run/amirotd-freeze'" in text and "MOUNTINFO='/proc/self/mountinfo'" in text
    # ec2sim's model (ec2simlib/freeze.py) tells a thaw from a freeze by -u without -f
    thaw = script("thaw", "db.20261201T0000Z")
    assert "fsfreeze -u" in thaw and "fsfreeze -f" not in thaw and "FREEZE_TIMEOUT" not in thaw


@pytest.mark.parametrize("args", [["freeze", "0", "t"], ["freeze", "60", "a'b"], ["freeze", "60", ""],
                                  ["thaw", "x" * 129], ["thaw", "a b"], ["thaw", "t", "/m", "rel/state"]])
def test_builders_refuse_what_cannot_be_quoted(args):
    r = subprocess.run([PRINT, *args], capture_output=True, text=True, check=False)
    assert r.returncode == 2, r.stdout


def test_freeze_then_thaw_leaves_nothing_frozen(instance):
    r = instance.freeze("db.1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"frozen {m}" for m in FROZEN]
    assert instance.frozen() == FROZEN
    assert len(instance.watchdogs()) == 1

    r = instance.thaw("db.1")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == sorted(f"thawed {m}" for m in FROZEN)
    assert instance.frozen() == []
    assert wait_for(lambda: instance.watchdogs() == [], 5), "the thaw ends the watchdog"
    assert not os.path.exists(os.path.join(instance.state, "token"))

    # and again: nothing left to do, nothing touched
    calls = instance.calls()
    r = instance.thaw("db.1")
    assert (r.returncode, r.stdout) == (0, "nothing frozen\n")
    assert instance.calls() == calls


def test_the_rule_never_freezes_root_or_the_agents_file_systems(instance):
    r = instance.freeze("db.1")
    assert r.returncode == 0, r.stderr
    called = {c.split(" ", 1)[1] for c in instance.calls()}
    assert called == set(FROZEN)
    for never in ["/", "/srv/bind", "/var", "/data2", "/home2", "/ro", "/nfs", "/boot/efi", "/run", "/merged", "/tmp",
                  "/var/tmp"]:
        assert never not in called


def test_without_a_thaw_the_watchdog_thaws_at_the_deadline(instance):
    r = instance.freeze("db.1", seconds=2)
    assert r.returncode == 0, r.stderr
    # detached: SSM sees the command end at once, not after the deadline
    assert r.elapsed < 1.5
    assert instance.frozen() == FROZEN
    time.sleep(1)
    assert instance.frozen() == FROZEN, "thawed before the deadline"
    assert wait_for(lambda: instance.frozen() == [], 5), instance.calls()
    assert wait_for(lambda: instance.watchdogs() == [], 5)
    assert not os.path.exists(os.path.join(instance.state, "token"))


def test_a_thaw_of_an_older_token_leaves_a_newer_freeze_alone(instance):
    assert instance.freeze("db.1").returncode == 0
    r = instance.freeze("db.2")           # the older freeze, never thawed, gives way
    assert r.returncode == 0, r.stderr
    assert instance.frozen() == FROZEN
    calls = instance.calls()

    r = instance.thaw("db.1")
    assert r.returncode == 0
    assert r.stdout == "nothing frozen by db.1 (the freeze in place is db.2's)\n"
    assert instance.calls() == calls
    assert len(instance.watchdogs()) == 1

    assert instance.thaw("db.2").returncode == 0
    assert instance.frozen() == []


def test_an_older_watchdog_leaves_a_newer_freeze_alone(instance):
    # a freeze with a short deadline, then one with a long deadline, of another token
    assert instance.freeze("db.1", seconds=2).returncode == 0
    assert instance.freeze("db.2", seconds=60).returncode == 0
    # and of the same token, its first watchdog beyond reach (its pid file lost): each
    # run of a freeze has its own key
    assert instance.freeze("db.3", seconds=2).returncode == 0
    os.unlink(os.path.join(instance.state, "watchdog"))
    assert instance.freeze("db.3", seconds=60).returncode == 0
    calls = instance.calls()
    time.sleep(3.5)
    assert instance.calls() == calls, "an old watchdog thawed a later freeze"
    assert instance.frozen() == FROZEN
    assert instance.thaw("db.3").returncode == 0
    assert instance.frozen() == []


def test_a_failing_freeze_thaws_what_it_froze_and_fails(instance):
    r = instance.freeze("db.1", FAIL_ON="disk")
    assert r.returncode != 0
    assert "amirotd: cannot freeze /my disk: thawed what was frozen" in r.stderr
    assert "frozen /data" in r.stdout.splitlines()
    assert instance.frozen() == []
    # what it could not freeze is not its to thaw (another tool may hold it frozen)
    assert "-u /my disk" not in instance.calls()
    assert "-f /home" not in instance.calls(), "froze on after a failure"
    assert wait_for(lambda: instance.watchdogs() == [], 5)
    assert instance.thaw("db.1").stdout == "nothing frozen\n"


def test_a_sync_that_outlasts_the_deadline_freezes_nothing(instance):
    # freeze_timeout 2s, a sync of 4s: freezing after it would outlive the watchdog's
    # deadline, so the freeze gives up, and says why
    instance.slow_sync(4)
    r = instance.freeze("db.1", seconds=2)
    assert r.returncode != 0, r.stdout
    assert "freeze_timeout" in r.stderr and "not freezing" in r.stderr, r.stderr
    assert instance.calls() == [], "froze past the deadline"
    assert wait_for(lambda: instance.watchdogs() == [], 5)
    assert not os.path.exists(os.path.join(instance.state, "token"))


def test_a_freeze_that_hangs_past_the_deadline_still_ends_thawed(tmp_path):
    # The review's case: one fsfreeze -f that takes over a minute past freeze_timeout.
    # The watchdog waits for the freeze to let go of the lock however long that takes (it
    # used to give up after 60s), and the freeze freezes nothing more once its deadline
    # has passed: it thaws what it froze and fails. Slow (65s), so in one shell only.
    i = Instance(str(tmp_path))
    try:
        r = i.freeze("db.1", seconds=1, timeout=90, SLOW_ON="disk", SLOW_SECONDS="63")
        assert r.returncode != 0, r.stdout
        assert "-f /home" not in i.calls(), "froze on past the deadline"
        assert wait_for(lambda: i.frozen() == [], 5), i.calls()
        assert wait_for(lambda: i.watchdogs() == [], 5)
    finally:
        i.cleanup()


def test_a_thaw_waits_for_a_freeze_in_progress(instance):
    # amirotd gave up waiting for a freeze whose sync is slow and sends the thaw: the thaw
    # waits for the freeze to end and thaws what it froze, instead of failing at once
    instance.slow_sync(2)
    freeze = subprocess.Popen([instance.shell, "-c", script("freeze", "60", "db.1", instance.mountinfo,
                                                             instance.state)],
                              env=instance.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: os.path.exists(os.path.join(instance.state, "token")), 5)
        r = instance.thaw("db.1")
        assert freeze.wait(timeout=10) == 0
        assert r.returncode == 0, r.stderr
        assert instance.frozen() == []
    finally:
        freeze.kill()
        freeze.wait()


def test_running_the_freeze_twice_is_safe(instance):
    first = instance.freeze("db.1")
    second = instance.freeze("db.1")
    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    assert second.stdout == first.stdout
    assert instance.frozen() == FROZEN
    assert wait_for(lambda: len(instance.watchdogs()) == 1, 5), "one watchdog, not two"
    assert instance.thaw("db.1").returncode == 0
    assert instance.frozen() == []


def test_a_thaw_before_any_freeze_is_harmless(instance):
    r = instance.thaw("db.1")
    assert (r.returncode, r.stdout) == (0, "nothing frozen\n")
    assert instance.calls() == []


def test_an_instance_with_only_root_has_nothing_to_freeze(instance):
    with open(instance.mountinfo, "w") as f:
        f.write(MOUNTINFO.splitlines()[1] + "\n" + MOUNTINFO.splitlines()[3] + "\n")
    r = instance.freeze("db.1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("nothing to freeze")
    assert instance.calls() == []
    assert wait_for(lambda: instance.watchdogs() == [], 5)


# ---- The real fsfreeze, on loop-mounted ext4 in a mount namespace of its own ----------

class Namespace:
    """A mount namespace kept alive by a sleeping process; commands enter it by nsenter."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sleep", "600"])
        self.mounts = []
        time.sleep(0.2)

    def run(self, argv, timeout=20, **kw):
        return subprocess.run(["nsenter", "-t", str(self.proc.pid), "-m", "--", *argv], capture_output=True,
                              text=True, timeout=timeout, check=False, **kw)

    def mount_ext4(self, name):
        img, mnt = os.path.join(self.tmp, name + ".img"), os.path.join(self.tmp, name)
        os.makedirs(mnt)
        subprocess.run(["truncate", "-s", "32M", img], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", img], check=True, capture_output=True)
        r = self.run(["mount", "-o", "loop", img, mnt])
        if r.returncode != 0:
            raise OSError(r.stderr)
        self.mounts.append(mnt)
        return mnt

    def mountinfo_of_ours(self):
        r = self.run(["cat", "/proc/self/mountinfo"])
        return "".join(line + "\n" for line in r.stdout.splitlines() if line.split()[4] in self.mounts)

    def writer(self, mnt):
        """A write into mnt, in the background: it blocks while mnt is frozen."""
        return subprocess.Popen(["nsenter", "-t", str(self.proc.pid), "-m", "--", "sh", "-c",
                                 f"echo x >'{mnt}/written' && sync '{mnt}/written'"])

    def close(self):
        for m in self.mounts:               # whatever a failed test left frozen
            self.run(["fsfreeze", "-u", m])
            self.run(["umount", m])
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def namespace(tmp_path):
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("unshare", "nsenter", "mkfs.ext4", "fsfreeze")):
        pytest.skip("needs root, unshare, nsenter, mkfs.ext4 and fsfreeze")
    ns = Namespace(str(tmp_path))
    try:
        a = ns.mount_ext4("a")
        b = ns.mount_ext4("b")
    except (OSError, subprocess.CalledProcessError) as e:
        ns.close()
        pytest.skip(f"no loop-mounted ext4 here: {e}")
    # ours, and a root line of a device that is not this machine's: nothing else to read
    with open(os.path.join(str(tmp_path), "mountinfo"), "w") as f:
        f.write("1 0 253:99 / / rw - ext4 /dev/fake-root rw\n" + ns.mountinfo_of_ours())
    yield ns, a, b
    ns.close()


def is_frozen(ns, mnt):
    """Whether mnt is frozen: fsfreeze -u succeeds only on a frozen file system (and thaws it)."""
    return ns.run(["fsfreeze", "-u", mnt]).returncode == 0


def real_scripts(tmp, token, seconds):
    mi, state = os.path.join(tmp, "mountinfo"), os.path.join(tmp, "state")
    return script("freeze", str(seconds), token, mi, state), script("thaw", token, mi, state)


def test_real_freeze_blocks_writes_until_the_thaw(namespace, tmp_path):
    ns, a, b = namespace
    freeze, thaw = real_scripts(str(tmp_path), "db.1", 60)
    r = ns.run(["sh", "-c", freeze])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"frozen {a}", f"frozen {b}"]
    w = ns.writer(a)
    time.sleep(1)
    assert w.poll() is None, "a write went through a frozen file system"
    r = ns.run(["sh", "-c", thaw])
    assert r.returncode == 0, r.stderr
    assert w.wait(timeout=10) == 0
    assert not is_frozen(ns, a) and not is_frozen(ns, b)


def test_real_freeze_thaws_itself_at_the_deadline(namespace, tmp_path):
    ns, a, b = namespace
    freeze, _ = real_scripts(str(tmp_path), "db.1", 2)
    r = ns.run(["sh", "-c", freeze])
    assert r.returncode == 0, r.stderr
    w = ns.writer(b)
    time.sleep(0.5)
    assert w.poll() is None
    assert w.wait(timeout=10) == 0, "the watchdog did not thaw"
    assert not is_frozen(ns, a) and not is_frozen(ns, b)


def test_real_thaw_writes_no_temporary_file(namespace, tmp_path):
    # bash before 5.1 (/bin/sh on Amazon Linux 2) writes each here-document to a file in
    # $TMPDIR or /tmp; where that is a file system the freeze froze, such a thaw blocks on
    # it until the watchdog's deadline. BASH_COMPAT=50 makes today's bash do the same.
    if not shutil.which("bash"):
        pytest.skip("no bash")
    ns, a, b = namespace
    freeze, thaw = real_scripts(str(tmp_path), "db.1", 60)
    assert ns.run(["sh", "-c", freeze]).returncode == 0
    p = subprocess.Popen(["nsenter", "-t", str(ns.proc.pid), "-m", "--", "env", f"TMPDIR={a}", "BASH_COMPAT=50",
                          "bash", "-c", thaw], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        ns.run(["fsfreeze", "-u", a])       # lets the blocked thaw go, to end it
        p.kill()
        p.communicate()
        pytest.fail("the thaw blocked on a temporary file in a frozen file system")
    assert p.returncode == 0, err
    assert not is_frozen(ns, a) and not is_frozen(ns, b)


def test_real_freeze_of_a_busy_file_system_thaws_the_others(namespace, tmp_path):
    ns, a, b = namespace
    freeze, _ = real_scripts(str(tmp_path), "db.1", 60)
    assert ns.run(["fsfreeze", "-f", b]).returncode == 0     # frozen by someone else: -f fails (EBUSY)
    r = ns.run(["sh", "-c", freeze])
    assert r.returncode != 0
    assert f"cannot freeze {b}" in r.stderr
    assert not is_frozen(ns, a), "the first file system stayed frozen"
    assert is_frozen(ns, b)          # the other's own freeze, thawed by is_frozen


def test_no_freeze_without_what_the_watchdog_needs(tmp_path):
    i = Instance(str(tmp_path))
    bindir = os.path.join(str(tmp_path), "bin")
    for tool in ("sh", "cat", "mkdir", "flock", "sync", "awk", "grep", "rm", "sed", "mv", "sleep"):
        os.symlink(shutil.which(tool), os.path.join(bindir, tool))
    r = i.run(script("freeze", "30", "db.1", i.mountinfo, i.state), PATH=bindir)   # no setsid
    assert r.returncode != 0
    assert "amirotd: setsid is missing: not freezing" in r.stderr
    assert i.calls() == []


def test_a_freeze_that_comes_after_its_thaw_refuses(instance):
    """SSM delivered the thaw first (the freeze was slow to arrive, amirotd gave up on it and
    thawed): the late freeze must not freeze for its whole watchdog period (review finding 4)."""
    r = instance.thaw("db.1")
    assert r.returncode == 0, r.stderr

    r = instance.freeze("db.1")

    assert r.returncode != 0
    assert "thawed already" in r.stderr, r.stderr
    assert instance.frozen() == []
    assert instance.watchdogs() == []
    # The tombstone is spent: the next freeze of the token (a retry of the slot) freezes.
    r = instance.freeze("db.1")
    assert r.returncode == 0, r.stderr
    assert instance.frozen() == FROZEN
    assert instance.thaw("db.1").returncode == 0


def test_a_thaw_that_found_its_freeze_leaves_no_tombstone(instance):
    """A thaw after its freeze (the usual order, or the thaw of a restart) does not keep the
    next freeze of the same slot (a retry) from freezing."""
    assert instance.freeze("db.1").returncode == 0
    assert instance.thaw("db.1").returncode == 0

    r = instance.freeze("db.1")

    assert r.returncode == 0, r.stderr
    assert instance.frozen() == FROZEN
    assert instance.thaw("db.1").returncode == 0
