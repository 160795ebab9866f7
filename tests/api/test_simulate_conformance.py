"""Conformance through the real path: load gaad.json, ask every request of requests.jsonl through GraphQL
`simulate`, compare with expected.jsonl (answers from an independent simulator;
tests/conformance/README.md)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.helpers import CONFORMANCE, GraphQLClient

SIMULATE = """query($p: String!, $a: String!, $r: String!, $c: [ContextEntryInput!], $o: String) {
  simulate(principal: $p, action: $a, resource: $r, context: $c, resourceOwner: $o) {
    decision matchedStatements { policyArn effect statementIndex } missingContextKeys } }"""
DECISIONS = {"allowed": "ALLOWED", "explicitDeny": "EXPLICIT_DENY", "implicitDeny": "IMPLICIT_DENY"}


def _context(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for k, v in ctx.items():
        if isinstance(v, list):
            out.append({"key": k, "values": v, "type": "STRING_LIST"})
        else:
            out.append({"key": k, "values": [v]})
    return out


def test_all_conformance_requests_agree_through_graphql(make_db):
    client = GraphQLClient(make_db(CONFORMANCE / "gaad.json"))
    requests = [
        json.loads(line) for line in (CONFORMANCE / "requests.jsonl").read_text().splitlines() if line.strip()
    ]
    expected = {}
    for line in (CONFORMANCE / "expected.jsonl").read_text().splitlines():
        if line.strip():
            e = json.loads(line)
            expected[e["id"]] = e["decision"]
    assert len(requests) == len(expected) == 2000

    async def run() -> list[tuple[str, str, str]]:
        wrong = []
        transport = httpx.ASGITransport(app=client.app)
        async with (
            client.app.router.lifespan_context(client.app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as c,
        ):
            for r in requests:
                variables = {
                    "p": r["principalArn"],
                    "a": r["action"],
                    "r": r["resourceArn"],
                    "c": _context(r["context"]),
                    "o": r.get("resourceAccount"),
                }
                body = (await c.post("/graphql", json={"query": SIMULATE, "variables": variables})).json()
                assert "errors" not in body, (r["id"], body["errors"])
                got = body["data"]["simulate"]
                want = DECISIONS[expected[r["id"]]]
                if got["decision"] != want:
                    wrong.append((r["id"], got["decision"], want))
                if got["decision"] == "EXPLICIT_DENY":  # a deny names the statement that decided it
                    assert any(m["effect"] == "DENY" for m in got["matchedStatements"]), r["id"]
                if got["decision"] == "ALLOWED":
                    assert any(m["effect"] == "ALLOW" for m in got["matchedStatements"]), r["id"]
        return wrong

    wrong = asyncio.run(run())
    assert wrong == [], f"{len(wrong)} of 2000 disagree, e.g. {wrong[:5]}"
