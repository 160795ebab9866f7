"""Cypher for the graph view (`graphiam.queries.graph_view`): the nodes a view shows and the stored structural
edges between them (MEMBER_OF, ATTACHED_TO, HAS_ROLE). Lean rows: keys, names and a few properties, never
policy documents. CAN_ASSUME and escalation edges are not read here: the view takes them from the escalation
index (`graphiam.queries.escalation_paths`), whose storage is its own.

Every read takes its keys as `$keys` lists; `both=True` keeps the edges whose two ends are both in `keys`,
otherwise the edges with at least one end there (two anchored queries, not an OR that would scan the table).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphiam.store.db import Database

# table -> the node kind the view reports (graphiam.queries.graph_view.NODE_KINDS)
NODE_TABLES = {
    "User": "USER",
    "IAMGroup": "GROUP",
    "Role": "ROLE",
    "Policy": "POLICY",
    "InstanceProfile": "INSTANCE_PROFILE",
    "ServicePrincipal": "SERVICE_PRINCIPAL",
    "ExternalPrincipal": "EXTERNAL_PRINCIPAL",
}
# what each table returns beside its key: (column, property name in the view)
_COLUMNS = {
    "User": "n.arn AS key, n.name AS label, n.account AS account, n.path AS path, n.boundary_arn AS boundary",
    "IAMGroup": "n.arn AS key, n.name AS label, n.account AS account, n.path AS path",
    "Role": "n.arn AS key, n.name AS label, n.account AS account, n.path AS path, n.boundary_arn AS boundary",
    "Policy": "n.arn AS key, n.name AS label, n.account AS account, n.path AS path, n.kind AS policy_kind, "
    "n.missing AS missing",
    "InstanceProfile": "n.arn AS key, n.name AS label, n.account AS account, n.path AS path",
    "ServicePrincipal": "n.name AS key, n.name AS label",
    "ExternalPrincipal": "n.arn AS key, n.arn AS label, n.account AS account, n.kind AS external_kind",
}
_KEY = {"ServicePrincipal": "name"}
# tables whose nodes belong to an account (`account` property), for the whole-account view
ACCOUNT_TABLES = ("User", "IAMGroup", "Role", "Policy", "InstanceProfile")


@dataclass(frozen=True, kw_only=True)
class NodeRow:
    key: str
    table: str
    label: str
    account: str | None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class EdgeRow:
    source: str
    target: str
    kind: str  # MEMBER_OF | ATTACHED | HAS_ROLE
    how: str | None = None  # ATTACHED: identity | inline | boundary


def _node(table: str, r: dict[str, Any]) -> NodeRow:
    props = {k: v for k, v in r.items() if k not in ("key", "label", "account") and v is not None}
    return NodeRow(
        key=r["key"], table=table, label=r["label"] or r["key"], account=r.get("account"), properties=props
    )


def nodes_by_keys(db: Database, keys: Sequence[str]) -> dict[str, NodeRow]:
    """The nodes named by `keys` (ARNs, or a service principal's name), from whichever table holds them."""
    out: dict[str, NodeRow] = {}
    if not keys:
        return out
    for table, cols in _COLUMNS.items():
        rows = db.execute(
            f"MATCH (n:{table}) WHERE n.{_KEY.get(table, 'arn')} IN $keys RETURN {cols}", {"keys": list(keys)}
        )
        for r in rows:
            out.setdefault(r["key"], _node(table, r))
    return out


def account_nodes(db: Database, account: str | None) -> list[NodeRow]:
    """Every user, group, role, policy (customer-managed and inline) and instance profile of `account`, or of
    every loaded account when None (AWS-managed policies belong to none: the view reaches them by
    attachment)."""
    out: list[NodeRow] = []
    for table in ACCOUNT_TABLES:
        where, params = (
            ("WHERE n.account = $account", {"account": account})
            if account is not None
            else ("WHERE n.account <> $aws", {"aws": "aws"})
        )
        rows = db.execute(f"MATCH (n:{table}) {where} RETURN {_COLUMNS[table]} ORDER BY key", params)
        out += [_node(table, r) for r in rows]
    return out


def has_account(db: Database, account: str) -> bool:
    """A loaded account, or one some user, group, role, policy or profile belongs to (an export may hold
    entities of several account ids)."""
    if db.execute("MATCH (a:Account) WHERE a.id = $a RETURN 1 AS x LIMIT 1", {"a": account}):
        return True
    return account != "aws" and any(
        db.execute(f"MATCH (n:{t}) WHERE n.account = $a RETURN 1 AS x LIMIT 1", {"a": account})
        for t in ACCOUNT_TABLES
    )


_EDGES = {
    "MEMBER_OF": ("MATCH (a:User)-[:MEMBER_OF]->(b:IAMGroup)", "a.arn", "b.arn", "NULL"),
    "ATTACHED": ("MATCH (a:Policy)-[e:ATTACHED_TO]->(b)", "a.arn", "b.arn", "e.attached_as"),
    "HAS_ROLE": ("MATCH (a:InstanceProfile)-[:HAS_ROLE]->(b:Role)", "a.arn", "b.arn", "NULL"),
}
STRUCTURAL_KINDS = tuple(_EDGES)


def edges(db: Database, kinds: Sequence[str], keys: Sequence[str], *, both: bool = False) -> list[EdgeRow]:
    """Stored structural edges of `kinds` touching `keys` (one end there; `both`: both ends there)."""
    out: dict[tuple[str, str, str, str | None], EdgeRow] = {}
    if not keys:
        return []
    for kind in kinds:
        if kind not in _EDGES:
            continue
        match, a, b, how = _EDGES[kind]
        ret = f"RETURN {a} AS s, {b} AS t, {how} AS how"
        wheres = (
            [f"WHERE {a} IN $keys AND {b} IN $keys"]
            if both
            else [f"WHERE {a} IN $keys", f"WHERE {b} IN $keys"]
        )
        for where in wheres:
            for r in db.execute(f"{match} {where} {ret}", {"keys": list(keys)}):
                e = EdgeRow(source=r["s"], target=r["t"], kind=kind, how=r["how"])
                out[(e.source, e.target, kind, e.how)] = e
    return list(out.values())
