# image.volumes and enabled: false (issue 13, items 6 and 7), through the real binary
# against the simulator, read back with botocore.
import json
import signal
import time

import journal
from conftest import created, images, run_instances, snapshots, tag_dict


def slot(k):
    """A time inside the k-th daily slot (2030-01-k 03:00 UTC onwards)."""
    return f"2030-01-{k:02d}T03:30:00Z"


def policy(image="", retain=3, enabled=""):
    return f"""\
    name: web
    {enabled}
    targets:
      tags: {{Role: web}}
    schedule:
      every: 24h
      at: "03:00"
    image:
      name: "{{policy}}-{{instance_id}}-{{slot}}"
      {image}
    retain:
      count: {retain}
"""


def once(amirotd, k, *args, check=True):
    amirotd.sim.set_clock(slot(k))
    return amirotd.run("once", *args, now=slot(k), check=check)


def fleet(amirotd, ec2, count=1):
    """Instances with three volumes (/dev/xvda root, /dev/xvdb, /dev/xvdc), made before slot 1."""
    amirotd.sim.set_clock("2030-01-01T00:00:00Z")
    return run_instances(ec2, {"Role": "web"}, count=count, volumes=3)


def volume_of(ec2, iid, device):
    out = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [iid]},
                                        {"Name": "attachment.device", "Values": [device]}])
    [v] = out["Volumes"]
    return v["VolumeId"]


def devices_of(image):
    return sorted(m["DeviceName"] for m in image["BlockDeviceMappings"])


def image_of(ec2, iid):
    [image] = images(ec2, **{"tag:amirotd:instance-id": iid})
    return image


def test_volumes_root_images_only_the_root_volume(amirotd, ec2):
    [iid] = fleet(amirotd, ec2)
    amirotd.write_policy("web", policy("volumes: root"))

    plan = amirotd.run("plan", now=slot(1)).stdout
    assert "without /dev/xvdb, /dev/xvdc" in plan
    plan_json = json.loads(amirotd.run("plan", "--json", now=slot(1)).stdout)
    [create] = [a for a in plan_json if a["action"] == "create"]
    assert create["exclude_devices"] == ["/dev/xvdb", "/dev/xvdc"]

    once(amirotd, 1)
    # no volume tags asked for: no DescribeVolumes (before this test's own)
    assert amirotd.sim.calls("DescribeVolumes") == []
    image = image_of(ec2, iid)
    assert devices_of(image) == ["/dev/xvda"]
    [snap] = [m["Ebs"]["SnapshotId"] for m in image["BlockDeviceMappings"]]
    policy_snaps = [s for s in snapshots(ec2) if tag_dict(s).get("amirotd:policy") == "web"]
    assert [s["SnapshotId"] for s in policy_snaps] == [snap]
    assert policy_snaps[0]["VolumeId"] == volume_of(ec2, iid, "/dev/xvda")
    # the request named the two other devices with NoDevice, and nothing else
    [call] = amirotd.sim.calls("CreateImage")
    p = call["params"]
    assert {p["BlockDeviceMapping.1.DeviceName"], p["BlockDeviceMapping.2.DeviceName"]} == \
        {"/dev/xvdb", "/dev/xvdc"}
    assert p["BlockDeviceMapping.1.NoDevice"] == "" and "BlockDeviceMapping.3.DeviceName" not in p


def test_exclude_devices_and_tags_leave_out_the_right_volumes(amirotd, ec2):
    a, b = fleet(amirotd, ec2, count=2)
    ec2.create_tags(Resources=[volume_of(ec2, a, "/dev/xvdc")], Tags=[{"Key": "Scratch", "Value": "true"}])
    ec2.create_tags(Resources=[volume_of(ec2, b, "/dev/xvdc")], Tags=[{"Key": "Scratch", "Value": "no"}])
    # b's root volume carries the tag too: it stays, and plan says so
    ec2.create_tags(Resources=[volume_of(ec2, b, "/dev/xvda")], Tags=[{"Key": "Ephemeral", "Value": "1"}])
    amirotd.write_policy("web", policy("""volumes:
        exclude_devices: [/dev/sdb, /dev/sdp]
        exclude_tags: {Scratch: "true", Ephemeral: "*"}"""))

    amirotd.sim.set_clock(slot(1))
    plan = amirotd.run("plan", now=slot(1)).stdout
    assert "(root device kept" in plan

    n_calls = len(amirotd.sim.calls("DescribeVolumes"))       # the test's own so far
    p = once(amirotd, 1)
    # /dev/sdb is the instances' /dev/xvdb; /dev/sdp, which they lack, is never sent
    assert devices_of(image_of(ec2, a)) == ["/dev/xvda"]
    assert devices_of(image_of(ec2, b)) == ["/dev/xvda", "/dev/xvdc"]
    for call in amirotd.sim.calls("CreateImage"):
        assert "/dev/sdp" not in call["params"].values()
        assert "/dev/xvda" not in call["params"].values()
    assert "root volume" in p.stderr
    # one paged DescribeVolumes for the run, by tag key
    [dv] = amirotd.sim.calls("DescribeVolumes")[n_calls:]
    assert dv["params"]["Filter.1.Name"] == "tag-key"
    assert {dv["params"]["Filter.1.Value.1"], dv["params"]["Filter.1.Value.2"]} == {"Scratch", "Ephemeral"}
    assert dv["params"]["MaxResults"] == "500"


