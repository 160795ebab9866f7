"""Targets an actor's permission cannot tell apart: decide once per class, not once per target.

The engine sees a target resource (a user, role or policy ARN of the actor's account) in two ways only
(`policy.statement.scan`, "Policy evaluation logic"): whether each statement's Resource/NotResource admits the
ARN, and the context keys the target adds, its tags (`aws:ResourceTag/*`, `iam:ResourceTag/*`, see
`queries.simulate.request_context`). The owner account is the actor's for every target here. So two targets
get the same decision (up to the resource ARN in the proof) when every statement the actor's identity policies
and boundary hold for the action admits both or neither — with the variables resolved from the actor (as
the engine and `Decider.may_allow` do) and unresolved (as `policy.witness.witnesses` reads them) — and, when a
statement tests or interpolates a resource tag, when both carry the same tags.

`Partitioner.blocks` returns those classes. It gives up (None: decide per target) for trust-policy actions
(the target's own trust policy decides, `sts:AssumeRole`) and for a Resource that interpolates a key the actor
does not define (a resource tag, the request's time …), whose value could differ per request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphiam.graph.context import TRUST_ACTIONS
from graphiam.graph.snapshot import PrincipalInfo
from graphiam.policy import Statement
from graphiam.policy.request import normalise_context
from graphiam.policy.wildcard import Lit, Pattern

_VARIABLE = re.compile(r"\$\{([^},]+)")
# keys only the principal defines (`PrincipalInfo.derived_context`): absent for the actor, in every request
PRINCIPAL_KEYS = ("aws:principal", "aws:username", "aws:userid")


@dataclass(kw_only=True)
class Universe:
    """Every resource of one kind in one account that a technique may target (sorted ARNs, tags)."""

    key: tuple[str, ...]
    arns: tuple[str, ...]
    tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    all: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.all = frozenset(self.arns)
        self._by_name: dict[str, list[str]] | None = None

    def by_name(self) -> dict[str, list[str]]:
        """The ARNs by their last `/` segment (built on first use)."""
        if self._by_name is None:
            self._by_name = {}
            for a in self.arns:
                self._by_name.setdefault(a.rsplit("/", 1)[-1], []).append(a)
        return self._by_name


def tag_refs(st: Statement) -> frozenset[str]:
    """The resource tag keys (lower-cased) the statement tests or interpolates, in a condition key or value;
    `*` when it names a resource tag in another way."""
    keys = {c.key_lower for c in st.compiled_conditions}
    for values in (st.conditions or {}).values():
        for vs in values.values():
            keys.update(m.lower() for v in vs for m in _VARIABLE.findall(v))
    out = set()
    for k in keys:
        if "resourcetag" in k:
            prefix, _, tag = k.partition("resourcetag/")
            out.add(tag if prefix in ("aws:", "iam:") and tag and "$" not in tag else "*")
    return frozenset(out)


def tag_signature(tags: Mapping[str, str], refs: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """What of a target's tags statements referring to `refs` can see (keys compare case-insensitively)."""
    if "*" in refs:
        return tuple(sorted(tags.items()))
    return tuple(sorted((k.lower(), v) for k, v in tags.items() if k.lower() in refs))


