"""SSM Run Command, proven with awscli (a real client): SendCommand, GetCommandInvocation
and ListCommands as the SSM API reference describes them, on ec2sim's own instances,
in simulated time (the clock is frozen and moved by the tests)."""
import json

import pytest

from conftest import OTHER_KEY, AwsFailed
from test_ssm import raw_json

SCRIPT = 'echo hello'


def instance(sim, **spec):
    return sim.seed(instances=[spec])['instances'][0]


def send(sim, iid, *extra, script=SCRIPT, document='AWS-RunShellScript', **kw):
    params = '{"commands":[%s]}' % ('"' + script.replace('"', '\\"') + '"')
    return sim.aws('ssm', 'send-command', '--instance-ids', iid, '--document-name', document,
                   '--parameters', params, *extra, **kw)['Command']


def invocation(sim, command_id, iid, **kw):
    return sim.aws('ssm', 'get-command-invocation', '--command-id', command_id, '--instance-id', iid, **kw)


def failure(fn, *args, **kw):
    with pytest.raises(AwsFailed) as e:
        fn(*args, **kw)
    return e.value.stderr


@pytest.fixture
def frozen_clock(sim):
    sim.admin('POST', '/_sim/clock', {'freeze': True})
    return sim


def test_a_command_goes_pending_in_progress_success_in_simulated_time(frozen_clock):
    sim = frozen_clock
    iid = instance(sim)
    cmd = send(sim, iid, '--comment', 'amirotd freeze web 2026-12-01T03:00Z', '--timeout-seconds', '600')
    assert len(cmd['CommandId']) == 36
    assert (cmd['Status'], cmd['InstanceIds'], cmd['DocumentName']) == ('Pending', [iid], 'AWS-RunShellScript')
    assert cmd['Comment'] == 'amirotd freeze web 2026-12-01T03:00Z' and cmd['TimeoutSeconds'] == 600
    assert cmd['Parameters'] == {'commands': [SCRIPT]}

    inv = invocation(sim, cmd['CommandId'], iid)
    assert (inv['Status'], inv['ResponseCode'], inv['StandardOutputContent']) == ('Pending', -1, '')
    sim.advance(0.5)
    inv = invocation(sim, cmd['CommandId'], iid)
    assert (inv['Status'], inv['StatusDetails']) == ('InProgress', 'In Progress')
    assert inv['ExecutionStartDateTime'] and inv['ExecutionEndDateTime'] == ''
    sim.advance(1)
    inv = invocation(sim, cmd['CommandId'], iid)
    assert (inv['Status'], inv['StatusDetails'], inv['ResponseCode']) == ('Success', 'Success', 0)
    assert inv['PluginName'] == 'aws:runShellScript' and inv['ExecutionEndDateTime']
    assert inv['Comment'] == 'amirotd freeze web 2026-12-01T03:00Z'


def test_send_command_refuses_an_instance_that_is_not_running_or_whose_agent_is_offline(sim):
    stopped = instance(sim, state='stopped')
    assert 'InvalidInstanceId' in failure(send, sim, stopped)
    online, offline = instance(sim), instance(sim)
    sim.admin('POST', '/_sim/run-command', {'instance': offline, 'agent': 'offline'})
    err = failure(send, sim, offline)
    assert 'InvalidInstanceId' in err and offline in err
    assert send(sim, online)['Status'] == 'Pending'
    assert 'InvalidInstanceId' in failure(send, sim, 'i-0000000000000dead')
    # Another account's instance is not the caller's managed node.
    assert 'InvalidInstanceId' in failure(send, sim, online, key=OTHER_KEY)


