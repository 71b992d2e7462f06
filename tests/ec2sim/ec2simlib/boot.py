"""How an instance launched by RunInstances boots, in simulator time, and the two
calls that watch it: DescribeInstanceStatus and GetConsoleOutput.

What EC2 documents, and how ec2sim follows it:

- DescribeInstanceStatus (EC2 API reference, API_DescribeInstanceStatus): "By
  default, only running instances are described, unless you specifically indicate
  to return the status of all instances" (IncludeAllInstances, default false).
  InstanceId.N: "Constraints: Maximum 100 explicitly specified instance IDs";
  MaxResults: "You cannot specify this parameter and the instance IDs parameter in
  the same request" (InvalidParameterCombination, as DescribeInstances; range 5..1000
  as its other describes); NextToken pages. An unknown id is
  InvalidInstanceID.NotFound, a malformed one .Malformed. Filters modelled:
  availability-zone, instance-state-name, instance-state-code, system-status.status,
  system-status.reachability, instance-status.status, instance-status.reachability.
- InstanceStatusSummary (API_InstanceStatusSummary): status "ok | impaired |
  insufficient-data | not-applicable | initializing"; its details
  (API_InstanceStatusDetails) name "reachability" with status "passed | failed |
  insufficient-data | initializing" and impairedSince, "The time when a status check
  failed". An instance that is not running has both summaries "not-applicable"
  (without details): the checks run on running instances only ("Amazon EC2
  performs status checks on running EC2 instances"). A running instance is
  "initializing" (reachability initializing) until its checks have run, then "ok"
  (passed) or "impaired" (failed, impairedSince). The API reference does not say
  whether a terminated instance is listed with IncludeAllInstances; ec2sim lists
  it (not-applicable) while DescribeInstances still shows it, an hour, or with the
  setting status_lists_terminated false leaves it out (also when asked by id: no
  item, no error): a client must handle both.
- GetConsoleOutput (API_GetConsoleOutput): InstanceId, Latest ("When enabled,
  retrieves the latest console output for the instance"); the answer has instanceId,
  output ("The console output, base64-encoded") and timestamp ("The time at which the
  output was last updated"). "Instance console output is buffered and posted shortly
  after instance boot, reboot, and termination. Amazon EC2 preserves the most recent
  64 KB output" (the API reference's earlier GetConsoleOutput page). So: nothing (no
  output element) until the instance has written some; without Latest the buffered
  output appears console_post_seconds after the instance is running, with Latest at
  once; the last 64 KB.
- TerminateInstances is idempotent by default ("Ensuring idempotency in Amazon EC2
  API requests", devguide ec2-api-idempotency): a repeat answers the current state.

The boot model (settings, POST /_sim/settings): an instance is pending for
boot_pending_seconds, then running; its status checks are initializing for
status_seconds more, then ok; its console shows a Linux boot log ending in a login
prompt once running. Per image (POST /_sim/boot), since a test instance does not
exist before it is launched, "instances launched from image X" may: have their
instance or system check impaired; show a console without the login prompt, or
nothing; stay pending forever; shut themselves down (stop or terminate, state reason
Client.InstanceInitiatedShutdown by default, or any StateReason code of a shutdown:
common.SHUTDOWN_REASONS), once running or while still pending (a launch EC2 ends:
pending -> shutting-down -> terminated), through stopping or shutting-down for the
shutdown_seconds setting; or not launch at all (InsufficientInstanceCapacity).
"""
import base64

from . import common
from .clock import iso_ms, parse_iso
from .errors import ApiError, combination, invalid_value
from .filters import Filters, page

NEVER = 1e15                 # a time that never comes (JSON-safe, unlike inf)
CONSOLE_LIMIT = 64 * 1024    # "the most recent 64 KB output"
MAX_STATUS_IDS = 100         # "Maximum 100 explicitly specified instance IDs"

FAULT_KEYS = {
    'instance_status': ('ok', 'impaired'),
    'system_status': ('ok', 'impaired'),
    'console': ('login', 'no-login', 'none'),
    'shutdown': ('stop', 'terminate'),
    'shutdown_reason': tuple(common.SHUTDOWN_REASONS),
    'shutdown_when': ('running', 'pending'),
    'console_posted': ('whole', 'early'),
}

