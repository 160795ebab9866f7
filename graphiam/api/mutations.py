"""The `Mutation` type: one field per IAM write operation, plus `applyChanges` for several at once.

Every field needs the admin role (`graphiam.api.security.admin_mutation`), runs in one write transaction
(`graphiam.changes.apply.apply_changes`) and takes `dryRun` (roll back, report what would change) and
`requests` (decisions to compare before and after). Expected failures come back in `errors`, typed. Each
field's run, refusals included, is recorded in the audit log (`graphiam.api.audit.audited`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.types import Info

from graphiam.api.audit import audited
from graphiam.api.context import Context
from graphiam.api.mutation_types import (
    AttachPolicyInput,
    ChangeInput,
    CreateGroupInput,
    CreatePolicyInput,
    CreatePolicyVersionInput,
    CreateRoleInput,
    CreateUserInput,
    DeleteInlinePolicyInput,
    DeleteInput,
    DeletePermissionsBoundaryInput,
    GroupMembershipInput,
    ImportExportInput,
    MutationPayload,
    PermissionsBoundaryInput,
    PolicyVersionInput,
    PutInlinePolicyInput,
    SimulationRequestInput,
    UpdateAssumeRolePolicyInput,
    change_of,
    client_args,
    input_args,
    payload,
)
from graphiam.api.security import admin_mutation
from graphiam.api.simulation import context_values
from graphiam.changes.apply import Change, Result, apply_changes
from graphiam.changes.whatif import SimRequest
from graphiam.errors import InputError

MAX_CHANGES = 100
MAX_REQUESTS = 100


def _requests(requests: list[SimulationRequestInput] | None) -> list[SimRequest]:
    if requests and len(requests) > MAX_REQUESTS:
        raise InputError(f"`requests`: at most {MAX_REQUESTS}, got {len(requests)}")
    return [
        SimRequest(
            principal=r.principal,
            action=r.action,
            resource=r.resource,
            context=context_values(r.context),
            resource_owner=r.resource_owner,
        )
        for r in requests or ()
    ]


def _wants_changes(info: Info[Context, None]) -> bool:
    """Whether the operation selects `changes` (computing them costs two captures of the derived facts)."""
    for f in info.selected_fields:
        for s in f.selections:
            if getattr(s, "name", "changes") == "changes":  # fragments: assume they might
                return True
    return False


async def _run(
    info: Info[Context, None],
    operation: str,
    arguments: Any,
    changes: Callable[[], list[Change]],
    dry_run: bool,
    requests: list[SimulationRequestInput] | None,
    *,
    indexed: bool = False,
) -> MutationPayload:
    """Check and apply the `changes` of the mutation field `operation` (called with `arguments`), recorded in
    the audit log, refusals included."""
    services = info.context.services
    diff = _wants_changes(info)

    def work() -> Result:
        sims = _requests(requests)
        return apply_changes(
            services.db, changes(), dry_run=dry_run, requests=sims, diff=diff, indexed=indexed
        )

    audit_args = {"changes" if indexed else "input": arguments}
    if requests:
        audit_args["requests"] = client_args(requests)
    result = await services.run(audited(info.context, operation, audit_args, dry_run, work))
    return payload(result, error_prefix=() if indexed else ("input",))


def operation(op: str, input_type: type, description: str) -> Any:
    """The mutation field of the operation `op` (graphiam.changes.ops), its input as `input: input_type`
    (plus `dryRun` and `requests`, as every mutation); admin only."""

    async def resolve(
        self: Any,
        info: Info[Context, None],
        input: Any,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        args = input_args(input)
        return await _run(info, op, client_args(input), lambda: [Change(op=op, args=args)], dry_run, requests)

    resolve.__annotations__ = {**resolve.__annotations__, "input": input_type}
    resolve.__name__ = op
    return admin_mutation(resolve, description=description)


@strawberry.type
class Mutation:
    create_user = operation(
        "createUser",
        CreateUserInput,
        "CreateUser: a user in `account` (ids and dates made up as IAM makes them).",
    )
    delete_user = operation(
        "deleteUser",
        DeleteInput,
        "DeleteUser; also removes its group memberships, attachments and inline policies.",
    )
    create_group = operation("createGroup", CreateGroupInput, "CreateGroup.")
    delete_group = operation(
        "deleteGroup",
        DeleteInput,
        "DeleteGroup; also removes its memberships, attachments and inline policies.",
    )
    create_role = operation("createRole", CreateRoleInput, "CreateRole with its trust policy.")
    delete_role = operation(
        "deleteRole",
        DeleteInput,
        "DeleteRole; also removes its attachments, inline policies and instance-profile links.",
    )
    create_policy = operation(
        "createPolicy", CreatePolicyInput, "CreatePolicy: a customer-managed policy (version v1, default)."
    )
    delete_policy = operation(
        "deletePolicy",
        DeleteInput,
        "DeletePolicy (customer-managed); also detaches it everywhere and deletes its versions.",
    )
    put_user_policy = operation(
        "putUserPolicy", PutInlinePolicyInput, "PutUserPolicy: add or replace an inline policy."
    )
    put_group_policy = operation(
        "putGroupPolicy", PutInlinePolicyInput, "PutGroupPolicy: add or replace an inline policy."
    )
    put_role_policy = operation(
        "putRolePolicy", PutInlinePolicyInput, "PutRolePolicy: add or replace an inline policy."
    )
    delete_user_policy = operation("deleteUserPolicy", DeleteInlinePolicyInput, "DeleteUserPolicy (inline).")
    delete_group_policy = operation(
        "deleteGroupPolicy", DeleteInlinePolicyInput, "DeleteGroupPolicy (inline)."
    )
    delete_role_policy = operation("deleteRolePolicy", DeleteInlinePolicyInput, "DeleteRolePolicy (inline).")
    attach_policy = operation(
        "attachPolicy",
        AttachPolicyInput,
        "Attach{User,Group,Role}Policy: attach a managed policy to a user, group or role.",
    )
    detach_policy = operation("detachPolicy", AttachPolicyInput, "Detach{User,Group,Role}Policy.")
    add_user_to_group = operation("addUserToGroup", GroupMembershipInput, "AddUserToGroup.")
    remove_user_from_group = operation("removeUserFromGroup", GroupMembershipInput, "RemoveUserFromGroup.")
    put_permissions_boundary = operation(
        "putPermissionsBoundary",
        PermissionsBoundaryInput,
        "Put{User,Role}PermissionsBoundary (replaces the current one).",
    )
    delete_permissions_boundary = operation(
        "deletePermissionsBoundary", DeletePermissionsBoundaryInput, "Delete{User,Role}PermissionsBoundary."
    )
    update_assume_role_policy = operation(
        "updateAssumeRolePolicy",
        UpdateAssumeRolePolicyInput,
        "UpdateAssumeRolePolicy: replace a role's trust policy.",
    )
    create_policy_version = operation(
        "createPolicyVersion",
        CreatePolicyVersionInput,
        "CreatePolicyVersion (at most 5 versions; optionally the new default).",
    )
    set_default_policy_version = operation(
        "setDefaultPolicyVersion", PolicyVersionInput, "SetDefaultPolicyVersion."
    )
    delete_policy_version = operation(
        "deletePolicyVersion", PolicyVersionInput, "DeletePolicyVersion (not the default one)."
    )
    import_export = operation(
        "importExport",
        ImportExportInput,
        "Load a get-account-authorization-details export, replacing its account (as `graphiam load`).",
    )

    @admin_mutation(
        description=f"Several operations in one transaction, all or nothing (at most {MAX_CHANGES}); "
        "with `dryRun`, a what-if over all of them together."
    )
    async def apply_changes(
        self,
        info: Info[Context, None],
        changes: list[ChangeInput],
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        listed = [(op, input_args(v)) for op, v in map(change_of, changes)]

        def checked() -> list[Change]:
            if len(listed) > MAX_CHANGES:
                raise InputError(f"`changes`: at most {MAX_CHANGES}, got {len(listed)}")
            return [Change(op=op, args=args) for op, args in listed]

        summary = client_args(changes)
        return await _run(info, "applyChanges", summary, checked, dry_run, requests, indexed=True)
