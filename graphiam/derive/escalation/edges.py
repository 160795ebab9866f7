"""Escalation edges actor → principal, derived from the technique table with every permission engine-decided.

An edge says: using `technique`, `source` ends up with `target`'s permissions. The actor and the target
are in the same account (IAM and the services' PassRole act within one account; crossing accounts is
`CAN_ASSUME`'s job, derived elsewhere). Kinds of edge (`families.py` holds one function per family):

- become another principal (`iam-002` CreateAccessKey, `iam-004` CreateLoginProfile, `iam-012`
  UpdateAssumeRolePolicy …): edge actor → user/role, the target keeps its permissions;
- pass a role to a service (`ec2-001`, `lambda-001` …): edge actor → role; the role must trust the
  service principal, decided by the engine on its trust policy; `iam:PassRole` is decided with
  `iam:PassedToService`. Techniques that take over an EXISTING function, stack, instance … (not in a
  GAAD export) are kept with the assumption spelled out in `assumptions`;
- gain a policy / a policy version / lose a boundary: kept only when the engine says the changed
  principal would then be administrator (`Decider.admin_with`). On the actor itself this is a
  SELF-LOOP edge actor → actor ("can make itself administrator in one step"); on another principal
  (`iam-014` AttachRolePolicy + AssumeRole …) an edge actor → target that path queries treat as
  reaching administrator (`admin_techniques`).

Pruned, because no path to administrator needs them: edges leaving a principal that is administrator
already, and, for a principal that can make itself administrator, every edge but its self-loops (self-
escalation techniques are derived first). This keeps the edge count near linear in generated orgs where
many principals hold `iam:*`.

`needs` lists the request-context keys the step needs (MFA, source IP …), `assumptions` the facts a
GAAD export cannot prove.

Edges to other principals are derived per class of targets (`reach`, `classes`) and an actor reaching many
targets by one technique gets one fan-out edge to a shared target set (`fanout.FanEdge`) instead of one edge
per target: without that, the edge count (and the time) grows with actors × targets (575,000 edges for 3,000
generated principals). `derive.derive(fan_out=False)` still derives one target at a time; the tests compare
the two.

This module holds the data the derivation shares (`Edge`, `GraphFacts`, `Derivation`); the technique
families (`families`, `reach`) build on it and `derive` (the dispatcher) runs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from graphiam.derive.escalation.classes import Partitioner
from graphiam.derive.escalation.decide import Decider, Use
from graphiam.derive.escalation.techniques import TargetKind, Technique, YieldKind, load_techniques
from graphiam.graph.context import TRUST_ACTIONS
from graphiam.graph.snapshot import PrincipalInfo, Snapshot
from graphiam.policy import PolicyDocument, PolicySource

SKIPPED = frozenset({"sts-001"})  # assuming a role is a CAN_ASSUME edge


@dataclass(frozen=True, kw_only=True)
class GroupFacts:
    arn: str
    account: str
    name: str
    policies: tuple[PolicySource, ...]


@dataclass(kw_only=True)
class GraphFacts:
    """What the snapshot does not carry: every group (members or not), stored non-default policy versions,
    and credential-report facts (None: unknown)."""

    groups: dict[str, GroupFacts] = field(default_factory=dict)
    versions: dict[str, tuple[tuple[str, PolicySource], ...]] = field(default_factory=dict)
    password_enabled: dict[str, bool | None] = field(default_factory=dict)
    access_keys: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Edge:
    source: str
    target: str
    technique: str
    uses: tuple[Use, ...]  # the actor's permissions, each decided by the engine
    proof: tuple[Use, ...] = ()  # why it works: the service's trust, or the changed principal's admin probe
    admin: bool = False  # the step itself makes the target administrator
    assumptions: tuple[str, ...] = ()
    via: dict[str, str] = field(default_factory=dict)  # policy, version, group, service …

    @property
    def needs(self) -> tuple[str, ...]:
        return tuple(sorted({k for u in (*self.uses, *self.proof) for k in u.needs}))

    def row(self) -> dict[str, Any]:
        """The stored form: permissions and details as JSON text."""
        details = {
            "needs": list(self.needs),
            "assumptions": list(self.assumptions),
            "admin": self.admin,
            "via": self.via,
            "proof": [u.as_json() for u in self.proof],
        }
        return {
            "from": self.source,
            "to": self.target,
            "technique": self.technique,
            "permissions": json.dumps([u.as_json() for u in self.uses], separators=(",", ":")),
            "details": json.dumps(details, separators=(",", ":")),
        }


def admin_techniques() -> frozenset[str]:
    """Techniques whose edges exist only when their end principal is then administrator."""
    return frozenset(
        t.id
        for t in load_techniques()
        if t.yields.kind
        in (YieldKind.GAIN_POLICY, YieldKind.MODIFY_POLICY_VERSION, YieldKind.MODIFY_BOUNDARY)
    )


def self_techniques() -> frozenset[str]:
    """Techniques stored as self-loops (the actor changes its own permissions)."""
    return frozenset(
        t.id for t in load_techniques() if t.yields.target_kind in (TargetKind.SELF, TargetKind.GROUP)
    )


@dataclass(frozen=True, kw_only=True)
class DeriveOptions:
    """Settings of one derivation; the defaults are what graphiam stores. The shortcuts can be turned off so
    that tests compare the derivation with and without them (they must give the same edges)."""

    share_blind: bool = (
        True  # an admin probe whose statements read nothing of the principal: once per account
    )
    prefilter: bool = True  # self-escalation: identity Allow for each required action; `_refused_as_stored`
    explicit_max: int = 16  # a fan-out edge reaching at most this many principals is written one per target


@dataclass
class Derivation:
    """The state one derivation run shares: snapshot, facts, decider, per-account indexes, timings."""

    snap: Snapshot
    facts: GraphFacts
    decider: Decider
    by_account: dict[str, list[PrincipalInfo]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    options: DeriveOptions = field(default_factory=DeriveOptions)
    partitioner: Partitioner = field(default_factory=Partitioner)
    cache: dict[str, dict[Any, Any]] = field(default_factory=dict)  # per-run memos of `fanout` / `reach`
    _candidates: dict[str, frozenset[str]] = field(default_factory=dict)
    _masks: dict[str, int] = field(default_factory=dict)  # principal -> `allows` bits
    _doc_masks: dict[int, int] = field(default_factory=dict)  # id(document) -> `allows` bits
    _docs: list[PolicyDocument] = field(default_factory=list)  # keeps them alive: their ids stay theirs
    _last_identity: tuple[tuple[PolicySource, ...], int] | None = None

    def candidates(self, action: str) -> frozenset[str]:
        """Principals with an identity Allow statement whose Action/NotAction admits `action` (prefilter)."""
        hit = self._candidates.get(action)
        if hit is None:
            bit = action_bits().get(action.lower())
            if bit is None:
                has = self.decider.has_allows  # memoised per document and action
                hit = frozenset(p.arn for p in self.snap.principals.values() if has(p.identity, action))
            else:
                hit = frozenset(p.arn for p in self.snap.principals.values() if self.allows(p) & bit)
            self._candidates[action] = hit
        return hit

    def allows(self, p: PrincipalInfo) -> int:
        """Bit `action_bits()[a]` set: an identity Allow statement of the stored principal `p` admits action
        `a` (every action a technique requires), read once per document."""
        hit = self._masks.get(p.arn)
        if hit is None:
            hit = 0
            for src in p.identity:
                hit |= self._doc_mask(src.document)
            self._masks[p.arn] = hit
        return hit

    def _doc_mask(self, doc: PolicyDocument) -> int:
        m = self._doc_masks.get(id(doc))
        if m is None:  # documents live as long as the snapshot (or the source holding them)
            m = self._doc_masks[id(doc)] = sum(
                b
                for a, b in action_bits().items()
                if any(st.effect == "Allow" for st in doc.statements_for(a))
            )
            self._docs.append(doc)
        return m

    def identity_allows_all(self, identity: tuple[PolicySource, ...], t: Technique) -> bool:
        """Some source of `identity` has an Allow statement for each non-trust action `t` requires (without
        one an identity-only evaluation never allows it); the identity of the last call is remembered (the
        self-escalation techniques ask one changed principal in turn)."""
        last = self._last_identity
        if last is not None and last[0] is identity:
            mask = last[1]
        else:
            mask = 0
            for src in identity:
                mask |= self._doc_mask(src.document)
            self._last_identity = (identity, mask)
        need = _needed(t)
        return mask & need == need

    def allows_all(self, p: PrincipalInfo, actions: list[str]) -> bool:
        """`p` has an identity Allow statement for every action of `actions` (technique actions)."""
        need = 0
        for a in actions:
            need |= action_bits()[a.lower()]
        return self.allows(p) & need == need


@cache
def _needed(t: Technique) -> int:
    """The `action_bits` of the non-trust actions `t` requires."""
    bits = action_bits()
    return sum({bits[p.action.lower()] for p in t.required if p.action.lower() not in TRUST_ACTIONS})


@cache
def action_bits() -> dict[str, int]:
    """Every action a technique requires (lower-cased) -> its bit in `Derivation.allows`."""
    actions = sorted({p.action.lower() for t in load_techniques() for p in t.required})
    return {a: 1 << i for i, a in enumerate(actions)}
