"""The simulator's state: keys, and per region the instances, volumes, images,
snapshots and launch templates, with the indexes that keep large fleets fast.

Records are plain dicts keyed by the EC2 model's member names (ImageId, State,
BlockDeviceMappings, ...) so that xmlout can render them directly; fields only
the simulator needs start with '_' and are never rendered. Tags are held as a
{key: value} dict. Everything is JSON-serialisable as it stands, which makes
save and load a dump of the dicts plus a rebuild of the indexes.

Indexes per region: records by id; image name per owner (InvalidAMIName.Duplicate);
tag (key, value) and tag key to ids (tag:KEY and tag-key filters); snapshot to
the registered images that use it (InvalidSnapshot.InUse); the set of pending
images (transitions are computed lazily on read, no background thread).
"""
import json
import os
import tempfile

DEFAULT_KEYS = [
    {'access_key': 'AKIDEXAMPLE',
     'secret_key': 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
     'account': '111122223333', 'user': 'ec2sim'},
    {'access_key': 'AKIDOTHER',
     'secret_key': 'otherSecretKey0000000000000000000000000',
     'account': '444455556666', 'user': 'ec2sim-other'},
]

STATE_VERSION = 1
KINDS = ('instances', 'volumes', 'images', 'snapshots', 'templates')
PREFIX_KIND = {'i': 'instances', 'vol': 'volumes', 'ami': 'images',
               'snap': 'snapshots', 'lt': 'templates'}


def kind_of(rid):
    return PREFIX_KIND.get(rid.split('-', 1)[0])


class TagIndex:
    def __init__(self):
        self.by_pair = {}    # (key, value) -> set of ids
        self.by_key = {}     # key -> set of ids

    def add(self, rid, key, value):
        self.by_pair.setdefault((key, value), set()).add(rid)
        self.by_key.setdefault(key, set()).add(rid)

    def discard(self, rid, key, value):
        ids = self.by_pair.get((key, value))
        if ids is not None:
            ids.discard(rid)
            if not ids:
                del self.by_pair[(key, value)]
        ids = self.by_key.get(key)
        if ids is not None:
            ids.discard(rid)
            if not ids:
                del self.by_key[key]


class Region:
    def __init__(self, name):
        self.name = name
        self.instances = {}
        self.volumes = {}
        self.images = {}
        self.snapshots = {}
        self.templates = {}
        self.tags = TagIndex()
        self.image_names = {}       # (owner, name) -> image id
        self.template_names = {}    # (owner, name) -> template id
        self.snapshot_users = {}    # snapshot id -> set of image ids
        self.pending_images = set()
        self.deregistered = set()   # image ids once known here
        self.copy_tokens = {}       # "account/token" -> {"image": id, "params": ...}
        self.template_tokens = {}   # "account/token" -> {"number": version, "params": ...}
        self.template_version_limit = None      # None: EC2's 10,000 (templates.py)
        self.tag_writes = []        # [due, id, key, value or None]: eventual consistency
        # (owner, name) -> {Name, Type, Value, Version, DataType, LastModifiedDate,
        # Description}: SSM's parameters (ssm.py); resolve:ssm:NAME names Value
        self.ssm_parameters = {}
        self.ssm_pending = []       # aws:ec2:image writes under validation (ssm.py)
        self.ssm_commands = {}      # command id -> Run Command's record (ssm_commands.py)
        self.ssm_agents = {}        # instance id or "*" -> agent settings and faults (freeze.py)
        self.ssm_nodes = {}         # instance id -> frozen state and history (freeze.py)
        self.subnets = {}           # subnet id -> record (network.py)
        self.security_groups = {}   # group id -> record (network.py)
        self.run_tokens = {}        # "account/token" -> RunInstances' answer (instances.py)
        self.launches = {}          # image id -> [instance ids launched from it] (boot.py)
        self.boot_faults = {}       # image id -> how its instances boot (boot.py)
        self.invalid_profiles = {}  # instance profile name -> refusals left, None: all

    def table(self, rid):
        kind = kind_of(rid)
        return getattr(self, kind) if kind else None

    def get(self, rid):
        table = self.table(rid)
        return table.get(rid) if table is not None else None

    # -- records with their indexes ---------------------------------------

    def add(self, kind, rec, id_field):
        rid = rec[id_field]
        getattr(self, kind)[rid] = rec
        for key, value in rec.get('Tags', {}).items():
            self.tags.add(rid, key, value)
        if kind == 'images':
            self.image_names[(rec['OwnerId'], rec['Name'])] = rid
            for snap in image_snapshot_ids(rec):
                self.snapshot_users.setdefault(snap, set()).add(rid)
            if rec['State'] == 'pending':
                self.pending_images.add(rid)
        elif kind == 'templates':
            self.template_names[(rec['_owner'], rec['LaunchTemplateName'])] = rid
        return rec

    def remove(self, kind, rid):
        rec = getattr(self, kind).pop(rid)
        for key, value in rec.get('Tags', {}).items():
            self.tags.discard(rid, key, value)
        if kind == 'images':
            if self.image_names.get((rec['OwnerId'], rec['Name'])) == rid:
                del self.image_names[(rec['OwnerId'], rec['Name'])]
            for snap in image_snapshot_ids(rec):
                users = self.snapshot_users.get(snap)
                if users is not None:
                    users.discard(rid)
                    if not users:
                        del self.snapshot_users[snap]
            self.pending_images.discard(rid)
            self.deregistered.add(rid)
        elif kind == 'templates':
            self.template_names.pop((rec['_owner'], rec['LaunchTemplateName']), None)
        return rec

    def set_tag(self, rid, rec, key, value):
        tags = rec.setdefault('Tags', {})
        if key in tags:
            self.tags.discard(rid, key, tags[key])
        tags[key] = value
        self.tags.add(rid, key, value)

    def delete_tag(self, rid, rec, key):
        tags = rec.get('Tags', {})
        if key in tags:
            self.tags.discard(rid, key, tags.pop(key))

    def apply_tag_writes(self, now):
        """Tag writes made under a consistency delay become visible when due."""
        if not self.tag_writes:
            return
        waiting = []
        for write in self.tag_writes:
            due, rid, key, value = write
            rec = self.get(rid)
            if due > now:
                waiting.append(write)
            elif rec is not None and value is None:
                self.delete_tag(rid, rec, key)
            elif rec is not None:
                self.set_tag(rid, rec, key, value)
        self.tag_writes = waiting

    # -- persistence -------------------------------------------------------

    def to_json(self):
        doc = {kind: list(getattr(self, kind).values()) for kind in KINDS}
        # The public catalog is recreated with the region, not saved.
        doc['images'] = [i for i in doc['images'] if not i.get('_catalog')]
        doc['deregistered'] = sorted(self.deregistered)
        doc['copy_tokens'] = self.copy_tokens
        doc['template_tokens'] = self.template_tokens
        doc['tag_writes'] = self.tag_writes
        doc['ssm_parameters'] = [[o, n, v] for (o, n), v in sorted(self.ssm_parameters.items())]
        doc['ssm_pending'] = self.ssm_pending
        doc['ssm_commands'] = self.ssm_commands
        doc['ssm_agents'] = self.ssm_agents
        doc['ssm_nodes'] = self.ssm_nodes
        for name in NETWORK_AND_BOOT:
            doc[name] = getattr(self, name)
        return doc

    @classmethod
    def from_json(cls, name, doc):
        region = cls(name)
        ids = {'instances': 'InstanceId', 'volumes': 'VolumeId', 'images': 'ImageId',
               'snapshots': 'SnapshotId', 'templates': 'LaunchTemplateId'}
        for kind in KINDS:
            for rec in doc.get(kind, []):
                region.add(kind, rec, ids[kind])
        region.deregistered = set(doc.get('deregistered', []))
        region.copy_tokens = dict(doc.get('copy_tokens', {}))
        region.template_tokens = dict(doc.get('template_tokens', {}))
        region.tag_writes = list(doc.get('tag_writes', []))
        # A state saved before parameters had records held their value only.
        region.ssm_parameters = {(o, n): v if isinstance(v, dict) else ssm_record(n, v, 0)
                                 for o, n, v in doc.get('ssm_parameters', [])}
        region.ssm_pending = list(doc.get('ssm_pending', []))
        region.ssm_commands = dict(doc.get('ssm_commands', {}))
        region.ssm_agents = dict(doc.get('ssm_agents', {}))
        region.ssm_nodes = dict(doc.get('ssm_nodes', {}))
        for name in NETWORK_AND_BOOT:
            setattr(region, name, dict(doc.get(name, {})))
        return region


