"""Escalation edges (the `escalation` deriver) and escalation paths to administrator or to a principal.

A path walks `CAN_ASSUME` (technique `sts-001`) and `ESCALATES_TO` edges without repeating a principal
(`escalation.paths`). It reaches administrator when it ends at a principal allowed every action now
(`direct_admins`, the rule of `queries.admin`), over an edge whose step makes its target administrator, or at
a principal that can make itself administrator (its self-loop edge is appended as the last step).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from graphiam.escalation.decide import Decider, Use
from graphiam.escalation.edges import GraphFacts, GroupFacts, admin_techniques, derive_edges
from graphiam.escalation.paths import Path, PathGraph, Step
from graphiam.errors import InputError, NotFoundError
from graphiam.policy import PolicySource, parse_policy
from graphiam.queries.derived import register
from graphiam.queries.snapshot import Snapshot
from graphiam.store import Database
from graphiam.store import escalation_store as S

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_DEPTH = 10
ASSUME_TECHNIQUE = "sts-001"  # pathfinding.cloud's id for sts:AssumeRole
_ADMIN_TECHNIQUES = admin_techniques()  # their edges exist only when the step makes the target administrator
LAST_TIMINGS: dict[str, float] = {}  # seconds per technique of the last derivation (benchmarks read it)


def graph_facts(db: Database, snap: Snapshot) -> GraphFacts:
    """Groups, non-default versions and credential facts, read once per derivation / generation."""
    facts = GraphFacts()
    for g in S.group_policy_arns(db):
        srcs = tuple(PolicySource(document=snap.documents[a], policy_id=a, name=snap.policies[a].name,
                                  kind=snap.policies[a].kind, via="group", via_name=g["name"])
                     for a in g["policies"] if a in snap.documents)
        facts.groups[g["arn"]] = GroupFacts(arn=g["arn"], account=g["account"], name=g["name"], policies=srcs)
    versions: dict[str, list[tuple[str, PolicySource]]] = {}
    for v in S.non_default_versions(db):
        row = snap.policies.get(v["policy"])
        doc = parse_policy(v["document"], where=f"{v['policy']} {v['version']}")
        src = PolicySource(document=doc, policy_id=f"{v['policy']}#{v['version']}",
                           name=f"{row.name if row else v['policy']} {v['version']}", kind="customer-managed",
                           via="user")
        versions.setdefault(v["policy"], []).append((v["version"], src))
    facts.versions = {k: tuple(vs) for k, vs in versions.items()}
    for u in S.user_credentials(db):
        facts.password_enabled[u["arn"]] = u["password_enabled"]
        facts.access_keys[u["arn"]] = u["access_keys"]
    return facts


@register("escalation")
def derive(db: Database, snap: Snapshot, touched: frozenset[str]) -> None:
    """Recompute the ESCALATES_TO edges leaving principals of the touched accounts (inside the load)."""
    start = time.perf_counter()
    edges, timings = derive_edges(snap, graph_facts(db, snap), accounts=touched)
    kinds = {p.arn: "User" if p.kind == "user" else "Role" for p in snap.principals.values()}
    S.replace_edges(db, touched, [e.row() for e in edges], kinds)
    LAST_TIMINGS.clear()
    LAST_TIMINGS.update(timings)
    LAST_TIMINGS["total"] = time.perf_counter() - start


# ---- what counts as administrator, and the path graph, per database generation ----

@dataclass(kw_only=True)
class EscalationIndex:
    generation: int
    direct: dict[str, Use]  # allowed * on * now
    graph: PathGraph
    facts: GraphFacts
    verdicts: dict[str, Any] = field(default_factory=dict)  # arn -> queries.admin.AdminVerdict (API memo)

    def is_admin(self, arn: str) -> bool:
        return self.graph.terminal(arn)


def direct_admins(snap: Snapshot, decider: Decider | None = None) -> dict[str, Use]:
    """Every principal allowed every action on `*` now (prefiltered: an Allow statement `*` could match)."""
    d = decider or Decider(snap)
    out: dict[str, Use] = {}
    for p in snap.principals.values():
        if any(st.effect == "Allow" for s in p.identity for st in s.document.statements_for("graphiam:anyotheraction")):
            proof = d.admin_with(p)
            if proof is not None:
                out[p.arn] = proof
    return out


def build_index(db: Database, snap: Snapshot) -> EscalationIndex:
    direct = direct_admins(snap)
    return EscalationIndex(generation=snap.generation, direct=direct,
                           graph=PathGraph((_step(r) for r in S.path_edges(db)), direct),
                           facts=graph_facts(db, snap))


class EscalationIndexCache:
    """One index per database generation, built once under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: EscalationIndex | None = None

    def get(self, db: Database, snap: Snapshot) -> EscalationIndex:
        with self._lock:
            if self._index is None or self._index.generation != snap.generation:
                self._index = build_index(db, snap)
            return self._index


def escalation_index_cache(caches: dict[str, Any]) -> EscalationIndexCache:
    return caches.setdefault("escalation-index", EscalationIndexCache())  # type: ignore[no-any-return]


def _loads(text: str | None, default: Any) -> Any:
    try:
        return json.loads(text) if text else default
    except ValueError:
        return default


