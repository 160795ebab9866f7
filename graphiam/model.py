"""Domain objects that flow from ingest to the store: frozen, keyword-only, no behaviour.

ARNs are the identity of every entity. Policy documents travel as canonical JSON strings (already
URL-decoded); the policy engine parses them, the store keeps them verbatim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

AWS_MANAGED = "aws-managed"
CUSTOMER_MANAGED = "customer-managed"
INLINE = "inline"


@dataclass(frozen=True, kw_only=True)
class Tag:
    key: str
    value: str


@dataclass(frozen=True, kw_only=True)
class PolicyVersion:
    version_id: str
    is_default: bool
    document: str | None
    create_date: str | None = None


@dataclass(frozen=True, kw_only=True)
class ManagedPolicy:
    arn: str
    name: str
    kind: str  # aws-managed | customer-managed
    account: str  # the export's account (aws-managed policies: "aws")
    policy_id: str | None = None
    path: str = "/"
    default_version_id: str | None = None
    versions: tuple[PolicyVersion, ...] = ()
    attachment_count: int | None = None
    boundary_usage_count: int | None = None
    is_attachable: bool = True
    description: str | None = None
    create_date: str | None = None
    update_date: str | None = None
    missing: bool = False  # a placeholder for a policy the export names but omits

    @property
    def default_document(self) -> str | None:
        for v in self.versions:
            if v.is_default:
                return v.document
        return None


@dataclass(frozen=True, kw_only=True)
class InlinePolicy:
    owner_arn: str
    name: str
    document: str

    @property
    def arn(self) -> str:
        """A stable id for the inline policy: `#` cannot occur in IAM names, so it never collides."""
        return inline_policy_id(self.owner_arn, self.name)


def inline_policy_id(owner_arn: str, name: str) -> str:
    return f"{owner_arn}#{name}"


@dataclass(frozen=True, kw_only=True)
class User:
    arn: str
    name: str
    account: str
    user_id: str | None = None
    path: str = "/"
    create_date: str | None = None
    group_names: tuple[str, ...] = ()
    attached_policy_arns: tuple[str, ...] = ()
    inline_policies: tuple[InlinePolicy, ...] = ()
    boundary_arn: str | None = None
    tags: tuple[Tag, ...] = ()
    password_last_used: str | None = None


@dataclass(frozen=True, kw_only=True)
class Group:
    arn: str
    name: str
    account: str
    group_id: str | None = None
    path: str = "/"
    create_date: str | None = None
    attached_policy_arns: tuple[str, ...] = ()
    inline_policies: tuple[InlinePolicy, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Role:
    arn: str
    name: str
    account: str
    trust_policy: str | None
    role_id: str | None = None
    path: str = "/"
    create_date: str | None = None
    description: str | None = None
    max_session_duration: int | None = None
    attached_policy_arns: tuple[str, ...] = ()
    inline_policies: tuple[InlinePolicy, ...] = ()
    boundary_arn: str | None = None
    tags: tuple[Tag, ...] = ()
    last_used: str | None = None


@dataclass(frozen=True, kw_only=True)
class InstanceProfile:
    arn: str
    name: str
    account: str
    profile_id: str | None = None
    path: str = "/"
    create_date: str | None = None
    role_arns: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Resource:
    """An AWS resource and its resource-based policy (bucket policy, key policy, queue policy…).

    `type` is `service:kind` as the ARN names it (`s3:bucket`, `kms:key`, `sqs:queue`, `sns:topic`,
    `lambda:function`, `secretsmanager:secret`, `ecr:repository`…); `account` the owner (an S3 ARN names none,
    so it comes from where the collector found it); `policy` canonical JSON, or None when it has none."""

    arn: str
    type: str
    account: str
    region: str | None = None
    name: str | None = None
    tags: tuple[Tag, ...] = ()
    policy: str | None = None
    source: str | None = None  # the file (or directory) it was read from
    role: str | None = None  # the IAM role it runs as (a Lambda function's execution role), when known


IAM_PART = "iam"
RESOURCES_PART = "resources"


@dataclass(frozen=True, kw_only=True)
class AccountExport:
    """One account's worth of IAM, as read from one GAAD file."""

    account_id: str
    source: str
    users: tuple[User, ...] = ()
    groups: tuple[Group, ...] = ()
    roles: tuple[Role, ...] = ()
    policies: tuple[ManagedPolicy, ...] = ()
    instance_profiles: tuple[InstanceProfile, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    resources: tuple[Resource, ...] = ()
    # what the export holds of the account, which a load replaces: "iam" (users, groups, roles, policies,
    # instance profiles) and/or "resources" (resources with their policies). A GAAD holds only IAM, an AWS
    # Config snapshot only resources; two exports of one account merge when they hold different parts.
    parts: frozenset[str] = frozenset({"iam"})
    # the input format: "gaad", "iam-collect" or "aws-config". When a GAAD (or an iam-collect store) and an
    # AWS Config snapshot of one account are loaded together, the Config snapshot's IAM (which Config records
    # only in part) gives way to the other's.
    format: str = "gaad"
    # where the file defines each ARN (users, groups, roles, policies, instance profiles): its JSON path, so
    # that a load can name both places when two files define the same ARN
    locations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class OrgUnit:
    """A root, an organizational unit or an account of an AWS organization."""

    id: str
    kind: str  # root | ou | account
    name: str | None = None
    parent_id: str | None = None  # None for a root


@dataclass(frozen=True, kw_only=True)
class ServiceControlPolicy:
    id: str
    name: str
    document: str  # canonical JSON
    targets: tuple[str, ...]  # OrgUnit ids it is attached to
    description: str | None = None
    aws_managed: bool = False


@dataclass(frozen=True, kw_only=True)
class ResourceControlPolicy(ServiceControlPolicy):
    """An RCP: the same shape as an SCP (id, name, document, targets), attached along the same tree."""


@dataclass(frozen=True, kw_only=True)
class Organization:
    """An AWS organization: its tree (roots → OUs → accounts) and the SCPs and RCPs attached along it."""

    id: str
    management_account: str | None
    source: str
    units: tuple[OrgUnit, ...] = ()
    policies: tuple[ServiceControlPolicy, ...] = ()
    rcps: tuple[ResourceControlPolicy, ...] = ()
    warnings: tuple[str, ...] = field(default=())
