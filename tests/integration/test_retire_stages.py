# Staged retirement (issue 13, item 5), through the real binary and ec2sim with the
# simulator's clock moved day by day: an image retention lets go is deprecated,
# disabled, then deregistered with its snapshots at the configured times; a person's
# EnableImage or DisableImageDeprecation is reported once and never fought; a kill -9
# between DisableImage and its tag converges; image.deprecate_after gives every new
# image its deprecation time, as DLM does.
import signal
import subprocess
import time
import urllib.parse
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import ACCESS_KEY, AMIROTD, SECRET_KEY, run_instances


def person_calls(amirotd, action, image_id):
    """A person's signed EC2 call (Debian's botocore predates EnableImage): Action, ImageId."""
    body = urllib.parse.urlencode({"Action": action, "Version": "2016-11-15", "ImageId": image_id})
    req = AWSRequest(method="POST", url=amirotd.sim.url + "/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "ec2", "us-east-1").add_auth(req)
    prepared = req.prepare()
    with urllib.request.urlopen(urllib.request.Request(prepared.url, data=body.encode(),
                                                       headers=dict(prepared.headers), method="POST"),
                                timeout=30) as r:
        assert b"<return>true</return>" in r.read()


def tag_dict(record):
    """The tags of a simulator record (a mapping there) or of an EC2 answer (a list)."""
    tags = record.get("Tags") or {}
    return tags if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags}

STAGED = """\
    name: web
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 1
    retire:
      deprecate_after: 1d
      disable_after: 2d
      deregister_after: 4d
"""


def slot(k):
    return f"2030-01-{k:02d}T03:30:00Z"


def slot_id(k):
    return f"203001{k:02d}T030000Z"


def once(amirotd, k, **kw):
    amirotd.sim.set_clock(slot(k))
    p = amirotd.run("once", now=slot(k), **kw)
    # The tags a run wrote show after the simulator's consistency delay (conftest: 1 s).
    time.sleep(1.2)
    return p


def image(amirotd, image_id):
    """The simulator's record of an image (disabled ones included), or None once deregistered."""
    found = [i for i in amirotd.sim.images() if i["ImageId"] == image_id]
    return found[0] if found else None


def image_of_slot(amirotd, k):
    (found,) = [i for i in amirotd.sim.images() if tag_dict(i).get("amirotd:slot") == slot_id(k)]
    return found


def seed_released(amirotd, iid, k, stage, state="available", deprecation=None):
    """An image of slot k that retention released at slot(k + 1), its stage done as `stage`."""
    tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": slot_id(k),
            "amirotd:retired-at": slot(k + 1)}
    if stage:
        tags["amirotd:stage"] = stage
    spec = {"name": f"web-{iid}-{slot_id(k)}", "state": state, "instance_id": iid,
            "creation_date": f"2030-01-{k:02d}T03:10:00Z", "tags": tags, "snapshot_tags": tags}
    if deprecation:
        spec["deprecation_time"] = deprecation
    (image_id,) = amirotd.sim.seed(images=[spec])["images"]
    return image_id


def test_an_image_beyond_retention_is_deprecated_disabled_then_deregistered(amirotd, ec2):
    (iid,) = run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("web", STAGED)
    once(amirotd, 1)
    first = image_of_slot(amirotd, 1)
    snaps = [b["Ebs"]["SnapshotId"] for b in first["BlockDeviceMappings"] if "Ebs" in b]
    assert snaps

    # Day 2: its successor is available; retention releases it and schedules its deprecation.
    p = once(amirotd, 2)
    g = image(amirotd, first["ImageId"])
    assert g["State"] == "available", p.stderr
    assert "amirotd:retired-at" in tag_dict(g), p.stderr + repr(g)
    assert tag_dict(g)["amirotd:retired-at"] == slot(2)
    assert tag_dict(g)["amirotd:stage"] == "deprecated"
    assert g["DeprecationTime"].startswith("2030-01-03T03:30:00")
    assert f"released image {first['ImageId']}" in p.stderr
    assert not amirotd.sim.calls("DeregisterImage")

    # Day 3: nothing is due for it (its successor is released in turn).
    once(amirotd, 3)
    assert image(amirotd, first["ImageId"])["State"] == "available"
    assert not [c for c in amirotd.sim.calls("DisableImage") if c["params"]["ImageId"] == first["ImageId"]]

    # Day 4: retired-at + 2d: `plan` shows the stage and when it came due; the run
    # disables it, recorded after DisableImage succeeded.
    p = amirotd.run("plan", now=slot(4))
    (row,) = [line for line in p.stdout.splitlines() if first["ImageId"] in line]
    assert row.split()[2] == "disable"
    assert "retire.disable_after 2d (due 2030-01-04T03:30:00Z)" in row
    p = once(amirotd, 4)
    g = image(amirotd, first["ImageId"])
    assert g["State"] == "disabled"
    assert tag_dict(g)["amirotd:stage"] == "disabled"
    assert f"disabled image {first['ImageId']}" in p.stderr

    # Day 5: nothing more; day 6 (retired-at + 4d): deregistered with its snapshots.
    once(amirotd, 5)
    assert image(amirotd, first["ImageId"]) is not None
    once(amirotd, 6)
    assert image(amirotd, first["ImageId"]) is None
    left = {s["SnapshotId"] for s in amirotd.sim.snapshots()}
    assert not set(snaps) & left
    # Each stage called once for it.
    for action in ("EnableImageDeprecation", "DisableImage", "DeregisterImage"):
        assert len([c for c in amirotd.sim.calls(action) if c["params"]["ImageId"] == first["ImageId"]]) == 1


