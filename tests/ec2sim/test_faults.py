"""Injected faults, EC2's token buckets, and --latency-ms / --buckets off."""
import http.client
import time
import urllib.error

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from conftest import AwsFailed
from ec2simlib import faults


def test_throttle_by_count_as_ec2_sends_it(sim):
    sim.fault(action='DescribeInstances', kind='throttle', count=2)
    for _ in range(2):
        reply = sim.call('DescribeInstances')
        assert (reply.status, reply.code) == (503, 'RequestLimitExceeded')
        assert reply.text('Errors/Error/Message') == 'Request limit exceeded.'
    assert sim.call('DescribeInstances').status == 200
    assert sim.admin('GET', '/_sim/faults')['faults'][0]['hits'] == 2


def test_awscli_sees_request_limit_exceeded(sim):
    sim.fault(action='*', kind='throttle')
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'describe-images', '--owners', 'self')
    assert 'RequestLimitExceeded' in failed.value.stderr


def test_internal_unavailable_and_custom_errors(sim):
    sim.fault(action='DescribeImages', kind='internal', count=1)
    sim.fault(action='DescribeImages', kind='unavailable', count=1)
    sim.fault(action='DescribeImages', kind='error', code='InvalidParameterValue',
              status=400, message='made up', count=1)
    ec2 = sim.client()
    for code, status in [('InternalError', 500), ('Unavailable', 503),
                         ('InvalidParameterValue', 400)]:
        with pytest.raises(ClientError) as err:
            ec2.describe_images(Owners=['self'])
        assert err.value.response['Error']['Code'] == code
        assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == status
    assert ec2.describe_images(Owners=['self'])['Images'] == []


def test_fault_for_one_action_only_and_one_region(sim):
    sim.fault(action='CreateTags', kind='internal')
    sim.fault(action='*', kind='unavailable', region='eu-west-1')
    assert sim.call('DescribeInstances').status == 200
    assert sim.call('DescribeInstances', region='eu-west-1').code == 'Unavailable'
    iid = sim.seed(instances=[{}])['instances'][0]
    assert sim.call('CreateTags', {'ResourceId.1': iid, 'Tag.1.Key': 'k'}).code == \
        'InternalError'
    sim.admin('DELETE', '/_sim/faults')
    assert sim.call('CreateTags', {'ResourceId.1': iid, 'Tag.1.Key': 'k'}).status == 200


def test_fault_rate(sim):
    sim.fault(seed=7)
    sim.fault(action='DescribeInstances', kind='internal', rate=0.5)
    codes = [sim.call('DescribeInstances').status for _ in range(40)]
    assert 5 < codes.count(500) < 35
    assert codes.count(200) + codes.count(500) == 40


def test_connection_reset(sim):
    sim.fault(action='DescribeInstances', kind='reset', count=1)
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected,
                        urllib.error.URLError)):
        sim.call('DescribeInstances')
    sim.fault(action='DescribeInstances', kind='reset', count=1)
    with pytest.raises(ConnectionClosedError):
        sim.client().describe_instances()
    assert sim.call('DescribeInstances').status == 200
    assert sim.calls(action='DescribeInstances')[0]['error_code'] == 'ConnectionReset'


def test_latency_with_jitter(sim):
    sim.fault(action='DescribeInstances', kind='latency', latency_ms=300, jitter_ms=100,
              count=1)
    start = time.monotonic()
    assert sim.call('DescribeInstances').status == 200
    assert 0.3 <= time.monotonic() - start < 3


def test_ec2_token_bucket_throttles_run_instances(sim):
    image = sim.seed(images=[{'name': 'base'}])['images'][0]
    params = {'ImageId': image, 'MinCount': '1', 'MaxCount': '1'}
    statuses = [sim.call('RunInstances', params) for _ in range(10)]
    # RunInstances: bucket maximum capacity 5, refill 2 per second.
    assert [r.status for r in statuses[:5]] == [200] * 5
    assert 'RequestLimitExceeded' in [r.code for r in statuses[5:]]
    buckets = sim.admin('GET', '/_sim/buckets')['buckets']
    assert any(b['bucket'] == 'RunInstances' for b in buckets)


def test_bucket_categories_follow_the_ec2_table():
    assert faults.bucket_for('DescribeInstances', {}) == \
        ('DescribeInstances:unfiltered', 50, 10)
    assert faults.bucket_for('DescribeInstances', {'Filter.1.Name': 'x'}) == \
        ('DescribeInstances', 100, 20)
    assert faults.bucket_for('DescribeImages', {}) == ('DescribeImages', 100, 20)
    assert faults.bucket_for('CreateImage', {}) == ('CreateImage', 50, 5)
    assert faults.bucket_for('CreateTags', {}) == ('CreateTags', 100, 10)
    assert faults.bucket_for('DeregisterImage', {}) == ('DeregisterImage', 100, 5)
    assert faults.bucket_for('CopyImage', {}) == ('CopyImage', 100, 1)


def test_bucket_override_via_admin(sim):
    sim.admin('POST', '/_sim/buckets', {'overrides': {'DescribeImages': [2, 0.001]}})
    codes = [sim.call('DescribeImages').code for _ in range(3)]
    assert codes == [None, None, 'RequestLimitExceeded']
    sim.admin('POST', '/_sim/buckets', {'enabled': False})
    assert sim.call('DescribeImages').status == 200


def test_latency_option_and_buckets_off(own_sim):
    sim = own_sim('--latency-ms', '150', '--buckets', 'off')
    image = sim.seed(images=[{'name': 'base'}])['images'][0]
    start = time.monotonic()
    replies = [sim.call('RunInstances', {'ImageId': image, 'MinCount': '1',
                                         'MaxCount': '1'}) for _ in range(8)]
    assert [r.status for r in replies] == [200] * 8
    assert time.monotonic() - start >= 8 * 0.15
