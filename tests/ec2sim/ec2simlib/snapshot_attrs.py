"""ModifySnapshotAttribute / DescribeSnapshotAttribute createVolumePermission: what
CopyImage of another account's AMI checks ("The owner of the source AMI must grant you
read permissions for the storage that backs the AMI").

A snapshot's create-volume permissions are rec['_create_volume'], a list of
{'UserId': ...} or {'Group': 'all'} (the convention the share and copy_to slices keep).
"""
import re

from . import common
from .errors import ApiError, invalid_value, missing


def _entry(p):
    if p.get('UserId') is not None:
        if not re.match(r'^\d{12}$', p['UserId']):
            raise ApiError('InvalidUserID.Malformed', f"Invalid user id: '{p['UserId']}'")
        return {'UserId': p['UserId']}
    if p.get('Group') is not None:
        if p['Group'] != 'all':
            raise invalid_value(f"Value ({p['Group']}) for parameter group is invalid.")
        return {'Group': 'all'}
    raise missing('UserId')


def modify_snapshot_attribute(ctx, args):
    rec = common.find_snapshot(ctx, args['SnapshotId'])
    attribute = args.get('Attribute')
    if attribute not in (None, 'createVolumePermission'):
        raise invalid_value(f'Value ({attribute}) for parameter attribute is invalid.')
    cvp = args.get('CreateVolumePermission')
    if cvp is not None:
        add = [_entry(p) for p in cvp.get('Add', [])]
        remove = [_entry(p) for p in cvp.get('Remove', [])]
    else:
        op = args.get('OperationType')
        if op is None:
            raise missing('OperationType')
        entries = [_entry({'UserId': u}) for u in args.get('UserIds', [])] + \
                  [_entry({'Group': g}) for g in args.get('GroupNames', [])]
        add, remove = (entries, []) if op == 'add' else ([], entries)
    perms = [p for p in rec.get('_create_volume', []) if p not in remove]
    # Adding a permission that is there already is no error.
    perms += [p for p in add if p not in perms]
    rec['_create_volume'] = perms
    return None


def describe_snapshot_attribute(ctx, args):
    rec = common.find_snapshot(ctx, args['SnapshotId'])
    if args['Attribute'] != 'createVolumePermission':
        raise invalid_value(f"Value ({args['Attribute']}) for parameter attribute is invalid.")
    return {'SnapshotId': rec['SnapshotId'], 'CreateVolumePermissions': list(rec.get('_create_volume', []))}


ACTIONS = {
    'ModifySnapshotAttribute': modify_snapshot_attribute,
    'DescribeSnapshotAttribute': describe_snapshot_attribute,
}
