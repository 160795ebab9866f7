"""The policy findings report (policyFindings / graphiam report) on generated organisations.

    .venv/bin/python benchmarks/bench_findings.py [--sizes 1000,3000] [--runs 5]

A size N is N principals in one account: 60% users, 40% roles, 0.3·N customer-managed policies, seed 5
(benchmarks/generate_org.py, as bench_escalation.py). The export is loaded once with the real loader; then,
per run, medians of:

- baseline: the admin probe of every principal (`direct_admins`, bench_escalation.py's baseline), and for
  reference `build_snapshot` (read and parse every policy once), which the report starts from;
- report (cold): the whole report on a new database generation: the findings index (attachments, the
  escalation index and every principal's administrator facts, a fresh analyser: catalogue indexes, statement
  views) and every policy analysed; its parts `escalation_index` (`build_index`, which a server shares with
  escalationPaths) and `admin_facts` (`queries.admin.all_admin_facts` on that index) are timed apart;
- report (warm): the whole report again on the cached index (a repeated `policyFindings` on an unchanged
  graph).

Figures are printed, never asserted.
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


def _median(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def one(n: int, runs: int) -> dict[str, object]:
    from generate_org import generate_org

    from graphiam.catalog import Catalog
    from graphiam.changes.load import load_files
    from graphiam.graph.snapshot import build_snapshot
    from graphiam.queries import findings as F
    from graphiam.queries.admin import all_admin_facts
    from graphiam.queries.escalation_paths import build_index, direct_admins
    from graphiam.store.db import Database
    from graphiam.store.schema import ensure_schema

    users, roles = n * 6 // 10, n - n * 6 // 10
    [export] = generate_org(users=users, roles=roles, policies=max(1, n * 3 // 10), accounts=1, seed=5)
    tmp = tempfile.TemporaryDirectory()
    path = Path(tmp.name) / "org.json"
    path.write_text(json.dumps(export))
    del export
    db = Database(Path(tmp.name) / "db", buffer_pool_mb=1024, query_timeout_ms=3_600_000)
    ensure_schema(db)
    start = time.perf_counter()
    load_files(db, [path])
    out: dict[str, object] = {"n": n, "load": time.perf_counter() - start}
    Catalog.default().actions()  # decode the catalogue once, outside every timing

    out["baseline_snapshot"], snap = _median(lambda: build_snapshot(db), runs)

    def cold() -> F.Report:
        index = F.build_findings_index(db, snap)
        return F.policy_findings(index)

    out["report_cold"], report = _median(cold, runs)
    index = F.build_findings_index(db, snap)
    F.policy_findings(index)
    out["report_warm"], _ = _median(lambda: F.policy_findings(index), runs)
    out["baseline_admins"], _ = _median(lambda: direct_admins(snap), runs)
    out["escalation_index"], esc = _median(lambda: build_index(db, snap), runs)
    out["admin_facts"], _ = _median(lambda: all_admin_facts(esc), runs)  # type: ignore[arg-type]
    out["incomplete"] = sum(1 for p in snap.principals.values() if p.incomplete)
    assert isinstance(report, F.Report)
    out["policies"] = len(snap.policies)
    out["analysed"] = report.analysed
    out["with_findings"] = len(report.policies)
    out["summary"] = {s.category.value: s.policies for s in report.summary}
    db.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,3000")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    for n in (int(x) for x in args.sizes.split(",")):
        r = one(n, args.runs)
        base = float(r["baseline_admins"])  # type: ignore[arg-type]
        print(
            f"N={n}: {r['policies']} policies ({r['analysed']} analysed, {r['with_findings']} with "
            f"findings); load {r['load']:.1f} s; {r['incomplete']} principals hold a policy without a "
            "document"
        )
        print(f"  baseline direct_admins    {base * 1000:8.1f} ms")
        for key in ("baseline_snapshot", "escalation_index", "admin_facts", "report_cold", "report_warm"):
            t = float(r[key])  # type: ignore[arg-type]
            print(f"  {key:<25} {t * 1000:8.1f} ms  ({t / base:.2f}x baseline)")
        print(f"  policies per category: {r['summary']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
