"""The actor's side of a fan-out edge: its permissions on the targets, decided once per class of targets.

For one actor and one technique of `families.other_principal`: the permissions the technique needs on the
target (and, for a policy version, on the target's policy) are decided by the engine (`families.permissions`)
on one representative of each class `classes.Partitioner` finds; the targets and what their edges hold apart
from the actor are `families.entries`. Classes whose decision allows become one `FanEdge` over the targets of
the class (with the actor itself added: it never gets an edge to itself, and the set is then shared with every
actor of the same reach). `sts:AssumeRole` is decided per target with the role's trust policy, after a cheap
check that an Allow statement of the trust can name the actor at all (`Decider.trust_may_name`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from graphiam.derive.escalation.classes import Universe, refine
from graphiam.derive.escalation.decide import Use
from graphiam.derive.escalation.edges import Derivation, Edge
from graphiam.derive.escalation.families import ACTOR_ONLY, entries, key_of, permissions
from graphiam.derive.escalation.fanout import POLICY, TARGET, FanEdge, FanSet, Part, expand, render
from graphiam.derive.escalation.techniques import RequiredPermission, Target, Technique, YieldKind
from graphiam.derive.escalation.trust import trust_blocks
from graphiam.graph.context import TRUST_ACTIONS
from graphiam.graph.snapshot import PrincipalInfo

Block = frozenset[str]


def fan_out(d: Derivation, t: Technique, actor: PrincipalInfo) -> tuple[list[Edge], list[FanEdge]]:
    """The actor's edges of technique `t` to other principals: small ones explicit, the rest as fans.

    What the actor's permissions on the targets decide (the classes of targets, the decision on each class's
    representative) is computed once per technique and `Decider.signature`: actors with the same policies for
    those actions (and blind statements) share it; only which targets are the actor itself is its own."""
    y = t.yields
    if y.kind is YieldKind.PASS_ROLE_TO_SERVICE and y.service is None:
        return [], []
    base = permissions(d, t, actor, {}, only=ACTOR_ONLY)
    if base is None:
        return [], []
    parts = entries(d, t, actor.account)
    relevant = _targets(d, t, actor.account, parts)
    if not relevant or relevant == {actor.arn}:
        return [], []
    key = key_of(t)
    mpv = y.kind is YieldKind.MODIFY_POLICY_VERSION
    ordered = [p for p in t.required if p.target is key or (mpv and p.target is Target.TARGET_POLICY)]
    memo = d.cache.setdefault("actor-classes", {}).setdefault(
        (t.id, d.decider.signature(actor, [p.action for p in ordered])), {}
    )
    key_perms = [p for p in ordered if p.target is key]
    uni = universe(d, actor.account, "user" if key is Target.TARGET_USER else "role")
    blocks = _partition(d, actor, key_perms, uni, relevant, memo)
    allowed_t = _allowed_blocks(d, t, actor, key, blocks, relevant, memo)
    if not allowed_t:
        return [], []
    admin = y.kind in (YieldKind.GAIN_POLICY, YieldKind.MODIFY_POLICY_VERSION)
    allowed_p: list[tuple[Block | None, list[Use], str]] = [(None, [], "")]
    if mpv:
        pol_perms = [p for p in ordered if p.target is Target.TARGET_POLICY]
        puni = _policy_universe(d, t, actor.account, parts)
        pblocks = _partition(d, actor, pol_perms, puni, puni.all, memo)
        allowed_p = list(_allowed_blocks(d, t, actor, Target.TARGET_POLICY, pblocks, puni.all, memo))
        if len(allowed_p) > 1:
            return _explicit(d, t, actor, parts, ordered, base, allowed_t, allowed_p, admin), []
    edges: list[Edge] = []
    fans: list[FanEdge] = []
    for block, tuses, rep in allowed_t:
        for pblock, puses, _ in allowed_p:
            uses = (*base, *_template(ordered, key, tuses, puses, rep))
            fan = FanEdge(
                source=actor.arn,
                technique=t.id,
                admin=admin,
                uses=uses,
                targets=_fan_set(d, t, actor, parts, block, pblock),
            )
            if _size(d, fan) <= d.options.explicit_max:
                edges.extend(expand(fan))
            elif _size(d, fan):
                fans.append(fan)
    return edges, fans


def universe(d: Derivation, account: str, kind: str) -> Universe:
    """The users (or roles) of `account`, as the partitioner sees them."""
    cache = d.cache.setdefault("universes", {})
    hit = cache.get((account, kind))
    if hit is None:
        ps = sorted((p for p in d.by_account.get(account, ()) if p.kind == kind), key=lambda p: p.arn)
        hit = cache[(account, kind)] = Universe(
            key=(account, kind), arns=tuple(p.arn for p in ps), tags={p.arn: p.tags for p in ps if p.tags}
        )
    return hit


def _policy_universe(d: Derivation, t: Technique, account: str, parts: tuple[Part, ...]) -> Universe:
    cache = d.cache.setdefault("policy-universes", {})
    hit = cache.get((t.id, account))
    if hit is None:
        arns = tuple(sorted({p.policy for p in parts if p.policy is not None}))
        hit = cache[(t.id, account)] = Universe(key=(account, "policy", t.id), arns=arns)
    return hit


def _targets(d: Derivation, t: Technique, account: str, parts: tuple[Part, ...]) -> frozenset[str]:
    cache = d.cache.setdefault("targets", {})
    hit = cache.get((t.id, account))
    if hit is None:
        hit = cache[(t.id, account)] = frozenset(p.target for p in parts)
    return hit


def _partition(
    d: Derivation,
    actor: PrincipalInfo,
    perms: Sequence[RequiredPermission],
    uni: Universe,
    relevant: frozenset[str],
    memo: dict[Any, Any],
) -> list[Block]:
    """Classes for all of `perms` together; every relevant target its own class when one cannot be classed.
    `memo`: the actor's class (`fan_out`)."""
    mk = ("partition", uni.key, tuple(p.action for p in perms))
    if mk in memo:
        found = memo[mk]
    else:
        found = memo[mk] = _classes(d, actor, perms, uni, relevant)
    return [frozenset({a}) for a in sorted(relevant) if a != actor.arn] if found is None else found


