# Issue 11, item 6: no secret in any output, and none in a core or another process's hands.
#
# Each scenario gives amirotd recognisable keys through one credential source it has
# (environment, the global file's credentials:, credentials_file, the systemd credential,
# a shared credentials or config profile, credential_process, container credentials, web
# identity and AssumeRole through STS, IMDS), or makes a source fail after it read a
# secret (EC2 refuses the key, the helper exits 1, the endpoint or STS refuses the token).
# Then it runs every command at debug level (check, check --dump, plan --json, list --json,
# once, status) and the daemon under a real journald, and searches every output: stdout,
# stderr and every field of every journal entry of the daemon's _PID (journalctl -o export,
# trusted fields included). A secret is every key, secret key, session token and bearer
# token the scenario handed out, plus those ec2sim issued for it (read back from its
# state), in the forms a log could write them (as is, URL-encoded, JSON-escaped); any
# 8-character fragment of one counts. Found: 0.
#
# Then non-dumpable, for real: the daemon runs as an unprivileged user, and another
# process of that same user cannot read its /proc/PID/environ (where its key is) or open
# its /proc/PID/mem, while it can for a dumpable process of that user (the control).
import json
import os
import random
import shutil
import signal
import string
import subprocess
import tempfile
import textwrap
import time
import urllib.parse

import pytest

import figures
import journal
from conftest import AMIROTD, EC2SIM, ROOT, SEED, Sim, read_line, stop

FRAGMENT = 8                    # "any fragment of 8+ characters of the secret counts"
ACCOUNT = "111122223333"
CREATED = "39f5e59160f140cb8ae0b31876fb403d"
POLICY_FAILED = "13e3e963733140bebc2afd86bc27ad6a"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/amirotd-secrets"
NOBODY = 65534

_rng = random.Random(SEED)


def secret(n, alphabet=string.ascii_letters + string.digits + "+/"):
    """A key that no path, name or id of the test can contain: a marker and random text."""
    return "s3cr3tMK" + "".join(_rng.choice(alphabet) for _ in range(n))


def access_key():
    return "AKIAS3CR3T" + "".join(_rng.choice(string.ascii_uppercase + "234567") for _ in range(10))


def keys(token=True):
    return {"id": access_key(), "secret": secret(32), "token": secret(200) if token else None}


# ---- the simulator, one for the module -------------------------------------------------

@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("ec2sim") / "ec2sim.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(["/usr/bin/python3", EC2SIM, "--port", "0", "--pending-seconds", "0",
                                 "--consistency-delay", "1"],
                                stdout=subprocess.PIPE, stderr=log, text=True)
    line = read_line(proc.stdout, 30)
    if not line or not line.startswith("ec2sim listening on "):
        stop(proc)
        raise RuntimeError("ec2sim did not start: " + log_path.read_text())
    yield Sim(proc, line.split()[-1].strip())
    stop(proc)


def add_key(sim, k, account=ACCOUNT):
    body = {"access_key": k["id"], "secret_key": k["secret"], "account": account}
    if k.get("token"):
        body["token"] = k["token"]
    sim.admin("POST", "keys", body)


def issued(sim):
    """Every temporary key ec2sim handed out (STS, IMDS, container): its secret and token."""
    out = []
    for k in sim.admin("GET", "state")["keys"]:
        if k.get("token"):
            out += [k["access_key"], k["secret_key"], k["token"]]
    return out


# ---- one scenario's world: a home, a global file, a policy, the environment ----------

class World:
    def __init__(self, sim, path, name):
        self.sim = sim
        self.name = name
        self.dir = path
        self.home = path / "home"
        (self.home / ".aws").mkdir(parents=True)
        (path / "policies.d").mkdir()
        self.secrets = []               # strings that must never be seen
        self.env = {"PATH": "/usr/bin:/bin", "HOME": str(self.home), "AWS_EC2_METADATA_DISABLED": "true"}
        self.global_extra = ""
        self.role_arn = None
        self.tag = "secrets-" + name

    def hide(self, *values):
        self.secrets += [v for v in values if v]

    def static(self, k):
        self.hide(k["id"], k["secret"], k["token"])
        add_key(self.sim, k)

    def write(self, ec2):
        (self.dir / "amirotd.yaml").write_text(textwrap.dedent(f"""\
            region: us-east-1
            endpoint_url: {self.sim.url}
            sts_endpoint_url: {self.sim.url}
            poll_initial: 1s
            poll_max: 2s
            spread: 0s
            """) + textwrap.dedent(self.global_extra))
        policy = textwrap.dedent(f"""\
            name: {self.tag}
            targets:
              tags: {{Role: {self.tag}}}
            schedule:
              every: 24h
            retain:
              count: 2
            """)
        if self.role_arn:
            policy += f"role_arn: {self.role_arn}\n"
        (self.dir / "policies.d" / "p.yaml").write_text(policy)
        ec2.run_instances(ImageId="ami-0123456789abcdef0", MinCount=1, MaxCount=1,
                          TagSpecifications=[{"ResourceType": "instance",
                                              "Tags": [{"Key": "Role", "Value": self.tag}]}])


