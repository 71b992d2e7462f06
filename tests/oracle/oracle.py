# The oracle's shared parts: an environment (variables, shared files,
# amirotd.yaml), amirotd's answer for it (`amirotd check`), and botocore's.
import contextlib
import os
import re
import subprocess

import botocore.config
import botocore.session

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AMIROTD = os.environ.get("AMIROTD", os.path.join(ROOT, "build", "amirotd"))

# One or two regions of every partition Debian's botocore 1.29 knows, and regions of the
# newer partitions, which 1.29 does not know.
REGIONS_1_29 = ["us-east-1", "eu-central-1", "ap-southeast-4", "il-central-1", "sa-east-1",
                "cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-gov-east-1",
                "us-iso-east-1", "us-isob-east-1"]
REGIONS_NEWER = ["eu-isoe-west-1", "us-isof-south-1", "eusc-de-east-1"]
# partitions.json after 1.29: region prefix -> (partition, DNS suffix); dual-stack refused.
NEWER_PARTITIONS = {"eu-isoe-": ("aws-iso-e", "cloud.adc-e.uk"), "us-isof-": ("aws-iso-f", "csp.hci.ic.gov"),
                    "eusc-de-": ("aws-eusc", "amazonaws.eu")}
NO_DUALSTACK = ("us-iso-", "us-isob-") + tuple(NEWER_PARTITIONS)

# Every variable either side reads; the environment of a case starts from none of them.
AWS_VARS = re.compile(r"^(AWS_|HOME$|CREDENTIALS_DIRECTORY$|ECS_)")


def ini(sections):
    out = []
    for name, keys in sections.items():
        out.append(f"[{name}]")
        for k, v in keys.items():
            if isinstance(v, dict):
                out.append(f"{k} =")
                out += [f"  {kk} = {vv}" for kk, vv in v.items()]
            else:
                out.append(f"{k} = {v}")
        out.append("")
    return "\n".join(out)


class Env:
    """One environment: variables, ~/.aws/config and credentials under tmp/home, amirotd.yaml."""

    def __init__(self, tmp, env=None, config_profile=None, profile=None, yaml=None, yaml_region=True,
                 config=None, credentials=None, yaml_profile=None):
        self.tmp = tmp
        self.home = tmp / "home"
        (self.home / ".aws").mkdir(parents=True, exist_ok=True)
        self.profile = profile
        self.yaml_profile = yaml_profile
        self.env = {"HOME": str(self.home), "PATH": "/usr/bin:/bin"}
        self.env.update(env or {})
        if profile:
            self.env["AWS_PROFILE"] = profile
        sections = dict(config or {})
        name = "default" if not (yaml_profile or profile) else "profile " + (yaml_profile or profile)
        sections.setdefault(name, {}).update(config_profile or {})
        (self.home / ".aws" / "config").write_text(ini(sections))
        (self.home / ".aws" / "credentials").write_text(ini(credentials or {}))
        self.yaml = dict(yaml or {})
        self.yaml_region = yaml_region

    def write_amirotd(self, regions, role):
        lines = ["region: us-east-1"] if self.yaml_region else []
        lines += [f"{k}: {v}" for k, v in self.yaml.items()]
        if self.yaml_profile:
            lines.append(f"profile: {self.yaml_profile}")
        (self.tmp / "amirotd.yaml").write_text("\n".join(lines) + "\n")
        pol = self.tmp / "policies"
        pol.mkdir(exist_ok=True)
        text = "name: o\n"
        if regions:
            text += "regions: [" + ", ".join(regions) + "]\n"
        if role:
            text += "role_arn: arn:aws:iam::111122223333:role/oracle\n"
        text += "targets: {tags: {Role: web}}\nschedule: {every: 24h}\nretain: {count: 3}\n"
        (pol / "o.yaml").write_text(text)

    @contextlib.contextmanager
    def applied(self):
        """os.environ as this environment has it, for botocore in this process."""
        saved = dict(os.environ)
        for k in list(os.environ):
            if AWS_VARS.match(k):
                del os.environ[k]
        os.environ.update(self.env)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def session(self):
        s = botocore.session.Session(profile=self.yaml_profile) if self.yaml_profile else botocore.session.Session()
        return s

    def botocore_region(self):
        with self.applied():
            return self.session().get_config_variable("region")


def run_check(e, regions, role):
    """{(region, service): URL or "none"} from `amirotd check`."""
    e.write_amirotd(regions, role)
    p = subprocess.run([AMIROTD, "check", "-c", str(e.tmp / "amirotd.yaml"), "--policies", str(e.tmp / "policies")],
                       env=e.env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    out = {}
    for line in p.stdout.splitlines():
        m = re.match(r"^  endpoint: (\S+) (\S+) (\S+) \(", line)
        if m:
            out[(m.group(1), m.group(2))] = m.group(3)
    e.check_output = p.stdout + p.stderr
    return out


def _yaml_bool(e, key):
    v = e.yaml.get(key)
    return None if v is None else v == "true"


def botocore_endpoint(e, service, region):
    """The URL botocore 1.29 resolves, adjusted for amirotd's documented deviations."""
    env_sts = "AWS_STS_REGIONAL_ENDPOINTS" in e.env
    with e.applied():
        s = e.session()
        if service == "sts" and not env_sts and s.get_scoped_config().get("sts_regional_endpoints") is None:
            os.environ["AWS_STS_REGIONAL_ENDPOINTS"] = "regional"     # deviation: regional by default
            s = e.session()
        fips = _yaml_bool(e, "use_fips_endpoint")
        dual = _yaml_bool(e, "use_dualstack_endpoint")
        cfg = botocore.config.Config(use_fips_endpoint=fips, use_dualstack_endpoint=dual)
        client = s.create_client(service, region_name=region, aws_access_key_id="AKIDORACLE",
                                 aws_secret_access_key="oracle-not-a-secret", config=cfg)
        url = client.meta.endpoint_url
        dual_on = dual if dual is not None else (
            s.get_config_variable("use_dualstack_endpoint") in (True, "true", "True"))
    for prefix in NO_DUALSTACK:
        if region.startswith(prefix) and dual_on:
            return "none"                                           # deviation: no guessed dual-stack names
    for prefix, (_, suffix) in NEWER_PARTITIONS.items():
        if region.startswith(prefix):
            return url.replace(".amazonaws.com", "." + suffix)      # deviation: partitions after 1.29
    return url
