"""Heavy work does not starve cheap reads, stops when its request times out, and is bounded per request.

- Heavy fields run on their own pool (`Services.heavy`): with that pool full and more heavy calls queued, a
  cheap read is still answered.
- A heavy call whose request hits the time limit is cancelled: the computation sees `Cancelled` at its next
  check and its worker is free again (observed through the probe and `Services.heavy_stats`, not the clock).
- An operation over the per-request work budget is refused before anything runs (`WORK_LIMIT`).
The probe is a Query field added for these tests: a heavy call that holds its worker until released or
cancelled.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from strawberry.types import Info

from graphiam.api.schema import build_schema
from graphiam.app import create_app
from graphiam.cancel import Cancel
from graphiam.errors import Cancelled
from graphiam.service import Services
from tests.helpers import SEEDS

WAIT = 30.0  # a bound on waiting for the server's threads, so a broken build fails instead of hanging


@dataclass
class Probe:
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: int = 0
    cancelled: int = 0

    def hold(self, *, cancel: Cancel) -> bool:
        with self.lock:
            self.started += 1
        try:
            while not self.release.wait(0.005):
                cancel.check()
        except Cancelled:
            with self.lock:
                self.cancelled += 1
            raise
        return True


def probe_part(probe: Probe) -> type:
    @strawberry.type
    class ProbeQuery:
        @strawberry.field
        async def hold(self, info: Info[Any, None]) -> bool:
            services: Services = info.context.services
            return await services.heavy(probe.hold)

    return ProbeQuery


def app_with(make_db: Any, probe: Probe, **kw: Any) -> Starlette:
    schema = build_schema(extra_query_parts=(probe_part(probe),), time_limit=kw.pop("time_limit", 10.0))
    return create_app(database=make_db(SEEDS / "demo-org.json"), load_seeds=False, schema=schema, **kw)


@asynccontextmanager
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=WAIT) as c:
            yield c


async def until(condition: Any) -> None:
    for _ in range(int(WAIT / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the server's threads never got there")


async def gql(c: httpx.AsyncClient, query: str) -> dict[str, Any]:
    r = await c.post("/graphql", json={"query": query})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_cheap_read_is_answered_while_every_heavy_worker_is_busy(make_db: Any) -> None:
    probe = Probe()
    app = app_with(make_db, probe, heavy_workers=1)

    async def go() -> None:
        async with client(app) as c:
            services: Services = app.state.services
            holds = [asyncio.create_task(gql(c, "{ hold }")) for _ in range(8)]  # 1 running, 7 queued
            await until(lambda: probe.started == 1)
            body = await gql(c, "{ users(first: 1) { totalCount } }")
            assert body["data"]["users"]["totalCount"] > 0, body
            assert services.heavy_stats.running == 1 and probe.started == 1  # the heavy pool is still full
            assert not any(h.done() for h in holds)
            probe.release.set()
            assert [b["data"] for b in await asyncio.gather(*holds)] == [{"hold": True}] * 8

    asyncio.run(go())


def test_a_timed_out_request_stops_its_heavy_work(make_db: Any) -> None:
    probe = Probe()
    app = app_with(make_db, probe, heavy_workers=1, time_limit=0.5)

    async def go() -> None:
        async with client(app) as c:
            services: Services = app.state.services
            body = await gql(c, "{ hold }")
            assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "TIMEOUT", body
            await until(lambda: services.heavy_stats.running == 0)
            assert probe.started == 1 and probe.cancelled == 1  # it saw the cancel: it did not run on
            assert services.heavy_stats.cancelled == 1
            probe.release.set()  # the one heavy worker is free for the next request
            assert (await gql(c, "{ hold }"))["data"] == {"hold": True}

    asyncio.run(go())


def test_queued_heavy_calls_of_a_timed_out_request_never_start(make_db: Any) -> None:
    probe = Probe()
    app = app_with(make_db, probe, heavy_workers=1, time_limit=0.5)

    async def go() -> None:
        async with client(app) as c:
            services: Services = app.state.services
            body = await gql(c, "{ a: hold b: hold c: hold d: hold }")  # one runs, three wait for the worker
            assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "TIMEOUT", body
            await until(lambda: services.heavy_stats.running == 0)
            assert probe.started == 1 and probe.cancelled == 1
            assert services.heavy_stats.finished == 1

    asyncio.run(go())


WHO = 'a{i}: whoCan(action: "s3:GetObject", resource: "*", viaChains: true, maxDepth: {d}) {{ principalArn }}'


def operation(n: int, depth: int | str = 10) -> str:
    return "{ " + " ".join(WHO.format(i=i, d=depth) for i in range(n)) + " }"


def test_an_operation_over_the_work_budget_is_refused_before_anything_runs(make_db: Any) -> None:
    probe = Probe()
    app = app_with(make_db, probe)

    async def go() -> None:
        async with client(app) as c:
            services: Services = app.state.services
            body = await gql(c, operation(50))  # the flood: 50 aliases of chains at depth 10
            assert body["data"] is None
            [error] = body["errors"]
            assert error["extensions"]["code"] == "WORK_LIMIT"
            assert "estimated work 1100 exceeds the per-request budget of 100 units" in error["message"]
            assert "whoCan (viaChains, maxDepth 10): 1100" in error["message"]
            assert services.heavy_stats.finished == 0
            ok = await gql(c, operation(4))  # 4 × 22 units
            assert "errors" not in ok and len(ok["data"]) == 4
            assert services.heavy_stats.finished >= 1

    asyncio.run(go())


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        (operation(8, 5), False),  # 8 × (2 + 2·5) = 96
        (operation(9, 5), True),  # 108
        ("query($d: Int!) " + operation(5, "$d"), True),  # a variable depth counts as 10: 5 × 22
        ("{ roles(first: 100) { nodes { assumableBy { id } } } }", False),  # 100 × 1
        ("{ roles(first: 100) { nodes { assumableBy { id } assumableRoles { arn } } } }", True),
        ('{ principal(arn: "x") { ... on Role { assumableBy { id } } } }', False),
        (" ".join(["{", *(f"e{i}: escalationSummary {{ arn }}" for i in range(11)), "}"]), True),
        (
            '{ users(first: 1) { totalCount } simulate(principal: "x", action: "s3:Get") { decision } }',
            False,
        ),
    ],
)
def test_work_is_counted_per_field_kind_times_the_lists_above(
    make_db: Any, query: str, refused: bool
) -> None:
    app = create_app(database=make_db(), load_seeds=False)

    async def go() -> dict[str, Any]:
        async with client(app) as c:
            r = await c.post("/graphql", json={"query": query, "variables": {"d": 3}})
            body: dict[str, Any] = r.json()
            return body

    body = asyncio.run(go())
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or ()]
    assert ("WORK_LIMIT" in codes) == refused, body
