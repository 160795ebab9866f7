"""Hostile queries are refused before they run, with a clear message; internal errors are masked with an
id that the server log also carries; caches stay effective with the limits on."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query
from starlette.applications import Starlette

from graphiam.api.limits import Bounds, limits_rule
from graphiam.api.schema import build_schema, validation_rules
from graphiam.api.security import client_error, mask_error
from graphiam.app import MAX_BODY, create_app
from graphiam.errors import ArnError, GraphiamError, InputError, NotFoundError, StoreError
from graphiam.store import reader as R
from tests.helpers import SEEDS


@pytest.fixture
def app(make_db):
    return create_app(database=make_db(SEEDS / "demo-org.json"), load_seeds=False)


def post(app: Starlette, body: dict[str, Any] | bytes) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as c,
        ):
            if isinstance(body, bytes):
                return await c.post("/graphql", content=body, headers={"content-type": "application/json"})
            return await c.post("/graphql", json=body)

    return asyncio.run(go())


def refused(app: Starlette, query: str) -> dict[str, Any]:
    r = post(app, {"query": query})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body.get("data") is None and body["errors"], body
    error: dict[str, Any] = body["errors"][0]
    return error


def _deep(levels: int) -> str:
    inner = "arn"
    for _ in range(levels):
        inner = f"groups {{ members {{ {inner} }} }}"
    return f'{{ user(name: "erin") {{ {inner} }} }}'


HOSTILE = [
    ("depth-14", _deep(6), "DEPTH_LIMIT", r"query depth 14 exceeds the limit of 12"),
    ("depth-50", _deep(25), "DEPTH_LIMIT", r"query depth more than 20 exceeds the limit of 12"),
    ("depth-1500", _deep(750), None, r"Syntax Error: Document is nested too deeply\. Parsing aborted\."),
    (
        "introspection-depth",
        "{ __schema { types { " + "ofType { " * 30 + "name" + " }" * 30 + " } } }",
        "DEPTH_LIMIT",
        r"introspection depth more than 20 exceeds the limit of 20",
    ),
    (
        "1000-aliases",
        "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }",
        "ALIAS_LIMIT",
        r"1000 aliases exceed the limit of 50",
    ),
    (
        "first-1000000",
        "{ users(first: 1000000) { edges { node { arn } } } }",
        "PAGE_LIMIT",
        r"`first` must be between 0 and 100, got 1000000",
    ),
    (
        "nested-lists",
        "{ users(first: 100) { edges { node { groups { members { groups { members { arn } } } } } } } }",
        "COST_LIMIT",
        r"estimated query cost 111301 exceeds the limit of 50000 \(ask for smaller pages or fewer "
        r"nested lists\)",
    ),
    (
        "fragment-bomb",
        "query { ...F0 } "
        + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
        + " fragment F40 on Query { users { totalCount } }",
        "COST_LIMIT",
        r"estimated query cost more than 500000 exceeds the limit of 50000 .*",
    ),
]


@pytest.mark.parametrize("name, query, code, message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_queries_are_refused_with_a_clear_message(app, name, query, code, message):
    err = refused(app, query)
    assert re.fullmatch(message, err["message"]), err
    assert err.get("extensions", {}).get("code") == code


def test_too_many_tokens_are_refused_by_the_parser(app):
    err = refused(app, "{ " + " ".join(f"a{i}: __typename" for i in range(3000)) + " }")
    assert err["message"] == "Syntax Error: Document contains more than 5000 tokens. Parsing aborted."


def test_a_page_size_in_a_variable_is_refused_by_the_resolver(app):
    r = post(
        app, {"query": "query($n: Int) { users(first: $n) { totalCount } }", "variables": {"n": 1000000}}
    )
    assert r.json()["errors"][0]["message"] == "`first` must be between 0 and 100, got 1000000"


def test_a_1mb_body_gets_413(app):
    body = b'{"query": "{ __typename }", "variables": {"pad": "' + b"x" * MAX_BODY + b'"}}'
    r = post(app, body)
    assert r.status_code == 413 and r.text == "Content Too Large"
    assert post(app, {"query": "{ __typename }"}).json() == {"data": {"__typename": "Query"}}


def test_ordinary_and_graphiql_queries_pass(app):
    full = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    assert "errors" not in post(app, {"query": full}).json()
    q = (
        "{ users(first: 100) { edges { node { arn groups { name policies { policy { arn } } } "
        "policies { policy { arn versions { versionId } } } } } } }"
    )
    assert len(post(app, {"query": q}).json()["data"]["users"]["edges"]) == 9


def test_internal_errors_are_masked_with_an_id_that_is_logged(app, monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("kuzu said something about /secret/path")

    monkeypatch.setattr(R, "count", boom)
    with caplog.at_level(logging.ERROR, logger="graphiam"):
        body = post(app, {"query": "{ users { totalCount } }"}).json()
    err = body["errors"][0]
    m = re.fullmatch(r"internal error \(id ([0-9a-f]{8})\)", err["message"])
    assert m and err["extensions"] == {"code": "INTERNAL", "errorId": m.group(1)}
    assert "secret" not in str(body)
    logged = [r for r in caplog.records if m.group(1) in r.getMessage()]
    assert len(logged) == 1 and "secret/path" in logged[0].exc_text


def test_user_errors_are_shown_and_store_errors_masked():
    from graphql import GraphQLError

    shown = GraphQLError("x", original_error=StoreError("Interrupted."))
    assert mask_error(shown).message == "query stopped: a database call ran longer than its time limit"
    hidden = mask_error(GraphQLError("x", original_error=StoreError("Binder exception: table User at /db")))
    assert hidden.message.startswith("internal error (id ")


def _subclasses(cls: type[GraphiamError]) -> list[type[GraphiamError]]:
    return [cls, *(s for c in cls.__subclasses__() for s in _subclasses(c))]


def test_graphiam_errors_reach_a_client_with_their_class_code(app):
    from graphql import GraphQLError

    for exc, code in ((NotFoundError("no `x`"), "NOT_FOUND"), (ArnError("bad"), "INVALID_ARN")):
        seen = client_error(GraphQLError(str(exc), original_error=exc, path=["a"]))
        assert (seen.message, seen.extensions, seen.path) == (str(exc), {"code": code}, ["a"])
    body = post(
        app,
        {
            "query": '{ simulate(principal: "arn:aws:iam::111111111111:user/ghost", action: "s3:x") '
            "{ decision } }"
        },
    ).json()
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND"}, body
    assert {c.code for c in _subclasses(InputError)} <= {"INVALID_INPUT", "INVALID_POLICY", "INVALID_ARN"}
    assert all(c.exit_status == 1 for c in _subclasses(GraphiamError))


def test_operations_over_the_time_limit_are_stopped(make_db, monkeypatch):
    def slow(*args, **kwargs):
        time.sleep(1.0)
        return 0

    monkeypatch.setattr(R, "count", slow)
    app = create_app(database=make_db(), load_seeds=False, schema=build_schema(time_limit=0.1))
    body = post(app, {"query": "{ users { totalCount } }"}).json()
    assert body == {
        "data": None,
        "errors": [
            {
                "message": "query stopped: it ran longer than the 0.1 s time limit",
                "extensions": {"code": "TIMEOUT"},
            }
        ],
    }


def test_a_mutation_runs_to_its_end_past_the_time_limit(make_db, monkeypatch, tmp_path):
    """A write cannot be cut off halfway: answering TIMEOUT while it goes on and lands would tell the caller
    it did not happen. A mutation slower than the limit answers with its outcome; a query is still stopped."""
    from graphiam.auth import Auth, TokenStore, token_file_for
    from graphiam.changes.apply import apply_changes as real

    def slow_apply(*args, **kwargs):
        time.sleep(0.6)
        return real(*args, **kwargs)

    def slow_count(*args, **kwargs):
        time.sleep(0.6)
        return 0

    monkeypatch.setattr("graphiam.api.mutations.apply_changes", slow_apply)
    monkeypatch.setattr(R, "count", slow_count)
    store = TokenStore(token_file_for(tmp_path / "db"))
    _, admin = store.create("admin", "root")
    app = create_app(
        database=make_db(),
        load_seeds=False,
        auth=Auth(store=store, anonymous_reads=True),
        schema=build_schema(time_limit=0.2),
    )
    create = (
        'mutation { createUser(input: {account: "111111111111", name: "slow"}) { ok errors { message } } }'
    )

    async def go() -> list[Any]:
        headers = {"Authorization": f"Bearer {admin}"}
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
        ):
            wrote = await c.post("/graphql", json={"query": create}, headers=headers)
            read = await c.post("/graphql", json={"query": "{ users { totalCount } }"}, headers=headers)
            found = await c.post(
                "/graphql",
                json={"query": '{ user(arn: "arn:aws:iam::111111111111:user/slow") { arn } }'},
                headers=headers,
            )
            return [r.json() for r in (wrote, read, found)]

    wrote, read, found = asyncio.run(go())
    assert wrote == {"data": {"createUser": {"ok": True, "errors": []}}}
    assert read["errors"][0]["extensions"] == {"code": "TIMEOUT"}, read
    assert found == {"data": {"user": {"arn": "arn:aws:iam::111111111111:user/slow"}}}


def test_limit_rules_are_built_once_so_validation_stays_cached(app):
    """A rule class made per request would give every ValidationCache key a new member (it keys on the rule
    classes), so no operation would ever be served from the cache."""
    assert limits_rule(Bounds()) is limits_rule(Bounds())
    assert validation_rules() == validation_rules()
    from strawberry.extensions.validation_cache import _get_validate_cache

    cache: Any = _get_validate_cache(512)
    query = {"query": "{ users(first: 3) { totalCount } } # cache probe"}
    post(app, query)
    before = cache.cache_info()
    post(app, query)
    after = cache.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses
