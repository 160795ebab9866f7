"""`graphiam load FILE...`: GAAD exports, credential reports and organization descriptions, all or nothing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from graphiam import service
from graphiam.changes.load import load_files
from graphiam.cli.common import ProgressBar, db_arg, db_path
from graphiam.errors import GraphiamError

LOAD_BUFFER_POOL_MB = 2048


def cmd_load(args: argparse.Namespace) -> int:
    for f in args.files:
        if Path(f).is_dir():
            raise GraphiamError(f"{f}: is a directory; name the export files in it")
        if not Path(f).is_file():
            raise GraphiamError(f"{f}: no such file")
    big = sum(Path(f).stat().st_size for f in args.files) > (1 << 20)
    bar = ProgressBar(enabled=sys.stderr.isatty() or big or args.progress)
    db = service.open_database(db_path(args), buffer_pool_mb=args.buffer_pool_mb, engine=args.engine)
    try:
        summary = load_files(db, args.files, progress=bar)
    finally:
        db.close()
    for line in summary.lines():
        print(line)
    return 0


def add(sub: Any) -> None:
    lp = sub.add_parser("load", help="load GAAD exports (.json) and credential reports (.csv)")
    lp.add_argument("files", nargs="+")
    db_arg(lp)
    lp.add_argument(
        "--buffer-pool-mb",
        type=int,
        default=LOAD_BUFFER_POOL_MB,
        help=f"kuzu buffer pool for the load (default {LOAD_BUFFER_POOL_MB}: deriving the CAN_ASSUME and "
        "escalation edges of a large export needs room; it is an upper bound, not an allocation)",
    )
    lp.add_argument("--progress", action="store_true", help="always draw the progress bar")
    lp.set_defaults(func=cmd_load)
