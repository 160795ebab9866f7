"""`whoCan`, `whoCanSummary` and `effectivePermissions`: who may do what, in shapes a dashboard can chart
(effectivePermissions' types: graphiam.api.effective)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from graphiam.api.conditions import HopCondition, hop_conditions
from graphiam.api.context import Context
from graphiam.api.effective import AccessLevel, EffectivePermissions
from graphiam.api.fields import field
from graphiam.api.simulation import (
    ContextEntryInput,
    Decision,
    MatchedStatement,
    context_values,
    matched_statement,
)
from graphiam.api.types import Principal, Role, User
from graphiam.errors import InputError
from graphiam.queries import effective as eff
from graphiam.queries.resource_grants import OutsideGrant
from graphiam.queries.who_can import DEFAULT_CHAIN_DEPTH, Access, WhoCan, who_can

__all__ = ["AccessLevel", "AccessQuery", "EffectivePermissions", "PrincipalAccess"]


@strawberry.enum(
    description="Users and roles of the graph; on a stored resource also what its policy grants that is not "
    "one: a whole account not loaded (`ACCOUNT`: any of its principals that its own policies allow), a "
    "named principal of another account (`PRINCIPAL`), a service, a federated provider, a canonical user, "
    "or everyone (`*`)."
)
class PrincipalKind(Enum):
    USER = "user"
    ROLE = "role"
    ACCOUNT = "account"
    PRINCIPAL = "principal"
    SERVICE = "service"
    FEDERATED = "federated"
    CANONICAL_USER = "canonical-user"
    EVERYONE = "everyone"


@strawberry.enum(
    description="Which policies allow: the principal's identity policies, the resource's own policy "
    "(it names the principal, or its account from another account, or a KMS key policy), or both."
)
class AccessVia(Enum):
    IDENTITY = "identity"
    RESOURCE = "resource"
    BOTH = "both"


@strawberry.type(
    description="A principal allowed the action: directly, or (whoCan viaChains) by assuming a role "
    "that is allowed; then `chain` lists the hops and the decision is that role's. `conditional` ones are "
    "allowed only if the request carries keys it does not (`requiredConditions`)."
)
class PrincipalAccess:
    # plain fields, filled once: thousands of rows resolve much faster than through per-field resolvers
    principal: Principal | None
    principal_arn: str = strawberry.field(
        description="The user's or role's ARN; for what a resource policy grants beyond them: the account "
        "id, the named ARN, the service or provider name, the canonical user id, or `*`."
    )
    kind: PrincipalKind
    account: str | None = strawberry.field(
        description="The principal's account (null for services, providers and everyone)."
    )
    via: AccessVia = strawberry.field(
        description="Which side allows: IDENTITY, RESOURCE (the resource's policy alone) or BOTH."
    )
    decision: Decision = strawberry.field(
        description="The decision on the request as given (not ALLOWED when `conditional`)."
    )
    conditional: bool = strawberry.field(
        description="False: allowed as the request is. True: allowed only if the request carries the "
        "`requiredConditions` (or, via a chain, what its hops need: `chainConditions`)."
    )
    required_conditions: list[HopCondition] = strawberry.field(
        description="The conditions that decide a conditional answer, each with its statement."
    )
    matched_statements: list[MatchedStatement] = strawberry.field(
        description="The statements that allowed it (for a chain: those that allow the last role)."
    )
    missing_context_keys: list[str] = strawberry.field(
        description="Condition keys an otherwise matching statement needed and the request lacked."
    )
    chain: list[str] | None = strawberry.field(
        description="viaChains: the principal, the roles it assumes, and last the allowed role (ARNs); "
        "null when the principal is allowed itself."
    )
    chain_conditions: list[str] = strawberry.field(
        description="viaChains: condition keys the chain's hops need (e.g. aws:MultiFactorAuthPresent)."
    )
    unknown: bool = strawberry.field(
        default=False,
        description="The decision rests on a policy without a document in the graph (`incomplete`): the "
        "principal is allowed if that document allows it, and not otherwise. `decision` is the engine's "
        "with the documents it has (IMPLICIT_DENY under a missing boundary). Unknown principals come after "
        "the others, sorted by ARN.",
    )
    incomplete: list[str] = strawberry.field(
        default_factory=list,
        description="unknown: the policies without a document (an export named them and omitted them) "
        "the decision rests on.",
    )
    outside_organization: bool | None = strawberry.field(
        default=None,
        description="Granted by the resource's policy to someone not stored: whether it lies outside the "
        "stored organization (EVERYONE: false only when every statement admitting it requires the stored "
        "organization's aws:PrincipalOrgID). Null for stored users and roles.",
    )
    public: bool = strawberry.field(
        default=False,
        description="EVERYONE: a statement admits anyone with no condition limiting the caller.",
    )
    rcp_denied: bool = strawberry.field(
        default=False,
        description="EVERYONE: the RCPs of the resource's account deny callers outside the organization.",
    )


def _principal_access(a: Access, row: Any) -> PrincipalAccess:
    ev = a.simulation.evaluation
    return PrincipalAccess(
        principal=(User if a.kind == "user" else Role)(row=row) if row is not None else None,
        principal_arn=a.principal_arn,
        kind=PrincipalKind(a.kind),
        account=a.account,
        via=AccessVia(a.via),
        decision=Decision(ev.decision.value),
        conditional=a.conditional,
        required_conditions=hop_conditions(a.required_conditions),
        matched_statements=[matched_statement(m) for m in ev.matched],
        missing_context_keys=list(ev.missing_context_keys),
        chain=list(a.chain) if a.chain else None,
        chain_conditions=list(a.chain_conditions),
        unknown=bool(a.incomplete),
        incomplete=list(a.incomplete),
    )


def _outside_access(o: OutsideGrant) -> PrincipalAccess:
    ev = o.evaluation
    return PrincipalAccess(
        principal=None,
        principal_arn=o.principal,
        kind=PrincipalKind(o.kind),
        account=o.account,
        via=AccessVia.RESOURCE,
        decision=Decision.IMPLICIT_DENY if o.conditional else Decision.ALLOWED,
        conditional=o.conditional,
        required_conditions=hop_conditions(o.required_conditions),
        matched_statements=[matched_statement(m) for m in ev.matched] if ev is not None else [],
        missing_context_keys=[],
        chain=None,
        chain_conditions=[],
        outside_organization=o.outside_organization,
        public=o.public,
        rcp_denied=o.rcp_denied,
    )


def _selects_principal(info: Info[Context, None]) -> bool:
    """Whether the query asks for `principal` (fragments: assume it does); the rows cost a store read."""
    for selected in info.selected_fields:
        for sel in selected.selections:
            if not isinstance(sel, SelectedField) or sel.name == "principal":
                return True
    return False


@strawberry.type
class AccountCount:
    account: str
    users: int
    roles: int
    total: int


@strawberry.type(description="whoCan in numbers: totals and per-account counts, for dashboards.")
class WhoCanSummary:
    action: str
    resource: str
    total: int
    direct: int = strawberry.field(description="Principals allowed themselves.")
    conditional: int = strawberry.field(description="Principals allowed only under conditions (in `total`).")
    via_chains: int = strawberry.field(description="Principals allowed only by assuming an allowed role.")
    users: int
    roles: int
    by_account: list[AccountCount]
    outside: int = strawberry.field(
        default=0,
        description="Entries a stored resource's policy grants beyond the stored users and roles (accounts "
        "not loaded, other principals, services, everyone); not counted in `total`.",
    )
    candidates: int = strawberry.field(description="Principals the database prefilter handed to the engine.")
    principals: int = strawberry.field(description="Users and roles in the graph.")
    unknown: int = strawberry.field(
        default=0,
        description="Principals whoCan lists as `unknown` (their decision rests on a policy without a "
        "document); not counted in `total` and the other counts.",
    )


def _summary(w: WhoCan) -> WhoCanSummary:
    per: dict[str, Counter[str]] = {}
    for a in w.allowed:
        per.setdefault(a.account, Counter())[a.kind] += 1
    chained = sum(1 for a in w.allowed if a.chain)
    kinds = Counter(a.kind for a in w.allowed)
    return WhoCanSummary(
        action=w.action,
        resource=w.resource,
        total=len(w.allowed),
        direct=len(w.allowed) - chained,
        conditional=sum(1 for a in w.allowed if a.conditional),
        via_chains=chained,
        users=kinds["user"],
        roles=kinds["role"],
        by_account=[
            AccountCount(account=k, users=c["user"], roles=c["role"], total=c["user"] + c["role"])
            for k, c in sorted(per.items())
        ],
        candidates=w.candidates,
        principals=w.principals,
        unknown=len(w.unknown),
        outside=len(w.outside),
    )


def _freeze(ctx: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, v if isinstance(v, str) else tuple(v)) for k, v in ctx.items()))


async def _who_can(
    context: Context,
    action: str,
    resource: str,
    context_entries: list[ContextEntryInput] | None,
    resource_owner: str | None,
    via_chains: bool,
    max_depth: int,
    conditional: bool | None = None,
) -> WhoCan:
    services = context.services
    snap = await services.snapshot()
    ctx = context_values(context_entries)
    key = (action, resource, _freeze(ctx), resource_owner, via_chains, max_depth, conditional)
    return await context.heavy_answer(
        "who_can",
        snap.generation,
        key,
        lambda cancel: who_can(
            services.db,
            snap,
            action=action,
            resource=resource,
            context=ctx,
            resource_owner=resource_owner,
            via_chains=via_chains,
            max_depth=max_depth,
            conditional=conditional,
            cancel=cancel,
        ),
    )


def _after(allowed: Sequence[Access | OutsideGrant], after: str | None) -> list[Access | OutsideGrant]:
    if after is None:
        return list(allowed)
    for i, a in enumerate(allowed):
        if (a.principal if isinstance(a, OutsideGrant) else a.principal_arn) == after:
            return list(allowed[i + 1 :])
    raise InputError(f"`after`: `{after}` is not a principalArn of this answer")


@strawberry.type
class AccessQuery:
    @field(
        description="Every user and role (all accounts) whose simulated decision for `action` on "
        "`resource` is ALLOWED (`conditional: false`), or who would be allowed if the request carried "
        "keys it does not (`conditional: true`, with `requiredConditions`), sorted by ARN. Principals whose "
        "Allow no request can satisfy (a date already past, a Null contradiction) are not listed. "
        "`conditional` keeps one kind (default: both). With `viaChains`, also principals that reach "
        "an allowed role through CAN_ASSUME edges (at most `maxDepth` hops), shortest first. "
        "Last, marked `unknown`, principals whose decision rests on a policy without a document. "
        "`first`/`after` (a principalArn of the previous page) page through long answers; "
        "whoCanSummary gives the counts."
    )
    async def who_can(
        self,
        info: Info[Context, None],
        action: str,
        resource: str,
        context: list[ContextEntryInput] | None = None,
        resource_owner: str | None = None,
        via_chains: bool = False,
        max_depth: int = DEFAULT_CHAIN_DEPTH,
        first: int | None = None,
        after: str | None = None,
        conditional: bool | None = None,
    ) -> list[PrincipalAccess]:
        services = info.context.services
        w = await _who_can(
            info.context, action, resource, context, resource_owner, via_chains, max_depth, conditional
        )
        if first is not None and first < 0:
            raise InputError(f"`first` must not be negative, got {first}")
        page = _after((*w.allowed, *w.outside, *w.unknown), after)
        page = page[:first] if first is not None else page
        stored = [a for a in page if isinstance(a, Access)]
        rows: dict[str, Any] | None = None
        if _selects_principal(info):
            snap = await services.snapshot()
            rows = await services.principal_rows(snap.generation, [a.principal_arn for a in stored])
        return [
            _outside_access(a)
            if isinstance(a, OutsideGrant)
            else _principal_access(a, rows.get(a.principal_arn) if rows is not None else None)
            for a in page
            if isinstance(a, OutsideGrant) or rows is None or a.principal_arn in rows
        ]

    @field(description="The same question as whoCan, answered with counts (per account, users/roles).")
    async def who_can_summary(
        self,
        info: Info[Context, None],
        action: str,
        resource: str,
        context: list[ContextEntryInput] | None = None,
        resource_owner: str | None = None,
        via_chains: bool = False,
        max_depth: int = DEFAULT_CHAIN_DEPTH,
        conditional: bool | None = None,
    ) -> WhoCanSummary:
        w = await _who_can(
            info.context, action, resource, context, resource_owner, via_chains, max_depth, conditional
        )
        return _summary(w)

    @field(
        description="What `principal` can do: its identity policies expanded against AWS's action "
        "catalogue, capped by its permissions boundary, with denies; filter by `service` "
        "(prefix, e.g. `s3`) and `accessLevel`."
    )
    async def effective_permissions(
        self,
        info: Info[Context, None],
        principal: str,
        service: str | None = None,
        access_level: AccessLevel | None = None,
    ) -> EffectivePermissions:
        services = info.context.services
        snap = await services.snapshot()
        full = await info.context.heavy_answer(
            "effective",
            snap.generation,
            principal,
            lambda cancel: eff.effective_permissions(snap, principal=principal, cancel=cancel),
        )
        return EffectivePermissions(
            row=full.filtered(service=service, access_level=access_level.value if access_level else None)
        )
