"""The import history (the `Import` table) and the bulk reads the security summary is computed from.

One `Import` row per `graphiam load`, written inside the load's transaction: when, which files, which
accounts, counts, warnings, and the compact security summary (`graphiam.queries.summary`, stored as text).
A write that is not a load (a mutation) leaves a mark in `Meta` (`changed_after_import`), so a reader knows
whether the newest import's summary still describes the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from graphiam.store.db import Database

_CHANGED = "changed_after_import"


@dataclass(frozen=True, kw_only=True)
class ImportRow:
    id: int
    at: str
    files: str  # JSON list of {name, bytes, sha256}
    accounts: tuple[str, ...]
    counts: str  # JSON object
    warnings: tuple[str, ...]


def _row(r: dict[str, Any]) -> ImportRow:
    return ImportRow(
        id=int(r["id"]),
        at=r["at"] or "",
        files=r["files"] or "[]",
        accounts=tuple(r["accounts"] or ()),
        counts=r["counts"] or "{}",
        warnings=tuple(r["warnings"] or ()),
    )


_COLUMNS = (
    "i.id AS id, i.at AS at, i.files AS files, i.accounts AS accounts, i.counts AS counts, "
    "i.warnings AS warnings"
)


# ---- writes (inside the caller's transaction) ----


def next_import_id(db: Database) -> int:
    rows = db.execute("MATCH (i:Import) RETURN max(i.id) AS m")
    top = rows[0]["m"] if rows else None
    return 1 if top is None else int(top) + 1


def write_import(
    db: Database,
    *,
    id: int,
    at: str,
    files: str,
    accounts: Sequence[str],
    counts: str,
    warnings: Sequence[str],
    summary: str,
) -> None:
    """Record an import and clear the mark of writes since the previous one."""
    db.execute(
        "CREATE (:Import {id: $id, at: $at, files: $files, accounts: $accounts, counts: $counts, "
        "warnings: $warnings, summary: $summary})",
        {
            "id": id,
            "at": at,
            "files": files,
            "accounts": list(accounts),
            "counts": counts,
            "warnings": list(warnings),
            "summary": summary,
        },
    )
    db.execute("MATCH (m:Meta {key: $k}) DELETE m", {"k": _CHANGED})


def mark_changed(db: Database, at: str) -> None:
    """Note that the graph changed after the newest import (a mutation): its summary no longer describes
    the database. The first change's time is kept."""
    if not db.execute("MATCH (m:Meta {key: $k}) RETURN m.value AS v", {"k": _CHANGED}):
        db.execute("CREATE (:Meta {key: $k, value: $v})", {"k": _CHANGED, "v": at})


# ---- reads ----


def changed_after_import(db: Database) -> str | None:
    """When the graph first changed after the newest import (None: it is as that import left it)."""
    rows = db.execute("MATCH (m:Meta {key: $k}) RETURN m.value AS v", {"k": _CHANGED})
    return rows[0]["v"] if rows else None


def imports(db: Database) -> list[ImportRow]:
    """Every recorded import, oldest first (without the summaries)."""
    return [_row(r) for r in db.execute(f"MATCH (i:Import) RETURN {_COLUMNS} ORDER BY id")]


def import_row(db: Database, id: int) -> ImportRow | None:
    rows = db.execute(f"MATCH (i:Import) WHERE i.id = $id RETURN {_COLUMNS}", {"id": id})
    return _row(rows[0]) if rows else None


def import_summary(db: Database, id: int) -> str | None:
    """The stored summary text of import `id` (None when there is no such import)."""
    rows = db.execute("MATCH (i:Import) WHERE i.id = $id RETURN i.summary AS s", {"id": id})
    return rows[0]["s"] if rows else None


def version_ids(db: Database) -> list[tuple[str, str, bool]]:
    """(policy ARN, version id, is default) of every stored managed-policy version."""
    rows = db.execute(
        "MATCH (v:PolicyVersion) RETURN v.policy_arn AS p, v.version_id AS vid, v.is_default AS d "
        "ORDER BY p, vid"
    )
    return [(r["p"], r["vid"], bool(r["d"])) for r in rows]


