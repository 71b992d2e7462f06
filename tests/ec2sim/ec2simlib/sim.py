"""The simulator object: everything one ec2sim process holds, and its settings.

One re-entrant lock guards the state; the HTTP threads take it for the short
time an action needs. Sleeps (latency, hanging IMDS) happen outside it.
"""
import gc
import threading

from . import images
from . import store as store_mod
from .calllog import CallLog
from .clock import SimClock
from .container import ContainerState
from .faults import Buckets, Faults
from .model import Model
from .sigv4 import MAX_SKEW_SECONDS


class Settings:
    """Run-time settings: the command line sets them, /_sim/settings changes them,
    /_sim/reset restores the command line's values."""

    DEFAULTS = {
        'pending_seconds': 2.0,      # simulator seconds a new image stays pending
        # {instance id: seconds}: pending_seconds for the images of these instances
        # (replaced as a whole, never changed in place)
        'pending_seconds_by_instance': {},
        'hold': False,               # keep pending images pending
        'latency_ms': 0.0,           # added to every API answer
        'buckets': True,             # EC2's request token buckets
        'max_skew_seconds': MAX_SKEW_SECONDS,
        # Seconds the server's wall clock is ahead of the host's (negative:
        # behind): shifts the Date header of every answer and the SigV4 skew
        # check together, so a client that signs with the host's clock meets
        # the clock skew a host with a wrong clock meets at EC2.
        'date_offset_seconds': 0,
        # Seconds (simulator clock) before a new image, its snapshots and newly
        # written tags can be seen: EC2's eventual consistency. 0 = at once.
        'consistency_delay': 0.0,
        # The same for an instance RunInstances launches (common.propagated): apart,
        # since the integration tests run with a consistency_delay and launch the
        # instances they image with RunInstances. 0 = at once.
        'instance_consistency_delay': 0.0,
        # An endpoint that predates DeleteAssociatedSnapshots: DeregisterImage
        # accepts it, deletes nothing and answers no deleteSnapshotResultSet.
        'ignore_delete_associated_snapshots': False,
        # False: DeleteSnapshot answers without its <return>true</return>.
        'delete_snapshot_return': True,
        # Simulator seconds SSM takes to validate an aws:ec2:image value (ssm.py):
        # until then GetParameter shows the old value. 0: at the next SSM request.
        'ssm_validation_seconds': 0.0,
        # CopyImage: "Destination regions are limited to 50 concurrent AMI copies at a
        # time, with no more than 25 of those coming from a single source region"
        # (EC2 user guide, Copying an AMI): pending copies per account and destination.
        'copy_concurrency_per_source': 25,
        'copy_concurrency': 50,
        # The boot of an instance RunInstances launches (boot.py), in simulator
        # seconds: pending this long (0: until the next read, as the tests that launch
        # instances to image them expect), then running; its status checks initializing
        # this long more, then ok; its buffered console output posted this long after
        # it runs (Latest=true sees it at once). Small, so that tests run fast.
        'boot_pending_seconds': 0.0,
        'status_seconds': 2.0,
        'console_post_seconds': 1.0,
        # TerminateInstances and a boot's own shutdown: seconds in shutting-down (or
        # stopping) before terminated (or stopped).
        'shutdown_seconds': 0.0,
        # DescribeInstanceStatus with IncludeAllInstances lists a terminated instance
        # (not-applicable) while DescribeInstances shows it; False: leaves it out, as
        # EC2 may (the API reference promises neither).
        'status_lists_terminated': True,
    }

    def __init__(self, **values):
        unknown = set(values) - set(self.DEFAULTS)
        if unknown:
            raise TypeError(f'unknown settings {sorted(unknown)}')
        for name, default in self.DEFAULTS.items():
            setattr(self, name, values.get(name, default))

    def to_json(self):
        return {name: getattr(self, name) for name in self.DEFAULTS}


class ImdsState:
    """The instance-metadata service one simulated host would see."""

    def __init__(self):
        self.mode = 'normal'            # normal | hang | disabled
        self.role = 'ec2sim-role'
        self.account = '111122223333'
        self.region = 'us-east-1'
        self.instance_id = 'i-0123456789abcdef0'
        self.lifetime_seconds = 6 * 3600
        self.refresh_before_seconds = 300
        self.tokens = {}                # token -> expiry (real monotonic clock)
        self.current = None             # access key of the served credentials

    def to_json(self):
        return {'mode': self.mode, 'role': self.role, 'account': self.account,
                'region': self.region, 'instance_id': self.instance_id,
                'lifetime_seconds': self.lifetime_seconds,
                'refresh_before_seconds': self.refresh_before_seconds,
                'current_access_key': self.current}


class Sim:
    def __init__(self, settings):
        self.initial = settings.to_json()
        self.settings = settings
        self.lock = threading.RLock()
        self.store = store_mod.Store(on_new_region=images.add_catalog)
        self.clock = SimClock()
        self.faults = Faults()
        self.buckets = Buckets(settings.buckets)
        self.calls = CallLog()
        self.imds = ImdsState()
        self.container = ContainerState()
        self.models = {'ec2': Model('ec2', '2016-11-15'),
                       'sts': Model('sts', '2011-06-15')}
        self.denied = {}                # access key -> set of denied actions
        self.denied_roles = set()       # role ARNs AssumeRole refuses
        self.sts_max_duration = 3600    # the role's MaxSessionDuration
        self.web_identity_tokens = set()        # tokens AssumeRoleWithWebIdentity accepts
        self.web_identity_calls = []    # what each accepted call named
        self.stopping = threading.Event()
        self.state_path = None          # --state FILE, if any

    def reset(self):
        """Back to a fresh start: state, faults, buckets, calls, clock, settings."""
        with self.lock:
            self.store.reset()
            self.clock.real()
            self.faults.clear()
            self.settings = Settings(**self.initial)
            self.buckets = Buckets(self.settings.buckets)
            self.calls.clear()
            self.imds = ImdsState()
            self.container = ContainerState()
            self.denied = {}
            self.denied_roles = set()
            self.sts_max_duration = 3600
            self.web_identity_tokens = set()
            self.web_identity_calls = []

    def lookup_key(self, access_key):
        return self.store.keys.get(access_key)

    def state_json(self):
        with self.lock:
            doc = {'version': store_mod.STATE_VERSION, 'clock': self.clock.to_json(),
                   'settings': {'pending_seconds': self.settings.pending_seconds,
                                'hold': self.settings.hold}}
            doc.update(self.store.to_json())
            return doc

    def load_state(self, doc):
        collecting = gc.isenabled()
        gc.disable()             # see seed.seed: no cycles, many objects
        try:
            self._load_state(doc)
        finally:
            if collecting:
                gc.enable()

    def _load_state(self, doc):
        with self.lock:
            if doc.get('version') != store_mod.STATE_VERSION:
                raise ValueError(f"unsupported state version {doc.get('version')!r}")
            self.store.load_json(doc)
            if 'clock' in doc:
                self.clock.load_json(doc['clock'])
            settings = doc.get('settings', {})
            self.settings.pending_seconds = settings.get(
                'pending_seconds', self.settings.pending_seconds)
            self.settings.hold = settings.get('hold', self.settings.hold)

    def save(self, path):
        store_mod.write_atomically(path, self.state_json())
