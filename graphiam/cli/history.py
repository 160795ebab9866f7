"""`graphiam history [--json]`: the imports recorded in a database, oldest first (`graphiam diff --since ID`
compares one with the database now)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from graphiam import service
from graphiam.cli.common import db_arg, db_path
from graphiam.queries import history

COLUMNS = ("users", "groups", "roles", "policies", "admins", "canBecomeAdmin", "assumeEdges", "findings")


def cmd_history(args: argparse.Namespace) -> int:
    db = service.open_database(db_path(args, must_exist=True), read_only=True, engine=args.engine)
    try:
        with db.read_transaction():
            rows = history.imports(db)
            changed = history.changed_after_latest(db)
    finally:
        db.close()
    if args.json:
        json.dump(
            {
                "imports": [
                    {
                        "id": r.id,
                        "at": r.at,
                        "accounts": list(r.accounts),
                        "files": list(r.files),
                        "counts": r.counts,
                        "warnings": list(r.warnings),
                    }
                    for r in rows
                ],
                "changedAfterLatest": changed,
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
        return 0
    if not rows:
        print("no import recorded: `graphiam load FILE...` records one")
        return 0
    head = ["id", "at", *COLUMNS, "accounts", "files"]
    table = [
        [
            str(r.id),
            r.at,
            *(str(r.counts.get(c, 0)) for c in COLUMNS),
            ",".join(r.accounts) or "-",
            ", ".join(f["name"].rsplit("/", 1)[-1] for f in r.files),
        ]
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [head, *table]) for i in range(len(head) - 1)]
    for line in [head, *table]:
        print("  ".join(x.ljust(w) for x, w in zip(line, widths, strict=False)) + "  " + line[-1])
    if changed:
        print(
            f"the graph changed after import {rows[-1].id} (first at {changed}): "
            f"`graphiam diff --since {rows[-1].id}` shows how"
        )
    return 0


def add(sub: Any) -> None:
    hp = sub.add_parser("history", help="the imports recorded in the database (`graphiam diff --since ID`)")
    hp.add_argument("--json", action="store_true", help="as JSON")
    db_arg(hp)
    hp.set_defaults(func=cmd_history)
