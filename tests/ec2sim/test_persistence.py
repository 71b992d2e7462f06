"""State survives a restart: --state, SIGTERM, admin save/load, --seed."""
import json
import os
import signal


def test_state_survives_restart(own_sim, tmp_path):
    path = str(tmp_path / 'state.json')
    sim = own_sim('--state', path)
    iid = sim.seed(instances=[{'tags': {'Role': 'web'}}])['instances'][0]
    ec2 = sim.client()
    image = ec2.create_image(InstanceId=iid, Name='persisted',
                             TagSpecifications=[{'ResourceType': 'image', 'Tags': [
                                 {'Key': 'amirotd:policy', 'Value': 'web'}]}])['ImageId']
    sim.admin('POST', '/_sim/clock', {'advance_seconds': 86400})
    assert sim.stop(signal.SIGTERM) == 0
    assert os.path.exists(path)
    assert not [f for f in os.listdir(tmp_path) if f.startswith('.ec2sim-')]

    again = own_sim('--state', path)
    ec2 = again.client()
    got = ec2.describe_images(Owners=['self'])['Images']
    assert [(i['ImageId'], i['Name'], i['State']) for i in got] == \
        [(image, 'persisted', 'available')]
    assert ec2.describe_instances(InstanceIds=[iid])['Reservations']
    # The name index came back too.
    assert again.call('CreateImage', {'InstanceId': iid, 'Name': 'persisted'}).code == \
        'InvalidAMIName.Duplicate'
    assert again.admin('GET', '/_sim/clock')['offset_seconds'] > 86000


def test_sigint_also_saves(own_sim, tmp_path):
    path = str(tmp_path / 'state.json')
    sim = own_sim('--state', path)
    sim.seed(images=[{'name': 'by-sigint'}])
    assert sim.stop(signal.SIGINT) == 0
    with open(path) as f:
        doc = json.load(f)
    assert [i['Name'] for i in doc['regions']['us-east-1']['images']] == ['by-sigint']


def test_admin_save_and_load(sim, tmp_path):
    path = str(tmp_path / 'saved.json')
    sim.seed(images=[{'name': 'kept'}])
    assert sim.admin('POST', '/_sim/state/save', {'path': path})['saved'] == path
    sim.admin('POST', '/_sim/reset')
    assert sim.client().describe_images(Owners=['self'])['Images'] == []
    sim.admin('POST', '/_sim/state/load', {'path': path})
    assert [i['Name'] for i in sim.client().describe_images(Owners=['self'])['Images']] == \
        ['kept']
    assert 'error' in sim.admin('POST', '/_sim/state/load',
                                {'path': str(tmp_path / 'absent.json')}, expect=400)


def test_seed_file_and_extra_keys(own_sim, tmp_path):
    seed = tmp_path / 'seed.json'
    seed.write_text(json.dumps({
        'keys': [{'access_key': 'AKIDSEEDED', 'secret_key': 'seeded-secret',
                  'account': '123456789012'}],
        'account': '123456789012', 'region': 'eu-central-1',
        'instances': {'count': 3, 'tags': {'Role': 'web-{n}'}}}))
    sim = own_sim('--seed', str(seed))
    ec2 = sim.client(key=('AKIDSEEDED', 'seeded-secret'), region='eu-central-1')
    found = ec2.describe_instances(Filters=[{'Name': 'tag:Role', 'Values': ['web-2']}])
    assert len(found['Reservations']) == 1
