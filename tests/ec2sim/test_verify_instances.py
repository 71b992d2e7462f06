"""What verify (issue 15) asks of ec2sim: RunInstances with a ClientToken, a subnet,
security groups, an instance profile and DeleteOnTermination overrides; an
instance's boot in simulator time; DescribeInstanceStatus and GetConsoleOutput; the
faults per image; the per-image launch accounting (boot.py, launch.py, network.py).

The clock is frozen in each test, so that the boot moves only when a test moves it.
"""
import base64
import subprocess

import pytest
from botocore.exceptions import ClientError

from conftest import AWS, KEY, AwsFailed
from ec2simlib.faults import bucket_for

TOKEN = 'amirotd-verify-ami-0123456789abcdef0'


@pytest.fixture
def frozen(sim):
    sim.admin('POST', '/_sim/clock', {'freeze': True})
    return sim


def seed_image(sim, snapshots=None, name='verify-base'):
    spec = {'name': name}
    if snapshots:
        spec['snapshots'] = snapshots
    return sim.seed(images=[spec])['images'][0]


def code_of(error):
    return error.value.response['Error']['Code']


def run(ec2, image, **kw):
    args = dict(ImageId=image, MinCount=1, MaxCount=1, InstanceType='t3.micro')
    args.update(kw)
    return ec2.run_instances(**args)['Instances'][0]


def boot_of(sim, image):
    return sim.admin('GET', '/_sim/boot')['images'].get(image, {})


def status(ec2, iid):
    out = ec2.describe_instance_status(InstanceIds=[iid], IncludeAllInstances=True)
    return out['InstanceStatuses'][0]


# -- RunInstances ---------------------------------------------------------------

def test_client_token_answers_the_same_instance_with_awscli(frozen):
    sim = frozen
    image = seed_image(sim)
    args = ('ec2', 'run-instances', '--image-id', image, '--instance-type', 't3.micro',
            '--count', '1', '--client-token', TOKEN)
    first = sim.aws(*args)['Instances'][0]
    again = sim.aws(*args)['Instances'][0]
    assert again['InstanceId'] == first['InstanceId']
    assert first['ClientToken'] == TOKEN
    desc = sim.aws('ec2', 'describe-instances', '--instance-ids', first['InstanceId'])
    shown = desc['Reservations'][0]['Instances'][0]
    assert shown['ClientToken'] == TOKEN and shown['LaunchTime']
    sim.aws('ec2', 'terminate-instances', '--instance-ids', first['InstanceId'])
    after = sim.aws(*args)['Instances'][0]
    assert after['InstanceId'] == first['InstanceId']
    assert after['State']['Name'] in ('shutting-down', 'terminated')
    assert boot_of(sim, image)['launched'] == [first['InstanceId']]
    assert boot_of(sim, image)['alive'] == []


def test_client_token_with_other_parameters_is_a_mismatch(frozen):
    sim = frozen
    image = seed_image(sim)
    sim.aws('ec2', 'run-instances', '--image-id', image, '--instance-type', 't3.micro',
            '--client-token', TOKEN)
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'run-instances', '--image-id', image, '--instance-type', 't3.small',
                '--client-token', TOKEN)
    assert 'IdempotentParameterMismatch' in failed.value.stderr
    with pytest.raises(ClientError) as error:
        run(sim.client(), image, ClientToken='x' * 65)
    assert code_of(error) == 'InvalidParameterValue'
    assert len(boot_of(sim, image)['launched']) == 1


def test_subnet_and_security_groups(frozen):
    sim = frozen
    ec2 = sim.client()
    image = seed_image(sim)
    net = sim.admin('GET', '/_sim/network')
    subnet = [s for s in net['subnets'] if s['AvailabilityZone'] == 'us-east-1b'][0]
    group = net['security_groups'][0]
    rec = run(ec2, image, SubnetId=subnet['SubnetId'], SecurityGroupIds=[group['GroupId']])
    assert rec['SubnetId'] == subnet['SubnetId'] and rec['VpcId'] == subnet['VpcId']
    assert rec['Placement']['AvailabilityZone'] == 'us-east-1b'
    assert rec['SecurityGroups'] == [{'GroupName': 'default', 'GroupId': group['GroupId']}]
    added = sim.admin('POST', '/_sim/network', {'subnet': {'az': 'us-east-1c'}})['subnet']
    assert run(ec2, image, SubnetId=added['SubnetId'])['SubnetId'] == added['SubnetId']
    with pytest.raises(ClientError) as error:
        run(ec2, image, SubnetId='subnet-0aaaaaaaaaaaaaaaa')
    assert code_of(error) == 'InvalidSubnetID.NotFound'
    with pytest.raises(ClientError) as error:
        run(ec2, image, SubnetId=subnet['SubnetId'], SecurityGroupIds=['sg-0bbbbbbbbbbbbbbbb'])
    assert code_of(error) == 'InvalidGroup.NotFound'
    other = sim.admin('POST', '/_sim/network',
                      {'security_group': {'vpc': 'vpc-0ccccccccccccccc0'}})['security_group']
    with pytest.raises(ClientError) as error:
        run(ec2, image, SubnetId=subnet['SubnetId'], SecurityGroupIds=[other['GroupId']])
    assert code_of(error) == 'InvalidParameter'
    assert len(boot_of(sim, image)['launched']) == 2


