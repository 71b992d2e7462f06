"""SSM Run Command over the JSON protocol: SendCommand, GetCommandInvocation, ListCommands.

Served beside the Parameter Store (ssm.py: same target prefix, protocol and errors) for
the instances ec2sim already has (instances.py). As the SSM API reference says:

- SendCommand's InvalidInstanceId: "SSM Agent isn't running", "SSM Agent isn't
  registered with the SSM endpoint", "The managed node isn't in a valid state". Here an
  instance that is not running, or whose agent an admin set "offline", is refused so.
  InstanceIds "up to 50 IDs" (a repeated one is DuplicateInstanceId); Comment "Maximum
  length of 100"; TimeoutSeconds (the delivery timeout) 30..2592000; only the documents
  AWS-RunShellScript and AWS-RunPowerShellScript exist (any other: InvalidDocument),
  each for its platform (else UnsupportedPlatformType), with the parameters commands
  (required), workingDirectory and executionTimeout ("Default is 3600 (1 hour). Maximum
  is 172800 (48 hours)."; else InvalidParameters).
- An invocation goes Pending -> InProgress -> Success in simulator time (the admin's
  run_seconds, default 1: a quarter of it Pending, the rest InProgress). Faults set by
  admin (POST /_sim/run-command, per instance or for all) change the outcome a command
  gets when it is sent: "fail" (Failed, ResponseCode 1, StandardErrorContent), "hang"
  (InProgress until its executionTimeout, then TimedOut / Execution Timed Out), and an
  agent that goes offline before delivery leaves it Pending until TimeoutSeconds plus
  executionTimeout, then TimedOut / Delivery Timed Out ("The command wasn't delivered to the managed node before
  the delivery timeout expired"); a terminated instance makes it Failed / Undeliverable.
- GetCommandInvocation: "The Run Command API follows an eventual consistency model";
  InvocationDoesNotExist ("The command ID and managed node ID you specified didn't
  match any invocations") for an unknown pair, and for the first invisible_gets calls
  after SendCommand when that fault is set. StandardOutputContent is cut to 24,000
  characters and StandardErrorContent to 8,000, as the model's shapes say.
- ListCommands: newest first, MaxResults 1..50 (default 50), NextToken, CommandId,
  InstanceId and Filters InvokedAfter, InvokedBefore, Status, ExecutionStage and
  DocumentName. "Run Command stores the command history for 30 days": older commands
  are dropped.

The file systems of an instance under fsfreeze (freeze.py) follow each Success.
Commands live in region.ssm_commands; the agents' state and faults in
region.ssm_agents (freeze.py's view, persisted with the rest).
"""
import json
import re
import uuid

from . import freeze
from .clock import iso_ms, parse_iso
from .errors import ApiError

SHELL = 'AWS-RunShellScript'
POWERSHELL = 'AWS-RunPowerShellScript'
DOCUMENTS = {SHELL: 'aws:runShellScript', POWERSHELL: 'aws:runPowerShellScript'}
PARAMETERS = ('commands', 'workingDirectory', 'executionTimeout')
# AWS-RunShellScript's executionTimeout: "Default is 3600 (1 hour). Maximum is 172800."
EXECUTION_TIMEOUT_DEFAULT = 3600
EXECUTION_TIMEOUT_MAX = 172800
# SendCommand: "TimeoutSeconds ... Valid Range: Minimum value of 30. Maximum value of
# 2592000"; without it, the delivery timeout is an hour, as the console's default.
DELIVERY_TIMEOUT_DEFAULT = 3600
MAX_INSTANCE_IDS = 50
MAX_COMMENT = 100
# SSM documents: "The size limit of a document is 64 KB"; the parameters sent with one
# are held to it here (MaxDocumentSizeExceeded).
MAX_DOCUMENT_BYTES = 64 * 1024
MAX_STDOUT = 24000
MAX_STDERR = 8000
MAX_RESULTS = 50
# CommandFilter: "Valid Values: InvokedAfter | InvokedBefore | Status | ExecutionStage |
# DocumentName"; Status values of ListCommands, and ExecutionStage "Executing | Complete".
FILTER_KEYS = ('InvokedAfter', 'InvokedBefore', 'Status', 'ExecutionStage', 'DocumentName')
FINAL = ('Success', 'Failed', 'TimedOut', 'Cancelled')
# StatusDetails as the API reference spells them: "Pending", "In Progress", "Delayed",
# "Success", "Delivery Timed Out", "Execution Timed Out", "Failed", "Undeliverable", ...
DETAILS = {'InProgress': 'In Progress'}
_INSTANCE_RE = re.compile(r'^(i-(\w{8}|\w{17})|mi-\w{17})$')


