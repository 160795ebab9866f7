"""Escalation edges (the `escalation` deriver) and escalation paths to administrator or to a principal.

A path walks `CAN_ASSUME` (technique `sts-001`), `ESCALATES_TO` and fan-out edges (`ESCALATES_TO_EACH`: an
actor to every principal of an `EscalationTargets` set, see `escalation.fanout`) without repeating a principal
(`escalation.paths`). It reaches administrator when it ends at a principal allowed every action now
(`direct_admins`, the rule of `queries.admin`), over an edge whose step makes its target administrator, or at
a principal that can make itself administrator (its self-loop edge is appended as the last step).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from graphiam.cancel import NEVER, Cancel
from graphiam.derive.escalation.decide import Decider, Use
from graphiam.derive.escalation.edges import admin_techniques
from graphiam.derive.escalation.fanout import Part, render, use_from_json
from graphiam.derive.escalation.paths import EdgeTable, Fan, Label, Path, PathGraph, Step, TargetSet
from graphiam.errors import InputError, NotFoundError
from graphiam.graph.cache import GenerationCache
from graphiam.graph.snapshot import Snapshot
from graphiam.policy import PolicyDocument
from graphiam.store import Database
from graphiam.store import escalation_store as S

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_DEPTH = 10
ASSUME_TECHNIQUE = "sts-001"  # pathfinding.cloud's id for sts:AssumeRole
_ADMIN_TECHNIQUES = admin_techniques()  # their edges exist only when the step makes the target administrator


# ---- what counts as administrator, and the path graph, per database generation ----


@dataclass(kw_only=True)
class EscalationIndex:
    snap: Snapshot  # the snapshot it was built from
    generation: int
    direct: dict[str, Use]  # allowed * on * now (perhaps once it meets the conditions in `needs`)
    graph: PathGraph
    _unknown_reach: dict[str, tuple[str, ...]] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def unknown_reach(self) -> dict[str, tuple[str, ...]]:
        """Principal -> the policies without a document of the principals it can reach over the path graph
        (itself included): whether it can become administrator rests on them (`missing_reach`); only
        principals that reach one are keys. Computed when first asked for (isAdmin/canBecomeAdmin need it,
        a path search does not)."""
        if self._unknown_reach is None:
            with self._lock:
                if self._unknown_reach is None:
                    self._unknown_reach = missing_reach(self.snap, self.graph)
        return self._unknown_reach

    def is_admin(self, arn: str) -> bool:
        """A goal of path search: allowed every action on `*` (perhaps under conditions), or able to make
        itself administrator in one step. `queries.admin` has the user-facing facts (`isAdmin`,
        `canBecomeAdmin`)."""
        return self.graph.terminal(arn)


def missing_reach(snap: Snapshot, graph: PathGraph) -> dict[str, tuple[str, ...]]:
    """For every principal that can reach (over `graph`, itself included) a principal with a policy without a
    document, those policies (sorted). One pass over the graph for all of them (`PathGraph.reaching_each`)."""
    holders: dict[str, list[str]] = {}
    for p in snap.principals.values():
        for doc in p.incomplete:
            holders.setdefault(doc, []).append(p.arn)
    if not holders:
        return {}
    return {a: tuple(sorted(docs)) for a, docs in graph.reaching_each(holders).items()}


def direct_admins(snap: Snapshot, decider: Decider | None = None) -> dict[str, Use]:
    """Every principal allowed every action on `*` now (prefiltered: an Allow statement `*` could match)."""
    d = decider or Decider(snap)
    out: dict[str, Use] = {}
    allows: dict[int, bool] = {}  # per document (principals share most of theirs)

    def allows_any(doc: PolicyDocument) -> bool:
        hit = allows.get(id(doc))
        if hit is None:
            hit = allows[id(doc)] = any(
                st.effect == "Allow" for st in doc.statements_for("graphiam:anyotheraction")
            )
        return hit

    for p in snap.principals.values():
        if any(allows_any(s.document) for s in p.identity):
            proof = d.admin_with(p)
            if proof is not None:
                out[p.arn] = proof
    return out


def edge_table(db: Database) -> EdgeTable:
    """The explicit edges of the path graph (CAN_ASSUME as technique `sts-001`, ESCALATES_TO), as columns."""
    cols = S.path_edge_columns(db, _ADMIN_TECHNIQUES)
    needs_of: dict[str | None, tuple[str, ...]] = {}
    labels = []
    for kind, technique, action, conditions in cols.labels:
        if kind == "CAN_ASSUME":
            needs = needs_of.get(conditions)
            if needs is None:
                needs = needs_of[conditions] = tuple(
                    dict.fromkeys(_condition_key(k) for k in _loads(conditions, []))
                )
            labels.append(Label(technique=ASSUME_TECHNIQUE, needs=needs, action=action or "sts:AssumeRole"))
        else:
            labels.append(Label(technique=str(technique), admin=technique in _ADMIN_TECHNIQUES))
    return EdgeTable(
        names=cols.names,
        labels=labels,
        out_start=cols.out_start,
        out_target=cols.out_target,
        out_label=cols.out_label,
        in_start=cols.in_start,
        in_source=cols.in_source,
        in_label=cols.in_label,
        marked=cols.marked,
    )


def path_graph(db: Database, direct: Collection[str], edges: EdgeTable | None = None) -> PathGraph:
    """The path graph of every stored CAN_ASSUME, ESCALATES_TO and fan-out edge, with `direct` (the principals
    allowed every action now) as goals; `edges`: the `edge_table`, when read already (else read here)."""
    sets = {r["id"]: TargetSet.of(r["id"], _loads(r["targets"], [])) for r in S.target_sets(db)}
    fans = [
        Fan(
            source=r["source"],
            technique=r["technique"],
            admin=r["technique"] in _ADMIN_TECHNIQUES,
            targets=sets[r["targets"]],
        )
        for r in S.fan_edges(db)
        if r["targets"] in sets
    ]
    return PathGraph(edges if edges is not None else edge_table(db), direct, fans)


def build_index(db: Database, snap: Snapshot, edges: EdgeTable | None = None) -> EscalationIndex:
    """The index of `snap`; `edges`: its `edge_table`, when read already (else read here)."""
    direct = direct_admins(snap)
    graph = path_graph(db, direct, edges)
    return EscalationIndex(snap=snap, generation=snap.generation, direct=direct, graph=graph)


class EscalationIndexCache:
    """The index of the snapshot's generation, kept for the newest one (a `GenerationCache`: built once, off
    the lock; an older snapshot's index is built for its reader and not kept)."""

    def __init__(self) -> None:
        self._cache: GenerationCache[EscalationIndex] = GenerationCache()

    def peek(self, generation: int) -> EscalationIndex | None:
        """The index of `generation` when it is built already (never builds: safe on an event loop)."""
        return self._cache.peek(generation)

    def get(self, db: Database, snap: Snapshot, edges: EdgeTable | None = None) -> EscalationIndex:
        """`edges`: the snapshot's `edge_table`, when read already."""
        return self._cache.get(
            snap.generation,
            None,
            lambda: build_index(db, snap, edges),
            still_current=lambda: db.generation == snap.generation,
        )


