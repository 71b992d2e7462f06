# `amirotd adopt` (issue 19, part 2): images made by Packer, the console or an earlier
# script become a policy's own when its adopt section selects them and the command is
# run; never otherwise. Through the real binary against ec2sim, read back with botocore
# and ec2sim's call log.
import json
import subprocess
import time

import journal
from conftest import ACCESS_KEY, AMIROTD, SECRET_KEY, run_instances

POLICY = """\
    name: web
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 2
    adopt:
      tags: {Builder: packer}
"""

DB = """\
    name: db
    targets:
      tags: {Role: db}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 2
"""

NOW = "2030-01-10T12:00:00Z"
OTHER_ACCOUNT = "222233334444"
MESSAGE_IMAGE_ADOPTED = "a894573e22084f61b6d9ac1b738a22a1"


def client(sim):
    import botocore.session
    return botocore.session.Session().create_client(
        "ec2", region_name="us-east-1", endpoint_url=sim.url,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def seed(amirotd):
    """An instance of web, and images of every kind adopt meets, by a short name."""
    sim = amirotd.sim
    sim.set_clock(NOW)
    sim.admin("POST", "images", {"pending_seconds": 3600})     # the pending one stays pending
    iid = run_instances(client(sim), {"Role": "web"})[0]
    packer = {"Builder": "packer"}
    specs = {
        "first": {"name": "packer-web-1", "tags": packer, "instance_id": iid,
                  "creation_date": "2030-01-01T10:00:00Z", "pending_seconds": 0},
        "second": {"name": "packer-web-2", "tags": packer, "instance_id": iid, "snapshots": [8, 20],
                   "creation_date": "2030-01-02T10:00:00Z", "pending_seconds": 0},
        "same_slot": {"name": "packer-web-2-early", "tags": packer, "instance_id": iid,
                      "creation_date": "2030-01-02T05:00:00Z", "pending_seconds": 0},
        "other_policy": {"name": "db-made", "tags": dict(packer, **{"amirotd:policy": "db",
                         "amirotd:instance-id": iid, "amirotd:slot": "20300103T030000Z"}),
                         "instance_id": iid, "creation_date": "2030-01-03T03:00:10Z", "pending_seconds": 0},
        "copy": {"name": "a-copy", "tags": dict(packer, **{"amirotd:copy-of": "us-west-2/ami-0123456789abcdef0"}),
                 "creation_date": "2030-01-04T10:00:00Z", "pending_seconds": 0},
        "pending": {"name": "packer-pending", "tags": packer, "instance_id": iid, "state": "pending",
                    "creation_date": "2030-01-05T10:00:00Z"},
        "disabled": {"name": "packer-disabled", "tags": packer, "instance_id": iid, "state": "disabled",
                     "creation_date": "2030-01-06T10:00:00Z", "pending_seconds": 0},
        "no_instance": {"name": "packer-registered", "tags": packer,
                        "creation_date": "2030-01-07T10:00:00Z", "pending_seconds": 0},
        "unselected": {"name": "console-web", "tags": {"Builder": "console"}, "instance_id": iid,
                       "creation_date": "2030-01-08T10:00:00Z", "pending_seconds": 0},
    }
    names = list(specs)
    ids = sim.seed(images=[specs[n] for n in names])["images"]
    by = dict(zip(names, ids))
    # shared with this account by another: public, carries the tag, never ours
    by["shared"] = sim.seed(account=OTHER_ACCOUNT, images=[{
        "name": "theirs-packer", "tags": packer, "public": True, "instance_id": iid,
        "creation_date": "2030-01-02T10:00:00Z", "pending_seconds": 0}])["images"][0]
    sim.admin("POST", "images", {"pending_seconds": 0})        # amirotd's own become available at once
    return iid, by


def state(sim):
    """Every image's and snapshot's tags, by id (all accounts)."""
    images = {i["ImageId"]: dict(i["Tags"]) for i in sim.images()}
    snaps = {s["SnapshotId"]: dict(s["Tags"]) for s in sim.snapshots()}
    return images, snaps


def snapshots_of(sim, image_id):
    img = next(i for i in sim.images() if i["ImageId"] == image_id)
    return [m["Ebs"]["SnapshotId"] for m in img["BlockDeviceMappings"]]


def given_web_and_db(amirotd):
    amirotd.write_policy("web", POLICY)
    amirotd.write_policy("db", DB)
    return seed(amirotd)


def line_of(out, image_id):
    lines = [line for line in out.splitlines() if f" {image_id} " in line]
    assert len(lines) == 1, out
    return lines[0]


def test_dry_run_changes_nothing_and_says_what_it_would_do(amirotd):
    iid, by = given_web_and_db(amirotd)
    before = state(amirotd.sim)
    mark = len(amirotd.sim.calls())
    p = amirotd.run("adopt", "--policy", "web", "--dry-run", now=NOW)
    out = p.stdout
    assert f"would adopt as {iid}, slot 20300101T030000Z, 1 snapshot" in line_of(out, by["first"])
    assert f"would adopt as {iid}, slot 20300102T030000Z, 2 snapshots" in line_of(out, by["second"])
    assert f"goes to the newer {by['second']}" in line_of(out, by["same_slot"])
    assert "belongs to policy 'db'" in line_of(out, by["other_policy"])
    assert "a copy of us-west-2/ami-0123456789abcdef0" in line_of(out, by["copy"])
    assert "pending: only available images are adopted" in line_of(out, by["pending"])
    assert "disabled: only available images are adopted" in line_of(out, by["disabled"])
    assert "no instance" in line_of(out, by["no_instance"])
    # not selected, and not the account's own: never even listed
    assert by["unselected"] not in out and by["shared"] not in out
    assert "policy 'web' (dry run): 2 would be adopted, 6 skipped; nothing was changed" in out
    calls = amirotd.sim.calls()[mark:]
    assert [c for c in calls if c["action"] == "CreateTags"] == []
    assert any(c["action"] == "DescribeImages" for c in calls)
    assert state(amirotd.sim) == before


def test_adopt_tags_exactly_the_chosen_images_and_snapshots(amirotd):
    iid, by = given_web_and_db(amirotd)
    images_before, snaps_before = state(amirotd.sim)
    p = amirotd.run("adopt", "--policy", "web", now=NOW)
    assert f"adopted as {iid}, slot 20300101T030000Z, 1 snapshot" in line_of(p.stdout, by["first"])
    assert f"adopted as {iid}, slot 20300102T030000Z, 2 snapshots" in line_of(p.stdout, by["second"])
    assert "policy 'web': 2 adopted, 6 skipped, 0 failed" in p.stdout
    assert "adopted image" in p.stderr                  # logged as the other commands log
    time.sleep(1.5)                                     # ec2sim's consistency delay for new tags
    images, snaps = state(amirotd.sim)
    changed_images = {k for k in images if images[k] != images_before[k]}
    assert changed_images == {by["first"], by["second"]}
    adopted_snaps = set(snapshots_of(amirotd.sim, by["first"]) + snapshots_of(amirotd.sim, by["second"]))
    assert len(adopted_snaps) == 3
    assert {k for k in snaps if snaps[k] != snaps_before[k]} == adopted_snaps
    for image_id, slot in ((by["first"], "20300101T030000Z"), (by["second"], "20300102T030000Z")):
        want = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": slot,
                "amirotd:adopted": NOW}
        assert images[image_id] == dict(images_before[image_id], **want)       # nothing else changed
        for s in snapshots_of(amirotd.sim, image_id):
            assert snaps[s] == dict(snaps_before[s], **want)
    names = {i["ImageId"]: i["Name"] for i in amirotd.sim.images()}
    assert names[by["first"]] == "packer-web-1"         # never a name