def test_send_command_checks_document_parameters_and_limits(sim):
    iid = instance(sim)
    assert 'InvalidDocument' in failure(send, sim, iid, document='AWS-NoSuchDocument')
    assert 'UnsupportedPlatformType' in failure(send, sim, iid, document='AWS-RunPowerShellScript')
    assert 'InvalidParameters' in failure(
        sim.aws, 'ssm', 'send-command', '--instance-ids', iid, '--document-name', 'AWS-RunShellScript',
        '--parameters', '{"commands":["true"],"bogus":["1"]}')
    assert 'InvalidParameters' in failure(
        sim.aws, 'ssm', 'send-command', '--instance-ids', iid, '--document-name', 'AWS-RunShellScript',
        '--parameters', '{"commands":["true"],"executionTimeout":["172801"]}')
    assert 'InvalidParameters' in failure(
        sim.aws, 'ssm', 'send-command', '--instance-ids', iid, '--document-name', 'AWS-RunShellScript',
        '--parameters', '{"workingDirectory":["/"]}')
    assert 'DuplicateInstanceId' in failure(
        sim.aws, 'ssm', 'send-command', '--instance-ids', iid, iid, '--document-name', 'AWS-RunShellScript',
        '--parameters', '{"commands":["true"]}')
    assert 'MaxDocumentSizeExceeded' in failure(send, sim, iid, script='x' * (64 * 1024))
    # Comment: "Maximum length of 100"; TimeoutSeconds 30..2592000: awscli checks them
    # before sending, so raw requests prove ec2sim's own checks.
    body = {'InstanceIds': [iid], 'DocumentName': 'AWS-RunShellScript',
            'Parameters': {'commands': ['true']}}
    status, doc, _ = raw_json(sim, 'AmazonSSM.SendCommand', json.dumps(dict(body, Comment='c' * 101)))
    assert (status, doc['__type']) == (400, 'ValidationException')
    status, doc, _ = raw_json(sim, 'AmazonSSM.SendCommand', json.dumps(dict(body, TimeoutSeconds=29)))
    assert (status, doc['__type']) == (400, 'ValidationException')
    status, doc, _ = raw_json(sim, 'AmazonSSM.SendCommand', json.dumps({'Targets': [{'Key': 'tag:Role', 'Values': ['web']}], 'DocumentName': 'AWS-RunShellScript', 'Parameters': {'commands': ['true']}}))
    assert (status, doc['__type']) == (400, 'ValidationException')
    send(sim, iid, '--comment', 'c' * 100, '--timeout-seconds', '30')


def test_execution_timeout_parameter_is_kept(frozen_clock):
    sim = frozen_clock
    iid = instance(sim)
    cmd = sim.aws('ssm', 'send-command', '--instance-ids', iid, '--document-name', 'AWS-RunShellScript',
                  '--parameters', '{"commands":["sync"],"executionTimeout":["120"]}')['Command']
    assert cmd['Parameters'] == {'commands': ['sync'], 'executionTimeout': ['120']}


def test_get_command_invocation_of_an_unknown_pair_is_invocation_does_not_exist(sim):
    iid, other = instance(sim), instance(sim)
    cmd = send(sim, iid)
    assert 'InvocationDoesNotExist' in failure(invocation, sim, cmd['CommandId'], other)
    assert 'InvocationDoesNotExist' in failure(invocation, sim, '00000000-0000-0000-0000-000000000000', iid)
    assert 'InvocationDoesNotExist' in failure(invocation, sim, cmd['CommandId'], iid, key=OTHER_KEY)


def test_output_is_capped_at_24000_characters(frozen_clock):
    sim = frozen_clock
    iid = instance(sim)
    sim.admin('POST', '/_sim/run-command', {'instance': iid, 'stdout': 'y' * 30000})
    cmd = send(sim, iid)
    sim.advance(2)
    inv = invocation(sim, cmd['CommandId'], iid)
    assert inv['Status'] == 'Success' and len(inv['StandardOutputContent']) == 24000


