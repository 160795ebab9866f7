"""AWS Config configuration items: snapshots (.json, .json.gz), advanced-query results, merged with a GAAD."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from graphiam.changes.load import load_files
from graphiam.errors import IngestError
from graphiam.graph.snapshot import build_snapshot
from graphiam.ingest.aws_config import parse_config
from graphiam.store import reader
from tests.helpers import allow, doc, one_user_export

A = "123456789012"
ROLE = f"arn:aws:iam::{A}:role/etl"
KEY = f"arn:aws:kms:eu-west-1:{A}:key/0a1b2c3d-1111-2222-3333-444455556666"
QUEUE = f"arn:aws:sqs:eu-west-1:{A}:orders"
TOPIC = f"arn:aws:sns:eu-west-1:{A}:events"
FUNCTION = f"arn:aws:lambda:eu-west-1:{A}:function:resize"
PARTNER = "210987654321"


def _item(kind: str, arn: str | None, name: str, **extra: Any) -> dict[str, Any]:
    """A configuration item as Config writes it into a snapshot file."""
    return {
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": "2025-01-01T00:00:00.000Z",
        "configurationStateId": 1,
        "awsAccountId": A,
        "configurationItemStatus": "OK",
        "resourceType": kind,
        "resourceId": name,
        "resourceName": name,
        "ARN": arn,
        "awsRegion": "eu-west-1",
        "availabilityZone": "Regional",
        "tags": {},
        "relatedEvents": [],
        "relationships": [],
        "configuration": {},
        "supplementaryConfiguration": {},
        **extra,
    }


def _snapshot() -> dict[str, Any]:
    bucket_policy = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::reports/*",
        }
    )
    key_policy = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    queue_policy = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": QUEUE,
        }
    )
    topic_policy = doc(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Subscribe", "Resource": TOPIC}
    )
    function_policy = doc(
        {
            "Sid": "s3",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": FUNCTION,
        }
    )
    trust = doc(
        {"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    return {
        "fileVersion": "1.0",
        "configSnapshotId": "6f9b1b4e-0000-0000-0000-000000000000",
        "configurationItems": [
            _item(
                "AWS::S3::Bucket",
                "arn:aws:s3:::reports",
                "reports",
                tags={"team": "bi"},
                supplementaryConfiguration={"BucketPolicy": {"policyText": json.dumps(bucket_policy)}},
            ),
            _item(
                "AWS::S3::Bucket",
                "arn:aws:s3:::logs",
                "logs",
                supplementaryConfiguration={"BucketPolicy": {"policyText": None}},
            ),
            _item(
                "AWS::KMS::Key",
                KEY,
                KEY.rsplit("/", 1)[-1],
                supplementaryConfiguration={"Policy": json.dumps(key_policy)},
            ),
            _item(
                "AWS::SQS::Queue",
                QUEUE,
                "orders",
                configuration={"QueueUrl": "https://x", "Policy": json.dumps(queue_policy)},
            ),
            _item(
                "AWS::SNS::Topic",
                TOPIC,
                "events",
                configuration={"TopicArn": TOPIC, "Policy": json.dumps(topic_policy)},
            ),
            _item(
                "AWS::Lambda::Function",
                FUNCTION,
                "resize",
                configuration={"functionName": "resize", "role": ROLE},
                supplementaryConfiguration={"Policy": json.dumps(function_policy)},
            ),
            _item("AWS::EC2::Instance", f"arn:aws:ec2:eu-west-1:{A}:instance/i-1", "i-1"),
            _item("AWS::S3::Bucket", "arn:aws:s3:::gone", "gone", configurationItemStatus="ResourceDeleted"),
            _item(
                "AWS::IAM::Role",
                ROLE,
                "etl",
                awsRegion="global",
                configuration={
                    "path": "/",
                    "roleName": "etl",
                    "roleId": "AROAETL",
                    "arn": ROLE,
                    "createDate": "2024-01-01T00:00:00.000Z",
                    "assumeRolePolicyDocument": quote(json.dumps(trust)),
                    "instanceProfileList": [],
                    "rolePolicyList": [
                        {
                            "policyName": "read",
                            "policyDocument": quote(json.dumps(doc(allow("s3:GetObject")))),
                        }
                    ],
                    "attachedManagedPolicies": [],
                    "permissionsBoundary": None,
                    "tags": [{"key": "owner", "value": "data"}],
                },
            ),
        ],
    }


def _write_gz(path: Path, data: Any) -> Path:
    path.write_bytes(gzip.compress(json.dumps(data).encode()))
    return path


def test_a_snapshot_gives_resources_with_their_policies_and_the_iam_roles(
    tmp_path: Path, make_db: Any
) -> None:
    path = _write_gz(tmp_path / f"{A}_Config_eu-west-1_ConfigSnapshot_20250101.json.gz", _snapshot())
    db = make_db()
    summary = load_files(db, [path])
    assert summary.accounts == (A,) and summary.resources == 6 and summary.roles == 1
    snap = build_snapshot(db)
    types = {r.arn: r.type for r in snap.resources.values()}
    assert types == {
        "arn:aws:s3:::reports": "s3:bucket",
        "arn:aws:s3:::logs": "s3:bucket",
        KEY: "kms:key",
        QUEUE: "sqs:queue",
        TOPIC: "sns:topic",
        FUNCTION: "lambda:function",
    }
    reports = snap.resource("arn:aws:s3:::reports")
    assert reports is not None and reports.tags == {"team": "bi"} and reports.account == A
    assert reports.policy is not None
    assert reports.policy.document.statements[0].principals == {"AWS": (f"arn:aws:iam::{PARTNER}:root",)}
    assert snap.resource("arn:aws:s3:::logs").policy is None  # type: ignore[union-attr]
    for arn in (KEY, QUEUE, TOPIC, FUNCTION):
        assert snap.resource(arn).policy is not None, arn  # type: ignore[union-attr]
    assert snap.resource(FUNCTION).role == ROLE  # type: ignore[union-attr]  # its execution role
    assert snap.resource(KEY).role is None  # type: ignore[union-attr]
    role = snap.principal(ROLE)
    assert role is not None and role.trust is not None and role.tags == {"owner": "data"}
    assert [p.name for p in role.identity] == ["read"]


def test_advanced_query_results_read_the_same(make_db: Any) -> None:
    items = _snapshot()["configurationItems"]
    api = [
        {**{k: v for k, v in i.items() if k not in ("awsAccountId", "ARN")}, "accountId": A, "arn": i["ARN"]}
        for i in items
        if i["resourceType"].startswith("AWS::S3")
    ]
    for i in api:  # the API returns supplementary values as JSON text
        i["supplementaryConfiguration"] = {
            k: json.dumps(v) for k, v in i["supplementaryConfiguration"].items()
        }
    results = {"Results": [json.dumps(i) for i in api], "QueryInfo": {"SelectFields": [{"Name": "arn"}]}}
    got = parse_config(results, source="query.json")
    assert [e.account_id for e in got] == [A]
    assert sorted(r.arn for r in got[0].resources) == ["arn:aws:s3:::logs", "arn:aws:s3:::reports"]
    assert next(r for r in got[0].resources if r.name == "reports").policy is not None


def test_a_gaad_and_a_snapshot_of_one_account_merge(tmp_path: Path, make_db: Any) -> None:
    gaad = tmp_path / "gaad.json"
    gaad.write_text(json.dumps(one_user_export(f"arn:aws:iam::{A}:user/ana", doc(allow("s3:*")))))
    snapshot = _write_gz(tmp_path / "snap.json.gz", _snapshot())
    db = make_db()
    summary = load_files(db, [gaad, snapshot])
    assert summary.accounts == (A,)
    assert any("AWS Config snapshot's IAM items are left out" in w for w in summary.warnings)
    counts = reader.account_counts(db)[A]
    assert (counts.users, counts.roles, counts.resources) == (
        1,
        0,
        6,
    )  # the GAAD's IAM, the snapshot's resources
    # and a later snapshot alone replaces the resources, keeping the GAAD's IAM
    again = _snapshot()
    again["configurationItems"] = again["configurationItems"][:1]
    load_files(db, [_write_gz(tmp_path / "snap2.json.gz", again)])
    counts = reader.account_counts(db)[A]
    assert counts.users == 1 and counts.resources == 1


def test_a_broken_policy_names_the_item(tmp_path: Path, make_db: Any) -> None:
    data = _snapshot()
    data["configurationItems"][3]["configuration"]["Policy"] = '{"Statement": ['
    path = _write_gz(tmp_path / "bad.json.gz", data)
    db = make_db()
    with pytest.raises(IngestError) as caught:
        load_files(db, [path])
    assert "bad.json.gz: $.configurationItems[3].configuration.Policy" in str(caught.value)
    assert reader.is_empty(db)
