# copy_to (issue 14, item 1), through the real binary and ec2sim: each new image is copied
# to another region (and account) once available, with its amirotd tags and
# amirotd:copy-of; a second run copies nothing; copies in flight are found again after a
# crash; each destination keeps its copies by its own rules and deletes their snapshots.
import datetime
import json
import signal
import time

from conftest import run_instances


def tag_dict(record):
    """The tags of a simulator record (a mapping there) or of an EC2 answer (a list)."""
    tags = record.get("Tags") or {}
    return tags if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags}


POLICY = """\
    name: web
    regions: [us-east-1]
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    image:
      tags: {Team: platform}
    retain:
      count: 5
    copy_to:
      - region: eu-west-1
        retain: {count: 2}
"""


def slot(k):
    return f"2030-01-{k:02d}T03:30:00Z"


def slot_id(k):
    return f"203001{k:02d}T030000Z"


def once(amirotd, k, *args, set_clock=True, **kw):
    # Setting the simulator's clock back would hide what a run made (the consistency
    # delay counts on that clock): a second run of a slot leaves it running.
    if set_clock:
        amirotd.sim.set_clock(slot(k))
    p = amirotd.run("once", *args, now=slot(k), **kw)
    time.sleep(1.2)             # the consistency delay (conftest) of what the run wrote
    return p


def copies(amirotd, region="eu-west-1"):
    return [i for i in amirotd.sim.images(region) if "amirotd:copy-of" in tag_dict(i)]


def own(amirotd, region="us-east-1"):
    return [i for i in amirotd.sim.images(region) if "amirotd:copy-of" not in tag_dict(i)]


def test_each_new_image_is_copied_once_with_its_tags(amirotd, ec2):
    (iid,) = run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY)
    p = once(amirotd, 1)
    (source,) = own(amirotd)
    (copy,) = copies(amirotd)
    tags = tag_dict(copy)
    assert tags["amirotd:copy-of"] == "us-east-1/" + source["ImageId"], p.stderr
    assert tags["amirotd:policy"] == "web"
    assert tags["amirotd:instance-id"] == iid
    assert tags["amirotd:slot"] == slot_id(1)
    assert tags["Team"] == "platform"
    assert copy["Name"] == source["Name"]
    (call,) = amirotd.sim.calls("CopyImage")
    assert call["params"]["SourceRegion"] == "us-east-1"
    assert call["params"]["ClientToken"].startswith("amirotd-")
    assert f"copying image {source['ImageId']} of {iid} to eu-west-1" in p.stderr
    assert "1 copies started, 0 copies retired" in p.stderr

    # A second run in the same slot copies nothing.
    once(amirotd, 1, set_clock=False)
    assert len(amirotd.sim.calls("CopyImage")) == 1
    assert len(copies(amirotd)) == 1


def test_a_copy_carries_the_image_tags_as_they_were_rendered_for_its_source(amirotd, ec2):
    """image.tags values are templates (E): the copy's are its source's, not the template."""
    (iid,) = run_instances(ec2, {"Role": "web", "Name": "web-1", "Owner": "team-a"})
    amirotd.write_policy("web", POLICY.replace("tags: {Team: platform}",
                                               'tags: {Team: platform, Of: "{instance_name} {slot} {region}", '
                                               'Owner: "{instance_tag:Owner}"}'))
    once(amirotd, 1)
    (source,) = own(amirotd)
    (copy,) = copies(amirotd)
    assert tag_dict(source)["Of"] == f"web-1 {slot_id(1)} us-east-1"
    for key in ("Team", "Of", "Owner"):
        assert tag_dict(copy)[key] == tag_dict(source)[key], key
    assert tag_dict(copy)["Owner"] == "team-a"