def _validation(message):
    return ApiError('ValidationException', message)


def _invalid_parameters(message):
    return ApiError('InvalidParameters', message)


def _int(args, key, low, high):
    value = args.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError('SerializationException', f'Unexpected value type for {key}')
    if not low <= value <= high:
        raise _validation(f"1 validation error detected: Value '{value}' at '{key[0].lower() + key[1:]}' "
                          f'failed to satisfy constraint: Member must have value between {low} and {high}')
    return value


def _document_parameters(args):
    """commands (a script), executionTimeout (seconds) from SendCommand's Parameters."""
    params = args.get('Parameters') or {}
    if not isinstance(params, dict) or any(not isinstance(v, list) or not all(isinstance(s, str) for s in v)
                                           for v in params.values()):
        raise ApiError('SerializationException', 'Parameters is a map of string lists')
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise _invalid_parameters(f'Parameters {unknown} are not defined in the document.')
    commands = params.get('commands')
    if not commands:
        raise _invalid_parameters('Parameter "commands" is required by the document.')
    if len(json.dumps(params).encode()) > MAX_DOCUMENT_BYTES:
        raise ApiError('MaxDocumentSizeExceeded', 'The content for the document exceeds the maximum size.')
    timeout = EXECUTION_TIMEOUT_DEFAULT
    if 'executionTimeout' in params:
        given = params['executionTimeout']
        if len(given) != 1 or not given[0].isdigit() or not 1 <= int(given[0]) <= EXECUTION_TIMEOUT_MAX:
            raise _invalid_parameters('Parameter "executionTimeout" must be one integer within 1..172800.')
        timeout = int(given[0])
    return '\n'.join(commands), timeout


def _check_instances(ctx, iids, document):
    if not isinstance(iids, list) or not iids:
        raise _validation('ec2sim serves SendCommand with InstanceIds only (not Targets).')
    if len(iids) > MAX_INSTANCE_IDS:
        raise _validation("1 validation error detected: Value at 'instanceIds' failed to satisfy "
                          'constraint: Member must have length less than or equal to 50')
    if len(set(iids)) != len(iids):
        raise ApiError('DuplicateInstanceId', 'You cannot specify an instance ID in more than one association.')
    refused = []
    for iid in iids:
        if not isinstance(iid, str) or not _INSTANCE_RE.match(iid):
            raise _validation(f"1 validation error detected: Value '{iid}' at 'instanceIds' failed to "
                              'satisfy constraint: Member must satisfy regular expression pattern')
        rec = ctx.region.instances.get(iid)
        if (rec is None or rec['_owner'] != ctx.account or rec['State']['Name'] != 'running'
                or not freeze.agent_online(ctx.region, iid)):
            refused.append(iid)
    if refused:
        raise ApiError('InvalidInstanceId',
                       f"Instances [[{', '.join(refused)}]] not in a valid state for account {ctx.account}")
    for iid in iids:
        windows = ctx.region.instances[iid].get('Platform') == 'windows'
        if windows != (document == POWERSHELL):
            raise ApiError('UnsupportedPlatformType',
                           f'The platform of instance {iid} is not supported by document {document}.')


