# Clock steps in `amirotd run` (issue 11, item 4): the host's wall clock is stepped for
# real, forward and back, under the running service, by the rules of
# tests/integration/clockstep.py (flock, at most 10 minutes off, restored in a finally).
#
# Two policies run side by side: `fast`, whose slots a step of minutes jumps over, and
# `daily` (every 24h at a time a few minutes ahead), which sleeps toward its far slot.
# What must hold, by amirotd(8), CLOCK STEPS, and design rule 4 (catch-up):
#   - a step forward past a slot's start runs the slot it lands in at once, and not the
#     slots it jumped over (they are not back-filled);
#   - a step back runs no slot again that has run, nor one older than it;
#   - every step is a warning with MESSAGE_ID 6f7998ab43e04061a8fba041a494d264.
# The oracle is a model of that rule, fed every slot start the clock passes by itself and
# every wall time a step lands on; it lists the runs the service must make. The checks
# read EC2's state (images per instance and slot tag: one, never two), the simulator's
# call log (CreateImage accepted per instance and slot) and the journal (each run's
# AMIROTD_SLOT, the warnings). ec2sim keeps AWS's own time across the steps.
#
# Short version (make check): one fixed sequence with `fast` every 4 minutes: forward past
# two of its slots and the `daily` slot, back to three seconds before the slot just run,
# past it again by the clock itself, back to the true time; and a failed run whose retry
# is due after a step has run the next slot. Long version (make soak): a seeded walk of
# steps to within 10 minutes of the true time and back, `fast` every 10 seconds.
import random
import time

import pytest

import clockstep
import figures
import journal
from conftest import LONG, SEED, run_instances, tag_dict

MESSAGE_CLOCK_STEPPED = "6f7998ab43e04061a8fba041a494d264"
DAY = 86400
DROP_WINDOW_USEC = 2_000_000     # a step's warning is the daemon's first entry after it, made at once
MARGIN = 2                      # no step lands, and no check is made, this close to a slot start
LONG_PAIRS = 40                 # the long version: steps away from the true time and back
LONG_EVERY = 10                 # ... with `fast` every 10 seconds
SHORT_COMMAND = "/usr/bin/python3 -m pytest -q tests/reliability/test_clock.py -k "

pytestmark = pytest.mark.skipif(not clockstep.can_step(), reason="setting the clock needs root")


def slot_id(t):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