def test_the_destination_keeps_its_own_count_and_deletes_the_snapshots_of_what_it_retires(amirotd, ec2):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY)
    for k in (1, 2):
        once(amirotd, k)
    first = [c for c in copies(amirotd) if tag_dict(c)["amirotd:slot"] == slot_id(1)][0]
    snaps = {b["Ebs"]["SnapshotId"] for b in first["BlockDeviceMappings"] if "Ebs" in b}
    assert snaps
    assert len(copies(amirotd)) == 2

    # Day 3: a third copy becomes available in this run's wait? No: the copy starts once
    # its source is available, and the oldest copy goes only once the new one is.
    p = once(amirotd, 3)
    assert len(copies(amirotd)) == 3, p.stderr
    p = once(amirotd, 3, set_clock=False)
    left = copies(amirotd)
    assert sorted(tag_dict(c)["amirotd:slot"] for c in left) == [slot_id(2), slot_id(3)], p.stderr
    assert f"retired copy {first['ImageId']}" in p.stderr
    assert "0 copies started, 1 copies retired" in p.stderr
    assert not snaps & {s["SnapshotId"] for s in amirotd.sim.snapshots("eu-west-1")}
    # The source region keeps its own count (5): nothing retired there.
    assert len(own(amirotd)) == 3


def test_after_downtime_only_what_the_destination_keeps_is_copied(amirotd, ec2):
    (iid,) = run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY.replace("count: 2", "count: 3"))
    seeded = []
    for k in range(1, 9):
        tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": slot_id(k)}
        seeded += amirotd.sim.seed(images=[{
            "name": f"web-{iid}-{slot_id(k)}", "instance_id": iid,
            "creation_date": f"2030-01-{k:02d}T03:10:00Z", "tags": tags, "snapshot_tags": tags}])["images"]
    amirotd.write_policy("web", POLICY.replace("count: 5", "count: 10").replace("count: 2", "count: 3"))
    p = amirotd.run("plan", "--json", now=slot(8))
    rows = [r for r in json.loads(p.stdout) if r.get("action") == "copy"]
    assert sorted(r["image_id"] for r in rows) == sorted(seeded[-3:]), p.stdout
    assert all(r["region"] == "eu-west-1" and r["instance_id"] == iid for r in rows)
    assert not amirotd.sim.calls("CopyImage")      # plan changes nothing

    amirotd.sim.set_clock(slot(8))
    once(amirotd, 8, set_clock=False)
    assert sorted(tag_dict(c)["amirotd:copy-of"] for c in copies(amirotd)) == \
        sorted("us-east-1/" + i for i in seeded[-3:])


OTHER = "444455556666"
CROSS = """\
    name: web
    regions: [us-east-1]
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 3
    copy_to:
      - region: eu-west-1
        role_arn: arn:aws:iam::444455556666:role/copies
        external_id: amirotd-web
        encrypted: true
        kms_key_id: alias/golden
        deprecate_after: 30d
"""


def with_sts(amirotd):
    amirotd.write_global(f"sts_endpoint_url: {amirotd.sim.url}\n")


def test_another_account_gets_the_grants_then_an_encrypted_copy_it_owns(amirotd, ec2):
    (iid,) = run_instances(ec2, {"Role": "web"})
    with_sts(amirotd)
    amirotd.write_policy("web", CROSS)
    p = amirotd.run("plan", "--json", now=slot(1))
    once(amirotd, 1)
    (source,) = own(amirotd)
    (copy,) = copies(amirotd)
    assert copy["OwnerId"] == OTHER
    assert tag_dict(copy)["amirotd:copy-of"] == "us-east-1/" + source["ImageId"]
    # Launch permission on the source, create-volume permission on each of its snapshots.
    assert {"UserId": OTHER} in source["_launch"]
    snaps = [b["Ebs"]["SnapshotId"] for b in source["BlockDeviceMappings"] if "Ebs" in b]
    recs = {s["SnapshotId"]: s for s in amirotd.sim.snapshots()}
    assert all({"UserId": OTHER} in recs[s].get("_create_volume", []) for s in snaps)
    # The copy is encrypted with the key asked for, and its snapshots carry the tags too.
    west = {s["SnapshotId"]: s for s in amirotd.sim.snapshots("eu-west-1")}
    for b in copy["BlockDeviceMappings"]:
        snap = west[b["Ebs"]["SnapshotId"]]
        assert snap["Encrypted"] and snap["KmsKeyId"] == "alias/golden"
        assert tag_dict(snap)["amirotd:copy-of"] == "us-east-1/" + source["ImageId"]
    (call,) = amirotd.sim.calls("CopyImage")
    assert call["access_key"].startswith("ASIA")      # the role's session, not the base key

    # The next run (the copy visible) deprecates it at its creation + 30d, once.
    p = once(amirotd, 1, set_clock=False)
    copy = copies(amirotd)[0]
    assert copy.get("DeprecationTime", "").startswith("2030-01-31"), p.stderr
    once(amirotd, 1, set_clock=False)
    assert len(amirotd.sim.calls("EnableImageDeprecation")) == 1
    assert len(amirotd.sim.calls("CopyImage")) == 1


