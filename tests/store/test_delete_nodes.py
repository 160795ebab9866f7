"""Deleting nodes with their edges (store/writer.py `delete_nodes`): kuzu 0.11.3 leaves edges to deleted nodes
after two `DETACH DELETE`s, one at each end of a relationship table (docs/ENGINE.md); `delete_nodes` deletes
the edges first and leaves none."""

from __future__ import annotations

import pyarrow as pa

from graphiam.store import Database
from graphiam.store.writer import delete_nodes


def _graph() -> Database:
    """Ten sources and ten targets, half of each in group `a`; each source has an edge to four targets."""
    db = Database(None, buffer_pool_mb=64)
    c = db.connection()
    c.execute("CREATE NODE TABLE S(id STRING PRIMARY KEY, g STRING)")
    c.execute("CREATE NODE TABLE T(id STRING PRIMARY KEY, g STRING)")
    c.execute("CREATE REL TABLE E(FROM S TO T)")
    groups = ["a" if i % 2 else "b" for i in range(10)]
    c.execute("COPY S FROM $t", {"t": pa.table({"id": [f"s{i}" for i in range(10)], "g": groups})})
    c.execute("COPY T FROM $t", {"t": pa.table({"id": [f"t{i}" for i in range(10)], "g": groups})})
    edges = [(f"s{i}", f"t{(i + j) % 10}") for i in range(10) for j in range(0, 10, 3)]
    c.execute("COPY E FROM $t", {"t": pa.table({"from": [a for a, _ in edges], "to": [b for _, b in edges]})})
    return db


def _edges(db: Database) -> tuple[int, int]:
    """Edges a scan counts without reading the target, and edges whose target it reads."""
    return (
        db.execute("MATCH (:S)-[e:E]->(:T) RETURN count(*) AS n")[0]["n"],
        db.execute("MATCH (:S)-[e:E]->(t:T) RETURN count(t.id) AS n")[0]["n"],
    )


def test_two_detach_deletes_leave_edges_to_deleted_nodes_in_kuzu():
    db = _graph()
    try:
        with db.transaction():
            db.execute("MATCH (n:S) WHERE n.g = 'a' DETACH DELETE n")
            db.execute("MATCH (n:T) WHERE n.g = 'a' DETACH DELETE n")
        counted, read = _edges(db)
        assert read == 10  # the five `b` sources' edges to the five `b` targets
        if db.engine.name == "kuzu":
            assert counted > read  # edges from surviving sources to deleted targets
        else:
            assert counted == read
    finally:
        db.close()


def test_delete_nodes_leaves_no_edge_to_a_deleted_node():
    db = _graph()
    try:
        with db.transaction():
            delete_nodes(db, "S", "g", ["a"])
            delete_nodes(db, "T", "g", ["a"])
        assert _edges(db) == (10, 10)
        assert db.execute("MATCH (n:S) RETURN count(n) AS n")[0]["n"] == 5
        assert db.execute("MATCH (n:T) RETURN count(n) AS n")[0]["n"] == 5
    finally:
        db.close()
