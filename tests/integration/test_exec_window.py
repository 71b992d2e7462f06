# The executor starts at most 256 chains of a kind at once (daemon/run/exec.c,
# CHAINS_STARTED_MAX): each started chain holds a signed request queued at its bucket, so
# a fleet of 10 000 does not hold 10 000 requests for the half hour CreateImage's bucket
# takes to let them through. With CreateImage hanging and nothing else limiting (pacing
# and max_in_flight raised), EC2 receives exactly as many CreateImage as chains started.
import subprocess
import time

from conftest import AMIROTD, run_instances

POLICY = """\
    name: web
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
    retain:
      count: 2
"""
STARTED_MAX = 256


def creates(sim):
    return len(sim.calls("CreateImage"))


def test_at_most_256_creations_are_started_at_once(amirotd, ec2, sim):
    run_instances(ec2, {"Role": "web"}, count=STARTED_MAX + 44)
    amirotd.write_global("""\
        max_in_flight: 1000
        request_timeout: 2m
        spread: 0s
        pacing:
          mutating: {capacity: 100000, refill: 100000}
        """)
    amirotd.write_policy("web", POLICY)
    sim.fault(action="CreateImage", kind="hang")
    p = subprocess.Popen([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "once", "--no-wait"], env=amirotd.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while creates(sim) < STARTED_MAX and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)                   # the others would have come by now
        assert creates(sim) == STARTED_MAX
    finally:
        p.kill()
        p.wait()
        sim.clear_faults()
