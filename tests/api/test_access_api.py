"""whoCan / whoCanSummary / effectivePermissions through GraphQL on the demo org."""

from __future__ import annotations

import pytest

from tests.helpers import SEEDS

A = "arn:aws:iam::111111111111:"
WHO_CAN = """query($a: String!, $r: String!, $c: [ContextEntryInput!], $chains: Boolean, $cond: Boolean) {
  whoCan(action: $a, resource: $r, context: $c, viaChains: $chains, conditional: $cond) {
    principal { __typename arn account } principalArn kind account decision conditional
    requiredConditions { key operator values role policyArn statementIndex }
    matchedStatements { policyArn effect sid kind appliesVia } missingContextKeys chain chainConditions } }"""
SUMMARY = """query($a: String!, $r: String!) { whoCanSummary(action: $a, resource: $r) {
  total direct viaChains users roles candidates principals byAccount { account users roles total } } }"""


@pytest.fixture(scope="module")
def client():
    from graphiam.changes.load import load_files
    from graphiam.store import open_database
    from tests.helpers import GraphQLClient

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, [SEEDS / "demo-org.json", SEEDS / "partner-account.json"])
    yield GraphQLClient(db)
    db.close()


def test_who_can_assume_production_admin(client):
    rows = client(WHO_CAN, {"a": "sts:AssumeRole", "r": A + "role/ProductionAdminRole"})["whoCan"]
    assert [r["principalArn"] for r in rows] == [A + "role/delivery/DeploymentManagerRole"]
    (row,) = rows
    assert row["principal"] == {
        "__typename": "Role",
        "arn": A + "role/delivery/DeploymentManagerRole",
        "account": "111111111111",
    }
    assert row["decision"] == "ALLOWED" and row["kind"] == "ROLE" and row["chain"] is None
    assert {m["kind"] for m in row["matchedStatements"]} >= {"TRUST"}
    assert all(m["effect"] == "ALLOW" for m in row["matchedStatements"])


def test_who_can_with_context(client):
    query = {"a": "iam:CreateUser", "r": "*"}
    without = {r["principalArn"] for r in client(WHO_CAN, {**query, "cond": False})["whoCan"]}
    with_mfa = client(WHO_CAN, {**query, "c": [{"key": "aws:MultiFactorAuthPresent", "values": ["true"]}]})[
        "whoCan"
    ]
    assert A + "user/security/erin" not in without
    erin = next(r for r in with_mfa if r["principalArn"] == A + "user/security/erin")
    assert erin["principal"]["__typename"] == "User" and erin["kind"] == "USER"
    assert erin["decision"] == "ALLOWED" and erin["conditional"] is False and erin["requiredConditions"] == []
    assert {m["appliesVia"] for m in erin["matchedStatements"]} == {"GROUP"}
    # without MFA in the request she is allowed if the Admins group's deny (BoolIfExists MFA false) is avoided
    (cond,) = client(WHO_CAN, {**query, "cond": True})["whoCan"]
    assert cond["principalArn"] == A + "user/security/erin" and cond["decision"] == "EXPLICIT_DENY"
    assert [(c["key"], c["operator"], c["values"], c["role"]) for c in cond["requiredConditions"]] == [
        ("aws:MultiFactorAuthPresent", "BoolIfExists", ["false"], "AVOIDED")
    ]


