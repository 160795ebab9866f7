"""Cypher for escalation: the facts the derivation needs beyond the snapshot, ESCALATES_TO writes, path reads.

Path search reads every CAN_ASSUME and ESCALATES_TO edge, every fan-out edge (ESCALATES_TO_EACH, one actor to
an EscalationTargets set) and the sets' target lists once per database generation (`path_edges`, `fan_edges`,
`target_sets`); permissions and details only for the steps of the paths returned.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from graphiam.store.db import Database

_EDGE = pa.schema(
    [
        ("from", pa.string()),
        ("to", pa.string()),
        ("technique", pa.string()),
        ("permissions", pa.string()),
        ("details", pa.string()),
    ]
)
_PAIRS = (("User", "User"), ("User", "Role"), ("Role", "Role"), ("Role", "User"))


# ---- facts for the derivation ----


def group_policy_arns(db: Database) -> list[dict[str, Any]]:
    """Every group with the identity policies attached to it (managed and inline), in no set order
    (`collect`'s order is the engine's: kuzu's hash aggregate and LadybugDB's differ; the caller sorts)."""
    rows = db.execute(
        "MATCH (g:IAMGroup) OPTIONAL MATCH (p:Policy)-[a:ATTACHED_TO]->(g) "
        "RETURN g.arn AS arn, g.account AS account, g.name AS name, "
        "collect(p.arn) AS policies"
    )
    return [
        {"arn": r["arn"], "account": r["account"], "name": r["name"], "policies": r["policies"] or []}
        for r in rows
    ]


def non_default_versions(db: Database) -> list[dict[str, Any]]:
    """Stored versions that are not the default, of customer-managed policies."""
    return db.execute(
        "MATCH (p:Policy)-[:HAS_VERSION]->(v:PolicyVersion) "
        "WHERE p.kind = 'customer-managed' AND v.is_default = false AND v.document IS NOT NULL "
        "RETURN p.arn AS policy, v.version_id AS version, v.document AS document "
        "ORDER BY p.arn, v.version_id"
    )


def user_credentials(db: Database) -> list[dict[str, Any]]:
    return db.execute(
        "MATCH (u:User) RETURN u.arn AS arn, u.password_enabled AS password_enabled, "
        "u.access_keys_active AS access_keys"
    )


# ---- writes (inside the load transaction) ----


def replace_edges(
    db: Database,
    accounts: Iterable[str],
    rows: Sequence[dict[str, Any]],
    kinds: dict[str, str],
    *,
    sets: Sequence[dict[str, Any]] = (),
    fans: Sequence[dict[str, Any]] = (),
) -> None:
    """Delete the ESCALATES_TO and ESCALATES_TO_EACH edges leaving principals of `accounts` and their
    EscalationTargets sets, then write `rows` (`kinds`: arn → User|Role), `sets` (id, account, technique,
    targets, parts) and `fans` (from, to = set id, technique, permissions, details)."""
    params = {"accounts": sorted(set(accounts))}
    db.execute("MATCH (a)-[e:ESCALATES_TO]->() WHERE a.account IN $accounts DELETE e", params)
    db.execute("MATCH (a)-[e:ESCALATES_TO_EACH]->() WHERE a.account IN $accounts DELETE e", params)
    db.execute("MATCH (s:EscalationTargets) WHERE s.account IN $accounts DETACH DELETE s", params)
    for src, dst in _PAIRS:
        part = [r for r in rows if kinds.get(r["from"]) == src and kinds.get(r["to"]) == dst]
        if part:
            db.copy_from("ESCALATES_TO", pa.Table.from_pylist(part, schema=_EDGE), rel_pair=(src, dst))
    for s in sets:  # a few hundred at most (one per distinct reach), so no COPY into a non-empty node table
        db.execute(
            "CREATE (:EscalationTargets {id: $id, account: $account, technique: $technique, "
            "targets: $targets, parts: $parts})",
            s,
        )
    for src in ("User", "Role"):
        part = [r for r in fans if kinds.get(r["from"]) == src]
        if part:
            db.copy_from(
                "ESCALATES_TO_EACH",
                pa.Table.from_pylist(part, schema=_EDGE),
                rel_pair=(src, "EscalationTargets"),
            )


# ---- reads ----


def path_edges(db: Database) -> list[dict[str, Any]]:
    """Every CAN_ASSUME and ESCALATES_TO edge, for the in-memory path search (`queries.escalation`), without
    the statements and details JSON (`assume_statements` and `escalation_details` fetch them for the steps of
    the paths returned; at 10,000 principals 1.5 million CAN_ASSUME edges with their statements overflow a
    512 MB buffer pool).

    Paths are searched in Python over this adjacency: kuzu's `ACYCLIC` enumeration multiplies parallel
    edges (one per technique) at every hop and ran the buffer pool out at depth 5 on a 100-principal test
    bed, and `SHORTEST` over the CAN_ASSUME|ESCALATES_TO group returned misaligned node and rel lists.
    """
    return [*iter_path_edges(db)]


def iter_path_edges(db: Database) -> Iterator[dict[str, Any]]:
    """`path_edges` one row at a time, read as Arrow with node ids in place of ARNs (named from one read of
    the nodes): no row dicts held at once, and each name and conditions JSON one Python object however many
    edges repeat it (1.6 million CAN_ASSUME edges at 10,000 principals took 1.5 GB as rows, 330 MB as Arrow
    with ARNs)."""
    nodes = db.execute_arrow("MATCH (a) RETURN id(a) AS id, coalesce(a.arn, a.name) AS name")
    names: dict[int, str] = {}
    for batch in nodes.to_batches():
        for key, name in zip(_node_keys(batch.column(0)), batch.column(1).to_pylist(), strict=True):
            if name is not None:
                names[key] = name
    del nodes
    shared: dict[Any, Any] = {}
    # an edge names its reason (AssumeReason, a few thousand for a million edges): each reason's conditions
    # are read once
    reasons = {
        r["id"]: r["conditions"]
        for r in db.execute("MATCH (r:AssumeReason) RETURN r.id AS id, r.conditions AS conditions")
    }
    assume = db.execute_arrow(
        "MATCH (a)-[e:CAN_ASSUME]->(b) RETURN id(a) AS source, id(b) AS target, "
        "e.action AS action, e.reason AS reason"
    )
    for row in _rows(assume, "CAN_ASSUME", names, shared):
        row["conditions"] = reasons.get(row.pop("reason"))
        yield row
    del assume
    escalate = db.execute_arrow(
        "MATCH (a)-[e:ESCALATES_TO]->(b) RETURN id(a) AS source, id(b) AS target, e.technique AS technique"
    )
    yield from _rows(escalate, "ESCALATES_TO", names, shared)


@dataclass(frozen=True, kw_only=True)
class PathEdgeColumns:
    """Every CAN_ASSUME and ESCALATES_TO edge over node numbers (`names[i]`: node i's ARN, or a service
    principal's name), sorted two ways: by source then target (`out_*`: node i's edges out are at positions
    `out_start[i]:out_start[i + 1]`) and by target then source (`in_*`). An edge's label is an index into
    `labels`: (kind, technique, action, conditions JSON), with technique None for CAN_ASSUME and action and
    conditions None for ESCALATES_TO. `marked`: (source, target) of the ESCALATES_TO edges whose technique is
    one of those asked for."""

    names: list[str]
    labels: list[tuple[str, str | None, str | None, str | None]]
    out_start: array[int]
    out_target: array[int]
    out_label: array[int]
    in_start: array[int]
    in_source: array[int]
    in_label: array[int]
    marked: list[tuple[int, int]]


_NODES = (("User", "arn"), ("Role", "arn"), ("ServicePrincipal", "name"), ("ExternalPrincipal", "arn"))
_ASSUME_PAIRS = (
    ("User", "Role"),
    ("Role", "Role"),
    ("ServicePrincipal", "Role"),
    ("ExternalPrincipal", "Role"),
)
_ASSUME = "sts:AssumeRole"  # nearly every CAN_ASSUME edge's action: read as null (no string per edge)
_ONE_CHUNK = 1 << 26  # rows per Arrow batch: one batch, so no column is copied to be made whole


def path_edge_columns(db: Database, marked: Collection[str] = ()) -> PathEdgeColumns:
    """The edges path search walks, read as Arrow and numbered, sorted and grouped there (no Python object
    per edge: 1.6 million CAN_ASSUME edges at 10,000 principals took 10 s as row dicts and 19 s more as
    objects). Each (source table, target table) pair is read on its own, nodes by their offset in their
    table. `marked`: techniques whose edges are listed in `marked` too."""
    tables: dict[str, tuple[Any, Any]] = {}  # table -> (offsets, names)
    for table, key in _NODES:
        t = db.execute_arrow(
            f"MATCH (a:{table}) RETURN offset(id(a)) AS o, a.{key} AS name", chunk_size=_ONE_CHUNK
        )
        tables[table] = (_flat(t.column("o")).cast(pa.int64()), _flat(t.column("name")))
    # numbered in name order (edges sorted by number are sorted by ARN); nodes of one name are one
    unique = pc.unique(pa.concat_arrays([names for _, names in tables.values()]))
    unique = unique.take(pc.sort_indices(unique))
    names = [str(x) for x in unique.to_pylist()]
    number: dict[str, Any] = {}  # table -> node number by offset
    for table, (offsets, tnames) in tables.items():
        size = int(pc.max(offsets).as_py()) + 1 if len(offsets) else 0
        numbers = pc.index_in(tnames, value_set=unique).cast(pa.int32())
        number[table] = (
            numbers.take(pc.sort_indices(offsets))
            if len(offsets) == size
            else _scatter(offsets, numbers, size)
        )
    reasons = {
        r["id"]: r["conditions"]
        for r in db.execute("MATCH (r:AssumeReason) RETURN r.id AS id, r.conditions AS conditions")
    }
    labels: list[tuple[str, str | None, str | None, str | None]] = []
    label_of: dict[tuple[str | None, str | None], int] = {}  # (action, reason id) -> label number
    sources, targets, label_cols = [], [], []
    for src, dst in _ASSUME_PAIRS:  # one pair's rows held at a time (their reason strings are most of it)
        t = db.execute_arrow(
            f"MATCH (a:{src})-[e:CAN_ASSUME]->(b:{dst}) RETURN offset(id(a)) AS s, offset(id(b)) AS t, "
            "CASE WHEN e.action = $assume THEN NULL ELSE e.action END AS action, e.reason AS reason",
            {"assume": _ASSUME},
            chunk_size=_ONE_CHUNK,
        )
        if not t.num_rows:
            continue
        sources.append(number[src].take(_flat(t.column("s"))))
        targets.append(number[dst].take(_flat(t.column("t"))))
        action = pc.dictionary_encode(_flat(t.column("action")))
        reason = pc.dictionary_encode(_flat(t.column("reason")))
        del t
        # an (action, reason) pair as one number: its positions in the two dictionaries (null: the last)
        width = len(reason.dictionary) + 1
        a_idx = pc.fill_null(action.indices.cast(pa.int64()), len(action.dictionary))
        r_idx = pc.fill_null(reason.indices.cast(pa.int64()), len(reason.dictionary))
        enc = pc.dictionary_encode(pc.add(pc.multiply(a_idx, pa.scalar(width, pa.int64())), r_idx))
        actions = [*action.dictionary.to_pylist(), None]
        reason_ids = [*reason.dictionary.to_pylist(), None]
        local = []
        for code in enc.dictionary.to_pylist():
            act, rid = actions[code // width], reason_ids[code % width]
            n = label_of.get((act, rid))
            if n is None:
                n = label_of[(act, rid)] = len(labels)
                labels.append(("CAN_ASSUME", None, act or _ASSUME, reasons.get(rid) if rid else None))
            local.append(n)
        label_cols.append(pa.array(local, pa.int32()).take(enc.indices))
    marked_pairs: list[tuple[int, int]] = []
    escalated = []
    for src, dst in _PAIRS:
        t = db.execute_arrow(
            f"MATCH (a:{src})-[e:ESCALATES_TO]->(b:{dst}) RETURN offset(id(a)) AS s, offset(id(b)) AS t, "
            "e.technique AS technique",
            chunk_size=_ONE_CHUNK,
        )
        if t.num_rows:
            escalated.append(
                (number[src].take(_flat(t.column("s"))), number[dst].take(_flat(t.column("t"))), t)
            )
    if escalated:
        technique = pa.concat_arrays([_flat(t.column("technique")) for _, _, t in escalated])
        src_all = pa.concat_arrays([x for x, _, _ in escalated])
        dst_all = pa.concat_arrays([y for _, y, _ in escalated])
        enc = pc.dictionary_encode(technique)
        base = len(labels)
        labels += [("ESCALATES_TO", t, None, None) for t in enc.dictionary.to_pylist()]
        sources.append(src_all)
        targets.append(dst_all)
        label_cols.append(pc.add(enc.indices.cast(pa.int32()), pa.scalar(base, pa.int32())))
        if marked:
            hit = pc.is_in(technique, value_set=pa.array(sorted(marked), pa.string()))
            marked_pairs = list(
                zip(pc.filter(src_all, hit).to_pylist(), pc.filter(dst_all, hit).to_pylist(), strict=True)
            )
    source = pa.concat_arrays(sources) if sources else pa.array([], pa.int32())
    target = pa.concat_arrays(targets) if targets else pa.array([], pa.int32())
    label = pa.concat_arrays(label_cols) if label_cols else pa.array([], pa.int32())
    # by source then target: the two numbers as one int64 key (edges come mostly grouped by source already);
    # by target then source: a stable sort of the targets in that order (one small-range integer sort)
    wide_s, wide_t = source.cast(pa.int64()), target.cast(pa.int64())
    by_source = pc.sort_indices(pc.add(pc.shift_left(wide_s, pa.scalar(32, pa.int64())), wide_t))
    by_target = by_source.take(pc.sort_indices(target.take(by_source)))
    return PathEdgeColumns(
        names=names,
        labels=labels,
        out_start=_starts(source.take(by_source), len(names)),
        out_target=_ints(target.take(by_source)),
        out_label=_ints(label.take(by_source)),
        in_start=_starts(target.take(by_target), len(names)),
        in_source=_ints(source.take(by_target)),
        in_label=_ints(label.take(by_target)),
        marked=marked_pairs,
    )


def _flat(column: Any) -> Any:
    """A column as one array."""
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _scatter(offsets: Any, numbers: Any, size: int) -> Any:
    """`size` values where offset o holds the number of the node at o (-1 where no node is: a table whose
    node offsets have holes)."""
    out = array("i", [-1]) * size
    for o, n in zip(offsets.to_pylist(), numbers.to_pylist(), strict=True):
        out[o] = n
    return pa.array(out, pa.int32())


def _ints(column: Any) -> array[int]:
    """An int32 column without nulls as an `array` (one copy of its buffer, no Python int per value)."""
    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if col.null_count:
        raise ValueError("a node number is missing")
    out = array("i")
    if len(col):
        out.frombytes(memoryview(col.buffers()[1])[col.offset * 4 : (col.offset + len(col)) * 4])
    return out


def _starts(sorted_keys: Any, n: int) -> array[int]:
    """CSR offsets over n numbers of a sorted int32 column: number i's rows are at [start[i], start[i+1])."""
    col = sorted_keys.combine_chunks() if isinstance(sorted_keys, pa.ChunkedArray) else sorted_keys
    starts = array("i", [0]) * (n + 1)
    if len(col):
        runs = pc.run_end_encode(col)
        end = 0
        for value, run_end in zip(runs.values.to_pylist(), runs.run_ends.to_pylist(), strict=True):
            starts[value + 1] = run_end - end
            end = run_end
    for i in range(n):
        starts[i + 1] += starts[i]
    return starts


