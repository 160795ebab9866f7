"""CAN_ASSUME and ESCALATES_TO links for the graph view, read from the escalation index (`queries.escalation`).

The index holds, per database generation, every assume-role edge (technique `sts-001`, from users, roles, service
and external principals), every escalation edge, the fan-out edges (one actor to every member of a target set)
and the self-loops (a principal that can make itself administrator). This module is the one place the view
reads that structure, so a change of how those edges are stored or indexed touches only this file.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from graphiam.escalation.paths import PathGraph, Step
from graphiam.queries.escalation import ASSUME_TECHNIQUE, EscalationIndex

CAN_ASSUME = "CAN_ASSUME"
ESCALATES_TO = "ESCALATES_TO"


@dataclass(frozen=True, kw_only=True)
class Link:
    source: str
    target: str
    kind: str  # CAN_ASSUME | ESCALATES_TO
    tag: str  # CAN_ASSUME: the action (sts:AssumeRole …); ESCALATES_TO: the technique id
    needs: tuple[str, ...] = ()  # condition keys the hop needs (MFA, source IP, ExternalId …)
    admin: bool = False  # ESCALATES_TO: the step makes its target administrator (or it is a self-loop)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.source, self.target, self.kind, self.tag


def _link(s: Step) -> Link:
    if s.technique == ASSUME_TECHNIQUE:
        action = str(s.permissions[0].get("action", "sts:AssumeRole")) if s.permissions else "sts:AssumeRole"
        return Link(source=s.source, target=s.target, kind=CAN_ASSUME, tag=action, needs=tuple(s.needs))
    return Link(source=s.source, target=s.target, kind=ESCALATES_TO, tag=s.technique, needs=tuple(s.needs),
                admin=s.admin or s.source == s.target)


def _fan_link(source: str, target: str, technique: str, admin: bool) -> Link:
    return Link(source=source, target=target, kind=ESCALATES_TO, tag=technique, admin=admin)


def _touching(g: PathGraph, key: str) -> Iterator[Link]:
    for s in g.out.get(key, ()):
        yield _link(s)
    for s in g.into_.get(key, ()):
        yield _link(s)
    for s in g.loops.get(key, ()):
        yield _link(s)
    for f in g.fans.get(key, ()):
        for b in f.targets.members:
            if b != key:
                yield _fan_link(key, b, f.technique, f.admin)
    for sid in g.sets_of.get(key, ()):
        for f in g.fans_of_set.get(sid, ()):
            if f.source != key:
                yield _fan_link(f.source, key, f.technique, f.admin)


def links_touching(index: EscalationIndex, keys: Iterable[str], kinds: Iterable[str],
                   *, both: bool = False) -> list[Link]:
    """The links of `kinds` with one end in `keys` (`both`: both ends), once each (parallel edges of one
    technique between the same two principals are one link), in a canonical order."""
    wanted = frozenset(kinds) & {CAN_ASSUME, ESCALATES_TO}
    if not wanted:
        return []
    keyset = keys if isinstance(keys, (set, frozenset)) else set(keys)
    out: dict[tuple[str, str, str, str], Link] = {}
    for k in sorted(keyset):
        for link in _touching(index.graph, k):
            if link.kind in wanted and (not both or (link.source in keyset and link.target in keyset)):
                out.setdefault(link.key, link)
    return [out[k] for k in sorted(out)]


def is_admin(index: EscalationIndex, arn: str) -> bool:
    """Administrator now, or able to make itself administrator in one step (`Principal.isAdmin`'s rule)."""
    return index.is_admin(arn)


def admin_now(index: EscalationIndex, arn: str) -> bool:
    """Allowed every action on `*` now."""
    return arn in index.direct
