"""Cloudsplaining's exclusions: the file's keys, names by kind, paths, include-actions over
exclude-actions."""

from __future__ import annotations

import pytest

from graphiam.errors import InputError
from graphiam.queries.findings import Exclusions, exclusions_from, merge

ROLE = "arn:aws:iam::111122223333:role/aws-service-role/ssm.amazonaws.com/AWSServiceRoleForAmazonSSM"
USER = "arn:aws:iam::111122223333:user/ops/x"


def test_the_file_keys():
    e = exclusions_from(
        {
            "policies": ["AdministratorAccess"],
            "roles": ["r*"],
            "users": [""],
            "groups": "admins",
            "include-actions": ["s3:GetObject"],
            "exclude-actions": ["s3:*", ""],
        },
        source="x.yml",
    )
    assert e == Exclusions(
        policies=("AdministratorAccess",),
        roles=("r*",),
        groups=("admins",),
        include_actions=("s3:GetObject",),
        actions=("s3:*",),
    )
    assert exclusions_from(None, source="empty.yml") == Exclusions()
    for data, message in (
        ([], "expected a mapping"),
        ({"policy": []}, "unknown key `policy`"),
        ({"users": [1]}, "`users` must be a list of strings"),
    ):
        with pytest.raises(InputError, match=message):
            exclusions_from(data, source="x.yml")


def test_names_by_kind_and_paths():
    roles = Exclusions(roles=("x",))
    assert roles.principal(USER, "x", "user") is False and roles.principal(USER, "x", "role") is True
    assert Exclusions(principals=("X",)).principal(USER, "x", "user")  # any kind, no case
    for pattern in ("aws-service-role*", "/aws-service-role*", "*ForAmazonSSM", ROLE):
        assert Exclusions(roles=(pattern,)).principal(ROLE, ROLE.rsplit("/", 1)[-1], "role"), pattern
    assert not Exclusions(roles=("service-role*",)).principal(ROLE, "AWSServiceRoleForAmazonSSM", "role")


def test_include_actions_win_over_exclude_actions():
    patterns = Exclusions(actions=("s3:*", "iam:Pass*"), include_actions=("s3:GetObject",)).action_patterns()

    def excluded(action: str) -> bool:
        return any(p.fullmatch(action.lower()) for p in patterns)

    assert excluded("s3:PutObject") and excluded("iam:PassRole")
    assert not excluded("s3:GetObject") and not excluded("s3:getobject") and not excluded("ec2:RunInstances")


def test_merge():
    a, b = Exclusions(policies=("p",), users=("u",)), Exclusions(policies=("q",), actions=("s3:*",))
    assert merge(a, b) == Exclusions(policies=("p", "q"), users=("u",), actions=("s3:*",))
