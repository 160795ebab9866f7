"""Escalation derivation on generated organisations: time, edges, fans, path and summary latency, peak RSS.

    .venv/bin/python benchmarks/bench_escalation.py [--sizes 1000,3000,10000] [--runs 3] [--reference 1000]

A size N is N principals in one account: 60% users, 40% roles, 0.3·N policies, seed 5
(benchmarks/generate_org.py; 10,000 is `generate_org(users=6000, roles=4000, policies=3000, seed=5)`). Each
size runs in its own process (peak RSS is per size). The export is loaded once with the real loader (the
`escalation` deriver runs inside the load), then the deriver runs once more on the loaded database, in a write
transaction (`run.derive_with`: graph facts, derivation and write; its time and counts are reported); then,
per run, on the same snapshot:
the baseline (the admin probe of every principal, `direct_admins`) and the derivation (`derive.derive`, fans
as stored). Prints medians, the ratio to the baseline, the slowest techniques, explicit edges, fans, target
sets and the edges the fans stand for, the path index build, `escalationSummary`, `escalationPaths` from 20
principals that can escalate (median, max) and `escalationPathsTo` into 20 principals. `--reference N` also
times the per-target derivation (`fan_out=False`, what graphiam did before fans) for sizes up to N.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))


def one(n: int, runs: int, reference: bool) -> dict[str, object]:
    from generate_org import generate_org

    from graphiam.changes.load import load_files
    from graphiam.derive.escalation import run as R
    from graphiam.derive.escalation.decide import Decider
    from graphiam.derive.escalation.derive import derive
    from graphiam.derive.escalation.edges import DeriveOptions
    from graphiam.graph.snapshot import build_snapshot
    from graphiam.queries import escalation_paths as Q
    from graphiam.store.db import Database
    from graphiam.store.schema import ensure_schema

    users, roles = n * 6 // 10, n - n * 6 // 10
    [export] = generate_org(users=users, roles=roles, policies=max(1, n * 3 // 10), accounts=1, seed=5)
    out: dict[str, object] = {"n": n, "users": users, "roles": roles}
    tmp = tempfile.TemporaryDirectory()
    path = Path(tmp.name) / "org.json"
    path.write_text(json.dumps(export))
    del export
    # an on-disk database with the CLI's buffer pool; no per-query time limit (COPY of a large load exceeds
    # the API's 3 s)
    db = Database(Path(tmp.name) / "db", buffer_pool_mb=512, query_timeout_ms=3_600_000)
    ensure_schema(db)
    start = time.perf_counter()
    load_files(db, [path])
    out["load"] = time.perf_counter() - start
    out["rss_after_load_mb"] = _peak_mb()
    snap = build_snapshot(db)
    facts = R.graph_facts(db, snap)
    base, full, ref, timings = [], [], [], {}
    derived = None
    for _ in range(runs):
        t = time.perf_counter()
        Q.direct_admins(snap, Decider(snap))
        base.append(time.perf_counter() - t)
        t = time.perf_counter()
        derived = derive(snap, facts, options=DeriveOptions())
        full.append(time.perf_counter() - t)
        timings = derived.timings
        if reference:
            t = time.perf_counter()
            derive(snap, facts, fan_out=False)
            ref.append(time.perf_counter() - t)
    assert derived is not None
    out["baseline"] = statistics.median(base)
    out["derive"] = statistics.median(full)
    out["reference"] = statistics.median(ref) if ref else None
    out["slowest"] = sorted(timings.items(), key=lambda kv: -kv[1])[:5]
    out["edges"] = len(derived.edges)
    out["fans"] = len(derived.fans)
    out["sets"] = len({f.targets.id for f in derived.fans})
    out["fan_edges"] = sum(f.size() for f in derived.fans)
    out["rss_after_derive_mb"] = _peak_mb()
    del derived
    t = time.perf_counter()
    index = Q.build_index(db, snap)
    out["index"] = time.perf_counter() - t
    out["rss_after_index_mb"] = _peak_mb()
    t = time.perf_counter()
    summary = Q.escalation_summary(db, snap, index)
    out["summary"] = time.perf_counter() - t
    out["summary_entries"] = len(summary)
    sources = [e.principal for e in summary[:: max(1, len(summary) // 20)]][:20]
    lat, found = [], 0
    for src in sources:
        t = time.perf_counter()
        found += len(Q.escalation_paths(db, snap, index, src))
        lat.append(time.perf_counter() - t)
    out["paths_median_ms"] = statistics.median(lat) * 1000 if lat else 0.0
    out["paths_max_ms"] = max(lat) * 1000 if lat else 0.0
    out["paths_found"] = found
    targets = sorted(snap.principals)[:: max(1, len(snap.principals) // 20)][:20]
    lat = []
    for dst in targets:
        t = time.perf_counter()
        Q.escalation_paths_to(db, snap, index, dst)
        lat.append(time.perf_counter() - t)
    out["into_median_ms"] = statistics.median(lat) * 1000
    out["peak_rss_mb"] = _peak_mb()
    # the stored deriver's own time and counts, by running it again in a write transaction: last, since the
    # rewrite of every escalation edge would slow the reads measured above
    with db.transaction():
        stats = R.derive_with(db, snap, frozenset(p.account for p in snap.principals.values()))
    out["load_derivation"] = stats.timings["total"]
    out.update({f"stored_{k}": v for k, v in stats.counts.items()})
    db.close()
    tmp.cleanup()
    return out


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(r: dict[str, object]) -> None:
    ref = f"; per-target derivation {r['reference']:.2f}s" if r["reference"] is not None else ""
    print(
        f"{r['n']} principals ({r['users']} users, {r['roles']} roles): load {r['load']:.1f}s; escalation "
        f"deriver {r['load_derivation']:.2f}s; admin probe of everyone {r['baseline']:.2f}s; "
        f"derive {r['derive']:.2f}s ({r['derive'] / r['baseline']:.1f}x the probe){ref}"
    )
    print(
        f"  {r['edges']} explicit edges, {r['fans']} fan-out edges over {r['sets']} target sets standing for "
        f"{r['fan_edges']} edges; slowest: " + ", ".join(f"{k} {v:.2f}s" for k, v in r["slowest"])
    )  # type: ignore
    print(
        f"  index {r['index']:.2f}s; summary {r['summary']:.2f}s ({r['summary_entries']} principals can "
        f"escalate); escalationPaths median {r['paths_median_ms']:.1f} ms, max {r['paths_max_ms']:.1f} ms "
        f"({r['paths_found']} paths from 20 sources); escalationPathsTo median {r['into_median_ms']:.1f} ms; "
        f"peak RSS {r['peak_rss_mb']:.0f} MB (after the load {r['rss_after_load_mb']:.0f}, the derivation "
        f"{r['rss_after_derive_mb']:.0f}, the index {r['rss_after_index_mb']:.0f})"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="1000,3000,10000")
    ap.add_argument(
        "--reference", type=int, default=0, help="also time the per-target derivation up to this size"
    )
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.runs, args.one <= args.reference)))
        return
    for n in (int(s) for s in args.sizes.split(",")):
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(n),
                "--runs",
                str(args.runs),
                "--reference",
                str(args.reference),
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode:
            sys.exit(f"size {n} failed:\n{proc.stderr}")
        report(json.loads(proc.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    main()