def _classes(
    d: Derivation,
    actor: PrincipalInfo,
    perms: Sequence[RequiredPermission],
    uni: Universe,
    relevant: frozenset[str],
) -> list[Block] | None:
    found = []
    for perm in perms:
        if perm.action.lower() in TRUST_ACTIONS:
            blocks = trust_blocks(d, actor, perm.action, uni, relevant)
        else:  # the same for every actor with the same statements for the action (`Decider.signature`)
            shared = d.cache.setdefault("blocks", {})
            key = (d.decider.signature(actor, [perm.action]), uni.key)
            if key in shared:
                blocks = shared[key]
            else:
                blocks = shared[key] = d.partitioner.blocks(actor, perm.action, uni)
        if blocks is None:
            return None
        found.append(blocks)
    return refine(found, uni, d.partitioner.intern)


def _allowed_blocks(
    d: Derivation,
    t: Technique,
    actor: PrincipalInfo,
    key: Target,
    blocks: list[Block],
    relevant: frozenset[str],
    memo: dict[Any, Any],
) -> list[tuple[Block, list[Use], str]]:
    """The blocks on whose representative the actor is allowed the permissions `t` needs on `key` (decided as
    `families.permissions` decides them, with the trust prefilter), each with those permissions. `memo`: the
    actor's class (`fan_out`): the decision on a representative is the class's."""
    out = []
    for b in blocks:
        if not _useful(b, relevant, actor.arn):
            continue
        rep = _representative(d, b, actor.arn)
        mk = (key, rep)
        if mk in memo:
            uses = memo[mk]
        else:
            uses = memo[mk] = permissions(
                d, t, actor, {key: rep}, only=frozenset({key}), trust_prefilter=True
            )
        if uses is not None:
            out.append((b, uses, rep))
    return out


