# The invariant checker of the crash suite can fail: fed a state that breaks each
# invariant (made through the simulator's seed interface and botocore's EC2 client, as
# a faulty daemon would), it reports each one, with the ids; fed a sound state, nothing.
import time

from conftest import run_instances
from invariants import Checker

SLOTS = ["20261201T090000Z", "20261201T090002Z", "20261201T090004Z"]
OLD = "2026-01-01T00:00:00Z"            # long past the sweep's grace


def ours(policy, instance, slot, **kw):
    tags = {"amirotd:policy": policy, "amirotd:instance-id": instance, "amirotd:slot": slot}
    return dict(name=f"{policy}-{instance}-{slot}", state="available", tags=tags, snapshot_tags=tags,
                instance_id=instance, **kw)


def sound_state(sim, ec2):
    """Two instances of policy web (retain.count 2) with two available images each, an
    instance of no policy, and another policy's and untagged images and snapshots."""
    a, b = run_instances(ec2, {"Role": "web"}, count=2)
    [stranger] = run_instances(ec2, {"Role": "other"})
    seeded = sim.seed(images=[ours("web", i, s) for i in (a, b) for s in SLOTS[:2]] + [
        dict(name="legacy-image", tags={"amirotd:policy": "legacy", "amirotd:instance-id": a,
                                        "amirotd:slot": SLOTS[0]},
             snapshot_tags={"amirotd:policy": "legacy"}, instance_id=a),
        dict(name="hand-made", instance_id=a)],
        snapshots=[dict(tags={"amirotd:policy": "legacy"}, start_time=OLD),
                   dict(start_time=OLD)])
    return dict(a=a, b=b, stranger=stranger, images=seeded["images"], snapshots=seeded["snapshots"],
                foreign_images=seeded["images"][4:], foreign_snapshots=seeded["snapshots"][-2:])


def checker(sim, ec2, st):
    return Checker(ec2, sim, {"web": 2}, {"web": [st["a"], st["b"]]},
                   foreign_images=st["foreign_images"], foreign_snapshots=st["foreign_snapshots"])


def test_sound_state_has_no_violation(sim, ec2):
    st = sound_state(sim, ec2)
    c = checker(sim, ec2, st)
    assert c.sample() == []
    assert c.sample() == []
    c.collect_calls()
    assert c.final(time.time()) == []
    assert c.samples == 3


def test_each_kind_of_violation_is_reported_with_its_ids(sim, ec2):
    st = sound_state(sim, ec2)
    a, b = st["a"], st["b"]
    legacy_image, hand_made = st["foreign_images"]
    legacy_snap, untagged_snap = st["foreign_snapshots"]
    # An orphan of web past the grace, and a web snapshot whose image is still registered.
    [kept] = [i for i in sim.images() if i["ImageId"] == st["images"][0]]
    [orphan, stray] = sim.seed(snapshots=[
        dict(tags={"amirotd:policy": "web", "amirotd:instance-id": a}, start_time=OLD),
        dict(tags={"amirotd:policy": "web"}, description=f"Created by CreateImage({a}) for {kept['ImageId']}")
    ])["snapshots"]
    c = checker(sim, ec2, st)
    assert c.sample() == []

    # A second image for a slot that has one; an instance that loses an available image.
    [dup] = sim.seed(images=[dict(ours("web", a, SLOTS[1]), name="web-again")])["images"]
    ec2.deregister_image(ImageId=st["images"][2])
    # Deletions and changes of what is not web's, and a web snapshot with a live image.
    ec2.delete_snapshot(SnapshotId=stray)
    ec2.delete_snapshot(SnapshotId=legacy_snap)
    ec2.delete_snapshot(SnapshotId=untagged_snap)
    ec2.deregister_image(ImageId=legacy_image)
    ec2.create_tags(Resources=[hand_made], Tags=[{"Key": "amirotd:policy", "Value": "web"}])
    ec2.create_image(InstanceId=st["stranger"], Name="not-selected")
    ec2.create_image(InstanceId=a, Name="wrong-policy", TagSpecifications=[
        {"ResourceType": "image", "Tags": [{"Key": "amirotd:policy", "Value": "db"}]}])
    time.sleep(1.5)                     # EC2's eventual consistency: the new tag shows after 1 s
    c.collect_calls()
    found = c.final(time.time())

    def reported(*words):
        hits = [v for v in found if all(w in v for w in words)]
        assert hits, f"nothing reports {words} in:\n" + "\n".join(found)
        return hits

    reported("two images for one slot", a, SLOTS[1], dup)
    reported("fell below", b, "had 2, now 1")
    reported(f"snapshot {stray}", "still registered", kept["ImageId"])
    reported(f"snapshot {legacy_snap}", "not of a policy of this run", "legacy")
    reported(f"foreign snapshot {untagged_snap}", "missing")
    reported(f"foreign image {legacy_image}", "deregistered")
    reported(f"image {legacy_image} was deregistered but is not of a policy of this run")
    reported(f"foreign image {hand_made} was changed")
    reported("CreateTags", "touched", hand_made)
    reported("DeleteSnapshot", "touched", untagged_snap)
    reported("DeregisterImage", "touched", legacy_image)
    reported("CreateImage", st["stranger"], "no policy of this run selects")
    reported("CreateImage", a, "for policy db, which does not select it")
    reported(f"instance {b} of policy web ends with 1 available images, not retain.count 2")
    reported(f"orphan snapshot {orphan}", "past the sweep's grace")
    # a kept its images, and the snapshot b's deregistration left is not past the grace.
    assert not [v for v in found if "fell below" in v and a in v]
    assert len([v for v in found if "orphan snapshot" in v]) == 1
