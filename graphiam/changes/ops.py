"""The IAM write operations behind the mutations, one function each, and `OPS`, the table naming them (see
`graphiam.changes.apply` for the rules they share and where they differ from AWS). Each checks its input, then
the graph (inside the open transaction), then writes through `graphiam.store.mutations`; input paths use the
GraphQL field names. Operations that differ only in the kind of entity (deleteUser, deleteGroup, deleteRole;
put/delete{User,Group,Role}Policy) are one function, entered in the table once per kind."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any

from graphiam.changes.checks import (
    TABLE,
    Tx,
    absent,
    attachable,
    check_account,
    check_arn,
    check_description,
    check_document,
    check_name,
    check_path,
    check_size,
    check_tags,
    customer_policy,
    existing,
    fail,
    kind_of,
)
from graphiam.ingest import limits
from graphiam.ingest.gaad import parse_gaad
from graphiam.ingest.reader import check_policy_document
from graphiam.model import (
    CUSTOMER_MANAGED,
    AccountExport,
    Group,
    InlinePolicy,
    ManagedPolicy,
    PolicyVersion,
    Role,
    User,
    inline_policy_id,
)
from graphiam.store import mutations as M
from graphiam.store.writer import load_exports, moved_arns

Args = Mapping[str, Any]
SOURCE = "graphiam mutation"  # the `source` of what the operations create
MAX_VERSIONS = limits.VERSIONS  # IAM: a managed policy has at most five versions
MIN_SESSION, MAX_SESSION = 3600, 43200  # CreateRole MaxSessionDuration, seconds
_ID_PREFIX = {"user": "AIDA", "group": "AGPA", "role": "AROA", "policy": "ANPA"}
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True, kw_only=True)
class Touched:
    """What one operation changed: the entity it is about and the accounts whose derived edges must follow."""

    kind: str | None  # user | group | role | policy
    arn: str | None
    accounts: frozenset[str] = field(default_factory=frozenset)


Op = Callable[[Tx, Args], Touched]


def _touched(kind: str | None, arn: str | None, *accounts: str) -> Touched:
    return Touched(kind=kind, arn=arn, accounts=frozenset(accounts))


def new_id(kind: str) -> str:
    """A unique id shaped like IAM's (`AIDA` + 17 base-32 characters for a user …)."""
    return _ID_PREFIX[kind] + "".join(secrets.choice(_ID_CHARS) for _ in range(17))


def iam_arn(account: str, kind: str, path: str, name: str) -> str:
    """The ARN IAM gives the `kind` entity `name` at `path` in `account`."""
    return f"arn:aws:iam::{account}:{kind}{path}{name}"


# ---- create ----


def _boundary_arg(tx: Tx, a: Args, account: str) -> str | None:
    boundary = a.get("permissions_boundary")
    if boundary is None:
        return None
    check_arn(boundary, "policy", "permissionsBoundary")
    attachable(tx, boundary, account, "permissionsBoundary")
    return str(boundary)


def _new_name(tx: Tx, a: Args, kind: str) -> tuple[str, str, str, str]:
    """(account, name, path, arn) of the entity a create operation names, checked and not yet taken."""
    account = check_account(a.get("account"), "account")
    name = check_name(a.get("name"), kind, "name")
    path = check_path(a.get("path"), "path")
    absent(tx, kind, account, name, "name")
    return account, name, path, iam_arn(account, kind, path, name)


def _create(tx: Tx, kind: str, arn: str, account: str, **entities: Any) -> Touched:
    """Write new entities (`users=(…,)` …) into `account`, creating the account node when it is new."""
    M.ensure_account(tx.db, account, source=SOURCE, now=tx.now)
    M.create_entities(tx.db, AccountExport(account_id=account, source=SOURCE, **entities))
    return _touched(kind, arn, account)


def create_user(tx: Tx, a: Args) -> Touched:
    account, name, path, arn = _new_name(tx, a, "user")
    user = User(
        arn=arn,
        name=name,
        account=account,
        user_id=new_id("user"),
        path=path,
        create_date=tx.now,
        tags=check_tags(a.get("tags"), "tags"),
        boundary_arn=_boundary_arg(tx, a, account),
    )
    return _create(tx, "user", arn, account, users=(user,))


