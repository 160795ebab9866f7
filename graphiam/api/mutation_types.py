"""GraphQL shapes of the mutations: the inputs (one per IAM operation), the payload with typed errors, and
the `ChangeSet` a dry run (or any mutation asked for `changes`) reports."""

from __future__ import annotations

import dataclasses
from typing import Any

import strawberry
from strawberry.scalars import JSON

from graphiam.api.simulation import ContextEntryInput, Decision
from graphiam.api.types import Group, Policy, Role, User
from graphiam.changes import whatif as W
from graphiam.changes.apply import Result
from graphiam.errors import Problem, ProblemCode

# The codes of a refused change's problems (graphiam.errors.ProblemCode), as the GraphQL enum `ErrorCode`.
ErrorCode = strawberry.enum(ProblemCode, name="ErrorCode", description="Why a change was refused.")


@strawberry.type(description="An expected failure: nothing was written.")
class MutationError:
    code: ProblemCode
    message: str
    path: list[str] = strawberry.field(description='Where in the arguments, e.g. ["input", "document"].')
    json_path: str | None = strawberry.field(
        description="Inside a policy document: the JSON path of the problem, e.g. `$.Statement[0].Effect`."
    )


# ---- inputs ----


@strawberry.input
class TagInput:
    key: str
    value: str = ""


@strawberry.input
class CreateUserInput:
    account: str
    name: str
    path: str = "/"
    tags: list[TagInput] | None = None
    permissions_boundary: str | None = strawberry.field(default=None, description="A managed policy ARN.")


@strawberry.input
class CreateGroupInput:
    account: str
    name: str
    path: str = "/"


@strawberry.input
class CreateRoleInput:
    account: str
    name: str
    trust_policy: JSON = strawberry.field(description="The AssumeRolePolicyDocument.")
    path: str = "/"
    description: str | None = None
    max_session_duration: int | None = None
    tags: list[TagInput] | None = None
    permissions_boundary: str | None = None


@strawberry.input
class CreatePolicyInput:
    account: str
    name: str
    document: JSON
    path: str = "/"
    description: str | None = None


@strawberry.input(description="The ARN of the user, group, role or customer-managed policy to delete.")
class DeleteInput:
    arn: str


@strawberry.input(
    description="An inline policy of the user, group or role `arn` (replaced if the name exists)."
)
class PutInlinePolicyInput:
    arn: str
    policy_name: str
    document: JSON


@strawberry.input
class DeleteInlinePolicyInput:
    arn: str
    policy_name: str


@strawberry.input(
    description="A managed policy and the user, group or role it is attached to / detached from."
)
class AttachPolicyInput:
    policy_arn: str
    target_arn: str


@strawberry.input
class GroupMembershipInput:
    user_arn: str
    group_arn: str


@strawberry.input(description="The user or role `arn` and the managed policy that bounds it.")
class PermissionsBoundaryInput:
    arn: str
    policy_arn: str


@strawberry.input
class DeletePermissionsBoundaryInput:
    arn: str


@strawberry.input
class UpdateAssumeRolePolicyInput:
    role_arn: str
    document: JSON


@strawberry.input
class CreatePolicyVersionInput:
    policy_arn: str
    document: JSON
    set_as_default: bool = False


@strawberry.input
class PolicyVersionInput:
    policy_arn: str
    version_id: str


@strawberry.input(description="A get-account-authorization-details export (JSON): replaces that account.")
class ImportExportInput:
    document: JSON
    replace: bool = strawberry.field(
        default=False,
        description="Move ARNs the graph holds from another account's import to this one (refused "
        "otherwise).",
    )