def test_plan_shows_copy_rows_and_check_refuses_bad_destinations(amirotd, ec2):
    (iid,) = run_instances(ec2, {"Role": "web"})
    with_sts(amirotd)
    amirotd.write_policy("web", CROSS)
    tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": slot_id(1)}
    (source,) = amirotd.sim.seed(images=[{"name": f"web-{iid}-{slot_id(1)}", "instance_id": iid,
                                          "creation_date": "2030-01-01T03:10:00Z", "tags": tags}])["images"]
    p = amirotd.run("plan", now=slot(1))
    (row,) = [line for line in p.stdout.splitlines() if source in line and " copy " in line]
    assert row.split()[:5] == ["web", "eu-west-1", "copy", iid, source], p.stdout
    assert row.endswith("to eu-west-1 in account 444455556666 (encrypted)")
    assert not amirotd.sim.calls("CopyImage") and not amirotd.sim.calls("ModifyImageAttribute")
    amirotd.write_policy("bad", """\
        name: bad
        regions: [us-east-1]
        targets: {tags: {Role: bad}}
        schedule: {every: 24h}
        retain: {count: 2}
        copy_to:
          - region: us-east-1
          - region: eu-west-1
            kms_key_id: alias/x
          - region: eu-west-1
          - region: mars-1
            retain: {count: 2, departed: {keep: 1}}
        """)
    p = amirotd.run("check", check=False)
    assert p.returncode != 0
    err = p.stderr + p.stdout
    assert "bad.yaml:7:5: 'copy_to' region 'us-east-1' is one of the policy's own regions" in err, err
    assert "bad.yaml:9:17: 'kms_key_id' needs 'encrypted: true'" in err, err
    assert "bad.yaml:10:5: 'copy_to' lists region 'eu-west-1' twice" in err, err
    assert "bad.yaml:11:13: 'mars-1' is not an AWS region name" in err, err
    assert "bad.yaml:12:24: unknown key 'departed' in 'copy_to.retain'" in err, err


def copy_started(e):
    return [x for x in e if x.get("MESSAGE_ID") == "8e692055c73b4834a3a38318e1436995"]


def test_a_copy_in_flight_is_found_again_after_kill_9_and_never_started_twice(amirotd, ec2, daemon):
    import journal
    (iid,) = run_instances(ec2, {"Role": "web"})
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("web", POLICY)
    # The instance's images are available at once; a copy stays pending for an hour, and
    # stays invisible to describes for a minute (EC2's eventual consistency).
    amirotd.sim.admin("POST", "images", {"pending_seconds": 3600})
    # The current slot's image is there and available (seeded: visible at once), so the
    # run goes straight to its copy.
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now.replace(hour=3, minute=0, second=0, microsecond=0)
    if now < start:
        start -= datetime.timedelta(days=1)
    sid = start.strftime("%Y%m%dT%H%M%SZ")
    tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": sid}
    amirotd.sim.seed(images=[{"name": f"web-{iid}-{sid}", "instance_id": iid, "tags": tags}])
    amirotd.sim.admin("POST", "settings", {"consistency_delay": 60})
    d = daemon()
    e = journal.wait_for(d.log, lambda e: len(copy_started(e)) >= 1, timeout=60)
    first = copy_started(e)[0]
    d.stop(signal.SIGKILL)

    # A run after the crash (here `once`, as a restarted service would) does not see the
    # copy yet, asks again with the same ClientToken, and EC2 answers with the copy in
    # flight: one copy, never two.
    p = amirotd.run("once")
    copy_id = first["MESSAGE"].split()[-1]
    assert copy_id.startswith("ami-")
    assert f"copy {copy_id}" in p.stderr, p.stderr
    calls = amirotd.sim.calls("CopyImage")
    assert len(calls) >= 2 and len({c["params"]["ClientToken"] for c in calls}) == 1
    assert len(amirotd.sim.images("eu-west-1")) == 1


