"""Load time and peak memory of `graphiam load`, measured with `/usr/bin/time -v` (one fresh process per run).

    .venv/bin/python benchmarks/bench_load.py [--runs 3] [--users 2000 --roles 1000 --policies 3000]
        [--engine kuzu|ladybug]

Workloads: Cloudsplaining's real example export (tests/data/gaad/cloudsplaining-example.json), a generated
export (benchmarks/generate_org.py, seed 7), and the generated export loaded again into the database that
holds it (a reload: checks which ARNs would move, and replaces the account; benchmarks/bench_reload.py times
re-loading one account of a large organisation).
Baseline measured in the same run:
the interpreter importing the store, the policy engine and the graph engine (kuzu or ladybug), so the load's
own cost is the difference. Prints medians.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one command under /usr/bin/time -v."""
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", r.stderr)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    if wall is None or peak is None:
        raise SystemExit(f"/usr/bin/time -v printed no wall time or peak RSS:\n{r.stderr[-2000:]}")
    h, m, s = wall.groups()
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(peak.group(1)) / 1024
    return seconds, rss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--engine", choices=("kuzu", "ladybug"), help="graph engine (default: $GRAPHIAM_ENGINE, else kuzu)"
    )
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--roles", type=int, default=1000)
    ap.add_argument("--policies", type=int, default=3000)
    args = ap.parse_args()
    if args.engine:  # the store reads it when it opens a database, here and in the processes started below
        os.environ["GRAPHIAM_ENGINE"] = args.engine
    from generate_org import generate_org

    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        gen = Path(tmp) / "generated.json"
        gen.write_text(
            json.dumps(generate_org(users=args.users, roles=args.roles, policies=args.policies, seed=7)[0])
        )
        generated = (
            f"generated {args.users}u/{args.roles}r/{args.policies}p ({gen.stat().st_size / 1e6:.1f} MB)"
        )
        reload = "the same, loaded again into its database"
        workloads = {
            "baseline (import only)": None,
            "cloudsplaining-example.json": ROOT / "tests" / "data" / "gaad" / "cloudsplaining-example.json",
            generated: gen,
            reload: gen,
        }
        print(f"{'workload':<50} {'wall s (median)':>16} {'peak RSS MiB':>14}")
        for name, f in workloads.items():
            walls, rsss = [], []
            for i in range(args.runs):
                db = Path(tmp) / f"db-{abs(hash(name))}-{i}"
                if name == reload:  # the first load is not timed
                    subprocess.run(
                        [py, "-m", "graphiam.cli", "load", str(gen), "--db", str(db)],
                        check=True,
                        capture_output=True,
                    )
                cmd = (
                    [
                        py,
                        "-c",
                        "import graphiam.changes.load, graphiam.policy, graphiam.store.engine as e;"
                        " e.load_engine()",
                    ]
                    if f is None
                    else [py, "-m", "graphiam.cli", "load", str(f), "--db", str(db)]
                )
                w, r = timed(cmd)
                walls.append(w)
                rsss.append(r)
            print(f"{name:<50} {statistics.median(walls):>16.2f} {statistics.median(rsss):>14.0f}")


if __name__ == "__main__":
    main()
