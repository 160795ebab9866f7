"""The privilege-escalation technique table: what each technique needs and what it yields.

Data, not code: `graphiam/data/techniques/techniques.json` (pathfinding.cloud's catalogue, normalised by
`scripts/build_techniques.py`; Apache-2.0, see NOTICE.md there) and `graphiam-techniques.json` (techniques
graphiam adds). Both are read once, on first use, and validated strictly: an unknown key or value fails.

How to read a technique, for whoever derives escalation edges actor → principal from it:

- `permissions` are ALL needed (a conjunction). A variant that needs other permissions is a separate
  technique (pathfinding's own convention: iam-003 is iam-002 plus iam:DeleteAccessKey), so there is no
  any-of group. `optional` permissions only help (discovery, clean-up) and are never a condition.
- `RequiredPermission.target` names the resource the permission is decided on: the actor itself, the
  target user/role/group/policy/instance profile, the role being passed, a resource of another service
  (`service_resource`: an existing function, stack, instance … which a GAAD export does not hold) or
  `any` (a resource that does not exist yet, or an action without resource-level permissions).
  `resource_template` is that resource's ARN in the Service Authorization Reference's `${…}` notation.
- `Yield.target_kind` names whose permissions change, so where the edge ends: `self` and `group` (a group
  the actor is in, or is added to) end at the actor; `user`/`role` end at that principal.
- `Yield.kind`:
    become_principal       the actor gets the target's credentials: the target's permissions, no more
    gain_policy            a policy is attached to / put on / joined by `target_kind`
    modify_policy_version  a customer-managed policy attached to `target_kind` gets another default version
    modify_boundary        the permissions boundary of `target_kind` is removed or replaced
    pass_role_to_service   a service runs code of the actor's choosing as a role; `service` is the service
                           principal the role must trust (and the value of `iam:PassedToService` when
                           `iam:PassRole` is needed)
- `Yield.arbitrary_policy` is True when the actor chooses the document, so the end principal can be made
  administrator whatever it holds today; otherwise the gain is bounded by existing policies or versions.
- `preconditions` are facts about the graph the edge also needs (`Precondition`); `prerequisites` are the
  source's prose, kept for people.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, cached_property
from importlib import resources
from types import MappingProxyType
from typing import Any, TypeVar

from graphiam.errors import NotFoundError

DATA_PACKAGE = "graphiam"
DATA_FILES = ("data/techniques/techniques.json", "data/techniques/graphiam-techniques.json")


class Category(StrEnum):
    """pathfinding.cloud's four kinds of escalation."""

    SELF_ESCALATION = "self-escalation"  # the actor changes its own permissions
    PRINCIPAL_ACCESS = "principal-access"  # the actor gets another principal's credentials
    NEW_PASSROLE = "new-passrole"  # the actor passes a role to a new service resource
    EXISTING_PASSROLE = "existing-passrole"  # the actor takes over a resource that already runs as a role


CATEGORIES: tuple[Category, ...] = tuple(Category)


class Source(StrEnum):
    PATHFINDING = "pathfinding.cloud"
    GRAPHIAM = "graphiam"


class Target(StrEnum):
    """The resource a required permission is decided on."""

    SELF = "self"
    TARGET_USER = "target_user"
    TARGET_ROLE = "target_role"
    TARGET_GROUP = "target_group"
    TARGET_POLICY = "target_policy"
    TARGET_INSTANCE_PROFILE = "target_instance_profile"
    PASSED_ROLE = "passed_role"
    ANY = "any"
    SERVICE_RESOURCE = "service_resource"


class YieldKind(StrEnum):
    BECOME_PRINCIPAL = "become_principal"
    GAIN_POLICY = "gain_policy"
    PASS_ROLE_TO_SERVICE = "pass_role_to_service"
    MODIFY_BOUNDARY = "modify_boundary"
    MODIFY_POLICY_VERSION = "modify_policy_version"