class Journal:
    """The daemon's entries by _PID and the monotonic clock: the wall-clock stamps (and
    journalctl --since) step with the clock, and an entry made after a step back would
    look older than the daemon's start."""

    def __init__(self, pid, since):
        self.source = journal.Source(pid, None, since_monotonic=since)  # since: CLOCK_MONOTONIC µs
        self.step_times = []            # CLOCK_MONOTONIC µs just before each step

    def stepped(self):
        """Call just before stepping the clock: a drop journald reports soon after is this step's."""
        self.step_times.append(time.monotonic_ns() // 1000)

    def entries(self):
        return journal.entries(self.source)

    def runs(self, entries=None):
        """(policy, slot id, "done" | "failed") of every run, in order."""
        return [(e["AMIROTD_POLICY"], e.get("AMIROTD_SLOT"), "failed" if ": run failed" in e["MESSAGE"] else "done")
                for e in (self.entries() if entries is None else entries)
                if ": run done" in e.get("MESSAGE", "") or ": run failed" in e.get("MESSAGE", "")]

    def warnings(self, entries=None):
        return [e for e in (self.entries() if entries is None else entries)
                if e.get("MESSAGE_ID") == MESSAGE_CLOCK_STEPPED]

    def dropped(self):
        """Entries journald itself says it dropped within DROP_WINDOW_USEC after one of this
        test's steps (see journal.dropped): a warning among them cannot be read back, only
        accounted for. Drops at other times, of other processes' entries, excuse nothing."""
        return [e for e in journal.dropped(self.source)
                if any(0 <= int(e["__MONOTONIC_TIMESTAMP"]) - t <= DROP_WINDOW_USEC for t in self.step_times)]

    def warned(self, entries, steps):
        """Whether every step of `steps` has its warning, or journald said it dropped as
        many entries as there are warnings missing."""
        missing = len(steps) - len(self.warnings(entries))
        return missing <= 0 or missing <= len(self.dropped())

    def step_violations(self, entries, steps):
        """What is wrong with the clock-step warnings of `entries` for `steps`."""
        warnings, dropped = self.warnings(entries), self.dropped()
        out = [f"a clock-step warning at priority {e['PRIORITY']}: {e['MESSAGE']}" for e in warnings
               if e["PRIORITY"] != "4"]
        for way, n in (("forward", sum(s > 0 for s in steps)), ("back", sum(s < 0 for s in steps))):
            said = sum(f"stepped {way} by" in e["MESSAGE"] for e in warnings)
            if said > n:
                out.append(f"{said} warnings of a step {way} for {n} steps {way}")
        missing = len(steps) - len(warnings)
        if missing > len(dropped):
            out.append(f"{len(warnings)} clock-step warnings for {len(steps)} steps, and journald reports "
                       f"{len(dropped)} dropped entries: " + "; ".join(e["MESSAGE"] for e in warnings))
        return out

    def wait(self, predicate, what, timeout=60):
        try:
            return journal.wait_for(self.source, predicate, timeout, what)
        except AssertionError as e:
            said = [x.get("MESSAGE", "") for x in journal.entries(self.source, "_COMM=systemd-journal")]
            raise AssertionError(f"{e}\njournald itself said since:\n" + "\n".join(said[-20:])) from None


class Model:
    """The rule of schedule_run_due(): whenever the clock shows a new time, by itself or by
    a step, a policy runs the slot that contains it if that slot starts after the latest
    one it ran. Slot starts are every `fast_every` seconds (a divisor of a day) from
    fast_phase for `fast`, and D + k days for `daily`."""

    def __init__(self, fast_every, fast_phase, daily_at, now):
        self.fast_every, self.fast_phase, self.daily_at = fast_every, fast_phase, daily_at
        self.last = {"fast": None, "daily": None}
        self.runs = []                  # (policy, slot id), in order
        self.clock = now                # the latest wall time fed in
        self._show(now)

    def slot(self, policy, wall):
        if policy == "fast":
            return self.fast_phase + (wall - self.fast_phase) // self.fast_every * self.fast_every
        return self.daily_at + (wall - self.daily_at) // DAY * DAY

    def starts_between(self, a, b):
        """The slot starts s of either policy with a < s <= b, in order."""
        out = []
        for p, every in (("fast", self.fast_every), ("daily", DAY)):
            s = self.slot(p, a) + every
            while s <= b:
                out.append(s)
                s += every
        return sorted(set(out))

    def near_start(self, wall, margin=MARGIN):
        return any(abs(s - wall) < margin for s in self.starts_between(wall - margin, wall + margin))

    def _show(self, wall):
        for p in ("fast", "daily"):
            s = self.slot(p, wall)
            if self.last[p] is None or s > self.last[p]:
                self.last[p] = s
                self.runs.append((p, slot_id(s)))

    def advance(self, now):
        """The clock ran by itself to now: each slot start it passed was a timer."""
        for s in self.starts_between(self.clock, now):
            self._show(s)
        self.clock = max(self.clock, now)

    def jump(self, wall):
        """A step: the clock shows wall at once."""
        self.clock = wall
        self._show(wall)


def creates_by_slot(sim):
    """(instance id, slot tag) -> number of CreateImage calls EC2 accepted for it."""
    out = {}
    for c in sim.calls("CreateImage"):
        if c["status"] != 200:
            continue
        p = c["params"]
        tags = {p[k]: p[k[:-len("Key")] + "Value"] for k in p if k.startswith("TagSpecification.") and k.endswith(".Key")}
        key = (p["InstanceId"], tags["amirotd:slot"])
        out[key] = out.get(key, 0) + 1
    return out


def images_by_slot(ec2):
    """(instance id, slot tag) -> images EC2 lists for it."""
    out = {}
    for i in ec2.describe_images(Owners=["self"])["Images"]:
        t = tag_dict(i)
        key = (t["amirotd:instance-id"], t["amirotd:slot"])
        out[key] = out.get(key, 0) + 1
    return out


def quiet_phase(now, every):
    """An `at` of whole minutes for `every` (a multiple of a minute) that puts now 60 to 120
    seconds into a slot: no slot starts for the next two minutes, and no test waits for such a
    moment. Its phase: the slot starts' offset from midnight UTC, modulo every."""
    return (now // 60 * 60 - 60) % every


def write_policies(amirotd, fast_every, fast_phase, daily_at, poll_max="2s", daily=True):
    amirotd.write_global("spread: 0s\n")
    path = amirotd.dir / "amirotd.yaml"
    path.write_text(path.read_text().replace("poll_max: 2s", f"poll_max: {poll_max}"))
    amirotd.write_policy("fast", f"""\
        name: fast
        targets:
          tags: {{Role: fast}}
        schedule:
          every: {fast_every}s
          at: "00:{fast_phase // 60:02.0f}"
        retain:
          count: 1000
        """)
    if not daily:
        return
    amirotd.write_policy("daily", f"""\
        name: daily
        targets:
          tags: {{Role: daily}}
        schedule:
          every: 24h
          at: "{time.strftime('%H:%M', time.gmtime(daily_at))}"
        retain:
          count: 1000
        """)


class Scenario:
    """The service with both policies, its journal, the model, and the steps it saw."""

    def __init__(self, amirotd, ec2, sim, daemon, fast_every):
        self.sim, self.ec2 = sim, ec2
        self.fast_ids = run_instances(ec2, {"Role": "fast"}, count=2)
        self.daily_ids = run_instances(ec2, {"Role": "daily"}, count=1)
        now = time.time()
        if fast_every % 60 == 0:
            phase = quiet_phase(now, fast_every)
        else:
            phase = 0
            while time.time() % fast_every > fast_every - 5:
                time.sleep(0.5)         # the start's catch-up runs alone
        # `daily` sleeps toward its slot D, the start of `fast`'s slot after next (6 to 7
        # minutes ahead, a whole minute), so that one step forward of at most 10 minutes
        # passes both.
        self.fast_slot = phase + (now - phase) // fast_every * fast_every
        self.daily_at = max(self.fast_slot + 2 * fast_every, (now // 60 + 5) * 60)
        write_policies(amirotd, fast_every, phase, self.daily_at)
        self.steps = []                 # every step the daemon saw, in seconds (negative: back)
        since = time.monotonic_ns() // 1000
        self.model = Model(fast_every, phase, self.daily_at, time.time())
        self.d = daemon()
        self.journal = Journal(self.d.proc.pid, since)
        self.d.notify.wait_for("READY=1")
        self.settle()

    def settle(self, idle=1.0):
        """Waits until the daemon has made the model's runs and logged every step, then a
        moment more for anything it should not do; again if the clock passed a slot start."""
        while True:
            self.model.advance(time.time())
            n, warned = len(self.model.runs), [s for s in self.steps if abs(s) >= 1]
            self.journal.wait(lambda e: len(self.journal.runs(e)) >= n and self.journal.warned(e, warned),
                              f"{n} runs and {len(warned)} clock-step warnings")
            time.sleep(idle)
            self.model.advance(time.time())
            if len(self.model.runs) == n:
                return

    def away_from_starts(self):
        """With the clock where it is: waits until no slot starts within MARGIN."""
        while self.model.near_start(time.time()):
            time.sleep(0.5)

    def step_to(self, clock, wall):
        self.away_from_starts()
        self.model.advance(time.time())
        self.steps.append(wall - time.time())
        self.journal.stepped()
        clock.set(wall)
        self.model.jump(wall)

    def restore(self, clock):
        """The finally of every held clock: back to the true time, which is one more step."""
        self.away_from_starts()
        self.model.advance(time.time())
        before = time.time()
        self.journal.stepped()
        clock.restore()
        self.steps.append(time.time() - before)
        self.model.jump(time.time())

    def landing(self, clock, rng):
        """A wall time within 10 minutes of the true time, clear of every slot start: mostly
        one to three `fast` slots past the latest one run (forward past one or more slots, so
        that slots keep running), else anywhere (mostly back, across slots run)."""
        every, limit = self.model.fast_every, clockstep.MAX_OFF - 10
        while True:
            true = clock.true_now()
            frontier = max(self.model.last["fast"], self.model.slot("fast", true))
            if rng.random() < 0.6:
                w = frontier + every * rng.randint(1, 3) + rng.uniform(0, every)
            else:
                w = true + rng.uniform(-limit, limit)
            if abs(w - true) <= limit and not self.model.near_start(w):
                return w

    def violations(self):
        """What broke the rules, as sentences; the figures count them."""
        out = []
        entries = self.journal.entries()
        runs = self.journal.runs(entries)
        seen = [(p, s) for p, s, _ in runs]
        expected = self.model.runs
        out += [f"{p} slot {s}: run failed" for p, s, result in runs if result != "done"]
        out += [f"{k[0]} slot {k[1]} ran {seen.count(k)} times" for k in sorted(set(seen)) if seen.count(k) > 1]
        out += [f"{k[0]} slot {k[1]} was due and did not run" for k in sorted(set(expected) - set(seen))]
        out += [f"{k[0]} slot {k[1]} ran and was not due (made up, or run again)" for k in sorted(set(seen) - set(expected))]
        for p in ("fast", "daily"):
            mine, theirs = [s for q, s in seen if q == p], [s for q, s in expected if q == p]
            if not out and mine != theirs:
                out.append(f"{p}: slots run in the order {mine}, expected {theirs}")

        ids = {"fast": self.fast_ids, "daily": self.daily_ids}
        want = {(i, s) for p, s in expected for i in ids[p]}
        listed = images_by_slot(self.ec2)
        out += [f"{k[0]} slot {k[1]}: {n} CreateImage calls accepted" for k, n in sorted(creates_by_slot(self.sim).items())
                if n > 1]
        out += [f"{k[0]} slot {k[1]}: no image" for k in sorted(want - set(listed))]
        out += [f"{k[0]} slot {k[1]}: {n} image(s), {int(k in want)} expected" for k, n in sorted(listed.items())
                if n > 1 or k not in want]

        out += self.journal.step_violations(entries, [s for s in self.steps if abs(s) >= 1])
        out += [f"error logged: {e['MESSAGE']}" for e in entries if int(e.get("PRIORITY", 6)) <= 3]
        return out

    def finish(self, name, started, command, notes):
        self.away_from_starts()
        self.settle(idle=2.0)
        v = self.violations()
        figures.record("clock", scenario=name, slots=len(self.model.runs), images=sum(creates_by_slot(self.sim).values()),
                       violations=len(v), seconds=round(time.monotonic() - started, 1), seed=SEED, command=command,
                       notes=f"{notes}; {len(self.steps)} steps")
        assert self.d.proc.poll() is None, "the daemon died"
        assert self.d.stop() == 0
        assert v == [], "\n".join(v)


def test_steps_forward_past_slots_and_back_across_a_slot_run(amirotd, ec2, sim, daemon):
    started = time.monotonic()
    sc = Scenario(amirotd, ec2, sim, daemon, fast_every=240)
    d = sc.daily_at
    assert d == sc.fast_slot + 2 * 240
    with clockstep.stepped_clock() as clock:
        try:
            # Forward, asleep toward `daily`'s slot D, past `fast`'s next two slots (the
            # second starts at D): both run slot D at once, `fast` makes up nothing.
            sc.step_to(clock, d + 2)
            sc.settle()
            assert sc.model.runs[2:] == [("fast", slot_id(d)), ("daily", slot_id(d))]
            # Back across slot D, which has run, to three seconds before it; the clock then
            # passes D again by itself: nothing runs, neither D again nor an older slot.
            sc.step_to(clock, d - 3)
            time.sleep(max(0.0, d + 3 - time.time()))
            sc.settle()
        finally:
            # Back to the true time, minutes before D: a step back across slots that ran.
            sc.restore(clock)
    sc.settle()
    assert len(sc.model.runs) == 4, sc.model.runs
    sc.finish("forward past slots, back across a slot run", started, SHORT_COMMAND + "forward_past_slots",
              "fast every 4m, daily asleep toward a slot 4-8 min ahead; forward past 2 fast slots and the daily "
              "one, back to 3 s before it, the clock passes it again, back to the true time")


def test_a_retry_does_not_run_again_a_slot_that_a_step_ran(amirotd, ec2, sim, daemon):
    # A failed run is tried again after poll_max (8 s here). A step forward before that runs
    # the next slot; the retry, when its time comes, would run that slot a second time.
    started = time.monotonic()
    run_instances(ec2, {"Role": "fast"}, count=1)
    now = time.time()
    phase = quiet_phase(now, 240)
    write_policies(amirotd, 240, phase, None, poll_max="8s", daily=False)
    sim.fault(action="CreateImage", kind="error", code="UnauthorizedOperation", status=403,
              message="You are not authorized to perform this operation.")
    since = time.monotonic_ns() // 1000
    d = daemon()
    journal = Journal(d.proc.pid, since)
    first = journal.wait(lambda e: journal.runs(e), "the first run")
    failed_at = time.monotonic()
    assert journal.runs(first)[0][2] == "failed", journal.runs(first)
    assert any("will retry in 8s" in e.get("MESSAGE", "") for e in first)
    sim.clear_faults()
    next_slot = phase + ((now - phase) // 240 + 1) * 240
    with clockstep.stepped_clock() as clock:
        try:
            journal.stepped()
            clock.set(next_slot + 2)
            journal.wait(lambda e: len(journal.runs(e)) >= 2, "the run of the slot stepped into")
            # Past the retry's time, and a moment for it to show.
            time.sleep(max(0.0, failed_at + 8 + 3 - time.monotonic()))
        finally:
            journal.stepped()
            clock.restore()
    time.sleep(1)
    runs = journal.runs()
    creates = creates_by_slot(sim)
    violations = max(0, len(runs) - 2) + sum(n - 1 for n in creates.values() if n > 1)
    figures.record("clock", scenario="a retry due after a step ran the next slot", slots=len(runs),
                   images=sum(creates.values()), violations=violations, seconds=round(time.monotonic() - started, 1),
                   seed=SEED, command=SHORT_COMMAND + "retry_does_not_run_again",
                   notes="CreateImage refused in the first run, retry after poll_max 8s; a step forward into the "
                         "next slot runs it before the retry's time")
    assert [(r[0], r[2]) for r in runs] == [("fast", "failed"), ("fast", "done")], runs
    assert runs[1][1] == slot_id(next_slot)
    assert list(creates.values()) == [1], creates
    assert journal.step_violations(journal.entries(), [next_slot + 2 - now, -(next_slot + 2 - now)]) == []
    assert d.stop() == 0


@pytest.mark.skipif(not LONG, reason="the long version runs under make soak (RELIABILITY_LONG=1)")
def test_seeded_walk_of_steps_within_ten_minutes(amirotd, ec2, sim, daemon):
    started = time.monotonic()
    rng = random.Random(SEED)
    sc = Scenario(amirotd, ec2, sim, daemon, fast_every=LONG_EVERY)
    forward = back = 0
    for _ in range(LONG_PAIRS):
        # Between two pairs the clock is true and the lock free for the other tests.
        with clockstep.stepped_clock() as clock:
            try:
                w = sc.landing(clock, rng)
                forward += w > time.time()
                back += w < time.time()
                sc.step_to(clock, w)
                sc.settle()
            finally:
                sc.restore(clock)
        sc.settle()
    sc.finish("seeded walk of steps within 10 minutes", started,
              f"make soak-reliability RELIABILITY_SEED={SEED} (or RELIABILITY_LONG=1 RELIABILITY_SEED={SEED} "
              + SHORT_COMMAND + "seeded_walk)",
              f"fast every {LONG_EVERY}s, daily asleep toward a slot 4-5 min ahead; {LONG_PAIRS} pairs: a step to a "
              f"random point within 10 minutes of the true time, mostly 1-3 slots past the latest run ({forward} "
              f"forward, {back} back), then back to the true time")
