"""policyFindings over GraphQL: pages, filters, exclusions, the summary."""

from __future__ import annotations

import pytest

from tests.helpers import GAAD_EXAMPLE

QUERY = """query($first: Int, $after: String, $account: String, $kinds: [RiskCategory!],
                 $exclude: FindingsExclusions) {
  policyFindings(first: $first, after: $after, account: $account, kinds: $kinds, exclude: $exclude) {
    totalCount policiesAnalysed
    summary { category severity policies actions principals }
    pageInfo { hasNextPage endCursor }
    edges { cursor node { policyArn policyName policyKind account owner reachesAdmin boundaryOf
      findings { category severity actions actionCount techniques statements conditional conditions }
      principals { arn kind name account via isAdmin } } } } }"""


@pytest.fixture(scope="module")
def client():
    from graphiam.changes.load import load_files
    from graphiam.store import open_database
    from tests.helpers import GraphQLClient

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, [GAAD_EXAMPLE])
    yield GraphQLClient(db)
    db.close()


def test_pages_cover_every_policy_once(client):
    seen, after = [], None
    while True:
        page = client(QUERY, {"first": 20, "after": after})["policyFindings"]
        seen += [e["node"]["policyArn"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"] and seen == sorted(seen)
    assert page["policiesAnalysed"] >= page["totalCount"]


def test_a_privesc_policy(client):
    data = client(QUERY, {"kinds": ["PRIVILEGE_ESCALATION"], "first": 100})["policyFindings"]
    nodes = {e["node"]["policyName"]: e["node"] for e in data["edges"]}
    p = nodes["privesc4-CreateAccessKey"]
    assert p["policyKind"] == "CUSTOMER_MANAGED" and p["account"] == "200611803367"
    [f] = p["findings"]
    assert f == {
        "category": "PRIVILEGE_ESCALATION",
        "severity": "high",
        "actions": ["iam:CreateAccessKey"],
        "actionCount": 1,
        "techniques": ["iam-002"],
        "statements": ["#0"],
        "conditional": False,
        "conditions": [],
    }
    assert {x["kind"] for x in p["principals"]} == {"user", "role"}
    assert [s["category"] for s in data["summary"]] == ["PRIVILEGE_ESCALATION"]
    assert data["summary"][0]["policies"] == data["totalCount"]


def test_exclusions_and_account(client):
    data = client(
        QUERY,
        {"account": "012345678901", "exclude": {"actions": ["s3:*"], "principals": ["biden"]}, "first": 100},
    )["policyFindings"]
    for e in data["edges"]:
        n = e["node"]
        assert all(p["account"] == "012345678901" and p["name"] != "biden" for p in n["principals"])
        assert not any(a.startswith("s3:") for f in n["findings"] for a in f["actions"])
    assert "arn:aws:iam::012345678901:user/biden#InsecureUserPolicy" not in {
        e["node"]["policyArn"] for e in data["edges"]
    }


def test_unknown_account_is_an_error(client):
    body = client.raw(QUERY, {"account": "999999999999"})
    assert "not in the graph" in body["errors"][0]["message"]


def test_policies_keeps_the_entries_of_those_policies(client):
    everything = client(QUERY, {"first": 100})["policyFindings"]
    nodes = [e["node"] for e in everything["edges"]]
    assert len(nodes) >= 3
    picked = [nodes[0]["policyArn"], nodes[-1]["policyArn"], "arn:aws:iam::123456789012:policy/NoSuchPolicy"]
    q = QUERY.replace("$exclude: FindingsExclusions)", "$exclude: FindingsExclusions, $policies: [String!])")
    q = q.replace("exclude: $exclude)", "exclude: $exclude, policies: $policies)")
    page = client(q, {"first": 100, "policies": picked})["policyFindings"]
    assert [e["node"] for e in page["edges"]] == [nodes[0], nodes[-1]]
    assert page["totalCount"] == 2 and page["policiesAnalysed"] == 2
    assert sum(s["policies"] for s in page["summary"]) == sum(
        len(n["findings"]) for n in (nodes[0], nodes[-1])
    )
    assert client(q, {"first": 100, "policies": []})["policyFindings"]["totalCount"] == 0


def test_the_report_is_computed_once_per_generation_and_filters(client, monkeypatch):
    from graphiam.queries import findings

    calls: list[object] = []
    real = findings.policy_findings

    def counted(*args, **kwargs):
        calls.append(kwargs.get("categories"))
        return real(*args, **kwargs)

    monkeypatch.setattr(findings, "policy_findings", counted)
    data = client(
        "{ a: policyFindings(first: 2) { totalCount edges { node { policyArn } } } "
        "b: policyFindings(first: 5) { totalCount edges { node { policyArn } } } "
        "c: policyFindings(first: 5, kinds: [DATA_EXFILTRATION]) { totalCount } }"
    )
    assert len(calls) == 2  # a and b share one report; c has its own
    assert data["a"]["totalCount"] == data["b"]["totalCount"]
    assert data["a"]["edges"] == data["b"]["edges"][:2]
    assert data["c"]["totalCount"] <= data["a"]["totalCount"]
