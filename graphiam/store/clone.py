"""A private in-memory copy of the graph, for what-if: change it freely, read the result, throw it away.

Why a copy and not a rolled-back transaction: in kuzu 0.11.3, rolling back a transaction that COPYed into a
non-empty rel table drops every committed row of the table (the derived-edge refresh and imports COPY), and
relationships CREATEd inside a transaction are returned with wrong endpoints by non-anchored scans until the
transaction commits (tests/test_whatif.py reproduces both). A copy can commit each step and be read correctly,
and the served database, its `generation` and every cache keyed on it are never touched.

The source is read inside one read-only transaction (a consistent view, even while a writer commits) with
bulk reads to Arrow, and written with COPY (hundreds of thousands of rows a second, where per-row CREATE
manages a few thousand).
"""

from __future__ import annotations

import re

import pyarrow as pa

from graphiam.errors import StoreError
from graphiam.store.db import Database, single_result

CLONE_BUFFER_POOL_MB = 256
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SKIP = frozenset({"Meta"})  # the copy gets its own from the DDL


def _ident(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise StoreError(f"bad identifier `{name}`")
    return name


def _columns(db: Database, table: str) -> list[str]:
    return [_ident(r["name"]) for r in db.execute(f"CALL table_info('{_ident(table)}') RETURN *")]


def _arrow(db: Database, cypher: str) -> pa.Table:
    result = single_result(db.connection().execute(cypher))
    try:
        return result.get_as_arrow(chunk_size=100_000)
    finally:
        result.close()


def clone_database(db: Database, *, buffer_pool_mb: int = CLONE_BUFFER_POOL_MB) -> Database:
    """A new in-memory database holding a consistent copy of every node and relationship of `db`."""
    from graphiam.store import open_database

    tables = [(r["name"], r["type"]) for r in db.execute("CALL show_tables() RETURN *")]
    nodes = sorted(_ident(n) for n, t in tables if t == "NODE" and n not in _SKIP)
    rels = sorted(_ident(n) for n, t in tables if t == "REL")
    copy = open_database(None, buffer_pool_mb=buffer_pool_mb)
    try:
        # one consistent read view; it also holds back a writer's commit (see Database.gate) so kuzu's
        # checkpoint never waits on this read
        with db.read_transaction(), copy.transaction():
            for table in nodes:
                cols = _columns(db, table)
                data = _arrow(db, f"MATCH (n:{table}) RETURN " + ", ".join(f"n.{c} AS {c}" for c in cols))
                copy.copy_from(table, data)
            for table in rels:
                props = _columns(db, table)
                for pair in db.execute(f"CALL show_connection('{table}') RETURN *"):
                    src, dst = _ident(pair["source table name"]), _ident(pair["destination table name"])
                    spk, dpk = (
                        _ident(pair["source table primary key"]),
                        _ident(pair["destination table primary key"]),
                    )
                    data = _arrow(
                        db,
                        f"MATCH (a:{src})-[e:{table}]->(b:{dst}) RETURN a.{spk} AS `from`, "
                        f"b.{dpk} AS `to`" + "".join(f", e.{c} AS {c}" for c in props),
                    )
                    copy.copy_from(table, data, rel_pair=(src, dst))
    except BaseException:
        copy.close()
        raise
    return copy
