# A real systemd-journald for the tests: the one already running, or a
# standalone one started here (as root) when /run/systemd/journal/socket is absent.
#
# The journal may be persistent and keep earlier runs' entries, and PIDs recycle
# (every few runs on a busy machine): a process's entries are those with its _PID
# received since it started, never _PID alone. "Since" is read on the monotonic
# clock of this boot: the reliability suite steps the wall clock (tests/reliability/
# test_clock.py), and an entry made after a step back carries an older wall-clock
# stamp than the start of its process.
import fcntl
import json
import os
import subprocess
import time

SOCKET = "/run/systemd/journal/socket"
JOURNALD = "/lib/systemd/systemd-journald"


# Wall-clock steps of the reliability suite stay within this (tests/integration/clockstep.py).
STEP_MARGIN_SECONDS = 900


def ensure_journald():
    """Starts a journald unless one answers. One started here stays running, as the
    system's would: the test processes (pytest -n) share it, and none may stop it under
    the others. A lock keeps two of them from starting one each."""
    os.makedirs("/run/systemd/journal", exist_ok=True)
    with open("/run/systemd/journal/.amirotd-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(SOCKET):
            # A journald that is busy (rotating, vacuuming) may refuse a probe now and then;
            # a second journald beside it would share its files and lose entries of both.
            for attempt in range(5):
                probe = subprocess.run(["systemd-cat", "-t", "amirotd-test-probe", "true"], capture_output=True,
                                       timeout=30)
                if probe.returncode == 0:
                    return
                if not journald_running():
                    break
                time.sleep(1)
            else:
                raise RuntimeError("systemd-journald runs but does not answer on " + SOCKET)
        subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.path.exists(SOCKET):
                return
            time.sleep(0.05)
    raise RuntimeError("systemd-journald did not create " + SOCKET)


def journald_running():
    """Whether a systemd-journald runs in this PID namespace."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == "systemd-journal":
                    return True
        except OSError:
            pass
    return False


def boot_id():
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip().replace("-", "")


def now_usec():
    """The journal's clock (__REALTIME_TIMESTAMP): microseconds since the epoch."""
    return time.time_ns() // 1000


class Source:
    """One process's entries: its PID, and the time just before it was started."""

    def __init__(self, pid, since_usec, since_monotonic=None):
        """since_usec: the wall clock's µs; or since_monotonic, CLOCK_MONOTONIC's µs (a test
        that steps the wall clock knows only that one), and since_usec None."""
        mono, wall = time.monotonic_ns() // 1000, now_usec()
        self.pid = pid
        # Each from the other at once, before any step.
        self.since_usec = since_usec if since_monotonic is None else wall - (mono - since_monotonic)
        self.since_monotonic = since_monotonic if since_monotonic is not None else mono - max(0, wall - since_usec)
        self.boot = boot_id()

    def __repr__(self):
        return f"_PID={self.pid} since {self.since_usec} µs"


def entries(source, match=None):
    """The journal entries of `source` (a Source), as dicts of fields, oldest first; with
    `match` (a journalctl match such as "_COMM=systemd-journal"), those entries since the
    source's start that match it instead of the source's _PID."""
    subprocess.run(["journalctl", "--flush"], capture_output=True, timeout=30)
    # --since narrows the search (by whole seconds, and wide enough for any step of the
    # wall clock); the exact bound is applied below, on the monotonic clock.
    cmd = ["journalctl", "-o", "json", "--no-pager",
           f"--since=@{source.since_usec // 1000000 - STEP_MARGIN_SECONDS}",
           match or f"_PID={source.pid}", f"_BOOT_ID={source.boot}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    out = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    out = [e for e in out if int(e.get("__MONOTONIC_TIMESTAMP", 0)) >= source.since_monotonic]
    return sorted(out, key=lambda e: int(e["__MONOTONIC_TIMESTAMP"]))


def dropped(source):
    """journald's own reports, since `source` started, of entries it failed to write and
    dropped ("Failed to write entry (N items, M bytes), ignoring: ..."). journald 252 does
    that to the first entry after the wall clock steps back now and then: it rotates its
    file on the step, and when the append to the new file fails it does not retry."""
    return [e for e in entries(source, "_COMM=systemd-journal")
            if e.get("MESSAGE", "").startswith("Failed to write entry")]


def wait_for(source, predicate, timeout=60, what="it"):
    """Polls the journal of `source` until predicate(entries) holds; returns the entries."""
    deadline = time.monotonic() + timeout
    while True:
        e = entries(source)
        if predicate(e):
            return e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; journal of {source} has:\n" +
                                 "\n".join(x.get("MESSAGE", "") for x in e[-40:]))
        time.sleep(0.3)
