"""Authentication and authorisation of the API: tokens on disk, who may read, who may mutate."""

from __future__ import annotations

import asyncio
import json
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from starlette.applications import Starlette

from graphiam.api.schema import build_schema
from graphiam.api.security import admin_mutation
from graphiam.app import create_app
from graphiam.auth import (
    Auth,
    AuthError,
    Role,
    TokenStore,
    anonymous_reads_default,
    expiry_from,
    token_file_for,
)
from graphiam.cli import main
from graphiam.errors import InputError, NotFoundError
from tests.helpers import SEEDS

SEED = SEEDS / "demo-org.json"


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(tmp_path / "db.tokens.json")


def post(
    app: Starlette, query: str, token: str | None = None, *, path: str = "/graphql", **kw: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kw.pop("headers", {}))

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as c,
        ):
            if path == "/health":
                return await c.get(path, headers=headers)
            return await c.post(path, json={"query": query}, headers=headers, **kw)

    return asyncio.run(go())


# --- the token file ---------------------------------------------------------------------------------


def test_tokens_are_stored_hashed_in_an_owner_only_file(store):
    record, token = store.create(Role.READER, "dash")
    text = store.path.read_text()
    assert token not in text and record.sha256 in text
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert token.startswith("giam_") and len(token) > 40
    assert store.verify(token) == record and store.verify(token + "x") is None


def test_first_start_makes_one_admin_token(store):
    token = store.ensure_admin()
    assert token is not None and store.verify(token).role == "admin"
    assert store.ensure_admin() is None  # a second start makes no new token
    assert [r.name for r in store.records()] == ["initial-admin"]


def test_revoke_by_name_or_id_and_errors(store):
    a, ta = store.create("reader", "a")
    b, tb = store.create("admin", "b")
    with pytest.raises(InputError, match="`a` already exists"):
        store.create("reader", "a")
    store.revoke("a")
    store.revoke(b.id)
    assert store.verify(ta) is None and store.verify(tb) is None
    with pytest.raises(NotFoundError, match="`a`"):
        store.revoke("a")


def test_a_revocation_by_another_process_is_seen_without_restart(store):
    _, token = store.create("reader", "r")
    assert store.verify(token) is not None
    TokenStore(store.path).revoke("r")  # e.g. `graphiam token revoke` while the server runs
    assert store.verify(token) is None


@pytest.mark.parametrize(
    "header, outcome",
    [
        (None, None),
        ("Bearer {admin}", "admin"),
        ("bearer {reader}", "reader"),
        ("Bearer wrong", "unknown or revoked token"),
        ("Basic dXNlcjpwdw==", "must be `Bearer <token>`"),
        ("Bearer ", "must be `Bearer <token>`"),
    ],
    ids=["none", "admin", "reader-lowercase-scheme", "unknown", "basic", "empty"],
)
def test_authenticate(store, header, outcome):
    _, admin = store.create("admin")
    _, reader = store.create("reader")
    auth = Auth(store=store)
    headers = {} if header is None else {"authorization": header.format(admin=admin, reader=reader)}
    if outcome in (None, "admin", "reader"):
        identity = auth.authenticate(headers)
        assert (identity.role.value if identity else None) == outcome
    else:
        with pytest.raises(AuthError, match=outcome):
            auth.authenticate(headers)


@pytest.mark.parametrize(
    "host, allowed",
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("example.com", False),
    ],
)
def test_anonymous_reads_default_only_on_loopback(host, allowed):
    assert anonymous_reads_default(host) is allowed


def test_token_file_sits_beside_the_database(tmp_path):
    assert token_file_for(tmp_path / "db") == tmp_path / "db.tokens.json"


# --- the HTTP API -----------------------------------------------------------------------------------


@pytest.fixture
def secured(make_db, store):
    """(app factory, admin token, reader token) over the demo org."""
    db = make_db(SEED)
    _, admin = store.create("admin", "root")
    _, reader = store.create("reader", "dash")

    def make(anonymous_reads: bool = False, **kw: Any) -> Starlette:
        return create_app(
            database=db, load_seeds=False, auth=Auth(store=store, anonymous_reads=anonymous_reads), **kw
        )

    return make, admin, reader


READ = "{ viewer { role name authenticated } users { totalCount } }"


