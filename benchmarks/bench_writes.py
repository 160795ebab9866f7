"""What crash-atomic writes cost: mutations on a database file holding the demo organisation, each timed whole
and in the part spent keeping the previous generation of the file beside it and dropping it afterwards
(graphiam/store/durability.py: copy, fsync, rename; fsync, unlink). The baseline is the mutation itself,
measured in the same run; the ratio is the share of a write that crash atomicity adds.

    .venv/bin/python benchmarks/bench_writes.py [--writes 20] [--engine kuzu|ladybug]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphiam.changes.apply import Change, apply_changes  # noqa: E402
from graphiam.changes.load import load_files, seed_files  # noqa: E402
from graphiam.store import durability, open_database  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writes", type=int, default=20)
    ap.add_argument("--engine", choices=("kuzu", "ladybug"), default=None)
    args = ap.parse_args(argv)
    spent: list[float] = []

    def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*a: Any, **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent.append(time.perf_counter() - started)

        return run

    durability.keep_previous = timed(durability.keep_previous)
    durability.drop_previous = timed(durability.drop_previous)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "db", engine=args.engine)
        try:
            load_files(db, seed_files(ROOT / "seeds"))
            size = (Path(tmp) / "db").stat().st_size
            whole, part = [], []
            for i in range(args.writes):
                spent.clear()
                started = time.perf_counter()
                change = Change(op="createUser", args={"account": "111111111111", "name": f"bench-{i}"})
                assert apply_changes(db, [change]).ok
                whole.append(time.perf_counter() - started)
                part.append(sum(spent))
        finally:
            db.close()
    w, p = statistics.median(whole), statistics.median(part)
    print(
        f"{db.engine.name}, demo organisation ({size / 2**20:.0f} MiB file), {args.writes} createUser: "
        f"median {w * 1000:.0f} ms a write, of which {p * 1000:.0f} ms keeping and dropping the previous "
        f"file ({p / w:.0%})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
