"""--steady-clock: EC2's clock is not the client host's. A step of the host's wall
clock (NTP, an operator, another test on the machine) moves neither the simulator
clock nor, with it, what eventual consistency shows or when a pending image settles."""
import sys
import time

from conftest import HERE

sys.path.insert(0, HERE)
from ec2simlib.clock import SimClock  # noqa: E402


class SteppedWallClock:
    """time.time() as a host shows it whose clock someone steps."""

    def __init__(self, monkeypatch):
        self.step = 0.0
        real = time.time
        monkeypatch.setattr(time, 'time', lambda: real() + self.step)


def test_steady_clock_ignores_a_step_of_the_wall_clock_and_keeps_its_offset(monkeypatch):
    wall = SteppedWallClock(monkeypatch)
    steady, following = SimClock(steady=True), SimClock()
    steady.advance(3600)
    before = steady.now(), following.now()
    wall.step = -600                    # the host's clock is set back ten minutes
    assert abs(steady.now() - before[0]) < 1.0
    assert abs(following.now() - (before[1] - 600)) < 1.0
    wall.step = +600
    assert abs(steady.now() - before[0]) < 1.0
    steady.set(2_000_000_000.0)
    assert abs(steady.now() - 2_000_000_000.0) < 1.0
    assert steady.to_json()['steady'] and not following.to_json()['steady']


def test_steady_clock_started_from_a_state_never_runs_back(monkeypatch):
    wall = SteppedWallClock(monkeypatch)
    saved = SimClock(steady=True).to_json()      # saved, and the host's clock set back
    wall.step = -600
    again = SimClock(steady=True)
    again.load_json(saved)
    assert again.now() >= time.time() + 600 - 1.0
    following = SimClock()
    following.load_json(saved)
    assert abs(following.now() - time.time()) < 1.0


def test_steady_clock_is_what_the_option_asks_for(own_sim):
    assert own_sim('--steady-clock').admin('GET', '/_sim/clock')['steady'] is True
    assert own_sim().admin('GET', '/_sim/clock')['steady'] is False
