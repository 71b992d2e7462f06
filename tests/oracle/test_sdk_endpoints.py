# Issue 18: botocore as the oracle for endpoints. Each environment (variables,
# a shared config file, amirotd.yaml with or without a region) is handed both
# to `amirotd check`, which prints the EC2 and STS endpoint per region, and to
# Debian's botocore (1.29), which resolves the same clients; the URLs must agree.
#
# Where amirotd deliberately differs from botocore 1.29 the expectation is
# adjusted here, each with its reason (DEVIATIONS below); everything else is
# compared as botocore answers it. Run: /usr/bin/python3 -m pytest -q tests/oracle
import itertools
import os

import pytest

from oracle import REGIONS_1_29, REGIONS_NEWER, run_check, botocore_endpoint, Env, NEWER_PARTITIONS

FIPS = [None, ("env", "true"), ("env", "false"), ("file", "true"), ("yaml", "true")]
DUALSTACK = [None, ("env", "true"), ("file", "true"), ("yaml", "false")]
STS = [None, ("env", "legacy"), ("env", "regional"), ("file", "legacy")]

# DEVIATIONS from botocore 1.29, each deliberate:
# - STS with no AWS_STS_REGIONAL_ENDPOINTS/sts_regional_endpoints: amirotd uses the regional
#   endpoint (AWS's recommendation, the newer SDKs' default); 1.29 defaults to "legacy".
#   Compared against botocore with "regional" set.
# - Dual-stack in a partition whose partitions.json says supportsDualStack false (aws-iso,
#   aws-iso-b): 1.29's ruleset still builds an api.aws name that does not exist there;
#   amirotd refuses ("partition aws-iso has no dual-stack endpoints").
# - Partitions newer than 1.29 (aws-iso-e, aws-iso-f, aws-eusc): 1.29 files their regions
#   under aws and amazonaws.com; amirotd uses their own suffixes (NEWER_PARTITIONS).


def settings(fips, dual, sts):
    env, conf, yaml = {}, {}, {}
    for (name, envvar, key), v in (
            (("fips", "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"), fips),
            (("dual", "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"), dual),
            (("sts", "AWS_STS_REGIONAL_ENDPOINTS", "sts_regional_endpoints"), sts)):
        if v is None:
            continue
        where, value = v
        if where == "env":
            env[envvar] = value
        elif where == "file":
            conf[key] = value
        else:
            yaml[key] = value
    return env, conf, yaml


COMBOS = list(itertools.product(FIPS, DUALSTACK, STS, ["default", "named"]))


@pytest.mark.parametrize("fips,dual,sts,profile", COMBOS)
def test_endpoints_match_botocore(tmp_path, fips, dual, sts, profile):
    env, conf, yaml = settings(fips, dual, sts)
    e = Env(tmp_path, env=env, config_profile=conf, profile=None if profile == "default" else "ops",
            yaml=yaml)
    got = run_check(e, REGIONS_1_29 + REGIONS_NEWER, role=True)
    mismatches = []
    for region in REGIONS_1_29 + REGIONS_NEWER:
        for service in ("ec2", "sts"):
            mine = got[(region, service)]
            want = botocore_endpoint(e, service, region)
            if mine != want:
                mismatches.append(f"{service} {region}: amirotd {mine}, botocore {want}")
    assert not mismatches, "\n".join(mismatches)


REGION_CASES = [
    ({"AWS_DEFAULT_REGION": "eu-west-1"}, {}, None),
    ({}, {"region": "ap-southeast-2"}, None),
    ({"AWS_DEFAULT_REGION": "cn-north-1"}, {"region": "eu-west-1"}, None),
    ({}, {"region": "us-gov-east-1"}, "ops"),
    ({}, {}, None),
    ({"AWS_DEFAULT_REGION": "us-isob-east-1", "AWS_USE_FIPS_ENDPOINT": "true"}, {}, None),
]


@pytest.mark.parametrize("env,conf,profile", REGION_CASES)
def test_default_region_matches_botocore(tmp_path, env, conf, profile):
    """With no region in amirotd.yaml and none in the policy, the SDKs' region settings apply."""
    e = Env(tmp_path, env=env, config_profile=conf, profile=profile, yaml={}, yaml_region=False)
    got = run_check(e, None, role=False)
    (region, service), url = next(iter(got.items()))
    want_region = e.botocore_region() or "us-east-1"
    assert region == want_region
    assert url == botocore_endpoint(e, "ec2", region)