@strawberry.input(
    one_of=True, description="Exactly one operation, with the input of the mutation of that name."
)
class ChangeInput:
    create_user: CreateUserInput | None = strawberry.UNSET
    delete_user: DeleteInput | None = strawberry.UNSET
    create_group: CreateGroupInput | None = strawberry.UNSET
    delete_group: DeleteInput | None = strawberry.UNSET
    create_role: CreateRoleInput | None = strawberry.UNSET
    delete_role: DeleteInput | None = strawberry.UNSET
    create_policy: CreatePolicyInput | None = strawberry.UNSET
    delete_policy: DeleteInput | None = strawberry.UNSET
    put_user_policy: PutInlinePolicyInput | None = strawberry.UNSET
    put_group_policy: PutInlinePolicyInput | None = strawberry.UNSET
    put_role_policy: PutInlinePolicyInput | None = strawberry.UNSET
    delete_user_policy: DeleteInlinePolicyInput | None = strawberry.UNSET
    delete_group_policy: DeleteInlinePolicyInput | None = strawberry.UNSET
    delete_role_policy: DeleteInlinePolicyInput | None = strawberry.UNSET
    attach_policy: AttachPolicyInput | None = strawberry.UNSET
    detach_policy: AttachPolicyInput | None = strawberry.UNSET
    add_user_to_group: GroupMembershipInput | None = strawberry.UNSET
    remove_user_from_group: GroupMembershipInput | None = strawberry.UNSET
    put_permissions_boundary: PermissionsBoundaryInput | None = strawberry.UNSET
    delete_permissions_boundary: DeletePermissionsBoundaryInput | None = strawberry.UNSET
    update_assume_role_policy: UpdateAssumeRolePolicyInput | None = strawberry.UNSET
    create_policy_version: CreatePolicyVersionInput | None = strawberry.UNSET
    set_default_policy_version: PolicyVersionInput | None = strawberry.UNSET
    delete_policy_version: PolicyVersionInput | None = strawberry.UNSET
    import_export: ImportExportInput | None = strawberry.UNSET


@strawberry.input(description="A request to decide before and after the change (as `simulate`).")
class SimulationRequestInput:
    principal: str
    action: str
    resource: str = "*"
    context: list[ContextEntryInput] | None = None
    resource_owner: str | None = None


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


def input_args(value: Any) -> Any:
    """A strawberry input as plain data (snake_case keys, unset fields left out); JSON values as given."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: input_args(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not strawberry.UNSET
        }
    if isinstance(value, list):
        return [input_args(v) for v in value]
    return value


def client_args(value: Any) -> Any:
    """A strawberry input as the client named it (GraphQL field names, unset and null fields left out): what
    the audit log shows. JSON values as given."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            camel(f.name): client_args(v)
            for f in dataclasses.fields(value)
            if (v := getattr(value, f.name)) is not strawberry.UNSET and v is not None
        }
    if isinstance(value, list):
        return [client_args(v) for v in value]
    return value


def change_of(change: ChangeInput) -> tuple[str, Any]:
    """(operation name, its input) of a one-of ChangeInput."""
    for f in dataclasses.fields(change):
        value = getattr(change, f.name)
        if value is not strawberry.UNSET and value is not None:
            return camel(f.name), value
    raise ValueError("empty ChangeInput")  # graphql's @oneOf validation makes this unreachable


# ---- what changed ----


@strawberry.type(description="A CAN_ASSUME edge that appears or disappears.")
class AssumeEdgeChange:
    from_: str = strawberry.field(name="from")
    to: str
    action: str
    condition_keys: list[str] = strawberry.field(
        description="Condition keys the hop needs (MFA, ExternalId …)."
    )


@strawberry.type(description="An ESCALATES_TO edge that appears or disappears.")
class EscalationEdgeChange:
    from_: str = strawberry.field(name="from")
    to: str
    technique: str


@strawberry.type
class PathStepChange:
    from_: str = strawberry.field(name="from")
    to: str
    technique: str = strawberry.field(description="pathfinding.cloud id; `sts-001` for a CAN_ASSUME hop.")


@strawberry.type(description="A shortest escalation path to administrator for `principal`.")
class AdminPathChange:
    principal: str
    steps: list[PathStepChange]
    needs: list[str]


@strawberry.type(description="One requested decision before and after the change.")
class DecisionChange:
    principal: str
    action: str
    resource: str
    before: Decision | None = strawberry.field(description="Null when it could not be decided (see errors).")
    after: Decision | None
    flipped: bool
    before_error: str | None
    after_error: str | None


