"""`simulate`, `simulateCustom` and `simulateBatch`: the engine's decisions with their reasons."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graphiam.api.conditions import HopCondition, hop_conditions
from graphiam.api.context import Context
from graphiam.api.fields import field
from graphiam.errors import InputError
from graphiam.policy import Decision as EngineDecision
from graphiam.policy import StatementMatch
from graphiam.queries.simulate import Simulation, parse_scp_levels, simulate, simulate_custom

MAX_BATCH = 1000


@strawberry.enum(description="AWS's three outcomes: allowed, explicitDeny, implicitDeny.")
class Decision(Enum):
    ALLOWED = "ALLOWED"
    EXPLICIT_DENY = "EXPLICIT_DENY"
    IMPLICIT_DENY = "IMPLICIT_DENY"


@strawberry.enum(description="The type of a context value, as SimulatePrincipalPolicy's ContextKeyType.")
class ContextKeyType(Enum):
    STRING = "string"
    STRING_LIST = "stringList"
    NUMERIC = "numeric"
    NUMERIC_LIST = "numericList"
    BOOLEAN = "boolean"
    BOOLEAN_LIST = "booleanList"
    DATE = "date"
    DATE_LIST = "dateList"
    IP = "ip"
    IP_LIST = "ipList"
    BINARY = "binary"
    BINARY_LIST = "binaryList"


@strawberry.input(
    description="One request-context key (e.g. aws:SourceIp) and its value(s). Several values, "
    "or a *_LIST type, make a multivalued key (aws:TagKeys)."
)
class ContextEntryInput:
    key: str
    values: list[str]
    type: ContextKeyType | None = None


@strawberry.enum(description="What kind of policy a statement came from.")
class PolicySourceKind(Enum):
    AWS_MANAGED = "aws-managed"
    CUSTOMER_MANAGED = "customer-managed"
    INLINE = "inline"
    RESOURCE = "resource"
    TRUST = "trust"
    CUSTOM = "custom"
    SCP = "scp"
    RCP = "rcp"
    SESSION = "session"


@strawberry.enum(
    description="How a policy applies to the request: the principal's own (user or role), through "
    "a group, as the permissions boundary, as the resource-based policy, as a "
    "service control policy of the principal's organization, as a resource control policy of the "
    "resource's organization, or as the session policy."
)
class AppliesVia(Enum):
    USER = "user"
    GROUP = "group"
    ROLE = "role"
    BOUNDARY = "boundary"
    RESOURCE = "resource"
    CUSTOM = "custom"
    SCP = "scp"
    RCP = "rcp"
    SESSION = "session"


@strawberry.enum
class Effect(Enum):
    ALLOW = "Allow"
    DENY = "Deny"


@strawberry.type(description="A statement that took part in the decision.")
class MatchedStatement:
    policy_arn: str = strawberry.field(
        description="Policy ARN; inline: `<owner ARN>#<name>`; trust: `<role ARN>#trust`; "
        "a policy passed in the request: the argument's name."
    )
    policy_name: str
    kind: PolicySourceKind
    applies_via: AppliesVia
    via_name: str | None = strawberry.field(description="The group's name (via GROUP), the role's (TRUST).")
    statement_index: int
    sid: str | None
    effect: Effect
    statement: JSON | None


@strawberry.type(
    description="The request-context key as the engine saw it (derived from the principal, or given)."
)
class ContextEntry:
    key: str
    values: list[str]


@strawberry.type(
    description="The engine's decision on the request as given, and whether a request carrying more keys "
    "would be allowed: allowed (`decision` ALLOWED), allowed if (`conditional`: `requiredConditions`), or "
    "denied (neither)."
)
class SimulationResult:
    decision: Decision = strawberry.field(description="The decision on the request exactly as given.")
    conditional: bool = strawberry.field(
        description="True when the request as given is denied but would be allowed if it carried some keys "
        "the caller controls (MFA, a source IP, iam:PassedToService ...): `requiredConditions` says which. "
        "Conditions no request can satisfy (a date already past, a tag the principal lacks) leave it false."
    )
    required_conditions: list[HopCondition] = strawberry.field(
        description="When `conditional`: the conditions that decide it, each with its statement (REQUIRED: "
        "an Allow's condition to meet; AVOIDED: a Deny's condition to stay out of). One sufficient set."
    )
    matched_statements: list[MatchedStatement]
    missing_context_keys: list[str] = strawberry.field(
        description="Condition keys that a statement otherwise matching needed and the request lacked "
        "(kept for compatibility: `requiredConditions` lists the conditions that would decide)."
    )
    identity_decision: Decision
    boundary_decision: Decision | None = strawberry.field(
        description="Null when there is no permissions boundary."
    )
    resource_policy_decision: Decision | None = strawberry.field(
        description="Null when no resource-based policy applied."
    )
    resource_policy_source: str | None = strawberry.field(
        description="`trust` (the role's trust policy), `stored` (the stored resource's own policy; an S3 "
        "object's is its bucket's) or `given`."
    )
    scp_decision: Decision | None = strawberry.field(
        description="The service control policies' verdict: ALLOWED when every level allows, "
        "EXPLICIT_DENY when one denies, IMPLICIT_DENY when a level allows nothing. Null when no SCPs applied."
    )
    rcp_decision: Decision | None = strawberry.field(
        description="The resource control policies' verdict: EXPLICIT_DENY when one denies, else ALLOWED "
        "(RCPFullAWSAccess sits at every level). Null when none were given or they do not apply: a service "
        "that does not support RCPs, or a service-linked role."
    )
    session_decision: Decision | None = strawberry.field(
        description="The session policy's verdict. Null when none was given or the caller is not a role "
        "session or federated user."
    )
    principal: str
    action: str
    resource: str
    context: list[ContextEntry]
    warnings: list[str] = strawberry.field(
        description="What to check in the question or the data: an action or service the catalogue does not "
        "know (`unknown action `s3:GetObjekt`: did you mean s3:GetObject?`), a resource that is not an ARN, "
        "a role without a trust policy …"
    )


def _decision(d: EngineDecision | None) -> Decision | None:
    return None if d is None else Decision(d.value)


def matched_statement(m: StatementMatch) -> MatchedStatement:
    """A statement the engine matched, as its GraphQL type (with the statement's JSON)."""
    statements = m.source.document.raw.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    raw = statements[m.index] if isinstance(statements, list) and m.index < len(statements) else None
    return MatchedStatement(
        policy_arn=m.source.policy_id,
        policy_name=m.source.name,
        kind=PolicySourceKind(m.source.kind),
        applies_via=AppliesVia(m.source.via),
        via_name=m.source.via_name,
        statement_index=m.index,
        sid=m.sid,
        effect=Effect(m.effect),
        statement=raw,
    )


def to_result(s: Simulation) -> SimulationResult:
    ev = s.evaluation
    return SimulationResult(
        decision=Decision(ev.decision.value),
        conditional=s.conditional,
        required_conditions=hop_conditions(s.required_conditions),
        matched_statements=[matched_statement(m) for m in ev.matched],
        missing_context_keys=list(ev.missing_context_keys),
        identity_decision=Decision(ev.identity_decision.value),
        boundary_decision=_decision(ev.boundary_decision),
        resource_policy_decision=_decision(ev.resource_decision),
        resource_policy_source=s.resource_policy_used,
        scp_decision=_decision(ev.scp_decision),
        rcp_decision=_decision(ev.rcp_decision),
        session_decision=_decision(ev.session_decision),
        principal=s.principal_arn,
        action=s.action,
        resource=s.resource,
        context=[
            ContextEntry(key=k, values=[v] if isinstance(v, str) else list(v))
            for k, v in sorted(s.context.items())
        ],
        warnings=list(s.warnings),
    )


def context_values(entries: list[ContextEntryInput] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, e in enumerate(entries or ()):
        if not e.key or not e.key.strip():
            raise InputError(f"`context[{i}].key` is empty")
        multi = (e.type is not None and e.type.value.endswith("List")) or len(e.values) != 1
        out[e.key] = list(e.values) if multi else e.values[0]
    return out


SCPS = Annotated[
    list[list[JSON]] | None,
    strawberry.argument(
        name="serviceControlPolicies",
        description="The SCPs of the principal's account, one list per level of the organization: the root, "
        "each OU down to the account, then the account itself. Every level must allow the action; a Deny "
        "anywhere denies. Service-linked roles are exempt (as in AWS).",
    ),
]

RCPS = Annotated[
    list[list[JSON]] | None,
    strawberry.argument(
        name="resourceControlPolicies",
        description="The RCPs of the resource's account, one list per level of its organization: the root, "
        "each OU, then the account (RCPFullAWSAccess is implied at every level, so a level may be empty). A "
        "Deny anywhere denies. They apply only to the services that support RCPs (S3, STS, KMS, SQS, Secrets "
        "Manager, ECR, OpenSearch Serverless, Cognito, CloudWatch Logs), never to service-linked roles.",
    ),
]
SESSION_POLICY = Annotated[
    JSON | None,
    strawberry.argument(
        name="sessionPolicy",
        description="The session policy the role session or federated user was created with: it caps the "
        "identity policies and resource-policy grants to the role, not grants naming the session ARN itself.",
    ),
]


@strawberry.type
class SimulationQuery:
    @field(
        description="Can `principal` (a stored user or role ARN) do `action` on `resource`? "
        "The context is derived from the principal and overridden by `context`."
    )
    async def simulate(
        self,
        info: Info[Context, None],
        principal: str,
        action: str,
        resource: str = "*",
        context: list[ContextEntryInput] | None = None,
        resource_owner: str | None = None,
        resource_policy: JSON | None = None,
        extra_policies: list[JSON] | None = None,
        permissions_boundary: JSON | None = None,
        scps: SCPS = None,
        rcps: RCPS = None,
        session_policy: SESSION_POLICY = None,
    ) -> SimulationResult:
        snap = await info.context.services.snapshot()
        return to_result(
            simulate(
                snap,
                principal=principal,
                action=action,
                resource=resource,
                context=context_values(context),
                resource_owner=resource_owner,
                resource_policy=resource_policy,
                extra_policies=extra_policies or (),
                permissions_boundary=permissions_boundary,
                scps=scps or (),
                rcps=rcps or (),
                session_policy=session_policy,
            )
        )

    @field(
        description="Decide against policy documents not in the graph (SimulateCustomPolicy). `caller`: "
        "a user, role or account-root ARN, an assumed-role session "
        "(arn:aws:sts::ID:assumed-role/ROLE/SESSION), a federated user, a SAML or OIDC provider, a service "
        "principal (events.amazonaws.com) or `anonymous`; a stored one contributes its context."
    )
    async def simulate_custom(
        self,
        info: Info[Context, None],
        policies: list[JSON],
        action: str,
        resource: str = "*",
        context: list[ContextEntryInput] | None = None,
        caller: str | None = None,
        resource_owner: str | None = None,
        resource_policy: JSON | None = None,
        permissions_boundary: JSON | None = None,
        scps: SCPS = None,
        rcps: RCPS = None,
        session_policy: SESSION_POLICY = None,
    ) -> SimulationResult:
        snap = await info.context.services.snapshot() if caller else None
        return to_result(
            simulate_custom(
                policies=policies,
                action=action,
                resource=resource,
                context=context_values(context),
                caller=caller,
                resource_owner=resource_owner,
                resource_policy=resource_policy,
                permissions_boundary=permissions_boundary,
                snap=snap,
                scps=scps or (),
                rcps=rcps or (),
                session_policy=session_policy,
            )
        )

    @field(description=f"Many actions × resources for one principal in one call (at most {MAX_BATCH}).")
    async def simulate_batch(
        self,
        info: Info[Context, None],
        principal: str,
        actions: list[str],
        resources: list[str] | None = None,
        context: list[ContextEntryInput] | None = None,
        resource_owner: str | None = None,
        scps: SCPS = None,
    ) -> list[SimulationResult]:
        res = resources or ["*"]
        if len(actions) * len(res) > MAX_BATCH:
            raise InputError(
                f"`actions` × `resources` is {len(actions) * len(res)} requests, at most {MAX_BATCH}"
            )
        snap = await info.context.services.snapshot()
        ctx = context_values(context)
        levels = parse_scp_levels(scps or ()) or ()  # parsed once for the whole batch
        return [
            to_result(
                simulate(
                    snap,
                    principal=principal,
                    action=a,
                    resource=r,
                    context=ctx,
                    resource_owner=resource_owner,
                    scps=levels,
                )
            )
            for a in actions
            for r in res
        ]