def create_group(tx: Tx, a: Args) -> Touched:
    account, name, path, arn = _new_name(tx, a, "group")
    group = Group(
        arn=arn, name=name, account=account, group_id=new_id("group"), path=path, create_date=tx.now
    )
    return _create(tx, "group", arn, account, groups=(group,))


_TRUST_LIMIT = (limits.TRUST_CHARS, "a role's trust policy (the default quota)")
_MANAGED_LIMIT = (limits.MANAGED_CHARS, "a managed policy")


def create_role(tx: Tx, a: Args) -> Touched:
    trust = check_document(a.get("trust_policy"), "trust", "trustPolicy", limit=_TRUST_LIMIT)
    duration = a.get("max_session_duration") or MIN_SESSION
    if not isinstance(duration, int) or not MIN_SESSION <= duration <= MAX_SESSION:
        raise fail(
            "INVALID_INPUT",
            f"`maxSessionDuration` must be {MIN_SESSION}-{MAX_SESSION} seconds, got {duration}",
            "maxSessionDuration",
        )
    account, name, path, arn = _new_name(tx, a, "role")
    role = Role(
        arn=arn,
        name=name,
        account=account,
        trust_policy=trust,
        role_id=new_id("role"),
        path=path,
        create_date=tx.now,
        description=check_description(a.get("description"), "description"),
        max_session_duration=duration,
        tags=check_tags(a.get("tags"), "tags"),
        boundary_arn=_boundary_arg(tx, a, account),
    )
    return _create(tx, "role", arn, account, roles=(role,))


def create_policy(tx: Tx, a: Args) -> Touched:
    document = check_document(a.get("document"), "identity", "document", limit=_MANAGED_LIMIT)
    account, name, path, arn = _new_name(tx, a, "policy")
    policy = ManagedPolicy(
        arn=arn,
        name=name,
        kind=CUSTOMER_MANAGED,
        account=account,
        policy_id=new_id("policy"),
        path=path,
        default_version_id="v1",
        attachment_count=0,
        boundary_usage_count=0,
        versions=(PolicyVersion(version_id="v1", is_default=True, document=document, create_date=tx.now),),
        description=check_description(a.get("description"), "description"),
        create_date=tx.now,
        update_date=tx.now,
    )
    return _create(tx, "policy", arn, account, policies=(policy,))


# ---- delete ----


def delete_principal(tx: Tx, a: Args, *, kind: str) -> Touched:
    """deleteUser, deleteGroup, deleteRole: the entity with its attachments and inline policies."""
    arn, account = check_arn(a.get("arn"), kind, "arn")
    existing(tx, kind, arn, "arn")
    for policy_arn, how, _ in M.attachments(tx.db, arn):
        if how != "inline":
            M.detach(tx.db, policy_arn, arn, how)
    M.delete_inline_policies(tx.db, arn)
    M.delete_node(tx.db, TABLE[kind], arn)  # memberships, instance-profile links and derived edges go with it
    return _touched(kind, arn, account)


def delete_policy(tx: Tx, a: Args) -> Touched:
    arn, account = check_arn(a.get("arn"), "policy", "arn")
    customer_policy(tx, arn, "arn")
    accounts = {account}
    for target, table, how, target_account in M.policy_targets(tx.db, arn):
        M.detach(tx.db, arn, target, how)
        if how == "boundary":
            M.update_node(tx.db, table, target, {"boundary_arn": None})
        accounts.add(target_account)
    M.delete_versions(tx.db, arn)
    M.delete_node(tx.db, "Policy", arn)
    return _touched("policy", arn, *accounts)


# ---- inline policies ----


def _inline(a: Args, kind: str) -> tuple[str, str, str]:
    """(owner arn, account, policy name) of the inline policy an operation names, checked as input."""
    arn, account = check_arn(a.get("arn"), kind, "arn")
    policy_name = check_name(a.get("policy_name"), "policy", "policyName")
    return arn, account, policy_name


