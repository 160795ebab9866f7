"""Effective permissions of a stored principal: every catalogued action its identity policies allow, per
action the resource patterns allowed (after the permissions boundary) and denied, with the conditions
attached.

Implements IAM User Guide "Policy evaluation logic" for identity-based access: an action is allowed on a
resource when an identity Allow statement matches it, the permissions boundary (if any) also allows it
("Permissions boundaries for IAM entities": the effective permissions are the intersection), and no Deny
statement applies (explicit deny wins). Action/NotAction are expanded against the Service Authorization
Reference (`graphiam.catalog`); patterns that name no catalogued action are reported (`unknown`), not dropped.
Resource patterns are wildcard patterns; the boundary's and the denies' patterns are folded in when one
contains the other, and listed beside the allowed pattern when they only overlap (`also_matching`,
`excluding`). Policy variables the principal defines (`${aws:username}`, `${aws:PrincipalTag/team}` …) are
substituted; a pattern whose principal variable is undefined never matches ("IAM policy elements: Variables")
and is left out. Resource-based policies are not part of identity permissions. The SCPs of the stored
organization (the principal's `scps`, one list per level) narrow the grants as the boundary does, level by
level, and their Deny statements join the denies ("Policy evaluation logic": SCPs cap identity permissions).

Conditions are judged with the request context every question uses (`graphiam.graph.context`, resource `*`):
a statement whose conditions no request can satisfy now (a date already past on `aws:CurrentTime`, a tag the
principal lacks, a `Null` contradiction) is left out, Allow or Deny; an Allow that needs keys the request does
not carry (MFA, a source IP, `iam:PassedToService` …) is a conditional grant (`required`, `conditional`); a
Deny whose conditions all hold for the principal whatever the request is an unconditional deny.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphiam.cancel import NEVER, Cancel
from graphiam.catalog import Catalog
from graphiam.catalog.model import ActionInfo
from graphiam.errors import NotFoundError
from graphiam.graph.context import RequestContext, build_context
from graphiam.graph.snapshot import Snapshot
from graphiam.policy import PolicySource, Statement
from graphiam.policy.request import normalise_context
from graphiam.policy.wildcard import Lit, Var, Wild, tokenize
from graphiam.policy.witness import satisfiable
from graphiam.queries.chains import HopCondition

PRINCIPAL_KEYS = (
    "aws:username",
    "aws:userid",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
)


@dataclass(frozen=True, kw_only=True)
class ConditionSpec:
    operator: str
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class StatementRef:
    policy_arn: str
    policy_name: str
    via: str  # user | group | role | boundary
    index: int
    sid: str | None
    effect: str


@dataclass(frozen=True, kw_only=True)
class ResourceGrant:
    """Resources matching `pattern`, not matching any of `excluding`, and matching every `also_matching`."""

    pattern: str
    excluding: tuple[str, ...] = ()
    also_matching: tuple[str, ...] = ()
    conditions: tuple[ConditionSpec, ...] = ()
    statements: tuple[StatementRef, ...] = ()
    # the conditions on keys the request does not carry: an Allow's that fail as the request is (the grant
    # holds only if the caller meets them); a Deny's on keys the caller controls (it can be avoided)
    required: tuple[HopCondition, ...] = ()

    @property
    def conditional(self) -> bool:
        """Allowed (or, for a deny, denying) only under conditions the request does not carry."""
        return bool(self.required)

    @property
    def unconditional(self) -> bool:
        return not self.required


@dataclass(frozen=True, kw_only=True)
class ActionAccess:
    action: str  # as catalogued, e.g. `s3:GetObject`
    service: str
    access_level: str
    allowed: tuple[ResourceGrant, ...]
    denied: tuple[ResourceGrant, ...]


@dataclass(frozen=True, kw_only=True)
class UnknownAction:
    action: str  # the pattern as written
    policy_arn: str
    statement_index: int
    effect: str
    not_action: bool
    did_you_mean: str | None = None  # the closest known action or service (`Catalog.check_actions`)


Entry = tuple[ActionInfo, tuple[ResourceGrant, ...], tuple[ResourceGrant, ...]]  # action, allowed, denied


def _access(e: Entry) -> ActionAccess:
    a, allowed, denied = e
    return ActionAccess(
        action=a.full_name, service=a.service, access_level=a.access_level, allowed=allowed, denied=denied
    )


@dataclass(frozen=True, kw_only=True)
class Effective:
    """The answer; `entries` are materialised as `ActionAccess` on demand (an administrator has ~20k)."""

    principal_arn: str
    boundary_arn: str | None
    entries: tuple[Entry, ...]  # allowed on some resource, sorted by action name
    blocked_entries: tuple[Entry, ...]  # an identity Allow matches, but the boundary or denies leave nothing
    unknown_actions: tuple[UnknownAction, ...]
    warnings: tuple[str, ...] = field(default=())
    incomplete: tuple[str, ...] = ()  # the principal's policies without a document: left out of the answer

    @property
    def actions(self) -> list[ActionAccess]:
        return [_access(e) for e in self.entries]

    @property
    def blocked_actions(self) -> list[ActionAccess]:
        return [_access(e) for e in self.blocked_entries]

    def summary(self) -> list[tuple[str, str, int]]:
        """(service, access level, allowed actions), sorted."""
        counts = Counter((e[0].service, e[0].access_level) for e in self.entries)
        return sorted((svc, level, n) for (svc, level), n in counts.items())

    def filtered(self, *, service: str | None = None, access_level: str | None = None) -> Effective:
        if service is None and access_level is None:
            return self
        svc = service.lower() if service is not None else None

        def keep(e: Entry) -> bool:
            return (svc is None or e[0].service.lower() == svc) and (
                access_level is None or e[0].access_level == access_level
            )

        return Effective(
            principal_arn=self.principal_arn,
            boundary_arn=self.boundary_arn,
            entries=tuple(filter(keep, self.entries)),
            blocked_entries=tuple(filter(keep, self.blocked_entries)),
            unknown_actions=self.unknown_actions,
            warnings=self.warnings,
            incomplete=self.incomplete,
        )


def covers(a: str, b: str) -> bool:
    """Every resource matching pattern `b` matches pattern `a` (`*` any run, `?` one character)."""
    memo: dict[tuple[int, int], bool] = {}
    na, nb = len(a), len(b)

    def f(i: int, j: int) -> bool:
        hit = memo.get((i, j))
        if hit is None:
            if i == na:
                hit = j == nb
            elif a[i] == "*":
                hit = f(i + 1, j) or (j < nb and f(i, j + 1))
            elif j == nb:
                hit = False
            elif a[i] == "?":
                hit = b[j] != "*" and f(i + 1, j + 1)
            else:
                hit = b[j] == a[i] and f(i + 1, j + 1)
            memo[(i, j)] = hit
        return hit

    return _bounded(f, na, nb, default=False)


def intersects(a: str, b: str) -> bool:
    """Some resource matches both patterns."""
    memo: dict[tuple[int, int], bool] = {}
    na, nb = len(a), len(b)

    def g(i: int, j: int) -> bool:
        hit = memo.get((i, j))
        if hit is None:
            if i == na and j == nb:
                hit = True
            elif i < na and a[i] == "*":
                hit = g(i + 1, j) or (j < nb and g(i, j + 1))
            elif j < nb and b[j] == "*":
                hit = g(i, j + 1) or (i < na and g(i + 1, j))
            elif i == na or j == nb:
                hit = False
            else:
                hit = (a[i] == "?" or b[j] == "?" or a[i] == b[j]) and g(i + 1, j + 1)
            memo[(i, j)] = hit
        return hit

    return _bounded(g, na, nb, default=True)


def _bounded(fn: Callable[[int, int], bool], na: int, nb: int, *, default: bool) -> bool:
    """`fn(0, 0)`, or the conservative `default` for patterns too long for the recursion (ARNs are short)."""
    if na + nb > 800:
        return default
    return fn(0, 0)


_Src = tuple[PolicySource, Statement]
_EXPANSION: weakref.WeakKeyDictionary[Statement, tuple[ActionInfo, ...]] = weakref.WeakKeyDictionary()


def _expand(catalog: Catalog, st: Statement) -> tuple[ActionInfo, ...]:
    hit = _EXPANSION.get(st)
    if hit is None:
        hit = tuple(
            catalog.expand_statement(actions=st.actions)
            if st.actions is not None
            else catalog.expand_statement(not_actions=st.not_actions or ())
        )
        _EXPANSION[st] = hit
    return hit


def _ref(src: PolicySource, st: Statement) -> StatementRef:
    return StatementRef(
        policy_arn=src.policy_id,
        policy_name=src.name,
        via=src.via,
        index=st.index,
        sid=st.sid,
        effect=st.effect,
    )


def _conditions(st: Statement) -> tuple[ConditionSpec, ...]:
    return tuple(
        ConditionSpec(operator=op, key=k, values=vs)
        for op, block in (st.conditions or {}).items()
        for k, vs in block.items()
    )


def _substitute(text: str, ctx: dict[str, str], variables: bool) -> str | None:
    """`text` with the principal's own variables filled in; None when one of them is undefined."""
    if not variables or "${" not in text:
        return text
    out: list[str] = []
    for tok in tokenize(text, wildcards=True, variables=True):
        if isinstance(tok, Lit):
            out.append(tok.text)
        elif isinstance(tok, Wild):
            out.append(tok.value)
        elif isinstance(tok, Var):
            value = ctx.get(tok.key, tok.default)
            if value is not None:
                out.append(value)
            elif tok.key in PRINCIPAL_KEYS or tok.key.startswith("aws:principaltag/"):
                return None  # undefined for this principal: the entry never matches
            else:
                out.append(tok.raw)  # a request-time key (e.g. s3:prefix): shown as written
    return "".join(out)


