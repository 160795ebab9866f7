"""Combine identity, boundary, session, resource-based, SCP and RCP analyses into one decision.

Implements IAM User Guide "Policy evaluation logic" (flow chart), "Cross-account policy
evaluation logic", "Permissions boundaries for IAM entities" and "Session policies", and the AWS
Organizations User Guide "Resource control policies (RCPs)" / "RCP evaluation" and "SCP evaluation":

1. An explicit Deny in any applicable policy (identity, boundary, session, resource-based, SCP,
   RCP) → EXPLICIT_DENY.
2. RCPs (`rcps`, the levels of the RESOURCE owner's organization path, root first) apply only to
   the services that support them (`RCP_SERVICES`) and never to service-linked roles ("Resources
   and entities not restricted by RCPs"); they do apply to AWS service principals. AWS attaches
   `RCPFullAWSAccess` to every level and it cannot be detached, so an RCP can only deny: the levels
   given are the customer RCPs, a level with no statement for the request still allows.
3. SCPs (`scps`, the levels of the CALLER's account): every level must allow, else
   IMPLICIT_DENY. They restrict IAM principals of member accounts only: not service principals,
   anonymous or canonical users, and not service-linked roles.
4. Session policies (`session_policies`, for role sessions and federated-user sessions): the
   session's permissions are the intersection of the identity side and the session policy. A
   resource-based policy that names the role ARN is limited by the session policy too; one that
   names the session ARN itself is not ("Session policies": "permissions from the resource-based
   policy are added after the session is created … not limited by the session policies").
5. Same account (resource owner = principal's account), the request is allowed when
   a. the resource-based policy names the principal itself: a user ARN, a role SESSION, a service or
      federated principal — not limited by the principal's boundary ("Resource-based policies …
      that grant permissions to an IAM user ARN … are not limited by an implicit deny in … a
      permissions boundary") nor by a session policy; or
   b. it names a role ARN (or `*` for a role): allowed if the role's boundary and the session
      policy (if any) also allow ("… grant permissions to an IAM role ARN are limited by an implicit
      deny in a permissions boundary or session policy"); or
   c. an identity policy allows and the boundary and session policy (if any) allow. A resource
      policy that names only the ACCOUNT delegates: it grants nothing by itself.
   With `resource_policy_required=True` (role trust policies for `sts:AssumeRole*`, KMS key
   policies: "Role trust policies" / "Default key policy": the resource policy must allow even in
   the same account) path (c) also needs the resource policy to allow, by naming either the
   principal or its account. The conformance data (S39–S41, the `assume` requests) follows this.
   Service, federated and anonymous principals are decided by the resource-based policy alone (a
   service principal's `aws:SourceArn`/`aws:SourceAccount` are ordinary context keys).
   The account root user (`principal_type="Account"`) has every permission in its own account
   (IAM User Guide, "AWS account root user": identity policies cannot be attached to it), so its
   identity side always allows; SCPs, RCPs, resource-policy Denies and required resource
   policies (KMS key policies) still apply.
6. Cross account: the identity side (identity ∧ boundary ∧ session) AND the resource-based policy
   must allow; a resource policy naming the principal's account counts here.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from graphiam.arn import is_service_linked_role
from graphiam.policy.principals import ACCOUNT, ACCOUNTLESS_TYPES, EVERYONE, ROLE
from graphiam.policy.request import Request, normalise_context
from graphiam.policy.source import PolicySource
from graphiam.policy.statement import PartResult, StatementMatch, scan

# Services whose resources RCPs restrict (AWS Organizations User Guide, "List of AWS services that support
# RCPs", as of early 2026); an action of any other service is not subject to RCPs.
RCP_SERVICES = frozenset(
    {"s3", "sts", "kms", "sqs", "secretsmanager", "ecr", "aoss", "cognito-idp", "cognito-identity", "logs"}
)
# Principals whose permissions a session policy can cap: role sessions and federated-user sessions.
SESSION_TYPES = frozenset({"AssumedRole", "FederatedUser"})
# Principals SCPs never restrict: they belong to no member account's IAM.
SCP_EXEMPT_TYPES = frozenset({"Service", "Anonymous", "CanonicalUser", "WebIdentity", "SAML"})


def rcps_apply(request: Request) -> bool:
    """Whether RCPs restrict `request`: the action's service supports RCPs and the caller is not a
    service-linked role."""
    service = request.action.split(":", 1)[0].lower()
    return service in RCP_SERVICES and not is_service_linked_role(request.principal_arn)


def scps_apply(request: Request) -> bool:
    """Whether SCPs restrict `request`'s caller: an IAM principal of an account, not a service-linked role."""
    return request.principal_type not in SCP_EXEMPT_TYPES and not is_service_linked_role(
        request.principal_arn
    )


