"""SSM Parameter Store over the JSON protocol, proven with awscli (a real client):
PutParameter, GetParameter, GetParameters, DeleteParameter, their errors, versions, and
aws:ec2:image's asynchronous validation as a caller can observe it."""
import json
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import ACCOUNT, KEY, OTHER_ACCOUNT, OTHER_KEY, AwsFailed

IMAGE_DATA = ('--type', 'String', '--data-type', 'aws:ec2:image')


def available_image(sim, region='us-east-1', account=ACCOUNT):
    iid = sim.seed(region=region, account=account, instances=[{}])['instances'][0]
    image = sim.client(region=region, key=OTHER_KEY if account == OTHER_ACCOUNT else KEY).create_image(
        InstanceId=iid, Name=f'golden-{iid}')['ImageId']
    sim.admin('POST', '/_sim/images/settle', {})
    return image


def get(sim, name, **kw):
    return sim.aws('ssm', 'get-parameter', '--name', name, **kw)['Parameter']


def test_put_and_get_a_text_parameter_with_versions(sim):
    assert sim.aws('ssm', 'put-parameter', '--name', '/golden/web/note', '--value', 'one',
                   '--type', 'String') == {'Version': 1, 'Tier': 'Standard'}
    p = get(sim, '/golden/web/note')
    assert (p['Value'], p['Version'], p['Type'], p['DataType']) == ('one', 1, 'String', 'text')
    assert p['ARN'] == f'arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/golden/web/note'

    with pytest.raises(AwsFailed) as e:
        sim.aws('ssm', 'put-parameter', '--name', '/golden/web/note', '--value', 'two', '--type', 'String')
    assert 'ParameterAlreadyExists' in e.value.stderr
    assert sim.aws('ssm', 'put-parameter', '--name', '/golden/web/note', '--value', 'two',
                   '--overwrite')['Version'] == 2
    assert get(sim, '/golden/web/note')['Value'] == 'two'
    assert get(sim, '/golden/web/note:2')['Version'] == 2

    both = sim.aws('ssm', 'get-parameters', '--names', '/golden/web/note', '/golden/nope')
    assert [p['Value'] for p in both['Parameters']] == ['two']
    assert both['InvalidParameters'] == ['/golden/nope']

    sim.aws('ssm', 'delete-parameter', '--name', '/golden/web/note')
    with pytest.raises(AwsFailed) as e:
        get(sim, '/golden/web/note')
    assert 'ParameterNotFound' in e.value.stderr


def test_parameters_are_per_account_and_region(sim):
    sim.aws('ssm', 'put-parameter', '--name', 'shared', '--value', 'mine', '--type', 'String')
    sim.aws('ssm', 'put-parameter', '--name', 'shared', '--value', 'theirs', '--type', 'String', key=OTHER_KEY)
    sim.aws('ssm', 'put-parameter', '--name', 'shared', '--value', 'west', '--type', 'String',
            region='us-west-2')
    assert get(sim, 'shared')['Value'] == 'mine'
    assert get(sim, 'shared', key=OTHER_KEY)['Value'] == 'theirs'
    assert get(sim, 'shared', region='us-west-2')['Value'] == 'west'


@pytest.mark.parametrize('name, code', [
    ('awsparam', 'ValidationException'),
    ('/SSM/x', 'ValidationException'),
    ('/golden/web latest', 'ValidationException'),
    ('golden/web', 'ValidationException'),
    ('/golden/web$', 'ValidationException'),
    ('/' + '/'.join('l%d' % i for i in range(16)), 'HierarchyLevelLimitExceededException'),
    ('/' + 'x' * 1000, 'ValidationException'),
])
def test_bad_names_are_refused_as_ssm_refuses_them(sim, name, code):
    with pytest.raises(AwsFailed) as e:
        sim.aws('ssm', 'put-parameter', '--name', name, '--value', 'v', '--type', 'String')
    assert f'({code})' in e.value.stderr


def test_image_value_format_is_checked_at_once(sim):
    with pytest.raises(AwsFailed) as e:
        sim.aws('ssm', 'put-parameter', '--name', '/golden/web/latest', '--value', 'ami-nothex', *IMAGE_DATA)
    assert '(ValidationException)' in e.value.stderr and 'aws:ec2:image' in e.value.stderr


