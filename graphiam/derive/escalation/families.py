"""One function per family of techniques: which targets to try, and what must hold for an edge.

Each required permission is decided on its concrete resource (`Target` in the technique table): the
actor's own ARN, the target user/role/group, the policy, the passed role (with `iam:PassedToService`).
A resource that does not exist yet (`any`: the new instance, function, stack …) is decided on its ARN
template with region `us-east-1`, the actor's account and `graphiam-new` as every name; an existing
service resource (`service_resource`) with `*` as every name, and the edge records the assumption.
`iam:Attach*Policy` is asked with `iam:PolicyARN` = AdministratorAccess and `iam:Put*PermissionsBoundary`
with `iam:PermissionsBoundary` = AdministratorAccess: a condition that pins another policy stops the edge.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import replace

from graphiam.derive.escalation.decide import ADMIN_POLICY_ARN, ALL_PROBES, ALLOW_ALL, Use, probe_masks
from graphiam.derive.escalation.edges import Derivation, Edge, GroupFacts
from graphiam.derive.escalation.techniques import Precondition as P
from graphiam.derive.escalation.techniques import Target, TargetKind, Technique, YieldKind, load_techniques
from graphiam.graph.context import TRUST_ACTIONS
from graphiam.graph.snapshot import PrincipalInfo
from graphiam.policy import PolicySource

PREFILTER = (
    True  # self-escalation's shortcuts (`_refused_as_stored`, the identity Allow check); tests turn it off
)
_VAR = re.compile(r"\$\{([A-Za-z]+)\}")
_FIXED_BY_ACTION = {
    "iam:attachuserpolicy": {"iam:PolicyARN": ADMIN_POLICY_ARN},
    "iam:attachrolepolicy": {"iam:PolicyARN": ADMIN_POLICY_ARN},
    "iam:attachgrouppolicy": {"iam:PolicyARN": ADMIN_POLICY_ARN},
    "iam:putuserpermissionsboundary": {"iam:PermissionsBoundary": ADMIN_POLICY_ARN},
    "iam:putrolepermissionsboundary": {"iam:PermissionsBoundary": ADMIN_POLICY_ARN},
}


def _fill(template: str, account: str, name: str) -> str:
    if template == "*":
        return "*"
    values = {"Partition": "aws", "Account": account, "Region": "us-east-1"}
    return _VAR.sub(lambda m: values.get(m.group(1), name), template)


def permissions(
    d: Derivation,
    t: Technique,
    actor: PrincipalInfo,
    targets: Mapping[Target, str],
    only: frozenset[Target] | None = None,
) -> list[Use] | None:
    """Decide the required permissions (those whose target is in `only`, or all); None if one fails."""
    uses: list[Use] = []
    for perm in t.required:
        if only is not None and perm.target not in only:
            continue
        fixed = dict(_FIXED_BY_ACTION.get(perm.action.lower(), {}))
        if perm.target is Target.SELF:
            resource = actor.arn
        elif perm.target is Target.ANY:
            resource = _fill(perm.resource_template, actor.account, "graphiam-new")
        elif perm.target is Target.SERVICE_RESOURCE:
            resource = _fill(perm.resource_template, actor.account, "*")
        else:
            resource = targets[perm.target]
            if perm.target is Target.PASSED_ROLE and t.yields.service:
                fixed["iam:PassedToService"] = t.yields.service
        if perm.target not in _ACTOR_ONLY and not d.decider.may_allow(actor, perm.action, resource):
            return None
        use = d.decider.allowed(actor, perm.action, resource, fixed)
        if use is None:
            return None
        uses.append(use)
    return uses


_ACTOR_ONLY = frozenset({Target.SELF, Target.ANY, Target.SERVICE_RESOURCE})


def _kind_ok(t: Technique, actor: PrincipalInfo) -> bool:
    if P.ACTOR_IS_USER in t.preconditions and actor.kind != "user":
        return False
    return not (P.ACTOR_IS_ROLE in t.preconditions and actor.kind != "role")


def _replace(
    identity: tuple[PolicySource, ...], policy_arn: str, new: PolicySource
) -> tuple[PolicySource, ...]:
    out = [new if s.policy_id == policy_arn else s for s in identity]
    return tuple(dict.fromkeys(out))  # a policy met through two groups is replaced once


def _customer_managed(d: Derivation, p: PrincipalInfo) -> list[str]:
    return list(dict.fromkeys(s.policy_id for s in p.identity if s.kind == "customer-managed"))


def becomes_admin(
    d: Derivation,
    p: PrincipalInfo,
    identity: tuple[PolicySource, ...],
    *,
    groups: tuple[str, ...] | None = None,
    depth: int = 1,
) -> tuple[tuple[Use, ...], str | None] | None:
    """With these identity policies, `p` is administrator, or (`depth` 1) can then make itself so with one
    more self-escalation technique (joining a group that grants `iam:*`, say). The proof, and that technique."""
    proof = d.decider.admin_with(p, identity)
    if proof is not None:
        return (proof,), None
    if depth <= 0:
        return None
    changed = replace(p, identity=identity, groups=groups if groups is not None else p.groups)
    for t in load_techniques():
        if t.yields.target_kind in (TargetKind.SELF, TargetKind.GROUP):
            for edge in self_change(d, t, changed, depth=depth - 1, not_admin=True):
                return (*edge.uses, *edge.proof), t.id
    return None


def self_change(
    d: Derivation, t: Technique, actor: PrincipalInfo, *, depth: int = 1, not_admin: bool = False
) -> Iterator[Edge]:
    """Self-escalation: a policy put on / attached to the actor or its group, a version of an attached
    policy, a boundary removed, a group joined. A self-loop, kept when the changed actor would be
    administrator (for a bounded change, also when it could then make itself administrator)."""
    if (
        not _kind_ok(t, actor)
        or PREFILTER
        and not all(
            p.action.lower() in TRUST_ACTIONS or d.decider.has_allows(actor.identity, p.action)
            for p in t.required
        )
    ):
        return  # a permission decided without a resource policy needs an identity Allow statement
    if not not_admin and d.decider.admin_with(actor) is not None:  # `not_admin`: the caller knows it is not
        return
    base = permissions(d, t, actor, {}, only=_ACTOR_ONLY)
    if base is None:
        return
    y = t.yields
    if y.kind is YieldKind.MODIFY_BOUNDARY:
        if actor.boundary is None:
            return
        proof = d.decider.admin_with(actor, boundary=None)
        if proof is not None:
            yield Edge(
                source=actor.arn,
                target=actor.arn,
                technique=t.id,
                uses=tuple(base),
                proof=(proof,),
                admin=True,
                via={"boundary": actor.boundary_arn or ""},
            )
        return
    if y.kind is YieldKind.MODIFY_POLICY_VERSION:
        for parn in _customer_managed(d, actor):
            options = (
                [("new version", ALLOW_ALL)] if y.arbitrary_policy else list(d.facts.versions.get(parn, ()))
            )
            if (
                depth <= 0
            ):  # `becomes_admin` is then `admin_with` alone: drop the versions that cannot make it
                options = [
                    (v, src)
                    for v, src in options
                    if not _refused_as_stored(d, actor, parn, src)
                    and d.decider.admin_with(actor, _replace(actor.identity, parn, src)) is not None
                ]
            if not options:
                continue  # checked before the permission: cheaper, and the same edges
            uses = permissions(
                d, t, actor, {Target.TARGET_POLICY: parn}, only=frozenset({Target.TARGET_POLICY})
            )
            if uses is None:
                continue
            for version, src in options:
                found = becomes_admin(d, actor, _replace(actor.identity, parn, src), depth=depth)
                if found is not None:
                    yield Edge(
                        source=actor.arn,
                        target=actor.arn,
                        technique=t.id,
                        uses=(*base, *uses),
                        proof=found[0],
                        admin=True,
                        via=_then({"policy": parn, "version": version}, found[1]),
                    )
                    break
        return
    if y.target_kind is TargetKind.SELF:
        proof = d.decider.admin_with(actor, (*actor.identity, ALLOW_ALL))
        if proof is not None:
            yield Edge(
                source=actor.arn,
                target=actor.arn,
                technique=t.id,
                uses=tuple(base),
                proof=(proof,),
                admin=True,
            )
        return
    # a group: one the actor is in (gets a policy of its choosing), or one it joins (gets the group's policies)
    if y.arbitrary_policy:
        groups = [d.facts.groups[g] for g in actor.groups if g in d.facts.groups]
        if depth <= 0 and groups and d.decider.admin_with(actor, (*actor.identity, ALLOW_ALL)) is None:
            return  # `becomes_admin` is then `admin_with` with a policy of its choosing, the same for every group
    else:
        groups = [g for g in _joinable(d, actor.account) if g.arn not in actor.groups]
    masks = probe_masks(actor.identity) if depth <= 0 and not y.arbitrary_policy else None
    failed = d.decider.failed_probe(actor) if masks is not None else None
    for g in groups:
        extra = (ALLOW_ALL,) if y.arbitrary_policy else g.policies
        if (
            masks is not None
        ):  # `becomes_admin` is then `admin_with` alone: skip when it cannot hold (cheaper first)
            allow, deny = _group_masks(d, g)
            if masks[0] | allow != ALL_PROBES or masks[1] | deny:
                continue
            if failed is not None and not d.decider.touched_probes(g.policies) >> failed & 1:
                continue  # the probe the actor fails stays refused: the group says nothing about it
        uses = permissions(d, t, actor, {Target.TARGET_GROUP: g.arn}, only=frozenset({Target.TARGET_GROUP}))
        if uses is None:
            continue
        found = becomes_admin(d, actor, (*actor.identity, *extra), groups=(*actor.groups, g.arn), depth=depth)
        if found is not None:
            yield Edge(
                source=actor.arn,
                target=actor.arn,
                technique=t.id,
                uses=(*base, *uses),
                proof=found[0],
                admin=True,
                via=_then({"group": g.arn}, found[1]),
            )


def _refused_as_stored(d: Derivation, actor: PrincipalInfo, parn: str, src: PolicySource) -> bool:
    """`actor` is a stored principal with identity policies added (a group joined) and `parn` one of the stored
    principal's own: with `parn` replaced by `src`, the stored principal is refused a probe that the added
    policies have no statement for, so the changed one is refused it too (`Decider.refusal`); cheaper than
    asking, for every group, what is the same answer."""
    stored = d.snap.principals.get(actor.arn)
    if not PREFILTER or stored is None or stored is actor or actor.boundary is not stored.boundary:
        return False
    n = len(stored.identity)
    if len(actor.identity) < n or any(a is not b for a, b in zip(actor.identity, stored.identity)):
        return False
    if not any(s.policy_id == parn for s in stored.identity):
        return False
    refused = d.decider.refusal(stored, _replace(stored.identity, parn, src))
    if refused is None:
        return False
    added = [
        s for s in actor.identity[n:] if s.policy_id != parn
    ]  # copies of `parn` become `src`, met before
    return refused == -1 or not d.decider.touched_probes(added) >> refused & 1


def _joinable(d: Derivation, account: str) -> list[GroupFacts]:
    """The groups of `account` with an Allow statement (joining another gives nothing), in the facts' order."""
    cache = d.cache.setdefault("joinable", {})
    hit = cache.get(account)
    if hit is None:
        hit = cache[account] = [
            g
            for g in d.facts.groups.values()
            if g.account == account
            and any(st.effect == "Allow" for s in g.policies for st in s.document.statements)
        ]
    return hit  # type: ignore[no-any-return]


