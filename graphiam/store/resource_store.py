"""The NAMES edges: what each stored resource's policy names (written by `graphiam.derive.resources`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from graphiam.store.db import Database

S = pa.string()
_NAMED = pa.schema([("key", S), ("kind", S), ("value", S)])
_NAMES = pa.schema(
    [
        ("from", S),
        ("to", S),
        ("effect", S),
        ("conditional", pa.bool_()),
        ("principal_kind", S),
        ("not_principal", pa.bool_()),
    ]
)


@dataclass(frozen=True, kw_only=True)
class NamesEdge:
    """A NAMES edge from `resource` to a user or role (`table` User / Role, `key` its ARN) or to a Named node
    (`table` Named, `key` kind:value)."""

    resource: str
    table: str
    key: str
    kind: str
    value: str
    effect: str
    conditional: bool
    principal_kind: str
    not_principal: bool


def replace_names(db: Database, edges: Sequence[NamesEdge]) -> None:
    """Replace every NAMES edge and Named node with `edges` (inside the caller's transaction)."""
    with db.transaction():
        db.execute("MATCH (:Resource)-[e:NAMES]->() DELETE e")
        db.execute("MATCH (n:Named) DELETE n")
        named = {e.key: {"key": e.key, "kind": e.kind, "value": e.value} for e in edges if e.table == "Named"}
        db.copy_from("Named", pa.Table.from_pylist(list(named.values()), schema=_NAMED))
        for table in ("User", "Role", "Named"):
            rows = [
                {
                    "from": e.resource,
                    "to": e.key,
                    "effect": e.effect,
                    "conditional": e.conditional,
                    "principal_kind": e.principal_kind,
                    "not_principal": e.not_principal,
                }
                for e in edges
                if e.table == table
            ]
            db.copy_from("NAMES", pa.Table.from_pylist(rows, schema=_NAMES), rel_pair=("Resource", table))
