"""Condition operators, one table per family (graphiam/policy/conditions.py).

Rules: IAM User Guide "IAM JSON policy elements: Condition operators" (each family, `…IfExists`,
negated operators on absent keys, `Null`), "Creating a condition with multiple keys or values"
(values OR-ed, negated operators NOR-ed) and "Multivalued context keys" (`ForAnyValue:`,
`ForAllValues:` and their behaviour on absent keys and empty sets).
"""

from __future__ import annotations

from typing import Any

import pytest

from graphiam.policy.conditions import OPERATORS, Condition, parse_operator

ABSENT = object()


def run(
    operator: str,
    key: str,
    values: Any,
    request_value: Any,
    *,
    variables: bool = True,
    extra: dict[str, Any] | None = None,
) -> bool:
    ctx: dict[str, Any] = {k.lower(): v for k, v in (extra or {}).items()}
    if request_value is not ABSENT:
        ctx[key.lower()] = tuple(request_value) if isinstance(request_value, list) else request_value
    values = tuple(values) if isinstance(values, list) else (values,)
    return Condition(operator, key, values, variables=variables).test(ctx)


def table(rows: list[tuple[Any, ...]]) -> Any:
    return pytest.mark.parametrize(
        ("operator", "values", "request_value", "expected"), [r[:4] for r in rows], ids=[r[4] for r in rows]
    )


STRING = [
    ("StringEquals", "eng", "eng", True, "equals-exact"),
    ("StringEquals", "eng", "Eng", False, "equals-case-sensitive"),
    ("StringEquals", ["ops", "eng"], "eng", True, "values-ored"),
    ("StringEquals", "e*", "eng", False, "equals-no-wildcards"),
    ("StringEquals", "eng", ABSENT, False, "positive-absent-false"),
    ("StringNotEquals", ["ops", "eng"], "eng", False, "negated-nor-one-hit"),
    ("StringNotEquals", ["ops", "eng"], "dev", True, "negated-nor-no-hit"),
    ("StringNotEquals", "eng", ABSENT, True, "negated-absent-true"),
    ("StringEqualsIgnoreCase", "ENG", "eng", True, "ignorecase"),
    ("StringNotEqualsIgnoreCase", "ENG", "eng", False, "not-ignorecase"),
    ("StringLike", "home/*", "home/alice/x", True, "like-star"),
    ("StringLike", "v?", "v10", False, "like-question-one-char"),
    ("StringLike", "Home/*", "home/x", False, "like-case-sensitive"),
    ("StringNotLike", ["a*", "b*"], "bob", False, "notlike-nor"),
    ("StringNotLike", ["a*", "b*"], "carol", True, "notlike-no-hit"),
    ("StringEqualsIfExists", "vpc-1", ABSENT, True, "ifexists-absent-true"),
    ("StringEqualsIfExists", "vpc-1", "vpc-2", False, "ifexists-present-mismatch"),
    ("StringEqualsIfExists", "vpc-1", "vpc-1", True, "ifexists-present-match"),
]


@table(STRING)
def test_string(operator: str, values: Any, request_value: Any, expected: bool) -> None:
    assert run(operator, "aws:SourceVpc", values, request_value) is expected


NUMERIC = [
    ("NumericEquals", "10", "10", True, "equals"),
    ("NumericEquals", "10", "10.0", True, "equals-float-form"),
    ("NumericNotEquals", "10", "11", True, "not-equals"),
    ("NumericNotEquals", "10", ABSENT, True, "not-equals-absent"),
    ("NumericLessThan", "3600", "7200", False, "lessthan-false"),
    ("NumericLessThan", "3600", "60", True, "lessthan-true"),
    ("NumericLessThanEquals", "3600", "3600", True, "lessthanequals-boundary"),
    ("NumericGreaterThan", "5", "5", False, "greaterthan-strict"),
    ("NumericGreaterThanEquals", "5", "5", True, "greaterthanequals"),
    ("NumericLessThan", "abc", "1", False, "bad-policy-number-never-matches"),
    ("NumericLessThan", "10", "ten", False, "bad-request-number"),
    ("NumericLessThanIfExists", "10", ABSENT, True, "ifexists-absent"),
]


@table(NUMERIC)
def test_numeric(operator: str, values: Any, request_value: Any, expected: bool) -> None:
    assert run(operator, "aws:MultiFactorAuthAge", values, request_value) is expected


