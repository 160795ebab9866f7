"""whoCan and effectivePermissions latency on a generated organisation of 10,000 principals.

    .venv/bin/python benchmarks/bench_access.py [--users 6000 --roles 4000 --policies 3000] [--runs 7]
The org (benchmarks/generate_org.py, seed 7, one account) is loaded into an on-disk database in a temporary
directory; derived edges (CAN_ASSUME, escalation) only with `--derive` (their derivation is measured by their
own benchmarks), which also times whoCan viaChains. Then, in process:
- whoCan for several action/resource pairs, through the query function and through the GraphQL schema
  (`schema.execute`, the per-request result cache cleared before every run so each run computes);
- baseline measured in the same run, interleaved with whoCan: brute force, `simulate` on every principal (what
  whoCan would cost without the database prefilter); the ratio is printed, and the prefilter query alone
  (cypher);
- effectivePermissions for an AdministratorAccess principal and for typical principals, function and GraphQL;
- peak RSS of the process (ru_maxrss).
Prints medians. Targets (issue 4): whoCan < 300 ms; effectivePermissions of an administrator < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate_org import account_of, generate_org  # noqa: E402

from graphiam.api.context import Context, Loaders, Services  # noqa: E402
from graphiam.api.schema import build_schema  # noqa: E402
from graphiam.changes.load import load_files, read_files  # noqa: E402
from graphiam.graph.snapshot import Snapshot, build_snapshot, snapshot_cache  # noqa: E402
from graphiam.policy import Decision  # noqa: E402
from graphiam.queries.effective import effective_permissions  # noqa: E402
from graphiam.queries.simulate import simulate  # noqa: E402
from graphiam.queries.who_can import who_can  # noqa: E402
from graphiam.store import open_database  # noqa: E402
from graphiam.store.access_store import principals_for_service  # noqa: E402
from graphiam.store.writer import load_exports  # noqa: E402

WHO_CAN = """query($a: String!, $r: String!) { whoCan(action: $a, resource: $r) {
  principal { arn } decision matchedStatements { policyArn statementIndex } missingContextKeys } }"""
EFFECTIVE = """query($p: String!) { effectivePermissions(principal: $p) {
  isAdmin actionCount summary { service accessLevel count } unknownActions { action } } }"""


def median_ms(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


def brute_force(snap: Snapshot, action: str, resource: str) -> set[str]:
    """The principals `simulate` allows, or allows if the request carries more keys (`conditional`), one by
    one: what whoCan would cost without the database prefilter."""
    allowed = set()
    for a in snap.principals:
        sim = simulate(snap, principal=a, action=action, resource=resource)
        if sim.evaluation.decision is Decision.ALLOWED or sim.conditional:
            allowed.add(a)
    return allowed


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--engine", choices=("kuzu", "ladybug"), help="graph engine (default: $GRAPHIAM_ENGINE, else kuzu)"
    )
    ap.add_argument("--users", type=int, default=6000)
    ap.add_argument("--roles", type=int, default=4000)
    ap.add_argument("--policies", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--derive", action="store_true", help="derive CAN_ASSUME/escalation edges while loading")
    args = ap.parse_args()
    if args.engine:  # the store reads it when it opens a database, here and in the processes started below
        os.environ["GRAPHIAM_ENGINE"] = args.engine
    with tempfile.TemporaryDirectory() as tmp:
        export = generate_org(users=args.users, roles=args.roles, policies=args.policies, seed=7)[0]
        acct = account_of(export)
        path = Path(tmp) / f"{acct}.json"
        path.write_text(json.dumps(export))
        db = open_database(Path(tmp) / "db")
        t = time.perf_counter()
        if args.derive:
            load_files(db, [path])
        else:
            load_exports(db, read_files([path]).exports)
        print(
            f"org: {args.users} users + {args.roles} roles, {args.policies} policies; load "
            f"({'with' if args.derive else 'without'} derived edges) {time.perf_counter() - t:.1f} s",
            flush=True,
        )
        t = time.perf_counter()
        snap = build_snapshot(db)
        print(
            f"snapshot build (once per database generation) {time.perf_counter() - t:.2f} s; "
            f"{len(snap.principals)} principals; RSS so far {rss_mib():.0f} MiB"
        )
        roles = sorted(a for a, p in snap.principals.items() if p.kind == "role")
        pairs = [
            ("s3:GetObject", "arn:aws:s3:::payments-bucket/report.csv"),
            ("ec2:RunInstances", "*"),
            ("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:{acct}:table/payments"),
            ("iam:PassRole", roles[len(roles) // 2]),
            ("sts:AssumeRole", roles[7]),
            ("iam:CreateUser", "*"),
        ]

        services = Services(db=db, executor=ThreadPoolExecutor(4))
        schema = build_schema()
        loop = asyncio.new_event_loop()

        def gql(query: str, variables: dict[str, Any]) -> Any:
            services.caches.pop("who_can", None)
            services.caches.pop("effective", None)
            ctx = Context(services=services, loaders=Loaders(services))
            r = loop.run_until_complete(schema.execute(query, variable_values=variables, context_value=ctx))
            if r.errors:
                raise SystemExit(f"GraphQL error: {r.errors}")
            return r.data

        snapshot_cache(services.caches).get(
            db
        )  # the API's snapshot, built outside the per-operation time limit
        gql(WHO_CAN, {"a": "s3:GetObject", "r": "*"})
        print(
            f"\n{'whoCan action / resource':<52} {'allowed':>7} {'(if)':>5} {'cand.':>6} {'cypher':>7} "
            f"{'fn ms':>7} {'gql ms':>7} {'brute ms':>9} {'speed-up':>8}"
        )
        fn_all, gql_all = [], []
        for action, res in pairs:
            # interleaved runs, so that load from other processes hits the three variants alike
            fn_t, gql_t, brute_t, cy_t = [], [], [], []
            for _ in range(args.runs):
                cy_t.append(median_ms(partial(principals_for_service, db, action.split(":")[0]), 1)[0])
                ms, w = median_ms(partial(who_can, db, snap, action=action, resource=res), 1)
                fn_t.append(ms)
                gql_t.append(median_ms(partial(gql, WHO_CAN, {"a": action, "r": res}), 1)[0])
                ms, brute = median_ms(partial(brute_force, snap, action, res), 1)
                brute_t.append(ms)
            fn_ms, gql_ms, brute_ms, cy_ms = (statistics.median(x) for x in (fn_t, gql_t, brute_t, cy_t))
            assert brute == {a.principal_arn for a in w.allowed}, (action, res)
            fn_all.append(fn_ms)
            gql_all.append(gql_ms)
            label = f"{action} {res}"[:52]
            print(
                f"{label:<52} {len(w.allowed):>7} {sum(a.conditional for a in w.allowed):>5} "
                f"{w.candidates:>6} {cy_ms:>7.1f} {fn_ms:>7.1f} "
                f"{gql_ms:>7.1f} {brute_ms:>9.1f} {brute_ms / fn_ms:>7.1f}x",
                flush=True,
            )
        print(
            f"whoCan median over pairs: function {statistics.median(fn_all):.1f} ms, GraphQL "
            f"{statistics.median(gql_all):.1f} ms (target < 300 ms); max GraphQL {max(gql_all):.1f} ms",
            flush=True,
        )
        if args.derive:
            for action, res in pairs[:3]:
                ms, w = median_ms(
                    partial(who_can, db, snap, action=action, resource=res, via_chains=True), args.runs
                )
                chained = sum(1 for a in w.allowed if a.chain)
                print(
                    f"whoCan viaChains {action} {res[:40]}: {len(w.allowed)} allowed ({chained} via chains) "
                    f"{ms:.1f} ms",
                    flush=True,
                )

        admins = [
            a
            for a, p in snap.principals.items()
            if any(s.name == "AdministratorAccess" for s in p.identity) and p.boundary is None
        ]
        typical = [a for a, p in snap.principals.items() if a not in admins and len(p.identity) >= 2][:3]
        print(f"\n{'effectivePermissions principal':<70} {'actions':>7} {'fn ms':>7} {'gql ms':>7}")
        for who in admins[:2] + typical:
            fn_ms, e = median_ms(partial(effective_permissions, snap, principal=who), args.runs)
            gql_ms, _ = median_ms(partial(gql, EFFECTIVE, {"p": who}), args.runs)
            tag = " (admin)" if e.is_admin else ""
            print(f"{(who + tag)[-70:]:<70} {len(e.entries):>7} {fn_ms:>7.1f} {gql_ms:>7.1f}", flush=True)
        print(f"\npeak RSS {rss_mib():.0f} MiB")
        loop.close()
        services.executor.shutdown()
        db.close()


if __name__ == "__main__":
    main()
