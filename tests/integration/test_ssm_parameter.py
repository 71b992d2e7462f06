# ssm_parameter (issue 14, item 4): SSM parameters of data type aws:ec2:image follow the
# policy's newest available image, through the real binary against ec2sim's SSM (the
# JSON protocol on the same port). A run reads each parameter and writes only what
# differs; a parameter per instance when its name holds an instance variable; a
# parameter in another account through role_arn (STS AssumeRole, then SSM with the
# role's keys); `plan --json` shows the writes it would make; `check` rejects bad names.
import json

import botocore.session

from conftest import ACCESS_KEY, CONSISTENCY_DELAY, SECRET_KEY, run_instances

POLICY = """\
    name: web
    regions: [us-east-1]
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 2
    ssm_parameter:
%s
"""


def policy(*targets):
    return POLICY % "\n".join("      " + t for t in targets)


def at(k):
    return f"2030-01-{k:02d}T03:30:00Z"


def once(amirotd, k, check=True):
    amirotd.sim.set_clock(at(k))
    return amirotd.run("once", now=at(k), check=check)


def ssm(sim, key=(ACCESS_KEY, SECRET_KEY), region="us-east-1"):
    return botocore.session.Session().create_client(
        "ssm", region_name=region, endpoint_url=sim.url,
        aws_access_key_id=key[0], aws_secret_access_key=key[1])


def value(sim, name, **kw):
    client = ssm(sim, **kw)
    try:
        return client.get_parameter(Name=name)["Parameter"]
    except client.exceptions.ParameterNotFound:
        return None


def newest(sim, instance=None):
    sim.admin("POST", "clock", {"advance_seconds": float(CONSISTENCY_DELAY) + 1})
    imgs = [i for i in sim.images() if i["Tags"].get("amirotd:policy") == "web" and i["State"] == "available"
            and (instance is None or i["Tags"]["amirotd:instance-id"] == instance)]
    return max(imgs, key=lambda i: i["Tags"]["amirotd:slot"])["ImageId"]


def puts(sim):
    return [c for c in sim.calls("PutParameter") if c["service"] == "ssm"]


def test_once_publishes_and_a_second_run_writes_nothing(amirotd, ec2, sim):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", policy("- /golden/{policy}/latest"))

    p = once(amirotd, 1)
    image = newest(sim)
    got = value(sim, "/golden/web/latest")
    assert got["Value"] == image and got["DataType"] == "aws:ec2:image" and got["Version"] == 1
    assert len(puts(sim)) == 1
    assert "SSM parameter '/golden/web/latest' now names " + image in p.stderr
    assert "1 SSM parameters written" in p.stderr
    gets = len(sim.calls("GetParameter"))

    amirotd.run("once", now=at(1))
    assert len(puts(sim)) == 1, "an up-to-date parameter is not written again"
    assert len(sim.calls("GetParameter")) == gets + 1


def test_the_parameter_follows_the_rotation(amirotd, ec2, sim):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", policy("- /golden/{policy}/latest"))
    seen = []
    for k in range(1, 4):
        once(amirotd, k)
        image = newest(sim)
        assert value(sim, "/golden/web/latest")["Value"] == image
        seen.append(image)
    assert len(set(seen)) == 3
    assert value(sim, "/golden/web/latest")["Version"] == 3


def test_one_parameter_per_instance(amirotd, ec2, sim):
    a, b = run_instances(ec2, {"Role": "web"}, count=2)
    ec2.create_tags(Resources=[a], Tags=[{"Key": "Name", "Value": "web-a"}])
    ec2.create_tags(Resources=[b], Tags=[{"Key": "Name", "Value": "web-b"}])
    amirotd.write_policy("web", policy("- /golden/{instance_name}/latest", "- name: /id/{instance_id}"))
    once(amirotd, 1)
    assert value(sim, "/golden/web-a/latest")["Value"] == newest(sim, a)
    assert value(sim, "/golden/web-b/latest")["Value"] == newest(sim, b)
    assert value(sim, f"/id/{a}")["Value"] == newest(sim, a)
    assert value(sim, f"/id/{b}")["Value"] == newest(sim, b)
    assert newest(sim, a) != newest(sim, b)


