# A real systemd-journald for the tests: the one already running, or a
# standalone one started here (as root) when /run/systemd/journal/socket is absent.
import json
import os
import subprocess
import time

SOCKET = "/run/systemd/journal/socket"
JOURNALD = "/lib/systemd/systemd-journald"


def ensure_journald():
    """Returns the Popen of a journald started here, or None if one was running."""
    if os.path.exists(SOCKET):
        probe = subprocess.run(["systemd-cat", "-t", "amirotd-test-probe", "true"], capture_output=True)
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
    raise RuntimeError("systemd-journald did not create " + SOCKET)


def entries(pid, since=None):
    """The journal entries of process `pid`, as dicts of fields."""
    subprocess.run(["journalctl", "--flush"], capture_output=True)
    cmd = ["journalctl", "-o", "json", "--no-pager", f"_PID={pid}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def wait_for(pid, predicate, timeout=60):
    """Polls the journal of `pid` until predicate(entries) holds; returns the entries."""
    deadline = time.monotonic() + timeout
    while True:
        e = entries(pid)
        if predicate(e):
            return e
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting; journal has:\n" +
                                 "\n".join(x.get("MESSAGE", "") for x in e[-40:]))
        time.sleep(0.3)
