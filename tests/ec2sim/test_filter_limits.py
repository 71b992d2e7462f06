"""EC2's filter limits: 200 filter values per call, 255 characters per value,
both FilterLimitExceeded, on every describe action that takes filters."""
import pytest

from conftest import AwsFailed

DESCRIBES = ['DescribeInstances', 'DescribeImages', 'DescribeSnapshots', 'DescribeTags',
             'DescribeLaunchTemplateVersions']


def values(name, items, start=1):
    params = {f'Filter.{start}.Name': name}
    for n, value in enumerate(items, 1):
        params[f'Filter.{start}.Value.{n}'] = value
    return params


def call(sim, action, params):
    if action == 'DescribeLaunchTemplateVersions':
        params = dict(params, LaunchTemplateName='lt-limits')
    return sim.call(action, params)


@pytest.mark.parametrize('action', DESCRIBES)
def test_200_values_pass_and_201_are_filter_limit_exceeded(sim, action):
    if action == 'DescribeLaunchTemplateVersions':
        sim.call('CreateLaunchTemplate', {'LaunchTemplateName': 'lt-limits',
                                          'LaunchTemplateData.InstanceType': 't3.micro'})
    name = {'DescribeTags': 'key',
            'DescribeLaunchTemplateVersions': 'image-id'}.get(action, 'tag:Role')
    ok = call(sim, action, values(name, [f'v{n}' for n in range(200)]))
    assert ok.status == 200, ok
    reply = call(sim, action, values(name, [f'v{n}' for n in range(201)]))
    assert (reply.status, reply.code) == (400, 'FilterLimitExceeded'), reply
    assert reply.text('Errors/Error/Message') == \
        'The maximum number of filter values specified on a single call is 200'


def test_the_200_count_over_all_filters_of_the_call(sim):
    params = values('tag:Role', [f'r{n}' for n in range(150)])
    params.update(values('tag:Team', [f't{n}' for n in range(51)], start=2))
    assert sim.call('DescribeImages', params).code == 'FilterLimitExceeded'


@pytest.mark.parametrize('action', DESCRIBES[:4])
def test_values_longer_than_255_characters(sim, action):
    assert sim.call(action, values('tag:Role', ['x' * 255])).status == 200
    reply = sim.call(action, values('tag:Role', ['x' * 256]))
    assert (reply.status, reply.code) == (400, 'FilterLimitExceeded')
    assert reply.text('Errors/Error/Message') == \
        'The maximum length for a filter value is 255 characters'


def test_limits_come_before_the_filter_name_is_checked(sim):
    assert sim.call('DescribeImages', values('no-such-filter', ['x' * 300])).code == \
        'FilterLimitExceeded'


def test_awscli_reports_filter_limit_exceeded(sim):
    ids = ','.join(f'i-{n:017x}' for n in range(201))
    with pytest.raises(AwsFailed) as failed:
        sim.aws('ec2', 'describe-instances', '--filters', f'Name=instance-id,Values={ids}')
    assert 'FilterLimitExceeded' in failed.value.stderr
