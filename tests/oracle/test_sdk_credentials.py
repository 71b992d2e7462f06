# Issue 18: botocore as the oracle for the credential source. Each environment
# combines keys in the environment, a profile chosen by AWS_PROFILE or by
# amirotd.yaml, what that profile holds (static keys in either file, role_arn with
# source_profile or credential_source, web identity, credential_process, SSO),
# web-identity variables, a container-credentials endpoint and a fake IMDS (both
# served by a local HTTP server here), or IMDS disabled. `amirotd check` names the
# source it will use; botocore's session.get_credentials().method must be the same.
# No secret may appear in amirotd's output. Run: /usr/bin/python3 -m pytest -q tests/oracle
import http.server
import itertools
import json
import threading

import pytest

from oracle import Env, run_check

# Every case runs in `make check-oracle`: seconds in all (conftest.py).
ORACLE_CHEAP = True

SECRET = "oracleSECRETdoNotPrint0123456789abcdefgh"
EXPIRY = "2099-01-01T00:00:00Z"
CREDS = {"AccessKeyId": "ASIAORACLE", "SecretAccessKey": SECRET, "Token": "oracle-token-" + SECRET,
         "Expiration": EXPIRY, "Code": "Success"}


class Handler(http.server.BaseHTTPRequestHandler):
    """A container-credentials endpoint and IMDSv2, enough for botocore to resolve through."""

    def log_message(self, *a):
        pass

    def _send(self, body, ctype="application/json"):
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        self._send("imds-token", "text/plain")

    def do_GET(self):
        if self.path.endswith("/security-credentials/"):
            self._send("oracle-role", "text/plain")
        else:
            self._send(json.dumps(CREDS))


@pytest.fixture(scope="module")
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


PROFILE_KINDS = {
    "empty": ({}, {}),
    "creds-file": ({}, {"aws_access_key_id": "AKIDFILE", "aws_secret_access_key": SECRET}),
    "config-keys": ({"aws_access_key_id": "AKIDCONF", "aws_secret_access_key": SECRET}, {}),
    "role-source": ({"role_arn": "arn:aws:iam::111122223333:role/chain", "source_profile": "base"}, {}),
    "role-credsource": ({"role_arn": "arn:aws:iam::111122223333:role/chain", "credential_source": "Environment"}, {}),
    "role-web": ({"role_arn": "arn:aws:iam::111122223333:role/web", "web_identity_token_file": "TOKEN"}, {}),
    "process": ({"credential_process": "PROCESS"}, {}),
    "sso": ({"sso_start_url": "https://example.awsapps.com/start", "sso_region": "us-east-1",
             "sso_account_id": "111122223333", "sso_role_name": "r"}, {}),
    "process+creds-file": ({"credential_process": "PROCESS"},
                           {"aws_access_key_id": "AKIDFILE", "aws_secret_access_key": SECRET}),
}

CASES = list(itertools.product(
    [False, True],                      # keys in the environment
    ["default", "env", "yaml"],         # which profile: default, AWS_PROFILE=ops, profile: ops in amirotd.yaml
    sorted(PROFILE_KINDS),
    ["none", "web-env", "container"],   # variables for the later sources
    ["imds", "disabled"],
))


def build(tmp_path, server, env_keys, which, kind, later, imds):
    token = tmp_path / "token"
    token.write_text("eyJoracle.web.identity")
    process = tmp_path / "process"
    process.write_text("#!/bin/sh\necho '" + json.dumps(
        {"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": SECRET, "Expiration": EXPIRY}) + "'\n")
    process.chmod(0o755)
    conf, creds = PROFILE_KINDS[kind]
    conf = {k: str(v).replace("TOKEN", str(token)).replace("PROCESS", str(process)) for k, v in conf.items()}
    name = "ops" if which != "default" else "default"
    config = {("profile " + name if name != "default" else "default"): conf,
              "profile base": {"aws_access_key_id": "AKIDBASE", "aws_secret_access_key": SECRET}}
    credentials = {name: creds} if creds else {}
    env = {}
    if env_keys:
        env.update(AWS_ACCESS_KEY_ID="AKIDENV", AWS_SECRET_ACCESS_KEY=SECRET)
    if later == "web-env":
        env.update(AWS_WEB_IDENTITY_TOKEN_FILE=str(token), AWS_ROLE_ARN="arn:aws:iam::111122223333:role/webenv")
    if later == "container":
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server + "/creds"
    if imds == "disabled":
        env["AWS_EC2_METADATA_DISABLED"] = "true"
    else:
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server + "/"
    return Env(tmp_path, env=env, config=config, credentials=credentials,
               profile="ops" if which == "env" else None, yaml_profile="ops" if which == "yaml" else None)


def botocore_method(e):
    """The source botocore takes; one that it takes and then fails on still counts as taken."""
    import botocore.exceptions
    with e.applied():
        try:
            c = e.session().get_credentials()
        except botocore.exceptions.CredentialRetrievalError as x:
            return {"Environment": "assume-role"}.get(x.kwargs.get("provider"), "error")
        return c.method if c else "none"


@pytest.mark.parametrize("env_keys,which,kind,later,imds", CASES)
def test_credential_source_matches_botocore(tmp_path, server, env_keys, which, kind, later, imds):
    e = build(tmp_path, server, env_keys, which, kind, later, imds)
    run_check(e, ["us-east-1"], role=False)
    lines = [l for l in e.check_output.splitlines() if l.startswith("  credentials: ")]
    assert len(lines) == 1, e.check_output
    mine = lines[0].split()[1]
    assert mine == botocore_method(e), e.check_output
    assert SECRET not in e.check_output
