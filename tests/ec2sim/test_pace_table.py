"""ec2sim throttles with the same table amirotd paces by.

amirotd's client-side buckets (daemon/aws/pace.c, the rule client.c applies to
each call) and ec2sim's (ec2simlib/faults.py, bucket_for) both come from
"Request throttling for the Amazon EC2 API"
(https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html). If
they drift apart, the simulator either throttles calls that amirotd paced
correctly or lets through what EC2 would refuse, and the tests of pacing prove
nothing. So: for every EC2 action amirotd calls (read from ec2-calls.c, so a new
call cannot be forgotten), every action pace.c names, and every shape of request
that decides the bucket (no parameter, a filter, pagination, ids), the capacity,
refill rate and "unfiltered and unpaginated" bucket must agree.

build/tests/pace-table (tests/unit/pace-table.c) answers for the client;
`make check-ec2sim` builds it and passes its path in PACE_TABLE.
"""
import os
import re
import subprocess

import pytest

from ec2simlib.faults import UNCATEGORIZED, UNFILTERED_ACTIONS, bucket_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACE_TABLE = os.environ.get('PACE_TABLE') or os.path.join(ROOT, 'build', 'tests', 'pace-table')

# The parameter names that decide a request's bucket, in the combinations amirotd sends
# (ec2-calls.c: filters and MaxResults, Owner.1, ImageId.N, NextToken on later pages) and
# the one it never sends: nothing at all.
SHAPES = [
    [],
    ['MaxResults'],
    ['MaxResults', 'NextToken'],
    ['Filter.1.Name', 'Filter.1.Value.1'],
    ['Filter.1.Name', 'Filter.1.Value.1', 'MaxResults'],
    ['Owner.1'],
    ['Owner.1', 'MaxResults'],
    ['ImageId.1'],
    ['InstanceId'],
]

# The actions pace.c's categories name (see pace_category_of_request).
PACE_NAMED = ['CreateTags', 'DeleteTags', 'DeregisterImage', 'DeleteSnapshot', 'CopyImage',
              'ModifyImageAttribute']


def amirotd_ec2_actions():
    with open(os.path.join(ROOT, 'daemon', 'aws', 'ec2-calls.c')) as f:
        return sorted(set(re.findall(r'aws_query_new\("(\w+)"', f.read())))


def client_buckets(queries):
    """(category, capacity, refill) the client charges for each (action, names)."""
    if not os.access(PACE_TABLE, os.X_OK):
        pytest.fail(f"no executable '{PACE_TABLE}': run 'make {os.path.relpath(PACE_TABLE, ROOT)}'")
    text = ''.join('\t'.join([action] + names) + '\n' for action, names in queries)
    out = subprocess.run([PACE_TABLE], input=text, capture_output=True, text=True, check=True).stdout
    answers = []
    for line in out.splitlines():
        category, capacity, refill = line.split('\t')
        answers.append((category, float(capacity), float(refill)))
    assert len(answers) == len(queries)
    return answers


def test_amirotd_calls_are_known():
    actions = amirotd_ec2_actions()
    # The list is read from the source: it must find what amirotd is known to call.
    assert {'DescribeInstances', 'DescribeImages', 'DescribeSnapshots', 'CreateImage',
            'DeregisterImage', 'DeleteSnapshot', 'CreateTags'} <= set(actions)


def test_client_and_simulator_agree_action_by_action():
    actions = sorted(set(amirotd_ec2_actions()) | set(PACE_NAMED) | UNFILTERED_ACTIONS)
    queries = [(a, names) for a in actions for names in SHAPES]
    differences = []
    for (action, names), (category, capacity, refill) in zip(queries, client_buckets(queries)):
        name, sim_capacity, sim_refill = bucket_for(action, {k: 'x' for k in names})
        client_unfiltered = category == 'unfiltered'
        sim_unfiltered = name.endswith(':unfiltered')
        if (capacity, refill, client_unfiltered) != (float(sim_capacity), float(sim_refill), sim_unfiltered):
            differences.append(f'{action} {names}: client {category} {capacity:g}/{refill:g}, '
                               f'ec2sim {name} {sim_capacity}/{sim_refill}')
    assert not differences, '\n'.join(differences)


def test_amirotd_never_sends_an_unfiltered_request():
    """What ec2-calls.c sends for the three Describe calls draws from the large bucket.

    DescribeInstances and DescribeSnapshots always carry MaxResults (and NextToken
    after the first page); DescribeImages is not one of the seven actions.
    """
    sent = [('DescribeInstances', ['Filter.1.Name', 'Filter.1.Value.1', 'MaxResults']),
            ('DescribeInstances', ['MaxResults', 'NextToken']),
            ('DescribeSnapshots', ['Owner.1', 'MaxResults']),
            ('DescribeImages', ['Owner.1', 'MaxResults']),
            ('DescribeImages', ['ImageId.1'])]
    for (action, names), (category, _, _) in zip(sent, client_buckets(sent)):
        assert category == 'describe', (action, names)
        assert not bucket_for(action, {k: 'x' for k in names})[0].endswith(':unfiltered')


def test_uncategorized_figures_that_pace_names():
    """pace.c's own categories carry the page's figures for the actions it names."""
    queries = [(a, ['MaxResults']) for a in PACE_NAMED]
    for (action, _), (_, capacity, refill) in zip(queries, client_buckets(queries)):
        assert (capacity, refill) == tuple(float(v) for v in UNCATEGORIZED[action]), action
