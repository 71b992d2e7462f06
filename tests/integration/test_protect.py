# protect.in_use and protect.last_launched_within (issue 13, item 3): an image that
# retention would retire is kept while an instance runs from it, while a launch
# template's $Default or $Latest version names it, or while it was launched from
# within last_launched_within; the log says why, once per run, and `plan` shows it.
# A check that cannot be made keeps the image.
import json
import subprocess

import journal
from conftest import AMIROTD, run_instances

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

MESSAGE_IMAGE_IN_USE = "f4b40e50188a48d796ee59e29b675e43"


def slot(k):
    return f"2030-01-{k:02d}T03:30:00Z"


def slot_id(k):
    return f"203001{k:02d}T030000Z"


def seed_two_generations(amirotd):
    """An instance of the policy with the images of slots 1 and 2: retention retires slot 1's."""
    iid = run_instances(amirotd_ec2(amirotd), {"Role": "web"})[0]
    specs = []
    for k in (1, 2):
        tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": slot_id(k)}
        specs.append({"name": f"web-{iid}-{slot_id(k)}", "tags": tags, "snapshot_tags": tags,
                      "instance_id": iid, "creation_date": f"2030-01-{k:02d}T03:00:00Z"})
    old, new = amirotd.sim.seed(images=specs)["images"]
    return iid, old, new


