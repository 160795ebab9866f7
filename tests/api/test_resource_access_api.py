"""whoCan and resourceAccess over GraphQL on stored resources (tests.helpers.write_resource_store)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graphiam.changes.load import load_files
from graphiam.store import open_database
from tests.helpers import (
    RES_A,
    RES_B,
    RES_KEY,
    RES_QUEUE,
    RES_TOPIC,
    RES_X,
    SHARED_BUCKET,
    GraphQLClient,
    write_resource_store,
)

READER = f"arn:aws:iam::{RES_B}:role/reader"
WHO = """query($a: String!, $r: String!, $first: Int, $after: String) {
  whoCan(action: $a, resource: $r, first: $first, after: $after) {
    principalArn kind account via conditional decision outsideOrganization public rcpDenied
    requiredConditions { key operator values }
    principal { arn }
  }
  whoCanSummary(action: $a, resource: $r) { total outside }
}"""


@pytest.fixture(scope="module")
def gql(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphQLClient]:
    db = open_database(None, buffer_pool_mb=128)
    load_files(db, [write_resource_store(tmp_path_factory.mktemp("api"), with_org=False)])
    yield GraphQLClient(db)
    db.close()


def test_who_can_on_a_shared_bucket_says_via_and_lists_the_whole_account(gql: GraphQLClient) -> None:
    d = gql(WHO, {"a": "s3:GetObject", "r": f"{SHARED_BUCKET}/x"})
    got = {(r["principalArn"], r["kind"], r["via"], r["conditional"]) for r in d["whoCan"]}
    assert got == {
        (f"arn:aws:iam::{RES_A}:user/alice", "USER", "IDENTITY", False),
        (f"arn:aws:iam::{RES_A}:role/app", "ROLE", "IDENTITY", False),
        (READER, "ROLE", "BOTH", False),
        (RES_X, "ACCOUNT", "RESOURCE", False),
    }
    account = d["whoCan"][-1]
    assert account["principal"] is None and account["account"] == RES_X and account["outsideOrganization"]
    assert all(r["principal"] for r in d["whoCan"][:-1])  # stored principals keep their record
    assert d["whoCanSummary"] == {"total": 3, "outside": 1}
    # pages run over stored principals, then the outside entries
    page = gql(WHO, {"a": "s3:GetObject", "r": f"{SHARED_BUCKET}/x", "first": 1, "after": READER})
    assert [r["principalArn"] for r in page["whoCan"]] == [RES_X]


def test_who_can_lists_a_service_with_the_condition_that_binds_it(gql: GraphQLClient) -> None:
    d = gql(WHO, {"a": "sqs:SendMessage", "r": RES_QUEUE})
    service = next(r for r in d["whoCan"] if r["kind"] == "SERVICE")
    assert service["principalArn"] == "sns.amazonaws.com" and service["account"] is None
    assert service["conditional"] and service["decision"] == "IMPLICIT_DENY"
    assert service["requiredConditions"] == [
        {"key": "aws:SourceArn", "operator": "ArnEquals", "values": [RES_TOPIC]}
    ]


def test_resource_access_over_graphql(gql: GraphQLClient) -> None:
    q = """query($arn: String!) { resourceAccess(arn: $arn) { arn type account hasPolicy
      levels { level actions total principals { principalArn kind via conditional actions } } } }"""
    r = gql(q, {"arn": RES_KEY})["resourceAccess"]
    assert (r["type"], r["account"], r["hasPolicy"]) == ("kms:key", RES_A, True)
    write = next(lv for lv in r["levels"] if lv["level"] == "Write")
    assert write["principals"] == [
        {
            "principalArn": f"arn:aws:iam::{RES_B}:user/bob",
            "kind": "USER",
            "via": "BOTH",
            "conditional": False,
            "actions": ["kms:Decrypt"],
        }
    ]
    assert "kms:Decrypt" in write["actions"] and write["total"] == 1
    body = gql.raw(q, {"arn": "arn:aws:s3:::missing"})
    assert "not in the graph" in body["errors"][0]["message"]
