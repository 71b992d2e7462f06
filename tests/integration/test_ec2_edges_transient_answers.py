# Issue 10, item 11: an answer that arrives broken (bytes that are not HTTP, a
# body cut short, XML that is not well-formed, a proxy's HTML page) is a
# transient error: amirotd retries the call, within its retry quota, and the
# run succeeds. Each fault spoils the first answer of one read only.
import pytest

from conftest import images, run_instances

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
NOW = "2030-01-01T03:30:00Z"


def once_with_fault(amirotd, ec2, action, kind):
    run_instances(ec2, {"Role": "web"}, count=2)
    amirotd.write_policy("web", POLICY)
    amirotd.sim.set_clock(NOW)
    amirotd.sim.fault(action=action, kind=kind, count=1)
    p = amirotd.run("once", now=NOW, check=False)
    spoiled = [c for c in amirotd.sim.calls(action) if c.get("fault") == kind]
    assert len(spoiled) == 1, amirotd.sim.calls(action)
    assert p.returncode == 0, f"once exited {p.returncode}\nstderr:\n{p.stderr}"
    assert len(images(ec2, **{"tag:amirotd:policy": "web", "state": "available"})) == 2
    # The spoiled call was made again, and the retry was answered normally.
    later = [c for c in amirotd.sim.calls(action) if c["seq"] > spoiled[0]["seq"]]
    assert any(c.get("fault") is None and c.get("status") == 200 for c in later)


@pytest.mark.parametrize("kind", ["malformed_xml", "garbled_http", "truncated", "html"])
def test_broken_describe_images_answer_is_retried_and_once_succeeds(amirotd, ec2, kind):
    once_with_fault(amirotd, ec2, "DescribeImages", kind)


@pytest.mark.parametrize("kind", ["malformed_xml", "garbled_http", "truncated", "html"])
def test_broken_describe_instances_answer_is_retried_and_once_succeeds(amirotd, ec2, kind):
    once_with_fault(amirotd, ec2, "DescribeInstances", kind)
