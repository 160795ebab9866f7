"""Match the statements of a set of policies against one request.

Implements IAM User Guide "Policy evaluation logic" § "Determining whether a request is allowed
or denied within an account": a statement applies when its Action/NotAction, Resource/NotResource,
Principal/NotPrincipal (resource-based policies only) and every Condition match. Condition
operators and keys are AND-ed ("Condition element": "If you have multiple condition operators, or
multiple keys attached to a single condition operator, the conditions are evaluated using a
logical AND").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from graphiam.policy.principals import EVERYONE, match_principal
from graphiam.policy.request import Request
from graphiam.policy.source import PolicySource
from graphiam.policy.wildcard import Context


@dataclass(frozen=True, kw_only=True)
class StatementMatch:
    """A statement that took part in a decision, labelled with the policy it came from."""

    source: PolicySource
    index: int
    sid: str | None
    effect: str
    principal_match: str | None = None  # resource policies: how the principal was named (principals.py)


@dataclass(kw_only=True)
class PartResult:
    """What one policy type (identity, boundary, resource, an SCP level) says about a request."""

    allows: list[StatementMatch] = field(default_factory=list)
    denies: list[StatementMatch] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def scan(
    sources: Iterable[PolicySource], request: Request, action: str, ctx: Context, *, principal: bool = False
) -> PartResult:
    """Every applicable Allow and Deny statement in `sources`; `action` is lower-cased.

    With `principal=True` (resource-based policies) a statement must also name the requester, and
    a statement without Principal/NotPrincipal applies to nobody.
    """
    result = PartResult()
    resource = request.resource
    account = request.effective_principal_account
    for source in sources:
        for st in source.document.statements_for(action):
            if not st.matches_resource(resource, ctx):
                continue
            how = None
            if principal:
                if st.principals is not None:
                    how = match_principal(
                        st.principals,
                        arn=request.principal_arn,
                        account=account,
                        ptype=request.principal_type,
                    )
                    if how is None:
                        continue
                elif st.not_principals is not None:
                    if (
                        match_principal(
                            st.not_principals,
                            arn=request.principal_arn,
                            account=account,
                            ptype=request.principal_type,
                        )
                        is not None
                    ):
                        continue
                    how = EVERYONE
                else:
                    continue
            applies = True
            for condition in st.compiled_conditions:
                if condition.key_lower not in ctx and condition.key not in result.missing:
                    result.missing.append(condition.key)
                if applies and not condition.test(ctx):
                    applies = False
            if not applies:
                continue
            match = StatementMatch(
                source=source, index=st.index, sid=st.sid, effect=st.effect, principal_match=how
            )
            (result.allows if st.effect == "Allow" else result.denies).append(match)
    return result
