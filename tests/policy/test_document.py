"""Parsing policy JSON into typed statements (graphiam/policy/document.py).

Rules: IAM User Guide "IAM JSON policy element reference" (single value or list; `"Principal": "*"`),
"IAM JSON policy elements: Version" (variables only in 2012-10-17) and "GetAccountAuthorizationDetails"
(URL-encoded documents).
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from graphiam.errors import PolicyParseError
from graphiam.policy import PolicyDocument, parse_policy

DOC = {
    "Version": "2012-10-17",
    "Id": "doc-1",
    "Statement": [
        {"Sid": "One", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {
            "Effect": "Deny",
            "NotAction": ["iam:*", "sts:*"],
            "NotResource": "arn:aws:s3:::x",
            "Condition": {"Bool": {"aws:SecureTransport": False}, "NumericLessThan": {"s3:max-keys": 10}},
        },
        {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
        {
            "Effect": "Allow",
            "NotPrincipal": {"AWS": "123456789012", "Service": ["ec2.amazonaws.com"]},
            "Action": "*",
            "Resource": "*",
        },
    ],
}


@pytest.mark.parametrize(
    "form",
    [DOC, json.dumps(DOC), quote(json.dumps(DOC), safe=""), "  " + json.dumps(DOC)],
    ids=["dict", "json-text", "url-encoded-gaad", "json-with-whitespace"],
)
def test_accepts_every_input_form(form: object) -> None:
    doc = parse_policy(form)  # type: ignore[arg-type]
    assert isinstance(doc, PolicyDocument)
    assert doc.version == "2012-10-17" and doc.id == "doc-1" and len(doc.statements) == 4
    assert doc.raw == DOC


def test_statements_are_normalised() -> None:
    one, two, three, four = parse_policy(DOC).statements
    assert (one.index, one.sid, one.effect, one.actions, one.resources) == (
        0,
        "One",
        "Allow",
        ("s3:GetObject",),
        ("arn:aws:s3:::b/*",),
    )
    assert one.not_actions is None and one.principals is None and one.conditions is None
    assert two.not_actions == ("iam:*", "sts:*") and two.not_resources == ("arn:aws:s3:::x",)
    assert two.conditions == {
        "Bool": {"aws:SecureTransport": ("false",)},
        "NumericLessThan": {"s3:max-keys": ("10",)},
    }
    assert two.condition_keys() == {"aws:SecureTransport", "s3:max-keys"}
    assert three.principals == {"AWS": ("*",)}, "`Principal: *` is normalised"
    assert three.resources is None and three.not_resources is None
    assert four.not_principals == {"AWS": ("123456789012",), "Service": ("ec2.amazonaws.com",)}


def test_single_statement_object() -> None:
    doc = parse_policy(
        {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}
    )
    assert len(doc.statements) == 1 and doc.statements[0].index == 0


@pytest.mark.parametrize(
    ("action", "expected"),
    [("s3:GetObject", True), ("S3:GETOBJECT", True), ("s3:PutObject", False)],
    ids=["exact", "case-insensitive", "other-action"],
)
def test_may_match_action(action: str, expected: bool) -> None:
    assert parse_policy(DOC).statements[0].may_match_action(action) is expected


@pytest.mark.parametrize(
    ("action", "expected"),
    [("iam:CreateUser", False), ("s3:GetObject", True)],
    ids=["notaction-excluded", "notaction-other-service"],
)
def test_may_match_notaction(action: str, expected: bool) -> None:
    assert parse_policy(DOC).statements[1].may_match_action(action) is expected


def test_statements_for_is_memoised_per_action() -> None:
    doc = parse_policy(DOC)
    first = doc.statements_for("s3:getobject")
    assert [s.index for s in first] == [0, 1, 3]
    assert doc.statements_for("s3:getobject") is first


@pytest.mark.parametrize(
    ("doc", "problems"),
    [
        (
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*"},
                    {"Effect": "Alow", "Action": "*", "Resource": "*"},
                ],
            },
            [("$.Statement[1].Effect", "must be Allow or Deny, got `Alow`")],
        ),
        (
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}],
            },
            [("$.Statement[0]", "`Action` and `NotAction` cannot both be present")],
        ),
        (
            {
                "Version": "2012-10-17",
                "Statement": {"Effect": "Deny", "Resource": "*", "Condition": {"StringEqual": {"k": "v"}}},
            },
            [
                ("$.Statement", "missing `Action` or `NotAction`"),
                ("$.Statement.Condition.StringEqual", "unknown condition operator `StringEqual`"),
            ],
        ),
        ("not json", [("$", "not valid JSON: Expecting value at line 1 column 1")]),
        ("[1, 2]", [("$", "expected a JSON object, got list")]),
        ({"Version": "2012-10-17"}, [("$", "missing `Statement`")]),
    ],
    ids=[
        "bad-effect",
        "action-and-notaction",
        "collects-every-problem",
        "not-json",
        "not-an-object",
        "no-statement",
    ],
)
def test_parse_errors_name_json_paths(doc: object, problems: list[tuple[str, str]]) -> None:
    with pytest.raises(PolicyParseError) as info:
        parse_policy(doc, where="policy/x")  # type: ignore[arg-type]
    assert info.value.problems == problems
    assert info.value.where == "policy/x"
    assert str(info.value).startswith("policy/x: invalid policy document: ")


def test_warnings_do_not_stop_parsing() -> None:
    doc = parse_policy({"Statement": [{"Effect": "Allow", "Action": "s3:*"}]})
    assert doc.version is None and not doc.variables_enabled