def test_the_concurrent_copy_limit_leaves_the_rest_for_the_next_run(amirotd, ec2):
    ids = run_instances(ec2, {"Role": "web"}, count=4)
    amirotd.write_policy("web", POLICY)
    amirotd.sim.admin("POST", "settings", {"copy_concurrency_per_source": 3})
    amirotd.sim.admin("POST", "images", {"pending_seconds": 3600,
                                         "pending_seconds_by_instance": {i: 0 for i in ids}})
    p = once(amirotd, 1)
    assert p.returncode == 0
    # Two copies are in flight from elsewhere of this account? No: the limit is met by
    # this run's own copies; EC2 refused the fourth, and that is no failure.
    assert len(copies(amirotd)) == 3, p.stderr
    assert "concurrent" in p.stderr
    # The next run sees three in flight and starts none; once they finish, the fourth goes.
    p = once(amirotd, 1, set_clock=False)
    assert len(copies(amirotd)) == 3
    amirotd.sim.admin("POST", "images/settle", {"region": "eu-west-1"})
    p = once(amirotd, 1, set_clock=False)
    assert len(copies(amirotd)) == 4, p.stderr


def test_a_failed_copy_is_retired_and_made_again_under_the_next_token(amirotd, ec2):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY)
    amirotd.sim.fault(action="CopyImage", kind="image_failed", count=1)
    once(amirotd, 1)
    (failed,) = copies(amirotd)
    assert failed["State"] == "failed"
    # The next run retires it (it holds the name), then copies again: the first token's
    # copy is gone, EC2 refuses it, and the next attempt's token makes the new copy.
    p = once(amirotd, 1, set_clock=False)
    assert f"retired copy {failed['ImageId']}" in p.stderr, p.stderr
    (copy,) = copies(amirotd)
    assert copy["ImageId"] != failed["ImageId"] and copy["State"] == "available"
    tokens = [c["params"]["ClientToken"] for c in amirotd.sim.calls("CopyImage")]
    assert len(tokens) == 3 and tokens[0] == tokens[1] != tokens[2], tokens
    assert amirotd.sim.calls("CopyImage")[1]["error_code"] == "IdempotentParameterMismatch"
    # and a later run leaves it at that
    once(amirotd, 1, set_clock=False)
    assert len(amirotd.sim.calls("CopyImage")) == 3


def test_a_lost_copy_answer_makes_no_second_copy(amirotd, ec2):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY)
    amirotd.sim.fault(action="CopyImage", kind="lost_answer", count=1)
    p = once(amirotd, 1)
    # The copy was made and its answer lost; the retry carries the same ClientToken and
    # EC2 answers with the same copy.
    assert len(amirotd.sim.calls("CopyImage")) == 2, p.stderr
    assert len(copies(amirotd)) == 1
    assert "1 copies started" in p.stderr


def test_a_copy_a_launch_template_names_is_kept(amirotd, ec2):
    import botocore.session
    from conftest import ACCESS_KEY, SECRET_KEY
    west = botocore.session.Session().create_client(
        "ec2", region_name="eu-west-1", endpoint_url=amirotd.sim.url,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY)
    for k in (1, 2):
        once(amirotd, k)
    (first,) = [c for c in copies(amirotd) if tag_dict(c)["amirotd:slot"] == slot_id(1)]
    lt = west.create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData={"ImageId": first["ImageId"]})
    tid = lt["LaunchTemplate"]["LaunchTemplateId"]
    once(amirotd, 3)
    p = amirotd.run("plan", "--json", now=slot(3))
    (row,) = [r for r in json.loads(p.stdout) if r.get("image_id") == first["ImageId"]]
    assert row["action"] == "keep-copy" and "launch template" in row["reason"], row
    p = once(amirotd, 3, set_clock=False)
    assert "named by a launch template there: kept" in p.stderr, p.stderr
    assert first["ImageId"] in {c["ImageId"] for c in copies(amirotd)}
    assert not amirotd.sim.calls("DeregisterImage")
    # The template moves on: the copy goes with the next run.
    (newest,) = [c for c in copies(amirotd) if tag_dict(c)["amirotd:slot"] == slot_id(3)]
    west.create_launch_template_version(LaunchTemplateId=tid, LaunchTemplateData={"ImageId": newest["ImageId"]})
    west.modify_launch_template(LaunchTemplateId=tid, DefaultVersion="2")
    p = once(amirotd, 3, set_clock=False)
    assert f"retired copy {first['ImageId']}" in p.stderr, p.stderr


