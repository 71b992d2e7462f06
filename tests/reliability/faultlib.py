# The machinery of the fault matrix and the outage suite (issue 11, items 2 and 3):
# a scenario owns one simulator and one `amirotd run`, so that several scenarios
# can run side by side (they mostly wait), and reads the outcome back from the
# simulator's raw state, its call log and the daemon's journal.
import json
import math
import subprocess
import time

import journal

from conftest import ACCESS_KEY, EC2SIM, SECRET_KEY, SIM_START_SECONDS, Amirotd, Daemon, read_line, run_instances, stop

POLICY = "web"
SLOT_SECONDS = 4                # `every: 4s`: each slot makes an image per instance, retires one
RETAIN = 2
INSTANCES = 2
# amirotd.yaml's request_timeout in the scenarios: a hang longer than this is a timeout.
REQUEST_TIMEOUT = 2
SIM_CLOCK_BEHIND = 2 * 3600

GLOBAL = f"""\
spread: 0s
log_level: debug
request_timeout: {REQUEST_TIMEOUT}s
"""
POLICY_TEXT = f"""\
    name: {POLICY}
    targets:
      tags: {{Role: web}}
    schedule:
      every: {SLOT_SECONDS}s
    retain:
      count: {RETAIN}
"""


def start_sim(tmp, *args, port=0):
    """An ec2sim as the `sim` fixture starts it, on `port` (0: a free one)."""
    log = open(tmp / "ec2sim.log", "a")
    proc = subprocess.Popen(["/usr/bin/python3", EC2SIM, "--port", str(port), "--pending-seconds", "0",
                             "--consistency-delay", "1", *args], stdout=subprocess.PIPE, stderr=log, text=True)
    log.close()
    line = read_line(proc.stdout, SIM_START_SECONDS)
    if not line or not line.startswith("ec2sim listening on "):
        stop(proc)
        raise RuntimeError(f"ec2sim did not start: {line!r}: " + (tmp / "ec2sim.log").read_text())
    from conftest import Sim
    return Sim(proc, line.split()[-1].strip())


def ec2_client(url):
    import botocore.session
    return botocore.session.Session().create_client("ec2", region_name="us-east-1", endpoint_url=url,
                                                    aws_access_key_id=ACCESS_KEY,
                                                    aws_secret_access_key=SECRET_KEY)


def tags_of(record):
    return dict(record.get("Tags") or {})   # the raw records hold tags as a dict


def state_problems(sim, instance_ids, count=RETAIN):
    """What keeps the simulator's raw state from being converged (empty: converged):
    per instance exactly `count` available images of the policy, none pending or failed,
    and every snapshot of the policy used by a registered image (no orphan)."""
    problems = []
    images = [i for i in sim.images() if tags_of(i).get("amirotd:policy") == POLICY]
    per = {iid: [] for iid in instance_ids}
    used = set()
    for i in images:
        for m in i.get("BlockDeviceMappings") or []:
            if m.get("Ebs", {}).get("SnapshotId"):
                used.add(m["Ebs"]["SnapshotId"])
        if i["State"] != "available":
            problems.append(f"{i['ImageId']} is {i['State']}")
        per.setdefault(tags_of(i).get("amirotd:instance-id"), []).append(i)
    for iid, imgs in per.items():
        n = sum(1 for i in imgs if i["State"] == "available")
        if n != count:
            problems.append(f"{iid} has {n} available images")
    for s in sim.snapshots():
        if tags_of(s).get("amirotd:policy") == POLICY and s["SnapshotId"] not in used:
            problems.append(f"snapshot {s['SnapshotId']} is an orphan")
    return problems


def _status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def rss_kib(pid):
    return _status_kib(pid, "VmRSS")


def rss_peak_kib(pid):
    return _status_kib(pid, "VmHWM")