def escalation_index_cache(caches: dict[str, Any]) -> EscalationIndexCache:
    """The escalation-index cache kept in a server's `caches`."""
    cache = caches.get("escalation-index")
    if cache is None:
        cache = caches.setdefault("escalation-index", EscalationIndexCache())
    return cache  # type: ignore[no-any-return]


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
            out.append(
                f"{x['policy']}#{x.get('statement', '?')}" + (f" ({x['sid']})" if x.get("sid") else "")
            )
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


def _hydrate(db: Database, paths: list[Path]) -> list[Path]:
    """Fill escalation steps with their permissions, needed conditions and assumptions (one query)."""
    sources = sorted({s.source for p in paths for s in p.steps if s.technique != ASSUME_TECHNIQUE})
    pairs = {(s.source, s.target) for p in paths for s in p.steps if s.technique == ASSUME_TECHNIQUE}
    if not sources and not pairs:
        return paths
    wanted = {(s.source, s.target, s.technique) for p in paths for s in p.steps}
    rows: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for r in edge_rows(db, sources, wanted) if sources else ():
        rows.setdefault((r["from"], r["to"], r["technique"]), []).append(
            (r["permissions"] or "", r["details"] or "")
        )
    assumed: dict[tuple[str, str, str], list[str]] = {}
    if pairs:
        for r in S.assume_statements(db, sorted({a for a, _ in pairs}), sorted({b for _, b in pairs})):
            if (r["source"], r["target"]) in pairs:
                assumed[(r["source"], r["target"], r["action"] or "sts:AssumeRole")] = _statement_names(
                    _loads(r["statements"], [])
                )

    def fill(s: Step) -> Step:
        if s.technique == ASSUME_TECHNIQUE:
            perm = s.permissions[0]
            names = assumed.get((s.source, s.target, perm["action"]))
            return s if names is None else replace(s, permissions=({**perm, "statements": names},))
        found = sorted(rows.get((s.source, s.target, s.technique), ()))  # parallel edges: in a stable order
        if not found:
            return s
        perms, details = found[min(s.ordinal, len(found) - 1)]
        det = _loads(details, {})
        return replace(
            s,
            permissions=tuple(_loads(perms, [])),
            needs=tuple(det.get("needs", ())),
            assumptions=tuple(det.get("assumptions", ())),
        )

    return [replace(p, steps=tuple(fill(s) for s in p.steps)) for p in paths]