def _group_masks(d: Derivation, g: GroupFacts) -> tuple[int, int]:
    cache = d.cache.setdefault("group-masks", {})
    hit = cache.get(g.arn)
    if hit is None:
        hit = cache[g.arn] = probe_masks(g.policies)
    return hit  # type: ignore[no-any-return]


def _then(via: dict[str, str], technique: str | None) -> dict[str, str]:
    return {**via, "then": technique} if technique else via


def _assumptions_for_user(d: Derivation, t: Technique, user: str) -> tuple[str, ...] | None:
    """Credential preconditions: None when the credential report rules the technique out."""
    pw, keys = d.facts.password_enabled.get(user), d.facts.access_keys.get(user)
    notes: list[str] = []
    if P.TARGET_USER_HAS_NO_LOGIN_PROFILE in t.preconditions:
        if pw:
            return None
        if pw is None:
            notes.append("the user has no console password (unknown: no credential report)")
    if P.TARGET_USER_HAS_LOGIN_PROFILE in t.preconditions:
        if pw is False:
            return None
        if pw is None:
            notes.append("the user has a console password (unknown: no credential report)")
    if P.TARGET_USER_HAS_FEWER_THAN_TWO_ACCESS_KEYS in t.preconditions:
        if keys is not None and keys >= 2:
            return None
    elif t.id == "iam-003" and (keys is None or keys < 2):
        return None  # iam-002 already covers a user with a free access-key slot
    return tuple(notes)


