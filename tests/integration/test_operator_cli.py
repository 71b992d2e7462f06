# What an operator sees from the command line (issue 12): one credentials story,
# honest output and exit statuses when EC2 cannot be read, a selection that matches
# nothing, help for every command, the words of errors, and a dry run that checks
# every permission a run needs. The real binary against the simulator.
import json
import os
import time

import journal
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
"""

NOW = "2030-01-01T03:30:00Z"
NO_TARGETS_ID = "5329304a4946492db448b2b4eb35c54c"


def without_keys(amirotd):
    """The environment of a root shell with no AWS keys: what the tour's `amirotd plan` meets."""
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        amirotd.env.pop(k, None)


def write_credentials(path, key="AKIDEXAMPLE", secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"):
    path.write_text(f"[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n")
    os.chmod(path, 0o600)


# ---- 6. help --------------------------------------------------------------------------------

def test_help_lists_every_command_and_each_command_has_its_own_usage(amirotd):
    out = amirotd.run("--help").stdout
    commands = [line.split()[0] for line in out.split("Commands:\n")[1].split("\n\n")[0].splitlines()]
    assert commands == ["run", "check", "plan", "once", "list", "adopt", "status", "version", "help"]

    for cmd in ("run", "check", "plan", "once", "list", "adopt", "status"):
        by_help = amirotd.run("help", cmd).stdout
        assert by_help.startswith("Usage: amirotd [OPTIONS] ")
        assert amirotd.run(cmd, "--help").stdout == by_help, cmd
    assert "--dry-run" in amirotd.run("help", "once").stdout
    assert "--dry-run" not in amirotd.run("help", "plan").stdout
    assert "--region=REGION" in amirotd.run("help", "adopt").stdout

    p = amirotd.run("help", "nope", check=False)
    assert p.returncode == 2
    assert p.stderr == "amirotd: unknown command 'nope'; try 'amirotd --help'\n"


# ---- 2. honest output and exit statuses ------------------------------------------------------

def test_plan_and_list_print_no_empty_result_when_ec2_cannot_be_read(amirotd, ec2):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY)
    without_keys(amirotd)

    p = amirotd.run("plan", now=NOW, check=False)
    assert p.returncode == 3, p.stderr
    assert p.stdout == ""
    assert "nothing to do" not in p.stdout + p.stderr
    # The cause once, not once per describe; then the conclusion.
    assert p.stderr.count("no AWS credentials") == 1, p.stderr
    assert "error: no plan: EC2 could not be read for any selected policy region" in p.stderr

    p = amirotd.run("plan", "--json", now=NOW, check=False)
    assert p.returncode == 3
    out = json.loads(p.stdout)
    assert out["error"] == "EC2 could not be read for 1 of 1 policy region: the plan is incomplete"
    assert [(f["policy"], f["region"]) for f in out["failures"]] == [("web", "us-east-1")]
    assert out["failures"][0]["error"].startswith("no AWS credentials: ")
    assert out["actions"] == []

    p = amirotd.run("list", now=NOW, check=False)
    assert p.returncode == 3
    assert p.stdout == ""
    assert "no managed images" not in p.stderr

    p = amirotd.run("list", "--json", now=NOW, check=False)
    assert p.returncode == 3
    out = json.loads(p.stdout)
    assert out["error"].startswith("EC2 could not be read for 1 of 1 policy region")
    assert out["images"] == []


def test_exit_statuses_tell_usage_configuration_aws_and_partial_failure_apart(amirotd, ec2):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY)
    assert amirotd.run("plan", "--no-such-option", check=False).returncode == 2
    p = amirotd.run("plan", "--policy", "nope", check=False)
    assert p.returncode == 2
    assert "--policy: no policy named 'nope'" in p.stderr

    # Partial: one region read, one not (its endpoint refuses connections).
    amirotd.write_policy("web", POLICY.replace("    targets:", "    regions: [us-east-1, eu-west-1]\n    targets:"))
    amirotd.write_global("endpoints: {eu-west-1: 'http://127.0.0.1:1'}\n")
    p = amirotd.run("plan", now=NOW, check=False)
    assert p.returncode == 1, p.stderr
    assert "us-east-1" in p.stdout and "eu-west-1" not in p.stdout
    assert "warning: the plan leaves out 1 policy region that EC2 could not be read for" in p.stderr

    amirotd.write_policy("broken", "name: [\n")
    p = amirotd.run("plan", check=False)
    assert p.returncode == 78
    assert "configuration invalid: 1 error\n" in p.stderr



