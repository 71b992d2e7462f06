"""What Run Command does on an instance: its agent, each invocation's life, and the
instance's file systems under fsfreeze.

An instance's agent is online unless an admin says otherwise (POST /_sim/run-command).
Faults are set per instance or for all ("*") in region.ssm_agents and are read when a
command is sent, so each invocation carries the outcome it was sent with:

  outcome "success" (default), "fail" (Failed, ResponseCode 1, stderr) or "hang"
                 (InProgress until its executionTimeout, then TimedOut / Execution Timed Out)
  agent          "online" or "offline": offline refuses SendCommand (InvalidInstanceId),
                 and an invocation not yet delivered when it goes offline stays Pending
                 until TimeoutSeconds and executionTimeout have passed, then TimedOut /
                 Delivery Timed Out ("If the agent doesn't receive the command before the
                 sum of Timeout (seconds) and Execution timeout has passed": the user
                 guide's "Understanding command statuses")
  invisible_gets GetCommandInvocation answers InvocationDoesNotExist that many times
  run_seconds    how long an invocation takes (a quarter Pending, the rest InProgress)
  stdout, stderr what the script prints (default: what the model below says)

Transitions are computed lazily, on every Run Command request, admin view and
CreateImage (settle), in the order of their times.

The freeze model: a Success of a script that runs `fsfreeze -f` (or --freeze) freezes
the instance from the moment it ended, until a Success of a script that runs
`fsfreeze -u` (or --unfreeze) and not -f (a freeze script also holds the -u of its
watchdog), or until the freeze's deadline: FREEZE_TIMEOUT=<seconds> in the freeze
script (the watchdog it starts), else the freeze_watchdog setting (default 300 s).
The freeze script prints one line per frozen mount point: here one per data volume
(/mnt/sdf, ...). Every freeze, thaw and watchdog thaw goes into the instance's history.
"""
import re

from .clock import iso_ms

_FREEZE_RE = re.compile(r'\bfsfreeze\s+(-f|--freeze)\b')
_THAW_RE = re.compile(r'\bfsfreeze\s+(-u|--unfreeze)\b')
_TIMEOUT_RE = re.compile(r'\bFREEZE_TIMEOUT=["\']?(\d+)')
DEFAULTS = {'agent': 'online', 'outcome': 'success', 'invisible_gets': 0, 'run_seconds': 1.0,
            'stdout': None, 'stderr': None, 'freeze_watchdog': 300.0}
OUTCOMES = ('success', 'fail', 'hang')
HISTORY_SECONDS = 30 * 86400
FAILED_STDERR = 'ec2sim: the script failed (injected fault)'


def config(region, iid):
    """The settings that apply to iid: its own over the ones for all over the defaults."""
    out = dict(DEFAULTS)
    out.update(region.ssm_agents.get('*', {}))
    out.update(region.ssm_agents.get(iid, {}))
    return out


def agent_online(region, iid):
    return config(region, iid)['agent'] == 'online'


def node(region, iid):
    """The instance's file-system state and history."""
    return region.ssm_nodes.setdefault(iid, {'frozen': False, 'frozen_at': None, 'deadline': None,
                                             'freeze_command': None, 'history': []})


def mount_points(region, iid):
    rec = region.instances.get(iid)
    if rec is None:
        return []
    return ['/mnt/' + m['DeviceName'].rsplit('/', 1)[-1] for m in rec['BlockDeviceMappings']
            if m['DeviceName'] != rec['RootDeviceName']]


def kind_of(script):
    if _FREEZE_RE.search(script):
        return 'freeze'
    if _THAW_RE.search(script):
        return 'thaw'
    return 'other'


def new_invocation(region, iid, now, script):
    cfg = config(region, iid)
    run = float(cfg['run_seconds'])
    return {'Status': 'Pending', 'StatusDetails': 'Pending', 'ResponseCode': -1,
            'stdout': '', 'stderr': '', 'started': None, 'ended': None,
            'script': script, 'kind': kind_of(script), 'outcome': cfg['outcome'],
            'deliver_due': now + run / 4, 'run': run * 3 / 4,
            'invisible_gets': int(cfg['invisible_gets']),
            'out': cfg['stdout'], 'err': cfg['stderr']}


def _next_event(region, rec, iid, inv):
    """(time, what) of the invocation's next transition, or None."""
    status = inv['Status']
    if status == 'Pending':
        instance = region.instances.get(iid)
        if instance is None or instance['State']['Name'] in ('shutting-down', 'terminated'):
            return inv['deliver_due'], 'undeliverable'
        timeout_at = rec['RequestedDateTime'] + rec['TimeoutSeconds'] + rec['ExecutionTimeout']
        if agent_online(region, iid) and inv['deliver_due'] < timeout_at:
            return inv['deliver_due'], 'deliver'
        return timeout_at, 'delivery_timeout'
    if status == 'InProgress':
        if inv['outcome'] == 'hang':
            return inv['started'] + rec['ExecutionTimeout'], 'execution_timeout'
        return inv['started'] + inv['run'], 'finish'
    return None


