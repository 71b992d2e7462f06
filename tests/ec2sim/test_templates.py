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


def _template(ec2, name, **data):
    data = data or {'ImageId': 'ami-0aaaaaaaaaaaaaaa1', 'InstanceType': 't3.micro'}
    return ec2.create_launch_template(LaunchTemplateName=name,
                                      LaunchTemplateData=data)['LaunchTemplate']


def test_new_version_from_a_source_with_a_client_token(sim):
    """SourceVersion copies the source's data and LaunchTemplateData overrides it; the
    same ClientToken with the same parameters answers the version it made (a retry
    makes no second one), with other parameters IdempotentParameterMismatch; a
    description past 255 characters and a token past 128 are refused (awscli)."""
    ec2 = sim.client()
    lt = _template(ec2, 'web-golden')
    args = ('ec2', 'create-launch-template-version', '--launch-template-name', 'web-golden',
            '--source-version', '1', '--version-description', 'amirotd web ami-0bbbbbbbbbbbbbbb2',
            '--client-token', 'amirotd-0123abcd', '--launch-template-data',
            '{"ImageId": "ami-0bbbbbbbbbbbbbbb2"}')
    first = sim.aws(*args)['LaunchTemplateVersion']
    again = sim.aws(*args)['LaunchTemplateVersion']
    assert first['VersionNumber'] == again['VersionNumber'] == 2
    assert first['VersionDescription'] == 'amirotd web ami-0bbbbbbbbbbbbbbb2'
    assert first['LaunchTemplateData'] == {'ImageId': 'ami-0bbbbbbbbbbbbbbb2', 'InstanceType': 't3.micro'}
    assert ec2.describe_launch_templates(LaunchTemplateIds=[lt['LaunchTemplateId']])[
        'LaunchTemplates'][0]['LatestVersionNumber'] == 2

    reply = sim.call('CreateLaunchTemplateVersion', {
        'LaunchTemplateName': 'web-golden', 'SourceVersion': '1', 'ClientToken': 'amirotd-0123abcd',
        'LaunchTemplateData.ImageId': 'ami-0ccccccccccccccc3'})
    assert reply.code == 'IdempotentParameterMismatch'
    reply = sim.call('CreateLaunchTemplateVersion', {
        'LaunchTemplateName': 'web-golden', 'ClientToken': 'x' * 129,
        'LaunchTemplateData.ImageId': 'ami-0ccccccccccccccc3'})
    assert reply.code == 'InvalidParameterValue'
    reply = sim.call('CreateLaunchTemplateVersion', {
        'LaunchTemplateName': 'web-golden', 'VersionDescription': 'd' * 256,
        'LaunchTemplateData.ImageId': 'ami-0ccccccccccccccc3'})
    assert reply.code == 'InvalidParameterValue'
    reply = sim.call('CreateLaunchTemplateVersion', {
        'LaunchTemplateName': 'web-golden', 'SourceVersion': '7',
        'LaunchTemplateData.ImageId': 'ami-0ccccccccccccccc3'})
    assert reply.code == 'InvalidLaunchTemplateId.VersionNotFound'
    versions = ec2.describe_launch_template_versions(LaunchTemplateName='web-golden')
    assert [v['VersionNumber'] for v in versions['LaunchTemplateVersions']] == [1, 2]


def test_versions_per_template_are_limited(sim):
    """EC2: "up to 10,000 versions per launch template"; past the quota
    VersionLimitExceeded (the quota lowered by the seed for the test)."""
    sim.seed(template_version_limit=3)
    ec2 = sim.client()
    _template(ec2, 'small')
    for image in ('ami-0bbbbbbbbbbbbbbb2', 'ami-0ccccccccccccccc3'):
        ec2.create_launch_template_version(LaunchTemplateName='small', LaunchTemplateData={'ImageId': image})
    reply = sim.call('CreateLaunchTemplateVersion', {
        'LaunchTemplateName': 'small', 'LaunchTemplateData.ImageId': 'ami-0ddddddddddddddd4'})
    assert reply.code == 'VersionLimitExceeded'
    ec2.delete_launch_template_versions(LaunchTemplateName='small', Versions=['2'])
    made = ec2.create_launch_template_version(LaunchTemplateName='small', LaunchTemplateData={
        'ImageId': 'ami-0ddddddddddddddd4'})['LaunchTemplateVersion']
    assert made['VersionNumber'] == 4      # numbers are never reused