def test_reads_without_a_token_are_refused_when_anonymous_reads_are_off(secured):
    make, _, reader = secured
    app = make(anonymous_reads=False)  # what a non-loopback bind gets by default
    r = post(app, READ)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Authorization: Bearer <token>" in r.json()["errors"][0]["message"]
    data = post(app, READ, reader).json()["data"]
    assert data == {
        "viewer": {"role": "READER", "name": "dash", "authenticated": True},
        "users": {"totalCount": 9},
    }
    # health tells liveness to anyone, the graph's accounts only to a reader
    assert post(app, "", path="/health").json() == {"status": "ok"}
    assert post(app, "", reader, path="/health").json()["accounts"] == ["111111111111"]


def test_anonymous_reads_on_loopback_but_a_bad_token_is_still_refused(secured):
    make, _, _ = secured
    app = make(anonymous_reads=True)
    assert post(app, READ).json()["data"]["viewer"] == {
        "role": "READER",
        "name": "anonymous",
        "authenticated": False,
    }
    r = post(app, READ, "giam_not-a-token")
    assert r.status_code == 401 and r.json()["errors"][0]["message"] == "unknown or revoked token"


def test_admin_only_field_refuses_anonymous_and_readers(secured):
    make, admin, reader = secured
    app = make(anonymous_reads=True)
    q = "{ viewer { name } apiTokens { name role } }"
    for token in (None, reader):
        body = post(app, q, token).json()
        assert body["data"]["apiTokens"] is None and body["data"]["viewer"]["name"] in ("anonymous", "dash")
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "admin role needed" in body["errors"][0]["message"]
    tokens = post(app, q, admin).json()["data"]["apiTokens"]
    assert tokens == [{"name": "root", "role": "ADMIN"}, {"name": "dash", "role": "READER"}]


@strawberry.type
class _TestMutation:
    """Test-only mutations: one protected as mutation authors will, one that forgot its permission."""

    @admin_mutation
    def touch(self) -> int:
        return 1

    @strawberry.mutation
    def unguarded(self) -> int:
        return 2


@pytest.mark.parametrize("field", ["touch", "unguarded"])
def test_mutations_need_an_admin_token(secured, field):
    make, admin, reader = secured
    app = make(anonymous_reads=True, schema=build_schema(mutation_parts=(_TestMutation,)))
    for token in (None, reader):
        body = post(app, f"mutation {{ {field} }}", token).json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        assert "admin role needed" in body["errors"][0]["message"]
    assert post(app, f"mutation {{ {field} }}", admin).json() == {
        "data": {field: 1 if field == "touch" else 2}
    }


def test_admin_mutation_carries_the_permission_itself():
    """Even where MutationGuard is absent (another schema), the field refuses a reader."""
    from graphiam.api.security import AppContext
    from graphiam.auth import ANONYMOUS

    @strawberry.type
    class Q:
        ping: int = 1

    schema = strawberry.Schema(query=Q, mutation=_TestMutation)
    result = schema.execute_sync(
        "mutation { touch }",
        context_value=AppContext(services=None, loaders=None, identity=ANONYMOUS),  # type: ignore[arg-type]
    )
    assert result.errors and result.errors[0].extensions == {"code": "FORBIDDEN"}


def test_in_process_app_without_auth_is_open(make_db):
    app = create_app(database=make_db(SEED), load_seeds=False)  # `database=`: auth defaults to none
    assert post(app, "{ viewer { role authenticated } }").json()["data"]["viewer"] == {
        "role": "ADMIN",
        "authenticated": False,
    }


def test_production_switches_and_cors(secured):
    make, _, reader = secured
    app = make(ide=False, introspection=False, cors_origins=("https://dash.example",))
    r = post(app, "{ __schema { queryType { name } } }", reader)
    assert r.json()["data"] is None and "introspection" in r.json()["errors"][0]["message"]
    assert post(app, "{ __typename }", reader).json() == {"data": {"__typename": "Query"}}

    async def go() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            page = await c.get("/graphql", headers={"accept": "text/html"})
            pre = await c.options(
                "/graphql",
                headers={
                    "Origin": "https://dash.example",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type",
                },
            )
            other = await c.options(
                "/graphql",
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            )
            return page, pre, other

    page, pre, other = asyncio.run(go())
    assert page.status_code == 404
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "https://dash.example"
    assert "authorization" in pre.headers["access-control-allow-headers"].lower()
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers


