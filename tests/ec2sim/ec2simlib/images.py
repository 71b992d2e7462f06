"""Images: CreateImage, DescribeImages, DeregisterImage, CopyImage.

An image is created pending with one snapshot per EBS volume of its instance
(described "Created by CreateImage(i-...) for ami-..." as EC2 does) and becomes
available `pending_seconds` of simulator time later, or failed when an
image_failed fault picked it. The transition is computed when images are read.
"""
import hashlib
import json
import re

from . import common, freeze, ids
from .clock import iso_ms
from .errors import ApiError, combination, invalid_value, missing
from .filters import Filters, page
from .image_attrs import check_deregistrable, settle_protection
from .instances import instance_volumes

# CreateImage Name: "Constraints: 3-128 alphanumeric characters, parentheses
# (()), square brackets ([]), spaces ( ), periods (.), slashes (/), dashes (-),
# single quotes ('), at-signs (@), or underscores(_)" (EC2 API reference).
NAME_RE = re.compile(r"^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$")
NAME_RULE = ("AMI names must be between 3 and 128 characters long, and may contain "
             "letters, numbers, '(', ')', '[', ']', ' ', '.', '/', '-', \"'\", '@' and '_'")

FAILED_REASON = {'Code': 'Server.InternalError', 'Message': 'Internal error.'}

FILTERS = {
    'image-id': lambda r: r['ImageId'],
    'name': lambda r: r['Name'],
    'state': lambda r: r['State'],
    'owner-id': lambda r: r['OwnerId'],
    'owner-alias': lambda r: r.get('ImageOwnerAlias'),
    'description': lambda r: r.get('Description'),
    'is-public': lambda r: bool(r.get('Public')),
    'image-type': lambda r: r['ImageType'],
    'architecture': lambda r: r['Architecture'],
    'root-device-type': lambda r: r['RootDeviceType'],
    'root-device-name': lambda r: r['RootDeviceName'],
    'virtualization-type': lambda r: r['VirtualizationType'],
    'creation-date': lambda r: r['CreationDate'],
    'source-instance-id': lambda r: r.get('SourceInstanceId'),
    'block-device-mapping.snapshot-id':
        lambda r: [m['Ebs'].get('SnapshotId') for m in r['BlockDeviceMappings']],
    'block-device-mapping.volume-size':
        lambda r: [m['Ebs'].get('VolumeSize') for m in r['BlockDeviceMappings']],
    'block-device-mapping.device-name':
        lambda r: [m['DeviceName'] for m in r['BlockDeviceMappings']],
}


# Every real region has Amazon's public AMIs, and clients launch from them.
# Each simulated region has one, so RunInstances works without seeding an image.
# It is public and owned by Amazon (so Owners=self never lists it), and it is
# neither saved with the state nor shown by the raw /_sim/images view.
AMAZON_OWNER = '137112412989'
CATALOG = [{'id': 'ami-0123456789abcdef0',
            'name': 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64',
            'description': 'Amazon Linux 2023 AMI 2023.6.20241121.0 x86_64 HVM kernel-6.1',
            'snapshot': 'snap-0a1b2c3d4e5f60718', 'created': 1732147200.0}]


def add_catalog(region):
    for entry in CATALOG:
        if entry['id'] in region.images:
            continue
        rec = make_image(region, AMAZON_OWNER, entry['created'], name=entry['name'],
                         image_id=entry['id'], description=entry['description'],
                         mappings=[('/dev/xvda', entry['snapshot'], 8)], public=True)
        rec['ImageOwnerAlias'] = 'amazon'
        rec['_catalog'] = True


def check_name(name):
    if not NAME_RE.match(name):
        raise ApiError('InvalidAMIName.Malformed', NAME_RULE)


def check_unique(region, owner, name):
    other = region.image_names.get((owner, name))
    if other is not None:
        raise ApiError('InvalidAMIName.Duplicate',
                       f'AMI name {name} is already in use by AMI {other}')


def make_snapshot(region, owner, now, *, snapshot_id=None, volume_id=None, size=8,
                  description='', state='completed', tags=None):
    rec = {
        'SnapshotId': snapshot_id or ids.new_id('snap'),
        'VolumeId': volume_id or 'vol-ffffffff',
        'VolumeSize': int(size),
        'State': state,
        'Progress': '100%' if state == 'completed' else '0%',
        'StartTime': iso_ms(now),
        'Description': description,
        'OwnerId': owner,
        'Encrypted': False,
        'StorageTier': 'standard',
        'Tags': dict(tags or {}),
    }
    return region.add('snapshots', rec, 'SnapshotId')


