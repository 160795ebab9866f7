"""GraphQL enums of policies (kinds, attachment types, entity tables) and `PolicyVersion`; the policy type
itself and its attachments are in graphiam.api.types, beside the users, groups and roles they point to."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.scalars import JSON

from graphiam.api import convert
from graphiam.service import records as rec

__all__ = ["AttachmentType", "EntityType", "PolicyKind", "PolicyVersion"]


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
        return convert.document(self.row.document)
