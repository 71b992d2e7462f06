# Stepping the host's wall clock for real (tests/reliability/test_clock.py,
# tests/ec2sim/test_clock_step.py). The tests run as root in a throwaway VM, next to
# other tests that read the same clock, so every stepper keeps these rules:
#  - at most MAX_OFF from the true time: ec2sim refuses a signature 15 minutes off;
#  - an exclusive flock on LOCK for as long as the clock is off, so that two steppers
#    never stack their steps, and a test that must not see a step can wait for it;
#  - back to the true time in a finally: the wall time read before the first step plus
#    the monotonic time elapsed since, so the clock is right again within milliseconds;
#  - off for seconds at a time, never minutes.
import contextlib
import fcntl
import os
import time

LOCK = "/tmp/amirotd-clock-step.lock"
MAX_OFF = 600


def can_step():
    """Only root may set the clock (CAP_SYS_TIME)."""
    return os.geteuid() == 0


class SteppedClock:
    """The host's clock while a test holds it: true_now() is what it should read."""

    def __init__(self):
        self._wall_ns = time.time_ns()
        self._monotonic_ns = time.monotonic_ns()

    def true_now(self):
        return (self._wall_ns + time.monotonic_ns() - self._monotonic_ns) / 1e9

    def offset(self):
        """How far the clock is off now, in seconds (positive: ahead)."""
        return time.time() - self.true_now()

    def set(self, wall):
        """Sets the clock to `wall` (seconds since the epoch), at most MAX_OFF from the true time."""
        off = wall - self.true_now()
        if abs(off) > MAX_OFF:
            raise ValueError(f"a step to {off:+.0f}s off the true time; at most {MAX_OFF}s")
        time.clock_settime_ns(time.CLOCK_REALTIME, int(wall * 1e9))

    def restore(self):
        time.clock_settime_ns(time.CLOCK_REALTIME, self._wall_ns + time.monotonic_ns() - self._monotonic_ns)


@contextlib.contextmanager
def stepped_clock():
    """Holds the clock (flock on LOCK) and yields a SteppedClock; the clock is true again after."""
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        clock = SteppedClock()
        try:
            yield clock
        finally:
            clock.restore()