def make_image(region, owner, now, *, name, image_id=None, state='available',
               mappings=(), description=None, tags=None, source_instance=None,
               ready_at=None, fail=None, public=False):
    """Register an image record; mappings are [(device, snapshot id, size)]."""
    iid = image_id or ids.new_id('ami')
    rec = {
        'ImageId': iid,
        'ImageLocation': f'{owner}/{name}',
        'State': state,
        'OwnerId': owner,
        'CreationDate': iso_ms(now),
        'Public': public,
        'Architecture': 'x86_64',
        'ImageType': 'machine',
        'Name': name,
        'RootDeviceType': 'ebs',
        'RootDeviceName': '/dev/xvda',
        'BlockDeviceMappings': [
            {'DeviceName': device,
             'Ebs': {'DeleteOnTermination': device == '/dev/xvda', 'SnapshotId': snap,
                     'VolumeSize': int(size), 'VolumeType': 'gp3', 'Encrypted': False}}
            for device, snap, size in mappings],
        'VirtualizationType': 'hvm',
        'Hypervisor': 'xen',
        'EnaSupport': True,
        'PlatformDetails': 'Linux/UNIX',
        'UsageOperation': 'RunInstances',
        'Tags': dict(tags or {}),
        'DeregistrationProtection': 'disabled',
        '_ready_at': now if ready_at is None else ready_at,
        '_fail': fail,
        '_launch': [{'Group': 'all'}] if public else [],
    }
    if description is not None:
        rec['Description'] = description
    if source_instance:
        rec['SourceInstanceId'] = source_instance
    if state == 'failed':
        rec['StateReason'] = fail or FAILED_REASON
    return region.add('images', rec, 'ImageId')


def _failure(ctx, action):
    fault = ctx.sim.faults.take(('image_failed',), action, ctx.region_name)
    if fault is None:
        return None
    return {'Code': fault.get('code') or FAILED_REASON['Code'],
            'Message': fault.get('message') or FAILED_REASON['Message']}


def _excluded_devices(ctx, instance, mappings):
    """The devices CreateImage's BlockDeviceMapping.N leaves out with NoDevice, checked
    as EC2 checks them: a mapping names its device; NoDevice is the empty string ("To
    omit the device from the block device mapping, specify an empty string"); the root
    device cannot be left out (the image would not boot); and a NoDevice for a device
    the instance does not have is read as a new mapping without a snapshot or a size,
    which EC2 refuses with "Either snapshot ID or volume size must be provided for:
    /dev/sdb, /dev/sdc" (InvalidBlockDeviceMapping; mitchellh/goamz#251)."""
    attached = {v['Attachments'][0]['Device'] for v in instance_volumes(ctx.region, instance)}
    excluded, unknown = set(), []
    for m in mappings or []:
        device = m.get('DeviceName')
        if not device:
            raise missing('BlockDeviceMapping.DeviceName')
        if 'NoDevice' not in m:
            continue
        if m['NoDevice'] != '':
            raise invalid_value(f"Invalid value '{m['NoDevice']}' for NoDevice of "
                                f'{device}: specify an empty string')
        if device == instance.get('RootDeviceName'):
            raise ApiError('InvalidBlockDeviceMapping',
                           f'The device {device} is the root device of instance '
                           f"{instance['InstanceId']} and cannot be suppressed")
        if device not in attached:
            unknown.append(device)
        excluded.add(device)
    if unknown:
        raise ApiError('InvalidBlockDeviceMapping',
                       'Either snapshot ID or volume size must be provided for: '
                       + ', '.join(unknown))
    return excluded


