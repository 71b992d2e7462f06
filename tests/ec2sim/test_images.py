"""Images: CreateImage rules, pending -> available, DescribeImages, DeregisterImage,
CopyImage, deprecation and attributes."""
import json

import pytest

from conftest import AwsFailed, ACCOUNT, OTHER_ACCOUNT, OTHER_KEY


@pytest.fixture
def instance(sim):
    # Long enough that slow awscli round trips still see images pending.
    sim.admin('POST', '/_sim/images', {'pending_seconds': 3600})
    return sim.seed(instances=[{'tags': {'Role': 'web'}, 'volumes': [8, 100]}])['instances'][0]


def create(sim, instance, name, *extra):
    return sim.aws('ec2', 'create-image', '--instance-id', instance, '--name', name,
                   *extra)['ImageId']


def test_create_image_snapshots_every_volume(sim, instance):
    image_id = create(sim, instance, 'web-i-1-slot1', '--no-reboot',
                      '--tag-specifications',
                      'ResourceType=image,Tags=[{Key=amirotd:policy,Value=web}]',
                      'ResourceType=snapshot,Tags=[{Key=amirotd:policy,Value=web}]')
    image = sim.aws('ec2', 'describe-images', '--image-ids', image_id)['Images'][0]
    assert image['State'] == 'pending'
    assert image['OwnerId'] == ACCOUNT
    assert image['RootDeviceName'] == '/dev/xvda'
    assert image['CreationDate'].endswith('Z') and len(image['CreationDate']) == 24
    assert image['Tags'] == [{'Key': 'amirotd:policy', 'Value': 'web'}]
    mappings = image['BlockDeviceMappings']
    assert [m['Ebs']['VolumeSize'] for m in mappings] == [8, 100]
    assert [m['DeviceName'] for m in mappings] == ['/dev/xvda', '/dev/sdf']
    snaps = sim.aws('ec2', 'describe-snapshots', '--owner-ids', 'self')['Snapshots']
    assert len(snaps) == 2
    for snap in snaps:
        assert snap['Description'] == f'Created by CreateImage({instance}) for {image_id}'
        assert snap['Tags'] == [{'Key': 'amirotd:policy', 'Value': 'web'}]
    assert sim.admin('GET', '/_sim/images')[0]['_no_reboot'] is True


def test_image_becomes_available_when_the_clock_moves(sim, instance):
    ec2 = sim.client()
    sim.admin('POST', '/_sim/images', {'pending_seconds': 600})
    image_id = ec2.create_image(InstanceId=instance, Name='slow-image')['ImageId']
    sim.advance(599)
    assert ec2.describe_images(ImageIds=[image_id])['Images'][0]['State'] == 'pending'
    sim.advance(2)
    assert ec2.describe_images(ImageIds=[image_id])['Images'][0]['State'] == 'available'
    snaps = ec2.describe_snapshots(OwnerIds=['self'])['Snapshots']
    assert {s['State'] for s in snaps} == {'completed'}


def test_hold_and_settle(sim, instance):
    ec2 = sim.client()
    sim.admin('POST', '/_sim/images', {'hold': True})
    image_id = ec2.create_image(InstanceId=instance, Name='held-image')['ImageId']
    sim.advance(3600)
    assert ec2.describe_images(ImageIds=[image_id])['Images'][0]['State'] == 'pending'
    assert sim.admin('POST', '/_sim/images/settle')['settled'] == [image_id]
    assert ec2.describe_images(ImageIds=[image_id])['Images'][0]['State'] == 'available'


def test_image_failed_fault(sim, instance):
    sim.fault(action='CreateImage', kind='image_failed', count=1)
    ec2 = sim.client()
    bad = ec2.create_image(InstanceId=instance, Name='doomed')['ImageId']
    good = ec2.create_image(InstanceId=instance, Name='fine')['ImageId']
    sim.admin('POST', '/_sim/images/settle')
    images = {i['ImageId']: i for i in ec2.describe_images(Owners=['self'])['Images']}
    assert images[bad]['State'] == 'failed'
    assert images[bad]['StateReason']['Code']
    assert images[good]['State'] == 'available'


def test_name_rules(sim, instance):
    for name in ('ab', 'x' * 129, 'bad{name}', 'semi;colon'):
        reply = sim.call('CreateImage', {'InstanceId': instance, 'Name': name})
        assert (reply.status, reply.code) == (400, 'InvalidAMIName.Malformed'), name
    ok = "web (1) [x] a.b/c-d_e'f@g"
    assert sim.call('CreateImage', {'InstanceId': instance, 'Name': ok}).status == 200