def ini(path, section, k):
    text = f"[{section}]\naws_access_key_id = {k['id']}\naws_secret_access_key = {k['secret']}\n"
    if k["token"]:
        text += f"aws_session_token = {k['token']}\n"
    path.write_text(text)
    path.chmod(0o600)


def process_helper(w, k, exit_code=0):
    doc = {"Version": 1, "AccessKeyId": k["id"], "SecretAccessKey": k["secret"], "SessionToken": k["token"],
           "Expiration": "2099-01-01T00:00:00Z"}
    script = w.dir / "helper"
    # stderr names no secret: what a helper prints there is quoted in amirotd's message.
    script.write_text("#!/bin/sh\necho '" + json.dumps(doc) + "'\necho 'helper: refused' >&2\nexit "
                      + str(exit_code) + "\n")
    script.chmod(0o755)
    (w.home / ".aws" / "config").write_text(f"[default]\ncredential_process = {script}\n")


# Each sets up w (a World) for its source; those that fail say so with `w.fails = True`.

def src_environment(w):
    k = keys()
    w.static(k)
    w.env.update(AWS_ACCESS_KEY_ID=k["id"], AWS_SECRET_ACCESS_KEY=k["secret"], AWS_SESSION_TOKEN=k["token"])


def src_global_file(w):
    k = keys()
    w.static(k)
    w.global_extra = (f"credentials:\n  access_key_id: {k['id']}\n  secret_access_key: {k['secret']}\n"
                      f"  session_token: {k['token']}\n")


def src_credentials_file(w):
    k = keys()
    w.static(k)
    ini(w.dir / "aws-credentials", "default", k)
    w.global_extra = f"credentials_file: {w.dir / 'aws-credentials'}\n"


def src_systemd_credential(w):
    k = keys()
    w.static(k)
    creds = w.dir / "credentials"
    creds.mkdir()
    ini(creds / "aws-credentials", "default", k)
    w.env["CREDENTIALS_DIRECTORY"] = str(creds)


def src_shared_credentials(w):
    k = keys()
    w.static(k)
    ini(w.home / ".aws" / "credentials", "ops", k)
    w.env["AWS_PROFILE"] = "ops"


def src_shared_config(w):
    k = keys()
    w.static(k)
    ini(w.home / ".aws" / "config", "profile ops", k)
    w.global_extra = "profile: ops\n"


def src_credential_process(w):
    k = keys()
    w.static(k)
    process_helper(w, k)


def src_container(w):
    bearer = "Bearer " + secret(40)
    w.hide(bearer[len("Bearer "):])
    w.sim.admin("POST", "container", {"mode": "normal", "token": bearer})
    w.env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=w.sim.url + "/v1/credentials",
                 AWS_CONTAINER_AUTHORIZATION_TOKEN=bearer)


def src_web_identity(w):
    token = "eyJ" + secret(120, string.ascii_letters + string.digits)
    w.hide(token)
    w.sim.admin("POST", "sts", {"web_identity_tokens": [token], "deny_roles": []})
    (w.dir / "token").write_text(token)
    w.env.update(AWS_WEB_IDENTITY_TOKEN_FILE=str(w.dir / "token"), AWS_ROLE_ARN=ROLE,
                 AWS_ROLE_SESSION_NAME="secrets", AWS_ENDPOINT_URL_STS=w.sim.url)


def src_assume_role(w):
    src_environment(w)
    w.sim.admin("POST", "sts", {"deny_roles": []})
    w.role_arn = ROLE


def src_imds(w):
    del w.env["AWS_EC2_METADATA_DISABLED"]
    w.sim.admin("POST", "imds", {"mode": "normal"})
    w.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = w.sim.url


