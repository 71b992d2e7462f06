"""Helpers the actions share: id checks and look-ups with EC2's error codes,
tag validation, TagSpecifications, and the lazy state transitions of instances
and images (computed when read, against the simulator clock).
"""
import random

from . import ids
from .clock import iso_ms
from .errors import ApiError, invalid_value

# EC2's tag rules: "Tag keys ... Maximum length of 128 Unicode characters",
# values up to 256, at most 50 tags per resource, and "aws:" is reserved.
MAX_TAGS = 50

INSTANCE_STATE_CODES = {'pending': 0, 'running': 16, 'shutting-down': 32,
                        'terminated': 48, 'stopping': 64, 'stopped': 80}

# Terminated instances stay visible in DescribeInstances for about an hour.
TERMINATED_VISIBLE_SECONDS = 3600

_NOT_FOUND = {
    'i': ('InvalidInstanceID.NotFound', "The instance ID '{}' does not exist"),
    'ami': ('InvalidAMIID.NotFound', "The image id '[{}]' does not exist"),
    'snap': ('InvalidSnapshot.NotFound', "The snapshot '{}' does not exist."),
    'vol': ('InvalidVolume.NotFound', "The volume '{}' does not exist."),
    'lt': ('InvalidLaunchTemplateId.NotFound',
           "The specified launch template, with template ID {}, does not exist."),
}
_MALFORMED = {
    'i': 'InvalidInstanceID.Malformed',
    'ami': 'InvalidAMIID.Malformed',
    'snap': 'InvalidSnapshotID.Malformed',
    'vol': 'InvalidVolumeID.Malformed',
    'lt': 'InvalidLaunchTemplateId.Malformed',
}


def check_id(rid, prefix):
    if not ids.well_formed(rid, prefix):
        raise ApiError(_MALFORMED[prefix],
                       f'Invalid id: "{rid}" (expecting "{prefix}-...")')


def not_found(prefix, rid):
    code, message = _NOT_FOUND[prefix]
    return ApiError(code, message.format(rid))


def instance_state(name):
    return {'Code': INSTANCE_STATE_CODES[name], 'Name': name}


def settle_instance(rec, now, region=None):
    """pending -> running, shutting-down -> terminated, stopping -> stopped; an
    instance whose boot model (boot.py) shuts it down at _boot.shutdown_at stops
    or terminates on its own, through stopping or shutting-down. With the region, a
    terminated instance's volumes are released (deleted, or detached when
    DeleteOnTermination is false)."""
    boot = rec.get('_boot')
    if boot and boot.get('shutdown_at') is not None and now >= boot['shutdown_at'] \
            and rec['State']['Name'] in ('pending', 'running'):
        shut_down(rec, boot['shutdown'], boot['shutdown_at'],
                  SHUTDOWN_REASONS[boot.get('shutdown_reason', INSTANCE_SHUTDOWN[0])],
                  boot.get('shutdown_seconds', 0))
    name = rec['State']['Name']
    if name in ('pending', 'shutting-down', 'stopping') and now >= rec.get('_ready_at', 0):
        rec['State'] = instance_state({'pending': 'running',
                                       'shutting-down': 'terminated',
                                       'stopping': 'stopped'}[name])
    if region is not None and rec.get('_release_volumes'):
        release_volumes(region, rec)


# StateReason as DescribeInstances shows it: the state change codes of the EC2 API
# reference's StateReason ("Server.InternalError: An internal error caused the
# instance to terminate during launch", "Server.InsufficientInstanceCapacity: There
# was insufficient capacity available to satisfy the launch request",
# "Client.InternalError: A client error caused the instance to terminate during
# launch", "Client.UserInitiatedShutdown: The instance was shut down using the
# Amazon EC2 API", "Client.InstanceInitiatedShutdown: The instance was shut down
# from the operating system of the instance"), each with the message EC2 writes.
USER_SHUTDOWN = ('Client.UserInitiatedShutdown',
                 'Client.UserInitiatedShutdown: User initiated shutdown')
