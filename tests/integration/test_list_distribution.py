# `amirotd list` beside each image: its copies (in the policy's regions and its copy_to
# destinations, in this account or another) and the launch template versions that name it
# or one of its copies. The copies and template versions are seeded here (ec2sim's seed
# API, botocore's CreateLaunchTemplate), not made by the distributors: this is list's test.
import json
import subprocess

import botocore.session
import pytest

from conftest import ACCESS_KEY, SECRET_KEY, run_instances

NOW = "2030-01-01T03:30:00Z"
SLOT = "20300101T030000Z"
OTHER = "444455556666"
OTHER_KEY, OTHER_SECRET = "AKIDOTHERACCOUNT0001", "other-account-secret-key-0000000000000000"

POLICY = """\
    name: web
    regions: [us-east-1, us-west-2]
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 3
"""


def client(sim, region="us-east-1", key=ACCESS_KEY, secret=SECRET_KEY):
    return botocore.session.Session().create_client("ec2", region_name=region, endpoint_url=sim.url,
                                                    aws_access_key_id=key, aws_secret_access_key=secret)


def source_image(amirotd, ec2):
    [iid] = run_instances(ec2, {"Role": "web"})
    amirotd.sim.set_clock(NOW)
    amirotd.run("once", "--policy", "web", now=NOW)
    [img] = ec2.describe_images(Filters=[{"Name": "tag:amirotd:policy", "Values": ["web"]}])["Images"]
    return iid, img["ImageId"]


def seed_copy(sim, region, iid, source, account=None, state="available", name=None):
    """A copy as copy_to makes it: the source's tags plus amirotd:copy-of."""
    spec = {"state": state, "name": name or f"copy-{source}-{region}",
            "tags": {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": SLOT,
                     "amirotd:copy-of": f"us-east-1/{source}"}, "pending_seconds": 86400}
    kw = {"account": account} if account else {}
    return sim.seed(region=region, images=[spec], **kw)["images"][0]


def by_id(rows):
    return {r["image_id"]: r for r in rows}


def test_copies_in_the_policy_regions_are_shown_beside_their_source(amirotd, ec2):
    amirotd.write_policy("web", POLICY)
    iid, source = source_image(amirotd, ec2)
    copy = seed_copy(amirotd.sim, "us-west-2", iid, source)
    # A copy whose source is gone (retired): a row of its own, saying so.
    stray = seed_copy(amirotd.sim, "us-west-2", iid, "ami-0000000000000dead", name="stray")

    rows = by_id(json.loads(amirotd.run("list", "--json", now=NOW).stdout))
    assert sorted(rows) == sorted([source, stray])          # the copy is not a row of its own
    dist = rows[source]["distribution"]
    assert dist["copies"] == [{"region": "us-west-2", "account": None, "image_id": copy,
                               "name": f"copy-{source}-us-west-2", "state": "available"}]
    assert dist["launch_template_versions"] == [] and dist["unreadable"] == []
    assert rows[stray]["copy_of"] == "us-east-1/ami-0000000000000dead" and rows[stray]["region"] == "us-west-2"
    assert "copy_of" not in rows[source]

    text = amirotd.run("list", now=NOW).stdout.splitlines()
    at = next(i for i, line in enumerate(text) if source in line and line.startswith("web "))
    assert text[at + 1] == f"    copy us-west-2 {copy} available"
    assert any(line.startswith("web ") and stray in line for line in text)
    assert "    copy of us-east-1/ami-0000000000000dead, whose source is not listed" in text


def check_keys(amirotd):
    """copy_to and launch_template are parsed by their own slices (issue 14 C and D)."""
    p = amirotd.run("check", check=False)
    if "unknown key 'copy_to'" in p.stderr or "unknown key 'launch_template'" in p.stderr:
        pytest.skip("needs the copy_to and launch_template keys of issue 14's other slices")
    assert p.returncode == 0, p.stderr


