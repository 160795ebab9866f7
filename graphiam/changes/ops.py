"""The IAM write operations behind the mutations, one function each (see `graphiam.changes.apply` for the
rules they share and where they differ from AWS). Each checks its input, then the graph (inside the open
transaction), then writes through `graphiam.store.mutations`; input paths use the GraphQL field names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphiam.changes.apply import (
    SOURCE,
    Applied,
    Tx,
    absent,
    attachable,
    check_account,
    check_arn,
    check_document,
    check_name,
    check_path,
    check_tags,
    customer_policy,
    ensure_account,
    existing,
    fail,
    iam_arn,
    kind_of,
    new_id,
    op,
)
from graphiam.ingest.gaad import parse_gaad
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
from graphiam.store.writer import load_exports

Args = Mapping[str, Any]
_TABLE = {"user": "User", "group": "IAMGroup", "role": "Role"}
MIN_SESSION, MAX_SESSION = 3600, 43200  # CreateRole MaxSessionDuration, seconds


def _done(tx: Tx, name: str, kind: str | None, arn: str | None, *accounts: str) -> Applied:
    return Applied(op=name, kind=kind, arn=arn, accounts=set(accounts))


def _boundary_arg(tx: Tx, a: Args, account: str) -> str | None:
    boundary = a.get("permissions_boundary")
    if boundary is None:
        return None
    check_arn(boundary, "policy", "permissionsBoundary")
    attachable(tx, boundary, account, "permissionsBoundary")
    return str(boundary)


def _create(tx: Tx, a: Args, kind: str) -> tuple[str, str, str, str]:
    account = check_account(a.get("account"), "account")
    name = check_name(a.get("name"), kind, "name")
    path = check_path(a.get("path"), "path")
    absent(tx, kind, account, name, "name")
    return account, name, path, iam_arn(account, kind, path, name)


def _export(account: str, **entities: Any) -> AccountExport:
    return AccountExport(account_id=account, source=SOURCE, **entities)


@op("createUser")
def create_user(tx: Tx, a: Args) -> Applied:
    account, name, path, arn = _create(tx, a, "user")
    tags = check_tags(a.get("tags"), "tags")
    boundary = _boundary_arg(tx, a, account)
    ensure_account(tx, account)
    M.create_entities(
        tx.db,
        _export(
            account,
            users=(
                User(
                    arn=arn,
                    name=name,
                    account=account,
                    user_id=new_id("user"),
                    path=path,
                    create_date=tx.now,
                    tags=tags,
                    boundary_arn=boundary,
                ),
            ),
        ),
    )
    return _done(tx, "createUser", "user", arn, account)


@op("createGroup")
def create_group(tx: Tx, a: Args) -> Applied:
    account, name, path, arn = _create(tx, a, "group")
    ensure_account(tx, account)
    M.create_entities(
        tx.db,
        _export(
            account,
            groups=(
                Group(
                    arn=arn,
                    name=name,
                    account=account,
                    group_id=new_id("group"),
                    path=path,
                    create_date=tx.now,
                ),
            ),
        ),
    )
    return _done(tx, "createGroup", "group", arn, account)


@op("createRole")
def create_role(tx: Tx, a: Args) -> Applied:
    trust = check_document(a.get("trust_policy"), "trust", "trustPolicy")
    duration = a.get("max_session_duration") or MIN_SESSION
    if not isinstance(duration, int) or not MIN_SESSION <= duration <= MAX_SESSION:
        raise fail(
            "INVALID_INPUT",
            f"`maxSessionDuration` must be {MIN_SESSION}-{MAX_SESSION} seconds, got {duration}",
            "maxSessionDuration",
        )
    account, name, path, arn = _create(tx, a, "role")
    tags = check_tags(a.get("tags"), "tags")
    boundary = _boundary_arg(tx, a, account)
    ensure_account(tx, account)
    M.create_entities(
        tx.db,
        _export(
            account,
            roles=(
                Role(
                    arn=arn,
                    name=name,
                    account=account,
                    trust_policy=trust,
                    role_id=new_id("role"),
                    path=path,
                    create_date=tx.now,
                    description=a.get("description"),
                    max_session_duration=duration,
                    tags=tags,
                    boundary_arn=boundary,
                ),
            ),
        ),
    )
    return _done(tx, "createRole", "role", arn, account)


@op("createPolicy")
def create_policy(tx: Tx, a: Args) -> Applied:
    document = check_document(a.get("document"), "identity", "document")
    account, name, path, arn = _create(tx, a, "policy")
    ensure_account(tx, account)
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
        description=a.get("description"),
        create_date=tx.now,
        update_date=tx.now,
    )
    M.create_entities(tx.db, _export(account, policies=(policy,)))
    return _done(tx, "createPolicy", "policy", arn, account)


def _delete_principal(tx: Tx, a: Args, kind: str, name: str) -> Applied:
    arn, account = check_arn(a.get("arn"), kind, "arn")
    existing(tx, kind, arn, "arn")
    for policy_arn, how, _ in M.attachments(tx.db, arn):
        if how != "inline":
            M.detach(tx.db, policy_arn, arn, how)
    M.delete_inline_policies(tx.db, arn)
    M.delete_node(
        tx.db, _TABLE[kind], arn
    )  # memberships, instance-profile links and derived edges go with it
    return _done(tx, name, kind, arn, account)


@op("deleteUser")
def delete_user(tx: Tx, a: Args) -> Applied:
    return _delete_principal(tx, a, "user", "deleteUser")


@op("deleteGroup")
def delete_group(tx: Tx, a: Args) -> Applied:
    return _delete_principal(tx, a, "group", "deleteGroup")


@op("deleteRole")
def delete_role(tx: Tx, a: Args) -> Applied:
    return _delete_principal(tx, a, "role", "deleteRole")


@op("deletePolicy")
def delete_policy(tx: Tx, a: Args) -> Applied:
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
    return _done(tx, "deletePolicy", "policy", arn, *accounts)


def _put_inline(tx: Tx, a: Args, kind: str, name: str) -> Applied:
    arn, account = check_arn(a.get("arn"), kind, "arn")
    policy_name = check_name(a.get("policy_name"), "policy", "policyName")
    document = check_document(a.get("document"), "identity", "document")
    existing(tx, kind, arn, "arn")
    pid = inline_policy_id(arn, policy_name)
    if M.get(tx.db, "Policy", pid) is not None:  # Put*Policy replaces a policy of the same name
        M.delete_node(tx.db, "Policy", pid)
    M.create_inline_policy(
        tx.db,
        InlinePolicy(owner_arn=arn, name=policy_name, document=document),
        account=account,
        target_table=_TABLE[kind],
    )
    return _done(tx, name, "policy", pid, account)


@op("putUserPolicy")
def put_user_policy(tx: Tx, a: Args) -> Applied:
    return _put_inline(tx, a, "user", "putUserPolicy")


@op("putGroupPolicy")
def put_group_policy(tx: Tx, a: Args) -> Applied:
    return _put_inline(tx, a, "group", "putGroupPolicy")


@op("putRolePolicy")
def put_role_policy(tx: Tx, a: Args) -> Applied:
    return _put_inline(tx, a, "role", "putRolePolicy")


def _delete_inline(tx: Tx, a: Args, kind: str, name: str) -> Applied:
    arn, account = check_arn(a.get("arn"), kind, "arn")
    policy_name = check_name(a.get("policy_name"), "policy", "policyName")
    existing(tx, kind, arn, "arn")
    pid = inline_policy_id(arn, policy_name)
    if M.get(tx.db, "Policy", pid) is None:
        raise fail("NOT_FOUND", f"{kind} `{arn}` has no inline policy named `{policy_name}`", "policyName")
    M.delete_node(tx.db, "Policy", pid)
    return _done(tx, name, "policy", pid, account)


@op("deleteUserPolicy")
def delete_user_policy(tx: Tx, a: Args) -> Applied:
    return _delete_inline(tx, a, "user", "deleteUserPolicy")


@op("deleteGroupPolicy")
def delete_group_policy(tx: Tx, a: Args) -> Applied:
    return _delete_inline(tx, a, "group", "deleteGroupPolicy")


@op("deleteRolePolicy")
def delete_role_policy(tx: Tx, a: Args) -> Applied:
    return _delete_inline(tx, a, "role", "deleteRolePolicy")


@op("attachPolicy")
def attach_policy(tx: Tx, a: Args) -> Applied:
    kind, target, account = kind_of(a.get("target_arn"), ("user", "group", "role"), "targetArn")
    policy_arn, _ = check_arn(a.get("policy_arn"), "policy", "policyArn")
    existing(tx, kind, target, "targetArn")
    attachable(tx, policy_arn, account, "policyArn")
    if not any(p == policy_arn and how == "identity" for p, how, _ in M.attachments(tx.db, target)):
        M.attach(
            tx.db, policy_arn, _TABLE[kind], target, "identity"
        )  # attaching twice changes nothing, as in IAM
    return _done(tx, "attachPolicy", kind, target, account)


@op("detachPolicy")
def detach_policy(tx: Tx, a: Args) -> Applied:
    kind, target, account = kind_of(a.get("target_arn"), ("user", "group", "role"), "targetArn")
    policy_arn, _ = check_arn(a.get("policy_arn"), "policy", "policyArn")
    existing(tx, kind, target, "targetArn")
    if not any(p == policy_arn and how == "identity" for p, how, _ in M.attachments(tx.db, target)):
        raise fail("NOT_FOUND", f"policy `{policy_arn}` is not attached to {kind} `{target}`", "policyArn")
    M.detach(tx.db, policy_arn, target, "identity")
    return _done(tx, "detachPolicy", kind, target, account)


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


@op("addUserToGroup")
def add_user_to_group(tx: Tx, a: Args) -> Applied:
    user, group, account = _membership(tx, a)
    if not M.is_member(tx.db, user, group):  # adding a member twice changes nothing, as in IAM
        M.add_member(tx.db, user, group)
    return _done(tx, "addUserToGroup", "user", user, account)


@op("removeUserFromGroup")
def remove_user_from_group(tx: Tx, a: Args) -> Applied:
    user, group, account = _membership(tx, a)
    if not M.is_member(tx.db, user, group):
        raise fail("NOT_FOUND", f"user `{user}` is not a member of `{group}`", "groupArn")
    M.remove_member(tx.db, user, group)
    return _done(tx, "removeUserFromGroup", "user", user, account)


def _current_boundary(tx: Tx, arn: str) -> str | None:
    return next((p for p, how, _ in M.attachments(tx.db, arn) if how == "boundary"), None)


@op("putPermissionsBoundary")
def put_permissions_boundary(tx: Tx, a: Args) -> Applied:
    kind, arn, account = kind_of(a.get("arn"), ("user", "role"), "arn")
    policy_arn, _ = check_arn(a.get("policy_arn"), "policy", "policyArn")
    existing(tx, kind, arn, "arn")
    attachable(tx, policy_arn, account, "policyArn")
    old = _current_boundary(tx, arn)
    if old is not None:
        M.detach(tx.db, old, arn, "boundary")
    M.attach(tx.db, policy_arn, _TABLE[kind], arn, "boundary")
    M.update_node(tx.db, _TABLE[kind], arn, {"boundary_arn": policy_arn})
    return _done(tx, "putPermissionsBoundary", kind, arn, account)


@op("deletePermissionsBoundary")
def delete_permissions_boundary(tx: Tx, a: Args) -> Applied:
    kind, arn, account = kind_of(a.get("arn"), ("user", "role"), "arn")
    existing(tx, kind, arn, "arn")
    old = _current_boundary(tx, arn)
    if old is None:
        raise fail("NOT_FOUND", f"{kind} `{arn}` has no permissions boundary", "arn")
    M.detach(tx.db, old, arn, "boundary")
    M.update_node(tx.db, _TABLE[kind], arn, {"boundary_arn": None})
    return _done(tx, "deletePermissionsBoundary", kind, arn, account)


@op("updateAssumeRolePolicy")
def update_assume_role_policy(tx: Tx, a: Args) -> Applied:
    arn, account = check_arn(a.get("role_arn"), "role", "roleArn")
    document = check_document(a.get("document"), "trust", "document")
    existing(tx, "role", arn, "roleArn")
    M.update_node(tx.db, "Role", arn, {"trust_policy": document})
    return _done(tx, "updateAssumeRolePolicy", "role", arn, account)


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


@op("createPolicyVersion")
def create_policy_version(tx: Tx, a: Args) -> Applied:
    arn, account = check_arn(a.get("policy_arn"), "policy", "policyArn")
    document = check_document(a.get("document"), "identity", "document")
    row = customer_policy(tx, arn, "policyArn")
    versions = M.versions(tx.db, arn)
    if len(versions) >= 5:
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
    return _done(tx, "createPolicyVersion", "policy", arn, account)


def _version(tx: Tx, a: Args) -> tuple[Any, Any]:
    arn, _ = check_arn(a.get("policy_arn"), "policy", "policyArn")
    row = customer_policy(tx, arn, "policyArn")
    version_id = a.get("version_id")
    found = next((v for v in M.versions(tx.db, arn) if v.version_id == version_id), None)
    if found is None:
        raise fail("NOT_FOUND", f"policy `{arn}` has no version `{version_id}`", "versionId")
    return row, found


@op("setDefaultPolicyVersion")
def set_default_policy_version(tx: Tx, a: Args) -> Applied:
    row, version = _version(tx, a)
    _make_default(tx, row, version.version_id, version.document)
    return _done(tx, "setDefaultPolicyVersion", "policy", row.arn, row.account)


@op("deletePolicyVersion")
def delete_policy_version(tx: Tx, a: Args) -> Applied:
    row, version = _version(tx, a)
    if version.is_default:
        raise fail(
            "CONFLICT",
            f"`{version.version_id}` is the default version of `{row.arn}`: make another "
            "version the default first",
            "versionId",
        )
    M.delete_node(tx.db, "PolicyVersion", f"{row.arn}#{version.version_id}")
    return _done(tx, "deletePolicyVersion", "policy", row.arn, row.account)


@op("importExport")
def import_export(tx: Tx, a: Args) -> Applied:
    """Replace one account with a GAAD export, as `graphiam load` does (same parser and writer)."""
    from graphiam.changes.load import _check_document

    export = parse_gaad(a.get("document"), source="importExport", check_document=_check_document)
    # joins the open transaction; derived edges follow in `apply_changes`, for every account the load changed
    touched = load_exports(tx.db, [export])
    return _done(tx, "importExport", None, None, export.account_id, *sorted(touched))
