"""Resources (issue 14): loading them, and whoCan / resourceAccess on a bucket, on a generated organisation.

    .venv/bin/python benchmarks/bench_resources.py [--users 3000 --roles 2000 --policies 1500 --accounts 2]
                                                   [--resources 5000] [--runs 5] [--load-runs 1]
The org (benchmarks/generate_org.py, seed 7; users/roles/policies per account, so the defaults make 10,000
principals over 2 accounts) and its resources (`generate_resources`: buckets, KMS keys and queues with
policies naming principals, accounts, services, everyone) are written to a temporary directory: the GAAD
files and an iam-collect store holding only the resources. Then:
- load: the GAAD files alone, and the GAAD files with the resource store, each into a new on-disk database
  (`--load-runs` times, alternating); the resources' share is the difference; the snapshot build of each;
- whoCan (the query function, warm snapshot) for `s3:GetObject` on an object of a bucket whose policy names
  principals of both accounts, on an object of a public bucket (every principal becomes a candidate), and the
  baseline measured in the same run, interleaved: the same action on an object of a bucket that is not
  stored (whoCan as it was before resources: identity policies only); ratios against it;
- resourceAccess on that bucket (14 actions over five access levels);
- peak RSS of the process.
Prints medians.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate_org import account_of, generate_org, generate_resources, write_resource_store  # noqa: E402

from graphiam.changes.load import load_files  # noqa: E402
from graphiam.graph.snapshot import build_snapshot  # noqa: E402
from graphiam.queries.resource_access import resource_access  # noqa: E402
from graphiam.queries.who_can import who_can  # noqa: E402
from graphiam.store import open_database  # noqa: E402


def median_ms(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pick(resources: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """A bucket whose policy names principals (an ARN list), and a public bucket."""
    named = public = None
    for found in resources.values():
        for arn, spec in found.items():
            policy = spec["policy"]
            if spec["type"] != "bucket" or policy is None:
                continue
            st = policy["Statement"][-1]
            if st["Principal"] == "*" and "Condition" not in st and public is None:
                public = arn
            elif isinstance(st["Principal"], dict) and isinstance(st["Principal"].get("AWS"), list):
                named = named or arn
    if named is None or public is None:
        raise SystemExit("the generated resources have no bucket naming principals or no public bucket")
    return named, public


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--roles", type=int, default=2000)
    parser.add_argument("--policies", type=int, default=1500)
    parser.add_argument("--accounts", type=int, default=2)
    parser.add_argument("--resources", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--load-runs", type=int, default=1)
    args = parser.parse_args(argv)
    exports = generate_org(
        users=args.users, roles=args.roles, policies=args.policies, accounts=args.accounts, seed=7
    )
    resources = generate_resources(exports, resources=args.resources, seed=7)
    principals = sum(len(e["UserDetailList"]) + len(e["RoleDetailList"]) for e in exports)
    print(f"{principals} principals in {len(exports)} accounts, {args.resources} resources")
    named, public = _pick(resources)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        files = []
        for e in exports:
            f = base / f"{account_of(e)}.json"
            f.write_text(json.dumps(e))
            files.append(f)
        store = write_resource_store(base / "resources", resources)
        loads: dict[str, list[float]] = {"gaad": [], "gaad+resources": []}
        snaps: dict[str, list[float]] = {"gaad": [], "gaad+resources": []}
        db = None
        for n in range(args.load_runs):
            for label, paths in (("gaad", files), ("gaad+resources", [*files, store])):
                if db is not None:
                    db.close()
                db = open_database(base / f"db-{label}-{n}")
                t = time.perf_counter()
                load_files(db, paths)
                loads[label].append(time.perf_counter() - t)
                t = time.perf_counter()
                build_snapshot(db)
                snaps[label].append(time.perf_counter() - t)
        assert db is not None  # the last one holds the resources
        for label in loads:
            print(
                f"load {label:15s} {statistics.median(loads[label]):8.2f} s   "
                f"snapshot {statistics.median(snaps[label]) * 1000:8.0f} ms"
            )
        share = statistics.median(loads["gaad+resources"]) - statistics.median(loads["gaad"])
        print(f"resources' share of the load: {share:.2f} s ({args.resources} resources)")
        snap = build_snapshot(db)
        asks = {
            "named bucket": f"{named}/object",
            "public bucket": f"{public}/object",
            "baseline (not stored)": "arn:aws:s3:::graphiam-not-stored/object",
        }
        times: dict[str, list[float]] = {k: [] for k in asks}
        answers: dict[str, Any] = {}
        for _ in range(args.runs):  # interleaved
            for label, target in asks.items():
                ms, answers[label] = median_ms(
                    lambda target=target: who_can(db, snap, action="s3:GetObject", resource=target), 1
                )
                times[label].append(ms)
        base_ms = statistics.median(times["baseline (not stored)"])
        for label in asks:
            w = answers[label]
            m = statistics.median(times[label])
            print(
                f"whoCan s3:GetObject {label:22s} {m:8.1f} ms  x{m / base_ms:5.2f}  "
                f"allowed {len(w.allowed)}, outside {len(w.outside)}, candidates {w.candidates}"
            )
        ms, r = median_ms(lambda: resource_access(db, snap, arn=named), max(1, args.runs // 2))
        held = {lv.level: lv.total for lv in r.levels}
        print(f"resourceAccess on the named bucket {ms:8.1f} ms  {held}")
        db.close()
    print(f"peak RSS {rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