def _grants(
    src: PolicySource, st: Statement, ctx: dict[str, str], required: tuple[HopCondition, ...] = ()
) -> list[ResourceGrant]:
    """The statement's resource side as grants: one per Resource entry, or `*` excluding its NotResource."""
    var = src.document.variables_enabled
    conds, refs = _conditions(st), (_ref(src, st),)
    if st.not_resources is not None:
        excl = tuple(x for x in (_substitute(r, ctx, var) for r in st.not_resources) if x is not None)
        return [
            ResourceGrant(pattern="*", excluding=excl, conditions=conds, statements=refs, required=required)
        ]
    pats = [_substitute(r, ctx, var) for r in (st.resources or ("*",))]
    return [
        ResourceGrant(pattern=p, conditions=conds, statements=refs, required=required)
        for p in dict.fromkeys(pats)
        if p is not None
    ]


class _Judge:
    """Per-principal verdicts on statements' conditions, with the request context of `graph.context`."""

    def __init__(self, built: RequestContext) -> None:
        self.built = built
        self.ctx = normalise_context(built.values)
        self._memo: dict[int, tuple[bool, tuple[HopCondition, ...]]] = {}

    def judge(self, s: _Src) -> tuple[bool, tuple[HopCondition, ...]]:
        """(can some request satisfy the statement's conditions now, the conditions a request must still meet:
        for an Allow those that fail as the request is, for a Deny every one on a key the caller controls)."""
        src, st = s
        hit = self._memo.get(id(st))
        if hit is None:
            if not st.compiled_conditions:
                hit = (True, ())
            else:
                ok, free = satisfiable(
                    st.compiled_conditions, self.ctx, free=self.built.free, choices=self.built.choices
                )
                if st.effect == "Allow":
                    free = tuple(c for c in free if not c.test(self.ctx))
                hit = (
                    ok,
                    tuple(
                        HopCondition(
                            key=c.key,
                            operator=c.operator,
                            values=c.values,
                            effect=st.effect,
                            policy_arn=src.policy_id,
                            statement_index=st.index,
                        )
                        for c in free
                    ),
                )
            self._memo[id(st)] = hit
        return hit


