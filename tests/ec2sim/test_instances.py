"""Instances through awscli and botocore: run, describe (filters, paging), terminate."""
import pytest

from conftest import AwsFailed, ACCOUNT


def seed_image(sim, **extra):
    return sim.seed(images=[dict({'name': 'base-image'}, **extra)])['images'][0]


def test_run_then_describe_with_awscli(sim):
    image = seed_image(sim)
    out = sim.aws('ec2', 'run-instances', '--image-id', image, '--count', '2',
                  '--instance-type', 't3.micro', '--tag-specifications',
                  'ResourceType=instance,Tags=[{Key=Role,Value=web}]')
    assert out['OwnerId'] == ACCOUNT
    assert [i['State']['Name'] for i in out['Instances']] == ['pending', 'pending']
    ids = sorted(i['InstanceId'] for i in out['Instances'])
    desc = sim.aws('ec2', 'describe-instances', '--filters', 'Name=tag:Role,Values=web')
    found = sorted(i['InstanceId'] for r in desc['Reservations'] for i in r['Instances'])
    assert found == ids
    states = {i['State']['Name'] for r in desc['Reservations'] for i in r['Instances']}
    assert states == {'running'}
    raw = sim.admin('GET', '/_sim/images')[0]
    assert raw['LastLaunchedTime']


def test_run_instances_from_unknown_image_fails(sim):
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'run-instances', '--image-id', 'ami-0deadbeef00000000')
    assert 'InvalidAMIID.NotFound' in failed.value.stderr


def test_describe_filters(sim):
    sim.seed(instances=[{'tags': {'Role': 'web', 'Golden': 'yes'}},
                        {'tags': {'Role': 'web'}, 'state': 'stopped'},
                        {'tags': {'Role': 'db'}},
                        {'tags': {'amirotd-skip': 'true'}}])
    ec2 = sim.client()

    def ids_for(*filters):
        res = ec2.describe_instances(Filters=[{'Name': n, 'Values': v} for n, v in filters])
        return [i for r in res['Reservations'] for i in r['Instances']]

    assert len(ids_for(('tag:Role', ['web']))) == 2
    assert len(ids_for(('tag:Role', ['web']), ('tag:Golden', ['yes']))) == 1
    assert len(ids_for(('tag:Role', ['web']), ('instance-state-name', ['running']))) == 1
    assert len(ids_for(('tag-key', ['amirotd-skip']))) == 1
    assert len(ids_for(('tag:Role', ['w*']))) == 2
    one = ids_for(('tag:Role', ['db']))[0]
    assert [i['InstanceId'] for i in ids_for(('instance-id', [one['InstanceId']]))] == \
        [one['InstanceId']]
    assert len(ids_for(('image-id', [one['ImageId']]))) == 1


def test_unknown_filter_is_invalid_parameter_value(sim):
    reply = sim.call('DescribeInstances', {'Filter.1.Name': 'no-such-filter',
                                           'Filter.1.Value.1': 'x'})
    assert (reply.status, reply.code) == (400, 'InvalidParameterValue')


def test_paging_with_awscli(sim):
    created = sim.seed(instances={'count': 12, 'tags': {'Role': 'web'}})['instances']
    # --page-size sets MaxResults per call; awscli follows NextToken for us.
    out = sim.aws('ec2', 'describe-instances', '--page-size', '5')
    ids = [i['InstanceId'] for r in out['Reservations'] for i in r['Instances']]
    assert sorted(ids) == sorted(created)
    assert len(sim.calls(action='DescribeInstances')) == 3
    # --max-items stops early and hands back a token to resume from.
    first = sim.aws('ec2', 'describe-instances', '--page-size', '5', '--max-items', '7')
    assert sum(len(r['Instances']) for r in first['Reservations']) == 7
    rest = sim.aws('ec2', 'describe-instances', '--page-size', '5',
                   '--starting-token', first['NextToken'])
    assert sum(len(r['Instances']) for r in rest['Reservations']) == 5


def test_paging_rules(sim):
    sim.seed(instances={'count': 3})
    assert sim.call('DescribeInstances', {'MaxResults': '4'}).code == 'InvalidParameterValue'
    assert sim.call('DescribeInstances', {'MaxResults': '1001'}).code == 'InvalidParameterValue'
    assert sim.call('DescribeInstances', {'NextToken': 'garbage'}).code == \
        'InvalidParameterValue'
    reply = sim.call('DescribeInstances', {'MaxResults': '5',
                                           'InstanceId.1': 'i-0123456789abcdef0'})
    assert reply.code == 'InvalidParameterCombination'


