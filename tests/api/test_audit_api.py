"""The audit log over the API: every mutation recorded (who, when, what, dry run, outcome), refused ones
included, and readable by admins only through `auditLog`, newest first, paginated."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from graphiam.app import create_app
from graphiam.audit import AuditLog, audit_file_for
from graphiam.auth import Auth, TokenStore, token_file_for
from tests.helpers import SEEDS, free_port, run_cli, start_server

ACCOUNT = "111111111111"
BOB = f"arn:aws:iam::{ACCOUNT}:user/engineering/bob"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
ENTRY = "who tokenId role operation arguments dryRun outcome detail at finished"


def post(app: Starlette, query: str, token: str | None, variables: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def go() -> httpx.Response:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
        ):
            return await c.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )

    r = asyncio.run(go())
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def server(make_db, tmp_path: Path) -> tuple[Starlette, str, str, str, AuditLog]:
    """(app over the demo org with anonymous reads, admin token, its id, reader token, the audit log)."""
    store = TokenStore(token_file_for(tmp_path / "db"))
    admin_record, admin = store.create("admin", "root")
    _, reader = store.create("reader", "dash")
    log = AuditLog(audit_file_for(tmp_path / "db"))
    app = create_app(
        database=make_db(SEEDS / "demo-org.json"),
        load_seeds=False,
        auth=Auth(store=store, anonymous_reads=True),
        audit=log,
    )
    return app, admin, admin_record.id, reader, log


def audit_page(app: Starlette, token: str, **args: Any) -> dict[str, Any]:
    params = ", ".join(f"{k}: {json.dumps(v) if k != 'outcome' else v}" for k, v in args.items())
    args_text = f"({params})" if params else ""
    q = f"{{ auditLog{args_text} {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {ENTRY} }} }} }}"
    body = post(app, q, token)
    assert "errors" not in body, body
    page: dict[str, Any] = body["data"]["auditLog"]
    return page


def test_every_mutation_is_recorded_with_who_what_dry_run_and_outcome(server):
    app, admin, admin_id, reader, _ = server
    create = f'mutation {{ createUser(input: {{account: "{ACCOUNT}", name: "audited"}}) {{ ok }} }}'
    assert post(app, create, admin)["data"]["createUser"]["ok"] is True
    dry = (
        f'mutation {{ attachPolicy(dryRun: true, input: {{policyArn: "{ADMIN_POLICY}", targetArn: "{BOB}"}}) '
        "{ ok dryRun } }"
    )
    assert post(app, dry, admin)["data"]["attachPolicy"] == {"ok": True, "dryRun": True}
    bad = (
        'mutation($doc: JSON!) { putUserPolicy(input: {arn: "' + BOB + '", policyName: "p", document: $doc}) '
        "{ ok errors { code } } }"
    )
    body = post(app, bad, admin, {"doc": {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]}})
    assert body["data"]["putUserPolicy"]["ok"] is False
    for token in (reader, None):  # refused before running: recorded too, with who tried
        body = post(app, create.replace("audited", "intruder"), token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    page = audit_page(app, admin)
    assert page["totalCount"] == 5
    anonymous, by_reader, refused, dry_run, created = page["nodes"]  # newest first
    assert created["who"] == "root" and created["tokenId"] == admin_id and created["role"] == "admin"
    assert created["operation"] == "createUser" and created["dryRun"] is False and created["outcome"] == "OK"
    assert created["arguments"] == {"input": {"account": ACCOUNT, "name": "audited", "path": "/"}}
    assert created["detail"] == f"applied: createUser arn:aws:iam::{ACCOUNT}:user/audited"
    assert created["at"] <= created["finished"]
    assert dry_run["operation"] == "attachPolicy" and dry_run["dryRun"] is True and dry_run["outcome"] == "OK"
    assert dry_run["detail"].startswith("would apply: attachPolicy")
    assert refused["operation"] == "putUserPolicy" and refused["outcome"] == "REFUSED"
    assert refused["detail"].startswith("INVALID_POLICY") and "(at document)" in refused["detail"]
    assert refused["arguments"]["input"]["document"] == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Maybe"}],
    }
    assert by_reader["who"] == "dash" and by_reader["role"] == "reader"
    assert anonymous["who"] == "anonymous" and anonymous["tokenId"] is None
    for entry in (by_reader, anonymous):
        assert entry["outcome"] == "REFUSED" and "admin role needed" in entry["detail"]
        assert entry["arguments"]["input"]["name"] == "intruder" and entry["operation"] == "createUser"
    # nothing the refused callers sent was applied
    assert post(app, '{ users(pathPrefix: "/") { totalCount } }', admin)["data"]["users"]["totalCount"] == 10


def test_apply_changes_and_input_errors_before_the_transaction_are_recorded(server):
    app, admin, _, _, log = server
    one = {"createGroup": {"account": ACCOUNT, "name": "g1"}}
    q = "mutation($c: [ChangeInput!]!) { applyChanges(changes: $c) { ok } }"
    assert post(app, q, admin, {"c": [one]})["data"]["applyChanges"]["ok"] is True
    body = post(app, q, admin, {"c": [one] * 101})  # over the limit: refused before anything runs
    assert body["errors"][0]["message"] == "`changes`: at most 100, got 101"
    entries = log.entries()
    assert [(e.operation, e.outcome.value) for e in entries] == [
        ("applyChanges", "ok"),
        ("applyChanges", "refused"),
    ]
    assert entries[0].arguments == {
        "changes": [{"createGroup": {"account": ACCOUNT, "name": "g1", "path": "/"}}]
    }
    assert entries[1].detail == "INVALID_INPUT: `changes`: at most 100, got 101"
    assert entries[1].arguments["changes"]["summarized"].startswith("list of 101 entries")


def test_audit_log_is_for_admins_only(server):
    app, admin, _, reader, _ = server
    post(app, f'mutation {{ createGroup(input: {{account: "{ACCOUNT}", name: "g"}}) {{ ok }} }}', admin)
    for token in (reader, None):
        body = post(app, "{ viewer { name } auditLog { totalCount } }", token)
        assert body["data"]["auditLog"] is None and body["data"]["viewer"]["name"] in ("dash", "anonymous")
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert audit_page(app, admin)["totalCount"] == 1


def test_audit_log_pages_newest_first_and_filters(server):
    app, admin, _, reader, _ = server
    for i in range(5):
        post(
            app, f'mutation {{ createGroup(input: {{account: "{ACCOUNT}", name: "g{i}"}}) {{ ok }} }}', admin
        )
    post(app, f'mutation {{ createGroup(input: {{account: "{ACCOUNT}", name: "x"}}) {{ ok }} }}', reader)
    seen = []
    page = audit_page(app, admin, first=2)
    while True:
        seen += [n["arguments"]["input"]["name"] for n in page["nodes"]]
        assert page["totalCount"] == 6
        if not page["pageInfo"]["hasNextPage"]:
            break
        page = audit_page(app, admin, first=2, after=page["pageInfo"]["endCursor"])
    assert seen == ["x", "g4", "g3", "g2", "g1", "g0"]
    refused = audit_page(app, admin, outcome="REFUSED")
    assert refused["totalCount"] == 1 and refused["nodes"][0]["who"] == "dash"
    assert audit_page(app, admin, who="root", first=1)["totalCount"] == 5
    assert audit_page(app, admin, operation="deleteGroup")["totalCount"] == 0
    body = post(app, '{ auditLog(after: "bm9wZQ==") { totalCount } }', admin)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


def test_the_server_keeps_the_log_beside_the_database_and_the_cli_reads_it_while_it_runs(tmp_path):
    db = tmp_path / "db"
    made = run_cli("token", "create", "--role", "admin", "--name", "ops", "--expires", "1h", db=db)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    port = free_port()
    proc = start_server({**os.environ, "GRAPHIAM_DB": str(db)}, port)
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        headers = {"Authorization": f"Bearer {token}"}
        q = (
            f'mutation {{ createGroup(dryRun: true, input: {{account: "{ACCOUNT}", name: "tried"}}) '
            "{ ok } }"
        )
        as_admin = httpx.post(url, json={"query": q}, headers=headers, timeout=60).json()
        assert as_admin["data"]["createGroup"]["ok"] is True
        anonymous = httpx.post(url, json={"query": q}, timeout=60).json()
        assert anonymous["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        shown = run_cli("audit", db=db)  # the server still holds the database
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert len(lines) == 2
        assert (
            " anonymous  createGroup (dry run)  refused  mutation operations: admin role needed" in lines[0]
        )
        assert " ops  createGroup (dry run)  ok  would apply: createGroup arn:aws:iam::" in lines[1]
        as_json = run_cli("audit", "--json", "--who", "ops", db=db)
        (entry,) = [json.loads(line) for line in as_json.stdout.splitlines()]
        assert entry["arguments"]["input"]["name"] == "tried" and entry["dry_run"] is True
        listed = run_cli("token", "list", db=db).stdout
        assert " ops " in listed and "never" not in listed.splitlines()[1]  # expires set, used just now
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert audit_file_for(db).exists()
    nothing = run_cli("audit", "--outcome", "failed", db=db)
    assert nothing.returncode == 0 and nothing.stdout == "" and "matches" in nothing.stderr


def test_the_outcome_is_recorded_by_the_thread_doing_the_work_whatever_it_raises(tmp_path):
    """`audited` writes the end line when the work ends (a request that timed out meanwhile included), and
    tells graphiam's refusals from unexpected failures."""
    from types import SimpleNamespace

    from graphiam.api.audit import audited
    from graphiam.auth import Identity, Role
    from graphiam.errors import InputError, StoreError

    log = AuditLog(tmp_path / "a.jsonl")
    context = SimpleNamespace(audit=log, identity=Identity(role=Role.ADMIN, name="ops", token_id="0a1b2c3d"))

    def raising(exc: BaseException) -> Any:
        def work() -> Any:
            assert [e.outcome.value for e in log.entries()][-1] == "unfinished"  # begun before the work
            raise exc

        return work

    for exc in (InputError("`changes`: at most 100"), StoreError("disk full"), RuntimeError("bug")):
        with pytest.raises(type(exc)):
            audited(context, "createUser", {"input": {}}, False, raising(exc))()
    assert [(e.outcome.value, e.detail) for e in log.entries()] == [
        ("refused", "INVALID_INPUT: `changes`: at most 100"),
        ("failed", "INTERNAL: disk full"),
        ("failed", "RuntimeError: bug"),
    ]
    assert {(e.who, e.token_id, e.role) for e in log.entries()} == {("ops", "0a1b2c3d", "admin")}
    plain = SimpleNamespace(identity=None)  # a context without a log: the work runs unrecorded
    assert audited(plain, "createUser", {}, False, lambda: 7)() == 7


def test_an_unwritable_log_stops_mutations_but_not_refusals(make_db, tmp_path):
    """No change goes unrecorded: when the log cannot be written the mutation does not run; a refusal still
    refuses (and is no internal error)."""
    store = TokenStore(token_file_for(tmp_path / "db"))
    _, admin = store.create("admin", "root")
    _, reader = store.create("reader", "dash")
    blocked = tmp_path / "log-is-a-directory"
    blocked.mkdir()
    app = create_app(
        database=make_db(SEEDS / "demo-org.json"),
        load_seeds=False,
        auth=Auth(store=store),
        audit=AuditLog(blocked),
    )
    create = f'mutation {{ createGroup(input: {{account: "{ACCOUNT}", name: "unrecorded"}}) {{ ok }} }}'
    assert post(app, create, reader)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = post(app, create, admin)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert post(app, '{ group(name: "unrecorded") { arn } }', admin)["data"]["group"] is None