def _statement_names(items: Any) -> list[str]:
    """CAN_ASSUME's statements JSON (objects with policy and statement index) as `policy#index (sid)`."""
    out = []
    for x in items if isinstance(items, list) else []:
        if isinstance(x, dict) and "policy" in x:
            out.append(f"{x['policy']}#{x.get('statement', '?')}" + (f" ({x['sid']})" if x.get("sid") else ""))
        else:
            out.append(str(x))
    return out


def _condition_key(item: Any) -> str:
    """A CAN_ASSUME condition: a key, an object with `key`, or a list whose first element is the key."""
    if isinstance(item, dict):
        return str(item.get("key"))
    if isinstance(item, list) and item:
        return str(item[0])
    return str(item)


def _step(r: dict[str, Any]) -> Step:
    if r["kind"] == "CAN_ASSUME":
        needs = list(dict.fromkeys(_condition_key(k) for k in _loads(r["conditions"], [])))
        perm = {"action": r["action"] or "sts:AssumeRole", "resource": r["target"],
                "statements": _statement_names(_loads(r["statements"], [])), "needs": needs}
        return Step(source=r["source"], target=r["target"], technique=ASSUME_TECHNIQUE, permissions=(perm,),
                    needs=tuple(needs))
    return Step(source=r["source"], target=r["target"], technique=r["technique"], permissions=(),
                admin=r["technique"] in _ADMIN_TECHNIQUES)


def _hydrate(db: Database, paths: list[Path]) -> list[Path]:
    """Fill escalation steps with their permissions, needed conditions and assumptions (one query)."""
    sources = sorted({s.source for p in paths for s in p.steps if s.technique != ASSUME_TECHNIQUE})
    if not sources:
        return paths
    rows: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for r in S.escalation_details(db, sources):
        rows.setdefault((r["source"], r["target"], r["technique"]), []).append((r["permissions"] or "",
                                                                                r["details"] or ""))

    def fill(s: Step) -> Step:
        found = sorted(rows.get((s.source, s.target, s.technique), ()))  # parallel edges: in a stable order
        if s.technique == ASSUME_TECHNIQUE or not found:
            return s
        perms, details = found[min(s.ordinal, len(found) - 1)]
        det = _loads(details, {})
        return replace(s, permissions=tuple(_loads(perms, [])), needs=tuple(det.get("needs", ())),
                       assumptions=tuple(det.get("assumptions", ())))

    return [replace(p, steps=tuple(fill(s) for s in p.steps)) for p in paths]


def _check(snap: Snapshot, arn: str, max_depth: int, limit: int) -> None:
    if snap.principal(arn) is None:
        raise NotFoundError(f"principal `{arn}` is not in the graph (users and roles are principals)")
    if isinstance(max_depth, bool) or not 1 <= max_depth <= MAX_DEPTH:
        raise InputError(f"`maxDepth`: {max_depth} is not from 1 to {MAX_DEPTH}")
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"`limit`: {limit} is not from 1 to {MAX_LIMIT}")


def escalation_paths(db: Database, snap: Snapshot, index: EscalationIndex, source: str, to: str | None = None, *,
                     max_depth: int = 5, limit: int = DEFAULT_LIMIT) -> list[Path]:
    """Every simple path from `source` to administrator (or to `to`), shortest first, at most `limit`."""
    _check(snap, source, max_depth, limit)
    if to is not None:
        _check(snap, to, max_depth, limit)
        return _hydrate(db, index.graph.between(source, to, max_depth=max_depth, limit=limit))
    return _hydrate(db, index.graph.to_admin(source, max_depth=max_depth, limit=limit))


def escalation_paths_to(db: Database, snap: Snapshot, index: EscalationIndex, target: str, *, max_depth: int = 5,
                        limit: int = DEFAULT_LIMIT) -> list[Path]:
    """Every simple path from any principal to `target`, shortest first, at most `limit`."""
    _check(snap, target, max_depth, limit)
    return _hydrate(db, index.graph.into(target, max_depth=max_depth, limit=limit))


@dataclass(frozen=True, kw_only=True)
class SummaryEntry:
    principal: str
    self_escalation: bool
    shortest: int
    first_technique: str
    path: Path


def escalation_summary(db: Database, snap: Snapshot, index: EscalationIndex, *,
                       max_depth: int = 5) -> list[SummaryEntry]:
    """Every stored principal not administrator now that can become one, with one shortest path."""
    if isinstance(max_depth, bool) or not 1 <= max_depth <= MAX_DEPTH:  # as `_check`: path search is exponential
        raise InputError(f"`maxDepth`: {max_depth} is not from 1 to {MAX_DEPTH}")
    out = []
    for arn in sorted(snap.principals):
        if arn in index.direct or (arn not in index.graph.loops and index.graph.admin_dist.get(arn, 1 << 30) > max_depth):
            continue
        paths = index.graph.to_admin(arn, max_depth=max_depth, limit=20)
        if paths:
            best = paths[0]
            out.append(SummaryEntry(principal=arn, self_escalation=arn in index.graph.loops,
                                    shortest=len(best.steps), first_technique=best.steps[0].technique, path=best))
    full = iter(_hydrate(db, [e.path for e in out]))
    out = [replace(e, path=next(full)) for e in out]
    return sorted(out, key=lambda e: (e.shortest, e.principal))
