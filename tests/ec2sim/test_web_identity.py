"""STS AssumeRoleWithWebIdentity: unsigned, the token checked against the seeded ones."""
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config

from conftest import ACCOUNT

ROLE = f'arn:aws:iam::{ACCOUNT}:role/eks-amirotd'


def sts_unsigned(sim):
    return botocore.session.get_session().create_client(
        'sts', region_name='us-east-1', endpoint_url=sim.url, config=Config(signature_version=UNSIGNED))


def test_web_identity_token_gives_keys_that_sign(sim):
    sim.admin('POST', '/_sim/sts', {'web_identity_tokens': ['eyJ.seeded.token']})
    out = sts_unsigned(sim).assume_role_with_web_identity(
        RoleArn=ROLE, RoleSessionName='amirotd-1', WebIdentityToken='eyJ.seeded.token')
    c = out['Credentials']
    assert c['AccessKeyId'].startswith('ASIA')
    assert out['AssumedRoleUser']['Arn'] == f'arn:aws:sts::{ACCOUNT}:assumed-role/eks-amirotd/amirotd-1'
    who = sim.client('sts', key=(c['AccessKeyId'], c['SecretAccessKey']), token=c['SessionToken'])
    assert who.get_caller_identity()['Arn'] == out['AssumedRoleUser']['Arn']
    state = sim.admin('POST', '/_sim/sts', {})
    assert state['web_identity_calls'] == [{'role_arn': ROLE, 'session': 'amirotd-1'}]


def test_web_identity_refuses_other_tokens(sim):
    import botocore.exceptions
    import pytest
    sim.admin('POST', '/_sim/sts', {'web_identity_tokens': ['eyJ.seeded.token']})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts_unsigned(sim).assume_role_with_web_identity(
            RoleArn=ROLE, RoleSessionName='amirotd-1', WebIdentityToken='eyJ.other')
    assert e.value.response['Error']['Code'] == 'InvalidIdentityToken'
    calls = sim.calls(action='AssumeRoleWithWebIdentity')
    calls = calls.get('calls', calls) if isinstance(calls, dict) else calls
    assert calls[-1]['access_key'] is None and calls[-1]['error_code'] == 'InvalidIdentityToken'
