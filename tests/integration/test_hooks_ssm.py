# image.before/after by SSM Run Command and image.freeze, through the real binary against
# ec2sim's Run Command (its agent, faults and freeze model): the hooks' outcomes under
# image.on_hook_failure, images captured frozen, and a thaw on every path: after
# CreateImage answered (also when it failed), after a kill -9 (the next run sends it), and
# before a stopped daemon exits.
import signal
import subprocess
import time

import journal
import pytest
from conftest import AMIROTD, images, run_instances

NOW = "2030-01-01T03:30:00Z"
SLOT = "20300101T030000Z"
# The same slot, past the hold of a freeze made at NOW (45 s of freeze_timeout 60 s) and
# before its watchdog: a freeze younger than its hold belongs to a live run, and the next
# run leaves it alone.
LATER = "2030-01-01T03:30:50Z"
HOOK_RESULT = "4a16329d342d4587be8f7c1a2bc95c23"
THAW_RECOVERED = "8db9a1a136ab4f6eb7cf1fc5bf0438dc"


def policy(image, name="web", schedule='every: 24h\n      at: "03:00"'):
    return f"""\
    name: {name}
    targets:
      tags: {{Role: web}}
    schedule:
      {schedule}
    image:
{image}
    retain:
      count: 3
"""


def indent(text, n=6):
    return "\n".join(" " * n + line for line in text.strip("\n").splitlines())


def once(amirotd, *args, check=False):
    amirotd.sim.set_clock(NOW)
    return amirotd.run("once", *args, now=NOW, check=check)


def agent(sim, iid="*", **settings):
    sim.admin("POST", "run-command", dict(instance=iid, **settings))


def node(sim, iid):
    [n] = sim.admin("GET", "run-command?instance=" + iid)["instances"]
    return n


def frozen_images(sim):
    return {i["ImageId"]: i["_frozen"] for i in sim.admin("GET", "images")}


def create_image_held(sim):
    """Whether a CreateImage is held by the test's "hang" fault: the call log shows a call
    once it ends, the fault counts it when it comes."""
    return any(f["action"] == "CreateImage" and f["kind"] == "hang" and f["hits"] > 0
               for f in sim.admin("GET", "faults")["faults"])


