"""Shared fixtures: an in-memory store loaded from files, and an httpx client on the ASGI app."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphiam.app import create_app
from graphiam.changes.load import load_files
from graphiam.store import Database, open_database

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
GAAD_EXAMPLE = TESTS / "data" / "gaad" / "cloudsplaining-example.json"
CONFORMANCE = TESTS / "conformance"
SEEDS = ROOT / "seeds"


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


class GraphQLClient:
    """Runs GraphQL documents against the ASGI app (lifespan included) and returns `data`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.app = create_app(database=db, load_seeds=False)

    async def _post(self, query: str, variables: dict | None) -> dict:
        async with self.app.router.lifespan_context(self.app):
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://graphiam.test") as c:
                r = await c.post("/graphql", json={"query": query, "variables": variables or {}})
                assert r.status_code == 200, r.text
                return r.json()

    def raw(self, query: str, variables: dict | None = None) -> dict:
        return asyncio.run(self._post(query, variables))

    def __call__(self, query: str, variables: dict | None = None) -> dict:
        body = self.raw(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture
def gql(make_db):
    """Factory: a GraphQL client over an in-memory database loaded with the given files."""

    def make(*files: Path | str) -> GraphQLClient:
        return GraphQLClient(make_db(*files))

    return make


@pytest.fixture(scope="module")
def seeded_gql() -> Iterator[GraphQLClient]:
    """One GraphQL client per test module over an in-memory database holding the demo org (tests that only read)."""
    from graphiam.changes.load import seed_files

    db = open_database(None, buffer_pool_mb=256)
    load_files(db, seed_files(SEEDS))
    yield GraphQLClient(db)
    db.close()
