"""DisableImage / EnableImage, IncludeDisabled, and deregistration protection.

botocore 1.29 and awscli 2.9 predate these actions, so they are sent raw; the
answers of the actions awscli knows must still parse."""
from conftest import ACCOUNT, OTHER_ACCOUNT, OTHER_KEY
from ec2simlib.clock import iso_ms, parse_iso


def images(sim, **params):
    reply = sim.call('DescribeImages', dict({'Owner.1': 'self'}, **params))
    assert reply.status == 200, reply
    return {i.findtext('imageId'): i for i in reply.find('imagesSet')}


def test_disable_hides_the_image_makes_it_private_and_enable_brings_it_back(sim):
    image = sim.seed(images=[{'name': 'golden', 'public': True}])['images'][0]
    sim.client().modify_image_attribute(ImageId=image, LaunchPermission={
        'Add': [{'UserId': OTHER_ACCOUNT}]})
    reply = sim.call('DisableImage', {'ImageId': image})
    assert (reply.status, reply.text('return')) == (200, 'true')
    assert images(sim) == {}
    assert sim.client().describe_images(ImageIds=[image])['Images'] == []
    shown = images(sim, IncludeDisabled='true')[image]
    assert shown.findtext('imageState') == 'disabled'
    assert shown.findtext('isPublic') == 'false'
    assert sim.client().describe_image_attribute(
        ImageId=image, Attribute='launchPermission')['LaunchPermissions'] == []
    assert sim.call('DescribeImages', {'ImageId.1': image}, key=OTHER_KEY).code == \
        'InvalidAMIID.NotFound'
    # A disabled image cannot be launched.
    assert sim.call('RunInstances', {'ImageId': image, 'MinCount': '1',
                                     'MaxCount': '1'}).code == 'InvalidAMIID.Unavailable'
    assert sim.call('EnableImage', {'ImageId': image}).text('return') == 'true'
    assert images(sim)[image].findtext('imageState') == 'available'
    # Those who lost access do not get it back.
    assert sim.call('DescribeImages', {'ImageId.1': image}, key=OTHER_KEY).code == \
        'InvalidAMIID.NotFound'
    assert sim.aws('ec2', 'describe-images', '--image-ids', image)['Images'][0]['State'] \
        == 'available'


def test_only_the_owner_disables(sim):
    image = sim.seed(account=OTHER_ACCOUNT, images=[{'name': 'p', 'public': True}])['images'][0]
    assert sim.call('DisableImage', {'ImageId': image}).code == 'AuthFailure'
    assert sim.call('DisableImage', {'ImageId': image, 'DryRun': 'true'},
                    key=OTHER_KEY).code == 'DryRunOperation'


def test_snapshots_of_a_disabled_image_are_in_use(sim):
    seeded = sim.seed(images=[{'name': 'off', 'state': 'disabled', 'snapshots': [8]}])
    reply = sim.call('DeleteSnapshot', {'SnapshotId': seeded['snapshots'][0]})
    assert reply.code == 'InvalidSnapshot.InUse'
    # Deregistering a disabled image is allowed and frees them.
    assert sim.call('DeregisterImage', {'ImageId': seeded['images'][0]}).status == 200
    assert sim.call('DeleteSnapshot', {'SnapshotId': seeded['snapshots'][0]}).status == 200


def test_delete_associated_snapshots_skips_those_a_disabled_image_uses(sim):
    first = sim.seed(images=[{'name': 'first', 'snapshots': [8, 20]}])
    shared = first['snapshots'][0]
    other = sim.seed(images=[{'name': 'other', 'state': 'disabled',
                              'snapshot_ids': [shared]}])['images'][0]
    reply = sim.call('DeregisterImage', {'ImageId': first['images'][0],
                                         'DeleteAssociatedSnapshots': 'true'})
    results = {i.findtext('snapshotId'): i.findtext('returnCode')
               for i in reply.find('deleteSnapshotResultSet')}
    assert results == {shared: 'skipped', first['snapshots'][1]: 'success'}
    assert [s['SnapshotId'] for s in sim.admin('GET', '/_sim/snapshots')] == [shared]
    assert images(sim, IncludeDisabled='true').keys() == {other}


def test_deregistration_protection(sim):
    image = sim.seed(images=[{'name': 'keep'}])['images'][0]
    assert images(sim)[image].findtext('deregistrationProtection') == 'disabled'
    reply = sim.call('EnableImageDeregistrationProtection', {'ImageId': image})
    assert reply.text('return') == 'enabled-without-cooldown'
    assert images(sim)[image].findtext('deregistrationProtection') == \
        'enabled-without-cooldown'
    reply = sim.call('DeregisterImage', {'ImageId': image})
    assert (reply.status, reply.code) == (400, 'OperationNotPermitted')
    assert sim.aws('ec2', 'describe-images', '--owners', 'self')['Images'][0]['ImageId'] \
        == image
    reply = sim.call('DisableImageDeregistrationProtection', {'ImageId': image})
    assert reply.text('return') == 'disabled'
    assert sim.call('DeregisterImage', {'ImageId': image}).status == 200


def test_cooldown_keeps_protection_24_hours_after_disabling(sim):
    image = sim.seed(images=[{'name': 'cool'}])['images'][0]
    reply = sim.call('EnableImageDeregistrationProtection', {'ImageId': image,
                                                             'WithCooldown': 'true'})
    assert reply.text('return') == 'enabled-with-cooldown'
    start = parse_iso(sim.admin('GET', '/_sim/clock')['now'])
    reply = sim.call('DisableImageDeregistrationProtection', {'ImageId': image})
    until = 'disabled-until ' + iso_ms(start + 24 * 3600)
    assert reply.text('return')[:len('disabled-until 2026-')] == until[:len('disabled-until 2026-')]
    sim.advance(23 * 3600)
    shown = images(sim)[image].findtext('deregistrationProtection')
    assert shown.startswith('disabled-until ') and abs(
        parse_iso(shown.split(' ', 1)[1]) - (start + 24 * 3600)) < 5
    # Its answer still parses in a real client.
    assert sim.aws('ec2', 'describe-images', '--image-ids', image)['Images'][0]['ImageId'] == image
    assert sim.call('DeregisterImage', {'ImageId': image}).code == 'OperationNotPermitted'
    sim.advance(3600 + 5)
    assert images(sim)[image].findtext('deregistrationProtection') == 'disabled'
    assert sim.call('DeregisterImage', {'ImageId': image}).status == 200


def test_disabling_without_cooldown_reads_disabled_at_once(sim):
    image = sim.seed(images=[{'name': 'warm'}])['images'][0]
    sim.call('EnableImageDeregistrationProtection', {'ImageId': image})
    assert sim.call('DisableImageDeregistrationProtection', {'ImageId': image}).text(
        'return') == 'disabled'
    assert images(sim)[image].findtext('deregistrationProtection') == 'disabled'
    # Disabling an image that is not protected is no error.
    assert sim.call('DisableImageDeregistrationProtection', {'ImageId': image}).status == 200


def test_disabled_image_is_seeded_and_saved(sim):
    sim.seed(images=[{'name': 'seeded-off', 'state': 'disabled',
                      'deregistration_protection': 'enabled-with-cooldown'}])
    [rec] = sim.admin('GET', '/_sim/images')
    assert (rec['State'], rec['DeregistrationProtection'], rec['OwnerId']) == \
        ('disabled', 'enabled-with-cooldown', ACCOUNT)
