"""Escalation-edge derivation time on generated organisations, plus path search and the summary.

    .venv/bin/python benchmarks/bench_escalation.py [--runs 3] [--sizes 1000,10000]

A size N is N principals: 2/3 users, 1/3 roles, N policies (benchmarks/generate_org.py, seed 7). The export
is loaded once (edges derived inside the load); then, per run, on the same snapshot: the baseline (the
admin probe of every principal, `direct_admins`: one engine pass over everyone) and the full derivation
(`derive_edges`). Prints medians, the ratio to the baseline, the slowest techniques, the edge count, and
`escalationSummary` / one `escalationPaths` on the built index.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))


def main() -> None:
    from generate_org import generate_org

    from graphiam.escalation.decide import Decider
    from graphiam.escalation.edges import derive_edges
    from graphiam.loading import load_files
    from graphiam.queries.escalation import build_index, direct_admins, escalation_paths, escalation_summary, graph_facts
    from graphiam.queries.snapshot import build_snapshot
    from graphiam.store import open_database

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="1000,10000")
    args = ap.parse_args()
    for n in (int(s) for s in args.sizes.split(",")):
        users, roles = n * 2 // 3, n - n * 2 // 3
        [export] = generate_org(users=users, roles=roles, policies=n, accounts=1, seed=7)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "org.json"
            path.write_text(json.dumps(export))
            db = open_database(None, buffer_pool_mb=1024)
            start = time.perf_counter()
            load_files(db, [path])
            load = time.perf_counter() - start
        snap = build_snapshot(db)
        facts = graph_facts(db, snap)
        base, full, timings, edges = [], [], {}, []
        for _ in range(args.runs):
            t = time.perf_counter()
            direct_admins(snap, Decider(snap))
            base.append(time.perf_counter() - t)
            t = time.perf_counter()
            edges, timings = derive_edges(snap, facts)
            full.append(time.perf_counter() - t)
        b, f = statistics.median(base), statistics.median(full)
        print(f"{n} principals ({users} users, {roles} roles): load incl. derivation {load:.2f}s; "
              f"admin probe of everyone {b:.2f}s; derive_edges {f:.2f}s ({f / b:.1f}x the probe); "
              f"{len(edges)} edges")
        slow = sorted(timings.items(), key=lambda kv: -kv[1])[:5]
        print("  slowest techniques: " + ", ".join(f"{k} {v:.2f}s" for k, v in slow))
        t = time.perf_counter()
        index = build_index(db, snap)
        built = time.perf_counter() - t
        t = time.perf_counter()
        summary = escalation_summary(db, snap, index)
        summed = time.perf_counter() - t
        src = summary[-1].principal if summary else next(iter(snap.principals))
        t = time.perf_counter()
        paths = escalation_paths(db, snap, index, src)
        one = time.perf_counter() - t
        print(f"  index {built:.2f}s; summary {summed:.2f}s ({len(summary)} principals can escalate); "
              f"escalationPaths from one {one * 1000:.1f} ms ({len(paths)} paths)")
        db.close()


if __name__ == "__main__":
    main()
