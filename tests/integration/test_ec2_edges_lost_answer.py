# EC2's eventual consistency and a lost answer (issue 10, items 2 and 3): a
# CreateImage that succeeded while its answer was lost is retried, meets
# InvalidAMIName.Duplicate, and the image of that name is not visible yet. amirotd
# looks again and waits for the slot's image; a same-named image that is visible and
# not this policy's stays foreign.
from conftest import images, run_instances, tag_dict

POLICY = """\
    name: web
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 3
"""

SLOT = "2030-01-01T03:30:00Z"
SLOT_ID = "20300101T030000Z"

# Seconds a new image stays out of every describe: longer than the client's retry of
# the lost CreateImage and than the first wait between lookups (2 s).
DELAY = 4


def once(amirotd, check=True):
    amirotd.sim.set_clock(SLOT)
    return amirotd.run("once", now=SLOT, check=check)


def test_lost_create_answer_finds_the_slots_image_again_and_waits_for_it(amirotd, ec2):
    ids = run_instances(ec2, {"Role": "web"}, count=2)
    amirotd.write_policy("web", POLICY)
    amirotd.sim.admin("POST", "settings", {"consistency_delay": DELAY})
    amirotd.sim.fault(action="CreateImage", kind="lost_answer", count=1)

    p = once(amirotd)

    assert "not touching it" not in p.stderr
    assert "is not visible yet" in p.stderr
    assert "already exists for slot " + SLOT_ID in p.stderr
    creates = amirotd.sim.calls("CreateImage")
    assert [c["fault"] for c in creates].count("lost_answer") == 1
    assert any(c["error_code"] == "InvalidAMIName.Duplicate" for c in creates)
    # One image per instance, each the slot's, available when `once` returned.
    every = ec2.describe_images(Owners=["self"])["Images"]
    assert sorted(tag_dict(i)["amirotd:instance-id"] for i in every) == sorted(ids)
    assert all(tag_dict(i)["amirotd:slot"] == SLOT_ID for i in every)
    assert all(i["State"] == "available" for i in every)


def test_visible_same_named_image_of_another_owner_is_left_alone(amirotd, ec2):
    iid = run_instances(ec2, {"Role": "web"}, count=1)[0]
    name = f"web-{iid}-{SLOT_ID}"
    foreign = ec2.create_image(InstanceId=iid, Name=name, NoReboot=True,
                               TagSpecifications=[{"ResourceType": "image",
                                                   "Tags": [{"Key": "Team", "Value": "other"}]}])["ImageId"]
    amirotd.write_policy("web", POLICY)

    p = once(amirotd, check=False)

    assert p.returncode == 1
    assert f"an image named '{name}' exists as {foreign} that is not tagged amirotd:policy=web; not touching it" \
        in p.stderr
    assert "looking again" not in p.stderr
    assert [i["ImageId"] for i in images(ec2, name=name)] == [foreign]
    assert amirotd.sim.calls("DeregisterImage") == []