def send_command(ctx, args):
    document = args.get('DocumentName')
    if not isinstance(document, str):
        raise _validation("1 validation error detected: Value null at 'documentName' failed to "
                          'satisfy constraint: Member must not be null')
    if document not in DOCUMENTS:
        raise ApiError('InvalidDocument', f'Document with name {document} does not exist.')
    comment = args.get('Comment') or ''
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise _validation("1 validation error detected: Value at 'comment' failed to satisfy constraint: "
                          'Member must have length less than or equal to 100')
    delivery = _int(args, 'TimeoutSeconds', 30, 2592000) or DELIVERY_TIMEOUT_DEFAULT
    script, execution = _document_parameters(args)
    iids = args.get('InstanceIds')
    _check_instances(ctx, iids, document)
    freeze.settle(ctx.region, ctx.now)
    command_id = str(uuid.uuid4())
    rec = {'CommandId': command_id, 'DocumentName': document, 'Comment': comment,
           'InstanceIds': list(iids), 'Parameters': args.get('Parameters'),
           'RequestedDateTime': ctx.now, 'TimeoutSeconds': delivery,
           'ExecutionTimeout': execution, 'account': ctx.account,
           'invocations': {iid: freeze.new_invocation(ctx.region, iid, ctx.now, script) for iid in iids}}
    ctx.region.ssm_commands[command_id] = rec
    return {'Command': _command_view(rec)}


def _status_of(rec):
    """A command's status: its one invocation's (the Delayed of an invocation is InProgress)."""
    states = [inv['Status'] for inv in rec['invocations'].values()]
    for status in ('Pending', 'InProgress', 'Delayed'):
        if status in states:
            return ('InProgress' if status == 'Delayed' else status), DETAILS.get(status, status)
    for status in ('TimedOut', 'Failed', 'Cancelled'):
        if status in states:
            details = [inv['StatusDetails'] for inv in rec['invocations'].values() if inv['Status'] == status]
            return status, details[0]
    return 'Success', 'Success'


def _command_view(rec):
    status, details = _status_of(rec)
    invs = rec['invocations'].values()
    done = [inv for inv in invs if inv['Status'] in FINAL]
    return {'CommandId': rec['CommandId'], 'DocumentName': rec['DocumentName'], 'DocumentVersion': '$DEFAULT',
            'Comment': rec['Comment'], 'ExpiresAfter': rec['RequestedDateTime'] + rec['TimeoutSeconds'],
            'Parameters': rec['Parameters'], 'InstanceIds': rec['InstanceIds'], 'Targets': [],
            'RequestedDateTime': rec['RequestedDateTime'], 'Status': status, 'StatusDetails': details,
            'OutputS3Region': '', 'OutputS3BucketName': '', 'OutputS3KeyPrefix': '',
            'MaxConcurrency': '50', 'MaxErrors': '0', 'TargetCount': len(rec['InstanceIds']),
            'CompletedCount': len(done),
            'ErrorCount': sum(1 for inv in done if inv['Status'] in ('Failed', 'TimedOut')
                              and inv['StatusDetails'] != 'Delivery Timed Out'),
            'DeliveryTimedOutCount': sum(1 for inv in done if inv['StatusDetails'] == 'Delivery Timed Out'),
            'ServiceRole': '', 'NotificationConfig': {'NotificationArn': '', 'NotificationEvents': [],
                                                      'NotificationType': ''},
            'CloudWatchOutputConfig': {'CloudWatchLogGroupName': '', 'CloudWatchOutputEnabled': False},
            'TimeoutSeconds': rec['TimeoutSeconds']}


def _command_id(args, required=True):
    value = args.get('CommandId')
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) != 36:
        raise _validation("1 validation error detected: Value at 'commandId' failed to satisfy constraint: "
                          'Member must have length equal to 36')
    return value


def _instance_id(args, required=True):
    value = args.get('InstanceId')
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _INSTANCE_RE.match(value):
        raise _validation(f"1 validation error detected: Value '{value}' at 'instanceId' failed to satisfy "
                          'constraint: Member must satisfy regular expression pattern')
    return value


def _elapsed(seconds):
    return f'PT{seconds:.3f}S'


