"""Applies the graph schema (graphiam/data/graph.cypher, linked from schema/graph.cypher) and checks its
version."""

from __future__ import annotations

import re
from importlib import resources

from graphiam.errors import SchemaVersionError
from graphiam.store.db import Database


def ddl_text() -> str:
    return resources.files("graphiam").joinpath("data/graph.cypher").read_text(encoding="utf-8")


def schema_version() -> str:
    m = re.search(r"schema_version:\s*(\d+)", ddl_text())
    assert m, "graph.cypher must declare its schema_version"
    return m.group(1)


def statements() -> list[str]:
    lines = [ln for ln in ddl_text().splitlines() if not ln.lstrip().startswith("//")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def ensure_schema(db: Database) -> None:
    """Create the tables of a new database, or check that an existing one has this schema version."""
    want = schema_version()
    tables = {r["name"] for r in db.execute("CALL show_tables() RETURN name")}
    if "Meta" in tables:
        rows = db.execute("MATCH (m:Meta {key: $k}) RETURN m.value AS v", {"k": "schema_version"})
        have = rows[0]["v"] if rows else None
        if have != want:
            raise SchemaVersionError(
                f"database `{db.path}` has graph schema version `{have}`, this graphiam needs `{want}`: "
                "reload your exports into a new database directory"
            )
        return
    if tables:
        raise SchemaVersionError(
            f"database `{db.path}` was not made by graphiam (tables: {', '.join(sorted(tables))})"
        )
    if db.read_only:
        raise SchemaVersionError(f"database `{db.path}` is empty and open read-only")
    with db.transaction():
        for stmt in statements():
            db.execute(stmt)
        db.execute("CREATE (:Meta {key: $k, value: $v})", {"k": "schema_version", "v": want})


def meta(db: Database, key: str) -> str | None:
    """A value of the Meta table (the schema version, `seeds`), None when not set."""
    rows = db.execute("MATCH (m:Meta {key: $k}) RETURN m.value AS v", {"k": key})
    return rows[0]["v"] if rows else None


def set_meta(db: Database, key: str, value: str) -> None:
    """Set a value of the Meta table (in its own transaction unless inside one)."""
    with db.transaction():
        db.execute("MERGE (m:Meta {key: $k}) SET m.value = $v", {"k": key, "v": value})
