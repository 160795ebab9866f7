"""Policy linting (graphiam/policy/validate.py): every problem with its JSON path, never raising.

Rules: IAM User Guide "Grammar of the IAM JSON policy language" and "IAM JSON policy element reference".
"""

from __future__ import annotations

from typing import Any

import pytest

from graphiam.policy import Problem, validate_policy

V = "2012-10-17"


def st(**elements: Any) -> dict[str, Any]:
    return {"Version": V, "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", **elements}]}


CASES = [
    (st(), None, []),
    (st(Effect="Alow"), None, [("$.Statement[0].Effect", "must be Allow or Deny, got `Alow`", "error")]),
    (st(Actions="s3:*"), None, [("$.Statement[0].Actions", "unknown element `Actions`", "error")]),
    (
        {"Version": V, "Statement": [], "Extra": 1},
        None,
        [("$.Extra", "unknown element `Extra`: expected one of Version, Id, Statement", "error")],
    ),
    (
        {"Version": "2012-10-18", "Statement": []},
        None,
        [("$.Version", "must be 2012-10-17 or 2008-10-17, got `2012-10-18`", "error")],
    ),
    (
        {"Statement": []},
        None,
        [("$", "no `Version`: defaults to 2008-10-17, policy variables are literal text", "warning")],
    ),
    (
        st(NotAction="iam:*"),
        None,
        [("$.Statement[0]", "`Action` and `NotAction` cannot both be present", "error")],
    ),
    (
        st(NotResource="x"),
        None,
        [("$.Statement[0]", "`Resource` and `NotResource` cannot both be present", "error")],
    ),
    (
        {"Version": V, "Statement": [{"Effect": "Allow", "Resource": "*"}]},
        None,
        [("$.Statement[0]", "missing `Action` or `NotAction`", "error")],
    ),
    (
        {"Version": V, "Statement": [{"Effect": "Allow", "Action": "*"}]},
        None,
        [("$.Statement[0]", "missing `Resource` or `NotResource`", "warning")],
    ),
    (
        {"Version": V, "Statement": [{"Effect": "Allow", "Action": "*"}]},
        "inline",
        [("$.Statement[0]", "missing `Resource` or `NotResource`", "error")],
    ),
    (
        {
            "Version": V,
            "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}
            ],
        },
        "trust",
        [],
    ),
    (
        {"Version": V, "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]},
        "trust",
        [("$.Statement[0]", "missing `Principal` or `NotPrincipal`", "error")],
    ),
    (
        st(Principal="*"),
        "customer-managed",
        [("$.Statement[0].Principal", "`Principal` is not allowed in an identity-based policy", "error")],
    ),
    (
        st(Principal={"Aws": "*"}),
        "resource",
        [
            (
                "$.Statement[0].Principal.Aws",
                "unknown principal type `Aws`: expected one of AWS, Service, Federated, CanonicalUser",
                "error",
            )
        ],
    ),
    (
        st(Principal={"AWS": "arn:aws:iam::123456789012:user/*"}),
        "resource",
        [
            (
                "$.Statement[0].Principal.AWS",
                "`arn:aws:iam::123456789012:user/*`: wildcards inside a principal ARN are not supported, "
                "matched literally",
                "warning",
            )
        ],
    ),
    (
        st(Condition={"StringEqualz": {"aws:username": "a"}}),
        None,
        [("$.Statement[0].Condition.StringEqualz", "unknown condition operator `StringEqualz`", "error")],
    ),
    (
        st(Condition={"NullIfExists": {"aws:username": "true"}}),
        None,
        [("$.Statement[0].Condition.NullIfExists", "unknown condition operator `NullIfExists`", "error")],
    ),
    (
        st(Condition={"StringEquals": {"k": {"nested": 1}}}),
        None,
        [
            (
                "$.Statement[0].Condition.StringEquals.k",
                "condition values must be strings, numbers or booleans, got dict",
                "error",
            )
        ],
    ),
    (
        st(Action=["s3:GetObject", 3]),
        None,
        [("$.Statement[0].Action[1]", "must be a string, got int", "error")],
    ),
    (
        st(Action="GetObject"),
        None,
        [("$.Statement[0].Action", "must be `*` or `service:action`, got `GetObject`", "error")],
    ),
    (st(Action=[]), None, [("$.Statement[0].Action", "must not be an empty list", "error")]),
    (
        {
            "Version": "2008-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::${aws:username}"}],
        },
        None,
        [
            (
                "$.Statement[0].Resource",
                "`arn:aws:s3:::${aws:username}`: policy variables need Version 2012-10-17, matched literally",
                "warning",
            )
        ],
    ),
    (
        {
            "Version": V,
            "Statement": [
                {"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Sid": "A", "Effect": "Deny", "Action": "*", "Resource": "*"},
            ],
        },
        None,
        [("$.Statement[1].Sid", "duplicate Sid `A`", "warning")],
    ),
    (
        "{oops",
        None,
        [
            (
                "$",
                "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
                "error",
            )
        ],
    ),
]


@pytest.mark.parametrize(
    ("doc", "kind", "expected"),
    CASES,
    ids=[
        "clean",
        "bad-effect",
        "unknown-statement-element",
        "unknown-top-element",
        "bad-version",
        "no-version",
        "action-and-notaction",
        "resource-and-notresource",
        "missing-action",
        "missing-resource-unknown-kind",
        "missing-resource-identity",
        "trust-without-resource-ok",
        "trust-without-principal",
        "principal-in-identity-policy",
        "unknown-principal-type",
        "wildcard-in-principal-arn",
        "unknown-operator",
        "null-ifexists",
        "condition-value-type",
        "action-not-string",
        "action-without-service",
        "empty-action-list",
        "variables-in-2008",
        "duplicate-sid",
        "bad-json",
    ],
)
def test_validate(doc: Any, kind: str | None, expected: list[tuple[str, str, str]]) -> None:
    problems = validate_policy(doc, kind=kind)
    assert [(p.path, p.message, p.severity) for p in problems] == expected
    assert all(isinstance(p, Problem) for p in problems)