def west_client(amirotd):
    import botocore.session
    from conftest import ACCESS_KEY, SECRET_KEY
    return botocore.session.Session().create_client(
        "ec2", region_name="eu-west-1", endpoint_url=amirotd.sim.url,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def test_a_retired_copys_snapshot_is_unshared_before_the_copy_is_deregistered(amirotd, ec2):
    """A copy in the policy's own account is shared like its source; a snapshot that
    DeleteAssociatedSnapshots leaves (in use here) must not stay shared after it goes."""
    west = west_client(amirotd)
    third = "777788889999"
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY + f"""\
    share: {{accounts: ["{OTHER}"], snapshots: true}}
""")
    for k in (1, 2):
        once(amirotd, k)
    once(amirotd, 3)
    (first,) = [c for c in copies(amirotd) if tag_dict(c)["amirotd:slot"] == slot_id(1)]
    (snap,) = [b["Ebs"]["SnapshotId"] for b in first["BlockDeviceMappings"] if "Ebs" in b]
    west.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission",
                                   OperationType="add", UserIds=[third])
    amirotd.sim.fault(action="DeleteSnapshot", kind="snapshot_in_use", region="eu-west-1", count=100)

    p = once(amirotd, 3, set_clock=False)

    assert f"retired copy {first['ImageId']}" in p.stderr, p.stderr
    assert snap in {s["SnapshotId"] for s in amirotd.sim.snapshots("eu-west-1")}
    assert west.describe_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission")[
        "CreateVolumePermissions"] == []
    calls = [(c["action"], c["params"].get("SnapshotId") or c["params"].get("ImageId"))
             for c in amirotd.sim.calls() if c["action"] in ("ModifySnapshotAttribute", "DeregisterImage")]
    assert calls.index(("ModifySnapshotAttribute", snap)) < calls.index(("DeregisterImage", first["ImageId"]))
    assert f"snapshot {snap} of copy {first['ImageId']} in eu-west-1: create-volume permissions removed " \
        "before the copy is retired" in p.stderr


def test_a_copy_whose_snapshot_cannot_be_unshared_is_kept_for_the_next_run(amirotd, ec2):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY + f"""\
    share: {{accounts: ["{OTHER}"], snapshots: true}}
""")
    for k in (1, 2):
        once(amirotd, k)
    once(amirotd, 3)
    (first,) = [c for c in copies(amirotd) if tag_dict(c)["amirotd:slot"] == slot_id(1)]
    amirotd.sim.fault(action="DescribeSnapshotAttribute", kind="error", code="UnauthorizedOperation", status=403,
                      region="eu-west-1", count=100)

    p = once(amirotd, 3, set_clock=False, check=False)

    assert "cannot read the create-volume permissions of a copy's snapshot before retiring it" in p.stderr, p.stderr
    assert first["ImageId"] in {c["ImageId"] for c in copies(amirotd)}
    assert not amirotd.sim.calls("DeregisterImage")

    amirotd.sim.clear_faults()
    p = once(amirotd, 3, set_clock=False)
    assert f"retired copy {first['ImageId']}" in p.stderr, p.stderr


def test_dry_run_copies_nothing(amirotd, ec2):
    (iid,) = run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY)
    tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": slot_id(1)}
    (source,) = amirotd.sim.seed(images=[{"name": f"web-{iid}-{slot_id(1)}", "instance_id": iid,
                                          "creation_date": "2030-01-01T03:10:00Z", "tags": tags}])["images"]
    amirotd.sim.set_clock(slot(1))
    p = amirotd.run("once", "--dry-run", now=slot(1))
    assert f"dry run: would have copied image {source} of {iid} to eu-west-1" in p.stderr, p.stderr
    # The run's CopyImage and the permission check's (run/probe-dist.c), both DryRun.
    calls = amirotd.sim.calls("CopyImage")
    assert len(calls) == 2 and all(c["params"]["DryRun"] == "true" for c in calls)
    assert not amirotd.sim.images("eu-west-1")