def test_plan_json_shows_the_write_it_would_make(amirotd, ec2, sim):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", policy("- /golden/{policy}/latest"))
    once(amirotd, 1)
    first = newest(sim)
    ssm(sim).put_parameter(Name="/golden/web/latest", Value="ami-0123456789abcdef0", Type="String",
                           DataType="aws:ec2:image", Overwrite=True)
    assert value(sim, "/golden/web/latest")["Value"] == "ami-0123456789abcdef0"

    p = amirotd.run("plan", "--json", now=at(1))
    rows = [r for r in json.loads(p.stdout) if r.get("action") == "ssm-parameter"]
    assert rows == [{**rows[0], "region": "us-east-1", "instance_id": None, "image_id": first,
                     "reason": f"/golden/web/latest: ami-0123456789abcdef0 -> {first}"}]
    assert value(sim, "/golden/web/latest")["Value"] == "ami-0123456789abcdef0", "plan changes nothing"


def test_a_parameter_in_another_account_through_role_arn(amirotd, ec2, sim):
    # The other account holds a copy of the policy's image (as copy_to would make it).
    other = sim.seed(account="444455556666", images=[{"tags": {"amirotd:policy": "web",
                                                               "amirotd:instance-id": "i-0aaaaaaaaaaaaaaaa",
                                                               "amirotd:slot": "20291231T030000Z"}}])
    copy = other["images"][0]
    amirotd.write_global(f"sts_endpoint_url: {sim.url}\n")
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", policy("- name: /golden/web/latest",
                                       "  role_arn: arn:aws:iam::444455556666:role/publish"))
    once(amirotd, 1)
    theirs = value(sim, "/golden/web/latest", key=("AKIDOTHER", "otherSecretKey0000000000000000000000000"))
    assert theirs["Value"] == copy
    assert value(sim, "/golden/web/latest") is None, "nothing is written in the policy's own account"
    assert [c["action"] for c in sim.calls("AssumeRole")]


def test_no_available_image_leaves_the_parameter_and_warns(amirotd, sim):
    amirotd.write_policy("web", policy("- /golden/{policy}/latest"))
    ssm(sim).put_parameter(Name="/golden/web/latest", Value="ami-0123456789abcdef0", Type="String",
                           DataType="aws:ec2:image")
    p = amirotd.run("once", now=at(1), check=False)
    assert "no available image" in p.stderr
    assert value(sim, "/golden/web/latest")["Value"] == "ami-0123456789abcdef0"
    assert len(puts(sim)) == 1, "only the test's own write"


def test_with_verify_an_unjudged_image_is_not_published_and_the_warning_says_passed(amirotd, sim):
    # An available image without a verdict: with verify, it is no image to publish yet.
    sim.seed(images=[{"tags": {"amirotd:policy": "web", "amirotd:instance-id": "i-0aaaaaaaaaaaaaaaa",
                               "amirotd:slot": "20291231T030000Z"}}])
    amirotd.write_policy("web", policy("- /golden/{policy}/latest") +
                         "    verify:\n      instance_type: t3.micro\n      subnet_id: subnet-0123456789abcdef0\n")
    ssm(sim).put_parameter(Name="/golden/web/latest", Value="ami-0123456789abcdef0", Type="String",
                           DataType="aws:ec2:image")
    sim.set_clock(at(1))
    p = amirotd.run("plan", now=at(1), check=False)
    assert "no passed image" in p.stderr, p.stderr
    assert "no available image" not in p.stderr
    assert value(sim, "/golden/web/latest")["Value"] == "ami-0123456789abcdef0"


