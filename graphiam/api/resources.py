"""`resources` and `resource`: stored resources (buckets, keys, queues, topics, functions, secrets,
repositories…) with their resource-based policies, what the policies name and whether they are public."""

from __future__ import annotations

import json
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graphiam.api import pagination as pg
from graphiam.api.context import Context
from graphiam.api.fields import field
from graphiam.api.types import Tag
from graphiam.queries.resources import is_public, public_statement_indexes
from graphiam.service import records as rec


@strawberry.type(description="Something a statement of a resource's policy names.")
class NamedPrincipal:
    kind: str = strawberry.field(
        description="account, user, role (in the graph), principal (an ARN not in the graph), service, "
        "federated, canonical-user, everyone, organization (aws:PrincipalOrgID…), org-path."
    )
    value: str = strawberry.field(description="The account id, ARN, service, organization id… as written.")
    effect: str = strawberry.field(description="Allow or Deny: the statement's effect.")
    conditional: bool = strawberry.field(description="The statement has a Condition.")
    named_by: str = strawberry.field(
        description="How the policy names it: the Principal element's key (AWS, Service, Federated, "
        "CanonicalUser), or the condition key (aws:PrincipalOrgID, aws:SourceAccount…)."
    )
    not_principal: bool = strawberry.field(description="Named by NotPrincipal (everyone but it).")
    in_graph: bool = strawberry.field(description="A user or role loaded in the graph.")


@strawberry.type(description="A resource with its resource-based policy (bucket, key, queue, topic…).")
class Resource:
    row: strawberry.Private[rec.ResourceRow]

    @field(description="The resource's ARN.")
    def arn(self) -> str:
        return self.row.arn

    @field(description="`service:kind` from the ARN: s3:bucket, kms:key, sqs:queue, sns:topic, …")
    def type(self) -> str:
        return self.row.type

    @field(description="The owning account (for S3 buckets, where the collector found it).")
    def account(self) -> str:
        return self.row.account

    @field()
    def region(self) -> str | None:
        return self.row.region

    @field()
    def name(self) -> str | None:
        return self.row.name

    @field()
    def tags(self) -> list[Tag]:
        return [Tag(key=k, value=v) for k, v in sorted(self.row.tags.items())]

    @field(description="The resource-based policy document; null when it has none.")
    def policy(self) -> JSON | None:
        return json.loads(self.row.policy) if self.row.policy else None

    @field(description="The file (or folder) it was loaded from.")
    def source(self) -> str | None:
        return self.row.source

    @field(
        description="Open to anyone: an Allow with Principal `*` and no condition limiting the caller to "
        "an account, organization, source or network (from the policy alone; RCPs not applied)."
    )
    def public(self) -> bool:
        return is_public(self.row.policy, where=self.row.arn)

    @field(description="The indexes of the statements that make it public.")
    def public_statements(self) -> list[int]:
        return public_statement_indexes(self.row.policy, where=self.row.arn)

    @field(description="What its policy names: principals, accounts, services, organizations.")
    async def principals_named(self, info: Info[Context, None]) -> list[NamedPrincipal]:
        rows = (await info.context.services.related("names_of_resource", [self.row.arn])).get(
            self.row.arn, []
        )
        return [
            NamedPrincipal(
                kind=n.kind,
                value=n.value,
                effect=n.effect,
                conditional=n.conditional,
                named_by=n.principal_kind,
                not_principal=n.not_principal,
                in_graph=n.table in ("User", "Role"),
            )
            for n in rows
        ]


@strawberry.type
class ResourceQuery:
    @field(
        description="Stored resources, ordered by ARN; `type` (s3:bucket, kms:key…) and `account` filter; "
        "`first` at most 100."
    )
    async def resources(
        self,
        info: Info[Context, None],
        type: str | None = None,
        account: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> pg.Connection[Resource]:
        n = pg.check_first(first)
        key = pg.decode_cursor(after)
        services = info.context.services
        filters: dict[str, Any] = {"account": account, "types": [type] if type else None}
        rows = await services.page("Resource", first=n + 1, after=key, **filters)
        total = await services.count("Resource", **filters)
        return pg.build(rows, n, total, after, lambda r: Resource(row=r))

    @field(description="A stored resource by ARN (an S3 object's ARN finds nothing: ask for its bucket).")
    async def resource(self, info: Info[Context, None], arn: str) -> Resource | None:
        rows = await info.context.services.rows("Resource", [arn])
        return Resource(row=rows[arn]) if arn in rows else None
