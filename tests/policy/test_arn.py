"""ARN parsing and principal helpers (graphiam/arn.py); AWS General Reference "Amazon Resource Names"."""

from __future__ import annotations

from typing import Any

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


@pytest.mark.parametrize(
    ("text", "ptype"),
    [
        ("arn:aws:iam::123456789012:user/dev/bob", "User"),
        ("arn:aws:iam::123456789012:role/app", "AssumedRole"),
        ("arn:aws:sts::123456789012:assumed-role/app/s1", "AssumedRole"),
        ("arn:aws:iam::123456789012:root", "Account"),
        ("arn:aws:sts::123456789012:federated-user/jane", "FederatedUser"),
        ("arn:aws:iam::123456789012:saml-provider/okta", "SAML"),
        ("arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com", "WebIdentity"),
        ("cognito-identity.amazonaws.com", "WebIdentity"),
        ("events.amazonaws.com", "Service"),
        ("logging.s3.amazonaws.com", "Service"),
        ("*", "Anonymous"),
        ("anonymous", "Anonymous"),
    ],
)
def test_caller_type_reads_every_caller_form(text: str, ptype: str) -> None:
    assert A.caller_type(text) == ptype


@pytest.mark.parametrize("text", ["bob", "arn:aws:s3:::bucket", "Events.Amazonaws.com", ""])
def test_caller_type_names_the_forms_it_accepts(text: str) -> None:
    with pytest.raises(ArnError, match="unknown caller .*service principal"):
        A.caller_type(text)


# -- IAM entity ARNs: one parser, two acceptance rules (the GAAD importer's and the mutations') -----------

ID = "123456789012"


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (f"arn:aws:iam::{ID}:user/alice", ("aws", ID, "user", "/", "alice")),
        (f"arn:aws:iam::{ID}:role/app/team/worker", ("aws", ID, "role", "/app/team/", "worker")),
        (f"arn:aws-cn:iam::{ID}:group//g", ("aws-cn", ID, "group", "//", "g")),
        ("arn:aws:iam::aws:policy/AdministratorAccess", ("aws", "aws", "policy", "/", "AdministratorAccess")),
        (
            f"arn:aws-iso-b:iam::{ID}:instance-profile/p:x/ip",
            ("aws-iso-b", ID, "instance-profile", "/p:x/", "ip"),
        ),
        (f"arn:aws:iam::{ID}:user/a+b=c,d.e@f-g_h", ("aws", ID, "user", "/", "a+b=c,d.e@f-g_h")),
    ],
    ids=["user", "role-with-path", "empty-path-segment", "aws-managed", "colon-in-path", "name-characters"],
)
def test_parse_iam_arn(text: str, fields: tuple[str, ...]) -> None:
    arn = A.parse_iam_arn(text)
    assert arn is not None
    assert (arn.partition, arn.account, arn.kind, arn.path, arn.name) == fields
    assert str(arn) == text


@pytest.mark.parametrize(
    "text",
    [
        f"arn:aws:sts::{ID}:assumed-role/r/s",
        f"arn:aws:iam:us-east-1:{ID}:user/a",
        "arn:aws:iam::1234:user/a",
        f"arn:aws:iam::{ID}:root",
        f"arn:aws:iam::{ID}:user",
        f"arn:aws:iam::{ID}:user/",
        f"arn:aws:iam::{ID}:user/a b",
        f"arn:aws:iam::{ID}:user/p th/a",
        f"arn:aws:iam::{ID}:users/a",
        f"arn:aws:iam::{ID}:saml-provider/a",
        f"arn:aws-x:iam::{ID}:user/a",
        f"arn:aws:iam::{ID}:user/a\n",
        f"xarn:aws:iam::{ID}:user/a",
        "alice",
    ],
    ids=[
        "sts",
        "region",
        "short-account",
        "root",
        "no-name",
        "empty-name",
        "space-in-name",
        "space-in-path",
        "unknown-kind",
        "provider",
        "unknown-partition",
        "trailing-newline",
        "prefix",
        "not-arn",
    ],
)
def test_parse_iam_arn_rejects(text: str) -> None:
    assert A.parse_iam_arn(text) is None