def edge_rows(
    db: Database, sources: Sequence[str] | None = None, wanted: set[tuple[str, str, str]] | None = None
) -> list[dict[str, Any]]:
    """Escalation edges as stored rows (from, to, technique, permissions, details), fan-out edges expanded:
    all of them (`sources` None: for tests and exports, as large as the organisation's reach), those leaving
    `sources`, or only the (source, target, technique) triples `wanted`."""
    out = [
        {
            "from": r["source"],
            "to": r["target"],
            "technique": r["technique"],
            "permissions": r["permissions"],
            "details": r["details"],
        }
        # with `wanted`, only edges into its targets are read: the edges leaving a principal that can change
        # anyone's policies reach thousands of principals, and reading them all took ~300 MB at 10,000
        for r in S.escalation_details(
            db, sources, None if wanted is None else sorted({t for _, t, _ in wanted})
        )
        if wanted is None or (r["source"], r["target"], r["technique"]) in wanted
    ]
    fans = S.fan_details(db, sources)
    if not fans:
        return out
    rows = S.target_sets(db, sorted({f["targets"] for f in fans}))
    if wanted is None:
        parts = {r["id"]: [Part.from_json(p) for p in _loads(r["parts"], [])] for r in rows}
    else:  # a set can hold thousands of parts: decode only those of the targets asked for
        into: dict[tuple[str, str], set[str]] = {}  # (source, technique) -> targets wanted
        for a, b, t in wanted:
            into.setdefault((a, t), set()).add(b)
        asked: dict[str, set[str]] = {}
        for f in fans:  # (scanning `wanted` per fan took 47 of the summary's 58 s at 10,000 principals)
            asked.setdefault(f["targets"], set()).update(into.get((f["source"], f["technique"]), ()))
        parts = {r["id"]: _parts_of(r["parts"] or "", asked.get(r["id"], set())) for r in rows}
    for f in fans:
        uses = tuple(use_from_json(u) for u in _loads(f["permissions"], []))
        admin = bool(_loads(f["details"], {}).get("admin"))
        for part in parts.get(f["targets"], ()):
            if part.target == f["source"]:
                continue
            if wanted is not None and (f["source"], part.target, f["technique"]) not in wanted:
                continue
            out.append(render(f["source"], f["technique"], admin, uses, part).row())
    return out


