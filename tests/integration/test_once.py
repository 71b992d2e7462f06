# amirotd once / plan / list against the simulator: the rules of design.md,
# proven through real HTTP and read back with botocore.
import collections
import json

import pytest

from conftest import images, run_instances, snapshots, tag_dict

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


def slot(k):
    """A time inside the k-th daily slot (2030-01-k 03:00 UTC onwards)."""
    return f"2030-01-{k:02d}T03:30:00Z"


def once(amirotd, k, *args, check=True):
    amirotd.sim.set_clock(slot(k))
    return amirotd.run("once", *args, now=slot(k), check=check)


def per_instance(imgs, state=None):
    out = collections.defaultdict(list)
    for i in imgs:
        if state is None or i["State"] == state:
            out[tag_dict(i).get("amirotd:instance-id")].append(i)
    return out


def test_ten_slots_keep_exactly_three_available_per_tagged_instance(amirotd, ec2):
    tagged = run_instances(ec2, {"Role": "web"}, count=3, volumes=2)
    untagged = run_instances(ec2, {"Role": "db"}, count=1) + run_instances(ec2, {}, count=1)
    # An image made by hand and one of another policy, from a tagged instance: never touched.
    hand = ec2.create_image(InstanceId=tagged[0], Name="by-hand", NoReboot=True)["ImageId"]
    other = ec2.create_image(InstanceId=tagged[0], Name="other-policy", NoReboot=True,
                             TagSpecifications=[{"ResourceType": "image",
                                                 "Tags": [{"Key": "amirotd:policy", "Value": "db"}]}])["ImageId"]
    amirotd.write_policy("web", POLICY)

    for k in range(1, 11):
        once(amirotd, k)

    managed = images(ec2, **{"tag:amirotd:policy": "web"})
    by_instance = per_instance(managed)
    assert sorted(by_instance) == sorted(tagged)
    for iid in tagged:
        assert [i["State"] for i in by_instance[iid]] == ["available"] * 3
        slots = sorted(tag_dict(i)["amirotd:slot"] for i in by_instance[iid])
        assert slots == ["20300108T030000Z", "20300109T030000Z", "20300110T030000Z"]
    for iid in untagged:
        assert iid not in by_instance

    # Every retired image's snapshots are gone; the kept ones' remain.
    kept_snaps = {bdm["Ebs"]["SnapshotId"] for i in managed for bdm in i["BlockDeviceMappings"] if "Ebs" in bdm}
    web_snaps = {s["SnapshotId"] for s in snapshots(ec2) if tag_dict(s).get("amirotd:policy") == "web"}
    assert web_snaps == kept_snaps
    assert len(kept_snaps) == 3 * 3 * 2

    # Foreign images and their snapshots are untouched.
    ids = {i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]}
    assert {hand, other} <= ids
    deregs = amirotd.sim.calls("DeregisterImage")
    assert deregs and all(c["params"]["ImageId"] not in (hand, other) for c in deregs)
    assert len(deregs) == 3 * 7


def test_second_once_in_the_same_slot_creates_nothing(amirotd, ec2):
    run_instances(ec2, {"Role": "web"}, count=2)
    amirotd.write_policy("web", POLICY)
    once(amirotd, 1)
    before = len(amirotd.sim.calls("CreateImage"))
    # The simulator's clock runs on (not set back to the slot's start): its images
    # become visible on that clock, as EC2's do after their consistency delay.
    p = amirotd.run("once", now=slot(1))
    assert len(amirotd.sim.calls("CreateImage")) == before
    assert len(images(ec2, **{"tag:amirotd:policy": "web"})) == 2
    plan = amirotd.run("plan", now=slot(1))
    assert "nothing to do" in plan.stdout


def test_plan_changes_nothing_and_lists_creates(amirotd, ec2):
    ids = run_instances(ec2, {"Role": "web"}, count=2)
    amirotd.write_policy("web", POLICY)
    p = amirotd.run("plan", "--json", now=slot(1))
    actions = json.loads(p.stdout)
    assert sorted(a["instance_id"] for a in actions) == sorted(ids)
    assert {a["action"] for a in actions} == {"create"}
    assert all(a["image_name"] == f"web-{a['instance_id']}-20300101T030000Z" for a in actions)
    assert amirotd.sim.calls("CreateImage") == []
    table = amirotd.run("plan", now=slot(1)).stdout
    assert "POLICY" in table and ids[0] in table


def test_list_shows_managed_images(amirotd, ec2):
    ids = run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("web", POLICY)
    once(amirotd, 1)
    once(amirotd, 2)
    out = json.loads(amirotd.run("list", "--json", now=slot(2)).stdout)
    assert [(i["instance_id"], i["slot"], i["state"]) for i in out] == [
        (ids[0], "20300102T030000Z", "available"), (ids[0], "20300101T030000Z", "available")]
    assert "20300102T030000Z" in amirotd.run("list", now=slot(2)).stdout


def test_create_error_is_repaired_by_the_next_run(amirotd, ec2):
    ids = run_instances(ec2, {"Role": "web"}, count=2)
    amirotd.write_policy("web", POLICY)
    amirotd.sim.fault(action="CreateImage", kind="error", code="InternalError", status=500, count=10)
    p = once(amirotd, 1, check=False)
    assert p.returncode == 1
    assert "InternalError" in p.stderr
    amirotd.sim.clear_faults()
    once(amirotd, 1)
    assert len(images(ec2, **{"tag:amirotd:policy": "web", "state": "available"})) == 2


