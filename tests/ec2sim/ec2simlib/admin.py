"""The admin interface under /_sim/: JSON in, JSON out.

Tests drive the simulator through it: reset, seed, faults, clock, image state
control, call log, state save/load, keys, IMDS, buckets and settings. Every
endpoint is documented in tests/ec2sim/README.md. Errors answer 400 with
{"error": "..."}; an unknown path answers 404.
"""
import json
import os

from . import boot, common, container, freeze, imds, network, seed as seed_mod
from .clock import parse_iso

ROUTES = {}


def route(method, path):
    def register(fn):
        ROUTES[(method, path)] = fn
        return fn
    return register


class AdminError(ValueError):
    pass


def handle(sim, method, path, query, body):
    """Return (status, JSON-able document).

    Raw views (calls, images, snapshots, instances, templates) answer a bare
    JSON list, which is what test code iterates over.
    """
    fn = ROUTES.get((method, path))
    if fn is None:
        if any(p == path for _, p in ROUTES):
            return 405, {'error': f'{method} not allowed on {path}'}
        return 404, {'error': f'no admin endpoint {method} {path}'}
    try:
        doc = json.loads(body) if body.strip() else {}
        if not isinstance(doc, dict):
            raise AdminError('the body must be a JSON object')
        with sim.lock:
            return 200, fn(sim, query, doc)
    except (ValueError, KeyError, TypeError) as error:
        return 400, {'error': str(error)}


def _region_of(query):
    return query.get('region', 'us-east-1')


@route('GET', '/_sim/health')
def health(sim, query, body):
    return {'ok': True}


@route('POST', '/_sim/reset')
def reset(sim, query, body):
    sim.reset()
    return {'ok': True}


@route('POST', '/_sim/seed')
def seed(sim, query, body):
    return seed_mod.seed(sim, body)


@route('GET', '/_sim/faults')
def list_faults(sim, query, body):
    with sim.lock:
        return {'faults': [dict(f) for f in sim.faults.faults]}


@route('POST', '/_sim/faults')
def add_fault(sim, query, body):
    with sim.lock:
        if 'seed' in body and 'kind' not in body:
            sim.faults.seed(body['seed'])
            return {'ok': True}
        return dict(sim.faults.add(body))


@route('DELETE', '/_sim/faults')
def clear_faults(sim, query, body):
    with sim.lock:
        if 'id' in query:
            sim.faults.remove(int(query['id']))
        else:
            sim.faults.clear()
    return {'ok': True}


@route('GET', '/_sim/clock')
def get_clock(sim, query, body):
    with sim.lock:
        return sim.clock.to_json()


@route('POST', '/_sim/clock')
def set_clock(sim, query, body):
    with sim.lock:
        if body.get('real'):
            sim.clock.real()
        if 'set' in body:
            sim.clock.set(parse_iso(body['set']), freeze=bool(body.get('freeze')))
        elif 'freeze' in body:
            sim.clock.freeze(bool(body['freeze']))
        if 'advance_seconds' in body:
            sim.clock.advance(float(body['advance_seconds']))
        return sim.clock.to_json()


@route('POST', '/_sim/images')
def image_settings(sim, query, body):
    with sim.lock:
        if 'hold' in body:
            sim.settings.hold = bool(body['hold'])
        if 'pending_seconds' in body:
            sim.settings.pending_seconds = float(body['pending_seconds'])
        if 'pending_seconds_by_instance' in body:
            sim.settings.pending_seconds_by_instance = {
                k: float(v) for k, v in body['pending_seconds_by_instance'].items()}
        return {'hold': sim.settings.hold,
                'pending_seconds': sim.settings.pending_seconds,
                'pending_seconds_by_instance': sim.settings.pending_seconds_by_instance}


@route('POST', '/_sim/images/settle')
def settle(sim, query, body):
    """Every pending image becomes available now (failed where a fault chose so)."""
    moved = []
    with sim.lock:
        regions = [body['region']] if body.get('region') else list(sim.store.regions)
        for name in regions:
            region = sim.store.region(name)
            for image_id in sorted(region.pending_images):
                common.finish_image(region, region.images[image_id])
                moved.append(image_id)
    return {'settled': moved}


def _dump(sim, query, table):
    with sim.lock:
        region = sim.store.region(_region_of(query))
        region.apply_tag_writes(sim.clock.now())
        if table == 'images':
            common.settle_images(sim, region, sim.clock.now())
        return [r for r in getattr(region, table).values()
                if query.get('all') or not r.get('_catalog')]


@route('GET', '/_sim/images')
def raw_images(sim, query, body):
    return _dump(sim, query, 'images')


@route('GET', '/_sim/snapshots')
def raw_snapshots(sim, query, body):
    return _dump(sim, query, 'snapshots')


