"""`PolicySource`: a parsed policy with the labels the engine copies into its results (which policy, how it
applies to the principal). Its own module because both statement matching and the decision name it."""

from __future__ import annotations

from dataclasses import dataclass

from graphiam.policy.document import PolicyDocument


@dataclass(frozen=True, kw_only=True, eq=False)
class PolicySource:
    """A parsed policy plus the labels the engine copies into its results."""

    document: PolicyDocument
    policy_id: str
    name: str
    kind: str  # aws-managed | customer-managed | inline | resource | trust | custom
    via: str  # user | group | role | boundary | resource | custom
    via_name: str | None = None
