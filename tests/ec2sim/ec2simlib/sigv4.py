"""SigV4 verification with botocore's own signer.

We rebuild the request the client signed (method, Host, path, query, the headers
it listed in SignedHeaders, body), ask botocore.auth.SigV4Auth for the canonical
request, string to sign and signature under the secret we know for the access
key, and compare. What EC2 and STS answer when that fails:

  no Authorization header     EC2 MissingAuthenticationToken 401, STS 403
  unknown access key          EC2 AuthFailure 401, STS InvalidClientTokenId 403
  signature mismatch          SignatureDoesNotMatch 403
  X-Amz-Date outside window   EC2 RequestExpired 400, STS SignatureDoesNotMatch 403
  temporary key without its token, or with another one
                              EC2 AuthFailure 401, STS InvalidClientTokenId 403
  expired temporary key       EC2 RequestExpired 400 ("If you're using temporary
                              security credentials, this error can also occur if
                              the credentials have expired", EC2 error codes),
                              STS ExpiredToken 403

The skew window is EC2's 15 minutes by default (MAX_SKEW_SECONDS). Every answer,
errors included, carries the server's Date header, so a client told
RequestExpired can compute its clock offset from it, as it can with EC2.
"""
import calendar
import hashlib
import hmac
import re
import time
from urllib.parse import parse_qsl, quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .clock import real_time
from .errors import ApiError

_AUTH_RE = re.compile(
    r'^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+)\s*,\s*'
    r'SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<sig>[0-9a-fA-F]+)\s*$')
_DATE_FMT = '%Y%m%dT%H%M%SZ'
_EMPTY_SHA256 = hashlib.sha256(b'').hexdigest()

# EC2's error codes: "RequestExpired: The request reached the service more than
# 15 minutes after the date stamp on the request or more than 15 minutes after
# the request expiration date (such as for pre-signed URLs), or the date stamp on
# the request is more than 15 minutes in the future." (EC2 API reference, Error
# codes; the message EC2 sends is "Request has expired.")
MAX_SKEW_SECONDS = 15 * 60

SIG_MISMATCH = ('The request signature we calculated does not match the signature '
                'you provided. Check your AWS Secret Access Key and signing method. '
                'Consult the service documentation for details.')


class Principal:
    """Who signed: the key's record plus the scope of this request."""

    def __init__(self, key, region, service):
        self.key = key
        self.access_key = key['access_key']
        self.account = key['account']
        self.arn = key.get('arn')
        self.region = region
        self.service = service


def scope_of(headers):
    """(access key, date, region, service) from the Authorization header, or None."""
    m = _AUTH_RE.match(headers.get('Authorization', '') or '')
    if not m:
        return None
    parts = m.group('cred').split('/')
    if len(parts) != 5 or parts[4] != 'aws4_request':
        return None
    return parts[0], parts[1], parts[2], parts[3]


def _fail(service, kind, detail=''):
    if kind == 'missing':
        if service == 'sts':
            return ApiError('MissingAuthenticationToken',
                            'Request is missing Authentication Token', 403)
        return ApiError('MissingAuthenticationToken',
                        'Request is missing Authentication Token', 401)
    if kind == 'unknown':
        if service == 'sts':
            return ApiError('InvalidClientTokenId',
                            'The security token included in the request is invalid.', 403)
        return ApiError('AuthFailure',
                        'AWS was not able to validate the provided access credentials', 401)
    if kind == 'skew':
        if service == 'sts':
            return ApiError('SignatureDoesNotMatch', detail, 403)
        return ApiError('RequestExpired', 'Request has expired.', 400)
    if kind == 'expired':
        if service == 'sts':
            return ApiError('ExpiredToken',
                            'The security token included in the request is expired', 403)
        return ApiError('RequestExpired', 'Request has expired.', 400)
    if kind == 'malformed':
        return ApiError('IncompleteSignature', detail, 400 if service == 'ec2' else 403)
    return ApiError('SignatureDoesNotMatch', detail or SIG_MISMATCH, 403)


