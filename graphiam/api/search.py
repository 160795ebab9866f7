"""`search`: users, groups, roles and policies by part of their name or ARN (the dashboard's search box)."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from graphiam.api import pagination as pg
from graphiam.api.context import Context
from graphiam.api.fields import field
from graphiam.api.types import PolicyKind
from graphiam.queries.search import search


@strawberry.enum(description="What a search hit is.")
class SearchKind(Enum):
    USER = "user"
    GROUP = "group"
    ROLE = "role"
    POLICY = "policy"
    RESOURCE = "resource"


_KIND = {
    "User": SearchKind.USER,
    "IAMGroup": SearchKind.GROUP,
    "Role": SearchKind.ROLE,
    "Policy": SearchKind.POLICY,
    "Resource": SearchKind.RESOURCE,
}


@strawberry.type(
    description="A user, group, role or policy whose name or ARN contains the text searched for."
)
class SearchHit:
    kind: SearchKind
    arn: str = strawberry.field(description="Inline policies: `<owner ARN>#<name>`.")
    name: str = strawberry.field(description="Resources without a name: their ARN.")
    account: str = strawberry.field(description="The account id; `aws` for AWS-managed policies.")
    path: str | None
    policy_kind: PolicyKind | None = strawberry.field(description="Policies: managed or inline.")
    resource_type: str | None = strawberry.field(description="Resources: s3:bucket, kms:key, …")
    name_match: bool = strawberry.field(description="The name contains the text (else only the ARN does).")


@strawberry.type
class SearchQuery:
    @field(
        description="Users, groups, roles, policies and resources whose name or ARN contains `text` (case "
        "ignored): the name equal to it first, then names starting with it, names containing it, ARNs "
        "containing it; ties by kind and ARN. `kinds` keeps some kinds, `account` one account; `first` at "
        "most 100."
    )
    async def search(
        self,
        info: Info[Context, None],
        text: str,
        kinds: list[SearchKind] | None = None,
        account: str | None = None,
        first: int = 20,
    ) -> list[SearchHit]:
        n = pg.check_first(first)
        services = info.context.services
        rows = await services.run(
            search,
            services.db,
            text,
            kinds=[k.value for k in kinds] if kinds else None,
            account=account,
            first=n,
        )
        return [
            SearchHit(
                kind=_KIND[r.table],
                arn=r.arn,
                name=r.name or r.arn,
                account=r.account,
                path=r.path,
                policy_kind=PolicyKind(r.policy_kind) if r.policy_kind and r.table == "Policy" else None,
                resource_type=r.policy_kind if r.table == "Resource" else None,
                name_match=r.rank < 3,
            )
            for r in rows
        ]
