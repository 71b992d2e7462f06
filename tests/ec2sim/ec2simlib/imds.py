"""IMDSv2 on the simulator's port, under /latest/.

  PUT /latest/api/token  (X-aws-ec2-metadata-token-ttl-seconds: 1..21600) -> token
  GET /latest/meta-data/iam/security-credentials/        -> the role name
  GET /latest/meta-data/iam/security-credentials/ROLE    -> credentials JSON
  GET /latest/meta-data/placement/region, .../instance-id, /latest/dynamic/
      instance-identity/document
GETs need X-aws-ec2-metadata-token with a live token, else 401 (IMDSv2 only).
The credentials are temporary keys valid for the EC2 and STS APIs; they expire
after lifetime_seconds of simulator time and are replaced refresh_before_seconds
before that ("at least five minutes before the expiration", EC2 user guide),
while the old ones stay valid until they expire. Admin can make IMDS hang
(accept, never answer) or disabled (404).
"""
import json
import secrets
import time

from .clock import iso_s
from .sts import issue_temporary

MAX_TTL = 21600


class ImdsAnswer:
    def __init__(self, status, body, content_type='text/plain', hang=False):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = content_type
        self.hang = hang


def _credentials(sim):
    """The current credentials, rotated when they are about to expire."""
    state, store, now = sim.imds, sim.store, sim.clock.now()
    key = store.keys.get(state.current) if state.current else None
    refresh = min(state.refresh_before_seconds, state.lifetime_seconds / 2)
    if key is None or now >= key['expires'] - refresh:
        arn = f'arn:aws:sts::{state.account}:assumed-role/{state.role}/{state.instance_id}'
        key = issue_temporary(store, state.account, arn,
                              f'AROAEC2SIMIMDS00000:{state.instance_id}',
                              now + state.lifetime_seconds)
        key['issued'] = now
        state.current = key['access_key']
    return key


def handle(sim, method, path, headers):
    with sim.lock:
        state = sim.imds
        if state.mode == 'hang':
            return ImdsAnswer(0, b'', hang=True)
        if state.mode == 'disabled':
            return ImdsAnswer(404, 'Not Found')
        if path == '/latest/api/token':
            if method != 'PUT':
                return ImdsAnswer(405, 'Method Not Allowed')
            ttl = headers.get('X-aws-ec2-metadata-token-ttl-seconds')
            if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= MAX_TTL:
                return ImdsAnswer(400, 'Bad Request')
            token = secrets.token_urlsafe(40)
            state.tokens[token] = time.monotonic() + int(ttl)
            return ImdsAnswer(200, token)
        if method != 'GET':
            return ImdsAnswer(405, 'Method Not Allowed')
        token = headers.get('X-aws-ec2-metadata-token')
        expiry = state.tokens.get(token) if token else None
        if expiry is None or time.monotonic() > expiry:
            return ImdsAnswer(401, 'Unauthorized')
        base = '/latest/meta-data/iam/security-credentials'
        if path in (base, base + '/'):
            return ImdsAnswer(200, state.role)
        if path == f'{base}/{state.role}':
            key = _credentials(sim)
            body = {'Code': 'Success', 'LastUpdated': iso_s(key['issued']),
                    'Type': 'AWS-HMAC', 'AccessKeyId': key['access_key'],
                    'SecretAccessKey': key['secret_key'], 'Token': key['token'],
                    'Expiration': iso_s(key['expires'])}
            return ImdsAnswer(200, json.dumps(body, indent=2))
        if path == '/latest/meta-data/placement/region':
            return ImdsAnswer(200, state.region)
        if path == '/latest/meta-data/instance-id':
            return ImdsAnswer(200, state.instance_id)
        if path == '/latest/dynamic/instance-identity/document':
            doc = {'accountId': state.account, 'region': state.region,
                   'instanceId': state.instance_id,
                   'availabilityZone': state.region + 'a'}
            return ImdsAnswer(200, json.dumps(doc, indent=2), 'application/json')
        return ImdsAnswer(404, 'Not Found')


def configure(sim, body):
    """POST /_sim/imds: mode, role, account, region, instance_id,
    lifetime_seconds, refresh_before_seconds, rotate (issue new credentials now)."""
    with sim.lock:
        state = sim.imds
        mode = body.get('mode', state.mode)
        if mode not in ('normal', 'hang', 'disabled'):
            raise ValueError("mode must be 'normal', 'hang' or 'disabled'")
        state.mode = mode
        for field in ('role', 'account', 'region', 'instance_id'):
            if field in body:
                setattr(state, field, str(body[field]))
                state.current = None
        for field in ('lifetime_seconds', 'refresh_before_seconds'):
            if field in body:
                setattr(state, field, float(body[field]))
        if body.get('rotate'):
            state.current = None
        return state.to_json()
