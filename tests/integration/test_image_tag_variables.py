# image.tags values are templates ({policy} {instance_id} {instance_name} {slot} {region}
# {instance_tag:KEY}): `amirotd once` against the simulator, the rendered tags read back
# with DescribeImages and DescribeSnapshots (botocore).
from conftest import images, run_instances, snapshots, tag_dict

POLICY = """\
    name: web
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    image:
      name: "{policy}-{instance_tag:Service}-{instance_id}-{slot}"
      description: "{instance_tag:Team} image of {instance_name}"
      tags:
        Source: "{policy}/{instance_id}/{slot}/{region}"
        Team: "{instance_tag:Team}"
        Owner: "{instance_name} ({instance_tag:Missing})"
        "{literal}": "x"
        Long: "%s{instance_tag:Long}"
    retain:
      count: 3
""" % ("x" * 250)


def test_image_and_snapshot_tags_are_rendered_per_instance(amirotd, ec2):
    [a] = run_instances(ec2, {"Role": "web", "Team": "platform", "Name": "web-a", "Service": "api:v2",
                              "Long": "\u00e9" * 9})
    [b] = run_instances(ec2, {"Role": "web", "Team": "payments", "Name": "web-b"})
    amirotd.write_policy("web", POLICY)
    amirotd.sim.set_clock("2030-01-01T03:30:00Z")
    amirotd.run("once", now="2030-01-01T03:30:00Z")

    by_instance = {tag_dict(i)["amirotd:instance-id"]: i for i in images(ec2, **{"tag:amirotd:policy": "web"})}
    assert sorted(by_instance) == sorted([a, b])
    ta, tb = tag_dict(by_instance[a]), tag_dict(by_instance[b])
    assert ta["Source"] == f"web/{a}/20300101T030000Z/us-east-1"
    assert ta["Team"] == "platform" and tb["Team"] == "payments"
    assert ta["Owner"] == "web-a ()" and tb["Owner"] == "web-b ()"
    assert ta["{literal}"] == "x"
    # cut at EC2's 256 characters (not bytes), between whole characters
    assert ta["Long"] == "x" * 250 + "\u00e9" * 6
    assert tb["Long"] == "x" * 250
    # the name's instance tag is sanitised ('-' for ':'); a missing one leaves an empty part
    assert by_instance[a]["Name"] == f"web-api-v2-{a}-20300101T030000Z"
    assert by_instance[b]["Name"] == f"web--{b}-20300101T030000Z"
    assert by_instance[b]["Description"] == "payments image of web-b"
    # the snapshots carry the same rendered values
    snaps = [tag_dict(s) for s in snapshots(ec2) if tag_dict(s).get("amirotd:instance-id") == b]
    assert snaps and all(s["Team"] == "payments" and s["Source"] == f"web/{b}/20300101T030000Z/us-east-1"
                         for s in snaps)


def test_check_reports_bad_placeholders_in_tag_values(amirotd):
    amirotd.write_policy("web", POLICY.replace('"{instance_tag:Team}"', '"{instance_tag:Team"')
                         .replace('"x"', '"{instance_tags:X}"'))
    p = amirotd.run("check", check=False)
    assert p.returncode == 78
    out = p.stdout + p.stderr
    assert ":12:11: unterminated placeholder '{instance_tag:Team', expected '}'" in out
    assert ":14:18: unknown placeholder '{instance_tags:X}'" in out
