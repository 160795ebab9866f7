"""Derived edges (CAN_ASSUME, ESCALATES_TO): recomputed inside the write transaction that changed the graph.

`DERIVERS` names every deriver, in the order they run; `refresh_derived` runs them all on a snapshot of the
graph as the transaction sees it (its own uncommitted writes included), so derived edges commit or roll back
together with the change that caused them. CAN_ASSUME comes first: the escalation deriver reads it.

Each deriver replaces only what a change to the touched accounts can alter (the escalation edges leaving their
principals, the CAN_ASSUME edges into their roles and from their principals), so the snapshot it runs on holds
only the principals those facts can join (`derive.scope`, `graph.partial`): re-deriving one account of a large
organisation reads that account and its neighbours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from graphiam.derive.assume.edges import derive_can_assume
from graphiam.derive.escalation.run import derive as derive_escalation
from graphiam.derive.resources import derive_names
from graphiam.derive.scope import scope_of
from graphiam.graph.partial import build_partial_snapshot
from graphiam.graph.snapshot import Snapshot, build_snapshot
from graphiam.store import Database

# (db, snapshot, touched accounts) -> None; must only write derived tables, and read of the snapshot only the
# principals `derive.scope` names for the touched accounts
Deriver = Callable[[Database, Snapshot, frozenset[str]], None]
DERIVERS: tuple[tuple[str, Deriver], ...] = (
    ("can_assume", derive_can_assume),
    ("escalation", derive_escalation),
    ("resource_names", derive_names),
)


def refresh_derived(db: Database, touched_accounts: Iterable[str], *, scoped: bool = False) -> Snapshot:
    """Recompute derived edges for what touched `touched_accounts`; call inside a write transaction. Returns
    the snapshot the derivers ran on (the transaction's policies; derived edges are not in a snapshot): the
    whole graph's, or with `scoped` (`Snapshot.complete` False) the part of it the touched accounts can reach.
    `scoped` only when the transaction CREATEd no node (a load, which COPYs): kuzu 0.11.3 reads nodes
    CREATEd in an open transaction back corrupted through the filters a partial snapshot reads with
    (docs/ENGINE.md)."""
    touched = frozenset(touched_accounts)
    scope = scope_of(db, touched) if scoped else None
    if scope is None or scope.whole:
        snap = build_snapshot(db)
    else:
        snap = build_partial_snapshot(db, accounts=scope.accounts, arns=scope.arns)
    for _name, fn in DERIVERS:
        fn(db, snap, touched)
    return snap
