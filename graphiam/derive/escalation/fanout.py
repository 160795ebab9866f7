"""Fan-out edges: one actor reaching many principals of its account by one technique, derived and stored once.

An edge to another principal (`families.other_principal`: become a user or role, change it and become it, or
pass it to a service) holds two kinds of facts:
- what depends on the TARGET only (`Part`): its credential preconditions and their notes, the proof that the
  changed target is administrator (a policy of the actor's choosing, a policy version), the service's trust
  and the instance profile. Computed once per technique and account (`families.entries`).
- what depends on the ACTOR: its permissions on the target (and on the target's policy), each decided by the
  engine. `classes.Partitioner` splits the targets into classes the actor's statements cannot tell apart; one
  engine decision per class stands for every member (the proof's resource is the member's ARN).

So an actor whose `iam:CreateAccessKey` is allowed on `arn:aws:iam::A:user/*` gets ONE `FanEdge` to the set of
users of A (a `FanSet`, shared by every actor with the same reach), not one edge per user. `expand` renders a
fan's edges exactly as the per-target derivation (`families.other_principal`) writes them; the tests compare
the two. Small fans (at most `explicit_max` targets) are written as ordinary edges. This module holds the
data (parts, sets, fans) and their rendering; `reach` derives the fans.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from graphiam.derive.escalation.decide import Use
from graphiam.derive.escalation.edges import Edge

TARGET = "${graphiam:target}"  # placeholders in a fan's permission templates
POLICY = "${graphiam:policy}"


@dataclass(frozen=True, kw_only=True)
class Part:
    """What an edge to `target` holds that does not depend on the actor."""

    target: str
    policy: str | None = None
    proof: tuple[Use, ...] = ()
    assumptions: tuple[str, ...] = ()
    via: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "policy": self.policy,
            "proof": [u.as_json() for u in self.proof],
            "assumptions": list(self.assumptions),
            "via": [list(kv) for kv in self.via],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Part:
        return cls(
            target=d["target"],
            policy=d.get("policy"),
            proof=tuple(use_from_json(u) for u in d["proof"]),
            assumptions=tuple(d["assumptions"]),
            via=tuple((k, v) for k, v in d["via"]),
        )

    def edge(self, source: str, technique: str, admin: bool, uses: tuple[Use, ...]) -> Edge:
        """The edge `source` → `target` with the actor's permissions `uses`."""
        return Edge(
            source=source,
            target=self.target,
            technique=technique,
            uses=uses,
            proof=self.proof,
            admin=admin,
            assumptions=self.assumptions,
            via=dict(self.via),
        )


def use_from_json(d: dict[str, Any]) -> Use:
    return Use(
        action=d["action"],
        resource=d["resource"],
        statements=tuple(d["statements"]),
        needs=tuple(d.get("needs", ())),
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class FanSet:
    """The targets (with their parts; a target may have several, one per policy) of fans of one technique."""

    id: str
    account: str
    technique: str
    parts: tuple[Part, ...]

    @classmethod
    def of(cls, account: str, technique: str, parts: tuple[Part, ...]) -> FanSet:
        text = json.dumps([p.as_json() for p in parts], sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha1(f"{account}|{technique}|{text}".encode()).hexdigest()[:24]
        return cls(id=f"{account}:{technique}:{digest}", account=account, technique=technique, parts=parts)


@dataclass(frozen=True, kw_only=True)
class FanEdge:
    """`source` reaches every target of `targets` but itself with `technique`; `uses` name the target (and the
    target's policy) by placeholder."""

    source: str
    technique: str
    admin: bool
    targets: FanSet
    uses: tuple[Use, ...]

    def size(self) -> int:
        return sum(1 for p in self.targets.parts if p.target != self.source)


def render(source: str, technique: str, admin: bool, uses: tuple[Use, ...], part: Part) -> Edge:
    """The edge `source` → `part.target` as the per-target derivation writes it (placeholders filled)."""
    return part.edge(source, technique, admin, tuple(_fill(u, part) for u in uses))


def _fill(u: Use, part: Part) -> Use:
    if u.resource == TARGET:
        labels = tuple(
            part.target + x[len(TARGET) :] if x.startswith(TARGET + "#") else x for x in u.statements
        )
        return replace(u, resource=part.target, statements=labels)
    if u.resource == POLICY:
        return replace(u, resource=part.policy or "")
    return u


def expand(fan: FanEdge, target: str | None = None) -> Iterator[Edge]:
    """Every edge of a fan (or only those to `target`)."""
    for part in fan.targets.parts:
        if part.target != fan.source and (target is None or part.target == target):
            yield render(fan.source, fan.technique, fan.admin, fan.uses, part)
