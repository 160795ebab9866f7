"""Browsing the graph through GraphQL: counts, pagination, relations both ways, bounded queries."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers import CONFORMANCE, GAAD_EXAMPLE

COUNTS = "{ users { totalCount } groups { totalCount } roles { totalCount } policies { totalCount } }"


def _counts(data: dict[str, Any]) -> tuple[int, ...]:
    return tuple(data[k]["totalCount"] for k in ("users", "groups", "roles", "policies"))


def test_real_exports_counts_through_graphql(gql):
    assert _counts(gql(GAAD_EXAMPLE)(COUNTS)) == (44, 5, 78, 84)
    assert _counts(gql(CONFORMANCE / "gaad.json")(COUNTS)) == (20, 6, 10, 33)


def test_pagination_walks_every_user_once(gql):
    q = gql(GAAD_EXAMPLE)
    seen, after = [], None
    while True:
        d = q(
            "query($after: String) { users(first: 7, after: $after) { totalCount "
            "pageInfo { hasNextPage endCursor } edges { cursor node { arn } } } }",
            {"after": after},
        )["users"]
        seen += [e["node"]["arn"] for e in d["edges"]]
        if not d["pageInfo"]["hasNextPage"]:
            break
        after = d["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 44 == d["totalCount"]
    assert seen == sorted(seen)


def test_relations_match_the_export_both_ways(gql):
    data = json.loads((CONFORMANCE / "gaad.json").read_text())
    q = gql(CONFORMANCE / "gaad.json")
    for u in data["UserDetailList"]:
        d = q(
            "query($a: String!) { user(arn: $a) { name groups { name members { arn } } "
            "policies { attachedAs via group { name } policy { arn name kind } } "
            "permissionsBoundary { arn } } }",
            {"a": u["Arn"]},
        )["user"]
        assert sorted(g["name"] for g in d["groups"]) == sorted(set(u.get("GroupList", [])))
        for g in d["groups"]:
            assert u["Arn"] in [m["arn"] for m in g["members"]]
        direct = {
            p["policy"]["arn"]
            for p in d["policies"]
            if p["via"] == "DIRECT" and p["attachedAs"] == "IDENTITY"
        }
        assert direct == {a["PolicyArn"] for a in u.get("AttachedManagedPolicies", [])}
        inline = {
            p["policy"]["name"] for p in d["policies"] if p["via"] == "DIRECT" and p["attachedAs"] == "INLINE"
        }
        assert inline == {p["PolicyName"] for p in u.get("UserPolicyList", [])}
        via_group = {
            (p["group"]["name"], p["policy"]["arn"])
            for p in d["policies"]
            if p["via"] == "GROUP" and p["attachedAs"] == "IDENTITY"
        }
        want = {
            (g["GroupName"], a["PolicyArn"])
            for g in data["GroupDetailList"]
            if g["GroupName"] in u.get("GroupList", [])
            for a in g.get("AttachedManagedPolicies", [])
        }
        assert via_group == want
        boundary = (u.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        assert (d["permissionsBoundary"] or {}).get("arn") == boundary


def test_role_trust_policy_boundary_and_policy_attachments(gql):
    data = json.loads((CONFORMANCE / "gaad.json").read_text())
    q = gql(CONFORMANCE / "gaad.json")
    for r in data["RoleDetailList"]:
        d = q(
            "query($a: String!) { principal(arn: $a) { __typename "
            "... on Role { trustPolicy permissionsBoundary { arn } } } }",
            {"a": r["Arn"]},
        )["principal"]
        assert d["__typename"] == "Role"
        assert d["trustPolicy"]["Statement"]  # decoded from the export (object or URL-encoded)
        assert (d["permissionsBoundary"] or {}).get("arn") == (r.get("PermissionsBoundary") or {}).get(
            "PermissionsBoundaryArn"
        )
    for p in data["Policies"]:
        d = q(
            "query($a: String!) { policy(arn: $a) { versions { versionId isDefault } defaultVersionId "
            "attachments { targetArn attachedAs } } }",
            {"a": p["Arn"]},
        )["policy"]
        assert sorted(v["versionId"] for v in d["versions"]) == sorted(
            v["VersionId"] for v in p["PolicyVersionList"]
        )
        assert [v["versionId"] for v in d["versions"] if v["isDefault"]] == [d["defaultVersionId"]]
        want = {
            (e["Arn"], "IDENTITY")
            for k in ("UserDetailList", "GroupDetailList", "RoleDetailList")
            for e in data[k]
            for a in e.get("AttachedManagedPolicies", [])
            if a["PolicyArn"] == p["Arn"]
        }
        want |= {
            (e["Arn"], "BOUNDARY")
            for k in ("UserDetailList", "RoleDetailList")
            for e in data[k]
            if (e.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn") == p["Arn"]
        }
        assert {(a["targetArn"], a["attachedAs"]) for a in d["attachments"]} == want


def test_listing_100_users_with_relations_costs_a_bounded_number_of_queries(gql):
    q = gql(GAAD_EXAMPLE, CONFORMANCE / "gaad.json")
    q.db.queries_executed = 0
    d = q(
        "{ users(first: 100) { edges { node { arn groups { name policies { policy { arn } } } "
        "policies { policy { arn versions { versionId } } } } } } }"
    )
    assert len(d["users"]["edges"]) == 64
    # one page + one count + one query per relation level, whatever the number of users
    assert q.db.queries_executed <= 8


def test_lookup_by_name_and_errors(gql):
    q = gql(CONFORMANCE / "gaad.json")
    data = json.loads((CONFORMANCE / "gaad.json").read_text())
    name = data["RoleDetailList"][0]["RoleName"]
    assert (
        q("query($n: String!) { role(name: $n) { arn } }", {"n": name})["role"]["arn"]
        == data["RoleDetailList"][0]["Arn"]
    )
    assert q('{ user(name: "nobody-here") { arn } }')["user"] is None
    body = q.raw("{ users(first: 101) { totalCount } }")
    assert body["errors"][0]["message"] == "`first` must be between 0 and 100, got 101"
    body = q.raw("{ user { arn } }")
    assert "exactly one of `arn` or `name`" in body["errors"][0]["message"]


def test_health_and_graphiql(gql):
    import asyncio

    import httpx

    q = gql(CONFORMANCE / "gaad.json")

    async def go() -> tuple[Any, httpx.Response]:
        transport = httpx.ASGITransport(app=q.app)
        async with (
            q.app.router.lifespan_context(q.app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as c,
        ):
            return (await c.get("/health")).json(), await c.get("/graphql", headers={"accept": "text/html"})

    health, page = asyncio.run(go())
    assert health["status"] == "ok" and health["accounts"] == ["123456789012"]
    assert page.status_code == 200 and "graphiql" in page.text.lower()
