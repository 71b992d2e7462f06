# share (issue 14, item 2): the launch permissions of a policy's images and the
# create-volume permissions of their snapshots are reconciled on every run to what the
# policy names, removed from an image on its way out, and shown by `plan`.
import json
import subprocess

import journal
from conftest import AMIROTD, run_instances

OTHER = "444455556666"
THIRD = "777788889999"
ORG = "arn:aws:organizations::111122223333:organization/o-abc123def4"
OU = "arn:aws:organizations::111122223333:ou/o-abc123def4/ou-ab12-cd34ef56"
MESSAGE_IMAGE_SHARES_CHANGED = "98c04ed2f57b414883591e3923193b7f"


def policy(share):
    return f"""\
    name: web
    targets:
      tags: {{Role: web}}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 1
    share: {share}
"""


def slot(k):
    return f"2030-01-{k:02d}T03:30:00Z"


def slot_id(k):
    return f"203001{k:02d}T030000Z"


def seed_image(amirotd, iid, k, extra_tags=None, state="available"):
    tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": slot_id(k)}
    tags.update(extra_tags or {})
    return amirotd.sim.seed(images=[{"name": f"web-{iid}-{slot_id(k)}", "tags": tags, "snapshot_tags": tags,
                                     "instance_id": iid, "creation_date": f"2030-01-{k:02d}T03:00:00Z",
                                     "state": state}])


def once(amirotd, k, check=True):
    amirotd.sim.set_clock(slot(k))
    return amirotd.run("once", now=slot(k), check=check)


def launch(ec2, image):
    return ec2.describe_image_attribute(ImageId=image, Attribute="launchPermission")["LaunchPermissions"]


def volume(ec2, snap):
    return ec2.describe_snapshot_attribute(SnapshotId=snap,
                                           Attribute="createVolumePermission")["CreateVolumePermissions"]


def modifications(amirotd):
    return [c["params"] for c in amirotd.sim.calls("ModifyImageAttribute")] + \
        [c["params"] for c in amirotd.sim.calls("ModifySnapshotAttribute")]


def test_shares_are_added_then_a_second_run_changes_nothing(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    seeded = seed_image(amirotd, iid, 1)
    image, snap = seeded["images"][0], seeded["snapshots"][0]
    amirotd.write_policy("web", policy(f"{{accounts: [{OTHER}], organizations: [{ORG}], "
                                       f"organizational_units: [{OU}], snapshots: true}}"))

    p = once(amirotd, 1)

    assert launch(ec2, image) == [{"UserId": OTHER}, {"OrganizationArn": ORG}, {"OrganizationalUnitArn": OU}]
    assert volume(ec2, snap) == [{"UserId": OTHER}]
    assert f"image {image} of {iid}: launch permission granted to {OTHER}, {ORG}, {OU}" in p.stderr
    assert "4 shared, 0 unshared" in p.stderr

    before = len(modifications(amirotd))
    once(amirotd, 1)
    assert len(modifications(amirotd)) == before
    assert launch(ec2, image) == [{"UserId": OTHER}, {"OrganizationArn": ORG}, {"OrganizationalUnitArn": OU}]


def test_a_removed_account_is_unshared_in_the_same_call_that_adds_the_new_one(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    seeded = seed_image(amirotd, iid, 1)
    image, snap = seeded["images"][0], seeded["snapshots"][0]
    amirotd.write_policy("web", policy(f"{{accounts: [{OTHER}], snapshots: true}}"))
    once(amirotd, 1)
    amirotd.write_policy("web", policy(f"{{accounts: [{THIRD}], snapshots: true}}"))
    before = len(amirotd.sim.calls("ModifyImageAttribute"))

    p = once(amirotd, 1)

    assert launch(ec2, image) == [{"UserId": THIRD}]
    assert volume(ec2, snap) == [{"UserId": THIRD}]
    calls = [c["params"] for c in amirotd.sim.calls("ModifyImageAttribute")][before:]
    assert calls == [{"Action": "ModifyImageAttribute", "Version": "2016-11-15", "ImageId": image,
                      "LaunchPermission.Add.1.UserId": THIRD,
                      "LaunchPermission.Remove.1.UserId": OTHER}]
    assert "2 shared, 2 unshared" in p.stderr


def test_a_share_made_by_hand_and_the_public_group_are_removed(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    image = seed_image(amirotd, iid, 1)["images"][0]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={
        "Add": [{"UserId": THIRD}, {"Group": "all"}, {"OrganizationArn": ORG}]})
    amirotd.write_policy("web", policy(f"{{accounts: [{OTHER}]}}"))

    p = once(amirotd, 1)

    assert launch(ec2, image) == [{"UserId": OTHER}]
    assert ec2.describe_images(ImageIds=[image])["Images"][0]["Public"] is False
    assert f"image {image} of policy 'web' was public: its public launch permission is removed" in p.stderr
    assert f"launch permission removed from {THIRD}, {ORG}" in p.stderr
    # Without share.snapshots, the snapshots are looked at (to remove what is not wanted)
    # but not shared.
    assert amirotd.sim.calls("ModifySnapshotAttribute") == []


def test_an_empty_share_section_shares_with_nobody(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    seeded = seed_image(amirotd, iid, 1)
    image, snap = seeded["images"][0], seeded["snapshots"][0]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"UserId": OTHER}]})
    ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission",
                                  OperationType="add", UserIds=[OTHER])
    amirotd.write_policy("web", policy("{}"))

    once(amirotd, 1)

    assert launch(ec2, image) == []
    assert volume(ec2, snap) == []