def test_instance_profile_by_name_or_arn_and_not_yet_known(frozen):
    sim = frozen
    ec2 = sim.client()
    image = seed_image(sim)
    rec = run(ec2, image, IamInstanceProfile={'Name': 'verify-role'})
    assert rec['IamInstanceProfile']['Arn'].endswith(':instance-profile/verify-role')
    assert rec['IamInstanceProfile']['Id'].startswith('AIPA')
    arn = 'arn:aws:iam::111122223333:instance-profile/other'
    assert run(ec2, image, IamInstanceProfile={'Arn': arn})['IamInstanceProfile']['Arn'] == arn
    sim.admin('POST', '/_sim/boot', {'invalid_profiles': {'fresh': 1}})
    with pytest.raises(ClientError) as error:
        run(ec2, image, IamInstanceProfile={'Name': 'fresh'})
    assert code_of(error) == 'InvalidParameterValue'
    assert error.value.response['Error']['Message'] == (
        'Value (fresh) for parameter iamInstanceProfile.name is invalid. '
        'Invalid IAM Instance Profile name')
    assert run(ec2, image, IamInstanceProfile={'Name': 'fresh'})['IamInstanceProfile']


def test_unknown_instance_type_and_image(frozen):
    sim = frozen
    ec2 = sim.client()
    image = seed_image(sim)
    with pytest.raises(ClientError) as error:
        run(ec2, image, InstanceType='t3.gigantic')
    assert code_of(error) == 'InvalidParameterValue'
    assert error.value.response['Error']['Message'] == "Invalid value 't3.gigantic' for InstanceType."
    with pytest.raises(ClientError) as error:
        run(ec2, 'ami-0deadbeef0000000a')
    assert code_of(error) == 'InvalidAMIID.NotFound'
    pending = sim.seed(images=[{'name': 'still-pending', 'state': 'pending'}])['images'][0]
    with pytest.raises(ClientError) as error:
        run(ec2, pending)
    assert code_of(error) == 'InvalidAMIID.Unavailable'
    assert boot_of(sim, image) == {}


def test_delete_on_termination_override_leaves_no_volume(frozen):
    sim = frozen
    ec2 = sim.client()
    image = seed_image(sim, snapshots=[8, 20])    # /dev/sdf: DeleteOnTermination false
    kept = run(ec2, image)['InstanceId']
    ec2.terminate_instances(InstanceIds=[kept])
    left = boot_of(sim, image)['volumes_left']
    assert len(left) == 1
    vol = ec2.describe_volumes(VolumeIds=left)['Volumes'][0]
    assert vol['State'] == 'available' and vol['Attachments'] == []
    image2 = seed_image(sim, snapshots=[8, 20], name='verify-other')
    gone = run(ec2, image2, BlockDeviceMappings=[
        {'DeviceName': '/dev/sdf', 'Ebs': {'DeleteOnTermination': True}}])['InstanceId']
    vols = ec2.describe_volumes(Filters=[{'Name': 'attachment.instance-id', 'Values': [gone]}])
    assert sorted(v['Size'] for v in vols['Volumes']) == [8, 20]
    ec2.terminate_instances(InstanceIds=[gone])
    assert boot_of(sim, image2)['volumes_left'] == []
    assert boot_of(sim, image2)['alive'] == []


