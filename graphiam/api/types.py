"""GraphQL types for the stored graph: accounts, users, groups, roles, instance profiles, policies and their
attachments (policy enums and versions: graphiam.api.policy_types), and the roles a principal can reach
(`Principal.assumableRoles`, `Role.assumableBy`). Each wraps a store record (`strawberry.Private`) and
resolves its relations through the request's DataLoaders. They point to each other (a policy's attachments
to users, a user's policies), so they live in one module."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graphiam.api import convert
from graphiam.api.context import Context
from graphiam.api.fields import field, from_row
from graphiam.api.policy_types import AttachmentType, EntityType, PolicyKind, PolicyVersion
from graphiam.queries import chains as P
from graphiam.service import records as rec

__all__ = [
    "Account",
    "AccountCounts",
    "AppliedPolicy",
    "AssumableRole",
    "AssumingPrincipal",
    "AttachmentType",
    "EntityType",
    "Group",
    "InstanceProfile",
    "Policy",
    "PolicyAttachment",
    "PolicyKind",
    "PolicyTarget",
    "PolicyVersion",
    "PolicyVia",
    "Principal",
    "Role",
    "Tag",
    "User",
    "assumable_by",
    "assumable_roles",
    "load_entity",
    "load_principal",
]


IS_ADMIN = (
    "Administrator now: allowed every action on `*` (identity policies, groups, the permissions boundary, "
    "every Deny and the organization's SCPs applied), unconditionally or under conditions its requests can "
    "carry (MFA, source IP …: `adminConditions`); conditions no request can meet now do not count. Null when "
    "that rests on a policy without a document in the graph (`incomplete` names it)."
)
CAN_BECOME_ADMIN = (
    "Not administrator now, but can become one: an escalation path leads to administrator "
    "(`escalationPaths` shows it). False for an administrator. Null when that rests on a policy without a "
    "document (`incomplete`)."
)
ADMIN_CONDITIONS = (
    "isAdmin: the condition keys (MFA, source IP …) its requests must carry to be allowed every action on "
    "`*`; empty when it is administrator unconditionally (or not at all)."
)
INCOMPLETE = (
    "The policies without a document in the graph (an export named them and omitted them) that made "
    "`isAdmin` or `canBecomeAdmin` null: its own, or those of principals it can reach. Empty when both are "
    "known."
)


@strawberry.enum(description="Whether a principal's policy is its own or inherited from a group.")
class PolicyVia(Enum):
    DIRECT = "direct"
    GROUP = "group"


@strawberry.type
class Tag:
    key: str
    value: str


def _tags(tags: dict[str, str]) -> list[Tag]:
    return [Tag(key=k, value=v) for k, v in sorted(tags.items())]


@strawberry.type(description="What the loads of one account (and mutations in it) put in the graph.")
class AccountCounts:
    users: int
    groups: int
    roles: int
    policies: int = strawberry.field(description="Customer-managed policies with a document.")
    inline_policies: int
    resources: int = strawberry.field(
        default=0, description="Resources with their policies (buckets, keys…)."
    )


@strawberry.type(description="An AWS account whose export was loaded.")
class Account:
    row: strawberry.Private[rec.AccountRow]

    id = from_row("id", str)
    source = from_row("source", str | None, description="The file the account was last loaded from.")
    loaded_at = from_row("loaded_at", str | None)
    warnings = from_row(
        "warnings",
        list[str],
        list,
        description="What the loader warned about (placeholders for omitted policies, ...).",
    )

    @field(description="The name the loaded organization gives this account; null without one.")
    async def name(self, info: Info[Context, None]) -> str | None:
        names, _ = await info.context.services.account_facts()
        return names.get(self.row.id)

    @field(description="How many users, groups, roles and policies its loads (and mutations) made.")
    async def counts(self, info: Info[Context, None]) -> AccountCounts:
        _, counts = await info.context.services.account_facts()
        c = counts.get(self.row.id) or rec.AccountCounts()
        return AccountCounts(
            users=c.users,
            groups=c.groups,
            roles=c.roles,
            policies=c.policies,
            inline_policies=c.inline_policies,
            resources=c.resources,
        )

    @field(description="Users and roles of this account.")
    async def principals(self, info: Info[Context, None]) -> list[Principal]:
        services = info.context.services
        users = await services.page("User", first=10_000, account=self.row.id)
        roles = await services.page("Role", first=10_000, account=self.row.id)
        return [User(row=u) for u in users] + [Role(row=r) for r in roles]


@strawberry.type(
    description="A policy as it applies to a principal: how it is attached and whether through a group."
)
class AppliedPolicy:
    policy: Policy
    attached_as: AttachmentType
    via: PolicyVia
    group: Group | None = None


async def _applied(
    info: Info[Context, None], target_arn: str, via: PolicyVia, group: Any = None
) -> list[AppliedPolicy]:
    pairs = await info.context.loaders.attachments_to.load(target_arn)
    return [
        AppliedPolicy(policy=Policy(row=p), attached_as=AttachmentType(a.attached_as), via=via, group=group)
        for a, p in pairs
        if not (via is PolicyVia.GROUP and a.attached_as == "boundary")
    ]


async def _boundary(info: Info[Context, None], target_arn: str) -> Policy | None:
    pairs = await info.context.loaders.attachments_to.load(target_arn)
    return next((Policy(row=p) for a, p in pairs if a.attached_as == "boundary"), None)


@strawberry.interface(description="A user or role: something that can make requests.")
class Principal:
    row: strawberry.Private[Any]

    arn = from_row("arn", str)
    name = from_row("name", str)
    account = from_row("account", str)
    path = from_row("path", str | None)
    create_date = from_row("create_date", str | None)
    tags = from_row("tags", list[Tag], _tags)

    @field(description="The permissions boundary, if one is set.")
    async def permissions_boundary(self, info: Info[Context, None]) -> Policy | None:
        return await _boundary(info, self.row.arn)

    @field(
        description="Every policy that applies: direct, inline, boundary and (users) inherited from groups."
    )
    async def policies(self, info: Info[Context, None]) -> list[AppliedPolicy]:
        out = await _applied(info, self.row.arn, PolicyVia.DIRECT)
        if isinstance(self, User):
            for g in await info.context.loaders.groups_of_user.load(self.row.arn):
                out += await _applied(info, g.arn, PolicyVia.GROUP, Group(row=g))
        return out

    @field(
        description="Roles this principal can assume within `maxDepth` hops (directly or through "
        "chains), each once at its fewest hops; hops needing conditions included, marked."
    )
    async def assumable_roles(self, info: Info[Context, None], max_depth: int = 5) -> list[AssumableRole]:
        return await assumable_roles(info, self.row.arn, max_depth)

    @field(description=IS_ADMIN)
    async def is_admin(self, info: Info[Context, None]) -> bool | None:
        return (await info.context.services.admin_facts(self.row.arn)).is_admin

    @field(description=CAN_BECOME_ADMIN)
    async def can_become_admin(self, info: Info[Context, None]) -> bool | None:
        return (await info.context.services.admin_facts(self.row.arn)).can_become_admin

    @field(description=ADMIN_CONDITIONS)
    async def admin_conditions(self, info: Info[Context, None]) -> list[str]:
        return list((await info.context.services.admin_facts(self.row.arn)).conditions)

    @field(description=INCOMPLETE)
    async def incomplete(self, info: Info[Context, None]) -> list[str]:
        return list((await info.context.services.admin_facts(self.row.arn)).incomplete)

    @field(
        description="Why `isAdmin` and `canBecomeAdmin` are what they are (the first technique of an "
        "escalation path, the conditions needed, the documents missing)."
    )
    async def admin_reason(self, info: Info[Context, None]) -> str:
        return (await info.context.services.admin_facts(self.row.arn)).reason


@strawberry.type(description="An IAM user.")
class User(Principal):
    row: strawberry.Private[rec.UserRow]

    user_id = from_row("user_id", str | None)
    password_enabled = from_row(
        "password_enabled",
        bool | None,
        description="From the credential report: the user can sign in to the console.",
    )
    password_last_used = from_row("password_last_used", str | None)
    mfa_active = from_row(
        "mfa_active", bool | None, description="From the credential report: an MFA device is active."
    )
    access_keys_active = from_row(
        "access_keys_active",
        int | None,
        description="From the credential report: how many access keys are active (programmatic use).",
    )
    has_credential_report = from_row(
        "has_credential_report",
        bool,
        description="Whether a credential report covered this user (GAAD carries no credentials).",
    )

    @strawberry.field
    async def groups(self, info: Info[Context, None]) -> list[Group]:
        return [Group(row=g) for g in await info.context.loaders.groups_of_user.load(self.row.arn)]


@strawberry.type(description="An IAM role; its trust policy says who may assume it.")
class Role(Principal):
    row: strawberry.Private[rec.RoleRow]

    role_id = from_row("role_id", str | None)
    trust_policy = from_row(
        "trust_policy",
        JSON | None,
        convert.document,
        description="The trust policy (AssumeRolePolicyDocument).",
    )
    description = from_row("description", str | None)
    max_session_duration = from_row("max_session_duration", int | None)
    last_used = from_row("last_used", str | None)

    @strawberry.field
    async def instance_profiles(self, info: Info[Context, None]) -> list[InstanceProfile]:
        return [
            InstanceProfile(row=p) for p in await info.context.loaders.profiles_of_role.load(self.row.arn)
        ]

    @field(
        description="Principals (users, roles, services, external) that can reach this role within "
        "`maxDepth` hops, each once at its fewest hops."
    )
    async def assumable_by(self, info: Info[Context, None], max_depth: int = 5) -> list[AssumingPrincipal]:
        return await assumable_by(info, self.row.arn, max_depth)


@strawberry.type(description="An IAM group.")
class Group:
    row: strawberry.Private[rec.GroupRow]

    arn = from_row("arn", str)
    name = from_row("name", str)
    account = from_row("account", str)
    path = from_row("path", str | None)
    create_date = from_row("create_date", str | None)

    @strawberry.field
    async def members(self, info: Info[Context, None]) -> list[User]:
        return [User(row=u) for u in await info.context.loaders.members_of_group.load(self.row.arn)]

    @field(description="Policies attached to the group (managed and inline).")
    async def policies(self, info: Info[Context, None]) -> list[AppliedPolicy]:
        return await _applied(info, self.row.arn, PolicyVia.DIRECT)


@strawberry.type(description="An instance profile: hands its role to EC2 instances.")
class InstanceProfile:
    row: strawberry.Private[rec.InstanceProfileRow]

    arn = from_row("arn", str)
    name = from_row("name", str)
    account = from_row("account", str)

    @strawberry.field
    async def roles(self, info: Info[Context, None]) -> list[Role]:
        return [Role(row=r) for r in await info.context.loaders.roles_of_profile.load(self.row.arn)]


@strawberry.type(description="A policy attached to a user, group or role.")
class PolicyAttachment:
    row: strawberry.Private[rec.AttachmentRow]

    target_arn = from_row("target_arn", str)
    target_type = from_row("target_type", EntityType, EntityType)
    attached_as = from_row("attached_as", AttachmentType, AttachmentType)

    @field(description="The user, group or role the policy is attached to.")
    async def target(self, info: Info[Context, None]) -> PolicyTarget | None:
        return await load_entity(info, self.row.target_type, self.row.target_arn)


@strawberry.type(
    description="A managed (AWS or customer) or inline policy. Its document is the default version's."
)
class Policy:
    row: strawberry.Private[rec.PolicyRow]

    arn = from_row("arn", str)
    name = from_row("name", str)
    kind = from_row("kind", PolicyKind, PolicyKind)
    account = from_row("account", str)
    path = from_row("path", str | None)
    policy_id = from_row("policy_id", str | None)
    default_version_id = from_row("default_version", str | None)
    document = from_row(
        "document",
        JSON | None,
        convert.document,
        description="The default version's document (inline: the document).",
    )
    missing_document = from_row(
        "missing",
        bool,
        description="True for a placeholder: the export named this policy but did not include it.",
    )
    owner_arn = from_row(
        "owner_arn", str | None, description="For inline policies: the user, group or role that embeds it."
    )
    attachment_count = from_row("attachment_count", int | None)
    create_date = from_row("create_date", str | None)
    update_date = from_row("update_date", str | None)

    @field(description="Every stored version, default marked.")
    async def versions(self, info: Info[Context, None]) -> list[PolicyVersion]:
        return [PolicyVersion(row=v) for v in await info.context.loaders.versions_of.load(self.row.arn)]

    @field(description="Where the policy is attached (identity, inline or as a permissions boundary).")
    async def attachments(self, info: Info[Context, None]) -> list[PolicyAttachment]:
        return [PolicyAttachment(row=a) for a in await info.context.loaders.attachments_of.load(self.row.arn)]


@strawberry.type(description="A role a principal can reach, once, at its fewest hops.")
class AssumableRole:
    arn: str
    depth: int
    needs_conditions: bool = strawberry.field(
        description="True when every shortest path to it needs a condition."
    )

    @strawberry.field
    async def role(self, info: Info[Context, None]) -> Role | None:
        row = await info.context.loaders.role.load(self.arn)
        return None if row is None else Role(row=row)


@strawberry.type(description="A principal that can reach a role, at its fewest hops.")
class AssumingPrincipal:
    id: str = strawberry.field(description="ARN, or the service principal's name.")
    type: str = strawberry.field(description="User | Role | ServicePrincipal | ExternalPrincipal")
    depth: int
    needs_conditions: bool

    @field(description="The user or role (null for service and external principals).")
    async def principal(self, info: Info[Context, None]) -> Principal | None:
        if self.type not in ("User", "Role"):
            return None
        return await load_principal(info, self.type, self.id)


async def assumable_roles(info: Info[Context, None], principal: str, max_depth: int) -> list[AssumableRole]:
    services = info.context.services
    reach = await info.context.heavy(P.assumable_roles, services.db, principal, max_depth=max_depth)
    return [AssumableRole(arn=r.key, depth=r.depth, needs_conditions=r.needs_conditions) for r in reach]


async def assumable_by(info: Info[Context, None], role: str, max_depth: int) -> list[AssumingPrincipal]:
    services = info.context.services
    reach = await info.context.heavy(P.assumable_by, services.db, role, max_depth=max_depth)
    return [
        AssumingPrincipal(id=r.key, type=r.table, depth=r.depth, needs_conditions=r.needs_conditions)
        for r in reach
    ]


PolicyTarget = Annotated[User | Group | Role, strawberry.union("PolicyTarget")]


async def load_principal(info: Info[Context, None], table: str, arn: str) -> User | Role | None:
    """The stored user (`table` User) or role (Role) `arn`, through the request's DataLoaders; None when it is
    not stored."""
    if table == "User":
        user = await info.context.loaders.user.load(arn)
        return None if user is None else User(row=user)
    if table == "Role":
        role = await info.context.loaders.role.load(arn)
        return None if role is None else Role(row=role)
    raise ValueError(f"not a principal table: `{table}`")


async def load_entity(info: Info[Context, None], table: str, arn: str) -> User | Group | Role | None:
    """As `load_principal`, or the group `arn` (`table` IAMGroup)."""
    if table == "IAMGroup":
        group = await info.context.loaders.group.load(arn)
        return None if group is None else Group(row=group)
    return await load_principal(info, table, arn)
