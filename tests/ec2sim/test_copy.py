"""CopyImage as copy_to uses it, proven with awscli (a real client): another account's
source needs launch permission and its snapshots' create-volume permission; Encrypted and
KmsKeyId encrypt the copy's snapshots; TagSpecifications tag the copy and its snapshots;
a token whose copy is gone is refused; the concurrent-copy limit per destination."""
import pytest

from conftest import ACCOUNT, OTHER_ACCOUNT, OTHER_KEY, AwsFailed


def copy_args(source, name, *extra):
    return ('ec2', 'copy-image', '--source-region', 'us-east-1', '--source-image-id', source,
            '--name', name, *extra)


def seed_source(sim, name='golden', **kw):
    return sim.seed(images=[dict(name=name, **kw)])['images'][0]


def snapshots_of(sim, image_id, region='us-east-1', key=None):
    kw = {'key': key} if key else {}
    image = sim.aws('ec2', 'describe-images', '--image-ids', image_id, region=region, **kw)['Images'][0]
    return [m['Ebs']['SnapshotId'] for m in image['BlockDeviceMappings'] if 'Ebs' in m]


def test_tag_specifications_tag_the_copy_and_its_snapshots(sim):
    # Debian's awscli predates CopyImage's TagSpecifications (2024): a raw signed request,
    # and awscli reads the result.
    source = seed_source(sim, tags={'Team': 'platform'})
    reply = sim.call('CopyImage', {
        'SourceRegion': 'us-east-1', 'SourceImageId': source, 'Name': 'golden',
        'TagSpecification.1.ResourceType': 'image',
        'TagSpecification.1.Tag.1.Key': 'amirotd:copy-of', 'TagSpecification.1.Tag.1.Value': 'us-east-1/' + source,
        'TagSpecification.2.ResourceType': 'snapshot',
        'TagSpecification.2.Tag.1.Key': 'amirotd:policy', 'TagSpecification.2.Tag.1.Value': 'web',
    }, region='eu-west-1')
    assert reply.status == 200, reply.body
    copy = reply.text('imageId')
    sim.advance(5)
    west = sim.aws('ec2', 'describe-images', '--image-ids', copy, region='eu-west-1')['Images'][0]
    # Without CopyImageTags the source's own tags stay behind.
    assert {t['Key']: t['Value'] for t in west['Tags']} == {'amirotd:copy-of': 'us-east-1/' + source}
    snaps = sim.aws('ec2', 'describe-snapshots', '--owner-ids', 'self', region='eu-west-1')['Snapshots']
    assert snaps and all({t['Key']: t['Value'] for t in s['Tags']} == {'amirotd:policy': 'web'} for s in snaps)


def test_another_accounts_source_needs_launch_and_create_volume_permission(sim):
    source = seed_source(sim)
    (snap,) = snapshots_of(sim, source)
    args = copy_args(source, 'golden-copy')
    # Without launch permission the image is not even visible to the other account.
    with pytest.raises(AwsFailed) as e:
        sim.aws(*args, region='eu-west-1', key=OTHER_KEY)
    assert 'InvalidAMIID.NotFound' in e.value.stderr
    sim.aws('ec2', 'modify-image-attribute', '--image-id', source, '--launch-permission',
            'Add=[{UserId=' + OTHER_ACCOUNT + '}]')
    # Launch permission alone does not cascade to the snapshots.
    with pytest.raises(AwsFailed) as e:
        sim.aws(*args, region='eu-west-1', key=OTHER_KEY)
    assert 'InvalidRequest' in e.value.stderr
    assert 'permission to access the storage' in e.value.stderr
    sim.aws('ec2', 'modify-snapshot-attribute', '--snapshot-id', snap, '--attribute',
            'createVolumePermission', '--operation-type', 'add', '--user-ids', OTHER_ACCOUNT)
    # Granting twice is no error.
    sim.aws('ec2', 'modify-snapshot-attribute', '--snapshot-id', snap, '--create-volume-permission',
            'Add=[{UserId=' + OTHER_ACCOUNT + '}]')
    perms = sim.aws('ec2', 'describe-snapshot-attribute', '--snapshot-id', snap, '--attribute',
                    'createVolumePermission')['CreateVolumePermissions']
    assert perms == [{'UserId': OTHER_ACCOUNT}]
    copy = sim.aws(*args, region='eu-west-1', key=OTHER_KEY)['ImageId']
    sim.advance(5)
    image = sim.aws('ec2', 'describe-images', '--image-ids', copy, region='eu-west-1',
                    key=OTHER_KEY)['Images'][0]
    assert image['OwnerId'] == OTHER_ACCOUNT


