"""`HopCondition`: one condition a request must meet (or a conditional Deny it must avoid), named with its
statement. The same shape in assumption chains, `simulate`, `whoCan` and `effectivePermissions`."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

import strawberry

from graphiam.queries.chains import HopCondition as Condition


@strawberry.enum(
    description="REQUIRED: the condition must hold (an Allow statement's); AVOIDED: a Deny statement with "
    "this condition must not apply (the request is denied when it does)."
)
class ConditionRole(Enum):
    REQUIRED = "Allow"
    AVOIDED = "Deny"


@strawberry.type(
    description="A condition the request still needs from the caller (MFA, source IP, external ID, "
    "iam:PassedToService ...), and the statement it comes from."
)
class HopCondition:
    key: str
    operator: str
    values: list[str]
    role: ConditionRole
    policy_arn: str = strawberry.field(
        description="The policy's ARN; inline: `<owner ARN>#<name>`; trust: `<role ARN>#trust`."
    )
    statement_index: int


def hop_conditions(conditions: Iterable[Condition]) -> list[HopCondition]:
    """Conditions of `graphiam.queries` as their GraphQL type."""
    return [
        HopCondition(
            key=c.key,
            operator=c.operator,
            values=list(c.values),
            role=ConditionRole(c.effect),
            policy_arn=c.policy_arn,
            statement_index=c.statement_index,
        )
        for c in conditions
    ]
