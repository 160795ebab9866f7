"""Risks that stored resource policies create (issue 14 §3, "escalation and chains use resource policies"):

- `key-policy-control`: a principal allowed `kms:PutKeyPolicy` or `kms:CreateGrant` on a stored KMS key can
  give itself (or anyone) every use of the key: a key policy decides who may use a key, and a grant adds
  permissions without changing the policy (AWS KMS Developer Guide, "Key policies", "Grants in AWS KMS"). A
  finding, not an escalation to administrator. Decided by whoCan (the key policy is required, the RCPs of
  the key's account and the caller's SCPs apply); administrators (`Decider.admin_with`) are left out (they can
  anyway), and so is nobody else: what the key policy grants beyond the stored principals (another account,
  everyone) is listed too.
- `invoke-admin-function` / `update-admin-function`: a principal allowed `lambda:InvokeFunction` (runs the
  function's code with its execution role's permissions) or `lambda:UpdateFunctionCode` (replaces that code:
  the role's permissions become the caller's, pathfinding's lambda-003) on a stored function whose execution
  role is administrator. Needs the function's role (`ResourceInfo.role`, read from iam-collect's Lambda
  metadata or AWS Config's `configuration.role`); a function without one is skipped.

Each entry names the principal, how it is allowed (`via`, conditional or not, the actions) and, for
functions, the role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from graphiam.cancel import NEVER, Cancel
from graphiam.derive.escalation.decide import Decider
from graphiam.graph.snapshot import Snapshot
from graphiam.queries.chains import HopCondition
from graphiam.queries.resource_grants import VIA_RESOURCE
from graphiam.queries.who_can import who_can
from graphiam.store import Database

KEY_CONTROL = ("kms:PutKeyPolicy", "kms:CreateGrant")
FUNCTION_RISKS = (
    ("lambda:InvokeFunction", "invoke-admin-function"),
    ("lambda:UpdateFunctionCode", "update-admin-function"),
)


@dataclass(frozen=True, kw_only=True)
class ResourceRisk:
    resource: str
    type: str
    account: str
    risk: str  # key-policy-control | invoke-admin-function | update-admin-function
    principal: str  # a stored user's or role's ARN, or what the policy grants beyond them (account, `*` …)
    kind: str  # user | role | account | principal | service | federated | canonical-user | everyone
    principal_account: str | None
    via: str
    conditional: bool
    actions: tuple[str, ...]
    required_conditions: tuple[HopCondition, ...] = ()
    role: str | None = None  # functions: the execution role


def resource_risks(
    db: Database, snap: Snapshot, *, account: str | None = None, cancel: Cancel = NEVER
) -> list[ResourceRisk]:
    """Every risk of the module docstring on the stored resources (of `account`), by resource, risk and
    principal."""
    decider = Decider(snap)
    admin: dict[str, bool] = {}

    def is_admin(arn: str) -> bool:
        hit = admin.get(arn)
        if hit is None:
            p = snap.principals.get(arn)
            hit = admin[arn] = p is not None and decider.admin_with(p) is not None
        return hit

    out: list[ResourceRisk] = []
    for res in snap.resources_of(account=account):
        cancel.check()
        if res.type == "kms:key" and res.policy is not None:
            out += _risks(
                db, snap, res.arn, res.type, res.account, "key-policy-control", KEY_CONTROL, is_admin
            )
        role = res.role
        if res.type == "lambda:function" and role is not None and is_admin(role):
            for action, risk in FUNCTION_RISKS:
                out += _risks(db, snap, res.arn, res.type, res.account, risk, (action,), is_admin, role=role)
    return out


def _risks(
    db: Database,
    snap: Snapshot,
    arn: str,
    rtype: str,
    account: str,
    risk: str,
    actions: tuple[str, ...],
    is_admin: Callable[[str], bool],
    role: str | None = None,
) -> list[ResourceRisk]:
    merged: dict[str, ResourceRisk] = {}
    for action in actions:
        w = who_can(db, snap, action=action, resource=arn)
        rows = [
            (a.principal_arn, a.kind, a.account, a.via, a.conditional, a.required_conditions)
            for a in w.allowed
            if not is_admin(a.principal_arn) and a.principal_arn != role
        ] + [
            (o.principal, o.kind, o.account, VIA_RESOURCE, o.conditional, o.required_conditions)
            for o in w.outside
        ]
        for principal, kind, theirs, via, conditional, conditions in rows:
            old = merged.get(principal)
            if old is None:
                merged[principal] = ResourceRisk(
                    resource=arn,
                    type=rtype,
                    account=account,
                    risk=risk,
                    principal=principal,
                    kind=kind,
                    principal_account=theirs,
                    via=via,
                    conditional=conditional,
                    actions=(action,),
                    required_conditions=conditions,
                    role=role,
                )
            else:
                both = old.conditional and conditional
                merged[principal] = replace(
                    old,
                    actions=(*old.actions, action),
                    conditional=both,
                    required_conditions=old.required_conditions if both else (),
                    via=old.via if old.via == via else "both",
                )
    return [merged[k] for k in sorted(merged)]
