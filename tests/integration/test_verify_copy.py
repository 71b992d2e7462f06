# copy_to with verify (issue 15), through the real binary and ec2sim: only an image that
# passed verification is copied to another region, and its copy carries the verdict
# (amirotd:verified), so the destination's launch templates and parameters may name it.
import time

from test_verify_list import seed

POLICY = """\
    name: web
    regions: [us-east-1]
    targets:
      tags: {Role: web}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 5
    copy_to:
      - region: eu-west-1
    verify:
      instance_type: t3.micro
      subnet_id: subnet-0123456789abcdef0
      timeout: 15m
"""

NOW = "2030-01-03T03:30:00Z"


def tag_dict(record):
    tags = record.get("Tags") or {}
    return tags if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags}


def test_only_passed_images_are_copied_and_the_copy_carries_the_verdict(amirotd):
    amirotd.write_policy("web", POLICY)
    amirotd.sim.set_clock(NOW)
    passed = seed(amirotd, "web", 1, "passed")
    failed = seed(amirotd, "web", 2, "failed", "status check impaired: system")
    unverified = seed(amirotd, "web", 3)
    p = amirotd.run("once", "--policy", "web", now=NOW, check=False)
    time.sleep(1.2)
    copied = {tag_dict(c)["amirotd:copy-of"]: tag_dict(c) for c in amirotd.sim.images("eu-west-1")
              if "amirotd:copy-of" in tag_dict(c)}
    assert list(copied) == ["us-east-1/" + passed], p.stderr
    assert copied["us-east-1/" + passed]["amirotd:verified"] == "passed"
    assert {c["params"]["SourceImageId"] for c in amirotd.sim.calls("CopyImage")} == {passed}
    assert failed and unverified
