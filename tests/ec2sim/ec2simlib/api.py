"""The Query-API request pipeline, the same for EC2 and STS.

  form/query parameters -> SigV4 (service and region from the credential scope)
  -> action known to the model? -> injected faults and latency
  -> EC2 token buckets -> parameters parsed and validated against the model
  -> UnauthorizedOperation / DryRunOperation -> the action, under the state lock
  -> XML answer, or the service's error document; every request is logged.

SSM's JSON protocol (X-Amz-Target AmazonSSM.*) takes a shorter path through the
same SigV4 check, faults and log: _handle_json() and ssm.py.
"""
import re
import sys
import time
import traceback
from urllib.parse import parse_qsl

from . import ids, sigv4, xmlout
from . import boot, images, image_attrs, instances, launch, snapshots, ssm, ssm_commands, sts, tags, \
    templates, volumes
from .errors import ApiError
from .faults import ANSWER_KINDS, GARBLED, HTML_PAGE, REQUEST_KINDS, error_for

HANDLERS = {}
for _module in (instances, launch, boot, images, image_attrs, snapshots, tags, templates, volumes,
                sts):
    HANDLERS.update(_module.ACTIONS)

# SSM's JSON actions: Parameter Store and Run Command.
JSON_HANDLERS = dict(ssm.ACTIONS, **ssm_commands.ACTIONS)

_REGION_RE = re.compile(r'^[a-z]{2}(-[a-z0-9]+)+-\d+$')

DRY_RUN = ApiError('DryRunOperation',
                   'Request would have succeeded, but DryRun flag is set.', 412)
UNAUTHORIZED = ApiError('UnauthorizedOperation',
                        'You are not authorized to perform this operation.', 403)


class Answer:
    def __init__(self, status, body, reset=False, content_type='text/xml;charset=UTF-8'):
        self.status = status
        self.body = body
        self.reset = reset              # reset the connection instead of answering
        self.content_type = content_type
        self.raw = None                 # bytes sent instead of HTTP, then close
        self.truncate = False           # half the body under the full length, close
        self.hang = None                # a 'hang' fault: never answer while it holds
        self.huge = None                # a 'huge_body' fault: the body it makes
        self.headers = {}               # more headers (x-amzn-RequestId of a JSON service)


