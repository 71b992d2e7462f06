#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Signs a table of awkward requests with botocore's SigV4Auth and writes them,
with botocore's answers, for tests/unit/test-sigv4.c to sign again and compare.

Run at test time by `make check-unit` (Debian's /usr/bin/python3 with
python3-botocore), so the expected Authorization headers always come from the
botocore installed, never from constants pasted once.

Usage: sigv4-botocore.py OUTPUT

The output is text, one record per request, records separated by a blank line,
each line "key: value". Values are escaped: backslash as \\\\, newline \\n, CR \\r,
tab \\t, and every other byte below 0x20 or above 0x7e as \\xHH, so any byte
string, UTF-8 included, fits on one line. "header" may repeat ("Name:value").
A missing "query" or "token" line means none.
"""

import datetime
import os
import re
import sys
import types
from unittest import mock
from urllib.parse import quote, urlsplit

import botocore
import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FORM = "application/x-www-form-urlencoded; charset=utf-8"
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# A session token looks like this: long base64 with '+', '/' and '='.
TOKEN = ("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+6n0yRkBzT1h2"
         "c3VkZW50K0FNSVJPVEQvdGVzdA==" * 6)


def utc(*args):
    return datetime.datetime(*args, tzinfo=datetime.timezone.utc)


NOW = utc(2026, 11, 26, 14, 55, 0)


def aws_encode(s, safe=""):
    """The encoding of aws_uri_encode(): only A-Z a-z 0-9 - _ . ~ stay."""
    return quote(s, safe=safe + "-_.~")


def form(params, encode=aws_encode):
    """A Query-protocol body as daemon/aws/query.c writes it."""
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in params).encode()


def ec2(action, params=(), version="2016-11-15"):
    return [("Action", action), ("Version", version)] + list(params)


def tags(pairs):
    out = []
    for i, (k, v) in enumerate(pairs, 1):
        out += [(f"Tag.{i}.Key", k), (f"Tag.{i}.Value", v)]
    return out


def filters(n):
    out = []
    for i in range(1, n + 1):
        out += [(f"Filter.{i}.Name", f"tag:amirotd:policy-{i}"), (f"Filter.{i}.Value.1", f"value {i} / {i * 7}")]
    return out


ODD = "+*~/=&%"
UNICODE = "Größe ✓ 日本語 — café"


def build_table():
    """Each entry: keyword arguments of one request. Defaults: POST, EC2, us-east-1."""
    t = []

    def post(name, params, **kw):
        kw.setdefault("body", form(params))
        kw.setdefault("headers", [("Content-Type", FORM)])
        t.append(dict(name=name, method="POST", **kw))

    def get(name, params, **kw):
        t.append(dict(name=name, method="GET", params=params, **kw))

    # EC2 Query-protocol POST bodies, encoded as query.c encodes them.
    post("describe-instances", ec2("DescribeInstances"))
    post("tag-value-spaces", ec2("CreateTags", [("ResourceId.1", "ami-0123456789abcdef0")] +
                                 tags([("Name", "web server  01"), ("Team", " platform ")])))
    post("tag-value-unicode", ec2("CreateTags", [("ResourceId.1", "i-0abc")] + tags([("Beschreibung", UNICODE)])))
    post("tag-value-odd-chars", ec2("CreateTags", [("ResourceId.1", "i-0abc")] + tags([("odd", ODD), (ODD, "k")])))
    post("tag-value-empty", ec2("CreateTags", [("ResourceId.1", "i-0abc")] + tags([("Golden", ""), ("", "")])))
    post("many-parameters", ec2("DescribeImages", [("Owner.1", "self")] + filters(150)))
    post("session-token", ec2("DescribeImages", [("Owner.1", "self")]), token=TOKEN)
    post("session-token-empty-is-unsigned", ec2("DescribeImages"), token="")
    post("create-image", ec2("CreateImage", [
        ("InstanceId", "i-0123456789abcdef0"), ("Name", "web-i-0123456789abcdef0-2026-11-26T03:00Z"),
        ("Description", "golden image of web (Größe 3)"), ("NoReboot", "true"),
        ("TagSpecification.1.ResourceType", "image"),
        ("TagSpecification.1.Tag.1.Key", "amirotd:policy"), ("TagSpecification.1.Tag.1.Value", "web"),
        ("TagSpecification.2.ResourceType", "snapshot"),
        ("TagSpecification.2.Tag.1.Key", "amirotd:slot"), ("TagSpecification.2.Tag.1.Value", "2026-11-26T03:00Z"),
    ]), token=TOKEN)
    post("botocore-form-body", ec2("CreateTags", tags([("a b", "c+d e*f~g")])),
         body=None, data=dict(ec2("CreateTags", tags([("a b", "c+d e*f~g")]))))
    post("body-bytes-all", ec2("X"), body=bytes(range(256)))
    post("empty-body", [], body=b"")
    post("region-eu-central-2", ec2("DescribeRegions"), region="eu-central-2",
         endpoint="https://ec2.eu-central-2.amazonaws.com")
    post("region-ap-southeast-4", ec2("DescribeRegions"), region="ap-southeast-4",
         endpoint="https://ec2.ap-southeast-4.amazonaws.com")
    post("region-us-gov-west-1", ec2("DescribeRegions"), region="us-gov-west-1",
         endpoint="https://ec2.us-gov-west-1.amazonaws.com", token=TOKEN)
    post("region-cn-northwest-1", ec2("DescribeRegions"), region="cn-northwest-1",
         endpoint="https://ec2.cn-northwest-1.amazonaws.com.cn")
    post("sts-get-caller-identity", [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
         service="sts", endpoint="https://sts.us-east-1.amazonaws.com")
    post("sts-assume-role", [("Action", "AssumeRole"), ("Version", "2011-06-15"),
                             ("RoleArn", "arn:aws:iam::111122223333:role/amirotd"),
                             ("RoleSessionName", "amirotd-4242"), ("ExternalId", "ext/id+=&x"),
                             ("DurationSeconds", "3600")],
         service="sts", region="eu-west-1", endpoint="https://sts.eu-west-1.amazonaws.com", token=TOKEN)
    post("sts-cn", [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
         service="sts", region="cn-north-1", endpoint="https://sts.cn-north-1.amazonaws.com.cn")
    post("host-ipv4-port", ec2("DescribeImages"), endpoint="http://127.0.0.1:8080")
    post("host-localhost-default-http-port", ec2("DescribeImages"), endpoint="http://localhost:80")
    post("host-default-https-port", ec2("DescribeImages"), endpoint="https://ec2.us-east-1.amazonaws.com:443")
    post("host-https-other-port", ec2("DescribeImages"), endpoint="https://ec2sim.internal:8443")
    post("host-ipv6-port", ec2("DescribeImages"), endpoint="http://[::1]:8080")
    post("host-ipv6-default", ec2("DescribeImages"), endpoint="https://[2001:DB8::1]")
    post("host-upper-case", ec2("DescribeImages"), endpoint="https://EC2.Example.COM:8443")
    post("time-midnight", ec2("DescribeImages"), now=utc(2026, 1, 1, 0, 0, 0))
    post("time-before-midnight", ec2("DescribeImages"), now=utc(2025, 12, 31, 23, 59, 59))
    post("time-leap-day", ec2("DescribeImages"), now=utc(2024, 2, 29, 12, 0, 0))
    post("time-leap-day-2000", ec2("DescribeImages"), now=utc(2000, 2, 29, 23, 59, 59))
    post("time-epoch", ec2("DescribeImages"), now=utc(1970, 1, 1, 0, 0, 0))
    post("time-after-2038", ec2("DescribeImages"), now=utc(2040, 7, 4, 6, 30, 15))
    post("secret-other", ec2("DescribeImages"), akid="AKIAIOSFODNN7EXAMPLE",
         secret="je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY")
    post("header-whitespace", ec2("DescribeImages"),
         headers=[("Content-Type", FORM), ("X-Amz-Meta-Note", "  a   b \t c  "), ("X-Empty", "")])
    post("header-case-and-order", ec2("DescribeImages"),
         headers=[("ZZ-Last", "z"), ("Content-Type", FORM), ("aa-first", "A"), ("X-Amz-Target", "Svc.Op")])
    post("header-content-length", ec2("DescribeImages"),
         headers=[("Content-Type", FORM), ("Content-Length", str(len(form(ec2("DescribeImages")))))])

    # GET requests with query strings. "wire" picks how the query is encoded on the wire:
    # botocore's own (urlencode: '+' for spaces), aws_encode, lower-case hex, or with
    # reserved characters left bare; the C signer must canonicalize all of them alike.
    get("get-botocore-query", ec2("DescribeImages", [("Owner.1", "self")]))
    get("get-query-spaces-plus", [("Name", "a b  c"), ("Plus", "1+1=2")])
    get("get-query-spaces-%20", [("Name", "a b  c"), ("Plus", "1+1=2")], wire="aws")
    get("get-query-unicode", [("Beschreibung", UNICODE), ("日本", "語")])
    get("get-query-odd-chars", [("odd", ODD), ("k" + ODD, ODD + "v")], wire="bare")
    get("get-query-lower-hex", [("odd", ODD), ("u", UNICODE)], wire="lower")
    get("get-query-order-key", [("b", "1"), ("B", "2"), ("a", "3"), ("_", "4"), ("~", "5"), ("A.10", "x"),
                                ("A.9", "y"), ("A.1", "z")])
    get("get-query-order-value", [("Param1", "value2"), ("Param1", "Value1"), ("Param1", "value1")])
    get("get-query-empty-values", [("Flag", ""), ("Other", ""), ("x", "1")])
    get("get-query-empty-value-bare", [("Flag", ""), ("x", "1")], wire="noequals")
    get("get-query-many", [(f"Param.{i}", f"v {i}") for i in range(200, 0, -1)], token=TOKEN)
    get("get-query-sort-after-encoding", [("a%", "1"), ("a~", "2"), ("a-", "3"), ("a.", "4"), ("a_", "5"),
                                          ("aZ", "6"), ("a z", "7"), ("a\u00e9", "8")])
    get("get-sts", [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")], service="sts",
        region="us-west-2", endpoint="https://sts.us-west-2.amazonaws.com", token=TOKEN)

    # Paths with odd characters, as sent on the wire (already encoded where they must be).
    get("path-plain", [], path="/a/b/c")
    get("path-trailing-slash", [], path="/a/b/")
    get("path-dot-segments", [], path="/a/./b/../c/./d/..")
    get("path-double-slashes", [], path="//a//b///c//")
    get("path-dotdot-above-root", [], path="/../../x")
    get("path-only-dots", [], path="/./..")
    get("path-encoded-space", [("q", "1")], path="/with%20space/x")
    get("path-reserved-chars", [], path="/a+b=c&d;e,f:g@h!i$j'k(l)m*n")
    get("path-tilde-unicode", [], path="/~user/%C3%BCmlaut/%2F")
    get("path-empty", [], path="")
    t.append(dict(name="delete-method", method="DELETE", path="/thing/1", params=[("force", "true")]))

    # SSM's JSON protocol as botocore's own SSM client serializes it (client.c's
    # aws_client_call_json): Content-Type and X-Amz-Target are signed with the rest.
    for name, op, params in (
            ("ssm-get-parameter", "GetParameter", {"Name": "/golden/web/latest"}),
            ("ssm-put-parameter", "PutParameter", {"Name": "/golden/web/latest", "Value": "ami-0123456789abcdef0",
                                                   "Type": "String", "Overwrite": True,
                                                   "DataType": "aws:ec2:image"}),
            # Run Command (aws/ssm-command.c): test-ssm-command compares its bodies with these.
            ("ssm-send-command", "SendCommand", {
                "InstanceIds": ["i-0123456789abcdef0"], "DocumentName": "AWS-RunShellScript",
                "TimeoutSeconds": 600, "Comment": "amirotd freeze web 2026-12-01T03:00Z",
                "Parameters": {"commands": ['sync\nfsfreeze -f /data # "\u00e9"'], "executionTimeout": ["120"]}}),
            ("ssm-get-command-invocation", "GetCommandInvocation", {
                "CommandId": "0b2f4d9e-1111-2222-3333-444455556666", "InstanceId": "i-0123456789abcdef0"}),
            ("ssm-list-commands", "ListCommands", {
                "InstanceId": "i-0123456789abcdef0", "MaxResults": 50, "NextToken": "tok/+=",
                "Filters": [{"key": "InvokedAfter", "value": "2026-12-01T01:00:00Z"},
                            {"key": "DocumentName", "value": "AWS-RunShellScript"}]})):
        headers, body = ssm_request(op, params)
        t.append(dict(name=name, method="POST", service="ssm", endpoint="https://ssm.eu-west-1.amazonaws.com",
                      region="eu-west-1", headers=headers, body=body, token=TOKEN))
    # EC2 Query bodies as botocore's own EC2 client serializes them: test-ec2-instance
    # compares the verify calls' requests (aws/ec2-instance-calls.c) with these.
    verify_tags = [{"Key": "amirotd:policy", "Value": "web"},
                   {"Key": "amirotd:verify-of", "Value": "ami-0123456789abcdef0"},
                   {"Key": "Name", "Value": "amirotd verify web ami-0123456789abcdef0"}]
    for name, op, params in (
            ("ec2-run-instances", "RunInstances", {
                "ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1,
                "SubnetId": "subnet-0a1b2c3d4e5f60718", "SecurityGroupIds": ["sg-0a1b2c3d", "sg-0e0f0a0b"],
                "IamInstanceProfile": {"Name": "amirotd-verify"},
                "ClientToken": "amirotd-verify-ami-0123456789abcdef0",
                "TagSpecifications": [{"ResourceType": "instance", "Tags": verify_tags},
                                      {"ResourceType": "volume", "Tags": verify_tags}],
                "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"DeleteOnTermination": True}},
                                        {"DeviceName": "/dev/sdf", "Ebs": {"DeleteOnTermination": True}}]}),
            ("ec2-run-instances-arn", "RunInstances", {
                "ImageId": "ami-0123456789abcdef0", "InstanceType": "m7g.large", "MinCount": 1, "MaxCount": 1,
                "SubnetId": "subnet-0a1b2c3d4e5f60718",
                "IamInstanceProfile": {"Arn": "arn:aws:iam::123456789012:instance-profile/verify"},
                "ClientToken": "amirotd-verify-ami-0123456789abcdef0", "DryRun": True}),
            ("ec2-terminate-instances", "TerminateInstances", {
                "InstanceIds": ["i-0a1b2c3d4e5f60789", "i-0b22a22eec53b9321"], "DryRun": True}),
            ("ec2-describe-instance-status", "DescribeInstanceStatus", {
                "InstanceIds": ["i-0a1b2c3d4e5f60789", "i-0b22a22eec53b9321"], "IncludeAllInstances": True}),
            ("ec2-get-console-output", "GetConsoleOutput", {"InstanceId": "i-0a1b2c3d4e5f60789"}),
            ("ec2-get-console-output-latest", "GetConsoleOutput",
             {"InstanceId": "i-0a1b2c3d4e5f60789", "Latest": True})):
        post(name, ec2(op, ec2_request(op, params)))
    return t


def ec2_request(op, params):
    """The parameters botocore's EC2 client sends for op, after Action and Version."""
    client = botocore.session.get_session().create_client(
        "ec2", region_name="us-east-1", aws_access_key_id=AKID, aws_secret_access_key=SECRET)
    model = client.meta.service_model.operation_model(op)
    body = client._serializer.serialize_to_request(params, model)["body"]
    assert body.pop("Action") == op and body.pop("Version") == "2016-11-15", body
    return [(k, str(v)) for k, v in body.items()]


