"""`externalAccess`: the roles that principals outside the graph (other accounts, federated providers, anyone)
can assume, with the statements and conditions behind each."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from graphiam.api.assume import AssumptionHop, hop
from graphiam.api.context import Context
from graphiam.api.fields import field
from graphiam.queries.external import external_access


@strawberry.enum(
    description="What kind of outside principal: another account (its root), a named principal of "
    "it, a federated identity provider (SAML / OIDC), or anyone (`*`)."
)
class ExternalKind(Enum):
    ACCOUNT = "account"
    PRINCIPAL = "principal"
    ROLE = "role"
    SESSION = "session"
    FEDERATED = "federated"
    EVERYONE = "everyone"


@strawberry.type(description="A role someone outside the loaded accounts can assume.")
class ExternalAccess:
    role: str
    account: str = strawberry.field(description="The role's account.")
    principal: str = strawberry.field(description="Account root or principal ARN, provider ARN, or `*`.")
    principal_kind: ExternalKind
    principal_account: str | None
    outside_organization: bool = strawberry.field(
        description="The principal's account is not in the stored organization (always true for anyone and "
        "federated providers, and for every account when no organization is loaded)."
    )
    unconditional: bool = strawberry.field(
        description="No condition (ExternalId, MFA, source, org id) guards it."
    )
    hop: AssumptionHop


@strawberry.type
class ExternalQuery:
    @field(
        description="Every role a principal outside the loaded accounts can assume (trust policies "
        "naming other accounts, their principals, federated providers or `*`), as the "
        "CAN_ASSUME derivation decided it; `account` keeps that account's roles. Ordered "
        "by role, then principal."
    )
    async def external_access(
        self, info: Info[Context, None], account: str | None = None
    ) -> list[ExternalAccess]:
        services = info.context.services
        rows = await services.run(external_access, services.db, account=account)
        return [
            ExternalAccess(
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