def put_inline_policy(tx: Tx, a: Args, *, kind: str) -> Touched:
    """putUserPolicy, putGroupPolicy, putRolePolicy: a policy of the same name is replaced."""
    arn, account, policy_name = _inline(a, kind)
    document = check_document(a.get("document"), "identity", "document")
    existing(tx, kind, arn, "arn")
    pid = inline_policy_id(arn, policy_name)
    others = [d for p, d in M.inline_documents(tx.db, arn).items() if p != pid]
    check_size(
        [*others, document],
        limits.INLINE_CHARS[kind],
        f"a {kind}'s inline policies together",
        "document",
        what=f"{kind} `{arn}`'s inline policies with this one" if others else "the document",
    )
    if M.get(tx.db, "Policy", pid) is not None:
        M.delete_node(tx.db, "Policy", pid)
    M.create_inline_policy(
        tx.db,
        InlinePolicy(owner_arn=arn, name=policy_name, document=document),
        account=account,
        target_table=TABLE[kind],
    )
    return _touched("policy", pid, account)


def delete_inline_policy(tx: Tx, a: Args, *, kind: str) -> Touched:
    """deleteUserPolicy, deleteGroupPolicy, deleteRolePolicy."""
    arn, account, policy_name = _inline(a, kind)
    existing(tx, kind, arn, "arn")
    pid = inline_policy_id(arn, policy_name)
    if M.get(tx.db, "Policy", pid) is None:
        raise fail("NOT_FOUND", f"{kind} `{arn}` has no inline policy named `{policy_name}`", "policyName")
    M.delete_node(tx.db, "Policy", pid)
    return _touched("policy", pid, account)


# ---- attachments, memberships, boundaries, trust ----


def _attachment(tx: Tx, a: Args) -> tuple[str, str, str, str]:
    """(kind, target arn, target account, policy arn) of an attach or detach, the target in the graph."""
    kind, target, account = kind_of(a.get("target_arn"), ("user", "group", "role"), "targetArn")
    policy_arn, _ = check_arn(a.get("policy_arn"), "policy", "policyArn")
    existing(tx, kind, target, "targetArn")
    return kind, target, account, policy_arn


def _attached(tx: Tx, policy_arn: str, target: str) -> bool:
    return any(p == policy_arn and how == "identity" for p, how, _ in M.attachments(tx.db, target))


def attach_policy(tx: Tx, a: Args) -> Touched:
    kind, target, account, policy_arn = _attachment(tx, a)
    attachable(tx, policy_arn, account, "policyArn")
    if not _attached(tx, policy_arn, target):  # attaching twice changes nothing, as in IAM
        attached = sum(how == "identity" for _, how, _ in M.attachments(tx.db, target))
        if attached >= limits.ATTACHED_MANAGED:
            raise fail(
                "LIMIT_EXCEEDED",
                f"{kind} `{target}` already has {attached} managed policies attached, the most AWS allows "
                f"(the default quota): detach one first",
                "policyArn",
            )
        M.attach(tx.db, policy_arn, TABLE[kind], target, "identity")
    return _touched(kind, target, account)


def detach_policy(tx: Tx, a: Args) -> Touched:
    kind, target, account, policy_arn = _attachment(tx, a)
    if not _attached(tx, policy_arn, target):
        raise fail("NOT_FOUND", f"policy `{policy_arn}` is not attached to {kind} `{target}`", "policyArn")
    M.detach(tx.db, policy_arn, target, "identity")
    return _touched(kind, target, account)


def _membership(tx: Tx, a: Args) -> tuple[str, str, str]:
    user, account = check_arn(a.get("user_arn"), "user", "userArn")
    group, group_account = check_arn(a.get("group_arn"), "group", "groupArn")
    existing(tx, "user", user, "userArn")
    existing(tx, "group", group, "groupArn")
    if account != group_account:
        raise fail(
            "INVALID_INPUT",
            f"user and group are in different accounts ({account}, {group_account})",
            "groupArn",
        )
    return user, group, account


def add_user_to_group(tx: Tx, a: Args) -> Touched:
    user, group, account = _membership(tx, a)
    if not M.is_member(tx.db, user, group):  # adding a member twice changes nothing, as in IAM
        groups = M.group_count(tx.db, user)
        if groups >= limits.GROUPS_PER_USER:
            raise fail(
                "LIMIT_EXCEEDED",
                f"user `{user}` is already in {groups} groups, the most AWS allows: remove it from one first",
                "groupArn",
            )
        M.add_member(tx.db, user, group)
    return _touched("user", user, account)


