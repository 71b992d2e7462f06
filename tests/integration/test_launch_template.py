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


def test_keep_versions_deletes_only_amirotds_oldest(amirotd, ec2):
    run_instances(ec2, {"Role": "web"})
    make_template(ec2)
    amirotd.write_policy("web", POLICY + "      keep_versions: 2\n")
    once(amirotd, 1)
    once(amirotd, 2)
    # An operator's version (not the default) between amirotd's.
    ec2.create_launch_template_version(LaunchTemplateName="web-golden", SourceVersion="3",
                                       VersionDescription="bigger", LaunchTemplateData={"InstanceType": "m5.large"})
    once(amirotd, 3)
    p = once(amirotd, 4)

    v = versions(ec2)
    # 1 by hand, 2 and 3 amirotd's oldest (deleted), 4 the operator's, 5 and 6 amirotd's newest.
    assert sorted(v) == [1, 4, 5, 6], sorted(v)
    assert default_version(ec2) == 6
    assert v[4]["VersionDescription"] == "bigger"
    deletes = amirotd.sim.calls("DeleteLaunchTemplateVersions")
    assert [d["params"]["LaunchTemplateVersion.1"] for d in deletes] == ["2", "3"]
    assert "deleted version 3 of launch template 'web-golden'" in p.stderr
    assert "1 template versions, 1 deleted" in p.stderr


def test_crash_between_version_and_default_ends_with_the_next_run(amirotd, ec2):
    run_instances(ec2, {"Role": "web"})
    make_template(ec2)
    amirotd.write_policy("web", POLICY)
    amirotd.sim.fault(action="ModifyLaunchTemplate", kind="error", code="UnauthorizedOperation", status=403,
                      message="You are not authorized to perform this operation.", count=1)

    p = once(amirotd, 1, check=False)
    assert p.returncode != 0
    assert "launch template 'web-golden' in us-east-1: ModifyLaunchTemplate failed: UnauthorizedOperation" \
        in p.stderr
    assert sorted(versions(ec2)) == [1, 2] and default_version(ec2) == 1

    p = once(amirotd, 1)
    assert sorted(versions(ec2)) == [1, 2] and default_version(ec2) == 2
    assert len(amirotd.sim.calls("CreateLaunchTemplateVersion")) == 1
    assert "version 2 of launch template 'web-golden'" in p.stderr and "is the default now" in p.stderr


def test_lost_answer_to_the_new_version_makes_no_second_one(amirotd, ec2):
    """CreateLaunchTemplateVersion's answer is lost after EC2 made the version: the retry
    carries the same ClientToken and gets the same version back."""
    run_instances(ec2, {"Role": "web"})
    make_template(ec2)
    amirotd.write_policy("web", POLICY)
    amirotd.sim.fault(action="CreateLaunchTemplateVersion", kind="lost_answer", count=1)

    once(amirotd, 1)
    calls = amirotd.sim.calls("CreateLaunchTemplateVersion")
    assert len(calls) == 2 and calls[0]["params"]["ClientToken"] == calls[1]["params"]["ClientToken"]
    assert sorted(versions(ec2)) == [1, 2] and default_version(ec2) == 2


def test_missing_template_fails_the_run_and_names_it(amirotd, ec2):
    run_instances(ec2, {"Role": "web"})
    make_template(ec2, "web-other")
    amirotd.write_policy("web", POLICY.replace("      name: web-golden\n",
                                               "      - name: web-golden\n      - name: web-other\n"))
    p = once(amirotd, 1, check=False)
    assert p.returncode != 0
    assert ("policy 'web': launch template 'web-golden' in us-east-1: DescribeLaunchTemplateVersions failed: "
            "InvalidLaunchTemplateName.NotFoundException") in p.stderr
    # The next template still got its version.
    assert sorted(versions(ec2, "web-other")) == [1, 2]


OTHER_ACCOUNT = "444455556666"
OTHER_KEY = ("AKIDOTHER", "otherSecretKey0000000000000000000000000")


