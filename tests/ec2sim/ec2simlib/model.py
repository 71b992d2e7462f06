"""Query-parameter parsing and validation against botocore's service models.

A request arrives as flat form pairs (Filter.1.Name=..., Filter.1.Value.1=...).
We turn them into the nested input that botocore's serializer would have been
given, by walking the operation's input shape the way botocore's serializers
name things:

  ec2 protocol (EC2Serializer): a member is called by its queryName, else its
  locationName with the first letter upper-cased, else its member name; lists
  are flattened as Name.N; structures as Name.Member.
  query protocol (QuerySerializer, STS): locationName else member name; lists as
  Name.member.N unless flattened.

Anything the shape does not know is UnknownParameter, a required member that is
absent is MissingParameter, and a value of the wrong type is
InvalidParameterValue, which is what EC2 answers.

botocore 1.29's EC2 model predates some parameters EC2 has since added; those
are listed explicitly in EC2_EXTRA_MEMBERS so that a current client is not
rejected for using them.
"""
import base64
import binascii
import copy
import re

from botocore.loaders import Loader

from . import clock
from .errors import ApiError, invalid_value, missing, unknown_parameter

# Members EC2 added after the model botocore 1.29 ships. Each is
# (shape, member, definition) with the definition as a newer model has it.
EC2_EXTRA_MEMBERS = [
    # DescribeImages paging (EC2, 2023): "MaxResults: The maximum number of
    # results to return with a single call", "NextToken: The token for the next
    # page of results." The answer then carries nextToken.
    ('DescribeImagesRequest', 'MaxResults', {'shape': 'Integer'}),
    ('DescribeImagesRequest', 'NextToken', {'shape': 'String'}),
    ('DescribeImagesResult', 'NextToken',
     {'shape': 'String', 'locationName': 'nextToken'}),
    # DescribeImages IncludeDisabled (2023): also list disabled AMIs.
    ('DescribeImagesRequest', 'IncludeDisabled', {'shape': 'Boolean'}),
    # DeregisterImage DeleteAssociatedSnapshots (2025): "Specifies whether to
    # delete the snapshots associated with the AMI during deregistration."
    ('DeregisterImageRequest', 'DeleteAssociatedSnapshots', {'shape': 'Boolean'}),
    # CopyImage TagSpecifications (2024): tag the new AMI and its snapshots.
    ('CopyImageRequest', 'TagSpecifications',
     {'shape': 'TagSpecificationList', 'locationName': 'TagSpecification'}),
    # Image sourceInstanceId and lastLaunchedTime (2024) in DescribeImages.
    ('Image', 'SourceInstanceId',
     {'shape': 'String', 'locationName': 'sourceInstanceId'}),
    ('Image', 'LastLaunchedTime',
     {'shape': 'String', 'locationName': 'lastLaunchedTime'}),
    # Image deregistrationProtection (2024): "Indicates whether deregistration
    # protection is enabled for the AMI": disabled, enabled-without-cooldown or
    # enabled-with-cooldown (awscli's examples, terraform-provider-aws).
    ('Image', 'DeregistrationProtection',
     {'shape': 'String', 'locationName': 'deregistrationProtection'}),
    # DescribeLaunchTemplateVersions ResolveAlias (2022): "If true, and if a Systems
    # Manager parameter is specified for ImageId, the AMI ID is displayed in the
    # response for imageId. If false, ... the parameter is displayed."
    ('DescribeLaunchTemplateVersionsRequest', 'ResolveAlias', {'shape': 'Boolean'}),
]

# Actions EC2 added after botocore 1.29: {action: (input members, required,
# output member shape or None)}. Their input also takes DryRun.
#   DisableImage (2023): "Sets the AMI state to disabled and removes all launch
#   permissions from the AMI." EnableImage: "Re-enables a disabled AMI."
#   Enable/DisableImageDeregistrationProtection (2024): "When deregistration
#   protection is enabled, the AMI can't be deregistered"; WithCooldown: "If
#   true, enforces deregistration protection for 24 hours after deregistration
#   protection is disabled." Their return is a String (the new state, e.g.
#   "enabled-without-cooldown", in awscli's examples); DisableImage's and
#   EnableImage's a Boolean.
EC2_EXTRA_OPERATIONS = {
    'DisableImage': ({'ImageId': 'String'}, ['ImageId'], 'Boolean'),
    'EnableImage': ({'ImageId': 'String'}, ['ImageId'], 'Boolean'),
    'EnableImageDeregistrationProtection':
        ({'ImageId': 'String', 'WithCooldown': 'Boolean'}, ['ImageId'], 'String'),
    'DisableImageDeregistrationProtection':
        ({'ImageId': 'String'}, ['ImageId'], 'String'),
}

# Enum values EC2 added: DisableImage puts an image in state "disabled".
EC2_EXTRA_ENUM_VALUES = {'ImageState': ['disabled']}

