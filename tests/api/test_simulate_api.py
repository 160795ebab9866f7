"""simulate, simulateCustom and simulateBatch through GraphQL: shapes, reasons, errors."""

from __future__ import annotations

from typing import Any

import pytest

ALICE = "arn:aws:iam::111111111111:user/engineering/alice"
PLATFORM = "arn:aws:iam::111111111111:role/PlatformEngineerRole"


@pytest.fixture(scope="module")
def q(seeded_gql):
    return seeded_gql


def test_simulate_reports_statements_and_verdicts(q):
    d = q(
        """query($p: String!, $r: String!) { simulate(principal: $p, action: "sts:AssumeRole", resource: $r,
             context: [{key: "aws:MultiFactorAuthPresent", values: ["true"], type: BOOLEAN}]) {
             decision identityDecision boundaryDecision resourcePolicyDecision resourcePolicySource
             matchedStatements { policyArn kind appliesVia statementIndex sid effect statement } } }""",
        {"p": ALICE, "r": PLATFORM},
    )["simulate"]
    assert d["decision"] == "ALLOWED" and d["resourcePolicySource"] == "trust"
    assert d["resourcePolicyDecision"] == "ALLOWED" and d["boundaryDecision"] is None
    trust = [m for m in d["matchedStatements"] if m["kind"] == "TRUST"]
    assert (
        trust and trust[0]["policyArn"] == PLATFORM + "#trust" and trust[0]["statement"]["Effect"] == "Allow"
    )


def test_simulate_batch_is_actions_times_resources(q):
    d = q(
        """query($p: String!) { simulateBatch(principal: $p, actions: ["s3:GetObject", "iam:CreateUser"],
             resources: ["arn:aws:s3:::a/b", "*"]) { action resource decision } }""",
        {"p": ALICE},
    )["simulateBatch"]
    assert [(x["action"], x["resource"]) for x in d] == [
        ("s3:GetObject", "arn:aws:s3:::a/b"),
        ("s3:GetObject", "*"),
        ("iam:CreateUser", "arn:aws:s3:::a/b"),
        ("iam:CreateUser", "*"),
    ]


def test_simulate_custom_with_multivalued_context(q):
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}},
            }
        ],
    }
    query = """query($p: JSON!, $v: [String!]!) { simulateCustom(policies: [$p], action: "ec2:CreateTags",
               context: [{key: "aws:TagKeys", values: $v, type: STRING_LIST}]) { decision } }"""
    assert q(query, {"p": policy, "v": ["env"]})["simulateCustom"]["decision"] == "ALLOWED"
    assert q(query, {"p": policy, "v": ["env", "owner"]})["simulateCustom"]["decision"] == "IMPLICIT_DENY"


def test_errors_name_the_argument_and_path(q):
    body = q.raw("""{ simulateCustom(policies: [{Statement: [{Effect: "Allow", Action: "s3:*", Resource: "*",
                    Condition: {StringEqualz: {a: "b"}}}]}], action: "s3:GetObject") { decision } }""")
    msg = body["errors"][0]["message"]
    assert "policies[0]" in msg and "$.Statement[0].Condition" in msg and "StringEqualz" in msg
    body = q.raw(
        '{ simulate(principal: "arn:aws:iam::111111111111:user/ghost", action: "s3:GetObject") { decision } }'
    )
    assert "`arn:aws:iam::111111111111:user/ghost` is not in the graph" in body["errors"][0]["message"]


def test_typos_in_simulate_get_a_warning_naming_the_closest_action(q):
    d = q(
        """query($p: String!) { simulate(principal: $p, action: "s3:GetObjekt") { decision warnings }
             simulateBatch(principal: $p, actions: ["s3:GetObject", "iam:CreateUsr"]) { action warnings }
             simulateCustom(policies: [], action: "s33:GetObject", resource: "arn:aws:s3") { warnings } }""",
        {"p": ALICE},
    )
    assert d["simulate"]["decision"] == "IMPLICIT_DENY"
    assert "unknown action `s3:GetObjekt`: did you mean s3:GetObject?" in d["simulate"]["warnings"]
    ok, typo = d["simulateBatch"]
    assert not [w for w in ok["warnings"] if "did you mean" in w]
    assert "unknown action `iam:CreateUsr`: did you mean iam:CreateUser?" in typo["warnings"]
    assert d["simulateCustom"]["warnings"][0] == (
        "unknown service `s33` in `s33:GetObject`: did you mean s3:GetObject?"
    )
    assert d["simulateCustom"]["warnings"][1].startswith("resource `arn:aws:s3`: not an ARN")


