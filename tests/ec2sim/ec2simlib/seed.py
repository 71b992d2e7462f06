"""Seeding: put instances, images and snapshots straight into the state.

Used by POST /_sim/seed and --seed FILE. Each of "instances", "images" and
"snapshots" is either a list of detailed specs or a bulk spec {"count": N, ...}
applied N times, where "{n}" in a name or tag value becomes 0..N-1. A bare
{"count": N, "tags": ...} at the top level seeds instances. Ids are generated
when omitted; the answer lists every created id.
"""
import gc

from . import ids
from .clock import iso_ms, parse_iso
from .images import FAILED_REASON, check_unique, make_image, make_snapshot
from .instances import make_instance, volumes_of_sizes
from .store import ssm_record

INSTANCE_STATES = ('pending', 'running', 'stopping', 'stopped', 'shutting-down',
                   'terminated')
IMAGE_STATES = ('pending', 'available', 'failed', 'disabled')


class SeedError(ValueError):
    pass


def _expand(spec, n):
    """A bulk spec with "{n}" replaced in names and tag values."""
    out = dict(spec)
    for field in ('name', 'id', 'description'):
        if isinstance(out.get(field), str) and '{n}' in out[field]:
            out[field] = out[field].replace('{n}', str(n))
    for field in ('tags', 'snapshot_tags'):
        tags = out.get(field)
        if tags and any('{n}' in str(v) for v in tags.values()):
            out[field] = {k: str(v).replace('{n}', str(n)) for k, v in tags.items()}
    return out


def _specs(value):
    if value is None:
        return
    if isinstance(value, dict):
        count = int(value.get('count', 1))
        spec = {k: v for k, v in value.items() if k != 'count'}
        for n in range(count):
            yield _expand(spec, n)
    else:
        for spec in value:
            yield spec


def _sizes(value, default=(8,)):
    if value is None:
        return list(default)
    if isinstance(value, int):
        return [8] * value
    return [int(v) for v in value]


def _instance(sim, region, account, now, spec):
    state = spec.get('state', 'running')
    if state not in INSTANCE_STATES:
        raise SeedError(f'instance state must be one of {", ".join(INSTANCE_STATES)}')
    tags = dict(spec.get('tags') or {})
    if spec.get('name'):
        tags['Name'] = spec['name']
    iid = spec.get('id')
    if iid and (not ids.well_formed(iid, 'i') or iid in region.instances):
        raise SeedError(f'bad or duplicate instance id {iid!r}')
    if spec.get('platform') not in (None, 'windows'):
        raise SeedError("instance platform must be 'windows' (or absent: Linux/UNIX)")
    when = parse_iso(spec['launch_time']) if spec.get('launch_time') else now
    rec = make_instance(region, account, when, instance_id=iid,
                        image_id=spec.get('image_id'),
                        instance_type=spec.get('instance_type', 'm5.large'),
                        state=state, tags=tags,
                        volumes=volumes_of_sizes(_sizes(spec.get('volumes'))),
                        platform=spec.get('platform'))
    return rec['InstanceId']