def remove_user_from_group(tx: Tx, a: Args) -> Touched:
    user, group, account = _membership(tx, a)
    if not M.is_member(tx.db, user, group):
        raise fail("NOT_FOUND", f"user `{user}` is not a member of `{group}`", "groupArn")
    M.remove_member(tx.db, user, group)
    return _touched("user", user, account)


def _current_boundary(tx: Tx, arn: str) -> str | None:
    return next((p for p, how, _ in M.attachments(tx.db, arn) if how == "boundary"), None)


def put_permissions_boundary(tx: Tx, a: Args) -> Touched:
    kind, arn, account = kind_of(a.get("arn"), ("user", "role"), "arn")
    policy_arn, _ = check_arn(a.get("policy_arn"), "policy", "policyArn")
    existing(tx, kind, arn, "arn")
    attachable(tx, policy_arn, account, "policyArn")
    old = _current_boundary(tx, arn)
    if old is not None:
        M.detach(tx.db, old, arn, "boundary")
    M.attach(tx.db, policy_arn, TABLE[kind], arn, "boundary")
    M.update_node(tx.db, TABLE[kind], arn, {"boundary_arn": policy_arn})
    return _touched(kind, arn, account)


def delete_permissions_boundary(tx: Tx, a: Args) -> Touched:
    kind, arn, account = kind_of(a.get("arn"), ("user", "role"), "arn")
    existing(tx, kind, arn, "arn")
    old = _current_boundary(tx, arn)
    if old is None:
        raise fail("NOT_FOUND", f"{kind} `{arn}` has no permissions boundary", "arn")
    M.detach(tx.db, old, arn, "boundary")
    M.update_node(tx.db, TABLE[kind], arn, {"boundary_arn": None})
    return _touched(kind, arn, account)


def update_assume_role_policy(tx: Tx, a: Args) -> Touched:
    arn, account = check_arn(a.get("role_arn"), "role", "roleArn")
    document = check_document(a.get("document"), "trust", "document", limit=_TRUST_LIMIT)
    existing(tx, "role", arn, "roleArn")
    M.update_node(tx.db, "Role", arn, {"trust_policy": document})
    return _touched("role", arn, account)


# ---- policy versions ----


def _make_default(tx: Tx, row: Any, version_id: str, document: str | None) -> None:
    M.set_default_version(tx.db, row.arn, version_id)
    policy = ManagedPolicy(
        arn=row.arn,
        name=row.name,
        kind=row.kind,
        account=row.account,
        default_version_id=version_id,
        update_date=tx.now,
        versions=(PolicyVersion(version_id=version_id, is_default=True, document=document),),
    )
    M.update_node(tx.db, "Policy", row.arn, M.document_columns(policy, row.account))


def _version_number(version_id: str | None) -> int:
    return int(version_id[1:]) if version_id and version_id[0] == "v" and version_id[1:].isdigit() else 0


def create_policy_version(tx: Tx, a: Args) -> Touched:
    arn, account = check_arn(a.get("policy_arn"), "policy", "policyArn")
    document = check_document(a.get("document"), "identity", "document", limit=_MANAGED_LIMIT)
    row = customer_policy(tx, arn, "policyArn")
    versions = M.versions(tx.db, arn)
    if len(versions) >= MAX_VERSIONS:
        raise fail(
            "LIMIT_EXCEEDED",
            f"policy `{arn}` already has {len(versions)} versions, the most IAM allows: "
            "delete one first (deletePolicyVersion)",
            "policyArn",
        )
    number = (
        max([_version_number(v.version_id) for v in versions] + [_version_number(row.default_version)]) + 1
    )
    version_id = f"v{number}"
    M.add_version(
        tx.db,
        {
            "key": f"{arn}#{version_id}",
            "export": account,
            "policy_arn": arn,
            "version_id": version_id,
            "is_default": False,
            "document": document,
            "create_date": tx.now,
        },
    )
    if a.get("set_as_default"):
        _make_default(tx, row, version_id, document)
    return _touched("policy", arn, account)


