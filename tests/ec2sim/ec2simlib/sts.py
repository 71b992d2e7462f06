"""STS: AssumeRole and GetCallerIdentity, and temporary credentials.

AssumeRole issues an (ASIA... key, secret, session token) triple for the role's
account, so a policy's role_arn in another account really works in that
account's state. Temporary keys are valid only with their token and expire on
the simulator clock; IMDS issues its credentials through issue_temporary too.
"""
import re

from . import ids
from .clock import iso_s
from .errors import ApiError

ROLE_ARN_RE = re.compile(r'^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]{1,64})$')
SESSION_RE = re.compile(r'^[\w+=,.@-]{2,64}$')

# "DurationSeconds ... can have a value from 900 seconds (15 minutes) up to the
# maximum session duration setting for the role", whose default is one hour.
MIN_DURATION = 900
DEFAULT_MAX_DURATION = 3600


def validation(message):
    return ApiError('ValidationError', message, 400)


def issue_temporary(store, account, arn, user_id, expires):
    key = store.add_key({'access_key': ids.access_key('ASIA'),
                         'secret_key': ids.secret_key(),
                         'token': ids.session_token(),
                         'account': account, 'arn': arn, 'user_id': user_id,
                         'expires': expires})
    return key


def assume_role(ctx, args):
    arn = args['RoleArn']
    m = ROLE_ARN_RE.match(arn)
    if not m:
        raise validation(f"1 validation error detected: Value '{arn}' at 'roleArn' "
                         'failed to satisfy constraint: Member must be a valid ARN')
    session = args['RoleSessionName']
    if not SESSION_RE.match(session):
        raise validation(f"1 validation error detected: Value '{session}' at "
                         "'roleSessionName' failed to satisfy constraint: Member must "
                         r"satisfy regular expression pattern: [\w+=,.@-]*")
    duration = args.get('DurationSeconds', 3600)
    max_duration = ctx.sim.sts_max_duration
    if duration < MIN_DURATION:
        raise validation(f"1 validation error detected: Value '{duration}' at "
                         "'durationSeconds' failed to satisfy constraint: Member must "
                         'have value greater than or equal to 900')
    if duration > max_duration:
        raise validation('The requested DurationSeconds exceeds the MaxSessionDuration '
                         'set for this role.')
    if arn in ctx.sim.denied_roles:
        raise ApiError('AccessDenied',
                       f'User: {ctx.principal.arn} is not authorized to perform: '
                       f'sts:AssumeRole on resource: {arn}', 403)
    account, role = m.group(1), m.group(2)
    role_id = 'AROA' + ids.principal_id('')[:17]
    assumed_arn = f'arn:aws:sts::{account}:assumed-role/{role}/{session}'
    expires = ctx.now + duration
    key = issue_temporary(ctx.sim.store, account, assumed_arn, f'{role_id}:{session}',
                          expires)
    return {'Credentials': {'AccessKeyId': key['access_key'],
                            'SecretAccessKey': key['secret_key'],
                            'SessionToken': key['token'],
                            'Expiration': iso_s(expires)},
            'AssumedRoleUser': {'AssumedRoleId': f'{role_id}:{session}',
                                'Arn': assumed_arn}}


def assume_role_with_web_identity(sim, now, args):
    """STS API reference, AssumeRoleWithWebIdentity: "Calling AssumeRoleWithWebIdentity does
    not require the use of Amazon Web Services security credentials" - the request is
    unsigned; the token is checked instead, here against the tokens a test seeded with
    POST /_sim/sts {"web_identity_tokens": [...]}; any other is InvalidIdentityToken."""
    arn = args['RoleArn']
    m = ROLE_ARN_RE.match(arn)
    if not m:
        raise validation(f"1 validation error detected: Value '{arn}' at 'roleArn' "
                         'failed to satisfy constraint: Member must be a valid ARN')
    session = args['RoleSessionName']
    if not SESSION_RE.match(session):
        raise validation(f"1 validation error detected: Value '{session}' at "
                         "'roleSessionName' failed to satisfy constraint: Member must "
                         r"satisfy regular expression pattern: [\w+=,.@-]*")
    token = args['WebIdentityToken']
    if token not in sim.web_identity_tokens:
        raise ApiError('InvalidIdentityToken', 'The web identity token that was passed could not be '
                       'validated by AWS. Get a new identity token from the identity provider and '
                       'then retry the request.', 400)
    duration = args.get('DurationSeconds', 3600)
    if duration < MIN_DURATION or duration > sim.sts_max_duration:
        raise validation('The requested DurationSeconds exceeds the MaxSessionDuration '
                         'set for this role.')
    if arn in sim.denied_roles:
        raise ApiError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 403)
    account, role = m.group(1), m.group(2)
    role_id = 'AROA' + ids.principal_id('')[:17]
    assumed_arn = f'arn:aws:sts::{account}:assumed-role/{role}/{session}'
    key = issue_temporary(sim.store, account, assumed_arn, f'{role_id}:{session}', now + duration)
    sim.web_identity_calls.append({'role_arn': arn, 'session': session, 'token': token})
    return {'Credentials': {'AccessKeyId': key['access_key'],
                            'SecretAccessKey': key['secret_key'],
                            'SessionToken': key['token'],
                            'Expiration': iso_s(now + duration)},
            'SubjectFromWebIdentityToken': 'system:serviceaccount:ec2sim:amirotd',
            'AssumedRoleUser': {'AssumedRoleId': f'{role_id}:{session}', 'Arn': assumed_arn},
            'Provider': 'oidc.eks.us-east-1.amazonaws.com/id/EC2SIM',
            'Audience': 'sts.amazonaws.com'}


def get_caller_identity(ctx, args):
    key = ctx.principal.key
    user_id = key.get('user_id') or 'AIDA' + key['access_key'][4:].ljust(17, 'X')[:17]
    return {'UserId': user_id, 'Account': key['account'], 'Arn': key['arn']}


ACTIONS = {
    'AssumeRole': assume_role,
    'GetCallerIdentity': get_caller_identity,
}
