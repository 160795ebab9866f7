"""GraphQL: `resources`, `resource`, account counts, search and simulate on stored resources."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graphiam.changes.load import load_files
from graphiam.store import open_database
from tests.helpers import (
    COLLECT_A,
    COLLECT_B,
    COLLECT_ORG,
    COLLECT_RESOURCES,
    GraphQLClient,
    write_iam_collect_store,
)

FIELDS = (
    "arn type account region name tags { key value } policy public publicStatements source "
    "principalsNamed { kind value effect conditional namedBy notPrincipal inGraph }"
)


@pytest.fixture(scope="module")
def gql(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphQLClient]:
    db = open_database(None)
    load_files(db, [write_iam_collect_store(tmp_path_factory.mktemp("collect"))])
    yield GraphQLClient(db)
    db.close()


def test_resources_page_and_filter(gql: GraphQLClient) -> None:
    everything = gql("{ resources(first: 100) { totalCount edges { node { arn type } } } }")["resources"]
    assert everything["totalCount"] == 9
    assert {e["node"]["arn"]: e["node"]["type"] for e in everything["edges"]} == COLLECT_RESOURCES
    buckets = gql(
        '{ resources(type: "s3:bucket", first: 2) { totalCount pageInfo { hasNextPage endCursor } '
        "edges { node { arn } } } }"
    )["resources"]
    assert buckets["totalCount"] == 3 and buckets["pageInfo"]["hasNextPage"]
    assert [e["node"]["arn"] for e in buckets["edges"]] == [
        "arn:aws:s3:::no-policy",
        "arn:aws:s3:::public-site",
    ]
    rest = gql(
        'query($a: String) { resources(type: "s3:bucket", first: 2, after: $a) { edges { node { arn } } } }',
        {"a": buckets["pageInfo"]["endCursor"]},
    )["resources"]
    assert [e["node"]["arn"] for e in rest["edges"]] == ["arn:aws:s3:::shared-data"]
    assert gql(f'{{ resources(account: "{COLLECT_B}") {{ totalCount }} }}')["resources"]["totalCount"] == 0


def test_a_resource_says_what_its_policy_names_and_whether_it_is_public(gql: GraphQLClient) -> None:
    shared = gql(f'{{ resource(arn: "arn:aws:s3:::shared-data") {{ {FIELDS} }} }}')["resource"]
    assert (shared["type"], shared["account"], shared["region"], shared["name"]) == (
        "s3:bucket",
        COLLECT_A,
        "us-east-1",
        "shared-data",
    )
    assert shared["tags"] == [{"key": "owner", "value": "data"}]
    assert shared["policy"]["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{COLLECT_B}:root"}
    assert shared["public"] is False
    assert shared["principalsNamed"] == [
        {
            "kind": "account",
            "value": COLLECT_B,
            "effect": "Allow",
            "conditional": False,
            "namedBy": "AWS",
            "notPrincipal": False,
            "inGraph": False,
        }
    ]
    public = gql(
        '{ resource(arn: "arn:aws:s3:::public-site") { public publicStatements principalsNamed { kind } } }'
    )
    assert public["resource"] == {
        "public": True,
        "publicStatements": [0],
        "principalsNamed": [{"kind": "everyone"}],
    }
    topic = gql(
        f'{{ resource(arn: "arn:aws:sns:us-east-1:{COLLECT_A}:alerts") {{ public principalsNamed '
        "{ kind value conditional namedBy } } }"
    )["resource"]
    assert topic["public"] is False  # Principal * limited to the organization
    assert {
        "kind": "organization",
        "value": COLLECT_ORG,
        "conditional": True,
        "namedBy": "aws:PrincipalOrgID",
    } in topic["principalsNamed"]
    key = gql(
        f'{{ resource(arn: "arn:aws:kms:us-east-1:{COLLECT_A}:key/1234abcd-12ab-34cd-56ef-1234567890ab") '
        "{ principalsNamed { kind value inGraph } } }"
    )["resource"]
    assert {"kind": "role", "value": f"arn:aws:iam::{COLLECT_B}:role/reader", "inGraph": True} in key[
        "principalsNamed"
    ]
    assert {"kind": "account", "value": COLLECT_A, "inGraph": False} in key["principalsNamed"]
    function = gql(
        f'{{ resource(arn: "arn:aws:lambda:us-east-1:{COLLECT_A}:function:process") '
        "{ principalsNamed { kind value namedBy } } }"
    )["resource"]
    assert {"kind": "service", "value": "events.amazonaws.com", "namedBy": "Service"} in function[
        "principalsNamed"
    ]
    assert {"kind": "account", "value": COLLECT_A, "namedBy": "AWS:SourceAccount"} in function[
        "principalsNamed"
    ]
    bare = gql('{ resource(arn: "arn:aws:s3:::no-policy") { policy public principalsNamed { kind } } }')
    assert bare["resource"] == {"policy": None, "public": False, "principalsNamed": []}
    assert gql('{ resource(arn: "arn:aws:s3:::nope") { arn } }')["resource"] is None


def test_accounts_count_resources_and_search_finds_them(gql: GraphQLClient) -> None:
    counts = {
        a["id"]: a["counts"] for a in gql("{ accounts { id counts { users roles resources } } }")["accounts"]
    }
    assert counts[COLLECT_A] == {"users": 1, "roles": 1, "resources": 9}
    assert counts[COLLECT_B]["resources"] == 0
    hits = gql('{ search(text: "shared") { kind arn name resourceType policyKind } }')["search"]
    assert {
        "kind": "RESOURCE",
        "arn": "arn:aws:s3:::shared-data",
        "name": "shared-data",
        "resourceType": "s3:bucket",
        "policyKind": None,
    } in hits
    only = gql('{ search(text: "alerts", kinds: [RESOURCE]) { arn } }')["search"]
    assert only == [{"arn": f"arn:aws:sns:us-east-1:{COLLECT_A}:alerts"}]


def test_simulate_on_a_stored_object_uses_its_bucket_policy(gql: GraphQLClient) -> None:
    q = (
        'query($p: String!, $r: String!) { simulate(principal: $p, action: "s3:GetObject", resource: $r) '
        "{ decision resourcePolicySource resourcePolicyDecision } }"
    )
    bob = f"arn:aws:iam::{COLLECT_B}:user/bob"
    shared = gql(q, {"p": bob, "r": "arn:aws:s3:::shared-data/2025/q1.csv"})["simulate"]
    assert shared == {
        "decision": "ALLOWED",
        "resourcePolicySource": "stored",
        "resourcePolicyDecision": "ALLOWED",
    }
    bare = gql(q, {"p": bob, "r": "arn:aws:s3:::no-policy/a"})["simulate"]
    assert bare["decision"] == "IMPLICIT_DENY" and bare["resourcePolicySource"] is None