def _version(tx: Tx, a: Args) -> tuple[Any, Any]:
    arn, _ = check_arn(a.get("policy_arn"), "policy", "policyArn")
    row = customer_policy(tx, arn, "policyArn")
    version_id = a.get("version_id")
    found = next((v for v in M.versions(tx.db, arn) if v.version_id == version_id), None)
    if found is None:
        raise fail("NOT_FOUND", f"policy `{arn}` has no version `{version_id}`", "versionId")
    return row, found


def set_default_policy_version(tx: Tx, a: Args) -> Touched:
    row, version = _version(tx, a)
    _make_default(tx, row, version.version_id, version.document)
    return _touched("policy", row.arn, row.account)


def delete_policy_version(tx: Tx, a: Args) -> Touched:
    row, version = _version(tx, a)
    if version.is_default:
        raise fail(
            "CONFLICT",
            f"`{version.version_id}` is the default version of `{row.arn}`: make another "
            "version the default first",
            "versionId",
        )
    M.delete_node(tx.db, "PolicyVersion", f"{row.arn}#{version.version_id}")
    return _touched("policy", row.arn, row.account)


# ---- import ----


def import_export(tx: Tx, a: Args) -> Touched:
    """Replace one account with a GAAD export, as `graphiam load` does (same parser and writer)."""
    export = parse_gaad(a.get("document"), source="importExport", check_document=check_policy_document)
    moved = moved_arns(tx.db, [export])
    if moved and not a.get("replace"):
        m = moved[0]
        more = f" (and {len(moved) - 1} more)" if len(moved) > 1 else ""
        raise fail(
            "CONFLICT",
            f"`{m.arn}` is already loaded with account `{m.loaded_with}`: importing it with account "
            f"`{m.account}` would move it{more}; pass `replace: true` to move it",
            "document",
            json_path=m.path,
        )
    # joins the open transaction; derived edges follow in `apply_changes`, for every account the load changed
    touched = load_exports(tx.db, [export])
    return _touched(None, None, export.account_id, *sorted(touched))


def remove_account(tx: Tx, a: Args) -> Touched:
    """Remove one account and everything its loads (and mutations in it) made; the derived facts of every
    account that remains follow (`apply_changes` refreshes the accounts returned)."""
    account = check_account(a.get("account"), "account")
    if not M.account_exists(tx.db, account):
        raise fail("NOT_FOUND", f"account `{account}` is not loaded", "account")
    M.remove_account(tx.db, account)
    return _touched(None, None, account, *sorted(M.principal_accounts(tx.db)))


# The operations by name (the IAM API action, camelCase, as the GraphQL mutations name them).
OPS: Mapping[str, Op] = MappingProxyType(
    {
        "createUser": create_user,
        "createGroup": create_group,
        "createRole": create_role,
        "createPolicy": create_policy,
        "deleteUser": partial(delete_principal, kind="user"),
        "deleteGroup": partial(delete_principal, kind="group"),
        "deleteRole": partial(delete_principal, kind="role"),
        "deletePolicy": delete_policy,
        "putUserPolicy": partial(put_inline_policy, kind="user"),
        "putGroupPolicy": partial(put_inline_policy, kind="group"),
        "putRolePolicy": partial(put_inline_policy, kind="role"),
        "deleteUserPolicy": partial(delete_inline_policy, kind="user"),
        "deleteGroupPolicy": partial(delete_inline_policy, kind="group"),
        "deleteRolePolicy": partial(delete_inline_policy, kind="role"),
        "attachPolicy": attach_policy,
        "detachPolicy": detach_policy,
        "addUserToGroup": add_user_to_group,
        "removeUserFromGroup": remove_user_from_group,
        "putPermissionsBoundary": put_permissions_boundary,
        "deletePermissionsBoundary": delete_permissions_boundary,
        "updateAssumeRolePolicy": update_assume_role_policy,
        "createPolicyVersion": create_policy_version,
        "setDefaultPolicyVersion": set_default_policy_version,
        "deletePolicyVersion": delete_policy_version,
        "importExport": import_export,
        "removeAccount": remove_account,
    }
)
