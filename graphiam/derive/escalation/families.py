"""One function per family of techniques: which targets to try, and what must hold for an edge.

Each required permission is decided on its concrete resource (`Target` in the technique table): the
actor's own ARN, the target user/role/group, the policy, the passed role (with `iam:PassedToService`).
A resource that does not exist yet (`any`: the new instance, function, stack …) is decided on its ARN
template with region `us-east-1`, the actor's account and `graphiam-new` as every name; an existing
service resource (`service_resource`) with `*` as every name, and the edge records the assumption.
`iam:Attach*Policy` is asked with `iam:PolicyARN` = AdministratorAccess and `iam:Put*PermissionsBoundary`
with `iam:PermissionsBoundary` = AdministratorAccess: a condition that pins another policy stops the edge.

Families: `self_change` (the actor changes its own permissions, a self-loop) and `other_principal` (the
actor reaches another principal of its account: becomes a user or role, changes it and becomes it, or passes a
role to a service). The target's side of an edge to another principal (its credential preconditions, the
proof that the changed target is administrator, the service's trust) does not depend on the actor:
`entries` computes it once per technique and account, for `other_principal` (which decides the actor's
permissions on each target) and for `reach.fan_out` (which decides them once per class of targets).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import replace

from graphiam.derive.escalation.decide import ADMIN_POLICY_ARN, ALL_PROBES, ALLOW_ALL, Use
from graphiam.derive.escalation.edges import Derivation, Edge, GroupFacts
from graphiam.derive.escalation.fanout import Part
from graphiam.derive.escalation.techniques import Precondition as P
from graphiam.derive.escalation.techniques import Target, TargetKind, Technique, YieldKind, load_techniques
from graphiam.graph.context import TRUST_ACTIONS
from graphiam.graph.snapshot import PrincipalInfo
from graphiam.policy import PolicySource

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
    *,
    trust_prefilter: bool = False,
) -> list[Use] | None:
    """Decide the required permissions (those whose target is in `only`, or all); None if one fails.

    `trust_prefilter`: a trust action (`sts:AssumeRole`) on a role whose trust policy has no Allow statement
    naming the actor is refused without asking the engine (`Decider.trust_may_name`: it would refuse too)."""
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
        if perm.target not in ACTOR_ONLY and not d.decider.may_allow(actor, perm.action, resource):
            return None
        if (
            trust_prefilter
            and perm.action.lower() in TRUST_ACTIONS
            and not d.decider.trust_may_name(actor, resource, perm.action)
        ):
            return None
        use = d.decider.allowed(actor, perm.action, resource, fixed)
        if use is None:
            return None
        uses.append(use)
    return uses


ACTOR_ONLY = frozenset({Target.SELF, Target.ANY, Target.SERVICE_RESOURCE})  # permissions not on the target


def _kind_ok(t: Technique, actor: PrincipalInfo) -> bool:
    if P.ACTOR_IS_USER in t.preconditions and actor.kind != "user":
        return False
    return not (P.ACTOR_IS_ROLE in t.preconditions and actor.kind != "role")


def _replace(
    identity: tuple[PolicySource, ...], policy_arn: str, new: PolicySource
) -> tuple[PolicySource, ...]:
    out = [new if s.policy_id == policy_arn else s for s in identity]
    return tuple(dict.fromkeys(out))  # a policy met through two groups is replaced once


def _customer_managed(p: PrincipalInfo) -> list[str]:
    return list(dict.fromkeys(s.policy_id for s in p.identity if s.kind == "customer-managed"))


def _then(via: dict[str, str], technique: str | None) -> dict[str, str]:
    return {**via, "then": technique} if technique else via


def _versions(d: Derivation, t: Technique, parn: str) -> list[tuple[str, PolicySource]]:
    """The versions of policy `parn` that `t` can make default: a new one of the actor's choosing, or (setting
    the default version) the stored non-default ones."""
    return [("new version", ALLOW_ALL)] if t.yields.arbitrary_policy else list(d.facts.versions.get(parn, ()))


def _admin_version(
    d: Derivation,
    p: PrincipalInfo,
    parn: str,
    options: list[tuple[str, PolicySource]],
    *,
    depth: int = 1,
) -> tuple[tuple[Use, ...], dict[str, str]] | None:
    """The version of `options` that, in place of `parn`, makes `p` administrator (`becomes_admin`) needing
    the fewest condition keys (the first of them): the proof, and the edge's `via`."""
    best: tuple[tuple[Use, ...], dict[str, str]] | None = None
    for version, src in options:
        found = becomes_admin(d, p, _replace(p.identity, parn, src), depth=depth)
        if found is not None:
            way = found[0], _then({"policy": parn, "version": version}, found[1])
            if not _needs(way[0]):
                return way
            if best is None or len(_needs(way[0])) < len(_needs(best[0])):
                best = way
    return best


