# EC2's hard edges (issue 10) as the engine and the planner meet them: filter
# limits at 1 000 instances, images not visible yet, a DescribeSnapshots that
# fails, and images of a future slot. Each test fails on the code before it.
import json
import subprocess
import time

import pytest

import journal
from conftest import AMIROTD, images, run_instances, tag_dict

POLICY = """\
    name: web
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    image:
      wait_timeout: 60s
    retain:
      count: 1
"""

# EC2's limit, as ec2sim enforces it: 200 filter values in one call (all filters).
FILTER_VALUES_MAX = 200


def slot(k):
    """A time inside the k-th daily slot (2030-01-k 03:00 UTC onwards)."""
    return f"2030-01-{k:02d}T03:30:00Z"


def slot_id(k):
    return f"203001{k:02d}T030000Z"


def once(amirotd, k, *args, check=True, timeout=120):
    amirotd.sim.set_clock(slot(k))
    return amirotd.run("once", *args, now=slot(k), check=check, timeout=timeout)


def filter_values(call):
    """The number of filter values a logged call sent (Filter.N.Value.M)."""
    return sum(1 for k in call["params"] if k.startswith("Filter.") and ".Value." in k)


def once_to_journal(amirotd, k):
    """`once` in slot k, logging to the journal; returns its journal entries."""
    amirotd.sim.set_clock(slot(k))
    since = journal.now_usec()
    proc = subprocess.Popen([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--now=" + slot(k),
                             "--log-target=journal", "once"], env=amirotd.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return journal.wait_for(journal.Source(proc.pid, since),
                            lambda e: any("snapshots deleted" in x.get("MESSAGE", "") for x in e), timeout=30)


def test_thousand_instances_in_one_region_become_available_and_retire_their_predecessors(amirotd, ec2):
    n = 1000
    ids = [f"i-{k:017x}" for k in range(1, n + 1)]
    amirotd.sim.seed(instances=[{"id": i, "tags": {"Role": "web"}} for i in ids],
                     images=[{"name": f"web-{i}-{slot_id(1)}", "state": "available", "instance_id": i,
                              "creation_date": "2030-01-01T03:10:00Z",
                              "tags": {"amirotd:policy": "web", "amirotd:instance-id": i,
                                       "amirotd:slot": slot_id(1)}} for i in ids])
    # The run's pace is EC2's own (CreateImage 5 a second); here only the filter
    # limit is under test, so neither side throttles and every image stays pending
    # for a second, long enough for the poll to find it pending.
    amirotd.sim.admin("POST", "buckets", {"enabled": False})
    amirotd.sim.admin("POST", "settings", {"pending_seconds": 1})
    amirotd.write_global("""\
        spread: 0s
        max_in_flight: 64
        pacing:
          describe: {capacity: 10000, refill: 10000}
          mutating: {capacity: 10000, refill: 10000}
          delete: {capacity: 10000, refill: 10000}
        """)
    amirotd.write_policy("web", POLICY)

    started = time.monotonic()
    p = once(amirotd, 2, timeout=300)
    elapsed = time.monotonic() - started

    assert "FilterLimitExceeded" not in p.stderr
    managed = images(ec2, **{"tag:amirotd:policy": "web"})
    assert len(managed) == n
    assert {tag_dict(i)["amirotd:slot"] for i in managed} == {slot_id(2)}
    assert {i["State"] for i in managed} == {"available"}
    assert len(amirotd.sim.calls("DeregisterImage")) == n
    polls = [c for c in amirotd.sim.calls("DescribeImages") if "image-id" in json.dumps(c["params"])]
    assert polls and all(filter_values(c) <= FILTER_VALUES_MAX for c in polls)
    assert all(c["error_code"] != "FilterLimitExceeded" for c in amirotd.sim.calls())
    print(f"{n} instances: once took {elapsed:.1f}s, {len(polls)} poll calls")


def test_image_not_yet_visible_is_waited_for_not_taken_for_gone(amirotd, ec2):
    ids = run_instances(ec2, {"Role": "web"}, count=2)
    # EC2's eventual consistency: a new image is missing from DescribeImages for a
    # few seconds after CreateImage answered (the poll comes after one second).
    amirotd.sim.admin("POST", "settings", {"consistency_delay": 4, "pending_seconds": 1})
    amirotd.write_policy("web", POLICY)
    p = once(amirotd, 1)
    assert "disappeared" not in p.stderr
    good = images(ec2, **{"tag:amirotd:policy": "web", "state": "available"})
    assert sorted(tag_dict(i)["amirotd:instance-id"] for i in good) == sorted(ids)
    assert p.stderr.count("is available") == 2


@pytest.mark.parametrize("why", ["denied", "throttled"])
def test_describe_snapshots_failing_skips_the_sweep_but_creates_and_retires(amirotd, ec2, why):
    run_instances(ec2, {"Role": "web"}, count=2)
    amirotd.write_policy("web", POLICY)
    if why == "denied":
        # A role without ec2:DescribeSnapshots.
        amirotd.sim.admin("POST", "keys", {"access_key": "AKIDEXAMPLE", "deny": ["DescribeSnapshots"]})
    else:
        amirotd.sim.fault(action="DescribeSnapshots", kind="throttle", count=1000)
    for k in (1, 2):
        p = once(amirotd, k)
        assert p.stderr.count("skipping the orphan sweep this run") == 1
        assert ("UnauthorizedOperation" if why == "denied" else "RequestLimitExceeded") in p.stderr
    good = images(ec2, **{"tag:amirotd:policy": "web"})
    assert [tag_dict(i)["amirotd:slot"] for i in good] == [slot_id(2)] * 2
    assert len(amirotd.sim.calls("CreateImage")) == 4
    assert len(amirotd.sim.calls("DeregisterImage")) == 2


def test_image_of_a_future_slot_is_reported_and_does_not_displace_the_current_one(amirotd, ec2, journald):
    (iid,) = run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("web", POLICY)
    once(amirotd, 1)
    # The host's clock ran ahead four days while EC2's stayed right (an hour into
    # day 1): the image carries slot 5, and (the run believing it is day 5) the
    # image of slot 1 is retired. EC2's clock only moves forward: its images become
    # visible on its own time (the simulator is eventually consistent).
    amirotd.sim.set_clock("2030-01-01T04:30:00Z")
    amirotd.run("once", now=slot(5))
    (future,) = images(ec2, **{"tag:amirotd:policy": "web"})
    assert tag_dict(future)["amirotd:slot"] == slot_id(5)

    # The clock is right again: day 2. The run makes slot 2's image and keeps it;
    # the future image is reported, neither counted nor retired.
    entries = once_to_journal(amirotd, 2)
    kept = images(ec2, **{"tag:amirotd:policy": "web"})
    assert sorted(tag_dict(i)["amirotd:slot"] for i in kept) == [slot_id(2), slot_id(5)]
    assert {i["State"] for i in kept} == {"available"}
    assert all(c["params"]["ImageId"] != future["ImageId"] for c in amirotd.sim.calls("DeregisterImage"))
    warn = [e for e in entries if e.get("MESSAGE_ID") == "b534bda9173f4724aafcda365cd8a940"]
    assert len(warn) == 1
    assert warn[0]["AMIROTD_IMAGE_ID"] == future["ImageId"]
    assert warn[0]["AMIROTD_INSTANCE_ID"] == iid
    assert warn[0]["PRIORITY"] == "4"

    # A second run in slot 2 reports it again and changes nothing (EC2's clock is
    # left where it is: set back, it would hide the images just made).
    p = amirotd.run("once", now=slot(2))
    assert "has not begun" in p.stderr
    assert sorted(tag_dict(i)["amirotd:slot"] for i in images(ec2, **{"tag:amirotd:policy": "web"})) == \
        [slot_id(2), slot_id(5)]