def test_encrypted_copies_have_encrypted_snapshots_with_the_key(sim):
    source = seed_source(sim)
    key = 'arn:aws:kms:eu-west-1:' + ACCOUNT + ':key/1234abcd-12ab-34cd-56ef-1234567890ab'
    copy = sim.aws(*copy_args(source, 'golden-enc', '--encrypted', '--kms-key-id', key),
                   region='eu-west-1')['ImageId']
    sim.advance(5)
    (snap_id,) = snapshots_of(sim, copy, region='eu-west-1')
    snap = sim.aws('ec2', 'describe-snapshots', '--snapshot-ids', snap_id, region='eu-west-1')['Snapshots'][0]
    assert snap['Encrypted'] is True
    assert snap['KmsKeyId'] == key
    plain = sim.aws(*copy_args(source, 'golden-default', '--encrypted'), region='eu-west-1')['ImageId']
    sim.advance(5)
    (snap_id,) = snapshots_of(sim, plain, region='eu-west-1')
    snap = sim.aws('ec2', 'describe-snapshots', '--snapshot-ids', snap_id, region='eu-west-1')['Snapshots'][0]
    assert snap['Encrypted'] is True and snap['KmsKeyId'].endswith(':alias/aws/ebs')


def test_kms_key_needs_encrypted_and_the_destination_region(sim):
    source = seed_source(sim)
    reply = sim.call('CopyImage', {'SourceRegion': 'us-east-1', 'SourceImageId': source, 'Name': 'x-copy',
                                   'KmsKeyId': 'alias/golden'}, region='eu-west-1')
    assert reply.code == 'InvalidParameterDependency'
    reply = sim.call('CopyImage', {'SourceRegion': 'us-east-1', 'SourceImageId': source, 'Name': 'x-copy',
                                   'Encrypted': 'true',
                                   'KmsKeyId': 'arn:aws:kms:us-east-1:' + ACCOUNT + ':key/abc'},
                     region='eu-west-1')
    assert reply.code == 'InvalidParameterValue'


def test_a_token_whose_copy_is_gone_is_refused(sim):
    source = seed_source(sim)
    args = copy_args(source, 'golden', '--client-token', 'tok-gone')
    copy = sim.aws(*args, region='eu-west-1')['ImageId']
    sim.advance(5)
    sim.aws('ec2', 'deregister-image', '--image-id', copy, region='eu-west-1')
    with pytest.raises(AwsFailed) as e:
        sim.aws(*args, region='eu-west-1')
    assert 'IdempotentParameterMismatch' in e.value.stderr


def test_concurrent_copy_limit_per_destination(sim):
    sim.admin('POST', '/_sim/settings', {'copy_concurrency_per_source': 2})
    sim.admin('POST', '/_sim/images', {'pending_seconds': 3600})
    sources = [seed_source(sim, name=f'golden-{k}') for k in range(4)]
    for k in range(2):
        sim.aws(*copy_args(sources[k], f'golden-{k}'), region='eu-west-1')
    with pytest.raises(AwsFailed) as e:
        sim.aws(*copy_args(sources[2], 'golden-2'), region='eu-west-1')
    assert 'ResourceLimitExceeded' in e.value.stderr
    # Another destination has its own limit; a finished copy frees its place.
    sim.aws(*copy_args(sources[2], 'golden-2'), region='eu-central-1')
    sim.admin('POST', '/_sim/images/settle')
    sim.aws(*copy_args(sources[3], 'golden-3'), region='eu-west-1')