@route('GET', '/_sim/instances')
def raw_instances(sim, query, body):
    return _dump(sim, query, 'instances')


@route('GET', '/_sim/templates')
def raw_templates(sim, query, body):
    return _dump(sim, query, 'templates')


@route('GET', '/_sim/calls')
def calls(sim, query, body):
    since = int(query.get('since', 0))
    return sim.calls.query(since, query.get('action'), query.get('service'))


@route('DELETE', '/_sim/calls')
def clear_calls(sim, query, body):
    sim.calls.clear()
    return {'ok': True}


@route('GET', '/_sim/state')
def state(sim, query, body):
    return sim.state_json()


@route('POST', '/_sim/state/save')
def save(sim, query, body):
    path = body.get('path') or sim.state_path
    if not path:
        raise AdminError('no path given and no --state file')
    sim.save(path)
    return {'saved': path}


@route('POST', '/_sim/state/load')
def load(sim, query, body):
    path = body.get('path') or sim.state_path
    if not path or not os.path.exists(path):
        raise AdminError(f'no state file {path!r}')
    with open(path) as f:
        sim.load_state(json.load(f))
    return {'loaded': path}


@route('GET', '/_sim/keys')
def list_keys(sim, query, body):
    with sim.lock:
        return {'keys': [{'access_key': k['access_key'], 'account': k['account'],
                          'arn': k['arn'], 'temporary': bool(k.get('token')),
                          'expires': k.get('expires'),
                          'denied_actions': sorted(sim.denied.get(k['access_key'], ()))}
                         for k in sim.store.keys.values()]}


@route('POST', '/_sim/keys')
def add_key(sim, query, body):
    """Add or replace a key; "deny": [actions] makes those UnauthorizedOperation."""
    with sim.lock:
        if body.get('secret_key'):
            for field in ('access_key', 'account'):
                if not body.get(field):
                    raise AdminError(f'a key needs {field}')
            key = {k: body[k] for k in ('access_key', 'secret_key', 'account', 'user',
                                        'arn', 'token') if body.get(k)}
            if body.get('expires'):
                key['expires'] = parse_iso(body['expires'])
            sim.store.add_key(key)
        elif body.get('access_key') not in sim.store.keys:
            raise AdminError('unknown access_key; give secret_key and account to add it')
        if 'deny' in body:
            sim.denied[body['access_key']] = set(body['deny'])
        return {'access_key': body['access_key']}


@route('GET', '/_sim/imds')
def get_imds(sim, query, body):
    with sim.lock:
        return sim.imds.to_json()


@route('POST', '/_sim/imds')
def set_imds(sim, query, body):
    return imds.configure(sim, body)


@route('GET', '/_sim/container')
def get_container(sim, query, body):
    with sim.lock:
        return sim.container.to_json()


@route('POST', '/_sim/container')
def set_container(sim, query, body):
    return container.configure(sim, body)


@route('POST', '/_sim/sts')
def set_sts(sim, query, body):
    with sim.lock:
        if 'deny_roles' in body:
            sim.denied_roles = set(body['deny_roles'])
        if 'max_session_duration' in body:
            sim.sts_max_duration = int(body['max_session_duration'])
        if 'web_identity_tokens' in body:
            sim.web_identity_tokens = set(body['web_identity_tokens'])
        return {'deny_roles': sorted(sim.denied_roles),
                'max_session_duration': sim.sts_max_duration,
                'web_identity_tokens': len(sim.web_identity_tokens),
                'web_identity_calls': [{'role_arn': c['role_arn'], 'session': c['session']}
                                       for c in sim.web_identity_calls]}


@route('GET', '/_sim/buckets')
def get_buckets(sim, query, body):
    with sim.lock:
        return sim.buckets.to_json()


@route('POST', '/_sim/buckets')
def set_buckets(sim, query, body):
    """{"enabled": bool, "reset": true, "overrides": {"Action": [capacity, refill]}}"""
    with sim.lock:
        if 'enabled' in body:
            sim.buckets.enabled = bool(body['enabled'])
            sim.settings.buckets = sim.buckets.enabled
        if body.get('reset'):
            sim.buckets.reset()
        if 'overrides' in body:
            sim.buckets.overrides = {a: (float(v[0]), float(v[1]))
                                     for a, v in body['overrides'].items()}
            sim.buckets.reset()
        return sim.buckets.to_json()


@route('GET', '/_sim/settings')
def get_settings(sim, query, body):
    with sim.lock:
        return sim.settings.to_json()