def targets_of(
    d: Derivation, t: Technique, account: str, skip: str | None = None
) -> Iterator[tuple[PrincipalInfo, tuple[str, ...]]]:
    """The users or roles of `account` a principal-access technique can take over (but `skip`), each with its
    credential notes; users the credential report rules out are left out."""
    want = "user" if t.yields.target_kind is TargetKind.USER else "role"
    for target in d.by_account.get(account, ()):
        if target.kind != want or target.arn == skip:
            continue
        notes: tuple[str, ...] = ()
        if want == "user":
            found = _assumptions_for_user(d, t, target.arn)
            if found is None:
                continue
            notes = found
        yield target, notes


def other_principal(d: Derivation, t: Technique, actor: PrincipalInfo) -> Iterator[Edge]:
    """Principal access: become a user or role of the actor's account, or change it and then become it."""
    base = permissions(d, t, actor, {}, only=_ACTOR_ONLY)
    if base is None:
        return
    key = Target.TARGET_USER if t.yields.target_kind is TargetKind.USER else Target.TARGET_ROLE
    for target, notes in targets_of(d, t, actor.account, skip=actor.arn):
        yield from _other(d, t, actor, target, key, base, notes)


def _other(
    d: Derivation,
    t: Technique,
    actor: PrincipalInfo,
    target: PrincipalInfo,
    key: Target,
    base: list[Use],
    notes: tuple[str, ...],
) -> Iterator[Edge]:
    y = t.yields
    if y.kind is YieldKind.MODIFY_POLICY_VERSION:
        for parn in _customer_managed(d, target):
            uses = permissions(
                d,
                t,
                actor,
                {key: target.arn, Target.TARGET_POLICY: parn},
                only=frozenset({key, Target.TARGET_POLICY}),
            )
            if uses is None:
                continue
            options = (
                [("new version", ALLOW_ALL)] if y.arbitrary_policy else list(d.facts.versions.get(parn, ()))
            )
            for version, src in options:
                found = becomes_admin(d, target, _replace(target.identity, parn, src))
                if found is not None:
                    yield Edge(
                        source=actor.arn,
                        target=target.arn,
                        technique=t.id,
                        uses=(*base, *uses),
                        proof=found[0],
                        admin=True,
                        assumptions=notes,
                        via=_then({"policy": parn, "version": version}, found[1]),
                    )
                    break
        return
    uses = permissions(d, t, actor, {key: target.arn}, only=frozenset({key}))
    if uses is None:
        return
    if y.kind is YieldKind.GAIN_POLICY:
        proof = d.decider.admin_with(target, (*target.identity, ALLOW_ALL))
        if proof is not None:
            yield Edge(
                source=actor.arn,
                target=target.arn,
                technique=t.id,
                uses=(*base, *uses),
                proof=(proof,),
                admin=True,
                assumptions=notes,
            )
        return
    yield Edge(source=actor.arn, target=target.arn, technique=t.id, uses=(*base, *uses), assumptions=notes)