def ssm_request(op, params):
    """The headers and body botocore's SSM client sends for op."""
    client = botocore.session.get_session().create_client(
        "ssm", region_name="eu-west-1", aws_access_key_id=AKID, aws_secret_access_key=SECRET)
    model = client.meta.service_model.operation_model(op)
    request = client._serializer.serialize_to_request(params, model)
    headers = [(k, v) for k, v in request["headers"].items() if k.lower() in ("content-type", "x-amz-target")]
    assert {k.lower() for k, _ in headers} == {"content-type", "x-amz-target"}, request["headers"]
    return headers, request["body"]


def escape(b):
    out = []
    for c in b:
        if c == 0x5c:
            out.append("\\\\")
        elif c == 0x0a:
            out.append("\\n")
        elif c == 0x0d:
            out.append("\\r")
        elif c == 0x09:
            out.append("\\t")
        elif c < 0x20 or c > 0x7e:
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c))
    return "".join(out)


def wire_query(params, wire, prepared_url):
    if wire == "botocore":
        return urlsplit(prepared_url).query
    if wire == "aws":
        return form(params).decode()
    if wire == "bare":
        return form(params, lambda s: quote(s, safe="-_.~/:*!,;@$'()")).decode()
    if wire == "lower":
        return form(params, lambda s: re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), aws_encode(s))).decode()
    if wire == "noequals":
        return "&".join(aws_encode(k) + ("=" + aws_encode(v) if v else "") for k, v in params)
    raise ValueError(wire)