INSTANCE_SHUTDOWN = ('Client.InstanceInitiatedShutdown',
                     'Client.InstanceInitiatedShutdown: Instance initiated shutdown')
SHUTDOWN_REASONS = {reason[0]: reason for reason in [
    USER_SHUTDOWN, INSTANCE_SHUTDOWN,
    ('Server.InternalError', 'Server.InternalError: Internal error on launch'),
    ('Server.InsufficientInstanceCapacity', 'Server.InsufficientInstanceCapacity: '
     'Insufficient capacity to satisfy launch request'),
    ('Client.InternalError', 'Client.InternalError: Client error on launch')]}


def shut_down(rec, how, at, reason, seconds=0):
    """The instance stops or terminates (how: 'stop' | 'terminate') at time at: it
    is stopping or shutting-down for seconds, then stopped or terminated (the next
    settle_instance moves it on; with 0 at the next read)."""
    rec['State'] = instance_state('stopping' if how == 'stop' else 'shutting-down')
    rec['_ready_at'] = at + seconds
    rec['StateReason'] = {'Code': reason[0], 'Message': reason[1]}
    rec['StateTransitionReason'] = reason[1]
    if how != 'stop':
        rec['_terminated_at'] = at + seconds
        rec['_release_volumes'] = True


def release_volumes(region, rec):
    """On termination: DeleteOnTermination volumes are deleted, the others detached
    and left available (they outlive the instance: what a leaked test volume is)."""
    rec['_release_volumes'] = False
    for m in rec['BlockDeviceMappings']:
        vol = region.volumes.get(m['Ebs']['VolumeId'])
        if vol is None:
            continue
        if m['Ebs'].get('DeleteOnTermination'):
            region.remove('volumes', vol['VolumeId'])
        else:
            vol['_instance'] = rec['InstanceId']
            vol['State'] = 'available'
            vol['Attachments'] = []


def instance_visible(rec, account, now, region=None):
    """Whether a call of account sees the instance now: its own, propagated (an
    instance RunInstances just launched is not, for the consistency delay: see
    propagated below), and not terminated more than an hour ago."""
    if rec['_owner'] != account or not propagated(rec, now):
        return False
    settle_instance(rec, now, region)
    if rec['State']['Name'] == 'terminated' and \
            now - rec.get('_terminated_at', now) > TERMINATED_VISIBLE_SECONDS:
        return False
    return True


def find_instance(ctx, iid):
    check_id(iid, 'i')
    rec = ctx.region.instances.get(iid)
    if rec is None or not instance_visible(rec, ctx.account, ctx.now, ctx.region):
        raise not_found('i', iid)
    return rec


def settle_images(sim, region, now):
    """Move pending images whose time has come to available, or failed.

    Their snapshots follow: completed with the image, error if it failed.
    """
    if not region.pending_images or sim.settings.hold:
        return
    for image_id in list(region.pending_images):
        rec = region.images[image_id]
        if now >= rec['_ready_at']:
            finish_image(region, rec)


def finish_image(region, rec):
    failure = rec.get('_fail')
    if failure:
        rec['State'] = 'failed'
        rec['StateReason'] = failure
    else:
        rec['State'] = 'available'
    for mapping in rec.get('BlockDeviceMappings', []):
        snap = region.snapshots.get(mapping.get('Ebs', {}).get('SnapshotId'))
        if snap is not None and snap['State'] == 'pending':
            snap['State'] = 'error' if failure else 'completed'
            snap['Progress'] = '100%'
    region.pending_images.discard(rec['ImageId'])