def _self_loop(
    actor: PrincipalInfo, t: Technique, uses: tuple[Use, ...], proof: tuple[Use, ...], via: dict[str, str]
) -> Edge:
    """The edge actor → actor: with `t`, the actor makes itself administrator."""
    return Edge(
        source=actor.arn, target=actor.arn, technique=t.id, uses=uses, proof=proof, admin=True, via=via
    )


def becomes_admin(
    d: Derivation,
    p: PrincipalInfo,
    identity: tuple[PolicySource, ...],
    *,
    groups: tuple[str, ...] | None = None,
    depth: int = 1,
) -> tuple[tuple[Use, ...], str | None] | None:
    """With these identity policies, `p` is administrator, or (`depth` 1) can then make itself so with one
    more self-escalation technique (joining a group that grants `iam:*`, say). The proof, and that
    technique."""
    proof = d.decider.admin_with(p, identity)
    if proof is not None:
        return (proof,), None
    if depth <= 0:
        return None
    changed = replace(p, identity=identity, groups=groups if groups is not None else p.groups)
    best: tuple[tuple[Use, ...], str | None] | None = None
    for t in load_techniques():
        if t.yields.target_kind in (TargetKind.SELF, TargetKind.GROUP):
            for edge in self_change(d, t, changed, depth=depth - 1, not_admin=True):
                found = (*edge.uses, *edge.proof), t.id
                if not _needs(found[0]):
                    return found  # nothing needed: no other way is better
                if best is None or len(_needs(found[0])) < len(_needs(best[0])):
                    best = found
    return best  # the way that needs the fewest condition keys: the first of them, in the snapshot's order


def _needs(uses: tuple[Use, ...]) -> set[str]:
    """The condition keys a way of escalating needs (an edge's `needs` is what its way needs)."""
    return {k for u in uses for k in u.needs}