def test_describe_unknown_and_malformed_ids(sim):
    reply = sim.call('DescribeInstances', {'InstanceId.1': 'i-0123456789abcdef0'})
    assert (reply.status, reply.code) == (400, 'InvalidInstanceID.NotFound')
    assert sim.call('DescribeInstances', {'InstanceId.1': 'i-xyz'}).code == \
        'InvalidInstanceID.Malformed'


def test_terminate(sim):
    iid = sim.seed(instances=[{}])['instances'][0]
    out = sim.aws('ec2', 'terminate-instances', '--instance-ids', iid)
    change = out['TerminatingInstances'][0]
    assert change['PreviousState']['Name'] == 'running'
    assert change['CurrentState']['Name'] == 'shutting-down'
    ec2 = sim.client()
    inst = ec2.describe_instances(InstanceIds=[iid])['Reservations'][0]['Instances'][0]
    assert inst['State'] == {'Code': 48, 'Name': 'terminated'}
    sim.advance(3700)     # terminated instances disappear after about an hour
    assert ec2.describe_instances()['Reservations'] == []


def test_launch_from_the_regions_public_amazon_image(sim):
    """Each region has Amazon's public AMI; a launch may add and resize volumes."""
    ec2 = sim.client(region='eu-north-1')
    out = ec2.run_instances(ImageId='ami-0123456789abcdef0', MinCount=1, MaxCount=1,
                            BlockDeviceMappings=[
                                {'DeviceName': '/dev/xvda', 'Ebs': {'VolumeSize': 30}},
                                {'DeviceName': '/dev/xvdb', 'Ebs': {'VolumeSize': 100}}])
    mappings = out['Instances'][0]['BlockDeviceMappings']
    assert [m['DeviceName'] for m in mappings] == ['/dev/xvda', '/dev/xvdb']
    image = ec2.create_image(InstanceId=out['Instances'][0]['InstanceId'],
                             Name='from-public')['ImageId']
    sizes = [m['Ebs']['VolumeSize'] for m in
             ec2.describe_images(ImageIds=[image])['Images'][0]['BlockDeviceMappings']]
    assert sizes == [30, 100]
    amazon = ec2.describe_images(Owners=['amazon'])['Images']
    assert [i['ImageId'] for i in amazon] == ['ami-0123456789abcdef0']
    assert amazon[0]['Public'] is True
    # Not the caller's: never listed under Owners=self, nor in the raw view.
    assert [i['Name'] for i in ec2.describe_images(Owners=['self'])['Images']] == \
        ['from-public']
    assert [i['Name'] for i in sim.admin('GET', '/_sim/images?region=eu-north-1')] == \
        ['from-public']


def test_a_windows_instance_says_so_as_ec2_does(sim):
    """EC2's Instance.Platform: "This value is windows for Windows instances; otherwise,
    it is empty" (absent from the answer); PlatformDetails names the AMI's billing
    platform, and the `platform` filter selects Windows instances."""
    [win, linux] = sim.seed(instances=[{'tags': {'Role': 'web'}, 'platform': 'windows'},
                                       {'tags': {'Role': 'web'}}])['instances']

    out = sim.aws('ec2', 'describe-instances', '--filters', 'Name=tag:Role,Values=web')

    by_id = {i['InstanceId']: i for r in out['Reservations'] for i in r['Instances']}
    assert by_id[win]['Platform'] == 'windows'
    assert by_id[win]['PlatformDetails'] == 'Windows'
    assert 'Platform' not in by_id[linux]
    assert by_id[linux]['PlatformDetails'] == 'Linux/UNIX'
    only = sim.aws('ec2', 'describe-instances', '--filters', 'Name=platform,Values=windows')
    assert [i['InstanceId'] for r in only['Reservations'] for i in r['Instances']] == [win]


def test_seeding_refuses_an_unknown_platform(sim):
    # EC2 knows one value (PlatformValues: Windows); a Linux instance has none.
    err = sim.admin('POST', '/_sim/seed', {'instances': [{'platform': 'linux'}]}, expect=400)
    assert 'platform' in err['error']
