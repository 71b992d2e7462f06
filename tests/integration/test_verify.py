# verify through the real binary against ec2sim's test instances (RunInstances with a
# ClientToken, DescribeInstanceStatus, GetConsoleOutput, TerminateInstances and their boot
# faults): each new image boots one test instance before retention counts it; the verdict
# is written on the image before the instance is terminated; a crash leaves nothing that
# the next run does not find; a refused launch is no verdict.
#
# An image whose test instance must misbehave is made first by `once --no-wait` (nothing is
# verified without the wait), so that the fault can be set on it before its test instance
# launches. A verdict at the timeout (2 minutes at least) is reached without waiting for it:
# the run is killed while its test instance is alive, and the next one, minutes later on
# both clocks, finds the instance older than its timeout and judges it once.
import signal
import subprocess
import time

import journal
import pytest
from conftest import AMIROTD, images, run_instances, tag_dict

D1 = "2030-01-01T03:30:00Z"
D2 = "2030-01-02T03:30:00Z"
D3 = "2030-01-03T03:30:00Z"
# Later in the same slots. Each run sets the simulator's clock: a run after another one at
# the same instant would set it back, and EC2's eventual consistency (in simulator time)
# would hide what the earlier run made.
D1_NEXT = "2030-01-01T03:31:00Z"
D1_AFTER = "2030-01-01T03:31:30Z"
D1_LATER = "2030-01-01T03:35:00Z"       # past verify.timeout 2m of a test instance launched at D1_NEXT
D2_NEXT = "2030-01-02T03:31:00Z"
D2_AFTER = "2030-01-02T03:31:30Z"
D3_NEXT = "2030-01-03T03:31:00Z"
D3_AFTER = "2030-01-03T03:31:30Z"
VERIFIED = "cd216e3ee36347d6b8e6aae984490edc"
VERIFY_FAILED = "b87673fd37df4511bcb279993f8b1009"


def subnet(sim, region="us-east-1"):
    return sim.admin("GET", "network?region=" + region)["subnets"][0]["SubnetId"]


def policy(sim, verify="", count=3, extra=""):
    return f"""\
    name: web
    targets:
      tags: {{Role: web}}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: {count}
    verify:
      instance_type: t3.micro
      subnet_id: {subnet(sim)}
      timeout: 2m
{verify}
{extra}
"""