def session_policy_applies(request: Request) -> bool:
    """Whether a session policy can cap `request`'s caller (a role session or a federated-user session)."""
    return request.principal_type in SESSION_TYPES


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
    rcp_decision: Decision | None = None  # None: no RCPs given, or they do not apply (`rcps_apply`)
    session_decision: Decision | None = None  # None: no session policy, or the caller has no session


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
    rcps: Sequence[Sequence[PolicySource]] | None = None,
    session_policies: Sequence[PolicySource] | None = None,
) -> Evaluation:
    """Decide `request` as AWS would; `boundaries=None` means no permissions boundary, `session_policies=None`
    no session policy; `scps`/`rcps` are the organization levels, root first (None: no organization).
    Layers that do not apply to this request (see the module docstring) are left out, their decision None."""
    ctx = normalise_context(request.context)
    action = request.action.lower()
    ident = scan(identity, request, action, ctx)
    bound = scan(boundaries, request, action, ctx) if boundaries is not None else None
    sess = (
        scan(session_policies, request, action, ctx)
        if session_policies is not None and session_policy_applies(request)
        else None
    )
    res = (
        scan((resource_policy,), request, action, ctx, principal=True, bounded=bound is not None)
        if resource_policy
        else None
    )
    levels = (
        [scan(level, request, action, ctx) for level in scps]
        if scps is not None and scps_apply(request)
        else None
    )
    rcp_levels = (
        [scan(level, request, action, ctx) for level in rcps]
        if rcps is not None and rcps_apply(request)
        else None
    )

    parts = [p for p in (ident, bound, sess, res, *(levels or ()), *(rcp_levels or ())) if p is not None]
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

    # RCPFullAWSAccess sits at every level and cannot be detached: an RCP level only ever denies
    rcp_decision = None
    if rcp_levels is not None:
        rcp_decision = (
            Decision.EXPLICIT_DENY if any(level.denies for level in rcp_levels) else Decision.ALLOWED
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
            rcp_decision=rcp_decision,
            session_decision=_verdict(sess) if sess is not None else None,
        )

    denies = [m for p in parts for m in p.denies]
    if denies:
        return result(Decision.EXPLICIT_DENY, denies)
    every_allow = [m for p in parts for m in p.allows]
    if scp_decision is Decision.IMPLICIT_DENY:
        return result(Decision.IMPLICIT_DENY, every_allow)

    boundary_ok = bound is None or bool(bound.allows)
    boundary_allows = bound.allows if bound is not None else []
    session_ok = sess is None or bool(sess.allows)
    session_allows = sess.allows if sess is not None else []
    # what caps the session's own permissions: the boundary and the session policy
    caps_ok = boundary_ok and session_ok
    caps_allows = [*boundary_allows, *session_allows]
    identity_ok = (bool(ident.allows) or request.principal_type == "Account") and caps_ok
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
        capped_by: list[StatementMatch] = []
        for m in direct:
            # a role ARN (or `*` for a role session) grants to the role, whose boundary and session policy
            # cap what its session may do; a user ARN or the session ARN itself is granted directly
            capped = m.principal_match == ROLE or (
                m.principal_match == EVERYONE and request.principal_type == "AssumedRole"
            )
            if not capped:
                granted.append(m)
            elif caps_ok:
                granted.append(m)
                capped_by = caps_allows
        if granted:
            return result(Decision.ALLOWED, granted + capped_by)
        if identity_ok and (resource_allows or not resource_policy_required):
            return result(Decision.ALLOWED, [*ident.allows, *caps_allows, *resource_allows])
        return result(Decision.IMPLICIT_DENY, every_allow)

    if identity_ok and resource_allows:
        return result(Decision.ALLOWED, [*ident.allows, *caps_allows, *resource_allows])
    return result(Decision.IMPLICIT_DENY, every_allow)
