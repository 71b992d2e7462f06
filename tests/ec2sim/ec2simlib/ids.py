"""Resource ids in EC2's current shapes: a prefix and 17 lowercase hex digits."""
import random
import re
import string
import uuid

_rng = random.Random()

ID_RE = re.compile(r'^(ami|i|snap|vol|r|lt)-([0-9a-f]{8}|[0-9a-f]{17})$')


def new_id(prefix):
    return '%s-%017x' % (prefix, _rng.getrandbits(68))


def request_id():
    return str(uuid.uuid4())


def well_formed(rid, prefix):
    """EC2 still accepts the old 8-digit ids, so both lengths are well formed."""
    m = ID_RE.match(rid)
    return m is not None and m.group(1) == prefix


def access_key(prefix='ASIA'):
    return prefix + ''.join(_rng.choice(string.ascii_uppercase + '234567')
                            for _ in range(16))


def secret_key():
    alphabet = string.ascii_letters + string.digits + '+/'
    return ''.join(_rng.choice(alphabet) for _ in range(40))


def session_token():
    alphabet = string.ascii_letters + string.digits + '+/'
    return 'IQoJb3JpZ2luX2VjE' + ''.join(_rng.choice(alphabet) for _ in range(300))


def principal_id(prefix):
    return prefix + ''.join(_rng.choice(string.ascii_uppercase + string.digits)
                            for _ in range(17))
