"""Where EC2 is less kind to a test instance than a plain launch: an instance not
yet visible after RunInstances (eventual consistency), launches that EC2 ends with
a state reason, the transitional states, the buffered console, and a terminated
instance left out of DescribeInstanceStatus (boot.py, launch.py, common.py).

The clock is frozen in each test, so that the boot moves only when a test moves it.
"""
import pytest
from botocore.exceptions import ClientError

from conftest import AwsFailed

DELAY = 30


@pytest.fixture
def frozen(sim):
    sim.admin('POST', '/_sim/clock', {'freeze': True})
    return sim


def seed_image(sim, name='verify-edges'):
    return sim.seed(images=[{'name': name}])['images'][0]


def code_of(error):
    return error.value.response['Error']['Code']


def run(ec2, image, instance_type='t3.micro', **kw):
    return ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                             InstanceType=instance_type, **kw)['Instances'][0]


def describe(ec2, iid):
    return ec2.describe_instances(InstanceIds=[iid])['Reservations'][0]['Instances'][0]


# -- eventual consistency after RunInstances --------------------------------------

def test_launched_instance_is_not_found_by_id_for_the_delay(frozen):
    sim = frozen
    sim.admin('POST', '/_sim/settings', {'instance_consistency_delay': DELAY})
    ec2 = sim.client()
    image = seed_image(sim)
    token = 'amirotd-verify-' + image
    iid = run(ec2, image, ClientToken=token)['InstanceId']
    for action, params in [
            ('DescribeInstances', {'InstanceId.1': iid}),
            ('DescribeInstanceStatus', {'InstanceId.1': iid, 'IncludeAllInstances': 'true'}),
            ('GetConsoleOutput', {'InstanceId': iid, 'Latest': 'true'}),
            ('TerminateInstances', {'InstanceId.1': iid}),
            ('CreateTags', {'ResourceId.1': iid, 'Tag.1.Key': 'k'})]:
        assert sim.call(action, params).code == 'InvalidInstanceID.NotFound', action
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'describe-instance-status', '--instance-ids', iid,
                '--include-all-instances')
    assert 'InvalidInstanceID.NotFound' in failed.value.stderr
    listed = ec2.describe_instance_status(IncludeAllInstances=True)['InstanceStatuses']
    assert iid not in [s['InstanceId'] for s in listed]
    assert ec2.describe_instances(Filters=[{'Name': 'image-id', 'Values': [image]}]) \
        ['Reservations'] == []
    # The ClientToken repeat answers the instance it launched: it is there.
    assert run(ec2, image, ClientToken=token)['InstanceId'] == iid
    # A refused TerminateInstances terminated nothing: the instance lives on.
    assert sim.admin('GET', '/_sim/boot')['images'][image]['alive'] == [iid]
    sim.advance(DELAY)
    assert describe(ec2, iid)['State']['Name'] == 'running'
    [status] = ec2.describe_instance_status(InstanceIds=[iid], IncludeAllInstances=True) \
        ['InstanceStatuses']
    assert status['InstanceId'] == iid
    ec2.terminate_instances(InstanceIds=[iid])
    assert sim.admin('GET', '/_sim/boot')['images'][image]['alive'] == []


def test_without_an_instance_delay_a_launched_instance_is_seen_at_once(frozen):
    sim = frozen
    # The integration tests' consistency_delay hides images, not the instances they
    # launch to image (their instance_consistency_delay stays 0).
    sim.admin('POST', '/_sim/settings', {'consistency_delay': DELAY})
    ec2 = sim.client()
    iid = run(ec2, seed_image(sim))['InstanceId']
    assert describe(ec2, iid)['InstanceId'] == iid


# -- launches EC2 ends, with their state reason; the transitional states ----------

REASONS = {
    'Server.InternalError': 'Server.InternalError: Internal error on launch',
    'Server.InsufficientInstanceCapacity':
        'Server.InsufficientInstanceCapacity: Insufficient capacity to satisfy launch request',
    'Client.InternalError': 'Client.InternalError: Client error on launch',
    'Client.UserInitiatedShutdown': 'Client.UserInitiatedShutdown: User initiated shutdown',
    'Client.InstanceInitiatedShutdown':
        'Client.InstanceInitiatedShutdown: Instance initiated shutdown',
}


@pytest.mark.parametrize('code', sorted(REASONS))
def test_launch_failure_terminates_a_pending_instance_with_its_reason(frozen, code):
    sim = frozen
    ec2 = sim.client()
    image = seed_image(sim)
    sim.admin('POST', '/_sim/settings', {'shutdown_seconds': 5})
    sim.admin('POST', '/_sim/boot', {'image': image, 'shutdown': 'terminate',
                                      'shutdown_when': 'pending', 'shutdown_reason': code,
                                      'shutdown_after_seconds': 2})
    iid = run(ec2, image)['InstanceId']
    sim.advance(1)
    assert describe(ec2, iid)['State']['Name'] == 'pending'
    sim.advance(1)
    shown = sim.aws('ec2', 'describe-instances', '--instance-ids', iid) \
        ['Reservations'][0]['Instances'][0]
    assert shown['State']['Name'] == 'shutting-down'
    assert shown['StateReason'] == {'Code': code, 'Message': REASONS[code]}
    [status] = ec2.describe_instance_status(InstanceIds=[iid], IncludeAllInstances=True) \
        ['InstanceStatuses']
    assert status['InstanceState']['Name'] == 'shutting-down'
    assert status['InstanceStatus'] == {'Status': 'not-applicable'}
    sim.advance(5)
    rec = describe(ec2, iid)
    assert rec['State']['Name'] == 'terminated'
    assert rec['StateReason']['Code'] == code
    assert 'Output' not in ec2.get_console_output(InstanceId=iid, Latest=True)
    view = sim.admin('GET', '/_sim/boot')['images'][image]
    assert view['alive'] == [] and view['volumes_left'] == []