def test_region_is_refused_by_every_command_but_adopt(amirotd, ec2):
    # --region limits adopt only: elsewhere it would read as a limit that is not kept
    # (once --region us-east-1 would act in every region of the policy)
    amirotd.write_policy("web", POLICY)
    for args in (("check",), ("plan",), ("once", "--policy", "web"), ("list",), ("status",), ()):
        mark = len(amirotd.sim.calls())
        p = amirotd.run(*args, "--region", "eu-west-9", now=NOW, check=False, timeout=20)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert p.stderr == "amirotd: --region is only for 'adopt'; try 'amirotd help adopt'\n", args
        assert p.stdout == "" and amirotd.sim.calls()[mark:] == [], args
    p = amirotd.run("help", "adopt")
    assert "--region=REGION" in p.stdout

# ---- 1. one credentials story ----------------------------------------------------------------

def test_the_cli_reads_the_configured_credentials_file_as_the_service_gets_it(amirotd, ec2, tmp_path):
    ids = run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY)
    without_keys(amirotd)

    # The default: aws-credentials beside the global file (/etc/amirotd/aws-credentials).
    write_credentials(amirotd.dir / "aws-credentials")
    p = amirotd.run("plan", now=NOW)
    assert ids[0] in p.stdout

    # Named by the key, anywhere.
    os.rename(amirotd.dir / "aws-credentials", tmp_path / "keys")
    amirotd.write_global(f"credentials_file: {tmp_path / 'keys'}\n")
    assert ids[0] in amirotd.run("plan", now=NOW).stdout
    assert "credentials_file: " + str(tmp_path / "keys") in amirotd.run("check", "--dump").stdout

    # The service's copy ($CREDENTIALS_DIRECTORY/aws-credentials, from LoadCredential=) comes first.
    creds_dir = tmp_path / "creds"
    creds_dir.mkdir()
    write_credentials(creds_dir / "aws-credentials", key="AKIDUNKNOWN")
    amirotd.env["CREDENTIALS_DIRECTORY"] = str(creds_dir)
    p = amirotd.run("plan", now=NOW, check=False)
    assert p.returncode == 3 and "AuthFailure" in p.stderr, p.stderr
    del amirotd.env["CREDENTIALS_DIRECTORY"]

    # Named and missing: said, not papered over by another source.
    os.unlink(tmp_path / "keys")
    p = amirotd.run("plan", now=NOW, check=False)
    assert p.returncode == 3
    assert f"credentials_file '{tmp_path / 'keys'}' cannot be read: No such file or directory" in p.stderr


# ---- 3. a selection that matches nothing -----------------------------------------------------

def test_a_selector_that_matches_nothing_is_shown_in_plan_and_warned_once(amirotd, ec2):
    run_instances(ec2, {"Role": "db"})
    amirotd.write_policy("web", POLICY)
    p = amirotd.run("plan", now=NOW)
    assert "nothing to do" not in p.stdout
    assert "web     us-east-1  none" in p.stdout
    assert "no instance matches the policy's targets" in p.stdout
    assert p.stderr.count("warning: policy 'web' in us-east-1: no instance matches its targets "
                          "(tags Role=web, states running, stopped), so it creates nothing") == 1, p.stderr


