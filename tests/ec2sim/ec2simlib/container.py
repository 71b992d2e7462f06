"""Container credentials on the simulator's port: what the ECS agent serves at
169.254.170.2/v2/credentials/ID (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) and the
EKS Pod Identity agent at 169.254.170.23/v1/credentials (..._FULL_URI with
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE). A client is pointed here with
AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:PORT/v1/credentials (loopback
is an allowed host) or /v2/credentials/ANY.

  GET  -> {"RoleArn", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
          ("AccountId" too, as the Pod Identity agent adds it)

When a token is configured (POST /_sim/container {"token": ...}) the request's
Authorization header must equal it: missing is 401, another value 403, as the
agents answer. The keys are temporary keys of the role's account, valid for the
EC2 and STS APIs, rotated refresh_before_seconds before they expire.
"""
import json

from .clock import iso_s
from .imds import ImdsAnswer
from .sts import issue_temporary


class ContainerState:
    def __init__(self):
        self.mode = 'normal'            # normal | hang | disabled
        self.token = None               # the Authorization value required, None: any
        self.role = 'ec2sim-task-role'
        self.account = '111122223333'
        self.lifetime_seconds = 6 * 3600
        self.refresh_before_seconds = 300
        self.current = None

    def to_json(self):
        return {'mode': self.mode, 'token_set': self.token is not None, 'role': self.role,
                'account': self.account, 'lifetime_seconds': self.lifetime_seconds,
                'refresh_before_seconds': self.refresh_before_seconds, 'current_access_key': self.current}


def is_container_path(path):
    return path == '/v1/credentials' or path.startswith('/v2/credentials/')


def _credentials(sim):
    state, store, now = sim.container, sim.store, sim.clock.now()
    key = store.keys.get(state.current) if state.current else None
    refresh = min(state.refresh_before_seconds, state.lifetime_seconds / 2)
    if key is None or now >= key['expires'] - refresh:
        arn = f'arn:aws:sts::{state.account}:assumed-role/{state.role}/ec2sim-task'
        key = issue_temporary(store, state.account, arn, 'AROAEC2SIMTASK0000000:ec2sim-task',
                              now + state.lifetime_seconds)
        state.current = key['access_key']
    return key


def handle(sim, method, path, headers):
    with sim.lock:
        state = sim.container
        if state.mode == 'hang':
            return ImdsAnswer(0, b'', hang=True)
        if state.mode == 'disabled':
            return ImdsAnswer(404, 'Not Found')
        if method != 'GET':
            return ImdsAnswer(405, 'Method Not Allowed')
        if state.token is not None:
            auth = headers.get('Authorization')
            if auth is None:
                return ImdsAnswer(401, json.dumps({'code': 'AccessDeniedException',
                                                   'message': 'no Authorization header'}), 'application/json')
            if auth != state.token:
                return ImdsAnswer(403, json.dumps({'code': 'AccessDeniedException',
                                                   'message': 'invalid token'}), 'application/json')
        key = _credentials(sim)
        body = {'RoleArn': f'arn:aws:iam::{state.account}:role/{state.role}',
                'AccessKeyId': key['access_key'], 'SecretAccessKey': key['secret_key'],
                'Token': key['token'], 'Expiration': iso_s(key['expires']), 'AccountId': state.account}
        return ImdsAnswer(200, json.dumps(body), 'application/json')


def configure(sim, body):
    """POST /_sim/container: mode, token (null: none required), role, account,
    lifetime_seconds, refresh_before_seconds, rotate."""
    with sim.lock:
        state = sim.container
        mode = body.get('mode', state.mode)
        if mode not in ('normal', 'hang', 'disabled'):
            raise ValueError("mode must be 'normal', 'hang' or 'disabled'")
        state.mode = mode
        if 'token' in body:
            state.token = None if body['token'] is None else str(body['token'])
        for field in ('role', 'account'):
            if field in body:
                setattr(state, field, str(body[field]))
                state.current = None
        for field in ('lifetime_seconds', 'refresh_before_seconds'):
            if field in body:
                setattr(state, field, float(body[field]))
        if body.get('rotate'):
            state.current = None
        return state.to_json()