class Scenario:
    """One simulator, one daemon, the policy `web` on INSTANCES instances."""

    def __init__(self, tmp, sim_args=(), global_extra="", endpoint=None):
        tmp.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp
        self.sim = start_sim(tmp, *sim_args)
        # The simulator's clock runs two hours behind the daemon's: a snapshot a failed
        # DeleteSnapshot left behind is past the orphan sweep's hour of grace
        # (run/plan.h PLAN_SNAPSHOT_GRACE) when the next run finds it.
        behind = time.gmtime(time.time() - SIM_CLOCK_BEHIND)
        self.sim.set_clock(time.strftime("%Y-%m-%dT%H:%M:%SZ", behind))
        self.ec2 = ec2_client(self.sim.url)
        self.amirotd = Amirotd(self.sim, tmp)
        self.global_extra = global_extra
        # endpoint(url of the simulator): the endpoint_url to use instead (None: write_endpoint() later).
        url = endpoint(self.sim.url) if endpoint else self.sim.url
        if url:
            self.write_endpoint(url)
        self.amirotd.write_policy(POLICY, POLICY_TEXT)
        self.instances = run_instances(self.ec2, {"Role": "web"}, count=INSTANCES)
        self.daemon = None
        self.wall_offset = time.time() - time.monotonic()
        self.clock_steps = 0

    def write_endpoint(self, url):
        (self.amirotd.dir / "amirotd.yaml").write_text(
            f"region: us-east-1\nendpoint_url: {url}\npoll_initial: 1s\npoll_max: 2s\n" + GLOBAL + self.global_extra)

    def start(self, **kw):
        self.started_mono_usec = time.monotonic_ns() // 1000
        self.daemon = Daemon(self.amirotd, self.tmp, **kw)
        return self.daemon

    def watch_clock(self):
        """Counts the steps of the wall clock seen so far: other tests on this machine step
        it back and forth by minutes, and the daemon's slots run on CLOCK_REALTIME. The
        figures say how often a scenario met one."""
        offset = time.time() - time.monotonic()
        if abs(offset - self.wall_offset) > 1.0:
            self.clock_steps += 1
        self.wall_offset = offset
        return self.clock_steps

    def alive(self):
        return self.daemon.proc.poll() is None

    def entries(self):
        return entries_since(self.daemon.proc.pid, self.started_mono_usec)

    def wait_converged(self, since, timeout):
        """Seconds from `since` (monotonic) until the state is converged and a run that
        began after `since` ended well; raises with what was wrong if that does not come."""
        since_usec = int(since * 1_000_000)
        deadline = time.monotonic() + timeout
        problems = ["not checked"]
        while time.monotonic() < deadline:
            assert self.alive(), f"amirotd exited with {self.daemon.proc.returncode}"
            self.watch_clock()
            problems = state_problems(self.sim, self.instances)
            if not problems:
                done = time.monotonic()
                if any(": run done" in e.get("MESSAGE", "") and int(e["__MONOTONIC_TIMESTAMP"]) >= since_usec
                       for e in self.entries()):
                    return done - since
                problems = ["no run done since the fault stopped"]
            time.sleep(0.25)
        raise AssertionError(f"not converged {timeout}s after the fault stopped: {problems}")

    def close(self):
        if self.daemon:
            try:            # the daemon's journal, kept with the scenario for whoever reads a failure
                dump(self.tmp / "journal.json", self.entries())
            except Exception:
                pass
            if self.daemon.proc.poll() is None:
                self.daemon.proc.kill()
                self.daemon.proc.wait(timeout=30)
            self.daemon.notify.close()
        stop(self.sim.proc)


def entries_since(pid, since_mono_usec):
    """The journal entries of process `pid` logged since `since_mono_usec` (CLOCK_MONOTONIC,
    this boot), oldest first: another test on this machine steps the wall clock."""
    return journal.entries(journal.Source(pid, None, since_monotonic=since_mono_usec))


def slots(seconds):
    """Slots begun within `seconds`, at least 1: the figure the report states."""
    return max(1, math.ceil(seconds / SLOT_SECONDS))


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


def command_for(test_id):
    return f"/usr/bin/python3 -m pytest tests/reliability/{test_id}"


def is_trace(e):
    """The debug line of one attempt (run/clients.c trace_call): 'ec2 Action attempt N: ...'."""
    return e.get("PRIORITY") == "7" and " attempt " in e.get("MESSAGE", "") and \
        e.get("MESSAGE", "").startswith(("ec2 ", "sts "))


def failures(entries):
    """The warnings and errors about one action: what an operator reads."""
    return [e for e in entries if int(e.get("PRIORITY", "7")) <= 4 and e.get("AMIROTD_ACTION")]

