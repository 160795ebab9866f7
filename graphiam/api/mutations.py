"""The `Mutation` type: one field per IAM write operation, plus `applyChanges` for several at once.

Every field needs the admin role (`graphiam.api.security.admin_mutation`), runs in one write transaction
(`graphiam.changes.apply.apply_changes`) and takes `dryRun` (roll back, report what would change) and
`requests` (decisions to compare before and after). Expected failures come back in `errors`, typed.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

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
    input_args,
    payload,
)
from graphiam.api.security import admin_mutation
from graphiam.api.simulation import context_values
from graphiam.changes.apply import Change, apply_changes
from graphiam.changes.whatif import SimRequest
from graphiam.errors import InputError

MAX_CHANGES = 100
MAX_REQUESTS = 100
DRY_RUN = "Roll back instead of committing, and report what would change."
REQUESTS = "Requests to decide before and after the change (reported in `changes.decisions`)."


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
    changes: list[Change],
    dry_run: bool,
    requests: list[SimulationRequestInput] | None,
    *,
    indexed: bool = False,
) -> MutationPayload:
    services = info.context.services
    sims = _requests(requests)
    result = await services.run(
        apply_changes,
        services.db,
        changes,
        dry_run=dry_run,
        requests=sims,
        diff=_wants_changes(info),
        indexed=indexed,
    )
    return payload(result, error_prefix=() if indexed else ("input",))


async def _one(
    info: Info[Context, None],
    op: str,
    value: Any,
    dry_run: bool,
    requests: list[SimulationRequestInput] | None,
) -> MutationPayload:
    return await _run(info, [Change(op=op, args=input_args(value))], dry_run, requests)


@strawberry.type
class Mutation:
    @admin_mutation(description="CreateUser: a user in `account` (ids and dates made up as IAM makes them).")
    async def create_user(
        self,
        info: Info[Context, None],
        input: CreateUserInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "createUser", input, dry_run, requests)

    @admin_mutation(
        description="DeleteUser; also removes its group memberships, attachments and inline policies."
    )
    async def delete_user(
        self,
        info: Info[Context, None],
        input: DeleteInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "deleteUser", input, dry_run, requests)

    @admin_mutation(description="CreateGroup.")
    async def create_group(
        self,
        info: Info[Context, None],
        input: CreateGroupInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "createGroup", input, dry_run, requests)

    @admin_mutation(description="DeleteGroup; also removes its memberships, attachments and inline policies.")
    async def delete_group(
        self,
        info: Info[Context, None],
        input: DeleteInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "deleteGroup", input, dry_run, requests)

    @admin_mutation(description="CreateRole with its trust policy.")
    async def create_role(
        self,
        info: Info[Context, None],
        input: CreateRoleInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "createRole", input, dry_run, requests)

    @admin_mutation(
        description="DeleteRole; also removes its attachments, inline policies and instance-profile links."
    )
    async def delete_role(
        self,
        info: Info[Context, None],
        input: DeleteInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "deleteRole", input, dry_run, requests)

    @admin_mutation(description="CreatePolicy: a customer-managed policy (version v1, default).")
    async def create_policy(
        self,
        info: Info[Context, None],
        input: CreatePolicyInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "createPolicy", input, dry_run, requests)

    @admin_mutation(
        description="DeletePolicy (customer-managed); also detaches it everywhere and deletes its versions."
    )
    async def delete_policy(
        self,
        info: Info[Context, None],
        input: DeleteInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "deletePolicy", input, dry_run, requests)

    @admin_mutation(description="PutUserPolicy: add or replace an inline policy.")
    async def put_user_policy(
        self,
        info: Info[Context, None],
        input: PutInlinePolicyInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "putUserPolicy", input, dry_run, requests)

    @admin_mutation(description="PutGroupPolicy: add or replace an inline policy.")
    async def put_group_policy(
        self,
        info: Info[Context, None],
        input: PutInlinePolicyInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "putGroupPolicy", input, dry_run, requests)

    @admin_mutation(description="PutRolePolicy: add or replace an inline policy.")
    async def put_role_policy(
        self,
        info: Info[Context, None],
        input: PutInlinePolicyInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "putRolePolicy", input, dry_run, requests)

    @admin_mutation(description="DeleteUserPolicy (inline).")
    async def delete_user_policy(
        self,
        info: Info[Context, None],
        input: DeleteInlinePolicyInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "deleteUserPolicy", input, dry_run, requests)

    @admin_mutation(description="DeleteGroupPolicy (inline).")
    async def delete_group_policy(
        self,
        info: Info[Context, None],
        input: DeleteInlinePolicyInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "deleteGroupPolicy", input, dry_run, requests)

    @admin_mutation(description="DeleteRolePolicy (inline).")
    async def delete_role_policy(
        self,
        info: Info[Context, None],
        input: DeleteInlinePolicyInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "deleteRolePolicy", input, dry_run, requests)

    @admin_mutation(
        description="Attach{User,Group,Role}Policy: attach a managed policy to a user, group or role."
    )
    async def attach_policy(
        self,
        info: Info[Context, None],
        input: AttachPolicyInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "attachPolicy", input, dry_run, requests)

    @admin_mutation(description="Detach{User,Group,Role}Policy.")
    async def detach_policy(
        self,
        info: Info[Context, None],
        input: AttachPolicyInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "detachPolicy", input, dry_run, requests)

    @admin_mutation(description="AddUserToGroup.")
    async def add_user_to_group(
        self,
        info: Info[Context, None],
        input: GroupMembershipInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "addUserToGroup", input, dry_run, requests)

    @admin_mutation(description="RemoveUserFromGroup.")
    async def remove_user_from_group(
        self,
        info: Info[Context, None],
        input: GroupMembershipInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "removeUserFromGroup", input, dry_run, requests)

    @admin_mutation(description="Put{User,Role}PermissionsBoundary (replaces the current one).")
    async def put_permissions_boundary(
        self,
        info: Info[Context, None],
        input: PermissionsBoundaryInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "putPermissionsBoundary", input, dry_run, requests)

    @admin_mutation(description="Delete{User,Role}PermissionsBoundary.")
    async def delete_permissions_boundary(
        self,
        info: Info[Context, None],
        input: DeletePermissionsBoundaryInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "deletePermissionsBoundary", input, dry_run, requests)

    @admin_mutation(description="UpdateAssumeRolePolicy: replace a role's trust policy.")
    async def update_assume_role_policy(
        self,
        info: Info[Context, None],
        input: UpdateAssumeRolePolicyInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "updateAssumeRolePolicy", input, dry_run, requests)

    @admin_mutation(description="CreatePolicyVersion (at most 5 versions; optionally the new default).")
    async def create_policy_version(
        self,
        info: Info[Context, None],
        input: CreatePolicyVersionInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "createPolicyVersion", input, dry_run, requests)

    @admin_mutation(description="SetDefaultPolicyVersion.")
    async def set_default_policy_version(
        self,
        info: Info[Context, None],
        input: PolicyVersionInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "setDefaultPolicyVersion", input, dry_run, requests)

    @admin_mutation(description="DeletePolicyVersion (not the default one).")
    async def delete_policy_version(
        self,
        info: Info[Context, None],
        input: PolicyVersionInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "deletePolicyVersion", input, dry_run, requests)

    @admin_mutation(
        description="Load a get-account-authorization-details export, replacing its account (as `graphiam load`)."
    )
    async def import_export(
        self,
        info: Info[Context, None],
        input: ImportExportInput,
        dry_run: bool = False,
        requests: list[SimulationRequestInput] | None = None,
    ) -> MutationPayload:
        return await _one(info, "importExport", input, dry_run, requests)

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
        if len(changes) > MAX_CHANGES:
            raise InputError(f"`changes`: at most {MAX_CHANGES}, got {len(changes)}")
        ops = [change_of(c) for c in changes]
        return await _run(
            info, [Change(op=op, args=input_args(v)) for op, v in ops], dry_run, requests, indexed=True
        )