def test_without_a_share_section_nothing_is_read_or_changed(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    image = seed_image(amirotd, iid, 1)["images"][0]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"UserId": OTHER}]})
    amirotd.write_policy("web", policy("~"))

    once(amirotd, 1)

    assert amirotd.sim.calls("DescribeImageAttribute") == []
    assert amirotd.sim.calls("DescribeSnapshotAttribute") == []
    assert launch(ec2, image) == [{"UserId": OTHER}]


STAGED = """\
    retire:
      deprecate_after: 0s
      disable_after: 7d
      deregister_after: 30d
"""


def test_released_and_disabled_images_are_shared_with_nobody(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    current = seed_image(amirotd, iid, 3)["images"][0]
    seeded = seed_image(amirotd, iid, 2, {"amirotd:retired-at": "2030-01-03T03:00:00Z"})
    released, released_snap = seeded["images"][0], seeded["snapshots"][0]
    seeded = seed_image(amirotd, iid, 1, {"amirotd:retired-at": "2029-12-20T03:00:00Z"}, state="disabled")
    disabled, disabled_snap = seeded["images"][0], seeded["snapshots"][0]
    ec2.modify_image_attribute(ImageId=released, LaunchPermission={"Add": [{"UserId": OTHER}]})
    for snap in (released_snap, disabled_snap):
        ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission",
                                      OperationType="add", UserIds=[OTHER])
    amirotd.write_policy("web", policy(f"{{accounts: [{OTHER}], snapshots: true}}") + STAGED)

    p = once(amirotd, 3)

    assert launch(ec2, current) == [{"UserId": OTHER}]
    assert launch(ec2, released) == []
    assert volume(ec2, released_snap) == []
    assert volume(ec2, disabled_snap) == []
    assert f"image {released} of {iid}: launch permission removed from {OTHER} (the image is on its way out)" \
        in p.stderr
    assert {i["ImageId"] for i in amirotd.sim.images()} >= {current, released}


def test_plan_shows_each_share_and_changes_nothing(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    seeded = seed_image(amirotd, iid, 1)
    image, snap = seeded["images"][0], seeded["snapshots"][0]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"UserId": THIRD}]})
    amirotd.write_policy("web", policy(f"{{accounts: [{OTHER}], organizations: [{ORG}], snapshots: true}}"))
    amirotd.sim.set_clock(slot(1))
    before = modifications(amirotd)

    rows = json.loads(amirotd.run("plan", "--json", now=slot(1)).stdout)

    shares = sorted((r["action"], r["reason"]) for r in rows if r["action"] in ("share", "unshare"))
    assert shares == [
        ("share", f"create-volume permission of {snap} for account {OTHER}"),
        ("share", f"launch permission for account {OTHER}"),
        ("share", f"launch permission for organization {ORG}"),
        ("unshare", f"launch permission for account {THIRD}"),
    ]
    assert all(r["image_id"] == image and r["instance_id"] == iid and r["region"] == "us-east-1"
               for r in rows if r["action"] in ("share", "unshare"))
    text = amirotd.run("plan", now=slot(1)).stdout
    assert any(line.split()[2:4] == ["unshare", iid] for line in text.splitlines()), text
    assert modifications(amirotd) == before
    assert launch(ec2, image) == [{"UserId": THIRD}]


