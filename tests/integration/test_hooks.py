# image.before / image.after / image.freeze around CreateImage, through the real binary
# against ec2sim: local hooks on this host (their environment, order, failures and
# timeouts under each image.on_hook_failure), and what `plan` and a dry run show of them.
import json
import os
import signal
import subprocess
import time

from conftest import images, run_instances, tag_dict

NOW = "2030-01-01T03:30:00Z"
SLOT = "20300101T030000Z"


def policy(image, name="web"):
    return f"""\
    name: {name}
    targets:
      tags: {{Role: web}}
    schedule:
      every: 24h
      at: "03:00"
    image:
{image}
    retain:
      count: 3
"""


def indent(text, n=6):
    return "\n".join(" " * n + line for line in text.strip("\n").splitlines())


def creates_seen(sim):
    """A shell line that writes how many CreateImage calls the simulator has seen so far."""
    url = sim.url + "/_sim/calls?action=CreateImage"
    return ("/usr/bin/python3 -c \"import json,urllib.request;"
            f"print(len(json.load(urllib.request.urlopen('{url}'))))\"")


def read_env(path):
    out = {}
    for line in path.read_text().splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


def once(amirotd, *args, check=True):
    amirotd.sim.set_clock(NOW)
    return amirotd.run("once", *args, now=NOW, check=check)


def test_local_hooks_run_around_create_image_with_their_environment(amirotd, ec2, tmp_path):
    [iid] = run_instances(ec2, {"Role": "web"})
    out = tmp_path / "hooks"
    out.mkdir()
    amirotd.write_policy("web", policy(indent(f"""
before:
  local: env > {out}/before.env; {creates_seen(amirotd.sim)} > {out}/before.creates
  timeout: 30s
after:
  local: env > {out}/after.env; {creates_seen(amirotd.sim)} > {out}/after.creates
  timeout: 30s
""")))

    once(amirotd)

    [img] = images(ec2, **{"tag:amirotd:policy": "web"})
    before, after = read_env(out / "before.env"), read_env(out / "after.env")
    # Before ran before CreateImage, after once it had answered (with the image's id).
    assert (out / "before.creates").read_text().strip() == "0"
    assert (out / "after.creates").read_text().strip() == "1"
    for env, hook in ((before, "before"), (after, "after")):
        assert env["AMIROTD_POLICY"] == "web"
        assert env["AMIROTD_REGION"] == "us-east-1"
        assert env["AMIROTD_INSTANCE_ID"] == iid
        assert env["AMIROTD_SLOT"] == SLOT
        assert env["AMIROTD_HOOK"] == hook
        # The daemon's credentials are its own, never the hook's.
        assert "AWS_SECRET_ACCESS_KEY" not in env and "AWS_ACCESS_KEY_ID" not in env
        assert env["PATH"] == "/usr/bin:/bin"
    assert "AMIROTD_IMAGE_ID" not in before
    assert after["AMIROTD_IMAGE_ID"] == img["ImageId"]


def failing_before(out, failure, command="echo quiesce failed >&2; exit 3", timeout="30s"):
    return policy(indent(f"""
before:
  local: {command}
  timeout: {timeout}
after:
  local: touch {out}/after-ran
on_hook_failure: {failure}
"""))


def test_failed_local_before_skips_the_image_and_fails_the_run_by_default(amirotd, ec2, tmp_path):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", failing_before(tmp_path, "skip"))

    p = once(amirotd, check=False)

    assert p.returncode != 0
    assert amirotd.sim.calls("CreateImage") == []
    assert images(ec2, **{"tag:amirotd:policy": "web"}) == []
    # image.after runs whenever image.before ran, like a `finally`.
    assert (tmp_path / "after-ran").exists()
    # The log says what failed, with the hook's own words, and how to change it.
    assert "exited with status 3" in p.stderr and "quiesce failed" in p.stderr
    assert "on_hook_failure" in p.stderr


def test_failed_local_before_under_crash_consistent_takes_the_image_anyway(amirotd, ec2, tmp_path):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", failing_before(tmp_path, "crash-consistent"))

    p = once(amirotd, check=False)

    [call] = amirotd.sim.calls("CreateImage")
    assert call["params"].get("NoReboot") in ("true", True)
    assert len(images(ec2, **{"tag:amirotd:policy": "web"})) == 1
    assert "crash-consistent" in p.stderr
    assert (tmp_path / "after-ran").exists()


def test_failed_local_before_under_reboot_takes_the_image_with_a_reboot(amirotd, ec2, tmp_path):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", failing_before(tmp_path, "reboot"))

    p = once(amirotd, check=False)

    [call] = amirotd.sim.calls("CreateImage")
    assert call["params"].get("NoReboot") in ("false", False)
    assert len(images(ec2, **{"tag:amirotd:policy": "web"})) == 1
    assert "reboot" in p.stderr


