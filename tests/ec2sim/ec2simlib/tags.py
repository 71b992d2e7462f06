"""Tags: CreateTags, DeleteTags, DescribeTags, on instances, volumes, images,
snapshots and launch templates of the caller's account.

With a consistency delay, the writes are checked at once and applied (seen by
describes and tag filters) only when the delay has passed.
"""
from . import common, ids
from .errors import ApiError, invalid_value
from .filters import Filters, page
from .store import kind_of

RESOURCE_TYPES = {'instances': 'instance', 'volumes': 'volume', 'images': 'image',
                  'snapshots': 'snapshot', 'templates': 'launch-template'}

FILTERS = {
    'key': lambda t: t['Key'],
    'value': lambda t: t['Value'],
    'resource-id': lambda t: t['ResourceId'],
    'resource-type': lambda t: t['ResourceType'],
}


def _owner(rec):
    return rec.get('OwnerId') or rec.get('_owner')


def _resource(ctx, rid):
    kind = kind_of(rid)
    if kind is None or not ids.well_formed(rid, rid.split('-', 1)[0]):
        raise ApiError('InvalidID', f"The ID '{rid}' is not valid")
    rec = getattr(ctx.region, kind).get(rid)
    if rec is None or _owner(rec) != ctx.account or not common.propagated(rec, ctx.now):
        raise common.not_found(rid.split('-', 1)[0], rid)
    return rec


def create_tags(ctx, args):
    recs = [(rid, _resource(ctx, rid)) for rid in args['Resources']]
    for _, rec in recs:      # validate everything before changing anything
        common.check_tags(args['Tags'], rec.get('Tags'))
    _write(ctx, [(rid, rec, tag['Key'], tag.get('Value', ''))
                 for rid, rec in recs for tag in args['Tags']])
    return None


def _write(ctx, writes):
    """[(id, record, key, value or None to delete)], now or after the delay."""
    delay = ctx.settings.consistency_delay
    for rid, rec, key, value in writes:
        if delay > 0:
            ctx.region.tag_writes.append([ctx.now + delay, rid, key, value])
        elif value is None:
            ctx.region.delete_tag(rid, rec, key)
        else:
            ctx.region.set_tag(rid, rec, key, value)


def delete_tags(ctx, args):
    recs = [(rid, _resource(ctx, rid)) for rid in args['Resources']]
    writes = []
    for rid, rec in recs:
        if not args.get('Tags'):
            writes += [(rid, rec, key, None) for key in rec.get('Tags', {})]
            continue
        for tag in args['Tags']:
            key = tag.get('Key')
            if key is None:
                continue
            if key.lower().startswith('aws:'):
                raise invalid_value(
                    "Tag keys starting with 'aws:' are reserved for internal use")
            current = rec.get('Tags', {}).get(key)
            if current is None:
                continue
            if 'Value' in tag and tag['Value'] != current:
                continue
            writes.append((rid, rec, key, None))
    _write(ctx, writes)
    return None


def describe_tags(ctx, args):
    flt = Filters(args.get('Filters'), FILTERS)
    entries = {}
    for kind, rtype in RESOURCE_TYPES.items():
        for rid, rec in getattr(ctx.region, kind).items():
            if _owner(rec) != ctx.account or not common.propagated(rec, ctx.now):
                continue
            for key, value in rec.get('Tags', {}).items():
                tag = {'ResourceId': rid, 'ResourceType': rtype,
                       'Key': key, 'Value': value}
                if flt.match(tag):
                    entries[f'{rid}\t{key}'] = tag
    chunk, token = page(list(entries), args.get('MaxResults'), args.get('NextToken'),
                        5, 1000)
    return {'Tags': [entries[k] for k in chunk], 'NextToken': token}


ACTIONS = {
    'CreateTags': create_tags,
    'DeleteTags': delete_tags,
    'DescribeTags': describe_tags,
}