# Shapes those members need, as EC2's current model defines them.
EC2_EXTRA_SHAPES = {
    'SnapshotReturnCodes': {
        'type': 'string',
        'enum': ['success', 'skipped', 'missing-permissions', 'internal-error',
                 'client-error']},
    'DeleteSnapshotReturnCode': {
        'type': 'structure',
        'members': {
            'SnapshotId': {'shape': 'String', 'locationName': 'snapshotId'},
            'ReturnCode': {'shape': 'SnapshotReturnCodes',
                           'locationName': 'returnCode'}}},
    'DeleteSnapshotResultSet': {
        'type': 'list',
        'member': {'shape': 'DeleteSnapshotReturnCode', 'locationName': 'item'}},
    # DeregisterImage now answers <return>true</return> plus, when asked to
    # delete snapshots, deleteSnapshotResultSet.
    'DeregisterImageResult': {
        'type': 'structure',
        'members': {
            'Return': {'shape': 'Boolean', 'locationName': 'return'},
            'DeleteSnapshotResults': {'shape': 'DeleteSnapshotResultSet',
                                      'locationName': 'deleteSnapshotResultSet'}}},
}

EC2_EXTRA_OUTPUTS = {'DeregisterImage': 'DeregisterImageResult'}

# Enums we do not enforce: EC2 adds values (new instance types, new resource
# types) faster than an old model lists them, and EC2 itself does not reject
# an unknown instance type as a parameter error.
UNCHECKED_ENUMS = {'InstanceType', 'ResourceType'}

# Parameters that are part of the protocol, not of the operation's input.
PROTOCOL_PARAMS = {'Action', 'Version'}

_INT_RE = re.compile(r'^[+-]?\d+$')

_loader = Loader()


class Model:
    """One service's operations and shapes, with EC2's later additions."""

    def __init__(self, service, api_version):
        raw = _loader.load_service_model(service, 'service-2', api_version)
        self.service = service
        self.protocol = raw['metadata']['protocol']
        ns = raw['metadata']['xmlNamespace']
        self.namespace = ns if ns.endswith('/') else ns + '/'
        self.shapes = copy.deepcopy(raw['shapes'])
        self.operations = {name: dict(op) for name, op in raw['operations'].items()}
        if service == 'ec2':
            self.shapes.update(copy.deepcopy(EC2_EXTRA_SHAPES))
            for shape, member, definition in EC2_EXTRA_MEMBERS:
                self.shapes[shape]['members'][member] = dict(definition)
            for op, shape in EC2_EXTRA_OUTPUTS.items():
                self.operations[op]['output'] = {'shape': shape}
            for op, (members, required, result) in EC2_EXTRA_OPERATIONS.items():
                self._add_operation(op, members, required, result)
            for shape, values in EC2_EXTRA_ENUM_VALUES.items():
                self.shapes[shape]['enum'] = self.shapes[shape]['enum'] + values
        self._wire_cache = {}

    def _add_operation(self, name, members, required, result):
        request = {'type': 'structure', 'required': list(required),
                   'members': {m: {'shape': s} for m, s in members.items()}}
        request['members']['DryRun'] = {'shape': 'Boolean', 'locationName': 'dryRun'}
        self.shapes[name + 'Request'] = request
        op = {'name': name, 'http': {'method': 'POST', 'requestUri': '/'},
              'input': {'shape': name + 'Request'}}
        if result:
            self.shapes[name + 'Result'] = {'type': 'structure', 'members': {
                'Return': {'shape': result, 'locationName': 'return'}}}
            op['output'] = {'shape': name + 'Result'}
        self.operations[name] = op

    def has(self, action):
        return action in self.operations

    def input_shape(self, action):
        ref = self.operations[action].get('input')
        return ref['shape'] if ref else None

    def output_shape(self, action):
        ref = self.operations[action].get('output')
        return ref['shape'] if ref else None

    def result_wrapper(self, action):
        ref = self.operations[action].get('output') or {}
        return ref.get('resultWrapper')

    def members(self, shape_name):
        return self.shapes[shape_name].get('members', {})

    # -- parsing -----------------------------------------------------------

    def parse(self, action, flat):
        """flat: {name: value} from the form body and query string."""
        shape = self.input_shape(action)
        tree = {}
        for key, value in flat.items():
            if key in PROTOCOL_PARAMS or key.startswith('X-Amz-'):
                continue
            _insert(tree, key, value)
        if shape is None:
            if tree:
                raise unknown_parameter(next(iter(tree)))
            return {}
        return self._structure(shape, tree, '')

    def _wire_names(self, shape_name):
        names = self._wire_cache.get(shape_name)
        if names is None:
            names = {}
            for member, ref in self.members(shape_name).items():
                names[self._wire_name(member, ref)] = member
            self._wire_cache[shape_name] = names
        return names

    def _wire_name(self, member, ref):
        if self.protocol == 'ec2':
            if 'queryName' in ref:
                return ref['queryName']
            if 'locationName' in ref:
                name = ref['locationName']
                return name[0].upper() + name[1:]
            return member
        return ref.get('locationName', member)

    def _value(self, shape_name, node, name):
        shape = self.shapes[shape_name]
        kind = shape['type']
        if kind == 'structure':
            if not isinstance(node, dict):
                raise invalid_value(f'Value ({node[1]}) for parameter {name} is invalid.')
            return self._structure(shape_name, node, name + '.')
        if kind == 'list':
            return self._list(shape, node, name)
        if isinstance(node, dict):
            # Name.1=... given for a scalar: not a parameter EC2 knows.
            raise unknown_parameter(name + '.' + next(iter(node)))
        return _scalar(shape_name, shape, node[1], name, self.protocol)

    def _structure(self, shape_name, node, prefix):
        names = self._wire_names(shape_name)
        out = {}
        for wire, sub in node.items():
            member = names.get(wire)
            if member is None:
                raise unknown_parameter(prefix + wire)
            ref = self.members(shape_name)[member]
            out[member] = self._value(ref['shape'], sub, prefix + wire)
        for required in self.shapes[shape_name].get('required', []):
            if required not in out:
                ref = self.members(shape_name)[required]
                raise missing(prefix + self._wire_name(required, ref))
        return out

    def _list(self, shape, node, name):
        if not isinstance(node, dict):
            raise unknown_parameter(name)
        if self.protocol == 'query' and not shape.get('flattened'):
            inner = shape['member'].get('locationName', 'member')
            extra = [k for k in node if k != inner]
            if extra:
                raise unknown_parameter(f'{name}.{extra[0]}')
            node = node.get(inner, {})
            name = f'{name}.{inner}'
        items = []
        for index, sub in node.items():
            if not index.isdigit() or int(index) < 1:
                raise unknown_parameter(f'{name}.{index}')
            items.append((int(index), index, sub))
        items.sort()
        member_shape = shape['member']['shape']
        return [self._value(member_shape, sub, f'{name}.{index}')
                for _, index, sub in items]


