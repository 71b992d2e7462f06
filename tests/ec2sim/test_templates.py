"""Launch templates: create, new versions, describe $Latest/$Default, set default."""
from conftest import ACCOUNT


def test_launch_template_versions(sim):
    ec2 = sim.client()
    created = ec2.create_launch_template(
        LaunchTemplateName='web-lt', VersionDescription='first',
        LaunchTemplateData={'ImageId': 'ami-0123456789abcdef0', 'InstanceType': 't3.micro',
                            'TagSpecifications': [{'ResourceType': 'instance', 'Tags': [
                                {'Key': 'Role', 'Value': 'web'}]}]},
        TagSpecifications=[{'ResourceType': 'launch-template',
                            'Tags': [{'Key': 'amirotd:policy', 'Value': 'web'}]}])
    lt = created['LaunchTemplate']
    assert lt['LatestVersionNumber'] == 1 and lt['DefaultVersionNumber'] == 1
    assert lt['CreatedBy'] == f'arn:aws:iam::{ACCOUNT}:user/ec2sim'
    v2 = ec2.create_launch_template_version(
        LaunchTemplateId=lt['LaunchTemplateId'], SourceVersion='1',
        LaunchTemplateData={'ImageId': 'ami-0fedcba9876543210'})['LaunchTemplateVersion']
    assert v2['VersionNumber'] == 2 and v2['DefaultVersion'] is False
    assert v2['LaunchTemplateData']['InstanceType'] == 't3.micro'

    def versions(**kw):
        return ec2.describe_launch_template_versions(**kw)['LaunchTemplateVersions']

    latest = versions(LaunchTemplateName='web-lt', Versions=['$Latest'])
    assert latest[0]['LaunchTemplateData']['ImageId'] == 'ami-0fedcba9876543210'
    default = versions(LaunchTemplateId=lt['LaunchTemplateId'], Versions=['$Default'])
    assert default[0]['VersionNumber'] == 1
    assert default[0]['LaunchTemplateData']['TagSpecifications'][0]['Tags'] == \
        [{'Key': 'Role', 'Value': 'web'}]
    modified = ec2.modify_launch_template(LaunchTemplateId=lt['LaunchTemplateId'],
                                          DefaultVersion='2')['LaunchTemplate']
    assert modified['DefaultVersionNumber'] == 2
    assert [v['VersionNumber'] for v in versions(LaunchTemplateName='web-lt')] == [1, 2]
    assert versions(LaunchTemplateName='web-lt', Versions=['$Default'])[0]['DefaultVersion']


def test_launch_template_errors(sim):
    ec2 = sim.client()
    ec2.create_launch_template(LaunchTemplateName='dup-lt',
                               LaunchTemplateData={'InstanceType': 't3.micro'})
    reply = sim.call('CreateLaunchTemplate', {'LaunchTemplateName': 'dup-lt',
                                              'LaunchTemplateData.ImageId': 'ami-1'})
    assert reply.code == 'InvalidLaunchTemplateName.AlreadyExistsException'
    reply = sim.call('DescribeLaunchTemplateVersions', {'LaunchTemplateName': 'nope'})
    assert reply.code == 'InvalidLaunchTemplateName.NotFoundException'
    reply = sim.call('ModifyLaunchTemplate', {'LaunchTemplateName': 'dup-lt',
                                              'SetDefaultVersion': '9'})
    assert reply.code == 'InvalidLaunchTemplateId.VersionNotFound'
    reply = sim.call('CreateLaunchTemplate', {'LaunchTemplateName': 'x',
                                              'LaunchTemplateData.ImageId': 'ami-1'})
    assert reply.code == 'InvalidLaunchTemplateName.MalformedException'


