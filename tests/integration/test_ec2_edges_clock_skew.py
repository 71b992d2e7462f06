# Issue 10, item 7 (b): a host clock that is off by more than EC2's 15 minutes.
# EC2 answers RequestExpired with its own time in the Date header; amirotd takes
# the offset from it, signs again with the corrected time (once per request),
# keeps the offset for later requests, and says once that the clock is off.
# The simulator's wall clock is moved instead of the host's (--date-offset-seconds
# shifts its Date header and its skew check together).
import subprocess

import pytest

import journal
from conftest import AMIROTD, images, run_instances

POLICY = """\
    name: web
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 3
"""
NOW = "2030-01-01T03:30:00Z"


def once_in_journal(amirotd):
    """`amirotd once` logging to the journal; returns (returncode, its journal entries)."""
    cmd = [AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--now=" + NOW, "--log-target=journal", "once"]
    since = journal.now_usec()
    p = subprocess.Popen(cmd, env=amirotd.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.communicate(timeout=120)
    return p.returncode, journal.entries(journal.Source(p.pid, since))


@pytest.mark.parametrize("offset", [20 * 60, -20 * 60])
def test_once_succeeds_with_a_host_clock_twenty_minutes_off(amirotd, ec2, journald, offset):
    run_instances(ec2, {"Role": "web"}, count=3)
    amirotd.write_policy("web", POLICY)
    amirotd.sim.set_clock(NOW)
    amirotd.sim.admin("POST", "settings", {"date_offset_seconds": offset})

    rc, entries = once_in_journal(amirotd)

    amirotd.sim.admin("POST", "settings", {"date_offset_seconds": 0})
    messages = [e.get("MESSAGE", "") for e in entries]
    assert rc == 0, "\n".join(messages)
    assert len(images(ec2, **{"tag:amirotd:policy": "web", "state": "available"})) == 3

    # Said once, as a warning, with the size and direction of the skew.
    skew = [e for e in entries if "host clock is off by" in e.get("MESSAGE", "")]
    assert len(skew) == 1, messages
    assert skew[0]["PRIORITY"] == "4"
    direction = "behind" if offset > 0 else "ahead of"
    assert f"off by {abs(offset)} seconds ({direction} AWS's" in skew[0]["MESSAGE"] or \
        f"off by {abs(offset) - 1} seconds ({direction} AWS's" in skew[0]["MESSAGE"], skew[0]["MESSAGE"]
    assert skew[0].get("AWS_ERROR_CODE") == "RequestExpired"

    # One correction per request, kept by the client: the first requests (sent
    # together, before any answer) are refused; everything after goes through.
    calls = amirotd.sim.calls()
    expired = [c for c in calls if c.get("error_code") == "RequestExpired"]
    assert 1 <= len(expired) <= 3, [(c["action"], c["error_code"]) for c in calls]
    assert max(c["seq"] for c in expired) < min(c["seq"] for c in calls if c["action"] == "CreateImage")
    assert len([c for c in calls if c["action"] == "CreateImage"]) == 3


def test_skew_within_the_window_is_not_corrected(amirotd, ec2, journald):
    # Ten minutes off is inside EC2's 15 minutes: nothing is refused and nothing said.
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("web", POLICY)
    amirotd.sim.set_clock(NOW)
    amirotd.sim.admin("POST", "settings", {"date_offset_seconds": 600})
    rc, entries = once_in_journal(amirotd)
    amirotd.sim.admin("POST", "settings", {"date_offset_seconds": 0})
    assert rc == 0
    assert not [e for e in entries if "host clock" in e.get("MESSAGE", "")]
    assert not [c for c in amirotd.sim.calls() if c.get("error_code") == "RequestExpired"]