def test_copies_and_template_versions_of_destinations_are_shown(amirotd, ec2):
    amirotd.sim.seed(keys=[{"access_key": OTHER_KEY, "secret_key": OTHER_SECRET, "account": OTHER}])
    amirotd.write_global(f"sts_endpoint_url: {amirotd.sim.url}\n")
    # The source is made by a run without distribution; the copies and versions beside it
    # are seeded below, so that what list shows is what the test made.
    amirotd.write_policy("web", POLICY)
    iid, source = source_image(amirotd, ec2)
    amirotd.write_policy("web", POLICY + f"""\
    copy_to:
      - region: eu-west-1
      - region: eu-central-1
        role_arn: arn:aws:iam::{OTHER}:role/amirotd-copies
      - region: ap-south-1
    launch_template:
      - name: web-lt
        region: us-east-1
      - name: web-lt-eu
        region: eu-central-1
        role_arn: arn:aws:iam::{OTHER}:role/amirotd-templates
      - name: missing-lt
        region: us-east-1
""")
    check_keys(amirotd)
    eu = seed_copy(amirotd.sim, "eu-west-1", iid, source, state="pending")
    other = seed_copy(amirotd.sim, "eu-central-1", iid, source, account=OTHER)

    lt = ec2.create_launch_template(LaunchTemplateName="web-lt",
                                    LaunchTemplateData={"ImageId": "ami-0123456789abcdef0"})["LaunchTemplate"]
    ec2.create_launch_template_version(LaunchTemplateName="web-lt", SourceVersion="1",
                                       VersionDescription=f"amirotd web {source}",
                                       LaunchTemplateData={"ImageId": source})
    ec2.modify_launch_template(LaunchTemplateName="web-lt", DefaultVersion="2")
    ec2.create_launch_template_version(LaunchTemplateName="web-lt", SourceVersion="2",
                                       VersionDescription="by hand", LaunchTemplateData={"ImageId": source})
    ec2.create_launch_template_version(LaunchTemplateName="web-lt", LaunchTemplateData={"InstanceType": "t3.small"})
    eu_lt = client(amirotd.sim, "eu-central-1", OTHER_KEY, OTHER_SECRET).create_launch_template(
        LaunchTemplateName="web-lt-eu", VersionDescription=f"amirotd web {other}",
        LaunchTemplateData={"ImageId": other})["LaunchTemplate"]
    # ap-south-1 cannot be read: said beside the image, the listing goes on.
    amirotd.sim.fault(action="DescribeImages", region="ap-south-1", kind="error",
                      code="UnauthorizedOperation", status=403, message="not allowed")

    p = amirotd.run("list", "--json", now=NOW)
    rows = by_id(json.loads(p.stdout))
    dist = rows[source]["distribution"]
    assert sorted((c["region"], c["account"], c["image_id"], c["state"]) for c in dist["copies"]) == [
        ("eu-central-1", OTHER, other, "available"), ("eu-west-1", None, eu, "pending")]
    versions = {(v["template_name"], v["version"]): v for v in dist["launch_template_versions"]}
    # version 1 names another image and version 4 none; version 4 is the latest all the same
    assert sorted(versions) == [("web-lt", 2), ("web-lt", 3), ("web-lt-eu", 1)]
    assert versions[("web-lt", 2)] == {
        "template_id": lt["LaunchTemplateId"], "template_name": "web-lt", "region": "us-east-1", "account": None,
        "version": 2, "default": True, "latest": False, "image_id": source, "made_by_amirotd": True}
    assert not versions[("web-lt", 3)]["made_by_amirotd"] and not versions[("web-lt", 3)]["default"]
    assert not versions[("web-lt", 3)]["latest"]            # version 4, without an image, is
    assert versions[("web-lt", 2)]["latest"] is False
    assert versions[("web-lt-eu", 1)] == {
        "template_id": eu_lt["LaunchTemplateId"], "template_name": "web-lt-eu", "region": "eu-central-1",
        "account": OTHER, "version": 1, "default": True, "latest": True, "image_id": other,
        "made_by_amirotd": True}
    unreadable = sorted((u["what"], u["region"]) for u in dist["unreadable"])
    assert unreadable == [("copies", "ap-south-1"), ("launch_template", "us-east-1")]
    assert "not allowed" in p.stderr and "missing-lt" in p.stderr

    text = amirotd.run("list", now=NOW).stdout
    assert f"    copy eu-central-1 account {OTHER} {other} available\n" in text
    assert f"    copy eu-west-1 {eu} pending\n" in text
    assert f"    launch template web-lt ({lt['LaunchTemplateId']}) in us-east-1 version 2 default\n" in text
    assert (f"    launch template web-lt-eu ({eu_lt['LaunchTemplateId']}) in eu-central-1 account {OTHER} "
            f"version 1 default latest (names copy {other})\n") in text
    assert "    copies in ap-south-1: cannot be read (UnauthorizedOperation: not allowed)\n" in text
