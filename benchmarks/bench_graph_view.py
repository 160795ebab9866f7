"""Graph-view latency (`graph` / `graphiam graph`) on a generated organisation.

    .venv/bin/python benchmarks/bench_graph_view.py [--users 1200 --roles 800 --policies 600] [--runs 7]

The org (benchmarks/generate_org.py, seed 11, one account) is loaded with the real loader (CAN_ASSUME and
escalation edges derived) into an on-disk database in a temporary directory. The snapshot and the escalation
index the view reads CAN_ASSUME / ESCALATES_TO from are built once (per database generation, as the API does)
and their build time is printed apart. Then, in the same run, interleaved so load from other processes hits
all alike:
- baseline: a point lookup, one user by ARN (`reader.by_arns`);
- a depth-2 neighbourhood (every edge kind, maxNodes 500) around each of 20 principals, in turn;
- a whole-account view (maxNodes 5000, maxEdges 20000), and the same rendered to DOT, GraphML and Cytoscape
  JSON.
Prints medians (and the max of the neighbourhoods), node and edge counts, and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate_org import account_of, generate_org  # noqa: E402

from graphiam.changes.load import load_files  # noqa: E402
from graphiam.graph.snapshot import build_snapshot  # noqa: E402
from graphiam.queries import graph_formats as F  # noqa: E402
from graphiam.queries.escalation_paths import build_index  # noqa: E402
from graphiam.queries.graph_view import graph_view  # noqa: E402
from graphiam.store import reader as R  # noqa: E402
from graphiam.store.db import Database  # noqa: E402
from graphiam.store.schema import ensure_schema  # noqa: E402


def ms(t: float) -> float:
    return (time.perf_counter() - t) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=1200)
    ap.add_argument("--roles", type=int, default=800)
    ap.add_argument("--policies", type=int, default=600)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export = generate_org(users=args.users, roles=args.roles, policies=args.policies, seed=11)[0]
        acct = account_of(export)
        path = Path(tmp) / f"{acct}.json"
        path.write_text(json.dumps(export))
        del export
        db = Database(Path(tmp) / "db", buffer_pool_mb=1024, query_timeout_ms=3_600_000)
        ensure_schema(db)
        t = time.perf_counter()
        load_files(db, [path])
        print(
            f"org: {args.users} users + {args.roles} roles, {args.policies} policies, account {acct}; "
            f"load with derived edges {ms(t) / 1000:.1f} s",
            flush=True,
        )
        t = time.perf_counter()
        snap = build_snapshot(db)
        snap_ms = ms(t)
        t = time.perf_counter()
        index = build_index(db, snap)
        print(
            f"once per database generation: snapshot {snap_ms:.0f} ms, escalation index {ms(t):.0f} ms",
            flush=True,
        )
        users = sorted(a for a, p in snap.principals.items() if p.kind == "user")
        principals = sorted(snap.principals)
        step = max(1, len(principals) // 20)
        centres = principals[::step][:20]

        base: list[float] = []
        hood: list[float] = []
        whole: list[float] = []
        render: dict[str, list[float]] = {f: [] for f in ("dot", "graphml", "cytoscape")}
        sizes, cut = [], 0
        view = None
        for run in range(args.runs):
            for i, c in enumerate(centres):
                t = time.perf_counter()
                R.by_arns(db, "User", [users[(run * 20 + i) % len(users)]])
                base.append(ms(t))
                t = time.perf_counter()
                v = graph_view(db, index, around=[c], depth=2, max_nodes=500)
                hood.append(ms(t))
                if run == 0:
                    sizes.append((len(v.nodes), len(v.edges)))
                    cut += v.truncated
            t = time.perf_counter()
            view = graph_view(db, index, account=acct, max_nodes=5000, max_edges=20000)
            whole.append(ms(t))
            for fmt in render:
                t = time.perf_counter()
                F.render(view, fmt)
                render[fmt].append(ms(t))
        assert view is not None
        b = statistics.median(base)
        print(f"\n{'what':<44} {'median ms':>10} {'max ms':>9} {'× baseline':>11}")
        print(f"{'baseline: one user by ARN':<44} {b:>10.2f} {max(base):>9.2f} {1:>11.0f}")
        h = statistics.median(hood)
        print(f"{'depth-2 neighbourhood (20 principals)':<44} {h:>10.1f} {max(hood):>9.1f} {h / b:>11.0f}")
        w = statistics.median(whole)
        print(f"{'whole account (view)':<44} {w:>10.1f} {max(whole):>9.1f} {w / b:>11.0f}")
        for fmt, times in render.items():
            m = statistics.median(times)
            print(f"{'  + render ' + fmt:<44} {m:>10.1f} {max(times):>9.1f} {(w + m) / b:>11.0f}")
        n_med = statistics.median(n for n, _ in sizes)
        e_med = statistics.median(e for _, e in sizes)
        print(
            f"\nneighbourhoods: median {n_med:.0f} nodes / {e_med:.0f} edges, {cut} of {len(centres)} "
            f"truncated at 500 nodes; whole account: {len(view.nodes)} nodes, {len(view.edges)} edges"
            f"{' (truncated)' if view.truncated else ''}"
        )
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
        db.close()


if __name__ == "__main__":
    main()
