"""IAM wildcard and policy-variable matching (graphiam/policy/wildcard.py).

Rules: IAM User Guide "IAM JSON policy elements: Resource" (`*` any run incl. `/`, `?` one char,
case-sensitive ARNs) and "IAM policy elements: Variables and tags" (`${key}`, defaults, `${*}`
escapes, unresolvable variables never match).
"""

from __future__ import annotations

import pytest

from graphiam.policy.wildcard import QUESTION, STAR, Lit, Pattern, Var, tokenize

CTX = {
    "aws:username": "alice",
    "aws:principaltag/team": "eng",
    "aws:tagkeys": ("a", "b"),
    "weird": "a*b?",
}

MATCHES = [
    # (pattern, value, expected, rule)
    ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c", True, "star-spans-slash"),
    ("arn:aws:s3:::bucket*", "arn:aws:s3:::bucket", True, "star-matches-empty"),
    ("arn:aws:s3:::data-?/*", "arn:aws:s3:::data-1/x", True, "question-one-char"),
    ("arn:aws:s3:::data-?/*", "arn:aws:s3:::data-10/x", False, "question-not-two-chars"),
    ("arn:aws:s3:::data-?", "arn:aws:s3:::data-", False, "question-not-zero-chars"),
    ("arn:aws:s3:::Data/*", "arn:aws:s3:::data/x", False, "resource-case-sensitive"),
    ("arn:aws:s3:::a.b", "arn:aws:s3:::aXb", False, "dot-is-literal"),
    ("arn:aws:s3:::a+(b)", "arn:aws:s3:::a+(b)", True, "regex-metachars-literal"),
    ("*", "anything:at/all", True, "lone-star"),
    ("arn:aws:iam::*:user/*", "arn:aws:iam::123456789012:user/x", True, "star-spans-colon"),
    ("arn:aws:s3:::home/${aws:username}/*", "arn:aws:s3:::home/alice/f", True, "variable-resolved"),
    ("arn:aws:s3:::home/${aws:username}/*", "arn:aws:s3:::home/bob/f", False, "variable-other-value"),
    ("arn:aws:s3:::home/${AWS:UserName}", "arn:aws:s3:::home/alice", True, "variable-key-case-insensitive"),
    ("arn:aws:s3:::t/${aws:PrincipalTag/team}", "arn:aws:s3:::t/eng", True, "variable-principal-tag"),
    ("arn:aws:s3:::x/${aws:SourceVpc}", "arn:aws:s3:::x/", False, "unresolvable-never-matches"),
    ("arn:aws:s3:::x/${aws:SourceVpc}*", "arn:aws:s3:::x/anything", False, "unresolvable-never-matches-star"),
    ("arn:aws:s3:::x/${aws:SourceVpc, 'none'}", "arn:aws:s3:::x/none", True, "default-value"),
    ("arn:aws:s3:::x/${aws:username, 'none'}", "arn:aws:s3:::x/alice", True, "default-unused-when-present"),
    ("arn:aws:s3:::x/${aws:TagKeys}", "arn:aws:s3:::x/a", False, "multivalued-key-not-a-variable"),
    ("arn:aws:s3:::x/${weird}", "arn:aws:s3:::x/a*b?", True, "context-star-is-literal"),
    ("arn:aws:s3:::x/${weird}", "arn:aws:s3:::x/aZZbQ", False, "context-star-not-wildcard"),
    ("arn:aws:s3:::x/${*}", "arn:aws:s3:::x/*", True, "escape-star-literal"),
    ("arn:aws:s3:::x/${*}", "arn:aws:s3:::x/abc", False, "escape-star-not-wildcard"),
    ("arn:aws:s3:::x/${?}${$}", "arn:aws:s3:::x/?$", True, "escape-question-dollar"),
    ("arn:aws:s3:::x/${unclosed", "arn:aws:s3:::x/${unclosed", True, "unclosed-variable-literal"),
]


@pytest.mark.parametrize(
    ("pattern", "value", "expected"), [m[:3] for m in MATCHES], ids=[m[3] for m in MATCHES]
)
def test_resource_pattern(pattern: str, value: str, expected: bool) -> None:
    assert Pattern(pattern, wildcards=True, variables=True).matches(value, CTX) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/${aws:username}/k", True),
        ("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/alice/k", False),
    ],
    ids=["version-2008-variable-is-literal", "version-2008-variable-not-resolved"],
)
def test_variables_off_is_literal(pattern: str, value: str, expected: bool) -> None:
    assert Pattern(pattern, wildcards=True, variables=False).matches(value, CTX) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"), [m[:3] for m in MATCHES], ids=[m[3] for m in MATCHES]
)
def test_bound_matcher_agrees_with_matches(pattern: str, value: str, expected: bool) -> None:
    """`Pattern.bound` resolves the variables once for many values: the same answers as `matches`, and None
    when a variable cannot be resolved (the pattern then matches nothing)."""
    p = Pattern(pattern, wildcards=True, variables=True)
    bound = p.bound(CTX)
    if bound is None:
        assert not expected and p.resolve(CTX) is None
    else:
        assert bound(value) is expected


def test_bound_matcher_ignores_case_when_the_pattern_does() -> None:
    bound = Pattern("s3:get${x}", wildcards=True, variables=True, ignore_case=True).bound({"x": "Obj*"})
    assert bound is not None and bound("S3:GETOBJ*") and not bound("s3:getobject")


def test_ignore_case_for_actions() -> None:
    p = Pattern("s3:get*", wildcards=True, variables=False, ignore_case=True)
    assert p.matches("S3:GetObject", {})
    assert not p.matches("s3:PutObject", {})


def test_tokenize_shapes() -> None:
    assert tokenize("a*b?${aws:username, 'x'}${*}", wildcards=True, variables=True) == (
        Lit("a"),
        STAR,
        Lit("b"),
        QUESTION,
        Var(key="aws:username", default="x", raw="${aws:username, 'x'}"),
        Lit("*"),
    )
    assert tokenize("a*b", wildcards=False, variables=True) == (Lit("a*b"),)


def test_static_patterns_are_precompiled() -> None:
    assert Pattern("arn:aws:s3:::b/*", wildcards=True, variables=True).is_static
    assert not Pattern("arn:aws:s3:::${aws:username}", wildcards=True, variables=True).is_static