def _apply(region, rec, iid, inv, when, what):
    if what == 'deliver':
        inv.update(Status='InProgress', StatusDetails='In Progress', started=when)
    elif what == 'undeliverable':
        inv.update(Status='Failed', StatusDetails='Undeliverable', ended=when)
    elif what == 'delivery_timeout':
        inv.update(Status='TimedOut', StatusDetails='Delivery Timed Out', ended=when)
    elif what == 'execution_timeout':
        inv.update(Status='TimedOut', StatusDetails='Execution Timed Out', ended=when)
    elif inv['outcome'] == 'fail':
        inv.update(Status='Failed', StatusDetails='Failed', ResponseCode=1, ended=when,
                   stdout=inv['out'] or '', stderr=inv['err'] or FAILED_STDERR)
    else:
        inv.update(Status='Success', StatusDetails='Success', ResponseCode=0, ended=when,
                   stdout=inv['out'] if inv['out'] is not None else _output(region, iid, inv),
                   stderr=inv['err'] or '')
        _file_systems(region, rec, iid, inv, when)


def _output(region, iid, inv):
    if inv['kind'] == 'freeze':
        return ''.join(m + '\n' for m in mount_points(region, iid))
    return ''


def _file_systems(region, rec, iid, inv, when):
    state = node(region, iid)
    if inv['kind'] == 'freeze':
        m = _TIMEOUT_RE.search(inv['script'])
        watchdog = int(m.group(1)) if m else float(config(region, iid)['freeze_watchdog'])
        if not state['frozen']:
            state.update(frozen=True, frozen_at=when, freeze_command=rec['CommandId'])
        state['deadline'] = when + watchdog
        state['history'].append({'event': 'freeze', 'time': when, 'command_id': rec['CommandId'],
                                 'deadline': state['deadline']})
    elif inv['kind'] == 'thaw':
        state['history'].append({'event': 'thaw', 'time': when, 'command_id': rec['CommandId'],
                                 'was_frozen': state['frozen']})
        state.update(frozen=False, deadline=None, freeze_command=None)


def _watchdogs(region, until):
    """The freezes whose deadline passed before until: their watchdog thawed them."""
    for state in region.ssm_nodes.values():
        if state['frozen'] and state['deadline'] <= until:
            state['history'].append({'event': 'watchdog', 'time': state['deadline'],
                                     'command_id': state['freeze_command'], 'was_frozen': True})
            state.update(frozen=False, deadline=None, freeze_command=None)


def settle(region, now):
    """Every transition due by now, in the order of their times; history past 30 days
    is dropped ("Run Command stores the command history for 30 days")."""
    for cid in [c for c, rec in region.ssm_commands.items() if rec['RequestedDateTime'] < now - HISTORY_SECONDS]:
        del region.ssm_commands[cid]
    while True:
        due = []
        for rec in region.ssm_commands.values():
            for iid, inv in rec['invocations'].items():
                event = _next_event(region, rec, iid, inv)
                if event is not None and event[0] <= now:
                    due.append((event[0], event[1], rec, iid, inv))
        if not due:
            break
        when, what, rec, iid, inv = min(due, key=lambda d: d[0])
        _watchdogs(region, when)
        _apply(region, rec, iid, inv, when, what)
    _watchdogs(region, now)


def frozen(region, iid, now):
    """Whether iid's file systems are frozen at now (CreateImage records it)."""
    settle(region, now)
    return node(region, iid)['frozen'] if iid in region.ssm_nodes else False


def set_agent(region, iid, now, changes):
    """Changes the settings of iid ("*": all) after the transitions due until now; an agent
    back online delivers what waits for it from now on."""
    for name, value in changes.items():
        if name not in DEFAULTS:
            raise ValueError(f'unknown run-command setting {name!r}; one of {", ".join(DEFAULTS)}')
        if name == 'agent' and value not in ('online', 'offline'):
            raise ValueError("agent is 'online' or 'offline'")
        if name == 'outcome' and value not in OUTCOMES:
            raise ValueError(f'outcome is one of {", ".join(OUTCOMES)}')
    settle(region, now)
    region.ssm_agents.setdefault(iid, {}).update(changes)
    for rec in region.ssm_commands.values():
        for inv_iid, inv in rec['invocations'].items():
            if inv['Status'] == 'Pending' and (iid == '*' or inv_iid == iid) and agent_online(region, inv_iid):
                inv['deliver_due'] = max(inv['deliver_due'], now)


def view(region, now, iid=None):
    """The admin's view: per instance its agent, freeze state, history and commands."""
    settle(region, now)
    iids = [iid] if iid else sorted(set(region.ssm_nodes) | {i for rec in region.ssm_commands.values()
                                                             for i in rec['invocations']})
    out = []
    for one in iids:
        state = node(region, one)
        commands = [{'CommandId': rec['CommandId'], 'Comment': rec['Comment'],
                     'DocumentName': rec['DocumentName'], 'RequestedDateTime': iso_ms(rec['RequestedDateTime']),
                     'Status': inv['Status'], 'StatusDetails': inv['StatusDetails'],
                     'ResponseCode': inv['ResponseCode'], 'kind': inv['kind'], 'script': inv['script']}
                    for rec in sorted(region.ssm_commands.values(), key=lambda r: r['RequestedDateTime'])
                    for i, inv in rec['invocations'].items() if i == one]
        out.append({'InstanceId': one, 'agent': config(region, one)['agent'],
                    'frozen': state['frozen'],
                    'frozen_at': iso_ms(state['frozen_at']) if state['frozen'] else None,
                    'deadline': iso_ms(state['deadline']) if state['frozen'] else None,
                    'history': [dict(h, time=iso_ms(h['time']),
                                     **({'deadline': iso_ms(h['deadline'])} if 'deadline' in h else {}))
                                for h in state['history']],
                    'commands': commands})
    return out