def create_image(ctx, args):
    name = args['Name']
    check_name(name)
    instance = common.find_instance(ctx, args['InstanceId'])
    if instance['State']['Name'] not in ('running', 'stopping', 'stopped'):
        raise ApiError('IncorrectInstanceState',
                       f"The instance '{instance['InstanceId']}' is not in a state "
                       'from which it can be imaged.')
    common.settle_images(ctx.sim, ctx.region, ctx.now)
    check_unique(ctx.region, ctx.account, name)
    tags = common.tag_specs(args.get('TagSpecifications'), ('image', 'snapshot'))
    excluded = _excluded_devices(ctx, instance, args.get('BlockDeviceMappings'))
    image_id = ids.new_id('ami')
    mappings = []
    for volume in instance_volumes(ctx.region, instance):
        device = volume['Attachments'][0]['Device']
        if device in excluded:
            continue
        snap = make_snapshot(
            ctx.region, ctx.account, ctx.now, volume_id=volume['VolumeId'],
            size=volume['Size'], state='pending', tags=tags.get('snapshot'),
            description=f"Created by CreateImage({instance['InstanceId']}) for {image_id}")
        mappings.append((device, snap['SnapshotId'], volume['Size']))
        common.hide_until_propagated(ctx, snap)
    rec = make_image(ctx.region, ctx.account, ctx.now, name=name, image_id=image_id,
                     state='pending', mappings=mappings,
                     description=args.get('Description'), tags=tags.get('image'),
                     source_instance=instance['InstanceId'],
                     ready_at=ctx.now + ctx.settings.pending_seconds_by_instance.get(
                         instance['InstanceId'], ctx.settings.pending_seconds),
                     fail=_failure(ctx, 'CreateImage'))
    rec['_no_reboot'] = bool(args.get('NoReboot', False))
    # Whether its file systems were frozen (fsfreeze by Run Command) as CreateImage came:
    # the tests' proof of an application-consistent image; never in DescribeImages.
    rec['_frozen'] = freeze.frozen(ctx.region, instance['InstanceId'], ctx.now)
    common.hide_until_propagated(ctx, rec)
    return {'ImageId': image_id}


def _owner_set(owners, account):
    out = set()
    for owner in owners:
        if owner == 'self':
            out.add(account)
        elif owner in ('amazon', 'aws-marketplace', 'aws-backup-vault') or \
                re.match(r'^\d{12}$', owner):
            out.add(owner)
        else:
            raise ApiError('InvalidUserID.Malformed',
                           f"Invalid user id: '{owner}'")
    return out


def describe_images(ctx, args):
    region, account = ctx.region, ctx.account
    common.settle_images(ctx.sim, region, ctx.now)
    image_ids = args.get('ImageIds')
    max_results = args.get('MaxResults')
    if image_ids and max_results is not None:
        raise combination('The parameter imagesSet cannot be used with the parameter '
                          'maxResults')
    flt = Filters(args.get('Filters'), FILTERS)
    owners = _owner_set(args['Owners'], account) if args.get('Owners') else None
    users = args.get('ExecutableUsers')
    include_deprecated = args.get('IncludeDeprecated', False)
    # "IncludeDisabled: Specifies whether to include disabled AMIs. Default: No
    # disabled AMIs are included in the response." (also when asked by id)
    include_disabled = args.get('IncludeDisabled', False)
    now_iso = iso_ms(ctx.now)

    if image_ids:
        for iid in image_ids:
            common.check_id(iid, 'ami')
        # Recently deregistered images give empty results rather than an error.
        lost = [i for i in image_ids if (i not in region.images or
                not common.image_visible(region.images[i], account) or
                not common.propagated(region.images[i], ctx.now))
                and i not in region.deregistered]
        if lost:
            raise ApiError('InvalidAMIID.NotFound',
                           f"The image id '[{', '.join(lost)}]' does not exist")
        candidates = [i for i in image_ids if i in region.images]
    else:
        candidates = flt.candidates(region, region.images)

    def wanted(rec):
        if owners is not None:
            if rec['OwnerId'] not in owners and rec.get('ImageOwnerAlias') not in owners:
                return False
        if users:
            if not any(_can_launch(rec, account if u == 'self' else u) for u in users):
                return False
        if not common.image_visible(rec, account) or not common.propagated(rec, ctx.now):
            return False
        if rec['State'] == 'disabled' and not include_disabled:
            return False
        if rec['OwnerId'] != account and not include_deprecated and not image_ids and \
                rec.get('DeprecationTime') and rec['DeprecationTime'] <= now_iso:
            return False
        return flt.match(rec)

    matched = [i for i in candidates if wanted(region.images[i])]
    chunk, token = page(matched, max_results, args.get('NextToken'), 1, 1000)
    for i in chunk:
        settle_protection(region.images[i], ctx.now)
    return {'Images': [region.images[i] for i in chunk], 'NextToken': token}


def _can_launch(rec, user):
    if user == 'all':
        return bool(rec.get('Public'))
    return rec['OwnerId'] == user or any(p.get('UserId') == user
                                         for p in rec.get('_launch', []))