_DECODER = json.JSONDecoder()


def _parts_of(text: str, targets: set[str]) -> list[Part]:
    """The parts of a set's `parts` JSON (`set_row`: a list of `Part.as_json` objects, `target` the first key)
    whose target is in `targets`, in stored order, without decoding the others."""
    found: list[tuple[int, Part]] = []
    for arn in targets:
        needle = '{"target":' + json.dumps(arn) + ","
        at = text.find(needle)
        while at != -1:
            if at > 0 and text[at - 1] in "[,":  # a part starts here (no other object has a `target` key)
                found.append((at, Part.from_json(_DECODER.raw_decode(text, at)[0])))
            at = text.find(needle, at + 1)
    return [p for _, p in sorted(found, key=lambda x: x[0])]


def path_incomplete(snap: Snapshot, path: Path) -> tuple[str, ...]:
    """The policies without a document that the path rests on: those of each step's actor (its permissions
    decide the step) and of the principal it ends at (its permissions decide whether it is administrator)."""
    arns = [*(s.source for s in path.steps), *(path.steps[-1:] and [path.steps[-1].target])]
    return tuple(dict.fromkeys(d for a in arns if (p := snap.principal(a)) is not None for d in p.incomplete))


def _check(snap: Snapshot, arn: str, max_depth: int, limit: int) -> None:
    if snap.principal(arn) is None:
        raise NotFoundError(f"principal `{arn}` is not in the graph (users and roles are principals)")
    if isinstance(max_depth, bool) or not 1 <= max_depth <= MAX_DEPTH:
        raise InputError(f"`maxDepth`: {max_depth} is not from 1 to {MAX_DEPTH}")
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"`limit`: {limit} is not from 1 to {MAX_LIMIT}")


def escalation_paths(
    db: Database,
    snap: Snapshot,
    index: EscalationIndex,
    source: str,
    to: str | None = None,
    *,
    max_depth: int = 5,
    limit: int = DEFAULT_LIMIT,
    cancel: Cancel = NEVER,
) -> list[Path]:
    """Every simple path from `source` to administrator (or to `to`), shortest first, at most `limit`."""
    _check(snap, source, max_depth, limit)
    if to is not None:
        _check(snap, to, max_depth, limit)
        found = index.graph.between(source, to, max_depth=max_depth, limit=limit, cancel=cancel)
    else:
        found = index.graph.to_admin(source, max_depth=max_depth, limit=limit, cancel=cancel)
    return _hydrate(db, found)


def count_paths(
    snap: Snapshot, index: EscalationIndex, source: str, to: str | None = None, *, max_depth: int = 5
) -> int:
    """How many paths `escalation_paths` finds without a limit, counted up to `MAX_LIMIT + 1` (which means
    more than `MAX_LIMIT`): what a cut answer says it was cut from."""
    _check(snap, source, max_depth, MAX_LIMIT)
    if to is not None:
        _check(snap, to, max_depth, MAX_LIMIT)
        return len(index.graph.between(source, to, max_depth=max_depth, limit=MAX_LIMIT + 1))
    return len(index.graph.to_admin(source, max_depth=max_depth, limit=MAX_LIMIT + 1))


def escalation_paths_to(
    db: Database,
    snap: Snapshot,
    index: EscalationIndex,
    target: str,
    *,
    max_depth: int = 5,
    limit: int = DEFAULT_LIMIT,
    cancel: Cancel = NEVER,
) -> list[Path]:
    """Every simple path from any principal to `target`, shortest first, at most `limit`."""
    _check(snap, target, max_depth, limit)
    return _hydrate(db, index.graph.into(target, max_depth=max_depth, limit=limit, cancel=cancel))


