"""What a change does to who can do what: the graph's derived facts read before and after it, in its
transaction.

`capture` reads, inside the write transaction of the change (or on the private copy a dry run changes): every
CAN_ASSUME and ESCALATES_TO edge, the administrators (`isAdmin`, `graphiam.queries.admin`) and one shortest
escalation path to administrator per principal that is not one (`graphiam.queries.escalation_paths`: those
that can become administrator), and the decision for each given request
(`graphiam.queries.simulate` over a snapshot built in the transaction). `diff` compares two captures.

Snapshots and indexes built here are never put in a cache: they see uncommitted or hypothetical states, and a
cache keyed on a generation would serve them to readers. Each snapshot built here is stamped with generation
-1, which matches no database generation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphiam.errors import GraphiamError
from graphiam.graph.snapshot import Snapshot, build_snapshot
from graphiam.policy import Decision
from graphiam.queries.admin import administrators
from graphiam.queries.escalation_paths import build_index
from graphiam.queries.simulate import simulate
from graphiam.store import Database
from graphiam.store import mutations as M

NOT_CACHEABLE = -1
PATH_DEPTH = 5


@dataclass(frozen=True, kw_only=True)
class SimRequest:
    principal: str
    action: str
    resource: str = "*"
    context: Mapping[str, Any] = field(default_factory=dict)
    resource_owner: str | None = None


@dataclass(frozen=True, kw_only=True, order=True)
class AssumeEdge:
    source: str
    target: str
    action: str
    conditions: tuple[str, ...]  # condition keys the hop still needs (MFA, ExternalId …)


@dataclass(frozen=True, kw_only=True, order=True)
class EscalationEdge:
    source: str
    target: str
    technique: str


@dataclass(frozen=True, kw_only=True)
class PathStep:
    source: str
    target: str
    technique: str


@dataclass(frozen=True, kw_only=True)
class AdminPath:
    """One shortest way for `principal` to become administrator."""

    principal: str
    steps: tuple[PathStep, ...]
    needs: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Outcome:
    decision: Decision | None  # None: the request could not be decided (see error)
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class DecisionChange:
    request: SimRequest
    before: Outcome
    after: Outcome

    @property
    def flipped(self) -> bool:
        return self.before.decision != self.after.decision


@dataclass(kw_only=True)
class State:
    assume: set[AssumeEdge]
    escalate: set[EscalationEdge]
    admins: set[str]
    paths: dict[str, AdminPath]
    decisions: list[Outcome]
    warnings: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class ChangeSet:
    assume_added: list[AssumeEdge]
    assume_removed: list[AssumeEdge]
    escalations_added: list[EscalationEdge]
    escalations_removed: list[EscalationEdge]
    admins_added: list[str]
    admins_removed: list[str]
    paths_opened: list[AdminPath]  # principals that could not become administrator before, and now can
    paths_closed: list[AdminPath]  # the path each had before, for principals that no longer can
    decisions: list[DecisionChange]
    warnings: list[str] = field(default_factory=list)


def _conditions(text: str | None) -> tuple[str, ...]:
    """The condition keys a CAN_ASSUME hop needs (its `conditions` JSON: objects with a `key`, or strings)."""
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return (str(text),)
    items = value if isinstance(value, list) else [value]
    return tuple(
        sorted(
            {
                str(x.get("key"))
                if isinstance(x, dict) and "key" in x
                else x
                if isinstance(x, str)
                else json.dumps(x, sort_keys=True)
                for x in items
            }
        )
    )


def transaction_snapshot(db: Database) -> Snapshot:
    """A snapshot of what the open transaction sees, stamped so no generation-keyed cache can take it."""
    snap = build_snapshot(db)
    snap.generation = NOT_CACHEABLE
    return snap


def _decide(snap: Snapshot, r: SimRequest) -> Outcome:
    try:
        sim = simulate(
            snap,
            principal=r.principal,
            action=r.action,
            resource=r.resource,
            context=r.context,
            resource_owner=r.resource_owner,
        )
    except GraphiamError as exc:  # an unknown principal (e.g. deleted by the change), a malformed action
        return Outcome(decision=None, error=str(exc))
    return Outcome(decision=sim.evaluation.decision)


def _paths(db: Database, snap: Snapshot, state: State) -> None:
    """Administrators and one shortest path to administrator per principal (the index of
    `graphiam.queries.escalation_paths`: CAN_ASSUME and ESCALATES_TO edges as the transaction or copy holds
    them)."""
    index = build_index(db, snap)
    state.admins = administrators(index)
    for arn in sorted(snap.principals):
        if arn in index.direct:
            continue
        found = index.graph.to_admin(arn, max_depth=PATH_DEPTH, limit=1)
        if found:
            steps = tuple(
                PathStep(source=s.source, target=s.target, technique=s.technique) for s in found[0].steps
            )
            state.paths[arn] = AdminPath(principal=arn, steps=steps, needs=found[0].needs)


def capture(db: Database, requests: Sequence[SimRequest] = (), *, paths: bool = True) -> State:
    """The derived facts as the open transaction sees them."""
    assume_rows, escalate_rows = M.derived_edges(db)
    snap = transaction_snapshot(db)
    state = State(
        assume={
            AssumeEdge(
                source=r["source"],
                target=r["target"],
                action=r["action"] or "",
                conditions=_conditions(r["conditions"]),
            )
            for r in assume_rows
        },
        escalate={
            EscalationEdge(source=r["source"], target=r["target"], technique=r["technique"] or "")
            for r in escalate_rows
        },
        admins=set(),
        paths={},
        decisions=[_decide(snap, r) for r in requests],
    )
    if paths:
        _paths(db, snap, state)
    return state


def diff(before: State, after: State, requests: Sequence[SimRequest] = ()) -> ChangeSet:
    return ChangeSet(
        assume_added=sorted(after.assume - before.assume),
        assume_removed=sorted(before.assume - after.assume),
        escalations_added=sorted(after.escalate - before.escalate),
        escalations_removed=sorted(before.escalate - after.escalate),
        admins_added=sorted(after.admins - before.admins),
        admins_removed=sorted(before.admins - after.admins),
        paths_opened=[after.paths[p] for p in sorted(set(after.paths) - set(before.paths))],
        paths_closed=[before.paths[p] for p in sorted(set(before.paths) - set(after.paths))],
        decisions=[
            DecisionChange(request=r, before=b, after=a)
            for r, b, a in zip(requests, before.decisions, after.decisions, strict=True)
        ],
        warnings=sorted(set(before.warnings) | set(after.warnings)),
    )