def test_delete_versions_answers_version_by_version(sim):
    """DeleteLaunchTemplateVersions deletes what it can and lists the rest with a
    ResponseError: the default version cannot be deleted, a missing one does not exist;
    the call itself succeeds. At most 200 versions a request. A deleted version is
    gone from the listing and cannot be a source (awscli)."""
    ec2 = sim.client()
    lt = _template(ec2, 'web-golden')
    for i in range(2, 6):
        ec2.create_launch_template_version(LaunchTemplateName='web-golden', SourceVersion='1',
                                           LaunchTemplateData={'ImageId': f'ami-0{i}00000000000000a'})
    ec2.modify_launch_template(LaunchTemplateName='web-golden', DefaultVersion='3')
    out = sim.aws('ec2', 'delete-launch-template-versions', '--launch-template-id', lt['LaunchTemplateId'],
                  '--versions', '2', '3', '9', '4')
    assert [v['VersionNumber'] for v in out['SuccessfullyDeletedLaunchTemplateVersions']] == [2, 4]
    failed = {v['VersionNumber']: v['ResponseError']['Code']
              for v in out['UnsuccessfullyDeletedLaunchTemplateVersions']}
    assert failed == {3: 'unexpectedError', 9: 'launchTemplateVersionDoesNotExist'}
    assert out['UnsuccessfullyDeletedLaunchTemplateVersions'][0]['LaunchTemplateName'] == 'web-golden'
    listed = ec2.describe_launch_template_versions(LaunchTemplateName='web-golden')['LaunchTemplateVersions']
    assert [v['VersionNumber'] for v in listed] == [1, 3, 5]
    reply = sim.call('CreateLaunchTemplateVersion', {
        'LaunchTemplateName': 'web-golden', 'SourceVersion': '2',
        'LaunchTemplateData.ImageId': 'ami-0ddddddddddddddd4'})
    assert reply.code == 'InvalidLaunchTemplateId.VersionNotFound'

    params = {'LaunchTemplateName': 'web-golden'}
    params.update({f'LaunchTemplateVersion.{i}': str(i) for i in range(1, 202)})
    assert sim.call('DeleteLaunchTemplateVersions', params).code == 'InvalidParameterValue'
    out = sim.aws('ec2', 'delete-launch-template-versions', '--launch-template-name', 'nope-lt',
                  '--versions', '2')
    assert out['UnsuccessfullyDeletedLaunchTemplateVersions'][0]['ResponseError']['Code'] == \
        'launchTemplateNameDoesNotExist'


def test_describe_launch_templates_by_name_and_id(sim):
    """DescribeLaunchTemplates by names or ids (a missing one is the error, as EC2
    answers), or every template of the account in pages; the id of a name (awscli)."""
    ec2 = sim.client()
    a = _template(ec2, 'web-a')
    b = _template(ec2, 'web-b')
    other = sim.client(key=('AKIDOTHER', 'otherSecretKey0000000000000000000000000'))
    _template(other, 'web-c')
    out = sim.aws('ec2', 'describe-launch-templates', '--launch-template-names', 'web-b')
    assert [t['LaunchTemplateId'] for t in out['LaunchTemplates']] == [b['LaunchTemplateId']]
    assert out['LaunchTemplates'][0]['DefaultVersionNumber'] == 1
    out = sim.aws('ec2', 'describe-launch-templates', '--launch-template-ids', a['LaunchTemplateId'])
    assert out['LaunchTemplates'][0]['LaunchTemplateName'] == 'web-a'
    out = sim.aws('ec2', 'describe-launch-templates', '--page-size', '1')
    assert sorted(t['LaunchTemplateName'] for t in out['LaunchTemplates']) == ['web-a', 'web-b']
    reply = sim.call('DescribeLaunchTemplates', {'LaunchTemplateName.1': 'nope-lt'})
    assert reply.code == 'InvalidLaunchTemplateName.NotFoundException'
    reply = sim.call('DescribeLaunchTemplates', {'LaunchTemplateId.1': 'lt-0123456789abcdef0'})
    assert reply.code == 'InvalidLaunchTemplateId.NotFound'