def _useful(b: Block, relevant: frozenset[str], actor: str) -> bool:
    """The block holds a target of the technique other than the actor."""
    small, big = (b, relevant) if len(b) <= len(relevant) else (relevant, b)
    return any(a in big and a != actor for a in small)


def _representative(d: Derivation, b: Block, actor: str) -> str:
    """The first member but the actor: the same one for every technique, so decisions are shared."""
    cache = d.cache.setdefault("representatives", {})
    key = (id(b), actor)
    hit = cache.get(key)
    if hit is None:
        first = cache.get((id(b), None))
        if first is None:
            first = cache[(id(b), None)] = (sorted(b)[:2], b)  # keep the block alive with its key
        hit = cache[key] = next(a for a in first[0] if a != actor)
    return hit


def _template(
    ordered: Sequence[RequiredPermission], key: Target, tuses: list[Use], puses: list[Use], rep: str
) -> list[Use]:
    """The decided uses in the technique's order, their resources replaced by placeholders; so are the labels
    of the representative's trust statements (`<role ARN>#trust#<index>`)."""
    ti, pi = iter(tuses), iter(puses)
    out = []
    for p in ordered:
        if p.target is key:
            u = next(ti)
            labels = tuple(TARGET + x[len(rep) :] if x.startswith(rep + "#") else x for x in u.statements)
            out.append(replace(u, resource=TARGET, statements=labels))
        else:
            out.append(replace(next(pi), resource=POLICY))
    return out


def _fan_set(
    d: Derivation,
    t: Technique,
    actor: PrincipalInfo,
    parts: tuple[Part, ...],
    block: Block,
    pblock: Block | None,
) -> FanSet:
    intern = d.partitioner.intern
    if actor.arn not in block and actor.kind == ("user" if key_of(t) is Target.TARGET_USER else "role"):
        # the actor never reaches itself: when the block plus the actor is a known class (all users, say),
        # that one is used, and the set is shared with the actors it belongs to
        block = intern.get(block | {actor.arn}, block)
    cache = d.cache.setdefault("fan-sets", {})
    key = (t.id, actor.account, id(block), id(pblock))
    hit = cache.get(key)
    if hit is None:
        chosen = tuple(p for p in parts if p.target in block and (pblock is None or p.policy in pblock))
        by_parts = d.cache.setdefault("fan-sets-by-parts", {})
        ids = tuple(map(id, chosen))  # parts live as long as the run (`entries`)
        fan_set = by_parts.get(ids)
        if fan_set is None:
            fan_set = by_parts[ids] = FanSet.of(actor.account, t.id, chosen)
        hit = cache[key] = (fan_set, block, pblock)  # keep the keys alive
    return hit[0]


def _size(d: Derivation, fan: FanEdge) -> int:
    counts = d.cache.setdefault("fan-counts", {})
    per: dict[str, int] | None = counts.get(fan.targets.id)
    if per is None:
        per = counts[fan.targets.id] = {}
        for p in fan.targets.parts:
            per[p.target] = per.get(p.target, 0) + 1
    return len(fan.targets.parts) - per.get(fan.source, 0)


def _explicit(
    d: Derivation,
    t: Technique,
    actor: PrincipalInfo,
    parts: tuple[Part, ...],
    ordered: Sequence[RequiredPermission],
    base: list[Use],
    allowed_t: list[tuple[Block, list[Use], str]],
    allowed_p: list[tuple[Block | None, list[Use], str]],
    admin: bool,
) -> list[Edge]:
    """Per-target edges when the actor's rights differ between the targets' policies (policy versions)."""
    key = next(p.target for p in ordered if p.target is not Target.TARGET_POLICY)
    tmap = {a: (uses, rep) for b, uses, rep in allowed_t for a in b}
    pmap = {a: uses for b, uses, _ in allowed_p if b is not None for a in b}
    out = []
    for part in parts:
        found, puses = tmap.get(part.target), pmap.get(part.policy or "")
        if part.target == actor.arn or found is None or puses is None:
            continue
        uses = (*base, *_template(ordered, key, found[0], puses, found[1]))
        out.append(render(actor.arn, t.id, admin, uses, part))
    return out
