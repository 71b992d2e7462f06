"""Parameters are checked against botocore's EC2 model, and errors look like EC2's."""
import re

from conftest import EC2_VERSION


def test_unknown_parameter(sim):
    reply = sim.call('DescribeInstances', {'Bogus': '1'})
    assert (reply.status, reply.code) == (400, 'UnknownParameter')
    assert 'Bogus' in reply.text('Errors/Error/Message')


def test_unknown_nested_parameter(sim):
    reply = sim.call('DescribeInstances', {'Filter.1.Name': 'tag:Role',
                                           'Filter.1.Valu.1': 'web'})
    assert reply.code == 'UnknownParameter'
    assert 'Filter.1.Valu' in reply.text('Errors/Error/Message')


def test_missing_required_parameter(sim):
    reply = sim.call('CreateImage', {'Name': 'abc'})
    assert (reply.status, reply.code) == (400, 'MissingParameter')
    assert 'InstanceId' in reply.text('Errors/Error/Message')


def test_wrong_types_are_invalid_parameter_value(sim):
    assert sim.call('DescribeInstances', {'MaxResults': 'ten'}).code == 'InvalidParameterValue'
    assert sim.call('DescribeInstances', {'DryRun': 'yes'}).code == 'InvalidParameterValue'
    assert sim.call('EnableImageDeprecation', {
        'ImageId': 'ami-0123456789abcdef0', 'DeprecateAt': 'soon'}).code == \
        'InvalidParameterValue'
    assert sim.call('DescribeImageAttribute', {
        'ImageId': 'ami-0123456789abcdef0', 'Attribute': 'colour'}).code == \
        'InvalidParameterValue'


def test_parameters_newer_than_the_model_are_accepted(sim):
    # DescribeImages MaxResults/NextToken and DeregisterImage
    # DeleteAssociatedSnapshots postdate botocore 1.29's model.
    assert sim.call('DescribeImages', {'Owner.1': 'self', 'MaxResults': '5'}).status == 200
    image = sim.seed(images=[{'name': 'newer'}])['images'][0]
    reply = sim.call('DeregisterImage', {'ImageId': image,
                                         'DeleteAssociatedSnapshots': 'true'})
    assert reply.status == 200, reply


def test_unknown_action(sim):
    reply = sim.call('LaunchRockets')
    assert (reply.status, reply.code) == (400, 'InvalidAction')


def test_error_document_shape(sim):
    reply = sim.call('DescribeInstances', {'Bogus': '1'})
    assert reply.body.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Response>')
    assert reply.root.tag == 'Response'
    assert [e.tag for e in reply.find('Errors/Error')] == ['Code', 'Message']
    assert re.match(r'^[0-9a-f-]{36}$', reply.text('RequestID'))


def test_request_ids_are_fresh(sim):
    first, second = sim.call('DescribeInstances'), sim.call('DescribeInstances')
    assert first.text('requestId') != second.text('requestId')
    assert 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"' in first.body


def test_dry_run_on_mutating_actions(sim):
    iid = sim.seed(instances=[{}])['instances'][0]
    for action, params in [
            ('CreateImage', {'InstanceId': iid, 'Name': 'dry-run'}),
            ('TerminateInstances', {'InstanceId.1': iid}),
            ('CreateTags', {'ResourceId.1': iid, 'Tag.1.Key': 'k', 'Tag.1.Value': 'v'}),
            ('DeleteSnapshot', {'SnapshotId': 'snap-0123456789abcdef0'})]:
        reply = sim.call(action, dict(params, DryRun='true'))
        assert (reply.status, reply.code) == (412, 'DryRunOperation'), action
    # Nothing happened.
    assert sim.admin('GET', '/_sim/images') == []
    assert sim.admin('GET', '/_sim/instances')[0]['State']['Name'] == 'running'


def test_dry_run_with_awscli(sim):
    import pytest
    from conftest import AwsFailed
    iid = sim.seed(instances=[{}])['instances'][0]
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'create-image', '--instance-id', iid, '--name', 'x-dry',
                '--dry-run')
    assert 'DryRunOperation' in failed.value.stderr


def test_version_and_action_are_not_parameters_of_the_operation(sim):
    reply = sim.request({'Action': 'DescribeInstances', 'Version': EC2_VERSION})
    assert reply.status == 200
