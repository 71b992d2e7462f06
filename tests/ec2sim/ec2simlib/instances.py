"""Instances: DescribeInstances, TerminateInstances, and the instance records
RunInstances (launch.py) makes.

Enough of EC2's instance model for amirotd to select instances by tag and state
and to image their EBS volumes: every instance has a root volume (/dev/xvda) and
optional data volumes (/dev/sdf, /dev/sdg, ...), each a volume record that
CreateImage snapshots. A launched instance is pending, then running, as boot.py's
model says. TerminateInstances "is idempotent by default" (EC2 developer guide,
Ensuring idempotency): the instance is shutting-down for the shutdown_seconds
setting (default 0: terminated at the next read), then terminated, with state
reason Client.UserInitiatedShutdown, and stays visible for an hour.
"""
from . import common, ids
from .clock import iso_ms
from .errors import ApiError, combination, invalid_value, missing
from .filters import Filters, page

DEFAULT_INSTANCE_TYPE = 'm1.small'   # EC2's documented default for RunInstances

FILTERS = {
    'instance-id': lambda r: r['InstanceId'],
    'image-id': lambda r: r['ImageId'],
    'instance-state-name': lambda r: r['State']['Name'],
    'instance-state-code': lambda r: r['State']['Code'],
    'instance-type': lambda r: r['InstanceType'],
    'owner-id': lambda r: r['_owner'],
    'reservation-id': lambda r: r['_reservation'],
    'availability-zone': lambda r: r['Placement']['AvailabilityZone'],
    'private-ip-address': lambda r: r['PrivateIpAddress'],
    'root-device-type': lambda r: r['RootDeviceType'],
    # "platform - The platform. To list only Windows instances, use windows."
    'platform': lambda r: r.get('Platform'),
    'subnet-id': lambda r: r.get('SubnetId'),
    'vpc-id': lambda r: r.get('VpcId'),
    'client-token': lambda r: r.get('ClientToken'),
    'block-device-mapping.volume-id':
        lambda r: [m['Ebs']['VolumeId'] for m in r['BlockDeviceMappings']],
}


def device_name(index):
    return '/dev/xvda' if index == 0 else '/dev/sd' + chr(ord('f') + index - 1)


def volumes_of_sizes(sizes):
    """A root volume and data volumes, as EC2 names them for an Amazon Linux AMI."""
    return [(device_name(i), int(size), i == 0) for i, size in enumerate(sizes)]


def launch_volumes(image, overrides):
    """The volumes RunInstances creates: the image's mappings, then the request's
    BlockDeviceMappings, which resize a mapped device, add a new one, or drop one
    with NoDevice."""
    volumes = {}
    for m in image.get('BlockDeviceMappings', []):
        ebs = m.get('Ebs', {})
        volumes[m['DeviceName']] = (ebs.get('VolumeSize', 8),
                                    ebs.get('DeleteOnTermination', True))
    for m in overrides or []:
        device = m.get('DeviceName')
        if device is None:
            raise missing('BlockDeviceMapping.DeviceName')
        if 'NoDevice' in m:
            volumes.pop(device, None)
            continue
        ebs = m.get('Ebs')
        if ebs is None:
            continue            # instance store (VirtualName): no EBS volume
        size, delete = volumes.get(device, (None, True))
        size = ebs.get('VolumeSize', size)
        if size is None:
            raise invalid_value(f'The request must contain the parameter size or '
                                f'snapshotId for {device}')
        volumes[device] = (size, ebs.get('DeleteOnTermination', delete))
    return [(device, size, delete) for device, (size, delete) in volumes.items()] \
        or volumes_of_sizes([8])


