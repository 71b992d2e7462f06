"""Image attributes: deprecation, launch permissions, description, lastLaunchedTime,
the disabled state and deregistration protection.

EnableImageDeprecation / DisableImageDeprecation, ModifyImageAttribute,
DescribeImageAttribute, DisableImage / EnableImage and
Enable/DisableImageDeregistrationProtection. Only the image's owner may change
or read them; EC2 answers anyone else with AuthFailure "Not authorized for
image:ami-...".
"""
import re

from . import common
from .clock import iso_ms
from .errors import ApiError, invalid_value, missing

# EnableImageDeprecation DeprecateAt: "You can't specify a date in the past.
# The upper limit for DeprecateAt is 10 years from now", and "If you specify a
# value for seconds, Amazon EC2 rounds the seconds to the nearest minute."
TEN_YEARS = 10 * 365 * 86400


def enable_image_deprecation(ctx, args):
    rec = common.find_image(ctx, args['ImageId'], owned=True)
    at = args['DeprecateAt']
    if at <= ctx.now:
        raise invalid_value('The DeprecateAt time must be in the future.')
    if at > ctx.now + TEN_YEARS:
        raise invalid_value('The DeprecateAt time must be at most 10 years from now.')
    rec['DeprecationTime'] = iso_ms(round(at / 60.0) * 60)
    return {'Return': True}


def disable_image_deprecation(ctx, args):
    rec = common.find_image(ctx, args['ImageId'], owned=True)
    rec.pop('DeprecationTime', None)
    return {'Return': True}


# EC2's reference gives the ARNs no pattern; Image Builder's LaunchPermissionConfiguration,
# which it hands to ModifyImageAttribute, does.
ORGANIZATION_PATTERNS = {
    'OrganizationArn': r'^arn:aws[^:]*:organizations::[0-9]{12}:organization/o-[a-z0-9]{10,32}$',
    'OrganizationalUnitArn': (r'^arn:aws[^:]*:organizations::[0-9]{12}:ou/o-[a-z0-9]{10,32}/'
                              r'ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$'),
}


def _permission(entry):
    if entry.get('Group'):
        if entry['Group'] != 'all':
            raise invalid_value(f"Invalid group '{entry['Group']}': only 'all' is valid")
        return {'Group': 'all'}
    user = entry.get('UserId')
    if user:
        if not re.match(r'^\d{12}$', user):
            raise ApiError('InvalidAMIAttributeItemValue',
                           f'Invalid attribute item value "{user}" for userId item type.')
        return {'UserId': user}
    for arn, pattern in ORGANIZATION_PATTERNS.items():
        if entry.get(arn):
            if not re.match(pattern, entry[arn]):
                raise invalid_value(f"Invalid {arn} '{entry[arn]}'")
            return {arn: entry[arn]}
    raise invalid_value('A launch permission needs a UserId or a Group')


def _apply(rec, add, remove):
    perms = rec.setdefault('_launch', [])
    for p in remove:
        if p in perms:
            perms.remove(p)
    for p in add:
        if p not in perms:
            perms.append(p)
    rec['Public'] = {'Group': 'all'} in perms


def modify_image_attribute(ctx, args):
    rec = common.find_image(ctx, args['ImageId'], owned=True)
    attribute = args.get('Attribute')
    if args.get('LaunchPermission') is not None:
        lp = args['LaunchPermission']
        _apply(rec, [_permission(p) for p in lp.get('Add', [])],
               [_permission(p) for p in lp.get('Remove', [])])
    elif attribute == 'launchPermission':
        op = args.get('OperationType')
        if op is None:
            raise missing('OperationType')
        entries = [{'UserId': u} for u in args.get('UserIds', [])] + \
                  [{'Group': g} for g in args.get('UserGroups', [])]
        if not entries:
            raise missing('UserId')
        perms = [_permission(e) for e in entries]
        _apply(rec, perms if op == 'add' else [], perms if op == 'remove' else [])
    elif args.get('Description') is not None:
        rec['Description'] = args['Description'].get('Value', '')
    elif attribute == 'description':
        if args.get('Value') is None:
            raise missing('Value')
        rec['Description'] = args['Value']
    elif attribute is not None:
        raise invalid_value(f'Value ({attribute}) for parameter attribute is invalid. '
                            'Unknown attribute.')
    else:
        raise missing('Attribute')
    return None


