"""The simulator clock.

It drives CreationDate/StartTime/LaunchTime, image state transitions and
credential expiry. Tests move it with /_sim/clock; it never drives the SigV4
clock-skew check, which compares with the real wall clock so a client can keep
signing with real time while the simulator lives in the future.

By default it follows the host's wall clock. A steady clock (--steady-clock) runs
instead on the host's monotonic clock from the wall time at start: EC2's clock is
not the client host's, and does not jump when someone steps the host's clock (NTP,
an operator, another test on the machine). Otherwise a step back would hide again,
for as long as the step, every image and tag that EC2's eventual consistency had
already shown, and keep new images pending that long; a step forward would settle
them early.
"""
import calendar
import functools
import datetime
import time


class SimClock:
    def __init__(self, steady=False):
        self.offset = 0.0        # seconds added to real time
        self.frozen_at = None    # epoch when frozen, else None
        self.steady = steady
        self._wall_at_start = time.time()
        self._monotonic_at_start = time.monotonic()

    def _real(self):
        """Real time: the host's wall clock, or with steady the wall time at start
        advanced by the monotonic clock, which no step of the wall clock moves."""
        if self.steady:
            return self._wall_at_start + (time.monotonic() - self._monotonic_at_start)
        return time.time()

    def now(self):
        if self.frozen_at is not None:
            return self.frozen_at
        return self._real() + self.offset

    def set(self, epoch, freeze=False):
        self.offset = epoch - self._real()
        self.frozen_at = epoch if freeze else None

    def advance(self, seconds):
        self.offset += seconds
        if self.frozen_at is not None:
            self.frozen_at += seconds

    def freeze(self, on):
        if on and self.frozen_at is None:
            self.frozen_at = self.now()
        elif not on and self.frozen_at is not None:
            self.offset = self.frozen_at - self._real()
            self.frozen_at = None

    def real(self):
        self.offset = 0.0
        self.frozen_at = None

    def to_json(self):
        return {'now': iso_ms(self.now()), 'offset_seconds': self.offset,
                'frozen': self.frozen_at is not None, 'steady': self.steady}

    def load_json(self, doc):
        self.offset = float(doc.get('offset_seconds', 0.0))
        self.frozen_at = parse_iso(doc['now']) if doc.get('frozen') else None
        if self.steady and 'now' in doc and self.now() < parse_iso(doc['now']):
            # Started while the host's clock was behind where it stood at the save:
            # EC2's clock goes on from where it was, never back.
            self.offset += parse_iso(doc['now']) - self.now()


@functools.lru_cache(maxsize=4096)
def iso_ms(epoch):
    """EC2's timestamp form: 2026-11-26T14:00:00.000Z."""
    dt = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return dt.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (dt.microsecond // 1000)


def iso_s(epoch):
    """STS's and IMDS's form: 2026-11-26T14:00:00Z."""
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def parse_iso(text):
    """ISO 8601 (with Z or an offset) or epoch seconds to epoch seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    if text.endswith('Z') or text.endswith('z'):
        text = text[:-1] + '+00:00'
    dt = datetime.datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return calendar.timegm(dt.utctimetuple()) + dt.microsecond / 1e6