def test_duplicate_name_per_account_and_region(sim, instance):
    first = create(sim, instance, 'web-slot-7')
    with pytest.raises(AwsFailed) as failed:
        create(sim, instance, 'web-slot-7')
    assert 'InvalidAMIName.Duplicate' in failed.value.stderr
    assert first in failed.value.stderr
    # Another account, or another region, may use the name.
    other = sim.seed(account=OTHER_ACCOUNT, instances=[{}])['instances'][0]
    assert sim.call('CreateImage', {'InstanceId': other, 'Name': 'web-slot-7'},
                    key=OTHER_KEY).status == 200
    west = sim.seed(region='us-west-2', instances=[{}])['instances'][0]
    assert sim.call('CreateImage', {'InstanceId': west, 'Name': 'web-slot-7'},
                    region='us-west-2').status == 200


def test_create_image_of_unknown_instance(sim):
    reply = sim.call('CreateImage', {'InstanceId': 'i-0123456789abcdef0', 'Name': 'abc'})
    assert reply.code == 'InvalidInstanceID.NotFound'


def test_describe_images_owners_filters_and_paging(sim):
    sim.seed(images=[{'name': 'web-1', 'tags': {'amirotd:policy': 'web'}},
                     {'name': 'web-2', 'tags': {'amirotd:policy': 'web'}},
                     {'name': 'db-1', 'tags': {'amirotd:policy': 'db'}, 'state': 'pending'},
                     {'name': 'untagged'}])
    sim.seed(account=OTHER_ACCOUNT, images=[{'name': 'theirs'},
                                            {'name': 'public', 'public': True}])
    ec2 = sim.client()

    def names(**kw):
        return sorted(i['Name'] for i in ec2.describe_images(**kw)['Images'])

    assert names(Owners=['self']) == ['db-1', 'untagged', 'web-1', 'web-2']
    # Without Owners: own, shared and public images, Amazon's catalog one included.
    assert names() == ['al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64', 'db-1',
                       'public', 'untagged', 'web-1', 'web-2']
    assert names(Owners=['self'], Filters=[{'Name': 'tag:amirotd:policy',
                                            'Values': ['web']}]) == ['web-1', 'web-2']
    assert names(Owners=['self'], Filters=[{'Name': 'name', 'Values': ['web-*']}]) == \
        ['web-1', 'web-2']
    assert names(Owners=['self'], Filters=[{'Name': 'state', 'Values': ['pending']}]) == \
        ['db-1']
    assert names(Owners=['self'], Filters=[{'Name': 'tag-key',
                                            'Values': ['amirotd:policy']}]) == \
        ['db-1', 'web-1', 'web-2']
    # awscli pages DescribeImages by MaxResults/NextToken.
    out = sim.aws('ec2', 'describe-images', '--owners', 'self', '--page-size', '1')
    assert len(out['Images']) == 4
    assert len(sim.calls(action='DescribeImages')) >= 4
    assert sim.call('DescribeImages', {'MaxResults': '0'}).code == 'InvalidParameterValue'


def test_describe_unknown_image(sim):
    reply = sim.call('DescribeImages', {'ImageId.1': 'ami-0deadbeef00000000'})
    assert (reply.status, reply.code) == (400, 'InvalidAMIID.NotFound')
    assert sim.call('DescribeImages', {'ImageId.1': 'ami-nope'}).code == \
        'InvalidAMIID.Malformed'


def test_deregister_keeps_snapshots_until_deleted(sim):
    seeded = sim.seed(images=[{'name': 'old', 'snapshots': [8, 20]}])
    image_id = seeded['images'][0]
    sim.aws('ec2', 'deregister-image', '--image-id', image_id)
    ec2 = sim.client()
    # A just-deregistered image gives empty results, not an error.
    assert ec2.describe_images(ImageIds=[image_id])['Images'] == []
    assert len(ec2.describe_snapshots(OwnerIds=['self'])['Snapshots']) == 2
    for snap in seeded['snapshots']:
        ec2.delete_snapshot(SnapshotId=snap)
    assert ec2.describe_snapshots(OwnerIds=['self'])['Snapshots'] == []


def test_deregister_with_delete_associated_snapshots(sim):
    seeded = sim.seed(images=[{'name': 'old', 'snapshots': [8, 20]}])
    reply = sim.call('DeregisterImage', {'ImageId': seeded['images'][0],
                                         'DeleteAssociatedSnapshots': 'true'})
    assert reply.status == 200
    assert reply.text('return') == 'true'
    results = {i.findtext('snapshotId'): i.findtext('returnCode')
               for i in reply.find('deleteSnapshotResultSet')}
    assert results == {s: 'success' for s in seeded['snapshots']}
    assert sim.admin('GET', '/_sim/snapshots') == []