@pytest.mark.parametrize('how,between,state', [('stop', 'stopping', 'stopped'),
                                               ('terminate', 'shutting-down', 'terminated')])
def test_self_shutdown_passes_through_the_transitional_state(frozen, how, between, state):
    sim = frozen
    ec2 = sim.client()
    image = seed_image(sim)
    sim.admin('POST', '/_sim/settings', {'shutdown_seconds': 3})
    sim.admin('POST', '/_sim/boot', {'image': image, 'shutdown': how,
                                      'shutdown_after_seconds': 4})
    iid = run(ec2, image)['InstanceId']
    sim.advance(4)
    rec = describe(ec2, iid)
    assert rec['State']['Name'] == between
    assert rec['StateReason']['Code'] == 'Client.InstanceInitiatedShutdown'
    sim.advance(2)
    assert describe(ec2, iid)['State']['Name'] == between
    sim.advance(1)
    assert describe(ec2, iid)['State']['Name'] == state


def test_self_shutdown_without_a_transition_time_is_done_at_the_next_read(frozen):
    sim = frozen
    ec2 = sim.client()
    image = seed_image(sim)
    sim.admin('POST', '/_sim/boot', {'image': image, 'shutdown': 'terminate',
                                      'shutdown_reason': 'Server.InternalError'})
    iid = run(ec2, image)['InstanceId']
    sim.advance(1)
    rec = describe(ec2, iid)
    assert rec['State']['Name'] == 'terminated'
    assert rec['StateReason']['Code'] == 'Server.InternalError'


@pytest.mark.parametrize('body', [{'shutdown_reason': 'Server.Bored'},
                                  {'shutdown_when': 'later'},
                                  {'shutdown': 'stop', 'shutdown_when': 'pending'}])
def test_boot_shutdown_settings_are_checked(frozen, body):
    sim = frozen
    image = seed_image(sim)
    sim.admin('POST', '/_sim/boot', dict(body, image=image), expect=400)


# -- GetConsoleOutput: the buffered post, and Latest on Xen types -------------------

def console(ec2, iid, **kw):
    """The decoded output (botocore decodes its base64, as awscli does), or None."""
    return ec2.get_console_output(InstanceId=iid, **kw).get('Output')


def test_buffered_output_posted_early_lacks_the_login_lines_latest_has_them(frozen):
    sim = frozen
    ec2 = sim.client()
    image = seed_image(sim)
    sim.admin('POST', '/_sim/boot', {'image': image, 'console_posted': 'early'})
    iid = run(ec2, image)['InstanceId']
    sim.advance(600)
    buffered = console(ec2, iid)
    assert 'Linux version' in buffered and 'cloud-init' in buffered
    assert 'login:' not in buffered and 'multi-user.target' not in buffered
    assert ' login: ' in console(ec2, iid, Latest=True)
    # The buffered output is posted again at termination ("start, stop, reboot, or
    # terminate"): by then the whole boot.
    ec2.terminate_instances(InstanceIds=[iid])
    assert ' login: ' in console(ec2, iid)


def test_by_default_the_buffered_post_holds_the_whole_boot(frozen):
    sim = frozen
    ec2 = sim.client()
    iid = run(ec2, seed_image(sim))['InstanceId']
    sim.advance(5)
    assert ' login: ' in console(ec2, iid)


@pytest.mark.parametrize('instance_type', ['t2.micro', 'm1.small', 'm4.large'])
def test_latest_is_refused_on_a_xen_type(frozen, instance_type):
    sim = frozen
    ec2 = sim.client()
    iid = run(ec2, seed_image(sim), instance_type=instance_type)['InstanceId']
    sim.advance(5)
    with pytest.raises(ClientError) as error:
        ec2.get_console_output(InstanceId=iid, Latest=True)
    assert code_of(error) == 'UnsupportedOperation'
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'get-console-output', '--instance-id', iid, '--latest')
    assert 'UnsupportedOperation' in failed.value.stderr
    assert ' login: ' in console(ec2, iid)
    shown = sim.aws('ec2', 'get-console-output', '--instance-id', iid)
    assert shown['InstanceId'] == iid and ' login: ' in shown['Output']


def test_latest_is_answered_on_a_nitro_type(frozen):
    sim = frozen
    ec2 = sim.client()
    iid = run(ec2, seed_image(sim), instance_type='m5.large')['InstanceId']
    shown = sim.aws('ec2', 'get-console-output', '--instance-id', iid, '--latest')
    assert ' login: ' in shown['Output']


# -- a terminated instance in DescribeInstanceStatus: listed, or left out ------------

@pytest.mark.parametrize('listed', [True, False])
def test_terminated_instance_listed_or_left_out_of_the_status(frozen, listed):
    sim = frozen
    ec2 = sim.client()
    if not listed:
        sim.admin('POST', '/_sim/settings', {'status_lists_terminated': False})
    image = seed_image(sim)
    iid = run(ec2, image)['InstanceId']
    other = run(ec2, image)['InstanceId']
    ec2.terminate_instances(InstanceIds=[iid])
    sim.advance(1)
    assert describe(ec2, iid)['State']['Name'] == 'terminated'
    shown = sim.aws('ec2', 'describe-instance-status', '--instance-ids', iid, other,
                    '--include-all-instances')['InstanceStatuses']
    assert [s['InstanceId'] for s in shown] == (sorted([iid, other]) if listed else [other])
    everything = ec2.describe_instance_status(IncludeAllInstances=True)['InstanceStatuses']
    assert (iid in [s['InstanceId'] for s in everything]) == listed