def test_a_failed_share_fails_the_run_and_is_logged(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    image = seed_image(amirotd, iid, 1)["images"][0]
    amirotd.write_policy("web", policy(f"{{accounts: [{OTHER}]}}"))
    amirotd.sim.fault(action="ModifyImageAttribute", kind="error", code="UnauthorizedOperation",
                      status=403, count=1)

    p = once(amirotd, 1, check=False)

    assert p.returncode != 0
    assert f"cannot change the launch permissions of image {image}: UnauthorizedOperation" in p.stderr
    assert launch(ec2, image) == []
    # The next run does it.
    once(amirotd, 1)
    assert launch(ec2, image) == [{"UserId": OTHER}]


def test_share_errors_are_reported_by_check(amirotd):
    amirotd.write_policy("web", policy("{accounts: [\"12345\"], snapshot: true}"))

    p = amirotd.run("check", check=False)

    assert p.returncode != 0
    assert "web.yaml:9:20: 'accounts' expects a 12-digit AWS account id, got '12345'" in p.stderr
    assert "unknown key 'snapshot' in 'share', did you mean 'snapshots'?" in p.stderr


def test_a_retired_images_snapshot_is_unshared_before_the_image_is_deregistered(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    seeded = seed_image(amirotd, iid, 1)
    old, snap = seeded["images"][0], seeded["snapshots"][0]
    seed_image(amirotd, iid, 2)
    ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission",
                                  OperationType="add", UserIds=[OTHER, THIRD])
    # The snapshot outlives its image (InvalidSnapshot.InUse for a while): it must not stay shared.
    amirotd.sim.fault(action="DeleteSnapshot", kind="snapshot_in_use", count=100)
    amirotd.write_policy("web", policy(f"{{accounts: [{OTHER}], snapshots: true}}"))

    p = once(amirotd, 2)

    assert old not in {i["ImageId"] for i in amirotd.sim.images()}
    assert snap in {s["SnapshotId"] for s in amirotd.sim.snapshots()}
    assert volume(ec2, snap) == []
    calls = [(c["action"], c["params"].get("SnapshotId") or c["params"].get("ImageId"))
             for c in amirotd.sim.calls() if c["action"] in ("ModifySnapshotAttribute", "DeregisterImage")]
    assert calls.index(("ModifySnapshotAttribute", snap)) < calls.index(("DeregisterImage", old))
    assert f"snapshot {snap} of image {old}: create-volume permissions removed before the image is retired" \
        in p.stderr


def test_without_share_only_the_copy_accounts_are_taken_from_a_retired_images_snapshot(amirotd, ec2):
    """A policy that shares only because it copies to another account owns just that
    account's grants: someone else's share of the snapshot stays theirs."""
    iid = run_instances(ec2, {"Role": "web"})[0]
    seeded = seed_image(amirotd, iid, 1)
    old, snap = seeded["images"][0], seeded["snapshots"][0]
    seed_image(amirotd, iid, 2)
    ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission",
                                  OperationType="add", UserIds=[OTHER, THIRD])
    amirotd.sim.fault(action="DeleteSnapshot", kind="snapshot_in_use", count=100)
    amirotd.write_policy("web", policy("~").replace("    share: ~\n", "") + f"""\
    copy_to:
      - region: eu-west-1
        role_arn: arn:aws:iam::{OTHER}:role/amirotd-copies
""")

    once(amirotd, 2, check=False)           # the copy's role cannot be assumed here: not this test's

    assert old not in {i["ImageId"] for i in amirotd.sim.images()}
    assert [p["UserId"] for p in volume(ec2, snap)] == [THIRD]


def test_list_shows_who_each_image_is_shared_with(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    image = seed_image(amirotd, iid, 1)["images"][0]
    amirotd.write_policy("web", policy(f"{{accounts: [{OTHER}], organizations: [{ORG}]}}"))
    once(amirotd, 1)

    text = amirotd.run("list", now=slot(1)).stdout
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if image in line)
    assert lines[row + 1] == f"  shared with: {OTHER}, {ORG}"

    listed = json.loads(amirotd.run("list", "--json", now=slot(1)).stdout)
    entry = next(e for e in listed if e["image_id"] == image)
    assert entry["shared_with"] == {"accounts": [OTHER], "organizations": [ORG],
                                    "organizational_units": [], "public": False}


