# protect.newest (issue 13, item 4): EC2's deregistration protection follows the rotation,
# through the real binary against ec2sim. amirotd protects each instance's newest N
# available images, turns off only the protection it turned on (its mark: the tag
# amirotd:protected), leaves a person's protection and image alone, waits out a cooldown
# before it retires, and converges after a crash between its two calls.
import json
import os
import signal
import subprocess
import time

from conftest import AMIROTD, CONSISTENCY_DELAY, run_instances

POLICY = """\
    name: web
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: %d
    protect:
      in_use: false
      newest: %d
      cooldown: %s
"""


def policy(count, newest, cooldown=False):
    return POLICY % (count, newest, "true" if cooldown else "false")


def at(k, minute=30):
    return f"2030-01-{k:02d}T03:{minute:02d}:00Z"


def once(amirotd, k, minute=30, check=True):
    amirotd.sim.set_clock(at(k, minute))
    return amirotd.run("once", now=at(k, minute), check=check)


def ours(sim):
    """The policy's images, newest first (by slot), as ec2sim holds them once its tag writes
    have become visible (EC2's eventual consistency, which ec2sim models)."""
    sim.admin("POST", "clock", {"advance_seconds": float(CONSISTENCY_DELAY) + 1})
    imgs = [i for i in sim.images() if i["Tags"].get("amirotd:policy") == "web"]
    return sorted(imgs, key=lambda i: i["Tags"]["amirotd:slot"], reverse=True)


def protected(image):
    return image["DeregistrationProtection"].startswith("enabled")


def test_rotation_keeps_exactly_the_newest_two_protected(amirotd, ec2):
    run_instances(ec2, {"Role": "web"}, count=2)
    amirotd.write_policy("web", policy(count=3, newest=2))

    for k in range(1, 6):
        p = once(amirotd, k)
        for iid in {i["Tags"]["amirotd:instance-id"] for i in ours(amirotd.sim)}:
            mine = [i for i in ours(amirotd.sim) if i["Tags"]["amirotd:instance-id"] == iid]
            assert len(mine) == min(k, 3)
            avail = [i for i in mine if i["State"] == "available"]
            assert [protected(i) for i in avail] == [j < 2 for j in range(len(avail))], (k, mine)
            assert all(i["Tags"].get("amirotd:protected", "no-cooldown") == "no-cooldown" for i in mine)
        assert_newest_protected_per_instance(amirotd.sim, 2)
    # The image that fell out was turned off in the run that made its successor, and a
    # retired one was unprotected first, in its chain.
    assert "turned off deregistration protection of image" in p.stderr
    assert "protected image" in p.stderr
    # Every retirement passed: none met a protection.
    retires = amirotd.sim.calls("DeregisterImage")
    assert len(retires) == 2 * 2 and all(c["status"] == 200 for c in retires), retires


def assert_newest_protected_per_instance(sim, n, others=()):
    """Each instance's newest n available images are protected, and carry amirotd's mark; no
    other does (but those someone else protected, which are not counted here)."""
    for iid in {i["Tags"]["amirotd:instance-id"] for i in ours(sim)}:
        imgs = [i for i in ours(sim) if i["Tags"]["amirotd:instance-id"] == iid and i["State"] == "available"
                and i["ImageId"] not in others]
        assert [protected(i) for i in imgs] == [k < n for k in range(len(imgs))]
        assert [("amirotd:protected" in i["Tags"]) for i in imgs] == [k < n for k in range(len(imgs))]