def pass_role(d: Derivation, t: Technique, actor: PrincipalInfo) -> Iterator[Edge]:
    """A service runs code of the actor's choosing as a role that trusts the service (new or existing resource)."""
    service = t.yields.service
    if service is None:
        return
    base = permissions(d, t, actor, {}, only=_ACTOR_ONLY)
    if base is None:
        return
    existing = P.SERVICE_RESOURCE_RUNS_AS_ROLE in t.preconditions or any(
        p.target is Target.SERVICE_RESOURCE for p in t.required
    )
    notes = (
        (f"an existing {service} resource already runs as this role (not in a GAAD export)",)
        if existing
        else ()
    )
    for role in d.by_account.get(actor.account, ()):
        if role.kind != "role" or role.arn == actor.arn:
            continue
        if P.ROLE_HAS_INSTANCE_PROFILE in t.preconditions and not d.snap.profiles.get(role.arn):
            continue
        trust = d.decider.trusts_service(role, service)
        if trust is None:
            continue
        uses = permissions(d, t, actor, {Target.PASSED_ROLE: role.arn}, only=frozenset({Target.PASSED_ROLE}))
        if uses is None:
            continue
        via = {"service": service}
        if d.snap.profiles.get(role.arn):
            via["instance_profile"] = d.snap.profiles[role.arn][0]
        yield Edge(
            source=actor.arn,
            target=role.arn,
            technique=t.id,
            uses=(*base, *uses),
            proof=(trust,),
            assumptions=notes,
            via=via,
        )
