"""Volumes (DescribeVolumes, tags on volumes) and CreateImage's NoDevice mappings,
checked as EC2 checks them; proven with awscli and botocore."""
import pytest

from conftest import AwsFailed


def _instance(sim, sizes=(8, 10, 20)):
    return sim.seed(instances=[{'volumes': list(sizes)}])['instances'][0]


def _volumes_by_device(ec2, iid):
    out = ec2.describe_volumes(Filters=[{'Name': 'attachment.instance-id', 'Values': [iid]}])
    return {v['Attachments'][0]['Device']: v['VolumeId'] for v in out['Volumes']}


def test_describe_volumes_filters_tags_and_paging(sim):
    iid = _instance(sim)
    other = _instance(sim, (8,))
    ec2 = sim.client()
    devices = _volumes_by_device(ec2, iid)
    assert sorted(devices) == ['/dev/sdf', '/dev/sdg', '/dev/xvda']
    sim.aws('ec2', 'create-tags', '--resources', devices['/dev/sdf'],
            '--tags', 'Key=Scratch,Value=true')
    sim.aws('ec2', 'create-tags', '--resources', devices['/dev/sdg'],
            '--tags', 'Key=Ephemeral,Value=yes')
    out = sim.aws('ec2', 'describe-volumes', '--filters', 'Name=tag:Scratch,Values=true')
    assert [v['VolumeId'] for v in out['Volumes']] == [devices['/dev/sdf']]
    assert out['Volumes'][0]['Tags'] == [{'Key': 'Scratch', 'Value': 'true'}]
    out = sim.aws('ec2', 'describe-volumes', '--filters', 'Name=tag-key,Values=Ephemeral')
    assert [v['VolumeId'] for v in out['Volumes']] == [devices['/dev/sdg']]
    out = sim.aws('ec2', 'describe-volumes', '--volume-ids', devices['/dev/xvda'])
    assert out['Volumes'][0]['Attachments'][0]['InstanceId'] == iid
    # all four volumes, five to a page at most: awscli follows NextToken
    paged = sim.aws('ec2', 'describe-volumes', '--page-size', '5')
    assert len(paged['Volumes']) == 4
    page = ec2.describe_volumes(MaxResults=5)
    assert len(page['Volumes']) == 4 and 'NextToken' not in page
    assert other in {v['Attachments'][0]['InstanceId'] for v in paged['Volumes']}


def test_describe_volumes_errors_as_ec2(sim):
    _instance(sim)
    assert sim.call('DescribeVolumes', {'MaxResults': '501'}).code == 'InvalidParameterValue'
    assert sim.call('DescribeVolumes', {'MaxResults': '4'}).code == 'InvalidParameterValue'
    assert sim.call('DescribeVolumes', {'VolumeId.1': 'vol-0123456789abcdef0',
                                        'MaxResults': '5'}).code == 'InvalidParameterCombination'
    assert sim.call('DescribeVolumes', {'VolumeId.1': 'vol-0123456789abcdef0'}).code == \
        'InvalidVolume.NotFound'
    assert sim.call('DescribeVolumes', {'VolumeId.1': 'volume-1'}).code == \
        'InvalidVolumeID.Malformed'
    too_many = {f'Filter.1.Value.{i}': f'v{i}' for i in range(1, 202)}
    too_many['Filter.1.Name'] = 'tag:Scratch'
    assert sim.call('DescribeVolumes', too_many).code == 'FilterLimitExceeded'
    assert sim.call('DescribeVolumes', {'Filter.1.Name': 'colour',
                                        'Filter.1.Value.1': 'red'}).code == 'InvalidParameterValue'


def test_create_image_no_device_leaves_the_volume_out(sim):
    iid = _instance(sim)
    sim.aws('ec2', 'create-image', '--instance-id', iid, '--name', 'no-scratch',
            '--block-device-mappings', 'DeviceName=/dev/sdf,NoDevice=""')
    image = sim.aws('ec2', 'describe-images', '--owners', 'self',
                    '--filters', 'Name=name,Values=no-scratch')['Images'][0]
    assert sorted(m['DeviceName'] for m in image['BlockDeviceMappings']) == \
        ['/dev/sdg', '/dev/xvda']
    assert all(m['Ebs']['SnapshotId'] for m in image['BlockDeviceMappings'])


def test_create_image_refuses_no_device_for_root_or_absent_devices(sim):
    iid = _instance(sim)
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'create-image', '--instance-id', iid, '--name', 'rootless',
                '--block-device-mappings', 'DeviceName=/dev/xvda,NoDevice=""')
    assert 'InvalidBlockDeviceMapping' in failed.value.stderr
    assert 'root device' in failed.value.stderr
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'create-image', '--instance-id', iid, '--name', 'absent',
                '--block-device-mappings', 'DeviceName=/dev/sdp,NoDevice=""',
                'DeviceName=/dev/sdo,NoDevice=""')
    assert 'InvalidBlockDeviceMapping' in failed.value.stderr
    assert 'Either snapshot ID or volume size must be provided for: /dev/sdp, /dev/sdo' \
        in failed.value.stderr
    answer = sim.call('CreateImage', {'InstanceId': iid, 'Name': 'valued',
                                      'BlockDeviceMapping.1.DeviceName': '/dev/sdf',
                                      'BlockDeviceMapping.1.NoDevice': 'yes'})
    assert answer.code == 'InvalidParameterValue'
    # nothing was made by the refused calls
    assert sim.client().describe_images(Owners=['self'])['Images'] == []