# What RunInstances' network, ClientTokens and the boot model keep (network.py,
# instances.py, boot.py): saved and loaded as they are.
NETWORK_AND_BOOT = ('subnets', 'security_groups', 'run_tokens', 'launches',
                    'boot_faults', 'invalid_profiles')


def ssm_record(name, value, now, version=1, data_type='text'):
    """A parameter as SSM keeps it (ssm.py's record)."""
    return {'Name': name, 'Type': 'String', 'Value': value, 'Version': version,
            'DataType': data_type, 'LastModifiedDate': now, 'Description': ''}


def image_snapshot_ids(rec):
    return [m['Ebs']['SnapshotId'] for m in rec.get('BlockDeviceMappings', [])
            if m.get('Ebs', {}).get('SnapshotId')]


class Store:
    def __init__(self, on_new_region=None):
        self.on_new_region = on_new_region     # called with each new Region
        self.regions = {}
        self.keys = {}
        for key in DEFAULT_KEYS:
            self.add_key(dict(key))

    def region(self, name):
        region = self.regions.get(name)
        if region is None:
            region = self.regions[name] = Region(name)
            if self.on_new_region:
                self.on_new_region(region)
        return region

    def add_key(self, key):
        key.setdefault('token', None)
        key.setdefault('expires', None)
        if not key.get('arn'):
            key['arn'] = f"arn:aws:iam::{key['account']}:user/{key.get('user', 'ec2sim')}"
        self.keys[key['access_key']] = key
        return key

    def reset(self):
        self.__init__(self.on_new_region)

    def to_json(self):
        return {'keys': list(self.keys.values()),
                'regions': {name: r.to_json() for name, r in self.regions.items()}}

    def load_json(self, doc):
        self.reset()
        for key in doc.get('keys', []):
            self.add_key(key)
        for name, rdoc in doc.get('regions', {}).items():
            self.regions[name] = Region.from_json(name, rdoc)
            if self.on_new_region:
                self.on_new_region(self.regions[name])


def write_atomically(path, doc):
    """Temp file in the same directory, fsync, rename: never a half-written file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.ec2sim-', suffix='.json', dir=directory)
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(doc, f, separators=(',', ':'))
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
        dirfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
