"""`?` in Action, NotAction, Resource and NotResource matches exactly one character: not zero, not two (IAM
User Guide "IAM JSON policy elements: Action" and "…: Resource"). The character may be any (`/` included);
Actions compare case-insensitively, Resources case-sensitively; the `?` in a resolved policy variable's value
is a literal character.

Every case is decided twice (the `decide` fixture): by the policy engine's public API and by GraphQL
simulateCustom."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import allow, deny, doc

# (Action pattern, requested action, matches)
ACTIONS = [
    ("s3:Get?bject", "s3:GetObject", True),
    ("s3:Get?bject", "s3:Getbject", False),  # zero characters
    ("s3:Get?bject", "s3:GetOObject", False),  # two characters
    ("s3:GetObjec?", "s3:GetObject", True),
    ("s3:GetObjec?", "s3:GetObjectAcl", False),  # `?` at the end is not a prefix match
    ("s3:GetObject?", "s3:GetObject", False),  # a trailing `?` still needs a character
    ("?3:GetObject", "s3:GetObject", True),
    ("s3:?etObject", "s3:GetObject", True),
    ("s3:Get??ject", "s3:GetObject", True),
    ("s3:Get??ject", "s3:GetOject", False),  # two marks, one character
    ("s3:Get??ject", "s3:GetObbject", False),  # two marks, three characters
    ("S3:get?BJECT", "s3:GetObject", True),  # Action names are case-insensitive
    ("s3:*Objec?", "s3:GetObject", True),
    ("s3:*Objec?", "s3:GetObjectAcl", False),
    ("iam:?etUser", "iam:GetUser", True),
    ("iam:?etUser", "iam:etUser", False),
]
ACTION_IDS = [f"{p}~{a}" for p, a, _ in ACTIONS]

# (Resource pattern, requested resource, matches)
RESOURCES = [
    ("arn:aws:s3:::bucket-?/*", "arn:aws:s3:::bucket-a/k", True),
    ("arn:aws:s3:::bucket-?/*", "arn:aws:s3:::bucket-/k", False),  # zero characters
    ("arn:aws:s3:::bucket-?/*", "arn:aws:s3:::bucket-ab/k", False),  # two characters
    ("arn:aws:s3:::b/??", "arn:aws:s3:::b/ab", True),
    ("arn:aws:s3:::b/??", "arn:aws:s3:::b/a", False),
    ("arn:aws:s3:::b/??", "arn:aws:s3:::b/abc", False),
    ("arn:aws:s3:::b?k", "arn:aws:s3:::b/k", True),  # any character, the slash too
    ("arn:aws:s3:::b/k?", "arn:aws:s3:::b/k", False),  # a trailing `?` still needs a character
    ("arn:aws:s3:::b/k?", "arn:aws:s3:::b/kk", True),
    ("arn:aws:s3:::b/*?", "arn:aws:s3:::b/", False),  # `*` may be empty, `?` may not
    ("arn:aws:s3:::b/*?", "arn:aws:s3:::b/x", True),
    ("arn:aws:s3:::b/?", "arn:aws:s3:::b/?", True),  # a literal `?` is one character
    ("arn:aws:s3:::B-?", "arn:aws:s3:::b-1", False),  # Resources are case-sensitive
    ("arn:aws:iam::123456789012:user/?", "arn:aws:iam::123456789012:user/a", True),
    ("arn:aws:iam::123456789012:user/?", "arn:aws:iam::123456789012:user/ab", False),
    ("arn:aws:iam::12345678901?:user/a", "arn:aws:iam::123456789012:user/a", True),
]
RESOURCE_IDS = [f"{p}~{r}" for p, r, _ in RESOURCES]


def verdict(allowed: bool) -> str:
    return "ALLOWED" if allowed else "IMPLICIT_DENY"


@pytest.mark.parametrize(("pattern", "action", "matches"), ACTIONS, ids=ACTION_IDS)
def test_question_mark_in_action(decide, pattern, action, matches):
    assert decide([doc(allow(pattern))], action)["decision"] == verdict(matches)


@pytest.mark.parametrize(("pattern", "action", "matches"), ACTIONS, ids=ACTION_IDS)
def test_question_mark_in_not_action(decide, pattern, action, matches):
    st = {"Effect": "Allow", "NotAction": pattern, "Resource": "*"}
    assert decide([doc(st)], action)["decision"] == verdict(not matches)


@pytest.mark.parametrize(("pattern", "action", "matches"), ACTIONS, ids=ACTION_IDS)
def test_question_mark_in_a_denied_action(decide, pattern, action, matches):
    got = decide([doc(allow("*"), deny(pattern))], action)
    assert got["decision"] == ("EXPLICIT_DENY" if matches else "ALLOWED")
    assert got["matched"] == ([("policies[0]", 1, "Deny")] if matches else [("policies[0]", 0, "Allow")])


@pytest.mark.parametrize(("pattern", "resource", "matches"), RESOURCES, ids=RESOURCE_IDS)
def test_question_mark_in_resource(decide, pattern, resource, matches):
    assert decide([doc(allow("*", pattern))], "s3:GetObject", resource)["decision"] == verdict(matches)


@pytest.mark.parametrize(("pattern", "resource", "matches"), RESOURCES, ids=RESOURCE_IDS)
def test_question_mark_in_not_resource(decide, pattern, resource, matches):
    st = {"Effect": "Allow", "Action": "*", "NotResource": pattern}
    assert decide([doc(st)], "s3:GetObject", resource)["decision"] == verdict(not matches)


@pytest.mark.parametrize(("pattern", "resource", "matches"), RESOURCES, ids=RESOURCE_IDS)
def test_question_mark_in_a_denied_resource(decide, pattern, resource, matches):
    got = decide([doc(allow("*"), deny("*", pattern))], "s3:GetObject", resource)
    assert got["decision"] == ("EXPLICIT_DENY" if matches else "ALLOWED")


HOME = "arn:aws:s3:::home/${aws:username}/?"


@pytest.mark.parametrize(
    ("pattern", "username", "resource", "matches"),
    [
        (HOME, "alice", "arn:aws:s3:::home/alice/x", True),
        (HOME, "alice", "arn:aws:s3:::home/alice/", False),
        (HOME, "alice", "arn:aws:s3:::home/alice/xy", False),
        (HOME, "alice", "arn:aws:s3:::home/alic/x", False),
        # the value of a variable is literal text: its `?` matches only a `?`
        ("arn:aws:s3:::home/${aws:username}", "a?c", "arn:aws:s3:::home/a?c", True),
        ("arn:aws:s3:::home/${aws:username}", "a?c", "arn:aws:s3:::home/abc", False),
    ],
)
def test_question_mark_next_to_a_policy_variable(decide, pattern, username, resource, matches):
    context: dict[str, Any] = {"aws:username": username}
    got = decide([doc(allow("s3:GetObject", pattern))], "s3:GetObject", resource, context=context)
    assert got["decision"] == verdict(matches)
