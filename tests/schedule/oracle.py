# SPDX-License-Identifier: MIT
"""Independent oracles for amirotd's schedules, and the C side to compare with.

The expected slots come from code this project did not write: croniter (Debian's
python3-croniter) decides which local minutes a cron expression fires at, and
Python's zoneinfo (its own reader of the same TZif files) decides what a local
clock reads at an instant and which instant a wall time is. What is ours here is
only the documented rule that turns wall times into slot starts (amirotd.yaml(5),
"timezone"), written the plainest way: a slot starts at the first instant the
clock reads its wall time or later, so a wall time the clocks skip starts when
they jump, and one they show twice starts at its first occurrence, once.

Where croniter 1.3.5 reads an expression differently from Vixie cron (the
reference: crontab(5) on Debian and Vixie's entry.c and cron.c), the oracle
follows Vixie; each such rule is a function below that says why.
"""
import bisect
import datetime as dt
import os
import subprocess
import zoneinfo

from croniter import CroniterBadDateError, croniter

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ORACLE_BIN = os.environ.get("SCHEDULE_ORACLE", os.path.join(ROOT, "build", "tests", "schedule-oracle"))

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1)
DAY = 86400

# Larger than any backward or forward jump of the zones tested (Lord Howe's is 30 minutes,
# the others' an hour): a wall time that far from the clock's reading cannot be the slot.
CLOCK_SHIFT_MAX = dt.timedelta(hours=3)


def zone_of(name):
    return UTC if name == "UTC" else zoneinfo.ZoneInfo(name)


def wall(t, zone):
    """What the zone's clock reads at instant t (seconds), as a naive datetime."""
    return dt.datetime.fromtimestamp(t, zone).replace(tzinfo=None)


def instant(w, zone, fold):
    return int((w.replace(tzinfo=zone, fold=fold) - dt.datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())


def offset_at(t, zone):
    return dt.datetime.fromtimestamp(t, zone).utcoffset()


def first_at_or_after(w, zone):
    """The first instant at which the clock reads wall time w or later (amirotd.yaml(5)):
    w's first occurrence, or, when the clocks skip w, the instant they jump."""
    found = [t for t in {instant(w, zone, 0), instant(w, zone, 1)} if wall(t, zone) == w]
    if found:
        return min(found)
    # In a gap, PEP 495 gives fold=1 the offset after the jump (the earlier instant) and fold=0
    # the one before (the later): the jump lies between them.
    lo, hi = instant(w, zone, 1), instant(w, zone, 0)
    after = offset_at(hi, zone)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if offset_at(mid, zone) == after:
            hi = mid
        else:
            lo = mid
    return hi


def transitions(zone, first_year, last_year):
    """Every change of UTC offset in the given years: (instant, offset before, offset after)."""
    t = int((dt.datetime(first_year, 1, 1) - EPOCH).total_seconds()) - DAY
    end = int((dt.datetime(last_year + 1, 1, 1) - EPOCH).total_seconds()) + DAY
    step = 6 * 3600
    out = []
    while t < end:
        a, b = offset_at(t, zone), offset_at(t + step, zone)
        if a != b:
            lo, hi = t, t + step
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset_at(mid, zone) == a:
                    lo = mid
                else:
                    hi = mid
            if first_year <= wall(hi, UTC).year <= last_year:
                out.append((hi, a, b))
        t += step
    return out


# ---- cron, read as Vixie cron reads it ----------------------------------------------------
#
# croniter 1.3.5 answers most questions as Vixie cron would; where it does not, the oracle
# asks it a question it does answer right and combines the answers. Each rule says why.

MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}


def vixie_fields(expr):
    """The five fields of an expression; a macro is expanded by Vixie's own table (entry.c).
    Vixie compares macro names case-sensitively, amirotd in any case: the generator writes them
    in lower case, where both agree."""
    e = expr.strip()
    if e.startswith("@"):
        e = MACROS[e.lower()]
    return e.split()