def test_who_can_pass_role_lists_bob_as_conditional(client):
    """Demo org: bob may iam:PassRole only with iam:PassedToService ec2.amazonaws.com (issue 12 §1)."""
    role = A + "role/service-role/OpsAutomationRole"
    rows = client(WHO_CAN, {"a": "iam:PassRole", "r": role})["whoCan"]
    bob = next(r for r in rows if r["principalArn"] == A + "user/engineering/bob")
    assert bob["conditional"] is True and bob["decision"] == "IMPLICIT_DENY"
    assert bob["requiredConditions"] == [
        {
            "key": "iam:PassedToService",
            "operator": "StringEquals",
            "values": ["ec2.amazonaws.com"],
            "role": "REQUIRED",
            "policyArn": A + "user/engineering/bob#LaunchAppInstances",
            "statementIndex": 1,
        }
    ]
    assert all(r["conditional"] is (r["decision"] != "ALLOWED") for r in rows)
    unconditional = {
        r["principalArn"] for r in client(WHO_CAN, {"a": "iam:PassRole", "r": role, "cond": False})["whoCan"]
    }
    conditional = {
        r["principalArn"] for r in client(WHO_CAN, {"a": "iam:PassRole", "r": role, "cond": True})["whoCan"]
    }
    assert A + "user/engineering/bob" in conditional and A + "user/engineering/bob" not in unconditional
    assert unconditional | conditional == {r["principalArn"] for r in rows}
    # the key given: bob is allowed outright; the wrong service: he is not listed at all
    given = [{"key": "iam:PassedToService", "values": ["ec2.amazonaws.com"]}]
    rows = client(WHO_CAN, {"a": "iam:PassRole", "r": role, "c": given})["whoCan"]
    bob = next(r for r in rows if r["principalArn"] == A + "user/engineering/bob")
    assert bob["decision"] == "ALLOWED" and bob["conditional"] is False
    wrong = [{"key": "iam:PassedToService", "values": ["lambda.amazonaws.com"]}]
    rows = client(WHO_CAN, {"a": "iam:PassRole", "r": role, "c": wrong})["whoCan"]
    assert A + "user/engineering/bob" not in {r["principalArn"] for r in rows}


def test_who_can_summary_counts_by_account(client):
    s = client(SUMMARY, {"a": "ec2:RunInstances", "r": "*"})["whoCanSummary"]
    rows = client(WHO_CAN, {"a": "ec2:RunInstances", "r": "*"})["whoCan"]
    assert s["total"] == len(rows) == s["direct"] and s["viaChains"] == 0
    assert s["users"] == sum(r["kind"] == "USER" for r in rows) and s["roles"] == s["total"] - s["users"]
    assert sum(a["total"] for a in s["byAccount"]) == s["total"]
    assert s["principals"] == 21 and s["total"] <= s["candidates"] < s["principals"]


def test_who_can_bad_action_is_a_one_line_error(client):
    body = client.raw(WHO_CAN, {"a": "CreateUser", "r": "*"})
    (err,) = body["errors"]
    assert "`action`" in err["message"] and "\n" not in err["message"]


def test_who_can_pages_by_principal_arn(client):
    q = """query($after: String) {
             whoCan(action: "s3:GetObject", resource: "arn:aws:s3:::examplecorp-dev-assets/x", first: 2,
                    after: $after) { principalArn } }"""
    full = [
        r["principalArn"]
        for r in client(WHO_CAN, {"a": "s3:GetObject", "r": "arn:aws:s3:::examplecorp-dev-assets/x"})[
            "whoCan"
        ]
    ]
    assert len(full) > 2
    seen, after = [], None
    while True:
        page = [r["principalArn"] for r in client(q, {"after": after})["whoCan"]]
        if not page:
            break
        seen += page
        after = page[-1]
    assert seen == full


EFFECTIVE = """query($p: String!, $s: String, $l: AccessLevel, $after: String) {
  effectivePermissions(principal: $p, service: $s, accessLevel: $l) {
    principal isAdmin permissionsBoundary actionCount blockedActionCount
    summary { service accessLevel count } byService { service count } byAccessLevel { accessLevel count }
    actions(first: 100, after: $after) { totalCount pageInfo { hasNextPage endCursor }
      nodes { action service accessLevel
              allowed { pattern excluding alsoMatching conditions { operator key values }
                        statements { policyName via effect } }
              denied { pattern conditions { key } statements { policyArn effect } } } }
    unknownActions { action policyArn effect notAction } warnings } }"""