def test_second_adopt_is_a_no_op(amirotd):
    iid, by = given_web_and_db(amirotd)
    amirotd.run("adopt", "--policy", "web", now=NOW)
    time.sleep(1.5)                                     # ec2sim's consistency delay for new tags
    before = state(amirotd.sim)
    mark = len(amirotd.sim.calls())
    p = amirotd.run("adopt", "--policy", "web", now="2030-01-10T13:00:00Z")
    assert f"already adopted ({NOW})" in line_of(p.stdout, by["first"])
    assert "policy 'web': 0 adopted, 8 skipped, 0 failed" in p.stdout
    assert [c for c in amirotd.sim.calls()[mark:] if c["action"] == "CreateTags"] == []
    assert state(amirotd.sim) == before


def test_list_shows_adopted_images_apart(amirotd):
    iid, by = given_web_and_db(amirotd)
    amirotd.run("adopt", "--policy", "web", now=NOW)
    time.sleep(1.5)
    text = amirotd.run("list", "--policy", "web", now=NOW).stdout
    assert f"    adopted {NOW}" in text
    rows = json.loads(amirotd.run("list", "--policy", "web", "--json", now=NOW).stdout)
    assert {r["image_id"]: r["adopted"] for r in rows} == {by["first"]: NOW, by["second"]: NOW}


