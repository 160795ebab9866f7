"""kuzu against LadybugDB on the same work in one run: load (all derived facts), simulate, whoCan, chains.

    .venv/bin/python benchmarks/bench_engines.py [--sizes 1000,10000] [--runs 3] [--sources 10]

For each size (principals: 60 % users, 40 % roles, policies 30 % of principals; benchmarks/generate_org.py,
seed 7, one account) and each engine, one child process (an engine per process: the two cannot share one)
loads the org with every derived fact (`load_files`: CAN_ASSUME, escalation, findings), then asks through the
GraphQL schema in process (the per-answer caches cleared before each question, the snapshot kept warm, as a
running server has it):
- simulate: 40 (principal, action, resource) questions, median per question;
- whoCan: 4 (action, resource) pairs, `--runs` each, median;
- assumptionChains at maxDepth 6 from `--sources` principals that have a CAN_ASSUME edge, median;
and reports the load's wall time and the process's peak RSS. Engines alternate within a size, so both see
the same machine. Prints a table with the ratio LadybugDB / kuzu (below 1: LadybugDB is faster or smaller).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SIMULATE = """query($p: String!, $a: String!, $r: String!) {
  simulate(principal: $p, action: $a, resource: $r) { decision } }"""
WHO_CAN = (
    """query($a: String!, $r: String!) { whoCan(action: $a, resource: $r) { principal { arn } decision } }"""
)
CHAINS = """query($f: String!) { assumptionChains(from: $f, maxDepth: 6) { length hops { from to } } }"""
ACTIONS = ("s3:GetObject", "ec2:RunInstances", "iam:PassRole", "sts:AssumeRole", "iam:CreateUser")


def child(engine: str, principals: int, runs: int, sources: int) -> dict[str, Any]:
    os.environ["GRAPHIAM_ENGINE"] = engine
    from generate_org import account_of, generate_org

    from graphiam.api.context import Context, Loaders, Services
    from graphiam.api.schema import build_schema
    from graphiam.changes.load import load_files
    from graphiam.graph.snapshot import snapshot_cache
    from graphiam.store import open_database

    users, roles = principals * 6 // 10, principals * 4 // 10
    with tempfile.TemporaryDirectory() as tmp:
        export = generate_org(users=users, roles=roles, policies=principals * 3 // 10, seed=7)[0]
        path = Path(tmp) / f"{account_of(export)}.json"
        path.write_text(json.dumps(export))
        db = open_database(Path(tmp) / "db")
        t = time.perf_counter()
        load_files(db, [path])
        load_s = time.perf_counter() - t
        services = Services(db=db, executor=ThreadPoolExecutor(2))
        # no API time limit: the engine's time is measured (at 10,000 under load a question passed the 10 s)
        schema = build_schema(time_limit=None)
        loop = asyncio.new_event_loop()

        def ask(query: str, **variables: str) -> float:
            services.caches.pop("who_can", None)
            services.caches.pop("effective", None)
            ctx = Context(services=services, loaders=Loaders(services))
            t = time.perf_counter()
            r = loop.run_until_complete(schema.execute(query, variable_values=variables, context_value=ctx))
            if r.errors:
                raise SystemExit(f"{engine}: GraphQL error: {r.errors[0]}")
            return (time.perf_counter() - t) * 1000

        snap = snapshot_cache(services.caches).get(db)  # warm, as a running server has it
        rng = random.Random(7)
        arns = sorted(snap.principals)
        role_arns = [a for a in arns if ":role/" in a]
        questions = [(rng.choice(arns), rng.choice(ACTIONS), rng.choice(role_arns)) for _ in range(40)]
        sim = [ask(SIMULATE, p=p, a=a, r=r) for p, a, r in questions]
        pairs = [
            ("s3:GetObject", "*"),
            ("iam:PassRole", role_arns[len(role_arns) // 2]),
            ("iam:CreateUser", "*"),
        ]
        pairs.append(("sts:AssumeRole", role_arns[7]))
        who = [ask(WHO_CAN, a=a, r=r) for _ in range(runs) for a, r in pairs]
        found = db.execute("MATCH (a:User)-[:CAN_ASSUME]->() RETURN DISTINCT a.arn AS a")
        starts = sorted(r["a"] for r in found)
        chosen = rng.sample(starts, k=min(sources, len(starts)))
        chains = [ask(CHAINS, f=s) for s in chosen]
        loop.close()
        services.executor.shutdown()
        db.close()
    return {
        "load_s": load_s,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "simulate_ms": statistics.median(sim),
        "whocan_ms": statistics.median(who),
        "chains_ms": statistics.median(chains) if chains else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000", help="principals per org, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sources", type=int, default=10)
    ap.add_argument("--child", nargs=2, metavar=("ENGINE", "PRINCIPALS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.runs, args.sources)))
        return
    rows = [("load with every derived fact, s", "load_s"), ("peak RSS, MiB", "peak_mib")]
    rows += [("simulate, median ms", "simulate_ms"), ("whoCan, median ms", "whocan_ms")]
    rows += [("assumptionChains depth 6, median ms", "chains_ms")]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start")
    for size in (int(s) for s in args.sizes.split(",")):
        got = {}
        for engine in ("kuzu", "ladybug"):
            cmd = [sys.executable, __file__, "--child", engine, str(size)]
            cmd += ["--runs", str(args.runs), "--sources", str(args.sources)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"{engine} at {size}: {out.stderr.strip()[-500:]}")
            got[engine] = json.loads(out.stdout.strip().splitlines()[-1])
            # each engine's figures as soon as they are in (a 10,000 load takes tens of minutes under load)
            print(f"{engine} at {size:,}: {json.dumps(got[engine])}", file=sys.stderr, flush=True)
        print(f"\n{size:,} principals (load average {os.getloadavg()[0]:.1f} after it)")
        print(f"{'':<36} {'kuzu 0.11.3':>12} {'LadybugDB 0.22':>15} {'ratio':>6}")
        for label, key in rows:
            k, lb = got["kuzu"][key], got["ladybug"][key]
            print(f"{label:<36} {k:>12.1f} {lb:>15.1f} {lb / k:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
