# SPDX-License-Identifier: MIT
"""amirotd's schedules against implementations it did not write (oracle.py says which and
how): croniter for cron, zoneinfo for every time zone rule, across random expressions,
intervals and instants, and across every DST transition of 2026-2030 in zones with 60- and
30-minute shifts, in both hemispheres, and with changes at midnight.

Run with Debian's /usr/bin/python3 -m pytest tests/schedule (the Makefile's check-schedule
and soak-schedule do). Seeded: each case has its own seed, AMIROTD_TEST_SEED + its index,
and a mismatch names it, so AMIROTD_TEST_SEED=<seed> SCHEDULE_ORACLE_CASES=1 replays it.
SCHEDULE_ORACLE_CASES (default 300) sets the cases per oracle; SCHEDULE_ORACLE_ALL=1 walks
every transition with every schedule and instant instead of a sample.
"""
import datetime as dt
import functools
import os
import random
import time

import pytest

import oracle
from oracle import DAY, UTC, iso

SEED = int(os.environ.get("AMIROTD_TEST_SEED", "20260516"))
CASES = int(os.environ.get("SCHEDULE_ORACLE_CASES", "300"))
ALL = os.environ.get("SCHEDULE_ORACLE_ALL") == "1"

# 60-minute shifts in the north (Berlin, New York, London at 01:00 UTC), the south (Sydney,
# Auckland), 30 minutes (Lord Howe), and clocks that change at midnight, so that a day starts
# at 01:00 or has two 23:00s (Santiago, Havana, Cairo).
DST_ZONES = [
    "Europe/Berlin", "America/New_York", "Europe/London", "Australia/Sydney", "Pacific/Auckland",
    "Australia/Lord_Howe", "America/Santiago", "America/Havana", "Africa/Cairo",
]
ZONES = ["UTC"] + DST_ZONES + ["Asia/Kolkata", "Asia/Kathmandu"]

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (low, high, names, index of the first name)
FIELDS = [(0, 59, None, 0), (0, 23, None, 0), (1, 31, None, 0), (1, 12, MONTHS, 1), (0, 7, WEEKDAYS, 0)]


def report(what, bad, compared, started):
    print(f"{what}: {compared} cases compared in {time.monotonic() - started:.1f}s, {len(bad)} mismatches")
    assert not bad, f"{len(bad)} of {compared} {what} cases differ; the first:\n" + "\n".join(bad[:20])


# ---- random cases ---------------------------------------------------------------------------

def random_value(rng, lo, hi, names, base):
    v = rng.randint(lo, hi)
    if names and v - base < len(names) and rng.random() < 0.4:
        name = names[v - base]
        return v, rng.choice([name, name.upper(), name.capitalize()])
    return v, str(v)


def random_element(rng, field):
    lo, hi, names, base = field
    kind = rng.choice(["*", "*/", "v", "v", "a-b", "a-b/", "v/"])
    if kind == "*":
        return "*"
    if kind == "*/":
        return f"*/{rng.randint(1, hi - lo)}"
    a, sa = random_value(rng, lo, hi, names, base)
    if kind == "v":
        return sa
    if kind == "v/":
        return f"{a}/{rng.randint(1, hi - lo)}"     # Vixie's shorthand for a-high/step, numbers only
    b, sb = random_value(rng, a, hi, names, base)
    if kind == "a-b/" and b > a:
        return f"{sa}-{sb}/{rng.randint(1, b - a)}"
    return f"{sa}-{sb}"


def random_field(rng, field, star):
    if rng.random() < star:
        return rng.choice(["*", "*", f"*/{rng.randint(1, 4)}"])
    return ",".join(random_element(rng, field) for _ in range(rng.choice([1, 1, 2, 3])))


