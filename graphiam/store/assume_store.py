"""Cypher for CAN_ASSUME: replacing derived edges inside the load transaction, and the recursive reads.

Writes use COPY from pyarrow (per-row `UNWIND … MATCH … CREATE` of edges runs at ~100 rows/s). Recursive reads
always carry an explicit, validated upper bound (without one kuzu silently stops at 30 hops): `SHORTEST`
answers reachability (a BFS). `ALL SHORTEST` is never used: it crashes when the destination is the source.
Chains are enumerated one hop per query (`out_edges`) by graphiam.queries.chains: kuzu's `ACYCLIC` enumerates
every path before a LIMIT applies, which on a dense graph (10,000 principals, ~900k edges) exceeds the 3 s
query timeout at depth 3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from graphiam.errors import InputError, StoreError
from graphiam.store.db import Database

SOURCE_TABLES = ("User", "Role", "ServicePrincipal", "ExternalPrincipal")
_KEY = {"User": "arn", "Role": "arn", "ServicePrincipal": "name", "ExternalPrincipal": "arn"}
MAX_DEPTH = 10
COPY_CHUNK = 100_000
S = pa.string()
_EDGE = pa.schema([("from", S), ("to", S), ("action", S), ("reason", S), ("needs_conditions", pa.bool_())])
_REASON = pa.schema([("id", S), ("statements", S), ("conditions", S)])


def depth_bound(max_depth: int) -> int:
    """The only value ever formatted into Cypher: an int in 1..MAX_DEPTH."""
    if type(max_depth) is not int or not 1 <= max_depth <= MAX_DEPTH:
        raise InputError(f"`maxDepth` must be an integer between 1 and {MAX_DEPTH}, got {max_depth!r}")
    return max_depth


# ---- writes (inside the caller's transaction) ----


def loaded_accounts(db: Database) -> list[str]:
    return [r["id"] for r in db.execute("MATCH (a:Account) RETURN a.id AS id")]


def delete_edges(db: Database, *, role_arns: Sequence[str], accounts: Sequence[str]) -> None:
    """Remove every edge into `role_arns` and every edge out of a user or role of `accounts`."""
    if role_arns:  # one primary-key lookup per role (`IN` would compare every edge's role with every ARN)
        db.execute(
            "UNWIND $roles AS k MATCH ()-[e:CAN_ASSUME]->(r:Role {arn: k}) DELETE e",
            {"roles": list(dict.fromkeys(role_arns))},
        )
    for table in ("User", "Role"):
        db.execute(
            f"MATCH (s:{table})-[e:CAN_ASSUME]->(:Role) WHERE s.account IN $accounts DELETE e",
            {"accounts": list(accounts)},
        )


def delete_edges_from(db: Database, *, role_arns: Sequence[str], accounts: Sequence[str]) -> None:
    """Remove the edges into `role_arns` from a user, role or external principal of `accounts`."""
    if not role_arns or not accounts:
        return
    params = {"roles": list(dict.fromkeys(role_arns)), "accounts": list(accounts)}
    for table in ("User", "Role", "ExternalPrincipal"):
        db.execute(
            f"UNWIND $roles AS k MATCH (s:{table})-[e:CAN_ASSUME]->(r:Role {{arn: k}}) "
            "WHERE s.account IN $accounts DELETE e",
            params,
        )


def write_reasons(db: Database, reasons: Mapping[str, tuple[str, str]]) -> None:
    """Create the AssumeReason nodes of `reasons` (id -> (statements, conditions)) not stored yet. An id is a
    digest of its content, so a stored one must hold the same content: anything else is refused."""
    if not reasons:
        return
    have = read_reasons(db, list(reasons))
    for rid, content in have.items():
        if content != reasons[rid]:
            raise StoreError(f"edge reason id `{rid}` is stored with other content (digest collision)")
    new = [(rid, st, co) for rid, (st, co) in reasons.items() if rid not in have]
    if new:
        cols = list(zip(*new, strict=True))
        db.copy_from(
            "AssumeReason", pa.Table.from_arrays([pa.array(c, type=S) for c in cols], schema=_REASON)
        )


def write_edges(
    db: Database,
    columns: dict[str, dict[str, list[Any]]],
    nodes: Mapping[str, tuple[str, str, str | None]],
    reasons: Mapping[str, tuple[str, str]],
) -> None:
    """COPY edges (per source table, as columns; `columns` is emptied) after creating the service/external
    nodes they start from and the reasons they name. `nodes`: id -> (table, kind, account); `reasons`: id ->
    (statements, conditions)."""
    write_reasons(db, reasons)
    services = [n for n, (table, _, _) in nodes.items() if table == "ServicePrincipal"]
    externals = {n: (kind, acct) for n, (table, kind, acct) in nodes.items() if table == "ExternalPrincipal"}
    if services:
        have = {
            r["k"]
            for r in db.execute(
                "MATCH (s:ServicePrincipal) WHERE s.name IN $k RETURN s.name AS k", {"k": services}
            )
        }
        new_services = [{"name": n} for n in services if n not in have]
        db.copy_from("ServicePrincipal", pa.Table.from_pylist(new_services, schema=pa.schema([("name", S)])))
    if externals:
        have = {
            r["k"]
            for r in db.execute(
                "MATCH (s:ExternalPrincipal) WHERE s.arn IN $k RETURN s.arn AS k", {"k": list(externals)}
            )
        }
        new_externals = [
            {"arn": a, "kind": k, "account": acct} for a, (k, acct) in externals.items() if a not in have
        ]
        db.copy_from(
            "ExternalPrincipal",
            pa.Table.from_pylist(new_externals, schema=pa.schema([("arn", S), ("kind", S), ("account", S)])),
        )
    # in chunks: the Arrow copy of ~900k edges' strings is ~100 MB; emptied as written
    for table in list(columns):
        cols = columns.pop(table)
        for start in range(0, len(cols["from"]), COPY_CHUNK):
            arrays = [pa.array(cols[f.name][start : start + COPY_CHUNK], type=f.type) for f in _EDGE]
            db.copy_from("CAN_ASSUME", pa.Table.from_arrays(arrays, schema=_EDGE), rel_pair=(table, "Role"))
        del cols


def drop_orphans(db: Database) -> None:
    """Service and external principals exist only as edge sources, reasons only for edges: drop those left
    without an edge."""
    for table in ("ServicePrincipal", "ExternalPrincipal"):
        db.execute(f"MATCH (s:{table}) WHERE NOT EXISTS {{ MATCH (s)-[:CAN_ASSUME]->(:Role) }} DELETE s")
    used = {r["id"] for r in db.execute("MATCH ()-[e:CAN_ASSUME]->() RETURN DISTINCT e.reason AS id")}
    # the unused ones found here and deleted by primary key: `NOT r.id IN $used` compares every reason with
    # every used one (tens of thousands each in a large organisation)
    have = {r["id"] for r in db.execute("MATCH (r:AssumeReason) RETURN r.id AS id")}
    if have - used:
        db.execute("UNWIND $ids AS k MATCH (r:AssumeReason {id: k}) DELETE r", {"ids": sorted(have - used)})


# ---- reads ----


def read_reasons(db: Database, ids: Sequence[str] | None = None) -> dict[str, tuple[str, str]]:
    """AssumeReason id -> (statements, conditions), for `ids` (all when None)."""
    if ids is None:
        rows = db.execute("MATCH (r:AssumeReason) RETURN r.id AS id, r.statements AS s, r.conditions AS c")
    else:
        rows = db.execute(
            "UNWIND $ids AS k MATCH (r:AssumeReason {id: k}) RETURN r.id AS id, r.statements AS s, "
            "r.conditions AS c",
            {"ids": list(dict.fromkeys(ids))},
        )
    return {r["id"]: (r["s"], r["c"]) for r in rows}


def with_reasons(db: Database, rows: list[dict[str, Any]], key: str = "reason") -> list[dict[str, Any]]:
    """`rows` (each naming a reason id under `key`, which is removed) with their `statements` and
    `conditions`."""
    reasons = read_reasons(db, [r[key] for r in rows])
    for r in rows:
        r["statements"], r["conditions"] = reasons[r.pop(key)]
    return rows


def all_edges(db: Database) -> list[dict[str, Any]]:
    """Every edge: from, from_table, to, action, statements, conditions, needs_conditions."""
    out = []
    for table in SOURCE_TABLES:
        out += db.execute(
            f"MATCH (s:{table})-[e:CAN_ASSUME]->(r:Role) "
            f"RETURN s.{_KEY[table]} AS `from`, '{table}' AS from_table, "
            "r.arn AS `to`, e.action AS action, e.reason AS reason, e.needs_conditions AS needs_conditions"
        )
    return with_reasons(db, out)


def source_table(db: Database, key: str) -> str | None:
    """Which table holds the principal `key` (ARN, or a service principal's name)."""
    for table in SOURCE_TABLES:
        if db.execute(f"MATCH (s:{table}) WHERE s.{_KEY[table]} = $k RETURN 1 AS x LIMIT 1", {"k": key}):
            return table
    return None


def out_edges(db: Database, table: str, keys: Sequence[str]) -> list[dict[str, Any]]:
    """The edges out of `keys` (of `table`), as (src, dst, needs) rows ordered: one hop, ARNs only."""
    k = _KEY[table]
    return db.execute(
        f"MATCH (a:{table})-[e:CAN_ASSUME]->(b:Role) WHERE a.{k} IN $keys "
        f"RETURN a.{k} AS src, b.arn AS dst, e.needs_conditions AS needs ORDER BY src, dst",
        {"keys": list(keys)},
    )


def edge_details(
    db: Database, table: str, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Properties of the edges (a, b) for `pairs` whose source is in `table`. One query over the sources'
    edges to the named targets (a per-pair `UNWIND ... MATCH` scans the relationship table: ~0.3-0.6 s per
    call on ~900k edges), then the pairs are picked."""
    if not pairs:
        return {}
    k = _KEY[table]
    rows = db.execute(
        f"MATCH (a:{table})-[e:CAN_ASSUME]->(b:Role) WHERE a.{k} IN $as AND b.arn IN $bs "
        f"RETURN a.{k} AS a, b.arn AS b, e.action AS action, e.reason AS reason, "
        "e.needs_conditions AS needs, b.trust_policy AS trust",
        {"as": list(dict.fromkeys(a for a, _ in pairs)), "bs": list(dict.fromkeys(b for _, b in pairs))},
    )
    wanted = set(pairs)
    return {(r["a"], r["b"]): r for r in with_reasons(db, [r for r in rows if (r["a"], r["b"]) in wanted])}


def reachable_roles(
    db: Database, table: str, key: str, *, max_depth: int, unconditional: bool = False
) -> dict[str, int]:
    """Role ARN -> fewest hops from `key` (BFS); `unconditional`: only over hops that need no condition."""
    n = depth_bound(max_depth)
    filt = " (r, _n | WHERE r.needs_conditions = false)" if unconditional else ""
    rows = db.execute(
        f"MATCH (a:{table})-[e:CAN_ASSUME* SHORTEST 1..{n}{filt}]->(b:Role) WHERE a.{_KEY[table]} = $k "
        "AND b.arn <> $k RETURN b.arn AS role, length(e) AS depth",
        {"k": key},
    )
    return {r["role"]: int(r["depth"]) for r in rows}


def reaching_principals(
    db: Database, role: str, *, max_depth: int, unconditional: bool = False
) -> dict[tuple[str, str], int]:
    """(source table, key) -> fewest hops to `role`, for every principal that can reach it."""
    n = depth_bound(max_depth)
    filt = " (r, _n | WHERE r.needs_conditions = false)" if unconditional else ""
    out: dict[tuple[str, str], int] = {}
    for table in SOURCE_TABLES:
        rows = db.execute(
            f"MATCH (b:Role)<-[e:CAN_ASSUME* SHORTEST 1..{n}{filt}]-(a:{table}) WHERE b.arn = $k "
            f"AND a.{_KEY[table]} <> $k RETURN a.{_KEY[table]} AS who, length(e) AS depth",
            {"k": role},
        )
        out.update({(table, r["who"]): int(r["depth"]) for r in rows})
    return out


def external_edges(db: Database) -> list[dict[str, Any]]:
    """CAN_ASSUME edges from principals outside the loaded accounts (ExternalPrincipal: another account's root
    or principal, a federated provider, `*`), with their reasons and the role's account and trust text."""
    rows = db.execute(
        "MATCH (s:ExternalPrincipal)-[e:CAN_ASSUME]->(r:Role) RETURN s.arn AS principal, s.kind AS kind, "
        "s.account AS principal_account, r.arn AS role, r.account AS account, e.action AS action, "
        "e.reason AS reason, e.needs_conditions AS needs, r.trust_policy AS trust "
        "ORDER BY role, principal, action"
    )
    return with_reasons(db, rows)
