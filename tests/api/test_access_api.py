"""whoCan / whoCanSummary / effectivePermissions through GraphQL on the demo org."""
from __future__ import annotations

import pytest

from tests.conftest import SEEDS

A = "arn:aws:iam::111111111111:"
WHO_CAN = """query($a: String!, $r: String!, $c: [ContextEntryInput!], $chains: Boolean) {
  whoCan(action: $a, resource: $r, context: $c, viaChains: $chains) {
    principal { __typename arn account } principalArn kind account decision
    matchedStatements { policyArn effect sid kind appliesVia } missingContextKeys chain chainConditions } }"""
SUMMARY = """query($a: String!, $r: String!) { whoCanSummary(action: $a, resource: $r) {
  total direct viaChains users roles candidates principals byAccount { account users roles total } } }"""


@pytest.fixture(scope="module")
def client():
    from tests.conftest import GraphQLClient
    from graphiam.loading import load_files
    from graphiam.store import open_database
    db = open_database(None, buffer_pool_mb=256)
    load_files(db, [SEEDS / "demo-org.json", SEEDS / "partner-account.json"])
    yield GraphQLClient(db)
    db.close()


def test_who_can_assume_production_admin(client):
    rows = client(WHO_CAN, {"a": "sts:AssumeRole", "r": A + "role/ProductionAdminRole"})["whoCan"]
    assert [r["principalArn"] for r in rows] == [A + "role/delivery/DeploymentManagerRole"]
    (row,) = rows
    assert row["principal"] == {"__typename": "Role", "arn": A + "role/delivery/DeploymentManagerRole",
                                "account": "111111111111"}
    assert row["decision"] == "ALLOWED" and row["kind"] == "ROLE" and row["chain"] is None
    assert {m["kind"] for m in row["matchedStatements"]} >= {"TRUST"}
    assert all(m["effect"] == "ALLOW" for m in row["matchedStatements"])


def test_who_can_with_context(client):
    query = {"a": "iam:CreateUser", "r": "*"}
    without = {r["principalArn"] for r in client(WHO_CAN, query)["whoCan"]}
    with_mfa = client(WHO_CAN, {**query, "c": [{"key": "aws:MultiFactorAuthPresent", "values": ["true"]}]})["whoCan"]
    assert A + "user/security/erin" not in without
    erin = next(r for r in with_mfa if r["principalArn"] == A + "user/security/erin")
    assert erin["principal"]["__typename"] == "User" and erin["kind"] == "USER"
    assert {m["appliesVia"] for m in erin["matchedStatements"]} == {"GROUP"}


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