def test_the_service_warns_once_per_configuration_and_says_so_in_its_status(amirotd, ec2, daemon):
    run_instances(ec2, {"Role": "db"})
    amirotd.write_global("spread: 0s\n")
    amirotd.write_policy("web", POLICY.replace("every: 24h", "every: 2s").replace('      at: "03:00"\n', ""))
    d = daemon()
    d.notify.wait_for("READY=1")
    status = d.notify.wait_for("STATUS=1 policy; next web at", timeout=30)
    deadline = time.monotonic() + 30
    while not any("web/us-east-1 matches no instance" in s for s in status) and time.monotonic() < deadline:
        time.sleep(0.2)
        status = d.notify.wait_for("STATUS=")
    assert any("web/us-east-1 matches no instance" in s for s in status), status
    time.sleep(5)       # two more slots: no second warning
    warned = [e for e in journal.entries(d.log) if e.get("MESSAGE_ID") == NO_TARGETS_ID]
    assert len(warned) == 1, warned
    assert warned[0]["PRIORITY"] == "4"
    assert warned[0]["AMIROTD_POLICY"] == "web"

    # A reload is a new configuration generation: warned again, once.
    d.proc.send_signal(1)
    journal.wait_for(d.log, lambda e: len([x for x in e if x.get("MESSAGE_ID") == NO_TARGETS_ID]) >= 2,
                     timeout=30)
    time.sleep(4)
    assert len([x for x in journal.entries(d.log) if x.get("MESSAGE_ID") == NO_TARGETS_ID]) == 2
    assert d.stop() == 0


# ---- 8. words ---------------------------------------------------------------------------------

def test_a_name_that_does_not_resolve_is_said_to_be_dns_not_a_route(amirotd):
    amirotd.write_policy("web", POLICY)
    amirotd.write_global("endpoints: {us-east-1: 'http://no-such-host.invalid'}\n")
    p = amirotd.run("plan", now=NOW, check=False)
    assert p.returncode == 3
    assert "the host name 'no-such-host.invalid' could not be resolved (DNS)" in p.stderr, p.stderr
    assert "No route to host" not in p.stderr


def test_unused_pacing_buckets_are_not_offered(amirotd):
    amirotd.write_policy("web", POLICY)
    amirotd.write_global("pacing: {copy_image: {capacity: 5, refill: 1}}\n")
    p = amirotd.run("check")
    assert "warning: " in p.stderr and "no call of amirotd draws from the 'copy_image' bucket, ignoring" in p.stderr
    dump = amirotd.run("check", "--dump").stdout
    buckets = dump.split("pacing:\n")[1].split("max_in_flight")[0]
    assert [line.split(":")[0].strip() for line in buckets.splitlines()] == ["describe", "mutating", "delete"]


def test_a_warning_reads_the_same_from_the_cli_and_the_service(amirotd, daemon):
    amirotd.write_global("pacing: {copy_image: {capacity: 5, refill: 1}}\n")
    amirotd.write_policy("web", POLICY)
    cli = [line for line in amirotd.run("check").stderr.splitlines() if "copy_image" in line]
    assert len(cli) == 1 and cli[0].startswith("warning: ")
    d = daemon()
    d.notify.wait_for("READY=1")
    e = journal.wait_for(d.log, lambda e: any("copy_image" in x.get("MESSAGE", "") for x in e), timeout=30)
    service = [x for x in e if "copy_image" in x.get("MESSAGE", "")]
    assert [x["MESSAGE"] for x in service] == [cli[0][len("warning: "):]]
    assert service[0]["PRIORITY"] == "4"
    assert d.stop() == 0


def test_once_summary_has_right_plurals(amirotd, ec2):
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY)
    amirotd.sim.set_clock(NOW)
    p = amirotd.run("once", now=NOW)
    assert "1 created, 0 already there, 1 available, 0 failed, 0 retired, 0 snapshots deleted, " \
           "0 left in use, 0 errors" in p.stderr
    assert "1 policy valid" in amirotd.run("check").stdout


# ---- 9. a dry run that checks what it says -----------------------------------------------------

def verdicts(stdout):
    """Action -> verdict and detail; an action asked twice (CreateTags: with CreateImage, then
    on an image after its creation) has its second row as "CreateTags#2"."""
    table = stdout.split("Permissions a run needs")[1].splitlines()[2:]
    out = {}
    for line in table:
        if line.strip():
            action = line.split()[2]
            out[action + "#2" if action in out else action] = line.split(None, 3)[3]
    return out


