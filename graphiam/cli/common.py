"""What every command shares: the database path, the `--db` and `--engine` options, the progress bar."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from graphiam.errors import GraphiamError, StoreError


class ProgressBar:
    """A one-line progress bar on stderr (only drawn on a terminal or for large inputs)."""

    def __init__(self, enabled: bool, width: int = 30) -> None:
        self.enabled = enabled
        self.width = width
        self.start = time.monotonic()
        self.drawn = False  # a line is drawn and not ended yet

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        self.drawn = not (done >= total and stage == "done")
        filled = int(self.width * done / total)
        bar = "#" * filled + "-" * (self.width - filled)
        sys.stderr.write(f"\r[{bar}] {done}/{total} {stage:<40.40} {time.monotonic() - self.start:5.1f}s")
        if done >= total and stage == "done":
            sys.stderr.write("\n")
        sys.stderr.flush()


def db_path(args: argparse.Namespace, *, must_exist: bool = False) -> Path:
    """`--db`, else GRAPHIAM_DB, else the default; a directory made by `graphiam snapshot` stands for the
    database file `db` in it. `must_exist` (commands that only read): a missing database is an error instead
    of a new empty one (a mistyped path would otherwise answer "not in the graph")."""
    # the web application (starlette, strawberry) loads here, not at import: it would slow the start of every
    # command
    from graphiam.app import default_db_path

    path = Path(args.db) if args.db else default_db_path()
    if path.is_dir() and (path / "db").is_file():  # a `graphiam snapshot` directory: the database in it
        path = path / "db"
    if must_exist and not path.exists():
        raise GraphiamError(
            f"no database at {path}: load one first (graphiam load FILE --db {path}), "
            "or start `graphiam serve`, which loads the demo org into an empty database"
        )
    return path


def db_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--db", help="database directory (default: $GRAPHIAM_DB, else ~/.local/share/graphiam/db)"
    )
    engine_arg(sp)


def engine_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--engine",
        choices=("kuzu", "ladybug"),
        help="graph engine (default: $GRAPHIAM_ENGINE, else kuzu); a database made by the other one is "
        "refused: `graphiam migrate` copies it",
    )


def open_database(path: Path, *, engine: str | None, **options: Any) -> Any:
    """`service.open_database`, with one line that says what to do when another process holds the database
    (the engine refuses a second process, even a reading one)."""
    from graphiam import service

    try:
        return service.open_database(path, engine=engine, **options)
    except StoreError as exc:
        if "set lock" not in str(exc):
            raise
        raise StoreError(
            f"database `{path}` is open in another process (a `graphiam serve` or `graphiam load`): wait for "
            "it or stop it; a server without a lock file beside the database can be asked with --url"
        ) from None