def amirotd_ec2(amirotd):
    import botocore.session
    from conftest import ACCESS_KEY, SECRET_KEY
    return botocore.session.Session().create_client(
        "ec2", region_name="us-east-1", endpoint_url=amirotd.sim.url,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def once(amirotd, k, check=True):
    amirotd.sim.set_clock(slot(k))
    return amirotd.run("once", now=slot(k), check=check)


def image_ids(amirotd):
    return {i["ImageId"] for i in amirotd.sim.images()}


def deregistered(amirotd):
    return [c["params"]["ImageId"] for c in amirotd.sim.calls("DeregisterImage")]


def test_image_an_instance_runs_is_kept_until_it_is_terminated(amirotd, ec2):
    iid, old, new = seed_two_generations(amirotd)
    user = ec2.run_instances(ImageId=old, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    amirotd.write_policy("web", POLICY)

    p = once(amirotd, 2)

    assert old in image_ids(amirotd) and deregistered(amirotd) == []
    assert f"image {old} of {iid} (slot {slot_id(1)}) is in use by {user} (running); keeping it" in p.stderr
    checks = amirotd.sim.calls("DescribeInstances")[-1]["params"]
    assert checks["Filter.1.Name"] == "image-id" and checks["Filter.1.Value.1"] == old
    assert "1 kept in use (protect)" in p.stderr

    # Terminated (and still listed so, as EC2 lists it for a while), it no longer protects:
    # a run of the same slot retires the image.
    ec2.terminate_instances(InstanceIds=[user])
    amirotd.sim.set_clock("2030-01-02T03:40:00Z")
    assert ec2.describe_instances(InstanceIds=[user])["Reservations"][0]["Instances"][0]["State"]["Name"] \
        == "terminated"
    p = amirotd.run("once", now="2030-01-02T03:40:00Z")
    assert old not in image_ids(amirotd)
    assert old in deregistered(amirotd)


def test_instances_of_a_fleet_are_checked_in_one_call(amirotd, ec2):
    """Three instances each retire an image; one DescribeInstances asks about all three."""
    fleet = run_instances(ec2, {"Role": "web"}, count=3)
    specs = []
    for iid in fleet:
        for k in (1, 2):
            tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": slot_id(k)}
            specs.append({"name": f"web-{iid}-{slot_id(k)}", "tags": tags, "snapshot_tags": tags,
                          "instance_id": iid, "creation_date": f"2030-01-{k:02d}T03:00:00Z"})
    seeded = amirotd.sim.seed(images=specs)["images"]
    old = seeded[0::2]
    user = ec2.run_instances(ImageId=old[1], MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    amirotd.write_policy("web", POLICY)

    p = once(amirotd, 2)

    checks = [c["params"] for c in amirotd.sim.calls("DescribeInstances")
              if c["params"].get("Filter.1.Name") == "image-id"]
    assert len(checks) == 1
    assert sorted(v for k, v in checks[0].items() if k.startswith("Filter.1.Value.")) == sorted(old)
    assert sorted(deregistered(amirotd)) == sorted([old[0], old[2]])
    assert f"is in use by {user} (running); keeping it" in p.stderr


def test_launch_template_default_version_keeps_its_image(amirotd, ec2):
    iid, old, new = seed_two_generations(amirotd)
    lt = ec2.create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData={"ImageId": old})
    tid = lt["LaunchTemplate"]["LaunchTemplateId"]
    # A newer version names another image; $Default stays at 1.
    ec2.create_launch_template_version(LaunchTemplateId=tid, LaunchTemplateData={"ImageId": new})
    amirotd.write_policy("web", POLICY)

    p = once(amirotd, 2)

    assert old in image_ids(amirotd) and deregistered(amirotd) == []
    assert f"is named by launch template {tid} 'web-lt' version 1 ($Default); keeping it" in p.stderr
    call = amirotd.sim.calls("DescribeLaunchTemplateVersions")[0]["params"]
    assert call["LaunchTemplateVersion.1"] == "$Latest" and call["LaunchTemplateVersion.2"] == "$Default"
    assert call["ResolveAlias"] == "true" and "LaunchTemplateId" not in call


def test_launch_template_latest_version_keeps_its_image(amirotd, ec2):
    iid, old, new = seed_two_generations(amirotd)
    lt = ec2.create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData={"ImageId": new})
    tid = lt["LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_launch_template_version(LaunchTemplateId=tid, LaunchTemplateData={"ImageId": old})
    amirotd.write_policy("web", POLICY)

    p = once(amirotd, 2)

    assert old in image_ids(amirotd) and deregistered(amirotd) == []
    assert f"is named by launch template {tid} 'web-lt' version 2 ($Latest); keeping it" in p.stderr

    # The template moves on: the image goes with the next run.
    ec2.create_launch_template_version(LaunchTemplateId=tid, LaunchTemplateData={"ImageId": new})
    once(amirotd, 3)
    assert old not in image_ids(amirotd)


def test_launch_template_naming_its_image_by_ssm_parameter_keeps_it(amirotd, ec2):
    iid, old, new = seed_two_generations(amirotd)
    amirotd.sim.seed(ssm_parameters={"/golden/web": old})
    lt = ec2.create_launch_template(LaunchTemplateName="web-ssm",
                                    LaunchTemplateData={"ImageId": "resolve:ssm:/golden/web"})
    amirotd.write_policy("web", POLICY)

    p = once(amirotd, 2)

    assert old in image_ids(amirotd) and deregistered(amirotd) == []
    assert f"named by launch template {lt['LaunchTemplate']['LaunchTemplateId']} 'web-ssm' version 1 " \
           f"($Default); keeping it" in p.stderr


def test_last_launched_within_keeps_a_recently_launched_image(amirotd, ec2):
    iid, old, new = seed_two_generations(amirotd)
    amirotd.sim.set_clock("2030-01-01T12:00:00Z")
    user = ec2.run_instances(ImageId=old, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[user])     # gone: only lastLaunchedTime remembers
    amirotd.write_policy("web", POLICY + "    protect: {in_use: false, last_launched_within: 14d}\n")

    p = once(amirotd, 2)

    assert old in image_ids(amirotd) and deregistered(amirotd) == []
    assert f"image {old} of {iid} (slot {slot_id(1)}) is last launched 2030-01-01T12:00:00Z, " \
           f"within last_launched_within 2w; keeping it" in p.stderr
    assert all(c["params"].get("Filter.1.Name") != "image-id" for c in amirotd.sim.calls("DescribeInstances"))
    assert [c["params"]["Attribute"] for c in amirotd.sim.calls("DescribeImageAttribute")] == ["lastLaunchedTime"]

    # 15 days after the launch, the image goes.
    once(amirotd, 16)
    assert old in deregistered(amirotd)


def test_failing_check_keeps_the_image(amirotd):
    iid, old, new = seed_two_generations(amirotd)
    amirotd.write_policy("web", POLICY)
    # The run's own DescribeInstances passes; the check's, with the image-id filter, is throttled
    # past every retry.
    amirotd.sim.fault(action="DescribeInstances", kind="throttle", after=1)

    p = once(amirotd, 2, check=False)

    assert p.returncode != 0
    assert old in image_ids(amirotd) and deregistered(amirotd) == []
    line = next(x for x in p.stderr.splitlines() if f"keeping image {old}" in x)
    assert "cannot tell whether it is in use: DescribeInstances: RequestLimitExceeded" in line


def test_denied_launch_templates_keep_the_image_and_say_why(amirotd, journald):
    iid, old, new = seed_two_generations(amirotd)
    amirotd.write_policy("web", POLICY)
    amirotd.sim.admin("POST", "keys", {"access_key": "AKIDEXAMPLE", "deny": ["DescribeLaunchTemplateVersions"]})
    amirotd.sim.set_clock(slot(2))
    since = journal.now_usec()
    proc = subprocess.Popen([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--log-target=journal",
                             "--now=" + slot(2), "once"], env=amirotd.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert proc.wait(timeout=120) != 0
    entries = journal.wait_for(journal.Source(proc.pid, since),
                               lambda e: any(f"keeping image {old}" in x.get("MESSAGE", "") for x in e))
    kept = next(e for e in entries if f"keeping image {old}" in e.get("MESSAGE", ""))
    assert kept["AWS_ERROR_CODE"] == "UnauthorizedOperation"
    assert kept["AWS_REQUEST_ID"]
    assert kept["AMIROTD_ACTION"] == "DescribeLaunchTemplateVersions"
    assert old in image_ids(amirotd) and deregistered(amirotd) == []


def test_notice_has_its_message_id_once_per_run(amirotd, ec2, journald):
    iid, old, new = seed_two_generations(amirotd)
    user = ec2.run_instances(ImageId=old, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    amirotd.write_policy("web", POLICY)
    amirotd.sim.set_clock(slot(2))
    since = journal.now_usec()
    proc = subprocess.Popen([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--log-target=journal",
                             "--now=" + slot(2), "once"], env=amirotd.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert proc.wait(timeout=120) == 0
    entries = journal.wait_for(journal.Source(proc.pid, since),
                               lambda e: any("policy 'web' in us-east-1" in x.get("MESSAGE", "") for x in e))
    notices = [e for e in entries if e.get("MESSAGE_ID") == MESSAGE_IMAGE_IN_USE]
    assert len(notices) == 1
    assert notices[0]["PRIORITY"] == "5"
    assert notices[0]["AMIROTD_IMAGE_ID"] == old
    assert user in notices[0]["MESSAGE"]


def test_plan_shows_keep_with_the_reason(amirotd, ec2):
    iid, old, new = seed_two_generations(amirotd)
    user = ec2.run_instances(ImageId=old, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    amirotd.write_policy("web", POLICY)
    amirotd.sim.set_clock(slot(2))

    p = amirotd.run("plan", now=slot(2))
    row = next(x for x in p.stdout.splitlines() if old in x)
    assert row.split()[2] == "keep"
    assert f"in use by {user} (running); retention: " in row

    rows = json.loads(amirotd.run("plan", "--json", now=slot(2)).stdout)
    kept = next(r for r in rows if r.get("image_id") == old)
    assert kept["action"] == "keep" and kept["protected"] == f"in use by {user} (running)"
    assert deregistered(amirotd) == []

    # protect.in_use off: the plan retires it.
    amirotd.write_policy("web", POLICY + "    protect: {in_use: false}\n")
    row = next(x for x in amirotd.run("plan", now=slot(2)).stdout.splitlines() if old in x)
    assert row.split()[2] == "retire"


def test_dry_run_asks_for_protects_permissions(amirotd, ec2):
    iid, old, new = seed_two_generations(amirotd)
    amirotd.write_policy("web", POLICY + "    protect: {last_launched_within: 14d}\n")
    amirotd.sim.admin("POST", "keys", {"access_key": "AKIDEXAMPLE", "deny": ["DescribeLaunchTemplateVersions"]})
    amirotd.sim.set_clock(slot(2))

    p = amirotd.run("once", "--dry-run", now=slot(2), check=False)

    # The refused permission is named, and the retirement it guards is kept (the run fails).
    assert p.returncode != 0, p.stdout + p.stderr
    assert "keeping image " + old in p.stderr
    rows = {line.split()[2]: line for line in p.stdout.splitlines() if len(line.split()) > 2}
    assert "not permitted" in rows["DescribeLaunchTemplateVersions"]
    assert "UnauthorizedOperation" in rows["DescribeLaunchTemplateVersions"]
    assert "permitted" in rows["DescribeImageAttribute"] and "ami-" in rows["DescribeImageAttribute"]
    assert deregistered(amirotd) == [] or all(
        c["params"].get("DryRun") == "true" for c in amirotd.sim.calls("DeregisterImage"))
    assert old in image_ids(amirotd)


STAGED = POLICY + """\
    retire:
      disable_after: 1d
      deregister_after: 7d
"""


def test_image_in_use_is_neither_released_nor_disabled(amirotd, ec2):
    """With retire stages, letting an image go starts with its release (then DisableImage):
    an image an instance runs is kept out of them, as from a deregistration; once the
    instance is gone it is released, and a new user before its disable stage keeps it
    from being disabled."""
    iid, old, new = seed_two_generations(amirotd)
    user = ec2.run_instances(ImageId=old, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    amirotd.write_policy("web", STAGED)

    p = once(amirotd, 2)

    assert f"image {old} of {iid} (slot {slot_id(1)}) is in use by {user} (running); keeping it" in p.stderr
    tags = {t["Key"]: t["Value"] for t in ec2.describe_images(ImageIds=[old])["Images"][0].get("Tags", [])}
    assert "amirotd:retired-at" not in tags
    assert amirotd.sim.calls("CreateTags") == [] and amirotd.sim.calls("DisableImage") == []

    ec2.terminate_instances(InstanceIds=[user])
    amirotd.sim.set_clock("2030-01-02T03:40:00Z")
    amirotd.run("once", now="2030-01-02T03:40:00Z")
    released = [c["params"] for c in amirotd.sim.calls("CreateTags")]
    assert any(c.get("ResourceId.1") == old and "amirotd:retired-at" in c.values() for c in released), released

    # Launched from again before its disable stage: the disable waits.
    amirotd.sim.set_clock(slot(4))
    tags = {t["Key"]: t["Value"] for t in ec2.describe_images(ImageIds=[old])["Images"][0].get("Tags", [])}
    assert tags["amirotd:retired-at"] == "2030-01-02T03:40:00Z"
    plan = json.loads(amirotd.run("plan", "--json", now=slot(4)).stdout)
    assert [a["action"] for a in plan if a.get("image_id") == old] == ["disable"]
    user = ec2.run_instances(ImageId=old, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    p = once(amirotd, 4)
    assert f"is in use by {user} (pending); keeping it" in p.stderr
    assert amirotd.sim.calls("DisableImage") == []
    assert ec2.describe_images(ImageIds=[old])["Images"][0]["State"] == "available"


def test_service_run_line_counts_images_kept_in_use(amirotd, ec2, daemon):
    """The service's line for each run says what protect kept, as `once`'s does."""
    import datetime as dt
    utc = dt.timezone.utc
    today = dt.datetime.now(utc).replace(hour=3, minute=0, second=0, microsecond=0)
    if today > dt.datetime.now(utc):
        today -= dt.timedelta(days=1)
    iid = run_instances(ec2, {"Role": "web"})[0]
    specs = []
    for k in (2, 1):        # the slots of two and one days ago: both beyond count 1 once today's is made
        t = today - dt.timedelta(days=k)
        sid = t.strftime("%Y%m%dT%H%M%SZ")
        tags = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": sid}
        specs.append({"name": f"web-{iid}-{sid}", "tags": tags, "snapshot_tags": tags, "instance_id": iid,
                      "creation_date": (t + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    older, old = amirotd.sim.seed(images=specs)["images"]
    user = ec2.run_instances(ImageId=older, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("web", POLICY)

    d = daemon()
    d.notify.wait_for("READY=1")
    e = journal.wait_for(d.log, lambda e: any("run done for slot" in x.get("MESSAGE", "") for x in e),
                         timeout=90, what="the run's line")
    line = next(x["MESSAGE"] for x in e if "run done for slot" in x.get("MESSAGE", ""))
    assert d.stop() == 0
    assert line.endswith(", 1 kept in use (protect)"), line
    assert "1 retired" in line and old in deregistered(amirotd) and older not in deregistered(amirotd)
    assert f"is in use by {user}" in "".join(x.get("MESSAGE", "") for x in journal.entries(d.log))