# ---- sources that fail after they read a secret

def fail_refused_key(w):
    """EC2 refuses the key: its secret is not the one ec2sim knows (SignatureDoesNotMatch)."""
    k = keys(token=False)
    add_key(w.sim, dict(k, secret=secret(32)))
    w.hide(k["id"], k["secret"])
    w.env.update(AWS_ACCESS_KEY_ID=k["id"], AWS_SECRET_ACCESS_KEY=k["secret"])


def fail_process_exit(w):
    k = keys()
    w.hide(k["id"], k["secret"], k["token"])
    process_helper(w, k, exit_code=1)


def fail_container_token(w):
    w.sim.admin("POST", "container", {"mode": "normal", "token": "Bearer not-the-one"})
    bearer = "Bearer " + secret(40)
    w.hide(bearer[len("Bearer "):])
    w.env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=w.sim.url + "/v1/credentials",
                 AWS_CONTAINER_AUTHORIZATION_TOKEN=bearer)


def fail_web_identity_token(w):
    token = "eyJ" + secret(120, string.ascii_letters + string.digits)
    w.hide(token)
    w.sim.admin("POST", "sts", {"web_identity_tokens": ["eyJsomething-else"]})
    (w.dir / "token").write_text(token)
    w.env.update(AWS_WEB_IDENTITY_TOKEN_FILE=str(w.dir / "token"), AWS_ROLE_ARN=ROLE,
                 AWS_ENDPOINT_URL_STS=w.sim.url)


def fail_role_denied(w):
    src_environment(w)
    w.sim.admin("POST", "sts", {"deny_roles": [ROLE]})
    w.role_arn = ROLE


def fail_invalid_global_file(w):
    """A credentials: block the loader refuses, with the secret where a string should be."""
    k = keys()
    w.hide(k["id"], k["secret"], k["token"])
    w.global_extra = (f"credentials:\n  access_key_id: {k['id']}\n  secret_access_key: [{k['secret']}]\n"
                      f"  session_token: {{t: {k['token']}}}\n  secret_key: {k['secret']}\n")


SOURCES = {
    "environment": src_environment,
    "global-file": src_global_file,
    "credentials-file": src_credentials_file,
    "systemd-credential": src_systemd_credential,
    "shared-credentials": src_shared_credentials,
    "shared-config": src_shared_config,
    "credential-process": src_credential_process,
    "container": src_container,
    "web-identity": src_web_identity,
    "assume-role": src_assume_role,
    "imds": src_imds,
}
FAILURES = {
    "refused-key": fail_refused_key,
    "process-exit": fail_process_exit,
    "container-token": fail_container_token,
    "web-identity-token": fail_web_identity_token,
    "role-denied": fail_role_denied,
    "invalid-global-file": fail_invalid_global_file,
}


# ---- running everything, and searching

COMMANDS = [["check"], ["check", "--dump"], ["plan", "--json"], ["list", "--json"], ["once", "--no-wait"],
            ["status"]]


def run_commands(w):
    """{name: text} of every command's stdout and stderr."""
    out = {}
    for args in COMMANDS:
        cmd = [AMIROTD, "-c", str(w.dir / "amirotd.yaml"), "--log-level=debug", "--log-target=console"] + args
        p = subprocess.run(cmd, env=w.env, capture_output=True, text=True, timeout=60)
        out[" ".join(args) + " stdout"] = p.stdout
        out[" ".join(args) + " stderr"] = p.stderr
    return out


def run_daemon(w, fails):
    """The daemon's journal (every field of every entry of its _PID) and its own output."""
    started = journal.now_usec()
    with open(w.dir / "daemon.out", "w") as output:
        proc = subprocess.Popen([AMIROTD, "-c", str(w.dir / "amirotd.yaml"), "--log-level=debug",
                                 "--log-target=journal", "run"], env=w.env, stdout=output, stderr=output)
    src = journal.Source(proc.pid, started)
    done = POLICY_FAILED if fails else CREATED
    try:
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if any(e.get("MESSAGE_ID") == done for e in journal.entries(src)):
                break
            time.sleep(0.2)
        else:
            if proc.poll() is None:
                raise AssertionError(f"{w.name}: no {done} from the daemon in 30 s:\n" +
                                     "\n".join(e.get("MESSAGE", "") for e in journal.entries(src)[-30:]))
        if proc.poll() is None:
            w.memory = read_memory(proc.pid)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    subprocess.run(["journalctl", "--flush"], capture_output=True, timeout=30)
    export = subprocess.run(["journalctl", "-o", "export", "--no-pager", f"--since=@{started // 1000000}",
                             f"_PID={proc.pid}"], capture_output=True, timeout=30, check=True).stdout
    return {"journal (export)": export.decode("latin-1"), "daemon stdout+stderr": (w.dir / "daemon.out").read_text()}