def test_dry_run_checks_every_permission_a_run_needs_retirement_included(amirotd, ec2):
    run_instances(ec2, {"Role": "web"}, volumes=2)
    amirotd.write_policy("web", POLICY)

    # Nothing made yet: what cannot be asked is said, with the reason.
    p = amirotd.run("once", "--dry-run", now=NOW)
    v = verdicts(p.stdout)
    assert list(v) == ["DescribeInstances", "DescribeImages", "DescribeSnapshots", "CreateImage", "CreateTags",
                       "DeregisterImage", "DeleteSnapshot", "DescribeLaunchTemplateVersions",
                       "DescribeImageAttribute", "DescribeVolumes", "EnableImageDeprecation", "DisableImage",
                       "EnableImageDeregistrationProtection", "DisableImageDeregistrationProtection",
                       "CreateTags#2", "ModifyImageAttribute", "CopyImage", "CreateLaunchTemplateVersion",
                       "ModifyLaunchTemplate", "ssm:GetParameter"]
    assert v["CopyImage"] == "not checked      not needed: no copy_to"
    assert v["DisableImage"] == "not checked      not needed: no retire.disable_after"
    assert v["CreateTags#2"] == "not checked      not needed: no retire, protect.newest or image.deprecate_after"
    assert v["DescribeLaunchTemplateVersions"].startswith("permitted")
    assert v["DescribeImageAttribute"] == "not checked      not needed: no protect.last_launched_within"
    assert v["CreateImage"].startswith("permitted") and "i-" in v["CreateImage"]
    assert v["CreateTags"] == "permitted        with CreateImage (tags at creation)"
    assert v["DeregisterImage"] == "not checked      the policy has no image here yet to ask it about"
    assert v["DeleteSnapshot"] == "not checked      the policy has no snapshot here yet to ask it about"
    assert amirotd.sim.images() == [] or all(i.get("State") != "pending" for i in amirotd.sim.images())

    # With an image of the policy, retirement is asked too; a refused permission is named
    # and fails the command with status 3.
    amirotd.sim.set_clock(NOW)
    amirotd.run("once", now=NOW)
    amirotd.sim.admin("POST", "keys", {"access_key": "AKIDEXAMPLE", "deny": ["DeleteSnapshot"]})
    before = len(amirotd.sim.calls("DeregisterImage"))
    p = amirotd.run("once", "--dry-run", now=NOW, check=False)
    assert p.returncode == 3, p.stdout + p.stderr
    v = verdicts(p.stdout)
    assert v["DeregisterImage"].startswith("permitted") and "ami-" in v["DeregisterImage"]
    assert v["DeleteSnapshot"].startswith("not permitted    UnauthorizedOperation: ")
    assert all(v[a].startswith("permitted") for a in ("DescribeInstances", "DescribeImages", "DescribeSnapshots",
                                                       "CreateImage", "CreateTags"))
    # DryRun only: nothing was deregistered or deleted.
    calls = amirotd.sim.calls("DeregisterImage")[before:]
    assert calls and all(c["params"].get("DryRun") == "true" for c in calls)
    assert len([i for i in ec2.describe_images(Owners=["self"])["Images"]]) == 1