def _node_keys(ids: Any) -> list[int]:
    """Kuzu node ids (struct of table and offset) as ints."""
    return [
        t << 40 | o
        for t, o in zip(ids.field("table").to_pylist(), ids.field("offset").to_pylist(), strict=True)
    ]


def _rows(table: Any, kind: str, names: dict[int, str], shared: dict[Any, Any]) -> Iterator[dict[str, Any]]:
    cols_names = table.column_names
    for batch in table.to_batches():
        cols: list[list[Any]] = []
        for name, col in zip(cols_names, batch.columns, strict=True):
            if name in ("source", "target"):
                cols.append([names.get(k) for k in _node_keys(col)])
                continue
            enc = pc.dictionary_encode(col)
            values = [shared.setdefault(v, v) for v in enc.dictionary.to_pylist()]
            cols.append([None if i is None else values[i] for i in enc.indices.to_pylist()])
        for row in zip(*cols, strict=True):
            out = dict(zip(cols_names, row, strict=True))
            out["kind"] = kind
            yield out


def assume_statements(db: Database, sources: Sequence[str], targets: Sequence[str]) -> list[dict[str, Any]]:
    """The statements JSON of the CAN_ASSUME edges from `sources` to `targets` (path steps, on demand)."""
    return db.execute(
        "MATCH (a)-[e:CAN_ASSUME]->(b:Role), (r:AssumeReason) WHERE coalesce(a.arn, a.name) IN $sources "
        "AND b.arn IN $targets AND r.id = e.reason RETURN coalesce(a.arn, a.name) AS source, "
        "b.arn AS target, e.action AS action, r.statements AS statements",
        {"sources": list(sources), "targets": list(targets)},
    )