def test_deregister_someone_elses_image_is_refused(sim):
    image = sim.seed(account=OTHER_ACCOUNT, images=[{'name': 'p', 'public': True}])['images'][0]
    reply = sim.call('DeregisterImage', {'ImageId': image})
    assert reply.code == 'AuthFailure'


def test_copy_image_is_idempotent_by_client_token(sim):
    source = sim.seed(images=[{'name': 'golden', 'tags': {'Team': 'platform'}}])['images'][0]
    sim.admin('POST', '/_sim/images', {'pending_seconds': 3600})
    args = ('ec2', 'copy-image', '--source-region', 'us-east-1', '--source-image-id',
            source, '--name', 'golden-copy', '--client-token', 'tok-1',
            '--copy-image-tags')
    first = sim.aws(*args, region='eu-west-1')['ImageId']
    again = sim.aws(*args, region='eu-west-1')['ImageId']
    assert first == again
    west = sim.client(region='eu-west-1')
    image = west.describe_images(ImageIds=[first])['Images'][0]
    assert image['State'] == 'pending'
    assert image['Tags'] == [{'Key': 'Team', 'Value': 'platform'}]
    assert len(west.describe_snapshots(OwnerIds=['self'])['Snapshots']) == 1
    sim.admin('POST', '/_sim/images/settle')
    assert west.describe_images(ImageIds=[first])['Images'][0]['State'] == 'available'
    # Same token, different parameters.
    reply = sim.call('CopyImage', {'SourceRegion': 'us-east-1', 'SourceImageId': source,
                                   'Name': 'other-name', 'ClientToken': 'tok-1'},
                     region='eu-west-1')
    assert reply.code == 'IdempotentParameterMismatch'


def test_deprecation(sim):
    image = sim.seed(images=[{'name': 'dep'}])['images'][0]
    ec2 = sim.client()
    sim.admin('POST', '/_sim/clock', {'set': '2026-11-26T14:00:00Z'})
    assert ec2.enable_image_deprecation(
        ImageId=image, DeprecateAt='2026-12-26T14:00:20Z')['Return'] is True
    got = ec2.describe_images(ImageIds=[image])['Images'][0]
    assert got['DeprecationTime'] == '2026-12-26T14:00:00.000Z'
    assert ec2.disable_image_deprecation(ImageId=image)['Return'] is True
    assert 'DeprecationTime' not in ec2.describe_images(ImageIds=[image])['Images'][0]
    reply = sim.call('EnableImageDeprecation', {'ImageId': image,
                                                'DeprecateAt': '2020-01-01T00:00:00Z'})
    assert reply.code == 'InvalidParameterValue'


def test_launch_permission_and_last_launched(sim):
    image = sim.seed(images=[{'name': 'shared',
                              'last_launched_time': '2026-01-02T03:04:05Z'}])['images'][0]
    ec2 = sim.client()
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={
        'Add': [{'UserId': OTHER_ACCOUNT}]})
    perms = ec2.describe_image_attribute(ImageId=image, Attribute='launchPermission')
    assert perms['LaunchPermissions'] == [{'UserId': OTHER_ACCOUNT}]
    theirs = sim.client(key=OTHER_KEY).describe_images(ImageIds=[image])['Images']
    assert theirs[0]['ImageId'] == image
    last = ec2.describe_image_attribute(ImageId=image, Attribute='lastLaunchedTime')
    assert last['LastLaunchedTime']['Value'] == '2026-01-02T03:04:05.000Z'
    ec2.modify_image_attribute(ImageId=image, Attribute='launchPermission',
                               OperationType='remove', UserIds=[OTHER_ACCOUNT])
    assert ec2.describe_image_attribute(
        ImageId=image, Attribute='launchPermission')['LaunchPermissions'] == []
    ec2.modify_image_attribute(ImageId=image, Description={'Value': 'new words'})
    assert ec2.describe_images(ImageIds=[image])['Images'][0]['Description'] == 'new words'


def test_endpoint_that_ignores_delete_associated_snapshots(sim):
    seeded = sim.seed(images=[{'name': 'old', 'snapshots': [8, 20]}])
    sim.admin('POST', '/_sim/settings', {'ignore_delete_associated_snapshots': True})
    reply = sim.call('DeregisterImage', {'ImageId': seeded['images'][0],
                                         'DeleteAssociatedSnapshots': 'true'})
    assert (reply.status, reply.text('return')) == (200, 'true')
    assert reply.find('deleteSnapshotResultSet') is None
    assert sim.admin('GET', '/_sim/images') == []
    assert len(sim.admin('GET', '/_sim/snapshots')) == 2