def test_retention_treats_adopted_images_as_its_own(amirotd):
    iid, by = given_web_and_db(amirotd)
    amirotd.run("adopt", "--policy", "web", now=NOW)
    time.sleep(1.5)
    first_snaps = snapshots_of(amirotd.sim, by["first"])
    second_snaps = snapshots_of(amirotd.sim, by["second"])
    # retain.count 2: the run's new image pushes out the oldest adopted one, snapshots too
    amirotd.sim.set_clock("2030-01-11T03:30:00Z")
    amirotd.run("once", "--policy", "web", now="2030-01-11T03:30:00Z")
    live = {i["ImageId"]: i["State"] for i in amirotd.sim.images()}
    assert live.get(by["first"], "deregistered") == "deregistered"
    assert live[by["second"]] == "available"
    snaps = {s["SnapshotId"] for s in amirotd.sim.snapshots()}
    assert not set(first_snaps) & snaps
    assert set(second_snaps) <= snaps
    # and the next run's image pushes out the second
    time.sleep(1.5)
    amirotd.sim.set_clock("2030-01-12T03:30:00Z")
    amirotd.run("once", "--policy", "web", now="2030-01-12T03:30:00Z")
    live = {i["ImageId"]: i["State"] for i in amirotd.sim.images()}
    assert live.get(by["second"], "deregistered") == "deregistered"
    assert not set(second_snaps) & {s["SnapshotId"] for s in amirotd.sim.snapshots()}
    # what adopt left alone stays alone
    for k in ("same_slot", "other_policy", "copy", "disabled", "no_instance", "unselected"):
        assert live[by[k]] in ("available", "disabled"), k


