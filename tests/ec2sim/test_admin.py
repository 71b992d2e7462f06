"""The admin interface: call log, clock, reset, raw state, errors."""
import json
import urllib.request


def test_call_log_records_every_request(sim):
    sim.call('DescribeInstances', {'Filter.1.Name': 'tag:Role', 'Filter.1.Value.1': 'web'})
    sim.call('DescribeImages', {'Bogus': 'x'})
    calls = sim.calls()
    assert [c['action'] for c in calls] == ['DescribeInstances', 'DescribeImages']
    first, second = calls
    assert first['status'] == 200 and first['error_code'] is None
    assert first['service'] == 'ec2' and first['region'] == 'us-east-1'
    assert first['access_key'] == 'AKIDEXAMPLE'
    assert first['params']['Filter.1.Value.1'] == 'web'
    assert first['request_id'] and first['time'].endswith('Z')
    assert (second['status'], second['error_code']) == (400, 'UnknownParameter')
    assert [c['action'] for c in sim.calls(since=first['seq'])] == ['DescribeImages']
    assert len(sim.calls(action='DescribeInstances')) == 1
    sim.admin('DELETE', '/_sim/calls')
    assert sim.calls() == []


def test_clock(sim):
    doc = sim.admin('POST', '/_sim/clock', {'set': '2030-05-01T12:00:00Z', 'freeze': True})
    assert doc['now'] == '2030-05-01T12:00:00.000Z' and doc['frozen']
    assert sim.advance(90)['now'] == '2030-05-01T12:01:30.000Z'
    iid = sim.seed(instances=[{}])['instances'][0]
    inst = sim.client().describe_instances(InstanceIds=[iid])
    launched = inst['Reservations'][0]['Instances'][0]['LaunchTime']
    assert launched.isoformat().startswith('2030-05-01T12:01:30')
    assert sim.admin('POST', '/_sim/clock', {'real': True})['frozen'] is False


def test_reset_clears_everything(sim):
    sim.seed(instances=[{}], images=[{'name': 'x-image'}])
    sim.fault(action='*', kind='internal')
    sim.admin('POST', '/_sim/reset')
    assert sim.admin('GET', '/_sim/faults')['faults'] == []
    state = sim.admin('GET', '/_sim/state')
    assert state['regions'] == {}
    assert {k['access_key'] for k in state['keys']} == {'AKIDEXAMPLE', 'AKIDOTHER'}


def test_raw_views(sim):
    sim.seed(region='ap-south-1', images=[{'name': 'raw-one', 'snapshots': 2}])
    images = sim.admin('GET', '/_sim/images?region=ap-south-1')
    snaps = sim.admin('GET', '/_sim/snapshots?region=ap-south-1')
    assert [i['Name'] for i in images] == ['raw-one']
    assert len(snaps) == 2


def test_seed_errors_and_unknown_endpoints(sim):
    assert 'error' in sim.admin('POST', '/_sim/seed',
                                {'instances': [{'state': 'exploded'}]}, expect=400)
    assert 'error' in sim.admin('POST', '/_sim/faults', {'kind': 'meteor'}, expect=400)
    assert 'error' in sim.admin('GET', '/_sim/nothing', expect=404)
    req = urllib.request.Request(sim.url + '/_sim/seed', data=b'{not json',
                                 method='POST')
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError('bad JSON accepted')
    except urllib.error.HTTPError as error:
        assert error.code == 400
        assert 'error' in json.loads(error.read())


def test_seed_detailed_specs(sim):
    out = sim.seed(instances=[{'id': 'i-0123456789abcdef0', 'name': 'web-1',
                               'state': 'stopped', 'volumes': [8, 30, 40]}],
                   images=[{'id': 'ami-0deadbeef00000000', 'name': 'img',
                            'instance_id': 'i-0123456789abcdef0', 'state': 'failed',
                            'creation_date': '2026-01-01T00:00:00Z'}])
    assert out['instances'] == ['i-0123456789abcdef0']
    ec2 = sim.client()
    inst = ec2.describe_instances()['Reservations'][0]['Instances'][0]
    assert inst['State']['Name'] == 'stopped'
    assert {'Key': 'Name', 'Value': 'web-1'} in inst['Tags']
    assert len(inst['BlockDeviceMappings']) == 3
    image = ec2.describe_images(ImageIds=['ami-0deadbeef00000000'])['Images'][0]
    assert image['State'] == 'failed' and image['StateReason']['Code']
    assert image['CreationDate'] == '2026-01-01T00:00:00.000Z'
    snap = ec2.describe_snapshots(OwnerIds=['self'])['Snapshots'][0]
    assert snap['Description'] == \
        'Created by CreateImage(i-0123456789abcdef0) for ami-0deadbeef00000000'