def get_command_invocation(ctx, args):
    command_id, iid = _command_id(args), _instance_id(args)
    freeze.settle(ctx.region, ctx.now)
    rec = ctx.region.ssm_commands.get(command_id)
    inv = rec and rec['account'] == ctx.account and rec['invocations'].get(iid)
    if not inv or inv['invisible_gets'] > 0:
        if inv:
            inv['invisible_gets'] -= 1
        raise ApiError('InvocationDoesNotExist', '')
    started, ended = inv.get('started'), inv.get('ended')
    return {'CommandId': command_id, 'InstanceId': iid, 'Comment': rec['Comment'],
            'DocumentName': rec['DocumentName'], 'DocumentVersion': '1',
            'PluginName': DOCUMENTS[rec['DocumentName']], 'ResponseCode': inv['ResponseCode'],
            'ExecutionStartDateTime': iso_ms(started) if started is not None else '',
            'ExecutionElapsedTime': _elapsed((ended or ctx.now) - started) if started is not None else '',
            'ExecutionEndDateTime': iso_ms(ended) if ended is not None else '',
            'Status': inv['Status'], 'StatusDetails': inv['StatusDetails'],
            'StandardOutputContent': inv['stdout'][:MAX_STDOUT], 'StandardOutputUrl': '',
            'StandardErrorContent': inv['stderr'][:MAX_STDERR], 'StandardErrorUrl': '',
            'CloudWatchOutputConfig': {'CloudWatchLogGroupName': '', 'CloudWatchOutputEnabled': False}}


def _filters(args):
    filters = args.get('Filters')
    if filters is None:
        return []
    if not isinstance(filters, list) or not 1 <= len(filters) <= 5:
        raise _validation("1 validation error detected: Value at 'filters' failed to satisfy constraint: "
                          'Member must have length between 1 and 5')
    out = []
    for f in filters:
        key, value = (f.get('key'), f.get('value')) if isinstance(f, dict) else (None, None)
        if key not in FILTER_KEYS:
            raise ApiError('InvalidFilterKey', f'The filter key {key} is not valid.')
        if not isinstance(value, str) or not 1 <= len(value) <= 128:
            raise _validation("1 validation error detected: Value at 'filters.value' failed to satisfy "
                              'constraint: Member must have length between 1 and 128')
        if key in ('InvokedAfter', 'InvokedBefore'):
            try:
                value = parse_iso(value)
            except ValueError:
                raise ApiError('InvalidFilterValue', f'The filter value {f["value"]} is not valid.') from None
        out.append((key, value))
    return out


def _matches(rec, filters):
    status, details = _status_of(rec)
    for key, value in filters:
        if key == 'InvokedAfter' and rec['RequestedDateTime'] < value:
            return False
        if key == 'InvokedBefore' and rec['RequestedDateTime'] > value:
            return False
        if key == 'DocumentName' and rec['DocumentName'] != value:
            return False
        # Status filter values are spelt without spaces ("DeliveryTimedOut", "ExecutionTimedOut"),
        # StatusDetails with them ("Delivery Timed Out").
        if key == 'Status' and value not in (status, details.replace(' ', '')):
            return False
        if key == 'ExecutionStage' and value != ('Complete' if status in FINAL else 'Executing'):
            return False
    return True


def list_commands(ctx, args):
    command_id = _command_id(args, required=False)
    iid = _instance_id(args, required=False)
    max_results = _int(args, 'MaxResults', 1, MAX_RESULTS) or MAX_RESULTS
    filters = _filters(args)
    freeze.settle(ctx.region, ctx.now)
    if command_id is not None and command_id not in ctx.region.ssm_commands:
        raise ApiError('InvalidCommandId', '')
    # Newest first; commands sent at the same instant, the later sent first (the table
    # keeps the order they were sent in).
    chosen = [rec for rec in reversed(list(ctx.region.ssm_commands.values()))
              if rec['account'] == ctx.account
              and (command_id is None or rec['CommandId'] == command_id)
              and (iid is None or iid in rec['invocations'])
              and _matches(rec, filters)]
    chosen.sort(key=lambda r: r['RequestedDateTime'], reverse=True)
    start = 0
    token = args.get('NextToken')
    if token is not None:
        if not isinstance(token, str) or not token.startswith('ec2sim-commands-') \
                or not token[16:].isdigit():
            raise ApiError('InvalidNextToken', 'The specified token is not valid.')
        start = int(token[16:])
    page = chosen[start:start + max_results]
    out = {'Commands': [_command_view(rec) for rec in page]}
    if start + max_results < len(chosen):
        out['NextToken'] = f'ec2sim-commands-{start + max_results}'
    return out


ACTIONS = {
    'SendCommand': send_command,
    'GetCommandInvocation': get_command_invocation,
    'ListCommands': list_commands,
}
