# The verify section as `amirotd check` shows it (the real binary on the golden cases
# tests/data/config/verify and err-verify): the summary says what boots each new image and
# where, `--dump` writes what reads back as the same configuration, and a mistake stops the
# check with its file:line:col.
import os
import re
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AMIROTD = os.environ.get("AMIROTD", os.path.join(ROOT, "build", "amirotd"))


def check(config, *args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="", AWS_PROFILE="")
    return subprocess.run([AMIROTD, "check", "--config", config, *args],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=30, check=False)


def test_check_says_what_boots_each_new_image_and_where():
    r = check("tests/data/config/verify/amirotd.yaml")
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if line.startswith("  verify:")]
    assert lines == [
        "  verify:   each new image boots a test instance (t3.micro) in subnet-0123abcd; passes when both status "
        "checks are ok within 15m; at most 1 at once per region",
        "  verify:   each new image boots a test instance (m7g.large) in us-east-1 subnet-0123456789abcdef0, "
        "eu-west-1 subnet-0fedcba987654321f (sg-0123456789abcdef0 sg-0aaa1111) with profile "
        "arn:aws:iam::123456789012:instance-profile/amirotd/verify; passes when both status checks are ok and "
        "the console matches '(login|ready):' within 20m; at most 3 at once per region",
        "  verify:   each new image boots a test instance (t3.nano) in subnet-0123abcd (sg-0123abcd) with profile "
        "amirotd-verify; passes when both status checks are ok within 15m; at most 1 at once per region",
    ]


def policies_of(dump):
    return re.sub(r"\n    # [^\n]*", "", dump[dump.index("\npolicies:\n"):])


def test_check_dump_reads_back_as_the_same_verify(tmp_path):
    r = check("tests/data/config/verify/amirotd.yaml", "--dump")
    assert r.returncode == 0, r.stderr
    assert "    verify:\n      instance_type: m7g.large\n      subnet_id:\n" in r.stdout
    assert "        us-east-1: ~\n        eu-west-1: [sg-0123456789abcdef0, sg-0aaa1111]\n" in r.stdout
    assert "      subnet_id: subnet-0123abcd\n      security_group_ids: [sg-0123abcd]\n" \
           "      iam_instance_profile: amirotd-verify\n      timeout: 15m\n" in r.stdout
    # the dumped policies, as a policy file, load to the same dump
    (tmp_path / "policies.d").mkdir()
    (tmp_path / "amirotd.yaml").write_text("region: us-east-1\n")
    listed = r.stdout[r.stdout.index("\npolicies:\n") + len("\npolicies:\n"):]
    (tmp_path / "policies.d" / "again.yaml").write_text(re.sub(r"(?m)^  ", "", listed))
    again = check(str(tmp_path / "amirotd.yaml"), "--dump")
    assert again.returncode == 0, again.stderr
    assert policies_of(again.stdout) == policies_of(r.stdout)


def test_check_refuses_the_mistakes_at_their_place():
    r = check("tests/data/config/err-verify/amirotd.yaml")
    assert r.returncode != 0
    where = "tests/data/config/err-verify/policies.d/err-verify.yaml"
    assert f"error: {where}:8:20: 'verify.instance_type' 'micro' is not an EC2 instance type" in r.stderr
    assert f"error: {where}:9:16: 'verify.subnet_id' is one subnet, and the policy runs in 2 regions: " \
           "a subnet lives in one region" in r.stderr
    assert f"error: {where}:13:20: 'verify.console_match' 'login:(' is not a POSIX extended regular " \
           "expression: " in r.stderr
    assert f"error: {where}:23:17: 'verify.subnet_id' names region 'us-west-2', which is not one of the " \
           "policy's regions" in r.stderr
    assert "error: configuration invalid: 10 errors" in r.stderr


def test_every_key_check_dumps_is_documented_in_the_man_page():
    r = check("tests/data/config/verify/amirotd.yaml", "--dump")
    assert r.returncode == 0, r.stderr
    section = r.stdout[r.stdout.index("    verify:\n"):].split("\n  - ")[0]
    keys = re.findall(r"(?m)^      ([a-z_]+):", section)
    assert len(keys) == 7, keys
    with open(os.path.join(ROOT, "man", "amirotd.yaml.5")) as f:
        man = f.read()
    verifying = man[man.index(".Sh VERIFYING IMAGES"):man.index(".Sh ADOPTING EXISTING IMAGES")]
    for key in keys:
        assert re.search(rf"(?m)^\.It Ic {key} No \(", verifying), f"{key} has no entry with its default"