def random_cron(rng):
    if rng.random() < 0.1:
        return rng.choice(list(oracle.MACROS))
    # Mostly few minutes and hours, as people write them: every field kind still appears.
    return " ".join([
        random_field(rng, FIELDS[0], 0.15) if rng.random() < 0.5 else str(rng.randint(0, 59)),
        random_field(rng, FIELDS[1], 0.3),
        random_field(rng, FIELDS[2], 0.5),
        random_field(rng, FIELDS[3], 0.6),
        random_field(rng, FIELDS[4], 0.5),
    ])


@functools.lru_cache(maxsize=None)
def zone_transitions(tz, first=1975, last=2065):
    return [] if tz == "UTC" else oracle.transitions(oracle.zone_of(tz), first, last)


def random_instant(rng, tz):
    """Anywhere in 1975-2065, or within a day and a half of one of the zone's transitions."""
    changes = zone_transitions(tz)
    if changes and rng.random() < 0.5:
        return rng.choice(changes)[0] + rng.randint(-36 * 3600, 36 * 3600)
    return rng.randint(int(dt.datetime(1975, 1, 1, tzinfo=UTC).timestamp()),
                       int(dt.datetime(2065, 1, 1, tzinfo=UTC).timestamp()))


INTERVALS = [1, 5, 7, 60, 90, 300, 420, 900, 1800, 3600, 5400, 7200, 10800, 21600, 25200, 28800,
             43200, DAY, 25 * 3600, 36 * 3600, 2 * DAY, 7 * DAY, 14 * DAY]


def random_every(rng):
    every = rng.choice(INTERVALS)
    at = rng.randrange(DAY)
    if rng.random() < 0.75:
        at -= at % rng.choice([3600, 60])
    return every, at


def mismatch(seed, what, t, want, got):
    show = lambda p: p[1] if p[0] == "error" else f"{iso(p[0])} {iso(p[1])}"
    return f"  seed {seed}: {what} at {iso(t)} ({t}): oracle {show(want)}, amirotd {show(got)}"


def test_cron_against_croniter():
    started = time.monotonic()
    cases, queries = [], []
    for i in range(CASES):
        rng = random.Random(SEED + i)
        expr, tz = random_cron(rng), rng.choice(ZONES)
        t = random_instant(rng, tz)
        try:
            want = oracle.cron_slots(expr, tz, t)
        except Exception as e:          # croniter finds no firing within 400 years, or refuses
            want = ("error", f"croniter: {type(e).__name__}: {e}")
        cases.append((SEED + i, f"cron '{expr}' in {tz}", t, want))
        queries.append(("cron", expr, tz, t))
    bad = [mismatch(seed, what, t, want, got)
           for (seed, what, t, want), got in zip(cases, oracle.ask(queries))
           if not (want == got or (want[0] == "error" and got[0] == "error"))]
    report("cron/croniter", bad, len(cases), started)


def test_every_against_zoneinfo():
    started = time.monotonic()
    cases, queries = [], []
    for i in range(CASES):
        rng = random.Random(SEED + i)
        (every, at), tz = random_every(rng), rng.choice(ZONES)
        t = random_instant(rng, tz)
        cases.append((SEED + i, f"every {every}s at {at}s in {tz}", t, oracle.every_slots(every, at, tz, t)))
        queries.append(("every", every, at, tz, t))
    bad = [mismatch(seed, what, t, want, got)
           for (seed, what, t, want), got in zip(cases, oracle.ask(queries)) if want != got]
    report("every/zoneinfo", bad, len(cases), started)


# ---- every DST transition of 2026-2030 ------------------------------------------------------