class FixedClock(datetime.datetime):
    """botocore's SigV4Auth reads the time with datetime.datetime.utcnow()."""
    now = None

    @classmethod
    def utcnow(cls):
        return cls.now.replace(tzinfo=None)


def sign(spec):
    endpoint = spec.get("endpoint", "https://ec2.us-east-1.amazonaws.com")
    path = spec.get("path", "/")
    region = spec.get("region", "us-east-1")
    service = spec.get("service", "ec2")
    now = spec.get("now", NOW)
    token = spec.get("token")
    params = spec.get("params") or []
    data = spec.get("data", spec.get("body"))

    creds = Credentials(spec.get("akid", AKID), spec.get("secret", SECRET), token)
    request = AWSRequest(method=spec["method"], url=endpoint + path, data=data,
                         params=list(params), headers=dict(spec.get("headers", [])))
    auth = botocore.auth.SigV4Auth(creds, service, region)
    FixedClock.now = now
    # Only botocore.auth's view of the datetime module changes, nothing global.
    with mock.patch.object(botocore.auth, "datetime",
                           types.SimpleNamespace(datetime=FixedClock)):
        auth.add_auth(request)
    authorization = request.headers["Authorization"]
    del request.headers["Authorization"]
    canonical = auth.canonical_request(request)
    host = auth.headers_to_sign(request)["host"]
    body = request.body or b""
    query = wire_query(params, spec.get("wire", "botocore"), request.prepare().url) if params else None

    rec = [("name", spec["name"]), ("method", spec["method"]), ("endpoint", endpoint), ("path", path)]
    if query is not None:
        rec.append(("query", query))
    for k, v in spec.get("headers", []):
        rec.append(("header", f"{k}:{v}"))
    rec += [("body", body), ("region", region), ("service", service),
            ("time", str(int(now.timestamp()))), ("access-key-id", creds.access_key),
            ("secret", creds.secret_key)]
    if token is not None:
        rec.append(("token", token))
    rec += [("host", host), ("amz-date", request.context["timestamp"]),
            ("canonical", canonical), ("authorization", authorization)]
    return rec


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    table = build_table()
    names = [s["name"] for s in table]
    assert len(names) == len(set(names)), "duplicate record names"
    out = [f"# {len(table)} requests signed by botocore {botocore.__version__} "
           f"(tests/unit/sigv4-botocore.py)\n"]
    for spec in table:
        for k, v in sign(spec):
            out.append(f"{k}: {escape(v if isinstance(v, bytes) else v.encode())}\n")
        out.append("\n")
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.writelines(out)
    os.replace(tmp, sys.argv[1])


if __name__ == "__main__":
    main()
