"""ARN parsing and principal helpers (graphiam/arn.py); AWS General Reference "Amazon Resource Names"."""

from __future__ import annotations

import pytest

from graphiam import arn as A
from graphiam.errors import ArnError


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("arn:aws:s3:::bucket/a:b/c", ("aws", "s3", "", "", "bucket/a:b/c")),
        ("arn:aws:iam::123456789012:user/path/alice", ("aws", "iam", "", "123456789012", "user/path/alice")),
        (
            "arn:aws-cn:sns:cn-north-1:123456789012:topic",
            ("aws-cn", "sns", "cn-north-1", "123456789012", "topic"),
        ),
    ],
    ids=["s3-resource-keeps-colons", "iam-user", "china-partition"],
)
def test_parse(text: str, fields: tuple[str, ...]) -> None:
    arn = A.parse_arn(text)
    assert (arn.partition, arn.service, arn.region, arn.account, arn.resource) == fields
    assert str(arn) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bucket", "not an ARN: `bucket`: expected `arn:partition:service:region:account:resource`"),
        ("arn:aws:s3:::", "invalid ARN `arn:aws:s3:::`: empty resource"),
        ("arn::s3:::b", "invalid ARN `arn::s3:::b`: empty partition"),
        ("arn:aws::::b", "invalid ARN `arn:aws::::b`: empty service"),
    ],
    ids=["not-arn", "empty-resource", "empty-partition", "empty-service"],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ArnError) as info:
        A.parse_arn(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "account"),
    [
        ("arn:aws:s3:::b", None),
        ("123456789012", "123456789012"),
        ("*", None),
        ("arn:aws:iam::123456789012:root", "123456789012"),
    ],
    ids=["s3-no-account", "bare-id", "star", "root"],
)
def test_account_of(text: str, account: str | None) -> None:
    assert A.account_of(text) == account


def test_principal_helpers() -> None:
    role = "arn:aws:iam::123456789012:role/app/worker"
    session = A.assumed_role_arn(role, "s1")
    assert session == "arn:aws:sts::123456789012:assumed-role/worker/s1"
    assert A.role_arn_of_session(session, "/app/") == role
    assert A.role_name(role) == A.role_name(session) == "worker"
    assert A.is_role_arn(role) and not A.is_role_arn(session) and A.is_assumed_role_arn(session)
    assert A.account_root("123456789012") == "arn:aws:iam::123456789012:root"
    assert A.is_account_root("arn:aws:iam::123456789012:root")


@pytest.mark.parametrize(
    ("text", "ptype"),
    [
        ("arn:aws:iam::1:user/a", "User"),
        ("arn:aws:iam::1:role/r", "AssumedRole"),
        ("arn:aws:sts::1:assumed-role/r/s", "AssumedRole"),
        ("arn:aws:iam::1:root", "Account"),
    ],
    ids=["user", "role", "session", "root"],
)
def test_principal_type_of(text: str, ptype: str) -> None:
    assert A.principal_type_of(text) == ptype


def test_principal_type_of_rejects_services() -> None:
    with pytest.raises(ArnError):
        A.principal_type_of("ec2.amazonaws.com")
