"""`organization`: the stored AWS organization (tree and SCPs) and the SCP levels that govern an account."""

from __future__ import annotations

import json

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graphiam.api.context import Context
from graphiam.api.fields import field
from graphiam.service import ScpRow, UnitRow, governing_chain


@strawberry.type(description="A service control policy of the organization.")
class ServiceControlPolicy:
    id: str
    name: str
    description: str | None
    aws_managed: bool
    document: JSON
    target_ids: list[str] = strawberry.field(description="The roots, OUs and accounts it is attached to.")


@strawberry.type(description="A root, an organizational unit or an account.")
class OrganizationUnit:
    id: str
    kind: str = strawberry.field(description="root, ou or account.")
    name: str | None
    parent_id: str | None
    is_management_account: bool
    service_control_policies: list[ServiceControlPolicy] = strawberry.field(description="Attached here.")


@strawberry.type(description="The SCPs attached at one level of the path from the root to an account.")
class ScpLevel:
    unit: OrganizationUnit
    service_control_policies: list[ServiceControlPolicy]


@strawberry.type(
    description="The AWS organization loaded with `graphiam load` (an organization description file)."
)
class Organization:
    id: str
    management_account_id: str | None
    units: list[OrganizationUnit] = strawberry.field(description="Every root, OU and account, ordered by id.")
    service_control_policies: list[ServiceControlPolicy]

    rows: strawberry.Private[dict[str, UnitRow]]

    @field(
        description="The SCP levels that govern `account` (root first, the account last): what "
        "`simulate` and `whoCan` apply to its users and roles. Null when SCPs do not "
        "apply to it (not in the organization, or the management account)."
    )
    def scp_levels(self, account: str) -> list[ScpLevel] | None:
        chain = governing_chain(self.rows, account)
        if chain is None:
            return None
        by_id = {u.id: u for u in self.units}
        return [
            ScpLevel(unit=by_id[u], service_control_policies=by_id[u].service_control_policies) for u in chain
        ]


def _organization(units: list[UnitRow], scps: list[ScpRow]) -> Organization | None:
    if not units:
        return None
    policies = {
        p.id: ServiceControlPolicy(
            id=p.id,
            name=p.name,
            description=p.description,
            aws_managed=bool(p.aws_managed),
            document=json.loads(p.document),
            target_ids=list(p.targets),
        )
        for p in scps
    }
    attached: dict[str, list[ServiceControlPolicy]] = {}
    for p in scps:
        for t in p.targets:
            attached.setdefault(t, []).append(policies[p.id])
    out = [
        OrganizationUnit(
            id=u.id,
            kind=u.kind,
            name=u.name,
            parent_id=u.parent,
            is_management_account=bool(u.management),
            service_control_policies=attached.get(u.id, []),
        )
        for u in units
    ]
    management = next((u.id for u in units if u.management), None)
    return Organization(
        id=units[0].org,
        management_account_id=management,
        units=out,
        service_control_policies=list(policies.values()),
        rows={u.id: u for u in units},
    )


@strawberry.type
class OrganizationQuery:
    @field(description="The stored AWS organization with its SCPs; null when none was loaded.")
    async def organization(self, info: Info[Context, None]) -> Organization | None:
        units, scps = await info.context.services.organization()
        return _organization(units, scps)
