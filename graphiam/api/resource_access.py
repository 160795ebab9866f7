"""`resourceAccess`: who holds each access level (read, write, list, permissions management, tagging) on a
stored resource (graphiam.queries.resource_access); `resourceRisks`: what resource policies let principals do
beyond using a resource (graphiam.queries.resource_risks)."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from graphiam.api.access import AccessVia, PrincipalKind
from graphiam.api.conditions import HopCondition, hop_conditions
from graphiam.api.context import Context
from graphiam.api.fields import field
from graphiam.queries.resource_access import DEFAULT_FIRST, LevelAccess, LevelEntry, resource_access
from graphiam.queries.resource_risks import ResourceRisk as Risk
from graphiam.queries.resource_risks import resource_risks


@strawberry.enum(
    description="KEY_POLICY_CONTROL: allowed kms:PutKeyPolicy or kms:CreateGrant on a key (can give itself "
    "every use of it); INVOKE_ADMIN_FUNCTION / UPDATE_ADMIN_FUNCTION: allowed to invoke, or to replace the "
    "code of, a function whose execution role is administrator."
)
class ResourceRiskKind(Enum):
    KEY_POLICY_CONTROL = "key-policy-control"
    INVOKE_ADMIN_FUNCTION = "invoke-admin-function"
    UPDATE_ADMIN_FUNCTION = "update-admin-function"


@strawberry.type(description="A principal a resource policy lets do more than use the resource.")
class ResourceRisk:
    resource: str
    type: str
    account: str
    risk: ResourceRiskKind
    principal_arn: str
    kind: PrincipalKind
    principal_account: str | None
    via: AccessVia
    conditional: bool
    actions: list[str]
    required_conditions: list[HopCondition]
    role: str | None = strawberry.field(description="A function's execution role (administrator).")


def _risk(r: Risk) -> ResourceRisk:
    return ResourceRisk(
        resource=r.resource,
        type=r.type,
        account=r.account,
        risk=ResourceRiskKind(r.risk),
        principal_arn=r.principal,
        kind=PrincipalKind(r.kind),
        principal_account=r.principal_account,
        via=AccessVia(r.via),
        conditional=r.conditional,
        actions=list(r.actions),
        required_conditions=hop_conditions(r.required_conditions),
        role=r.role,
    )


@strawberry.type(description="A principal (or what a resource policy grants beyond them) holding a level.")
class ResourceLevelEntry:
    principal_arn: str = strawberry.field(
        description="A user's or role's ARN, or an account id, another ARN, a service, or `*`."
    )
    kind: PrincipalKind
    account: str | None
    via: AccessVia = strawberry.field(
        description="Which side allows (BOTH also when different actions are allowed by different sides)."
    )
    conditional: bool = strawberry.field(
        description="Allowed only under conditions the request does not carry, for every action it holds."
    )
    actions: list[str] = strawberry.field(description="The level's actions it is allowed.")
    required_conditions: list[HopCondition]
    public: bool = strawberry.field(description="EVERYONE with no condition limiting the caller.")
    outside_organization: bool | None = strawberry.field(
        description="Not a stored user or role: whether it lies outside the stored organization."
    )


@strawberry.type(description="One access level on a resource and who holds it.")
class ResourceLevel:
    level: str = strawberry.field(
        description="Read, Write, List, Permissions management or Tagging (AWS's access levels)."
    )
    actions: list[str] = strawberry.field(
        description="The actions asked for this level (an S3 object action as `action on arn:aws:s3:::b/*`)."
    )
    principals: list[ResourceLevelEntry] = strawberry.field(description="At most `first`, by ARN.")
    total: int = strawberry.field(description="How many hold the level.")


@strawberry.type(description="Who can read, write, list, manage permissions on and tag a stored resource.")
class ResourceAccessAnswer:
    arn: str
    type: str
    account: str
    has_policy: bool
    levels: list[ResourceLevel]


def _entry(e: LevelEntry) -> ResourceLevelEntry:
    return ResourceLevelEntry(
        principal_arn=e.principal,
        kind=PrincipalKind(e.kind),
        account=e.account,
        via=AccessVia(e.via),
        conditional=e.conditional,
        actions=list(e.actions),
        required_conditions=hop_conditions(e.required_conditions),
        public=e.public,
        outside_organization=e.outside_organization,
    )


def _level(lv: LevelAccess) -> ResourceLevel:
    return ResourceLevel(
        level=lv.level,
        actions=list(lv.actions),
        principals=[_entry(e) for e in lv.entries],
        total=lv.total,
    )


@strawberry.type
class ResourceAccessQuery:
    @field(
        description="Who can read, write, list, manage permissions on and tag the stored resource `arn`, "
        "by AWS access level: each level asked with a representative set of the resource type's actions "
        "(whoCan's decisions: the resource's policy, RCPs, a KMS key policy, SCPs, identity policies); a "
        "principal holds a level when it is allowed one of them. At most `first` principals per level."
    )
    async def resource_access(
        self, info: Info[Context, None], arn: str, first: int = DEFAULT_FIRST
    ) -> ResourceAccessAnswer:
        services = info.context.services
        snap = await services.snapshot()
        r = await info.context.heavy_answer(
            "resource_access",
            snap.generation,
            (arn, first),
            lambda cancel: resource_access(services.db, snap, arn=arn, first=first, cancel=cancel),
        )
        return ResourceAccessAnswer(
            arn=r.arn,
            type=r.type,
            account=r.account,
            has_policy=r.has_policy,
            levels=[_level(lv) for lv in r.levels],
        )

    @field(
        description="What stored resource policies let principals do beyond using a resource: change a KMS "
        "key's policy or create grants on it (administrators left out), invoke or replace the code of a "
        "function whose execution role is administrator; `account` keeps that account's resources."
    )
    async def resource_risks(
        self, info: Info[Context, None], account: str | None = None
    ) -> list[ResourceRisk]:
        services = info.context.services
        snap = await services.snapshot()
        found = await info.context.heavy_answer(
            "resource_risks",
            snap.generation,
            account,
            lambda cancel: resource_risks(services.db, snap, account=account, cancel=cancel),
        )
        return [_risk(r) for r in found]
