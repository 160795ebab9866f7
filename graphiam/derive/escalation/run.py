"""The `escalation` deriver: ESCALATES_TO edges, fan-out sets and fan-out edges of the touched accounts,
computed from a snapshot and written in the load's (or change's) transaction."""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from graphiam.derive.escalation.derive import derive as derive_all
from graphiam.derive.escalation.edges import DeriveOptions, GraphFacts, GroupFacts
from graphiam.derive.escalation.fanout import FanEdge, FanSet
from graphiam.graph.snapshot import Snapshot
from graphiam.policy import PolicySource
from graphiam.policy.document import parse_stored
from graphiam.store import Database
from graphiam.store import escalation_store as S


@dataclass(frozen=True, kw_only=True)
class Stats:
    """What one run of the deriver did."""

    timings: dict[str, float]  # seconds per technique, and `total` (facts, derivation and write)
    counts: dict[str, int]  # explicit edges, fans, target sets and the edges the fans stand for


def graph_facts(db: Database, snap: Snapshot) -> GraphFacts:
    """Groups, non-default versions and credential facts, read once per derivation / generation."""
    facts = GraphFacts()
    for g in S.group_policy_arns(db):
        srcs = tuple(
            PolicySource(
                document=snap.documents[a],
                policy_id=a,
                name=snap.policies[a].name,
                kind=snap.policies[a].kind,
                via="group",
                via_name=g["name"],
            )
            for a in sorted(
                (a for a in g["policies"] if a in snap.documents),
                key=lambda a: (snap.policies[a].kind != "inline", a),
            )
        )  # in the snapshot's canonical order (`graph.snapshot.assemble`): the first policy that proves an
        # escalation is the one an edge names, so the order must not depend on the engine's row order
        facts.groups[g["arn"]] = GroupFacts(arn=g["arn"], account=g["account"], name=g["name"], policies=srcs)
    versions: dict[str, list[tuple[str, PolicySource]]] = {}
    for v in S.non_default_versions(db):
        if v["policy"] not in snap.policies:
            continue  # attached to no principal of the snapshot (of part of the graph: `graph.partial`)
        row = snap.policies.get(v["policy"])
        doc = parse_stored(v["document"], where=f"{v['policy']} {v['version']}")
        src = PolicySource(
            document=doc,
            policy_id=f"{v['policy']}#{v['version']}",
            name=f"{row.name if row else v['policy']} {v['version']}",
            kind="customer-managed",
            via="user",
        )
        versions.setdefault(v["policy"], []).append((v["version"], src))
    facts.versions = {k: tuple(vs) for k, vs in versions.items()}
    for u in S.user_credentials(db):
        facts.password_enabled[u["arn"]] = u["password_enabled"]
        facts.access_keys[u["arn"]] = u["access_keys"]
    return facts


def derive(db: Database, snap: Snapshot, touched: frozenset[str]) -> None:
    """Recompute the ESCALATES_TO edges leaving principals of the touched accounts (inside the load), with the
    default options: the deriver `refresh.DERIVERS` runs. Escalation is account-local (an actor's targets are
    principals of its account), so it reads the touched accounts' principals only."""
    mine = {a: p for a, p in snap.principals.items() if p.account in touched}
    derive_with(db, snap if len(mine) == len(snap.principals) else replace(snap, principals=mine), touched)


def derive_with(
    db: Database, snap: Snapshot, touched: frozenset[str], options: DeriveOptions | None = None
) -> Stats:
    """`derive` with `options` (the defaults unless given), returning what it did; call inside a write
    transaction."""
    start = time.perf_counter()
    with _no_cycle_collection():
        out = derive_all(snap, graph_facts(db, snap), accounts=touched, options=options)
        kinds = {p.arn: "User" if p.kind == "user" else "Role" for p in snap.principals.values()}
        sets = {f.targets.id: f.targets for f in out.fans}
        counts = dict(
            edges=len(out.edges),
            fans=len(out.fans),
            sets=len(sets),
            fan_edges=sum(f.size() for f in out.fans),
        )
        rows, set_rows = [e.row() for e in out.edges], [set_row(ts) for _, ts in sorted(sets.items())]
        fan_rows, timings = [fan_row(f) for f in out.fans], out.timings
        del out, sets  # the edges as objects are not needed for the write (10,000 principals: 125,000 edges)
        S.replace_edges(db, touched, rows, kinds, sets=set_rows, fans=fan_rows)
    return Stats(timings={**timings, "total": time.perf_counter() - start}, counts=counts)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The derivation allocates millions of memo entries and makes no reference cycles (no cyclic garbage
    is found in it): the cycle collector, which would walk the snapshot and the memos again and again as
    they grow (a sixth of the time at 3,000 principals), is paused while it runs. Reference counting still
    frees everything; the collector's previous state is restored."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def set_row(ts: FanSet) -> dict[str, Any]:
    return {
        "id": ts.id,
        "account": ts.account,
        "technique": ts.technique,
        "targets": json.dumps([p.target for p in ts.parts], separators=(",", ":")),
        "parts": json.dumps([p.as_json() for p in ts.parts], separators=(",", ":")),
    }


def fan_row(f: FanEdge) -> dict[str, Any]:
    return {
        "from": f.source,
        "to": f.targets.id,
        "technique": f.technique,
        "permissions": json.dumps([u.as_json() for u in f.uses], separators=(",", ":")),
        "details": json.dumps({"admin": f.admin}, separators=(",", ":")),
    }
