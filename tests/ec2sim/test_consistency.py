"""Eventual consistency: with a consistency delay, a new image, its snapshots and
newly written tags are invisible for that long, while the image already exists."""
import pytest

from conftest import AwsFailed

DELAY = 30


@pytest.fixture
def delayed(sim):
    sim.admin('POST', '/_sim/settings', {'consistency_delay': DELAY})
    return sim


def test_new_image_is_invisible_but_its_name_is_taken(delayed):
    sim = delayed
    iid = sim.seed(instances=[{}])['instances'][0]
    image = sim.aws('ec2', 'create-image', '--instance-id', iid, '--name', 'web-slot-1',
                    '--tag-specifications',
                    'ResourceType=image,Tags=[{Key=amirotd:policy,Value=web}]',
                    'ResourceType=snapshot,Tags=[{Key=amirotd:policy,Value=web}]')['ImageId']
    assert sim.aws('ec2', 'describe-images', '--owners', 'self')['Images'] == []
    assert sim.aws('ec2', 'describe-images', '--filters',
                   'Name=tag:amirotd:policy,Values=web')['Images'] == []
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'describe-images', '--image-ids', image)
    assert 'InvalidAMIID.NotFound' in failed.value.stderr
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'create-image', '--instance-id', iid, '--name', 'web-slot-1')
    assert 'InvalidAMIName.Duplicate' in failed.value.stderr and image in failed.value.stderr
    assert sim.aws('ec2', 'describe-snapshots', '--owner-ids', 'self')['Snapshots'] == []
    snap = sim.admin('GET', '/_sim/snapshots')[0]['SnapshotId']
    for action, params, code in [
            ('DeregisterImage', {'ImageId': image}, 'InvalidAMIID.NotFound'),
            ('CreateTags', {'ResourceId.1': image, 'Tag.1.Key': 'k'}, 'InvalidAMIID.NotFound'),
            ('DescribeImageAttribute', {'ImageId': image, 'Attribute': 'description'},
             'InvalidAMIID.NotFound'),
            ('DescribeSnapshots', {'SnapshotId.1': snap}, 'InvalidSnapshot.NotFound'),
            ('DeleteSnapshot', {'SnapshotId': snap}, 'InvalidSnapshot.NotFound')]:
        assert sim.call(action, params).code == code, action
    sim.advance(DELAY)
    [shown] = sim.aws('ec2', 'describe-images', '--filters',
                      'Name=tag:amirotd:policy,Values=web')['Images']
    assert shown['ImageId'] == image
    assert len(sim.aws('ec2', 'describe-snapshots', '--owner-ids', 'self')['Snapshots']) == 1


def test_copied_image_is_invisible_for_the_delay(delayed):
    sim = delayed
    source = sim.seed(images=[{'name': 'golden'}])['images'][0]
    ec2 = sim.client()
    copy = ec2.copy_image(SourceRegion='us-east-1', SourceImageId=source,
                          Name='golden-copy')['ImageId']
    assert [i['ImageId'] for i in ec2.describe_images(Owners=['self'])['Images']] == [source]
    assert sim.call('DescribeImages', {'ImageId.1': copy}).code == 'InvalidAMIID.NotFound'
    sim.advance(DELAY)
    assert ec2.describe_images(ImageIds=[copy])['Images'][0]['Name'] == 'golden-copy'


def test_new_tags_are_invisible_for_the_delay(delayed):
    sim = delayed
    seeded = sim.seed(images=[{'name': 'tagged', 'tags': {'Team': 'a'}}])
    image = seeded['images'][0]
    ec2 = sim.client()
    ec2.create_tags(Resources=[image], Tags=[{'Key': 'Team', 'Value': 'b'},
                                             {'Key': 'amirotd:policy', 'Value': 'web'}])
    by_policy = [{'Name': 'tag:amirotd:policy', 'Values': ['web']}]
    assert ec2.describe_images(Owners=['self'], Filters=by_policy)['Images'] == []
    assert ec2.describe_images(ImageIds=[image])['Images'][0]['Tags'] == \
        [{'Key': 'Team', 'Value': 'a'}]
    assert [t['Value'] for t in ec2.describe_tags()['Tags']] == ['a']
    sim.advance(DELAY)
    assert sorted((t['Key'], t['Value']) for t in
                  ec2.describe_images(Owners=['self'], Filters=by_policy)['Images'][0]['Tags']) \
        == [('Team', 'b'), ('amirotd:policy', 'web')]
    ec2.delete_tags(Resources=[image], Tags=[{'Key': 'amirotd:policy'}])
    assert len(ec2.describe_images(Owners=['self'], Filters=by_policy)['Images']) == 1
    sim.advance(DELAY)
    assert ec2.describe_images(Owners=['self'], Filters=by_policy)['Images'] == []


def test_pending_tag_writes_survive_save_and_load(delayed, tmp_path):
    sim = delayed
    image = sim.seed(images=[{'name': 'saved'}])['images'][0]
    sim.client().create_tags(Resources=[image], Tags=[{'Key': 'k', 'Value': 'v'}])
    path = str(tmp_path / 'state.json')
    sim.admin('POST', '/_sim/state/save', {'path': path})
    sim.admin('POST', '/_sim/state/load', {'path': path})
    sim.advance(DELAY)
    assert sim.client().describe_images(ImageIds=[image])['Images'][0]['Tags'] == \
        [{'Key': 'k', 'Value': 'v'}]


def test_off_by_default_and_set_from_the_command_line(sim, own_sim):
    assert sim.admin('GET', '/_sim/settings')['consistency_delay'] == 0
    iid = sim.seed(instances=[{}])['instances'][0]
    image = sim.client().create_image(InstanceId=iid, Name='at-once')['ImageId']
    assert sim.client().describe_images(ImageIds=[image])['Images']
    delayed = own_sim('--consistency-delay', '5')
    assert delayed.admin('GET', '/_sim/settings')['consistency_delay'] == 5
    delayed.admin('POST', '/_sim/settings', {'consistency_delay': 0})
    delayed.admin('POST', '/_sim/reset')
    assert delayed.admin('GET', '/_sim/settings')['consistency_delay'] == 5
