# Issue 18: for the sources amirotd serves beyond static keys, naming the same source
# as botocore is not enough: the keys it resolves must work. Each case builds one
# environment (credential_process, container credentials, web identity, role chaining),
# asks botocore which source it takes and, where botocore 1.29 can reach the simulator,
# which access key it resolves; then runs `amirotd once --dry-run --log-level=debug`
# against tests/ec2sim and reads the simulator's call log: EC2's calls were signed with
# that key (or, where botocore 1.29 cannot be pointed at ec2sim's STS, the key ec2sim
# issued for the role). No secret or token of the environment may appear in amirotd's
# stdout or stderr at debug level.
import json
import os
import subprocess
import urllib.request

import pytest

from oracle import AMIROTD, ROOT, Env

# Every case runs in `make check-oracle`: seconds in all (conftest.py).
ORACLE_CHEAP = True

EC2SIM = os.path.join(ROOT, "tests", "ec2sim", "ec2sim")
SECRET = "oracleSOURCEsecretDoNotPrint0123456789ab"


@pytest.fixture(scope="module")
def sim():
    p = subprocess.Popen(["/usr/bin/python3", EC2SIM, "--port", "0", "--pending-seconds", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    assert line.startswith("ec2sim listening on "), line
    url = line.split()[-1].strip()
    yield url
    p.terminate()
    p.wait(timeout=10)


def admin(sim, method, path, body=None):
    req = urllib.request.Request(sim + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def add_key(sim, access_key):
    admin(sim, "POST", "/_sim/keys", {"access_key": access_key, "secret_key": SECRET, "account": "111122223333"})


def process_script(tmp_path, access_key):
    script = tmp_path / "helper"
    script.write_text("#!/bin/sh\n[ \"$1\" = 'credential process' ] || exit 9\necho '" + json.dumps(
        {"Version": 1, "AccessKeyId": access_key, "SecretAccessKey": SECRET,
         "Expiration": "2099-01-01T00:00:00Z"}) + "'\necho 'helper: " + SECRET + "' >&2\n")
    script.chmod(0o755)
    return f"{script} 'credential process'"


def run_once(e, sim):
    lines = ["region: us-east-1", f"endpoint_url: {sim}", f"sts_endpoint_url: {sim}"]
    if e.yaml_profile:
        lines.append(f"profile: {e.yaml_profile}")
    (e.tmp / "amirotd.yaml").write_text("\n".join(lines) + "\n")
    pol = e.tmp / "policies"
    pol.mkdir(exist_ok=True)
    (pol / "o.yaml").write_text("name: o\ntargets: {tags: {Role: web}}\nschedule: {every: 24h}\nretain: {count: 3}\n")
    return subprocess.run([AMIROTD, "-c", str(e.tmp / "amirotd.yaml"), "--policies", str(pol), "--log-level=debug",
                           "--log-target=console", "once", "--dry-run"],
                          env=e.env, capture_output=True, text=True, timeout=60)


def botocore_resolves(e, keys=True):
    with e.applied():
        c = e.session().get_credentials()
        return c.method, c.get_frozen_credentials().access_key if keys else None


CONTAINER_TOKEN = "Bearer oracle-" + SECRET


def env_process(tmp_path, sim, case, kw):
    """IAM Roles Anywhere's signing helper: a profile's credential_process."""
    access_key = "AKIDPROC" + case.upper().replace("-", "")[:12]
    add_key(sim, access_key)
    e = Env(tmp_path, env={"AWS_EC2_METADATA_DISABLED": "true"},
            config_profile={"credential_process": process_script(tmp_path, access_key), "region": "us-east-1"},
            **kw)
    return e, "custom-process", access_key


def env_container(tmp_path, sim, case, kw):
    """An ECS task or EKS Pod Identity: the full URI (loopback) with its token, no profile of its own."""
    admin(sim, "POST", "/_sim/container", {"token": CONTAINER_TOKEN, "rotate": True})
    e = Env(tmp_path, env={"AWS_EC2_METADATA_DISABLED": "true",
                           "AWS_CONTAINER_CREDENTIALS_FULL_URI": sim + "/v1/credentials",
                           "AWS_CONTAINER_AUTHORIZATION_TOKEN": CONTAINER_TOKEN}, **kw)
    req = urllib.request.Request(sim + "/v1/credentials", headers={"Authorization": CONTAINER_TOKEN})
    with urllib.request.urlopen(req, timeout=10) as r:
        served = json.loads(r.read())["AccessKeyId"]       # the key every asker gets until it rotates
    return e, "container-role", served


WEB_TOKEN = "eyJoracle." + SECRET
WEB_ROLE = "arn:aws:iam::111122223333:role/oracle-irsa"


def env_webid(tmp_path, sim, case, kw):
    """An EKS service account: the token file and the role in the environment (or a profile).
    botocore 1.29 cannot be pointed at ec2sim's STS (no AWS_ENDPOINT_URL_STS): it names the
    source; the key is the one ec2sim issued for the role."""
    admin(sim, "POST", "/_sim/sts", {"web_identity_tokens": [WEB_TOKEN]})
    token = tmp_path / "token"
    token.write_text(WEB_TOKEN)
    env = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_STS": sim}
    conf = {}
    if kw.get("yaml_profile"):
        conf = {"role_arn": WEB_ROLE, "web_identity_token_file": str(token), "role_session_name": "oracle"}
    else:
        env.update(AWS_WEB_IDENTITY_TOKEN_FILE=str(token), AWS_ROLE_ARN=WEB_ROLE, AWS_ROLE_SESSION_NAME="oracle")
    return Env(tmp_path, env=env, config_profile=conf, **kw), "assume-role-with-web-identity", None


CHAIN_ROLE = "arn:aws:iam::444455556666:role/oracle-ops"


def env_role(tmp_path, sim, case, kw):
    """Role chaining as the CLI does it: ops assumes a role with the keys of hub, itself a
    role on base's static keys (or on the environment's keys: credential_source)."""
    add_key(sim, "AKIDROLEBASE")
    env = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_STS": sim}
    config = {"profile base": {"aws_access_key_id": "AKIDROLEBASE", "aws_secret_access_key": SECRET},
              "profile hub": {"role_arn": "arn:aws:iam::111122223333:role/oracle-hub", "source_profile": "base"}}
    conf = {"role_arn": CHAIN_ROLE, "role_session_name": "oracle", "external_id": "oracle-ext"}
    if case.endswith("credsource"):
        conf["credential_source"] = "Environment"
        env.update(AWS_ACCESS_KEY_ID="AKIDROLEBASE", AWS_SECRET_ACCESS_KEY=SECRET)
    else:
        conf["source_profile"] = "hub"
    return Env(tmp_path, env=env, config=config, config_profile=conf, **kw), "assume-role", None


def issued_for(sim, arn):
    return [k["access_key"] for k in admin(sim, "GET", "/_sim/keys")["keys"] if k["arn"] == arn]


CASES = {
    "process-default": (env_process, dict(profile=None, yaml_profile=None)),
    "process-AWS_PROFILE": (env_process, dict(profile="ops", yaml_profile=None)),
    "process-yaml-profile": (env_process, dict(profile=None, yaml_profile="ops")),
    "container-default": (env_container, dict(profile=None, yaml_profile=None)),
    "container-yaml-profile": (env_container, dict(profile=None, yaml_profile="ops")),
    "webid-env": (env_webid, dict(profile=None, yaml_profile=None)),
    "webid-yaml-profile": (env_webid, dict(profile=None, yaml_profile="ops")),
    "role-chain-yaml-profile": (env_role, dict(profile=None, yaml_profile="ops")),
    "role-chain-AWS_PROFILE": (env_role, dict(profile="ops", yaml_profile=None)),
    "role-credsource": (env_role, dict(profile=None, yaml_profile="ops")),
}

ASSUMED = {"assume-role-with-web-identity": WEB_ROLE, "assume-role": CHAIN_ROLE}


@pytest.mark.parametrize("case", sorted(CASES))
def test_source_resolves_working_keys(tmp_path, sim, case):
    make, kw = CASES[case]
    e, method, access_key = make(tmp_path, sim, case, kw)
    got = botocore_resolves(e, keys=access_key is not None)
    assert got == (method, access_key)

    admin(sim, "DELETE", "/_sim/calls")
    p = run_once(e, sim)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    calls = admin(sim, "GET", "/_sim/calls")
    calls = calls.get("calls", calls) if isinstance(calls, dict) else calls
    # EC2's calls are signed by the source's keys; STS's AssumeRole calls of a chain by the keys below.
    keys = {c.get("access_key") for c in calls if c.get("service") == "ec2"}
    assumes = [c.get("access_key") for c in calls if c.get("action") == "AssumeRole"]
    if method == "assume-role":
        assert assumes and assumes[0] == "AKIDROLEBASE", assumes
    if access_key is None:
        access_key = issued_for(sim, ASSUMED[method].replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")
                                + "/oracle")[-1]
    assert keys == {access_key}, (keys, out)
    assert SECRET not in out
    assert "oracle-" + SECRET not in out
    assert WEB_TOKEN not in out
