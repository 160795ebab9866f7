"""Typed rows the store hands to the layers above (no kuzu types escape the store)."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Row = TypeVar("Row", bound="DataclassInstance")


@dataclass(frozen=True, kw_only=True)
class SearchRow:
    """A user, group, role or policy whose name or ARN matched a search, and how well (`rank`: 0 the name
    is the text, 1 it starts with it, 2 it contains it, 3 only the ARN contains it)."""

    table: str
    arn: str
    name: str
    account: str
    path: str | None
    policy_kind: str | None
    rank: int


@dataclass(frozen=True, kw_only=True)
class AccountRow:
    id: str
    source: str | None
    loaded_at: str | None
    warnings: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class AccountCounts:
    """What one account's loads (and mutations) put in the graph."""

    users: int = 0
    groups: int = 0
    roles: int = 0
    policies: int = 0  # customer-managed policies with a document (placeholders are not counted)
    inline_policies: int = 0
    resources: int = 0


@dataclass(frozen=True, kw_only=True)
class UserRow:
    arn: str
    account: str
    name: str
    user_id: str | None
    path: str | None
    create_date: str | None
    tags: dict[str, str]
    boundary_arn: str | None
    password_enabled: bool | None
    password_last_used: str | None
    mfa_active: bool | None
    access_keys_active: int | None
    has_credential_report: bool


@dataclass(frozen=True, kw_only=True)
class GroupRow:
    arn: str
    account: str
    name: str
    group_id: str | None
    path: str | None
    create_date: str | None


@dataclass(frozen=True, kw_only=True)
class RoleRow:
    arn: str
    account: str
    name: str
    role_id: str | None
    path: str | None
    create_date: str | None
    tags: dict[str, str]
    boundary_arn: str | None
    trust_policy: str | None
    description: str | None
    max_session_duration: int | None
    last_used: str | None


@dataclass(frozen=True, kw_only=True)
class PolicyRow:
    arn: str
    account: str
    name: str
    kind: str
    policy_id: str | None
    path: str | None
    default_version: str | None
    document: str | None
    owner_arn: str | None
    attachment_count: int | None
    is_attachable: bool | None
    description: str | None
    create_date: str | None
    update_date: str | None
    missing: bool


@dataclass(frozen=True, kw_only=True)
class VersionRow:
    policy_arn: str
    version_id: str
    is_default: bool
    document: str | None
    create_date: str | None


@dataclass(frozen=True, kw_only=True)
class AttachmentRow:
    """Policy `policy_arn` is attached to `target_arn` (a user, group or role) as identity, inline or
    boundary."""

    policy_arn: str
    target_arn: str
    target_type: str  # User | IAMGroup | Role
    attached_as: str


@dataclass(frozen=True, kw_only=True)
class InstanceProfileRow:
    arn: str
    account: str
    name: str
    profile_id: str | None
    path: str | None
    create_date: str | None


@dataclass(frozen=True, kw_only=True)
class ResourceRow:
    """A stored resource (`graphiam.model.Resource`): its policy as canonical JSON, or None."""

    arn: str
    account: str
    type: str
    region: str | None
    name: str | None
    tags: dict[str, str]
    policy: str | None
    source: str | None
    role: str | None = None  # the role it runs as (a Lambda function's execution role)


@dataclass(frozen=True, kw_only=True)
class NamedRow:
    """What a statement of a resource's policy names: a user or role of the graph (`table` User or Role,
    `value` its ARN) or something else (`table` Named: `kind` account, service, federated, canonical-user,
    everyone, principal, organization, org-path)."""

    resource: str
    table: str
    kind: str
    value: str
    effect: str
    conditional: bool
    principal_kind: str
    not_principal: bool


def _tags(raw: Any) -> dict[str, str]:
    return json.loads(raw) if raw else {}


@cache
def _field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _pick(cls: type[Row], d: dict[str, Any], **over: Any) -> Row:
    """A `cls` from the query row `d`: each field from `over` when given, else `d` (absent: None)."""
    return cls(**{k: over[k] if k in over else d.get(k) for k in _field_names(cls)})


def user(d: dict[str, Any]) -> UserRow:
    return _pick(
        UserRow, d, tags=_tags(d.get("tags")), has_credential_report=bool(d.get("has_credential_report"))
    )


def group(d: dict[str, Any]) -> GroupRow:
    return _pick(GroupRow, d)


def role(d: dict[str, Any]) -> RoleRow:
    return _pick(RoleRow, d, tags=_tags(d.get("tags")))


def policy(d: dict[str, Any]) -> PolicyRow:
    return _pick(PolicyRow, d, missing=bool(d.get("missing")))


def version(d: dict[str, Any]) -> VersionRow:
    return _pick(VersionRow, d, is_default=bool(d.get("is_default")))


def profile(d: dict[str, Any]) -> InstanceProfileRow:
    return _pick(InstanceProfileRow, d)


def account(d: dict[str, Any]) -> AccountRow:
    return _pick(AccountRow, d, warnings=tuple(d.get("warnings") or ()))


def resource(d: dict[str, Any]) -> ResourceRow:
    return _pick(ResourceRow, d, tags=_tags(d.get("tags")))
