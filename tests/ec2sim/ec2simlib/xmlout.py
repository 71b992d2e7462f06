"""Response and error XML, generated from the models' output shapes.

Element names come from the model (a member's locationName, else its name; list
members as <item> for EC2 and <member> for STS), so they are EC2's by
construction. Data is a dict keyed by the model's member names, the same shape
botocore's parser returns; keys the shape does not know (the simulator's private
fields, which start with '_') are ignored. A resource's Tags may be held as a
plain {key: value} dict; it is written as EC2's tagSet of key/value items.
"""
from xml.sax.saxutils import escape

from . import clock

XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def render_ok(model, action, data, request_id, bare=False):
    """bare: leave out the <return>true</return> of an action without output."""
    out = [XML_DECL]
    root = action + 'Response'
    out.append(f'<{root} xmlns="{model.namespace}">')
    shape = model.output_shape(action)
    if model.protocol == 'ec2':
        out.append(f'<requestId>{request_id}</requestId>')
        if shape is None:
            # EC2 answers actions without an output shape with <return>true</return>.
            if not bare:
                out.append('<return>true</return>')
        else:
            _members(model, shape, data or {}, out)
    else:
        wrapper = model.result_wrapper(action)
        if wrapper:
            out.append(f'<{wrapper}>')
            _members(model, shape, data or {}, out)
            out.append(f'</{wrapper}>')
        out.append(f'<ResponseMetadata><RequestId>{request_id}</RequestId>'
                   '</ResponseMetadata>')
    out.append(f'</{root}>')
    return ''.join(out).encode()


def render_error(protocol, error, request_id):
    code, message = escape(error.code), escape(error.message)
    if protocol == 'ec2':
        return (XML_DECL + '<Response><Errors><Error>'
                f'<Code>{code}</Code><Message>{message}</Message>'
                f'</Error></Errors><RequestID>{request_id}</RequestID></Response>'
                ).encode()
    kind = 'Receiver' if error.status >= 500 else 'Sender'
    return (XML_DECL + '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f'<Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message>'
            f'</Error><RequestId>{request_id}</RequestId></ErrorResponse>').encode()


def _members(model, shape_name, data, out):
    for member, ref in model.members(shape_name).items():
        value = data.get(member)
        if value is None:
            continue
        name = ref.get('locationName', member)
        _element(model, ref['shape'], name, value, out)


def _element(model, shape_name, name, value, out):
    shape = model.shapes[shape_name]
    kind = shape['type']
    if kind == 'structure':
        out.append(f'<{name}>')
        _members(model, shape_name, value, out)
        out.append(f'</{name}>')
    elif kind == 'list':
        if isinstance(value, dict):      # a {key: value} tag dict
            value = [{'Key': k, 'Value': v} for k, v in value.items()]
        member_shape = shape['member']['shape']
        if shape.get('flattened'):
            item_name = shape['member'].get('locationName', name)
            for item in value:
                _element(model, member_shape, item_name, item, out)
            return
        default_item = 'item' if model.protocol == 'ec2' else 'member'
        item_name = shape['member'].get('locationName', default_item)
        out.append(f'<{name}>')
        for item in value:
            _element(model, member_shape, item_name, item, out)
        out.append(f'</{name}>')
    else:
        out.append(f'<{name}>{_scalar(kind, value)}</{name}>')


def _scalar(kind, value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if kind == 'timestamp' and isinstance(value, (int, float)):
        return clock.iso_ms(value)
    if isinstance(value, str):
        return escape(value)
    return str(value)
