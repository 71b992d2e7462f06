# A real systemd-journald for the tests: the one already running, or a
# standalone one started here (as root) when /run/systemd/journal/socket is absent.
#
# The journal may be persistent and keep earlier runs' entries, and PIDs recycle
# (every few runs on a busy machine): a process's entries are those with its _PID
# received since it started, never _PID alone.
import json
import os
import subprocess
import time

SOCKET = "/run/systemd/journal/socket"
JOURNALD = "/lib/systemd/systemd-journald"


def ensure_journald():
    """Returns the Popen of a journald started here, or None if one was running."""
    if os.path.exists(SOCKET):
        probe = subprocess.run(["systemd-cat", "-t", "amirotd-test-probe", "true"], capture_output=True,
                               timeout=30)
        if probe.returncode == 0:
            return None
    os.makedirs("/run/systemd/journal", exist_ok=True)
    proc = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.path.exists(SOCKET):
            return proc
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=10)
    raise RuntimeError("systemd-journald did not create " + SOCKET)


def now_usec():
    """The journal's clock (__REALTIME_TIMESTAMP): microseconds since the epoch."""
    return time.time_ns() // 1000


class Source:
    """One process's entries: its PID, and the time just before it was started."""

    def __init__(self, pid, since_usec):
        self.pid = pid
        self.since_usec = since_usec

    def __repr__(self):
        return f"_PID={self.pid} since {self.since_usec} µs"


def entries(source):
    """The journal entries of `source` (a Source), as dicts of fields, oldest first."""
    subprocess.run(["journalctl", "--flush"], capture_output=True, timeout=30)
    # --since narrows the search to whole seconds; the exact bound is applied below.
    cmd = ["journalctl", "-o", "json", "--no-pager", f"--since=@{source.since_usec // 1000000}",
           f"_PID={source.pid}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    out = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return [e for e in out if int(e.get("__REALTIME_TIMESTAMP", 0)) >= source.since_usec]


def wait_for(source, predicate, timeout=60):
    """Polls the journal of `source` until predicate(entries) holds; returns the entries."""
    deadline = time.monotonic() + timeout
    while True:
        e = entries(source)
        if predicate(e):
            return e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting; journal of {source} has:\n" +
                                 "\n".join(x.get("MESSAGE", "") for x in e[-40:]))
        time.sleep(0.3)
