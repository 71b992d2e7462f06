"""Launch templates: CreateLaunchTemplate, CreateLaunchTemplateVersion,
DescribeLaunchTemplateVersions, ModifyLaunchTemplate.

What amirotd needs to point a template at a new image: versions with their
LaunchTemplateData (kept as parsed, rendered through the response shape),
$Latest and $Default, and the default version switch.
"""
import copy
import re

from . import common, ids, ssm
from .clock import iso_ms
from .errors import ApiError, combination, invalid_value, missing
from .filters import Filters, page

# "LaunchTemplateName: A name for the launch template. Constraints: 3-128
# characters ... [a-zA-Z0-9\(\)\.\-/_]+" (EC2 API reference).
NAME_RE = re.compile(r'^[a-zA-Z0-9().\-/_]{3,128}$')

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


def _new_version(ctx, rec, data, description):
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
    if not 1 <= number <= len(rec['_versions']):
        raise ApiError('InvalidLaunchTemplateId.VersionNotFound',
                       f"Could not find launch template version {number} for launch "
                       f"template {rec['LaunchTemplateId']}")
    return number


def create_launch_template_version(ctx, args):
    rec = _find(ctx, args.get('LaunchTemplateId'), args.get('LaunchTemplateName'))
    data = {}
    if args.get('SourceVersion'):
        source = rec['_versions'][_version_number(rec, args['SourceVersion']) - 1]
        data = copy.deepcopy(source['LaunchTemplateData'])
    data.update(args['LaunchTemplateData'])
    version = _new_version(ctx, rec, data, args.get('VersionDescription'))
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
            numbers = range(1, len(rec['_versions']) + 1)
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


ACTIONS = {
    'CreateLaunchTemplate': create_launch_template,
    'CreateLaunchTemplateVersion': create_launch_template_version,
    'DescribeLaunchTemplateVersions': describe_launch_template_versions,
    'ModifyLaunchTemplate': modify_launch_template,
}
