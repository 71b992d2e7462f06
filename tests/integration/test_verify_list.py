# `amirotd list` with verify (issue 15): each image of a policy that verifies shows its
# verdict, read back from EC2's tags through the real binary; a policy without verify
# shows nothing new.
import json

import pytest

POLICY = """\
    name: {name}
    targets:
      tags: {{Role: web}}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 3
"""

VERIFY = """\
    verify:
      instance_type: t3.micro
      subnet_id: subnet-0123456789abcdef0
      timeout: 15m
"""

REASON = "status check impaired: instance"
NOW = "2030-01-04T03:30:00Z"


def slot_id(k):
    return f"203001{k:02d}T030000Z"


def seed(amirotd, name, k, verdict=None, reason=None, copy_of=None):
    tags = {"amirotd:policy": name, "amirotd:instance-id": "i-0aaa", "amirotd:slot": slot_id(k)}
    if copy_of:
        tags["amirotd:copy-of"] = copy_of
    if verdict:
        tags["amirotd:verified"] = verdict
    if reason:
        tags["amirotd:verify-reason"] = reason
    out = amirotd.sim.seed(images=[{"name": f"{name}-i-0aaa-{slot_id(k)}", "tags": tags, "snapshot_tags": tags,
                                    "instance_id": "i-0aaa", "creation_date": f"2030-01-{k:02d}T03:00:00Z",
                                    "state": "available"}])
    return out["images"][0]


@pytest.fixture
def seeded(amirotd):
    amirotd.write_policy("web", POLICY.format(name="web") + VERIFY)
    amirotd.write_policy("db", POLICY.format(name="db"))
    amirotd.sim.set_clock(NOW)
    return {
        "passed": seed(amirotd, "web", 1, "passed"),
        "failed": seed(amirotd, "web", 2, "failed", REASON),
        "unverified": seed(amirotd, "web", 3),
        "odd": seed(amirotd, "web", 4, "maybe"),
        "db": seed(amirotd, "db", 1, "passed"),
        # verify never tests a copy (it carries its source's verdict): no verdict line.
        "copy": seed(amirotd, "web", 5, copy_of="eu-west-1/ami-0123456789abcdef0"),
    }


def test_list_json_shows_each_verdict_of_a_verifying_policy(amirotd, seeded):
    out = json.loads(amirotd.run("list", "--json", now=NOW).stdout)
    by_id = {i["image_id"]: i for i in out}
    assert {k: (by_id[v]["verified"], by_id[v]["verify_reason"]) for k, v in seeded.items() if k not in ("db", "copy")} == {
        "passed": ("passed", None),
        "failed": ("failed", REASON),
        "unverified": ("unverified", None),
        "odd": ("unverified", None),            # no verdict amirotd writes
    }
    # A policy without verify: nothing new, whatever tags its image carries.
    assert "verified" not in by_id[seeded["db"]] and "verify_reason" not in by_id[seeded["db"]]
    assert "verified" not in by_id[seeded["copy"]] and "verify_reason" not in by_id[seeded["copy"]]


def test_list_table_shows_each_verdict_under_its_image(amirotd, seeded):
    lines = amirotd.run("list", now=NOW).stdout.splitlines()

    def under(image_id):
        at = next(k for k, line in enumerate(lines) if image_id in line)
        return lines[at + 1].strip() if at + 1 < len(lines) else ""

    assert under(seeded["passed"]) == "verify: passed"
    assert under(seeded["failed"]) == f"verify: failed: {REASON}"
    assert under(seeded["unverified"]) == "verify: unverified"
    assert not under(seeded["db"]).startswith("verify:")
    assert not under(seeded["copy"]).startswith("verify:")
    assert sum(line.strip().startswith("verify:") for line in lines) == 4
