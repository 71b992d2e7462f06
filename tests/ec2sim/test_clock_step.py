"""AWS keeps its own time: a step of the client host's clock moves neither the
simulator's clock (CreationDate, settling, expiry) nor the time its SigV4 skew
check and Date header use. Steps the host's clock for real, by the rules of
tests/integration/clockstep.py (root only)."""
import email.utils
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import clockstep  # noqa: E402

from ec2simlib.clock import parse_iso  # noqa: E402

pytestmark = pytest.mark.skipif(not clockstep.can_step(), reason='setting the clock needs root')


def amz_date(epoch):
    return time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(epoch))


def test_a_step_of_the_host_clock_moves_no_aws_time(sim):
    with clockstep.stepped_clock() as clock:
        clock.set(clock.true_now() + 600)
        served = parse_iso(sim.admin('GET', '/_sim/clock')['now'])
        reply = sim.call('DescribeInstances', amz_date=amz_date(clock.true_now() - 3600))
        # Signed by the host's clock, ten minutes ahead of AWS's: within EC2's 15 minutes.
        ahead = sim.call('DescribeInstances', amz_date=amz_date(time.time()))
        # Six more minutes on the host's clock are sixteen on AWS's: refused, although the
        # host's clock would call it four minutes off.
        beyond = sim.call('DescribeInstances', amz_date=amz_date(time.time() + 360))
        truth = clock.true_now()
    assert abs(served - truth) < 5, f'simulator clock {served}, true time {truth}'
    assert reply.code == 'RequestExpired'
    assert abs(email.utils.parsedate_to_datetime(reply.headers['Date']).timestamp() - truth) < 5
    assert ahead.status == 200
    assert beyond.code == 'RequestExpired'
