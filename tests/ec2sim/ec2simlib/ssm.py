"""SSM Parameter Store over the JSON protocol (awsJson1_1), on the EC2 port.

A request is POST / with Content-Type application/x-amz-json-1.1, X-Amz-Target
AmazonSSM.<Action> and a JSON body, signed with SigV4 for service "ssm"; api.py
tells it from a Query request by the target (or the scope's service). Answers are
JSON; errors are {"__type": CODE, "message": ...} with HTTP 400 (500 for
InternalServerError), as botocore's JSON parser reads them.

Served: PutParameter, GetParameter, GetParameters, DeleteParameter. Parameters live
in region.ssm_parameters[(account, name)] as records {Name, Type, Value, Version,
DataType, LastModifiedDate, Description} (templates.py's resolve:ssm: reads Value).

DataType aws:ec2:image, as the SSM API reference says: "Amazon Web Services Systems
Manager validates the parameter value is in the required format, such as
ami-12345abcdeEXAMPLE, and that the specified AMI is available in your Amazon Web
Services account. ... If you call PutParameter with aws:ec2:image data type, a
successful HTTP 200 response does not guarantee that your parameter was
successfully created or updated. The aws:ec2:image value is validated
asynchronously ... If you submit an invalid AMI value, the PutParameter operation
will return success, but the asynchronous validation will fail and the parameter
will not be created or updated." So the format is checked at once
(ValidationException); the write waits in region.ssm_pending for
settings.ssm_validation_seconds of simulator time and then lands only if the image
exists in that region, is available and the account may launch it; a later
request sees the result.
"""
import json
import re

from . import common
from .errors import ApiError

TARGET_PREFIX = 'AmazonSSM.'
CONTENT_TYPE = 'application/x-amz-json-1.1'

# PutParameter's Name: "Parameter names can include only the following symbols and
# letters: a-zA-Z0-9_.-" and "the slash character ( / ) is used to delineate
# hierarchies"; "can't be prefixed with "aws" or "ssm" (case-insensitive)";
# "Parameter hierarchies are limited to a maximum depth of fifteen levels";
# "The maximum length for a parameter name that you specify is 1011 characters.
# This includes the characters in the ARN that precede the name".
_NAME_RE = re.compile(r'^[a-zA-Z0-9_.\-/]+$')
MAX_DEPTH = 15
MAX_NAME_WITH_ARN = 1011
# "Standard parameters: ... Maximum value size 4 KB."
MAX_VALUE = 4096
# "aws:ec2:image ... the required format, such as ami-12345abcdeEXAMPLE"
_AMI_RE = re.compile(r'^ami-([0-9a-f]{8}|[0-9a-f]{17})$')
TYPES = ('String', 'StringList', 'SecureString')
DATA_TYPES = ('text', 'aws:ec2:image', 'aws:ssm:integration')


def is_request(headers, scope):
    target = headers.get('X-Amz-Target') or ''
    return target.startswith(TARGET_PREFIX) or bool(scope and scope[3] == 'ssm')


def action_of(headers):
    target = headers.get('X-Amz-Target') or ''
    return target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else ''


def render(data):
    return json.dumps(data).encode()


def render_error(error):
    return json.dumps({'__type': error.code, 'message': error.message}).encode()


def _validation(message):
    return ApiError('ValidationException', message)


# What SigV4 failures are called by a JSON service (SSM answers them with 400).
AUTH_CODES = {
    'MissingAuthenticationToken': ('MissingAuthenticationTokenException', 400),
    'InvalidClientTokenId': ('UnrecognizedClientException', 400),
    'AuthFailure': ('UnrecognizedClientException', 400),
    'SignatureDoesNotMatch': ('InvalidSignatureException', 400),
    'IncompleteSignature': ('IncompleteSignatureException', 400),
    'RequestExpired': ('InvalidSignatureException', 400),
    'ExpiredToken': ('ExpiredTokenException', 400),
    'UnauthorizedOperation': ('AccessDeniedException', 400),
    'RequestLimitExceeded': ('ThrottlingException', 400),
    'InternalError': ('InternalServerError', 500),
}