def delete_snapshot_now(ctx, snap_id):
    """Delete one snapshot as DeleteSnapshot would; raise its error if not."""
    region = ctx.region
    rec = region.snapshots.get(snap_id)
    if rec is None or rec['OwnerId'] != ctx.account:
        raise common.not_found('snap', snap_id)
    users = region.snapshot_users.get(snap_id)
    if users:
        raise ApiError('InvalidSnapshot.InUse',
                       f'The snapshot {snap_id} is currently in use by {sorted(users)[0]}')
    released = rec.get('_released_at')

    def applies(fault):
        # With `seconds`, only snapshots released by a deregistration less than
        # that long ago (simulator clock) stay in use; without, every delete may.
        if fault.get('seconds') is None:
            return True
        return released is not None and ctx.now < released + fault['seconds']

    if ctx.sim.faults.take(('snapshot_in_use',), 'DeleteSnapshot', ctx.region_name,
                           applies) is not None:
        raise ApiError('InvalidSnapshot.InUse',
                       f"The snapshot {snap_id} is currently in use by "
                       f"{rec.get('_released_by', 'an AMI')}")
    region.remove('snapshots', snap_id)


def deregister_image(ctx, args):
    rec = common.find_image(ctx, args['ImageId'], owned=True)
    check_deregistrable(ctx, rec)
    region = ctx.region
    snaps = [m['Ebs']['SnapshotId'] for m in rec['BlockDeviceMappings']
             if m.get('Ebs', {}).get('SnapshotId')]
    region.remove('images', rec['ImageId'])
    for snap_id in snaps:
        snap = region.snapshots.get(snap_id)
        if snap is not None:
            snap['_released_at'] = ctx.now
            snap['_released_by'] = rec['ImageId']
    out = {'Return': True}
    if args.get('DeleteAssociatedSnapshots') and \
            not ctx.settings.ignore_delete_associated_snapshots:
        results = []
        for snap_id in snaps:
            if region.snapshot_users.get(snap_id):
                # "If a snapshot is associated with multiple AMIs, it is not deleted."
                results.append({'SnapshotId': snap_id, 'ReturnCode': 'skipped'})
                continue
            try:
                delete_snapshot_now(ctx, snap_id)
                results.append({'SnapshotId': snap_id, 'ReturnCode': 'success'})
            except ApiError as error:
                code = 'client-error' if error.status < 500 else 'internal-error'
                results.append({'SnapshotId': snap_id, 'ReturnCode': code})
        out['DeleteSnapshotResults'] = results
    return out


def default_kms_key(ctx):
    """The account's AWS managed key for EBS in the region (alias aws/ebs)."""
    return f'arn:aws:kms:{ctx.region.name}:{ctx.account}:alias/aws/ebs'


def copy_encryption(ctx, args):
    """Encrypted and KmsKeyId as CopyImage reads them."""
    kms_key = args.get('KmsKeyId')
    encrypted = bool(args.get('Encrypted'))
    if kms_key and not encrypted:
        # "If you specify KmsKeyId, you must also set Encrypted to true."
        raise ApiError('InvalidParameterDependency',
                       'The parameter KmsKeyId requires the parameter Encrypted to be set.')
    if kms_key and kms_key.startswith('arn:') and f':kms:{ctx.region.name}:' not in kms_key:
        # "The specified KMS key must exist in the destination Region."
        raise ApiError('InvalidParameterValue', f"Value ({kms_key}) for parameter kmsKeyId is invalid: "
                       'the key must be in the destination Region.')
    return encrypted, kms_key


def check_storage_shared(source_region, source, account):
    """Another account's AMI: "The owner of the source AMI must grant you read permissions
    for the storage that backs the AMI" (createVolumePermission on each snapshot)."""
    for m in source['BlockDeviceMappings']:
        snap_id = m.get('Ebs', {}).get('SnapshotId')
        if not snap_id:
            continue
        snap = source_region.snapshots.get(snap_id, {})
        perms = snap.get('_create_volume', [])
        if not any(p.get('UserId') == account or p.get('Group') == 'all' for p in perms):
            raise ApiError('InvalidRequest', 'You do not have permission to access the storage of this ami')


def check_copy_concurrency(ctx, source_region_name):
    """The concurrent-copy limit of the destination: copies in flight (pending)."""
    settings = ctx.sim.settings
    pending = [ctx.region.images[i] for i in ctx.region.pending_images
               if ctx.region.images[i]['OwnerId'] == ctx.account
               and ctx.region.images[i].get('_copy_source_region')]
    from_source = [r for r in pending if r['_copy_source_region'] == source_region_name]
    if len(pending) >= settings.copy_concurrency or \
            len(from_source) >= settings.copy_concurrency_per_source:
        raise ApiError('ResourceLimitExceeded',
                       'You have reached the maximum number of concurrent AMI copies to this Region '
                       f'({settings.copy_concurrency}, {settings.copy_concurrency_per_source} from one '
                       'source Region).')