def test_dry_run_asks_for_the_stages_and_protections_a_policy_uses(amirotd, ec2):
    """retire, protect.newest, image.deprecate_after and volumes' exclude_tags each add
    their calls to the table, asked with DryRun on the policy's image; a refused one is
    named and fails the command, and nothing changes."""
    run_instances(ec2, {"Role": "web"}, volumes=2)
    amirotd.write_policy("web", POLICY)
    amirotd.sim.set_clock(NOW)
    amirotd.run("once", now=NOW)
    amirotd.write_policy("web", POLICY + """\
    protect: {newest: 1}
    retire: {disable_after: 1d, deregister_after: 7d}
    image:
      deprecate_after: 180d
      volumes: {exclude_tags: {Scratch: "true"}}
""")
    amirotd.sim.admin("POST", "keys", {"access_key": "AKIDEXAMPLE", "deny": ["DisableImage"]})
    image = ec2.describe_images(Owners=["self"])["Images"][0]

    p = amirotd.run("once", "--dry-run", now=NOW, check=False)

    assert p.returncode == 3, p.stdout + p.stderr
    v = verdicts(p.stdout)
    assert v["DisableImage"].startswith("not permitted    UnauthorizedOperation: ")
    for action in ("EnableImageDeprecation", "EnableImageDeregistrationProtection",
                   "DisableImageDeregistrationProtection", "CreateTags#2"):
        assert v[action].startswith("permitted") and image["ImageId"] in v[action], (action, v[action])
    assert v["DescribeVolumes"].startswith("permitted")
    for action in ("EnableImageDeprecation", "EnableImageDeregistrationProtection", "CreateTags"):
        calls = amirotd.sim.calls(action)
        assert calls and all(c["params"].get("DryRun") == "true" for c in calls), action
    after = amirotd.sim.images()[0]     # ec2sim's record: Debian's botocore predates the protection field
    assert after.get("DeprecationTime") is None and after["DeregistrationProtection"] == "disabled"
    assert after["State"] == "available" and "amirotd:retired-at" not in after["Tags"]


def test_dry_run_asks_for_distribution_where_each_call_acts(amirotd, ec2):
    """share, copy_to, launch_template and ssm_parameter add their calls: CopyImage in the
    destination's region, the template's calls on the template, GetParameter of the
    parameter's name (SSM has no DryRun; a name not there yet is allowed). A refused one
    is named with its place and fails the command; nothing is copied or changed."""
    run_instances(ec2, {"Role": "web"})
    amirotd.write_policy("web", POLICY)
    amirotd.sim.set_clock(NOW)
    amirotd.run("once", now=NOW)
    ec2.create_launch_template(LaunchTemplateName="web-golden",
                               LaunchTemplateData={"ImageId": "ami-0123456789abcdef0"})
    amirotd.write_policy("web", POLICY + """\
    share: {accounts: ["444455556666"]}
    copy_to:
      - region: eu-west-1
    launch_template:
      name: web-golden
      set_default: true
    ssm_parameter:
      - /golden/{policy}/latest
""")

    p = amirotd.run("once", "--dry-run", now=NOW)
    v = verdicts(p.stdout)
    assert v["ModifyImageAttribute"].startswith("permitted") and "ami-" in v["ModifyImageAttribute"], p.stdout
    assert v["CopyImage"] == "permitted        eu-west-1", p.stdout
    assert v["CreateLaunchTemplateVersion"] == "permitted        web-golden in us-east-1", p.stdout
    assert v["ModifyLaunchTemplate"] == "permitted        web-golden in us-east-1", p.stdout
    assert v["ssm:GetParameter"] == "permitted        '/golden/web/latest' in us-east-1", p.stdout

    amirotd.sim.admin("POST", "keys", {"access_key": "AKIDEXAMPLE",
                                       "deny": ["CopyImage", "ModifyLaunchTemplate", "GetParameter"]})
    p = amirotd.run("once", "--dry-run", now=NOW, check=False)
    # The dry run's own distribution is refused the same calls: its errors (status 1) come first.
    assert p.returncode in (1, 3), p.stdout + p.stderr
    v = verdicts(p.stdout)
    assert v["CopyImage"].startswith("not permitted    eu-west-1: UnauthorizedOperation: "), p.stdout
    assert v["ModifyLaunchTemplate"].startswith("not permitted    web-golden in us-east-1: "), p.stdout
    assert v["ssm:GetParameter"].startswith("not permitted    '/golden/web/latest' in us-east-1: "), p.stdout
    assert v["CreateLaunchTemplateVersion"].startswith("permitted"), p.stdout
    # DryRun only: in the destination and on the template nothing was made.
    assert amirotd.sim.images("eu-west-1") == []
    assert all(c["params"].get("DryRun") == "true" for c in amirotd.sim.calls("CopyImage"))
    assert not amirotd.sim.calls("PutParameter")
