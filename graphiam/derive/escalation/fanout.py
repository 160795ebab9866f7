"""Fan-out edges: one actor reaching many principals of its account by one technique, derived and stored once.

An edge to another principal (`families.other_principal`: become a user or role, or change it and become it;
`families.pass_role`: a service acting as a role) holds two kinds of facts:
- what depends on the TARGET only (`Part`): its credential preconditions and their notes, the proof that the
  changed target is administrator (a policy of the actor's choosing, a policy version), the service's trust
  and the instance profile. Computed once per technique and account (`entries`).
- what depends on the ACTOR: its permissions on the target (and on the target's policy), each decided by the
  engine. `classes.Partitioner` splits the targets into classes the actor's statements cannot tell apart; one
  engine decision per class stands for every member (the proof's resource is the member's ARN).

So an actor whose `iam:CreateAccessKey` is allowed on `arn:aws:iam::A:user/*` gets ONE `FanEdge` to the set of
users of A (a `FanSet`, shared by every actor with the same reach), not one edge per user. `expand` renders a
fan's edges exactly as the per-target derivation (`families`) writes them; the tests compare the two.
Small fans (at most `explicit_max` targets) are written as ordinary edges.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from graphiam.derive.escalation.classes import Universe
from graphiam.derive.escalation.decide import ALLOW_ALL, Use
from graphiam.derive.escalation.edges import Derivation, Edge
from graphiam.derive.escalation.families import _customer_managed, _replace, _then, becomes_admin, targets_of
from graphiam.derive.escalation.techniques import Precondition as P
from graphiam.derive.escalation.techniques import Target, TargetKind, Technique, YieldKind

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
    """The edge `source` → `part.target` as the per-target derivation writes it."""
    filled = tuple(_fill(u, part) for u in uses)
    return Edge(
        source=source,
        target=part.target,
        technique=technique,
        uses=filled,
        proof=part.proof,
        admin=admin,
        assumptions=part.assumptions,
        via=dict(part.via),
    )


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


# ---- what depends on the target only ----


def _key(t: Technique) -> Target:
    if t.yields.kind is YieldKind.PASS_ROLE_TO_SERVICE:
        return Target.PASSED_ROLE
    return Target.TARGET_USER if t.yields.target_kind is TargetKind.USER else Target.TARGET_ROLE


def entries(d: Derivation, t: Technique, account: str) -> tuple[Part, ...]:
    """Every target of `t` in `account` with what its edge holds apart from the actor's permissions."""
    cache = d.cache.setdefault("entries", {})
    hit = cache.get((t.id, account))
    if hit is None:
        hit = cache[(t.id, account)] = tuple(_entries(d, t, account))
    return hit  # type: ignore[no-any-return]


def _entries(d: Derivation, t: Technique, account: str) -> Iterator[Part]:
    y = t.yields
    if y.kind is YieldKind.PASS_ROLE_TO_SERVICE:
        yield from _service_entries(d, t, account)
        return
    for target, notes in targets_of(d, t, account):
        if y.kind is YieldKind.MODIFY_POLICY_VERSION:
            for parn in _customer_managed(d, target):
                options = (
                    [("new version", ALLOW_ALL)]
                    if y.arbitrary_policy
                    else list(d.facts.versions.get(parn, ()))
                )
                for version, src in options:
                    admin = becomes_admin(d, target, _replace(target.identity, parn, src))
                    if admin is not None:
                        via = _then({"policy": parn, "version": version}, admin[1])
                        yield Part(
                            target=target.arn,
                            policy=parn,
                            proof=admin[0],
                            assumptions=notes,
                            via=tuple(via.items()),
                        )
                        break
        elif y.kind is YieldKind.GAIN_POLICY:
            proof = d.decider.admin_with(target, (*target.identity, ALLOW_ALL))
            if proof is not None:
                yield Part(target=target.arn, proof=(proof,), assumptions=notes)
        else:
            yield Part(target=target.arn, assumptions=notes)


def _service_entries(d: Derivation, t: Technique, account: str) -> Iterator[Part]:
    service = t.yields.service
    if service is None:
        return
    existing = P.SERVICE_RESOURCE_RUNS_AS_ROLE in t.preconditions or any(
        p.target is Target.SERVICE_RESOURCE for p in t.required
    )
    notes = (
        (f"an existing {service} resource already runs as this role (not in a GAAD export)",)
        if existing
        else ()
    )
    for role in d.by_account.get(account, ()):
        if role.kind != "role":
            continue
        if P.ROLE_HAS_INSTANCE_PROFILE in t.preconditions and not d.snap.profiles.get(role.arn):
            continue
        trust = d.decider.trusts_service(role, service)
        if trust is None:
            continue
        via = {"service": service}
        if d.snap.profiles.get(role.arn):
            via["instance_profile"] = d.snap.profiles[role.arn][0]
        yield Part(target=role.arn, proof=(trust,), assumptions=notes, via=tuple(via.items()))


def universe(d: Derivation, account: str, kind: str) -> Universe:
    cache = d.cache.setdefault("universes", {})
    hit = cache.get((account, kind))
    if hit is None:
        ps = sorted((p for p in d.by_account.get(account, ()) if p.kind == kind), key=lambda p: p.arn)
        hit = cache[(account, kind)] = Universe(
            key=(account, kind), arns=tuple(p.arn for p in ps), tags={p.arn: p.tags for p in ps if p.tags}
        )
    return hit  # type: ignore[no-any-return]


def _policy_universe(d: Derivation, t: Technique, account: str, parts: tuple[Part, ...]) -> Universe:
    cache = d.cache.setdefault("policy-universes", {})
    hit = cache.get((t.id, account))
    if hit is None:
        arns = tuple(sorted({p.policy for p in parts if p.policy is not None}))
        hit = cache[(t.id, account)] = Universe(key=(account, "policy", t.id), arns=arns)
    return hit  # type: ignore[no-any-return]
