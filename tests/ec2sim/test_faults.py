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



def test_after_lets_the_first_calls_through(sim):
    sim.fault(action='DescribeInstances', kind='throttle', after=2, count=1)
    assert [sim.call('DescribeInstances').status for _ in range(4)] == [200, 200, 503, 200]
    assert sim.admin('GET', '/_sim/faults')['faults'][0]['hits'] == 1

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


# -- the action runs, its answer is lost or spoiled ----------------------------

def test_lost_answer_creates_the_image_and_resets_the_connection(sim):
    iid = sim.seed(instances=[{}])['instances'][0]
    sim.fault(action='CreateImage', kind='lost_answer', count=1)
    with pytest.raises(ConnectionClosedError):
        sim.client().create_image(InstanceId=iid, Name='lost-slot-1')
    images = sim.admin('GET', '/_sim/images')
    assert [i['Name'] for i in images] == ['lost-slot-1']
    entry = sim.calls(action='CreateImage')[0]
    assert (entry['status'], entry['fault']) == (200, 'lost_answer')
    # The retry learns the truth the way a client must: the name is taken.
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'create-image', '--instance-id', iid, '--name', 'lost-slot-1')
    assert 'InvalidAMIName.Duplicate' in failed.value.stderr


def test_lost_answer_after_deregister_and_delete_snapshot(sim):
    seeded = sim.seed(images=[{'name': 'old', 'snapshots': [8]}])
    sim.fault(action='*', kind='lost_answer', count=2)
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected,
                        urllib.error.URLError)):
        sim.call('DeregisterImage', {'ImageId': seeded['images'][0]})
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected,
                        urllib.error.URLError)):
        sim.call('DeleteSnapshot', {'SnapshotId': seeded['snapshots'][0]})
    assert sim.admin('GET', '/_sim/images') == []
    assert sim.admin('GET', '/_sim/snapshots') == []
    assert sim.call('DeleteSnapshot', {'SnapshotId': seeded['snapshots'][0]}).code == \
        'InvalidSnapshot.NotFound'


def test_lost_answer_rate_and_errors_are_lost_too(sim):
    sim.fault(seed=3)
    sim.fault(action='DescribeImages', kind='lost_answer', rate=0.5)
    outcomes = []
    for _ in range(30):
        try:
            outcomes.append(sim.call('DescribeImages', {'ImageId.1': 'ami-nope'}).code)
        except (ConnectionResetError, http.client.RemoteDisconnected,
                urllib.error.URLError):
            outcomes.append('lost')
    assert 3 < outcomes.count('lost') < 27
    assert set(outcomes) == {'lost', 'InvalidAMIID.Malformed'}