def test_list_does_not_ask_about_policies_that_do_not_share(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    image = seed_image(amirotd, iid, 1)["images"][0]
    amirotd.write_policy("web", policy("~"))

    listed = json.loads(amirotd.run("list", "--json", now=slot(1)).stdout)

    assert "shared_with" not in next(e for e in listed if e["image_id"] == image)
    assert amirotd.sim.calls("DescribeImageAttribute") == []


def test_share_changes_reach_the_journal_with_their_message_id(amirotd, ec2, journald):
    iid = run_instances(ec2, {"Role": "web"})[0]
    seeded = seed_image(amirotd, iid, 1)
    image, snap = seeded["images"][0], seeded["snapshots"][0]
    amirotd.write_policy("web", policy(f"{{accounts: [{OTHER}], snapshots: true}}"))
    amirotd.sim.set_clock(slot(1))
    since = journal.now_usec()
    proc = subprocess.Popen([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--log-target=journal",
                             "--now=" + slot(1), "once"], env=amirotd.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert proc.wait(timeout=120) == 0
    entries = journal.wait_for(journal.Source(proc.pid, since),
                               lambda e: any("policy 'web' in us-east-1" in x.get("MESSAGE", "") for x in e))

    shared = [e for e in entries if e.get("MESSAGE_ID") == MESSAGE_IMAGE_SHARES_CHANGED]
    assert len(shared) == 2
    launch_entry = next(e for e in shared if "launch permission" in e["MESSAGE"])
    assert launch_entry["AMIROTD_IMAGE_ID"] == image and launch_entry["AMIROTD_INSTANCE_ID"] == iid
    assert launch_entry["AMIROTD_POLICY"] == "web" and launch_entry["AMIROTD_ACTION"] == "share"
    assert launch_entry["PRIORITY"] == "6"
    volume_entry = next(e for e in shared if "create-volume" in e["MESSAGE"])
    assert volume_entry["AMIROTD_SNAPSHOT_ID"] == snap


def test_dry_run_asks_with_dry_run_and_changes_nothing(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    image = seed_image(amirotd, iid, 1)["images"][0]
    amirotd.write_policy("web", policy(f"{{accounts: [{OTHER}]}}"))
    amirotd.sim.set_clock(slot(1))

    p = amirotd.run("once", "--dry-run", now=slot(1))

    calls = [c["params"] for c in amirotd.sim.calls("ModifyImageAttribute")]
    # The run's and the permission check's (run/probe-dist.c), both DryRun.
    assert len(calls) == 2 and all(c["DryRun"] == "true" for c in calls)
    assert launch(ec2, image) == []
    assert " shared" not in p.stderr.splitlines()[-1]
    # The permission check asks for DescribeImageAttribute, which share reads with.
    row = next(line for line in p.stdout.splitlines() if " DescribeImageAttribute " in line)
    assert row.split()[3] == "permitted", row
    row = next(line for line in p.stdout.splitlines() if " ModifyImageAttribute " in line)
    assert row.split()[3:5] == ["permitted", image], row


def test_the_image_a_run_makes_is_shared_by_that_run(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    amirotd.write_policy("web", policy(f"{{accounts: [{OTHER}]}}"))

    p = once(amirotd, 1)

    made = [i["ImageId"] for i in amirotd.sim.images()]
    assert len(made) == 1, p.stderr
    assert launch(ec2, made[0]) == [{"UserId": OTHER}], p.stderr


def test_check_summarises_the_share_section(amirotd):
    amirotd.write_policy("web", policy(f"{{accounts: [{OTHER}, \"{THIRD}\"], organizational_units: [{OU}], "
                                       "snapshots: true}"))
    assert "  share:    with 2 accounts, 0 organizations, 1 OU; snapshots with the accounts\n" in \
        amirotd.run("check").stdout
    amirotd.write_policy("web", policy("{}"))
    assert "  share:    with nobody (every share of the policy's images is removed)\n" in \
        amirotd.run("check").stdout