def test_a_persons_restoration_is_reported_once_and_never_fought(amirotd, ec2):
    (iid,) = run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("web", STAGED)
    enabled = seed_released(amirotd, iid, 1, "disabled", state="disabled")
    undeprecated = seed_released(amirotd, iid, 2, "deprecated", deprecation="2030-01-04T03:30:00Z")
    amirotd.sim.set_clock(slot(3))
    person_calls(amirotd, "EnableImage", enabled)
    person_calls(amirotd, "DisableImageDeprecation", undeprecated)

    p = once(amirotd, 3)
    assert p.stderr.count("was restored by someone") == 2
    for image_id in (enabled, undeprecated):
        assert tag_dict(image(amirotd, image_id))["amirotd:stage"] == "restored"

    # Long past every stage: said once, and neither disabled, deprecated nor deregistered.
    p = once(amirotd, 9)
    assert "was restored by someone" not in p.stderr
    for image_id in (enabled, undeprecated):
        g = image(amirotd, image_id)
        assert g is not None and g["State"] == "available" and "DeprecationTime" not in g
        for action in ("EnableImageDeprecation", "DisableImage", "DeregisterImage"):
            assert not [c for c in amirotd.sim.calls(action) if c["params"]["ImageId"] == image_id]


def test_kill_between_disable_image_and_its_tag_converges(amirotd, ec2):
    (iid,) = run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("web", STAGED.replace("Role: web", "Role: nobody"))     # only the stages run
    released = seed_released(amirotd, iid, 1, "deprecated", deprecation="2030-01-03T03:30:00Z")

    # Day 4 (retired-at + 2d): DisableImage goes through, then the tag hangs; kill -9 there.
    amirotd.sim.set_clock(slot(4))
    amirotd.sim.fault(action="CreateTags", kind="hang")
    proc = subprocess.Popen([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--now=" + slot(4), "once"],
                            env=amirotd.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not [c for c in amirotd.sim.calls("CreateTags") if c["params"].get("ResourceId.1") == released]:
            assert time.monotonic() < deadline, "no CreateTags for the disabled image"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    amirotd.sim.clear_faults()
    time.sleep(1.2)
    g = image(amirotd, released)
    assert g["State"] == "disabled" and tag_dict(g)["amirotd:stage"] == "deprecated"

    # The next run records the stage without disabling again, and goes on from there.
    once(amirotd, 4)
    g = image(amirotd, released)
    assert g["State"] == "disabled" and tag_dict(g)["amirotd:stage"] == "disabled"
    assert len([c for c in amirotd.sim.calls("DisableImage") if c["params"]["ImageId"] == released]) == 1
    once(amirotd, 6)
    assert image(amirotd, released) is None


def test_image_deprecate_after_deprecates_new_images_in_the_run_that_makes_them(amirotd, ec2):
    (iid,) = run_instances(ec2, {"Role": "web"}, count=1)
    tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": slot_id(1)}
    (old,) = amirotd.sim.seed(images=[{"name": f"web-{iid}-{slot_id(1)}", "state": "available",
                                       "instance_id": iid, "creation_date": "2030-01-01T03:10:00Z",
                                       "tags": tags, "snapshot_tags": tags}])["images"]
    amirotd.write_policy("web", """\
        name: web
        targets:
          tags: {Role: web}
        schedule:
          every: 24h
          at: "03:00"
        image:
          deprecate_after: 10d
        retain:
          count: 3
        """)
    once(amirotd, 12)
    new = image_of_slot(amirotd, 12)
    assert new["DeprecationTime"].startswith("2030-01-22T03:30:00")
    assert tag_dict(new)["amirotd:deprecation"] == "2030-01-22T03:30:00Z"
    # The old one's age passed: the earliest minute EC2 takes.
    assert image(amirotd, old)["DeprecationTime"].startswith("2030-01-12T03:32:00")
    # Deprecated images still count: nothing retired, and a second run changes nothing.
    once(amirotd, 12)
    assert len(amirotd.sim.calls("EnableImageDeprecation")) == 2
    assert not amirotd.sim.calls("DeregisterImage")