def _narrow(g: ResourceGrant, b: ResourceGrant) -> ResourceGrant | None:
    """The part of grant `g` that boundary grant `b` also allows; None when they cannot overlap."""
    if any(covers(x, g.pattern) for x in b.excluding):
        return None
    excluding = g.excluding + tuple(x for x in b.excluding if intersects(x, g.pattern))

    def grant(pattern: str, also_matching: tuple[str, ...]) -> ResourceGrant:
        return ResourceGrant(
            pattern=pattern,
            excluding=excluding,
            also_matching=also_matching,
            conditions=g.conditions + b.conditions,
            statements=g.statements + b.statements,
            required=g.required + b.required,
        )

    if covers(b.pattern, g.pattern):
        return grant(g.pattern, g.also_matching)
    if covers(g.pattern, b.pattern):
        if any(covers(x, b.pattern) for x in g.excluding):
            return None
        return grant(b.pattern, g.also_matching)
    if not intersects(g.pattern, b.pattern):
        return None
    return grant(g.pattern, g.also_matching + (b.pattern,))


def _denied_entirely(g: ResourceGrant, d: ResourceGrant) -> bool:
    """An unconditional deny (no condition the request could escape) covering every resource of `g`."""
    if d.required or d.also_matching:
        return False
    if not covers(d.pattern, g.pattern):
        return False
    return not any(intersects(x, g.pattern) for x in d.excluding)