LAYERS = """query($rp: JSON, $rcps: [[JSON!]!], $sp: JSON, $caller: String, $a: String!, $r: String!,
    $c: [ContextEntryInput!]) {
  simulateCustom(policies: [], action: $a, resource: $r, caller: $caller, resourcePolicy: $rp,
                 resourceControlPolicies: $rcps, sessionPolicy: $sp, context: $c) {
    decision rcpDecision sessionDecision resourcePolicyDecision scpDecision warnings
    matchedStatements { policyArn kind appliesVia effect } } }"""
TOPIC_QUEUE = "arn:aws:sqs:us-east-1:111111111111:events"


def test_simulate_custom_with_a_service_principal_an_rcp_and_a_session_policy(q):
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": TOPIC_QUEUE,
                "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:events:*:111111111111:rule/*"}},
            }
        ],
    }
    confused_deputy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": "*",
                "Condition": {"StringNotEqualsIfExists": {"aws:SourceAccount": "111111111111"}},
            }
        ],
    }
    variables: dict[str, Any] = {
        "rp": grant,
        "caller": "events.amazonaws.com",
        "a": "sqs:SendMessage",
        "r": TOPIC_QUEUE,
        "c": [
            {"key": "aws:SourceArn", "values": ["arn:aws:events:us-east-1:111111111111:rule/nightly"]},
            {"key": "aws:SourceAccount", "values": ["111111111111"]},
        ],
    }
    d = q(LAYERS, {**variables, "rcps": [[confused_deputy]]})["simulateCustom"]
    assert (d["decision"], d["rcpDecision"], d["resourcePolicyDecision"]) == ("ALLOWED", "ALLOWED", "ALLOWED")
    assert d["sessionDecision"] is None and d["scpDecision"] is None
    variables["c"][1]["values"] = ["999988887777"]
    d = q(LAYERS, {**variables, "rcps": [[], [confused_deputy]]})["simulateCustom"]
    assert (d["decision"], d["rcpDecision"]) == ("EXPLICIT_DENY", "EXPLICIT_DENY")
    assert [m for m in d["matchedStatements"] if m["effect"] == "DENY"] == [
        {
            "policyArn": "resourceControlPolicies[1][0]",
            "kind": "RCP",
            "appliesVia": "RCP",
            "effect": "DENY",
        }
    ]
    session = "arn:aws:sts::111111111111:assumed-role/worker/job-7"
    d = q(
        LAYERS,
        {
            "rp": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": session}, "Action": "sqs:*", "Resource": "*"}
                ],
            },
            "sp": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            },
            "caller": session,
            "a": "sqs:SendMessage",
            "r": TOPIC_QUEUE,
        },
    )["simulateCustom"]
    assert (d["decision"], d["sessionDecision"]) == ("ALLOWED", "IMPLICIT_DENY")


def test_layer_errors_name_the_argument(q):
    common: dict[str, Any] = {"a": "sqs:SendMessage", "r": TOPIC_QUEUE}
    body = q.raw(LAYERS, {**common, "caller": "not-a-principal"})
    assert body["errors"][0]["message"].startswith("`caller`: unknown caller `not-a-principal`")
    body = q.raw(LAYERS, {**common, "sp": "{oops"})
    assert "sessionPolicy" in body["errors"][0]["message"]
    body = q.raw(LAYERS, {**common, "rcps": [[{"Statement": [{"Effect": "Nope"}]}]]})
    assert "resourceControlPolicies[0][0]" in body["errors"][0]["message"]
