"""Reading CAN_ASSUME: assumption chains, the roles a principal can reach, the principals that can reach a
role.

A chain is a simple path (no repeated node) over CAN_ASSUME edges, so cycles (A → B → A) end a chain instead
of looping. Chains come shortest first, depth by depth (each depth extends the previous one by one hop, one
query per batch of last nodes), and stop at `MAX_PATHS`: in a dense graph the number of simple paths grows
exponentially with the depth, so the answer says when it was cut (`truncated`). kuzu's recursive `ACYCLIC`
pattern would enumerate every path before any LIMIT (timing out at depth 3 on the 10,000-principal benchmark);
kuzu's recursive `SHORTEST` (a BFS) prunes the search when the chains must end at a given role. Reachability
(`assumable_roles`, `assumable_by`) is a BFS (`SHORTEST`): each role once, at its fewest hops;
`needs_conditions` is False when some path of that length needs no condition (a second BFS over the
unconditioned edges only).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from graphiam.arn import account_of
from graphiam.cancel import NEVER, Cancel
from graphiam.errors import InputError, NotFoundError
from graphiam.graph.snapshot import Snapshot
from graphiam.policy import PolicyDocument, parse_policy
from graphiam.store import Database
from graphiam.store import assume_store as S

MAX_PATHS = 1000
_BATCH = 200  # last nodes per one-hop query, at most
_FIRST_BATCH = 8
_MAX_FRONTIER = 20 * MAX_PATHS  # unfinished chains followed at most (with `to`)
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


def missing_documents(snap: Snapshot, arns: Iterable[str]) -> tuple[str, ...]:
    """The policies without a document (placeholders) of the stored users and roles among `arns`, in order,
    once each: a hop from one of them rests on them (its identity policies and boundary decide the hop)."""
    return tuple(dict.fromkeys(d for a in arns if (p := snap.principal(a)) is not None for d in p.incomplete))


def missing_warnings(snap: Snapshot, arns: Iterable[str]) -> list[str]:
    """One warning per stored principal among `arns` with policies without a document."""
    out = []
    for a in dict.fromkeys(arns):
        p = snap.principal(a)
        if p is not None and p.incomplete:
            docs = ", ".join(f"`{d}`" for d in p.incomplete)
            out.append(
                f"`{a}` has policies without a document in the graph ({docs}): the roles it may assume "
                "rest on them (hops from it may be missing, or denied in AWS)"
            )
    return out


def hop(
    source: str,
    target: str,
    action: str,
    statements: str,
    conditions: str,
    needs: bool,
    trust: str | None = None,
) -> ChainHop:
    """One stored edge as a hop (graphiam.derive.assume.hops documents the compact form): `#trust` becomes
    `<target ARN>#trust` (its condition values read from `trust`, the target's trust policy text), `~rest`
    becomes `arn:aws:iam::<source's account>:rest`."""
    account = account_of(source)

    def pol(ref: str) -> str:
        if ref == TRUST_REF:
            return f"{target}#trust"
        return f"arn:aws:iam::{account}:{ref[1:]}" if ref.startswith("~") else ref

    sts = tuple(
        HopStatement(
            policy_arn=pol(e[0]),
            statement_index=e[1],
            effect="Allow",
            sid=e[3] if len(e) > 3 else None,
            applies_via="trust" if e[0] == TRUST_REF else e[2],
        )
        for e in json.loads(statements or "[]")
    )
    doc = None
    cds = []
    for k, op, vs, e, p, i in json.loads(conditions or "[]"):
        if vs is None:
            if doc is None and trust:
                doc = parse_policy(trust)
            vs = _values(doc, i, op, k) if doc is not None else ()
        cds.append(
            HopCondition(key=k, operator=op, values=tuple(vs), effect=e, policy_arn=pol(p), statement_index=i)
        )
    return ChainHop(
        source=source,
        target=target,
        action=action,
        statements=sts,
        conditions=tuple(cds),
        needs_conditions=bool(needs),
    )


def _values(doc: PolicyDocument, index: int, operator: str, key: str) -> tuple[str, ...]:
    if index >= len(doc.statements):
        return ()
    for op, block in (doc.statements[index].conditions or {}).items():
        if op.lower() == operator.lower():
            for k, values in block.items():
                if k.lower() == key.lower():
                    return values
    return ()


def source_table(db: Database, principal: str) -> str:
    table = S.source_table(db, principal)
    if table is None:
        raise NotFoundError(
            f"`{principal}` is not in the graph as a user, role, service or external principal"
        )
    return table


@dataclass(frozen=True, kw_only=True)
class PathSet:
    paths: list[tuple[str, ...]]  # node keys, source first
    truncated: bool
    source_type: str


def chain_paths(
    db: Database,
    source: str,
    *,
    to: str | None = None,
    max_depth: int = 5,
    limit: int = MAX_PATHS,
    cancel: Cancel = NEVER,
) -> PathSet:
    """Every simple chain from `source` (optionally ending at role `to`), shortest first, at most `limit`.

    Depth by depth: the chains of depth d extend those of depth d-1 by one stored edge (one query per batch of
    last nodes), skipping nodes already on the chain. With `to`, a chain is only extended towards nodes from
    which `to` is still reachable in the hops left (a reverse BFS, kuzu `SHORTEST`), and stops at `to`.
    `cancel` is checked per batch (and stops the batch's query: `Database.interruptible`).
    """
    n = S.depth_bound(max_depth)
    if type(limit) is not int or not 1 <= limit <= MAX_PATHS:
        raise InputError(f"`limit` must be an integer between 1 and {MAX_PATHS}, got {limit!r}")
    table = source_table(db, source)
    if to is not None and S.source_table(db, to) != "Role":
        raise NotFoundError(f"`to`: `{to}` is not a role in the graph")
    if to == source:
        return PathSet(paths=[], truncated=False, source_type=table)
    dist: dict[str, int] | None = None
    if to is not None:
        dist = {k: d for (_, k), d in S.reaching_principals(db, to, max_depth=n).items()}
        if source not in dist:
            return PathSet(paths=[], truncated=False, source_type=table)
    found: list[tuple[str, ...]] = []
    frontier: list[tuple[str, ...]] = [(source,)]
    for depth in range(1, n + 1):
        grown: list[tuple[str, ...]] = []
        by_last: dict[str, list[tuple[str, ...]]] = {}
        for c in frontier:
            by_last.setdefault(c[-1], []).append(c)
        lasts = list(by_last)
        start, size = 0, _FIRST_BATCH
        while start < len(lasts):  # small batches first: the cap is often reached after a few nodes
            batch = lasts[start : start + size]
            start, size = start + size, min(2 * size, _BATCH)
            adjacency: dict[str, list[str]] = {}
            cancel.check()
            with db.interruptible(cancel):
                out = S.out_edges(db, table if depth == 1 else "Role", batch)
            for r in out:
                adjacency.setdefault(r["src"], []).append(r["dst"])
            for chain in (c for a in batch for c in by_last[a]):
                for b in adjacency.get(chain[-1], ()):
                    if b in chain:
                        continue
                    path = (*chain, b)
                    if dist is None or b == to:
                        found.append(path)
                        if len(found) > limit:
                            return PathSet(paths=found[:limit], truncated=True, source_type=table)
                    if b != to and (dist is None or dist.get(b, n + 1) <= n - depth):
                        grown.append(path)
            if len(grown) > _MAX_FRONTIER:  # too many unfinished chains to follow: say the answer is partial
                return PathSet(paths=found, truncated=True, source_type=table)
        frontier = grown
        if not frontier:
            break
    return PathSet(paths=found, truncated=False, source_type=table)


def describe(db: Database, source_type: str, paths: list[tuple[str, ...]]) -> list[tuple[ChainHop, ...]]:
    """The hops of `paths` with their reasons (one lookup per distinct edge)."""
    first = [(p[0], p[1]) for p in paths]
    rest = [(p[i], p[i + 1]) for p in paths for i in range(1, len(p) - 1)]
    details = S.edge_details(db, source_type, list(dict.fromkeys(first)))
    details.update(S.edge_details(db, "Role", list(dict.fromkeys(rest))))
    out = []
    for p in paths:
        hops = []
        for i in range(len(p) - 1):
            r = details[(p[i], p[i + 1])]
            hops.append(
                hop(p[i], p[i + 1], r["action"], r["statements"], r["conditions"], r["needs"], r["trust"])
            )
        out.append(tuple(hops))
    return out


def assumption_chains(
    db: Database, source: str, *, to: str | None = None, max_depth: int = 5, limit: int = MAX_PATHS
) -> ChainSet:
    """`chain_paths` with every hop described."""
    found = chain_paths(db, source, to=to, max_depth=max_depth, limit=limit)
    return ChainSet(
        chains=describe(db, found.source_type, found.paths),
        truncated=found.truncated,
        source_type=found.source_type,
    )


def assumable_roles(
    db: Database, principal: str, *, max_depth: int = 5, cancel: Cancel = NEVER
) -> list[Reach]:
    """Each role `principal` can reach within `max_depth` hops, once, at its fewest hops (its two queries
    stop with `cancel`)."""
    table = source_table(db, principal)
    with db.interruptible(cancel):
        depth = S.reachable_roles(db, table, principal, max_depth=max_depth)
        free = S.reachable_roles(db, table, principal, max_depth=max_depth, unconditional=True)
    return sorted(
        (Reach(key=r, table="Role", depth=d, needs_conditions=free.get(r) != d) for r, d in depth.items()),
        key=lambda x: (x.depth, x.key),
    )


def assumable_by(db: Database, role: str, *, max_depth: int = 5, cancel: Cancel = NEVER) -> list[Reach]:
    """Each principal that can reach `role` within `max_depth` hops, once, at its fewest hops (its two queries
    stop with `cancel`)."""
    if S.source_table(db, role) != "Role":
        raise NotFoundError(f"`{role}` is not a role in the graph")
    with db.interruptible(cancel):
        depth = S.reaching_principals(db, role, max_depth=max_depth)
        free = S.reaching_principals(db, role, max_depth=max_depth, unconditional=True)
    return sorted(
        (
            Reach(key=k, table=t, depth=d, needs_conditions=free.get((t, k)) != d)
            for (t, k), d in depth.items()
        ),
        key=lambda x: (x.depth, x.table, x.key),
    )


def graph_of(
    chains: list[tuple[ChainHop, ...]], types: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Nodes and edges (deduplicated) of a set of chains, for a graph-drawing library."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    for chain in chains:
        for h in chain:
            for key in (h.source, h.target):
                if key not in nodes:
                    nodes[key] = {"id": key, "label": _label(key), "type": types.get(key, "Role")}
            edges.setdefault(
                (h.source, h.target),
                {
                    "source": h.source,
                    "target": h.target,
                    "label": h.action,
                    "needs_conditions": h.needs_conditions,
                },
            )
    return list(nodes.values()), list(edges.values())


def _label(key: str) -> str:
    if key.startswith("arn:"):
        resource = key.split(":", 5)[-1]
        return resource.rsplit("/", 1)[-1] if "/" in resource else resource
    return key