def test_failed_image_is_removed_and_recreated(amirotd, ec2):
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("web", POLICY)
    once(amirotd, 1)
    amirotd.sim.fault(action="CreateImage", kind="image_failed", count=1)
    p = once(amirotd, 2, check=False)
    assert p.returncode == 1
    assert "failed" in p.stderr
    # The failed image was garbage and is gone, with the good image of slot 1 still
    # there: a failed creation never lowers the number of good images.
    failed = [c["params"]["ImageId"] for c in amirotd.sim.calls("DeregisterImage")]
    assert len(failed) == 1
    assert images(ec2, **{"tag:amirotd:policy": "web", "state": "failed"}) == []
    good = images(ec2, **{"tag:amirotd:policy": "web", "state": "available"})
    assert [tag_dict(i)["amirotd:slot"] for i in good] == ["20300101T030000Z"]
    # The next run in the same slot makes the slot's image.
    once(amirotd, 2)
    good = images(ec2, **{"tag:amirotd:policy": "web", "state": "available"})
    assert sorted(tag_dict(i)["amirotd:slot"] for i in good) == ["20300101T030000Z", "20300102T030000Z"]
    assert failed[0] not in {i["ImageId"] for i in good}


@pytest.mark.parametrize("endpoint", ["deletes-associated-snapshots", "without-delete-associated-snapshots"])
def test_snapshot_in_use_is_swept_by_the_next_run(amirotd, ec2, endpoint):
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("web", POLICY.replace("count: 3", "count: 1"))
    once(amirotd, 1)
    if endpoint == "without-delete-associated-snapshots":
        # An endpoint without DeleteAssociatedSnapshots makes amirotd delete each
        # snapshot itself.
        amirotd.sim.fault(action="DeregisterImage", kind="error", code="UnknownParameter", status=400, count=1)
    # The snapshot stays in use for now: EC2 keeps it when deregistering (its
    # deleteSnapshotResultSet says so), and so does DeleteSnapshot.
    amirotd.sim.fault(action="DeleteSnapshot", kind="snapshot_in_use", count=100)
    p = once(amirotd, 2)            # retires slot 1's image; its snapshot stays in use
    assert "still in use" in p.stderr
    assert "deleted snapshot" not in p.stderr
    amirotd.sim.clear_faults()
    web = [s for s in snapshots(ec2) if tag_dict(s).get("amirotd:policy") == "web"]
    assert len(web) == 2
    once(amirotd, 3)
    web = [s for s in snapshots(ec2) if tag_dict(s).get("amirotd:policy") == "web"]
    kept = images(ec2, **{"tag:amirotd:policy": "web"})
    assert [tag_dict(i)["amirotd:slot"] for i in kept] == ["20300103T030000Z"]
    assert {s["SnapshotId"] for s in web} == {b["Ebs"]["SnapshotId"] for b in kept[0]["BlockDeviceMappings"]}


def test_throttling_is_retried(amirotd, ec2):
    run_instances(ec2, {"Role": "web"}, count=3)
    amirotd.write_policy("web", POLICY)
    # The first four requests are throttled: the three concurrent describes, then
    # one of their retries. With three attempts a call, each still succeeds.
    amirotd.sim.fault(action="*", kind="throttle", count=4)
    once(amirotd, 1)
    amirotd.sim.clear_faults()
    assert len(images(ec2, **{"tag:amirotd:policy": "web", "state": "available"})) == 3
    throttled = [c for c in amirotd.sim.calls() if c.get("error_code") == "RequestLimitExceeded"]
    assert len(throttled) == 4


def test_cross_account_policy_works_through_assume_role(amirotd, ec2):
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_global(f"sts_endpoint_url: {amirotd.sim.url}\n")
    amirotd.write_policy("web", POLICY + "    role_arn: arn:aws:iam::111122223333:role/amirotd\n"
                         "    external_id: fleet-42\n")
    once(amirotd, 1)
    assume = amirotd.sim.calls("AssumeRole")
    assert len(assume) == 1
    assert assume[0]["params"]["RoleArn"] == "arn:aws:iam::111122223333:role/amirotd"
    assert assume[0]["params"]["ExternalId"] == "fleet-42"
    creates = amirotd.sim.calls("CreateImage")
    assert len(creates) == 1 and creates[0]["access_key"].startswith("ASIA")
    assert len(images(ec2, **{"tag:amirotd:policy": "web", "state": "available"})) == 1


def test_waiting_shows_progress_on_a_terminal_only(amirotd, ec2):
    import shlex
    import subprocess
    from conftest import AMIROTD
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_policy("web", POLICY)
    amirotd.sim.admin("POST", "images", {"pending_seconds": 3.5})
    amirotd.sim.set_clock(slot(1))
    cmd = shlex.join([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--now=" + slot(1), "once"])
    # script(1) gives amirotd a terminal; the progress line is redrawn every second.
    p = subprocess.run(["script", "-qfec", cmd, "/dev/null"], env=amirotd.env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stdout
    assert p.stdout.count("waiting for 1 pending image") >= 2, p.stdout
    assert "\x1b[K" in p.stdout
    # Without a terminal: no progress line and no escape codes.
    amirotd.sim.set_clock(slot(2))
    p = amirotd.run("once", now=slot(2))
    assert "waiting for" not in p.stderr and "\x1b" not in p.stderr


def test_command_line_log_level_wins_over_the_configuration(amirotd, ec2):
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.write_global("log_level: debug\n")
    amirotd.write_policy("web", POLICY)
    assert "DescribeInstances attempt 1" in amirotd.run("plan", now=slot(1)).stderr
    assert "attempt 1" not in amirotd.run("--log-level=info", "plan", now=slot(1)).stderr
