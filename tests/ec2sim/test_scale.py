"""Seeding at scale takes seconds, and a filtered describe over it stays fast."""
import time


def test_seed_10000_instances_and_100000_images(own_sim):
    sim = own_sim('--buckets', 'off')
    start = time.monotonic()
    sim.seed(instances={'count': 10000, 'tags': {'Role': 'web', 'Index': '{n}'}})
    sim.seed(images={'count': 100000, 'name': 'scale-{n}',
                     'tags': {'amirotd:policy': 'p{n}', 'Team': 'platform'}})
    took = time.monotonic() - start
    assert took < 30, took

    ec2 = sim.client()
    start = time.monotonic()
    found = ec2.describe_images(Owners=['self'], Filters=[
        {'Name': 'tag:amirotd:policy', 'Values': ['p4242', 'p77777']}])['Images']
    assert time.monotonic() - start < 2
    assert sorted(i['Name'] for i in found) == ['scale-4242', 'scale-77777']

    start = time.monotonic()
    inst = ec2.describe_instances(Filters=[{'Name': 'tag:Index', 'Values': ['9999']},
                                           {'Name': 'instance-state-name',
                                            'Values': ['running']}])
    assert time.monotonic() - start < 2
    assert len(inst['Reservations']) == 1
    # botocore 1.29 predates DescribeImages MaxResults: send it raw.
    page = sim.call('DescribeImages', {'Owner.1': 'self', 'MaxResults': '1000'})
    assert len(page.find('imagesSet')) == 1000 and page.text('nextToken')
