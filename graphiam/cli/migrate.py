"""`graphiam migrate --to ladybug|kuzu SRC DST`: copy a database to the other graph engine.

The source is read with the engine that made it (recorded beside it); DST must not exist. All or nothing: DST
is removed when the copy fails or a table's row count differs. The token file beside SRC
(`<db>.tokens.json`, with its last-use record) is copied beside DST, so the same tokens keep working, and so
is the audit log (`<db>.audit.jsonl`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graphiam import service
from graphiam.audit import audit_file_for
from graphiam.auth import TokenStore, token_file_for
from graphiam.cli.served import refuse_if_served
from graphiam.errors import GraphiamError


def _used_file_for(db: Path) -> Path:
    return TokenStore(token_file_for(db)).used_path


# the files kept beside a database that come along: tokens, their last use, the audit log
_BESIDE: tuple[Callable[[Path], Path], ...] = (token_file_for, _used_file_for, audit_file_for)


def cmd_migrate(args: argparse.Namespace) -> int:
    src, dst = Path(args.source), Path(args.target)
    if not src.exists():
        raise GraphiamError(f"no database at {src}")
    refuse_if_served(src, "migrate it")
    for file_of in _BESIDE:
        if file_of(dst).exists():
            raise GraphiamError(f"{file_of(dst)} already exists: migrate writes a new database")
    done = service.migrate_database(src, dst, to=args.to)
    for file_of in _BESIDE:
        if file_of(src).exists():
            shutil.copy2(file_of(src), file_of(dst))
    print(
        f"migrated {src} ({done.source_engine}) -> {dst} ({done.target_engine}): "
        f"{done.nodes} nodes, {done.edges} edges; every table's row count matches",
        file=sys.stderr,
    )
    return 0


def add(sub: Any) -> None:
    mp = sub.add_parser(
        "migrate", help="copy a database to the other graph engine (kuzu <-> ladybug), all or nothing"
    )
    mp.add_argument("--to", required=True, choices=("kuzu", "ladybug"), help="the engine of the copy")
    mp.add_argument("source", metavar="SRC", help="the database to copy (its engine is recorded beside it)")
    mp.add_argument("target", metavar="DST", help="a new database path")
    mp.set_defaults(func=cmd_migrate)
