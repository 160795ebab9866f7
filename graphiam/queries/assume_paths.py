"""Reading CAN_ASSUME: assumption chains, the roles a principal can reach, the principals that can reach a role.

A chain is a simple path (no repeated node) over CAN_ASSUME edges, so cycles (A → B → A) end a chain instead of
looping. Chains come shortest first, depth by depth (one bounded `ACYCLIC` query per depth), and stop at
`MAX_PATHS`: in a dense graph the number of simple paths grows exponentially with the depth, so the answer says
when it was cut (`truncated`). Reachability (`assumable_roles`, `assumable_by`) is a BFS (`SHORTEST`): each role
once, at its fewest hops; `needs_conditions` is False when some path of that length needs no condition (a
second BFS over the unconditioned edges only).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from graphiam.errors import InputError, NotFoundError
from graphiam.store import Database
from graphiam.store import assume_store as S

MAX_PATHS = 1000
TRUST_REF = "#trust"


@dataclass(frozen=True, kw_only=True)
class HopStatement:
    policy_arn: str
    statement_index: int
    effect: str
    sid: str | None
    applies_via: str  # trust | user | group | role | boundary | custom


@dataclass(frozen=True, kw_only=True)
class HopCondition:
    key: str
    operator: str
    values: tuple[str, ...]
    effect: str  # Allow: must hold; Deny: a deny statement that must not apply
    policy_arn: str
    statement_index: int


@dataclass(frozen=True, kw_only=True)
class ChainHop:
    source: str
    target: str
    action: str
    statements: tuple[HopStatement, ...]
    conditions: tuple[HopCondition, ...]
    needs_conditions: bool


@dataclass(frozen=True, kw_only=True)
class ChainSet:
    chains: list[tuple[ChainHop, ...]]
    truncated: bool
    source_type: str


@dataclass(frozen=True, kw_only=True)
class Reach:
    key: str  # ARN (or a service principal's name)
    table: str  # User | Role | ServicePrincipal | ExternalPrincipal
    depth: int
    needs_conditions: bool


def hop(source: str, target: str, action: str, statements: str, conditions: str, needs: bool) -> ChainHop:
    """One stored edge as a hop; `#trust` (the target's trust policy) becomes `<target ARN>#trust`."""
    def pol(ref: str) -> str:
        return f"{target}#trust" if ref == TRUST_REF else ref
    sts = tuple(HopStatement(policy_arn=pol(p), statement_index=i, effect=e, sid=sid,
                             applies_via="trust" if p == TRUST_REF else via)
                for p, i, e, sid, via in json.loads(statements or "[]"))
    cds = tuple(HopCondition(key=k, operator=op, values=tuple(vs), effect=e, policy_arn=pol(p), statement_index=i)
                for k, op, vs, e, p, i in json.loads(conditions or "[]"))
    return ChainHop(source=source, target=target, action=action, statements=sts, conditions=cds,
                    needs_conditions=bool(needs))


def source_table(db: Database, principal: str) -> str:
    table = S.source_table(db, principal)
    if table is None:
        raise NotFoundError(f"`{principal}` is not in the graph as a user, role, service or external principal")
    return table


def assumption_chains(db: Database, source: str, *, to: str | None = None, max_depth: int = 5,
                      limit: int = MAX_PATHS) -> ChainSet:
    """Every simple chain from `source` (optionally ending at role `to`), shortest first, at most `limit`."""
    n = S.depth_bound(max_depth)
    if type(limit) is not int or not 1 <= limit <= MAX_PATHS:
        raise InputError(f"`limit` must be an integer between 1 and {MAX_PATHS}, got {limit!r}")
    table = source_table(db, source)
    if to is not None and S.source_table(db, to) != "Role":
        raise NotFoundError(f"`to`: `{to}` is not a role in the graph")
    chains: list[tuple[ChainHop, ...]] = []
    truncated = False
    if to == source:
        return ChainSet(chains=[], truncated=False, source_type=table)
    for depth in range(1, n + 1):
        rows = S.chains_at_depth(db, table, source, to=to, depth=depth, limit=limit - len(chains) + 1)
        for r in rows:
            nodes = [source, *r["mid"], r["last"]]
            if len(set(nodes)) != len(nodes):  # simple chains only, whatever the engine's ACYCLIC admits
                continue
            chains.append(tuple(hop(nodes[i], nodes[i + 1], r["actions"][i], r["statements"][i],
                                    r["conditions"][i], r["needs"][i]) for i in range(depth)))
        if len(chains) > limit:
            chains, truncated = chains[:limit], True
            break
    return ChainSet(chains=chains, truncated=truncated, source_type=table)


def assumable_roles(db: Database, principal: str, *, max_depth: int = 5) -> list[Reach]:
    """Each role `principal` can reach within `max_depth` hops, once, at its fewest hops."""
    table = source_table(db, principal)
    depth = S.reachable_roles(db, table, principal, max_depth=max_depth)
    free = S.reachable_roles(db, table, principal, max_depth=max_depth, unconditional=True)
    return sorted((Reach(key=r, table="Role", depth=d, needs_conditions=free.get(r) != d) for r, d in depth.items()),
                  key=lambda x: (x.depth, x.key))


def assumable_by(db: Database, role: str, *, max_depth: int = 5) -> list[Reach]:
    """Each principal that can reach `role` within `max_depth` hops, once, at its fewest hops."""
    if S.source_table(db, role) != "Role":
        raise NotFoundError(f"`{role}` is not a role in the graph")
    depth = S.reaching_principals(db, role, max_depth=max_depth)
    free = S.reaching_principals(db, role, max_depth=max_depth, unconditional=True)
    return sorted((Reach(key=k, table=t, depth=d, needs_conditions=free.get((t, k)) != d)
                   for (t, k), d in depth.items()), key=lambda x: (x.depth, x.table, x.key))


def graph_of(chains: list[tuple[ChainHop, ...]], types: dict[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Nodes and edges (deduplicated) of a set of chains, for a graph-drawing library."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    for chain in chains:
        for h in chain:
            for key in (h.source, h.target):
                if key not in nodes:
                    nodes[key] = {"id": key, "label": _label(key), "type": types.get(key, "Role")}
            edges.setdefault((h.source, h.target), {"source": h.source, "target": h.target, "label": h.action,
                                                    "needs_conditions": h.needs_conditions})
    return list(nodes.values()), list(edges.values())


def _label(key: str) -> str:
    if key.startswith("arn:"):
        resource = key.split(":", 5)[-1]
        return resource.rsplit("/", 1)[-1] if "/" in resource else resource
    return key