class TargetKind(StrEnum):
    """Whose permissions the technique changes or takes over (see the module docstring)."""

    SELF = "self"
    USER = "user"
    ROLE = "role"
    GROUP = "group"


class Precondition(StrEnum):
    """A fact about the graph, beyond permissions, that a technique needs."""

    ACTOR_IS_USER = "actor_is_user"
    ACTOR_IS_ROLE = "actor_is_role"
    ACTOR_IN_TARGET_GROUP = "actor_in_target_group"
    ACTOR_HAS_BOUNDARY = "actor_has_boundary"
    TARGET_POLICY_ATTACHED_TO_ACTOR = "target_policy_attached_to_actor"  # directly or through a group
    TARGET_POLICY_ATTACHED_TO_TARGET_ROLE = "target_policy_attached_to_target_role"
    TARGET_POLICY_CUSTOMER_MANAGED = "target_policy_customer_managed"
    TARGET_POLICY_HAS_NON_DEFAULT_VERSION = "target_policy_has_non_default_version"
    TARGET_ROLE_TRUSTS_ACTOR = "target_role_trusts_actor"
    TARGET_USER_HAS_FEWER_THAN_TWO_ACCESS_KEYS = "target_user_has_fewer_than_two_access_keys"
    TARGET_USER_HAS_LOGIN_PROFILE = "target_user_has_login_profile"
    TARGET_USER_HAS_NO_LOGIN_PROFILE = "target_user_has_no_login_profile"
    ROLE_TRUSTS_SERVICE = "role_trusts_service"  # the role's trust policy names Yield.service
    ROLE_HAS_INSTANCE_PROFILE = "role_has_instance_profile"
    SERVICE_RESOURCE_RUNS_AS_ROLE = "service_resource_runs_as_role"  # not in a GAAD export


@dataclass(frozen=True, kw_only=True)
class RequiredPermission:
    action: str  # `service:Action`, exact case as AWS documents it
    target: Target
    resource_template: str  # ARN template with ${Partition}, ${Account} …, or "*"
    optional: bool = False


@dataclass(frozen=True, kw_only=True)
class Yield:
    kind: YieldKind
    target_kind: TargetKind
    service: str | None = None  # service principal, e.g. "ec2.amazonaws.com", for pass_role_to_service
    arbitrary_policy: bool = False


@dataclass(frozen=True, kw_only=True)
class Technique:
    id: str
    name: str
    category: Category
    source: Source
    description: str
    permissions: tuple[RequiredPermission, ...]
    yields: Yield
    preconditions: tuple[Precondition, ...] = ()
    prerequisites: tuple[str, ...] = ()
    parent: str | None = None  # the technique this one is a variant of
    reference_url: str = ""
    notes: str = ""

    @cached_property  # on the instance's __dict__: allowed on a frozen dataclass; asked very often
    def required(self) -> tuple[RequiredPermission, ...]:
        """The permissions the technique cannot do without."""
        return tuple(p for p in self.permissions if not p.optional)

    @property
    def actions(self) -> frozenset[str]:
        """The actions of the required permissions."""
        return frozenset(p.action for p in self.required)


@cache
def load_techniques() -> tuple[Technique, ...]:
    """Every technique, pathfinding.cloud's first, each file in its own order; read once."""
    techniques: list[Technique] = []
    for name in DATA_FILES:
        text = resources.files(DATA_PACKAGE).joinpath(name).read_text(encoding="utf-8")
        techniques.extend(parse_table(json.loads(text), where=name))
    seen: set[str] = set()
    for t in techniques:
        if t.id in seen:
            raise ValueError(f"technique data: duplicate id `{t.id}`")
        seen.add(t.id)
    return tuple(techniques)


@cache
def _index() -> Mapping[str, Technique]:
    return MappingProxyType({t.id: t for t in load_techniques()})


def technique(technique_id: str) -> Technique:
    """The technique with this id, e.g. `technique("iam-001")`; NotFoundError if there is none."""
    try:
        return _index()[technique_id]
    except KeyError:
        raise NotFoundError(f"no escalation technique `{technique_id}`") from None


