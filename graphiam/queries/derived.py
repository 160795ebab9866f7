"""Derived edges (CAN_ASSUME, ESCALATES_TO): recomputed inside the write transaction that changed the graph.

Each deriver registers itself here; `refresh_derived` runs them all on a snapshot of the graph as the
transaction sees it (its own uncommitted writes included), so derived edges commit or roll back together with
the change that caused them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from graphiam.queries.snapshot import Snapshot, build_snapshot
from graphiam.store import Database

# (db, snapshot, touched accounts) -> None; must only write derived tables
Deriver = Callable[[Database, Snapshot, frozenset[str]], None]
DERIVERS: list[tuple[str, Deriver]] = []
# modules that register derivers when imported (absent modules are skipped while they are being built)
DERIVER_MODULES = ("graphiam.queries.assume", "graphiam.queries.escalation")


def register(name: str) -> Callable[[Deriver], Deriver]:
    def deco(fn: Deriver) -> Deriver:
        if name not in [n for n, _ in DERIVERS]:
            DERIVERS.append((name, fn))
        return fn

    return deco


def _import_derivers() -> None:
    import importlib
    import importlib.util

    for module in DERIVER_MODULES:
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)


def refresh_derived(db: Database, touched_accounts: Iterable[str]) -> None:
    """Recompute derived edges for what touched `touched_accounts`; call inside a write transaction."""
    _import_derivers()
    if not DERIVERS:
        return
    snap = build_snapshot(db)
    touched = frozenset(touched_accounts)
    for _name, fn in DERIVERS:
        fn(db, snap, touched)
