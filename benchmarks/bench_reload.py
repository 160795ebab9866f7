"""Re-loading one account of a multi-account organisation (issue 16: one 500-principal account inside a large
organisation), measured with `/usr/bin/time -v` (one fresh `graphiam load` process per run).

    .venv/bin/python benchmarks/bench_reload.py [--accounts 20] [--users 300 --roles 200 --policies 150]
        [--runs 3] [--engine kuzu|ladybug]
    .venv/bin/python benchmarks/bench_reload.py --org DIR --db PATH [--runs 3]

The organisation comes from benchmarks/generate_org.py (seed 7: the accounts' roles trust each other's
accounts, their principals may assume each other's roles). It is loaded in one process: the baseline, timed in
the same run. Then each run re-loads one account's file, changed (one of its customer-managed policies gets
another statement, so its facts change and are derived again), a different account each run. With `--org`
and `--db` the database already holds the organisation of the files in DIR (for example 200 accounts, built
with several loads); the full load is then not timed, and the database is changed by the runs.
Prints the medians (wall seconds, peak RSS) and the ratio of a reload to the full load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_load import timed  # noqa: E402  (benchmarks/ is not a package)


def changed(export: dict[str, Any], run: int) -> dict[str, Any]:
    """The export with its first customer-managed policy's default version allowing one more action."""
    out = json.loads(json.dumps(export))
    policy = next(p for p in out["Policies"] if ":aws:policy/" not in p["Arn"])
    for v in policy["PolicyVersionList"]:
        if v["IsDefaultVersion"]:
            doc = v["Document"]
            doc = json.loads(unquote(doc)) if isinstance(doc, str) else doc
            statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
            statements.append(
                {"Effect": "Allow", "Action": f"s3:GetObject{'Acl' * (run % 2)}", "Resource": "*"}
            )
            v["Document"] = {**doc, "Statement": statements}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=("kuzu", "ladybug"), help="default: $GRAPHIAM_ENGINE, else kuzu")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--roles", type=int, default=200)
    ap.add_argument("--policies", type=int, default=150)
    ap.add_argument("--org", type=Path, help="the files of an organisation the database at --db holds")
    ap.add_argument("--db", type=Path, help="a database holding the organisation of --org")
    args = ap.parse_args()
    if (args.org is None) != (args.db is None):
        raise SystemExit("--org and --db go together")
    if args.engine:
        os.environ["GRAPHIAM_ENGINE"] = args.engine
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        if args.org is None:
            from generate_org import account_of, generate_org

            org = Path(tmp) / "org"
            org.mkdir()
            for d in generate_org(
                users=args.users, roles=args.roles, policies=args.policies, accounts=args.accounts, seed=7
            ):
                (org / f"{account_of(d)}.json").write_text(json.dumps(d))
            db = Path(tmp) / "db"
            files = sorted(org.glob("*.json"))
            full = timed([py, "-m", "graphiam.cli", "load", *map(str, files), "--db", str(db)])
            size = f"{args.accounts} accounts x {args.users + args.roles} principals"
        else:
            files = sorted(args.org.glob("*.json"))
            db, full = args.db, None
            size = f"{len(files)} accounts ({args.org})"
        print(f"organisation: {size}")
        print(f"{'workload':<46} {'wall s (median)':>16} {'peak RSS MiB':>14}")
        if full is not None:
            print(f"{'full load (baseline)':<46} {full[0]:>16.2f} {full[1]:>14.0f}")
        walls, rsss = [], []
        for run in range(args.runs):
            source = files[(run * 7 + 1) % len(files)]
            edited = Path(tmp) / "edited" / source.name
            edited.parent.mkdir(exist_ok=True)
            edited.write_text(json.dumps(changed(json.loads(source.read_text()), run)))
            w, r = timed([py, "-m", "graphiam.cli", "load", str(edited), "--db", str(db), "--replace"])
            walls.append(w)
            rsss.append(r)
        wall, rss = statistics.median(walls), statistics.median(rsss)
        print(f"{'re-load one account (changed)':<46} {wall:>16.2f} {rss:>14.0f}")
        if full is not None:
            print(f"reload / full load: {wall / full[0]:.3f}")


if __name__ == "__main__":
    main()