def read_memory(pid):
    """The daemon's writable memory (heap, anonymous mappings, stack), as root reads it."""
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            f = line.split()
            if f[1].startswith("rw") and (len(f) < 6 or f[5] in ("[heap]", "[stack]")):
                lo, hi = (int(x, 16) for x in f[0].split("-"))
                try:
                    mem.seek(lo)
                    chunks.append(mem.read(hi - lo))
                except OSError:
                    pass
    return b"\0".join(chunks)


def leftovers(memory, secrets):
    """Copies of a secret in the context it arrived or left in (XML, JSON, INI, YAML, a header,
    a form body): wiped ones are gone; what stays is the keys in use, bare strings."""
    found = []
    for s in secrets:
        b = s.encode()
        q = urllib.parse.quote(s, safe="").encode()
        for ctx in (b">" + b + b"<", b'"' + b + b'"', b"= " + b, b": " + b, b":" + b + b"\n",
                    b"WebIdentityToken=" + q, b"Authorization: Bearer " + b):
            if ctx in memory:
                found.append(ctx[:24].decode("latin-1") + "...")
    return found


def forms(s):
    """The ways a log line could write s."""
    return {s, urllib.parse.quote(s, safe=""), urllib.parse.quote_plus(s), json.dumps(s)[1:-1]}


def fragments(secrets):
    out = {}
    for s in secrets:
        for f in forms(s):
            for i in range(len(f) - FRAGMENT + 1):
                out.setdefault(f[i:i + FRAGMENT], s)
    return out


def search(outputs, secrets):
    """[(output name, fragment, the secret it is part of)] for every fragment found."""
    frags = fragments(secrets)
    found = []
    for name, text in outputs.items():
        for i in range(len(text) - FRAGMENT + 1):
            s = frags.get(text[i:i + FRAGMENT])
            if s is not None:
                found.append((name, text[i:i + FRAGMENT], s[:12] + "..."))
    return found


def scenario(sim, ec2, tmp_path, name, setup, fails):
    t0 = time.monotonic()
    w = World(sim, tmp_path, name)
    setup(w)
    w.write(ec2)
    outputs = {}
    outputs.update(run_daemon(w, fails))
    outputs.update(run_commands(w))
    secrets = w.secrets + issued(sim)
    found = search(outputs, secrets)
    w.leftovers = leftovers(getattr(w, "memory", b""), secrets)
    seconds = time.monotonic() - t0
    figures.record("secrets", scenario=name, inputs=len(outputs), violations=len(found), seconds=round(seconds, 1),
                   seed=SEED, notes=f"{len(secrets)} secrets, {sum(len(t) for t in outputs.values())} bytes searched",
                   command=f"/usr/bin/python3 -m pytest tests/reliability/test_secrets.py -k '{name}'")
    return w, outputs, found


