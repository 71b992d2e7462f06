#!/usr/bin/python3
"""The peer of `make bench`: one amirotd cycle as a plain boto3 script does it.

What a competent person writes with Debian's python3-boto3, and nothing more: per
region, sequential calls through paginators, botocore's default retry config, the
default `image_available` waiter. For a policy (its name, its instances' tag, how
many available images to keep):

  1. list the instances by tag (describe_instances paginator, running or stopped),
  2. list the policy's images (describe_images, Owners=self, the amirotd:policy
     tag; one call, as Debian's botocore has no paginator for it),
  3. create_image per instance that has no image of this slot yet, with the tags
     amirotd puts on image and snapshots (NoReboot, as amirotd's default),
  4. with --wait: wait for all new images with the image_available waiter,
  5. per instance, deregister the available images beyond the newest KEEP (only if
     KEEP newer available images remain, amirotd's safety rule), then delete each
     of their snapshots with delete_snapshot: Debian's botocore (1.29) predates
     DeregisterImage's DeleteAssociatedSnapshots, which amirotd sends instead.

Without --wait it retires only what is already due, as `amirotd once --no-wait`.
It counts its requests (every attempt, retries included) and prints one JSON line:
{"requests": N, "by_action": {...}, "created": N, "retired": N, "snapshots_deleted": N}.
"""
import argparse
import collections
import json
import sys

import boto3
import botocore.config


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--endpoint-url', required=True)
    p.add_argument('--regions', required=True, help='comma-separated')
    p.add_argument('--policy', required=True)
    p.add_argument('--tag', required=True, help='KEY=VALUE selecting the instances')
    p.add_argument('--keep', type=int, required=True)
    p.add_argument('--slot', required=True, help='slot id, e.g. 20300104T030000Z')
    p.add_argument('--wait', action='store_true')
    return p.parse_args()


class Counter:
    """Counts every request sent, retries included (one before-send per attempt)."""

    def __init__(self):
        self.by_action = collections.Counter()

    def __call__(self, request, **_):
        body = request.body.decode() if isinstance(request.body, bytes) else (request.body or '')
        action = next((kv.split('=', 1)[1] for kv in body.split('&') if kv.startswith('Action=')), '?')
        self.by_action[action] += 1


def tag_map(resource):
    return {t['Key']: t['Value'] for t in resource.get('Tags', [])}


def policy_images(ec2, policy):
    """The policy's images by instance. Debian's botocore (1.29) has no DescribeImages
    paginator (EC2 added its paging later); without MaxResults EC2 answers them all."""
    kwargs = {'Owners': ['self'], 'Filters': [{'Name': 'tag:amirotd:policy', 'Values': [policy]}]}
    pages = (ec2.get_paginator('describe_images').paginate(**kwargs) if ec2.can_paginate('describe_images')
             else [ec2.describe_images(**kwargs)])
    images = collections.defaultdict(list)
    for page in pages:
        for image in page['Images']:
            images[tag_map(image).get('amirotd:instance-id')].append(image)
    return images


def rotate_region(ec2, args, counts):
    key, value = args.tag.split('=', 1)
    instances = []
    for page in ec2.get_paginator('describe_instances').paginate(
            Filters=[{'Name': f'tag:{key}', 'Values': [value]},
                     {'Name': 'instance-state-name', 'Values': ['running', 'stopped']}]):
        for reservation in page['Reservations']:
            instances.extend(i['InstanceId'] for i in reservation['Instances'])

    images = policy_images(ec2, args.policy)

    created = []
    for iid in instances:
        if any(tag_map(i).get('amirotd:slot') == args.slot for i in images[iid]):
            continue
        tags = [{'Key': 'amirotd:policy', 'Value': args.policy},
                {'Key': 'amirotd:instance-id', 'Value': iid},
                {'Key': 'amirotd:slot', 'Value': args.slot}]
        answer = ec2.create_image(
            InstanceId=iid, Name=f'{args.policy}-{iid}-{args.slot}', NoReboot=True,
            Description=f'{args.policy} {iid} {args.slot}',
            TagSpecifications=[{'ResourceType': 'image', 'Tags': tags},
                               {'ResourceType': 'snapshot', 'Tags': tags}])
        created.append(answer['ImageId'])
    counts['created'] += len(created)

    if args.wait and created:
        ec2.get_waiter('image_available').wait(ImageIds=created)
        images = policy_images(ec2, args.policy)

    for iid in instances:
        available = sorted((i for i in images[iid] if i['State'] == 'available'),
                           key=lambda i: i['CreationDate'], reverse=True)
        for old in available[args.keep:]:
            ec2.deregister_image(ImageId=old['ImageId'])
            counts['retired'] += 1
            for mapping in old.get('BlockDeviceMappings', []):
                snapshot = mapping.get('Ebs', {}).get('SnapshotId')
                if snapshot:
                    ec2.delete_snapshot(SnapshotId=snapshot)
                    counts['snapshots_deleted'] += 1


def main():
    args = parse_args()
    counter = Counter()
    counts = collections.Counter()
    session = boto3.session.Session()
    for region in args.regions.split(','):
        ec2 = session.client('ec2', region_name=region, endpoint_url=args.endpoint_url,
                             config=botocore.config.Config())
        ec2.meta.events.register('before-send.ec2', counter)
        rotate_region(ec2, args, counts)
    json.dump({'requests': sum(counter.by_action.values()), 'by_action': dict(counter.by_action),
               'created': counts['created'], 'retired': counts['retired'],
               'snapshots_deleted': counts['snapshots_deleted']}, sys.stdout)
    print()


if __name__ == '__main__':
    main()
