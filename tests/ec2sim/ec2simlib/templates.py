"""Launch templates: CreateLaunchTemplate, CreateLaunchTemplateVersion,
DescribeLaunchTemplates, DescribeLaunchTemplateVersions, ModifyLaunchTemplate,
DeleteLaunchTemplateVersions.

What amirotd needs to point a template at a new image: versions with their
LaunchTemplateData (kept as parsed, rendered through the response shape),
$Latest and $Default, the default version switch, ClientToken idempotency, the
quota of versions per template and the deletion of versions, which answers
version by version (a partial failure is no error of the call).
"""
import copy
import hashlib
import json
import re

from . import common, ids, ssm
from .clock import iso_ms
from .errors import ApiError, combination, invalid_value, missing
from .filters import Filters, page

# "LaunchTemplateName: A name for the launch template. Constraints: 3-128
# characters ... [a-zA-Z0-9\(\)\.\-/_]+" (EC2 API reference).
NAME_RE = re.compile(r'^[a-zA-Z0-9().\-/_]{3,128}$')

# "Each AWS account can have up to a maximum of 5,000 launch templates per Region and
# up to 10,000 versions per launch template." (EC2 user guide, launch template
# restrictions). A seed may lower it for a test (seed.py, template_version_limit).
VERSIONS_MAX = 10000
# DeleteLaunchTemplateVersions: "You can delete up to 200 launch template versions in a
# single request."
DELETE_MAX = 200
# ClientToken: "Constraint: Maximum 128 ASCII characters."
CLIENT_TOKEN_MAX = 128
# VersionDescription: "Length Constraints: Maximum length of 255."
DESCRIPTION_MAX = 255

VERSION_FILTERS = {
    'is-default-version': lambda v: v['DefaultVersion'],
    'image-id': lambda v: v['LaunchTemplateData'].get('ImageId'),
    'instance-type': lambda v: v['LaunchTemplateData'].get('InstanceType'),
}


def _view(rec):
    return {k: v for k, v in rec.items() if not k.startswith('_')}


def _version_view(rec, version):
    return dict(version, LaunchTemplateId=rec['LaunchTemplateId'],
                LaunchTemplateName=rec['LaunchTemplateName'],
                DefaultVersion=version['VersionNumber'] == rec['DefaultVersionNumber'])


def _find(ctx, template_id, name):
    if template_id and name:
        raise combination('Only one of LaunchTemplateId or LaunchTemplateName may be '
                          'specified.')
    if template_id:
        common.check_id(template_id, 'lt')
        rec = ctx.region.templates.get(template_id)
        if rec is None or rec['_owner'] != ctx.account:
            raise common.not_found('lt', template_id)
        return rec
    if name:
        tid = ctx.region.template_names.get((ctx.account, name))
        if tid is None:
            raise ApiError('InvalidLaunchTemplateName.NotFoundException',
                           'At least one of the launch templates specified in the '
                           'request does not exist.')
        return ctx.region.templates[tid]
    raise missing('LaunchTemplateId or LaunchTemplateName')


def _live(rec):
    return [v for v in rec['_versions'] if not v.get('_deleted')]


def _new_version(ctx, rec, data, description):
    if description is not None and len(description) > DESCRIPTION_MAX:
        raise invalid_value(f'VersionDescription must be at most {DESCRIPTION_MAX} characters')
    limit = getattr(ctx.region, 'template_version_limit', None) or VERSIONS_MAX
    if rec['_versions'] and len(_live(rec)) >= limit:
        raise ApiError('VersionLimitExceeded',
                       "You've reached the limit on the number of versions you can create "
                       f"for the launch template {rec['LaunchTemplateId']} ({limit}).")
    number = len(rec['_versions']) + 1
    version = {'VersionNumber': number, 'CreateTime': iso_ms(ctx.now),
               'CreatedBy': ctx.principal.arn, 'LaunchTemplateData': data}
    if description is not None:
        version['VersionDescription'] = description
    rec['_versions'].append(version)
    rec['LatestVersionNumber'] = number
    return version


def create_launch_template(ctx, args):
    name = args['LaunchTemplateName']
    if not NAME_RE.match(name):
        raise ApiError('InvalidLaunchTemplateName.MalformedException',
                       'A launch template name must be between 3 and 128 characters, '
                       'and may contain letters, numbers, and the following '
                       "characters: - ( ) . / _.'")
    if (ctx.account, name) in ctx.region.template_names:
        raise ApiError('InvalidLaunchTemplateName.AlreadyExistsException',
                       f"Launch template name already in use.")
    tags = common.tag_specs(args.get('TagSpecifications'), ('launch-template',))
    rec = {'LaunchTemplateId': ids.new_id('lt'), 'LaunchTemplateName': name,
           'CreateTime': iso_ms(ctx.now), 'CreatedBy': ctx.principal.arn,
           'DefaultVersionNumber': 1, 'LatestVersionNumber': 0,
           'Tags': tags.get('launch-template', {}), '_owner': ctx.account,
           '_versions': []}
    _new_version(ctx, rec, args['LaunchTemplateData'], args.get('VersionDescription'))
    ctx.region.add('templates', rec, 'LaunchTemplateId')
    return {'LaunchTemplate': _view(rec)}