def _overlaps(d: ResourceGrant, g: ResourceGrant) -> bool:
    return intersects(d.pattern, g.pattern) and not any(covers(x, g.pattern) for x in d.excluding)


class _Resolver:
    """Per-principal memo: grants depend only on which statements match an action, shared across actions."""

    def __init__(
        self,
        ctx: dict[str, str],
        boundary: Sequence[PolicySource] | None,
        levels: int = 0,
        judge: _Judge | None = None,
    ) -> None:
        self.ctx = ctx
        self.judge = judge
        self.boundary = boundary
        self.levels = levels  # SCP levels: each one narrows the grants as a boundary does
        self._grants: dict[int, list[ResourceGrant]] = {}
        self._memo: dict[tuple[Any, ...], tuple[tuple[ResourceGrant, ...], tuple[ResourceGrant, ...]]] = {}

    def grants(self, s: _Src) -> list[ResourceGrant]:
        hit = self._grants.get(id(s[1]))
        if hit is None:
            required = self.judge.judge(s)[1] if self.judge is not None else ()
            hit = self._grants[id(s[1])] = _grants(s[0], s[1], self.ctx, required)
        return hit

    def resolve(
        self, allows: list[_Src], bounds: list[_Src], denies: list[_Src], scps: Sequence[list[_Src]] = ()
    ) -> tuple[tuple[ResourceGrant, ...], tuple[ResourceGrant, ...]]:
        key = (
            tuple(id(s[1]) for s in allows),
            tuple(id(s[1]) for s in bounds),
            tuple(id(s[1]) for s in denies),
            tuple(tuple(id(s[1]) for s in level) for level in scps),
        )
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._compute(allows, bounds, denies, scps)
        return hit

    def _compute(
        self, allows: list[_Src], bounds: list[_Src], denies: list[_Src], scps: Sequence[list[_Src]]
    ) -> tuple[tuple[ResourceGrant, ...], tuple[ResourceGrant, ...]]:
        granted = [g for s in allows for g in self.grants(s)]
        if self.boundary is not None:
            bgrants = [b for s in bounds for b in self.grants(s)]
            granted = [n for g in granted for b in bgrants if (n := _narrow(g, b)) is not None]
        for level in range(
            self.levels
        ):  # every SCP level must allow too (an action no SCP of a level names: none)
            lgrants = [b for s in (scps[level] if level < len(scps) else ()) for b in self.grants(s)]
            granted = [n for g in granted for b in lgrants if (n := _narrow(g, b)) is not None]
        dgrants = [d for s in denies for d in self.grants(s)]
        relevant = tuple(d for d in dgrants if any(_overlaps(d, g) for g in granted))
        kept = tuple(dict.fromkeys(g for g in granted if not any(_denied_entirely(g, d) for d in relevant)))
        return kept, relevant


