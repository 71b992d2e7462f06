"""Run Command's faults, set by POST /_sim/run-command per instance or for all, and the
request faults of /_sim/faults on the Run Command actions; proven with awscli."""
import pytest

from test_run_command import failure, instance, invocation, send


@pytest.fixture
def clock(sim):
    sim.admin('POST', '/_sim/clock', {'freeze': True})
    return sim


def test_agent_offline_for_all_refuses_every_instance_until_cleared(sim):
    a, b = instance(sim), instance(sim)
    sim.admin('POST', '/_sim/run-command', {'agent': 'offline'})
    assert 'InvalidInstanceId' in failure(send, sim, a)
    assert 'InvalidInstanceId' in failure(send, sim, b)
    # One instance's own setting wins over the one for all.
    sim.admin('POST', '/_sim/run-command', {'instance': b, 'agent': 'online'})
    assert send(sim, b)['Status'] == 'Pending'
    sim.admin('POST', '/_sim/run-command', {'clear': True})
    assert send(sim, a)['Status'] == 'Pending'


def test_a_failing_command_is_failed_with_response_code_1_and_stderr(clock):
    sim = clock
    iid = instance(sim)
    sim.admin('POST', '/_sim/run-command', {'instance': iid, 'outcome': 'fail', 'stderr': 'fsfreeze: /data: busy'})
    cmd = send(sim, iid)
    sim.advance(2)
    inv = invocation(sim, cmd['CommandId'], iid)
    assert (inv['Status'], inv['StatusDetails'], inv['ResponseCode']) == ('Failed', 'Failed', 1)
    assert inv['StandardErrorContent'] == 'fsfreeze: /data: busy'
    listed = sim.aws('ssm', 'list-commands', '--command-id', cmd['CommandId'])['Commands'][0]
    assert (listed['Status'], listed['ErrorCount'], listed['CompletedCount']) == ('Failed', 1, 1)


def test_a_command_that_never_ends_times_out_at_its_execution_timeout(clock):
    sim = clock
    iid = instance(sim)
    sim.admin('POST', '/_sim/run-command', {'outcome': 'hang'})
    cmd = sim.aws('ssm', 'send-command', '--instance-ids', iid, '--document-name', 'AWS-RunShellScript',
                  '--parameters', '{"commands":["sleep 1000"],"executionTimeout":["120"]}')['Command']
    sim.advance(100)
    assert invocation(sim, cmd['CommandId'], iid)['Status'] == 'InProgress'
    sim.advance(30)
    inv = invocation(sim, cmd['CommandId'], iid)
    assert (inv['Status'], inv['StatusDetails']) == ('TimedOut', 'Execution Timed Out')
    stuck = send(sim, iid)                          # without executionTimeout: its default, 3600 s
    sim.advance(3500)
    assert invocation(sim, stuck['CommandId'], iid)['Status'] == 'InProgress'
    sim.advance(200)
    assert invocation(sim, stuck['CommandId'], iid)['StatusDetails'] == 'Execution Timed Out'
    assert len(sim.aws('ssm', 'list-commands', '--filters', 'key=Status,value=ExecutionTimedOut')['Commands']) == 2


def test_an_agent_that_goes_offline_before_delivery_times_out_the_delivery(clock):
    sim = clock
    iid = instance(sim)
    # "If the agent doesn't receive the command before the sum of Timeout (seconds) and
    # Execution timeout has passed, the status changes to Delivery Timed Out."
    cmd = sim.aws('ssm', 'send-command', '--instance-ids', iid, '--document-name', 'AWS-RunShellScript',
                  '--timeout-seconds', '60',
                  '--parameters', '{"commands":["true"],"executionTimeout":["30"]}')['Command']
    sim.admin('POST', '/_sim/run-command', {'instance': iid, 'agent': 'offline'})
    sim.advance(85)
    assert invocation(sim, cmd['CommandId'], iid)['Status'] == 'Pending'
    sim.advance(10)
    inv = invocation(sim, cmd['CommandId'], iid)
    assert (inv['Status'], inv['StatusDetails'], inv['ResponseCode']) == ('TimedOut', 'Delivery Timed Out', -1)
    listed = sim.aws('ssm', 'list-commands', '--filters', 'key=Status,value=DeliveryTimedOut')['Commands']
    assert [c['CommandId'] for c in listed] == [cmd['CommandId']]
    assert listed[0]['DeliveryTimedOutCount'] == 1


def test_an_agent_back_online_in_time_delivers_the_waiting_command(clock):
    sim = clock
    iid = instance(sim)
    cmd = send(sim, iid, '--timeout-seconds', '60')
    sim.admin('POST', '/_sim/run-command', {'instance': iid, 'agent': 'offline'})
    sim.advance(30)
    sim.admin('POST', '/_sim/run-command', {'instance': iid, 'agent': 'online'})
    sim.advance(0.1)
    assert invocation(sim, cmd['CommandId'], iid)['Status'] == 'InProgress'
    sim.advance(2)
    assert invocation(sim, cmd['CommandId'], iid)['Status'] == 'Success'


def test_a_terminated_instance_makes_a_waiting_command_undeliverable(clock):
    sim = clock
    iid = instance(sim)
    cmd = send(sim, iid)
    sim.aws('ec2', 'terminate-instances', '--instance-ids', iid)
    sim.advance(1)
    inv = invocation(sim, cmd['CommandId'], iid)
    assert (inv['Status'], inv['StatusDetails']) == ('Failed', 'Undeliverable')


def test_invocation_does_not_exist_for_the_first_n_reads(clock):
    sim = clock
    iid = instance(sim)
    sim.admin('POST', '/_sim/run-command', {'instance': iid, 'invisible_gets': 2})
    cmd = send(sim, iid)
    assert 'InvocationDoesNotExist' in failure(invocation, sim, cmd['CommandId'], iid)
    assert 'InvocationDoesNotExist' in failure(invocation, sim, cmd['CommandId'], iid)
    assert invocation(sim, cmd['CommandId'], iid)['Status'] == 'Pending'
    codes = [c['error_code'] for c in sim.calls(action='GetCommandInvocation')]
    assert codes == ['InvocationDoesNotExist', 'InvocationDoesNotExist', None]


def test_request_faults_apply_to_the_run_command_actions(sim):
    iid = instance(sim)
    sim.fault(kind='throttle', action='SendCommand', count=1)
    assert 'ThrottlingException' in failure(send, sim, iid)
    cmd = send(sim, iid)
    sim.fault(kind='error', action='GetCommandInvocation', code='InternalServerError', status=500, count=1)
    assert 'InternalServerError' in failure(invocation, sim, cmd['CommandId'], iid)
    assert invocation(sim, cmd['CommandId'], iid)['CommandId'] == cmd['CommandId']
    sim.fault(kind='throttle', action='ListCommands', count=1)
    assert 'ThrottlingException' in failure(sim.aws, 'ssm', 'list-commands')
    assert len(sim.aws('ssm', 'list-commands')['Commands']) == 1
    faulted = [c for c in sim.calls(service='ssm') if c['fault']]
    assert [(c['action'], c['error_code']) for c in faulted] == [
        ('SendCommand', 'ThrottlingException'), ('GetCommandInvocation', 'InternalServerError'),
        ('ListCommands', 'ThrottlingException')]


def test_bad_settings_are_refused(sim):
    sim.admin('POST', '/_sim/run-command', {'agent': 'asleep'}, expect=400)
    sim.admin('POST', '/_sim/run-command', {'outcome': 'maybe'}, expect=400)
    sim.admin('POST', '/_sim/run-command', {'colour': 'red'}, expect=400)
