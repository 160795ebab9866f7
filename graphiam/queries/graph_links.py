"""CAN_ASSUME and ESCALATES_TO links for the graph view, read from the escalation index
(`queries.escalation_paths`).

The index holds, per database generation, every assume-role edge (technique `sts-001`, from users, roles,
service and external principals), every escalation edge, the fan-out edges (one actor to every member of a
target set) and the self-loops (a principal that can make itself administrator). This module is the one place
the view reads that structure, so a change of how those edges are stored or indexed touches only this file.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import NamedTuple

from graphiam.derive.escalation.paths import PathGraph, Step
from graphiam.queries.escalation_paths import ASSUME_TECHNIQUE, EscalationIndex

CAN_ASSUME = "CAN_ASSUME"
ESCALATES_TO = "ESCALATES_TO"


class Link(NamedTuple):
    source: str
    target: str
    kind: str  # CAN_ASSUME | ESCALATES_TO
    tag: str  # CAN_ASSUME: the action (sts:AssumeRole …); ESCALATES_TO: the technique id
    needs: tuple[str, ...] = ()  # condition keys the hop needs (MFA, source IP, ExternalId …)
    admin: bool = False  # ESCALATES_TO: the step makes its target administrator (or it is a self-loop)


def _kind(s: Step) -> str:
    return CAN_ASSUME if s.technique == ASSUME_TECHNIQUE else ESCALATES_TO


def _link(s: Step) -> Link:
    if s.technique == ASSUME_TECHNIQUE:
        action = str(s.permissions[0].get("action", "sts:AssumeRole")) if s.permissions else "sts:AssumeRole"
        return Link(s.source, s.target, CAN_ASSUME, action, tuple(s.needs))
    return Link(
        s.source, s.target, ESCALATES_TO, s.technique, tuple(s.needs), s.admin or s.source == s.target
    )


def _wanted(kinds: Iterable[str]) -> frozenset[str]:
    return frozenset(kinds) & {CAN_ASSUME, ESCALATES_TO}


def neighbours(index: EscalationIndex, keys: Collection[str], kinds: Iterable[str]) -> set[str]:
    """Every node one link of `kinds` away from `keys`, in either direction (a fan-out edge's target set is
    read once however many actors share it)."""
    wanted = _wanted(kinds)
    g: PathGraph = index.graph
    found: set[str] = set()
    if not wanted:
        return found
    escalations = ESCALATES_TO in wanted
    sets_out: set[str] = set()
    sets_in: set[str] = set()
    for k in keys:
        found.update(s.target for s in g.out.get(k, ()) if _kind(s) in wanted)
        found.update(s.source for s in g.into_.get(k, ()) if _kind(s) in wanted)
        if escalations:
            for f in g.fans.get(k, ()):
                if f.targets.id not in sets_out:
                    sets_out.add(f.targets.id)
                    found |= f.targets.member_set
            for sid in g.sets_of.get(k, ()):
                if sid not in sets_in:
                    sets_in.add(sid)
                    found.update(f.source for f in g.fans_of_set.get(sid, ()))
    found.difference_update(keys)
    return found


def assumptions_among(index: EscalationIndex, keys: Collection[str]) -> list[Link]:
    """The CAN_ASSUME links whose two ends are in `keys`, once each. Unordered."""
    g: PathGraph = index.graph
    keyset = keys if isinstance(keys, (set, frozenset)) else set(keys)
    out: dict[tuple[str, ...], Link] = {}
    for k in keyset:
        for s in g.out.get(k, ()):
            if s.technique == ASSUME_TECHNIQUE and s.target in keyset:
                link = _link(s)
                out.setdefault(link[:4], link)
    return list(out.values())


def escalations_from(index: EscalationIndex, source: str, keys: Collection[str]) -> list[Link]:
    """The ESCALATES_TO links from `source` to `keys` (its self-loops included), once each: parallel edges of
    one technique between the same two principals are one link. Sorted by (target, technique)."""
    g: PathGraph = index.graph
    keyset = keys if isinstance(keys, (set, frozenset)) else set(keys)
    out: dict[tuple[str, str], Link] = {}
    for s in (*g.out.get(source, ()), *g.loops.get(source, ())):
        if s.technique != ASSUME_TECHNIQUE and s.target in keyset:
            out.setdefault((s.target, s.technique), _link(s))
    for f in g.fans.get(source, ()):
        for b in f.targets.member_set & keyset:
            if b != source:
                out.setdefault((b, f.technique), Link(source, b, ESCALATES_TO, f.technique, (), f.admin))
    return [out[k] for k in sorted(out)]
