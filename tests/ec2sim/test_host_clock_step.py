"""AWS's clock is not the host's: when the host's wall clock steps (an NTP step, an
operator's `date -s`), the client signs with the stepped clock, while EC2's own clock,
and with it image states, eventual consistency and the Date header, goes on unmoved.

The test steps this machine's real clock back, so it holds the lock that every test
stepping the clock holds (tests/reliability/test_clock.py), restores the clock from the
monotonic clock in a finally, and keeps the step within EC2's 15 minutes of skew."""
import contextlib
import email.utils
import fcntl
import os
import time

import pytest

LOCK = '/tmp/amirotd-clock-step.lock'
STEP = -300


@contextlib.contextmanager
def host_clock_stepped(seconds):
    with open(LOCK, 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wall, mono = time.time(), time.monotonic()
        time.clock_settime(time.CLOCK_REALTIME, wall + seconds)
        try:
            yield
        finally:
            time.clock_settime(time.CLOCK_REALTIME, wall + (time.monotonic() - mono))


def sim_now(sim):
    reply = sim.call('DescribeImages', {'Owner.1': 'self'})
    return email.utils.parsedate_to_datetime(reply.headers['Date']).timestamp(), reply


@pytest.mark.skipif(os.geteuid() != 0, reason='stepping the wall clock needs root')
def test_a_step_of_the_host_clock_moves_neither_ec2s_clock_nor_its_date_header(sim):
    before, _ = sim_now(sim)
    clock_before = sim.admin('GET', '/_sim/clock')['now']
    with host_clock_stepped(STEP):
        assert time.time() < before + STEP + 60
        during, reply = sim_now(sim)
        # Signed with the stepped clock: 300 s of skew, within EC2's 15 minutes.
        assert reply.status == 200, reply.body
        assert before - 1 <= during <= before + 30
        clock_during = sim.admin('GET', '/_sim/clock')['now']
        assert clock_during >= clock_before
