"""Whatever a client sends, the server answers it without an HTTP 500 and without an `INTERNAL` error: a body
that is not a GraphQL request (too deep, not UTF-8, not JSON, the wrong content type, a number too long to
read) gets HTTP 400 with a one-line reason; a policy document nested too deep in the query itself is a
GraphQL error with a client's code."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette

from graphiam.api.body import MAX_JSON_DEPTH
from graphiam.app import create_app
from graphiam.changes.load import load_files
from graphiam.store import open_database
from tests.helpers import SEEDS

ACCT = "111111111111"
TYPENAME = b'{"query": "{ __typename }"'
CREATE_POLICY = (
    'mutation($doc: JSON!) { createPolicy(input: {account: "' + ACCT + '", name: "deep", document: $doc}, '
    "dryRun: true) { ok errors { code message } } }"
)
SIMULATE = 'query($p: [JSON!]!) { simulateCustom(policies: $p, action: "s3:GetObject") { decision } }'


@pytest.fixture(scope="module")
def app() -> Iterator[Starlette]:
    db = open_database(None, buffer_pool_mb=128)  # LadybugDB needs more than 64 MiB for the demo org
    load_files(db, [SEEDS / "demo-org.json"])
    yield create_app(database=db, load_seeds=False)
    db.close()


def send(app: Starlette, body: bytes, content_type: str | None = "application/json") -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        headers = {"content-type": content_type} if content_type is not None else {}
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://localhost") as c,
        ):
            return await c.post("/graphql", content=body, headers=headers)

    return asyncio.run(go())


def arrays(n: int) -> str:
    return "[" * n + "]" * n


def objects(n: int, leaf: str = "1") -> str:
    return '{"a": ' * n + leaf + "}" * n


def literal(n: int) -> str:
    """A GraphQL object literal nested `n` deep (in the query text, not in the JSON around it)."""
    return "{a: " * n + "1" + "}" * n


def mutation_literal(depth: int) -> bytes:
    query = (
        f'mutation {{ createPolicy(input: {{account: "{ACCT}", name: "deep", document: {literal(depth)}}}, '
        "dryRun: true) { ok errors { code message } } }"
    )
    return json.dumps({"query": query}).encode()


def variables(query: str, raw_variables: str) -> bytes:
    return b'{"query": ' + json.dumps(query).encode() + b', "variables": ' + raw_variables.encode() + b"}"


# (name, body, content type): each must get HTTP 400 with a one-line reason
BAD_BODIES: list[tuple[str, bytes, str | None]] = [
    ("deep-array-body", arrays(100_000).encode(), "application/json"),
    ("deep-object-body", objects(100_000).encode(), "application/json"),
    (
        "deep-array-in-variables",
        variables("{ __typename }", '{"v": ' + arrays(100_000) + "}"),
        "application/json",
    ),
    ("deep-object-in-variables", variables("{ __typename }", objects(100_000)), "application/json"),
    ("65-deep-variables", variables("{ __typename }", objects(MAX_JSON_DEPTH)), "application/json"),
    (
        "deep-policy-document-variable",
        variables(CREATE_POLICY, '{"doc": ' + objects(900) + "}"),
        "application/json",
    ),
    (
        "deep-simulate-policy-variable",
        variables(SIMULATE, '{"p": [' + arrays(900) + "]}"),
        "application/json",
    ),
    ("invalid-utf8", TYPENAME + b', "variables": {"s": "\xff\xfe"}}', "application/json"),
    ("invalid-utf8-in-query", b'{"query": "{ __type\xc3name }"}', "application/json"),
    ("latin1-declared-charset", TYPENAME + b"}", "application/json; charset=latin-1"),
    ("text-plain", TYPENAME + b"}", "text/plain"),
    ("text-plain-garbage", b"\x00\x01\x02", "text/plain"),
    (
        "multipart",
        b'--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{}\r\n--x--\r\n',
        "multipart/form-data; boundary=x",
    ),
    ("form-urlencoded", b"query=%7B__typename%7D", "application/x-www-form-urlencoded"),
    ("no-content-type", TYPENAME + b"}", None),
    ("10000-digit-number", TYPENAME + b', "variables": {"n": ' + b"9" * 10_000 + b"}}", "application/json"),
    ("10000-digit-float", TYPENAME + b', "variables": {"n": 0.' + b"9" * 10_000 + b"}}", "application/json"),
    ("huge-exponent", TYPENAME + b', "variables": {"n": 1e999999}}', "application/json"),
    ("NaN", TYPENAME + b', "variables": {"n": NaN}}', "application/json"),
    ("Infinity", TYPENAME + b', "variables": {"n": Infinity}}', "application/json"),
    ("-Infinity", TYPENAME + b', "variables": {"n": -Infinity}}', "application/json"),
    ("empty-body", b"", "application/json"),
    ("whitespace-body", b"  \n ", "application/json"),
    ("not-json", b"{query: {__typename}}", "application/json"),
    ("truncated-json", TYPENAME, "application/json"),
    ("json-array-body", b'[{"query": "{ __typename }"}]', "application/json"),
    ("json-string-body", b'"{ __typename }"', "application/json"),
    ("json-null-body", b"null", "application/json"),
    ("null-query", b'{"query": null}', "application/json"),
    ("missing-query", b'{"variables": {}}', "application/json"),
    ("number-query", b'{"query": 42}', "application/json"),
    ("variables-not-an-object", TYPENAME + b', "variables": [1, 2]}', "application/json"),
    ("operation-name-not-a-string", TYPENAME + b', "operationName": {"a": 1}}', "application/json"),
    ("extensions-not-an-object", TYPENAME + b', "extensions": 7}', "application/json"),
    ("lone-surrogate", b'{"query": "{ __typename }", "variables": {"s": "\\ud800"}}', "application/json"),
    ("trailing-garbage", TYPENAME + b"} xyz", "application/json"),
]


@pytest.mark.parametrize("name, body, content_type", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_a_bad_body_gets_400_with_a_one_line_reason(app, name, body, content_type):
    r = send(app, body, content_type)
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert "INTERNAL" not in r.text
    assert r.text.strip() and "\n" not in r.text.strip(), r.text[:300]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 1200])
def test_a_deep_policy_document_in_the_query_text_is_a_client_error(app, depth):
    r = send(app, mutation_literal(depth))
    assert r.status_code < 500, r.text[:300]
    body = r.json()
    assert "INTERNAL" not in r.text, r.text[:500]
    if r.status_code == 200:
        errors = body.get("errors") or body["data"]["createPolicy"]["errors"]
        assert errors, body
        assert "deep" in json.dumps(errors) or "nested" in json.dumps(errors), errors


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100, 900])
def test_a_deep_document_in_simulate_custom_is_a_client_error(app, depth):
    query = "{ simulateCustom(policies: [" + literal(depth) + '], action: "s3:GetObject") { decision } }'
    r = send(app, json.dumps({"query": query}).encode())
    assert r.status_code < 500 and "INTERNAL" not in r.text, r.text[:500]
    errors = r.json()["errors"]
    assert "deep" in errors[0]["message"], errors
    assert errors[0].get("extensions", {}).get("code") in (None, "INVALID_POLICY"), errors


def test_documents_and_variables_within_the_cap_still_work(app):
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    r = send(app, json.dumps({"query": CREATE_POLICY, "variables": {"doc": policy}}).encode())
    assert r.status_code == 200, r.text
    assert r.json()["data"]["createPolicy"] == {"ok": True, "errors": []}
    nested = json.loads(objects(MAX_JSON_DEPTH - 3))  # the body around it adds 2 levels
    r = send(app, json.dumps({"query": "{ __typename }", "variables": {"v": nested}}).encode())
    assert r.json() == {"data": {"__typename": "Query"}}
    r = send(app, b'{"query": "{ __typename }"}', "application/json; charset=utf-8")
    assert r.json() == {"data": {"__typename": "Query"}}
    r = send(app, b'{"query": "{ __typename }", "variables": null, "operationName": null}')
    assert r.json() == {"data": {"__typename": "Query"}}


def test_the_depth_scan_ignores_brackets_inside_strings(app):
    query = "query($s: String!) { __type(name: $s) { name } }"
    body = json.dumps({"query": query, "variables": {"s": "[" * 10_000 + '\\"{' * 100}})
    r = send(app, body.encode())
    assert r.json() == {"data": {"__type": None}}, r.text[:300]