@strawberry.type(description="What the change does (or, in a dry run, would do) to derived access.")
class ChangeSet:
    can_assume_added: list[AssumeEdgeChange]
    can_assume_removed: list[AssumeEdgeChange]
    escalations_added: list[EscalationEdgeChange]
    escalations_removed: list[EscalationEdgeChange]
    admins_added: list[str] = strawberry.field(
        description="Principals that become administrator (`Principal.isAdmin` true); those that can now "
        "become one through an escalation path are in `escalationPathsOpened`."
    )
    admins_removed: list[str] = strawberry.field(
        description="Principals that are administrator (`isAdmin`) before and not after."
    )
    escalation_paths_opened: list[AdminPathChange] = strawberry.field(
        description="Principals that could not reach administrator and now can (with one shortest path)."
    )
    escalation_paths_closed: list[AdminPathChange] = strawberry.field(
        description="Principals that could reach administrator and no longer can (with the path they had)."
    )
    decisions: list[DecisionChange]
    warnings: list[str]


@strawberry.type(description="An operation that was applied (or would be, in a dry run).")
class AppliedChange:
    operation: str
    arn: str | None


@strawberry.type(
    description="The result of a mutation. `ok: false` means nothing was written: see `errors`. In a "
    "dry run nothing is written either; the entity fields show the entity as the change "
    "would leave it, its relations are read from the committed graph."
)
class MutationPayload:
    ok: bool
    dry_run: bool
    errors: list[MutationError]
    applied: list[AppliedChange]
    user: User | None = None
    group: Group | None = None
    role: Role | None = None
    policy: Policy | None = None
    changes: ChangeSet | None = strawberry.field(
        default=None, description="Null unless asked for (or a dry run)."
    )


def _error(p: Problem, prefix: tuple[str, ...]) -> MutationError:
    return MutationError(
        code=ProblemCode(p.code), message=p.message, path=[*prefix, *p.path], json_path=p.json_path
    )


def _edge(e: W.AssumeEdge) -> AssumeEdgeChange:
    return AssumeEdgeChange(from_=e.source, to=e.target, action=e.action, condition_keys=list(e.conditions))


def _path(p: W.AdminPath) -> AdminPathChange:
    return AdminPathChange(
        principal=p.principal,
        needs=list(p.needs),
        steps=[PathStepChange(from_=s.source, to=s.target, technique=s.technique) for s in p.steps],
    )


def _decision(d: Any) -> Decision | None:
    return None if d is None else Decision(d.value)


def change_set(cs: W.ChangeSet) -> ChangeSet:
    esc = [
        EscalationEdgeChange(from_=e.source, to=e.target, technique=e.technique) for e in cs.escalations_added
    ]
    lost = [
        EscalationEdgeChange(from_=e.source, to=e.target, technique=e.technique)
        for e in cs.escalations_removed
    ]
    return ChangeSet(
        can_assume_added=[_edge(e) for e in cs.assume_added],
        can_assume_removed=[_edge(e) for e in cs.assume_removed],
        escalations_added=esc,
        escalations_removed=lost,
        admins_added=cs.admins_added,
        admins_removed=cs.admins_removed,
        escalation_paths_opened=[_path(p) for p in cs.paths_opened],
        escalation_paths_closed=[_path(p) for p in cs.paths_closed],
        decisions=[
            DecisionChange(
                principal=d.request.principal,
                action=d.request.action,
                resource=d.request.resource,
                before=_decision(d.before.decision),
                after=_decision(d.after.decision),
                flipped=d.flipped,
                before_error=d.before.error,
                after_error=d.after.error,
            )
            for d in cs.decisions
        ],
        warnings=cs.warnings,
    )


_ENTITY = {
    "user": ("user", User),
    "group": ("group", Group),
    "role": ("role", Role),
    "policy": ("policy", Policy),
}


def payload(result: Result, *, error_prefix: tuple[str, ...] = ("input",)) -> MutationPayload:
    out = MutationPayload(
        ok=result.ok,
        dry_run=result.dry_run,
        errors=[_error(p, error_prefix) for p in result.problems],
        applied=[AppliedChange(operation=a.op, arn=a.arn) for a in result.applied],
        changes=change_set(result.changes) if result.changes is not None else None,
    )
    for a in result.applied:  # the last change to each kind of entity names it
        if a.kind in _ENTITY and a.row is not None:
            attr, cls = _ENTITY[a.kind]
            setattr(out, attr, cls(row=a.row))
    return out