def _version_number(rec, text):
    if text == '$Latest':
        return rec['LatestVersionNumber']
    if text == '$Default':
        return rec['DefaultVersionNumber']
    if not re.match(r'^\d+$', text or ''):
        raise invalid_value(f"Invalid launch template version '{text}'")
    number = int(text)
    if not 1 <= number <= len(rec['_versions']) or rec['_versions'][number - 1].get('_deleted'):
        raise ApiError('InvalidLaunchTemplateId.VersionNotFound',
                       f"Could not find launch template version {number} for launch "
                       f"template {rec['LaunchTemplateId']}")
    return number


def _token_seen(ctx, rec, args):
    """ClientToken (EC2's "Ensuring idempotency"): the same token with the same
    parameters answers the version it made, with other parameters
    IdempotentParameterMismatch. Tokens are the account's, per region."""
    token = args.get('ClientToken')
    if not token:
        return None, None
    if len(token) > CLIENT_TOKEN_MAX or not token.isascii():
        raise invalid_value(f'ClientToken must be at most {CLIENT_TOKEN_MAX} ASCII characters')
    fingerprint = hashlib.sha256(json.dumps(
        {k: v for k, v in args.items() if k not in ('DryRun', 'ClientToken')},
        sort_keys=True, default=str).encode()).hexdigest()
    key = f'{ctx.account}/{token}'
    seen = ctx.region.template_tokens.get(key)
    if seen is None:
        return key, fingerprint
    if seen['params'] != fingerprint:
        raise ApiError('IdempotentParameterMismatch',
                       'The client token you have provided is associated with a resource '
                       'that is already deleted or has different parameters.')
    version = rec['_versions'][seen['number'] - 1]
    return None, version


def create_launch_template_version(ctx, args):
    rec = _find(ctx, args.get('LaunchTemplateId'), args.get('LaunchTemplateName'))
    key, seen = _token_seen(ctx, rec, args)
    if isinstance(seen, dict):
        return {'LaunchTemplateVersion': _version_view(rec, seen)}
    data = {}
    if args.get('SourceVersion'):
        source = rec['_versions'][_version_number(rec, args['SourceVersion']) - 1]
        data = copy.deepcopy(source['LaunchTemplateData'])
    data.update(args['LaunchTemplateData'])
    version = _new_version(ctx, rec, data, args.get('VersionDescription'))
    if key:
        ctx.region.template_tokens[key] = {'number': version['VersionNumber'], 'params': seen}
    return {'LaunchTemplateVersion': _version_view(rec, version)}


def _resolved(ctx, view):
    """ResolveAlias: "If true, and if a Systems Manager parameter is specified for
    ImageId, the AMI ID is displayed in the response for imageId." An ImageId of
    resolve:ssm:NAME (NAME:VERSION too) names a parameter; one that does not exist
    is shown as it is."""
    image = view['LaunchTemplateData'].get('ImageId') or ''
    if not image.startswith('resolve:ssm:'):
        return view
    name = image[len('resolve:ssm:'):]
    if ':' in name and not name.startswith('arn:'):
        name = name.rsplit(':', 1)[0]       # NAME:VERSION
    ssm.settle(ctx)     # writes whose validation ended are what EC2 resolves now
    rec = ctx.region.ssm_parameters.get((ctx.account, name))
    if rec is None:
        return view
    return dict(view, LaunchTemplateData=dict(view['LaunchTemplateData'], ImageId=rec['Value']))


def describe_launch_template_versions(ctx, args):
    if args.get('LaunchTemplateId') or args.get('LaunchTemplateName'):
        recs = [_find(ctx, args.get('LaunchTemplateId'), args.get('LaunchTemplateName'))]
    else:
        # Every template of the account: "To describe all launch templates in your
        # account that are defined as the latest version, the valid value is $Latest.
        # ... the default version, the valid value is $Default. ... You cannot
        # specify numbers." (Versions, EC2 API reference)
        for v in args.get('Versions') or []:
            if v not in ('$Latest', '$Default'):
                raise invalid_value(f"Invalid launch template version '{v}': without a "
                                    'launch template, only $Latest and $Default are valid')
        recs = [r for r in ctx.region.templates.values() if r['_owner'] == ctx.account]
    flt = Filters(args.get('Filters'), VERSION_FILTERS)
    low = int(args['MinVersion']) if args.get('MinVersion') else None
    high = int(args['MaxVersion']) if args.get('MaxVersion') else None
    found = {}
    for rec in recs:
        if args.get('Versions'):
            numbers = {_version_number(rec, v) for v in args['Versions']}
        else:
            numbers = [v['VersionNumber'] for v in _live(rec)]
        for number in numbers:
            if low is not None and number < low or high is not None and number > high:
                continue
            view = _version_view(rec, rec['_versions'][number - 1])
            if args.get('ResolveAlias'):
                view = _resolved(ctx, view)
            if flt.match(view):
                found['%s\t%08d' % (rec['LaunchTemplateId'], number)] = view
    chunk, token = page(list(found), args.get('MaxResults'), args.get('NextToken'),
                        1, 200)
    return {'LaunchTemplateVersions': [found[k] for k in chunk], 'NextToken': token}