def _image(sim, region, account, now, spec, created_snaps):
    state = spec.get('state', 'available')
    if state not in IMAGE_STATES:
        raise SeedError(f'image state must be one of {", ".join(IMAGE_STATES)}')
    owner = spec.get('owner', account)
    image_id = spec.get('id') or ids.new_id('ami')
    if not ids.well_formed(image_id, 'ami') or image_id in region.images:
        raise SeedError(f'bad or duplicate image id {image_id!r}')
    name = spec.get('name') or f'seed-{image_id}'
    try:
        check_unique(region, owner, name)
    except Exception as error:
        raise SeedError(getattr(error, 'message', str(error))) from None
    created = parse_iso(spec['creation_date']) if spec.get('creation_date') else now
    source = spec.get('instance_id')
    snap_state = {'available': 'completed', 'pending': 'pending', 'failed': 'error',
                  'disabled': 'completed'}[state]
    mappings = []
    if spec.get('snapshot_ids'):
        # Existing snapshots, shared with the images that already use them.
        snaps = []
        for sid in spec['snapshot_ids']:
            if sid not in region.snapshots:
                raise SeedError(f'unknown snapshot {sid!r}')
            snaps.append(region.snapshots[sid])
    else:
        snaps = []
        for size in _sizes(spec.get('snapshots')):
            description = f'Created by CreateImage({source}) for {image_id}' if source else ''
            snaps.append(make_snapshot(region, owner, created, size=size, state=snap_state,
                                       description=description,
                                       tags=spec.get('snapshot_tags')))
            created_snaps.append(snaps[-1]['SnapshotId'])
    for index, snap in enumerate(snaps):
        device = '/dev/xvda' if index == 0 else '/dev/sd' + chr(ord('f') + index - 1)
        mappings.append((device, snap['SnapshotId'], snap['VolumeSize']))
    pending = float(spec.get('pending_seconds', sim.settings.pending_seconds))
    fail = dict(FAILED_REASON) if spec.get('fail') else None
    rec = make_image(region, owner, created, name=name, image_id=image_id, state=state,
                     mappings=mappings, description=spec.get('description'),
                     tags=spec.get('tags'), source_instance=source,
                     ready_at=now + pending, fail=fail,
                     public=bool(spec.get('public')))
    if spec.get('deprecation_time'):
        rec['DeprecationTime'] = iso_ms(parse_iso(spec['deprecation_time']))
    if spec.get('last_launched_time'):
        rec['LastLaunchedTime'] = iso_ms(parse_iso(spec['last_launched_time']))
    if spec.get('alias'):
        rec['ImageOwnerAlias'] = spec['alias']
    if spec.get('deregistration_protection'):
        rec['DeregistrationProtection'] = spec['deregistration_protection']
    return image_id


def _snapshot(sim, region, account, now, spec):
    sid = spec.get('id')
    if sid and (not ids.well_formed(sid, 'snap') or sid in region.snapshots):
        raise SeedError(f'bad or duplicate snapshot id {sid!r}')
    when = parse_iso(spec['start_time']) if spec.get('start_time') else now
    rec = make_snapshot(region, spec.get('owner', account), when, snapshot_id=sid,
                        volume_id=spec.get('volume_id'),
                        size=spec.get('volume_size', spec.get('size', 8)),
                        description=spec.get('description', ''),
                        state=spec.get('state', 'completed'), tags=spec.get('tags'))
    return rec['SnapshotId']


def seed(sim, doc):
    """Apply one seed document; return the ids created."""
    out = {'instances': [], 'images': [], 'snapshots': [], 'keys': []}
    # Hundreds of thousands of new dicts would trigger the cyclic collector
    # over and over, each pass walking the whole growing heap; none of them
    # form cycles, so it is off while seeding (2.7 s instead of 7 s for 100 000).
    collecting = gc.isenabled()
    gc.disable()
    try:
        _seed(sim, doc, out)
    finally:
        if collecting:
            gc.enable()
    return out


def _seed(sim, doc, out):
    with sim.lock:
        for key in doc.get('keys', []):
            if not key.get('access_key') or not key.get('secret_key') or \
                    not key.get('account'):
                raise SeedError('a key needs access_key, secret_key and account')
            sim.store.add_key(dict(key))
            out['keys'].append(key['access_key'])
        region = sim.store.region(doc.get('region', 'us-east-1'))
        account = str(doc.get('account', '111122223333'))
        now = sim.clock.now()
        instances = doc.get('instances')
        if instances is None and 'count' in doc:
            instances = {k: v for k, v in doc.items()
                         if k not in ('region', 'account', 'images', 'snapshots', 'keys',
                                      'ssm_parameters', 'template_version_limit')}
        for spec in _specs(instances):
            out['instances'].append(_instance(sim, region, account, now, spec))
        for spec in _specs(doc.get('images')):
            out['images'].append(_image(sim, region, account, now, spec, out['snapshots']))
        for spec in _specs(doc.get('snapshots')):
            out['snapshots'].append(_snapshot(sim, region, account, now, spec))
        for name, value in (doc.get('ssm_parameters') or {}).items():
            region.ssm_parameters[(account, name)] = ssm_record(name, value, now)
        if 'template_version_limit' in doc:
            # A lower quota of versions per launch template than EC2's 10,000, for a test.
            region.template_version_limit = int(doc['template_version_limit']) or None