def _insert(tree, key, value):
    parts = key.split('.')
    node = tree
    for part in parts[:-1]:
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        elif not isinstance(nxt, dict):
            raise unknown_parameter(key)
        node = nxt
    last = parts[-1]
    if isinstance(node.get(last), dict):
        raise unknown_parameter(key)
    node[last] = (key, value)


def _scalar(shape_name, shape, text, name, protocol):
    kind = shape['type']
    if kind == 'string':
        enum = shape.get('enum')
        if enum and shape_name not in UNCHECKED_ENUMS and text not in enum:
            raise invalid_value(f'Value ({text}) for parameter {name} is invalid. '
                                f'Valid values: {", ".join(enum)}')
        if protocol == 'ec2':
            # EC2 checks string lengths in each action, with the action's own
            # error code (InvalidAMIName.Malformed, ...), not generically.
            return text
        if 'min' in shape and len(text) < shape['min']:
            raise invalid_value(f'Value ({text}) for parameter {name} is invalid. '
                                f'Length must be at least {shape["min"]}.')
        if 'max' in shape and len(text) > shape['max']:
            raise invalid_value(f'Value ({text}) for parameter {name} is invalid. '
                                f'Length must be at most {shape["max"]}.')
        return text
    if kind in ('integer', 'long'):
        if not _INT_RE.match(text):
            raise invalid_value(f'Value ({text}) for parameter {name} is invalid. '
                                f'Expected: \'{kind}\'.')
        number = int(text)
        if 'min' in shape and number < shape['min'] or \
                'max' in shape and number > shape['max']:
            raise invalid_value(f'Value ({text}) for parameter {name} is invalid. '
                                'It is out of range.')
        return number
    if kind == 'boolean':
        lowered = text.lower()
        if lowered not in ('true', 'false'):
            raise invalid_value(f'Value ({text}) for parameter {name} is invalid. '
                                'Expected: \'true\' or \'false\'.')
        return lowered == 'true'
    if kind in ('double', 'float'):
        try:
            return float(text)
        except ValueError:
            raise invalid_value(f'Value ({text}) for parameter {name} is invalid. '
                                f'Expected: \'{kind}\'.') from None
    if kind == 'timestamp':
        try:
            return clock.parse_iso(text)
        except ValueError:
            raise invalid_value(f'Value ({text}) for parameter {name} is invalid. '
                                'Expected: ISO 8601 timestamp.') from None
    if kind == 'blob':
        try:
            base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise invalid_value(f'Invalid BASE64 encoding of {name}') from None
        return text
    raise ApiError('InternalError', f'unsupported shape type {kind}', 500)
