"""Crash and concurrency safety, against real processes: a `graphiam load` killed with SIGKILL mid-write,
and the real server under 8 concurrent clients with writes interleaved (kuzu: one writer, many readers)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

from graphiam.store import open_database
from graphiam.store import reader as R
from tests.helpers import ROOT, free_port, start_server

GENERATOR = ROOT / "benchmarks" / "generate_org.py"
CLI = [sys.executable, "-m", "graphiam.cli"]


def _generate(out: Path, users: int, roles: int, policies: int) -> Path:
    subprocess.run(
        [
            sys.executable,
            str(GENERATOR),
            "--users",
            str(users),
            "--roles",
            str(roles),
            "--policies",
            str(policies),
            "--accounts",
            "1",
            "--seed",
            "7",
            "-o",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("*.json")
    return path


def _content(db_path: Path) -> dict[str, list[str]]:
    db = open_database(db_path, buffer_pool_mb=128)
    try:
        return {
            "accounts": [a.id for a in R.accounts(db)],
            **{
                t: sorted(r["arn"] for r in db.execute(f"MATCH (n:{t}) RETURN n.arn AS arn"))
                for t in ("User", "Role", "IAMGroup", "Policy")
            },
        }
    finally:
        db.close()


def test_a_load_killed_midway_leaves_the_previous_content(tmp_path):
    # the same seed gives the same account id: the big load REPLACES the small one's rows (deletes first)
    small = _generate(tmp_path / "small", users=40, roles=20, policies=30)
    big = _generate(tmp_path / "big", users=3000, roles=1500, policies=3000)
    assert small.name == big.name
    db = tmp_path / "db"
    subprocess.run([*CLI, "load", str(small), "--db", str(db)], check=True, capture_output=True, timeout=120)
    before = _content(db)
    assert len(before["User"]) == 40

    proc = subprocess.Popen([*CLI, "load", str(big), "--db", str(db), "--progress"], stderr=subprocess.PIPE)
    seen = bytearray()
    writing = threading.Event()

    assert proc.stderr is not None

    def watch() -> None:  # the progress bar: stage names on stderr, `\r`-separated
        assert proc.stderr is not None
        while chunk := os.read(proc.stderr.fileno(), 4096):
            seen.extend(chunk)
            if b"loading entities" in seen:  # the old rows are deleted, the COPYs start: mid-transaction
                writing.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        assert writing.wait(timeout=180), f"the load did not reach its write phase: {bytes(seen)[-500:]!r}"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL, "the load finished before it could be killed"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert b" done " not in seen

    assert _content(db) == before  # reopens (WAL recovery) with exactly the previous content
    # and the database is usable: a new load over it succeeds
    subprocess.run([*CLI, "load", str(small), "--db", str(db)], check=True, capture_output=True, timeout=120)
    assert _content(db) == before


CLIENTS = 8
PER_CLIENT = 500
WRITE_EVERY = 50  # 10 writes per client, 80 in all, interleaved with 3,920 reads


def _serve(db: Path, port: int, command: list[str] | None = None) -> subprocess.Popen[bytes]:
    return start_server({**os.environ, "GRAPHIAM_DB": str(db)}, port, command=command, timeout=90)


def _stop(proc: subprocess.Popen[bytes]) -> str:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    assert isinstance(err, bytes)
    return err.decode(errors="replace")


CREATE = """mutation($name: String!, $boundary: String!) {
  createUser(input: {account: "111111111111", name: $name, tags: [{key: "batch", value: $name}],
                     permissionsBoundary: $boundary}) { ok errors { message } user { arn } } }"""
READ_USER = """query($name: String!) { user(name: $name, account: "111111111111") {
  arn tags { key value } permissionsBoundary { arn } } }"""
COUNT = "{ users { totalCount } }"
PAGE = "{ roles(first: 20) { totalCount edges { node { arn trustPolicy } } } }"


async def _workload(base: str, token: str, problems: list[str]) -> int:
    """8 clients x 500 operations; returns how many users were added. Stops at the first problem."""
    # idle connections are dropped before uvicorn's 5 s keep-alive ends, so no request races a server close
    limits = httpx.Limits(keepalive_expiry=2)
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=60, limits=limits
    ) as c:

        async def gql(query: str, **variables: str) -> dict[str, Any]:
            r = await c.post(base, json={"query": query, "variables": variables})
            body: dict[str, Any] = (
                r.json() if r.status_code == 200 else {"errors": [f"HTTP {r.status_code}: {r.text[:200]}"]}
            )
            if "errors" in body:
                problems.append(f"{query.split('(')[0][:30]!r}: {body['errors']}")
                return {}
            data: dict[str, Any] = body["data"]
            return data

        initial = (await gql(COUNT))["users"]["totalCount"]
        boundary = (await gql("{ policies(first: 1) { edges { node { arn } } } }"))["policies"]["edges"][0][
            "node"
        ]["arn"]

        async def client(i: int) -> None:
            mine: list[str] = []
            last = initial
            for j in range(PER_CLIENT):
                if problems:
                    return
                if j % WRITE_EVERY == 0:
                    name = f"c{i}-{j}"
                    d = await gql(CREATE, name=name, boundary=boundary)
                    if d and d["createUser"]["ok"]:
                        mine.append(name)
                    elif d:
                        problems.append(f"{name}: {d['createUser']['errors']}")
                elif j % 3 == 0 and mine:
                    name = mine[(j // 3) % len(mine)]
                    u = (await gql(READ_USER, name=name)).get("user")
                    # a whole change or none: the user, its tag and its boundary arrive together
                    if (
                        u is None
                        or u["tags"] != [{"key": "batch", "value": name}]
                        or u["permissionsBoundary"] != {"arn": boundary}
                    ):
                        problems.append(f"{name}: read {u}")
                elif j % 3 == 1:
                    n = (await gql(COUNT)).get("users", {}).get("totalCount", -1)
                    if n < last or n < initial + len(mine):  # never backwards; own writes visible
                        problems.append(f"client {i}: count {n} after {last} with {len(mine)} own writes")
                    last = max(last, n)
                else:
                    await gql(PAGE)

        await asyncio.gather(*(client(i) for i in range(CLIENTS)))
        added: int = (await gql(COUNT)).get("users", {}).get("totalCount", -1) - initial
        return added


def run_concurrency(tmp_path: Path, command: list[str] | None = None) -> tuple[list[str], int, str]:
    db = tmp_path / "db"
    made = subprocess.run(
        [*CLI, "token", "create", "--role", "admin", "--name", "writer", "--db", str(db)],
        check=True,
        capture_output=True,
        text=True,
    )
    port = free_port()
    proc = _serve(db, port, command)  # an empty database: the demo org is loaded
    problems: list[str] = []
    try:
        added = asyncio.run(_workload(f"http://127.0.0.1:{port}/graphql", made.stdout.strip(), problems))
    finally:
        log = _stop(proc)
    return problems, added, log


def test_eight_clients_with_interleaved_writes_see_no_errors_no_lost_writes_and_whole_changes(tmp_path):
    problems, added, log = run_concurrency(tmp_path)
    assert problems == [], (problems[:5], log[-3000:])
    assert added == CLIENTS * (PER_CLIENT // WRITE_EVERY)  # zero lost writes
