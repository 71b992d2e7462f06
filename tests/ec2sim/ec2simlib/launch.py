"""RunInstances: what EC2 checks before it launches, its ClientToken, and the
launch itself (the instance record is instances.make_instance's; its boot is
boot.start's).

What EC2 documents, and how ec2sim follows it:

- ClientToken ("Ensuring idempotency in Amazon EC2 API requests", EC2 developer
  guide ec2-api-idempotency, and the API reference's Run_Instance_Idempotency): "A
  client token is a unique, case-sensitive string of up to 64 ASCII characters"; "If
  you repeat a request, the same response is returned for each repeated request. The
  only information that might vary in the response is the state of the instance";
  "It is included in the response when you describe the instance" (clientToken); "A
  client token is valid for at least 24 hours after the termination of the instance";
  "If you repeat a request with the same client token, but change another request
  parameter, Amazon EC2 returns an IdempotentParameterMismatch error"; a token is per
  region ("we launch instances in each of those Regions"). ec2sim keeps each token
  with its reservation for as long as the simulator runs (and in its saved state):
  a repeat answers the same reservation and instances, in their state now, also
  after they terminated.
- SubnetId, SecurityGroupId.N: network.py (InvalidSubnetID.NotFound,
  InvalidGroup.NotFound). IamInstanceProfile Name or Arn: recorded and shown as
  iamInstanceProfile {arn, id}; an IAM instance profile just created is not yet
  known to EC2, which answers "Value (NAME) for parameter iamInstanceProfile.name is
  invalid. Invalid IAM Instance Profile name" (InvalidParameterValue):
  POST /_sim/boot {"invalid_profiles": {"NAME": count or null}} makes it so.
- InstanceType: EC2 answers an unknown type with InvalidParameterValue "Invalid
  value '...' for InstanceType."; ec2sim knows a short list (INSTANCE_TYPES).
- BlockDeviceMapping.N Ebs.DeleteOnTermination overrides the image's mapping for
  that device (instances.launch_volumes); on termination a volume with
  DeleteOnTermination false is detached and left available (common.release_volumes).
- Eventual consistency: with the setting instance_consistency_delay, the instances
  launched are not found by id, nor listed, for that long (common.propagated, which
  quotes the guide).
- InvalidAMIID.NotFound / .Unavailable for an unknown or not available image;
  InsufficientInstanceCapacity when a refuse fault is set on the image (boot.py).
"""
import hashlib
import json

from . import boot, common, ids, network
from .clock import iso_ms
from .errors import ApiError, invalid_value, missing
from .instances import DEFAULT_INSTANCE_TYPE, launch_volumes, make_instance

MAX_CLIENT_TOKEN = 64

# A few current and previous-generation types; EC2 knows hundreds.
INSTANCE_TYPES = frozenset(
    f'{family}.{size}' for family, sizes in {
        't2': ('nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'),
        't3': ('nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'),
        't3a': ('nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'),
        't4g': ('nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'),
        'm5': ('large', 'xlarge', '2xlarge', '4xlarge'),
        'm6i': ('large', 'xlarge', '2xlarge', '4xlarge'),
        'm7g': ('medium', 'large', 'xlarge'),
        'c5': ('large', 'xlarge', '2xlarge', '4xlarge'),
        'c6i': ('large', 'xlarge', '2xlarge'),
        'r5': ('large', 'xlarge', '2xlarge'),
        'm1': ('small', 'medium', 'large', 'xlarge'),
        'm4': ('large', 'xlarge', '2xlarge'),
    }.items() for size in sizes)

# Not part of a request's identity: the token itself, and DryRun.
_NOT_PARAMETERS = ('ClientToken', 'DryRun')


def _fingerprint(args):
    return json.dumps({k: v for k, v in args.items() if k not in _NOT_PARAMETERS},
                      sort_keys=True, default=str)


def _check_token(token):
    if len(token) > MAX_CLIENT_TOKEN or not token.isascii():
        raise invalid_value(f'Value ({token}) for parameter clientToken is invalid. '
                            f'The client token must be at most {MAX_CLIENT_TOKEN} '
                            'ASCII characters.')


def _repeat(ctx, token, args):
    """The answer to a repeated ClientToken, or None when the token is new."""
    seen = ctx.region.run_tokens.get(f'{ctx.account}/{token}')
    if seen is None:
        return None
    if seen['params'] != _fingerprint(args):
        raise ApiError('IdempotentParameterMismatch',
                       'Arguments on this idempotent request are inconsistent with '
                       'arguments used in previous request(s).')
    recs = []
    for iid in seen['instances']:
        rec = ctx.region.instances.get(iid)
        if rec is not None:
            common.settle_instance(rec, ctx.now, ctx.region)
            recs.append(rec)
    return _answer(ctx, seen['reservation'], recs)


