"""The graph engine behind the store: kuzu 0.11.3 (the default) or LadybugDB, kuzu's maintained fork.

This is the one module that names and imports the engine's Python package (`kuzu` or `ladybug`); the rest of
`store/` reaches it through `Engine`, and nothing outside `store/` knows which one runs. The two share their
Python API (`Database`, `Connection`, `execute` with parameters, `get_as_arrow`, `COPY … FROM $t`), their
Cypher, the catalogue calls `clone.py` uses (`show_tables`, `table_info`, `show_connection`, same columns) and
the error messages the store relies on ("Interrupted." on a query timeout, "Cannot start a new write
transaction" for a second writer). Where they differ, `Engine` says so:

- the import: the two packages register native types of the same names, so importing one after the other in
  a process fails or crashes it. `load_engine` refuses to load a second engine in a process (`StoreError`);
  `graphiam migrate` therefore copies between engines through two child processes.
- the database files: each refuses the other's ("not a valid Kuzu/Lbug database file"). The engine that made
  a database is recorded beside it (`marker_path`) so that opening it with the other one fails with one line
  naming `graphiam migrate` before the engine sees the file.
- rolling back a transaction that COPYed into a non-empty relationship table: kuzu 0.11.3 drops every
  committed row of that table; LadybugDB 0.22 keeps them (`copy_rollback_loses_rel_rows`). The store works
  on copies either way (docs/ENGINE.md), so nothing depends on the difference.
- a node or relationship returned whole (`RETURN n`) is a dict whose engine keys are spelt `_id`, `_label`
  in kuzu and `_ID`, `_LABEL`, `_SRC`, `_DST` in LadybugDB (`label_key`): the store reads properties by
  name and labels with `label(...)`, never these keys.
- `max_db_size`: kuzu requires an int, LadybugDB also takes None; both get the same bound here.

The engine is chosen by argument, else by `GRAPHIAM_ENGINE`, else kuzu (`engine_name`).
"""

from __future__ import annotations

import importlib
import importlib.util  # kuzu 0.11.3 uses importlib.util without importing it
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphiam.errors import StoreError

ENGINES = ("kuzu", "ladybug")
DEFAULT_ENGINE = "kuzu"
ENGINE_ENV = "GRAPHIAM_ENGINE"
MAX_DB_SIZE = 1 << 34  # both engines' default maps 8 TiB of address space


@dataclass(frozen=True)
class Engine:
    """One engine's Python package and the facts in which it differs from the other."""

    name: str
    module: Any
    copy_rollback_loses_rel_rows: bool
    label_key: str  # the key of a whole node's or relationship's label in a returned dict
    # the buffer pool a database gets when neither the caller nor GRAPHIAM_BUFFER_POOL_MB names one: LadybugDB
    # needs about twice kuzu's for the same graph (docs/ENGINE.md: 512 MiB failed a 10,000-principal load)
    default_buffer_pool_mb: int

    def open(self, path: str | None, *, buffer_pool_mb: int, read_only: bool) -> Any:
        """The engine's `Database` (`None`: in memory)."""
        if path is None:
            # kuzu reads ":memory:" as in-memory; LadybugDB reads it the same way (and also None)
            path = ":memory:"
        return self.module.Database(
            path, buffer_pool_size=buffer_pool_mb << 20, max_db_size=MAX_DB_SIZE, read_only=read_only
        )

    def connect(self, database: Any, *, query_timeout_ms: int) -> Any:
        """A connection for one thread (`num_threads=1`: small machines, several requests at once)."""
        conn = self.module.Connection(database, num_threads=1)
        conn.set_query_timeout(query_timeout_ms)
        return conn

    def set_timeout(self, conn: Any, query_timeout_ms: int) -> None:
        """Bound each statement of `conn` to `query_timeout_ms` (0: no bound, on both engines)."""
        conn.set_query_timeout(query_timeout_ms)


_FACTS: dict[str, dict[str, Any]] = {
    "kuzu": {"copy_rollback_loses_rel_rows": True, "label_key": "_label", "default_buffer_pool_mb": 512},
    "ladybug": {"copy_rollback_loses_rel_rows": False, "label_key": "_LABEL", "default_buffer_pool_mb": 1024},
}


def engine_name(name: str | None = None) -> str:
    """The engine to use: `name`, else `GRAPHIAM_ENGINE`, else kuzu; an unknown name is a `StoreError`."""
    chosen = name or os.environ.get(ENGINE_ENV) or DEFAULT_ENGINE
    if chosen not in ENGINES:
        raise StoreError(f"unknown graph engine `{chosen}` (choose one of: {', '.join(ENGINES)})")
    return chosen


def load_engine(name: str | None = None) -> Engine:
    """Import the chosen engine (see `engine_name`); refuses a second engine in a process."""
    chosen = engine_name(name)
    others = [e for e in ENGINES if e != chosen and e in sys.modules]
    if others:
        raise StoreError(
            f"cannot use {chosen}: {others[0]} is already loaded in this process "
            "(the two engines cannot share a process)"
        )
    try:
        module = importlib.import_module(chosen)
    except ImportError:
        raise StoreError(
            f"graph engine `{chosen}` is not installed (pip install 'graphiam[{chosen}]')"
        ) from None
    return Engine(name=chosen, module=module, **_FACTS[chosen])


def marker_path(db_path: str | Path) -> Path:
    """The file beside a database that names the engine that made it (`<db>.engine`)."""
    return Path(f"{db_path}.engine")


def recorded_engine(db_path: str | Path) -> str | None:
    """The engine that made the database at `db_path` (None: there is none). A database without a marker
    predates the choice of engines, so kuzu made it."""
    if not Path(db_path).exists():
        return None
    marker = marker_path(db_path)
    if not marker.exists():
        return "kuzu"
    return marker.read_text(encoding="utf-8").strip() or "kuzu"


def check_engine(db_path: str | Path, engine: str) -> None:
    """Refuse, in one line, to open a database made by the other engine."""
    made_by = recorded_engine(db_path)
    if made_by is not None and made_by != engine:
        raise StoreError(
            f"database `{db_path}` was made by {made_by}, not {engine}: open it with --engine {made_by} "
            f"(or GRAPHIAM_ENGINE={made_by}), or copy it with "
            f"`graphiam migrate --to {engine} {db_path} NEW_PATH`"
        )


def write_marker(db_path: str | Path, engine: str) -> None:
    """Record which engine made the database at `db_path`."""
    marker = marker_path(db_path)
    if not marker.exists():
        marker.write_text(engine + "\n", encoding="utf-8")