# The Xen families (the EC2 user guide's "Xen-based instances"): "the latest serial
# console output ... is supported on instance types that use the Nitro hypervisor"
# (API_GetConsoleOutput), so Latest on these is refused. The error EC2 answers is not
# in the API reference nor the user guide; ec2sim answers UnsupportedOperation, EC2's
# code for an operation the instance's type or configuration does not support.
XEN_FAMILIES = frozenset(('t1', 't2', 'm1', 'm2', 'm3', 'm4', 'c1', 'c3', 'c4', 'cc2',
                          'cr1', 'r3', 'r4', 'i2', 'i3', 'd2', 'x1', 'x1e', 'p2', 'p3',
                          'g3', 'h1', 'f1'))
NUMBER_KEYS = ('pending_seconds', 'status_seconds', 'shutdown_after_seconds')

FILTERS = {
    'availability-zone': lambda s: s['AvailabilityZone'],
    'instance-state-name': lambda s: s['InstanceState']['Name'],
    'instance-state-code': lambda s: s['InstanceState']['Code'],
    'system-status.status': lambda s: s['SystemStatus']['Status'],
    'system-status.reachability':
        lambda s: [d['Status'] for d in s['SystemStatus'].get('Details', [])],
    'instance-status.status': lambda s: s['InstanceStatus']['Status'],
    'instance-status.reachability':
        lambda s: [d['Status'] for d in s['InstanceStatus'].get('Details', [])],
}


# -- faults per image, and what was launched from each ------------------------

def configure(region, image_id, body):
    """Set how instances launched from image_id boot (merged into what it had)."""
    cfg = {} if body.pop('clear', False) else dict(region.boot_faults.get(image_id, {}))
    for key, value in body.items():
        if key in FAULT_KEYS:
            if value not in FAULT_KEYS[key]:
                raise ValueError(f'{key} is one of {", ".join(FAULT_KEYS[key])}')
            cfg[key] = value
        elif key in NUMBER_KEYS:
            cfg[key] = None if value is None else float(value)
        elif key == 'pending':
            if value not in ('forever', None):
                raise ValueError("pending is 'forever' or null")
            cfg[key] = value
        elif key == 'refuse':
            if not (value is True or value is None or (isinstance(value, int) and value >= 0)):
                raise ValueError('refuse is true (always), a count, or null')
            cfg[key] = value
        elif key == 'console_text':
            cfg[key] = None if value is None else str(value)
        else:
            raise ValueError(f'unknown boot setting {key!r}')
    if cfg.get('shutdown_when') == 'pending' and cfg.get('shutdown') == 'stop':
        # Only a running instance stops: a launch that fails is terminated.
        raise ValueError('a shutdown while pending is a termination: "shutdown": "terminate"')
    region.boot_faults[image_id] = {k: v for k, v in cfg.items() if v is not None}
    return region.boot_faults[image_id]


def check_capacity(region, image_id, instance_type, az):
    """InsufficientInstanceCapacity when a refuse fault is set on the image."""
    cfg = region.boot_faults.get(image_id, {})
    refuse = cfg.get('refuse')
    if not refuse:
        return
    if refuse is not True:
        cfg['refuse'] = refuse - 1
    raise ApiError('InsufficientInstanceCapacity',
                   f'We currently do not have sufficient {instance_type} capacity in the '
                   f'Availability Zone you requested ({az}). Our system will be working on '
                   'provisioning additional capacity.', 500)


def start(region, rec, settings, now):
    """Plan an instance's boot at launch: when it runs, when its checks end, how."""
    cfg = region.boot_faults.get(rec['ImageId'], {})
    pending = cfg.get('pending_seconds', settings.boot_pending_seconds)
    running_at = NEVER if cfg.get('pending') == 'forever' else now + pending
    boot = {'running_at': running_at,
            'status_at': running_at + cfg.get('status_seconds', settings.status_seconds),
            'instance_status': cfg.get('instance_status', 'ok'),
            'system_status': cfg.get('system_status', 'ok'),
            'console': cfg.get('console', 'login'),
            'console_text': cfg.get('console_text'),
            'console_posted': cfg.get('console_posted', 'whole'),
            'post_seconds': settings.console_post_seconds,
            'shutdown': cfg.get('shutdown'), 'shutdown_at': None,
            'shutdown_reason': cfg.get('shutdown_reason', common.INSTANCE_SHUTDOWN[0]),
            'shutdown_seconds': settings.shutdown_seconds}
    after = cfg.get('shutdown_after_seconds', 1.0)
    if boot['shutdown'] and cfg.get('shutdown_when') == 'pending':
        # A launch failure: pending -> shutting-down -> terminated, never running.
        running_at = boot['running_at'] = boot['status_at'] = NEVER
        boot['shutdown_at'] = now + after
    elif boot['shutdown'] and running_at < NEVER:
        boot['shutdown_at'] = running_at + after
    rec['_boot'] = boot
    rec['_ready_at'] = running_at
    region.launches.setdefault(rec['ImageId'], []).append(rec['InstanceId'])


