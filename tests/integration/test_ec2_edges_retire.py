# Retiring against EC2's harder edges (issue 10, items 4 and 5): an endpoint that
# ignores DeleteAssociatedSnapshots, a DeleteSnapshot answer without <return>, an
# image with deregistration protection, and disabled images, which DescribeImages
# hides unless asked.
import subprocess


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
      count: 1
"""

MESSAGE_IMAGE_PROTECTED = "d13b28eddfb34a85b065381cb087f642"


def slot(k):
    return f"2030-01-{k:02d}T03:30:00Z"


def slot_id(k):
    return f"203001{k:02d}T030000Z"


def once(amirotd, k, check=True):
    amirotd.sim.set_clock(slot(k))
    return amirotd.run("once", now=slot(k), check=check)


def snapshot_ids(image):
    return {b["Ebs"]["SnapshotId"] for b in image["BlockDeviceMappings"] if "Ebs" in b}


def live_snapshots(sim):
    return {s["SnapshotId"] for s in sim.snapshots()}


def test_ignored_delete_associated_snapshots_deletes_each_snapshot(amirotd, ec2):
    run_instances(ec2, {"Role": "web"}, count=1, volumes=2)
    amirotd.write_policy("web", POLICY)
    once(amirotd, 1)
    first = images(ec2, **{"tag:amirotd:policy": "web"})[0]
    amirotd.sim.admin("POST", "settings", {"ignore_delete_associated_snapshots": True})

    p = once(amirotd, 2)                    # retires slot 1's image

    assert [c["params"].get("DeleteAssociatedSnapshots") for c in amirotd.sim.calls("DeregisterImage")] == ["true"]
    # EC2 named no snapshot result: amirotd deleted each itself, and said "deleted"
    # once per DeleteSnapshot that EC2 answered with success.
    deletes = amirotd.sim.calls("DeleteSnapshot")
    assert sorted(c["params"]["SnapshotId"] for c in deletes) == sorted(snapshot_ids(first))
    assert all(c["status"] == 200 for c in deletes)
    assert p.stderr.count("deleted snapshot ") == 2
    assert not snapshot_ids(first) & live_snapshots(amirotd.sim)


def test_delete_snapshot_answer_without_return_is_success(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"}, count=1)[0]
    # An orphan: tagged by the policy, older than the sweep's grace period, no image.
    orphan = amirotd.sim.seed(snapshots=[{"volume_size": 8, "start_time": "2029-12-01T00:00:00Z",
                                          "tags": {"amirotd:policy": "web", "amirotd:instance-id": iid,
                                                   "amirotd:slot": "20291201T030000Z"}}])["snapshots"][0]
    amirotd.write_policy("web", POLICY)
    amirotd.sim.admin("POST", "settings", {"delete_snapshot_return": False})

    p = once(amirotd, 1)

    assert "malformed" not in p.stderr
    assert f"deleted snapshot {orphan}" in p.stderr
    assert orphan not in live_snapshots(amirotd.sim)


def test_disabled_image_holds_its_slot_and_its_snapshots(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"}, count=1)[0]
    tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": slot_id(1)}
    # Set aside by a person (DisableImage): EC2 hides it from DescribeImages by default.
    seeded = amirotd.sim.seed(images=[{"name": f"web-{iid}-{slot_id(1)}", "state": "disabled", "tags": tags,
                                       "snapshot_tags": tags, "instance_id": iid,
                                       "creation_date": "2029-12-01T03:00:00Z"}])
    disabled = seeded["images"][0]
    amirotd.write_policy("web", POLICY)

    p = once(amirotd, 1)

    assert "not touching it" not in p.stderr
    # Its name holds the slot: no CreateImage; its snapshot is not an orphan: no DeleteSnapshot.
    assert amirotd.sim.calls("CreateImage") == []
    assert amirotd.sim.calls("DeleteSnapshot") == []
    assert amirotd.sim.calls("DeregisterImage") == []
    assert [i["ImageId"] for i in amirotd.sim.images()] == [disabled]
    assert all(c["params"].get("IncludeDisabled") == "true" for c in amirotd.sim.calls("DescribeImages"))


def once_to_journal(amirotd, k):
    """`once` logging to the journal; returns its exit status and its entries."""
    amirotd.sim.set_clock(slot(k))
    since = journal.now_usec()
    p = subprocess.Popen([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--log-target=journal",
                          "--now=" + slot(k), "once"], env=amirotd.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rc = p.wait(timeout=120)
    source = journal.Source(p.pid, since)
    return rc, journal.wait_for(source, lambda e: any("policy 'web' in us-east-1" in x.get("MESSAGE", "")
                                                      for x in e))


def test_protected_image_is_kept_with_a_notice_not_a_failure(amirotd, ec2, journald):
    iid = run_instances(ec2, {"Role": "web"}, count=1, volumes=2)[0]
    tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": slot_id(1)}
    protected = amirotd.sim.seed(images=[{"name": f"web-{iid}-{slot_id(1)}", "tags": tags, "snapshots": [8, 8],
                                          "snapshot_tags": tags, "instance_id": iid,
                                          "creation_date": "2030-01-01T03:00:00Z",
                                          "deregistration_protection": "enabled-without-cooldown"}])["images"][0]
    amirotd.write_policy("web", POLICY)

    for k in (2, 3):
        rc, entries = once_to_journal(amirotd, k)
        assert rc == 0
        notices = [e for e in entries if e.get("MESSAGE_ID") == MESSAGE_IMAGE_PROTECTED]
        assert len(notices) == 1
        assert notices[0]["PRIORITY"] == "5"
        assert notices[0]["AMIROTD_IMAGE_ID"] == protected
        # The describe shows the protection: the planner keeps the image without asking EC2.
        assert "deregistration protection turned on by someone else" in notices[0]["MESSAGE"]
        assert not [e for e in entries if int(e["PRIORITY"]) <= 3]

    assert protected not in [c["params"]["ImageId"] for c in amirotd.sim.calls("DeregisterImage")]
    # The protected image and its snapshots are all there; the run's own images rotate.
    assert protected in {i["ImageId"] for i in amirotd.sim.images()}
    prot = images(ec2, **{"image-id": protected})[0]
    assert snapshot_ids(prot) <= live_snapshots(amirotd.sim)
