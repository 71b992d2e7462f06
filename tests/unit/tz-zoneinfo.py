#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes what Python's zoneinfo (PEP 615; its own TZif and POSIX TZ reader,
sharing no code with amirotd or glibc) says about a few time zones, for
tests/unit/test-tzif.c to compute again from the same files and compare.

Run at test time by `make check-unit` (Debian's /usr/bin/python3), so the
expected answers always come from zoneinfo over the tzdata installed, never
from constants pasted once.

Usage: tz-zoneinfo.py OUTPUT [--per-zone N] [--seed S]

Two kinds of lines, whitespace-separated:
  I ZONE T OFFSET ISDST ABBR       the clock at instant T: UTC offset in seconds east,
                                   1 if daylight saving time, the abbreviation
  W ZONE W N [T1 [T2]] FIRST       the wall time W (local seconds since 1970-01-01
                                   00:00): the N instants at which the clock reads
                                   it (0 in a gap, 2 in a fold), earliest first, and
                                   the first instant at which it reads W or later
For each zone: N random instants in 1970..2100 (past every zone's table: the
footer's rule), instants around transitions found among them, and wall times
around each of those transitions and at random. The seed makes the sample the
same on every run; --per-zone 5000 is the thorough run.
"""

import argparse
import datetime
import random
import sys
import zoneinfo

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",      # 30-minute DST
    "America/Santiago",         # transitions at 24:00 (M9.1.6/24)
    "Asia/Kolkata",             # no DST since 1945
    "Pacific/Chatham",          # +12:45/+13:45, transitions at 2:45 and 3:45
    "Europe/Dublin",            # negative DST: winter is the "daylight" time
    "Pacific/Apia",             # skipped 2011-12-30 entirely
    "America/Sao_Paulo",        # DST began at midnight until 2019
]

EPOCH = datetime.datetime(1970, 1, 1)
T_MIN = int(datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
T_MAX = int(datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
DAY = 86400


def clock(z, t):
    d = datetime.datetime.fromtimestamp(t, z)
    return int(d.utcoffset().total_seconds()), bool(d.dst()), d.tzname()


def wall(z, t):
    return t + clock(z, t)[0]


def next_transition(z, t):
    """The first instant after t, within 400 days, at which the offset changes; or None."""
    o = clock(z, t)[0]
    lo = t
    while lo < t + 400 * DAY and clock(z, lo + DAY)[0] == o:
        lo += DAY
    if lo >= t + 400 * DAY:
        return None
    hi = lo + DAY
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if clock(z, mid)[0] == o:
            lo = mid
        else:
            hi = mid
    return hi


def occurrences(z, w):
    naive = EPOCH + datetime.timedelta(seconds=w)
    found = set()
    for fold in (0, 1):
        t = int(naive.replace(tzinfo=z, fold=fold).timestamp())
        if datetime.datetime.fromtimestamp(t, z).replace(tzinfo=None) == naive:
            found.add(t)
    return sorted(found)


def first_at_or_after(z, w, occ):
    """The first instant at which the clock reads w or later: the first occurrence, or in a
    gap the instant the clocks jump over it."""
    if occ:
        return occ[0]
    lo, hi = w - 30 * 3600, w + 30 * 3600
    assert wall(z, lo) < w <= wall(z, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if wall(z, mid) >= w:
            hi = mid
        else:
            lo = mid
    return hi


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("output")
    ap.add_argument("--per-zone", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20261126)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    lines = []
    for name in ZONES:
        z = zoneinfo.ZoneInfo(name)
        instants, walls = set(), set()
        for _ in range(a.per_zone):
            t = rnd.randrange(T_MIN, T_MAX)
            instants.add(t)
            walls.add(t + rnd.randrange(-DAY, DAY))
        # Around a tenth of them, the transitions that follow: both sides, to the second.
        for t in sorted(instants)[:: 10]:
            x = next_transition(z, t)
            if x is None:
                continue
            before, after = clock(z, x - 1)[0], clock(z, x)[0]
            for d in (-3601, -1, 0, 1, 1799, 3600):
                instants.add(x + d)
            for w0 in (x + before, x + after):
                for d in (-3600, -1, 0, 1, 900, 1800, 3599, 3600):
                    walls.add(w0 + d)
        for t in sorted(instants):
            off, dst, abbr = clock(z, t)
            lines.append(f"I {name} {t} {off} {int(dst)} {abbr}")
        for w in sorted(walls):
            occ = occurrences(z, w)
            lines.append(" ".join(["W", name, str(w), str(len(occ))] + [str(t) for t in occ] +
                                  [str(first_at_or_after(z, w, occ))]))
    with open(a.output, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{a.output}: {len(lines)} answers of zoneinfo ({len(ZONES)} zones, seed {a.seed})", file=sys.stderr)


if __name__ == "__main__":
    main()
