"""NAMES edges: from each stored resource to what its policy names (users and roles of the graph; accounts,
services, organizations and other principals as Named nodes). Recomputed whole on every write: it reads only
the resources' parsed policies, and a reload of any account can add or remove a principal a policy names."""

from __future__ import annotations

from graphiam.arn import is_role_arn, is_user_arn
from graphiam.graph.resources import named_by
from graphiam.graph.snapshot import Snapshot
from graphiam.store import Database
from graphiam.store.reader import principal_kinds
from graphiam.store.resource_store import NamesEdge, replace_names


def derive_names(db: Database, snap: Snapshot, _touched: frozenset[str]) -> None:
    named = {r.arn: named_by(r.policy.document) for r in snap.resources.values() if r.policy is not None}
    # which named principals the graph holds: asked of the database, as the snapshot may be of part of it
    wanted = sorted({n.value for ns in named.values() for n in ns if n.kind == "principal"})
    held = set(principal_kinds(db, wanted)) if wanted else set()
    edges: list[NamesEdge] = []
    for r in snap.resources.values():
        if r.policy is None:
            continue
        for n in named[r.arn]:
            table = "Named"
            if n.kind == "principal" and n.value in held:
                if is_user_arn(n.value):
                    table = "User"
                elif is_role_arn(n.value):
                    table = "Role"
            edges.append(
                NamesEdge(
                    resource=r.arn,
                    table=table,
                    key=n.value if table != "Named" else f"{n.kind}:{n.value}",
                    kind=n.kind,
                    value=n.value,
                    effect=n.effect,
                    conditional=n.conditional,
                    principal_kind=n.principal_kind,
                    not_principal=n.not_principal,
                )
            )
    replace_names(db, edges)
