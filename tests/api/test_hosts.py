"""Host and Origin checks (DNS rebinding, cross-site requests): a request whose Host is not one of the
server's names gets 400; a request whose Origin is neither the server's own nor an allowed one gets 403, GET
and POST alike; requests without an Origin (curl, scripts) pass."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette

from graphiam.app import create_app
from graphiam.auth import LOOPBACK_NAMES
from graphiam.changes.load import load_files
from graphiam.cli.serve import allowed_hosts_for
from graphiam.store import open_database
from tests.helpers import SEEDS, free_port, start_server

QUERY = {"query": "{ users { totalCount } }"}


@pytest.fixture(scope="module")
def db() -> Iterator[object]:
    database = open_database(None, buffer_pool_mb=128)  # LadybugDB needs more than 64 MiB for the demo org
    load_files(database, [SEEDS / "demo-org.json"])
    yield database
    database.close()


def call(
    app: Starlette, method: str, path: str, headers: dict[str, str], base: str = "http://127.0.0.1:8000"
) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=base) as c,
        ):
            if method == "POST":
                return await c.post(path, json=QUERY, headers=headers)
            return await c.get(path, headers={"accept": "text/html", **headers})

    return asyncio.run(go())


REQUESTS = [("POST", "/graphql"), ("GET", "/graphql"), ("GET", "/health")]


@pytest.mark.parametrize("method, path", REQUESTS)
@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8000", "127.0.0.1.nip.io", "evil"])
def test_another_host_gets_400_from_an_app_that_opens_its_database(tmp_path, method, path, host):
    app = create_app(tmp_path / "db", load_seeds=False)  # the production default: loopback names only
    r = call(app, method, path, {"host": host})
    assert r.status_code == 400, r.text
    assert "users" not in r.text and "accounts" not in r.text


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000", "127.0.0.1"])
def test_the_loopback_names_pass(tmp_path, host):
    app = create_app(tmp_path / "db", load_seeds=False)
    assert call(app, "GET", "/health", {"host": host}).json() == {"status": "ok"}  # no token: liveness only


def test_allowed_hosts_are_explicit(db):
    app = create_app(database=db, load_seeds=False, allowed_hosts=("graphiam.internal",))
    assert call(app, "POST", "/graphql", {"host": "graphiam.internal"}).json()["data"]["users"]["totalCount"]
    assert call(app, "POST", "/graphql", {"host": "localhost"}).status_code == 400
    app = create_app(database=db, load_seeds=False, allowed_hosts=LOOPBACK_NAMES)
    assert call(app, "POST", "/graphql", {"host": "attacker.example"}).status_code == 400
    assert call(app, "POST", "/graphql", {"host": "[::1]"}).status_code == 200


def test_serve_allows_the_bind_names_plus_the_added_ones():
    assert set(allowed_hosts_for("127.0.0.1", [])) == {"127.0.0.1", "localhost", "[::1]", "::1"}
    assert set(allowed_hosts_for("::1", [])) == {"127.0.0.1", "localhost", "[::1]", "::1"}
    assert set(allowed_hosts_for("localhost", ["a.example"])) == {
        "127.0.0.1",
        "localhost",
        "[::1]",
        "::1",
        "a.example",
    }
    assert allowed_hosts_for("10.0.0.5", []) == ("10.0.0.5",)
    assert allowed_hosts_for("10.0.0.5", ["graphiam.corp", "*.graphiam.corp"]) == (
        "10.0.0.5",
        "graphiam.corp",
        "*.graphiam.corp",
    )
    assert allowed_hosts_for("fd00::5", []) == ("[fd00::5]",)


@pytest.mark.parametrize("method, path", REQUESTS)
@pytest.mark.parametrize(
    "origin",
    ["http://attacker.example", "http://127.0.0.1:8001", "https://localhost:8000", "null", "file://"],
)
def test_a_foreign_origin_gets_403(db, method, path, origin):
    app = create_app(database=db, load_seeds=False, cors_origins=("https://ui.example",))
    r = call(app, method, path, {"origin": origin})
    assert r.status_code == 403, r.text
    assert "users" not in r.text and "accounts" not in r.text


def test_a_preflight_from_a_foreign_origin_is_refused_by_the_cors_rules(db):
    app = create_app(database=db, load_seeds=False, cors_origins=("https://ui.example",))

    async def go(origin: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
            return await c.options(
                "/graphql",
                headers={"origin": origin, "access-control-request-method": "POST"},
            )

    foreign = asyncio.run(go("http://attacker.example"))
    assert foreign.status_code == 400 and "access-control-allow-origin" not in foreign.headers
    ok = asyncio.run(go("https://ui.example"))
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://ui.example"


@pytest.mark.parametrize(
    "origin, host",
    [
        (None, "127.0.0.1:8000"),
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://localhost:8000", "localhost:8000"),
        ("http://[::1]:8000", "[::1]:8000"),
        ("https://ui.example", "127.0.0.1:8000"),
        ("http://graphiam.test", "graphiam.test"),
        ("http://graphiam.test", "graphiam.test:80"),
        ("https://graphiam.test", "graphiam.test"),  # behind a TLS proxy: the Host is the same
    ],
)
def test_no_origin_the_own_origin_and_allowed_origins_pass(db, origin, host):
    app = create_app(database=db, load_seeds=False, cors_origins=("https://ui.example",))
    headers = {"host": host} | ({"origin": origin} if origin is not None else {})
    r = call(app, "POST", "/graphql", headers)
    assert r.status_code == 200 and r.json()["data"]["users"]["totalCount"] > 0, r.text
    assert call(app, "GET", "/graphql", headers).status_code == 200


def test_the_real_server_checks_host_and_origin(tmp_path):
    env = {**os.environ, "GRAPHIAM_DB": str(tmp_path / "db")}
    port = free_port()
    proc = start_server(
        env, port, "--allowed-host", "graphiam.internal", "--cors-origin", "https://ui.example"
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as c:
            attack = c.post("/graphql", json=QUERY, headers={"host": "attacker.example"})
            assert attack.status_code == 400 and "totalCount" not in attack.text
            assert c.get("/health", headers={"host": f"attacker.example:{port}"}).status_code == 400
            for host in (f"127.0.0.1:{port}", f"localhost:{port}", "graphiam.internal"):
                r = c.post("/graphql", json=QUERY, headers={"host": host})
                assert r.status_code == 200 and r.json()["data"]["users"]["totalCount"] > 0, (host, r.text)
            cross = c.post("/graphql", json=QUERY, headers={"origin": "http://attacker.example"})
            assert cross.status_code == 403 and "totalCount" not in cross.text
            assert c.get("/graphql", headers={"origin": "http://attacker.example"}).status_code == 403
            own = c.post("/graphql", json=QUERY, headers={"origin": base})
            assert own.status_code == 200, own.text
            allowed = c.post("/graphql", json=QUERY, headers={"origin": "https://ui.example"})
            assert allowed.status_code == 200
            assert allowed.headers["access-control-allow-origin"] == "https://ui.example"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
