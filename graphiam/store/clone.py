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
from collections.abc import Iterator

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


def table_copies(db: Database) -> Iterator[tuple[str, tuple[str, str] | None, pa.Table]]:
    """Every row of `db` as Arrow: each node table (but `Meta`, which a new database gets from the DDL) as
    `(table, None, rows)`, then each relationship table once per (from, to) pair as `(table, pair, rows)`
    with the endpoints' primary keys in columns `from` and `to`. Run it inside `db.read_transaction()` for a
    consistent view."""
    tables = [(r["name"], r["type"]) for r in db.execute("CALL show_tables() RETURN *")]
    nodes = sorted(_ident(n) for n, t in tables if t == "NODE" and n not in _SKIP)
    rels = sorted(_ident(n) for n, t in tables if t == "REL")
    for table in nodes:
        cols = _columns(db, table)
        yield table, None, _arrow(db, f"MATCH (n:{table}) RETURN " + ", ".join(f"n.{c} AS {c}" for c in cols))
    for table in rels:
        props = _columns(db, table)
        for pair in db.execute(f"CALL show_connection('{table}') RETURN *"):
            src, dst = _ident(pair["source table name"]), _ident(pair["destination table name"])
            spk, dpk = _ident(pair["source table primary key"]), _ident(pair["destination table primary key"])
            data = _arrow(
                db,
                f"MATCH (a:{src})-[e:{table}]->(b:{dst}) RETURN a.{spk} AS `from`, "
                f"b.{dpk} AS `to`" + "".join(f", e.{c} AS {c}" for c in props),
            )
            yield table, (src, dst), data


def row_counts(db: Database) -> dict[str, dict[str, int]]:
    """Rows per node table (but `Meta`) under "nodes" and per relationship table under "edges": what a copy
    must reproduce."""
    out: dict[str, dict[str, int]] = {"nodes": {}, "edges": {}}
    for r in db.execute("CALL show_tables() RETURN *"):
        name, kind = _ident(r["name"]), r["type"]
        if kind == "NODE" and name not in _SKIP:
            out["nodes"][name] = db.execute(f"MATCH (n:{name}) RETURN count(n) AS c")[0]["c"]
        elif kind == "REL":
            out["edges"][name] = db.execute(f"MATCH ()-[e:{name}]->() RETURN count(e) AS c")[0]["c"]
    return out


def clone_database(db: Database, *, buffer_pool_mb: int = CLONE_BUFFER_POOL_MB) -> Database:
    """A new in-memory database holding a consistent copy of every node and relationship of `db`."""
    from graphiam.store import open_database

    copy = open_database(None, buffer_pool_mb=buffer_pool_mb, engine=db.engine.name)
    try:
        # one consistent read view; it also holds back a writer's commit (see Database.gate) so kuzu's
        # checkpoint never waits on this read
        with db.read_transaction(), copy.transaction():
            for table, pair, data in table_copies(db):
                copy.copy_from(table, data, rel_pair=pair)
    except BaseException:
        copy.close()
        raise
    return copy