def test_a_failed_image_does_not_stop_the_others_and_is_taken_next_time(amirotd):
    iid, by = given_web_and_db(amirotd)
    amirotd.sim.fault(action="CreateTags", kind="error", code="UnauthorizedOperation", status=403,
                      message="You are not authorized to perform this operation.", count=1)
    p = amirotd.run("adopt", "--policy", "web", now=NOW, check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "policy 'web': 1 adopted, 6 skipped, 1 failed" in p.stdout
    failed = [line for line in p.stdout.splitlines() if ": failed: UnauthorizedOperation" in line]
    assert len(failed) == 1, p.stdout
    assert "UnauthorizedOperation" in p.stderr
    time.sleep(1.5)
    images, _ = state(amirotd.sim)
    tagged = {k for k in (by["first"], by["second"]) if images[k].get("amirotd:policy") == "web"}
    assert len(tagged) == 1
    (untagged,) = {by["first"], by["second"]} - tagged
    assert untagged in failed[0]
    # the next run takes the one that failed, and only it
    p = amirotd.run("adopt", "--policy", "web", now=NOW)
    assert "adopted as" in line_of(p.stdout, untagged)
    assert "policy 'web': 1 adopted, 7 skipped, 0 failed" in p.stdout


def test_packer_images_count_for_adopt_instance_id_and_rotate(amirotd):
    # Packer's EBS builder images a throw-away instance each time: EC2's sourceInstanceId
    # names a different, departed instance per image, which retain.count never retires
    amirotd.sim.set_clock(NOW)
    iid = run_instances(client(amirotd.sim), {"Role": "web"})[0]
    amirotd.write_policy("web", POLICY.replace("      tags: {Builder: packer}",
                                               f"      tags: {{Builder: packer}}\n      instance_id: {iid}"))
    spec = {"tags": {"Builder": "packer"}, "pending_seconds": 0}
    ids = amirotd.sim.seed(images=[
        dict(spec, name=f"packer-web-{day}", instance_id=f"i-0{day:016x}",
             creation_date=f"2030-01-0{day}T10:00:00Z") for day in (1, 2, 3)])["images"]
    p = amirotd.run("adopt", "--policy", "web", now=NOW)
    for day, image_id in zip((1, 2, 3), ids):
        assert f"adopted as {iid}, slot 2030010{day}T030000Z" in line_of(p.stdout, image_id)
    time.sleep(1.5)                                     # ec2sim's consistency delay for new tags
    # retain.count 2: the run's new image and the newest adopted one stay, the two older go
    amirotd.sim.set_clock("2030-01-11T03:30:00Z")
    amirotd.run("once", "--policy", "web", now="2030-01-11T03:30:00Z")
    live = {i["ImageId"]: i["State"] for i in amirotd.sim.images()}
    assert [live.get(i, "deregistered") for i in ids] == ["deregistered", "deregistered", "available"]


def tagged_by_create_tags(calls):
    """The resource ids of the CreateTags calls among calls."""
    return [v for c in calls if c["action"] == "CreateTags"
            for k, v in c["params"].items() if k.startswith("ResourceId.")]


def test_an_interrupted_adoption_resumes_without_retagging_a_snapshot(amirotd):
    # The IAM policy lets adopt tag a snapshot only while it has no amirotd:policy (else
    # the role could move any snapshot into a policy, where DeleteSnapshot may delete
    # it): so a resumed adoption must not tag again the snapshots the first one tagged
    iid, by = given_web_and_db(amirotd)
    ec2 = client(amirotd.sim)
    done = snapshots_of(amirotd.sim, by["second"])
    first_time = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": "20300102T030000Z",
                  "amirotd:adopted": "2030-01-10T11:00:00Z"}
    # what a crash between the snapshots' CreateTags and the image's leaves
    ec2.create_tags(Resources=done, Tags=[{"Key": k, "Value": v} for k, v in first_time.items()])
    # and a snapshot another policy holds, under an image of none
    (theirs,) = snapshots_of(amirotd.sim, by["first"])
    ec2.create_tags(Resources=[theirs], Tags=[{"Key": "amirotd:policy", "Value": "db"}])
    time.sleep(1.5)                                     # ec2sim's consistency delay for new tags
    _, snaps_before = state(amirotd.sim)
    mark = len(amirotd.sim.calls())
    p = amirotd.run("adopt", "--policy", "web", now=NOW, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (f"adopted as {iid}, slot 20300102T030000Z, 0 snapshots (2 the policy's already)"
            in line_of(p.stdout, by["second"]))
    assert f"its snapshot {theirs} belongs to policy 'db'" in line_of(p.stdout, by["first"])
    assert tagged_by_create_tags(amirotd.sim.calls()[mark:]) == [by["second"]]
    time.sleep(1.5)
    images, snaps = state(amirotd.sim)
    assert images[by["second"]]["amirotd:policy"] == "web"
    assert "amirotd:policy" not in images[by["first"]]
    assert snaps == snaps_before                        # no snapshot was tagged again


def test_region_limits_adoption_to_one_of_the_policys_regions(amirotd):
    amirotd.write_policy("web", POLICY.replace("    retain:", "    regions: [us-east-1, us-west-2]\n    retain:"))
    amirotd.sim.set_clock(NOW)
    spec = {"tags": {"Builder": "packer"}, "instance_id": "i-0123456789abcdef0",
            "creation_date": "2030-01-02T10:00:00Z", "pending_seconds": 0}
    east = amirotd.sim.seed(region="us-east-1", images=[dict(spec, name="packer-east")])["images"][0]
    west = amirotd.sim.seed(region="us-west-2", images=[dict(spec, name="packer-west")])["images"][0]
    p = amirotd.run("adopt", "--policy", "web", "--region", "us-west-2", now=NOW)
    assert line_of(p.stdout, west).startswith(f"us-west-2 {west} 'packer-west': adopted as i-0123456789abcdef0")
    assert east not in p.stdout and "us-east-1" not in p.stdout
    time.sleep(1.5)
    assert "amirotd:policy" not in {i["ImageId"]: i for i in amirotd.sim.images("us-east-1")}[east]["Tags"]
    assert {i["ImageId"]: i for i in amirotd.sim.images("us-west-2")}[west]["Tags"]["amirotd:policy"] == "web"


def test_errors_exit_non_zero_with_a_clear_message(amirotd):
    given_web_and_db(amirotd)
    p = amirotd.run("adopt", "--policy", "db", now=NOW, check=False)
    assert p.returncode == 2
    assert "policy 'db' has no 'adopt' section" in p.stderr
    p = amirotd.run("adopt", "--policy", "nope", now=NOW, check=False)
    assert p.returncode == 2
    assert "no policy named 'nope'" in p.stderr
    p = amirotd.run("adopt", now=NOW, check=False)
    assert p.returncode == 2
    assert "adopt needs --policy NAME" in p.stderr
    p = amirotd.run("adopt", "--policy", "web", "--region", "eu-west-1", now=NOW, check=False)
    assert p.returncode == 2
    assert "policy 'web' has no region 'eu-west-1'" in p.stderr
    assert [c for c in amirotd.sim.calls() if c["action"] == "CreateTags"] == []


def test_each_adoption_is_in_the_journal_with_its_message_id(amirotd, journald):
    iid, by = given_web_and_db(amirotd)
    cmd = [AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--now=" + NOW, "--log-target=journal",
           "adopt", "--policy", "web"]
    since = journal.now_usec()
    p = subprocess.Popen(cmd, env=amirotd.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 0, out
    source = journal.Source(p.pid, since)
    adopted = journal.wait_for(
        source, lambda es: len([e for e in es if e.get("MESSAGE_ID") == MESSAGE_IMAGE_ADOPTED]) >= 2,
        what="two adoptions")
    adopted = [e for e in adopted if e.get("MESSAGE_ID") == MESSAGE_IMAGE_ADOPTED]
    assert {e["AMIROTD_IMAGE_ID"] for e in adopted} == {by["first"], by["second"]}
    for e in adopted:
        assert e["AMIROTD_POLICY"] == "web" and e["AMIROTD_REGION"] == "us-east-1"
        assert e["AMIROTD_INSTANCE_ID"] == iid
        assert e["PRIORITY"] == "6"
    assert {e["AMIROTD_SLOT"] for e in adopted} == {"20300101T030000Z", "20300102T030000Z"}