@route('POST', '/_sim/settings')
def set_settings(sim, query, body):
    """Any of the settings GET shows: latency_ms, max_skew_seconds,
    pending_seconds, hold, ignore_delete_associated_snapshots,
    delete_snapshot_return, ..."""
    with sim.lock:
        s = sim.settings
        for name, value in body.items():
            if name not in s.DEFAULTS or name == 'buckets':
                raise AdminError(f'unknown setting {name!r}')
            default = s.DEFAULTS[name]
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise AdminError(f'{name} must be true or false')
                setattr(s, name, value)
            else:
                setattr(s, name, type(default)(value))
        return s.to_json()


@route('POST', '/_sim/ssm')
def ssm_settings(sim, query, body):
    """How long SSM takes to validate an aws:ec2:image value (ssm.py)."""
    with sim.lock:
        if 'validation_seconds' in body:
            sim.settings.ssm_validation_seconds = float(body['validation_seconds'])
        return {'validation_seconds': sim.settings.ssm_validation_seconds}


@route('GET', '/_sim/ssm')
def ssm_parameters(sim, query, body):
    """A region's parameters of every account, and the writes still under validation."""
    with sim.lock:
        region = sim.store.region(_region_of(query))
        return {'parameters': [dict(rec, Account=account)
                               for (account, _), rec in sorted(region.ssm_parameters.items())],
                'pending': list(region.ssm_pending)}


@route('GET', '/_sim/run-command')
def run_command_view(sim, query, body):
    """Per instance (all, or ?instance=ID): its agent, whether its file systems are
    frozen (since when, until which watchdog deadline), its history of freezes and
    thaws, and the commands sent to it (freeze.py)."""
    with sim.lock:
        region = sim.store.region(_region_of(query))
        return {'instances': freeze.view(region, sim.clock.now(), query.get('instance'))}


@route('POST', '/_sim/run-command')
def run_command_settings(sim, query, body):
    """{"region", "instance" (default "*": all), "agent": "online"|"offline",
    "outcome": "success"|"fail"|"hang", "invisible_gets": N, "run_seconds": S,
    "stdout", "stderr", "freeze_watchdog": S}; {"clear": true} drops the settings first."""
    with sim.lock:
        region = sim.store.region(body.pop('region', None) or _region_of(query))
        iid = body.pop('instance', None) or '*'
        if body.pop('clear', False):
            region.ssm_agents.pop(iid, None)
        freeze.set_agent(region, iid, sim.clock.now(), body)
        return {'instance': iid, 'settings': freeze.config(region, iid)}


@route('GET', '/_sim/network')
def network_view(sim, query, body):
    """The region's subnets (the default VPC's, one per zone, and those added) and
    security groups (network.py)."""
    with sim.lock:
        return network.view(sim.store.region(_region_of(query)))


@route('POST', '/_sim/network')
def network_add(sim, query, body):
    """{"region", "subnet": {"id", "vpc", "az", "cidr"}} and/or
    {"security_group": {"id", "vpc", "name"}}: add them (the default VPC's unless
    "vpc" is given); answers the records added."""
    with sim.lock:
        region = sim.store.region(body.get('region') or _region_of(query))
        network.seed_default(region)
        out = {}
        if 'subnet' in body:
            out['subnet'] = network.add_subnet(region, body['subnet'])
        if 'security_group' in body:
            out['security_group'] = network.add_group(region, body['security_group'])
        return out


@route('GET', '/_sim/boot')
def boot_view(sim, query, body):
    """Per image: its boot faults, the instances launched from it, those alive, the
    volumes they left; and the instance profiles EC2 does not know yet (boot.py)."""
    with sim.lock:
        return boot.view(sim.store.region(_region_of(query)), sim.clock.now())


@route('POST', '/_sim/boot')
def boot_settings(sim, query, body):
    """{"region", "image": "ami-...", "clear": true, "instance_status": "ok"|"impaired",
    "system_status": ..., "console": "login"|"no-login"|"none", "console_text",
    "pending": "forever", "pending_seconds", "status_seconds", "shutdown":
    "stop"|"terminate", "shutdown_after_seconds", "shutdown_reason": a StateReason
    code, "shutdown_when": "running"|"pending", "console_posted": "whole"|"early",
    "refuse": true|N} for the instances
    launched from that image from now on; {"invalid_profiles": {"NAME": N|null}}."""
    with sim.lock:
        region = sim.store.region(body.pop('region', None) or _region_of(query))
        out = {}
        if 'invalid_profiles' in body:
            profiles = body.pop('invalid_profiles')
            if not isinstance(profiles, dict):
                raise AdminError('invalid_profiles is {"NAME": count or null}')
            region.invalid_profiles.update(profiles)
            region.invalid_profiles = {k: v for k, v in region.invalid_profiles.items()
                                       if v != 0}
            out['invalid_profiles'] = region.invalid_profiles
        if 'image' in body:
            image_id = body.pop('image')
            out['image'] = image_id
            out['faults'] = boot.configure(region, image_id, body)
        elif body:
            raise AdminError('boot settings need "image"')
        return out