def test_terminate_is_idempotent_and_gives_a_state_reason(frozen):
    sim = frozen
    ec2 = sim.client()
    sim.admin('POST', '/_sim/settings', {'shutdown_seconds': 5})
    iid = run(ec2, seed_image(sim))['InstanceId']
    first = ec2.terminate_instances(InstanceIds=[iid])['TerminatingInstances'][0]
    assert first['CurrentState']['Name'] == 'shutting-down'
    again = ec2.terminate_instances(InstanceIds=[iid])['TerminatingInstances'][0]
    assert again['PreviousState']['Name'] == 'shutting-down'
    sim.advance(5)
    rec = ec2.describe_instances(InstanceIds=[iid])['Reservations'][0]['Instances'][0]
    assert rec['State']['Name'] == 'terminated'
    assert rec['StateReason']['Code'] == 'Client.UserInitiatedShutdown'
    sim.advance(3601)
    with pytest.raises(ClientError) as error:
        ec2.describe_instance_status(InstanceIds=[iid], IncludeAllInstances=True)
    assert code_of(error) == 'InvalidInstanceID.NotFound'


# -- the boot and DescribeInstanceStatus ------------------------------------------

def test_boot_status_checks_with_awscli(frozen):
    sim = frozen
    sim.admin('POST', '/_sim/settings', {'boot_pending_seconds': 5, 'status_seconds': 10})
    image = seed_image(sim)
    iid = sim.aws('ec2', 'run-instances', '--image-id', image, '--instance-type',
                  't3.micro')['Instances'][0]['InstanceId']
    assert sim.aws('ec2', 'describe-instance-status',
                   '--instance-ids', iid)['InstanceStatuses'] == []
    out = sim.aws('ec2', 'describe-instance-status', '--instance-ids', iid,
                  '--include-all-instances')['InstanceStatuses'][0]
    assert out['InstanceState']['Name'] == 'pending'
    assert out['InstanceStatus'] == {'Status': 'not-applicable'}
    assert out['SystemStatus'] == {'Status': 'not-applicable'}
    sim.advance(5)
    out = sim.aws('ec2', 'describe-instance-status', '--instance-ids', iid)['InstanceStatuses'][0]
    assert out['InstanceState']['Name'] == 'running'
    for check in ('InstanceStatus', 'SystemStatus'):
        assert out[check] == {'Status': 'initializing',
                              'Details': [{'Name': 'reachability', 'Status': 'initializing'}]}
    sim.advance(10)
    out = sim.aws('ec2', 'describe-instance-status', '--instance-ids', iid)['InstanceStatuses'][0]
    for check in ('InstanceStatus', 'SystemStatus'):
        assert out[check] == {'Status': 'ok',
                              'Details': [{'Name': 'reachability', 'Status': 'passed'}]}


@pytest.mark.parametrize('check', ['instance_status', 'system_status'])
def test_impaired_checks_per_image(frozen, check):
    sim = frozen
    ec2 = sim.client()
    bad, good = seed_image(sim, name='bad'), seed_image(sim, name='good')
    sim.admin('POST', '/_sim/boot', {'image': bad, check: 'impaired'})
    bad_id, good_id = run(ec2, bad)['InstanceId'], run(ec2, good)['InstanceId']
    sim.advance(1)
    assert status(ec2, bad_id)['InstanceStatus']['Status'] == 'initializing'
    sim.advance(2)
    out = status(ec2, bad_id)
    name = 'InstanceStatus' if check == 'instance_status' else 'SystemStatus'
    other = 'SystemStatus' if check == 'instance_status' else 'InstanceStatus'
    assert out[name]['Status'] == 'impaired'
    assert out[name]['Details'][0]['Status'] == 'failed'
    launched = ec2.describe_instances(InstanceIds=[bad_id])['Reservations'][0]['Instances'][0]
    assert out[name]['Details'][0]['ImpairedSince'] == launched['LaunchTime']
    assert out[other]['Status'] == 'ok'
    assert status(ec2, good_id)[name]['Status'] == 'ok'
    found = ec2.describe_instance_status(
        Filters=[{'Name': check.replace('_', '-') + '.status', 'Values': ['impaired']}])
    assert [s['InstanceId'] for s in found['InstanceStatuses']] == [bad_id]