def copy_image(ctx, args):
    sim = ctx.sim
    source_region_name = args['SourceRegion']
    if source_region_name not in sim.store.regions and \
            not re.match(r'^[a-z]{2}(-[a-z0-9]+)+-\d+$', source_region_name):
        raise invalid_value(f'Invalid region: {source_region_name}')
    name = args['Name']
    check_name(name)
    token = args.get('ClientToken')
    fingerprint = hashlib.sha256(json.dumps(
        {k: v for k, v in args.items() if k != 'DryRun'}, sort_keys=True,
        default=str).encode()).hexdigest()
    if token:
        if len(token) > 64:
            raise invalid_value('ClientToken must be at most 64 characters')
        seen = ctx.region.copy_tokens.get(f'{ctx.account}/{token}')
        if seen is not None:
            gone = ctx.region.images.get(seen['image'])
            if seen['params'] != fingerprint or gone is None or gone['State'] == 'deregistered':
                raise ApiError('IdempotentParameterMismatch',
                               'The client token you have provided is associated '
                               'with a resource that is already deleted or has '
                               'different parameters.')
            return {'ImageId': seen['image']}

    source_region = sim.store.region(source_region_name)
    source_image_id = args['SourceImageId']
    common.check_id(source_image_id, 'ami')
    common.settle_images(sim, source_region, ctx.now)
    source = source_region.images.get(source_image_id)
    if source is None or not common.image_visible(source, ctx.account) or \
            not common.propagated(source, ctx.now):
        raise common.not_found('ami', source_image_id)
    if source['State'] != 'available':
        raise ApiError('IncorrectState',
                       f"Image {source_image_id} is {source['State']} and cannot be copied.")
    foreign = source['OwnerId'] != ctx.account
    if foreign:
        check_storage_shared(source_region, source, ctx.account)
    encrypted, kms_key = copy_encryption(ctx, args)
    common.settle_images(sim, ctx.region, ctx.now)
    check_unique(ctx.region, ctx.account, name)
    check_copy_concurrency(ctx, source_region_name)
    tags = common.tag_specs(args.get('TagSpecifications'), ('image', 'snapshot'))
    # CopyImageTags: "your user-defined AMI tags": the source's owner's, not another's.
    image_tags = dict(source.get('Tags', {})) if args.get('CopyImageTags') and not foreign else {}
    image_tags.update(tags.get('image', {}))

    image_id = ids.new_id('ami')
    started = int(ctx.now * 1000)
    mappings = []
    for m in source['BlockDeviceMappings']:
        ebs = m.get('Ebs', {})
        if not ebs.get('SnapshotId'):
            continue
        snap = make_snapshot(
            ctx.region, ctx.account, ctx.now, size=ebs.get('VolumeSize', 8),
            state='pending', tags=tags.get('snapshot'),
            description=f"Copied for DestinationAmi {image_id} from SourceAmi "
                        f"{source_image_id} for SourceSnapshot {ebs['SnapshotId']}. "
                        f"Task created on {started}.")
        source_snap = source_region.snapshots.get(ebs['SnapshotId'], {})
        # "You can encrypt a copy of an unencrypted snapshot, but you cannot create an
        # unencrypted copy of an encrypted snapshot."
        snap['Encrypted'] = encrypted or bool(source_snap.get('Encrypted'))
        if snap['Encrypted']:
            snap['KmsKeyId'] = kms_key or source_snap.get('KmsKeyId') or default_kms_key(ctx)
        mappings.append((m['DeviceName'], snap['SnapshotId'], ebs.get('VolumeSize', 8)))
        common.hide_until_propagated(ctx, snap)
    rec = make_image(ctx.region, ctx.account, ctx.now, name=name, image_id=image_id,
               state='pending', mappings=mappings,
               description=args.get('Description', source.get('Description')),
               tags=image_tags, ready_at=ctx.now + ctx.settings.pending_seconds,
               fail=_failure(ctx, 'CopyImage'))
    rec['_copy_source_region'] = source_region_name
    for m in rec['BlockDeviceMappings']:
        snap = ctx.region.snapshots.get(m.get('Ebs', {}).get('SnapshotId'), {})
        if snap.get('Encrypted'):
            m['Ebs']['Encrypted'] = True
            m['Ebs']['KmsKeyId'] = snap['KmsKeyId']
    common.hide_until_propagated(ctx, rec)
    if token:
        ctx.region.copy_tokens[f'{ctx.account}/{token}'] = {'image': image_id,
                                                            'params': fingerprint}
    return {'ImageId': image_id}


ACTIONS = {
    'CreateImage': create_image,
    'DescribeImages': describe_images,
    'DeregisterImage': deregister_image,
    'CopyImage': copy_image,
}
