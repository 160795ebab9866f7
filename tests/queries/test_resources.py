"""Stored resources in questions: `simulate` applies a stored resource's policy (an S3 object its bucket's, a
KMS key's required), and whether a policy is open to anyone."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphiam.changes.load import load_files
from graphiam.graph.snapshot import Snapshot, build_snapshot
from graphiam.policy import Decision
from graphiam.queries.resources import is_public, public_statement_indexes
from graphiam.queries.simulate import simulate
from graphiam.store import open_database
from tests.helpers import COLLECT_A, COLLECT_B, KEY_ID, allow, doc, one_user_export, write_iam_collect_store

BOB = f"arn:aws:iam::{COLLECT_B}:user/bob"
READER = f"arn:aws:iam::{COLLECT_B}:role/reader"
ALICE = f"arn:aws:iam::{COLLECT_A}:user/team/Alice"
APP = f"arn:aws:iam::{COLLECT_A}:role/app-role"
KEY = f"arn:aws:kms:us-east-1:{COLLECT_A}:key/{KEY_ID}"
SECRET = f"arn:aws:secretsmanager:us-east-1:{COLLECT_A}:secret:db-AbCdEf"


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snapshot]:
    db = open_database(None)
    load_files(db, [write_iam_collect_store(tmp_path_factory.mktemp("collect"))])
    yield build_snapshot(db)
    db.close()


@pytest.mark.parametrize(
    ("principal", "action", "resource", "decision", "used"),
    [
        # another account's user: its identity policy allows, the bucket policy allows its account
        (BOB, "s3:GetObject", "arn:aws:s3:::shared-data/reports/q1.csv", Decision.ALLOWED, "stored"),
        # the same, on a bucket without a policy: across accounts nothing allows it
        (BOB, "s3:GetObject", "arn:aws:s3:::no-policy/x", Decision.IMPLICIT_DENY, None),
        (BOB, "s3:GetObject", "arn:aws:s3:::public-site/index.html", Decision.ALLOWED, "stored"),
        # the key policy names the reader role; bob is named nowhere
        (READER, "kms:Decrypt", KEY, Decision.ALLOWED, "stored"),
        (BOB, "kms:Decrypt", KEY, Decision.IMPLICIT_DENY, "stored"),
        # same account: the key policy delegates to the account; alice's identity policy allows, app's not
        (ALICE, "kms:Decrypt", KEY, Decision.ALLOWED, "stored"),
        (APP, "kms:Decrypt", KEY, Decision.IMPLICIT_DENY, "stored"),
        (READER, "secretsmanager:GetSecretValue", SECRET, Decision.ALLOWED, "stored"),
        (BOB, "secretsmanager:GetSecretValue", SECRET, Decision.IMPLICIT_DENY, "stored"),
    ],
)
def test_simulate_applies_the_stored_policy(
    snap: Snapshot, principal: str, action: str, resource: str, decision: Decision, used: str | None
) -> None:
    s = simulate(snap, principal=principal, action=action, resource=resource)
    assert (s.evaluation.decision, s.resource_policy_used) == (decision, used)


def test_a_given_policy_still_wins_over_the_stored_one(snap: Snapshot) -> None:
    deny_all = doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"})
    s = simulate(
        snap,
        principal=BOB,
        action="s3:GetObject",
        resource="arn:aws:s3:::shared-data/x",
        resource_policy=deny_all,
    )
    assert (s.evaluation.decision, s.resource_policy_used) == (Decision.EXPLICIT_DENY, "given")


def _config_key(tmp_path: Path, key_statement: dict[str, Any]) -> Path:
    account = "123456789012"
    key = f"arn:aws:kms:us-east-1:{account}:key/k1"
    queue = f"arn:aws:sqs:us-east-1:{account}:q1"
    only_other = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:role/other"},
            "Action": "*",
            "Resource": "*",
        }
    )
    items = [
        {
            "awsAccountId": account,
            "resourceType": "AWS::KMS::Key",
            "ARN": key,
            "resourceId": "k1",
            "awsRegion": "us-east-1",
            "configuration": {},
            "supplementaryConfiguration": {"Policy": json.dumps(doc(key_statement))},
        },
        {
            "awsAccountId": account,
            "resourceType": "AWS::SQS::Queue",
            "ARN": queue,
            "resourceId": "q1",
            "awsRegion": "us-east-1",
            "configuration": {"Policy": json.dumps(only_other)},
            "supplementaryConfiguration": {},
        },
    ]
    path = tmp_path / "config.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"configurationItems": items}).encode()))
    gaad = tmp_path / "gaad.json"
    gaad.write_text(
        json.dumps(one_user_export(f"arn:aws:iam::{account}:user/kim", doc(allow(["kms:*", "sqs:*"]))))
    )
    return tmp_path


@pytest.mark.parametrize(
    ("key_principal", "decision"),
    [
        ({"AWS": "arn:aws:iam::123456789012:role/other"}, Decision.IMPLICIT_DENY),
        ({"AWS": "123456789012"}, Decision.ALLOWED),
    ],
)
def test_a_key_policy_must_allow_but_a_queue_policy_need_not(
    tmp_path: Path, key_principal: dict[str, str], decision: Decision
) -> None:
    folder = _config_key(
        tmp_path, {"Effect": "Allow", "Principal": key_principal, "Action": "kms:*", "Resource": "*"}
    )
    db = open_database(None)
    load_files(db, [folder / "gaad.json", folder / "config.json.gz"])
    snap = build_snapshot(db)
    kim = "arn:aws:iam::123456789012:user/kim"
    on_key = simulate(
        snap, principal=kim, action="kms:Decrypt", resource="arn:aws:kms:us-east-1:123456789012:key/k1"
    )
    assert on_key.evaluation.decision is decision
    # a queue policy naming someone else does not stop the account's own principal its identity policy allows
    on_queue = simulate(
        snap, principal=kim, action="sqs:SendMessage", resource="arn:aws:sqs:us-east-1:123456789012:q1"
    )
    assert (on_queue.evaluation.decision, on_queue.resource_policy_used) == (Decision.ALLOWED, "stored")
    db.close()


def _one(statement: dict[str, Any]) -> str:
    return json.dumps(doc({"Action": "s3:GetObject", "Resource": "*", **statement}))


@pytest.mark.parametrize(
    ("statement", "public"),
    [
        ({"Effect": "Allow", "Principal": "*"}, True),
        ({"Effect": "Allow", "Principal": {"AWS": "*"}}, True),
        ({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111111111111:root"}}, True),
        ({"Effect": "Deny", "Principal": "*"}, False),
        ({"Effect": "Allow", "Principal": {"AWS": "111111111111"}}, False),
        (
            {
                "Effect": "Allow",
                "Principal": "*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
            },
            False,
        ),
        (
            {
                "Effect": "Allow",
                "Principal": "*",
                "Condition": {"StringEquals": {"AWS:SourceAccount": "111111111111"}},
            },
            False,
        ),
        (
            {"Effect": "Allow", "Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
            False,
        ),
        (
            {
                "Effect": "Allow",
                "Principal": "*",
                "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
            },
            False,
        ),
        # conditions that do not limit who calls
        ({"Effect": "Allow", "Principal": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}, True),
        (
            {
                "Effect": "Allow",
                "Principal": "*",
                "Condition": {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abcdefghij"}},
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Principal": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
            },
            True,
        ),
        ({"Effect": "Allow", "Principal": "*", "Condition": {"StringLike": {"aws:PrincipalArn": "*"}}}, True),
    ],
)
def test_public_is_an_allow_to_anyone_without_a_limiting_condition(
    statement: dict[str, Any], public: bool
) -> None:
    assert is_public(_one(statement)) is public
    assert public_statement_indexes(_one(statement)) == ([0] if public else [])
    assert not is_public(None)


def test_simulate_applies_the_stored_rcps_of_the_resources_account(tmp_path: Path) -> None:
    # a user of an account outside the stored organization, allowed s3:GetObject everywhere; the public
    # bucket's policy allows anyone, and the root's RCP denies S3 to callers outside the organization
    outsider = "arn:aws:iam::777777777777:user/outsider"
    export = tmp_path / "outsider.json"
    export.write_text(json.dumps(one_user_export(outsider, doc(allow("s3:GetObject", "*")))))
    db = open_database(None)
    try:
        load_files(db, [write_iam_collect_store(tmp_path / "collect"), export])
        snap = build_snapshot(db)
        obj = "arn:aws:s3:::public-site/index.html"
        stored = simulate(snap, principal=outsider, action="s3:GetObject", resource=obj)
        assert stored.evaluation.decision is Decision.EXPLICIT_DENY
        assert stored.evaluation.rcp_decision is Decision.EXPLICIT_DENY
        assert any(m.source.via == "rcp" for m in stored.evaluation.matched)
        # RCPs given replace the stored ones (here: none that deny)
        given = simulate(snap, principal=outsider, action="s3:GetObject", resource=obj, rcps=[[]])
        assert given.evaluation.decision is Decision.ALLOWED
        # a member of the organization is not denied by it
        member = simulate(snap, principal=BOB, action="s3:GetObject", resource=obj)
        assert member.evaluation.decision is Decision.ALLOWED
        assert member.evaluation.rcp_decision is Decision.ALLOWED
        # RCPs do not apply to IAM: no decision and, since nobody gave them, no warning
        iam = simulate(snap, principal=BOB, action="iam:ListUsers", resource="*")
        assert iam.evaluation.rcp_decision is None
        assert not any("RCPs" in w for w in iam.warnings)
    finally:
        db.close()