def view(region, now):
    """Per image with faults or launches: the faults, the instances launched from
    it, those still alive (not terminated), and the volumes they left behind."""
    images = {}
    for image_id in sorted(set(region.boot_faults) | set(region.launches)):
        launched = region.launches.get(image_id, [])
        alive = []
        for iid in launched:
            rec = region.instances.get(iid)
            if rec is None:
                continue
            common.settle_instance(rec, now, region)
            if rec['State']['Name'] != 'terminated':
                alive.append(iid)
        gone = set(launched) - set(alive)
        left = [v['VolumeId'] for v in region.volumes.values()
                if v.get('_instance') in gone or
                any(a['InstanceId'] in gone for a in v['Attachments'])]
        images[image_id] = {'faults': region.boot_faults.get(image_id, {}),
                            'launched': launched, 'alive': alive, 'volumes_left': left}
    return {'images': images, 'invalid_profiles': region.invalid_profiles}


# -- status checks ---------------------------------------------------------

def _summary(status, details_status=None, since=None):
    out = {'Status': status}
    if details_status is not None:
        detail = {'Name': 'reachability', 'Status': details_status}
        if since is not None:
            detail['ImpairedSince'] = since
        out['Details'] = [detail]
    return out


def _check(result, since):
    if result == 'impaired':
        return _summary('impaired', 'failed', since)
    return _summary('ok', 'passed')


def status_of(rec, now):
    """The InstanceStatus item of DescribeInstanceStatus for one instance."""
    out = {'InstanceId': rec['InstanceId'],
           'AvailabilityZone': rec['Placement']['AvailabilityZone'],
           'InstanceState': dict(rec['State'])}
    boot = rec.get('_boot') or {}
    if rec['State']['Name'] != 'running':
        out['SystemStatus'] = _summary('not-applicable')
        out['InstanceStatus'] = _summary('not-applicable')
    elif now < boot.get('status_at', 0):
        out['SystemStatus'] = _summary('initializing', 'initializing')
        out['InstanceStatus'] = _summary('initializing', 'initializing')
    else:
        # impairedSince: "For an instance that was launched and impaired, this is the
        # time when the instance was launched" (API_InstanceStatusDetails).
        since = rec['LaunchTime']
        out['SystemStatus'] = _check(boot.get('system_status'), since)
        out['InstanceStatus'] = _check(boot.get('instance_status'), since)
    return out


def describe_instance_status(ctx, args):
    iids = args.get('InstanceIds')
    max_results = args.get('MaxResults')
    if iids and max_results is not None:
        raise combination('The parameter instancesSet cannot be used with the '
                          'parameter maxResults')
    if iids and len(iids) > MAX_STATUS_IDS:
        raise invalid_value(f'The maximum number of instance IDs is {MAX_STATUS_IDS}; '
                            f'{len(iids)} were given')
    flt = Filters(args.get('Filters'), FILTERS)
    table = ctx.region.instances
    if iids:
        for iid in iids:
            common.check_id(iid, 'i')
        lost = [i for i in iids if i not in table or
                not common.instance_visible(table[i], ctx.account, ctx.now, ctx.region)]
        if len(lost) == 1:
            raise common.not_found('i', lost[0])
        if lost:
            raise ApiError('InvalidInstanceID.NotFound',
                           f"The instance IDs '{', '.join(lost)}' do not exist")
        candidates = sorted(set(iids))
    else:
        candidates = sorted(iid for iid in table
                            if common.instance_visible(table[iid], ctx.account, ctx.now,
                                                       ctx.region))
    everything = args.get('IncludeAllInstances', False)
    statuses = {}
    for iid in candidates:
        state = table[iid]['State']['Name']
        if not everything and state != 'running':
            continue
        if state == 'terminated' and not ctx.settings.status_lists_terminated:
            continue
        status = status_of(table[iid], ctx.now)
        if flt.match(status):
            statuses[iid] = status
    chunk, token = page(list(statuses), max_results, args.get('NextToken'), 5, 1000)
    return {'InstanceStatuses': [statuses[i] for i in chunk], 'NextToken': token}


