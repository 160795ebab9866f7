"""GraphQL enums of policies (kinds, attachment types, entity tables) and `PolicyVersion`; the policy type
itself and its attachments are in graphiam.api.types, beside the users, groups and roles they point to."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.scalars import JSON

from graphiam.api import convert
from graphiam.api.fields import from_row
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

    version_id = from_row("version_id", str)
    is_default = from_row("is_default", bool)
    create_date = from_row("create_date", str | None)
    document = from_row("document", JSON | None, convert.document)