def run_once(amirotd, *args, now):
    """`amirotd once` logging to the journal: (its process, its journal entries)."""
    amirotd.sim.set_clock(now)
    cmd = [AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--now=" + now, "--log-target=journal", "once", *args]
    since = journal.now_usec()
    p = subprocess.Popen(cmd, env=amirotd.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.communicate(timeout=120)
    return p, journal.entries(journal.Source(p.pid, since))


def once(amirotd, *args, now=D1):
    amirotd.sim.set_clock(now)
    return amirotd.run("once", *args, now=now, check=False)


def boot(sim, image_id, **kw):
    return sim.admin("POST", "boot", dict(image=image_id, **kw))


def launches(sim, region="us-east-1"):
    return sim.admin("GET", "boot?region=" + region)["images"]


def web(ec2):
    [iid] = run_instances(ec2, {"Role": "web"}, volumes=2)
    return iid


def image_tags(ec2, image_id, key, timeout=10):
    """The image's tags once `key` is visible (CreateTags' eventual consistency)."""
    deadline = time.monotonic() + timeout
    while True:
        [img] = ec2.describe_images(ImageIds=[image_id])["Images"]
        tags = tag_dict(img)
        if key in tags or time.monotonic() > deadline:
            return tags
        time.sleep(0.3)


def image_of(ec2, day, timeout=10):
    """The image of the day's slot, once visible (a new image is not at once)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [g["ImageId"] for g in images(ec2) if tag_dict(g).get("amirotd:slot", "").startswith(day)]
        if found or time.monotonic() > deadline:
            [image_id] = found
            return image_id
        time.sleep(0.3)


def unverified_image(amirotd, ec2, now=D1, day="20300101"):
    """An image of the slot made without a verdict (no wait: nothing is verified)."""
    p = once(amirotd, "--no-wait", now=now)
    assert p.returncode == 0, p.stderr
    image_id = image_of(ec2, day)
    assert image_id not in launches(amirotd.sim)
    return image_id


def params(call):
    return call["params"]


def verify_calls(sim):
    """RunInstances of test instances and TerminateInstances, in order (not the test's own
    RunInstances of its web instance)."""
    return [c for c in sim.calls() if c["action"] == "TerminateInstances" or
            (c["action"] == "RunInstances" and params(c).get("ClientToken", "").startswith("amirotd-verify-"))]


def verdicts(entries, message_id):
    return [e for e in entries if e.get("MESSAGE_ID") == message_id]


def nothing_left(sim, image_id):
    acct = launches(sim)[image_id]
    assert acct["alive"] == [], acct
    assert acct["volumes_left"] == [], acct
    return acct


# ---- passed ------------------------------------------------------------------------------

def test_a_new_image_passes_its_test_instance_leaves_nothing_and_retention_waits_for_it(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim, count=2))
    for day in (D1, D2):
        p, _ = run_once(amirotd, now=day)
        assert p.returncode == 0, p.stderr
    first = image_of(ec2, "20300101")

    p, entries = run_once(amirotd, now=D3)

    assert p.returncode == 0, p.stderr
    new = image_of(ec2, "20300103")
    tags = image_tags(ec2, new, "amirotd:verified")
    assert tags.get("amirotd:verified") == "passed"
    assert "amirotd:verify-reason" not in tags
    acct = nothing_left(amirotd.sim, new)
    [test_instance] = acct["launched"]
    # One launch, as the design says: ClientToken, tags, every EBS device deleted with it.
    [run] = [c for c in amirotd.sim.calls("RunInstances") if params(c).get("ImageId") == new]
    q = params(run)
    assert q["ClientToken"].startswith("amirotd-verify-" + new)
    assert q["MinCount"] == q["MaxCount"] == "1"
    assert q["InstanceType"] == "t3.micro" and q["SubnetId"] == subnet(amirotd.sim)
    devices = sorted(v for k, v in q.items() if k.startswith("BlockDeviceMapping.") and k.endswith(".DeviceName"))
    assert devices == ["/dev/xvda", "/dev/xvdb"]
    assert all(v == "true" for k, v in q.items() if k.endswith(".Ebs.DeleteOnTermination"))
    # The verdict's line, with the cost.
    [line] = verdicts(entries, VERIFIED)
    assert line["AMIROTD_IMAGE_ID"] == new and line["AMIROTD_TEST_INSTANCE_ID"] == test_instance
    assert line["AMIROTD_VERDICT"] == "passed" and line["AMIROTD_INSTANCE_ID"].startswith("i-")
    assert int(line["AMIROTD_INSTANCE_SECONDS"]) >= 0
    assert any("1 verified, 0 failed verification, " in e.get("MESSAGE", "") for e in entries)
    # Retention (count 2) retires the oldest, and only after the new image passed.
    calls = amirotd.sim.calls()
    tagged = [c["seq"] for c in calls if c["action"] == "CreateTags" and new in params(c).values()
              and "amirotd:verified" in params(c).values()]
    deregistered = [c["seq"] for c in calls if c["action"] == "DeregisterImage"]
    terminated = [c["seq"] for c in calls if c["action"] == "TerminateInstances" and test_instance in params(c).values()]
    assert [g["ImageId"] for g in images(ec2) if g["ImageId"] == first] == []
    assert tagged and deregistered and terminated
    assert tagged[0] < terminated[0]
    assert tagged[0] < deregistered[0]


# ---- failed ------------------------------------------------------------------------------

def parameter(sim, name):
    import botocore.session
    from conftest import ACCESS_KEY, SECRET_KEY
    client = botocore.session.Session().create_client("ssm", region_name="us-east-1", endpoint_url=sim.url,
                                                      aws_access_key_id=ACCESS_KEY,
                                                      aws_secret_access_key=SECRET_KEY)
    return client.get_parameter(Name=name)["Parameter"]["Value"]


def test_an_impaired_image_fails_the_run_is_retired_and_the_passed_ones_stay(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim, count=2, extra="    ssm_parameter:\n      - /golden/web/latest"))
    for day in (D1, D2):
        p, _ = run_once(amirotd, now=day)
        assert p.returncode == 0, p.stderr
    passed = [image_of(ec2, "20300101"), image_of(ec2, "20300102")]
    bad = unverified_image(amirotd, ec2, now=D3, day="20300103")
    boot(amirotd.sim, bad, instance_status="impaired")

    p, entries = run_once(amirotd, now=D3_NEXT)

    assert p.returncode != 0, "\n".join(e["MESSAGE"] for e in entries)
    [line] = verdicts(entries, VERIFY_FAILED)
    assert line["AMIROTD_IMAGE_ID"] == bad and line["AMIROTD_VERDICT"] == "failed"
    assert line["AMIROTD_REASON"] == "status check impaired: instance"
    assert "status check impaired: instance" in line["MESSAGE"]
    nothing_left(amirotd.sim, bad)
    # The failed image is garbage: retired by this run's last plan, or by the next one when
    # the describe did not show the tag yet. The passed ones stay: a failed image never
    # pushes one out.
    if any(g["ImageId"] == bad for g in images(ec2)):
        tags = image_tags(ec2, bad, "amirotd:verified")
        assert tags["amirotd:verified"] == "failed"
        assert tags["amirotd:verify-reason"] == "status check impaired: instance"
        listing = amirotd.run("list", now=D3_NEXT, check=False)
        assert "status check impaired: instance" in listing.stdout, listing.stdout
        p, _ = run_once(amirotd, now=D3_AFTER)
    assert [g["ImageId"] for g in images(ec2) if g["ImageId"] == bad] == []
    assert sorted(g["ImageId"] for g in images(ec2)) == sorted(passed)
    # The SSM parameter follows passed images only: it still names the last one.
    assert parameter(amirotd.sim, "/golden/web/latest") == passed[1]
    # Launched once: the verdict is final.
    assert len(launches(amirotd.sim)[bad]["launched"]) == 1


def test_a_test_instance_that_stops_itself_fails_with_ec2s_reason(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim))
    image_id = unverified_image(amirotd, ec2)
    boot(amirotd.sim, image_id, shutdown="stop", status_seconds=30)

    p, entries = run_once(amirotd, now=D1_NEXT)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode != 0, said
    [line] = verdicts(entries, VERIFY_FAILED) or [said]
    assert line["AMIROTD_REASON"].startswith("the instance stopped: Client.InstanceInitiatedShutdown"), line
    nothing_left(amirotd.sim, image_id)


def start_once(amirotd, *args, now):
    amirotd.sim.set_clock(now)
    cmd = [AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--now=" + now, "once", *args]
    return subprocess.Popen(cmd, env=amirotd.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_once_with_test_instance_alive(amirotd, image_id, now=D1_NEXT):
    """`once` killed -9 while its test instance of image_id runs: the crash."""
    proc = start_once(amirotd, now=now)
    deadline = time.monotonic() + 30
    while not launches(amirotd.sim).get(image_id, {}).get("alive") and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    [alive] = launches(amirotd.sim)[image_id]["alive"]
    return alive


@pytest.mark.parametrize("fault,reason", [
    ({"console": "no-login"}, "console output did not match 'login:' within 2m"),
    ({"pending": "forever"}, "never left pending within 2m"),
])
def test_a_test_instance_past_its_timeout_is_judged_once_after_a_crash(amirotd, ec2, journald, fault, reason):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim, verify='      console_match: "login:"'))
    image_id = unverified_image(amirotd, ec2)
    boot(amirotd.sim, image_id, **fault)
    test_instance = kill_once_with_test_instance_alive(amirotd, image_id)

    p, entries = run_once(amirotd, now=D1_LATER)

    assert p.returncode != 0
    [line] = verdicts(entries, VERIFY_FAILED)
    assert line["AMIROTD_TEST_INSTANCE_ID"] == test_instance
    assert line["AMIROTD_REASON"] == reason
    assert image_tags(ec2, image_id, "amirotd:verified").get("amirotd:verify-reason") == reason
    # Found by its tags, not launched again.
    acct = nothing_left(amirotd.sim, image_id)
    assert acct["launched"] == [test_instance]


# ---- max_concurrent, and images made before verify ----------------------------------------

def test_images_made_before_verify_are_verified_newest_first_one_at_a_time(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim).split("    verify:")[0])      # no verify yet
    for day in (D1, D2, D3):
        assert once(amirotd, now=day).returncode == 0
    made = [image_of(ec2, d) for d in ("20300101", "20300102", "20300103")]
    amirotd.write_policy("web", policy(amirotd.sim, verify="      max_concurrent: 1"))

    p, entries = run_once(amirotd, now=D3_NEXT)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode == 0, said
    newest_first = made[::-1]
    assert [e["AMIROTD_IMAGE_ID"] for e in verdicts(entries, VERIFIED)] == newest_first, said
    # Never two test instances alive at once: each launch comes after the last one ended.
    calls = verify_calls(amirotd.sim)
    assert [c["action"] for c in calls] == ["RunInstances", "TerminateInstances"] * 3
    assert [params(c)["ImageId"] for c in calls if c["action"] == "RunInstances"] == newest_first
    for image_id in made:
        assert image_tags(ec2, image_id, "amirotd:verified").get("amirotd:verified") == "passed"
        assert len(nothing_left(amirotd.sim, image_id)["launched"]) == 1


def test_max_concurrent_two_launches_both_at_once(amirotd, ec2):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim).split("    verify:")[0])
    for day in (D1, D2):
        assert once(amirotd, now=day).returncode == 0
    amirotd.write_policy("web", policy(amirotd.sim, verify="      max_concurrent: 2"))

    assert once(amirotd, now=D2_NEXT).returncode == 0

    actions = [c["action"] for c in verify_calls(amirotd.sim)]
    assert actions[:2] == ["RunInstances", "RunInstances"]


# ---- a crash, and what it leaves -----------------------------------------------------------

def test_a_crash_while_a_test_instance_runs_is_picked_up_by_the_next_run(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim))
    image_id = unverified_image(amirotd, ec2)
    boot(amirotd.sim, image_id, status_seconds=20)     # alive long enough to be killed
    test_instance = kill_once_with_test_instance_alive(amirotd, image_id)
    seen = len(amirotd.sim.calls())

    p, entries = run_once(amirotd, now=D1_AFTER)

    # Found by its tags: no second RunInstances, not even one the ClientToken would answer.
    assert [c["action"] for c in verify_calls(amirotd.sim) if c["seq"] > seen] == ["TerminateInstances"]
    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode == 0, said
    [line] = verdicts(entries, VERIFIED) or [said]
    assert line["AMIROTD_TEST_INSTANCE_ID"] == test_instance
    assert image_tags(ec2, image_id, "amirotd:verified").get("amirotd:verified") == "passed"
    # Watched again, not launched again: one instance for the image, and nothing left.
    acct = nothing_left(amirotd.sim, image_id)
    assert acct["launched"] == [test_instance]


def test_a_test_instance_past_its_timeout_that_boots_fine_passes_on_its_last_look(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim, verify='      console_match: "login:"'))
    image_id = unverified_image(amirotd, ec2)
    boot(amirotd.sim, image_id, status_seconds=20)
    test_instance = kill_once_with_test_instance_alive(amirotd, image_id)

    p, entries = run_once(amirotd, now=D1_LATER)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode == 0, said
    [line] = verdicts(entries, VERIFIED) or [said]
    assert line["AMIROTD_TEST_INSTANCE_ID"] == test_instance
    assert [c["action"] for c in amirotd.sim.calls() if c["action"] == "GetConsoleOutput"] == ["GetConsoleOutput"]
    nothing_left(amirotd.sim, image_id)


def test_a_test_instance_whose_image_has_a_verdict_is_terminated(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim))
    image_id = unverified_image(amirotd, ec2)
    boot(amirotd.sim, image_id, status_seconds=30)
    test_instance = kill_once_with_test_instance_alive(amirotd, image_id)
    # The crash came between the verdict and the termination.
    ec2.create_tags(Resources=[image_id], Tags=[{"Key": "amirotd:verified", "Value": "passed"}])
    before = len(amirotd.sim.calls("CreateTags"))

    p, entries = run_once(amirotd, now=D1_AFTER)

    assert p.returncode == 0, "\n".join(e["MESSAGE"] for e in entries)
    assert verdicts(entries, VERIFIED) == [] and verdicts(entries, VERIFY_FAILED) == []
    [terminate] = amirotd.sim.calls("TerminateInstances")
    assert test_instance in params(terminate).values()
    assert len(amirotd.sim.calls("CreateTags")) == before
    acct = nothing_left(amirotd.sim, image_id)
    assert acct["launched"] == [test_instance]
    assert any(test_instance in e.get("MESSAGE", "") and "left by an earlier run" in e["MESSAGE"] for e in entries)


# ---- a launch refused --------------------------------------------------------------------

def test_a_refused_launch_fails_the_run_and_leaves_the_image_unverified(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim, count=1))
    assert once(amirotd, now=D1).returncode == 0
    first = image_of(ec2, "20300101")
    image_id = unverified_image(amirotd, ec2, now=D2, day="20300102")
    boot(amirotd.sim, image_id, refuse=True)

    p, entries = run_once(amirotd, now=D2_NEXT)

    assert p.returncode != 0
    said = "\n".join(e["MESSAGE"] for e in entries)
    assert f"cannot launch a test instance of image {image_id}" in said, said
    assert "InsufficientInstanceCapacity" in said, said
    assert "amirotd:verified" not in image_tags(ec2, image_id, "amirotd:verified", timeout=2)
    # Neither counted nor retired: the passed image it would replace stays.
    assert sorted(g["ImageId"] for g in images(ec2)) == sorted([first, image_id])
    boot(amirotd.sim, image_id, clear=True)

    p, entries = run_once(amirotd, now=D2_AFTER)

    assert p.returncode == 0, "\n".join(e["MESSAGE"] for e in entries)
    assert image_tags(ec2, image_id, "amirotd:verified").get("amirotd:verified") == "passed"
    assert [g["ImageId"] for g in images(ec2)] == [image_id]


def test_a_dry_run_launches_nothing_and_says_what_it_would_verify(amirotd, ec2):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim))
    image_id = unverified_image(amirotd, ec2)

    p = once(amirotd, "--dry-run", now=D1_NEXT)

    assert p.returncode == 0, p.stderr
    assert f"would verify {image_id}" in p.stderr, p.stderr
    assert verify_calls(amirotd.sim) == []


# ---- the service -------------------------------------------------------------------------

def test_the_service_verifies_each_new_image_and_says_the_cost(amirotd, ec2, daemon):
    web(ec2)
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("web", policy(amirotd.sim, count=2).replace('every: 24h\n      at: "03:00"', "every: 5s"))
    d = daemon()

    e = journal.wait_for(d.log, lambda e: len(verdicts(e, VERIFIED)) >= 2 and any(
        "verified, 0 failed verification" in x.get("MESSAGE", "") for x in e), timeout=90, what="two verdicts")

    assert d.stop() == 0
    summary = [x["MESSAGE"] for x in e if "verified, 0 failed verification" in x.get("MESSAGE", "")]
    assert "run done for slot" in summary[0] and "test instance-seconds" in summary[0]
    lines = verdicts(e, VERIFIED)
    assert len({x["AMIROTD_IMAGE_ID"] for x in lines}) == len(lines)
    # Each verdict is on its image (the oldest may be retired already: count 2).
    left = {g["ImageId"]: tag_dict(g) for g in images(ec2)}
    assert any(x["AMIROTD_IMAGE_ID"] in left for x in lines)
    for x in lines:
        if x["AMIROTD_IMAGE_ID"] in left:
            assert image_tags(ec2, x["AMIROTD_IMAGE_ID"], "amirotd:verified").get("amirotd:verified") == "passed"


# ---- calls that keep failing -------------------------------------------------------------

def test_a_console_that_cannot_be_read_is_no_verdict(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim, verify='      console_match: "login:"'))
    image_id = unverified_image(amirotd, ec2)
    boot(amirotd.sim, image_id, status_seconds=20)
    test_instance = kill_once_with_test_instance_alive(amirotd, image_id)
    amirotd.sim.fault(action="GetConsoleOutput", kind="error", code="UnauthorizedOperation", status=403,
                      message="You are not authorized to perform this operation.")

    p, entries = run_once(amirotd, now=D1_LATER)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode != 0, said
    assert verdicts(entries, VERIFIED) == [] and verdicts(entries, VERIFY_FAILED) == [], said
    assert f"cannot judge test instance {test_instance} of image {image_id}" in said, said
    assert "UnauthorizedOperation" in said
    # No verdict; the instance is terminated all the same, and the image marked as tried so
    # that the next run launches a new one.
    tags = image_tags(ec2, image_id, "amirotd:verify-attempt")
    assert "amirotd:verified" not in tags and tags.get("amirotd:verify-attempt") == "1"
    nothing_left(amirotd.sim, image_id)
    amirotd.sim.clear_faults()

    p, entries = run_once(amirotd, now="2030-01-01T03:36:00Z")

    assert p.returncode == 0, "\n".join(e["MESSAGE"] for e in entries)
    [line] = verdicts(entries, VERIFIED)
    assert line["AMIROTD_TEST_INSTANCE_ID"] != test_instance
    assert len(nothing_left(amirotd.sim, image_id)["launched"]) == 2


# ---- review 3: orderings, pace, the cost --------------------------------------------------

def test_a_crash_recovery_that_answers_after_the_runs_describe_judges_the_image_once(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim))
    image_id = unverified_image(amirotd, ec2)
    boot(amirotd.sim, image_id, status_seconds=20)
    test_instance = kill_once_with_test_instance_alive(amirotd, image_id)
    # The recovery's DescribeInstances answers last: the run's describe has queued the image.
    amirotd.sim.fault(action="DescribeInstances", kind="latency", latency_ms=3000, count=1)
    seen = len(amirotd.sim.calls())

    p, entries = run_once(amirotd, now=D1_AFTER)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode == 0, said
    assert [c["action"] for c in verify_calls(amirotd.sim) if c["seq"] > seen] == ["TerminateInstances"], said
    [line] = verdicts(entries, VERIFIED) or [said]
    assert line["AMIROTD_TEST_INSTANCE_ID"] == test_instance
    assert verdicts(entries, VERIFY_FAILED) == []
    assert launches(amirotd.sim)[image_id]["launched"] == [test_instance]


def test_a_console_that_comes_late_is_read_at_the_polls_pace(amirotd, ec2, journald):
    web(ec2)
    # A Xen type: GetConsoleOutput refuses Latest=true, and the buffered output comes late.
    amirotd.write_policy("web", policy(amirotd.sim, verify='      console_match: "login:"').replace(
        "t3.micro", "t2.micro"))
    amirotd.sim.admin("POST", "settings", {"console_post_seconds": 6})

    p, entries = run_once(amirotd, now=D1)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode == 0, said
    assert len(verdicts(entries, VERIFIED)) == 1, said
    reads = len(amirotd.sim.calls("GetConsoleOutput"))
    polls = len(amirotd.sim.calls("DescribeInstanceStatus"))
    assert 2 <= reads <= polls + 2, (reads, polls)       # one more: Latest=true refused once


def seconds_between(a, b):
    from datetime import datetime
    f = "%Y-%m-%dT%H:%M:%S"
    return (datetime.strptime(b[:19], f) - datetime.strptime(a[:19], f)).total_seconds()


def test_the_cost_is_the_test_instances_life_and_the_run_sums_it(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim).split("    verify:")[0])
    for day in (D1, D2):
        assert once(amirotd, now=day).returncode == 0
    amirotd.write_policy("web", policy(amirotd.sim, verify="      max_concurrent: 2"))
    for day in ("20300101", "20300102"):
        boot(amirotd.sim, image_of(ec2, day), status_seconds=4)

    p, entries = run_once(amirotd, now=D2_NEXT)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode == 0, said
    lines = verdicts(entries, VERIFIED)
    assert len(lines) == 2, said
    calls = verify_calls(amirotd.sim)
    for x in lines:
        test_instance = x["AMIROTD_TEST_INSTANCE_ID"]
        [run] = [c for c in calls if c["action"] == "RunInstances" and params(c)["ImageId"] == x["AMIROTD_IMAGE_ID"]]
        [end] = [c for c in calls if c["action"] == "TerminateInstances" and test_instance in params(c).values()]
        life = seconds_between(run["time"], end["time"])
        assert life >= 4 and abs(int(x["AMIROTD_INSTANCE_SECONDS"]) - life) <= 2, (x, life)
    total = sum(int(x["AMIROTD_INSTANCE_SECONDS"]) for x in lines)
    assert any(f"2 verified, 0 failed verification, {total} test instance-seconds" in e.get("MESSAGE", "")
               for e in entries), said


def test_max_concurrent_two_with_three_images_never_has_three_alive(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim).split("    verify:")[0])
    for day in (D1, D2, D3):
        assert once(amirotd, now=day).returncode == 0
    amirotd.write_policy("web", policy(amirotd.sim, verify="      max_concurrent: 2"))

    p, entries = run_once(amirotd, now=D3_NEXT)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode == 0, said
    assert len(verdicts(entries, VERIFIED)) == 3, said
    alive, most = set(), 0
    for c in verify_calls(amirotd.sim):
        if c["action"] == "RunInstances":
            alive.add(params(c)["ImageId"])
        else:
            [test_instance] = [v for k, v in params(c).items() if k.startswith("InstanceId.")]
            alive -= {g for g, a in launches(amirotd.sim).items() if test_instance in a["launched"]}
        most = max(most, len(alive))
    assert most == 2
    for day in ("20300101", "20300102", "20300103"):
        nothing_left(amirotd.sim, image_of(ec2, day))


def test_a_test_abandoned_by_ec2_is_no_verdict_and_the_next_run_tests_anew(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim))
    image_id = unverified_image(amirotd, ec2)
    boot(amirotd.sim, image_id, shutdown="terminate", shutdown_reason="Server.InternalError")

    p, entries = run_once(amirotd, now=D1_NEXT)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode != 0, said
    assert verdicts(entries, VERIFIED) == [] and verdicts(entries, VERIFY_FAILED) == [], said
    assert f"the test of image {image_id} was abandoned" in said and "Server.InternalError" in said, said
    tags = image_tags(ec2, image_id, "amirotd:verify-attempt")
    assert tags.get("amirotd:verify-attempt") == "1" and "amirotd:verified" not in tags
    [first] = launches(amirotd.sim)[image_id]["launched"]
    boot(amirotd.sim, image_id, clear=True)

    p, entries = run_once(amirotd, now=D1_AFTER)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode == 0, said
    [line] = verdicts(entries, VERIFIED) or [said]
    assert line["AMIROTD_TEST_INSTANCE_ID"] != first
    tokens = [params(c)["ClientToken"] for c in verify_calls(amirotd.sim) if c["action"] == "RunInstances"]
    assert len(set(tokens)) == 2
    acct = nothing_left(amirotd.sim, image_id)
    assert len(acct["launched"]) == 2


def test_a_second_run_in_the_slot_does_not_verify_its_image_again(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim))
    p, _ = run_once(amirotd, now=D1)
    assert p.returncode == 0
    image_id = image_of(ec2, "20300101")
    assert image_tags(ec2, image_id, "amirotd:verified").get("amirotd:verified") == "passed"
    seen = len(amirotd.sim.calls())

    p, entries = run_once(amirotd, now=D1_NEXT)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode == 0, said
    assert [c for c in verify_calls(amirotd.sim) if c["seq"] > seen] == []
    assert verdicts(entries, VERIFIED) == [] and verdicts(entries, VERIFY_FAILED) == []
    assert image_tags(ec2, image_id, "amirotd:verified").get("amirotd:verified") == "passed"


def test_a_new_test_instance_ec2_does_not_know_yet_is_waited_for(amirotd, ec2, journald):
    """Right after RunInstances EC2 may answer InvalidInstanceID.NotFound for the new id:
    "not visible yet", never a verdict."""
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim))
    amirotd.sim.admin("POST", "settings", {"instance_consistency_delay": 4})

    p, entries = run_once(amirotd, now=D1)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode == 0, said
    [line] = verdicts(entries, VERIFIED) or [said]
    assert any(c["error_code"] == "InvalidInstanceID.NotFound" for c in amirotd.sim.calls("DescribeInstanceStatus"))
    nothing_left(amirotd.sim, line["AMIROTD_IMAGE_ID"])


def test_a_verdict_that_cannot_be_written_is_no_verdict_and_leaves_nothing(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim))
    image_id = unverified_image(amirotd, ec2)
    amirotd.sim.fault(action="CreateTags", kind="error", code="UnauthorizedOperation", status=403,
                      message="You are not authorized to perform this operation.", count=1)

    p, entries = run_once(amirotd, now=D1_NEXT)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode != 0, said
    assert f"cannot write the verdict of test instance" in said and image_id in said, said
    assert verdicts(entries, VERIFIED) == [], said
    tags = image_tags(ec2, image_id, "amirotd:verify-attempt")
    assert "amirotd:verified" not in tags and tags.get("amirotd:verify-attempt") == "1"
    nothing_left(amirotd.sim, image_id)

    p, entries = run_once(amirotd, now=D1_AFTER)

    assert p.returncode == 0, "\n".join(e["MESSAGE"] for e in entries)
    assert len(verdicts(entries, VERIFIED)) == 1
    assert len(nothing_left(amirotd.sim, image_id)["launched"]) == 2


def test_a_terminate_that_keeps_failing_keeps_the_verdict_and_the_next_run_ends_it(amirotd, ec2, journald):
    web(ec2)
    amirotd.write_policy("web", policy(amirotd.sim))
    image_id = unverified_image(amirotd, ec2)
    amirotd.sim.fault(action="TerminateInstances", kind="error", code="UnauthorizedOperation", status=403,
                      message="You are not authorized to perform this operation.", count=3)

    p, entries = run_once(amirotd, now=D1_NEXT)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode != 0, said
    [line] = verdicts(entries, VERIFIED) or [said]
    assert "cannot terminate (the next run does) test instance" in said, said
    assert image_tags(ec2, image_id, "amirotd:verified").get("amirotd:verified") == "passed"
    [test_instance] = launches(amirotd.sim)[image_id]["alive"]
    assert len(amirotd.sim.calls("TerminateInstances")) == 3      # tried at the polls' pace, then left

    p, entries = run_once(amirotd, now=D1_AFTER)

    said = "\n".join(e["MESSAGE"] for e in entries)
    assert p.returncode == 0, said
    assert verdicts(entries, VERIFIED) == []
    assert any(test_instance in e.get("MESSAGE", "") and "left by an earlier run" in e["MESSAGE"] for e in entries)
    nothing_left(amirotd.sim, image_id)
