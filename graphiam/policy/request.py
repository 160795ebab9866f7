"""The request being authorised: principal, action, resource and the full request context.

Implements IAM User Guide "Policy evaluation logic" § "Processing the request context": AWS
gathers the principal, action, resource and environment into the request context; condition key
names are not case-sensitive ("IAM JSON policy elements: Condition": "Condition key names are not
case-sensitive"), so the context is looked up by lower-cased key. This applies to the whole key,
tag-key part included (`aws:PrincipalTag/Team` = `aws:principaltag/team`): IAM tag keys are
case-insensitive — IAM refuses two tags whose keys differ only in case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from graphiam.arn import account_of

ContextValue = str | Sequence[str]


@dataclass(frozen=True, kw_only=True)
class Request:
    """One API call to authorise; `context` is complete (a key absent here is absent for AWS)."""

    action: str
    resource: str
    principal_arn: str
    principal_account: str | None = None
    principal_type: str = (
        "User"  # User | AssumedRole | Account | Service | FederatedUser | WebIdentity | SAML | Anonymous
    )
    resource_account: str | None = None  # None: the resource ARN's account, else the principal's
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    @property
    def effective_principal_account(self) -> str | None:
        """`principal_account`, or the account in `principal_arn`."""
        return self.principal_account or account_of(self.principal_arn)

    @property
    def effective_resource_account(self) -> str | None:
        """The resource owner: `resource_account`, the resource ARN's account, or the principal's."""
        return self.resource_account or account_of(self.resource) or self.effective_principal_account


def _value(value: object) -> str | tuple[str, ...]:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return tuple(_value(v) for v in value)  # type: ignore[attr-defined, misc]


def normalise_context(context: Mapping[str, ContextValue]) -> dict[str, str | tuple[str, ...]]:
    """Keys lower-cased, multivalued entries as tuples, JSON booleans/numbers as IAM strings."""
    return {key.lower(): value if type(value) is str else _value(value) for key, value in context.items()}