DATE = [
    ("DateLessThan", "2024-12-31T23:59:59Z", "2025-02-01T00:00:00Z", False, "lessthan-after"),
    ("DateLessThan", "2024-12-31T23:59:59Z", "2024-06-01T12:00:00Z", True, "lessthan-before"),
    ("DateGreaterThan", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", False, "greaterthan-strict"),
    ("DateGreaterThanEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", True, "greaterthanequals"),
    ("DateEquals", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00", True, "equals-across-offsets"),
    ("DateEquals", "1704067200", "2024-01-01T00:00:00Z", True, "epoch-seconds"),
    ("DateLessThanEquals", "2024-01-01", "2024-01-01T00:00:00Z", True, "date-only-midnight-utc"),
    ("DateNotEquals", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", True, "not-equals"),
    ("DateLessThan", "not-a-date", "2024-01-01T00:00:00Z", False, "bad-policy-date"),
]


@table(DATE)
def test_date(operator: str, values: Any, request_value: Any, expected: bool) -> None:
    assert run(operator, "aws:CurrentTime", values, request_value) is expected


BOOL_BINARY = [
    ("Bool", "true", "true", True, "bool-true"),
    ("Bool", "true", "TRUE", True, "bool-case-insensitive"),
    ("Bool", True, "true", True, "bool-json-boolean-policy-value"),
    ("Bool", "false", ABSENT, False, "bool-absent-false-documented-pitfall"),
    ("BoolIfExists", "false", ABSENT, True, "boolifexists-absent-true"),
    ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", True, "binary-equals"),
    ("BinaryEquals", "QmluYXJ5", "QmluYXJZ", False, "binary-differs"),
]


@table(BOOL_BINARY)
def test_bool_and_binary(operator: str, values: Any, request_value: Any, expected: bool) -> None:
    if isinstance(values, bool):
        values = "true" if values else "false"
    assert run(operator, "aws:SecureTransport", values, request_value) is expected


IP = [
    ("IpAddress", ["10.0.0.0/8", "203.0.113.0/24"], "203.0.113.77", True, "ipv4-in-second-cidr"),
    ("IpAddress", "10.0.0.0/8", "11.0.0.1", False, "ipv4-outside"),
    ("IpAddress", "192.0.2.7", "192.0.2.7", True, "single-address"),
    ("IpAddress", "2001:db8::/32", "2001:db8:1::5", True, "ipv6-in-cidr"),
    ("IpAddress", "2001:db8::/32", "10.0.0.1", False, "ipv6-cidr-ipv4-address"),
    ("IpAddress", "10.0.0.0/8", "not-an-ip", False, "bad-request-ip"),
    ("NotIpAddress", "192.0.2.0/24", "8.8.8.8", True, "notip-outside"),
    ("NotIpAddress", "192.0.2.0/24", "192.0.2.1", False, "notip-inside"),
    ("NotIpAddress", "192.0.2.0/24", ABSENT, True, "notip-absent"),
    ("IpAddressIfExists", "10.0.0.0/8", ABSENT, True, "ifexists-absent"),
]


@table(IP)
def test_ip(operator: str, values: Any, request_value: Any, expected: bool) -> None:
    assert run(operator, "aws:SourceIp", values, request_value) is expected


ARN = [
    ("ArnLike", "arn:aws:iam::*:role/admin/*", "arn:aws:iam::123456789012:role/admin/x", True, "like-fields"),
    ("ArnLike", "arn:aws:iam::*:role/*", "arn:aws:iam::123456789012:user/x", False, "like-resource-differs"),
    ("ArnLike", "arn:aws:s3:*", "arn:aws:s3:::bucket", False, "star-does-not-cross-fields"),
    (
        "ArnEquals",
        "arn:aws:sns:us-east-1:123456789012:t",
        "arn:aws:sns:us-east-1:123456789012:t",
        True,
        "equals",
    ),
    (
        "ArnEquals",
        "arn:aws:sns:*:123456789012:t",
        "arn:aws:sns:eu-west-1:123456789012:t",
        True,
        "equals-wildcard-field",
    ),
    ("ArnNotLike", "arn:aws:iam::*:role/admin/*", "arn:aws:iam::1:role/app", True, "notlike-no-hit"),
    ("ArnNotLike", "arn:aws:iam::*:role/admin/*", ABSENT, True, "notlike-absent"),
    ("ArnNotEquals", "arn:aws:sns:us-east-1:1:t", "arn:aws:sns:us-east-1:1:t", False, "notequals-hit"),
    ("ArnLike", "arn:aws:iam::*:role/*", "not-an-arn", False, "request-not-an-arn"),
    (
        "ArnLike",
        "arn:aws:iam::123456789012:user/${aws:username}",
        "arn:aws:iam::123456789012:user/alice",
        True,
        "variable",
    ),
]


@table(ARN)
def test_arn(operator: str, values: Any, request_value: Any, expected: bool) -> None:
    assert (
        run(operator, "aws:PrincipalArn", values, request_value, extra={"aws:username": "alice"}) is expected
    )


NULL = [
    ("Null", "true", ABSENT, True, "true-absent"),
    ("Null", "true", "vpc-1", False, "true-present"),
    ("Null", "false", "vpc-1", True, "false-present"),
    ("Null", "false", ABSENT, False, "false-absent"),
    ("Null", "false", [], False, "false-empty-multivalue-is-null"),
]


@table(NULL)
def test_null(operator: str, values: Any, request_value: Any, expected: bool) -> None:
    assert run(operator, "aws:SourceVpc", values, request_value) is expected


SETS = [
    ("ForAllValues:StringEquals", ["env", "team"], ["env"], True, "forall-subset"),
    ("ForAllValues:StringEquals", ["env", "team"], ["env", "owner"], False, "forall-extra-value"),
    ("ForAllValues:StringEquals", ["env", "team"], [], True, "forall-empty-set"),
    ("ForAllValues:StringEquals", ["env", "team"], ABSENT, True, "forall-absent"),
    ("ForAllValues:StringNotEquals", ["secret"], ["env", "team"], True, "forall-negated-none-listed"),
    ("ForAllValues:StringNotEquals", ["secret"], ["env", "secret"], False, "forall-negated-one-listed"),
    ("ForAnyValue:StringEquals", ["env"], ["owner", "env"], True, "forany-one-match"),
    ("ForAnyValue:StringEquals", ["env"], ["owner"], False, "forany-no-match"),
    ("ForAnyValue:StringEquals", ["env"], [], False, "forany-empty-set"),
    ("ForAnyValue:StringEquals", ["env"], ABSENT, False, "forany-absent"),
    ("ForAnyValue:StringLike", ["clou*", "kms*"], ["cloudformation.amazonaws.com"], True, "forany-like"),
    ("ForAnyValue:StringNotEquals", ["env"], ["env", "owner"], True, "forany-negated-one-other"),
    ("ForAnyValue:StringNotEquals", ["env"], ["env"], False, "forany-negated-all-listed"),
    ("ForAnyValue:StringEqualsIfExists", ["env"], ABSENT, True, "forany-ifexists-absent"),
    ("StringEquals", ["env"], ["owner", "env"], True, "plain-multivalue-any"),
    ("StringNotEquals", ["env"], ["owner", "env"], False, "plain-negated-multivalue-nor"),
]


@table(SETS)
def test_set_operators(operator: str, values: Any, request_value: Any, expected: bool) -> None:
    assert run(operator, "aws:TagKeys", values, request_value) is expected


@pytest.mark.parametrize(
    ("operator", "values", "ctx", "expected"),
    [
        (
            "StringEquals",
            "${aws:PrincipalTag/team}",
            {"aws:ResourceTag/team": "eng", "aws:PrincipalTag/team": "eng"},
            True,
        ),
        ("StringEquals", "${aws:PrincipalTag/team}", {"aws:ResourceTag/team": "eng"}, False),
        ("StringNotEquals", "${aws:PrincipalTag/team}", {"aws:ResourceTag/team": "eng"}, True),
        ("StringLike", ["home/", "home/${aws:username}/*"], {"aws:ResourceTag/team": "home/"}, True),
        ("StringEquals", "${aws:PrincipalTag/team, 'eng'}", {"aws:ResourceTag/team": "eng"}, True),
        (
            "StringLike",
            "${aws:PrincipalTag/team}",
            {"aws:ResourceTag/team": "e*", "aws:PrincipalTag/team": "e*"},
            True,
        ),
        (
            "StringLike",
            "${aws:PrincipalTag/team}",
            {"aws:ResourceTag/team": "eng", "aws:PrincipalTag/team": "e*"},
            False,
        ),
    ],
    ids=[
        "abac-equal",
        "abac-unresolvable-never-matches",
        "abac-unresolvable-value-negated-true",
        "unresolvable-value-others-still-match",
        "abac-default",
        "variable-star-literal-hit",
        "variable-star-not-wildcard",
    ],
)
def test_variables_in_values(operator: str, values: str, ctx: dict[str, str], expected: bool) -> None:
    assert run(operator, "aws:ResourceTag/team", values, ABSENT, extra=ctx) is expected


def test_key_lookup_case_insensitive() -> None:
    assert run("StringEquals", "AWS:SOURCEVPC", "vpc-1", ABSENT, extra={"aws:SourceVpc": "vpc-1"})


@pytest.mark.parametrize(
    ("name", "known"),
    [
        ("StringEquals", True),
        ("stringequals", True),
        ("ForAnyValue:StringLikeIfExists", True),
        ("ForAllValues:NumericLessThan", True),
        ("NullIfExists", False),
        ("StringEqual", False),
        ("ForSomeValues:StringEquals", False),
        ("ArnNotLikeIfExists", True),
    ],
    ids=lambda v: str(v),
)
def test_parse_operator(name: str, known: bool) -> None:
    assert (parse_operator(name) is not None) is known


def test_every_documented_base_operator_is_in_the_table() -> None:
    documented = {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
        "Null",
    }
    assert {op.name for op in OPERATORS.values()} == documented
