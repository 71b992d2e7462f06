"""Volumes: DescribeVolumes.

The volumes are those of the simulated instances (instances.make_instance makes
one record per attached device), tagged with CreateTags or RunInstances'
TagSpecifications. DescribeVolumes answers as EC2 does: VolumeIds or Filters,
MaxResults 5-500 ("Valid Range: Minimum value of 5. Maximum value of 500" in the
EBS reference of DescribeVolumes), MaxResults not with VolumeIds, NextToken paging,
the tag filters and at most 200 filter values (filters.py).
"""
from . import common
from .errors import ApiError, combination
from .filters import Filters, page

FILTERS = {
    'volume-id': lambda r: r['VolumeId'],
    'attachment.instance-id': lambda r: [a['InstanceId'] for a in r['Attachments']],
    'attachment.device': lambda r: [a['Device'] for a in r['Attachments']],
    'attachment.status': lambda r: [a['State'] for a in r['Attachments']],
    'attachment.delete-on-termination':
        lambda r: [a['DeleteOnTermination'] for a in r['Attachments']],
    'availability-zone': lambda r: r['AvailabilityZone'],
    'size': lambda r: r['Size'],
    'status': lambda r: r['State'],
    'volume-type': lambda r: r['VolumeType'],
    'encrypted': lambda r: r['Encrypted'],
    'create-time': lambda r: r['CreateTime'],
}


def describe_volumes(ctx, args):
    region, account = ctx.region, ctx.account
    vol_ids = args.get('VolumeIds')
    max_results = args.get('MaxResults')
    if vol_ids and max_results is not None:
        raise combination('The parameter volumeSet cannot be used with the '
                          'parameter maxResults')
    flt = Filters(args.get('Filters'), FILTERS)
    if vol_ids:
        for vid in vol_ids:
            common.check_id(vid, 'vol')
        lost = [v for v in vol_ids
                if v not in region.volumes or region.volumes[v]['_owner'] != account]
        if lost:
            raise ApiError('InvalidVolume.NotFound',
                           f"The volume '{', '.join(lost)}' does not exist.")
        candidates = vol_ids
    else:
        candidates = flt.candidates(region, region.volumes)
    matched = [v for v in candidates
               if region.volumes[v]['_owner'] == account and flt.match(region.volumes[v])]
    chunk, token = page(matched, max_results, args.get('NextToken'), 5, 500)
    return {'Volumes': [region.volumes[v] for v in chunk], 'NextToken': token}


ACTIONS = {
    'DescribeVolumes': describe_volumes,
}
