"""The store: the only package that talks to the graph database (kuzu today; LadybugDB could be swapped in
`db.py`). Layers above get typed records from `reader` and write through `writer`."""

from __future__ import annotations

from pathlib import Path

from graphiam.store.db import DEFAULT_BUFFER_POOL_MB, Database
from graphiam.store.schema import ensure_schema


def open_database(
    path: str | Path | None, *, read_only: bool = False, buffer_pool_mb: int = DEFAULT_BUFFER_POOL_MB
) -> Database:
    """Open (creating if needed) a graphiam database; `None` is in-memory. Checks the schema version."""
    db = Database(path, read_only=read_only, buffer_pool_mb=buffer_pool_mb)
    try:
        ensure_schema(db)
    except BaseException:
        db.close()
        raise
    return db


__all__ = ["Database", "open_database"]
