"""Fixtures for the ec2sim tests: the real simulator process on a free port,
and three ways to talk to it — awscli (/usr/bin/aws, a real client), botocore's
client (a strict parser), and raw requests signed with botocore's SigV4Auth
(for what a client would never send: unknown parameters, stale dates, ...).
"""
import json
import os
import select
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
EC2SIM = os.path.join(HERE, 'ec2sim')
PYTHON = '/usr/bin/python3'
AWS = '/usr/bin/aws'

KEY = ('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY')
OTHER_KEY = ('AKIDOTHER', 'otherSecretKey0000000000000000000000000')
ACCOUNT = '111122223333'
OTHER_ACCOUNT = '444455556666'
EC2_VERSION = '2016-11-15'


class AwsFailed(Exception):
    def __init__(self, rc, stderr):
        super().__init__(stderr)
        self.rc = rc
        self.stderr = stderr


class Reply:
    """A raw answer: status, body, and its XML with namespaces stripped."""

    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers
        try:
            self.root = ET.fromstring(body)
            for el in self.root.iter():
                el.tag = el.tag.split('}', 1)[-1]
        except ET.ParseError:
            self.root = None

    def find(self, path):
        return self.root.find(path) if self.root is not None else None

    def text(self, path):
        el = self.find(path)
        return el.text if el is not None else None

    @property
    def code(self):
        return self.text('Errors/Error/Code') or self.text('Error/Code')

    def __repr__(self):
        return f'Reply({self.status}, {self.body[:300]!r})'


class Sim:
    def __init__(self, proc, url, stderr=None):
        self.proc = proc
        self.url = url
        self.stderr = stderr     # a temporary file: a pipe nobody reads could fill
        self.tmp_home = None

    # -- admin -------------------------------------------------------------

    def admin(self, method, path, body=None, expect=200):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        assert status == expect, (status, raw[:500])
        return json.loads(raw)

    def seed(self, **doc):
        return self.admin('POST', '/_sim/seed', doc)

    def fault(self, **spec):
        return self.admin('POST', '/_sim/faults', spec)

    def advance(self, seconds):
        return self.admin('POST', '/_sim/clock', {'advance_seconds': seconds})

    def calls(self, **query):
        qs = urllib.parse.urlencode(query)
        return self.admin('GET', '/_sim/calls' + (f'?{qs}' if qs else ''))

    # -- raw signed requests -------------------------------------------------

    def request(self, params, key=KEY, region='us-east-1', service='ec2', token=None,
                amz_date=None, method='POST', path='/', timeout=30):
        body = urllib.parse.urlencode(params)
        url = self.url + path
        if method == 'GET':
            url, body = url + '?' + body, ''
        req = AWSRequest(method=method, url=url, data=body or None, headers={
            'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
        signer = SigV4Auth(Credentials(key[0], key[1], token), service, region)
        if amz_date is None:
            signer.add_auth(req)
        else:
            # add_auth always signs "now"; sign at a chosen time the same way.
            req.context['timestamp'] = amz_date
            signer._modify_request_before_signing(req)   # sets X-Amz-Date from it
            canonical = signer.canonical_request(req)
            sig = signer.signature(signer.string_to_sign(req, canonical), req)
            signer._inject_signature_to_request(req, sig)
        prepared = req.prepare()
        raw = urllib.request.Request(prepared.url, data=body.encode() if body else None,
                                     headers=dict(prepared.headers), method=method)
        try:
            with urllib.request.urlopen(raw, timeout=timeout) as resp:
                return Reply(resp.status, resp.read().decode(), dict(resp.headers))
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read().decode(), dict(error.headers))

    def call(self, action, params=None, **kw):
        return self.request(dict({'Action': action, 'Version': EC2_VERSION},
                                 **(params or {})), **kw)

    # -- clients -------------------------------------------------------------

    def aws(self, *args, key=KEY, region='us-east-1', token=None):
        env = {'PATH': '/usr/bin:/bin', 'HOME': self.tmp_home or '/tmp',
               'AWS_ACCESS_KEY_ID': key[0], 'AWS_SECRET_ACCESS_KEY': key[1],
               'AWS_DEFAULT_REGION': region, 'AWS_CONFIG_FILE': '/nonexistent',
               'AWS_SHARED_CREDENTIALS_FILE': '/nonexistent', 'AWS_PAGER': '',
               'AWS_EC2_METADATA_DISABLED': 'true', 'AWS_MAX_ATTEMPTS': '1',
               'AWS_RETRY_MODE': 'standard'}
        if token:
            env['AWS_SESSION_TOKEN'] = token
        proc = subprocess.run([AWS, '--endpoint-url', self.url, '--output', 'json',
                               *args], env=env, capture_output=True, text=True,
                              timeout=120)
        if proc.returncode != 0:
            raise AwsFailed(proc.returncode, proc.stderr)
        return json.loads(proc.stdout) if proc.stdout.strip() else {}

    def client(self, service='ec2', key=KEY, region='us-east-1', token=None):
        session = botocore.session.get_session()
        return session.create_client(
            service, region_name=region, endpoint_url=self.url,
            aws_access_key_id=key[0], aws_secret_access_key=key[1],
            aws_session_token=token,
            config=Config(retries={'total_max_attempts': 1}))

    # -- lifecycle -----------------------------------------------------------

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def errors(self):
        """What the simulator wrote to stderr (tracebacks of its own bugs)."""
        if self.stderr is None:
            return ''
        self.stderr.seek(0)
        return self.stderr.read()


def start_sim(*args, timeout=20):
    """Start tests/ec2sim/ec2sim on a free port; wait for its startup line."""
    stderr = tempfile.TemporaryFile(mode='w+')
    proc = subprocess.Popen([PYTHON, EC2SIM, '--port', '0', *args],
                            stdout=subprocess.PIPE, stderr=stderr, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            prefix = 'ec2sim listening on '
            if line.startswith(prefix):
                return Sim(proc, line[len(prefix):].strip(), stderr)
            if not line and proc.poll() is not None:
                break
    proc.kill()
    proc.wait()
    stderr.seek(0)
    raise RuntimeError('ec2sim did not start: ' + stderr.read())


@pytest.fixture(scope='session')
def sim_server(tmp_path_factory):
    sim = start_sim()
    sim.tmp_home = str(tmp_path_factory.mktemp('home'))
    yield sim
    assert sim.stop() == 0
    assert 'Traceback' not in sim.errors(), sim.errors()


@pytest.fixture
def sim(sim_server):
    """The shared simulator, reset to a fresh state for each test."""
    sim_server.admin('POST', '/_sim/reset')
    return sim_server


@pytest.fixture
def own_sim(tmp_path):
    """Start a private simulator with the given arguments; stopped afterwards."""
    started = []

    def start(*args):
        s = start_sim(*args)
        s.tmp_home = str(tmp_path)
        started.append(s)
        return s
    yield start
    for s in started:
        s.stop()
        assert 'Traceback' not in s.errors(), s.errors()
