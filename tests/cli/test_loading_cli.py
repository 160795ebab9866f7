"""The command line around loading: failed loads leave nothing, `accounts`, `remove-account`, `serve
--no-seeds`, and the reading commands while `graphiam serve` holds the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphiam.cli import load as load_command
from graphiam.cli.main import main
from tests.helpers import (
    allow,
    arn,
    cm,
    doc,
    export,
    free_port,
    managed_policy,
    role,
    run_cli,
    start_server,
    user,
    write,
)

A, B = "111111111111", "222222222222"


def _a(tmp_path: Path) -> Path:
    """Account A: `dev` may change IAM users (several escalation paths), `alice` holds A's policy Ops."""
    return write(
        tmp_path,
        "a.json",
        export(
            user(
                "dev", allow(["iam:PutUserPolicy", "iam:AttachUserPolicy", "iam:CreateAccessKey"]), account=A
            ),
            user("alice", managed=(cm("Ops", A),), account=A),
            roles=(role("Audit", {"AWS": f"arn:aws:iam::{B}:root"}, account=A),),
            policies=(managed_policy(cm("Ops", A), doc(allow("s3:GetObject"))),),
            account=A,
        ),
    )


def _b(tmp_path: Path, *extra: dict[str, Any]) -> Path:
    return write(
        tmp_path,
        "b.json",
        export(user("bob", allow("sts:AssumeRole"), account=B), *extra, account=B),
    )


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def _accounts(db: Path) -> list[dict[str, Any]]:
    r = run_cli("accounts", "--json", db=db)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["accounts"]  # type: ignore[no-any-return]


# ---- loading ----


def test_two_files_defining_one_arn_fail_in_one_line_naming_both(tmp_path):
    db = tmp_path / "db"
    assert run_cli("load", str(_a(tmp_path)), db=db).returncode == 0
    before = _accounts(db)
    b = _b(tmp_path, user("alice", account=A))
    r = run_cli("load", str(b), str(tmp_path / "a.json"), db=db)
    assert r.returncode == 1
    (line,) = r.stderr.strip().splitlines()
    assert "a.json" in line and "b.json" in line and "$.UserDetailList[1].Arn" in line, line
    assert "duplicated primary key" not in line
    assert _accounts(db) == before


def test_a_move_needs_replace(tmp_path):
    db = tmp_path / "db"
    assert run_cli("load", str(_a(tmp_path)), db=db).returncode == 0
    b = _b(tmp_path, user("alice", account=A))
    refused = run_cli("load", str(b), db=db)
    assert refused.returncode == 1 and "--replace" in refused.stderr and f"account `{A}`" in refused.stderr
    assert [a["account"] for a in _accounts(db)] == [A]
    moved = run_cli("load", "--replace", str(b), db=db)
    assert moved.returncode == 0, moved.stderr
    assert f"moved 1 ARN(s) from account {A} to account {B}" in moved.stdout
    users = {a["account"]: a["users"] for a in _accounts(db)}
    assert users == {A: 2, B: 3}


def test_a_failed_load_into_a_new_path_leaves_nothing(tmp_path):
    bad = write(tmp_path, "bad.json", {"UserDetailList": [{"UserName": "x"}]})
    target = tmp_path / "new" / "deeper" / "db"
    r = run_cli("load", str(bad), db=target)
    assert r.returncode == 1 and "bad.json" in r.stderr
    assert not (tmp_path / "new").exists(), _files(tmp_path / "new" / "deeper")
    beside = tmp_path / "here"
    beside.mkdir()
    (beside / "notes.txt").write_text("mine")
    assert run_cli("load", str(bad), db=beside / "db").returncode == 1
    assert _files(beside) == ["notes.txt"]


def test_serve_never_seeds_a_database_a_failed_load_left(tmp_path, monkeypatch):
    """Even when the failed load could not clean up (here: told not to), the database it made stays empty."""
    monkeypatch.setattr(load_command, "remove_new", lambda *_: None)
    bad = write(tmp_path, "bad.json", {"UserDetailList": [{"UserName": "x"}]})
    db = tmp_path / "db"
    assert main(["load", str(bad), "--db", str(db)]) == 1
    assert db.exists()
    port = free_port()
    proc = start_server({**os.environ, "GRAPHIAM_DB": str(db)}, port)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["accounts"] == []
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert b"made by `graphiam load`: serving it empty" in err


@pytest.mark.parametrize("how", ["--no-seeds", "GRAPHIAM_NO_SEEDS"])
def test_serve_no_seeds_starts_empty(tmp_path, how):
    env = {**os.environ, "GRAPHIAM_DB": str(tmp_path / "db")}
    args: tuple[str, ...] = ()
    if how == "--no-seeds":
        args = ("--no-seeds",)
    else:
        env["GRAPHIAM_NO_SEEDS"] = "1"
    port = free_port()
    proc = start_server(env, port, *args)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["accounts"] == []
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ---- accounts, remove-account ----


def test_accounts_lists_what_is_loaded(tmp_path):
    db = tmp_path / "db"
    assert run_cli("load", str(_a(tmp_path)), str(_b(tmp_path)), db=db).returncode == 0
    accounts = {a["account"]: a for a in _accounts(db)}
    assert set(accounts) == {A, B}
    a = accounts[A]
    assert (a["users"], a["groups"], a["roles"], a["policies"], a["inlinePolicies"]) == (3, 0, 1, 1, 1)
    assert a["source"] == str(tmp_path / "a.json") and a["loadedAt"] and a["name"] is None
    text = run_cli("accounts", db=db)
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert lines[0].split() == [
        "ACCOUNT",
        "NAME",
        "USERS",
        "GROUPS",
        "ROLES",
        "POLICIES",
        "INLINE",
        "LOADED",
        "FROM",
    ]
    assert lines[1].split()[:7] == [A, "-", "3", "0", "1", "1", "1"] and lines[1].endswith("a.json")