def spoil(answer, fault):
    """What an answer fault does to the answer of an action that ran."""
    kind = fault['kind']
    if kind == 'lost_answer':
        answer.reset = True
    elif kind == 'garbled_http':
        answer.raw = GARBLED
    elif kind == 'truncated':
        answer.truncate = True
    elif kind == 'malformed_xml':
        answer.body = answer.body[:len(answer.body) // 2]
    elif kind == 'huge_body':
        answer.huge = fault


def html_answer(fault):
    status = fault['status'] or 502
    reason = {502: 'Bad Gateway', 503: 'Service Temporarily Unavailable',
              504: 'Gateway Time-out'}.get(status, 'Error')
    return Answer(status, HTML_PAGE.format(status=status, reason=reason).encode(),
                  content_type='text/html')


class Context:
    """What an action sees: the caller, its region's state, the simulator clock."""

    def __init__(self, sim, principal, request_id):
        self.sim = sim
        self.principal = principal
        self.account = principal.account
        self.region_name = principal.region
        self.region = sim.store.region(principal.region)
        self.now = sim.clock.now()
        self.request_id = request_id
        self.settings = sim.settings


def form_params(raw_query, headers, body):
    flat = dict(parse_qsl(raw_query, keep_blank_values=True))
    ctype = (headers.get('Content-Type') or '').lower()
    if body and (not ctype or 'x-www-form-urlencoded' in ctype):
        flat.update(parse_qsl(body.decode('utf-8', 'replace'), keep_blank_values=True))
    return flat


def handle(sim, method, path, raw_query, headers, body):
    request_id = ids.request_id()
    scope = sigv4.scope_of(headers)
    if ssm.is_request(headers, scope):
        return _handle_json(sim, method, path, raw_query, headers, body, scope, request_id)
    flat = form_params(raw_query, headers, body)
    action = flat.get('Action', '')
    service = scope[3] if scope and scope[3] in sim.models else (
        'sts' if sim.models['sts'].has(action) else 'ec2')
    entry = {'time': None, 'action': action, 'service': service,
             'region': scope[2] if scope else None,
             'access_key': scope[0] if scope else None,
             'params': flat, 'status': None, 'error_code': None,
             'request_id': request_id, 'fault': None}
    chosen = {}
    try:
        answer = _run(sim, method, path, raw_query, headers, body, flat, action,
                      service, request_id, chosen)
    except Exception as error:
        if not isinstance(error, ApiError):
            # A bug in the simulator: say so on stderr, answer as EC2 would.
            traceback.print_exc(file=sys.stderr)
            error = ApiError('InternalError', 'An internal error has occurred', 500)
        protocol = sim.models[service].protocol
        answer = Answer(error.status, xmlout.render_error(protocol, error, request_id))
        entry['error_code'] = error.code
    entry['status'] = None if answer.reset or answer.hang else answer.status
    if answer.reset:
        entry['error_code'] = 'ConnectionReset'
    if answer.hang:
        entry['error_code'] = 'NoAnswer'
        entry['fault'] = 'hang'
    fault = chosen.get('fault')
    if fault is not None:
        # The log keeps what the action answered; the client gets it spoiled.
        entry['fault'] = fault['kind']
        spoil(answer, fault)
    entry['time'] = sim.clock.to_json()['now']
    sim.calls.add(entry)
    return answer


def _handle_json(sim, method, path, raw_query, headers, body, scope, request_id):
    """An SSM request: SigV4, faults, the action under the state lock, a JSON answer."""
    action = ssm.action_of(headers)
    entry = {'time': None, 'action': action, 'service': 'ssm',
             'region': scope[2] if scope else None,
             'access_key': scope[0] if scope else None,
             'params': None, 'status': None, 'error_code': None,
             'request_id': request_id, 'fault': None}
    try:
        args = ssm.parse_body(body)
        entry['params'] = args
        data = _run_json(sim, method, path, raw_query, headers, body, action, args, request_id, entry)
        answer = Answer(200, ssm.render(data), content_type=ssm.CONTENT_TYPE)
    except Exception as error:
        if not isinstance(error, ApiError):
            traceback.print_exc(file=sys.stderr)
            error = ApiError('InternalServerError', 'An internal error has occurred', 500)
        error = ssm.translate(error)
        answer = Answer(error.status, ssm.render_error(error), content_type=ssm.CONTENT_TYPE)
        entry['error_code'] = error.code
    answer.headers['x-amzn-RequestId'] = request_id
    entry['status'] = answer.status
    entry['time'] = sim.clock.to_json()['now']
    sim.calls.add(entry)
    return answer


def _run_json(sim, method, path, raw_query, headers, body, action, args, request_id, entry):
    with sim.lock:
        now = sim.clock.now()
        max_skew = sim.settings.max_skew_seconds
        date_offset = sim.settings.date_offset_seconds
    principal = sigv4.authenticate(method, path, raw_query, headers, body, sim.lookup_key, now,
                                   max_skew, 'ssm', date_offset=date_offset)
    if (headers.get('Content-Type') or '').split(';')[0].strip().lower() != ssm.CONTENT_TYPE:
        raise ApiError('UnknownOperationException', '')
    handler = JSON_HANDLERS.get(action)
    if handler is None:
        raise ApiError('UnknownOperationException', '')
    with sim.lock:
        slow = sim.faults.take(('latency',), action, principal.region)
        fault = sim.faults.take([k for k in REQUEST_KINDS if k not in ('latency',) + ANSWER_KINDS
                                 and k not in ('reset', 'html', 'hang')], action, principal.region)
    if slow:
        time.sleep(sim.faults.delay_of(slow))
    if fault:
        entry['fault'] = fault['kind']
        raise error_for(fault)
    if action in sim.denied.get(principal.access_key, ()):
        raise UNAUTHORIZED
    with sim.lock:
        ctx = Context(sim, principal, request_id)
        ssm.settle(ctx)
        return handler(ctx, args)


def _unsigned_web_identity(sim, flat, action, request_id, now):
    """AssumeRoleWithWebIdentity needs no signature: the web identity token vouches."""
    model = sim.models['sts']
    try:
        args = model.parse(action, flat)
    except ApiError as error:
        raise ApiError('ValidationError', f'1 validation error detected: {error.message}') from None
    with sim.lock:
        data = sts.assume_role_with_web_identity(sim, now, args)
        return Answer(200, xmlout.render_ok(model, action, data, request_id, False))


def _run(sim, method, path, raw_query, headers, body, flat, action, service,
         request_id, chosen):
    with sim.lock:
        now = sim.clock.now()
        max_skew = sim.settings.max_skew_seconds
        date_offset = sim.settings.date_offset_seconds
    if service == 'sts' and action == 'AssumeRoleWithWebIdentity' and 'Authorization' not in headers:
        return _unsigned_web_identity(sim, flat, action, request_id, now)
    principal = sigv4.authenticate(method, path, raw_query, headers, body,
                                   sim.lookup_key, now, max_skew, service,
                                   date_offset=date_offset)
    if not _REGION_RE.match(principal.region):
        raise ApiError('SignatureDoesNotMatch', 'Credential should be scoped to a '
                       f"valid region, not '{principal.region}'.", 403)
    model = sim.models[service]
    if not action:
        raise ApiError('MissingAction', 'The request must contain the parameter Action')
    if not model.has(action):
        raise ApiError('InvalidAction',
                       f'The action {action} is not valid for this web service.')

    delay = sim.settings.latency_ms / 1000.0
    with sim.lock:
        slow = sim.faults.take(('latency',), action, principal.region)
        if slow:
            delay += sim.faults.delay_of(slow)
        fault = sim.faults.take([k for k in REQUEST_KINDS if k != 'latency'],
                                action, principal.region)
    if delay > 0:
        time.sleep(delay)
    if fault and fault['kind'] == 'reset':
        chosen['fault'] = fault
        return Answer(0, b'', reset=True)
    if fault and fault['kind'] == 'html':
        chosen['fault'] = fault
        return html_answer(fault)
    if fault and fault['kind'] == 'hang':
        answer = Answer(0, b'')
        answer.hang = fault
        return answer
    if fault and fault['kind'] in ANSWER_KINDS:
        chosen['fault'] = fault         # applied to whatever the action answers
    elif fault:
        raise error_for(fault)

    if service == 'ec2':
        with sim.lock:
            sim.buckets.take(principal.account, principal.region, action, flat)
    try:
        args = model.parse(action, flat)
    except ApiError as error:
        if service == 'sts' and error.code in ('InvalidParameterValue',
                                               'MissingParameter'):
            # STS reports bad and missing input as Coral's ValidationError.
            raise ApiError('ValidationError',
                           f'1 validation error detected: {error.message}') from None
        raise
    if action in sim.denied.get(principal.access_key, ()):
        raise UNAUTHORIZED
    if args.get('DryRun'):
        raise DRY_RUN
    handler = HANDLERS.get(action)
    if handler is None:
        # In EC2's model but not simulated: say so rather than pretend.
        raise ApiError('UnsupportedOperation',
                       f'The action {action} is not implemented by ec2sim.')
    with sim.lock:
        ctx = Context(sim, principal, request_id)
        ctx.region.apply_tag_writes(ctx.now)
        data = handler(ctx, args)
        bare = action == 'DeleteSnapshot' and not sim.settings.delete_snapshot_return
        return Answer(200, xmlout.render_ok(model, action, data, request_id, bare))