# --- the CLI ----------------------------------------------------------------------------------------


def test_token_cli_create_list_revoke(tmp_path, capsys):
    db = tmp_path / "db"
    assert main(["token", "create", "--role", "reader", "--name", "dash", "--db", str(db)]) == 0
    token = capsys.readouterr().out.strip()
    store = TokenStore(token_file_for(db))
    found = store.verify(token)
    assert found is not None and found.name == "dash"
    assert main(["token", "list", "--db", str(db)]) == 0
    listed = capsys.readouterr().out
    assert "dash" in listed and "reader" in listed and token not in listed
    assert main(["token", "revoke", "dash", "--db", str(db)]) == 0
    assert store.verify(token) is None
    assert main(["token", "revoke", "dash", "--db", str(db)]) == 1
    assert "no token named or with id `dash`" in capsys.readouterr().err
    assert json.loads(store.path.read_text())["tokens"] == []


def test_real_mutations_need_an_admin_token_and_change_nothing_otherwise(secured):
    make, admin, reader = secured
    app = make(anonymous_reads=True)
    create = 'mutation { createUser(input: {account: "111111111111", name: "intruder"}) { ok user { arn } } }'
    count = "{ users { totalCount } }"
    for token in (None, reader):
        body = post(app, create, token).json()
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        assert post(app, count, token).json()["data"]["users"]["totalCount"] == 9
    body = post(app, create, admin).json()
    assert body["data"]["createUser"] == {
        "ok": True,
        "user": {"arn": "arn:aws:iam::111111111111:user/intruder"},
    }
    assert post(app, count, reader).json()["data"]["users"]["totalCount"] == 10


# --- tokens that end, and their last use ------------------------------------------------------------


NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("30d", datetime(2026, 3, 31, 12, 0, 0, tzinfo=UTC)),
        ("12h", datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC)),
        ("45m", datetime(2026, 3, 1, 12, 45, 0, tzinfo=UTC)),
        (" 2W ", datetime(2026, 3, 15, 12, 0, 0, tzinfo=UTC)),
        ("2027-01-31", datetime(2027, 1, 31, 0, 0, 0, tzinfo=UTC)),
        ("2027-01-31T18:30:00Z", datetime(2027, 1, 31, 18, 30, 0, tzinfo=UTC)),
        ("2027-01-31T18:30:00", datetime(2027, 1, 31, 18, 30, 0, tzinfo=UTC)),  # no offset: UTC
        ("2027-01-31T18:30:00+02:00", datetime(2027, 1, 31, 16, 30, 0, tzinfo=UTC)),
    ],
)
def test_expiry_forms(text, expected):
    assert expiry_from(text, NOW) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("0d", "`0d` is no time at all"),
        ("-3d", "`-3d` is not a duration"),
        ("30", "`30` is not a duration"),
        ("30y", "`30y` is not a duration"),
        ("soon", "`soon` is not a duration"),
        ("999999999d", "`999999999d` is not a duration"),  # past the last date Python can hold
        ("2026-02-30", "`2026-02-30` is not a duration"),
        ("2026-03-01", "2026-03-01T00:00:00Z is already past (now 2026-03-01T12:00:00Z)"),
        ("2026-03-01T12:00:00Z", "is already past"),
    ],
)
def test_expiry_refuses_what_is_not_a_future_time(text, message):
    with pytest.raises(InputError, match=re.escape(message)):
        expiry_from(text, NOW)


def test_an_expired_token_is_refused_saying_it_expired_and_when(store):
    past = datetime.now(UTC) - timedelta(minutes=1)
    record, token = store.create("admin", "ci", expires=past)
    _, live = store.create("reader", "dash", expires=datetime.now(UTC) + timedelta(days=1))
    assert record.expires == past.strftime("%Y-%m-%dT%H:%M:%SZ") and record.expired()
    auth = Auth(store=store)
    with pytest.raises(AuthError, match=rf"token `ci` \(id {record.id}\) expired at {record.expires}"):
        auth.authenticate({"authorization": f"Bearer {token}"})
    identity = auth.authenticate({"authorization": f"Bearer {live}"})
    assert identity is not None and identity.name == "dash"
    # the file keeps the expiry; another process (the CLI, a restarted server) reads it back
    assert TokenStore(store.path).records()[0].expires == record.expires