def test_retiring_a_root_only_image_deletes_exactly_its_snapshots(amirotd, ec2):
    [iid] = fleet(amirotd, ec2)
    amirotd.write_policy("web", policy("volumes: root", retain=1))
    once(amirotd, 1)
    first = image_of(ec2, iid)
    [first_snap] = [m["Ebs"]["SnapshotId"] for m in first["BlockDeviceMappings"]]
    once(amirotd, 2)

    [second] = images(ec2, **{"tag:amirotd:instance-id": iid})
    assert second["ImageId"] != first["ImageId"]
    [second_snap] = [m["Ebs"]["SnapshotId"] for m in second["BlockDeviceMappings"]]
    assert [s["SnapshotId"] for s in snapshots(ec2)] == [second_snap]
    deleted = [c["params"]["SnapshotId"] for c in amirotd.sim.calls("DeleteSnapshot")]
    dereg = amirotd.sim.calls("DeregisterImage")
    assert [c["params"]["ImageId"] for c in dereg] == [first["ImageId"]]
    assert set(deleted) <= {first_snap}        # the one of the retired image, if not by DeregisterImage


def test_disabled_policy_once_creates_and_retires_nothing_plan_and_list_show_it(amirotd, ec2):
    [iid] = fleet(amirotd, ec2)
    amirotd.write_policy("web", policy(retain=1))
    once(amirotd, 1)
    [made] = images(ec2, **{"tag:amirotd:policy": "web"})
    amirotd.write_policy("web", policy(retain=1, enabled="enabled: false"))

    p = once(amirotd, 2)
    assert p.returncode == 0
    assert "policy 'web' is disabled (enabled: false): nothing done" in p.stderr
    p = once(amirotd, 2, "--policy", "web")
    assert p.returncode == 0
    assert len(amirotd.sim.calls("CreateImage")) == 1
    assert amirotd.sim.calls("DeregisterImage") == []
    assert [i["ImageId"] for i in images(ec2, **{"tag:amirotd:policy": "web"})] == [made["ImageId"]]

    plan = amirotd.run("plan", now=slot(2)).stdout
    assert plan.splitlines()[0] == "policy web is disabled (enabled: false): nothing of this is done"
    assert "create" in plan and iid in plan
    listed = amirotd.run("list", now=slot(2)).stdout
    assert made["ImageId"] in listed
    orphaned = amirotd.run("list", "--orphaned", now=slot(2)).stdout
    assert made["ImageId"] not in orphaned
    assert "disabled (enabled: false)" in amirotd.run("check").stdout


POLICY_3S = """\
    name: web
    {enabled}
    targets:
      tags: {{Role: web}}
    schedule:
      every: 3s
    retain:
      count: 2
"""


def test_disabled_policy_never_runs_in_the_service_and_a_reload_stops_it(amirotd, ec2, daemon):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY_3S.format(enabled="enabled: false"))
    d = daemon()
    d.notify.wait_for("READY=1")
    status = d.notify.wait_for("STATUS=")
    assert "1 policy (1 disabled)" in status[-1] and "nothing scheduled" in status[-1]
    time.sleep(7)       # two slots of 3 s
    assert amirotd.sim.calls("CreateImage") == []

    amirotd.write_policy("web", POLICY_3S.format(enabled="enabled: true"))
    d.proc.send_signal(signal.SIGHUP)
    e = journal.wait_for(d.log, lambda e: len(created(e)) >= 1, timeout=30)

    amirotd.write_policy("web", POLICY_3S.format(enabled="enabled: false"))
    d.proc.send_signal(signal.SIGHUP)
    journal.wait_for(d.log, lambda e: any("is disabled (enabled: false): no runs" in x.get("MESSAGE", "")
                                          for x in e), timeout=30)
    time.sleep(1)       # a run in flight finishes
    n = len(amirotd.sim.calls("CreateImage"))
    time.sleep(7)
    assert len(amirotd.sim.calls("CreateImage")) == n
    assert d.stop() == 0
    # `amirotd status` (from the journal here) says so in place of a next slot
    row = [line for line in amirotd.run("status").stdout.splitlines() if line.startswith("web ")]
    assert len(row) == 1 and " disabled " in row[0] and "run done" in row[0]
