"""The IAM graph as a graph: the neighbourhood of some nodes, or a whole account, as nodes and edges for a
drawing tool or a dashboard (what awspx, PMapper `visualize` and Cartography show).

Nodes: users, groups, roles, policies (managed and inline), instance profiles, service and external
principals. Edges: MEMBER_OF (user → group), ATTACHED (policy → user/group/role, `how`: identity, inline or
boundary), CAN_ASSUME (principal → role), ESCALATES_TO (principal → principal, a technique; a self-loop when a
principal can make itself administrator), HAS_ROLE (instance profile → role).

- `around` given: a breadth-first search over the chosen edge kinds, in both directions, up to `depth` hops.
  Each ring is added whole, or, when it would pass `max_nodes`, its first nodes in (kind, id) order, and the
  search stops (`truncated`). With `account`, only nodes of that account (and nodes of no account: service
  principals, AWS-managed policies) are entered; the `around` nodes always are.
- `around` omitted: every node of `account` (of every loaded account when None) and the nodes one edge away
  from them; over `max_nodes`, the account's own nodes come first, in (kind, id) order.
Edges are those of the chosen kinds between shown nodes (the induced subgraph), nearest the centre first, at
most `max_edges`. Output order is deterministic: nodes by (distance, kind, id), edges by (distance, kind,
from, to, what), independent of the order of `around` and of storage order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphiam.cancel import NEVER, Cancel
from graphiam.errors import InputError, NotFoundError
from graphiam.queries import graph_links as L
from graphiam.queries.admin import admin_facts
from graphiam.queries.escalation_paths import EscalationIndex
from graphiam.store import Database
from graphiam.store import graph_view_store as S

NODE_KINDS = (
    "USER",
    "GROUP",
    "ROLE",
    "POLICY",
    "INSTANCE_PROFILE",
    "SERVICE_PRINCIPAL",
    "EXTERNAL_PRINCIPAL",
)
EDGE_KINDS = ("MEMBER_OF", "ATTACHED", "CAN_ASSUME", "ESCALATES_TO", "HAS_ROLE")
MAX_DEPTH = 6
MAX_NODES = 5000
MAX_EDGES = 20000
MAX_AROUND = 100
DEFAULT_DEPTH = 2
DEFAULT_MAX_NODES = 500
DEFAULT_MAX_EDGES = 5000
_RANK = {k: i for i, k in enumerate(NODE_KINDS)}
_EDGE_RANK = {k: i for i, k in enumerate(EDGE_KINDS)}
_PROPS = {
    "path": "path",
    "boundary": "boundaryArn",
    "policy_kind": "policyKind",
    "missing": "missingDocument",
    "external_kind": "externalKind",
}


@dataclass(frozen=True, kw_only=True)
class GraphNode:
    id: str
    kind: str
    label: str
    account: str | None
    is_admin: bool | None  # `queries.admin`'s facts; False for what is not a user or role, None: unknown
    distance: int
    can_become_admin: bool | None = False
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class GraphEdge:
    id: str
    source: str
    target: str
    kind: str
    label: str
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class GraphView:
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool
    around: tuple[str, ...] = ()
    account: str | None = None


def check(
    *,
    around: Sequence[str] | None,
    depth: int,
    edge_kinds: Sequence[str] | None,
    max_nodes: int,
    max_edges: int,
) -> tuple[str, ...]:
    """Validate the arguments (GraphQL names in messages); the edge kinds to follow."""

    def whole(name: str, value: Any, lo: int, hi: int) -> None:
        if type(value) is not int or not lo <= value <= hi:
            raise InputError(f"`{name}` must be an integer from {lo} to {hi}, got {value!r}")

    whole("depth", depth, 1, MAX_DEPTH)
    whole("maxNodes", max_nodes, 1, MAX_NODES)
    whole("maxEdges", max_edges, 1, MAX_EDGES)
    if around is not None:
        if not around:
            raise InputError("`around` is empty: name at least one ARN, or omit it for a whole account")
        if len(set(around)) > MAX_AROUND:
            raise InputError(f"`around` names {len(set(around))} nodes; at most {MAX_AROUND}")
        if any(not isinstance(a, str) or not a.strip() for a in around):
            raise InputError("`around` holds an empty ARN")
    if edge_kinds is None:
        return EDGE_KINDS
    bad = sorted({str(k) for k in edge_kinds} - set(EDGE_KINDS))
    if bad:
        raise InputError(f"`edgeKinds`: unknown kind(s) {', '.join(bad)}; known: {', '.join(EDGE_KINDS)}")
    if not edge_kinds:
        raise InputError("`edgeKinds` is empty: name at least one kind, or omit it for all")
    return tuple(k for k in EDGE_KINDS if k in set(edge_kinds))


def _kind(row: S.NodeRow) -> str:
    return S.NODE_TABLES[row.table]


def _order(rows: Iterable[S.NodeRow]) -> list[S.NodeRow]:
    return sorted(rows, key=lambda r: (_RANK[_kind(r)], r.key))


def _neighbours(db: Database, index: EscalationIndex, kinds: Sequence[str], keys: set[str]) -> set[str]:
    found = L.neighbours(index, keys, kinds)
    for e in S.edges(db, kinds, sorted(keys)):
        found.update((e.source, e.target))
    return found - keys


def graph_view(
    db: Database,
    index: EscalationIndex,
    *,
    around: Sequence[str] | None = None,
    depth: int = DEFAULT_DEPTH,
    edge_kinds: Sequence[str] | None = None,
    account: str | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_edges: int = DEFAULT_MAX_EDGES,
    cancel: Cancel = NEVER,
) -> GraphView:
    """The view (module docstring). `index` is the escalation index of the database's current generation;
    `cancel` is checked per ring and per escalation source."""
    kinds = check(around=around, depth=depth, edge_kinds=edge_kinds, max_nodes=max_nodes, max_edges=max_edges)
    if account is not None and not S.has_account(db, account):
        raise NotFoundError(f"`account`: `{account}` is not a loaded account")
    truncated, scope = False, account
    with db.read_transaction():
        if around is not None:
            centre = sorted(set(around))
            rows = S.nodes_by_keys(db, centre)
            missing = [a for a in centre if a not in rows]
            if missing:
                raise NotFoundError(f"`around`: not in the graph: {', '.join(f'`{a}`' for a in missing)}")
            rings = [_order(rows.values())]
            rounds = depth
        else:
            rings = [_order(S.account_nodes(db, account))]
            rounds = 1
            account = None  # the first ring is the account; the ring around it may leave it
        if len(rings[0]) > max_nodes:
            rings[0], truncated = rings[0][:max_nodes], True
        nodes = {r.key: r for r in rings[0]}
        for _ in range(rounds if not truncated else 0):
            cancel.check()
            frontier = {r.key for r in rings[-1]}
            new = S.nodes_by_keys(db, sorted(_neighbours(db, index, kinds, frontier) - set(nodes)))
            ring = _order(r for r in new.values() if account is None or r.account in (account, None, "aws"))
            room = max_nodes - len(nodes)
            if len(ring) > room:
                ring, truncated = ring[:room], True
            if not ring:
                break
            rings.append(ring)
            nodes.update((r.key, r) for r in ring)
            if truncated:
                break
        distance = {r.key: d for d, ring in enumerate(rings) for r in ring}
        edges, cut = _edges(db, index, kinds, distance, max_edges, cancel)
    truncated = truncated or cut
    out_nodes = [_graph_node(index, r, d) for d, ring in enumerate(rings) for r in ring]
    return GraphView(
        nodes=out_nodes,
        edges=edges,
        truncated=truncated,
        around=tuple(sorted(set(around))) if around is not None else (),
        account=scope,
    )


def _graph_node(index: EscalationIndex, r: S.NodeRow, distance: int) -> GraphNode:
    props: dict[str, Any] = {_PROPS[k]: v for k, v in sorted(r.properties.items()) if k in _PROPS}
    now: bool | None = False
    become: bool | None = False
    if r.table in ("User", "Role") and r.key in index.snap.principals:
        facts = admin_facts(index, r.key, explain=False)
        now, become = facts.is_admin, facts.can_become_admin
        if facts.conditions:
            props["adminConditions"] = list(facts.conditions)
        if facts.incomplete:
            props["incomplete"] = list(facts.incomplete)
    props["distance"] = distance
    return GraphNode(
        id=r.key,
        kind=_kind(r),
        label=r.label,
        account=r.account,
        distance=distance,
        is_admin=now,
        can_become_admin=become,
        properties=props,
    )


def _edges(
    db: Database,
    index: EscalationIndex,
    kinds: Sequence[str],
    distance: dict[str, int],
    max_edges: int,
    cancel: Cancel = NEVER,
) -> tuple[list[GraphEdge], bool]:
    """The edges of `kinds` between shown nodes, nearest the centre first, at most `max_edges` (and whether
    cut).

    Order: (distance of the farther end, kind, from, to, what). Escalation edges can be dense (a fan-out edge
    reaches every principal of a set), so they are made lazily, distance by distance and source by source in
    that order, and no longer once `max_edges` edges sort before what is left. Rows stay plain tuples until
    cut."""
    rows: list[tuple[Any, ...]] = []
    for e in S.edges(db, kinds, sorted(distance), both=True):
        rows.append(
            (
                max(distance[e.source], distance[e.target]),
                _EDGE_RANK[e.kind],
                e.source,
                e.target,
                e.how or "",
                e,
            )
        )
    if L.CAN_ASSUME in kinds:
        for link in L.assumptions_among(index, distance.keys()):
            rows.append(
                (
                    max(distance[link.source], distance[link.target]),
                    _EDGE_RANK[link.kind],
                    link.source,
                    link.target,
                    link.tag,
                    link,
                )
            )
    cancel.check()
    rows.sort(key=lambda r: r[:5])
    if L.ESCALATES_TO in kinds:
        rows = _with_escalations(index, rows, distance, max_edges, cancel)
    return [_edge(*r[2:]) for r in rows[:max_edges]], len(rows) > max_edges


def _with_escalations(
    index: EscalationIndex,
    rows: list[tuple[Any, ...]],
    distance: dict[str, int],
    max_edges: int,
    cancel: Cancel = NEVER,
) -> list[tuple[Any, ...]]:
    rank = _EDGE_RANK[L.ESCALATES_TO]
    escalations: list[tuple[Any, ...]] = []
    for level in sorted(set(distance.values())):
        before = sum(1 for r in rows if (r[0], r[1]) < (level, rank))  # the other kinds sorting first
        if before + len(escalations) > max_edges:
            break
        upto = {k for k, d in distance.items() if d <= level}
        for source in sorted(upto):
            cancel.check()
            for link in L.escalations_from(index, source, upto):
                if max(distance[source], distance[link.target]) == level:
                    escalations.append((level, rank, source, link.target, link.tag, link))
            if before + len(escalations) > max_edges:
                break  # what is left sorts after more than max_edges edges
    return sorted(rows + escalations, key=lambda r: r[:5])


_STRUCT_LABEL = {"MEMBER_OF": "member of", "HAS_ROLE": "has role"}


def _edge(source: str, target: str, tag: str, row: Any) -> GraphEdge:
    kind = row.kind
    if isinstance(row, S.EdgeRow):
        label = _STRUCT_LABEL.get(kind, row.how or "attached")
        props: dict[str, Any] = {"how": row.how} if kind == "ATTACHED" else {}
    elif kind == L.CAN_ASSUME:
        label, props = tag, {"action": tag, "conditions": list(row.needs), "needsConditions": bool(row.needs)}
    else:
        label, props = tag, {"technique": tag, "conditions": list(row.needs), "makesAdmin": row.admin}
    eid = f"{kind}:{source}->{target}" + (f"#{tag}" if tag else "")
    return GraphEdge(id=eid, source=source, target=target, kind=kind, label=label, properties=props)
