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

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from graphiam.arn import is_account_root
from graphiam.derive.escalation.classes import Universe, refine, tag_refs, tag_signature
from graphiam.derive.escalation.decide import Use, names
from graphiam.derive.escalation.edges import Derivation, Edge
from graphiam.derive.escalation.families import ACTOR_ONLY, entries, key_of, permissions
from graphiam.derive.escalation.fanout import POLICY, TARGET, FanEdge, FanSet, Part, expand, render
from graphiam.derive.escalation.techniques import RequiredPermission, Target, Technique, YieldKind
from graphiam.graph.context import TRUST_ACTIONS
from graphiam.graph.snapshot import PrincipalInfo

Block = frozenset[str]


def fan_out(d: Derivation, t: Technique, actor: PrincipalInfo) -> tuple[list[Edge], list[FanEdge]]:
    """The actor's edges of technique `t` to other principals: small ones explicit, the rest as fans."""
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
    key_perms = [p for p in ordered if p.target is key]
    uni = universe(d, actor.account, "user" if key is Target.TARGET_USER else "role")
    allowed_t = _allowed_blocks(d, t, actor, key, _partition(d, actor, key_perms, uni, relevant), relevant)
    if not allowed_t:
        return [], []
    admin = y.kind in (YieldKind.GAIN_POLICY, YieldKind.MODIFY_POLICY_VERSION)
    allowed_p: list[tuple[Block | None, list[Use], str]] = [(None, [], "")]
    if mpv:
        pol_perms = [p for p in ordered if p.target is Target.TARGET_POLICY]
        puni = _policy_universe(d, t, actor.account, parts)
        blocks = _partition(d, actor, pol_perms, puni, puni.all)
        allowed_p = list(_allowed_blocks(d, t, actor, Target.TARGET_POLICY, blocks, puni.all))
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
) -> list[Block]:
    """Classes for all of `perms` together; every relevant target its own class when one cannot be classed."""
    found = []
    for perm in perms:
        if perm.action.lower() in TRUST_ACTIONS:
            blocks = _trust_blocks(d, actor, perm.action, uni, relevant)
        else:
            blocks = d.partitioner.blocks(actor, perm.action, uni)
        if blocks is None:
            return [frozenset({a}) for a in sorted(relevant) if a != actor.arn]
        found.append(blocks)
    return refine(found, uni, d.partitioner.intern)


def _trust_blocks(
    d: Derivation, actor: PrincipalInfo, action: str, uni: Universe, relevant: frozenset[str]
) -> list[Block] | None:
    """Classes for a trust action: only roles whose trust can name the actor (the rest are denied), grouped by
    what of their trust can matter to this actor (`_trust_key`), then split by the actor's own statements."""
    cache = d.cache.setdefault("trust-blocks", {})
    part = cache.get((actor.arn, action, uni.key))
    if part is None:
        everyone, named, mentioned = _trust_index(d, uni, action)
        by_arn = mentioned.get(actor.arn, frozenset())  # trusts whose verdict can be the actor's own
        cand = everyone | named.get(actor.arn, frozenset()) | named.get(actor.account, frozenset())
        keys = _condition_keys(actor, action)
        shared = d.cache.setdefault("trust-key-shared", {})
        groups: dict[object, list[str]] = {}
        for arn in sorted(cand):
            if arn == actor.arn:
                continue
            if arn in by_arn:
                key = _trust_key(d, actor, keys, arn, action)
            else:  # named through its account or `*` only: the key is the same for every actor of the account
                memo = (arn, action, actor.account, actor.principal_type, keys)
                key = shared.get(memo)
                if key is None:
                    key = shared[memo] = _trust_key(d, actor, keys, arn, action)
            groups.setdefault(key, []).append(arn)
        same = d.cache.setdefault(
            "trust-parts", {}
        )  # actors of an account mostly get equal classes: one copy
        part = cache[(actor.arn, action, uni.key)] = [
            same.setdefault(b, b) for b in map(frozenset, groups.values())
        ]
    if not part:
        return []
    ident = d.partitioner.blocks(actor, action, uni, identity_only=True)
    return None if ident is None else refine([part, ident], uni, d.partitioner.intern)


