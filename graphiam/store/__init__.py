"""The store: the only package that talks to the graph database (kuzu, or LadybugDB: `engine.py` chooses).
Layers above get typed records from `reader` and write through `writer`."""

from __future__ import annotations

from pathlib import Path

from graphiam.store import engine as _engine
from graphiam.store.db import DEFAULT_BUFFER_POOL_MB, Database
from graphiam.store.schema import ensure_schema


def open_database(
    path: str | Path | None,
    *,
    read_only: bool = False,
    buffer_pool_mb: int | None = DEFAULT_BUFFER_POOL_MB,
    engine: str | None = None,
) -> Database:
    """Open (creating if needed) a graphiam database; `None` is in-memory. Checks the schema version and the
    engine that made it (`engine`: "kuzu" or "ladybug"; None: `GRAPHIAM_ENGINE`, else kuzu)."""
    db = Database(path, read_only=read_only, buffer_pool_mb=buffer_pool_mb, engine=engine)
    try:
        ensure_schema(db)
    except BaseException:
        db.close()
        raise
    return db


def check_engine(path: str | Path, engine: str | None = None) -> None:
    """Refuse, in one line naming `graphiam migrate`, a database at `path` made by another engine than
    `engine` (None: `GRAPHIAM_ENGINE`, else kuzu); nothing is opened. For a command that must fail before it
    does anything else (`graphiam serve` opens the database only once the server starts)."""
    _engine.check_engine(path, _engine.engine_name(engine))


__all__ = ["Database", "check_engine", "open_database"]
