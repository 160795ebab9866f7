"""GraphQL `search` on the demo org: hits with kind, account and policy kind; filters and limits."""

from __future__ import annotations

import pytest

ORG = "arn:aws:iam::111111111111:"


@pytest.fixture(scope="module")
def q(seeded_gql):
    return seeded_gql


def test_search_answers_the_search_box(q):
    hits = q('{ search(text: "alice") { kind arn name account path policyKind nameMatch } }')["search"]
    assert hits[0] == {
        "kind": "USER",
        "arn": f"{ORG}user/engineering/alice",
        "name": "alice",
        "account": "111111111111",
        "path": "/engineering/",
        "policyKind": None,
        "nameMatch": True,
    }
    policies = q('{ search(text: "AdministratorAccess", kinds: [POLICY]) { kind arn policyKind } }')["search"]
    assert policies[0] == {
        "kind": "POLICY",
        "arn": "arn:aws:iam::aws:policy/AdministratorAccess",
        "policyKind": "AWS_MANAGED",
    }
    by_path = q('{ search(text: "group/ops/", first: 100) { kind nameMatch arn } }')["search"]
    assert by_path and all(h["arn"].find("group/ops/") > 0 for h in by_path)
    assert {h["kind"] for h in by_path} >= {"GROUP", "POLICY"}  # the groups and their inline policies
    assert not any(h["nameMatch"] for h in by_path)


def test_search_limits(q):
    assert len(q('{ search(text: "a", first: 2) { arn } }')["search"]) == 2
    body = q.raw('{ search(text: "a", first: 101) { arn } }')
    assert "between 0 and 100" in body["errors"][0]["message"]
    body = q.raw('{ search(text: " ") { arn } }')
    assert body["errors"][0]["message"] == "`text`: give at least one character to search for"