def test_status_ids_paging_and_errors(frozen):
    sim = frozen
    ec2 = sim.client()
    image = seed_image(sim)
    ids = sorted(i['InstanceId'] for i in ec2.run_instances(
        ImageId=image, MinCount=7, MaxCount=7, InstanceType='t3.micro')['Instances'])
    sim.advance(1)
    page = ec2.describe_instance_status(MaxResults=5)
    rest = ec2.describe_instance_status(MaxResults=5, NextToken=page['NextToken'])
    assert 'NextToken' not in rest
    assert sorted(s['InstanceId'] for s in page['InstanceStatuses'] + rest['InstanceStatuses']) == ids
    with pytest.raises(ClientError) as error:
        ec2.describe_instance_status(InstanceIds=ids[:1], MaxResults=5)
    assert code_of(error) == 'InvalidParameterCombination'
    with pytest.raises(ClientError) as error:
        ec2.describe_instance_status(InstanceIds=['i-%017x' % n for n in range(101)])
    assert code_of(error) == 'InvalidParameterValue'
    with pytest.raises(ClientError) as error:
        ec2.describe_instance_status(InstanceIds=['i-0fffffffffffffff0'])
    assert code_of(error) == 'InvalidInstanceID.NotFound'
    with pytest.raises(ClientError) as error:
        ec2.describe_instance_status(InstanceIds=['instance-1'])
    assert code_of(error) == 'InvalidInstanceID.Malformed'
    ec2.terminate_instances(InstanceIds=ids[:1])
    listed = ec2.describe_instance_status(Filters=[
        {'Name': 'instance-state-name', 'Values': ['terminated']}], IncludeAllInstances=True)
    assert [s['InstanceId'] for s in listed['InstanceStatuses']] == ids[:1]
    assert listed['InstanceStatuses'][0]['InstanceStatus'] == {'Status': 'not-applicable'}


def test_never_leaves_pending(frozen):
    sim = frozen
    ec2 = sim.client()
    image = seed_image(sim)
    sim.admin('POST', '/_sim/boot', {'image': image, 'pending': 'forever'})
    iid = run(ec2, image)['InstanceId']
    sim.advance(7200)
    assert status(ec2, iid)['InstanceState']['Name'] == 'pending'
    assert 'Output' not in ec2.get_console_output(InstanceId=iid, Latest=True)


@pytest.mark.parametrize('how,state', [('stop', 'stopped'), ('terminate', 'terminated')])
def test_instance_shuts_itself_down(frozen, how, state):
    sim = frozen
    ec2 = sim.client()
    image = seed_image(sim)
    sim.admin('POST', '/_sim/boot', {'image': image, 'shutdown': how,
                                      'shutdown_after_seconds': 4})
    iid = run(ec2, image)['InstanceId']
    sim.advance(3)
    assert status(ec2, iid)['InstanceState']['Name'] == 'running'
    sim.advance(2)
    rec = ec2.describe_instances(InstanceIds=[iid])['Reservations'][0]['Instances'][0]
    assert rec['State']['Name'] == state
    assert rec['StateReason'] == {'Code': 'Client.InstanceInitiatedShutdown',
                                  'Message': 'Client.InstanceInitiatedShutdown: '
                                             'Instance initiated shutdown'}
    assert status(ec2, iid)['InstanceStatus'] == {'Status': 'not-applicable'}
    view = boot_of(sim, image)
    assert view['alive'] == ([] if how == 'terminate' else [iid])
    assert view['volumes_left'] == []


def test_capacity_refused(frozen):
    sim = frozen
    ec2 = sim.client()
    image = seed_image(sim)
    sim.admin('POST', '/_sim/boot', {'image': image, 'refuse': 1})
    with pytest.raises(ClientError) as error:
        run(ec2, image, ClientToken=TOKEN)
    assert code_of(error) == 'InsufficientInstanceCapacity'
    assert boot_of(sim, image)['launched'] == []
    iid = run(ec2, image, ClientToken=TOKEN)['InstanceId']
    assert boot_of(sim, image)['launched'] == [iid]


# -- GetConsoleOutput -------------------------------------------------------------

def test_console_output_with_awscli(frozen):
    sim = frozen
    sim.admin('POST', '/_sim/settings', {'boot_pending_seconds': 5,
                                          'console_post_seconds': 3})
    image = seed_image(sim)
    iid = sim.aws('ec2', 'run-instances', '--image-id', image, '--instance-type',
                  't3.micro')['Instances'][0]['InstanceId']
    out = sim.aws('ec2', 'get-console-output', '--instance-id', iid, '--latest')
    assert out['InstanceId'] == iid and out['Timestamp'] and 'Output' not in out
    sim.advance(5)
    assert 'Output' not in sim.aws('ec2', 'get-console-output', '--instance-id', iid)
    latest = sim.aws('ec2', 'get-console-output', '--instance-id', iid, '--latest')
    assert 'Reached target multi-user.target - Multi-User System' in latest['Output']
    assert latest['Output'].rstrip().endswith('login:')
    sim.advance(3)
    buffered = sim.aws('ec2', 'get-console-output', '--instance-id', iid)
    assert buffered['Output'].rstrip().endswith('login:')
    raw = sim.client().get_console_output(InstanceId=iid)
    assert raw['Output'].rstrip().endswith('login:')     # botocore decodes it too
    reply = sim.call('GetConsoleOutput', {'InstanceId': iid})
    assert 'login:' in base64.b64decode(reply.text('output')).decode()
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'get-console-output', '--instance-id', 'i-0fffffffffffffff0')
    assert 'InvalidInstanceID.NotFound' in failed.value.stderr