def test_every_template_latest_and_default_paged(sim):
    """Without a template, Versions $Latest and $Default describe every template of the
    account (a version that is both once), paged at most 200 a page; ResolveAlias is
    accepted; a version number is refused there. awscli reads it and follows the pages."""
    ec2 = sim.client()
    made = {}
    for i in range(3):
        lt = ec2.create_launch_template(LaunchTemplateName=f'fleet-{i}', LaunchTemplateData={
            'ImageId': f'ami-0{i}0000000000000a'})['LaunchTemplate']
        made[lt['LaunchTemplateId']] = lt
    first = next(iter(made))
    ec2.create_launch_template_version(LaunchTemplateId=first,
                                       LaunchTemplateData={'ImageId': 'ami-0feed000000000001'})
    other = sim.client(key=('AKIDOTHER', 'otherSecretKey0000000000000000000000000'))
    other.create_launch_template(LaunchTemplateName='foreign', LaunchTemplateData={
        'ImageId': 'ami-0ffff000000000000'})

    out = sim.aws('ec2', 'describe-launch-template-versions', '--versions', '$Latest', '$Default',
                  '--resolve-alias', '--page-size', '2')
    seen = {(v['LaunchTemplateId'], v['VersionNumber'], v['DefaultVersion'],
             v['LaunchTemplateData']['ImageId']) for v in out['LaunchTemplateVersions']}
    assert len(out['LaunchTemplateVersions']) == 4
    assert (first, 1, True, 'ami-000000000000000a') in seen
    assert (first, 2, False, 'ami-0feed000000000001') in seen
    assert {v[0] for v in seen} == set(made)

    page = ec2.describe_launch_template_versions(Versions=['$Default'], MaxResults=2)
    assert len(page['LaunchTemplateVersions']) == 2 and page['NextToken']
    rest = ec2.describe_launch_template_versions(Versions=['$Default'], MaxResults=2,
                                                 NextToken=page['NextToken'])
    assert len(rest['LaunchTemplateVersions']) == 1 and not rest.get('NextToken')

    reply = sim.call('DescribeLaunchTemplateVersions', {'LaunchTemplateVersion.1': '1'})
    assert reply.code == 'InvalidParameterValue'
    reply = sim.call('DescribeLaunchTemplateVersions', {'LaunchTemplateVersion.1': '$Latest',
                                                        'MaxResults': '201'})
    assert reply.code == 'InvalidParameterValue'


def test_resolve_alias_shows_the_parameters_image(sim):
    """A template may name its image as resolve:ssm:NAME; ResolveAlias=true answers the
    parameter's AMI id, without it the alias stands (awscli)."""
    sim.admin('POST', '/_sim/seed', {'ssm_parameters': {'/golden/web': 'ami-0a1b2c3d4e5f60718'}})
    ec2 = sim.client()
    ec2.create_launch_template(LaunchTemplateName='ssm-lt', LaunchTemplateData={
        'ImageId': 'resolve:ssm:/golden/web'})
    ec2.create_launch_template(LaunchTemplateName='ssm-missing', LaunchTemplateData={
        'ImageId': 'resolve:ssm:/nope'})

    def images(*extra):
        out = sim.aws('ec2', 'describe-launch-template-versions', '--versions', '$Default', *extra)
        return {v['LaunchTemplateName']: v['LaunchTemplateData']['ImageId']
                for v in out['LaunchTemplateVersions']}

    assert images('--resolve-alias') == {'ssm-lt': 'ami-0a1b2c3d4e5f60718', 'ssm-missing': 'resolve:ssm:/nope'}
    assert images() == {'ssm-lt': 'resolve:ssm:/golden/web', 'ssm-missing': 'resolve:ssm:/nope'}


def test_every_version_of_one_template_paged_with_descriptions(sim):
    """`amirotd list` reads every version of one template (no Versions: "You can describe
    all versions, individual versions, or a range of versions"), each with its
    VersionDescription, paged; a version without ImageId is answered too. awscli follows
    the pages."""
    ec2 = sim.client()
    ec2.create_launch_template(LaunchTemplateName='web-lt', VersionDescription='first',
                               LaunchTemplateData={'ImageId': 'ami-0123456789abcdef0'})
    for n in range(2, 6):
        ec2.create_launch_template_version(LaunchTemplateName='web-lt', VersionDescription=f'amirotd web v{n}',
                                           LaunchTemplateData={'ImageId': f'ami-0{n}00000000000000a'})
    ec2.create_launch_template_version(LaunchTemplateName='web-lt', LaunchTemplateData={'InstanceType': 't3.micro'})
    out = sim.aws('ec2', 'describe-launch-template-versions', '--launch-template-name', 'web-lt',
                  '--resolve-alias', '--page-size', '2')
    got = [(v['VersionNumber'], v.get('VersionDescription'), v['LaunchTemplateData'].get('ImageId'))
           for v in out['LaunchTemplateVersions']]
    assert got == [(1, 'first', 'ami-0123456789abcdef0')] + \
        [(n, f'amirotd web v{n}', f'ami-0{n}00000000000000a') for n in range(2, 6)] + [(6, None, None)]
    assert len(sim.calls(action='DescribeLaunchTemplateVersions')) == 3      # 2 + 2 + 2 per page
