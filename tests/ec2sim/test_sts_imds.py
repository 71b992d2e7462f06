"""STS AssumeRole/GetCallerIdentity and the IMDSv2 endpoint."""
import json
import socket
import urllib.error
import urllib.request

import pytest

from conftest import ACCOUNT, OTHER_ACCOUNT


def test_assume_role_with_awscli_into_another_account(sim):
    sim.seed(account=OTHER_ACCOUNT, instances=[{'tags': {'Role': 'web'}}])
    out = sim.aws('sts', 'assume-role', '--role-arn',
                  f'arn:aws:iam::{OTHER_ACCOUNT}:role/amirotd',
                  '--role-session-name', 'amirotd-web')
    creds = out['Credentials']
    assert creds['AccessKeyId'].startswith('ASIA')
    assert out['AssumedRoleUser']['Arn'] == \
        f'arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/amirotd/amirotd-web'
    key = (creds['AccessKeyId'], creds['SecretAccessKey'])
    who = sim.aws('sts', 'get-caller-identity', key=key, token=creds['SessionToken'])
    assert who['Account'] == OTHER_ACCOUNT
    found = sim.aws('ec2', 'describe-instances', key=key, token=creds['SessionToken'])
    assert len(found['Reservations']) == 1


def test_get_caller_identity(sim):
    who = sim.client('sts').get_caller_identity()
    assert who['Account'] == ACCOUNT
    assert who['Arn'] == f'arn:aws:iam::{ACCOUNT}:user/ec2sim'


def test_assume_role_errors(sim):
    sts = {'Action': 'AssumeRole', 'Version': '2011-06-15'}
    bad_arn = sim.request(dict(sts, RoleArn='not-an-arn', RoleSessionName='abc'),
                          service='sts')
    assert (bad_arn.status, bad_arn.code) == (400, 'ValidationError')
    arn = f'arn:aws:iam::{ACCOUNT}:role/r'
    too_long = sim.request(dict(sts, RoleArn=arn, RoleSessionName='abc',
                                DurationSeconds='7200'), service='sts')
    assert too_long.code == 'ValidationError'
    sim.admin('POST', '/_sim/sts', {'deny_roles': [arn]})
    denied = sim.request(dict(sts, RoleArn=arn, RoleSessionName='abc'), service='sts')
    assert (denied.status, denied.code) == (403, 'AccessDenied')
    missing = sim.request(dict(sts, RoleArn=arn), service='sts')
    assert (missing.status, missing.code) == (400, 'ValidationError')


def imds(sim, path, method='GET', headers=None, timeout=10):
    req = urllib.request.Request(sim.url + path, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def imds_token(sim, ttl='60'):
    status, token = imds(sim, '/latest/api/token', 'PUT',
                         {'X-aws-ec2-metadata-token-ttl-seconds': ttl})
    assert status == 200
    return token


def imds_creds(sim, token):
    h = {'X-aws-ec2-metadata-token': token}
    status, role = imds(sim, '/latest/meta-data/iam/security-credentials/', headers=h)
    assert status == 200
    status, body = imds(sim, f'/latest/meta-data/iam/security-credentials/{role}',
                        headers=h)
    assert status == 200
    return json.loads(body)


def test_imds_token_flow_and_credentials_work(sim):
    assert imds(sim, '/latest/meta-data/iam/security-credentials/')[0] == 401
    assert imds(sim, '/latest/api/token', 'PUT')[0] == 400
    token = imds_token(sim)
    creds = imds_creds(sim, token)
    assert creds['Code'] == 'Success' and creds['Type'] == 'AWS-HMAC'
    assert creds['Expiration'].endswith('Z')
    key = (creds['AccessKeyId'], creds['SecretAccessKey'])
    assert sim.call('DescribeInstances', key=key, token=creds['Token']).status == 200
    assert imds(sim, '/latest/meta-data/placement/region',
                headers={'X-aws-ec2-metadata-token': token}) == (200, 'us-east-1')


def test_imds_credentials_expire_and_rotate(sim):
    sim.admin('POST', '/_sim/imds', {'lifetime_seconds': 3600})
    token = imds_token(sim)
    first = imds_creds(sim, token)
    assert imds_creds(sim, token)['AccessKeyId'] == first['AccessKeyId']
    sim.advance(3600 - 200)          # inside the refresh window: new ones served
    second = imds_creds(sim, token)
    assert second['AccessKeyId'] != first['AccessKeyId']
    old = (first['AccessKeyId'], first['SecretAccessKey'])
    assert sim.call('DescribeInstances', key=old, token=first['Token']).status == 200
    sim.advance(300)                 # the first ones have now expired
    assert sim.call('DescribeInstances', key=old, token=first['Token']).code == \
        'RequestExpired'
    new = (second['AccessKeyId'], second['SecretAccessKey'])
    assert sim.call('DescribeInstances', key=new, token=second['Token']).status == 200


def test_imds_disabled_and_hanging(sim):
    sim.admin('POST', '/_sim/imds', {'mode': 'disabled'})
    assert imds(sim, '/latest/api/token', 'PUT',
                {'X-aws-ec2-metadata-token-ttl-seconds': '60'})[0] == 404
    sim.admin('POST', '/_sim/imds', {'mode': 'hang'})
    with pytest.raises((socket.timeout, TimeoutError, urllib.error.URLError)):
        imds(sim, '/latest/api/token', 'PUT',
             {'X-aws-ec2-metadata-token-ttl-seconds': '60'}, timeout=0.5)
    sim.admin('POST', '/_sim/imds', {'mode': 'normal'})
    assert imds_token(sim)
    assert any(c['service'] == 'imds' for c in sim.calls())