# "if you run a command to modify or describe the resource that you just
# created, its ID might not have propagated throughout the system, and you will
# get an error responding that the resource does not exist." (Eventual
# consistency in the Amazon EC2 API, EC2 Developer Guide.) With a consistency
# delay, a new image and its snapshots carry _visible_at until which describes
# omit them and calls by id answer NotFound; new tags wait in the region's
# tag_writes (store.Region). The name is taken at once (InvalidAMIName.Duplicate).
# The same guide's first example is the instance: "If you successfully run the
# RunInstances command, and then immediately run another command using the
# instance ID that was provided in the response of RunInstances, it could return
# an InvalidInstanceID.NotFound error. This does not mean the instance does not
# exist", naming DescribeInstances and TerminateInstances ("If you get an
# InvalidInstanceID.NotFound error after running TerminateInstances, this doesn't
# mean that the instance is or will be terminated. Your instance could still be
# running"). So a launched instance carries _visible_at too, for the setting
# instance_consistency_delay (launch.py): every call by id (DescribeInstances,
# DescribeInstanceStatus, GetConsoleOutput, TerminateInstances, CreateTags) answers
# InvalidInstanceID.NotFound and lists leave it out, while it boots all the same; a
# ClientToken repeat answers it.
def propagated(rec, now):
    return now >= rec.get('_visible_at', 0)


def hide_until_propagated(ctx, rec, delay=None):
    delay = ctx.settings.consistency_delay if delay is None else delay
    if delay > 0:
        rec['_visible_at'] = ctx.now + delay


def image_visible(rec, account):
    """Own images, public ones, and those shared with the account."""
    if rec['OwnerId'] == account or rec.get('Public'):
        return True
    return any(p.get('UserId') == account for p in rec.get('_launch', []))


def find_image(ctx, image_id, owned=False):
    check_id(image_id, 'ami')
    settle_images(ctx.sim, ctx.region, ctx.now)
    rec = ctx.region.images.get(image_id)
    if rec is None or not image_visible(rec, ctx.account) or not propagated(rec, ctx.now):
        raise not_found('ami', image_id)
    if owned and rec['OwnerId'] != ctx.account:
        raise ApiError('AuthFailure', f'Not authorized for image:{image_id}', 401)
    return rec


def find_snapshot(ctx, snap_id):
    check_id(snap_id, 'snap')
    rec = ctx.region.snapshots.get(snap_id)
    if rec is None or rec['OwnerId'] != ctx.account or not propagated(rec, ctx.now):
        raise not_found('snap', snap_id)
    return rec


def check_tags(tags, existing=None):
    """Validate a list of {Key, Value}; return them as a dict."""
    out = dict(existing or {})
    for tag in tags or []:
        key = tag.get('Key')
        value = tag.get('Value', '')
        if key is None or key == '':
            raise invalid_value('Tag key cannot be null or empty')
        if len(key) > 128:
            raise invalid_value(f"Tag key exceeds the maximum length of 128 characters: '{key}'")
        if len(value) > 256:
            raise invalid_value(f"Tag value exceeds the maximum length of 256 characters: '{value}'")
        if key.lower().startswith('aws:'):
            raise invalid_value("Tag keys starting with 'aws:' are reserved for internal use")
        out[key] = value
    if len(out) > MAX_TAGS:
        raise ApiError('TagLimitExceeded',
                       f'The maximum number of tags for a resource is {MAX_TAGS}.')
    return out


def tag_specs(specs, allowed):
    """TagSpecifications -> {resource type: {key: value}} for the allowed types."""
    out = {}
    for spec in specs or []:
        kind = spec.get('ResourceType')
        if kind is None:
            raise invalid_value('A resource type must be specified in the tag specification')
        if kind not in allowed:
            raise invalid_value(f"'{kind}' is not a valid taggable resource type for "
                                'this operation.')
        if kind in out:
            raise invalid_value(f"The same resource type may not be specified more "
                                f"than once in tag specifications: '{kind}'")
        out[kind] = check_tags(spec.get('Tags'))
    return out


def private_ip():
    return '10.%d.%d.%d' % (random.randrange(256), random.randrange(256),
                            random.randrange(1, 255))


def now_iso(ctx):
    return iso_ms(ctx.now)