def test_list_commands_filters_and_pages(frozen_clock):
    sim = frozen_clock
    a, b = instance(sim), instance(sim)
    first = send(sim, a, '--comment', 'first')
    sim.advance(3600)
    middle = sim.admin('GET', '/_sim/clock')['now']
    sent = [send(sim, b, '--comment', f'later {n}') for n in range(4)]
    pending = sent[-1]
    sim.advance(0.1)

    everything = sim.aws('ssm', 'list-commands')['Commands']
    assert [c['CommandId'] for c in everything][-1] == first['CommandId']     # newest first
    assert len(everything) == 5
    assert [c['CommandId'] for c in sim.aws('ssm', 'list-commands', '--instance-id', a)['Commands']] \
        == [first['CommandId']]
    assert [c['CommandId'] for c in sim.aws('ssm', 'list-commands', '--command-id', pending['CommandId'])
            ['Commands']] == [pending['CommandId']]
    after = sim.aws('ssm', 'list-commands', '--filters', f'key=InvokedAfter,value={middle}')['Commands']
    assert {c['CommandId'] for c in after} == {c['CommandId'] for c in sent}
    before = sim.aws('ssm', 'list-commands', '--filters', f'key=InvokedBefore,value={middle}')['Commands']
    assert [c['CommandId'] for c in before] == [first['CommandId']]
    done = sim.aws('ssm', 'list-commands', '--filters', 'key=Status,value=Success')['Commands']
    assert [c['CommandId'] for c in done] == [first['CommandId']]
    executing = sim.aws('ssm', 'list-commands', '--filters', 'key=ExecutionStage,value=Executing')['Commands']
    assert len(executing) == 4
    assert sim.aws('ssm', 'list-commands', '--filters',
                   'key=DocumentName,value=AWS-RunPowerShellScript')['Commands'] == []
    assert len(sim.aws('ssm', 'list-commands', '--filters', 'key=DocumentName,value=AWS-RunShellScript',
                       f'key=InvokedAfter,value={middle}')['Commands']) == 4

    # Paging by hand: MaxResults 2 gives three pages with NextToken; awscli's own paging
    # (--page-size) follows the tokens to the end.
    page = sim.aws('ssm', 'list-commands', '--max-results', '2', '--no-paginate')
    seen = [c['CommandId'] for c in page['Commands']]
    while 'NextToken' in page:
        page = sim.aws('ssm', 'list-commands', '--max-results', '2', '--no-paginate',
                       '--next-token', page['NextToken'])
        seen += [c['CommandId'] for c in page['Commands']]
    assert seen == [c['CommandId'] for c in everything]
    assert [c['CommandId'] for c in sim.aws('ssm', 'list-commands', '--page-size', '2')['Commands']] == seen
    assert 'InvalidNextToken' in failure(sim.aws, 'ssm', 'list-commands', '--next-token', 'bogus')
    status, doc, _ = raw_json(sim, 'AmazonSSM.ListCommands', '{"MaxResults": 51}')
    assert (status, doc['__type']) == (400, 'ValidationException')
    status, doc, _ = raw_json(sim, 'AmazonSSM.ListCommands', '{"Filters": [{"key": "Bogus", "value": "x"}]}')
    assert (status, doc['__type']) == (400, 'InvalidFilterKey')


def test_commands_older_than_30_days_are_gone(frozen_clock):
    sim = frozen_clock
    iid = instance(sim)
    send(sim, iid)
    sim.advance(29 * 86400)
    assert len(sim.aws('ssm', 'list-commands')['Commands']) == 1
    sim.advance(2 * 86400)
    assert sim.aws('ssm', 'list-commands')['Commands'] == []


def test_commands_are_per_account_and_region(sim):
    iid = instance(sim)
    send(sim, iid)
    assert len(sim.aws('ssm', 'list-commands')['Commands']) == 1
    assert sim.aws('ssm', 'list-commands', key=OTHER_KEY)['Commands'] == []
    assert sim.aws('ssm', 'list-commands', region='us-west-2')['Commands'] == []


def test_commands_persist_as_the_rest_of_the_state(sim, tmp_path):
    iid = instance(sim)
    cmd = send(sim, iid, '--comment', 'kept')
    sim.admin('POST', '/_sim/run-command', {'instance': iid, 'outcome': 'fail'})
    path = str(tmp_path / 'saved.json')
    sim.admin('POST', '/_sim/state/save', {'path': path})
    sim.admin('POST', '/_sim/reset')
    assert sim.aws('ssm', 'list-commands')['Commands'] == []
    sim.admin('POST', '/_sim/state/load', {'path': path})
    assert [c['Comment'] for c in sim.aws('ssm', 'list-commands')['Commands']] == ['kept']
    sim.advance(2)
    assert invocation(sim, cmd['CommandId'], iid)['Status'] == 'Success'
    assert sim.admin('GET', '/_sim/run-command?instance=' + iid)['instances'][0]['commands'][0]['Comment'] == 'kept'
    # The fault set before the save is still in place for the next command.
    second = send(sim, iid)
    sim.advance(2)
    assert invocation(sim, second['CommandId'], iid)['Status'] == 'Failed'


def test_a_seeded_windows_instance_takes_powershell_and_refuses_shell_scripts(frozen_clock):
    sim = frozen_clock
    iid = instance(sim, platform='windows')

    assert 'UnsupportedPlatformType' in failure(send, sim, iid)
    cmd = send(sim, iid, script='Write-Output hello', document='AWS-RunPowerShellScript')
    sim.advance(2)
    inv = invocation(sim, cmd['CommandId'], iid)
    assert (inv['Status'], inv['PluginName'], inv['DocumentName']) == \
        ('Success', 'aws:runPowerShellScript', 'AWS-RunPowerShellScript')