def test_template_of_another_account_follows_the_newest_image_there(amirotd, ec2):
    """role_arn: the template lives in another account and follows the newest image of the
    policy there (its copies, tagged amirotd:policy in that account)."""
    import botocore.session
    other = botocore.session.Session().create_client(
        "ec2", region_name="eu-west-1", endpoint_url=amirotd.sim.url,
        aws_access_key_id=OTHER_KEY[0], aws_secret_access_key=OTHER_KEY[1])
    make_template(other)
    tags = {"amirotd:policy": "web", "amirotd:instance-id": "i-0123456789abcdef0",
            "amirotd:copy-of": "us-east-1/ami-0aaaaaaaaaaaaaaa1"}
    old, new, released = amirotd.sim.seed(region="eu-west-1", account=OTHER_ACCOUNT, images=[
        {"name": "web-copy-1", "tags": dict(tags, **{"amirotd:slot": "20291230T030000Z"})},
        {"name": "web-copy-2", "tags": dict(tags, **{"amirotd:slot": "20291231T030000Z"})},
        {"name": "web-copy-3", "tags": dict(tags, **{"amirotd:slot": "20300101T030000Z",
                                                    "amirotd:retired-at": "2030-01-01T03:10:00Z"})},
    ])["images"]
    run_instances(ec2, {"Role": "web"})
    amirotd.write_global(f"sts_endpoint_url: {amirotd.sim.url}\n")
    amirotd.write_policy("web", POLICY.replace("      name: web-golden\n", f"""\
      name: web-golden
      region: eu-west-1
      role_arn: arn:aws:iam::{OTHER_ACCOUNT}:role/templates
      set_default: false
"""))

    once(amirotd, 1)
    v = {x["VersionNumber"]: x for x in other.describe_launch_template_versions(
        LaunchTemplateName="web-golden")["LaunchTemplateVersions"]}
    assert sorted(v) == [1, 2]
    assert v[2]["LaunchTemplateData"]["ImageId"] == new
    assert v[2]["VersionDescription"] == f"amirotd web {new}"
    assert other.describe_launch_templates()["LaunchTemplates"][0]["DefaultVersionNumber"] == 1
    made = amirotd.sim.calls("CreateLaunchTemplateVersion")[-1]
    assert made["access_key"].startswith("ASIA")
    described = amirotd.sim.calls("DescribeImages")[-1]
    assert described["access_key"].startswith("ASIA") and described["region"] == "eu-west-1"


def test_images_of_the_policys_templates_are_kept_without_in_use(amirotd, ec2):
    """protect.in_use false: an image that the default version of one of the policy's own
    templates names is still kept; another template's image is not."""
    iid = run_instances(ec2, {"Role": "web"})[0]
    specs = []
    for k in (1, 2):
        t = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": f"203001{k:02d}T030000Z"}
        specs.append({"name": f"web-{iid}-{k}", "tags": t, "snapshot_tags": t, "instance_id": iid,
                      "creation_date": f"2030-01-{k:02d}T03:00:00Z"})
    old, new = amirotd.sim.seed(images=specs)["images"]
    ec2.create_launch_template(LaunchTemplateName="web-golden", LaunchTemplateData={"ImageId": old})
    ec2.create_launch_template(LaunchTemplateName="unrelated", LaunchTemplateData={"ImageId": old})
    amirotd.write_policy("web", POLICY.replace("count: 2", "count: 1") +
                         "      set_default: false\n    protect: {in_use: false}\n")

    p = once(amirotd, 2)
    ids = {i["ImageId"] for i in policy_images(ec2)}
    assert old in ids, p.stderr
    assert "named by launch template" in p.stderr and "web-golden" in p.stderr
    # The template's default still names the old image; its latest, amirotd's, the new one.
    v = versions(ec2)
    assert v[1]["LaunchTemplateData"]["ImageId"] == old and v[2]["LaunchTemplateData"]["ImageId"] == new

    # Once the default moves on, the old image goes: a template the policy does not name
    # protects nothing without in_use.
    ec2.modify_launch_template(LaunchTemplateName="web-golden", DefaultVersion="2")
    p = once(amirotd, 2)
    assert old not in {i["ImageId"] for i in policy_images(ec2)}, p.stderr


def test_plan_shows_the_template_steps_and_changes_nothing(amirotd, ec2):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY.replace("launch_template:\n      name: web-golden\n", ""))
    once(amirotd, 1)
    image = policy_images(ec2)[-1]["ImageId"]
    lt = make_template(ec2)
    for i in range(3):
        ec2.create_launch_template_version(LaunchTemplateName="web-golden", SourceVersion="1",
                                           VersionDescription=f"amirotd web ami-0{i}00000000000000a",
                                           LaunchTemplateData={"ImageId": f"ami-0{i}00000000000000a"})
    amirotd.write_policy("web", POLICY + "      keep_versions: 2\n")

    made = len(amirotd.sim.calls("CreateLaunchTemplateVersion"))
    rows = json.loads(amirotd.run("plan", "--json", now=slot(1)).stdout)
    steps = [r for r in rows if r["action"].startswith("template-")]
    tid = lt["LaunchTemplateId"]
    assert steps == [
        {"policy": "web", "action": "template-version", "region": "us-east-1", "instance_id": None,
         "image_id": image, "reason": f"web-golden ({tid}): version 5 from $Default 1, made default"},
        {"policy": "web", "action": "template-delete", "region": "us-east-1", "instance_id": None,
         "image_id": None, "reason": f"web-golden ({tid}): version 2, beyond keep_versions 2"},
        {"policy": "web", "action": "template-delete", "region": "us-east-1", "instance_id": None,
         "image_id": None, "reason": f"web-golden ({tid}): version 3, beyond keep_versions 2"},
    ], steps
    text = amirotd.run("plan", now=slot(1)).stdout
    assert "template-version" in text and "version 5 from $Default 1, made default" in text
    assert sorted(versions(ec2)) == [1, 2, 3, 4]
    assert len(amirotd.sim.calls("CreateLaunchTemplateVersion")) == made
    assert not amirotd.sim.calls("DeleteLaunchTemplateVersions")


