"""SigV4 verification: what EC2 answers to bad keys, signatures, dates and tokens."""
import time

import pytest

from conftest import AwsFailed, KEY, OTHER_KEY, ACCOUNT, OTHER_ACCOUNT


def test_good_signature_is_accepted(sim):
    reply = sim.call('DescribeInstances')
    assert reply.status == 200, reply
    assert reply.root.tag == 'DescribeInstancesResponse'
    assert reply.text('requestId')


def test_wrong_secret_is_signature_does_not_match(sim):
    reply = sim.call('DescribeInstances', key=(KEY[0], 'not-the-secret'))
    assert (reply.status, reply.code) == (403, 'SignatureDoesNotMatch')
    assert reply.text('RequestID')


def test_awscli_with_wrong_secret_fails(sim):
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'describe-instances', key=(KEY[0], 'wrong'))
    assert 'SignatureDoesNotMatch' in failed.value.stderr


def test_unknown_access_key_is_auth_failure(sim):
    reply = sim.call('DescribeInstances', key=('AKIDNOBODY', 'whatever'))
    assert (reply.status, reply.code) == (401, 'AuthFailure')


def test_missing_authorization_is_rejected(sim):
    import urllib.request
    import urllib.error
    req = urllib.request.Request(sim.url + '/', data=b'Action=DescribeInstances&Version=2016-11-15')
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 401
    assert b'MissingAuthenticationToken' in err.value.read()


def amz_date(offset):
    return time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(time.time() + offset))


def test_stale_date_is_request_expired(sim):
    # EC2's window is 15 minutes either way.
    reply = sim.call('DescribeInstances', amz_date=amz_date(-16 * 60))
    assert (reply.status, reply.code) == (400, 'RequestExpired')
    assert reply.text('Errors/Error/Message') == 'Request has expired.'


def test_future_date_is_request_expired(sim):
    assert sim.call('DescribeInstances', amz_date=amz_date(16 * 60)).code == \
        'RequestExpired'


def test_fourteen_minutes_of_skew_are_accepted(sim):
    assert sim.call('DescribeInstances', amz_date=amz_date(-14 * 60)).status == 200
    assert sim.call('DescribeInstances', amz_date=amz_date(14 * 60)).status == 200


def test_request_expired_carries_the_server_date(sim):
    import email.utils
    reply = sim.call('DescribeInstances', amz_date=amz_date(-3600))
    assert reply.code == 'RequestExpired'
    served = email.utils.parsedate_to_datetime(reply.headers['Date']).timestamp()
    assert abs(served - time.time()) < 5


def test_skew_window_is_a_setting(sim):
    sim.admin('POST', '/_sim/settings', {'max_skew_seconds': 300})
    assert sim.call('DescribeInstances', amz_date=amz_date(-600)).code == 'RequestExpired'


def test_skew_is_measured_against_real_time_not_the_simulator_clock(sim):
    sim.admin('POST', '/_sim/clock', {'set': '2031-01-01T00:00:00Z'})
    assert sim.call('DescribeInstances').status == 200


def test_get_with_query_string_is_accepted(sim):
    assert sim.call('DescribeInstances', method='GET').status == 200


def test_each_key_has_its_own_account(sim):
    sim.seed(account=OTHER_ACCOUNT, instances=[{'tags': {'Owner': 'other'}}])
    mine = sim.client().describe_instances()['Reservations']
    theirs = sim.client(key=OTHER_KEY).describe_instances()['Reservations']
    assert mine == []
    assert theirs[0]['OwnerId'] == OTHER_ACCOUNT


def test_regions_have_separate_state(sim):
    sim.seed(region='eu-west-1', instances=[{}])
    assert sim.client(region='us-east-1').describe_instances()['Reservations'] == []
    assert len(sim.client(region='eu-west-1').describe_instances()['Reservations']) == 1


def test_added_key_works_and_denied_action_is_unauthorized(sim):
    sim.admin('POST', '/_sim/keys', {'access_key': 'AKIDNEW', 'secret_key': 's3cr3t',
                                     'account': '999988887777', 'deny': ['DescribeImages']})
    assert sim.call('DescribeInstances', key=('AKIDNEW', 's3cr3t')).status == 200
    reply = sim.call('DescribeImages', key=('AKIDNEW', 's3cr3t'))
    assert (reply.status, reply.code) == (403, 'UnauthorizedOperation')


def test_temporary_key_needs_its_token(sim):
    creds = sim.client('sts').assume_role(
        RoleArn=f'arn:aws:iam::{ACCOUNT}:role/amirotd', RoleSessionName='test')['Credentials']
    key = (creds['AccessKeyId'], creds['SecretAccessKey'])
    assert sim.call('DescribeInstances', key=key, token=creds['SessionToken']).status == 200
    assert sim.call('DescribeInstances', key=key).code == 'AuthFailure'
    assert sim.call('DescribeInstances', key=key, token='bogus').code == 'AuthFailure'


def test_expired_temporary_key_is_request_expired(sim):
    creds = sim.client('sts').assume_role(
        RoleArn=f'arn:aws:iam::{ACCOUNT}:role/amirotd', RoleSessionName='test',
        DurationSeconds=900)['Credentials']
    key = (creds['AccessKeyId'], creds['SecretAccessKey'])
    sim.advance(901)
    reply = sim.call('DescribeInstances', key=key, token=creds['SessionToken'])
    assert (reply.status, reply.code) == (400, 'RequestExpired')
    sts = sim.request({'Action': 'GetCallerIdentity', 'Version': '2011-06-15'},
                      key=key, token=creds['SessionToken'], service='sts')
    assert (sts.status, sts.code) == (403, 'ExpiredToken')


def test_sts_errors_use_the_sts_error_shape(sim):
    reply = sim.request({'Action': 'GetCallerIdentity', 'Version': '2011-06-15'},
                        key=('AKIDNOBODY', 'x'), service='sts')
    assert (reply.status, reply.code) == (403, 'InvalidClientTokenId')
    assert reply.root.tag == 'ErrorResponse'
    assert reply.text('Error/Type') == 'Sender'
    assert reply.text('RequestId')


def test_date_offset_shifts_the_date_header_and_the_skew_check_together(sim):
    # A server whose wall clock is 20 minutes ahead: a client signing with the host's
    # clock is told RequestExpired, and the Date header shows the server's time.
    import email.utils
    sim.admin('POST', '/_sim/settings', {'date_offset_seconds': 1200})
    reply = sim.call('DescribeInstances')
    assert (reply.status, reply.code) == (400, 'RequestExpired')
    served = email.utils.parsedate_to_datetime(reply.headers['Date']).timestamp()
    assert abs(served - (time.time() + 1200)) < 5
    # Signed with the server's time, it is accepted.
    assert sim.call('DescribeInstances', amz_date=amz_date(1200)).status == 200
    sim.admin('POST', '/_sim/settings', {'date_offset_seconds': 0})
    assert sim.call('DescribeInstances').status == 200


def test_date_offset_is_a_command_line_option():
    from conftest import start_sim
    s = start_sim('--date-offset-seconds', '-1200')
    try:
        assert s.admin('GET', '/_sim/settings')['date_offset_seconds'] == -1200
        assert s.call('DescribeInstances').code == 'RequestExpired'
        assert s.call('DescribeInstances', amz_date=amz_date(-1200)).status == 200
    finally:
        s.stop()