def test_a_persons_protection_and_image_are_left_alone(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"}, count=1)[0]
    tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": "20291231T030000Z"}
    theirs = amirotd.sim.seed(images=[{"name": f"web-{iid}-20291231T030000Z", "tags": tags, "instance_id": iid,
                                       "creation_date": "2029-12-31T03:10:00Z",
                                       "deregistration_protection": "enabled-without-cooldown"}])["images"][0]
    amirotd.write_policy("web", policy(count=1, newest=1))

    once(amirotd, 1)
    once(amirotd, 2)
    amirotd.sim.set_clock(at(2, 40))
    p = amirotd.run("plan", "--json", now=at(2, 40))

    rec = next(i for i in amirotd.sim.images() if i["ImageId"] == theirs)
    assert rec["DeregistrationProtection"] == "enabled-without-cooldown"
    assert "amirotd:protected" not in rec["Tags"]
    assert not [c for c in amirotd.sim.calls() if c["params"].get("ImageId") == theirs and
                c["action"] != "DescribeImages"]
    assert not [c for c in amirotd.sim.calls("DeleteTags") + amirotd.sim.calls("CreateTags")
                if theirs in c["params"].values()]
    keep = [a for a in json.loads(p.stdout) if a["action"] == "keep"]
    assert keep == [{"policy": "web", "region": "us-east-1", "action": "keep", "instance_id": iid,
                     "slot": "20291231T030000Z", "image_id": theirs,
                     "reason": "deregistration protection turned on by someone else"}]
    # Its own images rotate under protection as usual.
    assert_newest_protected_per_instance(amirotd.sim, 1, others={theirs})


def test_cooldown_keeps_the_image_until_it_passes_then_retires_it(amirotd, ec2):
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("web", policy(count=1, newest=1, cooldown=True))

    once(amirotd, 1)
    [first] = ours(amirotd.sim)
    assert first["DeregistrationProtection"] == "enabled-with-cooldown"
    assert first["Tags"]["amirotd:protected"] == "cooldown"

    p = once(amirotd, 2)
    # The new image is protected, the old one turned off, but its cooldown keeps it.
    imgs = {i["ImageId"]: i for i in ours(amirotd.sim)}
    assert first["ImageId"] in imgs
    assert imgs[first["ImageId"]]["DeregistrationProtection"].startswith("disabled-until ")
    assert "amirotd:protected" not in imgs[first["ImageId"]]["Tags"]
    assert amirotd.sim.calls("DeregisterImage") == []
    assert "cooldown" in p.stderr

    amirotd.sim.set_clock(at(2, 50))
    plan = json.loads(amirotd.run("plan", "--json", now=at(2, 50)).stdout)
    assert [(a["action"], a["image_id"]) for a in plan if a["action"] in ("keep", "retire")] == \
        [("keep", first["ImageId"])]
    assert "cooldown" in plan[-1]["reason"]

    # A day later the cooldown has passed: the image is retired, and the rotation goes on.
    once(amirotd, 3, minute=40)
    assert first["ImageId"] not in {i["ImageId"] for i in amirotd.sim.images()}
    assert [c["status"] for c in amirotd.sim.calls("DeregisterImage")] == [200]
    assert_newest_protected_per_instance(amirotd.sim, 1)


def kill_when(amirotd, k, ready, timeout=60):
    """Starts `once` for slot k and kills it (SIGKILL) as soon as ready(images) holds."""
    amirotd.sim.set_clock(at(k))
    proc = subprocess.Popen([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--now=" + at(k), "once"],
                            env=amirotd.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not ready(ours(amirotd.sim)):
            assert proc.poll() is None, "amirotd ended before the crash point"
            assert time.monotonic() < deadline, "the crash point never came"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    amirotd.sim.clear_faults()


def test_a_crash_between_the_calls_converges_on_the_next_run(amirotd, ec2):
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("web", policy(count=2, newest=1))

    # Killed after the tag, before EnableImageDeregistrationProtection answers.
    amirotd.sim.fault(action="EnableImageDeregistrationProtection", kind="hang")
    kill_when(amirotd, 1, lambda imgs: any("amirotd:protected" in i["Tags"] for i in imgs))
    [first] = ours(amirotd.sim)
    assert first["DeregistrationProtection"] == "disabled"
    once(amirotd, 1, minute=40)
    assert_newest_protected_per_instance(amirotd.sim, 1)

    # Killed after DisableImageDeregistrationProtection, before the tag is removed.
    amirotd.sim.fault(action="DeleteTags", kind="hang")
    kill_when(amirotd, 2, lambda imgs: any(i["ImageId"] == first["ImageId"] and
                                           i["DeregistrationProtection"] == "disabled" for i in imgs))
    old = next(i for i in ours(amirotd.sim) if i["ImageId"] == first["ImageId"])
    assert (old["DeregistrationProtection"], "amirotd:protected" in old["Tags"]) == ("disabled", True)
    p = once(amirotd, 2, minute=40)
    assert_newest_protected_per_instance(amirotd.sim, 1)
    assert ", 0 errors" in p.stderr
    # The second run removed the mark the first one left (and turned nothing else off).
    assert old["ImageId"] in [c["params"]["ResourceId.1"] for c in amirotd.sim.calls("DeleteTags")
                              if c["status"] == 200]


def test_dry_run_asks_with_dry_run_and_changes_nothing(amirotd, ec2):
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("web", policy(count=2, newest=1))
    once(amirotd, 1)
    once(amirotd, 2)
    amirotd.write_policy("web", policy(count=2, newest=2))
    before = {i["ImageId"]: (i["DeregistrationProtection"], dict(i["Tags"])) for i in ours(amirotd.sim)}
    assert len(before) == 2
    amirotd.sim.set_clock(at(2, 40))

    p = amirotd.run("once", "--dry-run", now=at(2, 40))

    assert "dry run: would have protected image" in p.stderr
    calls = amirotd.sim.calls("EnableImageDeregistrationProtection")[2:] + amirotd.sim.calls("CreateTags")[2:]
    assert calls and all(c["params"].get("DryRun") == "true" for c in calls), calls
    assert {i["ImageId"]: (i["DeregistrationProtection"], dict(i["Tags"])) for i in ours(amirotd.sim)} == before