def escalation_details(
    db: Database, sources: Sequence[str] | None = None, targets: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The escalation edges leaving `sources` (all when None), and reaching `targets` when given, with their
    permissions and details JSON."""
    params: dict[str, Any] = {}
    where = []
    if sources is not None:
        where.append("a.arn IN $sources")
        params["sources"] = list(sources)
    if targets is not None:
        where.append("b.arn IN $targets")
        params["targets"] = list(targets)
    return db.execute(
        "MATCH (a)-[e:ESCALATES_TO]->(b) "
        + ("WHERE " + " AND ".join(where) + " " if where else "")
        + "RETURN a.arn AS source, b.arn AS target, "
        "e.technique AS technique, e.permissions AS permissions, e.details AS details",
        params or None,
    )


def fan_edges(db: Database) -> list[dict[str, Any]]:
    """Every fan-out edge: source ARN, set id (`targets`), technique."""
    return db.execute(
        "MATCH (a)-[e:ESCALATES_TO_EACH]->(s:EscalationTargets) RETURN a.arn AS source, "
        "s.id AS targets, e.technique AS technique"
    )


def fan_details(db: Database, sources: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The fan-out edges leaving `sources` (all when None), with their permissions and details JSON."""
    where = "" if sources is None else "WHERE a.arn IN $sources "
    return db.execute(
        "MATCH (a)-[e:ESCALATES_TO_EACH]->(s:EscalationTargets) "
        + where
        + "RETURN a.arn AS source, s.id AS targets, e.technique AS technique, "
        "e.permissions AS permissions, e.details AS details",
        None if sources is None else {"sources": list(sources)},
    )


def target_sets(db: Database, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """EscalationTargets sets: id and targets JSON (all), or with their parts JSON too (`ids`)."""
    if ids is None:
        return db.execute("MATCH (s:EscalationTargets) RETURN s.id AS id, s.targets AS targets")
    return db.execute(
        "MATCH (s:EscalationTargets) WHERE s.id IN $ids RETURN s.id AS id, s.account AS account, "
        "s.technique AS technique, s.targets AS targets, s.parts AS parts",
        {"ids": list(ids)},
    )