def modify_launch_template(ctx, args):
    rec = _find(ctx, args.get('LaunchTemplateId'), args.get('LaunchTemplateName'))
    if args.get('DefaultVersion') is not None:
        rec['DefaultVersionNumber'] = _version_number(rec, args['DefaultVersion'])
    return {'LaunchTemplate': _view(rec)}


def delete_launch_template_versions(ctx, args):
    """Each version is deleted or not on its own: "You can't delete the default version
    of a launch template; you must first assign a different version as the default."
    The answer lists both sets, with a ResponseError (LaunchTemplateErrorCode) for each
    version that was not deleted."""
    numbers = args['Versions']
    if not numbers:
        raise missing('LaunchTemplateVersion')
    if len(numbers) > DELETE_MAX:
        raise invalid_value(f'You can delete up to {DELETE_MAX} launch template versions in a '
                            'single request.')
    try:
        rec = _find(ctx, args.get('LaunchTemplateId'), args.get('LaunchTemplateName'))
    except ApiError as e:
        if 'Malformed' in e.code or e.code == 'InvalidParameterCombination' or \
                e.code == 'MissingParameter':
            raise
        code = 'launchTemplateIdDoesNotExist' if args.get('LaunchTemplateId') \
            else 'launchTemplateNameDoesNotExist'
        return {'UnsuccessfullyDeletedLaunchTemplateVersions': [
            {'LaunchTemplateId': args.get('LaunchTemplateId'),
             'LaunchTemplateName': args.get('LaunchTemplateName'),
             'VersionNumber': int(n) if str(n).isdigit() else 0,
             'ResponseError': {'Code': code, 'Message': e.message}} for n in numbers]}
    done, failed = [], []
    for text in numbers:
        item = {'LaunchTemplateId': rec['LaunchTemplateId'],
                'LaunchTemplateName': rec['LaunchTemplateName']}
        number = int(text) if str(text).isdigit() else 0
        item['VersionNumber'] = number
        if not 1 <= number <= len(rec['_versions']) or rec['_versions'][number - 1].get('_deleted'):
            failed.append(dict(item, ResponseError={
                'Code': 'launchTemplateVersionDoesNotExist',
                'Message': f'The launch template version {text} does not exist.'}))
        elif number == rec['DefaultVersionNumber']:
            failed.append(dict(item, ResponseError={
                'Code': 'unexpectedError',
                'Message': 'Cannot delete the default version of a launch template. Assign a '
                           'different version as the default first.'}))
        else:
            rec['_versions'][number - 1]['_deleted'] = True
            done.append(item)
    live = _live(rec)
    rec['LatestVersionNumber'] = max(v['VersionNumber'] for v in live)
    return {'SuccessfullyDeletedLaunchTemplateVersions': done,
            'UnsuccessfullyDeletedLaunchTemplateVersions': failed}


TEMPLATE_FILTERS = {
    'launch-template-name': lambda r: r['LaunchTemplateName'],
    'create-time': lambda r: r['CreateTime'],
}


def describe_launch_templates(ctx, args):
    """By ids or names (each must exist: the first that does not is the error, as EC2
    answers), or every template of the account; filters, tags and pages."""
    ids_, names = args.get('LaunchTemplateIds') or [], args.get('LaunchTemplateNames') or []
    if (ids_ or names) and args.get('MaxResults'):
        raise combination('The parameter MaxResults cannot be used with LaunchTemplateIds '
                          'or LaunchTemplateNames.')
    recs = [_find(ctx, tid, None) for tid in ids_] + [_find(ctx, None, n) for n in names]
    if not ids_ and not names:
        recs = [r for r in ctx.region.templates.values() if r['_owner'] == ctx.account]
    flt = Filters(args.get('Filters'), TEMPLATE_FILTERS)
    found = {r['LaunchTemplateId']: _view(r) for r in recs if flt.match(_view(r))}
    chunk, token = page(sorted(found), args.get('MaxResults'), args.get('NextToken'), 1, 200)
    return {'LaunchTemplates': [found[k] for k in chunk], 'NextToken': token}


ACTIONS = {
    'CreateLaunchTemplate': create_launch_template,
    'DeleteLaunchTemplateVersions': delete_launch_template_versions,
    'DescribeLaunchTemplates': describe_launch_templates,
    'CreateLaunchTemplateVersion': create_launch_template_version,
    'DescribeLaunchTemplateVersions': describe_launch_template_versions,
    'ModifyLaunchTemplate': modify_launch_template,
}