GAAD_PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b")
MUTATION_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


def _gaad_accepts(kind: str, arn: str) -> bool:
    """Whether the GAAD importer takes `arn` where it expects a `kind` ARN."""
    from graphiam.errors import IngestError
    from graphiam.ingest.gaad import parse_gaad

    user: dict[str, Any] = {"UserName": "u", "Arn": f"arn:aws:iam::{ID}:user/u"}
    data: dict[str, Any]
    if kind == "user":
        data = {"UserDetailList": [{**user, "Arn": arn}]}
    elif kind == "policy":
        data = {"UserDetailList": [{**user, "AttachedManagedPolicies": [{"PolicyArn": arn}]}]}
    elif kind == "instance-profile":
        profile = {"Arn": arn, "InstanceProfileName": "p"}
        role = {"RoleName": "r", "Arn": f"arn:aws:iam::{ID}:role/r", "InstanceProfileList": [profile]}
        data = {"RoleDetailList": [role]}
    else:
        raise AssertionError(kind)
    try:
        parse_gaad(data)
    except IngestError:
        return False
    return True


def _mutation_accepts(kind: str, arn: str) -> bool:
    """Whether a mutation takes `arn` as the ARN of a `kind`."""
    from graphiam.changes.checks import check_arn
    from graphiam.errors import ChangeError

    try:
        check_arn(arn, kind)
    except ChangeError:
        return False
    return True


@pytest.mark.parametrize("partition", [*GAAD_PARTITIONS, "aws-iso-e"])
def test_the_importer_accepts_five_partitions(partition: str) -> None:
    arn = f"arn:{partition}:iam::{ID}:user/alice"
    assert _gaad_accepts("user", arn) is (partition in GAAD_PARTITIONS)
    assert (A.parse_iam_arn(arn) is not None) is (partition in GAAD_PARTITIONS)


@pytest.mark.parametrize("partition", GAAD_PARTITIONS)
def test_mutations_accept_three_partitions(partition: str) -> None:
    arn = f"arn:{partition}:iam::{ID}:user/alice"
    assert _mutation_accepts("user", arn) is (partition in MUTATION_PARTITIONS)


def test_the_importer_accepts_instance_profiles_and_mutations_do_not() -> None:
    arn = f"arn:aws:iam::{ID}:instance-profile/web"
    assert _gaad_accepts("instance-profile", arn)
    assert not _mutation_accepts("instance-profile", arn)
    assert A.parse_iam_arn(arn, kinds=("user", "group", "role", "policy")) is None


@pytest.mark.parametrize("kind", ["user", "group", "role", "policy"])
def test_mutations_accept_users_groups_roles_and_policies(kind: str) -> None:
    assert _mutation_accepts(kind, f"arn:aws:iam::{ID}:{kind}/x/n")
    other = "role" if kind == "user" else "user"
    assert not _mutation_accepts(kind, f"arn:aws:iam::{ID}:{other}/n")


def test_account_aws_names_only_aws_managed_policies_in_mutations() -> None:
    assert _mutation_accepts("policy", "arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert not _mutation_accepts("user", "arn:aws:iam::aws:user/alice")
    # the importer has never checked this: an export's ARNs are AWS's own
    assert _gaad_accepts("user", "arn:aws:iam::aws:user/alice")


def test_a_trailing_newline_is_not_part_of_an_arn() -> None:
    assert not _gaad_accepts("user", f"arn:aws:iam::{ID}:user/alice\n")
    assert not _mutation_accepts("user", f"arn:aws:iam::{ID}:user/alice\n")


@pytest.mark.parametrize(
    ("text", "linked"),
    [
        (f"arn:aws:iam::{ID}:role/aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForEB", True),
        (f"arn:aws:iam::{ID}:role/app/aws-service-role/x", False),
        (f"arn:aws:iam::{ID}:user/aws-service-role/x", False),
        (f"arn:aws:sts::{ID}:assumed-role/AWSServiceRoleForEB/s", False),
    ],
    ids=["service-linked", "deeper-path", "user", "session"],
)
def test_is_service_linked_role(text: str, linked: bool) -> None:
    assert A.is_service_linked_role(text) is linked
