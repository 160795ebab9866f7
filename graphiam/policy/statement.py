"""Match the statements of a set of policies against one request.

Implements IAM User Guide "Policy evaluation logic" § "Determining whether a request is allowed
or denied within an account": a statement applies when its Action/NotAction, Resource/NotResource,
Principal/NotPrincipal (resource-based policies only) and every Condition match. Condition
operators and keys are AND-ed ("Condition element": "If you have multiple condition operators, or
multiple keys attached to a single condition operator, the conditions are evaluated using a
logical AND").

NotPrincipal (IAM User Guide "AWS JSON policy elements: NotPrincipal"): a Deny with NotPrincipal denies
every principal except the one it names, and AWS checks each identity of the caller (account, role,
session) in turn, so a caller named only through its account or its role is denied: only naming the
caller's own ARN exempts it. A Deny with NotPrincipal "will always deny any IAM principal that has a
permissions boundary policy attached, regardless of the values specified in the NotPrincipal element"
(`bounded=True`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from graphiam.policy.principals import EVERYONE, NAMED, match_principal
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


def names_exactly(principals: Mapping[str, tuple[str, ...]], request: Request) -> bool:
    """Whether a NotPrincipal element names the requester by its own ARN (or service name), which alone
    exempts it: naming only its account, or the role behind a session, does not."""
    how = match_principal(
        principals,
        arn=request.principal_arn,
        account=request.effective_principal_account,
        ptype=request.principal_type,
    )
    if how in (NAMED, EVERYONE):
        return True
    # a role given by its role ARN (as SimulatePrincipalPolicy takes it) is named exactly by that ARN
    return how is not None and request.principal_arn in principals.get("AWS", ())


def scan(
    sources: Iterable[PolicySource],
    request: Request,
    action: str,
    ctx: Context,
    *,
    principal: bool = False,
    bounded: bool = False,
) -> PartResult:
    """Every applicable Allow and Deny statement in `sources`; `action` is lower-cased.

    With `principal=True` (resource-based policies) a statement must also name the requester, and
    a statement without Principal/NotPrincipal applies to nobody. `bounded`: the requester has a
    permissions boundary, so a Deny with NotPrincipal applies to it whatever it names.
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
                    if st.effect == "Deny":
                        if not bounded and names_exactly(st.not_principals, request):
                            continue
                    elif (
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