def test_an_expired_token_gets_401_over_http_even_with_anonymous_reads(make_db, store):
    _, token = store.create("admin", "old", expires=datetime.now(UTC) - timedelta(seconds=1))
    app = create_app(database=make_db(SEED), load_seeds=False, auth=Auth(store=store, anonymous_reads=True))
    r = post(app, READ, token)
    assert r.status_code == 401
    assert re.fullmatch(
        r"token `old` \(id \w+\) expired at \S+Z: ask an admin for a new one \(`graphiam token create`\)",
        r.json()["errors"][0]["message"],
    )


def test_last_use_is_written_at_most_once_a_minute_and_at_flush(store):
    record, token = store.create("reader", "dash")
    other = TokenStore(store.path)  # what `graphiam token list` sees, from another process
    assert other.last_used() == {}
    t0 = 1_800_000_000.0
    store.mark_used(record, now=t0)  # first use: on disk at once
    assert other.last_used() == {record.id: "2027-01-15T08:00:00Z"}
    written = store.used_path.read_text()
    store.mark_used(record, now=t0 + 30)  # within the minute: memory only
    assert store.used_path.read_text() == written
    assert store.last_used()[record.id] == "2027-01-15T08:00:30Z"  # the server itself knows
    store.flush_used()  # at shutdown
    assert other.last_used() == {record.id: "2027-01-15T08:00:30Z"}
    store.mark_used(record, now=t0 + 90)  # a minute after the last write: on disk again
    assert other.last_used() == {record.id: "2027-01-15T08:01:30Z"}
    assert stat.S_IMODE(store.used_path.stat().st_mode) == 0o600
    assert "sha256" not in written and token not in written


def test_authenticating_records_the_use_and_api_tokens_shows_expiry_and_last_use(make_db, store):
    _, admin = store.create("admin", "root")
    store.create("reader", "idle", expires=datetime(2031, 1, 2, tzinfo=UTC))
    store.create("reader", "gone", expires=datetime.now(UTC) - timedelta(days=1))
    app = create_app(database=make_db(SEED), load_seeds=False, auth=Auth(store=store))
    tokens = post(app, "{ apiTokens { name expires expired lastUsed } }", admin).json()["data"]["apiTokens"]
    by_name = {t["name"]: t for t in tokens}
    assert by_name["idle"] == {
        "name": "idle",
        "expires": "2031-01-02T00:00:00Z",
        "expired": False,
        "lastUsed": None,
    }
    assert by_name["gone"]["expired"] is True and by_name["gone"]["lastUsed"] is None
    used = by_name["root"]["lastUsed"]
    assert by_name["root"]["expires"] is None and used is not None
    assert abs(datetime.fromisoformat(used) - datetime.now(UTC)) < timedelta(minutes=2)


def test_token_cli_expires_and_list_columns(tmp_path, capsys):
    db = tmp_path / "db"
    assert (
        main(["token", "create", "--role", "reader", "--name", "ci", "--expires", "30d", "--db", str(db)])
        == 0
    )
    out = capsys.readouterr()
    token = out.out.strip()
    store = TokenStore(token_file_for(db))
    record = store.verify(token)
    assert record is not None and record.expires is not None and f"valid until {record.expires}" in out.err
    left = datetime.fromisoformat(record.expires) - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < left <= timedelta(days=30)
    assert main(["token", "create", "--role", "admin", "--name", "forever", "--db", str(db)]) == 0
    capsys.readouterr()
    Auth(store=store).authenticate({"authorization": f"Bearer {token}"})  # a server saw it used
    assert main(["token", "list", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "ROLE", "NAME", "CREATED", "EXPIRES", "LAST", "USED"]
    ci = next(line.split() for line in lines if " ci " in line)
    assert ci[:2] == [record.id, "reader"] and ci[4] == record.expires
    assert abs(datetime.fromisoformat(ci[5]) - datetime.now(UTC)) < timedelta(minutes=2)
    forever = next(line.split() for line in lines if " forever " in line)
    assert forever[4:] == ["never", "never"]
    for bad, message in (("30x", "`30x` is not a duration"), ("2001-01-01", "is already past")):
        assert main(["token", "create", "--role", "reader", "--expires", bad, "--db", str(db)]) == 1
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert len(store.records()) == 2  # the refused ones made no token