@dataclass(frozen=True, kw_only=True)
class SummaryEntry:
    principal: str
    self_escalation: bool
    shortest: int
    first_technique: str
    path: Path


@dataclass(frozen=True, kw_only=True)
class AdminEntry:
    principal: str
    account: str
    kind: str  # user | role
    now: bool  # allowed every action on `*` now; else it can make itself administrator in one step


def administrators(
    snap: Snapshot,
    admins: Collection[str],
    *,
    account: str | None = None,
    arns: Sequence[str] | None = None,
) -> list[AdminEntry]:
    """The stored users and roles of `admins` (those whose `isAdmin` holds: `queries.admin.administrators`,
    which imports this module), in `account` when given, among `arns` when given (ARNs that name no stored
    principal are left out), by ARN."""
    if arns is not None:
        chosen = sorted((a, snap.principals[a]) for a in set(arns) if a in snap.principals)
    else:
        chosen = sorted(snap.principals.items())
    return [
        AdminEntry(principal=arn, account=p.account, kind=p.kind, now=True)
        for arn, p in chosen
        if (account is None or p.account == account) and arn in admins
    ]


@dataclass(frozen=True, kw_only=True)
class AdminCounts:
    administrators: int  # `EscalationIndex.is_admin` holds
    now: int  # of them, allowed every action on `*` now
    can_become: int  # escalation_summary's entries
    by_length: tuple[tuple[int, int], ...]  # (shortest path length, principals), by length
    by_account: tuple[tuple[str, int, int], ...]  # (account, administrators, can become), by account


def admin_counts(snap: Snapshot, admin_arns: Collection[str], summary: Sequence[SummaryEntry]) -> AdminCounts:
    """`administrators` (of `admin_arns`) and `escalation_summary` (its answer, `summary`) in numbers."""
    admins = administrators(snap, admin_arns)
    lengths: dict[int, int] = {}
    for e in summary:
        lengths[e.shortest] = lengths.get(e.shortest, 0) + 1
    accounts: dict[str, list[int]] = {}
    for a in admins:
        accounts.setdefault(a.account, [0, 0])[0] += 1
    for e in summary:
        accounts.setdefault(snap.principals[e.principal].account, [0, 0])[1] += 1
    return AdminCounts(
        administrators=len(admins),
        now=sum(a.now for a in admins),
        can_become=len(summary),
        by_length=tuple(sorted(lengths.items())),
        by_account=tuple((acct, n[0], n[1]) for acct, n in sorted(accounts.items())),
    )


def escalation_summary(
    db: Database, snap: Snapshot, index: EscalationIndex, *, max_depth: int = 5, cancel: Cancel = NEVER
) -> list[SummaryEntry]:
    """Every stored principal not administrator now that can become one, with one shortest path."""
    if (
        isinstance(max_depth, bool) or not 1 <= max_depth <= MAX_DEPTH
    ):  # as `_check`: path search is exponential
        raise InputError(f"`maxDepth`: {max_depth} is not from 1 to {MAX_DEPTH}")
    out = []
    for arn in sorted(snap.principals):
        cancel.check()
        if arn in index.direct or (
            arn not in index.graph.loops and index.graph.admin_dist.get(arn, 1 << 30) > max_depth
        ):
            continue
        paths = index.graph.to_admin(arn, max_depth=max_depth, limit=20, cancel=cancel)
        if paths:
            best = paths[0]
            out.append(
                SummaryEntry(
                    principal=arn,
                    self_escalation=arn in index.graph.loops,
                    shortest=len(best.steps),
                    first_technique=best.steps[0].technique,
                    path=best,
                )
            )
    full = iter(_hydrate(db, [e.path for e in out]))
    out = [replace(e, path=next(full)) for e in out]
    return sorted(out, key=lambda e: (e.shortest, e.principal))
