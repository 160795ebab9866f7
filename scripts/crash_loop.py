"""Kill `graphiam load` with SIGKILL at random moments; the database must reopen exactly as it was before the
load or exactly as the load leaves it, never anything in between.

    .venv/bin/python scripts/crash_loop.py [--kills 50] [--users 2000 --roles 1000 --policies 3000]
        [--accounts 2] [--drop 500] [--after-wal SECONDS] [--workdir DIR] [--seed 1]

A generated organisation (benchmarks/generate_org.py, seed 7) is loaded into a database ("old"). An edited
copy of its first account (`--drop` users removed) is then loaded over it: once without interruption, on a
copy of the database ("new", timed), then `--kills` times on fresh copies, each load killed at a moment drawn
from the uninterrupted load: every other kill anywhere in its run, the others within its write (0 to T
seconds after its write-ahead log appears beside the database, T being how long the write then ran: the
commit, the checkpoint and what follows); a load that ends before its moment is run again with an earlier
one, so every kill kills. With `--after-wal S` every kill lands 0-S seconds after the log
appears (how issue 13 found the defect). After each kill the database is opened as the server opens it and
fingerprinted (every row of every table: tests/helpers.graph_fingerprint); the tally counts "old", "new",
"neither" (with the tables that differ from both) and "unopenable".
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import copy_database, database_files, fingerprint_file, wait_for_wal  # noqa: E402

CLI = [sys.executable, "-m", "graphiam.cli"]


def generate(out: Path, users: int, roles: int, policies: int, accounts: int) -> list[Path]:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "generate_org.py"),
            *("--users", str(users), "--roles", str(roles), "--policies", str(policies)),
            *("--accounts", str(accounts), "--seed", "7", "-o", str(out)),
        ],
        check=True,
        capture_output=True,
    )
    return sorted(out.glob("*.json"))


def edited_copy(export: Path, out: Path, drop: int, seed: int) -> Path:
    """`export` with `drop` users removed (chosen by `seed`)."""
    data = json.loads(export.read_text())
    users = data["UserDetailList"]
    gone = set(random.Random(seed).sample(range(len(users)), min(drop, len(users))))
    data["UserDetailList"] = [u for i, u in enumerate(users) if i not in gone]
    out.mkdir(parents=True, exist_ok=True)
    path = out / export.name
    path.write_text(json.dumps(data))
    return path


def start_load(files: list[Path], db: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "load", *map(str, files), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def timed_load(files: list[Path], db: Path) -> tuple[float, float]:
    """Run the load to its end: (seconds until the write-ahead log appeared, seconds in all)."""
    started = time.monotonic()
    proc = start_load(files, db)
    logged = wait_for_wal(db, proc, timeout=3600)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"the load failed: {err.decode(errors='replace')[-2000:]}")
    if logged is None:
        raise SystemExit("the load wrote no write-ahead log")
    return logged - started, time.monotonic() - started


def kill_load(files: list[Path], db: Path, *, delay: float, after_wal: bool) -> str:
    """Start the load and SIGKILL it `delay` seconds after its start (or after a `.wal` appears); returns
    what it was doing: "mid-write" (the previous generation `<db>.prev` or a log was beside the database),
    "outside the write", or "finished" when it was over before the kill."""
    proc = start_load(files, db)
    try:
        if after_wal:
            wait_for_wal(db, proc, timeout=3600)
        time.sleep(delay)
        if proc.poll() is not None:
            return "finished" if proc.returncode == 0 else f"failed ({proc.returncode})"
        names = {p.name[len(db.name) :] for p in database_files(db)}
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return (
            "mid-write"
            if names & {".prev", ".prev.partial", ".wal", ".wal.checkpoint"}
            else "outside the write"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def classify(found: dict[str, str], old: dict[str, str], new: dict[str, str]) -> tuple[str, str]:
    if "error" in found:
        return "unopenable", found["error"]
    if found == old:
        return "old", ""
    if found == new:
        return "new", ""
    differ = sorted(t for t in set(found) | set(old) if found.get(t) not in (old.get(t), new.get(t)))
    mixed = sorted(
        t for t in set(found) | set(old) if found.get(t) != old.get(t) and found.get(t) == new.get(t)
    )
    return "neither", f"differs from both in {differ}; like new in {mixed}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--roles", type=int, default=1000)
    ap.add_argument("--policies", type=int, default=3000)
    ap.add_argument("--accounts", type=int, default=2)
    ap.add_argument("--drop", type=int, default=500, help="users removed from the first account")
    ap.add_argument("--after-wal", type=float, default=None, metavar="SECONDS")
    ap.add_argument("--workdir", type=Path, default=None, help="kept afterwards (default: a temporary one)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="graphiam-crash-"))
    rng = random.Random(args.seed)

    org = generate(work / "org", args.users, args.roles, args.policies, args.accounts)
    edited = [edited_copy(org[0], work / "edited", args.drop, args.seed)]
    base = work / "base" / "db"
    if not base.exists():
        timed_load(org, base)
    old = fingerprint_file(base)
    reference = work / "reference" / "db"
    copy_database(base, reference)
    logged, duration = timed_load(edited, reference)
    new = fingerprint_file(reference)
    if old == new or "error" in old or "error" in new:
        raise SystemExit(f"old and new must be two different, readable states: {old} / {new}")
    print(
        f"workdir {work}; uninterrupted load {duration:.1f}s, its write-ahead log from {logged:.1f}s",
        flush=True,
    )

    tally: Counter[str] = Counter()
    trial = work / "trial" / "db"
    tail = duration - logged
    late = 0  # loads that ended before their moment came (the machine ran faster): drawn again
    for i in range(args.kills):
        while True:
            copy_database(base, trial)
            if args.after_wal is not None:
                after_wal, delay = True, rng.uniform(0, args.after_wal)
            elif i % 2:  # every other kill within the write: from the log appearing to the end
                after_wal, delay = True, rng.uniform(0, tail)
            else:
                after_wal, delay = False, rng.uniform(0, duration)
            doing = kill_load(edited, trial, delay=delay, after_wal=after_wal)
            if doing != "finished":
                break
            late += 1
            if after_wal:  # the write ends sooner than the reference run said: aim earlier
                tail = max(tail * 0.8, 0.05)
            else:
                duration *= 0.95
        state, detail = classify(fingerprint_file(trial), old, new)
        tally[state] += 1
        where = f"{delay:6.2f}s after the log" if after_wal else f"{delay:6.2f}s after the start"
        print(f"kill {i + 1:>3} {where} ({doing}): {state} {detail}".rstrip(), flush=True)
    print(f"({late} loads ended before their moment and were run again)")
    good = tally["old"] + tally["new"]
    print(
        f"{good} of {args.kills} kills left exactly the old or the new database ("
        + ", ".join(f"{k} {tally[k]}" for k in ("old", "new", "neither", "unopenable"))
        + ")"
    )
    return 0 if good == args.kills else 1


if __name__ == "__main__":
    raise SystemExit(main())
