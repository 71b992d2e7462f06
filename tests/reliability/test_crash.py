# Crash consistency (issue 11, item 1): `amirotd run` is killed with SIGKILL at random
# points and restarted at once, again and again, against an EC2 with latency, pending
# images and eventual consistency; now and then EC2 itself goes away and comes back from
# its saved state; for part of the run two daemons work on the same policies. Whatever
# the interleaving, EC2 must hold what the invariants (invariants.py) demand, sampled
# during the run and checked after it: no violation at all.
#
# The seed (conftest.SEED) fixes every choice the test makes: when to kill, which daemon,
# when to restart EC2 and for how long it stays down. The interleaving with the daemons'
# own timers is the machine's; a failure names the seed and the daemons' logs.
#
# For the second half of the run EC2 ignores DeregisterImage's DeleteAssociatedSnapshots
# (as endpoints that predate it do), so amirotd deletes each snapshot itself after the
# deregistration: a kill between the two leaves orphans, which the sweep must remove
# once its grace has passed, and nothing else.
import datetime
import random
import signal
import subprocess
import threading
import time

import botocore.config
import botocore.session

import figures
from conftest import (ACCESS_KEY, AMIROTD, EC2SIM, LONG, SECRET_KEY, SEED, SIM_START_SECONDS, Amirotd, Sim,
                      read_line, run_instances, stop)
from invariants import SWEEP_GRACE_SECONDS, TAG_INSTANCE, TAG_POLICY, Checker, tag_dict

LATENCY_MS = 20
PENDING_SECONDS = 1.5           # a new image is pending this long
CONSISTENCY_DELAY = 1.0         # and invisible to describes this long
SAMPLE_EVERY = 0.3

# Runs after the kills to converge in: kills leave instances more images than retain.count,
# and a run retires beyond its rotation only max_retire_per_run of them (10%), so the
# backlog goes in a few slots, not at once (amirotd(8), RETIREMENTS HELD BACK).
CONVERGE_RUNS = 6

KILLS = 300 if LONG else 20
SIM_RESTARTS = 20 if LONG else 2
WEB, DB = (5, 3) if LONG else (3, 2)          # instances of each policy
POLICIES = {"web": 2, "db": 1}                # retain.count

COMMAND = (f"make soak-reliability RELIABILITY_SEED={SEED}" if LONG else
           f"RELIABILITY_SEED={SEED} AMIROTD=build/amirotd /usr/bin/python3 -m pytest -q "
           f"tests/reliability/test_crash.py")


class SimProcess:
    """ec2sim on a fixed port with a state file, so that it can be killed and started
    again where the daemons' configuration points. Its clock is AWS's: other tests on
    this machine step the host's wall clock by minutes, which moves the daemons' clock
    (they must cope, and the invariants hold regardless) but must not move EC2's, or
    eventual consistency would hide again, for minutes, images it had already shown."""

    def __init__(self, tmp_path):
        self.state = tmp_path / "ec2sim-state.json"
        self.log = tmp_path / "ec2sim.log"
        self.port = 0
        self.proc = None
        self.sim = None

    def start(self):
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                ["/usr/bin/python3", EC2SIM, "--port", str(self.port), "--latency-ms", str(LATENCY_MS),
                 "--pending-seconds", str(PENDING_SECONDS), "--consistency-delay", str(CONSISTENCY_DELAY),
                 "--state", str(self.state)],
                stdout=subprocess.PIPE, stderr=log, text=True)
        line = read_line(self.proc.stdout, SIM_START_SECONDS)
        assert line and line.startswith("ec2sim listening on "), f"ec2sim did not start: {line!r}"
        url = line.split()[-1].strip()
        self.port = int(url.rsplit(":", 1)[1])
        if self.sim is None:
            self.sim = Sim(self.proc, url)
        self.sim.proc = self.proc

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=10)


class Daemons:
    """`amirotd run` processes on one configuration, each logging to a file of its own."""

    def __init__(self, amirotd, tmp_path):
        self.amirotd = amirotd
        self.tmp_path = tmp_path
        self.procs = []
        self.started = 0
        self.kills = 0

    def start(self, k):
        self.started += 1
        with open(self.tmp_path / f"daemon-{k}.log", "a") as log:
            log.write(f"---- start {self.started}\n")
            log.flush()
            return subprocess.Popen([AMIROTD, "-c", str(self.amirotd.dir / "amirotd.yaml"),
                                     "--log-target=console", "run"],
                                    env=self.amirotd.env, stdout=log, stderr=log)

    def add(self):
        self.procs.append(self.start(len(self.procs)))

    def kill(self, k, restart=True):
        """SIGKILL daemon k and start it again at once (or not)."""
        p = self.procs[k]
        assert p.poll() is None, f"daemon {k} exited by itself with {p.returncode}: see {self.tmp_path}"
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        self.kills += 1
        if restart:
            self.procs[k] = self.start(k)
        else:
            del self.procs[k]

    def stop(self):
        for p in self.procs:
            assert p.poll() is None, f"a daemon exited by itself with {p.returncode}: see {self.tmp_path}"
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=30) for p in self.procs]
        self.procs = []
        return codes