@pytest.fixture(scope="module")
def ec2(sim):
    import botocore.session
    from conftest import ACCESS_KEY, SECRET_KEY
    return botocore.session.Session().create_client("ec2", region_name="us-east-1", endpoint_url=sim.url,
                                                    aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_no_secret_of_a_source_in_any_output(sim, ec2, tmp_path, journald, name):
    w, outputs, found = scenario(sim, ec2, tmp_path, name, SOURCES[name], fails=False)
    assert found == [], found
    # What the source read or sent, in its own wrapping (XML, JSON, INI, a header), was wiped.
    assert w.memory and w.leftovers == [], w.leftovers
    # Not vacuous: the source was the one used, and debug lines were written.
    j = outputs["journal (export)"]
    assert "PRIORITY=7" in j, "no debug line in the journal"
    check = outputs["check stdout"]
    assert "credentials" in check.lower() or "AWS" in check, check
    assert any(e.get("MESSAGE_ID") == CREATED for e in _entries_of(j)), name


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_no_secret_of_a_failing_source_in_any_error(sim, ec2, tmp_path, journald, name):
    w, outputs, found = scenario(sim, ec2, tmp_path, name, FAILURES[name], fails=True)
    assert found == [], found
    # Not vacuous: the failure was reported.
    once = outputs["once --no-wait stderr"] + outputs["once --no-wait stdout"]
    assert "error" in once.lower() or "cannot" in once.lower() or "fail" in once.lower(), once


def _entries_of(export):
    """The entries of journalctl -o export's text, as dicts of their text fields."""
    out = []
    for block in export.split("\n\n"):
        e = {}
        for line in block.split("\n"):
            k, sep, v = line.partition("=")
            if sep:
                e[k] = v
        if e:
            out.append(e)
    return out


# ---- non-dumpable, for real

def as_nobody(*cmd):
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"] + list(cmd)


PROBE = ("import sys\n"
         "pid = sys.argv[1]\n"
         "for f in ('environ', 'mem'):\n"
         "    try:\n"
         "        with open('/proc/%s/%s' % (pid, f), 'rb') as h:\n"
         "            data = h.read(65536) if f == 'environ' else b''\n"
         "        print(f, 'readable', data.decode('latin-1').replace(chr(0), ' '))\n"
         "    except OSError as e:\n"
         "        print(f, 'refused', e.errno)\n")


def probe(pid):
    """What another process of the same unprivileged user can read of pid."""
    p = subprocess.run(as_nobody("/usr/bin/python3", "-c", PROBE, str(pid)), capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return {line.split()[0]: line for line in p.stdout.splitlines()}


def wait_exec(proc, name):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{name} exited {proc.returncode}"
        try:
            if os.path.basename(os.readlink(f"/proc/{proc.pid}/exe")) == name:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{name} did not start")


def test_other_processes_of_the_same_user_cannot_read_the_daemon(sim):
    t0 = time.monotonic()
    k = keys(token=False)
    add_key(sim, k)
    d = tempfile.mkdtemp(prefix="amirotd-secrets-", dir="/tmp")
    procs = []
    try:
        os.chmod(d, 0o755)
        os.mkdir(os.path.join(d, "policies.d"), 0o755)
        with open(os.path.join(d, "amirotd.yaml"), "w") as f:
            f.write(f"region: us-east-1\nendpoint_url: {sim.url}\n")
        with open(os.path.join(d, "policies.d", "p.yaml"), "w") as f:
            f.write("name: nd\ntargets: {tags: {Role: nd}}\nschedule: {every: 24h}\nretain: {count: 2}\n")
        for p in ("amirotd.yaml", "policies.d/p.yaml"):
            os.chmod(os.path.join(d, p), 0o644)
        env = {"PATH": "/usr/bin:/bin", "HOME": d, "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_ACCESS_KEY_ID": k["id"], "AWS_SECRET_ACCESS_KEY": k["secret"]}
        daemon = subprocess.Popen(as_nobody(AMIROTD, "-c", os.path.join(d, "amirotd.yaml"), "--log-target=console",
                                            "run"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(daemon)
        # The control: a dumpable process of the same user with the same environment.
        control = subprocess.Popen(as_nobody("sleep", "60"), env=env)
        procs.append(control)
        wait_exec(daemon, "amirotd")
        wait_exec(control, "sleep")
        with open(f"/proc/{daemon.pid}/environ", "rb") as f:
            assert k["secret"].encode() in f.read(), "root reads the daemon's environment: the key is there"

        seen_control = probe(control.pid)
        assert k["secret"] in seen_control["environ"] and "readable" in seen_control["mem"], seen_control
        seen = probe(daemon.pid)
        assert daemon.poll() is None
        violations = [f for f in ("environ", "mem") if "refused" not in seen[f]]
        figures.record("secrets", scenario="non-dumpable", inputs=2, violations=len(violations),
                       seconds=round(time.monotonic() - t0, 1), seed=SEED,
                       notes="/proc/PID/environ and /proc/PID/mem of the daemon, read by another process "
                             "of its (unprivileged) user; the control, a dumpable one, is readable",
                       command="/usr/bin/python3 -m pytest tests/reliability/test_secrets.py -k same_user")
        assert violations == [], seen
        assert k["secret"] not in seen["environ"]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)


def test_the_unit_allows_no_core_file():
    with open(os.path.join(ROOT, "systemd", "amirotd.service")) as f:
        assert "LimitCORE=0" in [line.strip() for line in f]
