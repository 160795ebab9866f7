"""The import summary's sensitive actions: decided once per class of principals (`SensitiveDecider`), and
always what deciding each principal alone (`share=False`) gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphiam.changes.load import load_files
from graphiam.graph.snapshot import build_snapshot
from graphiam.queries.sensitive import DEFAULT_SENSITIVE, sensitive_section
from graphiam.store import open_database
from tests.helpers import (
    ACCT,
    allow,
    arn,
    cm,
    deny,
    doc,
    export,
    generated_exports,
    managed_policy,
    user,
    write,
)

IAM_ALL = cm("IamAll")
TEAM_S3 = cm("TeamS3")
GET_ONLY = cm("GetOnly")
MANAGEMENT = "999999999999"


def _org() -> dict[str, Any]:
    """An organization governing ACCT: FullAWSAccess at the root and on the account, and there an SCP denying
    iam:CreateUser to everyone but the platform team."""
    full = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    only_platform = doc(
        deny(
            "iam:CreateUser",
            Condition={"StringNotEquals": {"aws:PrincipalTag/team": "platform"}},
        )
    )
    return {
        "Organization": {"Id": "o-sensitive1", "MasterAccountId": MANAGEMENT},
        "Roots": [{"Id": "r-sens"}],
        "Accounts": [{"Id": MANAGEMENT, "ParentId": "r-sens"}, {"Id": ACCT, "ParentId": "r-sens"}],
        "Policies": [
            {"Id": "p-FullAWSAccess", "Content": full, "Targets": ["r-sens", ACCT]},
            {"Id": "p-platform", "Content": only_platform, "Targets": [ACCT]},
        ],
    }


def _crafted() -> dict[str, Any]:
    own_key = {
        "Effect": "Allow",
        "Action": "iam:CreateAccessKey",
        "NotResource": f"arn:aws:iam::{ACCT}:user/${{aws:username}}",
    }
    return export(
        user("alice", managed=(IAM_ALL,), tags={"team": "platform"}),
        user("bob", managed=(IAM_ALL,), tags={"team": "data"}),
        user("carol", managed=(IAM_ALL,)),
        user("dave", managed=(TEAM_S3,), tags={"team": "data"}),
        user("erin", managed=(TEAM_S3,)),
        user("frank", own_key),
        user("gina", own_key),
        user("henry", {"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": "*"}),
        user("ivan", allow("iam:*"), deny("iam:*")),
        user("judy", managed=(IAM_ALL,), boundary=GET_ONLY, tags={"team": "platform"}),
        policies=(
            managed_policy(IAM_ALL, doc(allow("iam:*"))),
            managed_policy(
                TEAM_S3,
                doc(allow("s3:PutObject", Condition={"StringEquals": {"aws:PrincipalTag/team": "data"}})),
            ),
            managed_policy(GET_ONLY, doc(allow("iam:Get*"), allow("s3:*"))),
        ),
    )


def _both(files: list[Path]) -> tuple[dict[str, Any], dict[str, Any]]:
    db = open_database(None, buffer_pool_mb=256)
    try:
        load_files(db, files)
        snap = build_snapshot(db)
    finally:
        db.close()
    shared = sensitive_section(snap, DEFAULT_SENSITIVE, "rules", None)
    alone = sensitive_section(snap, DEFAULT_SENSITIVE, "rules", None, share=False)
    return shared, alone


def _allowed(section: dict[str, Any], name: str) -> set[str]:
    return {section["actions"][i] for i in section["allowed"].get(arn("user", name), [])}


def test_classes_decide_as_each_principal_alone(tmp_path):
    shared, alone = _both([write(tmp_path, "gaad.json", _crafted()), write(tmp_path, "org.json", _org())])
    assert shared == alone
    # the SCP reads the principal's tag: the same policies, three answers
    assert "iam:CreateUser" in _allowed(shared, "alice")
    assert "iam:CreateUser" not in _allowed(shared, "bob") | _allowed(shared, "carol")
    assert "iam:DeleteUser" in _allowed(shared, "bob") & _allowed(shared, "carol")
    # an identity condition on the principal's tag
    assert "s3:PutObject" in _allowed(shared, "dave") and "s3:PutObject" not in _allowed(shared, "erin")
    # a NotResource with a policy variable applies to `*`; a NotResource `*` never does
    assert "iam:CreateAccessKey" in _allowed(shared, "frank") & _allowed(shared, "gina")
    assert "kms:Decrypt" not in _allowed(shared, "henry")
    # an unconditional Deny wins; a boundary caps
    assert not any(a.startswith("iam:") for a in _allowed(shared, "ivan"))
    assert not any(a.startswith("iam:") for a in _allowed(shared, "judy"))


@pytest.mark.parametrize("seed", [3, 8])
def test_a_generated_org_gets_the_answers_of_deciding_each_principal_alone(tmp_path, seed):
    shared, alone = _both(generated_exports(tmp_path, 240, seed=seed, accounts=2))
    assert shared["allowed"] and shared == alone
    assert json.dumps(shared, sort_keys=True) == json.dumps(alone, sort_keys=True)