class Sampler:
    """Samples the invariants in the background; paused while EC2 restarts."""

    def __init__(self, checker):
        self.checker = checker
        self.lock = threading.Lock()
        self.failed = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.done.wait(SAMPLE_EVERY):
            with self.lock:
                try:
                    self.checker.sample()
                except Exception:           # EC2 unreachable for a moment: skip this sample
                    self.failed += 1


def ec2_client(url):
    cfg = botocore.config.Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 3})
    return botocore.session.Session().create_client(
        "ec2", region_name="us-east-1", endpoint_url=url, config=cfg,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def seed_fleet(sim, ec2):
    """The policies' instances, an instance of none, and resources of another policy and
    untagged ones, which nothing may touch (snapshots old enough for any sweep)."""
    web = run_instances(ec2, {"Role": "web"}, count=WEB, volumes=2)
    db = run_instances(ec2, {"Role": "db"}, count=DB)
    run_instances(ec2, {"Role": "other"})
    legacy = {"amirotd:policy": "legacy", "amirotd:instance-id": web[0], "amirotd:slot": "20260101T000000Z"}
    seeded = sim.seed(
        images=[dict(name="legacy-web", tags=legacy, snapshot_tags=legacy, instance_id=web[0]),
                dict(name="hand-made-web", instance_id=web[1], snapshots=[8, 8]),
                dict(name="web-lookalike", tags={"amirotd:instance-id": web[0]}, instance_id=web[0])],
        snapshots=[dict(tags={"amirotd:policy": "legacy"}, start_time="2026-01-01T00:00:00Z"),
                   dict(start_time="2026-01-01T00:00:00Z"),
                   dict(tags={"amirotd:policy": "web-old", "amirotd:instance-id": web[0]},
                        start_time="2026-01-01T00:00:00Z")])
    return {"web": web, "db": db}, seeded["images"], seeded["snapshots"]


def write_config(amirotd):
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("web", """\
        name: web
        targets:
          tags: {Role: web}
        schedule:
          every: 2s
        retain:
          count: 2
        """)
    amirotd.write_policy("db", """\
        name: db
        targets:
          tags: {Role: db}
        schedule:
          every: 3s
        retain:
          count: 1
        """)


def one_by_one(sim, on):
    """EC2 ignores DeleteAssociatedSnapshots (a setting the simulator's restart resets)."""
    sim.admin("POST", "settings", {"ignore_delete_associated_snapshots": on})


def restart_sim(simp, sampler, rng, one_by_one_now):
    """EC2 goes away and comes back with what it held: first it stops running actions
    (every request is reset), so that whatever was answered is in the saved state; then
    the process is killed, stays down a while, and starts from the state file."""
    with sampler.lock:
        sim = simp.sim
        sim.fault(action="*", kind="reset")
        time.sleep(LATENCY_MS / 1000 + 0.5)     # requests past the fault check finish
        sampler.checker.collect_calls()
        sim.admin("POST", "state/save", {})
        simp.kill()
        time.sleep(rng.uniform(0.0, 1.5))
        simp.start()
        sampler.checker.restarted()
        one_by_one(simp.sim, one_by_one_now)


def wait_until_settled(ec2, timeout=60):
    """No image of this run's policies pending (the daemons are stopped)."""
    time.sleep(CONSISTENCY_DELAY + 0.5)         # images created last show up
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]
                   if i["State"] == "pending" and tag_dict(i).get("amirotd:policy") in POLICIES]
        if not pending:
            return
        time.sleep(0.5)
    raise AssertionError(f"images still pending after {timeout}s: {pending}")


def at_retain_count(ec2, checker):
    """Whether every instance of the run's policies has exactly retain.count available images."""
    have = {}
    for i in ec2.describe_images(Owners=["self"])["Images"]:
        t = tag_dict(i)
        if i["State"] == "available" and t.get(TAG_POLICY) in POLICIES:
            have[(t[TAG_POLICY], t.get(TAG_INSTANCE))] = have.get((t[TAG_POLICY], t.get(TAG_INSTANCE)), 0) + 1
    return all(have.get((p, i), 0) == POLICIES[p] for p, instances in checker.targets.items() for i in instances)


