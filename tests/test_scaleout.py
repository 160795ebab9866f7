"""Read scale-out with real servers: `graphiam snapshot` (with and without a server), `serve --read-only`, and
`serve --workers 2` answering from one generation per request while mutations and a load run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import (
    copy_database,
    fingerprint_file,
    free_port,
    generator_module,
    start_server,
    write,
)

CLI = [sys.executable, "-m", "graphiam.cli"]
SEED = 16
ACCOUNT = generator_module().account_ids(2, SEED)[0]  # the generated org's first account
CREATE_USER = """mutation($name: String!, $account: String!) {
  createUser(input: {account: $account, name: $name}) { ok errors { message } } }"""
IMPORT = """mutation($doc: JSON!) { importExport(input: {document: $doc}) { ok errors { message } } }"""
READ = """{ users(first: 100) { totalCount nodes { arn } } accounts { id counts { users } } }"""


@dataclass(frozen=True)
class Org:
    base: Path  # a loaded database with an admin token in its token file
    token: str
    more: dict[str, Any]  # an export of another account, to load while servers run


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    tmp = tmp_path_factory.mktemp("scaleout")
    exports = generator_module().generate_org(users=40, roles=20, policies=40, accounts=2, seed=SEED)
    first = write(tmp, "account-0.json", exports[0])
    base = tmp / "base" / "db"
    subprocess.run([*CLI, "load", str(first), "--db", str(base)], check=True, capture_output=True)
    token = subprocess.run(
        [*CLI, "token", "create", "--role", "admin", "--name", "t", "--db", str(base)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Org(base, token, exports[1])


def cli(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("GRAPHIAM_TOKEN", None)
    if token is not None:
        env["GRAPHIAM_TOKEN"] = token
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=180)


def post(url: str, token: str, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    if query is CREATE_USER:
        variables = {"account": ACCOUNT, **(variables or {})}
    return httpx.post(
        url,
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=60)


def listing(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file in `directory`: (size, mtime in ns)."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


def test_a_snapshot_without_a_server_is_the_database(org: Org, tmp_path: Path) -> None:
    db = tmp_path / "src" / "db"
    copy_database(org.base, db)
    r = cli("snapshot", str(tmp_path / "snap"), "--db", str(db))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "snap").iterdir()) == [
        "db",
        "db.engine",
        "db.lock",
        "db.tokens.json",
    ]
    assert fingerprint_file(tmp_path / "snap" / "db") == fingerprint_file(db)
    # every command opens the directory as a database
    r = cli("accounts", "--db", str(tmp_path / "snap"))
    assert r.returncode == 0 and ACCOUNT in r.stdout, r.stderr
    # an existing directory is refused in one line
    r = cli("snapshot", str(tmp_path / "snap"), "--db", str(db))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "exists" in r.stderr


def test_a_snapshot_while_a_server_runs_is_the_served_graph(org: Org, tmp_path: Path) -> None:
    db = tmp_path / "served" / "db"
    copy_database(org.base, db)
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    proc = start_server({**os.environ, "GRAPHIAM_DB": str(db)}, port, timeout=90)
    try:
        r = post(url, org.token, CREATE_USER, {"name": "made-while-served"})
        assert r.json()["data"]["createUser"]["ok"], r.text
        served = post(url, org.token, READ).json()["data"]
        # without an admin token the server refuses, and nothing is left behind
        refused = cli("snapshot", str(tmp_path / "nope"), "--db", str(db))
        assert refused.returncode == 1 and "admin" in refused.stderr, refused.stderr
        assert not (tmp_path / "nope").exists()
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".nope")] == []
        made = cli("snapshot", str(tmp_path / "snap"), "--db", str(db), token=org.token)
        assert made.returncode == 0, made.stderr
        assert "copied by the server" in made.stderr
    finally:
        stop(proc)
    copy = fingerprint_file(tmp_path / "snap" / "db")
    assert "error" not in copy
    assert copy == fingerprint_file(db)  # the server wrote nothing after the copy
    port = free_port()
    proc = start_server({**os.environ}, port, "--read-only", "--db", str(tmp_path / "snap"), timeout=90)
    try:
        again = post(f"http://127.0.0.1:{port}/graphql", org.token, READ).json()["data"]
    finally:
        stop(proc)
    assert again == served
    assert f"arn:aws:iam::{ACCOUNT}:user/made-while-served" in {n["arn"] for n in again["users"]["nodes"]}


def test_read_only_serves_queries_refuses_mutations_and_writes_nothing(org: Org, tmp_path: Path) -> None:
    src = tmp_path / "src" / "db"
    copy_database(org.base, src)
    assert cli("snapshot", str(tmp_path / "snap"), "--db", str(src)).returncode == 0
    before = listing(tmp_path / "snap")
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    proc = start_server({**os.environ}, port, "--read-only", "--db", str(tmp_path / "snap"), timeout=90)
    try:
        read = post(url, org.token, READ).json()
        assert "errors" not in read and read["data"]["users"]["totalCount"] > 0, read
        refused = post(url, org.token, CREATE_USER, {"name": "nope"}).json()
        assert refused["data"] is None
        [error] = refused["errors"]
        assert error["extensions"]["code"] == "READ_ONLY" and "read-only" in error["message"]
        # a second server of the same copy runs beside it (read-only opens share the file)
        port2 = free_port()
        snap = str(tmp_path / "snap")
        second = start_server({**os.environ}, port2, "--read-only", "--db", snap, timeout=90)
        try:
            other = post(f"http://127.0.0.1:{port2}/graphql", org.token, READ).json()
        finally:
            stop(second)
        assert other == read
    finally:
        stop(proc)
    assert listing(tmp_path / "snap") == before


def _reader_processes(generations: Path) -> dict[int, set[str]]:
    """The processes with a published generation open, and which (the files under `generations` they hold)."""
    out: dict[int, set[str]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            targets = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
        except OSError:
            continue
        held = {Path(t).name for t in targets if t.startswith(f"{generations}/") and Path(t).name.isdigit()}
        if held:
            out[int(proc.name)] = held
    return out


def test_two_workers_answer_from_one_generation_while_mutations_and_a_load_run(
    org: Org, tmp_path: Path
) -> None:
    db = tmp_path / "served" / "db"
    copy_database(org.base, db)
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    proc = start_server({**os.environ}, port, "--workers", "2", "--db", str(db), timeout=120)
    answers: list[tuple[int, dict[str, Any]]] = []
    problems: list[str] = []
    done = threading.Event()

    def hammer() -> None:
        with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {org.token}"}) as client:
            while not done.is_set():
                r = client.post(url, json={"query": READ})
                body = r.json()
                if r.status_code != 200 or "errors" in body:
                    problems.append(r.text)
                    continue
                answers.append((int(r.headers["x-graphiam-generation"]), body["data"]))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for i in range(3):
            r = post(url, org.token, CREATE_USER, {"name": f"added-{i}"})
            assert r.json()["data"]["createUser"]["ok"], r.text
            time.sleep(0.3)
        r = post(url, org.token, IMPORT, {"doc": org.more})  # a load of a second account
        assert (r.json().get("data") or {}).get("importExport", {}).get("ok"), r.text
        r = post(url, org.token, CREATE_USER, {"name": "last"})
        assert r.json()["data"]["createUser"]["ok"], r.text
        time.sleep(0.5)
        done.set()
        for t in threads:
            t.join()
        # after the last write, every request answers from its generation (the writer published it before
        # it answered), and within a second every worker has switched to it without being asked
        latest = [post(url, org.token, READ) for _ in range(6)]
        newest = {int(r.headers["x-graphiam-generation"]) for r in latest}
        assert len(newest) == 1
        [final] = newest
        assert all(f"arn:aws:iam::{ACCOUNT}:user/last" in r.text for r in latest)
        # idle workers switch within a second; a saturated machine may take longer, so wait up to 30 s
        deadline = time.monotonic() + 30
        while True:
            time.sleep(0.5)
            readers = _reader_processes(Path(f"{db}.generations"))
            on_final = [held for held in readers.values() if str(final) in held]
            if len(on_final) == 2 or time.monotonic() > deadline:
                break
        assert len(readers) == 2, readers  # two reader processes, each on the final generation
        assert all(str(final) in held for held in readers.values()), (final, readers)
    finally:
        done.set()
        stop(proc)
    assert problems == []
    assert not Path(f"{db}.generations").exists()  # removed when the servers stop
    assert not Path(f"{db}.server.json").exists()
    by_generation: dict[int, str] = {}
    for generation, data in answers:
        # one generation per answer: its two questions agree with each other ...
        assert data["users"]["totalCount"] == sum(a["counts"]["users"] for a in data["accounts"])
        # ... and every answer of a generation is the same answer
        text = json.dumps(data, sort_keys=True)
        assert by_generation.setdefault(generation, text) == text, generation
    seen = sorted(by_generation)
    assert len(seen) >= 3, seen  # reads ran while the writes published new generations
    totals = [json.loads(by_generation[g])["users"]["totalCount"] for g in seen]
    assert totals == sorted(totals) and totals[0] < totals[-1]
    assert final >= seen[-1]