def wait_gone(pid, seconds=10):
    """True once pid is no process, or a zombie its new parent has yet to reap."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.1)
    return False


def test_local_hook_timeout_ends_its_whole_process_group(amirotd, ec2, tmp_path):
    run_instances(ec2, {"Role": "web"})
    # A child of the script outlives the shell unless the whole group is ended.
    command = f"sh -c 'echo $$ > {tmp_path}/child.pid; exec sleep 60' & sleep 60"
    amirotd.write_policy("web", failing_before(tmp_path, "skip", command=command, timeout="1s"))

    started = time.monotonic()
    p = once(amirotd, check=False)
    took = time.monotonic() - started

    assert p.returncode != 0
    assert took < 30
    assert "did not end within 1s" in p.stderr
    assert amirotd.sim.calls("CreateImage") == []
    assert wait_gone(int((tmp_path / "child.pid").read_text()))


def test_local_hook_timeout_kills_a_child_that_ignores_sigterm(amirotd, ec2, tmp_path):
    run_instances(ec2, {"Role": "web"})
    # The shell dies of the SIGTERM at once; its child ignores it and would live on after
    # the shell is reaped, unless the group is sent SIGKILL then.
    command = f"sh -c 'trap \"\" TERM; echo $$ > {tmp_path}/child.pid; exec sleep 60' & sleep 60"
    amirotd.write_policy("web", failing_before(tmp_path, "skip", command=command, timeout="1s"))

    p = once(amirotd, check=False)

    assert "did not end within 1s" in p.stderr
    pid = int((tmp_path / "child.pid").read_text())
    assert wait_gone(pid), open(f"/proc/{pid}/status").read()


def test_a_reload_that_removes_the_policy_kills_and_reaps_its_running_local_hook(amirotd, ec2, tmp_path, daemon):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", failing_before(tmp_path, "skip", command=f"echo $$ > {tmp_path}/hook.pid; exec sleep 60"))
    amirotd.write_global("spread: 0s\n")
    d = daemon()
    deadline = time.monotonic() + 30
    while not (tmp_path / "hook.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    pid = int((tmp_path / "hook.pid").read_text())

    (amirotd.dir / "policies.d" / "web.yaml").unlink()
    d.proc.send_signal(signal.SIGHUP)

    # Killed, and reaped by the daemon, which goes on: no zombie child of it is left.
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}")
    assert d.proc.poll() is None
    assert d.stop(signal.SIGTERM, timeout=30) == 0


def test_dry_run_runs_no_hook_and_says_what_would_run(amirotd, ec2, tmp_path):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", policy(indent(f"""
before:
  local: touch {tmp_path}/before-ran
after:
  local: touch {tmp_path}/after-ran
""")))

    p = once(amirotd, "--dry-run", check=False)

    assert not (tmp_path / "before-ran").exists()
    assert not (tmp_path / "after-ran").exists()
    assert "would have run image.before" in p.stderr
    assert "would have run image.after" in p.stderr


def test_plan_shows_the_hooks_of_each_create(amirotd, ec2, tmp_path):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", policy(indent("""
before:
  local: "true"
after:
  local: "true"
""")))
    amirotd.sim.set_clock(NOW)

    text = amirotd.run("plan", now=NOW).stdout
    rows = json.loads(amirotd.run("plan", "--json", now=NOW).stdout)

    [create] = [line for line in text.splitlines() if " create " in f" {line} "]
    assert "with hooks: before, after" in create
    [row] = [r for r in rows if r["action"] == "create"]
    assert row["hooks"] == ["before", "after"]


def test_a_policy_without_hooks_plans_no_hooks(amirotd, ec2):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", policy(indent("reboot: false")))
    amirotd.sim.set_clock(NOW)

    rows = json.loads(amirotd.run("plan", "--json", now=NOW).stdout)

    [row] = [r for r in rows if r["action"] == "create"]
    assert "hooks" not in row


def test_a_local_hook_inherits_no_descriptor_of_the_daemon(amirotd, ec2, tmp_path):
    run_instances(ec2, {"Role": "web"})
    # The daemon's HTTP connections are open while the hooks run (it has just called EC2).
    listing = "ls /proc/$$/fd > {}"
    amirotd.write_policy("web", policy(indent(f"""
before:
  local: {listing.format(tmp_path / "before.fds")}
after:
  local: {listing.format(tmp_path / "after.fds")}
""")))
    # What the same shell holds of its own (dash keeps one on /dev/null) when it was
    # started with nothing but 0, 1 and 2.
    subprocess.run(["/bin/sh", "-c", listing.format(tmp_path / "bare.fds")], env={},
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   close_fds=True, check=True)
    bare = set((tmp_path / "bare.fds").read_text().split())

    once(amirotd)

    assert {"0", "1", "2"} <= bare
    for hook in ("before", "after"):
        assert set((tmp_path / f"{hook}.fds").read_text().split()) == bare, hook