# -- console output -----------------------------------------------------------

def _boot_log(rec, posted, login):
    host = rec.get('PrivateDnsName', 'ip-10-0-0-1.ec2.internal').split('.')[0]
    lines = [
        '[    0.000000] Linux version 6.1.112-122.189.amzn2023.x86_64 '
        '(mockbuild@ip-10-0-57-213) (gcc (GCC) 11.4.1 20230605) #1 SMP PREEMPT_DYNAMIC',
        '[    0.000000] Command line: BOOT_IMAGE=(hd0,gpt1)/boot/vmlinuz root=UUID='
        '4d9b5ad1-6c1c-4b8b-9f43-d8c0f7a9e2b1 ro console=tty0 console=ttyS0,115200n8',
        '[    0.512008] DMI: Amazon EC2 t3.micro/, BIOS 1.0 10/16/2017',
        '[    1.204511] nvme nvme0: 2/0/0 default/read/poll queues',
        '[    2.318804] EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode.',
        '[    3.011042] systemd[1]: systemd 252.23-2.amzn2023 running in system mode',
        f'[    3.120877] systemd[1]: Set hostname to <{host}>.',
        '[  OK  ] Started systemd-journald.service - Journal Service.',
        '[  OK  ] Reached target local-fs.target - Local File Systems.',
        '[  OK  ] Started cloud-init-local.service - Initial cloud-init job (pre-networking).',
        '[  OK  ] Reached target network-online.target - Network is Online.',
        f'cloud-init[1587]: Cloud-init v. 22.2.2 running \'modules:final\' at '
        f'{iso_ms(posted)}. Up 9.12 seconds.',
    ]
    if login:
        lines += [
            '[  OK  ] Started sshd.service - OpenSSH server daemon.',
            '[  OK  ] Reached target multi-user.target - Multi-User System.',
            '',
            'Amazon Linux 2023.6.20241010',
            'Kernel 6.1.112-122.189.amzn2023.x86_64 on an x86_64 (-)',
            '',
            f'{host} login: ']
    else:
        lines += ['[   95.408213] systemd[1]: Timed out waiting for device '
                  'dev-nvme1n1.device - /dev/nvme1n1.',
                  '[DEPEND] Dependency failed for mnt-data.mount - /mnt/data.',
                  'You are in emergency mode. After logging in, type "journalctl -xb"']
    return '\n'.join(lines)


def console_of(rec, now, latest):
    """(text or None, timestamp epoch) of an instance's console output. Without
    Latest, the buffered output posted console_post_seconds after the instance runs:
    with the fault console_posted "early", what the boot had printed by then stops
    before its last lines (the login prompt; a console_text's last line), until the
    next post, at a stop or termination, which holds it all."""
    boot = rec.get('_boot')
    if boot is None:        # seeded instances booted long ago
        launched = parse_iso(rec['LaunchTime'])
        return _boot_log(rec, launched, True), launched
    posted = boot['running_at'] + (0 if latest else boot['post_seconds'])
    if boot['running_at'] >= NEVER or now < posted or boot['console'] == 'none':
        return None, now
    text = boot.get('console_text')
    if text is None:
        text = _boot_log(rec, posted, boot['console'] == 'login')
    early = boot.get('console_posted') == 'early' and not latest and \
        rec['State']['Name'] in ('pending', 'running')
    if early:
        text = '\n'.join(text.split('\n')[:_EARLY_LINES if boot.get('console_text') is None
                                         else -1])
    return text, posted


_EARLY_LINES = 12       # _boot_log's lines before the login or emergency lines


def get_console_output(ctx, args):
    rec = common.find_instance(ctx, args['InstanceId'])
    latest = bool(args.get('Latest'))
    if latest and rec['InstanceType'].split('.')[0] in XEN_FAMILIES:
        raise ApiError('UnsupportedOperation',
                       f"The instance type {rec['InstanceType']} does not support "
                       'retrieving the latest console output.')
    text, stamp = console_of(rec, ctx.now, latest)
    out = {'InstanceId': rec['InstanceId'], 'Timestamp': iso_ms(stamp)}
    if text:
        data = text.encode()[-CONSOLE_LIMIT:]
        out['Output'] = base64.b64encode(data).decode()
    return out


ACTIONS = {
    'DescribeInstanceStatus': describe_instance_status,
    'GetConsoleOutput': get_console_output,
}
