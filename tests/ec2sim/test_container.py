"""The container-credentials endpoint (ECS task role, EKS Pod Identity)."""
import json
import urllib.error
import urllib.request

from botocore.credentials import ContainerProvider

from conftest import ACCOUNT


def get(sim, path, headers=None):
    req = urllib.request.Request(sim.url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, json.loads(body) if body.startswith(b'{') else body.decode()


def test_container_credentials_sign_and_rotate(sim):
    status, body = get(sim, '/v2/credentials/task-1234')
    assert status == 200
    assert body['RoleArn'] == f'arn:aws:iam::{ACCOUNT}:role/ec2sim-task-role'
    assert body['AccessKeyId'].startswith('ASIA') and body['Token'] and body['Expiration'].endswith('Z')
    who = sim.client('sts', key=(body['AccessKeyId'], body['SecretAccessKey']),
                     token=body['Token']).get_caller_identity()
    assert who['Arn'].endswith(':assumed-role/ec2sim-task-role/ec2sim-task')
    assert get(sim, '/v1/credentials')[1]['AccessKeyId'] == body['AccessKeyId']
    sim.admin('POST', '/_sim/container', {'rotate': True})
    assert get(sim, '/v1/credentials')[1]['AccessKeyId'] != body['AccessKeyId']
    assert [c['service'] for c in sim.calls(service='container')] == ['container'] * 3


def test_container_token_is_checked(sim):
    sim.admin('POST', '/_sim/container', {'token': 'Bearer pod-identity-token'})
    assert get(sim, '/v1/credentials')[0] == 401
    assert get(sim, '/v1/credentials', {'Authorization': 'Bearer other'})[0] == 403
    assert get(sim, '/v1/credentials', {'Authorization': 'Bearer pod-identity-token'})[0] == 200
    sim.admin('POST', '/_sim/container', {'mode': 'disabled'})
    assert get(sim, '/v1/credentials', {'Authorization': 'Bearer pod-identity-token'})[0] == 404


def test_botocore_container_provider_reads_it(sim):
    sim.admin('POST', '/_sim/container', {'token': 'tok-123'})
    env = {'AWS_CONTAINER_CREDENTIALS_FULL_URI': sim.url + '/v1/credentials',
           'AWS_CONTAINER_AUTHORIZATION_TOKEN': 'tok-123'}
    creds = ContainerProvider(environ=env).load()
    assert creds.method == 'container-role'
    assert creds.get_frozen_credentials().access_key.startswith('ASIA')
