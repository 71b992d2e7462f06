"""Injected faults and EC2's request token buckets.

A fault applies to one action or to all ("*"), optionally to one region, fires
with probability `rate` (default 1) and at most `count` times (default: no
limit). Request-level kinds are decided before the action runs:

  throttle      503 RequestLimitExceeded "Request limit exceeded."
  internal      500 InternalError
  unavailable   503 Unavailable
  error         any code/status/message given
  reset         the connection is reset (RST) without an answer
  latency       latency_ms (+ uniform jitter_ms) before answering; others still apply
  html          an HTML error page (status, default 502) from something in front of
                EC2; the action does not run
  hang          the request is read and never answered; the action does not run.
                The connection is held until the client closes it, the fault is
                deleted, `seconds` pass (if given) or the simulator stops, then
                closed without an answer

Answer kinds let the action run, with all its effects, and then spoil its answer
(an error answer too), as a network or proxy can after EC2 has done the work:

  lost_answer   the connection is reset (RST) instead of the answer
  garbled_http  bytes that are not HTTP, then the connection is closed
  truncated     the status line and headers with the full Content-Length, half
                the body, then the connection is closed
  malformed_xml the answer with its XML cut in half (Content-Length matches)
  huge_body     an answer of `bytes` bytes (default 40 MiB): with `body` "xml"
                (default) the action's own answer, still well-formed, padded with
                an XML comment inside its root element; with "garbage", bytes
                that are not XML. Content-Length announces it, or with
                `chunked` true it comes chunked, its size known only at its end

Two kinds are consulted by the actions themselves:

  image_failed      CreateImage/CopyImage: the new image goes pending -> failed
  snapshot_in_use   DeleteSnapshot (and DeregisterImage's snapshot deletion):
                    InvalidSnapshot.InUse, for `seconds` of simulator time after
                    the image using the snapshot was deregistered, or per count/rate
"""
import random
import time

from .errors import ApiError

ANSWER_KINDS = ('lost_answer', 'garbled_http', 'truncated', 'malformed_xml', 'huge_body')
REQUEST_KINDS = ('throttle', 'internal', 'unavailable', 'error', 'reset', 'latency',
                 'html', 'hang') + ANSWER_KINDS
ACTION_KINDS = ('image_failed', 'snapshot_in_use')
KINDS = REQUEST_KINDS + ACTION_KINDS

# What a load balancer or proxy in front of an API answers when it gives up.
HTML_PAGE = ('<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n'
             '<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n')
# Not an HTTP status line: what a client reads from a server that speaks
# something else, or from a corrupted stream.
GARBLED = b'HTPT/1.1 2OO K\r\n\x00\x15\x03\x01\x00\x02\x02\x50\r\n\r\n'

# huge_body: "a 40 MB body" (issue 11), and a bound on what a test may ask for.
HUGE_BODY_BYTES = 40 * 1024 * 1024
HUGE_BODY_MAX = 1024 * 1024 * 1024
# What a garbage body repeats: neither XML nor UTF-8.
GARBAGE = bytes(range(256)) * 256

THROTTLED = ('RequestLimitExceeded', 'Request limit exceeded.', 503)
CANNED = {
    'throttle': THROTTLED,
    'internal': ('InternalError', 'An internal error has occurred', 500),
    'unavailable': ('Unavailable', "The server is overloaded and can't handle the request.", 503),
}


class Faults:
    def __init__(self):
        self.faults = []
        self.next_id = 1
        self.rng = random.Random()

    def add(self, spec):
        kind = spec.get('kind')
        if kind not in KINDS:
            raise ValueError(f'unknown fault kind {kind!r}; one of {", ".join(KINDS)}')
        rate = float(spec.get('rate', 1.0))
        if not 0.0 <= rate <= 1.0:
            raise ValueError('rate must be within 0..1')
        fault = {
            'id': self.next_id, 'kind': kind, 'action': spec.get('action', '*'),
            'region': spec.get('region'), 'rate': rate,
            'count': None if spec.get('count') is None else int(spec['count']),
            'after': int(spec.get('after', 0)),
            'code': spec.get('code'), 'message': spec.get('message'),
            'status': None if spec.get('status') is None else int(spec['status']),
            'latency_ms': float(spec.get('latency_ms', 0)),
            'jitter_ms': float(spec.get('jitter_ms', 0)),
            'seconds': None if spec.get('seconds') is None else float(spec['seconds']),
            'bytes': int(spec.get('bytes', HUGE_BODY_BYTES)),
            'body': spec.get('body', 'xml'),
            'chunked': bool(spec.get('chunked', False)),
            'hits': 0,
        }
        if kind == 'error' and not fault['code']:
            raise ValueError("kind 'error' needs a code")
        if fault['body'] not in ('xml', 'garbage'):
            raise ValueError("'body' is 'xml' or 'garbage'")
        if not 0 < fault['bytes'] <= HUGE_BODY_MAX:
            raise ValueError(f"'bytes' must be within 1..{HUGE_BODY_MAX}")
        self.next_id += 1
        self.faults.append(fault)
        return fault

    def clear(self):
        self.faults = []

    def active(self, fault_id):
        """Whether the fault with this id is still in place (a hang ends when it is not)."""
        return any(f['id'] == fault_id for f in self.faults)

    def remove(self, fault_id):
        self.faults = [f for f in self.faults if f['id'] != fault_id]

    def seed(self, value):
        self.rng.seed(value)

    def take(self, kinds, action, region, applies=None):
        """The first matching fault of these kinds that fires, or None.

        applies(fault) lets an action say whether a fault concerns this case
        before its rate and count are spent.
        """
        for f in self.faults:
            if f['kind'] not in kinds:
                continue
            if f['action'] not in ('*', action):
                continue
            if f['region'] and f['region'] != region:
                continue
            if f['count'] is not None and f['count'] <= 0:
                continue
            if applies is not None and not applies(f):
                continue
            if f['after'] > 0:
                f['after'] -= 1
                continue
            if f['rate'] < 1.0 and self.rng.random() >= f['rate']:
                continue
            if f['count'] is not None:
                f['count'] -= 1
            f['hits'] += 1
            return f
        return None

    def delay_of(self, fault):
        return (fault['latency_ms'] + self.rng.uniform(0, fault['jitter_ms'])) / 1000.0