def describe_image_attribute(ctx, args):
    rec = common.find_image(ctx, args['ImageId'], owned=True)
    attribute = args['Attribute']
    out = {'ImageId': rec['ImageId']}
    if attribute == 'launchPermission':
        out['LaunchPermissions'] = list(rec.get('_launch', []))
    elif attribute == 'description':
        out['Description'] = {'Value': rec.get('Description')}
    elif attribute == 'lastLaunchedTime':
        out['LastLaunchedTime'] = {'Value': rec.get('LastLaunchedTime')}
    elif attribute == 'blockDeviceMapping':
        # "The blockDeviceMapping attribute is deprecated. Using this attribute
        # returns the Client.AuthFailure error." (EC2 API reference)
        raise ApiError('AuthFailure', 'Unauthorized attempt to access restricted resource', 401)
    elif attribute == 'productCodes':
        out['ProductCodes'] = []
    elif attribute == 'bootMode':
        out['BootMode'] = {'Value': 'uefi-preferred'}
    return out


# DisableImage: "Sets the AMI state to disabled and removes all launch permissions
# from the AMI. ... If an AMI was public or previously shared, it is made
# private." EnableImage: "Re-enables a disabled AMI. The re-enabled AMI is marked
# as available"; those who lost access do not regain it (EC2 API reference).
def disable_image(ctx, args):
    rec = common.find_image(ctx, args['ImageId'], owned=True)
    if rec['State'] not in ('available', 'disabled'):
        raise ApiError('IncorrectState', f"Image {rec['ImageId']} is {rec['State']} "
                       'and cannot be disabled.')
    rec['State'] = 'disabled'
    rec['_launch'] = []
    rec['Public'] = False
    return {'Return': True}


def enable_image(ctx, args):
    rec = common.find_image(ctx, args['ImageId'], owned=True)
    if rec['State'] not in ('available', 'disabled'):
        raise ApiError('IncorrectState', f"Image {rec['ImageId']} is {rec['State']} "
                       'and cannot be enabled.')
    rec['State'] = 'available'
    return {'Return': True}


# "If true, enforces deregistration protection for 24 hours after deregistration
# protection is disabled." (EnableImageDeregistrationProtection WithCooldown)
COOLDOWN_SECONDS = 24 * 3600


def enable_deregistration_protection(ctx, args):
    rec = common.find_image(ctx, args['ImageId'], owned=True)
    rec['DeregistrationProtection'] = ('enabled-with-cooldown' if args.get('WithCooldown')
                                       else 'enabled-without-cooldown')
    return {'Return': rec['DeregistrationProtection']}


# While the cooldown runs, DescribeImages shows "disabled-until" and the time it ends
# (the EC2 user guide, "Protect an Amazon EC2 AMI from deregistration": the value is
# "disabled-until YYYY-MM-DDTHH:MM:SS.000Z" during the cooldown); "disabled" after it.
def disable_deregistration_protection(ctx, args):
    rec = common.find_image(ctx, args['ImageId'], owned=True)
    if rec.get('DeregistrationProtection') == 'enabled-with-cooldown':
        rec['_protected_until'] = ctx.now + COOLDOWN_SECONDS
    if ctx.now < rec.get('_protected_until', 0):
        rec['DeregistrationProtection'] = 'disabled-until ' + iso_ms(rec['_protected_until'])
    else:
        rec['DeregistrationProtection'] = 'disabled'
    return {'Return': rec['DeregistrationProtection']}


def settle_protection(rec, now):
    """A cooldown that has run out reads "disabled" again."""
    if rec.get('DeregistrationProtection', '').startswith('disabled-until') and \
            now >= rec.get('_protected_until', 0):
        rec['DeregistrationProtection'] = 'disabled'


def check_deregistrable(ctx, rec):
    """DeregisterImage of a protected image (or one in its cooldown) fails."""
    settle_protection(rec, ctx.now)
    if rec.get('DeregistrationProtection', 'disabled') != 'disabled' or \
            ctx.now < rec.get('_protected_until', 0):
        # The API reference names no code for this; EC2 answers refused
        # operations on protected resources (termination protection) with
        # OperationNotPermitted, "The specified operation is not allowed".
        raise ApiError('OperationNotPermitted',
                       f"Deregistration protection is enabled for image {rec['ImageId']}; "
                       'disable it first (a cooldown keeps it 24 hours longer).')


ACTIONS = {
    'DisableImage': disable_image,
    'EnableImage': enable_image,
    'EnableImageDeregistrationProtection': enable_deregistration_protection,
    'DisableImageDeregistrationProtection': disable_deregistration_protection,
    'EnableImageDeprecation': enable_image_deprecation,
    'DisableImageDeprecation': disable_image_deprecation,
    'ModifyImageAttribute': modify_image_attribute,
    'DescribeImageAttribute': describe_image_attribute,
}