def vixie_day_or(expr):
    """Rule 1. Vixie cron (entry.c sets DOM_STAR / DOW_STAR when a day field's first character
    is '*'; cron.c ANDs the day fields if either flag is set, else ORs them): a day field that
    starts with '*' ("*", "*/2", "*/10,5") leaves the day unrestricted. croniter ORs whenever
    day_or=True, even "0 0 */2 * fri" (odd days or Fridays, where cron means odd days that are
    Fridays): so the oracle decides AND or OR by Vixie's rule, never by croniter's default."""
    fields = vixie_fields(expr)
    return not (fields[2].startswith("*") or fields[4].startswith("*"))


def croniter_start(fields, start):
    return croniter(" ".join(fields), start, day_or=False, max_years_between_matches=400)


class croniter_firings:
    """The firings of five fields (at most one day field restricted) after wall time `start`;
    next() returns None once there is none within 400 years.

    Rule 2. From a day whose month lacks the next selected day (31 in February), croniter
    carries the overflow into the next month and skips its first days: "0 0 1,11,21,31 * *"
    from 2001-02-25 answers 03-11, not 03-01. Cron checks each minute against the bits, so it
    fires on 03-01. croniter answers right from the last half-minute of a month, so whenever
    its answer lies in a later month, the oracle also asks from there for each month that
    begins before that answer, and takes the earliest."""

    def __init__(self, fields, start):
        self.fields, self.last, self.it = fields, start, croniter_start(fields, start)

    def ask(self, it):
        try:
            return it.get_next(dt.datetime)
        except CroniterBadDateError:
            return None

    def next(self):
        best = self.ask(self.it)
        month = dt.datetime(self.last.year, self.last.month, 1)
        while best is not None:
            month = (month + dt.timedelta(days=32)).replace(day=1)
            if month > best:
                break
            it = croniter_start(self.fields, month - dt.timedelta(seconds=30))
            again = self.ask(it)
            if again is not None and again < best:
                best, self.it = again, it
        self.last = best
        return best


class cron_iter:
    """The wall times at which Vixie cron fires, ascending, after `start`.

    Rule 3. With both day fields restricted Vixie ORs them, and a day of the month that a month
    lacks does not stop the weekday from matching in it: "8 4 31 9 sun" fires on September's
    Sundays. croniter (day_or=True) gives up on the month ("failed to find next date"). It also
    turns a day field that holds every day ("1-31", "17,*,31") into "*" and then leaves it out
    of its OR, so "0 0 1-31 * mon" fires on Mondays only, where Vixie, deciding by the first
    character alone, ORs and fires every day. So the OR is computed as what it means, the union
    of two expressions with one day field each ("8 4 31 9 *" and "8 4 * 9 sun"), each of which
    croniter reads right."""

    def __init__(self, expr, start):
        fields = vixie_fields(expr)
        if vixie_day_or(expr):
            self.variants = [fields[:4] + ["*"], fields[:2] + ["*"] + fields[3:]]
        else:
            self.variants = [fields]
        self.variants = [croniter_firings(v, start) for v in self.variants]
        self.upcoming = [v.next() for v in self.variants]

    def get_next(self, _type=None):
        found = [w for w in self.upcoming if w is not None]
        if not found:
            raise CroniterBadDateError("never fires")
        w = min(found)
        self.upcoming = [v.next() if u == w else u for v, u in zip(self.variants, self.upcoming)]
        return w


def cron_slots(expr, tz, t):
    """(current, next) for a cron schedule at instant t: the last slot start <= t and the
    first > t, each a croniter firing turned into an instant by first_at_or_after()."""
    zone = zone_of(tz)
    w = wall(t, zone)
    it = cron_iter(expr, w - CLOCK_SHIFT_MAX)
    while True:
        nxt = first_at_or_after(it.get_next(dt.datetime), zone)
        if nxt > t:
            break
    return cron_last_start(expr, zone, t, w + CLOCK_SHIFT_MAX), nxt


