# The hooks around CreateImage as `amirotd check` shows them (the real binary on the
# golden cases tests/data/config/hooks and err-hooks): the summary names them in the
# order they run, and a mistake stops the check with its file:line:col.
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AMIROTD = os.environ.get("AMIROTD", os.path.join(ROOT, "build", "amirotd"))


def check(case, *args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="", AWS_PROFILE="")
    return subprocess.run([AMIROTD, "check", "--config", f"tests/data/config/{case}/amirotd.yaml", *args],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=30, check=False)


def test_check_shows_the_hooks_in_the_order_they_run():
    r = check("hooks")
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if line.startswith("  hooks:")]
    assert lines == [
        "  hooks:    freeze (thaws itself after 1m), then CreateImage, then thaw; when the freeze fails: skip",
        "  hooks:    before on the instance by SSM (the platform's document, 2m), then freeze (thaws itself "
        "after 3m), then CreateImage, then thaw, then after on the instance by SSM (the platform's document, "
        "5m); when before or the freeze fails: crash-consistent",
        "  hooks:    before on the instance by SSM (AWS-RunPowerShellScript, 10m), then CreateImage, then after "
        "on the instance by SSM (AWS-RunPowerShellScript, 5m); when before fails: reboot",
        "  hooks:    CreateImage, then after on this host (/bin/sh -c, 30s)",
    ]


def test_check_dump_reads_back_as_the_same_hooks():
    r = check("hooks", "--dump")
    assert r.returncode == 0, r.stderr
    assert '        ssm: "systemctl stop queue-worker\\x0async"\n' in r.stdout
    assert "      freeze_timeout: 3m\n      after:\n" in r.stdout


def test_check_refuses_the_mistakes_at_their_place():
    r = check("err-hooks")
    assert r.returncode != 0
    where = "tests/data/config/err-hooks/policies.d/hooks.yaml"
    assert f"error: {where}:6:13: 'before' expects a mapping" in r.stderr
    assert f"error: {where}:16:13: 'freeze: true' with 'reboot: true' is pointless" in r.stderr
    assert f"error: {where}:18:5: unknown key 'befor' in 'image', did you mean 'before'?" in r.stderr
    assert "error: configuration invalid: 11 errors" in r.stderr
