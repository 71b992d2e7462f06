"""Sharing: launch permissions of images (ModifyImageAttribute / DescribeImageAttribute
with accounts, organizations and OUs) and create-volume permissions of snapshots
(ModifySnapshotAttribute / DescribeSnapshotAttribute), each proven with awscli."""
import pytest

from conftest import ACCOUNT, OTHER_ACCOUNT, OTHER_KEY, AwsFailed

ORG = 'arn:aws:organizations::111122223333:organization/o-abc123def4'
OU = 'arn:aws:organizations::111122223333:ou/o-abc123def4/ou-ab12-cd34ef56'


def launch_permissions(sim, image):
    return sim.aws('ec2', 'describe-image-attribute', '--image-id', image,
                   '--attribute', 'launchPermission')['LaunchPermissions']


def volume_permissions(sim, snap, **kw):
    return sim.aws('ec2', 'describe-snapshot-attribute', '--snapshot-id', snap,
                   '--attribute', 'createVolumePermission', **kw)['CreateVolumePermissions']


def test_launch_permissions_of_accounts_organizations_and_ous_add_and_remove_at_once(sim):
    image = sim.seed(images=[{'name': 'golden'}])['images'][0]
    sim.aws('ec2', 'modify-image-attribute', '--image-id', image, '--launch-permission',
            f'Add=[{{UserId={OTHER_ACCOUNT}}},{{OrganizationArn={ORG}}},'
            f'{{OrganizationalUnitArn={OU}}}]')
    assert launch_permissions(sim, image) == [
        {'UserId': OTHER_ACCOUNT}, {'OrganizationArn': ORG}, {'OrganizationalUnitArn': OU}]
    # The account shared with sees the image; the public does not.
    assert sim.aws('ec2', 'describe-images', '--image-ids', image,
                   key=OTHER_KEY)['Images'][0]['Public'] is False
    # One call adds and removes.
    sim.aws('ec2', 'modify-image-attribute', '--image-id', image, '--launch-permission',
            f'Add=[{{UserId=777788889999}}],Remove=[{{UserId={OTHER_ACCOUNT}}},'
            f'{{OrganizationArn={ORG}}}]')
    assert launch_permissions(sim, image) == [
        {'OrganizationalUnitArn': OU}, {'UserId': '777788889999'}]
    # Removing what is not there is no error (EC2 answers true).
    sim.aws('ec2', 'modify-image-attribute', '--image-id', image, '--launch-permission',
            f'Remove=[{{UserId={OTHER_ACCOUNT}}}]')


@pytest.mark.parametrize('entry', [
    'OrganizationArn=arn:aws:organizations::111122223333:organization/o-short',
    'OrganizationArn=arn:aws:iam::111122223333:organization/o-abc123def4',
    'OrganizationalUnitArn=arn:aws:organizations::111122223333:ou/o-abc123def4/ou-ab12',
])
def test_malformed_organization_arns_are_refused(sim, entry):
    image = sim.seed(images=[{'name': 'golden'}])['images'][0]
    with pytest.raises(AwsFailed, match='InvalidParameterValue'):
        sim.aws('ec2', 'modify-image-attribute', '--image-id', image, '--launch-permission',
                f'Add=[{{{entry}}}]')
    assert launch_permissions(sim, image) == []


def test_only_the_owner_reads_launch_permissions(sim):
    image = sim.seed(images=[{'name': 'golden'}])['images'][0]
    sim.aws('ec2', 'modify-image-attribute', '--image-id', image, '--launch-permission',
            f'Add=[{{UserId={OTHER_ACCOUNT}}}]')
    with pytest.raises(AwsFailed, match='AuthFailure'):
        sim.aws('ec2', 'describe-image-attribute', '--image-id', image,
                '--attribute', 'launchPermission', key=OTHER_KEY)


def test_snapshot_create_volume_permissions(sim):
    snap = sim.seed(images=[{'name': 'golden', 'snapshots': [8]}])['snapshots'][0]
    assert volume_permissions(sim, snap) == []
    sim.aws('ec2', 'modify-snapshot-attribute', '--snapshot-id', snap, '--attribute',
            'createVolumePermission', '--operation-type', 'add', '--user-ids',
            OTHER_ACCOUNT, '777788889999')
    assert volume_permissions(sim, snap) == [{'UserId': OTHER_ACCOUNT},
                                             {'UserId': '777788889999'}]
    sim.aws('ec2', 'modify-snapshot-attribute', '--snapshot-id', snap,
            '--create-volume-permission', f'Remove=[{{UserId={OTHER_ACCOUNT}}}]')
    assert volume_permissions(sim, snap) == [{'UserId': '777788889999'}]
    # The account shared with finds it by RestorableByUserIds; the owner always does.
    found = sim.aws('ec2', 'describe-snapshots', '--restorable-by-user-ids', 'self',
                    key=('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'))
    assert [s['SnapshotId'] for s in found['Snapshots']] == [snap]
    other = sim.aws('ec2', 'describe-snapshots', '--restorable-by-user-ids', 'self',
                    key=OTHER_KEY)
    assert other['Snapshots'] == []
    shared = sim.aws('ec2', 'describe-snapshots', '--restorable-by-user-ids',
                     '777788889999')
    assert [s['SnapshotId'] for s in shared['Snapshots']] == [snap]


def test_snapshot_permissions_cannot_add_and_remove_in_one_call(sim):
    snap = sim.seed(images=[{'name': 'golden', 'snapshots': [8]}])['snapshots'][0]
    with pytest.raises(AwsFailed, match='InvalidParameterCombination'):
        sim.aws('ec2', 'modify-snapshot-attribute', '--snapshot-id', snap,
                '--create-volume-permission',
                f'Add=[{{UserId={OTHER_ACCOUNT}}}],Remove=[{{UserId=777788889999}}]')
    assert volume_permissions(sim, snap) == []


def test_snapshot_permission_errors(sim):
    snap = sim.seed(images=[{'name': 'golden', 'snapshots': [8]}])['snapshots'][0]
    with pytest.raises(AwsFailed, match='InvalidUserID.Malformed'):
        sim.aws('ec2', 'modify-snapshot-attribute', '--snapshot-id', snap,
                '--create-volume-permission', 'Add=[{UserId=1234}]')
    with pytest.raises(AwsFailed, match='InvalidParameterValue'):
        many = ','.join('{UserId=%012d}' % (100000000000 + i) for i in range(501))
        sim.aws('ec2', 'modify-snapshot-attribute', '--snapshot-id', snap,
                '--create-volume-permission', f'Add=[{many}]')
    with pytest.raises(AwsFailed, match='InvalidSnapshot.NotFound'):
        sim.aws('ec2', 'modify-snapshot-attribute', '--snapshot-id', 'snap-0123456789abcdef0',
                '--create-volume-permission', f'Add=[{{UserId={OTHER_ACCOUNT}}}]')
    # Another account's snapshot is not found for it, as for DescribeSnapshots.
    with pytest.raises(AwsFailed, match='InvalidSnapshot.NotFound'):
        volume_permissions(sim, snap, key=OTHER_KEY)
    assert volume_permissions(sim, snap) == []
    assert ACCOUNT != OTHER_ACCOUNT