@dataclass(frozen=True, kw_only=True)
class Column:
    """One column of many rows: an index per row into `values`, one Python object per distinct value."""

    index: list[int]
    values: list[Any]


def assume_edges(db: Database) -> dict[str, Column]:
    """Every CAN_ASSUME edge, by column (`source`, `source_table`, `target`, `action`, `reason`), read as
    Arrow and dictionary-encoded: at 10,000 principals there are over a million edges, which as row dicts (or
    one string object per cell) would take gigabytes."""
    table = db.execute_arrow(
        "MATCH (a)-[e:CAN_ASSUME]->(b:Role) RETURN coalesce(a.arn, a.name) AS source, "
        "label(a) AS source_table, b.arn AS target, e.action AS action, e.reason AS reason"
    ).combine_chunks()
    out = {}
    for name in table.column_names:
        column = pc.dictionary_encode(table.column(name)).combine_chunks()
        out[name] = Column(index=column.indices.to_pylist(), values=column.dictionary.to_pylist())
    return out


_SOURCES = (("User", "arn"), ("Role", "arn"), ("ServicePrincipal", "name"), ("ExternalPrincipal", "arn"))
_NODES = {table: f"MATCH (a:{table}) RETURN offset(id(a)) AS o, a.{key} AS n" for table, key in _SOURCES}
_ASSUME_EDGES = {
    table: f"MATCH (a:{table})-[e:CAN_ASSUME]->(b:Role) RETURN offset(id(a)) AS s, offset(id(b)) AS t, "
    "e.action AS action, e.reason AS reason"
    for table, _ in _SOURCES
}


@dataclass(frozen=True, kw_only=True)
class AssumeEdges:
    """Every CAN_ASSUME edge, its ends as numbers: `edges` has `source` (an index into `sources`, whose
    table is the same index of `source_tables`), `target` (an index into `targets`), `action`, `reason`. At
    10,000 principals there are over a million edges: their ARNs as strings would take hundreds of MB."""

    edges: pa.Table
    sources: list[str]
    source_tables: list[str]
    targets: list[str]


def assume_edge_table(db: Database) -> AssumeEdges:
    """`AssumeEdges`, read per source table with the engine's node offsets, the names read once per node."""

    def numbered(table: str, base: int) -> tuple[list[str], pa.Array]:
        """The table's names, and per node offset its number (`base` + its place among the names)."""
        rows = db.execute_arrow(_NODES[table])
        names: list[str] = rows["n"].to_pylist()
        offsets: list[int] = rows["o"].to_pylist()
        code: list[int | None] = [None] * (max(offsets, default=-1) + 1)
        for i, o in enumerate(offsets):
            code[o] = base + i
        return names, pa.array(code, pa.int32())

    targets, target_code = numbered("Role", 0)
    sources: list[str] = []
    tables: list[str] = []
    parts = []
    for table, _ in _SOURCES:
        names, code = numbered(table, len(sources))
        sources += names
        tables += [table] * len(names)
        part = db.execute_arrow(_ASSUME_EDGES[table])
        parts.append(
            pa.table(
                {
                    "source": pc.take(code, part["s"]),
                    "target": pc.take(target_code, part["t"]),
                    "action": part["action"],
                    "reason": part["reason"],
                }
            )
        )
    return AssumeEdges(edges=pa.concat_tables(parts), sources=sources, source_tables=tables, targets=targets)


def external_principals(db: Database) -> dict[str, tuple[str, str | None]]:
    """ExternalPrincipal ARN -> (kind, account)."""
    rows = db.execute("MATCH (e:ExternalPrincipal) RETURN e.arn AS arn, e.kind AS kind, e.account AS account")
    return {r["arn"]: (r["kind"], r["account"]) for r in rows}