def _trust_index(
    d: Derivation, uni: Universe, action: str
) -> tuple[frozenset[str], dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """Roles whose trust has an Allow for `action` naming everyone (`*`, NotPrincipal), and by ARN / account
    (`policy.principals`: a user or role ARN names itself, an account id or root its account); and the roles
    whose trust mentions an ARN anywhere (Principal or NotPrincipal, any statement)."""
    cache = d.cache.setdefault("trust-index", {})
    hit = cache.get((uni.key, action))
    if hit is None:
        everyone: set[str] = set()
        named: dict[str, set[str]] = {}
        mentioned: dict[str, set[str]] = {}
        for arn in uni.arns:
            trust = d.snap.principals[arn].trust
            for st in trust.document.statements_for(action.lower()) if trust is not None else ():
                for entry in (
                    *(st.principals or {}).get("AWS", ()),
                    *(st.not_principals or {}).get("AWS", ()),
                ):
                    mentioned.setdefault(entry, set()).add(arn)
                if st.effect != "Allow":
                    continue
                if st.principals is None:
                    if st.not_principals is not None:
                        everyone.add(arn)
                    continue
                for entry in st.principals.get("AWS", ()):
                    if entry == "*":
                        everyone.add(arn)
                    else:
                        key = entry.split(":")[4] if is_account_root(entry) else entry
                        named.setdefault(key, set()).add(arn)
        hit = cache[(uni.key, action)] = (
            frozenset(everyone),
            {k: frozenset(v) for k, v in named.items()},
            {k: frozenset(v) for k, v in mentioned.items()},
        )
    return hit


def _condition_keys(actor: PrincipalInfo, action: str) -> frozenset[str]:
    low = action.lower()
    return frozenset(
        c.key_lower
        for src in (*actor.identity, *(actor.boundary or ()))
        for st in src.document.statements_for(low)
        for c in st.compiled_conditions
    )


def _trust_key(
    d: Derivation, actor: PrincipalInfo, keys: frozenset[str], role_arn: str, action: str
) -> object:
    """For this actor, roles with the same key get the same verdict and proof (up to the role's ARN in it):
    the trust's statements for the action that name the actor, and those that test a key one of them (or the
    actor's own statements) tests — `policy.witness.witnesses` reads values there —, at the same positions,
    under the same policy Version; no Resource; the same tags where a statement looks at them. Else its own
    class."""
    info = _trust_info(d, role_arn, action)
    if info is None:
        return ("own", role_arn)
    version, stmts, tags = info
    naming = [(i, raw, ck) for i, st, raw, ck in stmts if names(st, actor)]
    wanted = keys.union(*(ck for _, _, ck in naming))
    kept = sorted({(i, raw) for i, raw, _ in naming} | {(i, raw) for i, st, raw, ck in stmts if ck & wanted})
    return version, tuple(kept), tags


def _trust_info(d: Derivation, role_arn: str, action: str) -> tuple[Any, ...] | None:
    """The role's trust statements for `action` (index, statement, canonical JSON, condition keys), its
    Version and the tags its statements can see; None without a trust policy or with a Resource in it."""
    cache = d.cache.setdefault("trust-info", {})
    if (role_arn, action) in cache:
        known: tuple[Any, ...] | None = cache[(role_arn, action)]
        return known
    role = d.snap.principals[role_arn]
    trust = role.trust
    stmts = trust.document.statements_for(action.lower()) if trust is not None else ()
    hit = None
    if trust is not None and not any(st.resource_patterns is not None for st in stmts):
        raw = trust.document.raw.get("Statement")
        raws = raw if isinstance(raw, list) else [raw]
        refs = frozenset().union(*(tag_refs(st) for st in stmts))
        hit = (
            trust.document.version,
            [
                (
                    st.index,
                    st,
                    json.dumps(raws[st.index], sort_keys=True),
                    frozenset(c.key_lower for c in st.compiled_conditions),
                )
                for st in stmts
            ],
            tag_signature(role.tags, refs) if refs else (),
        )
    cache[(role_arn, action)] = hit
    return hit


def _allowed_blocks(
    d: Derivation,
    t: Technique,
    actor: PrincipalInfo,
    key: Target,
    blocks: list[Block],
    relevant: frozenset[str],
) -> list[tuple[Block, list[Use], str]]:
    """The blocks on whose representative the actor is allowed the permissions `t` needs on `key` (decided as
    `families.permissions` decides them, with the trust prefilter), each with those permissions."""
    out = []
    for b in blocks:
        if not _useful(b, relevant, actor.arn):
            continue
        rep = _representative(d, b, actor.arn)
        uses = permissions(d, t, actor, {key: rep}, only=frozenset({key}), trust_prefilter=True)
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