def test_a_parameter_that_is_not_an_images_is_never_overwritten_nor_shown(amirotd, ec2, sim):
    """A name that collides with someone's configuration value or secret: the run fails,
    names the parameter, and neither writes it nor says its value."""
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", policy("- /golden/{policy}/latest", "- /golden/{policy}/token"))
    ssm(sim).put_parameter(Name="/golden/web/latest", Value="blue-green", Type="String")
    ssm(sim).put_parameter(Name="/golden/web/token", Value="s3cr3t-value", Type="SecureString")
    p = once(amirotd, 1, check=False)
    assert p.returncode != 0
    assert "SSM parameter '/golden/web/latest' exists as a String of data type text" in p.stderr
    assert "SSM parameter '/golden/web/token' exists as a SecureString" in p.stderr
    assert "blue-green" not in p.stderr and "s3cr3t-value" not in p.stderr
    assert value(sim, "/golden/web/latest")["Value"] == "blue-green"
    assert len(puts(sim)) == 2, "only the test's own writes"


def test_check_reports_bad_parameter_names(amirotd):
    amirotd.write_policy("web", policy("- /golden/{policy}/a b", "- ssm/{policy}", "- /x/{slot}",
                                       "- name: /y", "  regoin: eu-west-1"))
    p = amirotd.run("check", check=False)
    assert p.returncode != 0
    err = p.stderr
    assert "web.yaml:11:5: ssm_parameter '/golden/{policy}/a b' is no valid SSM parameter name: " \
           "a parameter name holds only letters, digits and _ . - /" in err
    assert "web.yaml:12:5: ssm_parameter 'ssm/{policy}' is no valid SSM parameter name: " \
           "a parameter name with '/' must start with '/'" in err
    assert "web.yaml:13:5: '{slot}' has no place in 'ssm_parameter'" in err
    assert "web.yaml:15:5: unknown key 'regoin' in 'ssm_parameter', did you mean 'region'?" in err


def test_a_throttled_write_is_retried_as_ec2_calls_are(amirotd, ec2, sim):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", policy("- /golden/{policy}/latest"))
    sim.fault(kind="throttle", action="PutParameter", count=1)
    once(amirotd, 1)
    assert [c["error_code"] for c in puts(sim)] == ["ThrottlingException", None]
    assert value(sim, "/golden/web/latest")["Value"] == newest(sim)


def test_a_region_outside_the_policy_is_written_by_its_first_region_only(amirotd, ec2, sim):
    # eu-west-1 holds a copy of the policy's image (as copy_to would make it).
    copy = sim.seed(region="eu-west-1", images=[{"tags": {"amirotd:policy": "web",
                                                          "amirotd:instance-id": "i-0aaaaaaaaaaaaaaaa",
                                                          "amirotd:slot": "20291231T030000Z"}}])["images"][0]
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", (POLICY % "      - {name: /golden/web/eu, region: eu-west-1}").replace(
        "regions: [us-east-1]", "regions: [us-east-1, us-west-2]"))
    once(amirotd, 1)
    gets = [c for c in sim.calls("GetParameter") if c["service"] == "ssm"]
    assert [c["region"] for c in gets] == ["eu-west-1"], "one run reads and writes it, not both regions' runs"
    assert [c["region"] for c in puts(sim)] == ["eu-west-1"]
    assert value(sim, "/golden/web/eu", region="eu-west-1")["Value"] == copy


def test_two_instances_of_one_name_do_not_take_turns_in_a_parameter(amirotd, ec2, sim):
    a, b = sorted(run_instances(ec2, {"Role": "web", "Name": "twin"}, count=2))
    amirotd.write_policy("web", policy("- /golden/{instance_name}/latest"))
    p = once(amirotd, 1)
    assert f"SSM parameter '/golden/twin/latest' is the name of both" in p.stderr
    assert f"names {a}'s image" in p.stderr
    assert value(sim, "/golden/twin/latest")["Value"] == newest(sim, a)
    assert len(puts(sim)) == 1
    once(amirotd, 2)
    assert value(sim, "/golden/twin/latest")["Value"] == newest(sim, a)
    assert len(puts(sim)) == 2, "one write per new image, not one per instance"
