"""`graphiam load FILE...`: GAAD exports, credential reports and organization descriptions, all or nothing.

A load into a new path that fails leaves nothing there: the database, its write-ahead log and its engine
marker are removed (and the directories the load created for them).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
from pathlib import Path
from typing import Any

from graphiam.changes.load import load_files, never_seed
from graphiam.cli.common import ProgressBar, db_arg, db_path, open_database
from graphiam.cli.served import refuse_if_served
from graphiam.errors import GraphiamError
from graphiam.ingest.iam_collect import is_iam_collect_store

LOAD_BUFFER_POOL_MB = 2048


def database_files(path: Path) -> set[Path]:
    """What exists of the database at `path`: itself and its siblings `<name>.*` (the `.wal`, the engine
    marker, the token file)."""
    if not path.parent.is_dir():
        return set()
    return {p for p in path.parent.iterdir() if p.name == path.name or p.name.startswith(path.name + ".")}


def missing_dirs(path: Path) -> list[Path]:
    """The directories above `path` that do not exist yet, deepest first."""
    out = []
    for parent in path.parents:
        if parent.exists():
            break
        out.append(parent)
    return out


def remove_new(path: Path, before: set[Path], dirs: list[Path]) -> None:
    """Remove what exists of the database at `path` now and did not before, then the empty `dirs`."""
    for p in sorted(database_files(path) - before):
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
    for d in dirs:
        with contextlib.suppress(OSError):
            d.rmdir()


def _size(path: Path) -> int:
    """A file's size, or a directory's (an iam-collect store): the sum of its files'."""
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def cmd_load(args: argparse.Namespace) -> int:
    for f in args.files:
        if Path(f).is_dir():
            if not is_iam_collect_store(f):
                raise GraphiamError(
                    f"{f}: is a directory and not an iam-collect store; name the export files in it"
                )
        elif not Path(f).is_file():
            raise GraphiamError(f"{f}: no such file")
    path = db_path(args)
    refuse_if_served(path, "load")
    big = sum(_size(Path(f)) for f in args.files) > (1 << 20)
    bar = ProgressBar(enabled=sys.stderr.isatty() or big or args.progress)
    before, dirs = database_files(path), missing_dirs(path)
    created = not path.exists()
    try:
        db = open_database(path, buffer_pool_mb=args.buffer_pool_mb, engine=args.engine)
        try:
            if created:  # committed first: should the load die without cleaning up, `serve` will not seed
                never_seed(db)
            summary = load_files(db, args.files, progress=bar, replace=args.replace)
        finally:
            db.close()
    except BaseException:
        if bar.drawn:
            sys.stderr.write("\n")  # the error on a line of its own
        if created:
            remove_new(path, before, dirs)
        raise
    for line in summary.lines():
        print(line)
    return 0


def add(sub: Any) -> None:
    lp = sub.add_parser(
        "load",
        help="load GAAD exports and AWS Config snapshots (.json, .json.gz), organization descriptions, "
        "credential reports (.csv) and iam-collect stores (directories)",
    )
    lp.add_argument("files", nargs="+")
    db_arg(lp)
    lp.add_argument(
        "--replace",
        action="store_true",
        help="an ARN already loaded with another account moves to the account of the file that defines it "
        "now (refused without this)",
    )
    lp.add_argument(
        "--buffer-pool-mb",
        type=int,
        default=LOAD_BUFFER_POOL_MB,
        help=f"kuzu buffer pool for the load (default {LOAD_BUFFER_POOL_MB}: deriving the CAN_ASSUME and "
        "escalation edges of a large export needs room; it is an upper bound, not an allocation)",
    )
    lp.add_argument("--progress", action="store_true", help="always draw the progress bar")
    lp.set_defaults(func=cmd_load)
