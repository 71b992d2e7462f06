# Retiring as each new image becomes available, and polls that follow the images
# (issue 17 items 3 and 4). The real binary against ec2sim; the order and times of
# the calls come from the simulator's call log, the times images became available
# from its own records (_ready_at, simulator seconds).
from datetime import datetime

from conftest import images, run_instances

POLICY = """\
    name: web
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 2
"""


def slot(k):
    return f"2030-01-{k:02d}T03:30:00Z"


def once(amirotd, k):
    amirotd.sim.set_clock(slot(k))
    return amirotd.run("once", now=slot(k))


def epoch(iso):
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def sim_images(sim):
    """Image id -> the simulator's record (deregistered images have none)."""
    return {i["ImageId"]: i for i in sim.images()}


def tag(image, key):
    """A tag of an image, as botocore lists them or as the simulator stores them (a dict)."""
    tags = image.get("Tags") or {}
    if isinstance(tags, list):
        tags = {t["Key"]: t["Value"] for t in tags}
    return tags.get(key)


def new_images_by_instance(sim, k):
    """Instance id -> (image id, when it became available) of slot k's images."""
    slot_id = f"203001{k:02d}T030000Z"
    return {tag(i, "amirotd:instance-id"): (i["ImageId"], i["_ready_at"])
            for i in sim.images() if tag(i, "amirotd:slot") == slot_id}


def deregistrations(sim, since_seq):
    """(time, image id) of each DeregisterImage that EC2 accepted, in call order."""
    return [(epoch(c["time"]), c["params"]["ImageId"]) for c in sim.calls("DeregisterImage")
            if c["seq"] > since_seq and c["status"] == 200]


def last_seq(sim):
    calls = sim.calls()
    return calls[-1]["seq"] if calls else 0


def test_each_instance_retires_once_its_own_image_is_available(amirotd, ec2):
    fast, middle, slow = sorted(run_instances(ec2, {"Role": "web"}, count=3))
    amirotd.write_policy("web", POLICY)
    once(amirotd, 1)
    once(amirotd, 2)
    before = {tag(i, "amirotd:instance-id"): i["ImageId"] for i in sim_images(amirotd.sim).values()
              if tag(i, "amirotd:slot") == "20300101T030000Z"}
    amirotd.sim.admin("POST", "images", {"pending_seconds_by_instance": {fast: 1, middle: 4, slow: 9}})
    seq = last_seq(amirotd.sim)

    p = once(amirotd, 3)

    new = new_images_by_instance(amirotd.sim, 3)
    retired = deregistrations(amirotd.sim, seq)
    owner = {image_id: iid for iid, image_id in before.items()}
    assert sorted(image_id for _, image_id in retired) == sorted(before.values())
    # (b) No instance loses an image before its own new one is available.
    for t, image_id in retired:
        assert t >= new[owner[image_id]][1], f"{image_id} of {owner[image_id]} retired before its successor"
    # (a) The fast instance's old generation went while the slow one's new image was still pending.
    t_fast = next(t for t, image_id in retired if image_id == before[fast])
    assert t_fast < new[slow][1], "retirement waited for the whole fleet"
    # retain.count 2: each instance keeps slot 2's image and the new one, both available.
    for iid in (fast, middle, slow):
        kept = images(ec2, **{"tag:amirotd:instance-id": iid})
        assert sorted(tag(i, "amirotd:slot") for i in kept) == ["20300102T030000Z", "20300103T030000Z"]
        assert {i["State"] for i in kept} == {"available"}
    assert p.stderr.count("retired image ") == 3


def test_bound_and_retain_count_hold_with_retirement_per_instance(amirotd, ec2):
    iids = sorted(run_instances(ec2, {"Role": "web"}, count=3))
    amirotd.write_policy("web", POLICY.replace("count: 2", "count: 5"))
    for k in (1, 2, 3):
        once(amirotd, k)
    # retain.count lowered to 1 and no allowance beyond the rotation: each instance may
    # retire one image for the run and one for its new image, no more; one stays held.
    amirotd.write_policy("web", POLICY.replace("count: 2", "count: 1\n      max_retire_per_run: 0%"))
    amirotd.sim.admin("POST", "images", {"pending_seconds_by_instance": {iids[0]: 1, iids[1]: 3, iids[2]: 6}})
    records = sim_images(amirotd.sim)      # deregistered images leave the simulator's records
    seq = last_seq(amirotd.sim)

    p = once(amirotd, 4)

    new = new_images_by_instance(amirotd.sim, 4)
    retired = deregistrations(amirotd.sim, seq)
    per_instance = {}
    for t, image_id in retired:
        iid = tag(records[image_id], "amirotd:instance-id")
        per_instance.setdefault(iid, []).append(tag(records[image_id], "amirotd:slot"))
        # Only what retention asked for before the new image (slot 1, the oldest) may go
        # before it is available; everything after needs it.
        if tag(records[image_id], "amirotd:slot") != "20300101T030000Z":
            assert t >= new[iid][1], f"{image_id} of {iid} retired before its successor"
    assert {iid: sorted(s) for iid, s in per_instance.items()} == {
        iid: ["20300101T030000Z", "20300102T030000Z"] for iid in iids}
    for iid in iids:
        kept = images(ec2, **{"tag:amirotd:instance-id": iid})
        assert sorted(tag(i, "amirotd:slot") for i in kept) == ["20300103T030000Z", "20300104T030000Z"]
    assert "max_retire_per_run 0% holds back 3 images" in p.stderr


def test_polls_notice_images_within_seconds_and_stay_few(amirotd, ec2):
    # The daemon's own defaults for poll_initial and poll_max, not the suite's 1s/2s.
    amirotd.write_global("")
    (amirotd.dir / "amirotd.yaml").write_text(
        f"region: us-east-1\nendpoint_url: {amirotd.sim.url}\n")
    run_instances(ec2, {"Role": "web"}, count=2)
    amirotd.write_policy("web", POLICY)
    amirotd.sim.admin("POST", "images", {"pending_seconds": 3})
    seq = last_seq(amirotd.sim)

    once(amirotd, 1)

    ready = max(t for _, t in new_images_by_instance(amirotd.sim, 1).values())
    describes = [c for c in amirotd.sim.calls("DescribeImages") if c["seq"] > seq]
    polls = [c for c in describes if any(v.startswith("image-id") for k, v in c["params"].items()
                                         if k.startswith("Filter.") and k.endswith(".Name"))]
    after = [epoch(c["time"]) for c in polls if epoch(c["time"]) >= ready]
    assert after, "no poll after the images became available"
    assert after[0] - ready <= 2.5, f"first poll {after[0] - ready:.1f}s after the images were available"
    # The first describe, the polls (first at poll_initial 2s, then about one a second
    # until both are seen) and the final describe.
    assert len(describes) <= 7, [c["params"] for c in describes]
    assert 2 <= len(polls) <= 5