def test_delete_snapshot_answer_without_return(sim):
    snaps = sim.seed(snapshots=[{}, {}])['snapshots']
    sim.admin('POST', '/_sim/settings', {'delete_snapshot_return': False})
    reply = sim.call('DeleteSnapshot', {'SnapshotId': snaps[0]})
    assert reply.status == 200 and reply.text('requestId')
    assert reply.find('return') is None
    sim.aws('ec2', 'delete-snapshot', '--snapshot-id', snaps[1])
    assert sim.admin('GET', '/_sim/snapshots') == []


def test_both_modes_from_the_command_line(own_sim):
    sim = own_sim('--ignore-delete-associated-snapshots', '--no-delete-snapshot-return')
    settings = sim.admin('GET', '/_sim/settings')
    assert settings['ignore_delete_associated_snapshots'] is True
    assert settings['delete_snapshot_return'] is False
    sim.admin('POST', '/_sim/reset')
    assert sim.admin('GET', '/_sim/settings') == settings
    sim.admin('POST', '/_sim/settings', {'nope': 1}, expect=400)


def test_pending_seconds_by_instance_sets_each_instance_its_build_time(sim):
    fast, slow = sim.seed(instances=[{'tags': {'Role': 'web'}}, {'tags': {'Role': 'web'}}])['instances']
    sim.admin('POST', '/_sim/images', {'pending_seconds': 3600, 'pending_seconds_by_instance': {fast: 0}})
    fast_image = create(sim, fast, 'web-fast')
    slow_image = create(sim, slow, 'web-slow')
    states = {i['ImageId']: i['State'] for i in
              sim.aws('ec2', 'describe-images', '--image-ids', fast_image, slow_image)['Images']}
    assert states == {fast_image: 'available', slow_image: 'pending'}


def test_source_instance_id_and_tag_wildcards_for_adoption(sim, instance):
    """What `amirotd adopt` reads: <sourceInstanceId> on an image CreateImage made ("This
    field only appears if the AMI was created using CreateImage"), none on one registered
    otherwise, and a tag:KEY filter whose value "*" matches any value, the empty one too.
    Debian's botocore (1.29) predates sourceInstanceId, so awscli proves the filters and
    the raw answer the element."""
    made = create(sim, instance, 'packer-web-1')
    sim.seed(images=[{'name': 'registered', 'tags': {'Builder': ''}},
                     {'name': 'packer-web-2', 'tags': {'Builder': 'packer'}, 'instance_id': instance}])
    reply = sim.call('DescribeImages', {'Owner.1': 'self'})
    assert reply.status == 200
    by_name = {item.findtext('name'): item for item in reply.root.iter('item')
               if item.find('imageId') is not None}
    assert by_name['packer-web-1'].findtext('sourceInstanceId') == instance
    assert by_name['packer-web-1'].findtext('imageId') == made
    assert by_name['packer-web-2'].findtext('sourceInstanceId') == instance
    assert by_name['registered'].find('sourceInstanceId') is None
    out = sim.aws('ec2', 'describe-images', '--owners', 'self', '--filters', 'Name=tag:Builder,Values=*')
    assert sorted(i['Name'] for i in out['Images']) == ['packer-web-2', 'registered']
    out = sim.aws('ec2', 'describe-images', '--owners', 'self', '--filters', 'Name=tag:Builder,Values=*',
                  'Name=name,Values=packer-*')
    assert [i['Name'] for i in out['Images']] == ['packer-web-2']


def test_a_backslash_escapes_a_backslash_in_a_filter_value(sim):
    """EC2: "a filter value of \\*amazon\\?\\\\ specifies the literal string *amazon?\\"; a
    backslash before any other character stands for itself."""
    sim.seed(images=[{'name': 'win\\golden-1'}, {'name': 'win\\\\golden-1'}, {'name': '*amazon?\\'},
                     {'name': 'win\\x'}])

    def names(value):
        out = sim.aws('ec2', 'describe-images', '--owners', 'self', '--filters',
                      json.dumps([{'Name': 'name', 'Values': [value]}]))
        return sorted(i['Name'] for i in out['Images'])
    assert names('win\\\\golden-*') == ['win\\golden-1']
    assert names('\\*amazon\\?\\\\') == ['*amazon?\\']
    assert names('win\\x') == ['win\\x']