@cache
def by_category() -> Mapping[Category, tuple[Technique, ...]]:
    """Techniques grouped by category, every category present (possibly empty), in CATEGORIES order."""
    return MappingProxyType({c: tuple(t for t in load_techniques() if t.category is c) for c in CATEGORIES})


# --- parsing the data files: strict, because they are ours and reviewed ----------------------------------
_E = TypeVar("_E", bound=StrEnum)

_TECHNIQUE_KEYS = frozenset(
    {
        "id",
        "name",
        "category",
        "source",
        "description",
        "permissions",
        "preconditions",
        "yields",
        "prerequisites",
        "parent",
        "reference_url",
        "notes",
    }
)
_PERMISSION_KEYS = frozenset({"action", "target", "resource_template", "optional"})
_YIELD_KEYS = frozenset({"kind", "target_kind", "service", "arbitrary_policy"})


def parse_table(table: Any, *, where: str) -> list[Technique]:
    """A decoded data file (`{"source": …, "techniques": […]}`) → techniques; ValueError names the fault."""
    if not isinstance(table, dict) or not isinstance(table.get("techniques"), list):
        raise ValueError(f"{where}: expected an object with a `techniques` list")
    return [_technique(raw, where=f"{where}: techniques[{i}]") for i, raw in enumerate(table["techniques"])]


def _technique(raw: Any, *, where: str) -> Technique:
    _check_keys(raw, _TECHNIQUE_KEYS, where)
    where = f"{where} (`{raw['id']}`)"
    permissions = tuple(
        _permission(p, where=f"{where}: permissions[{i}]") for i, p in enumerate(raw["permissions"])
    )
    if not any(not p.optional for p in permissions):
        raise ValueError(f"{where}: no required permission")
    _check_keys(raw["yields"], _YIELD_KEYS, f"{where}: yields")
    y = raw["yields"]
    return Technique(
        id=_str(raw["id"], where),
        name=_str(raw["name"], where),
        category=_enum(Category, raw["category"], where),
        source=_enum(Source, raw["source"], where),
        description=_str(raw["description"], where),
        permissions=permissions,
        yields=Yield(
            kind=_enum(YieldKind, y["kind"], where),
            target_kind=_enum(TargetKind, y["target_kind"], where),
            service=None if y["service"] is None else _str(y["service"], where),
            arbitrary_policy=_bool(y["arbitrary_policy"], where),
        ),
        preconditions=tuple(_enum(Precondition, p, where) for p in raw["preconditions"]),
        prerequisites=tuple(_str(p, where) for p in raw["prerequisites"]),
        parent=None if raw["parent"] is None else _str(raw["parent"], where),
        reference_url=_str(raw["reference_url"], where),
        notes=_str(raw["notes"], where),
    )


def _permission(raw: Any, *, where: str) -> RequiredPermission:
    _check_keys(raw, _PERMISSION_KEYS, where)
    action = _str(raw["action"], where)
    service, _, name = action.partition(":")
    if not service or not name or "*" in action:
        raise ValueError(f"{where}: `{action}` is not a `service:Action` name")
    return RequiredPermission(
        action=action,
        target=_enum(Target, raw["target"], where),
        resource_template=_str(raw["resource_template"], where),
        optional=_bool(raw["optional"], where),
    )


def _check_keys(raw: Any, keys: frozenset[str], where: str) -> None:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected an object")
    if raw.keys() != keys:
        missing, unknown = sorted(keys - raw.keys()), sorted(raw.keys() - keys)
        raise ValueError(f"{where}: missing keys {missing}, unknown keys {unknown}")


def _enum(enum: type[_E], value: Any, where: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        raise ValueError(f"{where}: `{value}` is not a {enum.__name__} ({', '.join(enum)})") from None


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string, got `{value!r}`")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: expected true or false, got `{value!r}`")
    return value
