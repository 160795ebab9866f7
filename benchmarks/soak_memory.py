"""The server's memory as every kind of query runs once, on a generated org: RSS over time.

    .venv/bin/python benchmarks/soak_memory.py [--users 2000 --roles 1000 --policies 3000] [--rounds 2]
        [--root PATH ...] [--db PATH]

The org (benchmarks/generate_org.py, seed 7) is loaded once; for each `--root` (a graphiam checkout, default
this one: pass the main checkout first for a before/after) `graphiam serve` is started on it and each query
kind below is sent once per round, in order. After each one the server's RSS (VmRSS) is printed with its
change and the query's time; a thread samples RSS every 0.1 s for the peak. The budget is 1 GB at 10,000
principals after every kind has run once (issue 13).

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_flood import Server, revision, rss_mb  # noqa: E402


def kinds(user: str, role: str, admin: str) -> list[tuple[str, str]]:
    """(name, query) for every query kind, over the given principals."""
    return [
        ("users page", "{ users(first: 100) { totalCount nodes { arn groups { arn } } } }"),
        ("roles page + isAdmin", "{ roles(first: 100) { nodes { arn isAdmin } } }"),
        ("policies page", "{ policies(first: 100) { totalCount nodes { arn } } }"),
        (
            "simulate",
            f'{{ simulate(principal: "{user}", action: "s3:GetObject", resource: "*") {{ decision }} }}',
        ),
        ("whoCan", '{ whoCan(action: "s3:GetObject", resource: "arn:aws:s3:::soak/x") { principalArn } }'),
        (
            "whoCan viaChains",
            '{ whoCan(action: "iam:PassRole", resource: "*", viaChains: true, maxDepth: 10) '
            "{ principalArn } }",
        ),
        ("whoCanSummary", '{ whoCanSummary(action: "ec2:RunInstances", resource: "*") { total } }'),
        ("effectivePermissions", f'{{ effectivePermissions(principal: "{user}") {{ actionCount }} }}'),
        (
            "effectivePermissions (admin)",
            f'{{ effectivePermissions(principal: "{admin}") {{ actionCount }} }}',
        ),
        ("escalationPaths", f'{{ escalationPaths(from: "{user}") {{ steps {{ technique }} }} }}'),
        ("escalationPathsTo", f'{{ escalationPathsTo(to: "{admin}") {{ steps {{ technique }} }} }}'),
        ("escalationSummary", "{ escalationSummary { arn shortestPathLength } }"),
        (
            "policyFindings",
            "{ policyFindings(first: 100) { totalCount policiesAnalysed edges { node { policyArn "
            "findings { category actions } } } } }",
        ),
        ("graph", "{ graph { nodes { id } edges { from to } truncated } }"),
        ("assumptionChains", f'{{ assumptionChains(from: "{user}", maxDepth: 5) {{ hops {{ to }} }} }}'),
        ("assumableRoles", f'{{ assumableRoles(from: "{user}") {{ arn depth }} }}'),
        ("assumableBy", f'{{ role(arn: "{role}") {{ assumableBy {{ id }} }} }}'),
        ("externalAccess", "{ externalAccess { role principal } }"),
    ]


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return
            time.sleep(0.1)


def ask(http: httpx.Client, url: str, query: str) -> tuple[float, str]:
    start = time.perf_counter()
    r = http.post(url, json={"query": query})
    seconds = time.perf_counter() - start
    body: dict[str, Any] = r.json()
    errors = body.get("errors") or []
    return seconds, (errors[0].get("extensions", {}).get("code", "ERROR") if errors else "ok")


def soak(server: Server, rounds: int) -> tuple[float, float]:
    pid = server.proc.pid
    sampler = Sampler(pid)
    sampler.start()
    with httpx.Client(timeout=600) as http:
        first = http.post(
            server.url,
            json={"query": "{ users(first: 1) { nodes { arn } } roles(first: 1) { nodes { arn } } }"},
        ).json()["data"]
        user = first["users"]["nodes"][0]["arn"]
        role = first["roles"]["nodes"][0]["arn"]
        broad = http.post(  # a principal with broad rights, for the large effective-permissions answer
            server.url,
            json={
                "query": '{ whoCan(action: "iam:PutRolePolicy", resource: "*", first: 1) { principalArn } }'
            },
        ).json()["data"]
        admin = broad["whoCan"][0]["principalArn"] if broad and broad["whoCan"] else user
        print(f"{'start (after a first page)':32s} {'':>9s} RSS {rss_mb(pid):7.0f} MB")
        for n in range(rounds):
            for name, query in kinds(user, role, admin):
                before = rss_mb(pid)
                seconds, outcome = ask(http, server.url, query)
                after = rss_mb(pid)
                note = "" if outcome == "ok" else f"  [{outcome}]"
                print(
                    f"{name:32s} {seconds:7.2f} s RSS {after:7.0f} MB ({after - before:+6.0f}){note}"
                    + (f"  round {n + 1}" if name == "users page" else "")
                )
    sampler.stop.set()
    sampler.join()
    return sampler.peak, rss_mb(pid)


def load(args: argparse.Namespace, root: Path, db: Path, work: Path) -> None:
    from generate_org import account_of, generate_org

    files = []
    for export in generate_org(
        users=args.users, roles=args.roles, policies=args.policies, accounts=1, seed=args.seed
    ):
        path = work / f"{account_of(export)}.json"
        path.write_text(json.dumps(export))
        files.append(str(path))
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "graphiam.cli", "load", "--db", str(db), *files],
        env={**os.environ, "PYTHONPATH": str(root)},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(
        f"loaded {args.users} users, {args.roles} roles, {args.policies} policies "
        f"in {time.perf_counter() - start:.0f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--roles", type=int, default=1000)
    ap.add_argument("--policies", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--root", action="append", type=Path, help="graphiam checkout to serve from (repeatable)")
    ap.add_argument("--db", type=Path, help="a database to reuse (loaded when it does not exist)")
    ap.add_argument("--port", type=int, default=18751)
    args = ap.parse_args()
    roots = [r.resolve() for r in args.root or [ROOT]]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = args.db or work / "db"
        if not db.exists():
            load(args, roots[0], db, work)
        for n, root in enumerate(roots):
            print(f"\n== {revision(root)}")
            server = Server(root, db, args.port + n)
            try:
                peak, end = soak(server, args.rounds)
                print(f"peak RSS {peak:.0f} MB, at the end {end:.0f} MB")
            finally:
                server.stop()


if __name__ == "__main__":
    main()