def self_change(
    d: Derivation, t: Technique, actor: PrincipalInfo, *, depth: int = 1, not_admin: bool = False
) -> Iterator[Edge]:
    """Self-escalation: a policy put on / attached to the actor or its group, a version of an attached
    policy, a boundary removed, a group joined. A self-loop, kept when the changed actor would be
    administrator (for a bounded change, also when it could then make itself administrator)."""
    if not _kind_ok(t, actor) or d.options.prefilter and not d.identity_allows_all(actor.identity, t):
        return  # a permission decided without a resource policy needs an identity Allow statement
    if not not_admin and d.decider.admin_with(actor) is not None:  # `not_admin`: the caller knows it is not
        return
    base = permissions(d, t, actor, {}, only=ACTOR_ONLY)
    if base is None:
        return
    y = t.yields
    if y.kind is YieldKind.MODIFY_BOUNDARY:
        if actor.boundary is None:
            return
        proof = d.decider.admin_with(actor, boundary=None)
        if proof is not None:
            yield _self_loop(actor, t, tuple(base), (proof,), {"boundary": actor.boundary_arn or ""})
        return
    if y.kind is YieldKind.MODIFY_POLICY_VERSION:
        for parn in _customer_managed(actor):
            options = _versions(d, t, parn)
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
            found = _admin_version(d, actor, parn, options, depth=depth)
            if found is not None:
                yield _self_loop(actor, t, (*base, *uses), *found)
        return
    if y.target_kind is TargetKind.SELF:
        proof = d.decider.admin_with(actor, (*actor.identity, ALLOW_ALL))
        if proof is not None:
            yield _self_loop(actor, t, tuple(base), (proof,), {})
        return
    # a group: one the actor is in (gets a policy of its choosing), or one it joins (gets its policies)
    if y.arbitrary_policy:
        groups = [d.facts.groups[g] for g in actor.groups if g in d.facts.groups]
        if depth <= 0 and groups and d.decider.admin_with(actor, (*actor.identity, ALLOW_ALL)) is None:
            # `becomes_admin` is then `admin_with` with a policy of its choosing, the same for every group
            return
    else:
        groups = [g for g in _joinable(d, actor.account) if g.arn not in actor.groups]
    masks = d.decider.masks(actor.identity) if depth <= 0 and not y.arbitrary_policy else None
    if masks is not None:
        if masks[1]:
            return  # an unconditional Deny of a probe: no group makes it administrator
        # `becomes_admin` is then `admin_with` alone: only groups that grant the probes the actor lacks and
        # deny none can make it (cheaper first)
        lacking = ALL_PROBES & ~masks[0]
        groups = [g for g in groups if _can_complete(d, g, lacking)]
    failed = d.decider.failed_probe(actor) if masks is not None and groups else None
    for g in groups:
        extra = (ALLOW_ALL,) if y.arbitrary_policy else g.policies
        if failed is not None and not d.decider.touched_probes(g.policies) >> failed & 1:
            continue  # the probe the actor fails stays refused: the group says nothing about it
        uses = permissions(d, t, actor, {Target.TARGET_GROUP: g.arn}, only=frozenset({Target.TARGET_GROUP}))
        if uses is None:
            continue
        joined = becomes_admin(
            d, actor, (*actor.identity, *extra), groups=(*actor.groups, g.arn), depth=depth
        )
        if joined is not None:
            yield _self_loop(actor, t, (*base, *uses), joined[0], _then({"group": g.arn}, joined[1]))


def _refused_as_stored(d: Derivation, actor: PrincipalInfo, parn: str, src: PolicySource) -> bool:
    """`actor` is a stored principal with identity policies added (a group joined) and `parn` one of the
    stored principal's own: with `parn` replaced by `src`, the stored principal is refused a probe that the
    added policies have no statement for, so the changed one is refused it too (`Decider.refusal`); cheaper
    than asking, for every group, what is the same answer."""
    stored = d.snap.principals.get(actor.arn)
    if not d.options.prefilter or stored is None or stored is actor or actor.boundary is not stored.boundary:
        return False
    n = len(stored.identity)
    if len(actor.identity) < n or any(
        a is not b for a, b in zip(actor.identity, stored.identity, strict=False)
    ):
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
    """The groups of `account` with an Allow statement (joining another gives nothing), in facts order."""
    cache = d.cache.setdefault("joinable", {})
    hit = cache.get(account)
    if hit is None:
        hit = cache[account] = [
            g
            for g in d.facts.groups.values()
            if g.account == account
            and any(st.effect == "Allow" for s in g.policies for st in s.document.statements)
        ]
    return hit


def _can_complete(d: Derivation, g: GroupFacts, lacking: int) -> bool:
    """The group's policies may grant every probe of `lacking` and unconditionally deny none."""
    cache = d.cache.setdefault("group-masks", {})
    hit = cache.get(g.arn)
    if hit is None:
        hit = cache[g.arn] = d.decider.masks(g.policies)
    return hit[0] & lacking == lacking and not hit[1]


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


