"""`externalAccess`: the roles that principals outside the graph (other accounts, federated providers, anyone)
can assume, with the statements and conditions behind each, and what stored resources' policies open to other
accounts, outside the organization or to anyone."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from graphiam.api.assume import AssumptionHop, hop
from graphiam.api.conditions import HopCondition, hop_conditions
from graphiam.api.context import Context
from graphiam.api.fields import field
from graphiam.queries.external import ExternalResourceAccess, external_access, external_resources


@strawberry.enum(
    description="What kind of outside principal: another account (its root), a named principal of "
    "it, a federated identity provider (SAML / OIDC), anyone (`*`); for resources also a service "
    "principal and an S3 canonical user."
)
class ExternalKind(Enum):
    ACCOUNT = "account"
    PRINCIPAL = "principal"
    ROLE = "role"
    SESSION = "session"
    FEDERATED = "federated"
    EVERYONE = "everyone"
    SERVICE = "service"
    CANONICAL_USER = "canonical-user"


@strawberry.enum(description="What is open: a role (its trust policy) or a resource (its resource policy).")
class ExternalTarget(Enum):
    ROLE = "role"
    RESOURCE = "resource"


@strawberry.type(description="A statement of a resource's policy open beyond its account.")
class ExternalResource:
    arn: str
    type: str = strawberry.field(description="service:kind, e.g. s3:bucket.")
    actions: list[str] = strawberry.field(description="The statement's actions, as written.")
    statement_index: int
    conditions: list[HopCondition] = strawberry.field(
        description="The statement's conditions (every one must hold)."
    )
    public: bool = strawberry.field(
        description="Open to anyone: `*` (or NotPrincipal) with no condition limiting the caller."
    )
    rcp_denied: bool = strawberry.field(
        description="The RCPs of the resource's account deny this principal every action of the statement."
    )


@strawberry.type(description="A role, or a resource, someone outside the loaded accounts can reach.")
class ExternalAccess:
    target: ExternalTarget = strawberry.field(description="ROLE: `role` and `hop`; RESOURCE: `resource`.")
    role: str | None = strawberry.field(description="The role (target ROLE); null for a resource.")
    account: str = strawberry.field(description="The role's (or the resource's) account.")
    principal: str = strawberry.field(
        description="Account root or id, principal ARN, provider ARN, service name, or `*`."
    )
    principal_kind: ExternalKind
    principal_account: str | None
    outside_organization: bool = strawberry.field(
        description="The principal's account is not in the stored organization (always true for anyone and "
        "federated providers, and for every account when no organization is loaded; false for services)."
    )
    unconditional: bool = strawberry.field(
        description="No condition (ExternalId, MFA, source, org id) guards it."
    )
    hop: AssumptionHop | None = strawberry.field(description="Target ROLE: the assumption's statements.")
    resource: ExternalResource | None = strawberry.field(
        default=None, description="Target RESOURCE: the resource and the statement."
    )


def _resource_row(r: ExternalResourceAccess) -> ExternalAccess:
    return ExternalAccess(
        target=ExternalTarget.RESOURCE,
        role=None,
        account=r.account,
        principal=r.principal,
        principal_kind=ExternalKind(r.principal_kind),
        principal_account=r.principal_account,
        outside_organization=r.outside_organization,
        unconditional=not r.conditions,
        hop=None,
        resource=ExternalResource(
            arn=r.resource,
            type=r.resource_type,
            actions=list(r.actions),
            statement_index=r.statement_index,
            conditions=hop_conditions(r.conditions),
            public=r.public,
            rcp_denied=r.rcp_denied,
        ),
    )


@strawberry.type
class ExternalQuery:
    @field(
        description="Every role a principal outside the loaded accounts can assume (trust policies "
        "naming other accounts, their principals, federated providers or `*`), as the "
        "CAN_ASSUME derivation decided it, ordered by role, then principal; then every statement of a "
        "stored resource's policy open to another account, a federated provider, a service no source "
        "condition binds, or everyone (`*` limited to the stored organization by aws:PrincipalOrgID is "
        "not listed), by resource. `account` keeps that account's roles and resources; `targets` the kinds "
        "of entry (default: both)."
    )
    async def external_access(
        self,
        info: Info[Context, None],
        account: str | None = None,
        targets: list[ExternalTarget] | None = None,
    ) -> list[ExternalAccess]:
        services = info.context.services
        wanted = set(targets) if targets is not None else set(ExternalTarget)
        out: list[ExternalAccess] = []
        if ExternalTarget.ROLE in wanted:
            rows = await services.run(external_access, services.db, account=account)
            out += [
                ExternalAccess(
                    target=ExternalTarget.ROLE,
                    role=r.role,
                    account=r.account,
                    principal=r.principal,
                    principal_kind=ExternalKind(r.principal_kind),
                    principal_account=r.principal_account,
                    outside_organization=r.outside_organization,
                    unconditional=not r.hop.needs_conditions,
                    hop=hop(r.hop),
                )
                for r in rows
            ]
        if ExternalTarget.RESOURCE in wanted:
            snap = await services.snapshot()
            found = await services.run(external_resources, snap, account=account)
            out += [_resource_row(r) for r in found]
        return out