def test_dry_run_asks_ec2_and_changes_nothing(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"})[0]
    t = {"amirotd:policy": "web", "amirotd:instance-id": iid, "amirotd:slot": "20300101T030000Z"}
    image = amirotd.sim.seed(images=[{"name": f"web-{iid}-1", "tags": t, "instance_id": iid}])["images"][0]
    make_template(ec2)
    amirotd.write_global("dry_run: true\n")
    amirotd.write_policy("web", POLICY)

    p = once(amirotd, 1)
    assert f"dry run: would make a version of launch template 'web-golden' in us-east-1 with image {image}" \
        in p.stderr
    asked = amirotd.sim.calls("CreateLaunchTemplateVersion")
    # The run's call and the permission check's (run/probe-dist.c), both DryRun.
    assert len(asked) == 2 and all(c["params"]["DryRun"] == "true" for c in asked)
    assert sorted(versions(ec2)) == [1]


def test_check_reports_bad_templates_at_their_place(amirotd):
    amirotd.write_policy("web", POLICY.replace("      name: web-golden\n",
                                               "      name: web golden\n      source: newest\n"))
    p = amirotd.run("check", check=False)
    assert p.returncode == 78       # EX_CONFIG, as for every configuration error
    path = amirotd.dir / "policies.d" / "web.yaml"
    assert f"error: {path}:10:9: launch template name 'web golden' must be 3 to 128" in p.stderr, p.stderr
    assert f"error: {path}:11:11: 'source' must be 'default' or 'latest'" in p.stderr, p.stderr


def test_template_that_follows_an_ssm_parameter_is_left_alone(amirotd, ec2):
    """A template whose image is resolve:ssm:NAME follows a parameter (ssm_parameter's
    job): a version with the image itself would cut that link, so none is made."""
    run_instances(ec2, {"Role": "web"})
    ec2.create_launch_template(LaunchTemplateName="web-golden",
                               LaunchTemplateData={"ImageId": "resolve:ssm:/golden/web/latest"})
    amirotd.write_policy("web", POLICY)
    p = once(amirotd, 1)
    assert "names its image through 'resolve:ssm:/golden/web/latest'" in p.stderr
    assert sorted(versions(ec2)) == [1]


def test_each_region_updates_its_own_template_and_another_region_is_the_first_regions(amirotd, ec2):
    """Without a region, each of the policy's regions makes its template follow its own
    image; a template in a region outside the policy's (a copy destination) is handled
    once, by the run of the policy's first region, with the newest image there."""
    import botocore.session
    from conftest import ACCESS_KEY, SECRET_KEY

    def client(region):
        return botocore.session.Session().create_client(
            "ec2", region_name=region, endpoint_url=amirotd.sim.url,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    eu, central = client("eu-west-1"), client("eu-central-1")
    run_instances(ec2, {"Role": "web"})
    run_instances(eu, {"Role": "web"})
    make_template(ec2)
    make_template(eu)
    make_template(central, "web-central")
    tags = {"amirotd:policy": "web", "amirotd:instance-id": "i-0123456789abcdef0",
            "amirotd:slot": "20291231T030000Z", "amirotd:copy-of": "us-east-1/ami-0aaaaaaaaaaaaaaa1"}
    copy = amirotd.sim.seed(region="eu-central-1", images=[{"name": "web-copy", "tags": tags}])["images"][0]
    amirotd.write_policy("web", POLICY.replace("launch_template:\n      name: web-golden\n", """\
launch_template:
      - name: web-golden
      - name: web-central
        region: eu-central-1
""").replace("name: web\n", "name: web\n    regions: [us-east-1, eu-west-1]\n"))

    once(amirotd, 1)
    for c in (ec2, eu):
        image = policy_images(c)[-1]["ImageId"]
        v = versions(c)
        assert sorted(v) == [1, 2] and v[2]["LaunchTemplateData"]["ImageId"] == image
    assert policy_images(ec2)[-1]["ImageId"] != policy_images(eu)[-1]["ImageId"]
    v = versions(central, "web-central")
    assert sorted(v) == [1, 2] and v[2]["LaunchTemplateData"]["ImageId"] == copy
    made = [c["region"] for c in amirotd.sim.calls("CreateLaunchTemplateVersion")]
    assert sorted(made) == ["eu-central-1", "eu-west-1", "us-east-1"]
