"""A reader process's app (`create_app(follow=True)`), in process: one published generation per request, a
newer one picked up by the next request, mutations sent to the writer (503 when it does not answer), and a
read-only app's `READ_ONLY` refusal."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from graphiam.app import create_app
from graphiam.store import open_database
from graphiam.store.publish import Publisher, generations_dir
from tests.helpers import free_port

COUNT = "{ accounts { id } }"
CREATE = 'mutation { createUser(input: {account: "111111111111", name: "x"}) { ok } }'


def _write_account(db_path: Path, account: str, publisher: Publisher) -> None:
    """Open the database read-write (readers hold only copies), write one account, publish, close."""
    db = open_database(db_path)
    try:
        db.after_write.append(publisher.after_write)
        with db.transaction():
            db.execute("CREATE (:Account {id: $id})", {"id": account})
    finally:
        db.close()


def _run(app: Any, steps: Any) -> Any:
    async def main() -> Any:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c,
        ):
            return await steps(c)

    return asyncio.run(main())


def test_each_request_is_answered_from_the_newest_published_generation(tmp_path: Path) -> None:
    path = tmp_path / "db"
    db = open_database(path)
    publisher = Publisher(path)
    publisher.publish(db)
    db.close()
    writer = f"http://127.0.0.1:{free_port()}/graphql"  # nothing listens there
    app = create_app(path, follow=True, forward_to=writer, auth=None, allowed_hosts=None)

    async def steps(c: httpx.AsyncClient) -> list[Any]:
        out: list[Any] = []
        r = await c.post("/graphql", json={"query": COUNT})
        out.append((r.headers["x-graphiam-generation"], r.json()))
        await asyncio.to_thread(_write_account, path, "111111111111", publisher)
        r = await c.post("/graphql", json={"query": COUNT})
        out.append((r.headers["x-graphiam-generation"], r.json()))
        health = await c.get("/health")
        out.append(health.json()["generation"])
        r = await c.post("/graphql", json={"query": CREATE})
        out.append((r.status_code, r.json()))
        return out

    first, second, health, mutation = _run(app, steps)
    assert first == ("1", {"data": {"accounts": []}})
    assert second == ("2", {"data": {"accounts": [{"id": "111111111111"}]}})
    assert health == 2
    status, body = mutation
    assert status == 503 and body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNAVAILABLE" and writer in error["message"]
    # the replaced generation is closed with the app (and then nobody holds it: the next publish prunes it)
    db = open_database(path)
    try:
        publisher.publish(db)
    finally:
        db.close()
    assert sorted(p.name for p in generations_dir(path).iterdir() if p.name.isdigit()) == ["3"]


def test_a_read_only_app_refuses_mutations_with_read_only(tmp_path: Path) -> None:
    path = tmp_path / "db"
    open_database(path).close()
    app = create_app(path, read_only=True, auth=None, allowed_hosts=None, load_seeds=False)

    async def steps(c: httpx.AsyncClient) -> Any:
        return (await c.post("/graphql", json={"query": CREATE})).json()

    body = _run(app, steps)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["READ_ONLY"]