def _answer(ctx, reservation, recs):
    groups = recs[0].get('SecurityGroups', []) if recs else []
    return {'ReservationId': reservation, 'OwnerId': ctx.account, 'Groups': groups,
            'Instances': recs}


def _profile(ctx, spec):
    """IamInstanceProfile {Arn, Id} for Name or Arn, or the error EC2 answers for a
    profile it does not know yet."""
    if not spec:
        return None
    name = spec.get('Name')
    arn = spec.get('Arn')
    if name is None and arn is None:
        raise missing('IamInstanceProfile.Name')
    profile_name = name if name is not None else arn.rsplit('/', 1)[-1]
    left = ctx.region.invalid_profiles.get(profile_name, 0)
    if profile_name in ctx.region.invalid_profiles and left != 0:
        if left is not None:
            ctx.region.invalid_profiles[profile_name] = left - 1
        field, what = ('name', 'name') if name is not None else ('arn', 'ARN')
        raise invalid_value(f'Value ({name if name is not None else arn}) for parameter '
                            f'iamInstanceProfile.{field} is invalid. Invalid IAM '
                            f'Instance Profile {what}')
    arn = arn or f'arn:aws:iam::{ctx.account}:instance-profile/{name}'
    digest = hashlib.sha256(arn.encode()).hexdigest().upper()
    return {'Arn': arn, 'Id': 'AIPA' + digest[:17]}


def _image(ctx, image_id):
    if image_id is None:
        raise missing('ImageId')
    image = common.find_image(ctx, image_id)
    if image['State'] != 'available':
        raise ApiError('InvalidAMIID.Unavailable',
                       f"AMI '{image_id}' is {image['State']}, and cannot be run")
    return image


def run_instances(ctx, args):
    token = args.get('ClientToken')
    if token is not None:
        _check_token(token)
        repeated = _repeat(ctx, token, args)
        if repeated is not None:
            return repeated
    image = _image(ctx, args.get('ImageId'))
    instance_type = args.get('InstanceType', DEFAULT_INSTANCE_TYPE)
    if instance_type not in INSTANCE_TYPES:
        raise invalid_value(f"Invalid value '{instance_type}' for InstanceType.")
    low, high = args['MinCount'], args['MaxCount']
    if low < 1 or high < low:
        raise invalid_value('Value for MinCount and MaxCount must be at least 1, '
                            'and MaxCount must not be less than MinCount')
    subnet, groups = network.placement(ctx.region, args.get('SubnetId'),
                                       args.get('SecurityGroupIds'),
                                       args.get('Placement', {}).get('AvailabilityZone'))
    profile = _profile(ctx, args.get('IamInstanceProfile'))
    tags = common.tag_specs(args.get('TagSpecifications'), ('instance', 'volume'))
    volumes = launch_volumes(image, args.get('BlockDeviceMappings'))
    boot.check_capacity(ctx.region, image['ImageId'], instance_type,
                        subnet['AvailabilityZone'])
    reservation = ids.new_id('r')
    recs = []
    for index in range(high):
        rec = make_instance(ctx.region, ctx.account, ctx.now, image_id=image['ImageId'],
                            instance_type=instance_type, state='pending',
                            tags=tags.get('instance'), volumes=volumes,
                            volume_tags=tags.get('volume'), reservation=reservation,
                            az=subnet['AvailabilityZone'])
        rec['AmiLaunchIndex'] = index
        rec['SubnetId'] = subnet['SubnetId']
        rec['VpcId'] = subnet['VpcId']
        rec['SecurityGroups'] = [{'GroupName': g['GroupName'], 'GroupId': g['GroupId']}
                                 for g in groups]
        rec['StateTransitionReason'] = ''
        if profile:
            rec['IamInstanceProfile'] = dict(profile)
        if token is not None:
            rec['ClientToken'] = token
        boot.start(ctx.region, rec, ctx.settings, ctx.now)
        common.hide_until_propagated(ctx, rec, ctx.settings.instance_consistency_delay)
        recs.append(rec)
    image['LastLaunchedTime'] = iso_ms(ctx.now)
    if token is not None:
        ctx.region.run_tokens[f'{ctx.account}/{token}'] = {
            'reservation': reservation, 'instances': [r['InstanceId'] for r in recs],
            'params': _fingerprint(args)}
    return _answer(ctx, reservation, recs)


ACTIONS = {
    'RunInstances': run_instances,
}
