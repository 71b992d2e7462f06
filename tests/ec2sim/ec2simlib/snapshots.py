"""Snapshots: DescribeSnapshots and DeleteSnapshot.

A snapshot used by a registered image cannot be deleted (InvalidSnapshot.InUse);
the snapshot_in_use fault stretches that past the image's deregistration, as
EC2 sometimes does for a while.
"""
import re

from . import common
from .errors import ApiError, combination
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
    # Only own snapshots exist in the simulator; sharing them is not simulated.
    matched = [s for s in candidates
               if region.snapshots[s]['OwnerId'] == account
               and common.propagated(region.snapshots[s], ctx.now)
               and (owners is None or account in owners)
               and flt.match(region.snapshots[s])]
    chunk, token = page(matched, max_results, args.get('NextToken'), 5, 1000)
    return {'Snapshots': [region.snapshots[s] for s in chunk], 'NextToken': token}


def delete_snapshot(ctx, args):
    snap_id = args['SnapshotId']
    common.find_snapshot(ctx, snap_id)
    common.settle_images(ctx.sim, ctx.region, ctx.now)
    delete_snapshot_now(ctx, snap_id)
    return None


ACTIONS = {
    'DescribeSnapshots': describe_snapshots,
    'DeleteSnapshot': delete_snapshot,
}
