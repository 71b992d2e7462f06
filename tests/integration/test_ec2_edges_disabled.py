# Disabled images (issue 10, item 4) as the planner meets them: a person took the
# image out of use. It is neither counted nor retired, and its snapshots are never
# swept as orphans. EC2 hides disabled images from DescribeImages unless
# IncludeDisabled=true, which amirotd's describes send (aws/ec2-calls.c); without
# it the image looks gone and its snapshots orphaned.
from conftest import images, run_instances, tag_dict

POLICY = """\
    name: web
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 1
"""


def slot(k):
    return f"2030-01-{k:02d}T03:30:00Z"


def slot_id(k):
    return f"203001{k:02d}T030000Z"


def test_disabled_image_is_neither_counted_nor_retired_and_its_snapshots_are_not_swept(amirotd, ec2):
    (iid,) = run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.sim.set_clock(slot(1))
    tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": slot_id(1)}
    seeded = amirotd.sim.seed(images=[{"name": f"web-{iid}-{slot_id(1)}", "state": "disabled",
                                       "instance_id": iid, "creation_date": "2030-01-01T03:10:00Z",
                                       "tags": tags, "snapshot_tags": tags}])
    (disabled,) = seeded["images"]
    (record,) = [i for i in amirotd.sim.images() if i["ImageId"] == disabled]
    snaps = [b["Ebs"]["SnapshotId"] for b in record["BlockDeviceMappings"] if "Ebs" in b]
    assert snaps
    amirotd.write_policy("web", POLICY)

    # Two days on: the grace period of the sweep is long past.
    for k in (3, 4):
        amirotd.sim.set_clock(slot(k))
        amirotd.run("once", now=slot(k))

    assert all(c["params"]["ImageId"] != disabled for c in amirotd.sim.calls("DeregisterImage"))
    assert all(c["params"]["SnapshotId"] not in snaps for c in amirotd.sim.calls("DeleteSnapshot"))
    assert {s["SnapshotId"] for s in amirotd.sim.snapshots()} >= set(snaps)
    # Not counted: with retain.count 1 the policy still keeps one available image.
    good = images(ec2, **{"tag:amirotd:policy": "web", "state": "available"})
    assert [tag_dict(i)["amirotd:slot"] for i in good] == [slot_id(4)]
    assert any(i["ImageId"] == disabled for i in amirotd.sim.images())
