# Issue 10, item 10: EC2 throttles per account and region, so amirotd's token
# buckets are keyed by (account, region, service). A cross-account policy
# (role_arn) draws from its own account's buckets, not from those of the
# default credentials' account in the same region. Shown with a CreateImage
# bucket of one token refilled every 10 s: each account's one CreateImage goes
# at once; with one shared bucket the second would wait about 10 s.
import re

from conftest import images, run_instances

POLICY = """\
    name: {name}
    targets:
      tags: {{Role: {role}}}
    schedule:
      every: 24h
      at: "03:00"
    retain:
      count: 3
"""
NOW = "2030-01-01T03:30:00Z"
OTHER_ACCOUNT = "444455556666"


def test_cross_account_policy_does_not_wait_for_the_default_accounts_buckets(amirotd, ec2):
    run_instances(ec2, {"Role": "web"}, count=1)
    amirotd.sim.seed(account=OTHER_ACCOUNT, instances=[{"tags": {"Role": "db"}, "state": "running"}])
    amirotd.write_global(f"""\
        sts_endpoint_url: {amirotd.sim.url}
        pacing:
          mutating: {{capacity: 1, refill: 0.1}}
        """)
    amirotd.write_policy("web", POLICY.format(name="web", role="web"))
    amirotd.write_policy("db", POLICY.format(name="db", role="db") +
                         f"    role_arn: arn:aws:iam::{OTHER_ACCOUNT}:role/amirotd\n")
    amirotd.sim.set_clock(NOW)

    p = amirotd.run("--log-level=debug", "once", now=NOW)

    # Each account created its image...
    creates = amirotd.sim.calls("CreateImage")
    assert len(creates) == 2, creates
    assert {c["access_key"][:4] for c in creates} == {"AKID", "ASIA"}
    assert len(images(ec2, **{"tag:amirotd:policy": "web", "state": "available"})) == 1
    # ...without waiting for a token of the other's bucket.
    paced = [int(m) for m in re.findall(r"ec2 CreateImage attempt \d+: .* \(paced (\d+) ms\)", p.stderr)]
    assert len(paced) == 2, p.stderr
    assert max(paced) < 2000, p.stderr