def _statements(sources: Iterable[PolicySource]) -> list[_Src]:
    return [(s, st) for s in sources for st in s.document.statements]


def effective_permissions(
    snap: Snapshot, *, principal: str, catalog: Catalog | None = None, cancel: Cancel = NEVER
) -> Effective:
    """What `principal` (a stored user or role ARN) may do, per catalogued action (see the module
    docstring); `cancel` is checked per statement and per group of actions."""
    p = snap.principal(principal)
    if p is None:
        raise NotFoundError(f"principal `{principal}` is not in the graph (users and roles are principals)")
    cat = catalog or Catalog.default()
    warnings = list(p.warnings)
    ctx = {k.lower(): v for k, v in p.derived_context().items()}  # resolves the principal's variables
    judge = _Judge(build_context(p, snap, "*", {}))
    ident = _statements(p.identity)
    bound = _statements(p.boundary or ())
    unknown = [
        UnknownAction(
            action=u.name,
            policy_arn=s.policy_id,
            statement_index=st.index,
            effect=st.effect,
            not_action=st.actions is None,
            did_you_mean=u.did_you_mean,
        )
        for s, st in ident + bound
        for u in cat.check_actions(st.actions or st.not_actions or ())
    ]
    # per action, the indices (into `sources`) of the statements matching it: allows, boundary allows, denies
    levels = [_statements(level) for level in p.scps or ()]  # the organization's SCPs, root first

    def now(sts: list[_Src]) -> list[_Src]:
        """The statements some request can still satisfy (conditions judged now, `_Judge`)."""
        return [s for s in sts if judge.judge(s)[0]]

    ident, bound, levels = now(ident), now(bound), [now(level) for level in levels]
    allows = [s for s in ident if s[1].effect == "Allow"]
    bound_allows = [s for s in bound if s[1].effect == "Allow"]
    scp_allows = [[s for s in level if s[1].effect == "Allow"] for level in levels]
    denies = [s for s in ident + bound + [x for level in levels for x in level] if s[1].effect == "Deny"]
    sources = allows + bound_allows + [x for level in scp_allows for x in level] + denies
    n_allow, n_bound = len(allows), len(bound_allows)
    starts = [n_allow + n_bound + sum(map(len, scp_allows[:k])) for k in range(len(scp_allows) + 1)]
    n_capped = starts[-1]  # allows, boundary allows and SCP allows come before this index; denies after
    matching: dict[int, list[int]] = {}
    infos: dict[int, ActionInfo] = {}
    for i, src in enumerate(sources):
        cancel.check()
        for a in _expand(cat, src[1]):
            hit = matching.get(id(a))
            if hit is not None:
                hit.append(i)
            elif i < n_allow:
                matching[id(a)] = [i]
                infos[id(a)] = a
    groups: dict[tuple[int, ...], list[ActionInfo]] = {}
    for key, idx in matching.items():
        groups.setdefault(tuple(idx), []).append(infos[key])
    resolver = _Resolver(ctx, p.boundary, len(levels), judge)
    allowed: list[Entry] = []
    blocked: list[Entry] = []
    for group, actions in groups.items():
        cancel.check()
        pick = [sources[i] for i in group]
        kept, against = resolver.resolve(
            [s for i, s in zip(group, pick, strict=True) if i < n_allow],
            [s for i, s in zip(group, pick, strict=True) if n_allow <= i < n_allow + n_bound],
            [s for i, s in zip(group, pick, strict=True) if i >= n_capped],
            [
                [s for i, s in zip(group, pick, strict=True) if starts[k] <= i < starts[k + 1]]
                for k in range(len(levels))
            ],
        )
        (allowed if kept else blocked).extend((a, kept, against) for a in actions)
    allowed.sort(key=_name)
    blocked.sort(key=_name)
    return Effective(
        principal_arn=p.arn,
        boundary_arn=p.boundary_arn,
        entries=tuple(allowed),
        blocked_entries=tuple(blocked),
        unknown_actions=tuple(unknown),
        warnings=tuple(warnings),
        incomplete=p.incomplete,
    )


def _name(e: Entry) -> str:
    return e[0].full_name.lower()
