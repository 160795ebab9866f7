"""policy.witness.allowed_if and satisfiable: the "allowed if" answer of the pure engine (issue 12 §1).

`free` says which keys the caller still controls (graph.context decides it for the questions); `choices`
limits some of them to a few values (ABSENT: the key may be left out).
"""

from __future__ import annotations

from typing import Any

import pytest

from graphiam.policy import Decision, PolicySource, Request, evaluate, parse_policy
from graphiam.policy.conditions import Condition
from graphiam.policy.request import normalise_context
from graphiam.policy.witness import ABSENT, allowed_if, satisfiable

USER = "arn:aws:iam::123456789012:user/u"
FIXED = {"aws:currenttime", "aws:principaltag/team"}


def free(c: Condition) -> bool:
    return c.key_lower not in FIXED


def source(*statements: dict[str, Any], via: str = "user") -> PolicySource:
    doc = parse_policy({"Version": "2012-10-17", "Statement": list(statements)})
    return PolicySource(document=doc, policy_id=f"p-{via}", name="p", kind="inline", via=via)


def request(**context: Any) -> Request:
    ctx = {"aws:CurrentTime": "2024-01-01T00:00:00Z", **context}
    return Request(action="s3:GetObject", resource="arn:aws:s3:::b/k", principal_arn=USER, context=ctx)


def allow(**condition: Any) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    return {**st, "Condition": condition} if condition else st


def deny(**condition: Any) -> dict[str, Any]:
    return {**allow(**condition), "Effect": "Deny"}


def conditions(hop: Any) -> list[tuple[str, str, str]]:
    return [(c["key"], c["operator"], c["effect"]) for c in hop.conditions]


def test_a_condition_on_a_free_key_gives_a_witness_the_engine_allows():
    ident = [source(allow(Bool={"aws:MultiFactorAuthPresent": "true"}))]
    hop = allowed_if(request(), identity=ident, free=free)
    assert hop is not None and hop.evaluation.decision is Decision.ALLOWED
    assert conditions(hop) == [("aws:MultiFactorAuthPresent", "Bool", "Allow")]
    again = evaluate(request(**hop.context), identity=ident)
    assert again.decision is Decision.ALLOWED  # the witness is a real request


@pytest.mark.parametrize(
    "condition",
    [
        {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},  # fixed and past
        {"StringEquals": {"aws:PrincipalTag/team": "red"}},  # fixed and absent
        {"Null": {"aws:SourceIp": "true"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},  # contradiction
    ],
)
def test_no_request_satisfies_it(condition):
    ident = [source(allow(**condition))]
    assert allowed_if(request(), identity=ident, free=free) is None
    st = ident[0].document.statements[0]
    assert satisfiable(st.compiled_conditions, normalise_context(request().context), free=free)[0] is False


def test_choices_limit_the_values_a_key_can_take():
    # like a user's aws:TokenIssueTime: absent (long-term key) or now (temporary credentials)
    choices = {"aws:tokenissuetime": (ABSENT, "2024-01-01T00:00:00Z")}
    recent = [source(allow(DateGreaterThan={"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}))]
    old = [source(allow(DateLessThan={"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}))]
    hop = allowed_if(request(), identity=recent, free=free, choices=choices)
    assert hop is not None and hop.context == {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}
    assert allowed_if(request(), identity=old, free=free, choices=choices) is None
    assert allowed_if(request(), identity=old, free=free) is not None  # without the limit: any date


def test_a_conditional_deny_is_avoided_and_an_unneeded_allow_condition_is_not_listed():
    ident = [
        source(
            allow(),
            allow(Bool={"aws:MultiFactorAuthPresent": "true"}),
            deny(NotIpAddress={"aws:SourceIp": "10.0.0.0/8"}),
        )
    ]
    assert evaluate(request(), identity=ident).decision is Decision.EXPLICIT_DENY
    hop = allowed_if(request(), identity=ident, free=free)
    assert hop is not None and conditions(hop) == [("aws:SourceIp", "NotIpAddress", "Deny")]
    assert hop.context["aws:SourceIp"].startswith("10.")
    # an address the caller gave is fixed (graph.context): nothing is left to choose
    given = request(**{"aws:SourceIp": "192.0.2.1"})
    assert allowed_if(given, identity=ident, free=lambda c: free(c) and c.key_lower != "aws:sourceip") is None


def test_every_part_must_allow_boundary_and_scp_levels_too():
    ident = [source(allow())]
    boundary = [source(allow(IpAddress={"aws:SourceIp": "10.0.0.0/8"}), via="boundary")]
    scp = [[source(allow(StringEquals={"aws:RequestedRegion": "eu-west-1"}), via="scp")]]
    hop = allowed_if(request(), identity=ident, boundaries=boundary, scps=scp, free=free)
    assert hop is not None
    assert sorted(c[0] for c in conditions(hop)) == ["aws:RequestedRegion", "aws:SourceIp"]


def test_satisfiable_lists_the_free_conditions():
    st = source(
        allow(Bool={"aws:MultiFactorAuthPresent": "true"}, StringEquals={"aws:PrincipalTag/team": "x"})
    )
    ctx = normalise_context({"aws:PrincipalTag/team": "x"})
    ok, needed = satisfiable(st.document.statements[0].compiled_conditions, ctx, free=free)
    assert ok and [c.key for c in needed] == ["aws:MultiFactorAuthPresent"]
