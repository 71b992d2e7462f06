"""EC2 describe filters and NextToken paging.

Filters: each Filter has a Name and Values; values of one filter are OR-ed,
filters are AND-ed; values may use * and ? wildcards; names and values are
case-sensitive (EC2's "Filter names are case-sensitive"). tag:KEY, tag-key and
tag-value work on every taggable resource; other names come from the action's
table of getters. An unknown name is InvalidParameterValue, as EC2 answers.

Limits: EC2 refuses more than 200 filter values in one call and any value longer
than 255 characters, both with 400 FilterLimitExceeded, before it looks at the
names. The API reference does not state them; EC2's answers do (quoted below).

Exact tag:KEY and tag-key filters are answered from the region's tag index, so
a filtered describe over 100 000 images looks at the few that match.

Paging: results are ordered by id and the NextToken carries the last id
returned, so a page boundary survives records being added or removed.
"""
import base64
import binascii
import bisect
import re

from .errors import invalid_value, ApiError

_WILD_RE = re.compile(r'\\\*|\\\?|\\\\|\*|\?|[^*?\\]+|\\')


def _pattern(value):
    """EC2 wildcards: * any run, ? one character, \\*, \\? and \\\\ literal ("a filter
    value of \\*amazon\\?\\\\ specifies the literal string *amazon?\\"); any other
    backslash is itself."""
    if '*' not in value and '?' not in value and '\\\\' not in value:
        return None
    parts = []
    for tok in _WILD_RE.findall(value):
        if tok == '*':
            parts.append('.*')
        elif tok == '?':
            parts.append('.')
        elif tok in ('\\*', '\\?', '\\\\'):
            parts.append(re.escape(tok[1]))
        else:
            parts.append(re.escape(tok))
    return re.compile('^' + ''.join(parts) + '$', re.S)


class _Values:
    def __init__(self, values):
        self.exact = set()
        self.patterns = []
        for v in values:
            p = _pattern(v)
            if p is None:
                self.exact.add(v)
            else:
                self.patterns.append(p)

    def match(self, text):
        if text is None:
            return False
        if text in self.exact:
            return True
        return any(p.match(text) for p in self.patterns)

    def match_any(self, texts):
        return any(self.match(t) for t in texts)


def _text(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if value is None:
        return None
    return str(value)


# "FilterLimitExceeded: The maximum number of filter values specified on a single
# call is 200" (EC2's answer to DescribeInstances, gjbae1212/gossm#47,
# convox/rack#2205): counted over all filters of the call, as the message says.
MAX_FILTER_VALUES = 200
# "FilterLimitExceeded ... The maximum length for a filter value is 255
# characters" (EC2's answer, ansible-collections/amazon.aws#2393).
MAX_FILTER_VALUE_LENGTH = 255


def check_limits(filters):
    values = [v for f in filters or [] for v in f.get('Values') or []]
    if len(values) > MAX_FILTER_VALUES:
        raise ApiError('FilterLimitExceeded', 'The maximum number of filter values '
                       f'specified on a single call is {MAX_FILTER_VALUES}')
    if any(len(v) > MAX_FILTER_VALUE_LENGTH for v in values):
        raise ApiError('FilterLimitExceeded', 'The maximum length for a filter value '
                       f'is {MAX_FILTER_VALUE_LENGTH} characters')


class Filters:
    """Compiled filters for one describe call."""

    def __init__(self, filters, getters):
        check_limits(filters)
        self.tests = []
        self.index_keys = []   # [(key, exact values)] usable with the tag index
        self.index_tag_keys = []
        for f in filters or []:
            name = f.get('Name')
            values = f.get('Values') or []
            if not name:
                raise invalid_value('The filter name is missing')
            if not values:
                raise invalid_value(f"The filter '{name}' requires a value")
            vals = _Values(values)
            if name.startswith('tag:'):
                key = name[4:]
                self.tests.append(lambda r, k=key, v=vals: v.match(r.get('Tags', {}).get(k)))
                if not vals.patterns:
                    self.index_keys.append((key, vals.exact))
            elif name == 'tag-key':
                self.tests.append(lambda r, v=vals: v.match_any(r.get('Tags', {}).keys()))
                if not vals.patterns:
                    self.index_tag_keys.append(vals.exact)
            elif name == 'tag-value':
                self.tests.append(lambda r, v=vals: v.match_any(r.get('Tags', {}).values()))
            elif name in getters:
                get = getters[name]
                self.tests.append(
                    lambda r, g=get, v=vals: v.match_any(_many(g(r))))
            else:
                raise invalid_value(f"The filter '{name}' is invalid")

    def match(self, rec):
        return all(test(rec) for test in self.tests)

    def candidates(self, region, table):
        """Ids worth testing: narrowed by the tag index when possible."""
        ids = None
        for key, values in self.index_keys:
            found = set()
            for v in values:
                found |= region.tags.by_pair.get((key, v), set())
            ids = found if ids is None else ids & found
        for keys in self.index_tag_keys:
            found = set()
            for k in keys:
                found |= region.tags.by_key.get(k, set())
            ids = found if ids is None else ids & found
        if ids is None:
            return table.keys()
        return [i for i in ids if i in table]


def _many(value):
    if isinstance(value, (list, tuple, set)):
        return [_text(v) for v in value]
    return [_text(value)]


def encode_token(last_id):
    return base64.urlsafe_b64encode(('v1:' + last_id).encode()).decode()


def page(ids, max_results, next_token, lo, hi, default_page=1000):
    """Sort ids, apply NextToken and MaxResults; return (ids, next token or None).

    Without MaxResults and NextToken everything is returned (EC2 does the same).
    """
    if max_results is not None and not lo <= max_results <= hi:
        raise invalid_value(
            f'Value ( {max_results} ) for parameter maxResults is invalid. '
            f'Expecting a value between {lo} and {hi}.')
    ordered = sorted(ids)
    if max_results is None and next_token is None:
        return ordered, None
    start = 0
    if next_token is not None:
        try:
            raw = base64.urlsafe_b64decode(next_token.encode()).decode()
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raw = ''
        if not raw.startswith('v1:'):
            raise ApiError('InvalidParameterValue',
                           f"Invalid value '{next_token}' for nextToken")
        last = raw[3:]
        start = bisect.bisect_right(ordered, last)
    size = max_results if max_results is not None else default_page
    chunk = ordered[start:start + size]
    more = start + size < len(ordered)
    return chunk, (encode_token(chunk[-1]) if more and chunk else None)
