"""EC2's clock is not the client host's, across a restart too: a simulator started
from its saved state while the host's clock is behind where it stood at the save goes
on from the saved time, never back (test_clock_step.py covers a step while it runs)."""
import sys
import time

from conftest import HERE

sys.path.insert(0, HERE)
from ec2simlib import clock  # noqa: E402


def test_a_clock_started_from_a_state_never_runs_back(monkeypatch):
    saved = clock.SimClock().to_json()
    # Started again after the host's clock was set back ten minutes.
    monkeypatch.setattr(clock, '_WALL_AT_START', clock._WALL_AT_START - 600)
    again = clock.SimClock()
    assert again.now() < time.time() - 599
    again.load_json(saved)
    assert again.now() >= clock.parse_iso(saved['now'])
    assert again.now() < clock.parse_iso(saved['now']) + 5
