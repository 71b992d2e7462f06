"""Snapshots: DescribeSnapshots, DeleteSnapshot, and their create-volume permissions
(ModifySnapshotAttribute, DescribeSnapshotAttribute; rec['_create_volume'], a list of
{'UserId'|'Group'}).

A snapshot used by a registered image cannot be deleted (InvalidSnapshot.InUse);
the snapshot_in_use fault stretches that past the image's deregistration, as
EC2 sometimes does for a while.
"""
import re

from . import common
from .errors import ApiError, combination, invalid_value, missing
from .filters import Filters, page
from .images import delete_snapshot_now

FILTERS = {
    'snapshot-id': lambda r: r['SnapshotId'],
    'status': lambda r: r['State'],
    'volume-id': lambda r: r['VolumeId'],
    'volume-size': lambda r: r['VolumeSize'],
    'owner-id': lambda r: r['OwnerId'],
    'description': lambda r: r.get('Description'),
    'start-time': lambda r: r['StartTime'],
    'progress': lambda r: r['Progress'],
    'encrypted': lambda r: r['Encrypted'],
    'storage-tier': lambda r: r['StorageTier'],
}


def _restorable(rec, account):
    perms = rec.get('_create_volume', [])
    return rec['OwnerId'] == account or {'UserId': account} in perms or {'Group': 'all'} in perms


def describe_snapshots(ctx, args):
    region, account = ctx.region, ctx.account
    common.settle_images(ctx.sim, region, ctx.now)
    snap_ids = args.get('SnapshotIds')
    max_results = args.get('MaxResults')
    if snap_ids and max_results is not None:
        raise combination('The parameter snapshotSet cannot be used with the '
                          'parameter maxResults')
    owners = None
    if args.get('OwnerIds'):
        owners = set()
        for owner in args['OwnerIds']:
            if owner == 'self':
                owners.add(account)
            elif owner in ('amazon', 'aws-marketplace') or re.match(r'^\d{12}$', owner):
                owners.add(owner)
            else:
                raise ApiError('InvalidUserID.Malformed', f"Invalid user id: '{owner}'")
    flt = Filters(args.get('Filters'), FILTERS)
    if snap_ids:
        for sid in snap_ids:
            common.check_id(sid, 'snap')
        lost = [s for s in snap_ids
                if s not in region.snapshots or region.snapshots[s]['OwnerId'] != account
                or not common.propagated(region.snapshots[s], ctx.now)]
        if lost:
            raise ApiError('InvalidSnapshot.NotFound',
                           f"The snapshot '{', '.join(lost)}' does not exist.")
        candidates = snap_ids
    else:
        candidates = flt.candidates(region, region.snapshots)
    # Without RestorableByUserIds only own snapshots are listed (EC2 would add public ones
    # and those shared with the caller); with it, those the caller may see that each
    # listed account may create volumes from ("self": the caller).
    restorable = args.get('RestorableByUserIds')
    if restorable:
        restorable = {account if u == 'self' else u for u in restorable}
        visible = [s for s in region.snapshots
                   if _restorable(region.snapshots[s], account)
                   and any(_restorable(region.snapshots[s], u) for u in restorable)]
        candidates = [s for s in candidates if s in visible] if snap_ids else visible
    matched = [s for s in candidates
               if (region.snapshots[s]['OwnerId'] == account
                   or (restorable and _restorable(region.snapshots[s], account)))
               and common.propagated(region.snapshots[s], ctx.now)
               and (owners is None or region.snapshots[s]['OwnerId'] in owners)
               and flt.match(region.snapshots[s])]
    chunk, token = page(matched, max_results, args.get('NextToken'), 5, 1000)
    return {'Snapshots': [region.snapshots[s] for s in chunk], 'NextToken': token}


def delete_snapshot(ctx, args):
    snap_id = args['SnapshotId']
    common.find_snapshot(ctx, snap_id)
    common.settle_images(ctx.sim, ctx.region, ctx.now)
    delete_snapshot_now(ctx, snap_id)
    return None


# ModifySnapshotAttribute: "You may add or remove specified AWS account IDs from a
# snapshot's list of create volume permissions, but you cannot do both in a single
# operation ... You can make up to 500 modifications to a snapshot in a single
# operation. Encrypted snapshots and snapshots with AWS Marketplace product codes cannot
# be made public."
MAX_MODIFICATIONS = 500


def _volume_permission(entry):
    if entry.get('Group') is not None:
        if entry['Group'] != 'all':
            raise invalid_value(f"Invalid group '{entry['Group']}': only 'all' is valid")
        return {'Group': 'all'}
    user = entry.get('UserId')
    if user is None:
        raise invalid_value('A create volume permission needs a UserId or a Group')
    if not re.match(r'^\d{12}$', user):
        raise ApiError('InvalidUserID.Malformed', f"Invalid user id: '{user}'")
    return {'UserId': user}


def _volume_modifications(args):
    """(add, remove) from CreateVolumePermission.Add/Remove or OperationType with
    UserId.N/UserGroup.N, the older form."""
    cvp = args.get('CreateVolumePermission')
    if cvp is not None:
        return cvp.get('Add', []), cvp.get('Remove', [])
    op = args.get('OperationType')
    if op is None:
        raise missing('OperationType')
    entries = [{'UserId': u} for u in args.get('UserIds', [])] + \
              [{'Group': g} for g in args.get('GroupNames', [])]
    return (entries, []) if op == 'add' else ([], entries)


def modify_snapshot_attribute(ctx, args):
    rec = common.find_snapshot(ctx, args['SnapshotId'])
    attribute = args.get('Attribute', 'createVolumePermission')
    if attribute != 'createVolumePermission':
        raise invalid_value(f'Value ({attribute}) for parameter attribute is invalid. '
                            'Only createVolumePermission can be modified.')
    add, remove = _volume_modifications(args)
    if add and remove:
        raise combination('You cannot both add and remove create volume permissions '
                          'in a single request.')
    if not add and not remove:
        raise missing('CreateVolumePermission')
    if len(add) + len(remove) > MAX_MODIFICATIONS:
        raise invalid_value(f'You can make up to {MAX_MODIFICATIONS} modifications to a '
                            'snapshot in a single request.')
    add = [_volume_permission(p) for p in add]
    remove = [_volume_permission(p) for p in remove]
    if {'Group': 'all'} in add and rec.get('Encrypted'):
        raise ApiError('OperationNotPermitted', 'Encrypted snapshots cannot be made public.')
    perms = rec.setdefault('_create_volume', [])
    for p in remove:
        if p in perms:
            perms.remove(p)
    for p in add:
        if p not in perms:
            perms.append(p)
    return None


def describe_snapshot_attribute(ctx, args):
    rec = common.find_snapshot(ctx, args['SnapshotId'])
    attribute = args['Attribute']
    out = {'SnapshotId': rec['SnapshotId']}
    if attribute == 'createVolumePermission':
        out['CreateVolumePermissions'] = list(rec.get('_create_volume', []))
    elif attribute == 'productCodes':
        out['ProductCodes'] = []
    else:
        raise invalid_value(f'Value ({attribute}) for parameter attribute is invalid.')
    return out


ACTIONS = {
    'DescribeSnapshots': describe_snapshots,
    'DeleteSnapshot': delete_snapshot,
    'ModifySnapshotAttribute': modify_snapshot_attribute,
    'DescribeSnapshotAttribute': describe_snapshot_attribute,
}