def make_instance(region, account, now, *, instance_id=None, image_id=None,
                  instance_type=DEFAULT_INSTANCE_TYPE, state='running', tags=None,
                  volumes=None, volume_tags=None, reservation=None, az=None, platform=None):
    """Create an instance and its volumes in region; return the record.

    volumes: [(device, size GiB, delete on termination)], default one 8 GiB root.
    platform: 'windows' or None (Linux/UNIX).
    """
    iid = instance_id or ids.new_id('i')
    launched = iso_ms(now)
    az = az or region.name + 'a'
    mappings = []
    for device, size, delete in volumes or volumes_of_sizes([8]):
        vid = ids.new_id('vol')
        region.add('volumes', {
            'VolumeId': vid, 'Size': int(size), 'AvailabilityZone': az,
            'State': 'in-use', 'VolumeType': 'gp3', 'CreateTime': launched,
            'Encrypted': False, 'Tags': dict(volume_tags or {}),
            'Attachments': [{'InstanceId': iid, 'Device': device, 'State': 'attached',
                             'AttachTime': launched, 'DeleteOnTermination': delete}],
            '_owner': account}, 'VolumeId')
        mappings.append({'DeviceName': device,
                         'Ebs': {'VolumeId': vid, 'Status': 'attached',
                                 'AttachTime': launched, 'DeleteOnTermination': delete}})
    ip = common.private_ip()
    rec = {
        'InstanceId': iid,
        'ImageId': image_id or 'ami-0' + iid[3:],
        'InstanceType': instance_type,
        'State': common.instance_state(state),
        'LaunchTime': launched,
        'Placement': {'AvailabilityZone': az, 'Tenancy': 'default'},
        'Monitoring': {'State': 'disabled'},
        'PrivateIpAddress': ip,
        'PrivateDnsName': 'ip-%s.ec2.internal' % ip.replace('.', '-'),
        'Architecture': 'x86_64',
        'RootDeviceType': 'ebs',
        'RootDeviceName': '/dev/xvda',
        'BlockDeviceMappings': mappings,
        'VirtualizationType': 'hvm',
        'Hypervisor': 'xen',
        'AmiLaunchIndex': 0,
        'EbsOptimized': False,
        'EnaSupport': True,
        'Tags': dict(tags or {}),
        '_owner': account,
        '_reservation': reservation or ids.new_id('r'),
        '_ready_at': now,
    }
    # Instance.Platform: "This value is windows for Windows instances; otherwise, it is
    # empty" (EC2 leaves the element out); PlatformDetails is the AMI's billing platform.
    rec['PlatformDetails'] = 'Windows' if platform == 'windows' else 'Linux/UNIX'
    if platform == 'windows':
        rec['Platform'] = 'windows'
    if state == 'terminated':
        rec['_terminated_at'] = now
    return region.add('instances', rec, 'InstanceId')


def instance_volumes(region, rec):
    return [region.volumes[m['Ebs']['VolumeId']] for m in rec['BlockDeviceMappings']
            if m['Ebs']['VolumeId'] in region.volumes]


def _reservations(recs, account):
    out, by_id = [], {}
    for rec in recs:
        rid = rec['_reservation']
        res = by_id.get(rid)
        if res is None:
            res = by_id[rid] = {'ReservationId': rid, 'OwnerId': account,
                                'Groups': [], 'Instances': []}
            out.append(res)
        res['Instances'].append(rec)
    return out


def _check_ids(ctx, iids):
    for iid in iids:
        common.check_id(iid, 'i')
    lost = [i for i in iids if i not in ctx.region.instances or
            not common.instance_visible(ctx.region.instances[i], ctx.account, ctx.now,
                                           ctx.region)]
    if len(lost) == 1:
        raise common.not_found('i', lost[0])
    if lost:
        raise ApiError('InvalidInstanceID.NotFound',
                       f"The instance IDs '{', '.join(lost)}' do not exist")


def describe_instances(ctx, args):
    iids = args.get('InstanceIds')
    max_results = args.get('MaxResults')
    if iids and max_results is not None:
        raise combination('The parameter instancesSet cannot be used with the '
                          'parameter maxResults')
    flt = Filters(args.get('Filters'), FILTERS)
    table = ctx.region.instances
    if iids:
        _check_ids(ctx, iids)
        candidates = iids
    else:
        candidates = flt.candidates(ctx.region, table)
    matched = [iid for iid in candidates
               if common.instance_visible(table[iid], ctx.account, ctx.now, ctx.region)
               and flt.match(table[iid])]
    chunk, token = page(matched, max_results, args.get('NextToken'), 5, 1000)
    return {'Reservations': _reservations([table[i] for i in chunk], ctx.account),
            'NextToken': token}


def terminate_instances(ctx, args):
    iids = args['InstanceIds']
    _check_ids(ctx, iids)
    out = []
    for iid in iids:
        rec = ctx.region.instances[iid]
        previous = dict(rec['State'])
        if previous['Name'] not in ('shutting-down', 'terminated'):
            common.shut_down(rec, 'terminate', ctx.now, common.USER_SHUTDOWN,
                             ctx.settings.shutdown_seconds)
            rec['StateTransitionReason'] = 'User initiated (%s GMT)' % \
                iso_ms(ctx.now)[:19].replace('T', ' ')
            if rec.get('_boot'):
                rec['_boot']['shutdown_at'] = None
            common.release_volumes(ctx.region, rec)
        out.append({'InstanceId': iid, 'CurrentState': dict(rec['State']),
                    'PreviousState': previous})
    return {'TerminatingInstances': out}


ACTIONS = {
    'DescribeInstances': describe_instances,
    'TerminateInstances': terminate_instances,
}
