"""GraphQL types for policies: managed (AWS or customer) and inline policies, their versions and attachments.
Each wraps a store record (`strawberry.Private`) and resolves its relations through the request's DataLoaders."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graphiam.api.context import Context
from graphiam.store import records as rec

__all__ = ["AttachmentType", "EntityType", "Policy", "PolicyAttachment", "PolicyKind", "PolicyVersion"]


def _doc(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@strawberry.enum(description="Where a managed or inline policy comes from.")
class PolicyKind(Enum):
    AWS_MANAGED = "aws-managed"
    CUSTOMER_MANAGED = "customer-managed"
    INLINE = "inline"


@strawberry.enum(description="How a policy is attached to a user, group or role.")
class AttachmentType(Enum):
    IDENTITY = "identity"
    INLINE = "inline"
    BOUNDARY = "boundary"


@strawberry.enum
class EntityType(Enum):
    USER = "User"
    GROUP = "IAMGroup"
    ROLE = "Role"


@strawberry.type
class PolicyVersion:
    row: strawberry.Private[rec.VersionRow]

    @strawberry.field
    def version_id(self) -> str:
        return self.row.version_id

    @strawberry.field
    def is_default(self) -> bool:
        return self.row.is_default

    @strawberry.field
    def create_date(self) -> str | None:
        return self.row.create_date

    @strawberry.field
    def document(self) -> JSON | None:
        return _doc(self.row.document)


@strawberry.type(description="A policy attached to a user, group or role.")
class PolicyAttachment:
    row: strawberry.Private[rec.AttachmentRow]

    @strawberry.field
    def target_arn(self) -> str:
        return self.row.target_arn

    @strawberry.field
    def target_type(self) -> EntityType:
        return EntityType(self.row.target_type)

    @strawberry.field
    def attached_as(self) -> AttachmentType:
        return AttachmentType(self.row.attached_as)

    @strawberry.field(description="The user, group or role the policy is attached to.")
    async def target(
        self, info: Info[Context, None]
    ) -> Annotated[PolicyTarget, strawberry.lazy("graphiam.api.types")] | None:
        from graphiam.api.types import load_entity

        return await load_entity(info, self.row.target_type, self.row.target_arn)


@strawberry.type(
    description="A managed (AWS or customer) or inline policy. Its document is the default version's."
)
class Policy:
    row: strawberry.Private[rec.PolicyRow]

    @strawberry.field
    def arn(self) -> str:
        return self.row.arn

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    def kind(self) -> PolicyKind:
        return PolicyKind(self.row.kind)

    @strawberry.field
    def account(self) -> str:
        return self.row.account

    @strawberry.field
    def path(self) -> str | None:
        return self.row.path

    @strawberry.field
    def policy_id(self) -> str | None:
        return self.row.policy_id

    @strawberry.field
    def default_version_id(self) -> str | None:
        return self.row.default_version

    @strawberry.field(description="The default version's document (inline: the document).")
    def document(self) -> JSON | None:
        return _doc(self.row.document)

    @strawberry.field(
        description="True for a placeholder: the export named this policy but did not include it."
    )
    def missing_document(self) -> bool:
        return self.row.missing

    @strawberry.field(description="For inline policies: the user, group or role that embeds it.")
    def owner_arn(self) -> str | None:
        return self.row.owner_arn

    @strawberry.field
    def attachment_count(self) -> int | None:
        return self.row.attachment_count

    @strawberry.field
    def create_date(self) -> str | None:
        return self.row.create_date

    @strawberry.field
    def update_date(self) -> str | None:
        return self.row.update_date

    @strawberry.field(description="Every stored version, default marked.")
    async def versions(self, info: Info[Context, None]) -> list[PolicyVersion]:
        return [PolicyVersion(row=v) for v in await info.context.loaders.versions_of.load(self.row.arn)]

    @strawberry.field(
        description="Where the policy is attached (identity, inline or as a permissions boundary)."
    )
    async def attachments(self, info: Info[Context, None]) -> list[PolicyAttachment]:
        return [PolicyAttachment(row=a) for a in await info.context.loaders.attachments_of.load(self.row.arn)]