def test_console_output_as_text_with_awscli(frozen):
    """awscli decodes the output for --output text too, as the reference says a
    command line tool does."""
    sim = frozen
    iid = run(sim.client(), seed_image(sim))['InstanceId']
    sim.advance(1)
    env = {'PATH': '/usr/bin:/bin', 'HOME': '/tmp', 'AWS_ACCESS_KEY_ID': KEY[0],
           'AWS_SECRET_ACCESS_KEY': KEY[1], 'AWS_DEFAULT_REGION': 'us-east-1',
           'AWS_CONFIG_FILE': '/nonexistent', 'AWS_SHARED_CREDENTIALS_FILE': '/nonexistent',
           'AWS_PAGER': '', 'AWS_EC2_METADATA_DISABLED': 'true'}
    out = subprocess.run([AWS, '--endpoint-url', sim.url, 'ec2', 'get-console-output',
                          '--instance-id', iid, '--latest', '--output', 'text',
                          '--query', 'Output'], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert 'Linux version' in out and out.rstrip().endswith('login:')


def test_throttled_as_ec2_documents():
    """Request throttling for the Amazon EC2 API: GetConsoleOutput is a
    non-mutating Get* (100, 20/s); DescribeInstanceStatus without filters or paging
    is an "unfiltered and unpaginated" action (50, 10/s), with them (100, 20/s)."""
    assert bucket_for('GetConsoleOutput', {'InstanceId': 'i-1'})[1:] == (100, 20)
    assert bucket_for('DescribeInstanceStatus', {'InstanceId.1': 'i-1'})[1:] == (50, 10)
    assert bucket_for('DescribeInstanceStatus', {'MaxResults': '5'})[1:] == (100, 20)
    assert bucket_for('RunInstances', {})[1:] == (5, 2)


def test_console_faults_and_the_last_64_kb(frozen):
    sim = frozen
    ec2 = sim.client()
    stuck, silent, huge = (seed_image(sim, name=n) for n in ('stuck', 'silent', 'huge'))
    sim.admin('POST', '/_sim/boot', {'image': stuck, 'console': 'no-login'})
    sim.admin('POST', '/_sim/boot', {'image': silent, 'console': 'none'})
    text = ''.join('line %06d\n' % n for n in range(10000)) + 'huge login: '
    sim.admin('POST', '/_sim/boot', {'image': huge, 'console_text': text})
    ids = {image: run(ec2, image)['InstanceId'] for image in (stuck, silent, huge)}
    sim.advance(60)
    out = ec2.get_console_output(InstanceId=ids[stuck], Latest=True)['Output']
    assert 'emergency mode' in out and 'login:' not in out and 'Multi-User' not in out
    assert 'Output' not in ec2.get_console_output(InstanceId=ids[silent], Latest=True)
    reply = sim.call('GetConsoleOutput', {'InstanceId': ids[huge]})
    data = base64.b64decode(reply.text('output'))
    assert len(data) == 64 * 1024 and data == text.encode()[-64 * 1024:]


def test_state_survives_a_restart(own_sim, tmp_path):
    state = str(tmp_path / 'state.json')
    sim = own_sim('--state', state)
    ec2 = sim.client()
    image = seed_image(sim)
    sim.admin('POST', '/_sim/boot', {'image': image, 'instance_status': 'impaired'})
    added = sim.admin('POST', '/_sim/network', {'subnet': {'az': 'us-east-1b'}})['subnet']
    iid = run(ec2, image, ClientToken=TOKEN, SubnetId=added['SubnetId'])['InstanceId']
    sim.stop()
    sim = own_sim('--state', state)
    ec2 = sim.client()
    assert run(ec2, image, ClientToken=TOKEN, SubnetId=added['SubnetId'])['InstanceId'] == iid
    view = boot_of(sim, image)
    assert view['launched'] == [iid] and view['faults'] == {'instance_status': 'impaired'}
    sim.advance(10)
    assert status(ec2, iid)['InstanceStatus']['Status'] == 'impaired'