def targets_of(d: Derivation, t: Technique, account: str) -> Iterator[tuple[PrincipalInfo, tuple[str, ...]]]:
    """The users or roles of `account` a principal-access technique can take over, each with its credential
    notes; users the credential report rules out are left out."""
    want = "user" if t.yields.target_kind is TargetKind.USER else "role"
    for target in d.by_account.get(account, ()):
        if target.kind != want:
            continue
        notes: tuple[str, ...] = ()
        if want == "user":
            found = _assumptions_for_user(d, t, target.arn)
            if found is None:
                continue
            notes = found
        yield target, notes


def key_of(t: Technique) -> Target:
    """The required permissions' target that names the principal reached: passed role, user or role."""
    if t.yields.kind is YieldKind.PASS_ROLE_TO_SERVICE:
        return Target.PASSED_ROLE
    return Target.TARGET_USER if t.yields.target_kind is TargetKind.USER else Target.TARGET_ROLE


def entries(d: Derivation, t: Technique, account: str) -> tuple[Part, ...]:
    """Every target of `t` in `account` with what its edge holds apart from the actor's permissions (a target
    may have several parts, one per policy of it), computed once per technique and account."""
    cache = d.cache.setdefault("entries", {})
    hit = cache.get((t.id, account))
    if hit is None:
        hit = cache[(t.id, account)] = tuple(_entries(d, t, account))
    return hit


def _entries(d: Derivation, t: Technique, account: str) -> Iterator[Part]:
    y = t.yields
    if y.kind is YieldKind.PASS_ROLE_TO_SERVICE:
        yield from _service_entries(d, t, account)
        return
    for target, notes in targets_of(d, t, account):
        if y.kind is YieldKind.MODIFY_POLICY_VERSION:
            # a version of one of its policies makes it administrator
            for parn in _customer_managed(target):
                found = _admin_version(d, target, parn, _versions(d, t, parn))
                if found is not None:
                    proof, via = found
                    yield Part(
                        target=target.arn, policy=parn, proof=proof, assumptions=notes, via=tuple(via.items())
                    )
        elif y.kind is YieldKind.GAIN_POLICY:
            # a policy of the actor's choosing makes it administrator
            gained = d.decider.admin_with(target, (*target.identity, ALLOW_ALL))
            if gained is not None:
                yield Part(target=target.arn, proof=(gained,), assumptions=notes)
        else:
            yield Part(target=target.arn, assumptions=notes)


def _service_entries(d: Derivation, t: Technique, account: str) -> Iterator[Part]:
    """The roles of `account` a service can be handed by `t`: they trust the service (decided by the engine),
    and have an instance profile when `t` needs one (EC2 runs a role through its instance profile)."""
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
        profiles = d.snap.profiles.get(role.arn)
        if P.ROLE_HAS_INSTANCE_PROFILE in t.preconditions and not profiles:
            continue
        trust = d.decider.trusts_service(role, service)
        if trust is None:
            continue
        via = {"service": service}
        if profiles:
            via["instance_profile"] = profiles[0]
        yield Part(target=role.arn, proof=(trust,), assumptions=notes, via=tuple(via.items()))


def other_principal(d: Derivation, t: Technique, actor: PrincipalInfo) -> Iterator[Edge]:
    """Principal access, one target at a time: become a user or role of the actor's account, change it and
    then become it, or pass a role to a service that runs code of the actor's choosing as that role (a new or
    an existing resource). The target's side comes from `entries`; the actor's permissions are decided on each
    target (`reach.fan_out` decides them once per class of targets: the tests compare the two)."""
    base = permissions(d, t, actor, {}, only=ACTOR_ONLY)
    if base is None:
        return
    key = key_of(t)
    admin = t.yields.kind in (YieldKind.GAIN_POLICY, YieldKind.MODIFY_POLICY_VERSION)
    for part in entries(d, t, actor.account):
        if part.target == actor.arn:
            continue
        on = {key: part.target}
        if part.policy is not None:
            on[Target.TARGET_POLICY] = part.policy
        uses = permissions(d, t, actor, on, only=frozenset(on))
        if uses is not None:
            yield part.edge(actor.arn, t.id, admin, (*base, *uses))
