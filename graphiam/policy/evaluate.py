"""Combine identity, boundary, resource-based and SCP analyses into one decision.

Implements IAM User Guide "Policy evaluation logic" (flow chart), "Cross-account policy
evaluation logic" and "Permissions boundaries for IAM entities":

1. An explicit Deny in any applicable policy (identity, boundary, resource-based, SCP) → EXPLICIT_DENY.
2. SCPs: every level of the organisation must allow, else IMPLICIT_DENY.
3. Same account (resource owner = principal's account), the request is allowed when
   a. the resource-based policy names the principal itself: a user ARN, a role SESSION, a service or
      federated principal — not limited by the principal's boundary ("Resource-based policies …
      that grant permissions to an IAM user ARN … are not limited by an implicit deny in … a
      permissions boundary"); or
   b. it names a role ARN (or `*` for a role): allowed if the role's boundary also allows ("…
      grant permissions to an IAM role ARN are limited by an implicit deny in a permissions
      boundary"); or
   c. an identity policy allows and the boundary (if any) allows. A resource policy that names
      only the ACCOUNT delegates: it grants nothing by itself.
   With `resource_policy_required=True` (role trust policies for `sts:AssumeRole*`, KMS key
   policies: "Role trust policies" / "Default key policy": the resource policy must allow even in
   the same account) path (c) also needs the resource policy to allow, by naming either the
   principal or its account. The conformance data (S39–S41, the `assume` requests) follows this.
   Service, federated and anonymous principals are decided by the resource-based policy alone.
4. Cross account: the identity side (identity ∧ boundary) AND the resource-based policy must
   allow; a resource policy naming the principal's account counts here.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from graphiam.policy.principals import ACCOUNT, ACCOUNTLESS_TYPES, EVERYONE, ROLE
from graphiam.policy.request import Request, normalise_context
from graphiam.policy.source import PolicySource
from graphiam.policy.statement import PartResult, StatementMatch, scan


class Decision(enum.Enum):
    """The three outcomes AWS reports (SimulatePrincipalPolicy `EvalDecision`)."""

    ALLOWED = "ALLOWED"
    EXPLICIT_DENY = "EXPLICIT_DENY"
    IMPLICIT_DENY = "IMPLICIT_DENY"

    @property
    def aws_name(self) -> str:
        """`allowed`, `explicitDeny` or `implicitDeny`, as the IAM API spells them."""
        return _AWS_NAMES[self]


_AWS_NAMES = {
    Decision.ALLOWED: "allowed",
    Decision.EXPLICIT_DENY: "explicitDeny",
    Decision.IMPLICIT_DENY: "implicitDeny",
}


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """The decision, the statements that decided it, and each policy type's own verdict."""

    decision: Decision
    matched: tuple[StatementMatch, ...]
    missing_context_keys: tuple[str, ...]
    identity_decision: Decision
    boundary_decision: Decision | None
    resource_decision: Decision | None
    scp_decision: Decision | None


def _verdict(part: PartResult) -> Decision:
    if part.denies:
        return Decision.EXPLICIT_DENY
    return Decision.ALLOWED if part.allows else Decision.IMPLICIT_DENY


def evaluate(
    request: Request,
    *,
    identity: Sequence[PolicySource],
    boundaries: Sequence[PolicySource] | None = None,
    resource_policy: PolicySource | None = None,
    resource_policy_required: bool = False,
    scps: Sequence[Sequence[PolicySource]] | None = None,
) -> Evaluation:
    """Decide `request` as AWS would; `boundaries=None` means no permissions boundary."""
    ctx = normalise_context(request.context)
    action = request.action.lower()
    ident = scan(identity, request, action, ctx)
    bound = scan(boundaries, request, action, ctx) if boundaries is not None else None
    res = scan((resource_policy,), request, action, ctx, principal=True) if resource_policy else None
    levels = [scan(level, request, action, ctx) for level in scps] if scps is not None else None

    parts = [p for p in (ident, bound, res, *(levels or ())) if p is not None]
    missing = tuple(dict.fromkeys(k for p in parts for k in p.missing))
    scp_decision = None
    if levels is not None:
        verdicts = [_verdict(level) for level in levels]
        scp_decision = (
            Decision.EXPLICIT_DENY
            if Decision.EXPLICIT_DENY in verdicts
            else Decision.IMPLICIT_DENY
            if Decision.IMPLICIT_DENY in verdicts
            else Decision.ALLOWED
        )

    def result(decision: Decision, matched: Sequence[StatementMatch]) -> Evaluation:
        return Evaluation(
            decision=decision,
            matched=tuple(matched),
            missing_context_keys=missing,
            identity_decision=_verdict(ident),
            boundary_decision=_verdict(bound) if bound is not None else None,
            resource_decision=_verdict(res) if res is not None else None,
            scp_decision=scp_decision,
        )

    denies = [m for p in parts for m in p.denies]
    if denies:
        return result(Decision.EXPLICIT_DENY, denies)
    every_allow = [m for p in parts for m in p.allows]
    if scp_decision is Decision.IMPLICIT_DENY:
        return result(Decision.IMPLICIT_DENY, every_allow)

    boundary_ok = bound is None or bool(bound.allows)
    boundary_allows = bound.allows if bound is not None else []
    identity_ok = bool(ident.allows) and boundary_ok
    resource_allows = res.allows if res is not None else []
    # services, federated and anonymous principals have no identity side: only the resource policy
    # can allow them, by naming them, which the same-account rules below express
    same_account = (
        request.principal_type in ACCOUNTLESS_TYPES
        or request.effective_resource_account == request.effective_principal_account
    )

    if same_account:
        granted: list[StatementMatch] = []
        direct = [m for m in resource_allows if m.principal_match != ACCOUNT]
        for m in direct:
            capped = m.principal_match == ROLE or (
                m.principal_match == EVERYONE and request.principal_type == "AssumedRole"
            )
            if not capped or boundary_ok:
                granted.append(m)
        if granted:
            return result(
                Decision.ALLOWED,
                granted
                + (
                    boundary_allows
                    if bound and any(m.principal_match in (ROLE, EVERYONE) for m in granted)
                    else []
                ),
            )
        if identity_ok and (resource_allows or not resource_policy_required):
            return result(Decision.ALLOWED, [*ident.allows, *boundary_allows, *resource_allows])
        return result(Decision.IMPLICIT_DENY, every_allow)

    if identity_ok and resource_allows:
        return result(Decision.ALLOWED, [*ident.allows, *boundary_allows, *resource_allows])
    return result(Decision.IMPLICIT_DENY, every_allow)