def test_image_existence_is_validated_asynchronously(sim):
    image = available_image(sim)
    sim.admin('POST', '/_sim/ssm', {'validation_seconds': 30})
    try:
        assert sim.aws('ssm', 'put-parameter', '--name', '/golden/web/latest', '--value', image,
                       *IMAGE_DATA)['Version'] == 1
        # "a successful HTTP 200 response does not guarantee that your parameter was
        # successfully created": until validation ends it is not there.
        with pytest.raises(AwsFailed) as e:
            get(sim, '/golden/web/latest')
        assert 'ParameterNotFound' in e.value.stderr
        sim.advance(31)
        p = get(sim, '/golden/web/latest')
        assert (p['Value'], p['Version'], p['DataType']) == (image, 1, 'aws:ec2:image')

        # An image that does not exist: 200 at once, and the old value stays.
        assert sim.aws('ssm', 'put-parameter', '--name', '/golden/web/latest', '--value',
                       'ami-0aaaaaaaaaaaaaaaa', '--overwrite', *IMAGE_DATA)['Version'] == 2
        sim.advance(31)
        assert get(sim, '/golden/web/latest')['Value'] == image
    finally:
        sim.admin('POST', '/_sim/ssm', {'validation_seconds': 0})


def test_image_of_another_account_needs_a_launch_permission(sim):
    theirs = available_image(sim, account=OTHER_ACCOUNT)
    sim.aws('ssm', 'put-parameter', '--name', '/golden/theirs', '--value', theirs, *IMAGE_DATA)
    with pytest.raises(AwsFailed):
        get(sim, '/golden/theirs')
    sim.client(key=OTHER_KEY).modify_image_attribute(
        ImageId=theirs, LaunchPermission={'Add': [{'UserId': ACCOUNT}]})
    sim.aws('ssm', 'put-parameter', '--name', '/golden/theirs', '--value', theirs, *IMAGE_DATA)
    assert get(sim, '/golden/theirs')['Value'] == theirs


def test_a_template_resolves_a_parameter_written_through_ssm(sim):
    image = available_image(sim)
    sim.aws('ssm', 'put-parameter', '--name', '/golden/lt', '--value', image, *IMAGE_DATA)
    ec2 = sim.client()
    ec2.create_launch_template(LaunchTemplateName='ssm-put', LaunchTemplateData={
        'ImageId': 'resolve:ssm:/golden/lt'})
    v = sim.aws('ec2', 'describe-launch-template-versions', '--launch-template-name', 'ssm-put', '--versions', '$Default',
                '--resolve-alias')
    assert v['LaunchTemplateVersions'][0]['LaunchTemplateData']['ImageId'] == image


def raw_json(sim, target, body, key=KEY, content_type='application/x-amz-json-1.1'):
    req = AWSRequest(method='POST', url=sim.url + '/', data=body,
                     headers={'Content-Type': content_type, 'X-Amz-Target': target})
    SigV4Auth(Credentials(*key), 'ssm', 'us-east-1').add_auth(req)
    prepared = req.prepare()
    raw = urllib.request.Request(prepared.url, data=body.encode(), headers=dict(prepared.headers),
                                 method='POST')
    try:
        with urllib.request.urlopen(raw, timeout=30) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def test_errors_are_json_objects_with_a_type_and_a_request_id(sim):
    status, doc, headers = raw_json(sim, 'AmazonSSM.GetParameter', '{"Name": "/none"}')
    assert status == 400 and doc['__type'] == 'ParameterNotFound'
    assert headers.get('x-amzn-RequestId')
    status, doc, _ = raw_json(sim, 'AmazonSSM.GetParameter', '{"Name": "/none"}', key=(KEY[0], 'wrong'))
    assert status == 400 and doc['__type'] == 'InvalidSignatureException'
    status, doc, _ = raw_json(sim, 'AmazonSSM.NoSuchAction', '{}')
    assert status == 400 and doc['__type'] == 'UnknownOperationException'
    status, doc, _ = raw_json(sim, 'AmazonSSM.GetParameter', '{"Name": ')
    assert status == 400 and doc['__type'] == 'SerializationException'
    sim.fault(kind='throttle', action='GetParameter', count=1)
    status, doc, _ = raw_json(sim, 'AmazonSSM.GetParameter', '{"Name": "/none"}')
    assert status == 400 and doc['__type'] == 'ThrottlingException'
    assert [c['error_code'] for c in sim.calls(service='ssm')][-1] == 'ThrottlingException'


def test_parameters_and_pending_writes_survive_a_restart(own_sim, tmp_path):
    path = str(tmp_path / 'state.json')
    sim = own_sim('--state', path)
    image = available_image(sim)
    sim.aws('ssm', 'put-parameter', '--name', '/golden/kept', '--value', image, *IMAGE_DATA)
    assert get(sim, '/golden/kept')['Value'] == image
    sim.admin('POST', '/_sim/ssm', {'validation_seconds': 60})
    sim.aws('ssm', 'put-parameter', '--name', '/golden/later', '--value', image, *IMAGE_DATA)
    sim.stop()

    again = own_sim('--state', path)
    p = get(again, '/golden/kept')
    assert (p['Value'], p['Version'], p['DataType']) == (image, 1, 'aws:ec2:image')
    assert [w['Name'] for w in again.admin('GET', '/_sim/ssm')['pending']] == ['/golden/later']
    again.advance(61)
    assert get(again, '/golden/later')['Value'] == image