def translate(error):
    code, status = AUTH_CODES.get(error.code, (error.code, error.status))
    return ApiError(code, error.message, status)


def parse_body(body):
    try:
        args = json.loads(body.decode('utf-8') or '{}')
    except (UnicodeDecodeError, ValueError):
        raise ApiError('SerializationException', 'Start of structure or map found where not expected.') from None
    if not isinstance(args, dict):
        raise ApiError('SerializationException', 'Start of structure or map found where not expected.')
    return args


def _string(args, key, required=True):
    value = args.get(key)
    if value is None:
        if required:
            raise _validation(f"1 validation error detected: Value null at '{key[0].lower() + key[1:]}' "
                              'failed to satisfy constraint: Member must not be null')
        return None
    if not isinstance(value, str):
        raise ApiError('SerializationException', f'Unexpected value type for {key}')
    return value


def check_name(name, region, account):
    name = name.strip()
    if not name or len(name) > 2048:
        raise _validation('1 validation error detected: Value at \'name\' failed to satisfy constraint: '
                          'Member must have length between 1 and 2048')
    if not _NAME_RE.match(name):
        raise _validation('Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). '
                          'If formed as a path, it can consist of sub-paths divided by slash symbol; '
                          'each sub-path can be formed as a mix of letters, numbers and the following '
                          '3 symbols .-_')
    first = name[1:] if name.startswith('/') else name
    if first.lower().startswith(('aws', 'ssm')):
        raise _validation('Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).')
    if '/' in name and not name.startswith('/'):
        raise _validation('Parameter name must be a fully qualified name.')
    if name.count('/') > MAX_DEPTH:
        raise ApiError('HierarchyLevelLimitExceededException',
                       'Parameter hierarchy level limit exceeded. The maximum number of levels is 15.')
    arn = f'arn:aws:ssm:{region}:{account}:parameter' + ('' if name.startswith('/') else '/')
    if len(arn) + len(name) > MAX_NAME_WITH_ARN:
        raise _validation('Parameter name: The maximum length of the parameter name, including the ARN, '
                          'is 1011 characters.')
    return name


def _lookup_name(args):
    """GetParameter's Name: a name, NAME:VERSION, or an ARN (same account only here)."""
    name = _string(args, 'Name')
    version = None
    m = re.match(r'^(.*):(\d+)$', name)
    if m and not name.startswith('arn:') or m and name.count(':') > 5:
        name, version = m.group(1), int(m.group(2))
    if name.startswith('arn:'):
        name = name.split(':parameter', 1)[-1] if ':parameter' in name else name
    return name, version


def settle(ctx):
    """Applies or drops the aws:ec2:image writes whose validation is over."""
    keep = []
    common.settle_images(ctx.sim, ctx.region, ctx.now)
    for write in ctx.region.ssm_pending:
        if write['due'] > ctx.now:
            keep.append(write)
            continue
        image = ctx.region.images.get(write['Value'])
        account = write['account']
        launchable = image is not None and (
            image['OwnerId'] == account or image.get('Public') or
            any(p.get('UserId') == account for p in image.get('_launch', [])))
        if launchable and image.get('State') == 'available':
            rec = dict(write)
            del rec['account'], rec['due']
            ctx.region.ssm_parameters[(account, rec['Name'])] = rec
    ctx.region.ssm_pending = keep


def _next_version(ctx, name):
    rec = ctx.region.ssm_parameters.get((ctx.account, name))
    versions = [rec['Version']] if rec else [0]
    versions += [w['Version'] for w in ctx.region.ssm_pending
                 if w['account'] == ctx.account and w['Name'] == name]
    return max(versions) + 1