def test_effective_permissions_of_an_administrator(client):
    e = client(EFFECTIVE, {"p": A + "role/ProductionAdminRole"})["effectivePermissions"]
    assert e["isAdmin"] and e["permissionsBoundary"] is None
    assert (
        e["actionCount"]
        == sum(s["count"] for s in e["summary"])
        == sum(s["count"] for s in e["byService"])
        > 15000
    )
    assert len(e["byService"]) > 400
    assert {x["accessLevel"] for x in e["byAccessLevel"]} == {
        "LIST",
        "READ",
        "TAGGING",
        "WRITE",
        "PERMISSIONS_MANAGEMENT",
    }
    assert e["actions"]["totalCount"] == e["actionCount"] and len(e["actions"]["nodes"]) == 100


def test_effective_permissions_filtered_and_paginated(client):
    variables = {"p": A + "role/ProductionAdminRole", "s": "s3", "l": "WRITE"}
    seen, after = [], None
    while True:
        e = client(EFFECTIVE, {**variables, "after": after})["effectivePermissions"]
        seen += [n["action"] for n in e["actions"]["nodes"]]
        if not e["actions"]["pageInfo"]["hasNextPage"]:
            break
        after = e["actions"]["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == e["actionCount"] > 50
    assert all(a.startswith("s3:") for a in seen)
    assert e["summary"] == [{"service": "s3", "accessLevel": "WRITE", "count": len(seen)}]


def test_effective_permissions_with_boundary_deny_and_unknowns(client):
    grace = client(EFFECTIVE, {"p": A + "user/contractors/grace", "s": "s3", "l": "WRITE"})[
        "effectivePermissions"
    ]
    (put,) = grace["actions"]["nodes"]
    assert put["action"] == "s3:PutObject"
    (grant,) = put["allowed"]
    assert grant["pattern"] == "arn:aws:s3:::examplecorp-contractor-uploads/grace/*"
    assert {c["key"] for c in grant["conditions"]} == {"aws:CurrentTime"}
    assert {s["via"] for s in grant["statements"]} == {"user", "boundary"}
    unfiltered = client(EFFECTIVE, {"p": A + "user/contractors/grace"})["effectivePermissions"]
    assert unfiltered["blockedActionCount"] > 0  # ReadOnlyAccess beyond the boundary (dynamodb:GetItem …)
    assert {s["service"] for s in unfiltered["byService"]} == {"s3", "ec2", "cloudwatch", "iam"}
    assert any(
        u["policyArn"].endswith("ReadOnlyAccess") and u["effect"] == "Allow" for u in grace["unknownActions"]
    )
    bob = client(EFFECTIVE, {"p": A + "user/engineering/bob", "s": "s3", "l": "WRITE"})[
        "effectivePermissions"
    ]
    delete = next(n for n in bob["actions"]["nodes"] if n["action"] == "s3:DeleteObject")
    assert any("prod" in d["pattern"] and d["statements"][0]["effect"] == "Deny" for d in delete["denied"])


def test_effective_permissions_errors(client):
    body = client.raw(EFFECTIVE, {"p": A + "user/nobody"})
    assert "not in the graph" in body["errors"][0]["message"]
    body = client.raw(EFFECTIVE, {"p": A + "role/ProductionAdminRole", "after": "not-a-cursor!"})
    assert "`after`" in body["errors"][0]["message"]


def test_who_can_without_and_with_principal_objects_and_fragments(client):
    args = {"a": "sts:AssumeRole", "r": A + "role/ProductionAdminRole"}
    q = """query($a: String!, $r: String!) { whoCan(action: $a, resource: $r) { principalArn decision } }"""
    assert client(q, args)["whoCan"] == [
        {"principalArn": A + "role/delivery/DeploymentManagerRole", "decision": "ALLOWED"}
    ]
    q = """query($a: String!, $r: String!) { whoCan(action: $a, resource: $r) { ...F } }
           fragment F on PrincipalAccess { principal { ... on Role { roleId name } } }"""
    assert client(q, args)["whoCan"][0]["principal"]["name"] == "DeploymentManagerRole"