def transition_schedules(t, before, after, tz):
    """Schedules whose slots the transition at t moves: a daily firing at each quarter hour
    around the wall times skipped or repeated, the minute on either edge, and the usual
    sub-day rhythms; (kind, fields...) as the C side takes them."""
    zone = oracle.zone_of(tz)
    edge_a, edge_b = sorted([oracle.wall(t - 1, zone) + dt.timedelta(seconds=1), oracle.wall(t, zone)])
    walls = {edge_a + dt.timedelta(minutes=m) for m in range(-30, 1) if m % 15 == 0}
    walls |= {edge_a + dt.timedelta(minutes=15 * k) for k in range((edge_b - edge_a) // dt.timedelta(minutes=15) + 3)}
    walls |= {edge_a + dt.timedelta(minutes=1), edge_b - dt.timedelta(minutes=1), edge_b}
    out = []
    for w in sorted(walls):
        at = w.hour * 3600 + w.minute * 60
        out += [("cron", f"{w.minute} {w.hour} * * *"), ("every", DAY, at)]
    w = oracle.wall(t, zone)
    out += [("cron", f"{edge_a.minute} {edge_a.hour} * * {(w.isoweekday()) % 7}"),
            ("cron", f"{edge_a.minute} {edge_a.hour} {w.day} * *"),
            ("cron", "*/15 * * * *"), ("cron", "@hourly"), ("cron", "30 * * * *"), ("cron", "@daily"),
            ("cron", "*/7 * * * *"), ("cron", "0 */2 * * *"), ("cron", "* * * * *"),
            ("cron", "45 23 * * *"), ("cron", "0 0 * * 6,0"),
            ("every", 3600, 0), ("every", 3600, 1800), ("every", 1800, 0), ("every", 900, 300),
            ("every", 90, 0), ("every", 6 * 3600, 3600), ("every", 7 * 3600, 0),
            ("every", 2 * DAY, edge_a.hour * 3600), ("every", 7 * DAY, 0)]
    return out


def transition_instants(t, tz):
    """Every five minutes from 4 hours before to 4 after, the second either side of the jump,
    and the first and last second of each wall minute on the edges."""
    zone = oracle.zone_of(tz)
    out = {t + k * 300 for k in range(-48, 49)} | {t - 1, t, t + 1}
    edge = oracle.wall(t - 1, zone) + dt.timedelta(seconds=1)
    for m in (-1, 0, 1):
        s = oracle.first_at_or_after(edge + dt.timedelta(minutes=m), zone)
        out |= {s - 1, s, s + 59}
    return sorted(out)


@functools.lru_cache(maxsize=None)
def starts_near(tz, t, sched):
    """Slot starts by the oracle, for wall times from two days before the transition to two after."""
    w = oracle.wall(t, oracle.zone_of(tz))
    lo, hi = w - dt.timedelta(days=2), w + dt.timedelta(days=2)
    if sched[0] == "cron":
        return oracle.cron_starts(sched[1], tz, lo, hi)
    return oracle.every_starts(sched[1], sched[2], tz, lo, hi)


def expected(tz, t, sched, q):
    got = oracle.slots_from_starts(starts_near(tz, t, sched), q)
    if got:
        return got
    if sched[0] == "cron":
        return oracle.cron_slots(sched[1], tz, q)
    return oracle.every_slots(sched[1], sched[2], tz, q)


def all_transition_cases():
    for tz in DST_ZONES:
        for t, before, after in zone_transitions(tz, 2026, 2030):
            yield tz, t, transition_schedules(t, before, after, tz), transition_instants(t, tz)


def describe(sched, tz):
    return f"cron '{sched[1]}' in {tz}" if sched[0] == "cron" else f"every {sched[1]}s at {sched[2]}s in {tz}"


def test_every_dst_transition_of_2026_to_2030():
    started = time.monotonic()
    transitions = list(all_transition_cases())
    counts = {tz: sum(1 for x in transitions if x[0] == tz) for tz in DST_ZONES}
    # Each zone that has DST in those years changes twice a year (Havana, Cairo, Santiago too).
    assert all(n == 10 for n in counts.values()), counts
    picks = []
    if ALL:
        picks = [(None, tz, t, s, q) for tz, t, scheds, qs in transitions for s in scheds for q in qs]
    else:
        for i in range(CASES):
            rng = random.Random(SEED + i)
            tz, t, scheds, qs = rng.choice(transitions)
            picks.append((SEED + i, tz, t, rng.choice(scheds), rng.choice(qs)))
    queries = [(s[0], *s[1:], tz, q) for _, tz, t, s, q in picks]
    bad = [mismatch(seed, describe(s, tz) + f" (transition {iso(t)})", q, want, got)
           for (seed, tz, t, s, q), got in zip(picks, oracle.ask(queries))
           if (want := expected(tz, t, s, q)) != got]
    report("DST transitions 2026-2030", bad, len(picks), started)


def test_catch_up_after_being_down_across_a_transition():
    """A daemon that stopped at `down` and starts at `up`, across a transition, runs once at
    start for the slot current at `up` (design rule 4) and back-fills nothing: that slot must be
    the oracle's, and when it is the slot that was current at `down` (the daemon slept through a
    repeated hour, or into a slot that began before the jump) there is nothing to create."""
    started = time.monotonic()
    transitions = list(all_transition_cases())
    picks = []
    n = CASES * (10 if ALL else 1)
    for i in range(n):
        rng = random.Random(SEED + i)
        tz, t, scheds, _ = rng.choice(transitions)
        down, up = t - rng.randint(1, 4 * 3600), t + rng.randint(0, 4 * 3600)
        picks.append((SEED + i, tz, t, rng.choice(scheds), down, up))
    queries = [q for _, tz, t, s, down, up in picks for q in ((*s, tz, down), (*s, tz, up))]
    answers = oracle.ask(queries)
    bad = []
    for k, (seed, tz, t, s, down, up) in enumerate(picks):
        got_down, got_up = answers[2 * k], answers[2 * k + 1]
        want_down, want_up = expected(tz, t, s, down), expected(tz, t, s, up)
        if (got_down[0], got_up[0]) != (want_down[0], want_up[0]):
            bad.append(f"  seed {seed}: {describe(s, tz)}, down {iso(down)}, up {iso(up)}: the run at start "
                       f"makes slot {iso(got_up[0])} (was {iso(got_down[0])}), the oracle "
                       f"{iso(want_up[0])} (was {iso(want_down[0])})")
    report("catch-up across transitions", bad, len(picks), started)


# ---- the oracle's own rules, on cases whose answers are known by hand -------------------------

@pytest.mark.parametrize("expr, start, firings", [
    # Both day fields restricted: the 13th or a Friday (croniter and Vixie agree).
    ("0 0 13 * fri", "2026-04-01", ["2026-04-03", "2026-04-10", "2026-04-13"]),
    # A day field starting with '*': odd days that are Fridays (croniter alone would OR them).
    ("0 0 */2 * fri", "2026-04-01", ["2026-04-03", "2026-04-17", "2026-05-01"]),
    ("0 0 1 * */2", "2026-01-02", ["2026-02-01", "2026-03-01", "2026-08-01"]),
    ("@weekly", "2026-05-13", ["2026-05-17", "2026-05-24"]),
])
def test_oracle_follows_vixie_day_fields(expr, start, firings):
    it = oracle.cron_iter(expr, dt.datetime.fromisoformat(start))
    assert [it.get_next(dt.datetime).date().isoformat() for _ in firings] == firings


def test_oracle_starts_a_skipped_wall_time_when_the_clocks_jump():
    berlin = oracle.zone_of("Europe/Berlin")
    jump = int(dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp())
    assert oracle.first_at_or_after(dt.datetime(2026, 3, 29, 2, 30), berlin) == jump
    # The repeated 02:30 of 2026-10-25 starts at its first occurrence, 00:30Z.
    assert iso(oracle.first_at_or_after(dt.datetime(2026, 10, 25, 2, 30), berlin)) == "2026-10-25T00:30:00Z"
    # Lord Howe skips 02:00-02:30 on 2026-10-04 (15:30Z).
    assert iso(oracle.first_at_or_after(dt.datetime(2026, 10, 4, 2, 10), oracle.zone_of("Australia/Lord_Howe"))) \
        == "2026-10-03T15:30:00Z"
