"""The first query of each kind after a server starts on a loaded database: findings report, escalationPaths
from a principal, whoCan.

    .venv/bin/python benchmarks/bench_first_query.py --db PATH [--runs 3] [--kinds findings,paths,whocan]
    .venv/bin/python benchmarks/bench_first_query.py --users 600 --roles 400 --policies 300 [--seed 7]

`--db`: a database a load filled (`graphiam load --db PATH org/*.json`); without it, an org of the given
size (benchmarks/generate_org.py) is generated and loaded into a temporary database first (the load is not
timed). Each measurement runs in a child process of its own, as a restarted server: the app is created on
the database (`create_app`, which opens it and starts analysing ahead as `graphiam serve` does), and one
GraphQL request is sent through the ASGI app. Printed per kind: the seconds from creating the app to the
open database (`open`), from there to the answer (`answer`), and both (`total`; `cpu`: the process's CPU
time over it, less sensitive to a busy machine than the clock), medians of `--runs` children, with the
status of each answer (`ok`, or the error code, e.g. TIMEOUT past the API's time limit).
The principal escalationPaths starts from is the first (by ARN) the stored import summary says can become
administrator (or `--from`). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

KINDS = ("findings", "paths", "whocan")
QUERIES = {
    "findings": (
        "query { policyFindings(first: 20) { totalCount policiesAnalysed "
        "edges { node { policyArn reachesAdmin } } } }",
        lambda d: d["policyFindings"]["totalCount"],
    ),
    "paths": (
        "query($from: String!) { escalationPaths(from: $from) { length reachesAdmin "
        "steps { from to technique statements } } }",
        lambda d: len(d["escalationPaths"]),
    ),
    "whocan": (
        'query { whoCan(action: "s3:GetObject", resource: "arn:aws:s3:::bench-bucket/key") '
        "{ principalArn } }",
        lambda d: len(d["whoCan"]),
    ),
}


def child(kind: str, db: str, source: str) -> dict[str, Any]:
    """One restarted server's first query of `kind` (in this process)."""
    import httpx

    from graphiam.app import create_app

    query, size = QUERIES[kind]
    start, cpu = time.perf_counter(), time.process_time()
    app = create_app(db, auth=None, allowed_hosts=None, audit=None, dashboard=False, ide=False)

    async def run() -> dict[str, Any]:
        async with app.router.lifespan_context(app):
            opened = time.perf_counter()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://graphiam.test", timeout=600
            ) as c:
                r = await c.post("/graphql", json={"query": query, "variables": {"from": source}})
            answered = time.perf_counter()
        body = r.json()
        errors = body.get("errors") or []
        status = (errors[0].get("extensions") or {}).get("code", "ERROR") if errors else "ok"
        return {
            "open": opened - start,
            "answer": answered - opened,
            "total": answered - start,
            "cpu": time.process_time() - cpu,
            "status": status,
            "size": size(body["data"]) if not errors and body.get("data") else None,
        }

    return asyncio.run(run())


def first_escalating(db: str) -> str:
    """The first principal (by ARN) the stored import summary says can become administrator."""
    from graphiam.queries.history import latest
    from graphiam.store import open_database

    d = open_database(db, read_only=True)
    try:
        newest = latest(d)
    finally:
        d.close()
    if newest is None or not newest[1]["escalations"]:
        raise SystemExit(f"{db}: no stored import summary names a principal that can become administrator")
    return str(min(newest[1]["escalations"]))


def load_generated(args: argparse.Namespace, tmp: str) -> str:
    import generate_org

    out = Path(tmp) / "org"
    for gaad in generate_org.generate_org(
        users=args.users, roles=args.roles, policies=args.policies, accounts=1, seed=args.seed
    ):
        out.mkdir(exist_ok=True)
        (out / f"{generate_org.account_of(gaad)}.json").write_text(json.dumps(gaad))
    db = str(Path(tmp) / "db")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    files = sorted(str(p) for p in out.glob("*.json"))
    subprocess.run(
        [sys.executable, "-m", "graphiam.cli", "load", "--db", db, *files],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return db


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db")
    ap.add_argument("--users", type=int, default=600)
    ap.add_argument("--roles", type=int, default=400)
    ap.add_argument("--policies", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--from", dest="source")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.db, args.source or "")))
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or load_generated(args, tmp)
        source = args.source or first_escalating(db)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        print(f"database {db}; escalationPaths from {source}; {args.runs} run(s) per kind")
        for kind in args.kinds.split(","):
            runs = []
            for _ in range(args.runs):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", kind, "--db", db, "--from", source],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            med = {k: statistics.median(r[k] for r in runs) for k in ("open", "answer", "total", "cpu")}
            statuses = ",".join(sorted({r["status"] for r in runs}))
            totals = ", ".join(f"{r['total']:.2f}" for r in runs)
            print(
                f"{kind:9s} open {med['open']:6.2f} s  answer {med['answer']:6.2f} s  "
                f"total {med['total']:6.2f} s  (cpu {med['cpu']:6.2f} s)  status {statuses}  "
                f"size {runs[0]['size']}  (totals {totals})"
            )
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
