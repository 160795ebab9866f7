"""Classes of roles for a trust action (`sts:AssumeRole`): the role's own trust policy decides, so the roles
an actor's statements cannot tell apart are split again by what of their trust policy can matter to the actor.

`trust_blocks` returns, for one actor, the roles whose trust can name it (the rest are denied), grouped by
`_trust_key` (the trust's statements that name the actor, and those testing a key one of them or the actor's
own statements test, under the same policy Version, with the same tags where a statement looks at them), then
split by the actor's identity statements (`classes.Partitioner`). Used by `reach.fan_out`.
"""

from __future__ import annotations

import json
from typing import Any

from graphiam.arn import is_account_root
from graphiam.derive.escalation.classes import Universe, refine, tag_refs, tag_signature
from graphiam.derive.escalation.decide import names
from graphiam.derive.escalation.edges import Derivation
from graphiam.graph.snapshot import PrincipalInfo

Block = frozenset[str]


def trust_blocks(
    d: Derivation, actor: PrincipalInfo, action: str, uni: Universe, relevant: frozenset[str]
) -> list[Block] | None:
    """Classes for a trust action: only roles whose trust can name the actor (the rest are denied), grouped by
    what of their trust can matter to this actor (`_trust_key`), then split by the actor's own statements."""
    cache = d.cache.setdefault("trust-blocks", {})
    part = cache.get((actor.arn, action, uni.key))
    if part is None:
        part = cache[(actor.arn, action, uni.key)] = _trust_part(d, actor, action, uni)
    if not part:
        return []
    ident = d.partitioner.blocks(actor, action, uni, identity_only=True)
    return None if ident is None else refine([part, ident], uni, d.partitioner.intern)


def _trust_part(d: Derivation, actor: PrincipalInfo, action: str, uni: Universe) -> list[Block]:
    everyone, named, mentioned = _trust_index(d, uni, action)
    by_arn = mentioned.get(actor.arn, frozenset())  # trusts whose verdict can be the actor's own
    own = named.get(actor.arn, frozenset())
    keys = _condition_keys(actor, action)
    same = d.cache.setdefault("trust-parts", {})  # actors of an account mostly get equal classes: one copy
    roles = _account_roles(d, uni, action, actor.account)
    if not own and not any(a in roles for a in by_arn):
        # only roles named through the actor's account or `*`, none mentioning the actor: their classes are
        # the account's, less the actor (each class in the order of its first member but the actor)
        common = _common_groups(d, actor, keys, action, uni, roles)
        if actor.arn not in roles:
            return [same.setdefault(b, b) for b, _ in common]
        groups = [
            (b - {actor.arn}, min(b - {actor.arn}, default="")) if actor.arn in b else (b, f)
            for b, f in common
        ]
        groups.sort(key=lambda g: g[1])
        return [same.setdefault(b, b) for b, _ in groups if b]
    cand = everyone | own | named.get(actor.account, frozenset())
    shared = d.cache.setdefault("trust-key-shared", {})
    found: dict[object, list[str]] = {}
    for arn in sorted(cand):
        if arn == actor.arn:
            continue
        if arn in by_arn:
            key = _trust_key(d, actor, keys, arn, action)
        else:  # named through its account or `*` only: the key is the same for every actor of the account
            key = _shared_key(d, shared, actor, keys, arn, action)
        found.setdefault(key, []).append(arn)
    return [same.setdefault(b, b) for b in map(frozenset, found.values())]


def _shared_key(
    d: Derivation,
    shared: dict[Any, Any],
    actor: PrincipalInfo,
    keys: frozenset[str],
    arn: str,
    action: str,
) -> object:
    memo = (arn, action, actor.account, actor.principal_type, keys)
    key = shared.get(memo)
    if key is None:
        key = shared[memo] = _trust_key(d, actor, keys, arn, action)
    return key


def _account_roles(d: Derivation, uni: Universe, action: str, account: str) -> frozenset[str]:
    """The roles whose trust names everyone, or `account`, for `action`."""
    cache = d.cache.setdefault("trust-roles", {})
    hit = cache.get((uni.key, action, account))
    if hit is None:
        everyone, named, _ = _trust_index(d, uni, action)
        hit = cache[(uni.key, action, account)] = everyone | named.get(account, frozenset())
    return hit


def _common_groups(
    d: Derivation,
    actor: PrincipalInfo,
    keys: frozenset[str],
    action: str,
    uni: Universe,
    roles: frozenset[str],
) -> list[tuple[Block, str]]:
    """`roles` (`_account_roles`) grouped by `_shared_key` (each group with its first member), in the order of
    their first members: the same for every actor of the account and type whose statements test the same
    keys and that none of the roles mentions (the caller's case)."""
    cache = d.cache.setdefault("trust-common", {})
    memo = (uni.key, action, actor.account, actor.principal_type, keys)
    hit: list[tuple[Block, str]] | None = cache.get(memo)
    if hit is None:
        shared = d.cache.setdefault("trust-key-shared", {})
        found: dict[object, list[str]] = {}
        for arn in sorted(roles):
            found.setdefault(_shared_key(d, shared, actor, keys, arn, action), []).append(arn)
        hit = cache[memo] = [(frozenset(arns), arns[0]) for arns in found.values()]
    return hit


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