def test_sigkill_at_random_points_breaks_no_invariant(tmp_path):
    rng = random.Random(SEED)
    started = time.monotonic()
    simp = SimProcess(tmp_path)
    simp.start()
    try:
        run_loop(tmp_path, simp, rng, started)
    finally:
        stop(simp.proc)


def run_loop(tmp_path, simp, rng, started):
    sim = simp.sim
    ec2 = ec2_client(sim.url)
    targets, foreign_images, foreign_snapshots = seed_fleet(sim, ec2)
    checker = Checker(ec2, sim, POLICIES, targets, foreign_images, foreign_snapshots)
    checker.sample()
    amirotd = Amirotd(sim, tmp_path)
    write_config(amirotd)
    daemons = Daemons(amirotd, tmp_path)
    sampler = Sampler(checker)

    restarts_at = set(rng.sample(range(1, KILLS), SIM_RESTARTS))
    pair = (KILLS // 3, 2 * KILLS // 3)         # two daemons for this part of the run
    sim_restarts = 0
    daemons.add()
    sampler.thread.start()
    try:
        for k in range(KILLS):
            if k == pair[0]:
                daemons.add()
            if k == KILLS // 2:
                one_by_one(sim, True)
            time.sleep(rng.uniform(0.1, 2.0))   # a random point of whatever it is doing
            if k == pair[1]:
                daemons.kill(1, restart=False)
            else:
                daemons.kill(rng.randrange(len(daemons.procs)))
            if k in restarts_at:
                restart_sim(simp, sampler, rng, k >= KILLS // 2)
                sim_restarts += 1
        time.sleep(rng.uniform(1.0, 3.0))       # a last stretch without a kill
        assert daemons.stop() == [0]
    finally:
        sampler.done.set()
        sampler.thread.join(timeout=30)
        for p in daemons.procs:
            p.kill()
            p.wait(timeout=10)

    # Converge: nothing pending, then one run per slot past the sweep's grace, so that
    # every orphan is due and retention settles on what is available, in at most
    # CONVERGE_RUNS slots.
    wait_until_settled(ec2)
    orphans = len(checker.orphans())
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2 * SWEEP_GRACE_SECONDS)
    for converge_runs in range(1, CONVERGE_RUNS + 1):
        amirotd.run("once", now=later.strftime("%Y-%m-%dT%H:%M:%SZ"), timeout=300)
        checker.sample()                # what this run made, before the next retires it
        if at_retain_count(ec2, checker):
            break
        later += datetime.timedelta(minutes=1)
    violations = checker.final(later.timestamp())

    calls = [c for c in checker.calls if c.get("status") == 200]
    created = sum(1 for c in calls if c["action"] == "CreateImage")
    retired = sum(1 for c in calls if c["action"] == "DeregisterImage")
    deleted = len(checker.deleted)
    slots = {(t.get("amirotd:policy"), t.get("amirotd:slot")) for t in
             (known["tags"] for known in checker.images.values()) if t.get("amirotd:policy") in POLICIES}
    seconds = round(time.monotonic() - started, 1)
    figures.record("crash", scenario="SIGKILL at random points, EC2 restarts, two daemons for a third",
                   kills=daemons.kills, sim_restarts=sim_restarts, slots=len(slots), images=created,
                   images_retired=retired, snapshots_deleted=deleted, orphans_left=orphans,
                   slots_to_converge=converge_runs,
                   samples=checker.samples,
                   violations=len(violations), seconds=seconds, seed=SEED, command=COMMAND,
                   notes=f"{WEB + DB} instances, policies web (every 2s, retain 2) and db (every 3s, "
                         f"retain 1); ec2sim latency {LATENCY_MS} ms, pending {PENDING_SECONDS}s, "
                         f"consistency delay {CONSISTENCY_DELAY}s, DeleteAssociatedSnapshots ignored "
                         f"for the second half; orphans_left: left by kills between a deregistration "
                         f"and its snapshots' deletion, for the run past the grace to sweep")
    print(f"\ncrash: {daemons.kills} kills, {sim_restarts} EC2 restarts, {len(slots)} slots, {created} images "
          f"created, {retired} retired, {deleted} snapshots deleted ({orphans} orphans left for the sweep), "
          f"{checker.samples} samples "
          f"({sampler.failed} skipped), converged in {converge_runs} runs, {len(violations)} violations, {seconds}s, seed {SEED}")

    assert not violations, (f"{len(violations)} violations (seed {SEED}; logs in {tmp_path}):\n" +
                            "\n".join(violations))
    # The run did the work whose safety it claims.
    assert daemons.kills == KILLS and sim_restarts == SIM_RESTARTS
    assert created >= 3 * (WEB + DB) and retired >= WEB + DB and deleted >= retired and checker.samples >= KILLS