def cron_last_start(expr, zone, t, bound):
    """The latest slot start <= t among the firings before wall time bound. croniter 1.3.5's
    get_prev never finds 29 February ("0 0 29 2 *" from 2008-03-05 raises "failed to find prev
    date"; "* * * 2 *" steps back to the 28th), where cron, which only ever looks forward, fires
    on it in leap years: so the oracle walks forward with get_next from ever earlier points."""
    span = dt.timedelta(hours=4)
    while True:
        it, last = cron_iter(expr, bound - span), None
        while (w := it.get_next(dt.datetime)) < bound:
            s = first_at_or_after(w, zone)
            if s <= t:
                last = s
        if last is not None:
            return last
        span *= 2


def cron_starts(expr, tz, w_from, w_to):
    """Every slot start whose wall time lies in [w_from, w_to), sorted, without repeats."""
    zone = zone_of(tz)
    it = cron_iter(expr, w_from - dt.timedelta(minutes=1))
    out = set()
    while True:
        w = it.get_next(dt.datetime)
        if w >= w_to:
            return sorted(out)
        out.add(first_at_or_after(w, zone))


# ---- every / at, by amirotd.yaml(5)'s rules ------------------------------------------------

MONDAY = EPOCH + dt.timedelta(days=4)          # 1970-01-05, the reference day of `every`


def every_is_wall(every):
    return every % DAY == 0 or DAY % every == 0


def every_slots(every, at, tz, t):
    """(current, next): whole days and divisors of a day are wall times at + k * every from
    Monday 1970-01-05, each starting at first_at_or_after(); other intervals are elapsed
    seconds from the first instant the clock reads `at` on that Monday."""
    zone = zone_of(tz)
    phase = MONDAY + dt.timedelta(seconds=at)
    if not every_is_wall(every):
        anchor = first_at_or_after(phase, zone)
        k = (t - anchor) // every
        return anchor + k * every, anchor + (k + 1) * every
    w = wall(t, zone)
    k = (w + CLOCK_SHIFT_MAX - phase) // dt.timedelta(seconds=every)
    while True:
        cur = first_at_or_after(phase + dt.timedelta(seconds=k * every), zone)
        if cur <= t:
            break
        k -= 1
    k = (w - CLOCK_SHIFT_MAX - phase) // dt.timedelta(seconds=every)
    while True:
        nxt = first_at_or_after(phase + dt.timedelta(seconds=k * every), zone)
        if nxt > t:
            break
        k += 1
    return cur, nxt


def every_starts(every, at, tz, w_from, w_to):
    zone = zone_of(tz)
    phase = MONDAY + dt.timedelta(seconds=at)
    step = dt.timedelta(seconds=every)
    if not every_is_wall(every):
        anchor = first_at_or_after(phase, zone)
        a, b = instant(w_from, zone, 0), instant(w_to, zone, 0)
        k = -((anchor - a) // every)
        return [anchor + i * every for i in range(k, (b - anchor) // every + 1) if a <= anchor + i * every < b]
    k = -((phase - w_from) // step)
    out = set()
    while phase + k * step < w_to:
        out.add(first_at_or_after(phase + k * step, zone))
        k += 1
    return sorted(out)


def slots_from_starts(starts, t):
    """(current, next) from a sorted list of slot starts that reaches beyond t both ways."""
    i = bisect.bisect_right(starts, t)
    if i == 0 or i == len(starts):
        return None
    return starts[i - 1], starts[i]


# ---- the C side ----------------------------------------------------------------------------

def ask(queries):
    """Asks build/tests/schedule-oracle: each query (kind, fields..., t) gets (current, next),
    or ("error", message)."""
    lines = ["\t".join(str(x) for x in q) for q in queries]
    p = subprocess.run([ORACLE_BIN], input="\n".join(lines) + "\n", capture_output=True, text=True,
                       timeout=600, check=True)
    out = []
    for line in p.stdout.splitlines():
        if line.startswith("error "):
            out.append(("error", line[6:]))
        else:
            a, b = line.split()
            out.append((int(a), int(b)))
    assert len(out) == len(queries), p.stderr
    return out


def iso(t):
    return wall(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
