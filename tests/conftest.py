"""Shared fixtures: an in-memory store loaded from files, an in-process GraphQL client on the ASGI app, a
generated two-account organisation, and `decide` (a request decided through the engine and through GraphQL).
Plain helpers (paths, the client class, export builders) are in tests/helpers.py."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphiam.changes.load import load_files, seed_files
from graphiam.store import Database, open_database
from tests.helpers import (  # noqa: F401 (re-exported: modules that name them from here keep working)
    CONFORMANCE,
    GAAD_EXAMPLE,
    ROOT,
    SEEDS,
    TESTS,
    GraphQLClient,
    engine_decision,
    generator_module,
    graphql_decision,
)


@pytest.fixture
def make_db() -> Iterator[Any]:
    """Factory: an in-memory database with the given files loaded."""
    opened: list[Database] = []

    def make(*files: Path | str) -> Database:
        db = open_database(None, buffer_pool_mb=256)
        opened.append(db)
        if files:
            load_files(db, list(files))
        return db

    yield make
    for db in opened:
        db.close()


@pytest.fixture
def gql(make_db: Any) -> Any:
    """Factory: a GraphQL client over an in-memory database loaded with the given files."""

    def make(*files: Path | str) -> GraphQLClient:
        return GraphQLClient(make_db(*files))

    return make


@pytest.fixture(scope="module")
def seeded_gql() -> Iterator[GraphQLClient]:
    """One GraphQL client per test module over an in-memory database holding the demo org (for tests that
    only read)."""

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, seed_files(SEEDS))
    yield GraphQLClient(db)
    db.close()


@pytest.fixture(scope="module")
def two_account_org(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The export files of a generated two-account organisation (70 principals, seed 11), one per account."""
    gen = generator_module()
    out = tmp_path_factory.mktemp("org")
    files = []
    for d in gen.generate_org(users=40, roles=30, policies=40, accounts=2, seed=11):
        path = out / f"{gen.account_of(d)}.json"
        path.write_text(json.dumps(d))
        files.append(path)
    return files


@pytest.fixture(scope="module")
def empty_gql() -> Iterator[GraphQLClient]:
    """One GraphQL client per test module over an empty in-memory database (simulateCustom needs no graph)."""
    db = open_database(None, buffer_pool_mb=64)
    yield GraphQLClient(db)
    db.close()


@pytest.fixture(params=["engine", "graphql"])
def decide(request: pytest.FixtureRequest) -> Any:
    """Decide a request against policy documents given inline, once through the policy engine's public API
    (graphiam.policy) and once through GraphQL simulateCustom: `decide(policies, action, resource, context=,
    caller=, owner=, resource_policy=, boundary=)` -> {decision, identity, boundary, resource, matched}."""
    if request.param == "engine":
        return engine_decision
    return functools.partial(graphql_decision, request.getfixturevalue("empty_gql"))
