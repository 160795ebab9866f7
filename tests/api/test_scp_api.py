"""Service control policies in simulate / simulateCustom / simulateBatch and `graphiam simulate --scp`.

AWS: at every level of the organization (root, each OU, the account) some SCP must allow the action; a Deny in
any SCP denies; SCPs cap what identity *and* resource-based policies grant to the member account's principals;
service-linked roles are not restricted by SCPs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from graphiam.changes.load import seed_files
from tests.helpers import SEEDS

ALICE = "arn:aws:iam::111111111111:user/engineering/alice"
FULL = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}
ONLY_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
NO_EC2 = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "NoEc2", "Effect": "Deny", "Action": "ec2:*", "Resource": "*"}],
}
REGIONS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Regions",
            "Effect": "Deny",
            "NotAction": "iam:*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}},
        }
    ],
}
SIM = """query($p: String!, $a: String!, $l: [[JSON!]!], $c: [ContextEntryInput!], $rp: JSON) {
  simulate(principal: $p, action: $a, resource: "arn:aws:s3:::bucket/key", serviceControlPolicies: $l,
           context: $c, resourcePolicy: $rp) {
    decision identityDecision scpDecision warnings
    matchedStatements { policyArn kind appliesVia sid effect } } }"""


@pytest.fixture(scope="module")
def q(seeded_gql):
    return seeded_gql


def sim(
    q: Any,
    action: str,
    levels: list[list[Any]] | None,
    context: list[dict[str, Any]] | None = None,
    resource_policy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    variables = {"p": ALICE, "a": action, "l": levels, "c": context, "rp": resource_policy}
    answer: dict[str, Any] = q(SIM, variables)["simulate"]
    return answer


def test_without_scps_there_is_no_scp_verdict(q):
    # the demo organization governs alice's account with FullAWSAccess at every level
    d = sim(q, "ec2:DescribeInstances", None)
    assert d["decision"] == "ALLOWED" and d["scpDecision"] == "ALLOWED"
    # the partner account is in no stored organization: no SCP verdict
    partner = q(
        'query { simulate(principal: "arn:aws:iam::222222222222:user/auditor", action: "sts:AssumeRole", '
        'resource: "arn:aws:iam::111111111111:role/PartnerAuditRole") { decision scpDecision } }'
    )["simulate"]
    assert partner["scpDecision"] is None


def test_every_level_must_allow(q):
    assert sim(q, "ec2:DescribeInstances", [[FULL], [FULL]])["decision"] == "ALLOWED"
    d = sim(q, "ec2:DescribeInstances", [[FULL], [ONLY_S3], [FULL]])  # the OU allows s3 only
    assert d["decision"] == "IMPLICIT_DENY" and d["scpDecision"] == "IMPLICIT_DENY"
    assert d["identityDecision"] == "ALLOWED"  # the identity side still grants it: the SCP caps it
    # two SCPs on one level: one of them allowing is enough
    assert sim(q, "ec2:DescribeInstances", [[FULL], [ONLY_S3, FULL]])["scpDecision"] == "ALLOWED"


def test_a_deny_anywhere_denies_and_is_reported(q):
    d = sim(q, "ec2:DescribeInstances", [[FULL], [FULL, NO_EC2]])
    assert d["decision"] == "EXPLICIT_DENY" and d["scpDecision"] == "EXPLICIT_DENY"
    [deny] = [m for m in d["matchedStatements"] if m["effect"] == "DENY"]
    assert deny == {
        "policyArn": "serviceControlPolicies[1][1]",
        "kind": "SCP",
        "appliesVia": "SCP",
        "sid": "NoEc2",
        "effect": "DENY",
    }


def test_conditions_in_scps(q):
    def region(r: str) -> list[dict[str, Any]]:
        return [{"key": "aws:RequestedRegion", "values": [r]}]

    assert sim(q, "ec2:DescribeInstances", [[FULL, REGIONS]], region("us-east-1"))["decision"] == "ALLOWED"
    assert (
        sim(q, "ec2:DescribeInstances", [[FULL, REGIONS]], region("eu-west-1"))["decision"] == "EXPLICIT_DENY"
    )


def test_scps_cap_what_a_resource_policy_grants(q):
    bucket = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ALICE},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::bucket/*",
            }
        ],
    }
    assert sim(q, "s3:GetObject", None, resource_policy=bucket)["decision"] == "ALLOWED"
    no_s3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
    d = sim(q, "s3:GetObject", [[no_s3]], resource_policy=bucket)
    assert d["decision"] == "IMPLICIT_DENY" and d["scpDecision"] == "IMPLICIT_DENY"


def test_service_linked_roles_are_exempt(q):
    slr = (
        "arn:aws:iam::111111111111:role/aws-service-role/elasticmapreduce.amazonaws.com/AWSServiceRoleForEMR"
    )
    query = """query($c: String!, $l: [[JSON!]!]) { simulateCustom(policies: [{Statement: [{Effect: "Allow",
               Action: "ec2:*", Resource: "*"}]}], action: "ec2:RunInstances", caller: $c,
               serviceControlPolicies: $l) { decision scpDecision warnings } }"""
    d = q(query, {"c": slr, "l": [[FULL, NO_EC2]]})["simulateCustom"]
    assert d["decision"] == "ALLOWED" and d["scpDecision"] is None and "service-linked" in d["warnings"][0]
    other = q(query, {"c": "arn:aws:iam::111111111111:role/Plain", "l": [[FULL, NO_EC2]]})["simulateCustom"]
    assert other["decision"] == "EXPLICIT_DENY"


def test_batch_applies_the_scps_to_every_request(q):
    d = q(
        f"""query($l: [[JSON!]!]) {{ simulateBatch(principal: "{ALICE}", actions: ["ec2:DescribeInstances",
             "ec2:DescribeVpcs"], serviceControlPolicies: $l) {{ action decision scpDecision }} }}""",
        {"l": [[FULL, NO_EC2]]},
    )["simulateBatch"]
    assert [x["decision"] for x in d] == ["EXPLICIT_DENY", "EXPLICIT_DENY"]


@pytest.mark.parametrize(
    "levels, message",
    [
        ([[FULL], []], "serviceControlPolicies[1] is empty"),
        (
            [
                [
                    {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "*",
                                "Resource": "*",
                                "Condition": {"Nope": {"a": "b"}},
                            }
                        ]
                    }
                ]
            ],
            "serviceControlPolicies[0][0]",
        ),
        ([["not a policy"]], "serviceControlPolicies[0][0]"),
    ],
)
def test_bad_scps_are_named(q, levels, message):
    body = q.raw(SIM, {"p": ALICE, "a": "s3:GetObject", "l": levels})
    assert body["data"] is None and message in body["errors"][0]["message"], body


def test_cli_reads_one_file_per_level(tmp_path):
    env = {**os.environ, "GRAPHIAM_DB": str(tmp_path / "db")}

    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "graphiam.cli", *a], env=env, capture_output=True, text=True, timeout=120
        )

    assert run("load", *map(str, seed_files(SEEDS))).returncode == 0
    (tmp_path / "root.json").write_text(json.dumps(FULL))
    (tmp_path / "acct.json").write_text(json.dumps([FULL, NO_EC2]))
    base = ("simulate", "--principal", ALICE, "--action", "ec2:DescribeInstances")
    assert run(*base).returncode == 0
    r = run(*base, "--scp", str(tmp_path / "root.json"), "--scp", str(tmp_path / "acct.json"))
    assert r.returncode == 3 and "SCPs: EXPLICIT_DENY" in r.stdout and "NoEc2" in r.stdout, r.stdout
    r = run(*base, "--scp", str(tmp_path / "missing.json"))
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "missing.json" in r.stderr
