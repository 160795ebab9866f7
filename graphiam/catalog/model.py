"""Typed records of the action catalogue: services, actions, resource types, access levels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

AccessLevel = Literal["List", "Read", "Tagging", "Write", "Permissions management"]

#: The access levels in the order AWS lists them in policy summaries
#: (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_understand-policy-summary-access-level-summaries.html).
ACCESS_LEVELS: Final[tuple[AccessLevel, ...]] = (
    "List",
    "Read",
    "Tagging",
    "Write",
    "Permissions management",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class ServiceInfo:
    """One AWS service: its action prefix (`s3`) and its name (`Amazon S3`)."""

    prefix: str
    name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ResourceTypeRef:
    """A resource type an action can be scoped to.

    `required` mirrors the `*` of the Service Authorization Reference: the action must name a
    resource of this type. `condition_keys` are the keys the resource type itself supports
    (`aws:ResourceTag/${TagKey}` …), not the action's.
    """

    name: str
    arn_pattern: str
    required: bool
    condition_keys: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ActionInfo:
    """One IAM action, e.g. `s3:GetObject`, with the AWS-documented facts about it."""

    service: str
    name: str
    full_name: str
    access_level: AccessLevel
    resource_types: tuple[ResourceTypeRef, ...]
    condition_keys: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class UnknownName:
    """An action (or Action/NotAction pattern) that names no known action, with the closest known one."""

    name: str  # as written
    did_you_mean: str | None  # the closest known action (`s3:GetObject`) or service prefix (`lambda`)
    message: str  # `unknown action `s3:GetObjekt`: did you mean s3:GetObject?`