def authenticate(method, path, raw_query, headers, body, lookup_key, now_sim,
                 max_skew, default_service='ec2', date_offset=0):
    """Verify the request; return a Principal or raise ApiError.

    lookup_key(access_key) -> key record or None. now_sim is the simulator
    clock (for temporary credential expiry); skew is checked against real time
    plus date_offset (the server's wall clock, as its Date header shows it).
    """
    auth = headers.get('Authorization')
    if not auth:
        raise _fail(default_service, 'missing')
    m = _AUTH_RE.match(auth)
    if not m:
        raise _fail(default_service, 'malformed',
                    f"Authorization header requires 'Credential', 'Signature' and "
                    f"'SignedHeaders' parameters. Authorization={auth.split(' ')[0]}")
    cred = m.group('cred').split('/')
    if len(cred) != 5 or cred[4] != 'aws4_request':
        raise _fail(default_service, 'malformed',
                    f"Credential should be scoped correctly: '{m.group('cred')}'")
    access_key, scope_date, region, service, _ = cred
    if service not in ('ec2', 'sts', 'ssm'):
        raise _fail(default_service, 'mismatch',
                    f"Credential should be scoped to correct service: '{service}'.")

    amz_date = headers.get('X-Amz-Date', '')
    try:
        signed_at = calendar.timegm(time.strptime(amz_date, _DATE_FMT))
    except ValueError:
        raise _fail(service, 'malformed',
                    'Authorization header requires existence of either a '
                    "'X-Amz-Date' or a 'Date' header.") from None
    server_now = real_time() + date_offset
    skew = server_now - signed_at
    if abs(skew) > max_skew:
        now_text = time.strftime(_DATE_FMT, time.gmtime(server_now))
        raise _fail(service, 'skew',
                    f'Signature expired: {amz_date} is now earlier than '
                    f'{now_text} ({now_text} - {max_skew // 60} min.)'
                    if skew > 0 else
                    f'Signature not yet current: {amz_date} is still later than '
                    f'{now_text} ({now_text} + {max_skew // 60} min.)')
    if scope_date != amz_date[:8]:
        raise _fail(service, 'mismatch',
                    f"Credential should be scoped to a valid date: '{scope_date}'")

    host = headers.get('Host', '')
    host_region = re.match(r'^ec2\.([a-z0-9-]+)\.amazonaws\.com', host)
    if host_region and host_region.group(1) != region:
        raise _fail(service, 'mismatch',
                    f"Credential should be scoped to a valid region, not '{region}'.")

    key = lookup_key(access_key)
    if key is None:
        raise _fail(service, 'unknown')

    signed = m.group('signed').lower().split(';')
    if 'host' not in signed:
        raise _fail(service, 'mismatch')
    request_headers = {}
    for name in signed:
        values = headers.get_all(name) if hasattr(headers, 'get_all') else None
        if not values:
            raise _fail(service, 'mismatch')
        request_headers[name] = ','.join(values)

    content_sha = request_headers.get('x-amz-content-sha256')
    if content_sha and content_sha != 'UNSIGNED-PAYLOAD' and \
            content_sha != hashlib.sha256(body).hexdigest():
        raise _fail(service, 'mismatch')

    # The canonical query string is built from the decoded pairs re-encoded as
    # SigV4 prescribes, so '+' versus '%20' in the client's URL does not matter.
    query = '&'.join(f'{quote(k, safe="-_.~")}={quote(v, safe="-_.~")}'
                     for k, v in parse_qsl(raw_query, keep_blank_values=True))
    url = f'http://{host}{path}' + (f'?{query}' if query else '')
    request = AWSRequest(method=method, url=url, headers=request_headers,
                         data=body or None)
    request.context['timestamp'] = amz_date
    signer = SigV4Auth(Credentials(access_key, key['secret_key']), service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, m.group('sig').lower()):
        raise _fail(service, 'mismatch')

    # Temporary credentials are valid only together with their session token.
    token = headers.get('X-Amz-Security-Token')
    if key.get('token'):
        if token is None or not hmac.compare_digest(token, key['token']) or \
                'x-amz-security-token' not in signed:
            raise _fail(service, 'unknown')
        if key.get('expires') is not None and now_sim >= key['expires']:
            raise _fail(service, 'expired')
    elif token is not None:
        raise _fail(service, 'unknown')
    return Principal(key, region, service)
