"""Derived edges (CAN_ASSUME, ESCALATES_TO): recomputed inside the write transaction that changed the graph.

`DERIVERS` names every deriver, in the order they run; `refresh_derived` runs them all on a snapshot of the
graph as the transaction sees it (its own uncommitted writes included), so derived edges commit or roll back
together with the change that caused them. CAN_ASSUME comes first: the escalation deriver reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from graphiam.derive.assume.edges import derive_can_assume
from graphiam.derive.escalation.run import derive as derive_escalation
from graphiam.derive.resources import derive_names
from graphiam.graph.snapshot import Snapshot, build_snapshot
from graphiam.store import Database

# (db, snapshot, touched accounts) -> None; must only write derived tables
Deriver = Callable[[Database, Snapshot, frozenset[str]], None]
DERIVERS: tuple[tuple[str, Deriver], ...] = (
    ("can_assume", derive_can_assume),
    ("escalation", derive_escalation),
    ("resource_names", derive_names),
)


def refresh_derived(db: Database, touched_accounts: Iterable[str]) -> Snapshot:
    """Recompute derived edges for what touched `touched_accounts`; call inside a write transaction. Returns
    the snapshot the derivers ran on (the transaction's policies; derived edges are not in a snapshot)."""
    snap = build_snapshot(db)
    touched = frozenset(touched_accounts)
    for _name, fn in DERIVERS:
        fn(db, snap, touched)
    return snap