def test_remove_account_removes_it_and_refreshes_the_rest(tmp_path):
    db = tmp_path / "db"
    assert run_cli("load", str(_a(tmp_path)), str(_b(tmp_path)), db=db).returncode == 0
    r = run_cli("remove-account", B, db=db)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"removed account {B}: 2 users, 0 groups, 0 roles")
    assert [a["account"] for a in _accounts(db)] == [A]
    again = run_cli("remove-account", B, db=db)
    assert again.returncode == 1 and again.stderr.strip() == f"graphiam: error: account `{B}` is not loaded"


# ---- cut lists ----


def test_paths_say_how_many_of_how_many(tmp_path):
    db = tmp_path / "db"
    assert run_cli("load", str(_a(tmp_path)), db=db).returncode == 0
    dev = arn("user", "dev", A)
    every = run_cli("paths", "--from", dev, db=db)
    assert every.returncode == 0, every.stderr
    total = int(every.stdout.split(" path(s)", 1)[0])
    assert total >= 2, every.stdout
    cut = run_cli("paths", "--from", dev, "--limit", "1", db=db)
    assert cut.stdout.splitlines()[0].startswith(
        f"1 of {total} paths from `{dev}` to administrator shown (--limit {total} shows more)"
    ), cut.stdout


def test_the_report_says_how_many_actions_it_shows(tmp_path):
    db = tmp_path / "db"
    wide = write(
        tmp_path,
        "w.json",
        export(user("w", managed=(cm("Wide"),)), policies=(managed_policy(cm("Wide"), doc(allow("iam:*"))),)),
    )
    assert run_cli("load", str(wide), db=db).returncode == 0
    short = run_cli("report", "--kind", "PrivilegeEscalation", db=db).stdout.splitlines()[0]
    n = int(short.split(" actions: ", 1)[0].rsplit(" ", 1)[-1])
    assert f"; 5 of {n} shown, --full shows all" in short
    full = run_cli("report", "--kind", "PrivilegeEscalation", "--full", db=db).stdout.splitlines()[0]
    assert "shown" not in full and len(full.split(" actions: ", 1)[1].split("  ")[0].split(", ")) == n


# ---- the reading commands while the server holds the database ----

READING = (
    ("simulate", "--principal", arn("user", "alice", A), "--action", "s3:GetObject",
     "--resource", "arn:aws:s3:::b/k", "--context", "aws:SourceIp=203.0.113.7"),
    ("simulate", "--principal", arn("user", "dev", A), "--action", "iam:PutUserPolicy", "--json"),
    ("paths", "--from", arn("user", "dev", A), "--limit", "1"),
    ("report",),
    ("report", "--json", "--kind", "PrivilegeEscalation", "--exclude-action", "iam:CreateAccessKey"),
    ("graph", "--around", arn("user", "alice", A), "--format", "json"),
    ("graph", "--max-nodes", "3"),
    ("accounts", "--json"),
)  # fmt: skip


def test_reading_commands_ask_the_server_that_holds_the_database(tmp_path):
    db = tmp_path / "db"
    assert run_cli("load", str(_a(tmp_path)), str(_b(tmp_path)), db=db).returncode == 0
    alone = [run_cli(*args, db=db) for args in READING]
    for args, r in zip(READING, alone, strict=True):
        assert r.returncode in (0, 3), (args, r.stderr)
    port = free_port()
    proc = start_server({**os.environ, "GRAPHIAM_DB": str(db)}, port)
    try:
        lock = json.loads((tmp_path / "db.server.json").read_text())
        assert lock == {"pid": proc.pid, "url": f"http://127.0.0.1:{port}/graphql", "database": str(db)}
        for args, before in zip(READING, alone, strict=True):
            served = run_cli(*args, db=db)
            assert (served.returncode, served.stdout, served.stderr) == (
                before.returncode,
                before.stdout,
                before.stderr,
            ), args
        for args in (("load", str(_a(tmp_path))), ("remove-account", B)):
            refused = run_cli(*args, db=db)
            assert refused.returncode == 1
            (line,) = refused.stderr.strip().splitlines()
            assert f"(pid {proc.pid})" in line and f"http://127.0.0.1:{port}/graphql" in line, line
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not (tmp_path / "db.server.json").exists()


def test_a_server_that_does_not_answer_is_named_in_one_line(tmp_path):
    db = tmp_path / "db"
    assert run_cli("load", str(_a(tmp_path)), db=db).returncode == 0
    port = free_port()
    r = run_cli("accounts", "--url", f"http://127.0.0.1:{port}", db=db)
    assert r.returncode == 1
    (line,) = r.stderr.strip().splitlines()
    assert f"http://127.0.0.1:{port}/graphql" in line and "--url" in line, line


def test_a_stale_lock_file_is_ignored(tmp_path):
    db = tmp_path / "db"
    assert run_cli("load", str(_a(tmp_path)), db=db).returncode == 0
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (tmp_path / "db.server.json").write_text(
        json.dumps({"pid": int(gone.stdout), "url": "http://127.0.0.1:9/graphql", "database": str(db)})
    )
    r = run_cli("accounts", "--json", db=db)
    assert r.returncode == 0 and [a["account"] for a in json.loads(r.stdout)["accounts"]] == [A]
    assert run_cli("load", str(_a(tmp_path)), db=db).returncode == 0
