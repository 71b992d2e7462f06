#!/usr/bin/python3
"""packaging/iam-policy.json's shape, and the rules its reasons (packaging/README.md) rest on.

IAM is evaluated by AWS, not by ec2sim, so what the policy allows is checked here on its
text: a statement that lets amirotd tag an existing snapshot or image (ec2:CreateTags
outside creation, i.e. with no ec2:CreateAction condition) must require that the resource
carries no amirotd:policy yet, or that it carries one already and only amirotd:* keys are
written (the image statement amirotd's own retags use). A snapshot statement without the
first condition would let the role put amirotd:policy on any snapshot, another policy's
included, and DeleteSnapshot allows deleting every snapshot that carries it.
"""
import json
import sys


def as_list(v):
    return v if isinstance(v, list) else [v]


def main(path):
    doc = json.load(open(path))
    assert doc["Version"] == "2012-10-17"
    problems = []
    for st in doc["Statement"]:
        assert {"Effect", "Action", "Resource"} <= set(st), st
        if st["Effect"] != "Allow" or "ec2:CreateTags" not in as_list(st["Action"]):
            continue
        cond = st.get("Condition", {})
        if cond.get("StringEquals", {}).get("ec2:CreateAction"):
            continue                                    # tags at creation only
        null = cond.get("Null", {})
        of_no_policy = null.get("aws:ResourceTag/amirotd:policy") == "true"
        of_a_policy = null.get("aws:ResourceTag/amirotd:policy") == "false"
        for res in as_list(st["Resource"]):
            if res.endswith(":snapshot/*") and not of_no_policy:
                problems.append(f"{st.get('Sid')}: CreateTags on {res} without "
                                "Null aws:ResourceTag/amirotd:policy = true")
            if res.endswith(":image/*") and not (of_no_policy or of_a_policy):
                problems.append(f"{st.get('Sid')}: CreateTags on {res} with no amirotd:policy condition")
            if res == "*":
                problems.append(f"{st.get('Sid')}: CreateTags on every resource")
    for p in problems:
        print(f"{path}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