class Partitioner:
    """Resource classes per (actor, action), with every pattern's match set computed once per universe."""

    def __init__(self) -> None:
        self._matches: dict[tuple[Any, ...], frozenset[str]] = {}
        self._by_tags: dict[tuple[Any, ...], list[frozenset[str]]] = {}
        self._same: dict[frozenset[str], frozenset[str]] = {}
        self._ctx: dict[str, dict[str, Any]] = {}
        self.intern: dict[frozenset[str], frozenset[str]] = {}

    def context(self, p: PrincipalInfo) -> dict[str, Any]:
        ctx = self._ctx.get(p.arn)
        if ctx is None:
            ctx = self._ctx[p.arn] = normalise_context(p.derived_context())
        return ctx

    def blocks(
        self, actor: PrincipalInfo, action: str, universe: Universe, *, identity_only: bool = False
    ) -> list[frozenset[str]] | None:
        """Classes of `universe` the actor's statements for `action` cannot tell apart (None: every target is
        its own class). `identity_only`: for a trust action, the classes of the actor's side alone (the
        caller also splits by trust policy)."""
        low = action.lower()
        if low in TRUST_ACTIONS and not identity_only:
            return None
        ctx = self.context(actor)
        splits: list[frozenset[str]] = []
        tags: frozenset[str] = frozenset()
        for src in (*actor.identity, *(actor.boundary or ())):
            for st in src.document.statements_for(low):
                tags |= tag_refs(st)
                if st.resource_patterns is None:
                    continue
                with_ctx = self._statement(st, ctx, universe)
                without = self._statement(st, {}, universe)
                if with_ctx is None or without is None:
                    return None
                splits += [with_ctx, without]
        blocks = [universe.all]
        if tags:
            blocks = self._tag_blocks(universe, tags)
        for m in dict.fromkeys(s for s in splits if 0 < len(s) < len(universe.all)):
            nxt = []
            for b in blocks:
                inside = b & m
                if inside and len(inside) < len(b):
                    nxt += [inside, b - inside]
                else:
                    nxt.append(b)
            blocks = nxt
        return [self.intern.setdefault(b, b) for b in blocks]

    def _statement(self, st: Statement, ctx: Mapping[str, Any], universe: Universe) -> frozenset[str] | None:
        hit: frozenset[str] = frozenset()
        for p in st.resource_patterns or ():
            m = self._pattern(p, ctx, universe)
            if m is None:
                return None
            hit = hit | m if hit else m
        return universe.all - hit if st.not_resources is not None else hit

    def _pattern(self, p: Pattern, ctx: Mapping[str, Any], universe: Universe) -> frozenset[str] | None:
        if p.is_static:
            key: tuple[Any, ...] = (universe.key, p.source)
        else:
            if ctx and any(k not in ctx and not k.startswith(PRINCIPAL_KEYS) for k in p.variable_keys):
                # a key the actor does not define, and the request might: it could differ per request
                return None
            resolved = p.resolve(ctx)
            if resolved is None:
                return frozenset()  # an unresolvable variable matches nothing
            if len(resolved) == 1 and isinstance(resolved[0], Lit) and not p.ignore_case:
                return universe.all & {resolved[0].text}
            key = (universe.key, p.source, tuple(ctx.get(k) for k in p.variable_keys))
        hit = self._matches.get(key)
        if hit is None:
            match = p.bound(ctx)
            found = frozenset() if match is None else frozenset(filter(match, _candidates(p, ctx, universe)))
            hit = self._matches[key] = self._same.setdefault(
                found, found
            )  # many patterns match the same ARNs
        return hit

    def _tag_blocks(self, universe: Universe, refs: frozenset[str]) -> list[frozenset[str]]:
        hit = self._by_tags.get((universe.key, refs))
        if hit is None:
            groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
            for a in universe.arns:
                groups.setdefault(tag_signature(universe.tags.get(a, {}), refs), []).append(a)
            hit = self._by_tags[(universe.key, refs)] = [frozenset(g) for g in groups.values()]
        return hit


def _candidates(p: Pattern, ctx: Mapping[str, Any], universe: Universe) -> Sequence[str]:
    """The ARNs of `universe` the pattern may match: when, resolved, it ends with a literal holding a `/`,
    only those whose last `/` segment is the literal's (a user name resolved from `${aws:username}` …)."""
    resolved = None if p.is_static or p.ignore_case else p.resolve(ctx)
    last = resolved[-1] if resolved else None
    if isinstance(last, Lit) and "/" in last.text:
        return universe.by_name().get(last.text.rsplit("/", 1)[1], ())
    return universe.arns


def refine(
    partitions: Iterable[Sequence[frozenset[str]]],
    universe: Universe,
    intern: dict[frozenset[str], frozenset[str]],
) -> list[frozenset[str]]:
    """The common refinement of several partitions of `universe` (a partition may cover only part of it: what
    it leaves out is left out)."""
    blocks = [universe.all]
    for part in partitions:
        if len(part) == 1 and len(part[0]) == len(universe.all):
            continue
        nxt = []
        for b in blocks:
            for c in part:
                inside = b & c
                if inside:
                    nxt.append(inside)
        blocks = nxt
    return [intern.setdefault(b, b) for b in blocks]