def raw_exchange(sim, params, timeout=10):
    """Send one signed request on a fresh socket; return everything read until EOF."""
    import socket
    import urllib.parse
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from conftest import KEY
    body = urllib.parse.urlencode(dict({'Version': '2016-11-15'}, **params))
    req = AWSRequest(method='POST', url=sim.url + '/', data=body, headers={
        'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
    SigV4Auth(Credentials(*KEY), 'ec2', 'us-east-1').add_auth(req)
    host, port = urllib.parse.urlsplit(sim.url).netloc.split(':')
    head = ''.join(f'{k}: {v}\r\n' for k, v in req.headers.items())
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(f'POST / HTTP/1.1\r\nHost: {host}:{port}\r\n{head}'
                     f'Content-Length: {len(body)}\r\n\r\n{body}'.encode())
        data = b''
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk


def test_garbled_http(sim):
    sim.fault(action='DescribeInstances', kind='garbled_http', count=1)
    data = raw_exchange(sim, {'Action': 'DescribeInstances'})
    assert not data.startswith(b'HTTP/1.')
    sim.fault(action='DescribeInstances', kind='garbled_http', count=1)
    with pytest.raises(Exception) as err:
        sim.client().describe_instances()
    assert 'ClientError' not in type(err.value).__name__
    assert sim.call('DescribeInstances').status == 200


def test_truncated_answer(sim):
    sim.seed(instances={'count': 5})
    sim.fault(action='DescribeInstances', kind='truncated', count=1)
    data = raw_exchange(sim, {'Action': 'DescribeInstances'})
    head, _, body = data.partition(b'\r\n\r\n')
    length = int([line.split(b':')[1] for line in head.split(b'\r\n')
                  if line.lower().startswith(b'content-length')][0])
    assert head.startswith(b'HTTP/1.1 200') and 0 < len(body) < length
    sim.fault(action='DescribeInstances', kind='truncated', count=1)
    with pytest.raises(AwsFailed):
        sim.aws('ec2', 'describe-instances')


def test_malformed_xml(sim):
    sim.fault(action='DescribeImages', kind='malformed_xml', count=1)
    reply = sim.call('DescribeImages')
    assert reply.status == 200 and reply.root is None
    assert reply.body.startswith('<?xml')
    sim.fault(action='DescribeImages', kind='malformed_xml', count=1)
    with pytest.raises(AwsFailed):
        sim.aws('ec2', 'describe-images', '--owners', 'self')
    assert sim.calls(action='DescribeImages')[0]['fault'] == 'malformed_xml'


def test_html_error_page(sim):
    sim.fault(action='DescribeImages', kind='html', count=1)
    reply = sim.call('DescribeImages')
    assert reply.status == 502
    assert reply.headers['Content-Type'] == 'text/html'
    assert '<h1>502 Bad Gateway</h1>' in reply.body
    sim.fault(action='DescribeImages', kind='html', status=503, count=1)
    with pytest.raises(ClientError) as err:
        sim.client().describe_images(Owners=['self'])
    assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 503


def raw_answer(sim, params, timeout):
    """raw_exchange within `timeout` seconds: (bytes read, or None if it timed out; seconds)."""
    import socket
    start = time.monotonic()
    try:
        data = raw_exchange(sim, params, timeout=timeout)
    except socket.timeout:
        data = None
    return data, time.monotonic() - start


def test_hang_answers_nothing_and_runs_nothing_until_the_fault_goes(sim):
    iid = sim.seed(instances=[{}])['instances'][0]
    fault = sim.fault(action='CreateImage', kind='hang')
    params = {'Action': 'CreateImage', 'InstanceId': iid, 'Name': 'hung'}
    data, took = raw_answer(sim, params, timeout=1.5)
    assert data is None and took >= 1.4            # no byte within the client's timeout
    assert sim.client().describe_images(Owners=['self'])['Images'] == []
    [call] = sim.calls(action='CreateImage')
    assert (call['status'], call['error_code'], call['fault']) == (None, 'NoAnswer', 'hang')

    # Deleting the fault ends a hang in progress: closed, still without an answer.
    import threading
    threading.Timer(1.0, lambda: sim.admin('DELETE', f"/_sim/faults?id={fault['id']}")).start()
    data, took = raw_answer(sim, params, timeout=10)
    assert data == b'' and 0.9 < took < 5
    assert sim.call('CreateImage', {'InstanceId': iid, 'Name': 'hung'}).status == 200


def test_hang_with_seconds_closes_without_an_answer(sim):
    sim.fault(action='DescribeImages', kind='hang', seconds=0.5, count=1)
    data, took = raw_answer(sim, {'Action': 'DescribeImages'}, timeout=10)
    assert data == b'' and 0.4 < took < 5
    assert sim.call('DescribeImages').status == 200


def test_huge_body_is_the_well_formed_answer_padded(sim):
    sim.seed(instances=[{'name': 'web-1'}])
    sim.fault(action='DescribeInstances', kind='huge_body', bytes=3 * 1024 * 1024, count=1)
    reply = sim.call('DescribeInstances')
    assert reply.status == 200 and len(reply.body) == 3 * 1024 * 1024
    assert reply.headers['Content-Length'] == str(3 * 1024 * 1024)
    assert reply.root is not None                  # well-formed, the data still in it
    assert reply.text('reservationSet/item/instancesSet/item/tagSet/item/value') == 'web-1'
    assert sim.calls(action='DescribeInstances')[0]['fault'] == 'huge_body'


def test_huge_body_40_mib_chunked_garbage(sim):
    sim.fault(action='DescribeImages', kind='huge_body', body='garbage', chunked=True, count=1)
    data, _ = raw_answer(sim, {'Action': 'DescribeImages'}, timeout=30)
    head, _, body = data.partition(b'\r\n\r\n')
    assert b'transfer-encoding: chunked' in head.lower() and b'content-length' not in head.lower()
    size, got = 0, 0
    while True:
        line, _, body = body.partition(b'\r\n')
        size = int(line, 16)
        if size == 0:
            break
        assert body[:size].strip(bytes(range(256))) == b''
        got += size
        body = body[size + 2:]
    assert got == faults.HUGE_BODY_BYTES == 40 * 1024 * 1024
    sim.fault(action='DescribeImages', kind='huge_body', body='garbage', bytes=1024, count=1)
    with pytest.raises(Exception) as err:
        sim.client().describe_images(Owners=['self'])
    assert 'ClientError' not in type(err.value).__name__


def test_huge_body_options_are_checked(sim):
    for bad in ({'body': 'json'}, {'bytes': 0}, {'bytes': 2 ** 31}):
        assert 'error' in sim.admin('POST', '/_sim/faults', dict(kind='huge_body', **bad), expect=400)
