"""The network RunInstances launches into: each region's default VPC, a default
subnet per Availability Zone, the VPC's default security group, and the subnets
and groups the admin interface adds (POST /_sim/network).

EC2 gives every account a default VPC with a default subnet in each Availability
Zone and a security group named "default"; RunInstances without SubnetId launches
into the default subnet of the zone (Placement), without SecurityGroupId.N into
the VPC's default group. An unknown SubnetId is InvalidSubnetID.NotFound, an
unknown group InvalidGroup.NotFound, and a group of another VPC than the subnet's
InvalidParameter ("Security group ... and subnet ... belong to different
networks"). Simplified: the default VPC of a region is shared by the accounts
(ids derived from the region's name, so they are the same after a reset), and
subnets have no capacity or free addresses to run out of.
"""
import hashlib

from . import ids
from .errors import ApiError

AZ_LETTERS = 'abc'


def _fixed_id(prefix, *parts):
    digest = hashlib.sha256('/'.join(parts).encode()).hexdigest()
    return f'{prefix}-{digest[:17]}'


def seed_default(region):
    """The default VPC, its subnets and default group, unless the region has them."""
    if region.subnets:
        return
    vpc = _fixed_id('vpc', region.name, 'default')
    for index, letter in enumerate(AZ_LETTERS):
        add_subnet(region, {'id': _fixed_id('subnet', region.name, letter),
                            'vpc': vpc, 'az': region.name + letter,
                            'cidr': f'172.31.{16 * index}.0/20', 'default': True})
    add_group(region, {'id': _fixed_id('sg', region.name, 'default'), 'vpc': vpc,
                       'name': 'default'})


def add_subnet(region, spec):
    sid = spec.get('id') or ids.new_id('subnet')
    vpc = spec.get('vpc') or default_vpc(region)
    rec = {'SubnetId': sid, 'VpcId': vpc,
           'AvailabilityZone': spec.get('az') or region.name + 'a',
           'CidrBlock': spec.get('cidr', '10.0.0.0/24'),
           'DefaultForAz': bool(spec.get('default', False))}
    region.subnets[sid] = rec
    return rec


def add_group(region, spec):
    gid = spec.get('id') or ids.new_id('sg')
    rec = {'GroupId': gid, 'VpcId': spec.get('vpc') or default_vpc(region),
           'GroupName': spec.get('name') or gid}
    region.security_groups[gid] = rec
    return rec


def default_vpc(region):
    for rec in region.subnets.values():
        if rec['DefaultForAz']:
            return rec['VpcId']
    return _fixed_id('vpc', region.name, 'default')


def placement(region, subnet_id, group_ids, az):
    """(subnet record, [group records]) for a launch, with EC2's errors."""
    seed_default(region)
    if subnet_id:
        subnet = region.subnets.get(subnet_id)
        if subnet is None:
            raise ApiError('InvalidSubnetID.NotFound',
                           f"The subnet ID '{subnet_id}' does not exist")
    else:
        zones = [s for s in region.subnets.values() if s['DefaultForAz'] and
                 (az is None or s['AvailabilityZone'] == az)]
        if not zones:
            raise ApiError('InvalidParameterValue',
                           f"Invalid availability zone: [{az}]")
        subnet = sorted(zones, key=lambda s: s['AvailabilityZone'])[0]
    groups = []
    for gid in group_ids or []:
        group = region.security_groups.get(gid)
        if group is None:
            raise ApiError('InvalidGroup.NotFound',
                           f"The security group '{gid}' does not exist")
        if group['VpcId'] != subnet['VpcId']:
            raise ApiError('InvalidParameter',
                           f'Security group {gid} and subnet {subnet["SubnetId"]} '
                           'belong to different networks.')
        groups.append(group)
    if not groups:
        groups = [g for g in region.security_groups.values()
                  if g['VpcId'] == subnet['VpcId'] and g['GroupName'] == 'default'][:1]
    return subnet, groups


def view(region):
    seed_default(region)
    return {'subnets': list(region.subnets.values()),
            'security_groups': list(region.security_groups.values())}
