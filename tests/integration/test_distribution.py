# Distribution as a whole (issue 14): one policy that shares, copies to another region,
# keeps a launch template there and publishes an SSM parameter there, through the real
# binary and ec2sim. The slices' own tests prove each part; this one proves their order
# (share before copy, copy before template and parameter), that a template and a
# parameter in a destination name the copy once it is available, and that `plan` shows
# the steps and changes nothing.
import json
import time

import botocore.session

from conftest import ACCESS_KEY, CONSISTENCY_DELAY, SECRET_KEY, run_instances, tag_dict

OTHER = "444455556666"

POLICY = f"""\
    name: web
    regions: [us-east-1]
    targets:
      tags: {{Role: web}}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 3
    share:
      accounts: ["{OTHER}"]
    copy_to:
      - region: eu-west-1
        retain: {{count: 2}}
    launch_template:
      - name: web-eu
        region: eu-west-1
    ssm_parameter:
      - name: /golden/web/latest
        region: eu-west-1
"""


def at(k):
    return f"2030-01-{k:02d}T03:30:00Z"


def client(sim, service, region):
    return botocore.session.Session().create_client(
        service, region_name=region, endpoint_url=sim.url,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def settle(sim):
    """What a run wrote becomes visible (the consistency delay) and copies complete."""
    sim.admin("POST", "clock", {"advance_seconds": float(CONSISTENCY_DELAY) + 1})
    time.sleep(0.2)


def once(amirotd, k, rerun=False):
    # A rerun leaves the simulator's clock running: set back, it would hide what the
    # first run made (the consistency delay counts on that clock).
    if not rerun:
        amirotd.sim.set_clock(at(k))
    return amirotd.run("once", now=at(k))


def copies(eu):
    out = eu.describe_images(Owners=["self"], Filters=[{"Name": "tag:amirotd:policy", "Values": ["web"]}])
    return sorted((i for i in out["Images"] if "amirotd:copy-of" in tag_dict(i)),
                  key=lambda i: tag_dict(i)["amirotd:slot"])


def template_image(eu):
    t = eu.describe_launch_templates(LaunchTemplateNames=["web-eu"])["LaunchTemplates"][0]
    [v] = eu.describe_launch_template_versions(LaunchTemplateName="web-eu",
                                               Versions=[str(t["DefaultVersionNumber"])])["LaunchTemplateVersions"]
    return v["LaunchTemplateData"]["ImageId"]


def parameter(ssm):
    try:
        return ssm.get_parameter(Name="/golden/web/latest")["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None


def test_a_new_image_is_shared_copied_then_named_by_the_template_and_parameter_there(amirotd, ec2, sim):
    run_instances(ec2, {"Role": "web"})
    eu, ssm = client(sim, "ec2", "eu-west-1"), client(sim, "ssm", "eu-west-1")
    eu.create_launch_template(LaunchTemplateName="web-eu",
                              LaunchTemplateData={"ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.small"})
    amirotd.write_policy("web", POLICY)

    # Day 1: the image is made and shared, and its copy started; nothing in eu-west-1 is
    # available yet, so the template and the parameter wait (a warning, not a failure).
    once(amirotd, 1)
    [source] = [i for i in ec2.describe_images(Owners=["self"])["Images"] if "amirotd:copy-of" not in tag_dict(i)]
    perms = ec2.describe_image_attribute(ImageId=source["ImageId"], Attribute="launchPermission")
    assert [p["UserId"] for p in perms["LaunchPermissions"]] == [OTHER]
    settle(sim)
    [copy1] = copies(eu)
    assert tag_dict(copy1)["amirotd:copy-of"] == f"us-east-1/{source['ImageId']}"
    assert template_image(eu) == "ami-0123456789abcdef0" and parameter(ssm) is None

    # The same slot again: the copy is available now, and the template and the parameter
    # in its region name it; nothing is copied twice.
    once(amirotd, 1, rerun=True)
    settle(sim)
    assert [c["ImageId"] for c in copies(eu)] == [copy1["ImageId"]]
    assert template_image(eu) == copy1["ImageId"]
    assert parameter(ssm) == copy1["ImageId"]

    # `plan` on day 2: the new image, no change made.
    calls = len(sim.calls())
    rows = json.loads(amirotd.run("plan", "--json", now=at(2)).stdout)
    assert [r["action"] for r in rows] == ["create"]
    mutating = [c for c in sim.calls()[calls:] if not c["action"].startswith(("Describe", "Get"))]
    assert mutating == []

    # Day 2 and its rerun: the next copy, and the template and the parameter follow it.
    once(amirotd, 2)
    settle(sim)
    once(amirotd, 2, rerun=True)
    settle(sim)
    copy2 = copies(eu)[-1]
    assert copy2["ImageId"] != copy1["ImageId"]
    assert template_image(eu) == copy2["ImageId"]
    assert parameter(ssm) == copy2["ImageId"]
    # The copy in the policy's own account is shared as its source is.
    for c in copies(eu):
        perms = eu.describe_image_attribute(ImageId=c["ImageId"], Attribute="launchPermission")
        assert [p["UserId"] for p in perms["LaunchPermissions"]] == [OTHER]


def describes_in(sim, region, since):
    return [c for c in sim.calls("DescribeImages")[since:] if c["region"] == region]


def test_a_destination_that_is_also_the_templates_and_parameters_is_described_once_a_run(amirotd, ec2, sim):
    # share, copy_to, launch_template and ssm_parameter all need the policy's images in
    # eu-west-1: the run's cache (dist.h) reads them once, and again only after copy_to
    # changed them there, so that the template and the parameter never see a list from
    # before a copy started.
    run_instances(ec2, {"Role": "web"})
    eu, ssm = client(sim, "ec2", "eu-west-1"), client(sim, "ssm", "eu-west-1")
    eu.create_launch_template(LaunchTemplateName="web-eu",
                              LaunchTemplateData={"ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.small"})
    amirotd.write_policy("web", POLICY)

    # Day 1: share reads eu-west-1 (nothing there yet), copy_to takes that list and starts
    # a copy, so the template reads eu-west-1 afresh and the parameter takes its list.
    since = len(sim.calls("DescribeImages"))
    once(amirotd, 1)
    assert len(describes_in(sim, "eu-west-1", since)) == 2
    settle(sim)
    [copy1] = copies(eu)

    # The rerun: the copy is there and available, copy_to has nothing to do: one read for all four.
    since = len(sim.calls("DescribeImages"))
    once(amirotd, 1, rerun=True)
    assert len(describes_in(sim, "eu-west-1", since)) == 1
    assert template_image(eu) == copy1["ImageId"]
    assert parameter(ssm) == copy1["ImageId"]
