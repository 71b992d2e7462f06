"""The simulator clock.

It drives CreationDate/StartTime/LaunchTime, image state transitions and
credential expiry. Tests move it with /_sim/clock; it never drives the SigV4
clock-skew check, which compares with the real wall clock so a client can keep
signing with real time while the simulator lives in the future.

"Real time" is AWS's, and AWS's clock does not move when a client host's clock
is stepped: real_time() is the host's wall clock as it read when the simulator
started, carried on by the monotonic clock. So a test that steps the host's
clock (tests/reliability/test_clock.py) makes the client's clock wrong, as a
host's clock goes wrong, while the simulator keeps stamping, settling and
checking signatures on the time it had: an image made before a step back is
neither dated in the future nor held pending or invisible until the stepped
clock catches up, and a signature dated more than 15 minutes off is refused.
"""
import calendar
import functools
import datetime
import time

_WALL_AT_START = time.time()
_MONOTONIC_AT_START = time.monotonic()


def real_time():
    """Seconds since the epoch on AWS's clock: unaffected by steps of the host's clock."""
    return _WALL_AT_START + (time.monotonic() - _MONOTONIC_AT_START)


class SimClock:
    def __init__(self):
        self.offset = 0.0        # seconds added to real time
        self.frozen_at = None    # epoch when frozen, else None

    def now(self):
        if self.frozen_at is not None:
            return self.frozen_at
        return real_time() + self.offset

    def set(self, epoch, freeze=False):
        self.offset = epoch - real_time()
        self.frozen_at = epoch if freeze else None

    def advance(self, seconds):
        self.offset += seconds
        if self.frozen_at is not None:
            self.frozen_at += seconds

    def freeze(self, on):
        if on and self.frozen_at is None:
            self.frozen_at = self.now()
        elif not on and self.frozen_at is not None:
            self.offset = self.frozen_at - real_time()
            self.frozen_at = None

    def real(self):
        self.offset = 0.0
        self.frozen_at = None

    def to_json(self):
        return {'now': iso_ms(self.now()), 'offset_seconds': self.offset,
                'frozen': self.frozen_at is not None}

    def load_json(self, doc):
        self.offset = float(doc.get('offset_seconds', 0.0))
        self.frozen_at = parse_iso(doc['now']) if doc.get('frozen') else None
        if 'now' in doc and self.now() < parse_iso(doc['now']):
            # Restarted while the host's clock was behind where it stood at the save:
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