def wait_frozen_in_create_image(sim, iid):
    """Until the instance is frozen and the CreateImage after the freeze is held, well
    within the freeze's hold."""
    deadline = time.monotonic() + 30
    while not (node(sim, iid)["frozen"] and create_image_held(sim)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert create_image_held(sim)
    assert node(sim, iid)["frozen"]


def web(ec2, volumes=2):
    [iid] = run_instances(ec2, {"Role": "web"}, volumes=volumes)
    return iid


# ---- image.before / image.after by SSM ---------------------------------------------------

SSM_HOOKS = indent("""
before:
  ssm: systemctl stop worker
  timeout: 20s
after:
  ssm: systemctl start worker
  timeout: 20s
""")


def test_ssm_hooks_run_before_and_after_create_image(amirotd, ec2):
    iid = web(ec2)
    amirotd.write_policy("web", policy(SSM_HOOKS))

    p = once(amirotd)

    assert p.returncode == 0, p.stderr
    cmds = node(amirotd.sim, iid)["commands"]
    assert [c["Comment"] for c in cmds] == [f"amirotd before web {SLOT}", f"amirotd after web {SLOT}"]
    assert [c["Status"] for c in cmds] == ["Success", "Success"]
    assert all(c["DocumentName"] == "AWS-RunShellScript" for c in cmds)
    [create] = amirotd.sim.calls("CreateImage")
    sends = amirotd.sim.calls("SendCommand")
    assert sends[0]["seq"] < create["seq"] < sends[1]["seq"]
    # Each result is logged with its command id and status.
    for c in cmds:
        assert f"(command {c['CommandId']}): succeeded, Success" in p.stderr, p.stderr


def test_ssm_before_that_fails_skips_the_image_and_says_why(amirotd, ec2):
    iid = web(ec2)
    amirotd.write_policy("web", policy(SSM_HOOKS))
    agent(amirotd.sim, iid, outcome="fail")

    p = once(amirotd)

    assert p.returncode != 0
    assert amirotd.sim.calls("CreateImage") == []
    [before, after] = node(amirotd.sim, iid)["commands"]
    assert before["Status"] == "Failed"
    assert f"image.before on {iid} by SSM (command {before['CommandId']}): failed, Failed, exit code 1" in p.stderr
    assert "the script failed" in p.stderr        # the excerpt of its output
    assert "on_hook_failure" in p.stderr
    # image.after runs whenever image.before ran.
    assert after["Comment"] == f"amirotd after web {SLOT}"


def test_ssm_agent_offline_under_crash_consistent_takes_the_image_anyway(amirotd, ec2):
    iid = web(ec2)
    amirotd.write_policy("web", policy(SSM_HOOKS + "\n" + indent("on_hook_failure: crash-consistent")))
    agent(amirotd.sim, iid, agent="offline")

    p = once(amirotd)

    assert "InvalidInstanceId" in p.stderr
    assert len(amirotd.sim.calls("CreateImage")) == 1
    assert len(images(ec2, **{"tag:amirotd:policy": "web"})) == 1
    assert "crash-consistent" in p.stderr


def test_ssm_before_that_never_ends_times_out(amirotd, ec2):
    iid = web(ec2)
    amirotd.write_policy("web", policy(indent("""
before:
  ssm: sleep 3600
  timeout: 3s
""")))
    agent(amirotd.sim, iid, outcome="hang")

    started = time.monotonic()
    p = once(amirotd)

    assert p.returncode != 0
    assert time.monotonic() - started < 40
    assert "image.before" in p.stderr and "timed out" in p.stderr
    assert amirotd.sim.calls("CreateImage") == []


def test_invocation_not_visible_at_first_is_polled_again(amirotd, ec2):
    iid = web(ec2)
    amirotd.write_policy("web", policy(SSM_HOOKS))
    agent(amirotd.sim, iid, invisible_gets=2)

    p = once(amirotd)

    assert p.returncode == 0, p.stderr
    gets = amirotd.sim.calls("GetCommandInvocation")
    assert any(g.get("error_code") == "InvocationDoesNotExist" for g in gets)
    assert len(amirotd.sim.calls("CreateImage")) == 1


# ---- image.freeze ------------------------------------------------------------------------

FREEZE = indent("""
freeze: true
freeze_timeout: 60s
""")


def test_the_image_is_captured_frozen_and_thawed_right_after(amirotd, ec2):
    iid = web(ec2)
    amirotd.write_policy("web", policy(FREEZE))

    p = once(amirotd)

    assert p.returncode == 0, p.stderr
    [img] = images(ec2, **{"tag:amirotd:policy": "web"})
    assert frozen_images(amirotd.sim)[img["ImageId"]] is True
    n = node(amirotd.sim, iid)
    assert not n["frozen"]
    assert [h["event"] for h in n["history"]] == ["freeze", "thaw"]
    assert n["history"][1]["was_frozen"] is True
    assert [c["Comment"] for c in n["commands"]] == [f"amirotd freeze web {SLOT}", f"amirotd thaw web {SLOT}"]
    # The thaw went out once CreateImage had answered, before the image was available.
    [create] = amirotd.sim.calls("CreateImage")
    thaw = amirotd.sim.calls("SendCommand")[-1]
    assert create["seq"] < thaw["seq"]
    # The freeze is delivered soon or never (SSM's minimum), whatever its freeze_timeout: a
    # late one could come after its thaw.
    freeze = amirotd.sim.calls("SendCommand")[0]
    assert int(freeze["params"]["TimeoutSeconds"]) == 30, freeze["params"]


def test_the_instance_is_thawed_when_create_image_fails(amirotd, ec2):
    iid = web(ec2)
    amirotd.write_policy("web", policy(FREEZE))
    amirotd.sim.fault(action="CreateImage", kind="error", code="InvalidParameterValue", status=400,
                      message="injected")

    p = once(amirotd)

    assert p.returncode != 0
    n = node(amirotd.sim, iid)
    assert not n["frozen"]
    assert [h["event"] for h in n["history"]] == ["freeze", "thaw"]


def test_a_failed_freeze_thaws_and_follows_on_hook_failure(amirotd, ec2):
    iid = web(ec2)
    amirotd.write_policy("web", policy(FREEZE + "\n" + indent("on_hook_failure: reboot")))
    agent(amirotd.sim, iid, outcome="fail")

    p = once(amirotd)

    [call] = amirotd.sim.calls("CreateImage")
    assert call["params"].get("NoReboot") in ("false", False, None)
    assert [c["Comment"].split()[1] for c in node(amirotd.sim, iid)["commands"]] == ["freeze", "thaw"]
    assert "reboot" in p.stderr


def test_dry_run_sends_no_command(amirotd, ec2):
    iid = web(ec2)
    amirotd.write_policy("web", policy(FREEZE + "\n" + SSM_HOOKS))

    p = once(amirotd, "--dry-run")

    assert amirotd.sim.calls("SendCommand") == []
    assert amirotd.sim.calls("ListCommands") == []
    assert node(amirotd.sim, iid)["commands"] == []
    assert "would have run freeze" in p.stderr and "would have thawed" in p.stderr


def test_a_freeze_left_by_a_kill_9_is_thawed_by_the_next_run(amirotd, ec2):
    iid = web(ec2)
    amirotd.write_policy("web", policy(FREEZE))
    # CreateImage is held: the process is killed between the freeze and the thaw.
    amirotd.sim.fault(action="CreateImage", kind="hang")
    amirotd.sim.set_clock(NOW)
    proc = subprocess.Popen([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--now=" + NOW, "once"],
                            env=amirotd.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_frozen_in_create_image(amirotd.sim, iid)
    proc.kill()
    proc.wait(timeout=10)
    assert node(amirotd.sim, iid)["frozen"]
    amirotd.sim.clear_faults()

    # The same slot, later on the simulator's clock (never set back: the thaw must come after
    # the freeze in its time too).
    amirotd.sim.set_clock(LATER)
    p = amirotd.run("once", now=LATER, check=False)

    n = node(amirotd.sim, iid)
    assert not n["frozen"]
    events = [h["event"] for h in n["history"]]
    # amirotd's own thaw of the old freeze, before its new freeze; never the watchdog.
    assert events[:2] == ["freeze", "thaw"] and "watchdog" not in events
    assert n["history"][1]["was_frozen"] is True
    assert "by an earlier run that never thawed it" in p.stderr
    assert p.returncode == 0, p.stderr


def test_sigterm_while_frozen_thaws_before_the_daemon_exits(amirotd, ec2, daemon):
    iid = web(ec2)
    amirotd.write_policy("web", policy(FREEZE))
    amirotd.write_global("spread: 0s\n")
    amirotd.sim.fault(action="CreateImage", kind="hang")
    d = daemon()
    wait_frozen_in_create_image(amirotd.sim, iid)

    assert d.stop(signal.SIGTERM, timeout=30) == 0

    n = node(amirotd.sim, iid)
    assert not n["frozen"]
    assert [h["event"] for h in n["history"]] == ["freeze", "thaw"]
    e = journal.entries(d.log)
    thaws = [x for x in e if x.get("MESSAGE_ID") == HOOK_RESULT and x.get("AMIROTD_ACTION") == "thaw"]
    assert thaws and "succeeded" in thaws[-1]["MESSAGE"]


def test_a_freeze_that_cannot_be_held_is_thawed_and_counts_as_failed(amirotd, ec2):
    iid = web(ec2)
    # freeze_timeout 10s: CreateImage must have answered within 5 s of the freeze; here it
    # takes 9.
    amirotd.write_policy("web", policy(indent("""
freeze: true
freeze_timeout: 10s
""")))
    amirotd.sim.fault(action="CreateImage", kind="latency", latency_ms=9000, count=1)

    started = time.monotonic()
    p = once(amirotd)

    assert p.returncode != 0
    assert time.monotonic() - started < 60
    assert "was not answered within 5s of the freeze" in p.stderr, p.stderr
    assert "on_hook_failure" in p.stderr
    n = node(amirotd.sim, iid)
    assert [h["event"] for h in n["history"]] == ["freeze", "thaw"]
    assert n["history"][1]["was_frozen"] is True


def test_once_interrupted_while_frozen_thaws_before_it_exits(amirotd, ec2):
    iid = web(ec2)
    amirotd.write_policy("web", policy(FREEZE))
    amirotd.sim.fault(action="CreateImage", kind="hang")
    amirotd.sim.set_clock(NOW)
    proc = subprocess.Popen([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--now=" + NOW, "once"],
                            env=amirotd.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_frozen_in_create_image(amirotd.sim, iid)

    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)

    assert proc.returncode == 128 + signal.SIGINT
    n = node(amirotd.sim, iid)
    assert not n["frozen"]
    assert [h["event"] for h in n["history"]] == ["freeze", "thaw"]
    assert "the run ended while the instance was frozen" in err, err


def test_a_reload_that_removes_the_policy_while_frozen_thaws(amirotd, ec2, daemon):
    iid = web(ec2)
    amirotd.write_policy("web", policy(FREEZE))
    amirotd.write_global("spread: 0s\n")
    amirotd.sim.fault(action="CreateImage", kind="hang")
    d = daemon()
    wait_frozen_in_create_image(amirotd.sim, iid)

    (amirotd.dir / "policies.d" / "web.yaml").unlink()
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while node(amirotd.sim, iid)["frozen"] and time.monotonic() < deadline:
        time.sleep(0.2)

    n = node(amirotd.sim, iid)
    assert not n["frozen"]
    assert [h["event"] for h in n["history"]] == ["freeze", "thaw"]
    assert d.proc.poll() is None
    assert d.stop(signal.SIGTERM, timeout=30) == 0


# ---- Windows instances (ec2sim's DescribeInstances says `platform: windows`) --------------

def windows(sim):
    [iid] = sim.seed(instances=[{"tags": {"Role": "web"}, "platform": "windows", "volumes": 2}])["instances"]
    return iid


def test_a_freeze_on_a_windows_instance_fails_clearly_and_skips_by_default(amirotd, ec2):
    iid = windows(amirotd.sim)
    amirotd.write_policy("web", policy(FREEZE))

    p = once(amirotd)

    assert p.returncode != 0
    # Nothing is sent to the instance (fsfreeze is Linux's), and no image is made.
    assert amirotd.sim.calls("SendCommand") == []
    assert amirotd.sim.calls("CreateImage") == []
    assert f"image.freeze runs fsfreeze, on Linux only; {iid} runs Windows" in p.stderr, p.stderr
    assert "on_hook_failure" in p.stderr


def test_a_freeze_on_a_windows_instance_follows_crash_consistent(amirotd, ec2):
    iid = windows(amirotd.sim)
    amirotd.write_policy("web", policy(FREEZE + "\n" + indent("on_hook_failure: crash-consistent")))

    p = once(amirotd)

    assert f"{iid} runs Windows" in p.stderr, p.stderr
    assert amirotd.sim.calls("SendCommand") == []
    [call] = amirotd.sim.calls("CreateImage")
    assert call["params"]["InstanceId"] == iid
    assert call["params"].get("NoReboot") in ("true", True)
    assert len(images(ec2, **{"tag:amirotd:policy": "web"})) == 1


def test_ssm_hooks_without_a_document_run_powershell_on_a_windows_instance(amirotd, ec2):
    iid = windows(amirotd.sim)
    linux = web(ec2)
    amirotd.write_policy("web", policy(indent("""
before:
  ssm: Write-Output quiesce
  timeout: 20s
after:
  ssm: Write-Output resume
  timeout: 20s
""")))

    p = once(amirotd)

    assert p.returncode == 0, p.stderr
    for instance, document in ((iid, "AWS-RunPowerShellScript"), (linux, "AWS-RunShellScript")):
        cmds = node(amirotd.sim, instance)["commands"]
        assert [c["Comment"].split()[1] for c in cmds] == ["before", "after"]
        assert [c["DocumentName"] for c in cmds] == [document, document]
        assert [c["Status"] for c in cmds] == ["Success", "Success"]
    assert len(images(ec2, **{"tag:amirotd:policy": "web"})) == 2


# ---- A restart with nothing left to create (review findings 1, 10) -------------------------

def kill_9_after_create_image_answered(amirotd, ec2, iid, now=NOW):
    """A `once` killed after CreateImage answered and before its thaw went out (the thaw's
    SendCommand, the second one, is slow and then throttled: it never runs): the slot's
    image exists, the instance is frozen."""
    amirotd.sim.fault(action="SendCommand", kind="latency", latency_ms=5000, after=1)
    amirotd.sim.fault(action="SendCommand", kind="throttle", after=1)
    amirotd.sim.set_clock(now)
    proc = subprocess.Popen([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--now=" + now, "once"],
                            env=amirotd.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not images(ec2, **{"tag:amirotd:policy": "web"}) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.kill()
    proc.wait(timeout=10)
    assert images(ec2, **{"tag:amirotd:policy": "web"})
    assert node(amirotd.sim, iid)["frozen"]
    amirotd.sim.clear_faults()


def test_a_left_freeze_is_thawed_by_a_run_with_nothing_to_create(amirotd, ec2):
    iid = web(ec2)
    amirotd.write_policy("web", policy(FREEZE))
    kill_9_after_create_image_answered(amirotd, ec2, iid)
    # The run itself has nothing to do; the search for the old freeze is slow.
    amirotd.sim.fault(action="ListCommands", kind="latency", latency_ms=6000)

    amirotd.sim.set_clock(LATER)
    p = amirotd.run("once", now=LATER, check=False)

    assert amirotd.sim.calls("CreateImage")[-1:] and len(amirotd.sim.calls("CreateImage")) == 1
    n = node(amirotd.sim, iid)
    assert not n["frozen"], p.stderr
    assert [h["event"] for h in n["history"]] == ["freeze", "thaw"]
    # The thaw's own result is logged before the command exits.
    assert "by an earlier run that never thawed it" in p.stderr
    assert "a freeze of an earlier run, with no thaw since" in p.stderr and "succeeded" in p.stderr, p.stderr
    assert p.returncode == 0, p.stderr


def test_the_recovered_thaw_is_logged_as_a_thaw(amirotd, ec2, journald):
    iid = web(ec2)
    amirotd.write_policy("web", policy(FREEZE))
    kill_9_after_create_image_answered(amirotd, ec2, iid)

    amirotd.sim.set_clock(LATER)
    started = journal.now_usec()
    proc = subprocess.Popen([AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"), "--now=" + LATER,
                             "--log-target=journal", "once"], env=amirotd.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=120)
    e = journal.entries(journal.Source(proc.pid, started))

    assert not node(amirotd.sim, iid)["frozen"]
    found = [x for x in e if x.get("MESSAGE_ID") == THAW_RECOVERED]
    assert any("never thawed it" in x["MESSAGE"] for x in found), err
    assert any("succeeded" in x["MESSAGE"] for x in found), err
    assert all(x.get("AMIROTD_ACTION") == "thaw" for x in found), [x.get("AMIROTD_ACTION") for x in found]


# ---- A thaw whose SendCommand fails (review finding 2) ------------------------------------

@pytest.mark.parametrize("throttled", [3, 6])
def test_a_thaw_whose_send_command_is_throttled_is_sent_again(amirotd, ec2, throttled):
    iid = web(ec2)
    amirotd.write_policy("web", policy(FREEZE))
    # The freeze goes out; the thaw's SendCommand is throttled through all of the client's
    # own attempts (3 each time): once by the run's, then (6) the keeper's first too.
    amirotd.sim.fault(action="SendCommand", kind="throttle", after=1, count=throttled)

    p = once(amirotd)

    n = node(amirotd.sim, iid)
    assert not n["frozen"], p.stderr
    assert [h["event"] for h in n["history"]] == ["freeze", "thaw"]
    assert n["history"][1]["was_frozen"] is True
    sends = amirotd.sim.calls("SendCommand")
    assert [s.get("fault") for s in sends] == [None] + ["throttle"] * throttled + [None]
    assert "sending the thaw of " + iid + " again" in p.stderr, p.stderr
    if throttled > 3:
        assert f"the thaw of {iid} was not sent" in p.stderr and "again in 1s" in p.stderr, p.stderr
    assert p.returncode == 0, p.stderr


# ---- image.after on a stop (review finding 7) -----------------------------------------------

def test_a_stop_after_image_before_still_runs_image_after(amirotd, ec2, daemon):
    iid = web(ec2)
    amirotd.write_policy("web", policy(SSM_HOOKS))
    amirotd.write_global("spread: 0s\n")
    amirotd.sim.fault(action="CreateImage", kind="hang")
    d = daemon()
    deadline = time.monotonic() + 30
    while not amirotd.sim.calls("CreateImage") and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)   # CreateImage is held (the call log shows a hung call once it ends)

    assert d.stop(signal.SIGTERM, timeout=30) == 0

    cmds = node(amirotd.sim, iid)["commands"]
    assert [c["Comment"].split()[1] for c in cmds] == ["before", "after"], cmds
    assert cmds[1]["Status"] == "Success"
    e = journal.entries(d.log)
    afters = [x for x in e if x.get("AMIROTD_ACTION") == "image.after"]
    assert afters and "succeeded" in afters[-1]["MESSAGE"], [x["MESSAGE"] for x in e[-10:]]