def error_for(fault):
    """The ApiError a request-level fault answers with."""
    code, message, status = CANNED.get(fault['kind'], (None, None, None))
    code = fault['code'] or code
    message = fault['message'] or message or code
    status = fault['status'] or status or 400
    return ApiError(code, message, status)


# EC2's request token buckets, from "Request throttling for the Amazon EC2 API"
# (docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html), "Request
# token bucket sizes and refill rates": (bucket maximum capacity, refill/second).
# "Limits are applied to individual API actions", so every action has a bucket
# of its category's size, per account and region.
NON_MUTATING = (100, 20)          # Describe*, List*, Search*, Get*
UNFILTERED = (50, 10)             # "Unfiltered and unpaginated non-mutating actions"
MUTATING = (50, 5)                # "All mutating API actions that are not ..."
UNFILTERED_ACTIONS = {'DescribeInstances', 'DescribeInstanceStatus',
                      'DescribeNetworkInterfaces', 'DescribeSecurityGroups',
                      'DescribeSnapshots', 'DescribeSpotInstanceRequests',
                      'DescribeVolumes'}
# "Uncategorized actions": their own sizes and refill rates.
UNCATEGORIZED = {
    'CopyImage': (100, 1),
    'CreateLaunchTemplateVersion': (100, 5),
    'CreateTags': (100, 10),
    'DeleteSnapshot': (100, 5),
    'DeleteTags': (100, 10),
    'DeregisterImage': (100, 5),
    'ModifyImageAttribute': (100, 5),
    'ModifyLaunchTemplate': (100, 5),
    'RunInstances': (5, 2),
    'TerminateInstances': (100, 5),
}
# "Resource token bucket sizes and refill rates": one token per instance.
RESOURCE = {'RunInstances': (1000, 2), 'TerminateInstances': (1000, 20)}


def bucket_for(action, flat):
    """(bucket name, capacity, refill) for a request's request-rate bucket."""
    if action in UNCATEGORIZED:
        return action, *UNCATEGORIZED[action]
    if action.startswith(('Describe', 'List', 'Search', 'Get')):
        if action in UNFILTERED_ACTIONS and not any(
                k.startswith('Filter.') or k in ('MaxResults', 'NextToken')
                for k in flat):
            return action + ':unfiltered', *UNFILTERED
        return action, *NON_MUTATING
    return action, *MUTATING


class Buckets:
    def __init__(self, enabled=True):
        self.enabled = enabled
        self.buckets = {}     # (account, region, name) -> [tokens, last refill]
        self.overrides = {}   # action -> (capacity, refill)

    def reset(self):
        self.buckets = {}

    def _take(self, ident, capacity, refill, tokens):
        now = time.monotonic()
        bucket = self.buckets.get(ident)
        if bucket is None:
            bucket = self.buckets[ident] = [float(capacity), now]
        level = min(capacity, bucket[0] + (now - bucket[1]) * refill)
        bucket[1] = now
        if level < tokens:
            bucket[0] = level
            return False
        bucket[0] = level - tokens
        return True

    def take(self, account, region, action, flat):
        """Raise RequestLimitExceeded when this request's bucket is empty."""
        if not self.enabled:
            return
        name, capacity, refill = bucket_for(action, flat)
        capacity, refill = self.overrides.get(action, (capacity, refill))
        if not self._take((account, region, name), capacity, refill, 1):
            raise ApiError(*THROTTLED)
        if action in RESOURCE:
            count = _resource_count(action, flat)
            capacity, refill = RESOURCE[action]
            if not self._take((account, region, action + ':resource'),
                              capacity, refill, count):
                raise ApiError(*THROTTLED)

    def to_json(self):
        return {'enabled': self.enabled,
                'overrides': {a: list(v) for a, v in self.overrides.items()},
                'buckets': [{'account': a, 'region': r, 'bucket': n,
                             'tokens': round(b[0], 3)}
                            for (a, r, n), b in self.buckets.items()]}


def _resource_count(action, flat):
    if action == 'RunInstances':
        try:
            return max(1, int(flat.get('MaxCount', '1')))
        except ValueError:
            return 1
    return max(1, sum(1 for k in flat if k.startswith('InstanceId.')))