def put_parameter(ctx, args):
    name = check_name(_string(args, 'Name'), ctx.region_name, ctx.account)
    value = _string(args, 'Value')
    kind = _string(args, 'Type', required=False)
    data_type = _string(args, 'DataType', required=False) or 'text'
    overwrite = bool(args.get('Overwrite'))
    if not value or len(value.encode()) > MAX_VALUE:
        raise _validation('1 validation error detected: Value at \'value\' failed to satisfy constraint: '
                          'Member must have length between 1 and 4096')
    if kind is not None and kind not in TYPES:
        raise _validation(f"1 validation error detected: Value '{kind}' at 'type' failed to satisfy "
                          'constraint: Member must satisfy enum value set: [SecureString, StringList, String]')
    if data_type not in DATA_TYPES:
        raise _validation(f'The following data type is not supported: {data_type} (Data type names are '
                          'all lowercase.)')
    current = ctx.region.ssm_parameters.get((ctx.account, name))
    if current is not None and not overwrite:
        raise ApiError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, '
                       'set the overwrite option in the request to true.')
    if kind is None:
        if current is None:
            raise _validation('A parameter type is required when you create a parameter.')
        kind = current['Type']
    if data_type == 'aws:ec2:image':
        if kind != 'String':
            raise _validation('The aws:ec2:image data type is supported only for String parameters.')
        if not _AMI_RE.match(value):
            raise _validation(f'Invalid format for aws:ec2:image data type: {value}. '
                              'Specify a valid Amazon Machine Image (AMI) ID, such as ami-12345abcdeEXAMPLE.')
    rec = {'Name': name, 'Type': kind, 'Value': value, 'Version': _next_version(ctx, name),
           'DataType': data_type, 'LastModifiedDate': ctx.now,
           'Description': args.get('Description') or (current or {}).get('Description', '')}
    if data_type == 'aws:ec2:image':
        due = ctx.now + ctx.settings.ssm_validation_seconds
        ctx.region.ssm_pending.append(dict(rec, account=ctx.account, due=due))
    else:
        ctx.region.ssm_parameters[(ctx.account, name)] = rec
    return {'Version': rec['Version'], 'Tier': 'Standard'}


def _view(ctx, rec):
    return {'Name': rec['Name'], 'Type': rec['Type'], 'Value': rec['Value'], 'Version': rec['Version'],
            'LastModifiedDate': rec['LastModifiedDate'],
            'ARN': f'arn:aws:ssm:{ctx.region_name}:{ctx.account}:parameter'
                   + ('' if rec['Name'].startswith('/') else '/') + rec['Name'],
            'DataType': rec['DataType']}


def _find(ctx, name, version):
    rec = ctx.region.ssm_parameters.get((ctx.account, name))
    if rec is None or (version is not None and version != rec['Version']):
        return None
    return rec


def get_parameter(ctx, args):
    name, version = _lookup_name(args)
    rec = _find(ctx, name, version)
    if rec is None:
        if version is not None and ctx.region.ssm_parameters.get((ctx.account, name)):
            raise ApiError('ParameterVersionNotFound',
                           f'Systems Manager could not find version {version} of {name}. '
                           'Verify the version and try again.')
        raise ApiError('ParameterNotFound', '')
    return {'Parameter': _view(ctx, rec)}


def get_parameters(ctx, args):
    names = args.get('Names')
    if not isinstance(names, list) or not 1 <= len(names) <= 10:
        raise _validation('1 validation error detected: Value at \'names\' failed to satisfy constraint: '
                          'Member must have length less than or equal to 10')
    found, invalid = [], []
    for given in names:
        name, version = _lookup_name({'Name': given})
        rec = _find(ctx, name, version)
        if rec is None:
            invalid.append(given)
        else:
            found.append(_view(ctx, rec))
    return {'Parameters': found, 'InvalidParameters': invalid}


def delete_parameter(ctx, args):
    name = _string(args, 'Name')
    if ctx.region.ssm_parameters.pop((ctx.account, name), None) is None:
        raise ApiError('ParameterNotFound', '')
    return {}


ACTIONS = {
    'PutParameter': put_parameter,
    'GetParameter': get_parameter,
    'GetParameters': get_parameters,
    'DeleteParameter': delete_parameter,
}
