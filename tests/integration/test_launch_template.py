# launch_template (issue 14, item 3): each named template gets a new version from its
# $Default (or $Latest) with only ImageId changed once a newer image is available, made
# the default; a second run makes none; keep_versions deletes only amirotd's oldest
# versions; a crash between the version and the default switch ends with the next run;
# a template of another account through role_arn; the images its default or latest
# version names are kept even with protect.in_use false; `plan` shows the steps.
import json

from conftest import run_instances

POLICY = """\
    name: web
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 2
    launch_template:
      name: web-golden
"""

MESSAGE_TEMPLATE_VERSION = "6b555fcbab854da3b0998dc8fa796dd6"
BASE_IMAGE = "ami-0123456789abcdef0"


def slot(k):
    return f"2030-01-{k:02d}T03:30:00Z"


def once(amirotd, k, check=True):
    amirotd.sim.set_clock(slot(k))
    return amirotd.run("once", now=slot(k), check=check)


def make_template(ec2, name="web-golden"):
    """An operator's template: instance type, tags, user data; the image of the day."""
    return ec2.create_launch_template(LaunchTemplateName=name, VersionDescription="by hand", LaunchTemplateData={
        "ImageId": BASE_IMAGE, "InstanceType": "t3.small", "UserData": "ZWNobyBoaQ==",
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Team", "Value": "web"}]}],
    })["LaunchTemplate"]


def versions(ec2, name="web-golden"):
    return {v["VersionNumber"]: v for v in
            ec2.describe_launch_template_versions(LaunchTemplateName=name)["LaunchTemplateVersions"]}


def default_version(ec2, name="web-golden"):
    return ec2.describe_launch_templates(LaunchTemplateNames=[name])["LaunchTemplates"][0]["DefaultVersionNumber"]


def policy_images(ec2):
    out = ec2.describe_images(Owners=["self"], Filters=[{"Name": "tag:amirotd:policy", "Values": ["web"]}])
    return sorted(out["Images"], key=lambda i: i["CreationDate"])


def test_new_version_follows_the_new_image_and_becomes_default(amirotd, ec2):
    run_instances(ec2, {"Role": "web"})
    make_template(ec2)
    amirotd.write_policy("web", POLICY)

    p = once(amirotd, 1)
    image = policy_images(ec2)[-1]["ImageId"]
    v = versions(ec2)
    assert sorted(v) == [1, 2] and default_version(ec2) == 2
    assert v[2]["VersionDescription"] == f"amirotd web {image}"
    data = dict(v[1]["LaunchTemplateData"], ImageId=image)
    assert v[2]["LaunchTemplateData"] == data          # only ImageId changed
    assert f"made version 2 of launch template 'web-golden'" in p.stderr
    assert "1 template version" in p.stderr or "template" in p.stderr
    made = amirotd.sim.calls("CreateLaunchTemplateVersion")[-1]["params"]
    assert made["SourceVersion"] == "1" and len(made["ClientToken"]) == 64
    assert list(k for k in made if k.startswith("LaunchTemplateData")) == ["LaunchTemplateData.ImageId"]

    # The same slot again: the default names the image, nothing is made.
    once(amirotd, 1)
    assert sorted(versions(ec2)) == [1, 2]
    assert len(amirotd.sim.calls("CreateLaunchTemplateVersion")) == 1

    # The next slot's image: the next version, from the default (2).
    once(amirotd, 2)
    newest = policy_images(ec2)[-1]["ImageId"]
    assert newest != image
    v = versions(ec2)
    assert sorted(v) == [1, 2, 3] and default_version(ec2) == 3
    assert v[3]["LaunchTemplateData"] == dict(data, ImageId=newest)
    assert amirotd.sim.calls("CreateLaunchTemplateVersion")[-1]["params"]["SourceVersion"] == "2"
