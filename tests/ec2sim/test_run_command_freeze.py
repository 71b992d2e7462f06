"""The model of an instance's file systems under fsfreeze, driven by Run Command: a
Success of a script that runs `fsfreeze -f` freezes the instance until a script that
runs `fsfreeze -u`, or until the freeze's own watchdog deadline; CreateImage records
on the image whether its instance was frozen; /_sim/run-command shows it all."""
import json

import pytest

from test_run_command import instance, invocation

FREEZE = ('export FREEZE_TIMEOUT=60\nsync\nfor m in /mnt/sdf; do fsfreeze -f "$m" && echo "$m"; done\n'
          '(sleep "$FREEZE_TIMEOUT"; fsfreeze -u /mnt/sdf) &')
THAW = 'fsfreeze -u /mnt/sdf || true'


def run(sim, iid, script, seconds=2):
    cmd = sim.aws('ssm', 'send-command', '--instance-ids', iid, '--document-name', 'AWS-RunShellScript',
                  '--parameters', json.dumps({'commands': [script]}))['Command']
    sim.advance(seconds)
    return invocation(sim, cmd['CommandId'], iid)


def state(sim, iid):
    return sim.admin('GET', '/_sim/run-command?instance=' + iid)['instances'][0]


def image_frozen(sim, iid, name):
    image = sim.aws('ec2', 'create-image', '--instance-id', iid, '--name', name)['ImageId']
    described = sim.aws('ec2', 'describe-images', '--image-ids', image)['Images'][0]
    assert not any('frozen' in k.lower() for k in described)          # internal only
    return [i for i in sim.admin('GET', '/_sim/images') if i['ImageId'] == image][0]['_frozen']


@pytest.fixture
def clock(sim):
    sim.admin('POST', '/_sim/clock', {'freeze': True})
    return sim


def test_a_freeze_then_a_thaw_and_the_images_taken_in_between(clock):
    sim = clock
    iid = instance(sim, volumes=[8, 20])
    assert image_frozen(sim, iid, 'before') is False
    inv = run(sim, iid, FREEZE)
    assert (inv['Status'], inv['StandardOutputContent']) == ('Success', '/mnt/sdf\n')
    s = state(sim, iid)
    assert s['frozen'] and s['frozen_at'] and s['deadline']
    assert [h['event'] for h in s['history']] == ['freeze']
    assert image_frozen(sim, iid, 'during') is True

    assert run(sim, iid, THAW)['Status'] == 'Success'
    s = state(sim, iid)
    assert not s['frozen']
    assert [h['event'] for h in s['history']] == ['freeze', 'thaw']
    assert s['history'][1]['was_frozen'] is True
    assert [c['kind'] for c in s['commands']] == ['freeze', 'thaw']
    assert image_frozen(sim, iid, 'after') is False


def test_the_freeze_scripts_watchdog_thaws_at_its_deadline(clock):
    sim = clock
    iid = instance(sim, volumes=[8, 20])
    run(sim, iid, FREEZE)
    sim.advance(50)
    assert state(sim, iid)['frozen']
    sim.advance(15)
    s = state(sim, iid)
    assert not s['frozen']
    assert [h['event'] for h in s['history']] == ['freeze', 'watchdog']
    assert image_frozen(sim, iid, 'late') is False
    # A thaw that comes after the watchdog finds nothing frozen, and says so.
    run(sim, iid, THAW)
    last = state(sim, iid)['history'][-1]
    assert (last['event'], last['was_frozen']) == ('thaw', False)


def test_without_a_deadline_in_the_script_the_watchdog_setting_applies(clock):
    sim = clock
    iid = instance(sim, volumes=[8, 20])
    sim.admin('POST', '/_sim/run-command', {'instance': iid, 'freeze_watchdog': 10})
    run(sim, iid, 'sync; fsfreeze --freeze /mnt/sdf')
    assert state(sim, iid)['frozen']
    sim.advance(9)
    assert not state(sim, iid)['frozen']


def test_a_failed_or_unfinished_freeze_freezes_nothing(clock):
    sim = clock
    iid = instance(sim, volumes=[8, 20])
    sim.admin('POST', '/_sim/run-command', {'instance': iid, 'outcome': 'fail'})
    assert run(sim, iid, FREEZE)['Status'] == 'Failed'
    assert not state(sim, iid)['frozen']
    sim.admin('POST', '/_sim/run-command', {'instance': iid, 'outcome': 'hang'})
    assert run(sim, iid, FREEZE)['Status'] == 'InProgress'
    assert not state(sim, iid)['frozen'] and image_frozen(sim, iid, 'hung') is False


def test_the_view_lists_every_instance_that_ran_a_command(clock):
    sim = clock
    a, b = instance(sim, volumes=[8, 20]), instance(sim)
    run(sim, a, FREEZE, seconds=0)
    run(sim, b, 'uptime')
    view = {i['InstanceId']: i for i in sim.admin('GET', '/_sim/run-command')['instances']}
    assert set(view) == {a, b}
    assert view[a]['frozen'] and not view[b]['frozen']
    assert view[b]['agent'] == 'online' and view[b]['commands'][0]['kind'] == 'other'
