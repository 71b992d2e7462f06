# Integration tests: the real amirotd binary against the real EC2 simulator
# (tests/ec2sim) over HTTP. Run with Debian's /usr/bin/python3 -m pytest.
import json
import os
import signal
import socket
import subprocess
import textwrap
import threading
import time
import urllib.request

import pytest

import journal

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AMIROTD = os.environ.get("AMIROTD", os.path.join(ROOT, "build", "amirotd"))
EC2SIM = os.path.join(ROOT, "tests", "ec2sim", "ec2sim")

SIM_START_SECONDS = 30         # botocore's model loads in about a second here

# EC2's eventual consistency, on in every test (issue 10): a new image, its snapshots
# and newly written tags stay invisible to describes for this long. One second: the
# engine's first poll of a new image comes poll_initial (1 s below) after its
# CreateImage answered, so it sees the image; a test wanting more sets
# consistency_delay through /_sim/settings.
CONSISTENCY_DELAY = "1"

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


class Sim:
    """A running ec2sim and its admin interface."""

    def __init__(self, proc, url):
        self.proc = proc
        self.url = url

    def admin(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/_sim/" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def seed(self, region="us-east-1", **kw):
        return self.admin("POST", "seed", dict(region=region, **kw))

    def fault(self, **kw):
        return self.admin("POST", "faults", kw)

    def clear_faults(self):
        self.admin("DELETE", "faults")

    def set_clock(self, iso):
        self.admin("POST", "clock", {"set": iso})

    def images(self, region="us-east-1"):
        return self.admin("GET", "images?region=" + region)

    def snapshots(self, region="us-east-1"):
        return self.admin("GET", "snapshots?region=" + region)

    def calls(self, action=None):
        return self.admin("GET", "calls" + ("?action=" + action if action else ""))


def read_line(stream, timeout):
    """The next line of `stream`, or None if none came within `timeout` seconds."""
    got = []
    reader = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return got[0] if got else None


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def sim(tmp_path):
    with open(tmp_path / "ec2sim.log", "w") as log:
        proc = subprocess.Popen(["/usr/bin/python3", EC2SIM, "--port", "0", "--pending-seconds", "0",
                                 "--consistency-delay", CONSISTENCY_DELAY],
                                stdout=subprocess.PIPE, stderr=log, text=True)
    line = read_line(proc.stdout, SIM_START_SECONDS)
    if not line or not line.startswith("ec2sim listening on "):
        stop(proc)
        why = f"no line within {SIM_START_SECONDS}s" if line is None else repr(line)
        raise RuntimeError(f"ec2sim did not start ({why}): " + (tmp_path / "ec2sim.log").read_text())
    s = Sim(proc, line.split()[-1].strip())
    yield s
    stop(proc)


class Amirotd:
    """The binary, a configuration directory and the environment it runs in."""

    def __init__(self, sim, tmp_path):
        self.sim = sim
        self.dir = tmp_path / "etc"
        (self.dir / "policies.d").mkdir(parents=True)
        self.env = {
            "PATH": "/usr/bin:/bin",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": str(tmp_path),
        }
        self.write_global("")

    def write_global(self, extra):
        (self.dir / "amirotd.yaml").write_text(textwrap.dedent(f"""\
            region: us-east-1
            endpoint_url: {self.sim.url}
            poll_initial: 1s
            poll_max: 2s
            """) + textwrap.dedent(extra))

    def write_policy(self, name, text):
        (self.dir / "policies.d" / (name + ".yaml")).write_text(textwrap.dedent(text))

    def run(self, *args, now=None, check=True, timeout=120):
        cmd = [AMIROTD, "-c", str(self.dir / "amirotd.yaml")]
        if now:
            cmd.append("--now=" + now)
        cmd += list(args)
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{cmd} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p


@pytest.fixture
def amirotd(sim, tmp_path):
    return Amirotd(sim, tmp_path)


@pytest.fixture
def ec2(sim):
    """botocore's own EC2 client: a second, independent reader of the simulator's state."""
    import botocore.session
    session = botocore.session.Session()
    return session.create_client("ec2", region_name="us-east-1", endpoint_url=sim.url,
                                 aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def run_instances(ec2, tags, count=1, volumes=1):
    """Starts `count` instances carrying `tags`; returns their ids."""
    mappings = [{"DeviceName": "/dev/xvd" + chr(ord("a") + i), "Ebs": {"VolumeSize": 8}} for i in range(volumes)]
    r = ec2.run_instances(ImageId="ami-0123456789abcdef0", MinCount=count, MaxCount=count,
                          BlockDeviceMappings=mappings,
                          TagSpecifications=[{"ResourceType": "instance",
                                              "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
                          if tags else [])
    return [i["InstanceId"] for i in r["Instances"]]


def tag_dict(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def images(ec2, **filters):
    f = [{"Name": k, "Values": [v]} for k, v in filters.items()]
    return ec2.describe_images(Owners=["self"], Filters=f)["Images"]


def snapshots(ec2):
    return ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]


# ---- amirotd run: the daemon with a real journald and a NOTIFY_SOCKET of the test's own

@pytest.fixture(scope="session")
def journald():
    journal.ensure_journald()


class Notify:
    """A NOTIFY_SOCKET listener: a thread collects every sd_notify message the daemon
    sends, as systemd does; an unread datagram socket would block the sender."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.closed = False
        self.thread = threading.Thread(target=self._collect, daemon=True)
        self.thread.start()

    def _collect(self):
        while not self.closed:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.extend(data.decode().split("\n"))

    def close(self):
        self.closed = True
        self.thread.join(timeout=5)
        self.sock.close()

    def wait_for(self, prefix, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [m for m in self.messages if m.startswith(prefix)]
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {prefix} in {self.messages}")


class Daemon:
    def __init__(self, amirotd, tmp_path, env=None, wrapper=()):
        self.notify = Notify(tmp_path / "notify.sock")
        e = dict(amirotd.env, NOTIFY_SOCKET=self.notify.path, WATCHDOG_USEC="2000000")
        e.update(env or {})
        started = journal.now_usec()
        # Into a file, not a pipe nobody reads: when journald is slow to take a message, the
        # daemon writes it to stderr instead, and a full pipe would stop its loop.
        output = open(tmp_path / "daemon.log", "a")
        self.proc = subprocess.Popen(list(wrapper) + [AMIROTD, "-c", str(amirotd.dir / "amirotd.yaml"),
                                                      "--log-target=journal", "run"],
                                     env=e, stdout=output, stderr=output, text=True)
        output.close()
        self.log = journal.Source(self.proc.pid, started)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


@pytest.fixture
def daemon(amirotd, tmp_path, journald):
    started = []

    def start(**kw):
        d = Daemon(amirotd, tmp_path, **kw)
        started.append(d)
        return d
    yield start
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(timeout=30)
        d.notify.close()


def created(e):
    return [x for x in e if x.get("MESSAGE_ID") == "39f5e59160f140cb8ae0b31876fb403d"]


def available(e):
    return [x for x in e if x.get("MESSAGE_ID") == "b4ed38032b474d49aabcf894517737ea"]


def retired(e):
    return [x for x in e if x.get("MESSAGE_ID") == "3c2936156b354175bed4908ab4e0444c"]
