"""Snapshots (describe, delete, InUse, NotFound) and tags (create, delete, describe)."""
import pytest

from conftest import AwsFailed


def test_describe_snapshots_filters_and_paging(sim):
    sim.seed(snapshots={'count': 7, 'tags': {'amirotd:policy': 'web'}, 'volume_size': 10})
    sim.seed(snapshots=[{'tags': {'amirotd:policy': 'db'}, 'description': 'db one'}])
    out = sim.aws('ec2', 'describe-snapshots', '--owner-ids', 'self',
                  '--filters', 'Name=tag:amirotd:policy,Values=web')
    assert len(out['Snapshots']) == 7
    assert {s['VolumeSize'] for s in out['Snapshots']} == {10}
    paged = sim.aws('ec2', 'describe-snapshots', '--owner-ids', 'self', '--page-size', '5')
    assert len(paged['Snapshots']) == 8
    assert len(sim.calls(action='DescribeSnapshots')) == 3
    ec2 = sim.client()
    db = ec2.describe_snapshots(Filters=[{'Name': 'description', 'Values': ['db*']}])
    assert len(db['Snapshots']) == 1
    assert sim.call('DescribeSnapshots', {'MaxResults': '3'}).code == 'InvalidParameterValue'


def test_delete_snapshot_in_use_and_not_found(sim):
    seeded = sim.seed(images=[{'name': 'uses-it'}])
    snap = seeded['snapshots'][0]
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'delete-snapshot', '--snapshot-id', snap)
    assert 'InvalidSnapshot.InUse' in failed.value.stderr
    sim.aws('ec2', 'deregister-image', '--image-id', seeded['images'][0])
    sim.aws('ec2', 'delete-snapshot', '--snapshot-id', snap)
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'delete-snapshot', '--snapshot-id', snap)
    assert 'InvalidSnapshot.NotFound' in failed.value.stderr
    assert sim.call('DeleteSnapshot', {'SnapshotId': 'snap-zz'}).code == \
        'InvalidSnapshotID.Malformed'


def test_snapshot_stays_in_use_for_a_while_after_deregistration(sim):
    sim.fault(action='DeleteSnapshot', kind='snapshot_in_use', seconds=120)
    seeded = sim.seed(images=[{'name': 'sticky'}])
    orphan = sim.seed(snapshots=[{}])['snapshots'][0]
    ec2 = sim.client()
    ec2.deregister_image(ImageId=seeded['images'][0])
    snap = seeded['snapshots'][0]
    assert sim.call('DeleteSnapshot', {'SnapshotId': snap}).code == 'InvalidSnapshot.InUse'
    # A snapshot no image released is not affected.
    assert sim.call('DeleteSnapshot', {'SnapshotId': orphan}).status == 200
    sim.advance(121)
    assert sim.call('DeleteSnapshot', {'SnapshotId': snap}).status == 200


def test_create_describe_delete_tags(sim):
    iid = sim.seed(instances=[{}])['instances'][0]
    image = sim.seed(images=[{'name': 'tagged'}])['images'][0]
    sim.aws('ec2', 'create-tags', '--resources', iid, image,
            '--tags', 'Key=Team,Value=platform', 'Key=Env,Value=prod')
    out = sim.aws('ec2', 'describe-tags', '--filters', f'Name=resource-id,Values={image}')
    assert sorted((t['Key'], t['Value'], t['ResourceType']) for t in out['Tags']) == \
        [('Env', 'prod', 'image'), ('Team', 'platform', 'image')]
    ec2 = sim.client()
    found = ec2.describe_images(Owners=['self'],
                                Filters=[{'Name': 'tag:Team', 'Values': ['platform']}])
    assert [i['ImageId'] for i in found['Images']] == [image]
    ec2.delete_tags(Resources=[image], Tags=[{'Key': 'Team', 'Value': 'other'}])
    assert len(ec2.describe_tags(Filters=[{'Name': 'resource-id',
                                           'Values': [image]}])['Tags']) == 2
    ec2.delete_tags(Resources=[image], Tags=[{'Key': 'Team'}])
    found = ec2.describe_images(Owners=['self'],
                                Filters=[{'Name': 'tag:Team', 'Values': ['platform']}])
    assert found['Images'] == []
    ec2.delete_tags(Resources=[iid])
    assert ec2.describe_tags(Filters=[{'Name': 'resource-id', 'Values': [iid]}])['Tags'] == []


def test_tag_errors(sim):
    iid = sim.seed(instances=[{}])['instances'][0]
    assert sim.call('CreateTags', {'ResourceId.1': 'ami-0deadbeef00000000',
                                   'Tag.1.Key': 'k', 'Tag.1.Value': 'v'}).code == \
        'InvalidAMIID.NotFound'
    assert sim.call('CreateTags', {'ResourceId.1': 'nonsense', 'Tag.1.Key': 'k'}).code == \
        'InvalidID'
    assert sim.call('CreateTags', {'ResourceId.1': iid, 'Tag.1.Key': 'aws:x'}).code == \
        'InvalidParameterValue'
    many = {f'Tag.{n}.Key': f'k{n}' for n in range(1, 52)}
    assert sim.call('CreateTags', dict(many, **{'ResourceId.1': iid})).code == \
        'TagLimitExceeded'
    assert sim.call('CreateTags', {'ResourceId.1': iid}).code == 'MissingParameter'
